"""The radar of a partial unit in Chromium: a missing area has no spoke, it is not drawn at 0.

Block B1 of tests/web/realcity.py has no housing data: its radar has 4 - 1 = 3 axes
(health, education, opportunities); B2, with every area, has 4.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.web.live import live_server
from tests.web.realcity import RealCity, build_real_city
from tests.web.test_browser import ARGS, CHROMIUM, shot


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    real: RealCity = build_real_city(f"sqlite:///{tmp_path_factory.mktemp('rb') / 'real.db'}")
    with live_server(real.url) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == []


def radar_axes(page: Page) -> tuple[int, list[str]]:
    """Spokes drawn (rule marks) and the area labels of the rendered radar."""
    page.wait_for_selector("[data-spec-id='radar'][data-rendered='true'] svg")
    radar = page.locator("[data-spec-id='radar'] svg")
    spokes = radar.locator("g.mark-rule line").count()
    texts = radar.locator("g.mark-text.role-mark text").evaluate_all(
        "els => els.map(e => e.textContent)"
    )
    labels = [str(t).strip() for t in texts]
    return spokes, [t for t in labels if t]


def test_radar_of_a_partial_unit_leaves_the_missing_area_out(page: Page, server: str) -> None:
    page.goto(server + "/cities/RDC/units/B1?lang=es")
    assert "parcial: Vivienda sin datos" in page.locator("#unit-coverage").inner_text()
    spokes, labels = radar_axes(page)
    assert spokes == 3
    assert sorted(labels) == ["Educación", "Oportunidades", "Salud"]
    label = page.locator("[data-spec-id='radar']").get_attribute("aria-label") or ""
    assert "Vivienda" not in label and "cinco" not in label
    shot(page, "coverage-01-partial-radar")

    page.goto(server + "/cities/RDC/units/B2?lang=es")
    spokes, labels = radar_axes(page)
    assert spokes == 4
    assert sorted(labels) == ["Educación", "Oportunidades", "Salud", "Vivienda"]
    assert page.locator("#unit-coverage").count() == 0
