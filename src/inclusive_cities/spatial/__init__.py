"""Spatial analysis: GeoDataFrames in, DataFrames out, no store needed.

>>> from inclusive_cities.spatial import accessibility, diversity, segregation, clusters
>>> from inclusive_cities.spatial import interpolate
"""

from __future__ import annotations

from inclusive_cities.spatial.accessibility import (
    accessibility,
    facilities_within,
    intersection_density,
    nearest_distances,
    network_distances,
    population_in_zones,
    public_space_per_inhabitant,
    share_within,
    street_graph,
    two_step_fca,
)
from inclusive_cities.spatial.clusters import benjamini_hochberg, clusters
from inclusive_cities.spatial.diversity import diversity
from inclusive_cities.spatial.errors import SpatialError
from inclusive_cities.spatial.interpolate import h3_grid, interpolate
from inclusive_cities.spatial.network import read_street_network
from inclusive_cities.spatial.segregation import segregation

__all__ = [
    "SpatialError",
    "accessibility",
    "benjamini_hochberg",
    "clusters",
    "diversity",
    "facilities_within",
    "h3_grid",
    "interpolate",
    "intersection_density",
    "nearest_distances",
    "network_distances",
    "population_in_zones",
    "public_space_per_inhabitant",
    "read_street_network",
    "segregation",
    "share_within",
    "street_graph",
    "two_step_fca",
]
