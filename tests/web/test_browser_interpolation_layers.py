"""A published interpolation in the map explorer (Chromium via Playwright): one layer per
indicator, hexagons drawn and classed, the note that figures were moved to the grid."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from inclusive_cities.store import connect
from tests.web.conftest import City
from tests.web.live import live_server
from tests.web.test_browser import ARGS, CHROMIUM, shot
from tests.web.test_interpolation_layers import SHARE_KEY, publish_interpolation


@pytest.fixture
def server(fresh_city: City) -> Iterator[tuple[str, int]]:
    publish_interpolation(fresh_city)
    with connect(fresh_city.url).connect() as connection:
        cells = connection.exec_driver_sql(
            "SELECT count(*) FROM analysis_features f JOIN analysis_layers l ON l.id = f.layer_id"
            " WHERE l.kind = 'interpolation'"
        ).scalar_one()
    with live_server(fresh_city.url) as base:
        yield base, int(cells)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def test_interpolated_indicators_are_layers_of_the_map_explorer(browser: Browser, server) -> None:
    base, cells = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(base + "/cities/TST/map")
    page.wait_for_selector("body[data-map-ready='node:UIM']")
    group = "#layer optgroup[label='Cifras trasladadas a una cuadrícula'] option"
    assert page.locator(group).all_inner_texts() == [
        "Población — cuadrícula H3 (resolución 8), ponderado por población",
        "Población refugiada y migrante — cuadrícula H3 (resolución 8), ponderado por población",
    ]
    page.select_option("#layer", SHARE_KEY)
    page.wait_for_selector(f"body[data-map-ready='{SHARE_KEY}']")
    assert page.locator("#legend-title").inner_text() == (
        "Población refugiada y migrante — cuadrícula H3 (resolución 8), ponderado por población"
    )
    assert page.locator("#classification").input_value() == "quantiles"
    assert page.locator("#classification").is_enabled()
    assert page.locator("#compare").is_disabled() and page.locator("#locality").is_disabled()
    rows = [" ".join(r.split()) for r in page.locator("#legend li").all_inner_texts()]
    assert sum(int(r.rsplit(" ", 1)[1]) for r in rows) == cells
    assert page.locator("#status").inner_text() == f"{cells} unidades"
    source = page.locator("#layer-source").inner_text()
    assert "trasladadas a la cuadrícula" in source and "se conservan los totales" in source
    page.wait_for_function("window.observatoryMap.querySourceFeatures('units').length > 0")
    drawn = page.evaluate(
        """() => [...new Set(window.observatoryMap.querySourceFeatures("units")
            .map(f => f.properties.code))]"""
    )
    assert len(drawn) == cells  # every cell is drawn, fitted in view
    rings = page.evaluate(
        """() => window.observatoryMap.getSource("units").serialize().data.features
            .map(f => f.geometry.coordinates[0].length)"""
    )
    # H3 cells: hexagons, six corners and the closing point (pentagons are not in Colombia)
    assert len(rings) == cells and set(rings) == {7}
    page.locator("#unit-list option").first.click()
    details = page.locator("#details").inner_text()
    assert "Celda de la cuadrícula" in details and "%" in details
    assert page.locator("#profile-link").count() == 0  # a cell has no profile page
    shot(page, "11-map-interpolation")

    page.goto(base + f"/cities/TST/map?layer={SHARE_KEY}&lang=en")
    page.wait_for_selector(f"body[data-map-ready='{SHARE_KEY}']")
    assert page.locator("#legend-title").inner_text() == (
        "Refugee and migrant population — H3 grid (resolution 8), population-weighted"
    )
    assert "the city's totals are kept" in page.locator("#layer-source").inner_text()
    page.close()
    assert errors == []
