"""Areal interpolation between geographies (tobler's method and H3 grids), keeping totals.

Counts (extensive variables) are split by area share; rates (intensive variables) are
averaged by area, or by population when ``population`` is given: the rate times the
population is moved as a count and divided by the moved population, so the target's
population-weighted rates reproduce the source's. The area table is computed here in
float64 (tobler's is float32); the grids come from ``tobler.util.h3fy``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from inclusive_cities.i18n import gettext as _
from inclusive_cities.spatial._common import projected, require_columns, same_crs
from inclusive_cities.spatial.errors import SpatialError


def h3_grid(source: gpd.GeoDataFrame, resolution: int) -> gpd.GeoDataFrame:
    """H3 hexagons (index ``hex_id``) covering ``source``, in its CRS."""
    from tobler.util import h3fy

    if not 0 <= resolution <= 15:
        raise SpatialError(
            _("H3 resolution {resolution} does not exist: use 0 to 15 (9 ≈ 0.1 km² cells).").format(
                resolution=resolution
            )
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid = h3fy(source, resolution=resolution, clip=False, buffer=True)
    return grid.to_crs(source.crs)


def area_table(
    source: gpd.GeoDataFrame, target: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source row, target row, intersection area) of every overlapping pair, in float64.

    tobler's own table is float32, which lets city totals drift by about 1e-7; these areas
    keep them to rounding error."""
    sources = source.geometry.to_numpy()
    targets = target.geometry.to_numpy()
    si, ti = shapely.STRtree(targets).query(sources, predicate="intersects")
    areas = shapely.area(shapely.intersection(sources[si], targets[ti]))
    keep = areas > 0
    return si[keep], ti[keep], areas[keep]


def interpolate(
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame | None = None,
    extensive: Sequence[str] = (),
    intensive: Sequence[str] = (),
    population: str | None = None,
    h3_resolution: int | None = None,
    crs: object = None,
) -> pd.DataFrame:
    """Values of ``source`` moved to ``target`` polygons (or an H3 grid at ``h3_resolution``).

    Each source unit's counts are split over the targets it overlaps by their share of its
    overlapped area (tobler's ``allocate_total``), so totals are kept whenever every source
    unit touches a target. Rates are averaged weighted by the overlapping area, or by
    ``population`` when given. Returns a DataFrame indexed like the target (``hex_id`` for
    H3) with the extensive columns, the intensive ones and, if given, the population; its
    ``geometry`` column holds the target polygons.
    """
    require_columns(
        source, list(extensive) + list(intensive) + ([population] if population else []), "source"
    )
    if (target is None) == (h3_resolution is None):
        raise SpatialError(_("Give either a target layer or an H3 resolution, not both."))
    if target is None:
        target = h3_grid(source, int(h3_resolution))  # type: ignore[arg-type]
    else:
        same_crs(source, target, "source", "target")
    source_p = projected(source, crs, "source")  # type: ignore[arg-type]
    target_p = projected(target, source_p.crs, "target")
    si, ti, areas = area_table(source_p, target_p)
    covered = np.bincount(si, weights=areas, minlength=len(source_p))
    share = areas / covered[si]
    n = len(target_p)

    def column(name: str) -> np.ndarray:
        return pd.to_numeric(source_p[name], errors="coerce").to_numpy(dtype="float64")

    def moved(values: np.ndarray) -> np.ndarray:
        return np.bincount(ti, weights=values[si] * share, minlength=n)

    out = pd.DataFrame(index=target.index)
    for name in extensive:
        out[name] = moved(column(name))
    if population:
        weight = column(population)
        out[population] = moved_weight = moved(weight)
        for name in intensive:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[name] = np.where(
                    moved_weight > 0, moved(column(name) * weight) / moved_weight, np.nan
                )
    else:
        overlap = np.bincount(ti, weights=areas, minlength=n)
        for name in intensive:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[name] = np.where(
                    overlap > 0,
                    np.bincount(ti, weights=column(name)[si] * areas, minlength=n) / overlap,
                    np.nan,
                )
    out["geometry"] = target.geometry.to_numpy()
    return out
