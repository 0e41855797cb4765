"""``demo build``'s second processes (issue #21): a held process runs nothing until let go,
then each of its lines in a forked copy, their output in line order; a failed line stops the
build and names the lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from inclusive_cities.cli.demo_build import _Beside
from inclusive_cities.demo import DemoError
from inclusive_cities.i18n import use_language


def _url(folder: Path) -> str:
    return f"sqlite:///{folder / 'observatory.db'}"


def test_a_held_process_cancelled_before_release_runs_nothing(tmp_path: Path) -> None:
    held = _Beside(_url(tmp_path), [("init",)], "en", held=True)
    held.cancel()
    assert held.process.returncode == 0
    assert not (tmp_path / "observatory.db").exists()


def test_released_lines_run_at_once_and_print_in_line_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [("survey", "--help"), ("marker", "--help"), ("init",)]
    held = _Beside(_url(tmp_path), lines, "en", held=True)
    held.release()
    [step] = held.wait()
    assert step.beside and step.line == "survey --help ; marker --help ; init"
    out = capsys.readouterr().out
    survey_help = out.index("inclusive-cities survey")
    marker_help = out.index("inclusive-cities marker")
    assert survey_help < marker_help  # the first line's output first, whichever ended first
    assert (tmp_path / "observatory.db").exists()  # 'init' ran in its own copy


def test_a_failing_forked_line_stops_the_build(tmp_path: Path) -> None:
    lines = [("marker", "show", "no-such-spec"), ("survey", "--help")]
    held = _Beside(_url(tmp_path), lines, "es", held=True)
    held.release()
    use_language("es")
    with pytest.raises(DemoError) as stopped:
        held.wait()
    assert str(stopped.value) == (
        "La construcción de la demostración se detuvo en 'inclusive-cities marker show "
        "no-such-spec | survey --help' (código de salida 1)."
    )
