"""Design-based estimates for survey rounds: weighted proportions, means and totals.

Taylor linearisation for a stratified (optionally clustered) design sampled with
replacement within strata, as in Wolter (2007), *Introduction to Variance Estimation*,
ch. 6, and R's ``survey::svymean``/``svytotal`` with ``degf = #PSU - #strata``:

* total ``Y = sum_i w_i y_i``; ``Var(Y) = sum_h n_h/(n_h-1) sum_j (z_hj - zbar_h)^2``
  where ``z_hj`` is the weighted total of PSU ``j`` in stratum ``h``;
* ratio (mean, proportion) ``R = Y/X``: the same formula applied to the linearised
  variable ``u_i = w_i (y_i - R x_i) / X``.

Domains (a city, women, a round) are estimated on the full design with ``y`` and ``x``
set to zero outside the domain, never by subsetting (METHODOLOGY.md §3). Intervals are
Wald intervals with Student-t quantiles on the design degrees of freedom, truncated to
[0, 1] for proportions. The design effect compares with simple random sampling of the
same unweighted domain size. Figures from fewer than ``min_n`` respondents are suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from inclusive_cities.i18n import gettext as _
from inclusive_cities.mobility.errors import MobilityError

MIN_N = 10
CV_UNRELIABLE = 0.3


@dataclass(frozen=True)
class Design:
    """Which columns carry the weight, stratum and (optional) primary sampling unit."""

    weight: str = "weight"
    strata: str | None = "stratum"
    psu: str | None = None


@dataclass(frozen=True)
class Sample:
    """Design arrays extracted once from a DataFrame, reused by every estimate."""

    weights: np.ndarray
    psu_index: np.ndarray  # PSU number 0..k-1, unique across strata
    psu_stratum: np.ndarray  # stratum number of each PSU
    df: int

    def __len__(self) -> int:
        return len(self.weights)


def prepare(data: pd.DataFrame | Sample, design: Design = Design()) -> Sample:
    """Check the design columns and factorise strata and PSUs."""
    if isinstance(data, Sample):
        return data
    for column in (design.weight, design.strata, design.psu):
        if column and column not in data.columns:
            raise MobilityError(
                _("The survey data have no column '{column}' named by the design.").format(
                    column=column
                )
            )
    weights = pd.to_numeric(data[design.weight], errors="coerce").to_numpy(float)
    if np.isnan(weights).any() or (weights <= 0).any():
        row = int(np.flatnonzero(np.isnan(weights) | (weights <= 0))[0])
        raise MobilityError(
            _(
                "Row {row}: the weight '{value}' is not a positive number; fix column {column}."
            ).format(row=row + 1, value=data[design.weight].iloc[row], column=design.weight)
        )
    strata = (
        data[design.strata].astype(str).to_numpy()
        if design.strata
        else np.zeros(len(data), dtype=object)
    )
    psu = data[design.psu].astype(str).to_numpy() if design.psu else np.arange(len(data))
    keys = pd.MultiIndex.from_arrays([strata, psu])
    psu_index, uniques = pd.factorize(keys)
    psu_stratum = pd.factorize(uniques.get_level_values(0))[0]
    df = len(uniques) - int(psu_stratum.max() + 1 if len(psu_stratum) else 0)
    return Sample(weights, psu_index, psu_stratum, max(df, 1))


def _linearised_variance(scores: np.ndarray, sample: Sample) -> float:
    """Variance of the total of ``scores`` (already weighted) under the design."""
    z = np.bincount(sample.psu_index, weights=scores, minlength=len(sample.psu_stratum))
    n_h = np.bincount(sample.psu_stratum).astype(float)
    mean_h = np.bincount(sample.psu_stratum, weights=z) / n_h
    deviations = z - mean_h[sample.psu_stratum]
    per_stratum = np.bincount(sample.psu_stratum, weights=deviations**2)
    factor = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), 0.0)
    return float(np.sum(factor * per_stratum))


@dataclass(frozen=True)
class Estimate:
    """One published figure with its uncertainty; ``suppressed`` hides ``estimate``."""

    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    cv: float | None
    deff: float | None
    n: int
    suppressed: bool = False

    @property
    def unreliable(self) -> bool:
        return self.cv is not None and self.cv > CV_UNRELIABLE


def _suppressed(n: int) -> Estimate:
    return Estimate(None, None, None, None, None, None, n, suppressed=True)


def ratio(
    data: pd.DataFrame | Sample,
    y: np.ndarray | pd.Series,
    x: np.ndarray | pd.Series,
    domain: np.ndarray | pd.Series | None = None,
    design: Design = Design(),
    min_n: int = MIN_N,
    proportion: bool = True,
    level: float = 0.95,
) -> Estimate:
    """Estimate ``sum(w y) / sum(w x)`` over a domain, with its linearised SE."""
    sample = prepare(data, design)
    weights = sample.weights
    d = np.ones(len(sample), bool) if domain is None else np.asarray(domain, bool)
    yv = np.nan_to_num(np.asarray(y, float)) * d
    xv = np.asarray(x, float) * d
    n = int(np.count_nonzero(xv))
    if n < min_n:
        return _suppressed(n)
    x_total = float(np.sum(weights * xv))
    r = float(np.sum(weights * yv)) / x_total
    scores = weights * (yv - r * xv) / x_total
    variance, df = _linearised_variance(scores, sample), sample.df
    se = float(np.sqrt(variance))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    low, high = r - half, r + half
    if proportion:
        low, high = max(low, 0.0), min(high, 1.0)
        srs = r * (1 - r) / n
    else:
        sample = yv[xv > 0]
        srs = float(np.var(sample, ddof=1)) / n if n > 1 else 0.0
    deff = variance / srs if srs > 0 else None
    cv = se / r if r else None
    return Estimate(r, se, low, high, cv, deff, n)


def total(
    data: pd.DataFrame | Sample,
    y: np.ndarray | pd.Series,
    domain: np.ndarray | pd.Series | None = None,
    design: Design = Design(),
    min_n: int = MIN_N,
    level: float = 0.95,
) -> Estimate:
    """Estimate the population total ``sum(w y)`` over a domain (e.g. persons in a city)."""
    sample = prepare(data, design)
    weights = sample.weights
    d = np.ones(len(sample), bool) if domain is None else np.asarray(domain, bool)
    yv = np.nan_to_num(np.asarray(y, float)) * d
    n = int(np.count_nonzero(d))
    if n < min_n:
        return _suppressed(n)
    scores = weights * yv
    estimate = float(scores.sum())
    variance, df = _linearised_variance(scores, sample), sample.df
    se = float(np.sqrt(variance))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return Estimate(
        estimate, se, estimate - half, estimate + half, se / estimate if estimate else None, None, n
    )


def proportion(
    data: pd.DataFrame | Sample,
    indicator: np.ndarray | pd.Series,
    domain: np.ndarray | pd.Series | None = None,
    design: Design = Design(),
    min_n: int = MIN_N,
) -> Estimate:
    """Share of the domain (among non-missing answers) for which ``indicator`` is true.

    Suppressed when the domain has fewer than ``min_n`` answers or when the cell itself
    (respondents for whom it is true) has between 1 and ``min_n - 1`` of them.
    """
    values = pd.Series(np.asarray(indicator, dtype=object))
    answered = values.notna().to_numpy()
    y = values.fillna(False).astype(bool).to_numpy(float)
    d = np.ones(len(y), bool) if domain is None else np.asarray(domain, bool)
    cell = int(np.count_nonzero(y * d))
    if 0 < cell < min_n:
        # disclosure control: a share reveals its cell, which is too small to publish
        return _suppressed(int(np.count_nonzero(answered & d)))
    return ratio(data, y, answered.astype(float), domain, design, min_n, proportion=True)


def mean(
    data: pd.DataFrame | Sample,
    values: np.ndarray | pd.Series,
    domain: np.ndarray | pd.Series | None = None,
    design: Design = Design(),
    min_n: int = MIN_N,
) -> Estimate:
    """Weighted mean of a numeric variable over the domain's non-missing answers."""
    numbers = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce")
    answered = numbers.notna().to_numpy(float)
    return ratio(
        data, numbers.fillna(0).to_numpy(float), answered, domain, design, min_n, proportion=False
    )


@dataclass(frozen=True)
class Change:
    """Difference between two independent rounds' estimates and its two-sided test."""

    difference: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    z: float | None
    p_value: float | None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05


def change(before: Estimate, after: Estimate, level: float = 0.95) -> Change:
    """Test ``after - before`` for rounds drawn as independent samples (SEs add in quadrature)."""
    if before.suppressed or after.suppressed or before.se is None or after.se is None:
        return Change(None, None, None, None, None, None)
    assert before.estimate is not None and after.estimate is not None
    difference = after.estimate - before.estimate
    se = float(np.hypot(before.se, after.se))
    quantile = float(stats.norm.ppf(0.5 + level / 2))
    z = difference / se if se > 0 else None
    p = float(2 * stats.norm.sf(abs(z))) if z is not None else None
    return Change(difference, se, difference - quantile * se, difference + quantile * se, z, p)
