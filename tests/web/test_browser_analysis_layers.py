"""Published clusters of exclusion in the map explorer (Chromium via Playwright)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from inclusive_cities.spatial.analyses import cluster_layer
from inclusive_cities.store import connect
from tests.web.conftest import City
from tests.web.live import live_server
from tests.web.test_browser import ARGS, CHROMIUM, shot

COLLECTION = "tst-clusters-uim-test-uim-manzana-2024"


@pytest.fixture
def server(fresh_city: City) -> Iterator[str]:
    found = cluster_layer(
        connect(fresh_city.url), run=fresh_city.run_2024, k=2, permutations=99, publish=True
    )
    assert found.name == "clusters-uim-test-UIM-manzana"
    classes = found.frame["moran_class"].value_counts().to_dict()
    with live_server(fresh_city.url) as base:
        yield base, classes  # type: ignore[misc]


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def test_clusters_are_a_layer_of_the_map_explorer(browser: Browser, server) -> None:
    base, classes = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(base + "/cities/TST/map")
    page.wait_for_selector("body[data-map-ready='node:UIM']")
    labels = page.locator("#layer optgroup[label='Conglomerados de exclusión'] option")
    assert labels.count() == 2
    moran = f"ogc:{COLLECTION}:moran_class"
    page.select_option("#layer", moran)
    page.wait_for_selector(f"body[data-map-ready='{moran}']")
    assert "I de Moran local" in page.locator("#legend-title").inner_text()
    names = {
        "not_significant": "No significativo",
        "high_high": "Alto-alto: punto caliente",
        "low_low": "Bajo-bajo: punto frío",
        "high_low": "Alto-bajo: atípico",
        "low_high": "Bajo-alto: atípico",
    }
    rows = page.locator("#legend li").all_inner_texts()
    shown = {" ".join(row.split()) for row in rows}
    assert shown == {f"{names[code]} {count}" for code, count in classes.items()}
    assert page.locator("#status").inner_text().startswith("6 ")
    shot(page, "10-map-clusters")

    page.goto(base + f"/cities/TST/map?layer=ogc:{COLLECTION}:gi_class")
    page.wait_for_selector(f"body[data-map-ready='ogc:{COLLECTION}:gi_class']")
    assert "Gi* de Getis-Ord" in page.locator("#legend-title").inner_text()
    page.close()
    assert errors == []
