"""``plan import-projects`` as a planner's Excel file arrives (trial #3 F8): Spanish headers,
codes that lost their leading zeros, a blank row between projects; and the period whose
population counts give "people reached", said by both the import and the prioritisation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from inclusive_cities.cli import main
from inclusive_cities.i18n import use_language
from inclusive_cities.planning import import_projects, load_projects
from inclusive_cities.planning.errors import ProjectsFileError
from inclusive_cities.store import models, transaction
from tests.planning.city import PEOPLE, TinyCity, build_city

HEADERS = ["Código", "Nombre", "Tipo", "Costo", "Efecto", "Unidades", "Observaciones"]
# a second census: every barrio grew by 100 host and 20 Venezuelan residents
PEOPLE_2025 = {code: (host + 100, ven + 20, other) for code, (host, ven, other) in PEOPLE.items()}


def write_book(path: Path, rows: dict[int, list[object]]) -> Path:
    """Rows at their Excel row numbers (row 1: the headers); rows not given stay blank, as
    when a planner leaves an empty line between two groups of projects."""
    book = openpyxl.Workbook()
    sheet = book.active
    for column, header in enumerate(HEADERS, start=1):
        sheet.cell(row=1, column=column, value=header)
    for number, values in rows.items():
        for column, value in enumerate(values, start=1):
            sheet.cell(row=number, column=column, value=value)
    book.save(path)
    return path


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> TinyCity:
    """The planning tests' tiny city (marker run on 2024) with a 2025 census as well."""
    folder = tmp_path_factory.mktemp("projects-import")
    tiny = build_city(f"sqlite:///{folder / 'observatory.db'}", replicates=4)
    with transaction(tiny.engine) as session:
        period = models.Period(code="2025")
        session.add(period)
        session.flush()
        population = session.scalar(
            select(models.Indicator.id).where(models.Indicator.code == "population")
        )
        units = dict(session.execute(select(models.SpatialUnit.code, models.SpatialUnit.id)).all())
        for code, (host, ven, other) in PEOPLE_2025.items():
            for nationality, value in (
                (models.TOTAL, host + ven + other),
                ("host", host),
                ("venezuelan", ven),
                ("other_foreign", other),
            ):
                session.add(
                    models.Observation(
                        indicator_id=population,
                        unit_id=units[code],
                        period_id=period.id,
                        nationality=nationality,
                        value=float(value),
                    )
                )
    return tiny


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        finally:
            use_language("en")  # --lang es stays set in this process otherwise
        captured = capsys.readouterr()
        return code, " ".join(captured.out.split()), captured.err.strip()

    return invoke


def test_import_and_prioritise_say_which_census_they_count(
    city: TinyCity, tmp_path: Path, run: Callable[..., tuple[int, str, str]]
) -> None:
    """Trial #3 F8: the import counted the latest census and the prioritisation the marker
    run's, and neither said so: the same barrios gave two "people reached"."""
    book = write_book(
        tmp_path / "proyectos.xlsx",
        {
            2: ["P1", "Parque", "espacio público", "120.000", 0.2, "0101;0102", None],
            3: ["P2", "Vivienda", "vivienda", 150000, 0.3, "0203", -999],
        },
    )
    code, out, err = run(
        "--database", city.url, "--lang", "es", "plan", "import-projects", "--city", "TINY",
        "--projects", str(book), "--level", "barrio",
    )  # fmt: skip
    assert code == 0, err
    # by hand, 2025 (the latest census): hosts 1000 + 1100 + 600, migrants 320 + 80 + 520
    host_25 = sum(PEOPLE_2025[u][0] for u in ("0101", "0102", "0203"))
    migrant_25 = sum(PEOPLE_2025[u][1] + PEOPLE_2025[u][2] for u in ("0101", "0102", "0203"))
    assert (host_25, migrant_25) == (2700, 920)
    assert "2.700 residentes de la población de acogida y 920 refugiados y migrantes" in out
    assert "(población del periodo 2025)" in out
    # the marker run is on 2024: the prioritisation counts 2024 and says so
    out_book = tmp_path / "seleccion.xlsx"
    code, out, err = run(
        "--database", city.url, "plan", "prioritise", "--city", "TINY", "--run", "tiny-plan",
        "--budget", "1000000", "--out", str(out_book), "--robust", "0",
    )  # fmt: skip
    assert code == 0, err
    host_24 = sum(PEOPLE[u][0] for u in ("0101", "0102", "0203"))
    migrant_24 = sum(PEOPLE[u][1] + PEOPLE[u][2] for u in ("0101", "0102", "0203"))
    assert (host_24, migrant_24) == (2400, 860)
    assert "(population of period 2024, the marker run's): 2,400 host residents and 860" in out
    sheet = openpyxl.load_workbook(out_book)["Constraints"]
    values = {row[0]: row[1] for row in sheet.values}
    assert values["Population counts of period"] == "2024"
    assert values["Host residents reached (each counted once)"] == 2400
    # the import at the run's period gives the same people as the prioritisation
    summary = import_projects(city.engine, "TINY", book, level="barrio", period="2024")
    assert summary.period == "2024"
    assert (summary.beneficiaries_host, summary.beneficiaries_migrant) == (2400, 860)


def test_unit_errors_name_the_files_header_and_the_lost_zeros(
    city: TinyCity, tmp_path: Path, run: Callable[..., tuple[int, str, str]]
) -> None:
    """Excel read the code '0104' as the number 104: the error says so, with the file's header."""
    book = write_book(
        tmp_path / "ceros.xlsx",
        {
            2: ["P1", "Parque", "espacio público", 120000, 0.2, "0101", None],
            3: ["P2", "Vivienda", "vivienda", 150000, 0.3, 104, None],  # a number cell
        },
    )
    with pytest.raises(ProjectsFileError) as caught:
        import_projects(city.engine, "TINY", book, level="barrio")
    assert str(caught.value) == (
        "ceros.xlsx, row 3, column 'Unidades': '104' is not a unit of level 'barrio' in TINY: "
        "the city has 0104, the file lost the code's leading zeros (keep the column as text "
        "in Excel)."
    )
    code, _out, err = run(
        "--database", city.url, "--lang", "es", "plan", "import-projects", "--city", "TINY",
        "--projects", str(book), "--level", "barrio",
    )  # fmt: skip
    assert code == 1 and len(err.splitlines()) == 1
    assert "fila 3, columna 'Unidades': '104'" in err and "0104" in err
    # a code that is nothing like the city's keeps the examples
    other = write_book(
        tmp_path / "otro.xlsx", {2: ["P1", "Parque", "espacio público", 1, 0.2, "9999", None]}
    )
    with pytest.raises(ProjectsFileError, match=r"column 'Unidades': '9999' .* such as 0101"):
        import_projects(city.engine, "TINY", other, level="barrio")


def test_blank_rows_are_skipped_and_a_row_without_code_is_named(
    city: TinyCity, tmp_path: Path
) -> None:
    book = write_book(
        tmp_path / "huecos.xlsx",
        {
            2: ["P1", "Parque", "espacio público", 120000, 0.2, "0101", None],
            # row 3 left blank; row 4 has only spaces, as a cleared cell can keep
            4: ["  ", None, None, None, None, None, None],
            5: ["P2", "Vivienda", "vivienda", 150000, 0.3, "0203", None],
            # row 6 blank, then a trailing project after it
            7: ["P3", "Centro", "centro", 90000, "10%", "0201", "x"],
        },
    )
    summary = import_projects(city.engine, "TINY", book, level="barrio", period="2024")
    assert summary.projects == 3
    assert set(load_projects(city.engine, "TINY")["code"]) == {"P1", "P2", "P3"}
    # 0101, 0203, 0201 in 2024 by hand
    assert summary.beneficiaries_host == 900 + 500 + 700
    # a row with some cells filled and no code is still an error, named at its own row
    # (the blank rows before it do not shift the number)
    half = write_book(
        tmp_path / "medio.xlsx",
        {
            2: ["P1", "Parque", "espacio público", 120000, 0.2, "0101", None],
            4: [None, "Sin código", "vivienda", 150000, 0.3, "0203", None],
        },
    )
    with pytest.raises(ProjectsFileError) as caught:
        import_projects(city.engine, "TINY", half, level="barrio")
    assert str(caught.value) == (
        "medio.xlsx, row 4, column 'Código': '' is empty: give every project a code."
    )
    # a dependency error after a blank row names the row where it is written
    deps = write_book(
        tmp_path / "deps.xlsx",
        {
            2: ["P1", "Parque", "espacio público", 120000, 0.2, "0101", None],
            4: ["P2", "Vivienda", "vivienda", 150000, 0.3, "0203", None],
        },
    )
    sheet = openpyxl.load_workbook(deps)
    sheet.active.cell(row=1, column=8, value="Depende de")
    sheet.active.cell(row=4, column=8, value="P9")
    sheet.save(deps)
    with pytest.raises(ProjectsFileError, match=r"row 4, column 'Depende de': 'P9' is not"):
        import_projects(city.engine, "TINY", deps, level="barrio")
    # only blank rows: no projects
    empty = write_book(tmp_path / "vacio.xlsx", {3: [None] * 7, 4: [" "] * 7})
    with pytest.raises(ProjectsFileError, match=r"vacio\.xlsx has no projects"):
        import_projects(city.engine, "TINY", empty, level="barrio")
