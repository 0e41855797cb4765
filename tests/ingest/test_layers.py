"""Environment layers: checked, kept beside the store, found by the indicators."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, select

from inclusive_cities.ingest import IngestError, import_layers
from inclusive_cities.store import models, transaction
from tests.ingest.conftest import UTM, snapshot, square


def write_environment(path: Path, zones: int = 1) -> Path:
    risk = gpd.GeoDataFrame(
        {"tipo": ["inundacion"] * zones, "mitigable": [False] * zones},
        geometry=[square(100 * i, 0, 50) for i in range(zones)],
        crs=UTM,
    )
    risk.to_file(path, layer="zonas_riesgo")
    streets = gpd.GeoDataFrame(
        {"tipo": ["local"]}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=UTM
    )
    streets.to_file(path, layer="vias")
    return path


def batches(engine: Engine) -> list[tuple[str, str, dict]]:
    with transaction(engine) as session:
        rows = session.scalars(
            select(models.ImportBatch)
            .where(models.ImportBatch.kind == "environment")
            .order_by(models.ImportBatch.id)
        )
        return [(b.file_name, b.status, b.details or {}) for b in rows]


def test_layers_are_kept_and_registered(city: Engine, tmp_path: Path) -> None:
    source = write_environment(tmp_path / "environment.gpkg")
    report = import_layers(city, source, city="TST", data_dir=tmp_path / "data")
    assert report.status == "imported"
    assert sorted(report.details["layers"]) == ["vias", "zonas_riesgo"]
    [(name, status, details)] = batches(city)
    assert (name, status) == ("environment.gpkg", "active")
    kept = Path(details["path"])
    assert kept.parent == (tmp_path / "data" / "layers" / "TST").resolve()
    assert kept.read_bytes() == source.read_bytes()
    assert len(gpd.read_file(kept, layer="zonas_riesgo")) == 1


def test_same_file_again_is_a_no_op_and_a_new_one_replaces_it(city: Engine, tmp_path: Path):
    source = write_environment(tmp_path / "environment.gpkg")
    first = import_layers(city, source, city="TST", data_dir=tmp_path / "data")
    again = import_layers(city, source, city="TST", data_dir=tmp_path / "data")
    assert again.status == "unchanged" and again.batch_id == first.batch_id
    corrected = write_environment(tmp_path / "corrected.gpkg", zones=2)
    newer = import_layers(city, corrected, city="TST", data_dir=tmp_path / "data")
    assert newer.replaced_batch_ids == [first.batch_id]
    assert [(name, status) for name, status, _ in batches(city)] == [
        ("environment.gpkg", "replaced"),
        ("corrected.gpkg", "active"),
    ]


def test_layers_without_crs_are_refused_and_nothing_is_kept(city: Engine, tmp_path: Path):
    source = tmp_path / "nocrs.gpkg"
    gpd.GeoDataFrame({"tipo": ["x"]}, geometry=[square(0, 0)]).to_file(source, layer="zonas")
    before = snapshot(city)
    with pytest.raises(IngestError, match=r"nocrs\.gpkg, layer zonas: it has no coordinate"):
        import_layers(city, source, city="TST", data_dir=tmp_path / "data")
    assert snapshot(city) == before
    assert not (tmp_path / "data").exists()


def test_a_file_that_is_not_vector_is_refused(city: Engine, tmp_path: Path) -> None:
    source = tmp_path / "notes.gpkg"
    source.write_text("not a geopackage", encoding="utf-8")
    with pytest.raises(IngestError, match=r"notes\.gpkg is not a vector file GDAL can read"):
        import_layers(city, source, city="TST", data_dir=tmp_path / "data")


def test_unknown_city_is_refused(city: Engine, tmp_path: Path) -> None:
    source = write_environment(tmp_path / "environment.gpkg")
    with pytest.raises(IngestError, match="city ZZZ is not in the observatory"):
        import_layers(city, source, city="ZZZ", data_dir=tmp_path / "data")
    assert batches(city) == []
