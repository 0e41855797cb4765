"""A published plan's projects are an OGC API collection that GDAL reads (points and
polygons, public fields only); an unpublished plan is not served at all."""

from __future__ import annotations

from collections.abc import Iterator

import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient

from inclusive_cities.planning.territorial_plan import create_plan, save_item, set_published
from inclusive_cities.store import connect
from inclusive_cities.web import create_app
from inclusive_cities.web.data import CACHE
from tests.web.conftest import build_city, specs
from tests.web.live import live_server

PLAN = "plan-tst-pit"
DRAFT = "plan-tst-borrador"
PARK = shapely.box(-72.497, 7.903, -72.493, 7.907)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("plan-ogc")
    url = f"sqlite:///{folder / 'o.db'}"
    build_city(url)
    engine = connect(url)
    create_plan(engine, "TST", "2026-2029", code="PIT", name="Plan barrial")
    create_plan(engine, "TST", "2030-2033", code="BORRADOR")
    common = {"funding_source": "Alcaldía", "targets": ["EPUB"]}
    save_item(engine, "TST", "PIT", {"code": "P01", "name": "Parque", "type": "public_space",
              "status": "done", "cost": "1.200.000", "geometry": PARK, "start_date": "2025-01-10",
              "solution_codes": ["T1:S-01"], **common})  # fmt: skip
    save_item(engine, "TST", "PIT", {"code": "P02", "name": "Centro", "type": "centre",
              "status": "approved", "cost": 500000, "longitude": -72.475, "latitude": 7.915,
              **common})  # fmt: skip
    save_item(engine, "TST", "PIT", {"code": "P03", "name": "Sin sitio", "type": "economic",
              "cost": 10})  # fmt: skip
    save_item(engine, "TST", "BORRADOR", {"code": "X1", "type": "housing", "longitude": -72.49,
              "latitude": 7.91})  # fmt: skip
    set_published(engine, "TST", "PIT")
    engine.dispose()
    CACHE.clear()
    return url


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[TestClient]:
    with TestClient(create_app(url, specs=specs)) as test_client:
        yield test_client


def test_only_published_plans_are_collections(client: TestClient, url: str) -> None:
    listed = {c["id"]: c for c in client.get("/ogc/collections?lang=es").json()["collections"]}
    assert PLAN in listed and DRAFT not in listed
    assert listed[PLAN]["title"] == "Proyectos — Plan barrial — Ciudad Prueba — 2026-2029"
    assert client.get(f"/ogc/collections/{DRAFT}/items").status_code == 404
    doc = client.get(f"/ogc/collections/{PLAN}").json()
    # the extent spans the park's corner and the centre's point
    assert doc["extent"]["spatial"]["bbox"][0] == pytest.approx([-72.497, 7.903, -72.475, 7.915])
    body = client.get(f"/ogc/collections/{PLAN}/items", params={"limit": 10}).json()
    assert body["numberMatched"] == 2  # P03 has no site
    park = client.get(f"/ogc/collections/{PLAN}/items/P01").json()
    assert park["properties"]["cost"] == 1_200_000 and park["properties"]["status"] == "done"
    assert park["properties"]["solutions"] == "T1:S-01"
    assert shapely.geometry.shape(park["geometry"]).equals(PARK)
    near_centre = client.get(
        f"/ogc/collections/{PLAN}/items", params={"bbox": "-72.48,7.91,-72.47,7.92"}
    ).json()
    assert [f["id"] for f in near_centre["features"]] == ["P02"]
    done = client.get(f"/ogc/collections/{PLAN}/items", params={"status": "done"}).json()
    assert [f["id"] for f in done["features"]] == ["P01"]
    schema = client.get(f"/ogc/collections/{PLAN}/schema").json()
    types = {k: v["type"] for k, v in schema["properties"]["properties"]["properties"].items()}
    assert types["cost"] == "number" and types["status"] == "string"
    # withdrawing shows at the next request, without a restart
    engine = connect(url)
    set_published(engine, "TST", "PIT", False)
    assert client.get(f"/ogc/collections/{PLAN}").status_code == 404
    set_published(engine, "TST", "PIT", True)
    engine.dispose()
    assert client.get(f"/ogc/collections/{PLAN}").status_code == 200


def test_gdal_reads_the_plan_collection(url: str) -> None:
    with live_server(url) as base:
        layers = {name for name, _kind in pyogrio.list_layers(f"OAPIF:{base}/ogc")}
        assert PLAN in layers and DRAFT not in layers
        frame = pyogrio.read_dataframe(f"OAPIF:{base}/ogc", layer=PLAN)
    frame = frame.set_index("code")
    assert sorted(frame.index) == ["P01", "P02"]
    assert frame.loc["P01", "cost"] == 1_200_000 and frame.loc["P02", "status"] == "approved"
    assert frame.geometry["P02"].equals(shapely.Point(-72.475, 7.915))
    assert frame.geometry["P01"].equals(PARK)
