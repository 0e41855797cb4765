"""Zip-bomb workbooks are refused from the archive's own declarations, before any cell is read.

A 432 KiB XLSX took 175 s and 2.1 GB from the CLI and ended in "Unexpected error". Here a
bomb is built in the test: one sheet of identical rows that packs to well under a
megabyte and unpacks past the limit.
"""

from __future__ import annotations

import resource
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine

from inclusive_cities.ingest import IngestError
from inclusive_cities.ingest.tabular import check_xlsx_limits, read_text_table
from inclusive_cities.surveys import SurveyError
from inclusive_cities.surveys.kobo import read_form
from tests.ingest.conftest import files_under, snapshot
from tests.ingest.test_cli import call

MB = 1024 * 1024
ROW = b'<row><c t="inlineStr"><is><t>01001</t></is></c><c><v>1</v></c></row>'


def small_workbook(path: Path, rows: int = 3) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["unit_code", "period", "a"])
    for index in range(rows):
        sheet.append(["01001", "2024", index])
    book.save(path)
    return path


def bomb(path: Path, unpacked_mb: int, dimension: str | None = None) -> Path:
    """A valid-looking XLSX whose first sheet unpacks to ``unpacked_mb`` MB of rows."""
    source = small_workbook(path.with_name("seed.xlsx"))
    with zipfile.ZipFile(source) as seed, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in seed.infolist():
            if entry.filename != "xl/worksheets/sheet1.xml":
                out.writestr(entry, seed.read(entry))
                continue
            with out.open(entry.filename, "w", force_zip64=True) as sheet:
                head = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                head += b'openxmlformats.org/spreadsheetml/2006/main">'
                if dimension:
                    head += f'<dimension ref="{dimension}"/>'.encode()
                sheet.write(head + b"<sheetData>")
                block = ROW * (MB // len(ROW))
                for _ in range(unpacked_mb):
                    sheet.write(block)
                sheet.write(b"</sheetData></worksheet>")
    return path


def test_zip_bomb_refused_at_once_through_the_cli(
    city: Engine, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bomb(tmp_path / "bomb.xlsx", 240)
    packed_kib = path.stat().st_size / 1024
    assert packed_kib < 1024  # a bomb: under 1 MB packed, 240 MB unpacked
    before, files = snapshot(city), files_under(tmp_path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    code, out, err = call(
        capsys, "--database", sqlite_url, "--lang", "en", "import", "table", str(path),
        "--city", "TST",
    )  # fmt: skip
    seconds = time.perf_counter() - started
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
    line = " ".join(err.split())
    assert code == 1, (out, err)
    assert "unpacks to 240 MB, more than the 200 MB allowed" in line, line
    assert "INCLUSIVE_CITIES_XLSX_MAX_MB" in line and "Unexpected" not in line
    assert err.strip().count("\n") == 0
    assert seconds < 5, seconds
    assert grown_mb < 50, grown_mb
    assert snapshot(city) == before and files_under(tmp_path) == files


def test_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = bomb(tmp_path / "five.xlsx", 5)
    with pytest.raises(IngestError, match="unpacks to 5 MB, more than the 4 MB allowed"):
        check_xlsx_limits(path, max_mb=4)
    monkeypatch.setenv("INCLUSIVE_CITIES_XLSX_MAX_MB", "4")
    with pytest.raises(IngestError, match="more than the 4 MB allowed"):
        read_text_table(path)
    monkeypatch.setenv("INCLUSIVE_CITIES_XLSX_MAX_MB", "6")
    check_xlsx_limits(path)  # under the raised limit: no error


def test_declared_rows_over_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    huge = bomb(tmp_path / "rows.xlsx", 1, dimension="A1:C5000000")
    with pytest.raises(IngestError, match="sheet sheet1 declares 5000000 rows, more than the"):
        read_text_table(huge)
    ordinary = small_workbook(tmp_path / "twenty.xlsx", rows=20)
    assert len(read_text_table(ordinary).rows) == 20
    monkeypatch.setenv("INCLUSIVE_CITIES_XLSX_MAX_ROWS", "10")
    with pytest.raises(IngestError, match="declares 21 rows, more than the 10 allowed"):
        read_text_table(ordinary)


def test_survey_form_bomb_refused(tmp_path: Path) -> None:
    path = bomb(tmp_path / "form.xlsx", 210)
    started = time.perf_counter()
    with pytest.raises(SurveyError, match="unpacks to 210 MB"):
        read_form(path)
    assert time.perf_counter() - started < 5
