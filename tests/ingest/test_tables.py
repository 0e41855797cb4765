"""Indicator tables: encodings, Spanish numbers, HXL, long/wide, XLSX, and bad tables."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, select

from inclusive_cities.ingest import import_table, parse_number
from inclusive_cities.store import models, transaction
from tests.ingest.conftest import assert_rejected, snapshot


def observations(engine: Engine) -> dict[tuple[str, str, str], float]:
    """(unit, indicator, period) -> value."""
    with transaction(engine) as session:
        rows = session.execute(
            select(
                models.SpatialUnit.code,
                models.Indicator.code,
                models.Period.code,
                models.Observation.value,
                models.Observation.status,
            )
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .join(models.Period, models.Period.id == models.Observation.period_id)
        ).all()
    assert all(status == "observed" for *_rest, status in rows)
    return {(u, i, p): v for u, i, p, v, _s in rows}


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("1.234,5", ",", 1234.5),
        ("12,5 %", ",", 12.5),
        ("-0,25", ",", -0.25),
        ("1.234.567", ",", 1234567.0),
        ("1,234.5", ".", 1234.5),
        ("12.5%", ".", 12.5),
        ("3", ".", 3.0),
        ("12,5", ".", None),
        ("abc", ",", None),
        ("1.2.3", ".", None),
    ],
)
def test_numbers_as_people_write_them(text: str, decimal: str, expected: float | None) -> None:
    assert parse_number(text, decimal) == expected


def test_wide_table_with_hxl_and_decimal_commas(city: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path / "ind.csv",
        "codigo_barrio;periodo;tasa_delitos;internet_hogares\n"
        "#adm3+code;#date+year;#indicator+crime_rate_per_100k;#indicator+internet\n"
        "01001;2024;1.499,5;0,922\n01002;2024;801,7;12,5 %\n02001;2024;;0,1\n",
    )
    report = import_table(city, path, city="TST", decimal=",")
    assert (report.rows_read, report.rows_accepted, report.units_matched) == (3, 3, 3)
    assert observations(city) == {
        ("01001", "crime_rate_per_100k", "2024"): 1499.5,
        ("01001", "internet", "2024"): 0.922,
        ("01002", "crime_rate_per_100k", "2024"): 801.7,
        ("01002", "internet", "2024"): 12.5,
        ("02001", "internet", "2024"): 0.1,
    }


def test_long_table_latin1_detected(city: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path / "long.csv",
        "unidad,indicador,año,valor,nota\n01001,tasa_educación,2023,3.5,Bogotá\n",
        encoding="latin-1",
    )
    report = import_table(
        city, path, city="TST", unit_column="unidad", indicator_columns={"valor": "tasa_educacion"}
    )
    assert report.details["encoding"] == "latin-1"
    assert observations(city) == {("01001", "tasa_educacion", "2023"): 3.5}


def test_long_layout_utf8_bom(city: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path / "bom.csv",
        "\ufeffunit_code,indicator,period,value\n01001,a,2024,1\n01002,a,2024,2\n01002,b,2024,3\n",
    )
    report = import_table(city, path, city="TST")
    assert report.details["encoding"] == "utf-8-sig"
    assert observations(city) == {
        ("01001", "a", "2024"): 1.0,
        ("01002", "a", "2024"): 2.0,
        ("01002", "b", "2024"): 3.0,
    }


def test_xlsx_sheet_and_hxl_population_tag(city: Engine, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "notes"
    sheet = book.create_sheet("datos")
    for row in (
        ["barrio", "refugiados"],
        ["#adm3+code", "#population+refugees"],
        ["01001", 120],
        ["02001", 35],
    ):
        sheet.append(row)
    book.save(tmp_path / "pop.xlsx")
    import_table(city, tmp_path / "pop.xlsx", city="TST", sheet="datos", period="2024")
    assert observations(city) == {
        ("01001", "population_refugees", "2024"): 120.0,
        ("02001", "population_refugees", "2024"): 35.0,
    }


def test_reimport_noop_correction_replaces_and_accept_valid(city: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "unit_code,period,a\n01001,2024,1\n01002,2024,2\n")
    first = import_table(city, path, city="TST")
    assert import_table(city, path, city="TST").status == "unchanged"
    write(path, "unit_code,period,a\n01001,2024,10\n99999,2024,5\n")
    fixed = import_table(city, path, city="TST", accept_valid=True)
    assert fixed.replaced_batch_ids == [first.batch_id]
    assert (fixed.rows_accepted, fixed.rows_rejected, fixed.units_unmatched) == (1, 1, 1)
    assert observations(city) == {("01001", "a", "2024"): 10.0}
    rejects = Path(fixed.reject_path or "").read_text(encoding="utf-8")
    assert "row 3" in rejects and "99999" in rejects and "not found" in rejects


def test_dry_run_writes_nothing(city: Engine, tmp_path: Path) -> None:
    before = snapshot(city)
    path = write(tmp_path / "t.csv", "unit_code,period,a\n01001,2024,1\n")
    assert import_table(city, path, city="TST", dry_run=True).status == "dry_run"
    assert snapshot(city) == before


# --- bad tables: message names file, row, column and value; the store is unchanged


def test_declared_utf8_but_latin1(city: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path / "enc.csv",
        "unit_code,period,a\n01001,2024,1\n01002,2024,Bogotá\n",
        encoding="latin-1",
    )
    assert_rejected(
        city,
        lambda: import_table(city, path, city="TST", encoding="utf-8"),
        "enc.csv",
        "row 3",
        "0xe1",
        "not valid utf-8",
        "--encoding",
    )


def test_decimal_comma_not_declared(city: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "dc.csv", 'unit_code,period,a\n01001,2024,"12,5"\n')
    assert_rejected(
        city,
        lambda: import_table(city, path, city="TST"),
        "dc.csv",
        "row 2",
        "column 'a'",
        "value '12,5'",
        "--decimal ,",
    )


def test_non_numeric_value(city: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "nn.csv", "unit_code,period,a\n01001,2024,1\n01002,2024,n/d\n")
    assert_rejected(
        city,
        lambda: import_table(city, path, city="TST"),
        "nn.csv",
        "row 3",
        "column 'a'",
        "value 'n/d'",
        "not a number",
    )


def test_unknown_unit_rows(city: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "orph.csv", "unit_code,period,a\n01001,2024,1\n77777,2024,2\n")
    assert_rejected(
        city,
        lambda: import_table(city, path, city="TST"),
        "orph.csv",
        "row 3",
        "value '77777'",
        "not found in city TST",
    )


def test_header_only(city: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "head.csv", "unit_code,period,a\n")
    assert_rejected(city, lambda: import_table(city, path, city="TST"), "head.csv", "no data rows")


def test_zero_byte_file(city: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "zero.csv", "")
    assert_rejected(city, lambda: import_table(city, path, city="TST"), "zero.csv", "0 bytes")


def test_wrong_sheet(city: Engine, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Hoja1"
    book.save(tmp_path / "s.xlsx")
    assert_rejected(
        city,
        lambda: import_table(city, tmp_path / "s.xlsx", city="TST", sheet="Datos"),
        "s.xlsx",
        "no sheet 'Datos'",
        "Hoja1",
        "--sheet",
    )


def test_truncated_csv_inside_quotes(city: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "cut.csv", 'unit_code,period,a\n01001,2024,1\n01002,2024,"2')
    assert_rejected(
        city, lambda: import_table(city, path, city="TST"), "cut.csv", "row 3", "truncated"
    )


def test_row_with_missing_fields(city: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "short.csv", "unit_code,period,a,b\n01001,2024,1,2\n01002,2024\n")
    assert_rejected(
        city,
        lambda: import_table(city, path, city="TST"),
        "short.csv",
        "row 3",
        "2 fields where the header has 4",
    )


def test_truncated_xlsx(city: Engine, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["unit_code", "period", "a"])
    book.save(tmp_path / "full.xlsx")
    raw = (tmp_path / "full.xlsx").read_bytes()
    write(tmp_path / "cut.xlsx", "")
    (tmp_path / "cut.xlsx").write_bytes(raw[: len(raw) // 2])
    assert_rejected(
        city,
        lambda: import_table(city, tmp_path / "cut.xlsx", city="TST"),
        "cut.xlsx",
        "cannot be opened",
        "truncated",
    )


def test_merged_header_cells(city: Engine, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "datos"
    sheet.append(["unit_code", "period", "salud", None])
    sheet.append(["01001", "2024", 1, 2])
    sheet.merge_cells("C1:D1")
    book.save(tmp_path / "m.xlsx")
    assert_rejected(
        city,
        lambda: import_table(city, tmp_path / "m.xlsx", city="TST"),
        "m.xlsx:datos",
        "row 1",
        "C1:D1",
        "merged",
        "unmerge",
    )


def test_hxl_unknown_tag(city: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path / "hxl.csv", "barrio,anio,x\n#adm3+code,#date,#sector+cluster\n01001,2024,3\n"
    )
    assert_rejected(
        city,
        lambda: import_table(city, path, city="TST"),
        "hxl.csv",
        "row 2",
        "column 'x'",
        "#sector+cluster",
        "--hxl-map",
    )


def test_duplicate_value_for_same_unit(city: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "dup.csv", "unit_code,period,a\n01001,2024,1\n01001,2024,2\n")
    assert_rejected(
        city,
        lambda: import_table(city, path, city="TST"),
        "dup.csv",
        "row 3",
        "column 'a'",
        "value '2'",
        "first at row 2",
    )


def test_binary_file(city: Engine, tmp_path: Path) -> None:
    (tmp_path / "bin.csv").write_bytes(b"unit\x00\x01\x02code")
    assert_rejected(
        city,
        lambda: import_table(city, tmp_path / "bin.csv", city="TST"),
        "bin.csv",
        "not a text file",
    )


def test_missing_period(city: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "np.csv", "unit_code,a\n01001,1\n")
    assert_rejected(city, lambda: import_table(city, path, city="TST"), "np.csv", "--period")


def test_unknown_city(city: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "unit_code,period,a\n01001,2024,1\n")
    assert_rejected(
        city, lambda: import_table(city, path, city="ZZZ"), "c.csv", "city ZZZ", "import boundaries"
    )


def test_spanish_messages(city: Engine, tmp_path: Path) -> None:
    from inclusive_cities.i18n import use_language

    path = write(tmp_path / "nn.csv", "unit_code,period,a\n01001,2024,n/d\n")
    use_language("es")
    message = assert_rejected(
        city,
        lambda: import_table(city, path, city="TST"),
        "nn.csv",
        "fila 2",
        "columna 'a'",
        "valor 'n/d'",
    )
    assert "no es un número" in message
