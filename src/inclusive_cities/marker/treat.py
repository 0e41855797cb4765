"""Outlier treatment with the JRC COINr rules (COINr ``winsorise``, ``check_SkewKurt``,
``log_CT``, ``Treat.numeric``; Becker et al., JRC COIN).

- Pass test: ``|skew| < skew_max`` OR ``kurtosis < kurt_max``.
- Skewness and kurtosis are the type-2 sample statistics (Excel's SKEW and KURT, SAS):
  ``G1 = n/((n−1)(n−2)) Σ((x−x̄)/s)³`` and
  ``G2 = n(n+1)/((n−1)(n−2)(n−3)) Σ((x−x̄)/s)⁴ − 3(n−1)²/((n−2)(n−3))``.
- Winsorisation: while the test fails and fewer than ``winmax`` points are winsorised,
  replace the highest value(s) — all tied points together — by the next highest when the
  skew is >= 0, else the lowest by the next lowest. The count is COINr's: the size of the
  last group replaced at each end.
- If the test still fails, the fallback ``log(x − min + 0.01·(max − min))`` is applied to
  the ORIGINAL series (COINr default ``combine_treat = FALSE``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def skew_kurt(values: np.ndarray) -> tuple[float, float]:
    """Type-2 sample skewness and excess kurtosis of present values (NaN if undefined)."""
    x = np.sort(values[~np.isnan(values)])
    n = x.size
    if n < 3:
        return float("nan"), float("nan")
    mean = x.sum() / n
    d = x - mean
    m2 = float(np.sort(d**2).sum())
    if m2 == 0:
        return float("nan"), float("nan")
    s = np.sqrt(m2 / (n - 1))
    z = d / s
    g1 = n / ((n - 1) * (n - 2)) * float(np.sort(z**3).sum())
    if n < 4:
        return g1, float("nan")
    g2 = n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * float(np.sort(z**4).sum()) - 3 * (
        n - 1
    ) ** 2 / ((n - 2) * (n - 3))
    return g1, g2


def passes(values: np.ndarray, skew_max: float, kurt_max: float) -> bool:
    """COINr ``check_SkewKurt``; an undefined statistic counts as passing (COINr leaves the
    series untreated when the test returns NA)."""
    skew, kurt = skew_kurt(values)
    if np.isnan(skew):
        return True
    if abs(skew) < skew_max:
        return True
    return bool(np.isnan(kurt) or kurt < kurt_max)


@dataclass(frozen=True)
class TreatmentLog:
    """What happened to one indicator."""

    indicator: str
    action: str  # "none", "winsorised", "log", "failed"
    n_winsorised: int
    skew_before: float
    kurt_before: float
    skew_after: float
    kurt_after: float
    lower_cap: float | None
    upper_cap: float | None


def winsorise_caps(
    values: np.ndarray, winmax: int, skew_max: float, kurt_max: float
) -> tuple[float | None, float | None, int, bool]:
    """Replay COINr's winsorisation on sorted values; return (lower cap, upper cap, count,
    passed). Applying ``clip(lower, upper)`` to the column gives COINr's treated series."""
    x = np.sort(values[~np.isnan(values)])
    n = x.size
    lower_cap: float | None = None
    upper_cap: float | None = None
    n_hi = n_lo = 0
    ok = passes(x, skew_max, kurt_max)
    while not ok and n_hi + n_lo < winmax:
        skew, _kurt = skew_kurt(x)
        if skew >= 0:
            top = x[-1]
            start = int(np.searchsorted(x, top, side="left"))
            if start == 0:
                break
            x[start:] = x[start - 1]
            upper_cap = float(x[start - 1])
            n_hi = n - start
        else:
            bottom = x[0]
            stop = int(np.searchsorted(x, bottom, side="right"))
            if stop == n:
                break
            x[:stop] = x[stop]
            lower_cap = float(x[stop])
            n_lo = stop
        ok = passes(x, skew_max, kurt_max)
    return lower_cap, upper_cap, n_hi + n_lo, ok


def log_ct(x: np.ndarray, minimum: float, maximum: float) -> np.ndarray:
    """COINr ``log_CT``: ``log(x − min + 0.01·(max − min))``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x - minimum + 0.01 * (maximum - minimum))
