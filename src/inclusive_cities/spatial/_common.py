"""Checks and projections every spatial analysis shares."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from inclusive_cities.i18n import gettext as _
from inclusive_cities.spatial.errors import SpatialError


def require_crs(frame: gpd.GeoDataFrame, name: str) -> CRS:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SpatialError(
            _("The {layer} must be a GeoDataFrame with a geometry column.").format(layer=name)
        )
    if frame.crs is None:
        raise SpatialError(
            _("The {layer} layer has no CRS: set it (e.g. frame.set_crs('EPSG:4326')).").format(
                layer=name
            )
        )
    return CRS.from_user_input(frame.crs)


def same_crs(
    base: gpd.GeoDataFrame, other: gpd.GeoDataFrame, base_name: str, other_name: str
) -> None:
    """Refuse layers in different CRSs: silently reprojecting hides swapped inputs."""
    first, second = require_crs(base, base_name), require_crs(other, other_name)
    if first != second:
        raise SpatialError(
            _(
                "The {other} layer is in {other_crs} but the {base} layer is in {base_crs}: "
                "reproject it first (layer.to_crs('{base_crs}'))."
            ).format(
                other=other_name,
                other_crs=second.to_string(),
                base=base_name,
                base_crs=first.to_string(),
            )
        )


def projected(frame: gpd.GeoDataFrame, crs: str | CRS | None, name: str) -> gpd.GeoDataFrame:
    """``frame`` in a metric CRS: ``crs`` if given, its own if projected, else a local UTM."""
    own = require_crs(frame, name)
    if crs is not None:
        target = CRS.from_user_input(crs)
        if target.is_geographic:
            raise SpatialError(
                _(
                    "{crs} is a geographic CRS: distances need a projected one (e.g. a UTM "
                    "zone such as EPSG:32618)."
                ).format(crs=target.to_string())
            )
        return frame.to_crs(target) if own != target else frame
    if own.is_projected:
        return frame
    return frame.to_crs(frame.estimate_utm_crs())


def points_of(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Coordinates (n × 2): points as they are, polygons by a point inside them.

    A block's population-weighted centroid is its centroid (residents are spread over the
    block); where the centroid falls outside a concave polygon, a point inside is used.
    """
    geometry = frame.geometry.values
    if len(geometry) and bool(np.all(shapely.get_type_id(geometry) == 0)):
        return shapely.get_coordinates(geometry)
    centroids = shapely.centroid(geometry)
    inside = shapely.contains(geometry, centroids) | (shapely.get_type_id(geometry) == 0)
    points = np.where(inside, centroids, shapely.point_on_surface(geometry))
    return shapely.get_coordinates(points)


def population(frame: pd.DataFrame, column: str, name: str) -> np.ndarray:
    """The population column as floats, refusing missing or negative values."""
    if column not in frame.columns:
        raise SpatialError(
            _(
                "The {layer} layer has no population column '{column}': add it or pass "
                "population=NAME."
            ).format(layer=name, column=column)
        )
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if len(bad):
        raise SpatialError(
            _(
                "The {layer} layer has no valid population in row {row} (column '{column}', "
                "value '{value}'): give a number >= 0."
            ).format(layer=name, row=bad[0], column=column, value=frame[column].iloc[bad[0]])
        )
    if len(values) and values.sum() <= 0:
        raise SpatialError(
            _(
                "The {layer} layer has no population at all (column '{column}' sums to 0): "
                "population-weighted figures need residents."
            ).format(layer=name, column=column)
        )
    return values


def require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    for column in columns:
        if column not in frame.columns:
            raise SpatialError(
                _("The {layer} layer has no column '{column}': the columns are {known}.").format(
                    layer=name, column=column, known=", ".join(map(str, frame.columns))
                )
            )


def in_metres(
    units: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    crs: object,
    type_column: str | None,
    other_name: str = "facility",
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Units and another layer in one projected CRS (``crs``, else the units' own if projected,
    else their UTM zone), after checking they share a CRS and the type column exists."""
    same_crs(units, facilities, "unit", other_name)
    if type_column is not None:
        require_columns(facilities, [type_column], other_name)
    target = (
        crs if crs is not None else (None if units.crs.is_projected else units.estimate_utm_crs())
    )
    return (
        projected(units, target, "unit"),  # type: ignore[arg-type]
        projected(facilities, target, other_name),  # type: ignore[arg-type]
    )


def facility_types(
    facilities: gpd.GeoDataFrame, type_column: str, types: Iterable[str] | None
) -> list[str]:
    """The facility types to measure: those asked for, else every type present, sorted."""
    if types is None:
        return sorted(map(str, facilities[type_column].dropna().unique()))
    return [str(t) for t in types]
