"""City-wide segregation indices with PySAL ``segregation``, optionally with inference.

Single-group indices compare one group (e.g. Venezuelan residents) with the rest;
multigroup indices use every group's count. Spatial versions replace each unit by its
neighbourhood (queen contiguity by default, or a distance band in metres).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.spatial._common import require_columns, require_crs
from inclusive_cities.spatial.errors import SpatialError

SINGLE_GROUP = {
    "dissimilarity": "Dissim",
    "isolation": "Isolation",
    "exposure": "Interaction",
    "theil_h": "Entropy",
}
SPATIAL_SINGLE_GROUP = {"spatial_dissimilarity": "SpatialDissim"}
MULTIGROUP = {
    "multi_dissimilarity": "MultiDissim",
    "multi_theil_h": "MultiInfoTheory",
    "multi_normalised_exposure": "MultiNormExposure",
    "multi_gini": "MultiGini",
}


@contextmanager
def _quiet_progress() -> Iterator[None]:
    """PySAL's inference draws tqdm bars on stderr; a library must not write to the terminal."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def _frame(units: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    require_columns(units, columns, "unit")
    values = units[list(columns)].apply(pd.to_numeric, errors="coerce")
    if values.isna().any().any() or (values < 0).any().any():
        raise SpatialError(_("Group counts must be numbers >= 0 with no gaps."))
    if values.to_numpy().sum() <= 0:
        raise SpatialError(_("The units have no population: segregation needs residents."))
    return values


def segregation(
    units: gpd.GeoDataFrame | pd.DataFrame,
    group: str | None = None,
    total: str | None = None,
    groups: Sequence[str] | None = None,
    spatial: bool = False,
    distance_m: float | None = None,
    permutations: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Segregation indices, one row each: ``index``, ``value`` and, with ``permutations``,
    ``p_value`` (PySAL's SingleValueTest under systematic or evenness randomisation).

    Give ``group`` and ``total`` for single-group indices (dissimilarity, isolation,
    exposure — the interaction of the group with the rest —, Theil's H) and/or
    ``groups`` for multigroup ones. ``spatial`` adds the spatial versions, which need
    a GeoDataFrame: spatial dissimilarity (queen contiguity) and, with ``distance_m``,
    the multigroup indices over distance-band neighbourhoods.
    """
    from segregation import multigroup, singlegroup
    from segregation.inference import SingleValueTest

    rows: list[dict[str, object]] = []
    data = units.copy()
    if spatial:
        require_crs(units, "unit")  # type: ignore[arg-type]
        if units.crs.is_geographic:  # type: ignore[union-attr]
            data = units.to_crs(units.estimate_utm_crs())  # type: ignore[union-attr]

    def run(name: str, index: Any) -> None:
        row: dict[str, object] = {"index": name, "value": float(index.statistic)}
        if permutations:
            np.random.seed(seed)
            with warnings.catch_warnings(), _quiet_progress():
                warnings.simplefilter("ignore")
                test = SingleValueTest(
                    index,
                    iterations_under_null=permutations,
                    null_approach="systematic",
                    n_jobs=1,
                )
            row["p_value"] = float(test.p_value)
        rows.append(row)

    if group is not None or total is not None:
        if group is None or total is None:
            raise SpatialError(_("Single-group indices need both group= and total=."))
        values = _frame(data, [group, total])
        if (values[group] > values[total]).any():
            raise SpatialError(
                _(
                    "Column '{group}' exceeds '{total}' in some units: the group must be part of "
                    "the total."
                ).format(group=group, total=total)
            )
        data[[group, total]] = values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, cls in SINGLE_GROUP.items():
                run(name, getattr(singlegroup, cls)(data, group_pop_var=group, total_pop_var=total))
            if spatial:
                from libpysal.weights import Queen

                w = Queen.from_dataframe(data, use_index=False, silence_warnings=True)
                run(
                    "spatial_dissimilarity",
                    singlegroup.SpatialDissim(data, group_pop_var=group, total_pop_var=total, w=w),
                )
    if groups is not None:
        values = _frame(data, list(groups))
        data[list(groups)] = values
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, cls in MULTIGROUP.items():
                run(name, getattr(multigroup, cls)(data, groups=list(groups)))
            if spatial and distance_m:
                for name, cls in (
                    ("spatial_multi_dissimilarity", "MultiDissim"),
                    ("spatial_multi_theil_h", "MultiInfoTheory"),
                ):
                    run(
                        name,
                        getattr(multigroup, cls)(
                            data, groups=list(groups), distance=float(distance_m)
                        ),
                    )
    if not rows:
        raise SpatialError(_("Say which groups to measure: group= and total=, or groups=."))
    return pd.DataFrame(rows)
