"""The programme pages in a real browser (Chromium via Playwright) against uvicorn: the public
page in Spanish and English with its progress bars, the centres map read from the OGC API
collection, and a programme officer who uploads the results template for Quito and sees the
public page change. Figures by hand as in tests/web/programme_city.py.

Screenshots go to test-artifacts/web/ for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from inclusive_cities import monitoring
from inclusive_cities.store import connect, transaction
from inclusive_cities.web import auth
from tests.web.live import ROOT, live_server
from tests.web.programme_city import (
    CENTRES,
    OFFICER,
    OFFICER_PASSWORD,
    ProgrammeCity,
    programme_copy,
)

ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CAMPAIGNS = "people_reached_campaigns"


@pytest.fixture(scope="module")
def programme(tmp_path_factory: pytest.TempPathFactory) -> ProgrammeCity:
    built = programme_copy(tmp_path_factory, "browser")
    with transaction(connect(built.url)) as session:
        officer = auth.create_user(session, OFFICER, "programme", OFFICER_PASSWORD)
        session.flush()
        monitoring.assign_cities(session, officer, ["QTO"])
    return built


@pytest.fixture(scope="module")
def server(programme: ProgrammeCity) -> Iterator[str]:
    with live_server(programme.url) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def bar(page: Page, scope: str, indicator: str) -> dict[str, str]:
    """What a result block shows: its figures and the bar's value."""
    block = page.locator(f"{scope} .pg-result[data-indicator='{indicator}']")
    return {
        "actual": block.get_attribute("data-actual") or "",
        "percent": block.locator("[role=progressbar]").get_attribute("aria-valuenow") or "",
        "width": block.locator(".pg-fill").evaluate("el => el.style.width"),
        "figures": block.locator(".pg-figures").inner_text(),
    }


def test_public_programme_page_in_spanish_and_english(page: Page, server: str) -> None:
    page.goto(server + "/programme?lang=es")
    assert page.locator("html").get_attribute("lang") == "es"
    page.wait_for_selector("body[data-map-ready='true']")
    assert page.locator("body").get_attribute("data-features") == "3"  # the target cities
    # names never cover each other (trial #4 F6); these three are far apart: all shown
    assert page.locator("body").get_attribute("data-labels-shown") == "3"
    overlaps = page.evaluate(
        """() => {
          const r = [...document.querySelectorAll('.pg-map-label')]
            .filter(t => t.style.visibility !== 'hidden').map(t => t.getBoundingClientRect());
          let n = 0;
          for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++)
            if (r[i].left < r[j].right && r[i].right > r[j].left &&
                r[i].top < r[j].bottom && r[i].bottom > r[j].top) n++;
          return n;
        }"""
    )
    assert overlaps == 0
    headline = bar(page, "#headline", CAMPAIGNS)
    # 950 of 2,000 people reached: 47.5 % rounds to 48
    assert headline == {
        "actual": "950.0",
        "percent": "48",
        "width": "48%",
        "figures": "950 de 2.000 en 2026 · 48 % de la meta",
    }
    assert bar(page, "[data-country='COL']", CAMPAIGNS)["percent"] == "57"  # 800 / 1,400
    assert bar(page, "[data-country='ECU']", CAMPAIGNS)["percent"] == "25"  # 150 / 600
    line = page.locator("#have-lines li[data-code='cities_with_marker']")
    assert line.get_attribute("data-n") == "1" and line.get_attribute("data-m") == "3"
    shot(page, "programme-01-public-es")

    page.click("#lang-switch")
    page.wait_for_selector("html[lang='en']")
    page.wait_for_selector("body[data-map-ready='true']")
    assert (
        bar(page, "#headline", CAMPAIGNS)["figures"] == "950 of 2,000 in 2026 · 48 % of the target"
    )
    assert "Urban Inclusion Marker" in page.locator("#have-lines").inner_text()
    page.click("a[data-city='QTO']")
    page.wait_for_selector("h1:has-text('Quito')")
    assert bar(page, "#city-results", CAMPAIGNS)["percent"] == "25"
    shot(page, "programme-02-public-en")


def test_centres_map_reads_the_ogc_collection(page: Page, server: str) -> None:
    page.goto(server + "/programme/centres?lang=en")
    page.wait_for_selector("body[data-map-ready='true']")
    # every centre of the network is a feature of the collection, the one in preparation too
    assert page.locator("body").get_attribute("data-features") == str(len(CENTRES))
    drawn = page.evaluate(
        "window.programmeMap.querySourceFeatures('points').map(f => f.properties.code).sort()"
    )
    assert set(drawn) == {c[0] for c in CENTRES}
    assert page.locator("#centres-table tbody tr").count() == len(CENTRES)
    shot(page, "programme-03-centres-en")


def test_officer_uploads_the_template_and_the_public_page_changes(
    page: Page, server: str, tmp_path: Path
) -> None:
    page.goto(server + "/admin/login?lang=es")
    page.fill("#email", OFFICER)
    page.fill("#password", OFFICER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/admin/programme")  # a programme account lands on its page
    assert page.locator("#upload-city option").all_inner_texts() == ["Quito (Ecuador)"]
    with page.expect_download() as download:
        page.click("a.template-link[data-city='QTO']")
    template = tmp_path / "plantilla.xlsx"
    download.value.save_as(template)
    book = openpyxl.load_workbook(template)
    sheet = book["valores"]
    column = {str(c.value): i for i, c in enumerate(sheet[1])}
    for row in sheet.iter_rows(min_row=2):
        if row[column["indicador"]].value == CAMPAIGNS and row[column["tipo"]].value == "real":
            row[column["periodo"]].value = "2026"
            row[column["valor"]].value = 420
    book.save(template)
    page.set_input_files("#file", str(template))
    page.click("#upload-button")
    page.wait_for_selector("#message")
    assert "plantilla.xlsx importado." in page.locator("#message").inner_text()
    shot(page, "programme-04-officer-upload-es")

    page.goto(server + "/programme?lang=es")
    page.wait_for_selector("body[data-map-ready='true']")
    # Quito now 420 of 600 (70 %); the programme 700 + 100 + 420 = 1,220 of 2,000 (61 %)
    assert bar(page, "[data-country='ECU']", CAMPAIGNS)["percent"] == "70"
    assert (
        bar(page, "#headline", CAMPAIGNS)["figures"] == "1.220 de 2.000 en 2026 · 61 % de la meta"
    )
