"""Areal interpolation between geographies with PySAL ``tobler``, keeping totals.

Counts (extensive variables) are split by area share; rates (intensive variables) are
averaged by area, or by population when ``population`` is given: the rate times the
population is moved as a count and divided by the moved population, so the target's
population-weighted rates reproduce the source's.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

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

    Returns a DataFrame indexed like the target (``hex_id`` for H3) with the extensive
    columns (totals kept where the target covers the source), the intensive ones and, if
    given, the population. The result's ``geometry`` column holds the target polygons.
    """
    from tobler.area_weighted import area_interpolate

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
    moved_extensive = list(extensive)
    data = source_p.copy()
    if population:
        if population not in moved_extensive:
            moved_extensive.append(population)
        for column in intensive:
            data[f"_{column}_x_pop"] = pd.to_numeric(data[column]) * data[population]
            moved_extensive.append(f"_{column}_x_pop")
        area_intensive: list[str] = []
    else:
        area_intensive = list(intensive)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = area_interpolate(
            data,
            target_p,
            extensive_variables=moved_extensive or None,
            intensive_variables=area_intensive or None,
            allocate_total=True,
        )
    out = pd.DataFrame(index=target.index)
    for column in extensive:
        out[column] = result[column].to_numpy()
    if population:
        moved_pop = result[population].to_numpy()
        out[population] = moved_pop
        for column in intensive:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[column] = np.where(
                    moved_pop > 0, result[f"_{column}_x_pop"].to_numpy() / moved_pop, np.nan
                )
    else:
        for column in intensive:
            out[column] = result[column].to_numpy()
    out["geometry"] = target.geometry.to_numpy()
    return out
