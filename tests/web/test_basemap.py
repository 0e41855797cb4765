"""The basemap setting: default, switched off, checked; the CSP names its tile host only;
the map draws the units and the provider's credit when the tiles cannot be reached."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Request, Route, sync_playwright

from inclusive_cities.config import ConfigError, Settings, get_basemap
from inclusive_cities.web import create_app
from tests.web.conftest import City, specs
from tests.web.live import live_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TILES = "https://tiles.example.org/base/{z}/{x}/{y}.png"
CREDIT = "© Example Tiles & friends"


def csp_sources(header: str, directive: str) -> list[str]:
    for part in header.split(";"):
        words = part.split()
        if words and words[0] == directive:
            return words[1:]
    raise AssertionError(f"{directive} not in {header}")


@pytest.fixture
def tiles_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCLUSIVE_CITIES_BASEMAP_URL", TILES)
    monkeypatch.setenv("INCLUSIVE_CITIES_BASEMAP_ATTRIBUTION", CREDIT)
    monkeypatch.setenv("INCLUSIVE_CITIES_BASEMAP_ATTRIBUTION_URL", "https://example.org/credits")


def client_for(city: City) -> TestClient:
    return TestClient(create_app(city.url, specs=specs))


# --- the setting


def test_default_is_openstreetmap_with_its_credit(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("URL", "ATTRIBUTION", "ATTRIBUTION_URL"):
        monkeypatch.delenv(f"INCLUSIVE_CITIES_BASEMAP_{name}", raising=False)
    basemap = get_basemap()
    assert basemap is not None
    assert basemap.url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert basemap.attribution == "© OpenStreetMap contributors"
    assert basemap.attribution_url == "https://www.openstreetmap.org/copyright"
    assert basemap.origin == "https://tile.openstreetmap.org"


@pytest.mark.parametrize("value", ["none", "off", "", "  NONE "])
def test_basemap_can_be_switched_off(value: str) -> None:
    assert get_basemap(Settings(basemap_url=value)) is None


def test_other_tiles_need_their_credit() -> None:
    with pytest.raises(ConfigError, match="INCLUSIVE_CITIES_BASEMAP_ATTRIBUTION is not set"):
        get_basemap(Settings(basemap_url=TILES))
    basemap = get_basemap(Settings(basemap_url=TILES, basemap_attribution=CREDIT))
    assert basemap is not None
    assert (basemap.origin, basemap.attribution, basemap.attribution_url) == (
        "https://tiles.example.org",
        CREDIT,
        None,
    )
    local = get_basemap(
        Settings(basemap_url="http://127.0.0.1:8080/{z}/{x}/{y}.png", basemap_attribution="x")
    )
    assert local is not None and local.origin == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("tile.openstreetmap.org/{z}/{x}/{y}.png", "not a tile address on one host"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "not a tile address on one host"),
        ("javascript:alert(1)//{z}/{x}/{y}", "not a tile address on one host"),
        ("https://tiles.example.org/map.png", "no {z}, {x} and {y} placeholders"),
    ],
)
def test_bad_templates_are_one_line_errors(url: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        get_basemap(Settings(basemap_url=url, basemap_attribution="x"))
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


# --- the page and its Content-Security-Policy


def test_csp_allows_the_configured_tile_host_only(city: City, tiles_env: None) -> None:
    with client_for(city) as client:
        response = client.get("/cities/TST/map")
    assert response.status_code == 200
    header = response.headers["content-security-policy"]
    for directive in ("img-src", "connect-src"):
        outside = [s for s in csp_sources(header, directive) if "://" in s or s == "https:"]
        assert outside == ["https://tiles.example.org"], header
    match = re.search(r'id="map-config">(.*?)</script>', response.text, re.S)
    assert match
    assert json.loads(match.group(1))["basemap"] == {
        "url": TILES,
        "attribution": CREDIT,
        "attribution_url": "https://example.org/credits",
    }


def test_no_basemap_no_outside_host(city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INCLUSIVE_CITIES_BASEMAP_URL", "none")
    with client_for(city) as client:
        response = client.get("/cities/TST/map")
    header = response.headers["content-security-policy"]
    assert "://" not in header and "https:" not in header
    match = re.search(r'id="map-config">(.*?)</script>', response.text, re.S)
    assert match and json.loads(match.group(1))["basemap"] is None


def test_favicon_is_served_and_linked(city: City) -> None:
    with client_for(city) as client:
        page = client.get("/")
        icon = client.get("/favicon.ico")
        linked = client.get("/static/favicon.svg")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
    for response in (icon, linked):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert response.text.lstrip().startswith("<svg")
    assert icon.content == linked.content


# --- in Chromium, with the tile host unreachable


@pytest.fixture
def server(city: City, tiles_env: None) -> Iterator[str]:
    with live_server(city.url) as base:
        yield base


def test_units_and_credit_show_when_tiles_fail(server: str, city: City) -> None:
    tile_requests: list[str] = []
    blocked: list[str] = []
    errors: list[str] = []

    def refuse(route: Route, request: Request) -> None:
        tile_requests.append(request.url)
        route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.route("https://tiles.example.org/**", refuse)
        icon = []
        page.on("response", lambda r: icon.append(r.status) if "favicon" in r.url else None)
        page.goto(server + "/cities/TST/map?lang=en")
        page.wait_for_selector("body[data-map-ready='node:UIM']")
        page.wait_for_selector("body[data-basemap-failed='true']")
        page.wait_for_function("window.observatoryMap.loaded()")
        drawn = page.evaluate(
            "window.observatoryMap.queryRenderedFeatures({layers: ['units-fill']})"
            ".map(f => f.properties.code)"
        )
        credit = page.locator(".maplibregl-ctrl-attrib-inner")
        credit_text = credit.inner_text()
        link = credit.locator("a[href='https://example.org/credits']")
        link_visible = link.is_visible()
        browser.close()
    assert tile_requests
    assert all(u.startswith("https://tiles.example.org/base/") for u in tile_requests)
    # every block of the city (2 localities x 3 blocks) is drawn over the missing tiles
    assert sorted(set(drawn)) == sorted(city.blocks) and len(city.blocks) == 6
    assert CREDIT in credit_text and link_visible
    assert blocked == [] and errors == []
    assert 200 in icon
