"""Uncertainty and sensitivity analysis of a marker (OECD/JRC Handbook 2008, step 7).

Two layers:

* Pure variance-based estimators on plain arrays: the Saltelli sampling design
  (matrices A, B and A_B^(i)), Sobol first-order indices with the Saltelli (2010)
  estimator, total-effect indices with the Jansen (1999) estimator, and bootstrap
  confidence intervals. They know nothing about markers.
* :func:`sensitivity`: a Monte Carlo over the uncertain choices of a marker run
  (weights, normalisation, aggregation, imputation, leaving one indicator out,
  measurement error) as in Saisana, Saltelli & Tarantola (2005), "Uncertainty and
  sensitivity analysis techniques as tools for the quality assessment of composite
  indicators", J. R. Stat. Soc. A 168(2), 307-323.

References for the estimators:
  Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M., Tarantola, S. (2010).
  "Variance based sensitivity analysis of model output. Design and estimator for the
  total sensitivity index", Computer Physics Communications 181, 259-270 (table 2,
  formulas (b) for S_i and (f) for S_Ti, the latter being Jansen's).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import qmc

Sampler = Literal["sobol", "random"]


# --------------------------------------------------------------------------------------
# Saltelli design
# --------------------------------------------------------------------------------------


def base_matrices(
    n: int, d: int, rng: np.random.Generator, sampler: Sampler = "sobol"
) -> tuple[np.ndarray, np.ndarray]:
    """Two independent n × d samples A and B of the unit hypercube [0, 1)^d.

    Both come from one 2d-dimensional sample (its first and last d columns), which is
    Saltelli's (2010, §3) recipe. ``sobol`` uses a scrambled Sobol' sequence, whose
    lower discrepancy makes the indices converge faster than plain Monte Carlo; the
    scrambling is seeded from ``rng`` so the design is reproducible.
    """
    if n < 2 or d < 1:
        raise ValueError(f"need n >= 2 and d >= 1, got n={n}, d={d}")
    if sampler == "sobol":
        engine = qmc.Sobol(2 * d, scramble=True, rng=rng)
        # Draw the next power of two (Sobol' balance) and keep the first n points.
        points = engine.random_base2(math.ceil(math.log2(n)))[:n]
    elif sampler == "random":
        points = rng.random((n, 2 * d))
    else:
        raise ValueError(f"unknown sampler {sampler!r}: use 'sobol' or 'random'")
    return points[:, :d].copy(), points[:, d:].copy()


def ab_matrix(a: np.ndarray, b: np.ndarray, i: int) -> np.ndarray:
    """A_B^(i): matrix A with its i-th column taken from B (Saltelli 2010, §2)."""
    mixed = a.copy()
    mixed[:, i] = b[:, i]
    return mixed


def saltelli_design(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All N·(d+2) sample points, shaped (n, d + 2, d): for each row j, A_j, B_j, A_B^(1..d)_j.

    Keeping the d + 2 variants of one row together lets a model cache the expensive
    parts that those variants share (they differ in one factor at a time).
    """
    n, d = a.shape
    design = np.empty((n, d + 2, d), dtype=a.dtype)
    design[:, 0, :] = a
    design[:, 1, :] = b
    for i in range(d):
        design[:, 2 + i, :] = ab_matrix(a, b, i)
    return design


def split_outputs(y: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model outputs on :func:`saltelli_design` points -> (y_A (n,…), y_B (n,…), y_AB (d, n,…))."""
    if y.shape[1] != d + 2:
        raise ValueError(f"outputs must have shape (n, {d + 2}, ...), got {y.shape}")
    return y[:, 0], y[:, 1], np.moveaxis(y[:, 2:], 1, 0)


# --------------------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------------------


def _total_variance(y_a: np.ndarray, y_b: np.ndarray) -> np.ndarray:
    """V(Y) from both independent samples (population variance, as in Saltelli 2010)."""
    return np.var(np.concatenate([y_a, y_b], axis=0), axis=0)


def _safe_ratio(numerator: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """numerator / V(Y), NaN where the output does not vary at all (index undefined)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(variance > 0, numerator / np.where(variance > 0, variance, 1.0), np.nan)


def sobol_first_order(y_a: np.ndarray, y_b: np.ndarray, y_ab: np.ndarray) -> np.ndarray:
    """First-order indices S_i = mean(f(B)·(f(A_B^i) − f(A))) / V(Y) (Saltelli 2010, (b)).

    ``y_a``, ``y_b`` have shape (n, …); ``y_ab`` has shape (d, n, …); returns (d, …).
    """
    numerator = np.mean(y_b[np.newaxis] * (y_ab - y_a[np.newaxis]), axis=1)
    return _safe_ratio(numerator, _total_variance(y_a, y_b))


def sobol_total(y_a: np.ndarray, y_b: np.ndarray, y_ab: np.ndarray) -> np.ndarray:
    """Total-effect indices S_Ti = mean((f(A) − f(A_B^i))²) / 2 / V(Y) (Jansen 1999).

    Shapes as in :func:`sobol_first_order`.
    """
    numerator = 0.5 * np.mean((y_a[np.newaxis] - y_ab) ** 2, axis=1)
    return _safe_ratio(numerator, _total_variance(y_a, y_b))


@dataclass(frozen=True)
class SobolIndices:
    """Sobol indices per factor with bootstrap percentile intervals.

    ``frame`` is indexed by factor name with columns ``S1, S1_low, S1_high, ST, ST_low,
    ST_high``; ``n`` is the base sample size and ``confidence`` the interval level.
    """

    frame: pd.DataFrame
    n: int
    n_bootstrap: int
    confidence: float

    @property
    def first_order(self) -> pd.Series:
        return self.frame["S1"]

    @property
    def total(self) -> pd.Series:
        return self.frame["ST"]


def sobol_indices(
    y_a: np.ndarray,
    y_b: np.ndarray,
    y_ab: np.ndarray,
    names: Sequence[str],
    *,
    n_bootstrap: int = 1000,
    confidence: float = 0.9,
    rng: np.random.Generator | None = None,
) -> SobolIndices:
    """Point estimates and bootstrap percentile intervals of S_i and S_Ti for a scalar output.

    The bootstrap resamples the n base rows with replacement, keeping each row's A, B
    and A_B^(i) outputs together (Archer, Saltelli & Sobol 1997), and re-estimates both
    indices on each resample; the interval is the central ``confidence`` part of the
    resampled values.
    """
    y_a = np.asarray(y_a, dtype=float)
    y_b = np.asarray(y_b, dtype=float)
    y_ab = np.asarray(y_ab, dtype=float)
    n = y_a.shape[0]
    d = y_ab.shape[0]
    if y_a.ndim != 1 or y_b.shape != (n,) or y_ab.shape != (d, n):
        raise ValueError("expected y_a, y_b of shape (n,) and y_ab of shape (d, n)")
    if len(names) != d:
        raise ValueError(f"{len(names)} names for {d} factors")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    first = sobol_first_order(y_a, y_b, y_ab)
    total = sobol_total(y_a, y_b, y_ab)
    rng = rng if rng is not None else np.random.default_rng(0)
    boot_first = np.empty((n_bootstrap, d))
    boot_total = np.empty((n_bootstrap, d))
    # Chunks keep the (chunk, d, n) temporaries small whatever n_bootstrap is.
    chunk = max(1, 2_000_000 // max(1, n * (d + 2)))
    for start in range(0, n_bootstrap, chunk):
        stop = min(n_bootstrap, start + chunk)
        rows = rng.integers(0, n, size=(stop - start, n))
        ra, rb, rab = y_a[rows], y_b[rows], y_ab[:, rows]  # (k, n), (k, n), (d, k, n)
        variance = np.var(np.concatenate([ra, rb], axis=1), axis=1)  # (k,)
        num_first = np.mean(rb[np.newaxis] * (rab - ra[np.newaxis]), axis=2)  # (d, k)
        num_total = 0.5 * np.mean((ra[np.newaxis] - rab) ** 2, axis=2)
        boot_first[start:stop] = _safe_ratio(num_first, variance).T
        boot_total[start:stop] = _safe_ratio(num_total, variance).T
    tail = (1 - confidence) / 2 * 100
    if n_bootstrap > 0:
        with warnings.catch_warnings():  # all-NaN columns: the index is undefined there
            warnings.simplefilter("ignore", RuntimeWarning)
            first_low, first_high = np.nanpercentile(boot_first, [tail, 100 - tail], axis=0)
            total_low, total_high = np.nanpercentile(boot_total, [tail, 100 - tail], axis=0)
    else:
        first_low = first_high = total_low = total_high = np.full(d, np.nan)
    frame = pd.DataFrame(
        {
            "S1": first,
            "S1_low": first_low,
            "S1_high": first_high,
            "ST": total,
            "ST_low": total_low,
            "ST_high": total_high,
        },
        index=pd.Index(list(names), name="factor"),
    )
    return SobolIndices(frame=frame, n=n, n_bootstrap=n_bootstrap, confidence=confidence)


def analyse_function(
    model: Callable[[np.ndarray], np.ndarray],
    names: Sequence[str],
    n: int,
    *,
    seed: int = 1,
    sampler: Sampler = "sobol",
    n_bootstrap: int = 1000,
    confidence: float = 0.9,
) -> SobolIndices:
    """Sobol indices of a vectorised scalar ``model`` of d factors, each uniform on [0, 1).

    ``model`` maps an (m, d) array of points to m outputs. Convenience wrapper used by
    tests and notebooks; marker runs go through :func:`sensitivity`.
    """
    rng = np.random.default_rng(seed)
    d = len(names)
    a, b = base_matrices(n, d, rng, sampler)
    design = saltelli_design(a, b)
    y = np.asarray(model(design.reshape(-1, d)), dtype=float).reshape(n, d + 2)
    y_a, y_b, y_ab = split_outputs(y, d)
    return sobol_indices(
        y_a, y_b, y_ab, names, n_bootstrap=n_bootstrap, confidence=confidence, rng=rng
    )


# --------------------------------------------------------------------------------------
# Monte Carlo over uncertain choices (generic: any model that scores units)
# --------------------------------------------------------------------------------------

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each batch of model runs."""


@dataclass(frozen=True)
class Factor:
    """One uncertain input factor: a named list of equally likely alternatives.

    A uniform draw u in [0, 1) picks alternative ⌊u·k⌋, which is how discrete choices
    (and pools of pre-drawn weight sets or error draws) enter a Sobol design
    (Saisana, Saltelli & Tarantola 2005, §3).
    """

    name: str
    alternatives: tuple[object, ...]

    def pick(self, u: float) -> object:
        k = len(self.alternatives)
        return self.alternatives[min(int(u * k), k - 1)]


def rank_descending(scores: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, 1 = highest score, ties share the lowest rank, NaN stays NaN."""
    scores = np.asarray(scores, dtype=float)
    ranks = np.empty(scores.shape, dtype=float)
    flat_scores = scores.reshape(-1, scores.shape[-1])
    flat_ranks = ranks.reshape(-1, scores.shape[-1])
    for values, out in zip(flat_scores, flat_ranks, strict=True):
        missing = np.isnan(values)
        key = np.where(missing, np.inf, -values)
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        # Rank of each sorted position = 1 + index of the first equal value ("min" ties).
        new_value = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
        first_index = np.maximum.accumulate(np.where(new_value, np.arange(len(values)), 0))
        out[order] = first_index + 1.0
        out[missing] = np.nan
    return ranks


@dataclass(frozen=True)
class UncertaintyResult:
    """What a Monte Carlo over uncertain choices says about each unit and each choice.

    * ``units``: per unit (index = unit id) ``nominal_score``, ``nominal_rank``,
      ``median_score``, ``score_p05``, ``score_p95``, ``median_rank``, ``rank_p05``,
      ``rank_p95``, ``mean_abs_rank_shift`` (mean of |rank − nominal rank| over runs).
    * ``indices``: Sobol first-order and total-effect indices, with bootstrap
      intervals, of the mean absolute rank shift over all units (Saisana et al. 2005's
      summary output R̄_S).
    * ``unit_first_order`` / ``unit_total``: the same indices of each unit's rank
      (units × factors; NaN where a unit's rank never changes).
    * ``runs``: one row per model run: base row ``sample``, ``variant`` (A, B or the
      factor taken from B), the alternative picked per factor, and the run's mean
      absolute rank shift.
    """

    units: pd.DataFrame
    indices: SobolIndices
    unit_first_order: pd.DataFrame
    unit_total: pd.DataFrame
    runs: pd.DataFrame
    replicates: int
    seed: int
    factors: tuple[Factor, ...]
    node: str | None = None

    def half_widths(self) -> pd.DataFrame:
        """Half the 5–95 % score range per unit, as a one-column frame named by the node."""
        width = (self.units["score_p95"] - self.units["score_p05"]) / 2.0
        return width.to_frame(self.node or "score")

    def to_frame(self) -> pd.DataFrame:
        """Per-unit table, the shape ``marker sensitivity --out`` writes."""
        return self.units.reset_index()


def _describe(value: object) -> str:
    """Short label of an alternative for the ``runs`` table."""
    if value is None:
        return "-"
    label = getattr(value, "label", None)
    return str(label) if label is not None else str(value)


def monte_carlo(
    evaluate: Callable[[dict[str, object]], np.ndarray],
    factors: Sequence[Factor],
    nominal_scores: np.ndarray,
    unit_ids: Sequence[object] | pd.Index,
    *,
    replicates: int = 1000,
    seed: int = 1,
    sampler: Sampler = "sobol",
    n_bootstrap: int = 1000,
    confidence: float = 0.9,
    progress: ProgressCallback | None = None,
    rng: np.random.Generator | None = None,
) -> UncertaintyResult:
    """Run ``evaluate`` on a Saltelli design over ``factors`` and summarise ranks and scores.

    ``evaluate`` maps a scenario ``{factor name: alternative}`` to one score per unit
    (aligned with ``unit_ids``; higher is better). ``replicates`` is the base sample
    size N: the design has N·(d + 2) runs. Per-unit distributions use the 2N
    independent runs of A and B; the Sobol indices use all runs. Memory stays at
    O(N × units) because per-unit rank indices are accumulated run block by run block.
    """
    if not factors:
        raise ValueError("at least one uncertain factor is needed")
    names = [factor.name for factor in factors]
    if len(set(names)) != len(names):
        raise ValueError(f"factor names must be unique: {names}")
    rng = rng if rng is not None else np.random.default_rng(seed)
    nominal_scores = np.asarray(nominal_scores, dtype=float)
    n_units = nominal_scores.shape[0]
    nominal_rank = rank_descending(nominal_scores)
    d = len(factors)
    a, b = base_matrices(replicates, d, rng, sampler)
    design = saltelli_design(a, b)

    ab_scores = np.empty((2, replicates, n_units), dtype=np.float32)
    ab_ranks = np.empty((2, replicates, n_units), dtype=np.float32)
    shift = np.empty((replicates, d + 2))
    first_num = np.zeros((d, n_units))
    total_num = np.zeros((d, n_units))
    total_runs = replicates * (d + 2)
    picks: list[list[str]] = []
    block_scores = np.empty((d + 2, n_units))
    for j in range(replicates):
        for k in range(d + 2):
            scenario = {f.name: f.pick(u) for f, u in zip(factors, design[j, k], strict=True)}
            picks.append([_describe(scenario[name]) for name in names])
            block_scores[k] = evaluate(scenario)
        ranks = rank_descending(block_scores)
        with np.errstate(invalid="ignore"):
            shift[j] = np.nanmean(np.abs(ranks - nominal_rank), axis=1)
        ab_scores[:, j] = block_scores[:2]
        ab_ranks[:, j] = ranks[:2]
        r_a, r_b, r_ab = ranks[0], ranks[1], ranks[2:]
        first_num += r_b * (r_ab - r_a)
        total_num += 0.5 * (r_a - r_ab) ** 2
        if progress is not None:
            progress((j + 1) * (d + 2), total_runs)

    flat_ranks = ab_ranks.reshape(2 * replicates, n_units).astype(float)
    flat_scores = ab_scores.reshape(2 * replicates, n_units).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rank_variance = np.var(flat_ranks, axis=0)
    unit_first = _safe_ratio(first_num / replicates, rank_variance)
    unit_total = _safe_ratio(total_num / replicates, rank_variance)

    low, high = 5.0, 95.0
    pct = _nanpercentile if np.isnan(flat_ranks).any() else np.percentile
    rank_low, rank_mid, rank_high = pct(flat_ranks, [low, 50.0, high])
    score_low, score_mid, score_high = pct(flat_scores, [low, 50.0, high])
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_shift = np.nanmean(np.abs(flat_ranks - nominal_rank), axis=0)
    index = pd.Index(unit_ids, name=getattr(unit_ids, "name", None) or "unit")
    units = pd.DataFrame(
        {
            "nominal_score": nominal_scores,
            "nominal_rank": nominal_rank,
            "median_score": score_mid,
            "score_p05": score_low,
            "score_p95": score_high,
            "median_rank": rank_mid,
            "rank_p05": rank_low,
            "rank_p95": rank_high,
            "mean_abs_rank_shift": mean_shift,
        },
        index=index,
    )
    y_a, y_b, y_ab = split_outputs(shift, d)
    indices = sobol_indices(
        y_a, y_b, y_ab, names, n_bootstrap=n_bootstrap, confidence=confidence, rng=rng
    )
    variants = ["A", "B", *names]
    runs = pd.DataFrame(picks, columns=names)
    runs.insert(0, "variant", np.tile(variants, replicates))
    runs.insert(0, "sample", np.repeat(np.arange(replicates), d + 2))
    runs["mean_abs_rank_shift"] = shift.reshape(-1)
    return UncertaintyResult(
        units=units,
        indices=indices,
        unit_first_order=pd.DataFrame(unit_first.T, index=index, columns=names),
        unit_total=pd.DataFrame(unit_total.T, index=index, columns=names),
        runs=runs,
        replicates=replicates,
        seed=seed,
        factors=tuple(factors),
    )


def _nanpercentile(values: np.ndarray, q: list[float]) -> np.ndarray:
    """Column percentiles ignoring NaN (units screened out in some runs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(values, q, axis=0)
