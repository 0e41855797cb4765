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
