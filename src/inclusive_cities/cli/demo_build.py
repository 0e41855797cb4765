"""Build the demo observatory in one process (issue #21: the medium demo under 60 s).

The build is the analyst's sequence of public CLI command lines (``scripts/build-demo.sh``
used to start one process per line: 24 start-ups, each importing SQLAlchemy, pandas,
GeoPandas … again, about a quarter of the whole build). Here every line runs through the
same ``inclusive_cities.cli.main`` in this one process, in the same order, so the store ends
up the same row for row. Lines that only write files or only read the store run in a
second process beside the store's writer, on the second core:

* the survey, planner and mobility files are generated while the indicators are computed
  (they read the generated city and the loaded census, which nothing later changes);
* the Spanish and the English profile are rendered after 'publish', while the writer finds
  the clusters and builds the programme (they read the 2024 barrio run and withhold what
  the web withholds, from the protection 'publish' stored).

From Python (a whole build takes about a minute on the small city, so this is an example to
run, not a doctest; ``tests/demo/test_build.py`` covers the runner)::

    from inclusive_cities.cli.demo_build import build_demo
    report = build_demo("demo-data", "small", "sqlite:///demo-data/observatory.db")
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
    """Command lines run one after the other in a second process (started now)."""

    def __init__(self, database: str, lines: Sequence[Line], language: str | None) -> None:
        self.lines = lines
        self.started = time.perf_counter()
        env = dict(os.environ)
        if language:
            env["INCLUSIVE_CITIES_LANG"] = language
        self.process = subprocess.Popen(
            [sys.executable, "-m", "inclusive_cities.cli.demo_build", database, json.dumps(lines)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )

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
    # files only (the city's boundaries, the loaded census): made on the second core while
    # the indicators are computed
    files: list[Line] = []
    survey_done, hfs_done = survey / f"{size}.v2.done", hfs / f"{size}.census.done"
    remake_survey, remake_hfs = _stale(survey_done, city_done), _stale(hfs_done, city_done)
    if remake_survey:  # regenerated with the city, and when it predates uim-extended's (v2)
        shutil.rmtree(survey, ignore_errors=True)
        files.append(("survey", "demo", str(city / "boundaries.gpkg"), "--out", str(survey)))
    # candidate projects for the planner: a planner's GeoPackage
    files.append(
        (
            "plan",
            "demo-projects",
            str(city / "boundaries.gpkg"),
            "--out",
            str(city / "proyectos.gpkg"),
        )
    )
    if remake_hfs:  # the survey rounds fit the city's census: regenerated with the city
        shutil.rmtree(hfs, ignore_errors=True)
        files.append(
            ("mobility", "generate", "--out", str(hfs), "--city", "DEMO", "--period", "2024")
        )
    beside = _Beside(database, files, language)
    run("indicators", "compute", "--city", "DEMO", "--period", "2024")
    for level in ("localidad", "manzana"):
        run("marker", "build", "--city", "DEMO", "--period", "2024", "--spec", "uim-basic",
            "--level", level)  # fmt: skip
    report.steps += beside.wait()
    if remake_survey:
        survey_done.touch()
    if remake_hfs:
        hfs_done.touch()
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
    run("publish", "--city", "DEMO", "--period", "2024", "--layers")
    # both profiles only read the store: rendered one after the other on the second core
    # while the writer goes on with the clusters and the programme. After 'publish': a report
    # withholds what the web withholds, read from the protection publish stored (started
    # earlier, each solved its own protection of a store that was still changing)
    profile_process = _Beside(database, profiles, language)
    # where neighbourhoods of low (and high) inclusion cluster: Local Moran and Gi*, a map
    # layer, on the published barrio scores (disclosure control withholds nearly every
    # block's index, and a cluster layer rests only on what the web serves)
    run("spatial", "clusters", "--city", "DEMO", "--period", "2024", "--marker", "uim-basic",
        "--level", "barrio", "--k", "4", "--publish")  # fmt: skip
    run("programme", "demo", "--city", "DEMO")  # 9 target cities (DEMO computed live)
    run("programme", "deliveries", "demo", "--out", str(folder / "programme"))
    report.steps += profile_process.wait()
    run("info")
    report.wall = time.perf_counter() - started
    report.cpu = _cpu_self() + _cpu_children() - cpu_started
    return report


def _main(arguments: list[str]) -> None:
    """The second process: ``python -m inclusive_cities.cli.demo_build DATABASE LINES_JSON``."""
    database, lines = arguments[0], json.loads(arguments[1])
    try:
        for line in lines:
            run_line(database, line)
    except DemoError as error:
        print(error, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    _main(sys.argv[1:])
