"""Long steps say what they are doing, how far they are and for how long.

Domain functions call ``progress(step, done, total)``; the command line draws one shared
rich bar on a terminal, and nothing with ``--quiet`` or when stderr is not a terminal.
"""

from __future__ import annotations

import io
import os
import pty
import sys
from pathlib import Path

import pytest
from rich.console import Console

from inclusive_cities.cli import main
from inclusive_cities.cli.app import state
from inclusive_cities.cli.progress import progress_bar
from inclusive_cities.i18n import use_language
from inclusive_cities.indicators import load_catalogue
from inclusive_cities.indicators.pipeline import compute_city
from inclusive_cities.marker import load_spec
from inclusive_cities.marker.build import build_run
from inclusive_cities.store import connect
from tests.disclosure.conftest import build as build_disclosure_city
from tests.indicators.test_pipeline import build as build_indicator_city
from tests.marker.test_build import tiny_city  # noqa: F401  (the fixture)
from tests.marker.test_cli import SPEC

Call = tuple[str, int, "int | None"]


@pytest.fixture
def english() -> None:
    use_language("en")


def _recorder() -> tuple[list[Call], object]:
    calls: list[Call] = []

    def progress(step: str, done: int, total: int | None) -> None:
        calls.append((step, done, total))

    return calls, progress


def test_indicators_compute_reports_every_step(tmp_path: Path, english: None) -> None:
    url, layers = build_indicator_city(f"sqlite:///{tmp_path / 'obs.db'}", tmp_path)
    calls, progress = _recorder()
    compute_city(connect(url), "TST", "2024", layers=[layers], progress=progress)  # type: ignore[arg-type]
    # by hand: reading, persons, households, one step per facility or layer indicator of
    # the catalogue (in its order), storing
    spatial = [spec.code for spec in load_catalogue() if spec.record in ("facility", "layer")]
    total = 1 + 2 + len(spatial) + 1
    assert [step for step, _done, _total in calls] == [
        "Reading the city's inputs",
        "Computing census indicators of persons",
        "Computing census indicators of households",
        *(f"Computing {code}" for code in spatial),
        "Storing indicators",
        "Indicators computed",
    ]
    assert [done for _step, done, _total in calls] == list(range(total + 1))
    assert {seen for _step, _done, seen in calls} == {total}


def test_marker_build_reports_every_step(tiny_city, tmp_path: Path, english: None) -> None:  # noqa: F811
    _url, engine = tiny_city
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(SPEC, encoding="utf-8")
    calls, progress = _recorder()
    build_run(engine, "TNY", "2020", load_spec(spec_file), progress=progress)  # type: ignore[arg-type]
    assert calls == [
        ("Reading the observations", 0, 3),
        ("Computing the marker", 1, 3),
        ("Storing the scores", 2, 3),
        ("Marker run stored", 3, 3),
    ]
    calls.clear()
    build_run(
        engine,
        "TNY",
        "2020",
        load_spec(spec_file),
        uncertainty_replicates=16,
        seed=7,
        progress=progress,  # type: ignore[arg-type]
    )
    steps = [step for step, _done, _total in calls]
    assert steps[:2] == ["Reading the observations", "Computing the marker"]
    assert steps[-2:] == ["Storing the scores", "Marker run stored"]
    monte_carlo = [call for call in calls if call[0].startswith("Rank intervals: ")]
    assert monte_carlo and {(done, total) for _step, done, total in monte_carlo} == {(2, 4)}
    assert monte_carlo[-1][0].endswith(" marker runs")
    assert [done for _step, done, _total in calls if _step in steps[-2:]] == [3, 4]


def test_disclosure_audit_reports_the_protection_and_each_attack(
    tmp_path: Path, english: None
) -> None:
    from sqlalchemy.orm import Session

    from inclusive_cities.disclosure import audit

    city = build_disclosure_city(f"sqlite:///{tmp_path / 'dsc.db'}")
    calls, progress = _recorder()
    with Session(connect(city.url)) as session:
        audit(session, "DSC", progress=progress)  # type: ignore[arg-type]
    assert calls == [
        ("Working out the protection", 0, 6),
        ("Reading the published figures", 1, 6),
        ("Attack: share times total", 2, 6),
        ("Attack: differencing", 3, 6),
        ("Attack: inverting normalised scores", 4, 6),
        ("Attack: linear programming intervals", 5, 6),
        ("Audit finished", 6, 6),
    ]


def test_the_bar_shows_step_count_and_elapsed_on_a_terminal(english: None) -> None:
    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, width=100)
    with progress_bar("Starting", console=terminal) as progress:
        progress("Computing dist_health_m", 3, 17)
    shown = buffer.getvalue()
    assert "Computing dist_health_m" in shown
    assert "3/17" in shown
    assert "0:00:0" in shown  # elapsed h:mm:ss


def test_no_bar_with_quiet_or_off_a_terminal(english: None) -> None:
    buffer = io.StringIO()
    state.quiet = True
    try:
        with progress_bar("Starting", console=Console(file=buffer, force_terminal=True)) as p:
            p("Computing dist_health_m", 3, 17)
    finally:
        state.quiet = False
    piped = io.StringIO()
    with progress_bar("Starting", console=Console(file=piped)) as progress:
        progress("Computing dist_health_m", 3, 17)
    assert buffer.getvalue() == "" and piped.getvalue() == ""


def _marker_build_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, url: str, spec_file: Path, *options: str
) -> str:
    """``marker build`` with stderr on a pseudo-terminal; what the terminal received."""
    leader, follower = pty.openpty()
    terminal = os.fdopen(follower, "w", encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", terminal)
        patch.setenv("TERM", "xterm")
        for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
            patch.delenv(name, raising=False)
        build = ["marker", "build", "--city", "TNY", "--period", "2020", "--level", "block"]
        main(["--lang", "en", *options, "--database", url, *build, "--spec", str(spec_file)])
        terminal.flush()
    os.set_blocking(leader, False)
    received = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        received += chunk
    terminal.close()
    os.close(leader)
    use_language("en")
    return received.decode("utf-8", "replace")


def test_the_command_line_bar_and_quiet_on_a_real_terminal(
    tiny_city,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, _engine = tiny_city
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(SPEC, encoding="utf-8")
    shown = _marker_build_on_a_terminal(monkeypatch, url, spec_file)
    assert "Stored marker run 1" in capsys.readouterr().out
    assert "Marker run stored" in shown and "3/3" in shown
    assert _marker_build_on_a_terminal(monkeypatch, url, spec_file, "--quiet") == ""
    assert "Stored marker run 2" in capsys.readouterr().out
    state.quiet = False
