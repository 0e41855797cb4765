"""Published clusters in the map explorer (Chromium via Playwright): named by their source,
and red where the clusters of exclusion are — low-low for the marker, where more is better."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from inclusive_cities.analyses import cluster_layer
from inclusive_cities.store import connect, models, transaction
from tests.web.conftest import City
from tests.web.live import live_server
from tests.web.test_browser import ARGS, CHROMIUM, shot

COLLECTION = "tst-clusters-uim-test-uim-manzana-2024"
EXCLUSION_RED = "#b2182b"
INCLUSION_BLUE = "#2166ac"


@pytest.fixture
def server(fresh_city: City) -> Iterator[tuple[str, dict[str, int], dict[str, str]]]:
    engine = connect(fresh_city.url)
    with transaction(engine) as session:
        run = session.get(models.MarkerRun, fresh_city.run_2024)
        assert run is not None
        run.parameters = {
            "spec": {
                "code": "uim-test",
                "name": {"es": "UIM de prueba", "en": "Test UIM"},
                "tree": {
                    "code": "UIM",
                    "name": {"es": "Marcador de Inclusión Urbana", "en": "Urban Inclusion Marker"},
                },
            }
        }
    found = cluster_layer(engine, run=fresh_city.run_2024, k=2, permutations=99, publish=True)
    assert found.name == "clusters-uim-test-UIM-manzana"
    assert found.parameters["higher_is_better"] is True
    # six blocks are too few for a significant cluster: two are made low-low by hand so that
    # the map has a cluster of exclusion to draw
    lowest = found.frame["value"].nsmallest(2).index.tolist()
    with transaction(engine) as session:
        for feature in session.query(models.AnalysisFeature).filter(
            models.AnalysisFeature.code.in_(lowest)
        ):
            feature.moran_class = "low_low"
    classes = found.frame["moran_class"].where(~found.frame.index.isin(lowest), "low_low")
    with live_server(fresh_city.url) as base:
        yield base, classes.value_counts().to_dict(), classes.to_dict()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def colours_by_code(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return page.evaluate(
        """() => Object.fromEntries(window.observatoryMap.querySourceFeatures("units")
            .map(f => [f.properties.code, f.properties.colour]))"""
    )


def test_clusters_are_a_layer_of_the_map_explorer(browser: Browser, server) -> None:
    base, counts, classes = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(base + "/cities/TST/map")
    page.wait_for_selector("body[data-map-ready='node:UIM']")
    group = "#layer optgroup[label='Conglomerados de exclusión e inclusión'] option"
    assert page.locator(group).all_inner_texts() == [
        "Conglomerados — Marcador de Inclusión Urbana (índice), por manzana — I de Moran local",
        "Conglomerados — Marcador de Inclusión Urbana (índice), por manzana — Gi* de Getis-Ord",
    ]
    moran = f"ogc:{COLLECTION}:moran_class"
    page.select_option("#layer", moran)
    page.wait_for_selector(f"body[data-map-ready='{moran}']")
    assert page.locator("#legend-title").inner_text() == (
        "Conglomerados — Marcador de Inclusión Urbana (índice), por manzana — I de Moran local"
    )
    names = {
        "not_significant": "No significativo",
        "low_low": "Bajo-bajo: conglomerado de exclusión",
        "high_high": "Alto-alto: conglomerado de inclusión",
        "high_low": "Alto-bajo: mejor que sus vecinos",
        "low_high": "Bajo-alto: peor que sus vecinos",
    }
    rows = [" ".join(row.split()) for row in page.locator("#legend li").all_inner_texts()]
    assert rows[0] == f"{names['low_low']} {counts['low_low']}"  # exclusion comes first
    assert set(rows) == {f"{names[code]} {count}" for code, count in counts.items()}
    swatch = page.locator("#legend li").first.locator(".swatch")
    assert swatch.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(178, 24, 43)"
    assert page.locator("#status").inner_text().startswith("6 ")
    page.wait_for_function("window.observatoryMap.querySourceFeatures('units').length > 0")
    colours = colours_by_code(page)
    low = [code for code, cls in classes.items() if cls == "low_low"]
    assert len(low) == 2 and all(colours[code] == EXCLUSION_RED for code in low)
    high = [code for code, cls in classes.items() if cls == "high_high"]
    assert all(colours[code] == INCLUSION_BLUE for code in high)
    source = page.locator("#layer-source").inner_text()
    assert "En UIM de prueba, los valores más altos son mejores" in source
    shot(page, "10-map-clusters")

    page.goto(base + f"/cities/TST/map?layer=ogc:{COLLECTION}:gi_class&lang=en")
    page.wait_for_selector(f"body[data-map-ready='ogc:{COLLECTION}:gi_class']")
    assert page.locator("#legend-title").inner_text() == (
        "Clusters — Urban Inclusion Marker (index), by block — Getis-Ord Gi*"
    )
    assert page.locator("#classification").is_disabled()
    page.close()
    assert errors == []
