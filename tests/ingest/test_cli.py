"""``inclusive-cities import …``: summary, one-line errors, exit codes, both languages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from inclusive_cities.cli import main
from inclusive_cities.i18n import use_language
from inclusive_cities.ingest import ImportReport
from inclusive_cities.store import models
from tests.ingest.conftest import households_file, write_levels

EXECUTABLE = str(Path(sys.executable).with_name("inclusive-cities"))


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_import_commands_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--database", f"sqlite:///{tmp_path / 'o.db'}", "--lang", "en"]
    assert call(capsys, *db, "init")[0] == 0
    gpkg = str(write_levels(tmp_path / "b.gpkg"))
    levels = ["--level", "localidad", "--level", "barrio", "--parent-column", "codigo_padre"]
    code, out, err = call(capsys, *db, "import", "boundaries", gpkg, "--city", "TST", *levels)
    assert code == 0, err
    assert "rows read 5, accepted 5, rejected 0" in out and "time taken" in out
    code, out, _err = call(capsys, *db, "import", "boundaries", gpkg, "--city", "TST", *levels)
    assert code == 0 and "already imported (same sha256)" in out
    hh = str(households_file(tmp_path / "hh.csv"))
    code, out, err = call(
        capsys,
        *db,
        "import",
        "census",
        hh,
        "--record",
        "households",
        "--city",
        "TST",
        "--period",
        "2024",
        "--data-dir",
        str(tmp_path / "data"),
    )
    assert code == 0, err
    assert "units matched 3, unmatched 0" in out
    assert (tmp_path / "data/microdata/TST/2024/households.parquet").exists()
    table = tmp_path / "t.csv"
    table.write_text('unit_code,period,a\n01001,2024,"1,5"\n', encoding="utf-8")
    spanish = ["--database", db[1], "--lang", "es"]
    code, out, err = call(
        capsys, *spanish, "import", "table", str(table), "--city", "TST", "--decimal", ","
    )
    assert code == 0, err
    assert "filas leídas 1, aceptadas 1, rechazadas 0" in out
    assert re.search(r"^tiempo empleado \d+,\d s$", out, re.MULTILINE), out  # not 0.1 s


def test_the_time_taken_is_written_the_way_each_language_writes_numbers() -> None:
    report = ImportReport(kind="table", file="censo.csv", seconds=1234.56)
    use_language("es")
    assert "tiempo empleado 1.234,6 s" in report.summary_lines()
    use_language("en")
    assert "time taken 1,234.6 s" in report.summary_lines()


def test_rejected_file_is_one_line_on_stderr(city: Engine, sqlite_url: str, tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text('unit_code,period,a\n01001,2024,"1,5"\n', encoding="utf-8")
    env = {**os.environ, "INCLUSIVE_CITIES_LANG": "en", "COLUMNS": "200"}
    failed = subprocess.run(
        [
            EXECUTABLE,
            "--database",
            sqlite_url,
            "import",
            "table",
            str(table),
            "--city",
            "TST",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert failed.returncode == 1
    assert len(failed.stderr.strip().splitlines()) == 1 and "Traceback" not in failed.stderr
    assert (
        "t.csv, row 2, column 'a', value '1,5'" in failed.stderr and "--decimal ," in failed.stderr
    )


def test_kilometres_in_a_metres_column_are_refused_in_spanish_until_accepted(
    city: Engine, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A statistics office's export (``;``, Latin-1, decimal commas, a names column and a notes
    column) whose distances are in kilometres under the catalogue's metres code: exit 1,
    one Spanish line naming file, row, column and value and both ways out (trial #4 F17)."""
    table = tmp_path / "distancias.csv"
    table.write_bytes(
        (
            "Código;Parroquia;dist_school_m;Observaciones\r\n"
            "01001;Zámbiza;1,2;revisar\r\n"
            "01002;Nayón;0,75;\r\n"
            "02001;Calderón;3,45;nueva\r\n"
        ).encode("cp1252")
    )
    args = ["--database", sqlite_url, "--lang", "es", "import", "table", str(table)]
    args += ["--city", "TST", "--period", "2024", "--locale", "es"]
    code, out, err = call(capsys, *args)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "distancias.csv: no se importó nada." in err
    assert "distancias.csv, fila 4, columna 'dist_school_m', valor '3,45'" in err
    assert "son kilómetros; multiplíquelos por 1000 en el archivo (1,65 -> 1650)" in err
    assert "vuelva a ejecutar con --accept-units" in err
    assert distances(city) == {}
    code, out, err = call(capsys, *args, "--accept-units")
    assert code == 0, err
    assert "filas leídas 3, aceptadas 3, rechazadas 0" in out and "kilómetros" in out
    assert distances(city) == {"01001": 1.2, "01002": 0.75, "02001": 3.45}


def distances(engine: Engine) -> dict[str, float]:
    with engine.connect() as connection:
        return dict(
            connection.execute(
                select(models.SpatialUnit.code, models.Observation.value)
                .join(models.Observation, models.Observation.unit_id == models.SpatialUnit.id)
                .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
                .where(models.Indicator.code == "dist_school_m")
            ).all()
        )
