"""The public site in a real browser (Debian's Chromium via Playwright) against uvicorn.

Screenshots go to test-artifacts/web/ for people to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.web.conftest import City
from tests.web.live import ROOT, live_server

ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def server(city: City) -> Iterator[str]:
    with live_server(city.url) as base:
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


def test_overview_map_profile_language_and_download(page: Page, server: str) -> None:
    page.goto(server + "/cities/TST")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator(".big").inner_text().startswith("68,3")
    page.wait_for_selector("[data-spec-id='distribution'][data-rendered='true'] svg")
    shot(page, "01-overview-es")

    page.click("text=Explorar el mapa")
    page.wait_for_selector("body[data-map-ready='node:UIM']")
    assert "Muy sólido" in page.locator("#legend").inner_text()
    shot(page, "02-map-index")

    page.select_option("#layer", "node:VIV")
    page.wait_for_selector("body[data-map-ready='node:VIV']")
    assert "Vivienda asequible" in page.locator("#legend-title").inner_text()
    # click the centre of block 02003 on the map canvas
    page.wait_for_function("window.observatoryMap.loaded()")
    point = page.evaluate(
        "(() => { const p = window.observatoryMap.project([-72.475, 7.915]);"
        " const r = window.observatoryMap.getCanvas().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; })()"
    )
    page.mouse.click(point[0], point[1])
    page.wait_for_selector("#profile-link")
    assert "02003" in page.locator("#details").inner_text()
    shot(page, "03-map-area-selected")

    page.click("#profile-link")
    page.wait_for_selector("[data-spec-id='radar'][data-rendered='true'] svg")
    assert "02003" in page.locator("h1").inner_text()
    assert "Posición 1 de 6" in page.content()
    shot(page, "04-profile-es")

    page.click("#lang-switch")
    page.wait_for_selector("html[lang='en']")
    page.wait_for_selector("[data-spec-id='radar'][data-rendered='true'] svg")
    assert "Rank 1 of 6 units" in page.content()
    shot(page, "05-profile-en")

    page.goto(server + "/downloads")
    assert page.locator("html").get_attribute("lang") == "en"  # the cookie remembers
    with page.expect_download() as info:
        page.click("a[href='/downloads/tst-uim-test-2024.csv']")
    path = Path(info.value.path())
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("code,name,locality,period,score_UIM")
    assert len(lines) == 7
    shot(page, "06-downloads-en")


def test_rankings_and_keyboard_use(page: Page, server: str) -> None:
    page.goto(server + "/cities/TST/rankings?lang=en")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.click("th >> text=Index")
    first = page.locator("#rankings tbody tr").first.inner_text()
    assert "01001" in first  # ascending by score: the weakest block first
    shot(page, "07-rankings-en")


def test_phone_layout(browser: Browser, server: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(server + "/cities/TST")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shot(page, "08-overview-phone")
    page.goto(server + "/cities/TST/map")
    page.wait_for_selector("body[data-map-ready='node:UIM']")
    shot(page, "09-map-phone")
    context.close()


def test_two_layers_side_by_side(page: Page, server: str) -> None:
    page.goto(server + "/cities/TST/map?lang=en")
    page.wait_for_selector("body[data-map-ready='node:UIM']")
    page.select_option("#layer2", "node:SAL")
    page.wait_for_selector("body[data-map2-ready='node:SAL']")
    assert page.locator("#map2").is_visible()
    assert "Health and wellness" in page.locator("#legend2-title").inner_text()
    # the second map follows the first one's camera
    page.evaluate("window.observatoryMap.jumpTo({zoom: 15, center: [-72.48, 7.91]})")
    zoom = page.evaluate("window.observatoryMap2.getZoom()")
    assert abs(zoom - 15) < 1e-6
    page.wait_for_timeout(500)
    shot(page, "10-side-by-side-en")
