"""The map explorer on vector tiles, in Debian's Chromium against uvicorn.

The tile threshold is set to 3 units, so the six-block test city is drawn from tiles: the
browser must fetch tiles (never the layer's GeoJSON), colour every block by its class, and
still filter by class and show a block's details on click.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.web.conftest import City, block_score
from tests.web.live import live_server
from tests.web.test_browser import ARGS, CHROMIUM, shot


@pytest.fixture(scope="module")
def server(city: City) -> Iterator[str]:
    before = os.environ.get("INCLUSIVE_CITIES_WEB_TILE_THRESHOLD")
    os.environ["INCLUSIVE_CITIES_WEB_TILE_THRESHOLD"] = "3"
    try:
        with live_server(city.url) as base:
            yield base
    finally:
        if before is None:
            os.environ.pop("INCLUSIVE_CITIES_WEB_TILE_THRESHOLD", None)
        else:
            os.environ["INCLUSIVE_CITIES_WEB_TILE_THRESHOLD"] = before


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        browser.close()
        assert errors == []


RENDERED = """(() => {
  const seen = {};
  window.observatoryMap.queryRenderedFeatures({ layers: ["units-fill"] })
    .forEach(f => { seen[f.properties.code] = f.properties.colour; });
  return seen;
})()"""


def test_a_large_layer_is_drawn_from_tiles(page: Page, server: str) -> None:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(server + "/cities/TST/map?lang=en")
    page.wait_for_selector("body[data-map-ready='node:UIM']")
    page.wait_for_function(
        "window.observatoryMap.loaded() && window.observatoryMap.areTilesLoaded()"
    )
    assert page.evaluate("window.observatoryMap.getSource('units').type") == "vector"
    assert any("/tiles/map/TST/" in u and ".mvt?" in u for u in urls)
    assert not any("/api/cities/TST/map" in u for u in urls)  # no GeoJSON of the layer
    assert "6 " in page.locator("#status").inner_text()
    page.wait_for_function(f"Object.keys({RENDERED}).length === 6")
    colours = page.evaluate(RENDERED)
    legend = page.locator("#legend").inner_text()
    assert page.locator("#legend li").count() >= 2  # the legend comes with the tiles' layer
    # index scores 35..85 (conftest.block_score): 02003 scores 85, 01001 scores 35
    assert block_score(5, "2024") == 85.0 and block_score(0, "2024") == 35.0
    assert colours["02003"] != colours["01001"]
    shot(page, "tiles-01-map")

    # hide the class of block 01001: its blocks leave the map, the others stay
    classes = page.evaluate(RENDERED.replace("f.properties.colour", "f.properties.cls"))
    hidden = {code for code, cls in classes.items() if cls == classes["01001"]}
    page.click(f"#cls-{classes['01001']}")
    page.wait_for_function(f"Object.keys({RENDERED}).length === {6 - len(hidden)}")
    assert set(page.evaluate(RENDERED)) == set(colours) - hidden
    assert legend

    # a click on block 02003 (centre -72.475, 7.915) shows its details from the tile
    point = page.evaluate(
        "(() => { const p = window.observatoryMap.project([-72.475, 7.915]);"
        " const r = window.observatoryMap.getCanvas().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; })()"
    )
    page.mouse.click(point[0], point[1])
    page.wait_for_selector("#profile-link")
    details = page.locator("#details").inner_text()
    assert "02003" in details and "85" in details
    # the unit list holds the units of the tiles in view
    page.wait_for_function("document.querySelectorAll('#unit-list option').length >= 5")


def test_overview_zooms_draw_classes_and_a_click_zooms_to_the_blocks(page: Page) -> None:
    """At zoom 10 the tiles hold one feature per class and locality (no block codes): the
    blocks keep their colours, the hover names the class, and a click zooms in to zoom 12,
    where blocks can be picked."""
    page.evaluate("window.observatoryMap.jumpTo({ center: [-72.485, 7.91], zoom: 10 })")
    page.wait_for_function(
        "window.observatoryMap.loaded() && window.observatoryMap.areTilesLoaded()"
    )
    page.wait_for_function(
        "window.observatoryMap.queryRenderedFeatures({ layers: ['units-fill'] }).length > 0"
    )
    rendered = page.evaluate(
        "window.observatoryMap.queryRenderedFeatures({ layers: ['units-fill'] })"
        ".map(f => f.properties)"
    )
    assert all("code" not in p and "value" not in p and p["cls"] for p in rendered)
    point = page.evaluate(
        "(() => { const p = window.observatoryMap.project([-72.475, 7.915]);"
        " const r = window.observatoryMap.getCanvas().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; })()"
    )
    page.mouse.move(point[0], point[1])
    page.wait_for_selector(".maplibregl-popup")
    assert page.locator(".maplibregl-popup").inner_text().strip()
    page.mouse.click(point[0], point[1])
    page.wait_for_function("window.observatoryMap.getZoom() > 11.99")


def test_the_first_layer_does_not_wait_for_the_ogc_collection_list(page: Page, server: str) -> None:
    """The opening layer is drawn as soon as MapLibre's style is ready: the list of published
    OGC collections (which only adds cluster and grid layers to the menu) never answers here,
    and the blocks are drawn all the same. A tiled fill has no antialiased outline (a second
    pass over every ring that software WebGL pays for in each frame)."""
    pending = page.context.new_page()
    asked: list[str] = []
    # the handler neither fulfils nor continues: the request stays open for the page's life
    pending.route(re.compile(r"/ogc/collections\?"), lambda route: asked.append(route.request.url))
    try:
        pending.goto(server + "/cities/TST/map?lang=en")
        pending.wait_for_selector("body[data-map-ready='node:UIM']")
        pending.wait_for_function(
            "window.observatoryMap.loaded() && window.observatoryMap.areTilesLoaded()"
        )
        pending.wait_for_function(f"Object.keys({RENDERED}).length === 6")
        assert asked  # it was asked for, and has not answered
        assert (
            pending.evaluate(
                "window.observatoryMap.getPaintProperty('units-fill', 'fill-antialias')"
            )
            is False
        )
    finally:
        pending.close()
