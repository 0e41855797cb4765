"""Build the demo observatory in one process (issue #21: the medium demo under 60 s).

The build is the analyst's sequence of public CLI command lines (``scripts/build-demo.sh``
used to start one process per line: 24 start-ups, each importing SQLAlchemy, pandas,
GeoPandas … again, about a quarter of the whole build). Here every line runs through the
same ``inclusive_cities.cli.main`` in this one process, in the same order, so the store ends
up the same row for row. Lines that only write files or only read the store run in a
second process beside the store's writer, on the second core:

* the survey and planner files are generated while the indicators are computed, the
  mobility survey rounds while the survey is imported and the markers built (they read the
  generated city and the loaded census, which nothing later changes);
* the Spanish and the English profile render after 'publish' (they read the 2024 barrio run
  and withhold what the web withholds, from the protection 'publish' stored), each in its own
  process, so both cores work while the writer finds the clusters and builds the programme.
  Their process starts before 'publish' and imports what they need (WeasyPrint, pandas …)
  while publish sets up, then waits for publish to end and forks one copy per language.

From Python (a whole build takes about a minute on the small city, so this is an example to
run, not a doctest; ``tests/demo/test_build.py`` covers the runner)::

    from inclusive_cities.cli.demo_build import build_demo
    report = build_demo("demo-data", "small", "sqlite:///demo-data/observatory.db")
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from inclusive_cities.demo.errors import DemoError
from inclusive_cities.i18n import gettext as _

Line = tuple[str, ...]


@dataclass
class StepTime:
    """One line of the build: what ran, how long (wall and this process's CPU)."""

    line: str
    wall: float
    cpu: float
    beside: bool = False  # ran in the second process, beside the store's writer


@dataclass
class BuildReport:
    steps: list[StepTime] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0  # this process and its finished children

    def table(self) -> str:
        """The per-step table the build prints at its end (and the benchmark reads)."""
        step_title, total_title = _("step"), _("total")
        rows = [f"{'wall s':>7} {'CPU s':>7}  {step_title}"]
        for step in self.steps:
            mark = " ‖" if step.beside else "  "
            rows.append(f"{step.wall:7.1f} {step.cpu:7.1f}{mark}{step.line}")
        rows.append(f"{self.wall:7.1f} {self.cpu:7.1f}  {total_title}")
        return "\n".join(rows)


def _cpu_self() -> float:
    usage = os.times()
    return usage.user + usage.system


def _cpu_children() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def run_line(
    database: str, line: Sequence[str], quiet: bool = True, language: str | None = None
) -> None:
    """Run one CLI command line in this process, as the console script would."""
    from inclusive_cities.cli import main

    options = [*(["--quiet"] if quiet else []), *(["--lang", language] if language else [])]
    argv = ["--database", database, *options, *line]
    try:
        main(argv)
    except SystemExit as stop:
        if stop.code not in (None, 0):
            raise DemoError(
                _(
                    "The demo build stopped at 'inclusive-cities {line}' (exit status {code})."
                ).format(line=" ".join(line), code=stop.code)
            ) from None


class _Beside:
    """Command lines run in a second process (started now), one after the other; or, when
    ``held``, each in its own forked copy once :meth:`release` lets them start."""

    def __init__(
        self, database: str, lines: Sequence[Line], language: str | None, held: bool = False
    ) -> None:
        self.lines = lines
        self.started = time.perf_counter()
        env = dict(os.environ)
        if language:
            env["INCLUSIVE_CITIES_LANG"] = language
        command = [sys.executable, "-m", "inclusive_cities.cli.demo_build", database]
        self.go: int | None = None
        signal = None
        if held:
            signal, self.go = os.pipe()
        self.process = subprocess.Popen(
            [*command, json.dumps(lines), *(["--held"] if held else [])],
            env=env,
            stdin=signal,
            stdout=subprocess.PIPE,
            text=True,
        )
        if signal is not None:
            os.close(signal)

    def release(self) -> None:
        """Let a held process run its lines (it imported what they need in the meantime)."""
        self.started = time.perf_counter()
        if self.go is not None:
            os.write(self.go, b"go\n")
            self._close()

    def cancel(self) -> None:
        """After a failed step: a held process not let go ends without running its lines,
        any other is waited for (no-op once :meth:`wait` has run)."""
        if self.process.returncode is None:
            self._close()
            sys.stdout.write(self.process.communicate()[0])

    def _close(self) -> None:
        if self.go is not None:
            os.close(self.go)
            self.go = None

    def wait(self) -> list[StepTime]:
        before = _cpu_children()
        output, _unused = self.process.communicate()
        wall = time.perf_counter() - self.started
        cpu = _cpu_children() - before
        sys.stdout.write(output)
        if self.process.returncode:
            raise DemoError(
                _(
                    "The demo build stopped at 'inclusive-cities {line}' (exit status {code})."
                ).format(
                    line=" | ".join(" ".join(line) for line in self.lines),
                    code=self.process.returncode,
                )
            )
        text = " ; ".join(" ".join(line) for line in self.lines)
        return [StepTime(text, wall, cpu, beside=True)]


def _stale(done: Path, city_done: Path) -> bool:
    """A generated folder is made again when its stamp is missing or older than the city's."""
    return not done.exists() or done.stat().st_mtime < city_done.stat().st_mtime


def build_demo(
    directory: Path | str,
    size: str,
    database: str,
    *,
    language: str | None = None,
    quiet: bool = True,
    echo: Callable[[str], None] = print,
) -> BuildReport:
    """Build (or rebuild over an existing city) the demo observatory: the same command lines,
    in the same order, as ``scripts/build-demo.sh`` ran one process each."""
    folder = Path(directory).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["INCLUSIVE_CITIES_DATA_DIR"] = str(folder / "observatory-data")
    city, survey, hfs = folder / "city", folder / "survey", folder / "hfs"
    report = BuildReport()
    started, cpu_started = time.perf_counter(), _cpu_self() + _cpu_children()

    def run(*line: str) -> None:
        echo(f"$ inclusive-cities {' '.join(line)}")
        wall, cpu = time.perf_counter(), _cpu_self()
        run_line(database, line, quiet, language)
        step = StepTime(" ".join(line), time.perf_counter() - wall, _cpu_self() - cpu)
        report.steps.append(step)
        echo(f"  ({step.wall:.1f} s, CPU {step.cpu:.1f} s)")  # a build stopped midway still tells

    # a step that fails first ends the processes beside it (their output still shows)
    with ExitStack() as lanes:
        city_done = city / f"{size}.done"
        if not city_done.exists():
            for stale in (city, folder / "observatory-data"):
                shutil.rmtree(stale, ignore_errors=True)
            for path in folder.glob("observatory.db*"):
                path.unlink()
            run("demo", "generate", "--out", str(city), "--size", size)
            city_done.touch()
        run("init")
        run("demo", "load", str(city))
        # migration-governance assessments (city 2022 and 2024, country 2024) through the
        # template; the 2024 score becomes uim-extended's migration_governance_score
        run("governance", "demo", "--city", "DEMO")
        # files only (the city's boundaries, the loaded census), made in a second process
        # beside the writer: the survey while the indicators are computed; the planner's
        # candidate projects (a planner's GeoPackage) and the mobility survey rounds (they fit
        # the city's census) while the survey is imported and the markers built
        survey_done, hfs_done = survey / f"{size}.v2.done", hfs / f"{size}.census.done"
        remake_survey, remake_hfs = _stale(survey_done, city_done), _stale(hfs_done, city_done)
        files: list[Line] = []
        if remake_survey:  # regenerated with the city, and when it predates uim-extended's (v2)
            shutil.rmtree(survey, ignore_errors=True)
            files.append(("survey", "demo", str(city / "boundaries.gpkg"), "--out", str(survey)))
        beside = _Beside(database, files, language)
        lanes.callback(beside.cancel)
        run("indicators", "compute", "--city", "DEMO", "--period", "2024")
        for level in ("localidad", "manzana"):
            run("marker", "build", "--city", "DEMO", "--period", "2024", "--spec", "uim-basic",
                "--level", level)  # fmt: skip
        report.steps += beside.wait()
        if remake_survey:
            survey_done.touch()
        more: list[Line] = [
            ("plan", "demo-projects", str(city / "boundaries.gpkg"),
             "--out", str(city / "proyectos.gpkg"))
        ]  # fmt: skip
        if remake_hfs:  # regenerated with the city
            shutil.rmtree(hfs, ignore_errors=True)
            more.append(("mobility", "generate", "--out", str(hfs), "--city", "DEMO",
                         "--period", "2024"))  # fmt: skip
        beside = _Beside(database, more, language)
        lanes.callback(beside.cancel)
        run("survey", "import", str(survey / "form.xlsx"), str(survey / "data.xlsx"),
            "--city", "DEMO", "--period", "2024", "--design", str(survey / "design.yaml"),
            "--boundaries", str(city / "boundaries.gpkg"))  # fmt: skip
        # the catalogue's survey entries (record: survey) become barrio observations
        run("survey", "layers", "--city", "DEMO", "--period", "2024",
            "--survey", "encuesta_migrantes_demo", "--level", "barrio")  # fmt: skip
        # the extended marker: built but not published ('publish' takes the latest run, which
        # must stay the basic one)
        run("marker", "build", "--city", "DEMO", "--period", "2024", "--spec", "uim-extended",
            "--level", "barrio")  # fmt: skip
        # the neighbourhood (barrio) basic run is built last: it is the one published on the web
        run("marker", "build", "--city", "DEMO", "--period", "2024", "--spec", "uim-basic",
            "--level", "barrio", "--uncertainty", "256")  # fmt: skip
        report.steps += beside.wait()
        if remake_hfs:
            hfs_done.touch()
        # the planner's projects, stored with the beneficiaries of each one's catchment
        run("plan", "import-projects", "--city", "DEMO", "--projects",
            str(city / "proyectos.gpkg"), "--level", "barrio", "--period", "2024")  # fmt: skip
        run("workshop", "demo", "--city", "DEMO", "--out", str(folder / "workshops"))
        (folder / "reports").mkdir(exist_ok=True)
        profiles = [
            ("report", "profile", "--city", "DEMO", "--period", "2024", "--lang", lang,
             "--hfs", str(hfs / "mapping.yaml"),
             "--out", str(folder / "reports" / f"perfil-movilidad-humana-DEMO-2024-{lang}.pdf"))
            for lang in ("es", "en")
        ]  # fmt: skip
        # a second period (2025) in which some barrios received projects with a known effect,
        # and its barrio marker, so 'plan impact' has something to measure; built before
        # 'publish', so the disclosure protection publish stores covers the store as served
        run("plan", "demo-second-period", "--city", "DEMO", "--out", str(folder / "second-period"),
            "--period", "2025")  # fmt: skip
        run("marker", "build", "--city", "DEMO", "--period", "2025", "--spec", "uim-basic",
            "--level", "barrio")  # fmt: skip
        run("plan", "demo-plan", "--city", "DEMO")  # ~15 projects, 5 proposals, 1 design
        # both profiles only read the store, each in its own process beside the writer's
        # clusters and programme. After 'publish': a report withholds what the web withholds,
        # read from the protection publish stored (started earlier, each solved its own
        # protection of a store that was still changing). Their process imports what they need
        # while publish sets up, and holds until publish has ended
        profile_process = _Beside(database, profiles, language, held=True)
        lanes.callback(profile_process.cancel)
        run("publish", "--city", "DEMO", "--period", "2024", "--layers")
        profile_process.release()
        # where neighbourhoods of low (and high) inclusion cluster: Local Moran and Gi*, a map
        # layer, on the published barrio scores (disclosure control withholds nearly every
        # block's index, and a cluster layer rests only on what the web serves)
        # (the small city publishes the index of only 4 of its 18 barrios: too few to cluster,
        # so its demo has no cluster layer; the command would say so and stop the build)
        if size != "small":
            run("spatial", "clusters", "--city", "DEMO", "--period", "2024", "--marker",
                "uim-basic", "--level", "barrio", "--k", "4", "--publish")  # fmt: skip
        run("programme", "demo", "--city", "DEMO")  # 9 target cities (DEMO computed live)
        run("programme", "deliveries", "demo", "--out", str(folder / "programme"))
        report.steps += profile_process.wait()
        run("info")
    report.wall = time.perf_counter() - started
    report.cpu = _cpu_self() + _cpu_children() - cpu_started
    return report


# what a held process imports before it is let go (then forks: each copy starts warm);
# `python -X importtime` on a profile after these shows no import above ~30 ms left
_WARM = {
    "report": (
        "inclusive_cities.cli.report",
        "inclusive_cities.reports",
        "inclusive_cities.marker",
        "inclusive_cities.mobility",
        "inclusive_cities.monitoring.computed_store",
        "inclusive_cities.store.schema",
        "inclusive_cities.store.report_models",
        "inclusive_cities.store.scale_models",
        "sqlite3",
        "sqlalchemy.dialects.sqlite",
        "email.policy",
        "narwhals._pandas_like.dataframe",
        "narwhals._pandas_like.namespace",
        "python_calamine",
        "PIL.PngImagePlugin",
        "openpyxl",
        "weasyprint",
    ),
}


def _warm(lines: Sequence[Sequence[str]]) -> None:
    """Import the modules the lines' commands use and read both message catalogues, so
    that forked copies share them."""
    from inclusive_cities.i18n import catalogue

    importlib.import_module("inclusive_cities.cli")
    for line in lines:
        for module in _WARM.get(line[0], ()):
            importlib.import_module(module)
    for language in ("es", "en"):
        catalogue(language)


def _run_forked(database: str, lines: Sequence[Sequence[str]]) -> None:
    """Each line in its own forked copy of this process, all at once; their output in order."""
    sys.stdout.flush()
    sys.stderr.flush()
    failed = []
    with ExitStack() as files:
        children: list[tuple[int, Sequence[str], IO[bytes]]] = []
        for line in lines:
            output = files.enter_context(tempfile.TemporaryFile())
            pid = os.fork()
            if pid == 0:  # the copy: output to its own file, its exit status says how it went
                os.dup2(output.fileno(), sys.stdout.fileno())
                code = 1
                try:
                    run_line(database, line)
                    code = 0
                except DemoError as error:
                    print(error, file=sys.stderr)
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            children.append((pid, line, output))
        for pid, line, written in children:
            _pid, status = os.waitpid(pid, 0)
            written.seek(0)
            sys.stdout.write(written.read().decode("utf-8", errors="replace"))
            if os.waitstatus_to_exitcode(status):
                failed.append(" ".join(line))
    sys.stdout.flush()
    if failed:
        print("\n".join(failed), file=sys.stderr)
        sys.exit(1)


def _main(arguments: list[str]) -> None:
    """The second process: ``python -m inclusive_cities.cli.demo_build DATABASE LINES_JSON
    [--held]``. Held, it imports what the lines need, waits for a line on its standard input
    (none: the build stopped, it ends) and runs every line at once, each in a forked copy."""
    database, lines = arguments[0], json.loads(arguments[1])
    held = "--held" in arguments[2:]
    try:
        if held:
            _warm(lines)
            if sys.stdin.readline().strip() != "go":
                return
        if held and len(lines) > 1 and hasattr(os, "fork"):
            _run_forked(database, lines)
        else:
            for line in lines:
                run_line(database, line)
    except DemoError as error:
        print(error, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    _main(sys.argv[1:])
