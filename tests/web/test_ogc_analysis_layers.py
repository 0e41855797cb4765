"""Published analysis layers (clusters, interpolations) as OGC API collections, read by GDAL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import select

from inclusive_cities.analyses import cluster_layer, interpolate_layer
from inclusive_cities.spatial.layers import P_BANDS, PUBLIC_CLUSTER_COLUMNS, p_band, read_layer
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.web import create_app
from inclusive_cities.web.data import CACHE
from tests.spatial import grid_city as grid
from tests.web.conftest import specs
from tests.web.live import live_server

CLUSTERS = "grd-clusters-internet-manzana-2024"
HEXAGONS = "grd-interpolation-households-manzana-to-h3-9-2024"
PRIVATE = "grd-clusters-households-manzana-2024"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("ogc-analysis")
    url = grid.build(f"sqlite:///{folder / 'o.db'}", folder)
    engine = connect(url)
    common = {"city": "GRD", "period": "2024"}
    cluster_layer(engine, indicator="internet", publish=True, seed=3, **common)
    cluster_layer(engine, indicator="households", publish=False, **common)  # not published
    interpolate_layer(engine, indicators=["households"], h3=9, keep=True, publish=True, **common)
    CACHE.clear()
    return url


@pytest.fixture
def client(url: str) -> Iterator[TestClient]:
    with TestClient(create_app(url, specs=specs)) as test_client:
        yield test_client


def test_published_layers_are_collections(client: TestClient) -> None:
    ids = {c["id"] for c in client.get("/ogc/collections").json()["collections"]}
    assert ids == {CLUSTERS, HEXAGONS}
    assert client.get(f"/ogc/collections/{PRIVATE}").status_code == 404
    assert client.get(f"/ogc/collections/{PRIVATE}/items").status_code == 404
    doc = client.get(f"/ogc/collections/{CLUSTERS}").json()
    assert "999 permutaciones" in doc["description"] and "sintéticos" in doc["description"]
    bbox = doc["extent"]["spatial"]["bbox"][0]
    blocks = grid.blocks_utm().to_crs("EPSG:4326").total_bounds
    assert bbox == pytest.approx(list(blocks))


def test_items_carry_classes_not_values(client: TestClient, url: str) -> None:
    body = client.get(
        f"/ogc/collections/{CLUSTERS}/items", params={"moran_class": "high_high", "limit": 100}
    ).json()
    codes = {f["id"] for f in body["features"]}
    assert set(grid.CORE) <= codes
    assert body["numberMatched"] == len(codes)
    feature = client.get(f"/ogc/collections/{CLUSTERS}/items/r2c2").json()
    # no gi_z nor moran_i: linear in the analysed values, they give them back (finding F4)
    assert set(feature["properties"]) == {"code", "period", *PUBLIC_CLUSTER_COLUMNS}
    assert feature["properties"]["moran_class"] == "high_high"
    assert feature["properties"]["moran_p"] in P_BANDS
    schema = client.get(f"/ogc/collections/{CLUSTERS}/schema").json()
    types = {k: v["type"] for k, v in schema["properties"]["properties"]["properties"].items()}
    assert types["moran_p"] == "number" and types["gi_class"] == "string"


@pytest.fixture(scope="module")
def server(url: str) -> Iterator[str]:
    with live_server(url) as base:
        yield base


def test_gdal_reads_the_clusters_collection_with_paging(server: str, url: str) -> None:
    assert {name for name, _kind in pyogrio.list_layers(f"OAPIF:{server}/ogc")} == {
        CLUSTERS,
        HEXAGONS,
    }
    frame = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer=CLUSTERS, PAGE_SIZE=7)
    _info, stored = read_layer(connect(url), "clusters-internet-manzana")
    stored = stored.set_index("code")
    assert len(frame) == 100 and "value" not in frame.columns
    assert frame["moran_p"].dtype.kind == "f"
    frame = frame.set_index("code")
    assert frame["moran_class"].to_dict() == stored["moran_class"].to_dict()
    assert "gi_z" not in frame.columns and "moran_i" not in frame.columns
    assert frame["gi_p"].tolist() == p_band(stored.loc[frame.index, "gi_p"].tolist())
    expected = grid.blocks_utm().set_index("code").to_crs("EPSG:4326")
    for code in frame.index:
        assert shapely.equals_exact(frame.geometry[code], expected.geometry[code], 1e-9)


def test_gdal_reads_the_hexagons_with_their_totals(server: str) -> None:
    frame = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer=HEXAGONS, PAGE_SIZE=5)
    assert float(np.sum(frame["households"])) == pytest.approx(5050, abs=1e-3)
    assert frame["population"].sum() == pytest.approx(199, abs=1e-3)
    assert all(len(code) == 15 for code in frame["code"])


def test_titles_name_the_source_in_the_page_language(client: TestClient) -> None:
    # internet: stored under its code, so the catalogue's names; the grid's level has no name
    doc = client.get(f"/ogc/collections/{CLUSTERS}", params={"lang": "es"}).json()
    assert doc["title"].startswith("Conglomerados — Hogares con internet, por manzana — ")
    assert doc["analysis"] == {
        "kind": "clusters",
        "source": "internet",
        "name": "Conglomerados — Hogares con internet, por manzana",
        "direction": "higher_is_better",
        "higher_is_better": True,
    }
    assert (
        "En Hogares con internet, los valores más altos son mejores: los conglomerados "
        "bajo-bajo y los puntos fríos son conglomerados de exclusión" in doc["description"]
    )
    assert "significativos al 0,05." in doc["description"]  # Spanish decimal comma
    doc = client.get(f"/ogc/collections/{CLUSTERS}", params={"lang": "en"}).json()
    assert doc["title"].startswith("Clusters — Households with internet, by manzana — ")
    assert doc["analysis"]["name"] == "Clusters — Households with internet, by manzana"
    assert "higher values are better: low-low clusters" in doc["description"]
    assert "significant at 0.05." in doc["description"]
    listed = client.get("/ogc/collections", params={"lang": "en"}).json()["collections"]
    assert next(c for c in listed if c["id"] == CLUSTERS)["title"] == doc["title"]


def test_marker_and_older_layers(tmp_path: Path) -> None:
    """A marker's index by its name and a level's name in the sentence; a layer stored before
    names were recorded keeps its codes and an unknown direction."""
    url = grid.build(f"sqlite:///{tmp_path / 'o.db'}", tmp_path)
    engine = connect(url)
    run = grid.add_marker_run(url)
    with transaction(engine) as session:
        stored = session.get(models.MarkerRun, run)
        manzana = session.scalar(select(models.UnitLevel).where(models.UnitLevel.code == "manzana"))
        assert stored is not None and manzana is not None
        stored.parameters = {
            "spec": {
                "code": "uim-test",
                "name": {"es": "Marcador de prueba", "en": "Test marker"},
                "tree": {"code": "UIM", "name": {"es": "Marcador", "en": "Marker"}},
            }
        }
        manzana.name_es, manzana.name_en = "Manzana", "Block"
    cluster_layer(engine, run=run, publish=True, permutations=99)
    old = cluster_layer(
        engine, city="GRD", period="2024", indicator="households", publish=True, permutations=99
    )
    with transaction(engine) as session:
        layer = session.get(models.AnalysisLayer, old.layer_id)
        assert layer is not None
        layer.parameters = {
            k: v
            for k, v in (layer.parameters or {}).items()
            if k not in ("source_name", "direction", "higher_is_better")
        }
    CACHE.clear()
    with TestClient(create_app(url, specs=specs)) as client:
        marker = "grd-clusters-uim-test-uim-manzana-2024"
        doc = client.get(f"/ogc/collections/{marker}", params={"lang": "es"}).json()
        assert doc["analysis"]["name"] == "Conglomerados — Marcador (índice), por manzana"
        assert doc["analysis"]["higher_is_better"] is True
        assert "En Marcador de prueba, los valores más altos son mejores" in doc["description"]
        doc = client.get(f"/ogc/collections/{marker}", params={"lang": "en"}).json()
        assert doc["analysis"]["name"] == "Clusters — Marker (index), by block"
        doc = client.get(f"/ogc/collections/{PRIVATE}", params={"lang": "en"}).json()
        assert doc["analysis"]["name"] == "Clusters — households, by block"
        assert doc["title"] == "Clusters — households, by block — Grid town — 2024"
        assert doc["analysis"]["higher_is_better"] is None
        assert doc["analysis"]["direction"] is None
        assert "higher values are" not in doc["description"]
        assert "99 permutations" in doc["description"]
    CACHE.clear()
