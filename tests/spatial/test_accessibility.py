"""Accessibility on hand-placed units, facilities and streets; bad layers refused."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from inclusive_cities.spatial import (
    SpatialError,
    accessibility,
    facilities_within,
    intersection_density,
    nearest_distances,
    network_distances,
    population_in_zones,
    public_space_per_inhabitant,
    share_within,
    two_step_fca,
)

CRS = "EPSG:32618"


@pytest.fixture
def units() -> gpd.GeoDataFrame:
    cells = [box(0, 0, 100, 100), box(1000, 0, 1100, 100), box(5000, 0, 5100, 100)]
    return gpd.GeoDataFrame({"population": [10, 20, 30]}, geometry=cells, crs=CRS)


@pytest.fixture
def facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"type": ["health", "school", "health"], "capacity": [100.0, 50.0, 60.0]},
        geometry=[Point(50, 50), Point(1050, 1050), Point(5050, 450)],
        crs=CRS,
    )


def test_nearest_distances_by_type(units, facilities) -> None:
    got = nearest_distances(units, facilities)
    assert got["health"].tolist() == pytest.approx([0.0, 1000.0, 400.0])
    assert got["school"].tolist() == pytest.approx(
        [math.hypot(1000, 1000), 1000.0, math.hypot(4000, 1000)]
    )


def test_accessibility_summary_weights_by_population(units, facilities) -> None:
    got = accessibility(units, facilities, thresholds={"health": [500, 1000]})
    assert got["within_500m_health"].tolist() == [True, False, True]
    summary = got.attrs["summary"]
    assert summary["share_within_500m_health"] == pytest.approx(100 * 40 / 60)
    assert summary["share_within_1000m_health"] == pytest.approx(100.0)
    assert summary["mean_dist_m_health"] == pytest.approx((0 * 10 + 1000 * 20 + 400 * 30) / 60)


def test_share_within_and_counts(units, facilities) -> None:
    assert share_within([0, 600, 2000], [1, 1, 2], 600) == pytest.approx(50.0)
    assert facilities_within(units, facilities, 1000).tolist() == [1, 2, 1]


def test_two_step_fca_matches_hand_value(units, facilities) -> None:
    # 2 km catchments. health@(50,50): units 0 and 1 → 100/30; school@(1050,1050): units 0
    # (1,414 m) and 1 (1,000 m) → 50/30; health@(5050,450): unit 2 only → 60/30.
    got = two_step_fca(units, facilities, 2000)
    assert got.tolist() == pytest.approx([150 / 30, 150 / 30, 2.0])


def test_public_space_per_inhabitant(units) -> None:
    parks = gpd.GeoDataFrame(geometry=[box(200, 0, 300, 100)], crs=CRS)  # 10,000 m²
    # 400 m from the park's edge: unit 0 (150 m) only; unit 1 is 750 m away
    assert public_space_per_inhabitant(units, parks, 400).tolist() == pytest.approx([1000, 0, 0])
    # 1 km: units 0 and 1 share it
    assert public_space_per_inhabitant(units, parks, 1000).tolist() == pytest.approx(
        [10_000 / 30, 10_000 / 30, 0]
    )


def test_population_in_zones_by_area_share(units) -> None:
    zones = gpd.GeoDataFrame(geometry=[box(0, 0, 50, 100), box(5000, 0, 5100, 25)], crs=CRS)
    assert population_in_zones(units, zones).tolist() == pytest.approx([5.0, 0.0, 7.5])


def test_intersection_density_counts_nodes_of_degree_three() -> None:
    cells = gpd.GeoDataFrame(geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=CRS)
    streets = gpd.GeoDataFrame(
        geometry=[
            LineString([(0, 50), (200, 50)]),  # crosses both verticals
            LineString([(50, 0), (50, 100)]),
            LineString([(150, 50), (150, 100)]),  # a T: degree 3
            LineString([(120, 10), (180, 10)]),  # dead end: no intersection
        ],
        crs=CRS,
    )
    got = intersection_density(cells, streets)
    assert got["intersections"].tolist() == [1, 1]
    assert got["per_km2"].tolist() == pytest.approx([100.0, 100.0])


def grid_streets(size: int, step: float) -> gpd.GeoDataFrame:
    lines = [LineString([(0, i * step), (size * step, i * step)]) for i in range(size + 1)]
    lines += [LineString([(i * step, 0), (i * step, size * step)]) for i in range(size + 1)]
    return gpd.GeoDataFrame(geometry=lines, crs=CRS)


def test_network_distance_follows_the_grid() -> None:
    streets = grid_streets(4, 100)
    points = gpd.GeoDataFrame(
        {"population": [1, 1]}, geometry=[Point(0, 0), Point(400, 400)], crs=CRS
    )
    target = gpd.GeoDataFrame({"type": ["health"]}, geometry=[Point(300, 100)], crs=CRS)
    got = network_distances(points, target, streets)
    # Manhattan distance on the grid, not the straight line
    assert got["health"].tolist() == pytest.approx([400.0, 400.0])
    straight = accessibility(points, target)
    assert straight["dist_m_health"].tolist() == pytest.approx(
        [math.hypot(300, 100), math.hypot(100, 300)]
    )
    along = accessibility(points, target, streets=streets)
    assert along["dist_m_health"].tolist() == pytest.approx([400.0, 400.0])


def test_network_that_does_not_cover_the_city_is_an_error() -> None:
    streets = grid_streets(2, 100)
    points = gpd.GeoDataFrame(
        {"population": [1, 1]}, geometry=[Point(0, 0), Point(3000, 0)], crs=CRS
    )
    target = gpd.GeoDataFrame({"type": ["health"]}, geometry=[Point(100, 100)], crs=CRS)
    with pytest.raises(SpatialError) as error:
        network_distances(points, target, streets)
    message = str(error.value)
    assert "does not cover the city: 1 of 2 units" in message and "\n" not in message


def test_facility_layer_in_another_crs_is_refused(units, facilities) -> None:
    with pytest.raises(SpatialError) as error:
        nearest_distances(units, facilities.to_crs("EPSG:4326"))
    assert str(error.value) == (
        "The facility layer is in EPSG:4326 but the unit layer is in EPSG:32618: reproject it "
        "first (layer.to_crs('EPSG:32618'))."
    )


def test_geographic_layers_are_measured_in_a_local_utm(units, facilities) -> None:
    # near 7.9°N, 75°W (the zone's central meridian), the local UTM zone is EPSG:32618
    units = units.set_geometry(units.translate(500_000, 870_000))
    facilities = facilities.set_geometry(facilities.translate(500_000, 870_000))
    metric = nearest_distances(units, facilities)
    geographic = nearest_distances(units.to_crs("EPSG:4326"), facilities.to_crs("EPSG:4326"))
    assert np.allclose(metric.to_numpy(), geographic.to_numpy(), atol=0.01)


def test_units_without_population_are_refused(units, facilities) -> None:
    empty = units.assign(population=0)
    with pytest.raises(SpatialError, match="has no population at all"):
        accessibility(empty, facilities)
    missing = units.assign(population=[1.0, None, 2.0])
    with pytest.raises(SpatialError, match=r"row 1 \(column 'population', value 'nan'\)"):
        accessibility(missing, facilities)
    with pytest.raises(SpatialError, match="no population column 'people'"):
        accessibility(units, facilities, population_column="people")


def test_layer_without_crs_is_refused(units, facilities) -> None:
    with pytest.raises(SpatialError, match="has no CRS"):
        nearest_distances(units, facilities.set_crs(None, allow_override=True))


def test_distance_to_polygons_is_to_their_edge(units) -> None:
    parks = gpd.GeoDataFrame(
        {"type": ["park", "park"]},
        geometry=[box(200, 0, 300, 100), box(5000, 300, 5400, 700)],
        crs=CRS,
    )
    got = nearest_distances(units, parks)["park"].tolist()
    # centroids (50, 50), (1050, 50), (5050, 50): 150 m, 750 m and 250 m to the nearest edge
    assert got == pytest.approx([150.0, 750.0, 250.0])
