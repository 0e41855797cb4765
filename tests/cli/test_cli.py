"""The command line as users meet it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inclusive_cities import __version__
from inclusive_cities.store import head_revision

EXECUTABLE = str(Path(sys.executable).with_name("inclusive-cities"))


def run(*args: str, lang: str = "en", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INCLUSIVE_CITIES_LANG": lang, "COLUMNS": "200"}
    env.pop("INCLUSIVE_CITIES_DATABASE_URL", None)
    return subprocess.run(
        [EXECUTABLE, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"inclusive-cities {__version__}"


def test_init_then_info_on_both_engines(db_url: str) -> None:
    init = run("--database", db_url, "init")
    assert init.returncode == 0, init.stderr
    assert "Observatory database is ready" in init.stdout
    info = run("--database", db_url, "info", "--json")
    assert info.returncode == 0, info.stderr
    payload = json.loads(info.stdout)
    assert payload["counts"]["cities"] == 0
    assert payload["revision"] == head_revision()
    table = run("--database", db_url, "info")
    assert "Spatial units" in table.stdout and "Marker runs" in table.stdout


def test_default_database_is_observatory_db_in_the_current_folder(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "observatory.db").exists()


def test_database_url_from_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    env = {**os.environ, "INCLUSIVE_CITIES_DATABASE_URL": url, "INCLUSIVE_CITIES_LANG": "en"}
    result = subprocess.run([EXECUTABLE, "init"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "env.db").exists()


def test_spanish_messages(tmp_path: Path) -> None:
    result = run("--database", f"sqlite:///{tmp_path / 'x.db'}", "init", lang="es")
    assert "La base de datos del observatorio está lista" in result.stdout
    english = run("--lang", "en", "--database", f"sqlite:///{tmp_path / 'x.db'}", "info", lang="es")
    assert "Spatial units" in english.stdout


def _one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_unknown_command_is_a_usage_error() -> None:
    line = _one_line_error(run("frobnicate"), 2)
    assert "No such command 'frobnicate'" in line and "--help" in line


def test_unknown_option_is_a_usage_error() -> None:
    line = _one_line_error(run("info", "--colour"), 2)
    assert "--colour" in line


def test_unreachable_postgresql_is_one_line() -> None:
    line = _one_line_error(run("--database", "postgresql://nobody@127.0.0.1:9/none", "info"), 1)
    assert "Cannot open the database postgresql+psycopg://nobody@127.0.0.1:9/none" in line


def test_unwritable_path_is_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    target = f"sqlite:///{locked / 'sub' / 'x.db'}"
    line = _one_line_error(run("--database", target, "init"), 1)
    assert "does not exist" in line and str(locked / "sub") in line


def test_unwritable_file_is_one_line(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    line = _one_line_error(run("--database", f"sqlite:///{not_a_folder}/x.db", "init"), 1)
    assert str(not_a_folder) in line


def test_unsupported_database_is_one_line() -> None:
    line = _one_line_error(run("--database", "mysql://x@localhost/y", "info"), 1)
    assert "'mysql' is not supported" in line


def test_info_before_init_says_what_to_do(tmp_path: Path) -> None:
    line = _one_line_error(run("--database", f"sqlite:///{tmp_path / 'new.db'}", "info"), 1)
    assert "inclusive-cities init" in line


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    result = run("--verbose", "--database", f"sqlite:///{tmp_path / 'no' / 'x.db'}", "init")
    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_downgrade_needs_confirmation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    run("--database", url, "init")
    line = _one_line_error(run("--database", url, "db", "downgrade", "--revision", "base"), 2)
    assert "--yes" in line
    done = run("--database", url, "db", "downgrade", "--revision", "base", "--yes")
    assert done.returncode == 0
    assert "base" in done.stdout
    assert run("--database", url, "db", "upgrade").returncode == 0
    assert head_revision() in run("--database", url, "db", "current").stdout


@pytest.mark.parametrize("args", [["--help"], ["db", "--help"], ["info", "--help"]])
def test_help_works(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 0
    assert "Usage" in result.stdout
