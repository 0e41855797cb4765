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

import dataclasses
import itertools
import math
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import qmc

from inclusive_cities import __version__
from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker.engine import _aggregate_tree as aggregate_tree
from inclusive_cities.marker.engine import compute
from inclusive_cities.marker.errors import MarkerDataError, MarkerError
from inclusive_cities.marker.spec import Indicator, MarkerSpec, Node, load_spec

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

    def index(self, u: float) -> int:
        k = len(self.alternatives)
        return min(int(u * k), k - 1)

    def pick(self, u: float) -> object:
        return self.alternatives[self.index(u)]


def rank_descending(scores: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, 1 = highest score, ties share the lowest rank, NaN stays NaN."""
    scores = np.asarray(scores, dtype=float)
    ranks = np.empty(scores.shape, dtype=float)
    flat_scores = scores.reshape(-1, scores.shape[-1])
    flat_ranks = ranks.reshape(-1, scores.shape[-1])
    for values, out in zip(flat_scores, flat_ranks, strict=True):
        missing = np.isnan(values)
        key = np.where(missing, np.inf, -values)
        order = np.argsort(key)  # tie order is irrelevant: equal keys get one rank
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
    * ``score_p05_by_output`` / ``score_p95_by_output``: units × nodes score intervals
      when every node's interval was asked for (``sensitivity(..., all_nodes=True)``).
    * ``unit_intervals``: when asked for, ``S1_low``, ``S1_high``, ``ST_low``, ``ST_high``
      (units × factors): bootstrap intervals of each unit's rank indices.
    * ``provenance``: spec and input hashes, software version, seed and the choices
      varied, so that the analysis can be rerun to the same numbers.
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
    score_p05_by_output: pd.DataFrame | None = None
    score_p95_by_output: pd.DataFrame | None = None
    provenance: Mapping[str, object] = dataclasses.field(default_factory=dict)
    unit_intervals: Mapping[str, pd.DataFrame] | None = None

    def half_widths(self) -> pd.DataFrame:
        """Half the 5–95 % score range per unit: one column per node with intervals.

        Only the analysed node unless the run recorded intervals for every node.
        """
        if self.score_p05_by_output is not None and self.score_p95_by_output is not None:
            return (self.score_p95_by_output - self.score_p05_by_output) / 2.0
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


@dataclass
class _Part:
    """What a batch of base rows contributes (see :func:`monte_carlo`)."""

    rows: np.ndarray
    ab_scores: np.ndarray
    ab_ranks: np.ndarray
    shift: np.ndarray
    first_num: np.ndarray
    total_num: np.ndarray
    picks: list[list[list[str]]]
    outputs: np.ndarray | None = None


def _run_rows(
    evaluate: Callable[[dict[str, object]], np.ndarray],
    factors: Sequence[Factor],
    design: np.ndarray,
    nominal_rank: np.ndarray,
    rows: np.ndarray,
) -> _Part:
    """Evaluate the d + 2 runs of each base row in ``rows`` and reduce them."""
    d = len(factors)
    n_units = nominal_rank.shape[0]
    part = _Part(
        rows=rows,
        ab_scores=np.empty((2, len(rows), n_units)),
        ab_ranks=np.empty((2, len(rows), n_units), dtype=np.float32),
        shift=np.empty((len(rows), d + 2)),
        first_num=np.zeros((d, n_units)),
        total_num=np.zeros((d, n_units)),
        picks=[],
    )
    block_scores = np.empty((d + 2, n_units))
    for i, j in enumerate(rows):
        labels = []
        # A_B^(i) repeats A whenever B picked the same alternative for factor i (half the
        # time for a two-way choice): such runs are copied, not recomputed.
        first_of: dict[tuple[int, ...], int] = {}
        same_as = np.arange(d + 2)
        for k in range(d + 2):
            picked = tuple(f.index(u) for f, u in zip(factors, design[j, k], strict=True))
            scenario = {f.name: f.alternatives[p] for f, p in zip(factors, picked, strict=True)}
            labels.append([_describe(scenario[f.name]) for f in factors])
            if picked in first_of:
                same_as[k] = first_of[picked]
                block_scores[k] = block_scores[same_as[k]]
                if part.outputs is not None and k < 2:
                    part.outputs[k, i] = part.outputs[same_as[k], i]
                continue
            first_of[picked] = k
            output = np.asarray(evaluate(scenario), dtype=float)
            if output.ndim == 2:  # column 0 is ranked; every column gets intervals
                if part.outputs is None:
                    shape = (2, len(rows), n_units, output.shape[1])
                    part.outputs = np.empty(shape)
                if k < 2:
                    part.outputs[k, i] = output
                output = output[:, 0]
            block_scores[k] = output
        part.picks.append(labels)
        unique = np.flatnonzero(same_as == np.arange(d + 2))
        ranks = np.empty((d + 2, n_units))
        ranks[unique] = rank_descending(block_scores[unique])
        ranks[:] = ranks[same_as]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            part.shift[i] = np.nanmean(np.abs(ranks - nominal_rank), axis=1)
        part.ab_scores[:, i] = block_scores[:2]
        part.ab_ranks[:, i] = ranks[:2]
        r_a, r_b, r_ab = ranks[0], ranks[1], ranks[2:]
        part.first_num += r_b * (r_ab - r_a)
        part.total_num += 0.5 * (r_a - r_ab) ** 2
    return part


_FORKED: dict[str, object] = {}
"""What forked workers inherit from the parent (the model need not be picklable)."""


def _forked_rows(rows: np.ndarray) -> _Part:
    return _run_rows(
        _FORKED["evaluate"],  # type: ignore[arg-type]
        _FORKED["factors"],  # type: ignore[arg-type]
        _FORKED["design"],  # type: ignore[arg-type]
        _FORKED["nominal_rank"],  # type: ignore[arg-type]
        rows,
    )


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _batches(replicates: int) -> list[np.ndarray]:
    """Contiguous batches of base rows (about 40, at most 25 rows each).

    They do not depend on the number of workers: they are also the groups of the
    per-unit bootstrap, whose result must not change with the machine.
    """
    size = max(1, min(25, math.ceil(replicates / 40)))
    return [np.arange(i, min(i + size, replicates)) for i in range(0, replicates, size)]


def _run_parts(
    evaluate: Callable[[dict[str, object]], np.ndarray],
    factors: Sequence[Factor],
    design: np.ndarray,
    nominal_rank: np.ndarray,
    workers: int | None,
) -> Iterator[_Part]:
    """Batches of base rows, evaluated here or in forked worker processes."""
    replicates = design.shape[0]
    workers = available_cores() if workers is None else max(1, workers)
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    batches = _batches(replicates)
    if workers == 1 or not can_fork or len(batches) == 1:
        for rows in batches:
            yield _run_rows(evaluate, factors, design, nominal_rank, rows)
        return
    _FORKED.update(evaluate=evaluate, factors=factors, design=design, nominal_rank=nominal_rank)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            yield from pool.map(_forked_rows, batches)
    finally:
        _FORKED.clear()


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
    workers: int | None = 1,
    output_names: Sequence[str] | None = None,
    unit_intervals: bool = False,
) -> UncertaintyResult:
    """Run ``evaluate`` on a Saltelli design over ``factors`` and summarise ranks and scores.

    ``evaluate`` maps a scenario ``{factor name: alternative}`` to one score per unit
    (aligned with ``unit_ids``; higher is better). ``replicates`` is the base sample
    size N: the design has N·(d + 2) runs. Per-unit distributions use the 2N
    independent runs of A and B; the Sobol indices use all runs. Memory stays at
    O(N × units) because per-unit rank indices are accumulated run block by run block.
    ``workers`` > 1 splits the base rows between forked processes (``None``: one per
    available core); the output is identical whatever the number of workers.
    ``evaluate`` may also return a units × m array: column 0 is the score that is ranked,
    and every column (named by ``output_names``) gets a 5–95 % interval
    (``score_p05_by_output``, ``score_p95_by_output``), at a memory cost of 2N × units × m × 8
    bytes. ``unit_intervals`` adds bootstrap intervals to each unit's rank indices.
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

    # Ranks are whole numbers below 2^24, exact in float32; scores keep float64.
    ab_scores = np.empty((2, replicates, n_units))
    ab_ranks = np.empty((2, replicates, n_units), dtype=np.float32)
    shift = np.empty((replicates, d + 2))
    first_num = np.zeros((d, n_units))
    total_num = np.zeros((d, n_units))
    picks: list[list[str]] = [[] for _ in range(replicates)]
    outputs: np.ndarray | None = None
    total_runs = replicates * (d + 2)
    done = 0
    groups: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for part in _run_parts(evaluate, factors, design, nominal_rank, workers):
        rows = part.rows
        if unit_intervals:
            ranks_ab = part.ab_ranks.astype(float)
            groups.append(
                (
                    len(rows),
                    part.first_num,
                    part.total_num,
                    ranks_ab.sum(axis=(0, 1)),
                    (ranks_ab**2).sum(axis=(0, 1)),
                )
            )
        ab_scores[:, rows] = part.ab_scores
        ab_ranks[:, rows] = part.ab_ranks
        shift[rows] = part.shift
        if part.outputs is not None:
            if outputs is None:
                outputs = np.empty((2, replicates, *part.outputs.shape[2:]))
            outputs[:, rows] = part.outputs
        # Ranks are whole numbers, so these float sums are exact in any order: the result
        # does not depend on how the rows were split between processes.
        first_num += part.first_num
        total_num += part.total_num
        for row, labels in zip(rows, part.picks, strict=True):
            picks[row] = labels
        done += len(rows) * (d + 2)
        if progress is not None:
            progress(done, total_runs)

    flat_ranks = ab_ranks.reshape(2 * replicates, n_units)
    flat_scores = ab_scores.reshape(2 * replicates, n_units)
    with np.errstate(divide="ignore", invalid="ignore"):
        rank_variance = _by_columns(lambda block: np.var(block, axis=0), flat_ranks)
    unit_first = _safe_ratio(first_num / replicates, rank_variance)
    unit_total = _safe_ratio(total_num / replicates, rank_variance)

    rank_low, rank_mid, rank_high = _by_columns(_percentiles, flat_ranks)
    score_low, score_mid, score_high = _by_columns(_percentiles, flat_scores)
    mean_shift = _by_columns(_mean_abs_shift, flat_ranks, nominal_rank)
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
    lows = highs = None
    if outputs is not None:
        flat_outputs = outputs.reshape(2 * replicates, *outputs.shape[2:])
        out_low, _mid, out_high = _percentiles(flat_outputs)
        columns = list(output_names) if output_names else list(range(outputs.shape[-1]))
        lows = pd.DataFrame(out_low, index=index, columns=columns)
        highs = pd.DataFrame(out_high, index=index, columns=columns)
    bootstrap_units = None
    if unit_intervals and n_bootstrap > 0:
        bootstrap_units = _unit_bootstrap(groups, n_bootstrap, confidence, rng, index, names)
    y_a, y_b, y_ab = split_outputs(shift, d)
    indices = sobol_indices(
        y_a, y_b, y_ab, names, n_bootstrap=n_bootstrap, confidence=confidence, rng=rng
    )
    variants = ["A", "B", *names]
    runs = pd.DataFrame([labels for row in picks for labels in row], columns=names)
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
        score_p05_by_output=lows,
        score_p95_by_output=highs,
        unit_intervals=bootstrap_units,
    )


def _unit_bootstrap(
    groups: Sequence[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    n_bootstrap: int,
    confidence: float,
    rng: np.random.Generator,
    index: pd.Index,
    names: Sequence[str],
) -> dict[str, pd.DataFrame]:
    """Percentile intervals of every unit's S_i and S_Ti from a bootstrap over row groups.

    Keeping every run's ranks would cost N·(d + 2) × units numbers, so the rows are
    resampled by groups (the ~40 batches of consecutive base rows, which are independent
    and alike): each bootstrap replicate reweights the groups' sums of the estimators'
    terms and of the ranks and squared ranks, from which S_i and S_Ti follow exactly as
    for the point estimates. Coarser than a row bootstrap, it needs only
    groups × (2d + 2) × units numbers.
    """
    sizes = np.array([group[0] for group in groups], dtype=float)
    first = np.stack([group[1] for group in groups])  # (G, d, units)
    total = np.stack([group[2] for group in groups])
    rank_sum = np.stack([group[3] for group in groups])  # (G, units)
    square_sum = np.stack([group[4] for group in groups])
    n_groups, d, n_units = first.shape
    counts = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=n_bootstrap)
    counts = counts.astype(float)  # (B, G)
    rows = counts @ sizes  # (B,)
    tail = (1 - confidence) / 2 * 100
    out = {key: np.empty((n_units, d)) for key in ("S1_low", "S1_high", "ST_low", "ST_high")}
    width = max(1, 200_000 // max(1, n_bootstrap * d))
    for start in range(0, n_units, width):
        stop = min(n_units, start + width)
        mean = (counts @ rank_sum[:, start:stop]) / (2 * rows[:, None])
        variance = (counts @ square_sum[:, start:stop]) / (2 * rows[:, None]) - mean**2
        for key, terms in (("S1", first), ("ST", total)):
            block = terms[:, :, start:stop].reshape(n_groups, -1)
            estimate = (counts @ block).reshape(n_bootstrap, d, stop - start) / rows[:, None, None]
            ratio = _safe_ratio(estimate, variance[:, None, :])
            low, high = _nan_quantiles(ratio, [tail, 100 - tail])
            out[f"{key}_low"][start:stop] = low.T
            out[f"{key}_high"][start:stop] = high.T
    return {
        key: pd.DataFrame(values, index=index, columns=list(names)) for key, values in out.items()
    }


def _nan_quantiles(values: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Percentiles along axis 0 ignoring NaN, vectorised (linear interpolation, as numpy).

    ``np.nanpercentile`` loops in Python over columns that hold a NaN; here NaN sort last
    and each column interpolates between its own present values.
    """
    ordered = np.sort(values, axis=0)
    present = np.sum(~np.isnan(values), axis=0)
    results = []
    for percent in q:
        position = (present - 1) * (percent / 100.0)
        below = np.clip(np.floor(position).astype(int), 0, None)
        above = np.minimum(below + 1, np.maximum(present - 1, 0))
        low = np.take_along_axis(ordered, below[np.newaxis], axis=0)[0]
        high = np.take_along_axis(ordered, above[np.newaxis], axis=0)[0]
        value = low + (high - low) * (position - below)
        results.append(np.where(present > 0, value, np.nan))
    return np.stack(results)


def _percentiles(values: np.ndarray) -> np.ndarray:
    """5th, 50th and 95th percentiles of each column (rows are runs), ignoring NaN.

    NaN appears only for units screened out in some runs; the slower NaN-aware path is
    taken only then.
    """
    values = np.asarray(values, dtype=float)
    if not np.isnan(values).any():
        return np.percentile(values, [5.0, 50.0, 95.0], axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(values, [5.0, 50.0, 95.0], axis=0)


def _mean_abs_shift(ranks: np.ndarray, nominal_rank: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.abs(ranks - nominal_rank), axis=0)


def _by_columns(
    function: Callable[..., np.ndarray],
    values: np.ndarray,
    *aligned: np.ndarray,
    width: int = 1024,
) -> np.ndarray:
    """Apply a column-wise reduction block by block, so float64 temporaries stay small.

    ``aligned`` arrays (one value per column) are cut into the same blocks.
    """
    parts = [
        function(
            np.asarray(values[:, start : start + width], dtype=float),
            *(extra[start : start + width] for extra in aligned),
        )
        for start in range(0, values.shape[1], width)
    ]
    return np.concatenate(parts, axis=-1)


# --------------------------------------------------------------------------------------
# Marker runs: the uncertain choices of a spec, scored with the engine
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightSet:
    """One pre-drawn perturbation of every weight of the tree (an alternative of 'weights')."""

    index: int
    weights: Mapping[str, float]

    @property
    def label(self) -> str:
        return f"w{self.index}"


@dataclass(frozen=True)
class ErrorDraw:
    """One pre-drawn realisation of the measurement errors (alternative of 'measurement_error')."""

    index: int

    @property
    def label(self) -> str:
        return f"e{self.index}"


NOMINAL = "nominal"
"""The alternative meaning "as the spec says" (no error draw, no indicator left out)."""


def perturbed_weight_sets(
    spec: MarkerSpec, spread: float, count: int, rng: np.random.Generator
) -> tuple[WeightSet, ...]:
    """``count`` weight sets: each weight times U(1 − spread, 1 + spread), renormalised.

    Renormalising keeps each parent's total weight, so only the balance between siblings
    changes (the usual ±25 % scheme of Saisana et al. 2005 uses spread = 0.25).
    """
    if not 0 <= spread < 1:
        raise MarkerError(
            _(
                "The weight spread must be at least 0 and below 1 (e.g. 0.25 for ±25 %), "
                "got {value}."
            ).format(value=spread)
        )
    groups: list[list[tuple[str, float]]] = []
    for item in spec.nodes():
        groups.append([(child.code, child.weight) for child in item.components()])
    codes = [code for group in groups for code, _w in group]
    nominal = np.array([weight for group in groups for _c, weight in group])
    bounds = np.cumsum([0, *[len(group) for group in groups]])
    factors = rng.uniform(1 - spread, 1 + spread, size=(count, len(codes)))
    sets = []
    for index in range(count):
        varied = nominal * factors[index]
        for start, stop in itertools.pairwise(bounds):
            varied[start:stop] *= nominal[start:stop].sum() / varied[start:stop].sum()
        sets.append(WeightSet(index, dict(zip(codes, varied.tolist(), strict=True))))
    return tuple(sets)


def _subtree_indicators(spec: MarkerSpec, node: str) -> list[str]:
    item = spec.find(node)
    if not isinstance(item, Node):
        raise MarkerError(
            _(
                "'{code}' is an indicator of spec {spec}; analyse one of its nodes ({nodes})."
            ).format(code=node, spec=spec.code, nodes=", ".join(spec.node_codes))
        )
    stack: list[Node | Indicator] = [item]
    found: list[str] = []
    while stack:
        current = stack.pop()
        if isinstance(current, Node):
            stack.extend(reversed(current.components()))
        else:
            found.append(current.code)
    return found


class MarkerModel:
    """Scores one node of a spec under a scenario of choices, reusing what does not change.

    The expensive part of a run (reading, imputing, treating and normalising the data)
    depends only on the normalisation, the imputation and the error draw, so it is computed
    once per combination with :func:`compute` and kept. Weights, aggregation and the
    left-out indicator only change the aggregation up the tree, which is redone per run
    with the engine's own tree aggregation. :meth:`variant` gives the full recipe of a
    scenario, so any run can be checked against a plain ``compute``.
    """

    def __init__(
        self,
        spec: MarkerSpec,
        data: pd.DataFrame,
        node: str,
        *,
        id_column: str,
        standard_errors: pd.DataFrame | None,
        error_draws: int,
        seed: int,
        compute_options: Mapping[str, object],
        cache_bytes: int = 1 << 30,
        all_nodes: bool = False,
    ) -> None:
        self.spec = spec
        self.data = data
        self.node = node
        self.id_column = id_column
        self.compute_options = dict(compute_options)
        self.screening = spec.defaults.missing.unit_min_coverage > 0
        self._errors = _aligned_errors(data, standard_errors, spec, id_column)
        self._error_seeds = np.random.SeedSequence([seed, 0x5E]).spawn(max(error_draws, 0))
        matrix_bytes = max(1, len(data) * len(spec.indicator_codes) * 8)
        self._capacity = max(4, cache_bytes // matrix_bytes)
        self._prepared: dict[tuple[object, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._aggregation_specs: dict[tuple[object, ...], tuple[MarkerSpec, dict[str, int]]] = {}
        self._recent_specs: dict[tuple[object, ...], MarkerSpec] = {}
        self.prepared_runs = 0
        self._lo = spec.defaults.scale.lower
        self._hi = spec.defaults.scale.upper
        self._codes = spec.indicator_codes
        # Output columns: the analysed node first, then (optionally) every other node.
        self.outputs = [node, *(c for c in spec.node_codes if c != node)] if all_nodes else [node]

    @property
    def has_errors(self) -> bool:
        return self._errors is not None

    def _data_for(self, draw: object) -> pd.DataFrame:
        if not isinstance(draw, ErrorDraw) or self._errors is None:
            return self.data
        columns, sizes = self._errors
        rng = np.random.default_rng(self._error_seeds[draw.index])
        noisy = self.data.copy()
        # The nominal run has already rejected non-numeric cells; blanks stay missing.
        values = noisy[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        noisy[columns] = values + sizes * rng.standard_normal(sizes.shape)
        return noisy

    def _prepared_spec(self, scenario: Mapping[str, object]) -> MarkerSpec:
        overrides: dict[str, Any] = {}
        if scenario.get("normalisation") is not None:
            overrides["normalisation"] = scenario["normalisation"]
        if scenario.get("imputation") is not None:
            overrides["imputation"] = scenario["imputation"]
        drop = scenario.get("drop_indicator")
        if self.screening and drop not in (None, NOMINAL):
            overrides["drop"] = drop
        return self.spec.with_overrides(**overrides) if overrides else self.spec

    def _aggregation_spec(
        self, scenario: Mapping[str, object]
    ) -> tuple[MarkerSpec, dict[str, int]]:
        """The spec whose weights, aggregation and tree the run aggregates with, and the
        column of each node in its scores (reweighting keeps the tree's shape).

        The few (aggregation, left-out indicator) combinations go through
        :meth:`MarkerSpec.with_overrides` once each; the weights, different in nearly every
        run, are then set by copying the tree (a validated override costs 3x more, and
        perturbed weights are positive by construction).
        """
        drop = scenario.get("drop_indicator")
        key = (_key(scenario.get("aggregation")), _key(drop))
        cached = self._aggregation_specs.get(key)
        if cached is None:
            overrides: dict[str, Any] = {}
            if scenario.get("aggregation") is not None:
                overrides["aggregation"] = scenario["aggregation"]
            if drop not in (None, NOMINAL):
                overrides["drop"] = drop
            spec = self.spec.with_overrides(**overrides) if overrides else self.spec
            cached = (spec, {code: j for j, code in enumerate(spec.node_codes)})
            self._aggregation_specs[key] = cached
        base, position = cached
        weights = scenario.get("weights")
        if not isinstance(weights, WeightSet):
            return base, position
        # Runs of one base row share A's weights except where they vary them: keep a few.
        recent_key = (weights.index, *key)
        reweighted = self._recent_specs.pop(recent_key, None)
        if reweighted is None:
            reweighted = base.model_copy(update={"tree": _reweighted(base.tree, weights.weights)})
            if len(self._recent_specs) >= 8:
                self._recent_specs.pop(next(iter(self._recent_specs)))
        self._recent_specs[recent_key] = reweighted
        return reweighted, position

    def variant(self, scenario: Mapping[str, object]) -> tuple[MarkerSpec, pd.DataFrame]:
        """The full spec and data of a scenario (what a plain ``compute`` would be given)."""
        overrides: dict[str, Any] = {}
        for key in ("normalisation", "imputation", "aggregation"):
            if scenario.get(key) is not None:
                overrides[key] = scenario[key]
        weights = scenario.get("weights")
        if isinstance(weights, WeightSet):
            overrides["weights"] = weights.weights
        if scenario.get("drop_indicator") not in (None, NOMINAL):
            overrides["drop"] = scenario["drop_indicator"]
        spec = self.spec.with_overrides(**overrides) if overrides else self.spec
        return spec, self._data_for(scenario.get("measurement_error"))

    def normalised(self, scenario: Mapping[str, object]) -> np.ndarray:
        """Normalised units × indicators matrix for the scenario's data-side choices."""
        return self._prepare(scenario)[0]

    def _prepare(self, scenario: Mapping[str, object]) -> tuple[np.ndarray, np.ndarray]:
        """(normalised matrix, which of its columns hold a NaN), cached per data-side key."""
        drop = scenario.get("drop_indicator") if self.screening else None
        key = (
            _key(scenario.get("normalisation")),
            _key(scenario.get("imputation")),
            _key(scenario.get("measurement_error")),
            _key(drop),
        )
        cached = self._prepared.get(key)
        if cached is not None:
            self._prepared[key] = self._prepared.pop(key)  # most recently used goes last
            return cached
        spec = self._prepared_spec(scenario)
        data = self._data_for(scenario.get("measurement_error"))
        result = compute(spec, data, self.id_column, **self.compute_options)  # type: ignore[arg-type]
        # Column-major, as the engine keeps it: aggregation reads one indicator at a time.
        matrix = np.asfortranarray(result.normalised.reindex(columns=self._codes), dtype=float)
        prepared = (matrix, np.isnan(matrix).any(axis=0))
        self.prepared_runs += 1
        if len(self._prepared) >= self._capacity:
            self._prepared.pop(next(iter(self._prepared)))
        self._prepared[key] = prepared
        return prepared

    def __call__(self, scenario: Mapping[str, object]) -> np.ndarray:
        matrix, has_nan = self._prepare(scenario)
        spec, position = self._aggregation_spec(scenario)
        scores, _coverage = aggregate_tree(
            spec, matrix, self._codes, self._lo, self._hi, normalised_has_nan=has_nan
        )
        if len(self.outputs) == 1:
            return scores[:, position[self.node]]
        picked = np.full((scores.shape[0], len(self.outputs)), np.nan)
        for column, code in enumerate(self.outputs):
            if code in position:  # a node can vanish with its only left-out indicator
                picked[:, column] = scores[:, position[code]]
        return picked


def _reweighted(node: Node, weights: Mapping[str, float]) -> Node:
    """A copy of ``node``'s subtree with the given weights (codes not listed keep theirs)."""
    update: dict[str, object] = {
        "children": [_reweighted(child, weights) for child in node.children],
        "indicators": [
            item.model_copy(update={"weight": weights[item.code]}) if item.code in weights else item
            for item in node.indicators
        ],
    }
    if node.code in weights:
        update["weight"] = weights[node.code]
    return node.model_copy(update=update)


def _key(value: object) -> object:
    """A hashable cache key for an alternative (dict alternatives become sorted tuples)."""
    if isinstance(value, Mapping):
        return tuple(sorted((k, _key(v)) for k, v in value.items()))
    if isinstance(value, ErrorDraw):
        return ("error", value.index)
    return value


def _aligned_errors(
    data: pd.DataFrame, errors: pd.DataFrame | None, spec: MarkerSpec, id_column: str
) -> tuple[list[str], np.ndarray] | None:
    """Standard errors aligned to ``data`` rows: (indicator columns, units × columns array)."""
    if errors is None:
        return None
    if id_column not in errors.columns:
        raise MarkerDataError(
            _(
                "The standard-error table has no id column '{column}'; give it the same id column "
                "as the data."
            ).format(column=id_column)
        )
    columns = [c for c in spec.indicator_codes if c in errors.columns and c in data.columns]
    if not columns:
        raise MarkerDataError(
            _(
                "The standard-error table has no column named like an indicator of spec {spec} "
                "({codes}); name each column by the indicator code whose errors it holds."
            ).format(spec=spec.code, codes=", ".join(spec.indicator_codes[:5]))
        )
    if errors[id_column].duplicated().any():
        duplicate = errors.loc[errors[id_column].duplicated(), id_column].iloc[0]
        raise MarkerDataError(
            _("The standard-error table lists unit {unit} twice; keep one row per unit.").format(
                unit=duplicate
            )
        )
    table = errors.set_index(id_column)[columns]
    numeric = table.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & table.notna()
    if bad.any().any():
        column = bad.any().idxmax()
        unit = bad[column].idxmax()
        raise MarkerDataError(
            _(
                "The standard-error table, unit {unit}, column '{column}': '{value}' is not a "
                "number."
            ).format(unit=unit, column=column, value=table.loc[unit, column])
        )
    if (numeric < 0).any().any():
        column = (numeric < 0).any().idxmax()
        unit = (numeric[column] < 0).idxmax()
        raise MarkerDataError(
            _(
                "The standard-error table, unit {unit}, column '{column}': a standard error "
                "cannot be negative ({value})."
            ).format(unit=unit, column=column, value=numeric.loc[unit, column])
        )
    aligned = numeric.reindex(data[id_column].to_numpy()).fillna(0.0).to_numpy(dtype=float)
    return columns, aligned


def marker_factors(
    spec: MarkerSpec,
    node: str,
    *,
    weights: float | None,
    normalisation: Sequence[object] | None,
    aggregation: Sequence[object] | None,
    imputation: Sequence[object] | None,
    drop_indicator: bool,
    error_draws: int,
    has_errors: bool,
    pool_size: int,
    rng: np.random.Generator,
) -> list[Factor]:
    """The declared uncertain choices as Sobol factors (only those with alternatives)."""
    factors: list[Factor] = []
    if weights:
        factors.append(Factor("weights", perturbed_weight_sets(spec, weights, pool_size, rng)))
    for name, alternatives in (
        ("normalisation", normalisation),
        ("aggregation", aggregation),
        ("imputation", imputation),
    ):
        if alternatives and len(alternatives) > 1:
            for alternative in alternatives:  # a bad alternative fails now, with its name
                check: dict[str, Any] = {name: alternative}
                spec.with_overrides(**check)
            factors.append(Factor(name, tuple(alternatives)))
    if drop_indicator:
        codes = _subtree_indicators(spec, node)
        if len(codes) > 1:
            factors.append(Factor("drop_indicator", (NOMINAL, *codes)))
    if has_errors and error_draws > 0:
        factors.append(Factor("measurement_error", tuple(ErrorDraw(i) for i in range(error_draws))))
    return factors


def sensitivity(
    spec: MarkerSpec | str,
    data: pd.DataFrame,
    *,
    id_column: str = "unit_code",
    node: str | None = None,
    weights: float | None = 0.25,
    normalisation: Sequence[object] | None = None,
    aggregation: Sequence[object] | None = ("arithmetic", "geometric"),
    imputation: Sequence[object] | None = None,
    drop_indicator: bool = True,
    standard_errors: pd.DataFrame | None = None,
    error_draws: int = 32,
    replicates: int = 1000,
    seed: int = 1,
    sampler: Sampler = "sobol",
    n_bootstrap: int = 1000,
    confidence: float = 0.9,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    all_nodes: bool = False,
    unit_intervals: bool = False,
    **compute_options: Any,
) -> UncertaintyResult:
    """Uncertainty and sensitivity analysis of one node's scores and ranks (Handbook step 7).

    Uncertain choices (each one Sobol factor; leave one out with ``None``/``False``):

    - ``weights``: every weight times U(1 − w, 1 + w), renormalised among siblings
      (a pool of ``replicates`` pre-drawn weight sets);
    - ``normalisation`` / ``aggregation`` / ``imputation``: alternative methods, each a
      name or a dict as :meth:`MarkerSpec.with_overrides` takes (``"goalposts"`` keeps the
      spec's benchmarks); a single alternative means "not uncertain";
    - ``drop_indicator``: leave out one indicator of the node, or none;
    - ``standard_errors``: a table with the id column and, per indicator code, the
      standard error of each unit's observation; each run adds N(0, SE²) errors from one
      of ``error_draws`` pre-drawn realisations.

    ``replicates`` is the base sample size N of the Saltelli design (N·(d + 2) runs for d
    factors); ``workers`` processes share them (default: one per available core).
    ``all_nodes`` also records the 5–95 % score interval of every node (for monitoring;
    memory 2N × units × nodes × 8 bytes); ``unit_intervals`` adds bootstrap intervals to
    each unit's rank indices (``result.unit_intervals``). Other keyword arguments go to
    :func:`compute` (``groups``, ``reference``…). The same arguments and ``seed`` give
    identical results.
    """
    spec = load_spec(spec) if isinstance(spec, str) else spec
    node = node or spec.tree.code
    if node not in spec.node_codes:
        _subtree_indicators(spec, node)  # raises the helpful error for unknown codes
    if replicates < 2:
        raise MarkerError(
            _("At least 2 replicates are needed, got {n}; 1000 is usual.").format(n=replicates)
        )
    nominal = compute(spec, data, id_column, **compute_options)
    rng = np.random.default_rng(seed)
    model = MarkerModel(
        spec,
        data,
        node,
        id_column=id_column,
        standard_errors=standard_errors,
        error_draws=error_draws,
        seed=seed,
        compute_options=compute_options,
        all_nodes=all_nodes,
    )
    factors = marker_factors(
        spec,
        node,
        weights=weights,
        normalisation=normalisation,
        aggregation=aggregation,
        imputation=imputation,
        drop_indicator=drop_indicator,
        error_draws=error_draws,
        has_errors=model.has_errors,
        pool_size=replicates,
        rng=rng,
    )
    if not factors:
        raise MarkerError(
            _(
                "Nothing is uncertain: declare at least one choice to vary (weights, two or more "
                "normalisation, aggregation or imputation methods, leaving indicators out, or "
                "standard errors)."
            )
        )
    result = monte_carlo(
        model,
        factors,
        nominal.scores[node].to_numpy(dtype=float),
        nominal.ids,
        replicates=replicates,
        seed=seed,
        sampler=sampler,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        progress=progress,
        rng=rng,
        workers=workers,
        output_names=model.outputs,
        unit_intervals=unit_intervals,
    )
    provenance = {
        "spec_code": spec.code,
        "spec_hash": spec.hash,
        "input_hash": nominal.provenance.input_hash,
        "software_version": __version__,
        "seed": seed,
        "replicates": replicates,
        "sampler": sampler,
        "node": node,
        "weights_spread": weights,
        "choices": {
            factor.name: [_describe(a) for a in factor.alternatives]
            for factor in factors
            if factor.name not in ("weights", "measurement_error")
        },
        "error_draws": error_draws if model.has_errors else 0,
    }
    return dataclasses.replace(result, node=node, provenance=provenance)
