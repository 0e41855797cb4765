"""Workshops collected with the shipped XLSForm in KoBoToolbox: the XLSX export (one sheet per
repeat group, linked by _index/_parent_index) imports on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from inclusive_cities.planning.workshop_import import WorkshopFileError, import_workshop
from inclusive_cities.planning.workshop_templates import write_xlsform
from inclusive_cities.planning.workshops import find_workshop, list_workshops
from inclusive_cities.store import transaction
from inclusive_cities.surveys.kobo import read_form
from tests.planning.workshop_city import CITY, build_city

MAIN = ["code", "title", "held_on", "unit_code", "place_name", "location", "_location_latitude",
        "_location_longitude", "areas", "facilitators", "notes", "_id", "_uuid",
        "_submission_time", "_index"]  # fmt: skip
SUBMISSIONS = [
    ["TALLER-02", "Taller de espacio público", "2025-05-03", "0102", "Parque La Colina",
     "4.62 -74.07 0 5", 4.62, -74.07, "SAL VIV", "Marta Ríos", "-999", 101, "a1b2",
     "2025-05-03T18:00:00", 1],
    ["TALLER-03", "Taller de empleo", "2025-06-10", "0201", "", "", None, None, "SAL", "",
     "", 102, "c3d4", "2025-06-10T18:00:00", 2],
]  # fmt: skip
REPEATS = {
    "participants": (
        ["sex", "age_group", "nationality", "role", "count"],
        [
            (1, ["F", "18-29", "host", "residente", 14]),
            (1, ["M", "30-59", "refugee_migrant", "residente", 11]),
            (2, ["F", "30-59", "refugee_migrant", "emprendedora", 6]),
        ],
    ),
    "tree": (
        [
            "node_code",
            "node_kind",
            "node_parent",
            "node_text",
            "node_areas",
            "node_dimensions",
            "node_indicators",
            "node_units",
        ],
        [
            (1, ["P-01", "central", "", "Parque abandonado e inseguro", "", "", "", "0102"]),
            (1, ["C-01", "cause", "P-01", "Falta de iluminación", "", "", "", ""]),
            (1, ["E-01", "effect", "P-01", "Las familias no usan el parque", "", "", "", ""]),
            (2, ["P-01", "central", "", "Empleo informal", "", "", "", ""]),
        ],
    ),
    "matrix": (
        [
            "row_code",
            "row_area",
            "row_kind",
            "row_text",
            "row_indicators",
            "row_units",
            "row_solutions",
        ],
        [
            (1, ["D-01", "VIV", "demand", "Iluminación del parque", "overcrowding", "", "S-01"]),
            (
                1,
                [
                    "S-01",
                    "VIV",
                    "solution",
                    "Recuperación del parque con la comunidad",
                    "",
                    "0102",
                    "",
                ],
            ),
        ],
    ),
}


def kobo_export(path: Path, broken_count: object = None) -> Path:
    """An export as KoBoToolbox writes it: main sheet, then one sheet per repeat group."""
    book = Workbook()
    main = book.active
    main.title = "Taller de co-creación"
    main.append(MAIN)
    for row in SUBMISSIONS:
        main.append(row)
    index = 0
    for name, (columns, rows) in REPEATS.items():
        sheet = book.create_sheet(name)
        sheet.append([*columns, "_index", "_parent_table_name", "_parent_index"])
        for parent, values in rows:
            index += 1
            if name == "participants" and broken_count is not None and index == 2:
                values = [*values[:-1], broken_count]
            sheet.append([*values, index, "Taller de co-creación", parent])
    book.save(path)
    return path


def test_the_shipped_xlsform_is_valid_for_kobo(tmp_path: Path) -> None:
    form = read_form(write_xlsform(tmp_path / "formulario.xlsx", "es"))  # pyxform checks it
    assert form.repeats == ["participants", "tree", "matrix"]
    assert form.choices["nationality"] == {"host": "comunidad de acogida",
                                            "refugee_migrant": "refugiada o migrante"}  # fmt: skip


def test_kobo_export_imports_on_both_engines(db_url: str, tmp_path: Path) -> None:
    engine = build_city(db_url)
    summary = import_workshop(engine, kobo_export(tmp_path / "export.xlsx"), CITY)
    assert summary.codes == ["TALLER-02", "TALLER-03"]
    assert (summary.nodes, summary.rows, summary.participants) == (4, 2, 31)
    with transaction(engine) as session:
        park = find_workshop(session, CITY, "TALLER-02")
        listed = [w.code for w in list_workshops(session, CITY)]
    assert listed == ["TALLER-03", "TALLER-02"]  # newest first
    assert (park.unit_code, park.latitude, park.longitude) == ("0102", 4.62, -74.07)
    assert park.notes == "" and park.areas == ["SAL", "VIV"]
    assert {(n.code, n.parent) for n in park.nodes} == {
        ("P-01", None),
        ("C-01", "P-01"),
        ("E-01", "P-01"),
    }
    assert [(r.code, r.solutions) for r in park.matrix] == [("D-01", ["S-01"]), ("S-01", [])]
    assert sorted(p.count for p in park.participants) == [11, 14]
    again = import_workshop(engine, kobo_export(tmp_path / "export.xlsx"), CITY)
    assert again.replaced == 2


def test_kobo_missing_code_in_a_count_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    engine = build_city(sqlite_url)
    with pytest.raises(WorkshopFileError) as error:
        import_workshop(engine, kobo_export(tmp_path / "export.xlsx", broken_count=999), CITY)
    message = str(error.value)
    assert "export.xlsx, sheet 'participants', row 3, column 'count'" in message
    assert "missing-value code" in message
    with transaction(engine) as session:
        assert list_workshops(session, CITY) == []
