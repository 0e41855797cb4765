"""Facilities: CSV with lat/lon or point files, type mapping, bad coordinates and types."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, select

from inclusive_cities.ingest import IngestError, import_facilities, load_type_mapping
from inclusive_cities.store import models, transaction
from tests.ingest.conftest import UTM, X0, Y0, assert_rejected

HEADER = "id,nombre,tipo,lat,lon,capacidad\n"


def stored(engine: Engine) -> dict[str, tuple[str, float, float, float | None]]:
    with transaction(engine) as session:
        return {
            f.code: (f.type, round(f.longitude, 6), round(f.latitude, 6), f.capacity)
            for f in session.scalars(select(models.Facility))
        }


def centre(engine: Engine) -> tuple[float, float]:
    with transaction(engine) as session:
        unit = session.scalars(
            select(models.SpatialUnit).where(models.SpatialUnit.code == "01001")
        ).one()
        point = shapely.from_wkb(unit.geometry).centroid
        return round(point.x, 6), round(point.y, 6)


def csv_file(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_type_mapping_ignores_case_accents_and_spaces() -> None:
    mapping = load_type_mapping()
    assert mapping.canonical("Centro de Salud") == "health"
    assert mapping.canonical("CENTRO_INTEGRACIÓN") == "protection_integration"
    assert mapping.canonical("Servicio Empleo") == "employment_service"
    assert mapping.canonical("discoteca") is None


def test_own_mapping_adds_to_the_default(tmp_path: Path) -> None:
    own = tmp_path / "types.yaml"
    own.write_text("map:\n  CAI: protection_integration\n  Hospital: education\n", encoding="utf-8")
    mapping = load_type_mapping(own)
    assert mapping.canonical("cai") == "protection_integration"
    assert mapping.canonical("hospital") == "education"  # the user's entry wins
    assert mapping.canonical("colegio") == "education"  # the default still applies
    own.write_text("map:\n  CAI: shelter\n", encoding="utf-8")
    with pytest.raises(IngestError, match="'CAI' maps to 'shelter'"):
        load_type_mapping(own)


def test_csv_with_lat_lon(city: Engine, tmp_path: Path) -> None:
    lon, lat = centre(city)
    path = csv_file(
        tmp_path / "f.csv",
        [
            f"F1,Hospital,hospital,{lat},{lon},120",
            f"F2,Escuela,colegio,{lat},{lon},",
            f"F3,CI,centro_integracion,{lat},{lon},15",
        ],
    )
    report = import_facilities(city, path, city="TST")
    assert report.rows_accepted == 3
    assert stored(city) == {
        "F1": ("health", lon, lat, 120.0),
        "F2": ("education", lon, lat, None),
        "F3": ("protection_integration", lon, lat, 15.0),
    }


def test_point_file_reprojected(city: Engine, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"codigo": ["P1"], "tipo": ["parque"]},
        geometry=[shapely.Point(X0 + 500, Y0 + 500)],
        crs=UTM,
    )
    frame.to_file(tmp_path / "parks.gpkg")
    import_facilities(city, tmp_path / "parks.gpkg", city="TST")
    # the point is the centre of barrio 01001 (a 1 km square drawn in UTM)
    kind, lon, lat, _capacity = stored(city)["P1"]
    expected = centre(city)
    assert kind == "public_space"
    assert abs(lon - expected[0]) < 1e-4 and abs(lat - expected[1]) < 1e-4


def test_replacement_by_type(city: Engine, tmp_path: Path) -> None:
    lon, lat = centre(city)
    path = csv_file(
        tmp_path / "f.csv", [f"F1,A,hospital,{lat},{lon},", f"F2,B,hospital,{lat},{lon},"]
    )
    first = import_facilities(city, path, city="TST")
    other = csv_file(tmp_path / "g.csv", [f"S1,Stop,paradero,{lat},{lon},"])
    import_facilities(city, other, city="TST")
    csv_file(path, [f"F1,A2,hospital,{lat},{lon},"])
    fixed = import_facilities(city, path, city="TST")
    assert fixed.replaced_batch_ids == [first.batch_id]
    assert set(stored(city)) == {"F1", "S1"}


# --- bad facility files


def test_unknown_type(city: Engine, tmp_path: Path) -> None:
    lon, lat = centre(city)
    path = csv_file(
        tmp_path / "t.csv", [f"F1,A,hospital,{lat},{lon},", f"F2,B,discoteca,{lat},{lon},"]
    )
    assert_rejected(
        city,
        lambda: import_facilities(city, path, city="TST"),
        "t.csv",
        "row 3",
        "column 'tipo'",
        "value 'discoteca'",
        "type mapping",
    )


def test_swapped_coordinates(city: Engine, tmp_path: Path) -> None:
    lon, lat = centre(city)
    path = csv_file(tmp_path / "s.csv", [f"F1,A,hospital,{lon},{lat},"])
    assert_rejected(
        city, lambda: import_facilities(city, path, city="TST"), "s.csv", "row 2", "swapped"
    )


def test_non_numeric_latitude(city: Engine, tmp_path: Path) -> None:
    lon, _lat = centre(city)
    path = csv_file(tmp_path / "n.csv", [f'F1,A,hospital,"7,9",{lon},'])
    assert_rejected(
        city,
        lambda: import_facilities(city, path, city="TST"),
        "n.csv",
        "row 2",
        "column 'lat'",
        "value '7,9'",
        "not a number",
    )


def test_duplicate_identifier(city: Engine, tmp_path: Path) -> None:
    lon, lat = centre(city)
    path = csv_file(
        tmp_path / "d.csv", [f"F1,A,hospital,{lat},{lon},", f"F1,B,colegio,{lat},{lon},"]
    )
    assert_rejected(
        city,
        lambda: import_facilities(city, path, city="TST"),
        "d.csv",
        "row 3",
        "column 'id'",
        "value 'F1'",
        "duplicate",
    )


def test_negative_capacity(city: Engine, tmp_path: Path) -> None:
    lon, lat = centre(city)
    path = csv_file(tmp_path / "c.csv", [f"F1,A,hospital,{lat},{lon},-3"])
    assert_rejected(
        city,
        lambda: import_facilities(city, path, city="TST"),
        "c.csv",
        "row 2",
        "column 'capacidad'",
        "value '-3'",
        "0 or more",
    )
