"""Normalisation: each indicator's (treated) values -> scores on the spec's scale.

Every function takes one column ``x`` (NaN = missing), a boolean ``use`` of the units
that count for data-driven statistics (not screened out), the direction and the scale,
and writes into ``out``. Statistics over units are computed on sorted values so that the
result never depends on the order of the rows.
References: OECD/JRC Handbook on Constructing Composite Indicators (2008), §1.5 and
Table 3; COINr ``n_minmax``, ``n_zscore``, ``n_rank``, ``n_prank``.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from inclusive_cities.marker.spec import (
    Categorical,
    DistanceToTarget,
    Goalposts,
    MinMax,
    PercentileRank,
    Rank,
    ZScore,
)


def quiet(x: np.ndarray) -> np.ndarray:
    """``x`` with every NaN as the one plain NaN (a copy only when some NaN is not plain).

    R's ``NA_real_`` (read from .rds/.rda) is a signalling NaN with a payload: ``np.nanmin``
    and ``np.nanmax`` do not skip it, so ``[1, 2, NA, 3]`` had min = max = 3 and every score
    came out missing."""
    missing = np.isnan(x)
    if not missing.any():
        return x
    return np.where(missing, np.nan, x)


def valid_values(x: np.ndarray, use: np.ndarray | None) -> np.ndarray:
    """The present values of the units that count, sorted (order-independent statistics)."""
    x = quiet(x)
    values = x if use is None else x[use]
    values = values[~np.isnan(values)]
    return np.sort(values)


def stable_mean_sd(sorted_values: np.ndarray) -> tuple[float, float]:
    n = sorted_values.size
    if n == 0:
        return float("nan"), float("nan")
    mean = float(sorted_values.sum() / n)
    if n < 2:
        return mean, float("nan")
    deviations = np.sort(np.abs(sorted_values - mean))
    return mean, float(np.sqrt((deviations**2).sum() / (n - 1)))


def _linear(
    x: np.ndarray, lower: float, upper: float, higher: bool, lo: float, hi: float, out: np.ndarray
) -> np.ndarray:
    """``lo + (hi−lo)·(x−L)/(U−L)`` (or from the top when lower is better), cut to [lo, hi]."""
    if higher:
        np.subtract(x, lower, out=out)
    else:
        np.subtract(upper, x, out=out)
    np.multiply(out, (hi - lo) / (upper - lower), out=out)
    np.clip(out, 0.0, hi - lo, out=out)
    if lo:
        out += lo
    return out


def normalise(
    method: object,
    x: np.ndarray,
    use: np.ndarray | None,
    higher: bool,
    lo: float,
    hi: float,
    out: np.ndarray,
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """Dispatch on the normalisation model; see each model's docstring for the formula."""
    x = quiet(x)
    reference = quiet(reference) if reference is not None else None
    if isinstance(method, Goalposts):
        return _linear(x, method.lower, method.upper, higher, lo, hi, out)
    if isinstance(method, MinMax):
        if method.lower is not None and method.upper is not None:
            lower, upper = method.lower, method.upper
        else:
            base = valid_values(reference, None) if reference is not None else None
            if base is None or base.size == 0:
                base = x if use is None else x[use]
            lower, upper = float(np.nanmin(base)), float(np.nanmax(base))
        if not upper > lower:  # a constant indicator carries no information (COINr gives NaN)
            out[:] = np.nan
            return out
        return _linear(x, lower, upper, higher, lo, hi, out)
    if isinstance(method, ZScore):
        mean, sd = method.mean, method.sd
        if mean is None or sd is None:
            values = valid_values(
                reference if reference is not None else x, None if reference is not None else use
            )
            m, s = stable_mean_sd(values)
            mean = m if mean is None else mean
            sd = s if sd is None else sd
        if not sd or np.isnan(sd):
            out[:] = np.where(np.isnan(x), np.nan, method.centre)
        else:
            np.subtract(x, mean, out=out)
            np.multiply(out, (1.0 if higher else -1.0) * method.spread / sd, out=out)
            out += method.centre
        np.clip(out, lo, hi, out=out)
        return out
    if isinstance(method, DistanceToTarget):
        with np.errstate(divide="ignore", invalid="ignore"):
            if higher:
                np.multiply(x, (hi - lo) / method.target, out=out)
            else:
                np.divide(method.target * (hi - lo), x, out=out)
                out[x <= 0] = hi - lo
        np.clip(out, 0.0, hi - lo if method.cap else np.inf, out=out)
        if lo:
            out += lo
        return out
    if isinstance(method, Rank | PercentileRank):
        kind = "min" if isinstance(method, Rank) else "average"
        present = ~np.isnan(x) if use is None else (~np.isnan(x) & use)
        oriented = x[present] if higher else -x[present]
        out[:] = np.nan
        count = oriented.size
        if count:
            ranks = rankdata(oriented, method=kind)
            scaled = (ranks - 1.0) / (count - 1) if count > 1 else np.ones(1)
            out[present] = lo + (hi - lo) * scaled
        return out
    if isinstance(method, Categorical):
        cuts = np.asarray(method.cuts, dtype=float)
        if method.percentiles:
            cuts = np.percentile(valid_values(x, use), cuts) if np.any(~np.isnan(x)) else cuts
        classes = np.searchsorted(cuts, x, side="right")
        k = cuts.size + 1
        if method.scores is not None:
            scores = np.asarray(method.scores, dtype=float)
        else:
            scores = np.linspace(lo, hi, k)
            if not higher:
                scores = scores[::-1]
        out[:] = scores[np.minimum(classes, k - 1)]
        out[np.isnan(x)] = np.nan
        return out
    raise TypeError(f"unknown normalisation {method!r}")
