"""An analyst brings an Excel file to the observatory in a real browser (Chromium via
Playwright, uvicorn, SQLite), in Spanish: upload, map the columns, read a data dictionary,
confirm, read the job's report, publish the layer and see it on the map with its unit.
One server (in a thread of the test process) and one browser; screenshots go to
test-artifacts/web/ (table-upload-*.png).

The workbook is as Excel keeps it: codes typed as text (01001), figures as numbers, "no data"
as 999 and NS/NR, a names column and a notes column. Expected values by hand from ROWS.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from openpyxl import Workbook
from playwright.sync_api import BrowserContext, Page, expect

from inclusive_cities.web import create_app
from tests.web.browser import browser_context, checked_page, shot
from tests.web.conftest import build_city, specs
from tests.web.live import thread_server
from tests.web.test_security import ANALYST, add_user

HEADER = [
    "Código manzana",
    "Año",
    "Nombre",
    "% hogares con internet",
    "Distancia al colegio",
    "Proporción con agua",
    "Observaciones",
]
ROWS = [
    ["01001", 2023, "Norte uno", 20.3, 125, 0.91, "revisar"],
    ["01002", 2023, "Norte dos", "NS/NR", 80, 0.75, None],
    ["01003", 2023, "Norte tres", 35.4, 999, 0.5, None],
    ["02001", 2023, "Sur uno", 41, 210, 0.88, "nueva"],
]
DICTIONARY = (
    "columna;etiqueta;unidad;dirección\n"
    "% hogares con internet;Hogares con internet;porcentaje;mayor es mejor\n"
    "Distancia al colegio;Distancia al colegio;metros;menor es mejor\n"
).encode()


def workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row)
    for cell in sheet["A"][1:]:
        cell.number_format = "@"  # the codes typed as text keep their zeros
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    city = build_city(f"sqlite:///{tmp_path_factory.mktemp('upload-browser') / 'web.db'}")
    add_user(city, *ANALYST, "analyst")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INCLUSIVE_CITIES_BASEMAP_URL", "none")  # no internet here
        with thread_server(create_app(city.url, specs=specs)) as base:
            yield base


@pytest.fixture(scope="module")
def context() -> Iterator[BrowserContext]:
    with browser_context(height=1000) as context:
        yield context


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    with checked_page(context) as page:
        yield page


def upload_and_map(page: Page, check: bool) -> None:
    """Upload the workbook, give the dictionary and map the columns (``check``: the roles
    guessed, the level, the missing codes and what the dictionary fills in)."""
    page.select_option("#up-city", "TST")
    page.set_input_files(
        "#up-file",
        {
            "name": "Censo manzanas.xlsx",
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "buffer": workbook(),
        },
    )
    page.click("#upload-form button[type=submit]")
    # the mapping page: each column with the role guessed for it
    expect(page.locator("h1")).to_have_text("Asignar las columnas de Censo manzanas.xlsx:Sheet")
    if check:
        roles = [page.locator(f"#role-{i}").input_value() for i in range(len(HEADER))]
        assert roles == [
            "unit",
            "period",
            "ignore",
            "indicator",
            "indicator",
            "indicator",
            "ignore",
        ]
        assert page.locator("#role-0 option:checked").inner_text() == "Código de la unidad"
        assert page.locator("#up-level").input_value() == "manzana"
        assert "Manzana: 4 de los 4 códigos del archivo" in page.locator("#up-level").inner_text()
        assert page.locator("#up-missing").input_value().split() == ["NS/NR", "999"]
        assert page.locator("#direction-3").input_value() == "unknown"  # no dictionary yet
    page.set_input_files(
        "#up-dictionary",
        {"name": "diccionario.csv", "mimeType": "text/csv", "buffer": DICTIONARY},
    )
    page.click("#dictionary-form button[type=submit]")
    expect(page.locator("#dictionary-used")).to_have_text("Diccionario en uso: diccionario.csv")
    if check:
        assert page.locator("#label-3").input_value() == "Hogares con internet"
        assert page.locator("#direction-3 option:checked").inner_text() == "más es mejor"
        assert page.locator("#unit-4").input_value() == "m"
    page.fill("#label-5", "Hogares con agua")  # typed: not in the dictionary
    page.fill("#unit-5", "%")


def test_an_analyst_uploads_maps_imports_and_sees_the_indicator(page: Page, server: str) -> None:
    page.goto(server + "/admin/login")
    page.fill("#email", ANALYST[0])
    page.fill("#password", ANALYST[1])
    page.click("button[type=submit]")
    page.wait_for_url(server + "/admin")
    assert page.locator("html").get_attribute("lang") == "es"
    upload_and_map(page, check=True)
    shot(page, "table-upload-01-mapping-es")
    page.click("#confirm-import")

    # 0.91 in a column said to be in %: refused (trial #4 F17), naming the column, its value
    # and the way out on this page
    expect(page.locator("#job-status strong")).to_have_text("Fallida", timeout=60_000)
    refusal = page.locator("#job-status").inner_text()
    assert "Proporción con agua" in refusal, refusal
    assert "valor '0.91'" in refusal, refusal  # as the spreadsheet's cell holds it
    assert "Importar los valores tal como están" in refusal

    # the analyst knows the column is right as it is: again, with the box ticked
    page.goto(server + "/admin")
    upload_and_map(page, check=False)
    page.check("input[name=accept_units]")
    page.click("#confirm-import")

    # the job's page refreshes itself until the import has ended
    expect(page.locator("#job-status strong")).to_have_text("Terminada", timeout=60_000)
    rows = page.locator("#job-indicators tbody tr")
    expect(rows).to_have_count(3)
    internet = rows.filter(has_text="hogares_con_internet").locator("td")
    assert internet.all_inner_texts() == [
        "Hogares con internet",
        "hogares_con_internet",
        "%",
        "más es mejor",
        "2023",
        "3",  # 01002 said NS/NR: no data
    ]
    distance = rows.filter(has_text="distancia_al_colegio").locator("td").all_inner_texts()
    assert distance[2:4] == ["m", "menos es mejor"] and distance[5] == "3"  # 999: no data
    warnings = page.locator("#job-warnings").inner_text()
    assert "Proporción con agua" in warnings and "se guardaron tal como están" in warnings
    shot(page, "table-upload-02-job-es")

    # published, the layer is on the map with its name and unit
    page.goto(server + "/admin")
    row = page.locator("#layers tbody tr", has_text="hogares_con_internet")
    row.locator("button").click()
    page.wait_for_url(server + "/admin")
    expect(
        page.locator("#layers tbody tr", has_text="hogares_con_internet").locator("td").nth(4)
    ).to_have_text("publicada")
    page.goto(server + "/cities/TST/map?period=2023")
    page.select_option("#layer", "ind:hogares_con_internet")
    page.wait_for_selector("body[data-map-ready='ind:hogares_con_internet']")
    assert "Hogares con internet" in page.locator("#legend-title").inner_text()
    north = page.locator("#unit-list option", has_text="(01001)")
    assert north.inner_text().endswith("— 20,3")
    page.select_option("#unit-list", north.get_attribute("value"))
    assert "20,3 %" in page.locator("#details").inner_text()  # its value, with its unit
    shot(page, "table-upload-03-map-es")
