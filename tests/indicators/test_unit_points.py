"""Facility distances start from the units' points found once per run (#21): the same
distances and counts as from the polygons, a concave block included (its centroid falls
outside it, so a point inside is used)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from inclusive_cities.indicators.engine import unit_points
from inclusive_cities.spatial import facilities_within, nearest_distances

CRS = "EPSG:32618"


def units() -> gpd.GeoDataFrame:
    square = shapely.box(0, 0, 100, 100)
    # a U: its centroid (≈ 150, 62) lies in the notch, outside the block
    u_shape = shapely.Polygon([(100, 0), (200, 0), (200, 200), (180, 200), (180, 20),
                               (120, 20), (120, 200), (100, 200)])  # fmt: skip
    return gpd.GeoDataFrame(
        geometry=[square, u_shape], index=["0101", "0102"], crs=CRS
    ).rename_axis("code")


def facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"type": ["school", "school", "clinic"]},
        geometry=shapely.points([(50, 300), (150, 100), (400, 0)]),
        crs=CRS,
    )


def test_points_are_centroids_or_inside_the_block() -> None:
    found = unit_points(units())
    assert list(found.index) == ["0101", "0102"] and found.crs == CRS
    assert shapely.equals(found.geometry.iloc[0], shapely.Point(50, 50))
    u_shape = units().geometry.iloc[1]
    assert not u_shape.contains(u_shape.centroid)
    assert u_shape.contains(found.geometry.iloc[1])


def test_distances_and_counts_from_the_points_equal_those_from_the_polygons() -> None:
    polygons, points = units(), unit_points(units())
    by_polygon = nearest_distances(polygons, facilities(), crs=CRS)
    by_point = nearest_distances(points, facilities(), crs=CRS)
    assert by_point.equals(by_polygon)
    # the square's centre (50, 50) is nearest the school at (150, 100)
    assert np.isclose(by_point.loc["0101", "school"], np.hypot(100, 50))
    for radius in (100.0, 260.0):
        assert facilities_within(points, facilities(), radius, crs=CRS).equals(
            facilities_within(polygons, facilities(), radius, crs=CRS)
        )
