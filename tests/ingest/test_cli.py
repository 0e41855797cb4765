"""``inclusive-cities import …`` in a real process: summary, one-line errors, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.ingest.conftest import households_file, write_levels

EXECUTABLE = str(Path(sys.executable).with_name("inclusive-cities"))


def run(db: str, *args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INCLUSIVE_CITIES_LANG": lang, "COLUMNS": "200"}
    return subprocess.run(
        [EXECUTABLE, "--database", db, *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_import_commands_end_to_end(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    assert run(db, "init").returncode == 0
    gpkg = write_levels(tmp_path / "b.gpkg")
    done = run(
        db,
        "import",
        "boundaries",
        str(gpkg),
        "--city",
        "TST",
        "--level",
        "localidad",
        "--level",
        "barrio",
        "--parent-column",
        "codigo_padre",
    )
    assert done.returncode == 0, done.stderr
    assert "rows read 5, accepted 5, rejected 0" in done.stdout and "time taken" in done.stdout
    again = run(
        db,
        "import",
        "boundaries",
        str(gpkg),
        "--city",
        "TST",
        "--level",
        "localidad",
        "--level",
        "barrio",
        "--parent-column",
        "codigo_padre",
    )
    assert "already imported (same sha256)" in again.stdout
    census = run(
        db,
        "import",
        "census",
        str(households_file(tmp_path / "hh.csv")),
        "--record",
        "households",
        "--city",
        "TST",
        "--period",
        "2024",
        "--data-dir",
        str(tmp_path / "data"),
    )
    assert census.returncode == 0, census.stderr
    assert "units matched 3, unmatched 0" in census.stdout
    assert (tmp_path / "data/microdata/TST/2024/households.parquet").exists()
    table = tmp_path / "t.csv"
    table.write_text('unit_code,period,a\n01001,2024,"1,5"\n', encoding="utf-8")
    failed = run(db, "import", "table", str(table), "--city", "TST", "--dry-run")
    assert failed.returncode == 1
    assert len(failed.stderr.strip().splitlines()) == 1 and "Traceback" not in failed.stderr
    assert "t.csv, row 2, column 'a', value '1,5'" in failed.stderr
    spanish = run(db, "import", "table", str(table), "--city", "TST", "--decimal", ",", lang="es")
    assert spanish.returncode == 0, spanish.stderr
    assert "filas leídas 1, aceptadas 1, rechazadas 0" in spanish.stdout
