"""Aggregation of component scores into a node score (Handbook 2008 §1.6, §6).

Each function takes the components as 1-D columns (NaN = missing) with their weights and
renormalises the weights over the components present for each unit:

- arithmetic  ``Σ wᵢxᵢ / Σ wᵢ``
- geometric   ``exp(Σ wᵢ ln xᵢ / Σ wᵢ)`` (0 when any present component is 0)
- harmonic    ``Σ wᵢ / Σ (wᵢ/xᵢ)`` (0 when any present component is 0)
- power_mean  ``(Σ wᵢxᵢᵖ / Σ wᵢ)^(1/p)`` (p = 0 is the geometric mean)
- copeland    non-compensatory outranking (Handbook §6.3, Munda & Nardo 2009): for each
  pair of units j, k, ``e_jk = Σ wᵢ[x_ij > x_ik] + ½ Σ wᵢ[x_ij = x_ik]`` over the
  components both have, divided by the weight of those components; j beats k when
  ``e_jk > ½``. Copeland score = wins − losses, mapped linearly from [−(n−1), n−1] to the
  scale. Units are compared in blocks, so memory stays bounded; time grows as n².
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker.errors import MarkerError

COPELAND_MAX_UNITS = 50_000


def _weighted_sum(
    columns: Sequence[np.ndarray],
    weights: Sequence[float],
    has_nan: Sequence[bool],
    transform: str,
    p: float = 1.0,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | float]:
    """``Σ wᵢ f(xᵢ)`` over present components (into ``out``) and ``Σ wᵢ`` of those."""
    n = columns[0].shape[0]
    if out is None:
        total = np.zeros(n)
    else:
        total = out
        total.fill(0.0)
    weight_total: np.ndarray | float = 0.0
    any_nan = any(has_nan)
    if any_nan:
        weight_total = np.zeros(n)
    scratch = np.empty(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for column, weight, nan in zip(columns, weights, has_nan, strict=True):
            if transform == "identity":
                np.multiply(column, weight, out=scratch)
            elif transform == "log":
                np.log(column, out=scratch)
                scratch *= weight
            elif transform == "inverse":
                np.divide(weight, column, out=scratch)
                np.abs(scratch, out=scratch)  # scores are >= 0: 1/−0.0 must be +inf
            else:
                np.power(column, p, out=scratch)
                np.abs(scratch, out=scratch)
                scratch *= weight
            if nan:
                missing = np.isnan(column)
                scratch[missing] = 0.0
                weight_total += np.where(missing, 0.0, weight)
            else:
                weight_total += weight
            total += scratch
    return total, weight_total


def aggregate(
    method: str,
    columns: Sequence[np.ndarray],
    weights: Sequence[float],
    has_nan: Sequence[bool],
    p: float | None = None,
    lo: float = 0.0,
    hi: float = 100.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """One node's score per unit from its components (NaN where none is present).

    ``out`` (not one of ``columns``) receives the result when given."""
    if method == "power_mean" and p == 0:
        method = "geometric"
    if method == "power_mean" and p == 1:
        method = "arithmetic"
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "arithmetic":
            total, weight = _weighted_sum(columns, weights, has_nan, "identity", out=out)
            total /= weight
            return total
        if method == "geometric":
            total, weight = _weighted_sum(columns, weights, has_nan, "log", out=out)
            total /= weight
            return np.exp(total, out=total)
        if method == "harmonic":
            total, weight = _weighted_sum(columns, weights, has_nan, "inverse", out=out)
            return np.divide(weight, total, out=total)
        if method == "power_mean":
            assert p is not None
            total, weight = _weighted_sum(columns, weights, has_nan, "power", p, out=out)
            total /= weight
            return np.power(total, 1.0 / p, out=total)
        if method == "copeland":
            result = copeland(columns, weights, lo, hi)
            if out is None:
                return result
            out[:] = result
            return out
    raise MarkerError(_("Unknown aggregation method '{method}'.").format(method=method))


def copeland(
    columns: Sequence[np.ndarray], weights: Sequence[float], lo: float = 0.0, hi: float = 100.0
) -> np.ndarray:
    """Copeland scores from the weighted pairwise outranking matrix (see module docs)."""
    matrix = np.column_stack(columns)
    n = matrix.shape[0]
    if n > COPELAND_MAX_UNITS:
        raise MarkerError(
            _(
                "Copeland aggregation compares every pair of units and is limited to {limit} "
                "units ({n} given); use another aggregation for this level."
            ).format(limit=f"{COPELAND_MAX_UNITS:,}", n=f"{n:,}")
        )
    w = np.asarray(weights, dtype=float)
    scored = ~np.all(np.isnan(matrix), axis=1)
    result = np.full(n, np.nan)
    units = matrix[scored]
    m = units.shape[0]
    if m == 0:
        return result
    if m == 1:
        result[scored] = hi
        return result
    present = ~np.isnan(units)
    block = max(1, int(4_000_000 // max(1, m * units.shape[1])))
    net = np.zeros(m)
    for start in range(0, m, block):
        a = units[start : start + block, None, :]
        b = units[None, :, :]
        both = present[start : start + block, None, :] & present[None, :, :]
        with np.errstate(invalid="ignore"):
            better = ((a > b) & both) @ w + 0.5 * ((a == b) & both) @ w
        shared = both @ w
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(shared > 0, better / shared, 0.5)
        net[start : start + block] = (share > 0.5).sum(axis=1) - (share < 0.5).sum(axis=1)
    result[scored] = lo + (hi - lo) * (net + (m - 1)) / (2 * (m - 1))
    return result
