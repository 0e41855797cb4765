"""Boundaries: formats, CRS, repairs, hierarchy, and every way a boundary file goes wrong."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, func, select

from inclusive_cities.ingest import LevelSpec, import_boundaries, utm_crs
from inclusive_cities.store import init_database, models, transaction
from tests.ingest.conftest import DEMO_LEVELS, UTM, X0, Y0, assert_rejected, square, write_levels

QUITO_RELATIVE = "shared/data/real/quito/parroquias_quito.geojson"
# The real file is read where the workplace keeps it (beside the checkout), never copied in:
# its licence (ODbL geometry) is not the project's.
QUITO_CANDIDATES = [
    Path(__file__).resolve().parents[3] / QUITO_RELATIVE,
    Path("/work") / QUITO_RELATIVE,
]
QUITO = next((path for path in QUITO_CANDIDATES if path.exists()), QUITO_CANDIDATES[0])


def barrios(
    codes: list[str], geometries: list[object] | None = None, **columns: list[object]
) -> gpd.GeoDataFrame:
    geometries = geometries or [square(1000 * i, 0) for i in range(len(codes))]
    return gpd.GeoDataFrame({"codigo": codes, **columns}, geometry=geometries, crs=UTM)


def units(engine: Engine) -> dict[str, tuple[str | None, float]]:
    """code -> (parent code, area in m2)."""
    with transaction(engine) as session:
        parent = {u.id: u.code for u in session.scalars(select(models.SpatialUnit))}
        return {
            u.code: (parent.get(u.parent_id) if u.parent_id else None, u.area_m2)
            for u in session.scalars(select(models.SpatialUnit))
        }


def test_two_levels_with_parents_areas_and_city(engine: Engine, tmp_path: Path) -> None:
    report = import_boundaries(engine, write_levels(tmp_path / "b.gpkg"), DEMO_LEVELS, city="TST")
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (5, 5, 0)
    stored = units(engine)
    assert stored["01001"][0] == "01" and stored["02001"][0] == "02" and stored["01"][0] is None
    # squares of 1 km x 1 km drawn in the city's own UTM zone: 1,000,000 m2
    assert stored["01001"][1] == pytest.approx(1_000_000, rel=1e-6)
    assert stored["01"][1] == pytest.approx(2_000_000, rel=1e-6)
    with transaction(engine) as session:
        city = session.scalars(select(models.City)).one()
        assert (city.code, city.projected_crs) == ("TST", UTM)
        unit = session.scalars(
            select(models.SpatialUnit).where(models.SpatialUnit.code == "01001")
        ).one()
        geometry = shapely.from_wkb(unit.geometry)
        # stored in degrees: around 72.5 W, 7.9 N
        assert -72.6 < geometry.centroid.x < -72.4 and 7.8 < geometry.centroid.y < 8.0
        assert unit.min_x == pytest.approx(geometry.bounds[0])


def test_overlapping_units_are_reported(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "o.gpkg"
    barrios(["A", "B", "C"], [square(0, 0), square(900, 0), square(3000, 0)]).to_file(path)
    report = import_boundaries(engine, path, [LevelSpec("b")], city="TST")
    assert report.rows_accepted == 3 and len(report.warnings) == 1
    # squares 1 km wide drawn 900 m apart share a 100 m x 1 km strip: 100,000 m2
    assert "feature 1" in str(report.warnings[0]) and "overlaps unit B (feature 2) by 100,0" in (
        str(report.warnings[0])
    )


def test_utm_zone_of_quito_and_cucuta() -> None:
    # Quito (78.5 W, 0.2 S) lies in zone 17 south; Cúcuta (72.5 W, 7.9 N) in zone 18 north.
    assert utm_crs(-78.5, -0.2) == "EPSG:32717"
    assert utm_crs(-72.5, 7.9) == "EPSG:32618"


def test_codes_keep_leading_zeros_and_parent_by_prefix(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "p.gpkg"
    gpd.GeoDataFrame(
        {"codigo": ["05"]}, geometry=[shapely.box(X0, Y0, X0 + 3000, Y0 + 1000)], crs=UTM
    ).to_file(path, layer="top")
    barrios(["05001", "05002"]).to_file(path, layer="low")
    import_boundaries(
        engine,
        path,
        [LevelSpec("top", layer="top"), LevelSpec("low", layer="low")],
        city="TST",
        parent_by="prefix",
    )
    assert units(engine)["05002"][0] == "05"


def test_geojson_shapefile_zip_and_geoparquet(engine: Engine, tmp_path: Path) -> None:
    frame = barrios(["001", "002"]).to_crs("EPSG:4326")
    frame.to_file(tmp_path / "a.geojson", driver="GeoJSON")
    barrios(["003"]).to_file(tmp_path / "b.shp")
    with zipfile.ZipFile(tmp_path / "c.zip", "w") as archive:
        for part in tmp_path.glob("b.*"):
            archive.write(part, part.name.replace("b.", "c."))
    barrios(["004"]).to_parquet(tmp_path / "d.parquet")
    for index, name in enumerate(["a.geojson", "b.shp", "c.zip", "d.parquet"]):
        report = import_boundaries(
            engine, tmp_path / name, [LevelSpec(f"l{index}")], city=f"C{index}"
        )
        assert report.rows_accepted >= 1, name
    assert set(units(engine)) == {"001", "002", "003", "004"}


def test_invalid_geometry_is_repaired_and_reported(engine: Engine, tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 1000, Y0 + 1000), (X0 + 1000, Y0), (X0, Y0 + 1000)])
    path = tmp_path / "bad.gpkg"
    barrios(["01", "02"], [bowtie, square(2000, 0)]).to_file(path)
    report = import_boundaries(engine, path, [LevelSpec("b")], city="TST")
    assert report.rows_accepted == 2
    assert len(report.repairs) == 1
    text = str(report.repairs[0])
    assert "feature 1" in text and "'01'" in text and "Self-intersection" in text
    # the repaired bow-tie is two triangles of half a square each: 500,000 m2
    assert units(engine)["01"][1] == pytest.approx(500_000, rel=1e-6)


def test_quito_real_file_repairs_are_reported(engine: Engine) -> None:
    """The real file has a property with duplicate JSON keys and clockwise outer rings."""
    if not QUITO.exists():
        pytest.skip(f"the real Quito boundary file is not beside this checkout ({QUITO})")
    report = import_boundaries(
        engine, QUITO, [LevelSpec("parroquia", code_column="parroquia")], city="UIO", country="ECU"
    )
    assert report.rows_accepted == 34
    texts = [str(r) for r in report.repairs]
    duplicate = [t for t in texts if "appears 5 times" in t]
    assert len(duplicate) == 1 and "feature 1" in duplicate[0] and "'zonal'" in duplicate[0]
    # Atahualpa (4th feature) is one of the rings drawn clockwise against RFC 7946.
    assert any("feature 4" in t and "Atahualpa" in t and "clockwise" in t for t in texts)
    # the urban parroquia "Quito" overlaps three of its neighbours by slivers
    overlaps = {(w.value, w.reason.split(" (")[0]) for w in report.warnings}
    assert ("Quito", "overlaps unit Nayón") in overlaps
    assert ("Quito", "overlaps unit Llano Chico") in overlaps
    with transaction(engine) as session:
        assert session.scalars(select(models.City.projected_crs)).one() == "EPSG:32717"


# --- bad inputs: each names file, feature, column and value, and leaves the store as it was


def test_missing_crs_is_an_error_unless_given(city: Engine, tmp_path: Path) -> None:
    barrios(["9"]).to_file(tmp_path / "noprj.shp")
    (tmp_path / "noprj.prj").unlink()
    assert_rejected(
        city,
        lambda: import_boundaries(city, tmp_path / "noprj.shp", [LevelSpec("x")], city="TST"),
        "noprj.shp",
        "no coordinate reference system",
        "--crs",
    )
    report = import_boundaries(city, tmp_path / "noprj.shp", [LevelSpec("x")], city="TST", crs=UTM)
    assert report.rows_accepted == 1


def test_bad_crs_value(city: Engine, tmp_path: Path) -> None:
    barrios(["9"]).to_file(tmp_path / "noprj.shp")
    (tmp_path / "noprj.prj").unlink()
    assert_rejected(
        city,
        lambda: import_boundaries(
            city, tmp_path / "noprj.shp", [LevelSpec("x")], city="TST", crs="EPSG:abc"
        ),
        "noprj.shp",
        "EPSG:abc",
        "EPSG:CODE",
    )


def test_empty_geometry_rejected(city: Engine, tmp_path: Path) -> None:
    path = tmp_path / "e.gpkg"
    barrios(["01", "02"], [square(0, 0), shapely.Polygon()]).to_file(path)
    assert_rejected(
        city,
        lambda: import_boundaries(city, path, [LevelSpec("x")], city="TST"),
        "e.gpkg",
        "feature 2",
        "column 'geometry'",
        "value '02'",
        "empty",
    )


def test_duplicate_codes_rejected(city: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.gpkg"
    barrios(["007", "008", "007"]).to_file(path)
    assert_rejected(
        city,
        lambda: import_boundaries(city, path, [LevelSpec("x")], city="TST"),
        "d.gpkg",
        "feature 3",
        "column 'codigo'",
        "value '007'",
        "also feature 1",
    )


def test_unknown_parent_code_rejected(engine: Engine, tmp_path: Path) -> None:
    path = write_levels(tmp_path / "u.gpkg")
    frame = gpd.read_file(path, layer="barrio")
    frame.loc[1, "codigo_padre"] = "07"
    frame.to_file(path, layer="barrio", driver="GPKG")
    assert_rejected(
        engine,
        lambda: import_boundaries(engine, path, DEMO_LEVELS, city="TST"),
        "u.gpkg:barrio",
        "feature 2",
        "codigo_padre",
        "value '07'",
        "unknown parent",
    )


def test_unknown_prefix_parent_rejected(engine: Engine, tmp_path: Path) -> None:
    path = write_levels(tmp_path / "u.gpkg")
    frame = gpd.read_file(path, layer="barrio")
    frame.loc[2, "codigo"] = "09001"
    frame.to_file(path, layer="barrio", driver="GPKG")
    assert_rejected(
        engine,
        lambda: import_boundaries(engine, path, DEMO_LEVELS, city="TST", parent_by="prefix"),
        "u.gpkg:barrio",
        "feature 3",
        "value '09001'",
        "starts this code",
    )


def test_missing_code_column(city: Engine, tmp_path: Path) -> None:
    path = tmp_path / "m.gpkg"
    barrios(["1"]).rename(columns={"codigo": "cve"}).to_file(path)
    assert_rejected(
        city,
        lambda: import_boundaries(city, path, [LevelSpec("x")], city="TST"),
        "m.gpkg",
        "no code column",
        "cve",
        "--code-column",
    )


def test_points_are_not_units(city: Engine, tmp_path: Path) -> None:
    path = tmp_path / "pts.gpkg"
    barrios(["1"], [shapely.Point(X0, Y0)]).to_file(path)
    assert_rejected(
        city,
        lambda: import_boundaries(city, path, [LevelSpec("x")], city="TST"),
        "pts.gpkg",
        "feature 1",
        "value '1'",
        "Point, not a polygon",
    )


def test_wrong_layer(city: Engine, tmp_path: Path) -> None:
    path = write_levels(tmp_path / "w.gpkg")
    assert_rejected(
        city,
        lambda: import_boundaries(city, path, [LevelSpec("manzana")], city="TST"),
        "w.gpkg",
        "no layer 'manzana'",
        "localidad, barrio",
    )


def test_truncated_geojson(city: Engine, tmp_path: Path) -> None:
    barrios(["1", "2"]).to_crs("EPSG:4326").to_file(tmp_path / "full.geojson", driver="GeoJSON")
    raw = (tmp_path / "full.geojson").read_bytes()
    (tmp_path / "cut.geojson").write_bytes(raw[: len(raw) // 2])
    assert_rejected(
        city,
        lambda: import_boundaries(city, tmp_path / "cut.geojson", [LevelSpec("x")], city="TST"),
        "cut.geojson",
        "cannot be read",
        "truncated",
    )


def test_empty_boundary_file(city: Engine, tmp_path: Path) -> None:
    (tmp_path / "zero.gpkg").write_bytes(b"")
    assert_rejected(
        city,
        lambda: import_boundaries(city, tmp_path / "zero.gpkg", [LevelSpec("x")], city="TST"),
        "zero.gpkg",
        "empty (0 bytes)",
    )


# --- batches: accept-valid, re-import, replacement, dry run


def test_accept_valid_keeps_good_features_and_writes_rejects(city: Engine, tmp_path: Path) -> None:
    path = tmp_path / "d.gpkg"
    barrios(["7", "8", "7"]).to_file(path)
    report = import_boundaries(city, path, [LevelSpec("x")], city="TST", accept_valid=True)
    assert (report.rows_accepted, report.rows_rejected) == (2, 1)
    rejects = Path(report.reject_path or "").read_text(encoding="utf-8")
    assert "feature 3" in rejects and "duplicate code" in rejects


def test_reimport_is_noop_and_correction_replaces(db_url: str, tmp_path: Path) -> None:
    engine = init_database(db_url)
    path = write_levels(tmp_path / "b.gpkg")
    first = import_boundaries(engine, path, DEMO_LEVELS, city="TST")
    again = import_boundaries(engine, path, DEMO_LEVELS, city="TST")
    assert again.status == "unchanged" and again.batch_id == first.batch_id
    frame = gpd.read_file(path, layer="barrio")
    frame = frame[frame.codigo != "01002"]
    frame.loc[0, "nombre"] = "A corregido"
    frame.to_file(path, layer="barrio", driver="GPKG")
    fixed = import_boundaries(engine, path, DEMO_LEVELS, city="TST")
    assert fixed.replaced_batch_ids == [first.batch_id]
    with transaction(engine) as session:
        statuses = dict(
            session.execute(select(models.ImportBatch.id, models.ImportBatch.status)).all()
        )
        names = dict(
            session.execute(select(models.SpatialUnit.code, models.SpatialUnit.name)).all()
        )
        count = session.scalar(select(func.count()).select_from(models.SpatialUnit))
    assert statuses == {first.batch_id: "replaced", fixed.batch_id: "active"}
    assert names["01001"] == "A corregido" and "01002" not in names and count == 4


def test_dry_run_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    from tests.ingest.conftest import snapshot

    before = snapshot(engine)
    report = import_boundaries(
        engine, write_levels(tmp_path / "b.gpkg"), DEMO_LEVELS, city="TST", dry_run=True
    )
    assert report.status == "dry_run" and report.rows_accepted == 5
    assert snapshot(engine) == before


def test_lower_level_later_with_parent_level(engine: Engine, tmp_path: Path) -> None:
    path = write_levels(tmp_path / "b.gpkg")
    import_boundaries(engine, path, [DEMO_LEVELS[0]], city="TST")
    report = import_boundaries(engine, path, [DEMO_LEVELS[1]], city="TST", parent_level="localidad")
    assert report.rows_accepted == 3
    assert {code: parent for code, (parent, _area) in units(engine).items()} == {
        "01": None,
        "02": None,
        "01001": "01",
        "01002": "01",
        "02001": "02",
    }
    with transaction(engine) as session:
        depths = dict(session.execute(select(models.UnitLevel.code, models.UnitLevel.depth)).all())
    assert depths == {"localidad": 0, "barrio": 1}
    assert_rejected(
        engine,
        lambda: import_boundaries(
            engine, path, [DEMO_LEVELS[1]], city="TST", parent_level="region"
        ),
        "b.gpkg",
        "parent level 'region'",
        "--parent-level",
    )
