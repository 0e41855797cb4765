"""OGC collection metadata (titles, links, extents) is cached per publish and per store.

A city drawn in metres (UTM zone 17 S, EPSG:32717, around Quito) is imported through the real
boundary import; the extents the OGC API publishes are checked against the corners reprojected
here with pyproj. Then: the cached list equals a list computed from scratch, a second request
reads only the fingerprints, a publish or a withdrawal shows on the next request, and two
stores served by one process (same codes, same row ids) never read each other's cached values.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from fastapi.testclient import TestClient
from pyproj import Transformer
from sqlalchemy import Engine, delete, event, select

from inclusive_cities.ingest import LevelSpec, import_boundaries
from inclusive_cities.store import connect, init_database, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from inclusive_cities.web import data
from inclusive_cities.web.app import create_app

UTM17S = "EPSG:32717"
X0, Y0 = 776_000.0, 9_977_000.0  # metres, UTM 17 S: about 0.21 S, 78.5 W (Quito)


@dataclass(frozen=True)
class MetreCity:
    url: str
    corners: dict[str, list[tuple[float, float]]]
    """Corners in metres of every unit, by level."""


def _blocks(shift: float) -> gpd.GeoDataFrame:
    """Four blocks of 180 m x 120 m in a row (odd column names, as a cadastre ships them)."""
    boxes = [
        shapely.box(X0 + shift + 200 * i, Y0, X0 + shift + 200 * i + 180, Y0 + 120)
        for i in range(4)
    ]
    return gpd.GeoDataFrame(
        {
            "COD_MZ": [f"170150{i:03d}" for i in range(1, 5)],
            "NOM MZ": [f"Manzana {i}" for i in range(1, 5)],
            "PARR": ["17015001", "17015001", "17015002", "17015002"],
        },
        geometry=boxes,
        crs=UTM17S,
    )


def _parishes(shift: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"COD_PARR": ["17015001", "17015002"], "NOM_PARR": ["Iñaquito", "Rumipamba"]},
        geometry=[
            shapely.box(X0 + shift, Y0 - 10, X0 + shift + 390, Y0 + 130),
            shapely.box(X0 + shift + 390, Y0 - 10, X0 + shift + 790, Y0 + 130),
        ],
        crs=UTM17S,
    )


def build_metre_city(folder: Path, url: str, shift: float = 0.0, value: float = 40.0) -> MetreCity:
    """Boundaries imported from a GeoPackage in EPSG:32717, one published indicator layer
    (values at block level; 999 in the source stands for "not asked" and is stored as missing)
    and one published marker run."""
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = folder / "limites.gpkg"
    parishes, blocks = _parishes(shift), _blocks(shift)
    parishes.to_file(gpkg, layer="parroquias", driver="GPKG")
    blocks.to_file(gpkg, layer="manzanas", driver="GPKG")
    engine = init_database(url)
    import_boundaries(
        engine,
        gpkg,
        [
            LevelSpec(
                "parroquia",
                layer="parroquias",
                code_column="COD_PARR",
                name_column="NOM_PARR",
                name_es="Parroquia",
                name_en="Parish",
            ),
            LevelSpec(
                "manzana",
                layer="manzanas",
                code_column="COD_MZ",
                name_column="NOM MZ",
                parent_column="PARR",
                name_es="Manzana",
                name_en="Block",
            ),
        ],
        city="UIO",
        city_name="Quito",
        country="ECU",
        synthetic=True,
    )
    with transaction(engine) as s:
        city = s.scalars(select(models.City)).one()
        period = models.Period(code="2022", label="Censo 2022")
        water = models.Indicator(
            code="agua_red", name_es="Agua por red", name_en="Piped water", unit="%"
        )
        s.add_all([period, water])
        s.flush()
        block_level = s.scalars(
            select(models.UnitLevel).where(models.UnitLevel.code == "manzana")
        ).one()
        block_ids = s.scalars(
            select(models.SpatialUnit.id)
            .where(models.SpatialUnit.level_id == block_level.id)
            .order_by(models.SpatialUnit.code)
        ).all()
        raw = [value, value + 10, 999, value + 20]  # 999: the census' "not asked"
        for unit_id, v in zip(block_ids, raw, strict=True):
            s.add(
                models.Observation(
                    indicator_id=water.id,
                    unit_id=unit_id,
                    period_id=period.id,
                    value=None if v == 999 else v,
                    status="suppressed" if v == 999 else "computed",
                )
            )
        s.add(PublishedLayer(city_id=city.id, period_id=period.id, indicator_id=water.id))
        run = models.MarkerRun(
            city_id=city.id,
            period_id=period.id,
            level_id=block_level.id,
            spec_code="uim-test",
            spec_hash="s" * 64,
            input_hash="i" * 64,
            software_version="test",
            published=True,
        )
        s.add(run)
        s.flush()
        for i, unit_id in enumerate(block_ids):
            s.add(
                models.MarkerScore(
                    run_id=run.id, unit_id=unit_id, node_code="UIM", score=50.0 + i, level="solid"
                )
            )
    engine.dispose()
    corners = {
        "parroquia": [c for g in parishes.geometry for c in g.exterior.coords],
        "manzana": [c for g in blocks.geometry for c in g.exterior.coords],
    }
    return MetreCity(url, corners)


def expected_bbox(corners: list[tuple[float, float]]) -> list[float]:
    """The corners reprojected here, independently of the store: lon/lat min and max."""
    to_lonlat = Transformer.from_crs(UTM17S, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform([x for x, _ in corners], [y for _, y in corners])
    return [min(lon), min(lat), max(lon), max(lat)]


@contextmanager
def counted() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, MetreCity]:
    """The city built once (migrations and the import are the slow part); tests copy it."""
    folder = tmp_path_factory.mktemp("uio")
    return folder / "template.db", build_metre_city(folder, f"sqlite:///{folder / 'template.db'}")


def copy_of(template: tuple[Path, MetreCity], target: Path) -> MetreCity:
    shutil.copyfile(template[0], target)
    return MetreCity(f"sqlite:///{target}", template[1].corners)


@pytest.fixture(scope="module")
def metre_city(template: tuple[Path, MetreCity]) -> MetreCity:
    return copy_of(template, template[0].with_name("observatory.db"))


@pytest.fixture(scope="module")
def client(metre_city: MetreCity) -> Iterator[TestClient]:
    with TestClient(create_app(metre_city.url)) as test_client:
        yield test_client


def by_id(client: TestClient, query: str = "") -> dict[str, dict[str, object]]:
    response = client.get("/ogc/collections" + query)
    assert response.status_code == 200
    return {c["id"]: c for c in response.json()["collections"]}


def test_extents_of_a_city_drawn_in_metres_are_its_corners_in_lon_lat(
    client: TestClient, metre_city: MetreCity
) -> None:
    listed = by_id(client)
    assert set(listed) == {"uio-uim-test-2022", "uio-agua-red-2022"}
    blocks = expected_bbox(metre_city.corners["manzana"])
    for cid in listed:
        bbox = listed[cid]["extent"]["spatial"]["bbox"][0]  # type: ignore[index]
        assert bbox == pytest.approx(blocks, abs=1e-9), cid
        # the same document on its own page, served from the same cache
        alone = client.get(f"/ogc/collections/{cid}").json()
        assert alone == listed[cid]
    # about 78.5 W, 0.2 S: the blocks are 780 m wide and 120 m high
    west, south, east, north = blocks
    assert -78.6 < west < east < -78.4 and -0.3 < south < north < -0.1
    assert (east - west) * 111_320 == pytest.approx(780, rel=0.01)
    assert (north - south) * 110_574 == pytest.approx(120, rel=0.01)


def test_the_cached_list_equals_one_computed_from_scratch_in_both_languages(
    client: TestClient,
) -> None:
    for query in ("?lang=en", "?lang=es"):
        cached = client.get("/ogc/collections" + query).content
        data.CACHE.clear()
        fresh = client.get("/ogc/collections" + query).content
        assert cached == fresh
    english = by_id(client, "?lang=en")["uio-agua-red-2022"]["title"]
    spanish = by_id(client, "?lang=es")["uio-agua-red-2022"]["title"]
    assert english == "Piped water — Block — Quito — Censo 2022"
    assert spanish == "Agua por red — Manzana — Quito — Censo 2022"


def test_a_listed_request_reads_only_the_fingerprints(client: TestClient) -> None:
    client.get("/ogc/collections")
    with counted() as statements:
        assert client.get("/ogc/collections").status_code == 200
    # one digest of the published layers; one per registered source of feature collections
    assert len(statements) <= 3, statements
    with counted() as statements:  # a layer's own document: the publication digest only
        assert client.get("/ogc/collections/uio-agua-red-2022").status_code == 200
    assert len(statements) == 1, statements
    for layer in ("uio-agua-red-2022", "uio-uim-test-2022"):
        page = f"/ogc/collections/{layer}/items?limit=2&offset=1"
        client.get(page)
        with counted() as statements:
            assert client.get(page).json()["numberReturned"] == 2
        assert len(statements) == 1, statements  # the publication digest, nothing else


def test_a_publish_and_a_withdrawal_show_on_the_next_request(
    client: TestClient, metre_city: MetreCity
) -> None:
    assert "uio-agua-red-2022-parroquia" not in by_id(client)
    engine = connect(metre_city.url)
    with transaction(engine) as s:  # a parish figure arrives: the layer gains a level
        water = s.scalars(select(models.Indicator)).one()
        parish = s.scalars(
            select(models.SpatialUnit).where(models.SpatialUnit.code == "17015001")
        ).one()
        period_id = s.scalars(select(models.Period.id)).one()
        s.add(
            models.Observation(
                indicator_id=water.id, unit_id=parish.id, period_id=period_id, value=55.0
            )
        )
    listed = by_id(client)
    parishes = listed["uio-agua-red-2022-parroquia"]
    assert parishes["extent"]["spatial"]["bbox"][0] == pytest.approx(  # type: ignore[index]
        expected_bbox(metre_city.corners["parroquia"]), abs=1e-9
    )
    with transaction(engine) as s:  # withdrawn, as `publish --withdraw` does
        s.execute(delete(PublishedLayer))
    assert set(by_id(client)) == {"uio-uim-test-2022"}
    assert client.get("/ogc/collections/uio-agua-red-2022").status_code == 404
    assert client.get("/ogc/collections/uio-agua-red-2022/items").status_code == 404
    engine.dispose()


def test_two_stores_in_one_process_never_share_cached_values(
    template: tuple[Path, MetreCity], tmp_path: Path
) -> None:
    """Same city code, same row ids, same collection ids: only the store differs (and its
    blocks lie 5 km further east, with other values). Nothing clears the caches between them."""
    first = copy_of(template, tmp_path / "a.db")
    second = copy_of(template, tmp_path / "b.db")
    east = 5000.0
    engine = connect(second.url)
    with transaction(engine) as s:  # what a re-import of moved blocks would have stored
        to_lonlat = Transformer.from_crs(UTM17S, "EPSG:4326", always_xy=True)
        to_metres = Transformer.from_crs("EPSG:4326", UTM17S, always_xy=True)
        for unit in s.scalars(select(models.SpatialUnit)):
            metres = shapely.transform(
                shapely.from_wkb(unit.geometry),
                lambda xy: np.column_stack(to_metres.transform(xy[:, 0], xy[:, 1])),
            )
            moved = shapely.transform(
                shapely.affinity.translate(metres, east),
                lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1])),
            )
            unit.geometry = shapely.to_wkb(moved)
            unit.min_x, unit.min_y, unit.max_x, unit.max_y = moved.bounds
        for observation in s.scalars(select(models.Observation)):
            if observation.value is not None:
                observation.value += 30
    engine.dispose()
    moved_corners = [(x + east, y) for x, y in template[1].corners["manzana"]]
    path = "/ogc/collections/uio-agua-red-2022/items?limit=10"
    marker = "/ogc/collections/uio-uim-test-2022/items?limit=10"
    with (
        TestClient(create_app(first.url)) as one,
        TestClient(create_app(second.url)) as two,
    ):
        for _round in range(2):  # the second round is served from the caches
            for client, corners, water in (
                (one, template[1].corners["manzana"], 40.0),
                (two, moved_corners, 70.0),
            ):
                bbox = expected_bbox(corners)
                listed = by_id(client)["uio-agua-red-2022"]
                extent = listed["extent"]["spatial"]["bbox"][0]  # type: ignore[index]
                assert extent == pytest.approx(bbox, abs=1e-9)
                values = [f["properties"]["value"] for f in client.get(path).json()["features"]]
                assert values == [water, water + 10, None, water + 20]
                features = client.get(marker).json()["features"]
                west = min(c[0] for f in features for c in f["geometry"]["coordinates"][0])
                assert west == pytest.approx(bbox[0], abs=1e-9)


@pytest.mark.postgres
def test_on_postgres_the_extents_are_right_and_a_cached_list_reads_the_fingerprints(
    postgres_url: str, tmp_path: Path
) -> None:
    city = build_metre_city(tmp_path, postgres_url)
    with TestClient(create_app(city.url)) as client:
        listed = by_id(client)
        blocks = expected_bbox(city.corners["manzana"])
        for cid in ("uio-uim-test-2022", "uio-agua-red-2022"):
            extent = listed[cid]["extent"]["spatial"]["bbox"][0]  # type: ignore[index]
            assert extent == pytest.approx(blocks, abs=1e-9)
        with counted() as statements:
            again = client.get("/ogc/collections").content
        assert len(statements) <= 3, statements
        data.CACHE.clear()
        assert client.get("/ogc/collections").content == again
