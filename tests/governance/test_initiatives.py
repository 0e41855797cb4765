"""Initiatives and good practices: import from CSV or XLSX (es or en headers), update on
re-import, search by words (any case, any accents) and filters."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from inclusive_cities.governance import GovernanceError, import_initiatives, search_initiatives
from inclusive_cities.store import init_database
from tests.governance.helpers import add_city

HEADER = (
    "code,kind,name_es,name_en,level,city,country,domain,status,partners,"
    "description_es,description_en,year"
)
ROWS = [
    "INI-1,initiative,Centro de orientación,Orientation centre,local,DEMO,,SAFE_ORDERLY,"
    "en curso,OIM,,,2021",
    "GP-1,buena práctica,Salud sin barreras,Health without barriers,local,DEMO,,RIGHTS,"
    "finalizada,Cruz Roja,Afiliación en jornadas barriales,Enrolment days in neighbourhoods,2022",
    "GP-2,good_practice,Permiso temporal,Temporary permit,nacional,,col,SAFE_ORDERLY,ongoing,"
    "Migración Colombia,Regularización,Regularisation,",
]
CSV = "\n".join([HEADER, *ROWS]) + "\n"


def test_import_update_and_search(sqlite_url: str, tmp_path: Path) -> None:
    engine = init_database(sqlite_url)
    add_city(engine)
    table = tmp_path / "iniciativas.csv"
    table.write_text(CSV, encoding="utf-8")
    first = import_initiatives(engine, table)
    again = import_initiatives(engine, table)
    assert (first.created, first.updated, again.created, again.updated) == (3, 0, 0, 3)
    # accents and case do not matter; filters combine
    assert [r.code for r in search_initiatives(engine, "AFILIACION")] == ["GP-1"]
    assert [r.code for r in search_initiatives(engine, domain="SAFE_ORDERLY")] == ["GP-2", "INI-1"]
    found = search_initiatives(engine, kind="good_practice", country="COL", level="national")
    assert [(r.code, r.country, r.status, r.city) for r in found] == [
        ("GP-2", "COL", "ongoing", None)
    ]
    local = search_initiatives(engine, city="DEMO", status="completed")
    assert [(r.code, r.country, r.description.text("en"), r.year) for r in local] == [
        ("GP-1", "COL", "Enrolment days in neighbourhoods", 2022)
    ]
    assert search_initiatives(engine, "nada de esto") == []


def test_a_good_practice_needs_both_languages(sqlite_url: str, tmp_path: Path) -> None:
    engine = init_database(sqlite_url)
    add_city(engine)
    book = Workbook()
    sheet = book.active
    sheet.append(
        [
            "código",
            "tipo",
            "nombre_es",
            "nombre_en",
            "nivel",
            "ciudad",
            "dominio",
            "descripción_es",
            "descripción_en",
        ]
    )
    sheet.append(
        [
            "GP-9",
            "buena práctica",
            "Ferias de empleo",
            "Job fairs",
            "local",
            "DEMO",
            "WELLBEING",
            "Ferias mensuales",
            "",
        ]
    )
    book.save(tmp_path / "practicas.xlsx")
    with pytest.raises(GovernanceError) as caught:
        import_initiatives(engine, tmp_path / "practicas.xlsx")
    assert str(caught.value) == (
        "practicas.xlsx:Sheet, row 2, column 'descripción_en': '' is empty: a good practice is "
        "published in Spanish and English."
    )
    assert search_initiatives(engine) == []
    bad_link = tmp_path / "enlace.csv"
    bad_link.write_text(
        "code,kind,name_es,level,city,domain,link\n"
        "INI-7,iniciativa,Mesa migratoria,local,DEMO,PARTNERSHIPS,www.alcaldia.gov\n",
        encoding="utf-8",
    )
    with pytest.raises(
        GovernanceError,
        match=r"enlace.csv, row 2, column 'link': "
        r"'www.alcaldia.gov' is not a web link",
    ):
        import_initiatives(engine, bad_link)
