"""Vector tiles of published layers and HTTP caching (ETag, 304) of everything published.

Tiles are decoded with ``mapbox-vector-tile``'s decoder (an implementation of the MVT 2.1
specification independent of ours) and compared with the GeoJSON of the same layer: the OGC
items, or the map explorer's GeoJSON. Tile numbers and tile units are computed here with the
slippy-map formulas of https://wiki.openstreetmap.org/wiki/Slippy_map_tilenames.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import mapbox_vector_tile
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import update

from inclusive_cities.i18n import use_language
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.web import create_app, tiles
from tests.web.conftest import SUPPRESSED_N, City, build_city, specs

SCHOOL = "tst-school-attendance-srv-2024"
UIM = "tst-uim-test-2024"
BBOX = (-72.5, 7.9, -72.47, 7.92)
"""The test city's six blocks (0.01° squares, conftest.build_city)."""


def tile_xy(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Fractional slippy-map tile coordinates (OSM wiki formula)."""
    n = 2**z
    x = (lon + 180.0) / 360.0 * n
    lat_r = math.radians(lat)
    y = (1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n
    return x, y


def covering_tiles(z: int) -> list[tuple[int, int]]:
    x0, y0 = tile_xy(BBOX[0], BBOX[3], z)
    x1, y1 = tile_xy(BBOX[2], BBOX[1], z)
    return [(x, y) for x in range(int(x0), int(x1) + 1) for y in range(int(y0), int(y1) + 1)]


def decode(body: bytes) -> list[dict[str, Any]]:
    layers = mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})
    return list(layers["units"]["features"]) if layers else []


def tile_features(client: TestClient, url: str, z: int, **params: str) -> dict[int, Any]:
    """Features of every tile over the city at zoom ``z``, by id (a block cut by a tile
    edge is in both tiles, with the same properties)."""
    out: dict[int, Any] = {}
    for x, y in covering_tiles(z):
        response = client.get(url.format(z=z, x=x, y=y), params=params)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        for feature in decode(response.content):
            assert out.setdefault(feature["id"], feature)["properties"] == feature["properties"]
    return out


def snap(value: float) -> int:
    return 4 * round(value / 4)


def without_nulls(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if v is not None}


@pytest.mark.parametrize("collection", [SCHOOL, UIM])
def test_ogc_tiles_carry_exactly_the_items_properties(client: TestClient, collection: str) -> None:
    items = client.get(f"/ogc/collections/{collection}/items", params={"limit": 100}).json()
    features = tile_features(client, f"/tiles/ogc/{collection}/{{z}}/{{x}}/{{y}}.mvt", 13)
    assert len(features) == len(items["features"]) == 6
    for i, item in enumerate(items["features"]):
        assert features[i + 1]["properties"] == without_nulls(item["properties"])
    if collection == SCHOOL:  # block 1 suppressed (n=4), block 2 below ten respondents (n=7)
        by_code = {f["properties"]["code"]: f["properties"] for f in features.values()}
        assert "value" not in by_code["01001"] and "value" not in by_code["01002"]
        assert SUPPRESSED_N not in [p.get("n") for p in by_code.values()]
        assert by_code["02003"]["value"] == pytest.approx(85.0)


def test_tile_geometry_is_in_tile_units(client: TestClient) -> None:
    """Block 01001 is the square -72.5..-72.49 by 7.9..7.91: its corners at zoom 15 in
    tile units (4096 per tile, y down), computed by hand from the slippy-map formula and
    snapped to the 4-unit grid (half a pixel) used below the deepest zoom."""
    z = 15
    x, y = tile_xy(-72.495, 7.905, z)
    tile = (int(x), int(y))
    response = client.get(f"/tiles/ogc/{UIM}/{z}/{tile[0]}/{tile[1]}.mvt")
    feature = next(f for f in decode(response.content) if f["properties"]["code"] == "01001")
    ring = feature["geometry"]["coordinates"][0]
    expected = []
    for lon, lat in [(-72.5, 7.9), (-72.49, 7.91)]:
        fx, fy = tile_xy(lon, lat, z)
        expected.append((snap((fx - tile[0]) * 4096), snap((fy - tile[1]) * 4096)))
    xs = sorted({p[0] for p in ring})
    ys = sorted({p[1] for p in ring})
    # the tile is 1.1 km wide and the block 1.1 km: its edges beyond the 64-unit buffer are cut
    assert xs[0] == max(-64, expected[0][0]) and xs[-1] == min(4160, expected[1][0])
    assert ys[-1] == min(4160, expected[0][1]) and ys[0] == max(-64, expected[1][1])
    assert feature["type"] == 3 or feature["geometry"]["type"] == "Polygon"


def test_tilejson_points_at_versioned_tiles(client: TestClient) -> None:
    body = client.get(f"/tiles/ogc/{SCHOOL}/tiles.json").json()
    assert body["tilejson"] == "3.0.0"
    assert body["bounds"] == pytest.approx(list(BBOX))
    assert body["tiles"][0].split("?")[0].endswith(f"/tiles/ogc/{SCHOOL}/{{z}}/{{x}}/{{y}}.mvt")
    assert body["vector_layers"][0]["fields"]["value"] == "Number"
    tile = client.get(body["tiles"][0].replace("{z}/{x}/{y}", "0/0/0"))
    assert tile.headers["cache-control"] == "public, max-age=86400, immutable"


def test_map_layer_is_geojson_when_small_and_tiles_when_large(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = {"layer": "node:UIM", "period": "2024", "lang": "en"}
    geojson = client.get("/api/cities/TST/map", params=params).json()
    small = client.get("/tiles/map/TST/layer.json", params=params).json()
    assert small == geojson and "tiles" not in small
    monkeypatch.setenv("INCLUSIVE_CITIES_WEB_TILE_THRESHOLD", "5")
    large = client.get("/tiles/map/TST/layer.json", params=params).json()
    assert large["features"] == [] and large["featureCount"] == 6
    assert large["legend"] == geojson["legend"] and large["bbox"] == geojson["bbox"]
    path, query = large["tiles"][0].split("?")
    assert path == "/tiles/map/TST/{z}/{x}/{y}.mvt"
    tiled = tile_features(client, path, 13, **dict(parse_qsl(query)))
    assert sorted(tiled) == sorted(f["id"] for f in geojson["features"])
    for feature in geojson["features"]:
        assert tiled[feature["id"]]["properties"] == without_nulls(feature["properties"])
    assert {f["properties"]["label"] for f in tiled.values()} <= {
        item["label"] for item in geojson["legend"]
    }


GROUP_KEYS = {"cls", "colour", "label", "loc", "loc_name"}
"""What a coalesced (overview) feature may carry: the class and the locality, nothing else."""


def test_overview_tiles_coalesce_blocks_by_class_and_locality(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below zoom 12 a tile holds one MultiPolygon per class and locality: the centre of
    every block lies in the feature of its own class and locality (point in polygon in tile
    units, by the slippy-map formula), and no feature carries a code, name or value. From
    zoom 12 the features are the blocks again, with all their properties. Two quantile
    classes split the index scores 35-85 (conftest.block_score) into locality 01's three
    blocks (lower half) and locality 02's three: two groups of three blocks."""
    monkeypatch.setenv("INCLUSIVE_CITIES_WEB_TILE_THRESHOLD", "5")
    params = {"layer": "node:UIM", "period": "2024", "lang": "en"}
    params.update({"classification": "quantiles", "k": "2"})
    geojson = client.get("/api/cities/TST/map", params=params).json()
    large = client.get("/tiles/map/TST/layer.json", params=params).json()
    assert large["detailZoom"] == 12
    path, query = large["tiles"][0].split("?")
    tile_params = dict(parse_qsl(query))
    for z in (9, 11):
        decoded: dict[tuple[int, int], list[dict[str, Any]]] = {}
        for x, y in covering_tiles(z):
            response = client.get(path.format(z=z, x=x, y=y), params=tile_params)
            decoded[(x, y)] = decode(response.content)
        groups = {
            tuple(sorted(without_nulls({k: f["properties"][k] for k in GROUP_KEYS}).items()))
            for f in geojson["features"]
        }
        assert len(groups) == 2
        if z == 9:  # one tile holds the city: one feature per group, three blocks in each
            (features,) = decoded.values()
            assert sorted(len(f["geometry"]["coordinates"]) for f in features) == [3, 3]
            assert {f["geometry"]["type"] for f in features} == {"MultiPolygon"}
        for features in decoded.values():
            assert len(features) <= len(groups)
            for feature in features:
                assert set(feature["properties"]) <= GROUP_KEYS
        for block in geojson["features"]:
            centre = shapely.centroid(shapely.geometry.shape(block["geometry"]))
            fx, fy = tile_xy(centre.x, centre.y, z)
            tile = (int(fx), int(fy))
            point = shapely.Point((fx - tile[0]) * 4096, (fy - tile[1]) * 4096)
            holding = [
                f["properties"]
                for f in decoded[tile]
                if shapely.geometry.shape(f["geometry"]).covers(point)
            ]
            expected = without_nulls({k: block["properties"][k] for k in GROUP_KEYS})
            assert holding == [expected]
    detailed = tile_features(client, path, 12, **tile_params)
    assert sorted(detailed) == sorted(f["id"] for f in geojson["features"])
    for feature in geojson["features"]:
        assert detailed[feature["id"]]["properties"] == without_nulls(feature["properties"])


def test_start_up_warms_the_opening_layer_and_its_overview_tiles(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a server does after start: the opening layer of a city above the threshold is
    built in both languages and its tiles cut at the three deepest overview zooms (9-11 for
    the test city: the six blocks span at most 16 tiles up to zoom 11), so the first visit
    finds them cut."""
    monkeypatch.setenv("INCLUSIVE_CITIES_WEB_TILE_THRESHOLD", "5")
    tiles.TILE_CACHE.clear()
    expected = sum(len(covering_tiles(z)) for z in (9, 10, 11))
    assert tiles.warm(client.app) == 2 * expected
    assert tiles.warm(client.app) == 2 * expected  # cut once: the second time all are hits
    cached = len(tiles.TILE_CACHE._items)
    assert cached == 2 * expected
    params = {"layer": "node:UIM", "period": "2024", "lang": "en"}
    large = client.get("/tiles/map/TST/layer.json", params=params).json()
    path, query = large["tiles"][0].split("?")
    x, y = covering_tiles(11)[0]
    response = client.get(path.format(z=11, x=x, y=y), params=dict(parse_qsl(query)))
    assert response.status_code == 200 and decode(response.content)
    assert len(tiles.TILE_CACHE._items) == cached  # served from the warmed cache


def test_tile_outside_the_zoom_grid_is_a_one_line_404(client: TestClient) -> None:
    response = client.get(f"/tiles/ogc/{UIM}/2/4/0.mvt", params={"lang": "en"})
    assert response.status_code == 404
    assert "0 to 3" in response.json()["description"]
    assert client.get("/tiles/ogc/nothing-here/0/0/0.mvt").status_code == 404


@pytest.fixture
def publishing(fresh_city: City, fresh_client: TestClient) -> Iterator[tuple[TestClient, City]]:
    yield fresh_client, fresh_city


@pytest.mark.parametrize(
    "url",
    [
        "/ogc/collections",
        f"/ogc/collections/{UIM}/items?limit=3",
        f"/tiles/ogc/{UIM}/13/{{tile}}.mvt",
        "/api/cities/TST/map?layer=node:UIM&period=2024",
        f"/downloads/{UIM}.csv",
    ],
)
def test_published_layers_answer_304_until_republished(
    publishing: tuple[TestClient, City], url: str
) -> None:
    client, city = publishing
    x, y = tile_xy(-72.495, 7.905, 13)
    url = url.replace("{tile}", f"{int(x)}/{int(y)}")
    first = client.get(url)
    assert first.status_code == 200 and first.content
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    # in English: tiles' tags name the language; other tags are digests of the bytes, so a
    # 304 comes only when the English bytes are the same (the items of a marker run)
    english = client.get(url, headers={"cookie": "lang=en"})
    other_language = client.get(url, headers={"If-None-Match": tag, "cookie": "lang=en"})
    same = english.content == first.content and "/tiles/" not in url
    assert other_language.status_code == (304 if same else 200)
    if url == "/ogc/collections":  # titles are translated
        assert other_language.status_code == 200
    with transaction(connect(city.url)) as s:  # publish the draft run, as `publish` does
        s.execute(
            update(models.MarkerRun)
            .where(models.MarkerRun.id == city.draft_run)
            .values(published=True)
        )
    changed = client.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def test_private_and_failed_responses_carry_no_etag(client: TestClient) -> None:
    assert "etag" not in client.get("/ogc/collections/none/items").headers
    assert "etag" not in client.get("/api/cities/TST/map", params={"layer": "x:y"}).headers
    assert "etag" not in client.get("/cities/TST").headers


@pytest.mark.postgres
def test_tiles_and_etags_on_postgresql(postgres_url: str) -> None:
    """The shared deployment's engine: same tile properties, 304, new ETag on publishing."""
    city = build_city(postgres_url)
    with TestClient(create_app(postgres_url, specs=specs)) as client:
        items = client.get(f"/ogc/collections/{SCHOOL}/items", params={"limit": 10}).json()
        features = tile_features(client, f"/tiles/ogc/{SCHOOL}/{{z}}/{{x}}/{{y}}.mvt", 13)
        for i, item in enumerate(items["features"]):
            assert features[i + 1]["properties"] == without_nulls(item["properties"])
        tag = client.get("/ogc/collections").headers["etag"]
        assert client.get("/ogc/collections", headers={"If-None-Match": tag}).status_code == 304
        with transaction(connect(postgres_url)) as s:
            s.execute(
                update(models.MarkerRun)
                .where(models.MarkerRun.id == city.draft_run)
                .values(published=True)
            )
        assert client.get("/ogc/collections", headers={"If-None-Match": tag}).status_code == 200
    use_language("es")
