"""Imputation of missing indicator values (Handbook 2008 §1.3; COINr ``Impute``).

All statistics are computed on sorted values, so the filled numbers do not depend on the
order of the rows. Cells that stay missing (e.g. a group with no observed value) stay NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def column_fill(x: np.ndarray, how: str) -> float:
    """Mean or median of the present values (order-independent)."""
    values = np.sort(x[~np.isnan(x)])
    if values.size == 0:
        return float("nan")
    if how == "mean":
        return float(values.sum() / values.size)
    return float(np.median(values))


def group_fill(x: np.ndarray, codes: np.ndarray, n_groups: int, how: str) -> np.ndarray:
    """Per-unit fill values: the mean or median of the unit's group (NaN if none observed).

    ``codes`` are integer group codes (−1 = no group). Values are sorted by (group, value)
    and summed per segment, so the result is independent of row order.
    """
    ok = ~np.isnan(x) & (codes >= 0)
    values, groups = x[ok], codes[ok]
    order = np.lexsort((values, groups))
    values, groups = values[order], groups[order]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    fills = np.full(n_groups, np.nan)
    present = counts > 0
    if how == "mean":
        sums = np.add.reduceat(values, starts[present]) if values.size else np.zeros(0)
        fills[present] = sums / counts[present]
    else:
        lower = starts + (counts - 1) // 2
        upper = starts + counts // 2
        fills[present] = (values[lower[present]] + values[upper[present]]) / 2
    result = np.full(x.shape, np.nan)
    has_group = codes >= 0
    result[has_group] = fills[codes[has_group]]
    return result


def group_codes(groups: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes of group labels (sorted, so codes do not depend on row order)."""
    codes, uniques = pd.factorize(groups, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), len(uniques)


def locf_fill(
    code: str, ids: pd.Index, previous: Sequence[pd.DataFrame], id_column: str
) -> np.ndarray:
    """The most recent earlier value of ``code`` per unit (``previous`` is oldest first)."""
    fill = np.full(len(ids), np.nan)
    for frame in previous:
        if code not in frame.columns:
            continue
        table = frame.set_index(id_column) if id_column in frame.columns else frame
        values = pd.to_numeric(table[code], errors="coerce").reindex(ids).to_numpy(float)
        newer = ~np.isnan(values)
        fill[newer] = values[newer]
    return fill
