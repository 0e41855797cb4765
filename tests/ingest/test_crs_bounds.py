"""Coordinates the declared CRS cannot hold are refused; ``--crs`` is honoured or refused.

The files are real-shaped (GeoPackage, GeoJSON, CSV written with pyogrio/geopandas) and sit
where UTM zone 17S has its simplest numbers: easting 500 000 is the zone's central meridian
(81° W) and northing 10 000 000 is the equator, so the expected degrees are worked by hand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, select

from inclusive_cities.cli import main
from inclusive_cities.ingest import LevelSpec, import_boundaries, import_facilities, import_layers
from inclusive_cities.store import models, transaction
from tests.ingest.conftest import assert_rejected
from tests.ingest.test_boundaries import QUITO

UTM17S = "EPSG:32717"
E0, N0 = 500_000.0, 10_000_000.0  # 81° W on the equator in UTM 17S
# WGS 84: a = 6 378 137 m, e² = 0.00669438; UTM scale on the central meridian k0 = 0.9996.
# On the equator one metre east is 1 / (k0·a) radians, one metre north 1 / (k0·a·(1 − e²)).
DEG_PER_M_EAST = math.degrees(1 / (0.9996 * 6_378_137))
DEG_PER_M_NORTH = math.degrees(1 / (0.9996 * 6_378_137 * (1 - 0.00669438)))


def block(size: float = 1000.0) -> shapely.Polygon:
    """A square south-east of (81° W, 0°): from the equator down, from the meridian east."""
    return shapely.box(E0, N0 - size, E0 + size, N0)


def frame(geometries: list[shapely.Geometry], crs: str | None) -> gpd.GeoDataFrame:
    codes = [f"B{i + 1}" for i in range(len(geometries))]
    return gpd.GeoDataFrame({"codigo": codes, "nombre": codes}, geometry=geometries, crs=crs)


def stored_boxes(engine: Engine) -> dict[str, tuple[float, float, float, float]]:
    boxes = {}
    with transaction(engine) as session:
        for unit in session.scalars(select(models.SpatialUnit)):
            assert None not in (unit.min_x, unit.min_y, unit.max_x, unit.max_y)
            boxes[unit.code] = (
                float(unit.min_x),  # type: ignore[arg-type]
                float(unit.min_y),  # type: ignore[arg-type]
                float(unit.max_x),  # type: ignore[arg-type]
                float(unit.max_y),  # type: ignore[arg-type]
            )
    return boxes


def assert_block_in_degrees(box: tuple[float, float, float, float], size: float = 1000.0):
    min_x, min_y, max_x, max_y = box
    assert min_x == pytest.approx(-81.0, abs=1e-9)
    assert max_y == pytest.approx(0.0, abs=1e-9)
    assert max_x == pytest.approx(-81.0 + size * DEG_PER_M_EAST, abs=2e-6)
    assert min_y == pytest.approx(-size * DEG_PER_M_NORTH, abs=2e-6)


def plain_geojson(path: Path, rings: list[list[tuple[float, float]]]) -> Path:
    """A GeoJSON with no "crs" member (RFC 7946), as many tools write it."""
    features = [
        {
            "type": "Feature",
            "properties": {"codigo": f"B{i + 1}"},
            "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
        }
        for i, ring in enumerate(rings)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def ring(box: shapely.Polygon) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in shapely.get_coordinates(box.exterior)[::-1]]


# --- boundaries


def test_utm_metres_declared_as_degrees_are_refused(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "manzanas.gpkg"
    frame([block(), shapely.box(E0 + 1000, N0 - 1000, E0 + 2000, N0)], "EPSG:4326").to_file(path)
    assert_rejected(
        engine,
        lambda: import_boundaries(engine, path, [LevelSpec("manzana")], city="UIO"),
        "manzanas.gpkg",
        "feature 1",
        "(500000, 9999000)",
        "EPSG:4326",
        "2 of 2 features are outside",
        "look like metres",
        "--override-crs",
    )
    assert_rejected(
        engine,
        lambda: import_boundaries(
            engine, path, [LevelSpec("manzana")], city="UIO", override_crs=True
        ),
        "manzanas.gpkg",
        "--override-crs needs --crs",
    )
    # the file's own CRS is wrong: --crs with --override-crs reads the metres as UTM 17S
    report = import_boundaries(
        engine, path, [LevelSpec("manzana")], city="UIO", crs=UTM17S, override_crs=True
    )
    assert report.rows_accepted == 2
    assert_block_in_degrees(stored_boxes(engine)["B1"])


def test_the_city_zone_is_suggested_for_metres(engine: Engine, tmp_path: Path) -> None:
    good = tmp_path / "good.gpkg"
    frame([block()], UTM17S).to_file(good)
    import_boundaries(engine, good, [LevelSpec("zona")], city="UIO")
    with transaction(engine) as session:
        assert session.scalars(select(models.City.projected_crs)).one() == UTM17S
    wrong = tmp_path / "wrong.geojson"
    plain_geojson(wrong, [ring(shapely.box(E0, N0 - 500, E0 + 500, N0))])
    assert_rejected(
        engine,
        lambda: import_boundaries(engine, wrong, [LevelSpec("manzana")], city="UIO"),
        "wrong.geojson",
        "feature 1",
        "declare their CRS with --crs EPSG:32717.",
    )


def test_longitude_above_180_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = plain_geojson(
        tmp_path / "lon.geojson",
        [
            [(-78.5, -0.2), (-78.5, -0.21), (-78.49, -0.21), (-78.5, -0.2)],
            [(200.0, -0.2), (200.0, -0.21), (200.01, -0.21), (200.0, -0.2)],
        ],
    )
    assert_rejected(
        engine,
        lambda: import_boundaries(engine, path, [LevelSpec("manzana")], city="UIO"),
        "lon.geojson",
        "feature 2",
        "(200, -0.21)",
        "1 of 2 features",
        "longitude -180..180",
    )


def test_crs_assigned_to_a_geojson_that_declares_none(engine: Engine, tmp_path: Path) -> None:
    path = plain_geojson(tmp_path / "utm.geojson", [ring(block())])
    assert_rejected(
        engine,
        lambda: import_boundaries(engine, path, [LevelSpec("manzana")], city="UIO"),
        "utm.geojson",
        "feature 1",
        "look like metres",
        "--crs EPSG:CODE",
    )
    report = import_boundaries(engine, path, [LevelSpec("manzana")], city="UIO", crs=UTM17S)
    assert report.rows_accepted == 1
    assert_block_in_degrees(stored_boxes(engine)["B1"])


def test_crs_that_contradicts_the_file_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "declared.geojson"
    frame([block()], UTM17S).to_file(path, driver="GeoJSON")
    assert '"crs"' in path.read_text(encoding="utf-8")  # GDAL names a non-WGS 84 CRS
    assert_rejected(
        engine,
        lambda: import_boundaries(
            engine, path, [LevelSpec("manzana")], city="UIO", crs="EPSG:4326"
        ),
        "declared.geojson",
        "declares its coordinates in EPSG:32717 but --crs says EPSG:4326",
        "--override-crs",
    )
    # the same CRS as the file's own is simply accepted
    report = import_boundaries(engine, path, [LevelSpec("manzana")], city="UIO", crs=UTM17S)
    assert report.rows_accepted == 1
    assert_block_in_degrees(stored_boxes(engine)["B1"])


def test_degrees_declared_as_utm_are_refused(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "degrees.gpkg"
    frame([shapely.box(-78.51, -0.21, -78.5, -0.2)], UTM17S).to_file(path)
    assert_rejected(
        engine,
        lambda: import_boundaries(engine, path, [LevelSpec("manzana")], city="UIO"),
        "degrees.gpkg",
        "feature 1",
        "(-78.51, -0.21)",
        "EPSG:32717",
        "look like degrees",
        "--crs EPSG:4326 --override-crs",
    )


def test_real_quito_parroquias_still_import(engine: Engine) -> None:
    """The messy real file (RFC 7946 GeoJSON, 34 parroquias around 78.5° W) is accepted,
    with or without --crs naming its own CRS."""
    spec = [LevelSpec("parroquia", code_column="parroquia")]
    report = import_boundaries(engine, QUITO, spec, city="UIO", crs="EPSG:4326", dry_run=True)
    assert report.rows_accepted == 34
    report = import_boundaries(engine, QUITO, spec, city="UIO")
    assert report.rows_accepted == 34
    boxes = stored_boxes(engine)
    assert len(boxes) == 34
    # every parroquia lies in the Metropolitan District, about 78.2–79.0° W, 0.6° S–0.3° N
    for west, south, east, north in boxes.values():
        assert west > -79.0 and east < -78.1 and south > -0.6 and north < 0.3


# --- environment layers


def test_layer_in_metres_declared_as_degrees_is_refused(engine: Engine, tmp_path: Path) -> None:
    good = tmp_path / "good.gpkg"
    frame([block()], UTM17S).to_file(good)
    import_boundaries(engine, good, [LevelSpec("zona")], city="UIO")
    path = tmp_path / "riesgo.gpkg"
    frame([block(200)], "EPSG:4326").to_file(path, layer="zonas_riesgo")
    assert_rejected(
        engine,
        lambda: import_layers(engine, path, city="UIO", data_dir=tmp_path / "data"),
        "riesgo.gpkg:zonas_riesgo",
        "feature 1",
        "look like metres",
        "save the file with the CRS they are in (EPSG:32717)",
        data_dir=tmp_path / "data",
    )
    frame([block(200)], UTM17S).to_file(tmp_path / "ok.gpkg", layer="zonas_riesgo")
    report = import_layers(engine, tmp_path / "ok.gpkg", city="UIO", data_dir=tmp_path / "data")
    assert report.status == "imported"


# --- facilities


@pytest.fixture
def uio(engine: Engine, tmp_path: Path) -> Engine:
    """City UIO: one 1 km block south-east of (81° W, 0°), its UTM zone 17S."""
    path = tmp_path / "city.gpkg"
    frame([block()], UTM17S).to_file(path)
    import_boundaries(engine, path, [LevelSpec("manzana")], city="UIO")
    return engine


def facilities_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def stored_facilities(engine: Engine) -> dict[str, tuple[float, float]]:
    with transaction(engine) as session:
        return {f.code: (f.longitude, f.latitude) for f in session.scalars(select(models.Facility))}


def test_csv_metres_without_crs_are_refused_then_read_with_it(uio: Engine, tmp_path: Path):
    path = facilities_csv(
        tmp_path / "salud.csv",
        "id,tipo,x,y",
        [f"S1,hospital,{E0 + 500},{N0 - 500}", f"S2,colegio,{E0 + 250},{N0 - 750}"],
    )
    assert_rejected(
        uio,
        lambda: import_facilities(uio, path, city="UIO"),
        "salud.csv",
        "row 2",
        "(500500, 9999500)",
        "2 of 2 rows are outside",
        "look like metres",
        "declare their CRS with --crs EPSG:32717.",
    )
    report = import_facilities(uio, path, city="UIO", crs=UTM17S)
    assert report.rows_accepted == 2
    found = stored_facilities(uio)
    assert found["S1"][0] == pytest.approx(-81.0 + 500 * DEG_PER_M_EAST, abs=1e-6)
    assert found["S1"][1] == pytest.approx(-500 * DEG_PER_M_NORTH, abs=1e-6)
    assert found["S2"][0] == pytest.approx(-81.0 + 250 * DEG_PER_M_EAST, abs=1e-6)
    assert found["S2"][1] == pytest.approx(-750 * DEG_PER_M_NORTH, abs=1e-6)


def test_csv_longitude_above_180_is_refused(uio: Engine, tmp_path: Path) -> None:
    path = facilities_csv(
        tmp_path / "f.csv",
        "id,tipo,lon,lat",
        ["S1,hospital,-80.996,-0.004", "S2,hospital,279.004,-0.004"],
    )
    assert_rejected(
        uio,
        lambda: import_facilities(uio, path, city="UIO"),
        "f.csv",
        "row 3",
        "(279.004, -0.004)",
        "1 of 2",
        "needs 360 subtracted",
    )


def test_point_geojson_with_crs_option(uio: Engine, tmp_path: Path) -> None:
    path = tmp_path / "parques.geojson"
    feature = {
        "type": "Feature",
        "properties": {"codigo": "P1", "tipo": "parque"},
        "geometry": {"type": "Point", "coordinates": [E0 + 500, N0 - 500]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), "utf-8")
    assert_rejected(
        uio,
        lambda: import_facilities(uio, path, city="UIO"),
        "parques.geojson",
        "feature 1",
        "--crs EPSG:32717",
    )
    import_facilities(uio, path, city="UIO", crs=UTM17S)
    lon, lat = stored_facilities(uio)["P1"]
    assert lon == pytest.approx(-81.0 + 500 * DEG_PER_M_EAST, abs=1e-6)
    assert lat == pytest.approx(-500 * DEG_PER_M_NORTH, abs=1e-6)


# --- the command line


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_geojson_with_crs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = plain_geojson(tmp_path / "utm.geojson", [ring(block())])
    db = ["--database", f"sqlite:///{tmp_path / 'o.db'}"]
    assert call(capsys, *db, "init")[0] == 0
    command = ["import", "boundaries", str(path), "--city", "UIO", "--level", "manzana"]
    code, _out, err = call(capsys, *db, "--lang", "en", *command)
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "utm.geojson, feature 1" in err and "declare their CRS with --crs" in err
    code, out, err = call(capsys, *db, "--lang", "en", *command, "--crs", UTM17S)
    assert code == 0, err
    assert "accepted 1" in out
    code, _out, err = call(capsys, *db, "--lang", "es", *command, "--crs", "EPSG:4326")
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "utm.geojson, elemento 1" in err and "--crs" in err
