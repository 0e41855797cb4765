"""Clusters and interpolations of a stored city, kept as analysis layers (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from sqlalchemy import func, select

from inclusive_cities.analyses import cluster_layer, interpolate_layer, read_target
from inclusive_cities.spatial import SpatialError
from inclusive_cities.spatial.layers import (
    higher_is_better,
    list_layers,
    publish_layer,
    read_layer,
    save_layer,
    source_direction,
    source_name,
)
from inclusive_cities.store import connect, models, transaction
from tests.spatial import grid_city as grid


@pytest.fixture
def city_url(db_url: str, tmp_path: Path) -> str:
    return grid.build(db_url, tmp_path)


def test_known_clusters_are_found_and_stored(city_url: str) -> None:
    engine = connect(city_url)
    result = cluster_layer(
        engine, city="GRD", period="2024", indicator="internet", permutations=999, seed=7
    )
    assert result.name == "clusters-internet-manzana"
    frame = result.frame
    for block in grid.CORE:
        assert frame.loc[block, "moran_i"] == pytest.approx(grid.expected_core_moran())
        assert frame.loc[block, "moran_class"] == "high_high"
        assert frame.loc[block, "gi_class"] == "hot"
    corner = {grid.code(r, c) for r in range(5) for c in range(5)}
    assert set(frame.index[frame["moran_class"] == "high_high"]) <= corner
    # Gi* sums a unit with its neighbours: a low block beside the corner can be hot too
    near_corner = {grid.code(r, c) for r in range(6) for c in range(6)}
    assert set(frame.index[frame["gi_class"] == "hot"]) <= near_corner
    assert not (frame["moran_class"] == "low_low").any()  # 3 of 4 blocks low: nothing rare

    [info] = list_layers(engine, "GRD")
    assert (info.name, info.kind, info.level, info.source, info.features) == (
        "clusters-internet-manzana",
        "clusters",
        "manzana",
        "internet",
        100,
    )
    assert info.parameters == {
        "source": "internet",
        "permutations": 999,
        "neighbours": "knn",
        "k": 6,
        "seed": 7,
        "alpha": 0.05,
        "fdr": "benjamini_hochberg",
        "units": 100,
        # the stored row's names are the code: the catalogue's names are recorded instead
        "source_name": {"es": "Hogares con internet", "en": "Households with internet"},
        "direction": "higher_is_better",
        "higher_is_better": True,
    }
    assert info.published is False
    _info, stored = read_layer(engine, "clusters-internet-manzana")
    stored = stored.set_index("code")
    assert sorted(stored.index) == sorted(frame.index)
    for column in ("value", "moran_i", "moran_p", "gi_z", "gi_p"):
        assert stored[column].to_numpy() == pytest.approx(frame.loc[stored.index, column])
    for column in ("moran_class", "gi_class"):
        assert stored[column].tolist() == frame.loc[stored.index, column].tolist()
    expected = grid.blocks_utm().set_index("code").to_crs("EPSG:4326")
    assert stored.crs == "EPSG:4326"
    assert all(
        shapely.equals_exact(stored.geometry[c], expected.geometry[c], tolerance=1e-9)
        for c in stored.index
    )


def test_running_again_replaces_the_layer(city_url: str) -> None:
    engine = connect(city_url)
    first = cluster_layer(engine, city="GRD", period="2024", indicator="internet", seed=1)
    second = cluster_layer(
        engine, city="GRD", period="2024", indicator="internet", seed=2, publish=True
    )
    assert not first.frame["moran_p"].equals(second.frame["moran_p"])  # other permutations
    [info] = list_layers(engine)
    assert info.id == second.layer_id and info.parameters["seed"] == 2 and info.published
    with transaction(engine) as session:
        assert session.scalar(select(func.count(models.AnalysisFeature.id))) == 100
        assert session.scalar(select(func.count(models.AnalysisLayer.id))) == 1
        stored = dict(
            session.execute(
                select(models.AnalysisFeature.code, models.AnalysisFeature.moran_p)
            ).all()
        )
    assert [stored[c] for c in second.frame.index] == pytest.approx(
        second.frame["moran_p"].tolist()
    )
    cluster_layer(engine, city="GRD", period="2024", indicator="households", seed=2)
    assert [layer.name for layer in list_layers(engine)] == [
        "clusters-households-manzana",
        "clusters-internet-manzana",
    ]


def test_a_failed_replacement_keeps_the_old_layer(city_url: str) -> None:
    engine = connect(city_url)
    kept = cluster_layer(engine, city="GRD", period="2024", indicator="internet")
    broken = kept.frame.copy()
    broken.index = ["zz-not-a-unit", *broken.index[1:]]
    with pytest.raises(SpatialError, match="zz-not-a-unit"):
        save_layer(
            engine,
            city="GRD",
            period="2024",
            name=kept.name,
            kind="clusters",
            source="internet",
            frame=broken,
            parameters={},
            level="manzana",
        )
    [info] = list_layers(engine)
    assert info.id == kept.layer_id and info.features == 100


def test_clusters_of_a_marker_score(city_url: str) -> None:
    engine = connect(city_url)
    run = grid.add_marker_run(city_url)
    index = cluster_layer(engine, run=run, seed=7)
    by_indicator = cluster_layer(
        engine, city="GRD", period="2024", indicator="internet", seed=7, keep=False
    )
    assert index.name == "clusters-uim-test-UIM-manzana"
    assert index.frame["moran_i"].to_numpy() == pytest.approx(
        by_indicator.frame.loc[index.frame.index, "moran_i"].to_numpy()
    )
    area = cluster_layer(engine, run=run, score="VIV", keep=False)
    assert area.frame["value"].sum() == pytest.approx(5050)
    with transaction(engine) as session:
        layer = session.scalar(select(models.AnalysisLayer))
        assert layer is not None and layer.marker_run_id == run and layer.source == "uim-test:UIM"
    assert index.parameters["higher_is_better"] is True and index.parameters["index"] is True
    assert index.parameters["source_name"] is None  # the run kept no names: codes are shown
    assert area.parameters["index"] is False
    newest = cluster_layer(engine, city="GRD", period="2024", marker="uim-test", keep=False)
    assert newest.parameters["marker_run"] == run
    with pytest.raises(SpatialError, match="has no run of marker 'other' for period 2024"):
        cluster_layer(engine, city="GRD", period="2024", marker="other")
    with pytest.raises(SpatialError, match=f"no marker run 999: the stored runs are {run}"):
        cluster_layer(engine, run=999)
    with pytest.raises(SpatialError, match="has no score 'NOPE'"):
        cluster_layer(engine, run=run, score="NOPE")
    with pytest.raises(SpatialError, match="is for period '2024', not '2020'"):
        cluster_layer(engine, run=run, period="2020")


def test_names_and_direction_of_the_source_are_recorded(city_url: str) -> None:
    engine = connect(city_url)
    run = grid.add_marker_run(city_url)
    with transaction(engine) as session:
        stored = session.get(models.MarkerRun, run)
        assert stored is not None
        stored.parameters = {
            "spec": {
                "code": "uim-test",
                "name": {"es": "Marcador de prueba", "en": "Test marker"},
                "tree": {
                    "code": "UIM",
                    "name": {"es": "Marcador", "en": "Marker"},
                    "children": [{"code": "VIV", "name": {"es": "Vivienda", "en": "Housing"}}],
                },
            }
        }
        overcrowded = session.scalar(
            select(models.Indicator).where(models.Indicator.code == "households")
        )
        assert overcrowded is not None
        overcrowded.name_es, overcrowded.name_en = "Hogares hacinados", "Overcrowded households"
        overcrowded.direction = "lower_is_better"
    index = cluster_layer(engine, run=run, keep=False)
    assert index.parameters["source_name"] == {"es": "Marcador", "en": "Marker"}
    assert index.parameters["spec_name"] == {"es": "Marcador de prueba", "en": "Test marker"}
    assert (index.parameters["index"], index.parameters["higher_is_better"]) == (True, True)
    area = cluster_layer(engine, run=run, score="VIV", keep=False)
    assert area.parameters["source_name"] == {"es": "Vivienda", "en": "Housing"}
    assert (area.parameters["index"], area.parameters["higher_is_better"]) == (False, True)
    # the stored row wins over the catalogue (which calls households a neutral count)
    rows = cluster_layer(engine, city="GRD", period="2024", indicator="households")
    assert rows.parameters["source_name"] == {
        "es": "Hogares hacinados",
        "en": "Overcrowded households",
    }
    assert rows.parameters["higher_is_better"] is False
    assert rows.parameters["direction"] == "lower_is_better"
    assert "index" not in rows.parameters and "spec_name" not in rows.parameters
    [info] = list_layers(engine, "GRD")
    assert info.parameters["higher_is_better"] is False
    assert source_name(info.parameters, info.source, "en") == "Overcrowded households"
    assert source_name(index.parameters, "uim-test:UIM", "es") == "Marcador (índice)"
    assert source_name(index.parameters, "uim-test:UIM", "en") == "Marker (index)"
    # a layer made before names were recorded shows its source code, direction unknown
    assert source_name({"k": 6}, "uim-test:UIM", "es") == "uim-test:UIM"
    assert higher_is_better({"k": 6}) is None
    assert source_direction({"k": 6}) is None
    assert source_direction({"higher_is_better": False}) == "lower_is_better"


def test_clusters_of_a_neutral_indicator_are_not_ranked(city_url: str) -> None:
    """The share of Venezuelans is neutral: its clusters are of concentration, so the layer
    records the direction and no better end (higher_is_better null)."""
    engine = connect(city_url)
    with transaction(engine) as session:
        row = session.scalar(select(models.Indicator).where(models.Indicator.code == "households"))
        assert row is not None
        row.direction = "neutral"
    found = cluster_layer(engine, city="GRD", period="2024", indicator="households", keep=False)
    assert found.parameters["direction"] == "neutral"
    assert found.parameters["higher_is_better"] is None
    assert higher_is_better(found.parameters) is None
    assert source_direction(found.parameters) == "neutral"


def test_publishing_and_finding_layers(city_url: str) -> None:
    engine = connect(city_url)
    cluster_layer(engine, city="GRD", period="2024", indicator="internet", permutations=99)
    assert publish_layer(engine, "clusters-internet-manzana") == "clusters-internet-manzana"
    assert list_layers(engine)[0].published
    publish_layer(engine, "clusters-internet-manzana", published=False)
    assert not list_layers(engine)[0].published
    with pytest.raises(SpatialError, match="no stored layer 'nope'"):
        read_layer(engine, "nope")


def test_deleting_the_city_deletes_its_layers(city_url: str) -> None:
    engine = connect(city_url)
    cluster_layer(engine, city="GRD", period="2024", indicator="internet", permutations=99)
    with transaction(engine) as session:
        city = session.scalar(select(models.City).where(models.City.code == "GRD"))
        session.delete(city)
    with transaction(engine) as session:
        assert session.scalar(select(func.count(models.AnalysisLayer.id))) == 0
        assert session.scalar(select(func.count(models.AnalysisFeature.id))) == 0


# -- interpolation --------------------------------------------------------------------------


def _halves(tmp_path: Path, crs: str | None = "EPSG:4326") -> Path:
    """West and east halves of the city (the barrios), written as a target file."""
    blocks = grid.blocks_utm()
    col = blocks["code"].str.split("c").str[1].astype(int)
    halves = gpd.GeoDataFrame(
        {"zone": ["W", "E"]},
        geometry=[
            shapely.union_all(blocks.geometry[col < 5].to_numpy()),
            shapely.union_all(blocks.geometry[col >= 5].to_numpy()),
        ],
        crs=grid.UTM,
    )
    path = tmp_path / "halves.gpkg"
    if crs is None:
        halves.to_crs("EPSG:4326").set_crs(None, allow_override=True).to_file(path, layer="h")
    else:
        halves.to_crs(crs).to_file(path, layer="h")
    return path


def _strips(tmp_path: Path) -> Path:
    """Three vertical strips that cut through blocks (at 1/3 and 2/3 of the width); they
    reach past the city so that its reprojected outline lies inside them."""
    width = grid.SIZE * grid.CELL
    x = [grid.X0 - 100, grid.X0 + width / 3, grid.X0 + 2 * width / 3, grid.X0 + width + 100]
    low, top = grid.Y0 - 100, grid.Y0 + width + 100
    strips = gpd.GeoDataFrame(
        {"zone": ["a", "b", "c"]},
        geometry=[shapely.box(x[i], low, x[i + 1], top) for i in range(3)],
        crs=grid.UTM,
    ).to_crs("EPSG:4326")
    path = tmp_path / "strips.gpkg"
    strips.to_file(path, layer="strips")
    return path


def test_counts_are_summed_and_rates_averaged_by_hand(city_url: str, tmp_path: Path) -> None:
    engine = connect(city_url)
    target = read_target(_halves(tmp_path), "h", "zone")
    result = interpolate_layer(
        engine,
        city="GRD",
        period="2024",
        indicators=["households", "internet"],
        target=target,
        target_label="halves",
    )
    assert result.extensive == ["households", "population"]
    assert result.intensive == ["internet"]
    west = [(r, c) for r, c in grid.cells() if c < 5]
    east = [(r, c) for r, c in grid.cells() if c >= 5]
    frame = result.frame
    assert frame.loc["W", "households"] == pytest.approx(sum(grid.households(*x) for x in west))
    assert frame.loc["E", "households"] == pytest.approx(sum(grid.households(*x) for x in east))
    assert frame.loc["W", "population"] == pytest.approx(sum(grid.persons(*x) for x in west))
    # area weights: 25 of the 50 western blocks (all of equal area) have 10, the rest 0
    assert frame.loc["W", "internet"] == pytest.approx(5.0, rel=1e-6)
    assert frame.loc["E", "internet"] == pytest.approx(0.0, abs=1e-9)

    weighted = interpolate_layer(
        engine,
        city="GRD",
        period="2024",
        indicators=["internet"],
        target=target,
        weight="population",
    )
    values = {grid.code(*x): grid.internet(*x) for x in grid.cells()}
    expected = grid.population_weighted(values, [grid.code(*x) for x in west])
    assert weighted.frame.loc["W", "internet"] == pytest.approx(expected, rel=1e-9)
    assert expected != pytest.approx(5.0)  # population weights really differ from area


def test_a_target_in_another_crs_is_reprojected(city_url: str, tmp_path: Path) -> None:
    utm = read_target(_halves(tmp_path, crs=grid.UTM), "h", "zone")
    assert utm.crs == "EPSG:4326"
    result = interpolate_layer(
        connect(city_url), city="GRD", period="2024", indicators=["households"], target=utm
    )
    west = [(r, c) for r, c in grid.cells() if c < 5]
    assert result.frame.loc["W", "households"] == pytest.approx(
        sum(grid.households(*x) for x in west)
    )


def test_totals_are_kept_when_blocks_are_split(city_url: str, tmp_path: Path) -> None:
    engine = connect(city_url)
    for target in (read_target(_strips(tmp_path), None, "zone"), None):
        result = interpolate_layer(
            engine,
            city="GRD",
            period="2024",
            indicators=["households", "internet"],
            target=target,
            h3=None if target is not None else 10,
            weight="population",
        )
        totals = {name: (before, after) for name, _how, before, after in result.totals}
        assert totals["households"][0] == 5050
        assert totals["households"][1] == pytest.approx(5050, rel=1e-9)
        assert totals["population"] == (199, pytest.approx(199, rel=1e-9))
        # population-weighted city mean of internet: 10 × persons in the corner / 199
        corner = sum(grid.persons(r, c) for r, c in grid.cells() if grid.internet(r, c))
        assert totals["internet"][0] == pytest.approx(10 * corner / 199)
        assert totals["internet"][1] == pytest.approx(10 * corner / 199, rel=1e-9)
        assert float(np.nansum(result.frame["households"])) == pytest.approx(5050, rel=1e-9)


def test_interpolation_is_stored_as_a_layer(city_url: str) -> None:
    engine = connect(city_url)
    result = interpolate_layer(
        engine, city="GRD", period="2024", indicators=["households"], h3=9, keep=True
    )
    assert result.name == "interpolation-households-manzana-to-h3-9"
    info, frame = read_layer(engine, str(result.layer_id))
    assert info.kind == "interpolation" and info.parameters["h3_resolution"] == 9
    assert info.level == "manzana"
    assert frame["households"].sum() == pytest.approx(5050, rel=1e-9)
    assert len(frame) == len(result.frame) and frame.crs == "EPSG:4326"
    assert all(len(code) == 15 for code in frame["code"])  # H3 cell ids


def test_bad_interpolation_input(city_url: str, tmp_path: Path) -> None:
    engine = connect(city_url)
    common = {"city": "GRD", "period": "2024"}
    with pytest.raises(SpatialError, match="no indicator 'nope'"):
        interpolate_layer(engine, indicators=["nope"], h3=9, **common)
    with pytest.raises(SpatialError, match=r"no values .* at level 'manzana'"):
        interpolate_layer(engine, indicators=["school_attendance_5_16"], h3=9, **common)
    with pytest.raises(SpatialError, match="H3 resolution 16 does not exist"):
        interpolate_layer(engine, indicators=["households"], h3=16, **common)
    with pytest.raises(SpatialError, match="has no CRS"):
        read_target(_halves(tmp_path, crs=None), "h", "zone")
    with pytest.raises(SpatialError, match="has no layer 'nope': its layers are h"):
        read_target(_halves(tmp_path), "nope", "zone")
    with pytest.raises(SpatialError, match="has no column 'nope'"):
        read_target(_halves(tmp_path), "h", "nope")
    with transaction(connect(city_url)) as session:
        assert session.scalar(select(func.count(models.AnalysisLayer.id))) == 0


def test_suppressed_values_are_left_out(city_url: str) -> None:
    engine = connect(city_url)
    with transaction(engine) as session:
        row = session.scalar(
            select(models.Observation)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .where(models.SpatialUnit.code == "r9c9", models.Indicator.code == "households")
        )
        assert row is not None
        row.status = "suppressed"  # the value (100) stays in the row, but must not be used
    found = cluster_layer(
        engine, city="GRD", period="2024", indicator="households", permutations=99, keep=False
    )
    assert "r9c9" not in found.frame.index and len(found.frame) == 99
    moved = interpolate_layer(engine, city="GRD", period="2024", indicators=["households"], h3=9)
    assert moved.totals[0][2] == 5050 - 100
