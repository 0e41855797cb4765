"""OGC API – Features Part 1: the endpoints by hand, then GDAL's OAPIF driver as a real client."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import select

from inclusive_cities.store import connect, models, transaction
from tests.web.conftest import City, block_score
from tests.web.live import live_server

COLLECTIONS = {
    "tst-uim-test-2020",
    "tst-uim-test-2024",
    "tst-piped-water-2024",
    "tst-school-attendance-srv-2024",
}


def test_landing_page_links(client: TestClient) -> None:
    body = client.get("/ogc").json()
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels


def test_conformance_declares_core_geojson_and_openapi(client: TestClient) -> None:
    classes = set(client.get("/ogc/conformance").json()["conformsTo"])
    assert classes == {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    }


def test_collections_are_the_published_layers(client: TestClient) -> None:
    body = client.get("/ogc/collections").json()
    assert {c["id"] for c in body["collections"]} == COLLECTIONS
    one = client.get("/ogc/collections/tst-uim-test-2024").json()
    assert one["extent"]["spatial"]["bbox"][0] == pytest.approx([-72.5, 7.9, -72.47, 7.92])
    assert any(link["rel"] == "items" for link in one["links"])


def test_items_page_with_next_link(client: TestClient) -> None:
    first = client.get("/ogc/collections/tst-uim-test-2024/items", params={"limit": 4})
    assert first.headers["content-type"].startswith("application/geo+json")
    body = first.json()
    assert body["numberMatched"] == 6 and body["numberReturned"] == 4
    assert [f["id"] for f in body["features"]] == ["01001", "01002", "01003", "02001"]
    next_link = next(link["href"] for link in body["links"] if link["rel"] == "next")
    second = client.get(next_link).json()
    assert [f["id"] for f in second["features"]] == ["02002", "02003"]
    assert not any(link["rel"] == "next" for link in second["links"])


def test_bbox_and_property_filters(client: TestClient) -> None:
    # the box overlaps blocks 01001 (x -72.50..-72.49) and 01002 (x -72.49..-72.48) only
    box = client.get(
        "/ogc/collections/tst-uim-test-2024/items",
        params={"bbox": "-72.5,7.9,-72.485,7.905"},
    ).json()
    assert sorted(f["id"] for f in box["features"]) == ["01001", "01002"]
    by_level = client.get(
        "/ogc/collections/tst-uim-test-2024/items", params={"level": "very_solid"}
    ).json()
    assert [f["id"] for f in by_level["features"]] == ["02003"]
    by_locality = client.get(
        "/ogc/collections/tst-uim-test-2024/items", params={"locality": "02", "limit": 100}
    ).json()
    assert [f["id"] for f in by_locality["features"]] == ["02001", "02002", "02003"]
    bad = client.get("/ogc/collections/tst-uim-test-2024/items", params={"colour": "red"})
    assert bad.status_code == 400


def test_single_item(client: TestClient) -> None:
    body = client.get("/ogc/collections/tst-uim-test-2024/items/02003").json()
    assert body["properties"]["score_UIM"] == block_score(5, "2024")
    assert body["properties"]["rank"] == 1
    assert client.get("/ogc/collections/tst-uim-test-2024/items/99999").status_code == 404
    assert client.get("/ogc/collections/nope/items").status_code == 404


@pytest.fixture(scope="module")
def server(city: City) -> Iterator[str]:
    with live_server(city.url) as base:
        yield base


def database_features(city: City, collection: str) -> dict[str, tuple[float | None, bytes]]:
    """code -> (value, WKB) as the store holds them, for one collection of the fixture."""
    with transaction(connect(city.url)) as session:
        units = {
            u.id: u
            for u in session.scalars(
                select(models.SpatialUnit).where(models.SpatialUnit.code.in_(city.blocks))
            )
        }
        if collection.startswith("tst-uim-test"):
            run_id = city.run_2024 if collection.endswith("2024") else city.run_2020
            rows = session.scalars(
                select(models.MarkerScore).where(
                    models.MarkerScore.run_id == run_id, models.MarkerScore.node_code == "UIM"
                )
            )
            return {units[r.unit_id].code: (r.score, units[r.unit_id].geometry) for r in rows}
        code = "piped_water" if "piped" in collection else "school_attendance_srv"
        indicator = session.scalar(select(models.Indicator).where(models.Indicator.code == code))
        assert indicator is not None
        rows = session.scalars(
            select(models.Observation).where(models.Observation.indicator_id == indicator.id)
        )
        out = {}
        for r in rows:
            safe = r.status != "suppressed" and (r.n is None or r.n >= 10)
            out[units[r.unit_id].code] = (r.value if safe else None, units[r.unit_id].geometry)
        return out


def test_gdal_lists_every_published_collection(server: str) -> None:
    layers = {name for name, _kind in pyogrio.list_layers(f"OAPIF:{server}/ogc")}
    assert layers == COLLECTIONS


@pytest.mark.parametrize("collection", sorted(COLLECTIONS))
def test_gdal_reads_each_collection_with_paging(server: str, city: City, collection: str) -> None:
    frame = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer=collection, PAGE_SIZE=2)
    expected = database_features(city, collection)
    column = "score_UIM" if collection.startswith("tst-uim") else "value"
    assert frame[column].dtype.kind == "f"  # typed by the collection's JSON Schema
    got = {
        code: (None if np.isnan(value) else float(value))
        for code, value in zip(frame["code"], frame[column], strict=True)
    }
    assert got == {code: value for code, (value, _geom) in expected.items()}
    for _i, row in frame.iterrows():
        assert shapely.equals(row.geometry, shapely.from_wkb(expected[row["code"]][1]))


def test_gdal_bbox_filter_reaches_the_server(server: str, city: City) -> None:
    frame = pyogrio.read_dataframe(
        f"OAPIF:{server}/ogc",
        layer="tst-uim-test-2024",
        bbox=(-72.5, 7.9, -72.485, 7.905),
        PAGE_SIZE=1,
    )
    assert sorted(frame["code"]) == ["01001", "01002"]


def test_an_indicator_collection_says_its_unit_and_direction(
    client: TestClient, city: City
) -> None:
    """GIS clients read a bare ``value`` field: the unit and which end is good come with the
    collection (its description) and the schema (OGC API - Features Part 5 ``x-ogc-unit``)."""
    with transaction(connect(city.url)) as session:
        indicator = session.scalar(
            select(models.Indicator).where(models.Indicator.code == "piped_water")
        )
        assert indicator is not None
        unit, direction = indicator.unit, indicator.direction
    assert unit and direction == "higher_is_better"
    base = "/ogc/collections/tst-piped-water-2024"
    english = client.get(base, params={"lang": "en"}).json()["description"]
    assert english.endswith(f"Unit: {unit}; higher is better.")
    spanish = client.get(base, params={"lang": "es"}).json()["description"]
    assert spanish.endswith(f"Unidad: {unit}; más es mejor.")
    schema = client.get(base + "/schema", params={"lang": "en"}).json()
    assert schema["properties"]["properties"]["properties"]["value"] == {
        "type": "number",
        "x-ogc-unit": unit,
        "description": "higher is better",
    }
    marker = client.get("/ogc/collections/tst-uim-test-2024", params={"lang": "en"}).json()
    assert "Unit:" not in marker["description"]  # scores of a marker run: 0-100, no unit
