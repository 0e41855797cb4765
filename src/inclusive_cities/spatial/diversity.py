"""Per-unit diversity of group counts: Shannon entropy (raw and normalised) and Simpson."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.spatial._common import require_columns
from inclusive_cities.spatial.errors import SpatialError


def diversity(frame: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """For each row (unit), from the counts in the ``groups`` columns:

    - ``entropy``: Shannon entropy −Σ pᵢ ln pᵢ;
    - ``entropy_norm``: entropy / ln k (k = number of groups), 0 (one group) … 1 (even mix);
    - ``simpson``: Simpson diversity 1 − Σ pᵢ² (chance two residents differ);
    - ``total``: the row's total. Rows without anyone get NaN diversity.
    """
    if len(groups) < 2:
        raise SpatialError(_("Diversity needs at least two group columns."))
    require_columns(frame, groups, "unit")
    counts = frame[list(groups)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float64")
    if np.isnan(counts).any() or (counts < 0).any():
        row = int(np.flatnonzero(np.isnan(counts).any(axis=1) | (counts < 0).any(axis=1))[0])
        raise SpatialError(
            _(
                "Row {row} has a missing or negative group count: counts must be numbers >= 0."
            ).format(row=frame.index[row])
        )
    total = counts.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = counts / total[:, None]
        logs = np.where(shares > 0, np.log(np.where(shares > 0, shares, 1.0)), 0.0)
        entropy = -(shares * logs).sum(axis=1)
        simpson = 1.0 - (shares**2).sum(axis=1)
    empty = total <= 0
    entropy[empty] = np.nan
    simpson[empty] = np.nan
    return pd.DataFrame(
        {
            "entropy": entropy,
            "entropy_norm": entropy / np.log(len(groups)),
            "simpson": simpson,
            "total": total,
        },
        index=frame.index,
    )
