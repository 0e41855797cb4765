"""Access to services: distances, shares within thresholds, 2SFCA, public space, networks.

Units are GeoDataFrames of polygons (or points) with a population column; facilities
are points with a type column. Everything is measured in a projected CRS (metres), from
each unit's population-weighted centroid (see :func:`points_of`). Straight-line nearest
distances use a KD-tree (``scipy.spatial.cKDTree``): 100k units × 10k facilities take well
under a second. With a street layer, :func:`network_distances` (in :mod:`.network`)
measures along the streets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from inclusive_cities.i18n import gettext as _
from inclusive_cities.spatial._common import (
    facility_types,
    in_metres,
    points_of,
    population,
    require_columns,
)
from inclusive_cities.spatial.errors import SpatialError
from inclusive_cities.spatial.network import network_distances, street_graph

__all__ = [
    "accessibility",
    "facilities_within",
    "intersection_density",
    "nearest_distances",
    "network_distances",
    "population_in_zones",
    "public_space_per_inhabitant",
    "share_within",
    "street_graph",
    "two_step_fca",
]


def nearest_distances(
    units: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    type_column: str = "type",
    types: Iterable[str] | None = None,
    crs: object = None,
) -> pd.DataFrame:
    """Metres from each unit to the nearest facility of each type (NaN if none of that type).

    Point facilities go through a KD-tree; polygons (parks, plazas) are measured to their
    nearest edge with an STRtree, so a big park counts from its border, not its centre.
    """
    units_p, facilities_p = in_metres(units, facilities, crs, type_column)
    origins = points_of(units_p)
    geometry = facilities_p.geometry.values
    are_points = bool(np.all(shapely.get_type_id(geometry) == 0)) if len(geometry) else True
    destinations = points_of(facilities_p) if len(facilities_p) else np.empty((0, 2))
    kinds = facilities_p[type_column].astype(str).to_numpy()
    out = {}
    for kind in facility_types(facilities_p, type_column, types):
        mask = kinds == kind
        if not mask.any():
            out[kind] = np.full(len(origins), np.nan)
            continue
        if are_points:
            distance, _index = cKDTree(destinations[mask]).query(origins, k=1, workers=-1)
        else:
            targets = geometry[mask]
            sources = shapely.points(origins)
            pairs, distance_pairs = shapely.STRtree(targets).query_nearest(
                sources, return_distance=True, all_matches=False
            )
            distance = np.full(len(origins), np.nan)
            distance[pairs[0]] = distance_pairs
        out[kind] = distance
    return pd.DataFrame(out, index=units.index)


def facilities_within(
    units: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    radius_m: float,
    type_column: str = "type",
    types: Iterable[str] | None = None,
    crs: object = None,
) -> pd.Series:
    """How many facilities (of ``types``) lie within ``radius_m`` of each unit."""
    units_p, facilities_p = in_metres(units, facilities, crs, type_column)
    origins = points_of(units_p)
    mask = np.ones(len(facilities_p), dtype=bool)
    if types is not None:
        mask = facilities_p[type_column].astype(str).isin([str(t) for t in types]).to_numpy()
    chosen = points_of(facilities_p)[mask] if mask.any() else np.empty((0, 2))
    if len(chosen) == 0:
        return pd.Series(0, index=units.index, dtype="int64")
    counts = cKDTree(chosen).query_ball_point(origins, r=radius_m, return_length=True)
    return pd.Series(np.asarray(counts, dtype="int64"), index=units.index)


def share_within(
    distances: pd.Series | np.ndarray, weights: Sequence[float] | np.ndarray, threshold_m: float
) -> float:
    """Percentage of the population whose distance is at most ``threshold_m``."""
    distance = np.asarray(distances, dtype="float64")
    weight = np.asarray(weights, dtype="float64")
    total = weight.sum()
    if total <= 0:
        raise SpatialError(_("There is no population to weight the distances with."))
    return float(100.0 * weight[np.nan_to_num(distance, nan=np.inf) <= threshold_m].sum() / total)


def accessibility(
    units: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    population_column: str = "population",
    thresholds: Mapping[str, Sequence[float] | float] | None = None,
    type_column: str = "type",
    crs: object = None,
    streets: gpd.GeoDataFrame | None = None,
    snap_tolerance_m: float = 250.0,
) -> pd.DataFrame:
    """Per unit: distance to the nearest facility of each type and whether it is within each
    threshold (``thresholds`` maps type → metres), plus a ``summary`` in ``frame.attrs``
    with the population-weighted mean distance and share within each threshold.

    With ``streets`` (a line layer), distances are along the street network.
    """
    weights = population(units, population_column, "unit")
    if streets is not None:
        distances = network_distances(
            units,
            facilities,
            streets,
            type_column=type_column,
            crs=crs,
            snap_tolerance_m=snap_tolerance_m,
        )
    else:
        distances = nearest_distances(units, facilities, type_column=type_column, crs=crs)
    frame = pd.DataFrame(index=units.index)
    summary: dict[str, float] = {}
    total = weights.sum()
    for kind in distances.columns:
        column = distances[kind]
        frame[f"dist_m_{kind}"] = column
        if column.notna().all():
            summary[f"mean_dist_m_{kind}"] = float((column.to_numpy() * weights).sum() / total)
        limits = (thresholds or {}).get(kind, ())
        for limit in [limits] if isinstance(limits, int | float) else limits:
            name = f"within_{limit:g}m_{kind}"
            frame[name] = column.fillna(np.inf) <= limit
            summary[f"share_{name}"] = share_within(column, weights, float(limit))
    frame.attrs["summary"] = summary
    return frame


def two_step_fca(
    units: gpd.GeoDataFrame,
    supply: gpd.GeoDataFrame,
    threshold_m: float,
    population_column: str = "population",
    capacity_column: str = "capacity",
    crs: object = None,
    polygons: bool = False,
) -> pd.Series:
    """Two-step floating catchment ratio (Luo & Wang 2003) with PySAL ``access``: for each
    unit, the sum over supplies within ``threshold_m`` of capacity / population within
    ``threshold_m`` of that supply. With ``polygons``, distance is to the polygon's edge."""
    from access import Access

    weights = population(units, population_column, "unit")
    require_columns(supply, [capacity_column], "supply")
    units_p, supply_p = in_metres(units, supply, crs, None, "supply")
    origins = shapely.points(points_of(units_p))
    targets = supply_p.geometry.values if polygons else shapely.points(points_of(supply_p))
    tree = shapely.STRtree(targets)
    pairs = tree.query(origins, predicate="dwithin", distance=threshold_m)
    if pairs.shape[1] == 0:
        return pd.Series(0.0, index=units.index)
    cost = shapely.distance(origins[pairs[0]], targets[pairs[1]])
    capacity = pd.to_numeric(supply_p[capacity_column], errors="coerce").fillna(0.0).to_numpy()
    demand = pd.DataFrame({"pop": weights}, index=pd.RangeIndex(len(units_p), name="origin"))
    offer = pd.DataFrame({"cap": capacity}, index=pd.RangeIndex(len(supply_p), name="dest"))
    costs = pd.DataFrame({"origin": pairs[0], "dest": pairs[1], "cost": cost})
    model = Access(
        demand_df=demand,
        demand_value="pop",
        supply_df=offer,
        supply_value="cap",
        cost_df=costs,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    result = model.two_stage_fca(name="fca", cost="cost", max_cost=threshold_m, normalize=False)
    values = result.reindex(demand.index).iloc[:, 0].fillna(0.0).to_numpy()
    return pd.Series(values, index=units.index, name="fca")


def public_space_per_inhabitant(
    units: gpd.GeoDataFrame,
    spaces: gpd.GeoDataFrame,
    threshold_m: float,
    population_column: str = "population",
    crs: object = None,
) -> pd.Series:
    """m² of public space per inhabitant within walking distance: a 2SFCA whose supply is
    each space's area, shared among the residents within ``threshold_m`` of its edge."""
    units_p, spaces_p = in_metres(units, spaces, crs, None, "public space")
    spaces_p = spaces_p.assign(_area_m2=spaces_p.geometry.area)
    if len(units_p) != len(units):
        raise SpatialError(_("Units were lost while projecting."))
    units_p = units_p.assign(**{population_column: units[population_column].to_numpy()})
    return two_step_fca(
        units_p, spaces_p, threshold_m, population_column, "_area_m2", polygons=True
    ).set_axis(units.index)


def population_in_zones(
    units: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    population_column: str = "population",
    crs: object = None,
) -> pd.Series:
    """Residents of each unit living inside ``zones``, assuming people spread evenly over
    the unit (population × share of the unit's area inside the zones)."""
    weights = population(units, population_column, "unit")
    units_p, zones_p = in_metres(units, zones, crs, None, "zone")
    if len(zones_p) == 0:
        return pd.Series(0.0, index=units.index)
    union = shapely.union_all(shapely.make_valid(zones_p.geometry.values))
    geometry = units_p.geometry.values
    area = shapely.area(geometry)
    inside = shapely.area(shapely.intersection(geometry, union))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(area > 0, inside / area, shapely.intersects(geometry, union) * 1.0)
    return pd.Series(weights * np.clip(share, 0.0, 1.0), index=units.index)


def _noded_lines(streets: gpd.GeoDataFrame) -> np.ndarray:
    lines = shapely.line_merge(shapely.union_all(streets.geometry.values))
    parts = shapely.get_parts(lines)
    return parts[shapely.get_type_id(parts) == 1]


def street_nodes(streets: gpd.GeoDataFrame) -> pd.DataFrame:
    """Street nodes (ends of the noded centre lines) with their degree: x, y, degree."""
    lines = _noded_lines(streets)
    if len(lines) == 0:
        return pd.DataFrame({"x": [], "y": [], "degree": []})
    ends = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(lines, 0)),
            shapely.get_coordinates(shapely.get_point(lines, -1)),
        ]
    )
    rounded = pd.DataFrame(np.round(ends, 2), columns=["x", "y"])
    return rounded.groupby(["x", "y"]).size().rename("degree").reset_index()


def intersection_density(
    units: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, crs: object = None
) -> pd.DataFrame:
    """Per unit: street intersections (nodes where 3 or more segments meet), area in km² and
    intersections per km²."""
    units_p, streets_p = in_metres(units, streets, crs, None, "street")
    nodes = street_nodes(streets_p)
    nodes = nodes[nodes["degree"] >= 3]
    points = (
        shapely.points(nodes[["x", "y"]].to_numpy()) if len(nodes) else np.empty(0, dtype=object)
    )
    counts = np.zeros(len(units_p), dtype="int64")
    if len(points):
        unit_index, _point_index = shapely.STRtree(units_p.geometry.values).query(
            points, predicate="intersects"
        )[::-1]
        # a node on a shared edge belongs to the first unit that holds it
        first = pd.Series(unit_index).groupby(_point_index).min()
        np.add.at(counts, first.to_numpy(), 1)
    area_km2 = units_p.geometry.area.to_numpy() / 1e6
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(area_km2 > 0, counts / area_km2, np.nan)
    return pd.DataFrame(
        {"intersections": counts, "area_km2": area_km2, "per_km2": density}, index=units.index
    )
