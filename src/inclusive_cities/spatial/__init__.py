"""Spatial analysis: GeoDataFrames in, DataFrames out, no store needed — plus the analysis layers
kept in the store (:func:`list_layers`, :func:`read_layer`). Running an analysis on a stored city
(``cluster_layer``, ``interpolate_layer``) is :mod:`inclusive_cities.analyses`.

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
from inclusive_cities.spatial.interpolate import area_table, h3_grid, interpolate
from inclusive_cities.spatial.layers import list_layers, publish_layer, read_layer
from inclusive_cities.spatial.network import read_street_network
from inclusive_cities.spatial.segregation import segregation

__all__ = [
    "SpatialError",
    "accessibility",
    "area_table",
    "benjamini_hochberg",
    "clusters",
    "diversity",
    "facilities_within",
    "h3_grid",
    "interpolate",
    "intersection_density",
    "list_layers",
    "nearest_distances",
    "network_distances",
    "population_in_zones",
    "public_space_per_inhabitant",
    "publish_layer",
    "read_layer",
    "read_street_network",
    "segregation",
    "share_within",
    "street_graph",
    "two_step_fca",
]
