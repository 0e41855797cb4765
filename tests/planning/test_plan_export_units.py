"""``plan.xlsx`` names the units of a project placed by its site alone (trial #4 F19: the
``unidades`` column was empty for a project drawn as a polygon), by the rule the project's
page follows: at the level of the latest published marker run (manzanas), the block holding
a point, the blocks a polygon overlaps, not those it only touches along an edge.

City TST (tests/web/conftest.py): blocks are 0.01° squares, 01001 at x -72.50..-72.49,
01002 at -72.49..-72.48, 01003 at -72.48..-72.47 (y 7.90..7.91); 02001..02003 above them
(y 7.91..7.92). The plan workbook is written as a planner fills it, Spanish headers, sites
as WKT or longitude/latitude, ``unidades`` left blank.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient

from inclusive_cities.cli import main
from inclusive_cities.planning.plan_io import import_plan
from inclusive_cities.planning.territorial_plan import create_plan, set_published
from inclusive_cities.store import connect
from inclusive_cities.web import create_app
from tests.planning.test_territorial_plan import write_xlsx
from tests.web.conftest import build_city, specs

HEADERS = ["Código", "Nombre", "Tipo", "Estado", "Costo", "Unidades", "Geometría", "Longitud",
           "Latitud"]  # fmt: skip
ROWS = [
    # across the line between 01001 and 01002
    ["P-ANCHO", "Parque lineal", "Espacio público", "Aprobado", "1.000.000", None,
     "POLYGON ((-72.495 7.902, -72.485 7.902, -72.485 7.908, -72.495 7.908, -72.495 7.902))",
     None, None],
    # block 02002's own outline: it touches 01002, 02001 and 02003 along its edges
    ["P-MANZANA", "Centro comunitario", "Servicios", "Propuesto", "500.000", "",
     "POLYGON ((-72.49 7.91, -72.48 7.91, -72.48 7.92, -72.49 7.92, -72.49 7.91))", None, None],
    ["P-PUNTO", "Punto de atención", "Centro", "En ejecución", "200.000", None, None,
     -72.475, 7.915],
    # listed units win over the site
    ["P-LISTA", "Vivienda", "Vivienda", "Propuesto", "300.000", "01001", None, -72.475, 7.905],
    ["P-SIN", "Estudio", "Cohesión social", "Propuesto", "50.000", None, None, None, None],
]  # fmt: skip
EXPECTED = {
    "P-ANCHO": "01001; 01002",
    "P-MANZANA": "02002",
    "P-PUNTO": "02003",
    "P-LISTA": "01001",
    "P-SIN": None,
}


def units_column(path: Path, sheet: str, code: str, units: str) -> dict[str, str | None]:
    """Each project's units as the workbook's projects sheet writes them."""
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book[sheet].iter_rows(values_only=True))
    book.close()
    at_code, at_units = rows[0].index(code), rows[0].index(units)
    return {str(r[at_code]): (r[at_units] or None) for r in rows[1:]}


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    build_city(url)
    engine = connect(url)
    create_plan(engine, "TST", "2026-2029", code="PIT")
    workbook = write_xlsx(tmp_path / "p.xlsx", HEADERS, ROWS, "Proyectos")
    assert import_plan(engine, "TST", "PIT", workbook) == 5
    set_published(engine, "TST", "PIT")
    engine.dispose()
    return url


def test_plan_xlsx_names_the_units_of_projects_placed_by_their_site(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan.xlsx"
    args = ["--database", url, "--quiet", "--lang", "es", "plan", "export", "--city", "TST"]
    try:
        main([*args, "--plan", "PIT", "--out", str(out)])
    except SystemExit as stop:
        assert not stop.code, capsys.readouterr().err
    assert units_column(out, "proyectos", "codigo", "unidades") == EXPECTED
    with TestClient(create_app(url, specs=specs)) as client:
        response = client.get("/cities/TST/plan/PIT/plan.xlsx?lang=en")
        assert response.status_code == 200
        download = tmp_path / "download.xlsx"
        download.write_bytes(response.content)
        assert units_column(download, "projects", "code", "unit_codes") == EXPECTED
        # the project's page names the same blocks
        page = client.get("/cities/TST/plan/projects/P-MANZANA?lang=es").text
        facts = page[page.index('id="project-facts"') :]
        facts = facts[: facts.index("</dl>")]
        assert "Manzana 02002" in facts
        assert not any(f"Manzana {c}" in facts for c in ("02001", "02003"))
