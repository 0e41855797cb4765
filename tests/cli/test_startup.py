"""``--version`` and every ``--help`` load only Typer, rich and the translations (issue #21).

Every test that spawns the CLI and every step of the demo build pays the start-up, which
was 1.4 s when the command modules imported the domains (pandas, SQLAlchemy …) at the top.
This checks which modules a fresh interpreter holds after the command ran, not how long it
took: a module set cannot flake on a loaded machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import typer

from inclusive_cities.cli import app

HEAVY = (
    "sqlalchemy",
    "alembic",
    "pandas",
    "numpy",
    "geopandas",
    "scipy",
    "pyarrow",
    "shapely",
    "duckdb",
    "matplotlib",
    "weasyprint",
    "openpyxl",
    "highspy",
    "pydantic",  # Typer 0.29 coerces option values with it: see cli/startup.py
    "inclusive_cities.store",
)

# Runs each command line of argv[1] (a JSON list) in this one interpreter, then prints
# the command lines' exit codes and the heavy modules that were imported.
PROBE = """
import contextlib, io, json, sys
from inclusive_cities.cli import main
codes = []
for argv in json.loads(sys.argv[1]):
    code = 0
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            main(argv)
        except SystemExit as stop:
            code = stop.code
    codes.append([code, out.getvalue()])
heavy = sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)
print(json.dumps({"codes": codes, "heavy": heavy}))
"""


def _probe(command_lines: list[list[str]], cwd: Path) -> dict[str, list]:
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("INCLUSIVE_CITIES_DATABASE_URL", None)  # the default: ./observatory.db in cwd
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(command_lines), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


FIX = "import it inside the command function that uses it (CONTRIBUTING: CLI start-up)"


def _command_paths(command: object, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    paths = [list(prefix)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        paths += _command_paths(sub, (*prefix, name))
    return paths


def test_version_imports_nothing_heavy_and_opens_no_database(tmp_path: Path) -> None:
    # alone (printed without building the commands) and beside other global options
    result = _probe([["--version"], ["--lang", "en", "-q", "--version"]], tmp_path)
    expected = f"inclusive-cities {version('inclusive-cities')}\n"  # the installed package
    assert result["codes"] == [[0, expected], [0, expected]]
    assert result["heavy"] == [], FIX
    assert list(tmp_path.iterdir()) == []  # no observatory.db was created


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_help_imports_nothing_heavy(tmp_path: Path, language: str) -> None:
    paths = _command_paths(typer.main.get_command(app))
    assert len(paths) > 60  # the whole tree: groups and their commands
    result = _probe([["--lang", language, *path, "--help"] for path in paths], tmp_path)
    assert [code for code, _ in result["codes"]] == [0] * len(paths)
    usage = {"es": "Uso: inclusive-cities", "en": "Usage: inclusive-cities"}[language]
    assert all(usage in text for _, text in result["codes"])
    assert result["heavy"] == [], FIX
    assert list(tmp_path.iterdir()) == []


# The same command lines against the whole tree and against the part of it the line names
# (cli/startup.py: only_what_runs): the output must not change, whatever the line.
SAME = """
import contextlib, io, json, sys
import inclusive_cities.cli as cli
outputs = []
for whole in (True, False):
    if whole:
        cli.only_what_runs = lambda app, arguments: app
    else:
        from inclusive_cities.cli.startup import only_what_runs
        cli.only_what_runs = only_what_runs
    for argv in json.loads(sys.argv[1]):
        text = io.StringIO()
        with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
            try:
                cli.main(argv)
            except SystemExit as stop:
                text.write(f"exit {stop.code}")
        outputs.append(text.getvalue())
print(json.dumps(outputs))
"""


def test_building_only_the_named_command_changes_no_output(tmp_path: Path) -> None:
    lines = [
        [],
        ["--help"],
        ["-q", "--lang", "en", "--help"],
        ["--lang=en", "marker", "--help"],
        ["-d", "sqlite:///nowhere.db", "marker", "build", "--help"],
        ["-dsqlite:///nowhere.db", "report", "governance", "--help"],
        ["info", "--help"],
        ["markr"],  # unknown: Click suggests 'marker' from the whole tree
        ["marker", "biuld"],
        ["-vq", "survey", "--help"],
        ["--lang", "en", "marker", "build", "--cty", "X"],
    ]
    env = {**os.environ, "COLUMNS": "100", "INCLUSIVE_CITIES_LANG": "es"}
    done = subprocess.run(
        [sys.executable, "-c", SAME, json.dumps(lines)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    )
    outputs = json.loads(done.stdout)
    whole, pruned = outputs[: len(lines)], outputs[len(lines) :]
    assert [a == b for a, b in zip(whole, pruned, strict=True)] == [True] * len(lines)
    assert "¿Quiso decir 'marker'?" in whole[7]
    assert "--period" in whole[4] and "Uso: inclusive-cities marker build" in whole[4]
    assert "No such option: --cty. Did you mean --city?" in whole[10]
    assert list(tmp_path.iterdir()) == []


def test_first_command_skips_the_root_options() -> None:
    from inclusive_cities.cli.startup import _first_command

    assert _first_command([]) == ""
    assert _first_command(["--lang", "en", "-q", "--help"]) == ""
    assert _first_command(["-d", "sqlite:///x.db", "marker", "build"]) == "marker"
    assert _first_command(["--database=sqlite:///x.db", "--lang=es", "info"]) == "info"
    assert _first_command(["-dsqlite:///x.db", "-v", "publish", "--city", "DEMO"]) == "publish"
    assert _first_command(["-vq", "info"]) is None  # combined flags: the whole tree
