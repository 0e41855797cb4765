"""``demo build``: the analyst's command lines run in one process (issue #21).

The whole build is too slow for the test suite (the small city takes about a minute of
CPU); ``benchmarks/bench_demo_build.py --check`` compares its store, table by table, with
the one process per line build. Here: a failing line stops the build and names itself,
and the stamps that decide what is generated again.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inclusive_cities.cli import main
from inclusive_cities.cli.demo_build import _stale, run_line
from inclusive_cities.demo import DemoError
from inclusive_cities.i18n import use_language


def test_a_failing_line_stops_the_build_and_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'observatory.db'}"
    with pytest.raises(DemoError) as stopped:
        run_line(url, ["marker", "show", "no-such-spec"], language="es")
    assert "no-such-spec" in capsys.readouterr().err  # the command's own message first
    use_language("es")
    assert str(stopped.value) == (
        "La construcción de la demostración se detuvo en "
        "'inclusive-cities marker show no-such-spec' (código de salida 1)."
    )


def test_an_unknown_size_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--lang", "en", "demo", "build", str(tmp_path / "demo"), "--size", "huge"])
    assert stop.value.code == 1
    assert "Unknown demo city size 'huge': use one of small, medium, large." in (
        capsys.readouterr().err.replace("\n", " ")
    )
    assert not (tmp_path / "demo").exists()


def test_generated_folders_follow_the_city_stamp(tmp_path: Path) -> None:
    city, survey = tmp_path / "medium.done", tmp_path / "medium.v2.done"
    city.touch()
    assert _stale(survey, city)  # never generated
    survey.touch()
    os.utime(city, (1_000, 1_000))
    assert not _stale(survey, city)  # made after the city
    os.utime(survey, (500, 500))
    assert _stale(survey, city)  # the city was generated again since
