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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker.errors import MarkerError
from inclusive_cities.marker.spec import MarkerSpec, Node, OptimisedWeights

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


# -- weights from the data (COINr's get_PCA and get_opt_weights) ------------------------------

NELDER_MEAD_BIG = 1.0e35  # R's optim replaces a non-finite objective by this


@dataclass(frozen=True)
class WeightSearch:
    """What the optimisation did: the weights (summing to 1), every objective value in the
    order evaluated (COINr prints them as 'iterating... objective function = …'), whether
    it converged, and the components' correlations with the index at the weights found."""

    weights: np.ndarray
    objective_values: list[float]
    converged: bool
    correlations: np.ndarray


def pca_weights(components: np.ndarray) -> np.ndarray:
    """First principal component's loadings of ``components`` (units × k), as COINr's
    ``get_PCA``: ``prcomp(center = TRUE, scale = TRUE)`` on the units with every component
    present. A component's sign is arbitrary; the one whose loadings sum above 0 is kept."""
    complete = components[~np.isnan(components).any(axis=1)]
    if complete.shape[0] < 2:
        raise MarkerError(
            _(
                "PCA weights need at least two units with every component scored; {n} have "
                "them. Impute missing values first, or use fixed weights."
            ).format(n=complete.shape[0])
        )
    spread = complete.std(axis=0, ddof=1)
    if (spread == 0).any():
        raise MarkerError(
            _(
                "PCA weights: component {position} has the same score in every unit, so it "
                "has no direction of variance; drop it or use fixed weights."
            ).format(position=int(np.argmax(spread == 0)) + 1)
        )
    scaled = (complete - complete.mean(axis=0)) / spread
    _left, _values, right = np.linalg.svd(scaled, full_matrices=False)
    loadings = right[0]
    return -loadings if loadings.sum() < 0 else loadings


def nelder_mead(
    objective: Callable[[np.ndarray], float],
    start: Sequence[float],
    reltol: float = 1.490116e-08,
    max_evaluations: int = 500,
    alpha: float = 1.0,
    beta: float = 0.5,
    gamma: float = 2.0,
) -> tuple[np.ndarray, float, int, bool]:
    """Minimise ``objective`` with the Nelder-Mead simplex exactly as R's ``optim`` does
    (Nash's ``nmmin``): the first simplex steps each coordinate by 10 % of the largest
    |start|; reflection ``alpha``, contraction ``beta``, expansion ``gamma``; stop when the
    highest vertex is within ``reltol·(|f₀| + reltol)`` of the lowest. Same steps, same
    evaluations, so the result matches R's to rounding. Returns (x, f, evaluations, converged).
    """
    n = len(start)
    point = np.asarray(start, dtype=float).copy()

    def value(x: np.ndarray) -> float:
        result = float(objective(x.copy()))
        return result if np.isfinite(result) else NELDER_MEAD_BIG

    first = float(objective(point.copy()))
    if not np.isfinite(first):
        raise MarkerError(_("The weight search cannot start: the objective is not finite."))
    evaluations = 1
    tolerance = reltol * (abs(first) + reltol)
    vertices = n + 1
    centre = n + 1
    simplex = np.zeros((n + 1, n + 2))  # rows: coordinates, then f; columns: vertices, centre
    simplex[:n, 0] = point
    simplex[n, 0] = first
    step = max(float(np.max(0.1 * np.abs(point))), 0.0) or 0.1
    size = 0.0
    for j in range(1, vertices):
        simplex[:n, j] = point
        trial = step
        while simplex[j - 1, j] == point[j - 1]:
            simplex[j - 1, j] = point[j - 1] + trial
            trial *= 10
        size += trial
    old_size = size
    low = 0
    recompute = True
    failed = False
    while True:
        if recompute:
            for j in range(vertices):
                if j != low:
                    simplex[n, j] = value(simplex[:n, j])
                    evaluations += 1
            recompute = False
        f_low = f_high = simplex[n, low]
        high = low
        for j in range(vertices):
            if j != low:
                f = simplex[n, j]
                if f < f_low:
                    low, f_low = j, f
                if f > f_high:
                    high, f_high = j, f
        if f_high <= f_low + tolerance:
            break
        simplex[:n, centre] = (simplex[:n, :vertices].sum(axis=1) - simplex[:n, high]) / n
        point = (1 + alpha) * simplex[:n, centre] - alpha * simplex[:n, high]
        f_reflected = value(point)
        evaluations += 1
        if f_reflected < f_low:
            simplex[n, centre] = f_reflected
            expanded = gamma * point + (1 - gamma) * simplex[:n, centre]
            simplex[:n, centre] = point
            point = expanded
            f = value(point)
            evaluations += 1
            if f < f_reflected:
                simplex[:n, high] = point
                simplex[n, high] = f
            else:
                simplex[:n, high] = simplex[:n, centre]
                simplex[n, high] = f_reflected
        else:
            if f_reflected < f_high:
                simplex[:n, high] = point
                simplex[n, high] = f_reflected
            point = (1 - beta) * simplex[:n, high] + beta * simplex[:n, centre]
            f = value(point)
            evaluations += 1
            if f < simplex[n, high]:
                simplex[:n, high] = point
                simplex[n, high] = f
            elif f_reflected >= f_high:  # shrink towards the lowest vertex
                recompute = True
                size = 0.0
                for j in range(vertices):
                    if j != low:
                        simplex[:n, j] = (
                            beta * (simplex[:n, j] - simplex[:n, low]) + simplex[:n, low]
                        )
                        size += float(np.abs(simplex[:n, j] - simplex[:n, low]).sum())
                if size < old_size:
                    old_size = size
                else:
                    failed = True
                    break
        if evaluations > max_evaluations:
            break
    converged = not failed and evaluations <= max_evaluations
    return simplex[:n, low].copy(), float(simplex[n, low]), evaluations, converged


def _correlations(components: np.ndarray, index: np.ndarray, method: str) -> np.ndarray:
    """Each component's correlation with the index over the units where both are present."""
    result = np.empty(components.shape[1])
    for j in range(components.shape[1]):
        x, y = components[:, j], index
        both = ~(np.isnan(x) | np.isnan(y))
        x, y = x[both], y[both]
        if method == "spearman":
            x = pd.Series(x).rank().to_numpy()
            y = pd.Series(y).rank().to_numpy()
        result[j] = np.corrcoef(x, y)[0, 1] if x.size > 1 else np.nan
    return result


def optimised_weights(
    components: np.ndarray,
    index_for: Callable[[np.ndarray], np.ndarray],
    targets: Sequence[float],
    correlation: str = "pearson",
    tolerance: float = 0.1,
    max_iterations: int = 500,
) -> WeightSearch:
    """Weights of ``components`` (units × k) whose correlations with the index, as shares of
    their sum, match the shares of ``targets``: COINr's ``get_opt_weights(optype =
    "balance")``. ``index_for(w)`` re-aggregates the index with the components weighted
    ``w`` (summing to 1). The search starts from the target shares."""
    share = np.asarray(targets, dtype=float)
    share = share / share.sum()
    values: list[float] = []
    last: list[np.ndarray] = []

    def objective(w: np.ndarray) -> float:
        w = w / w.sum()
        found = _correlations(components, index_for(w), correlation)
        last[:] = [found]
        with np.errstate(divide="ignore", invalid="ignore"):
            result = float(np.log(((share - found / found.sum()) ** 2).sum() / share.size))
        values.append(result)
        return result

    best, _f, _count, converged = nelder_mead(objective, share, tolerance, max_iterations)
    weights = best / best.sum()
    return WeightSearch(
        weights=weights,
        objective_values=values,
        converged=converged,
        correlations=_correlations(components, index_for(weights), correlation),
    )


def derive_weights(
    spec: MarkerSpec,
    aggregate_with: Callable[[Mapping[str, float]], np.ndarray],
    normalised: np.ndarray,
    codes: Sequence[str],
) -> tuple[dict[str, float], dict[str, WeightSearch]]:
    """Weights of every data-weighted node's components (``pca``/``optimised``), children
    before parents, each derived from the scores the weights found so far give.

    ``aggregate_with(weights)`` returns the node scores (units × nodes in pre-order) with
    those weights overriding the spec's. Returns the weights and each optimisation's record.
    """
    node_position = {code: j for j, code in enumerate(spec.node_codes)}
    indicator_position = {code: j for j, code in enumerate(codes)}
    root = node_position[spec.tree.code]
    found: dict[str, float] = {}
    searches: dict[str, WeightSearch] = {}
    for node in spec.data_weighted_nodes():
        scores = aggregate_with(found)
        parts = node.components()
        matrix = np.column_stack(
            [
                scores[:, node_position[part.code]]
                if isinstance(part, Node)
                else normalised[:, indicator_position[part.code]]
                for part in parts
            ]
        )
        part_codes = [part.code for part in parts]
        rule = node.weighting
        if isinstance(rule, OptimisedWeights):
            targets = [rule.targets[c] if rule.targets else 1.0 for c in part_codes]
            fixed = dict(found)

            def index_for(
                w: np.ndarray, fixed: dict[str, float] = fixed, names: list[str] = part_codes
            ) -> np.ndarray:
                trial = {**fixed, **dict(zip(names, w.tolist(), strict=True))}
                return aggregate_with(trial)[:, root]

            search = optimised_weights(
                matrix, index_for, targets, rule.correlation, rule.tolerance, rule.max_iterations
            )
            searches[node.code] = search
            weights = search.weights
        else:
            weights = pca_weights(matrix)
        if weights.sum() <= 0:
            raise MarkerError(
                _(
                    "The {method} weights of node {code} sum to {total}: the node's score "
                    "would be undefined; use fixed weights for it."
                ).format(method=rule.method if rule else "", code=node.code, total=weights.sum())
            )
        found.update(zip(part_codes, weights.tolist(), strict=True))
    return found, searches


def derived_weights_notes(
    spec: MarkerSpec, derived: Mapping[str, float], searches: Mapping[str, WeightSearch]
) -> list[str]:
    """One line per data-weighted node saying the weights the data chose (and whether the
    search converged), so that a reader of the scores knows what they rest on."""
    notes = []
    for node in spec.data_weighted_nodes():
        parts = ", ".join(f"{c.code} {derived[c.code]:.4f}" for c in node.components())
        method = node.weighting.method if node.weighting else ""
        notes.append(
            _("{code}: weights from the data ({method}): {weights}.").format(
                code=node.code, method=method, weights=parts
            )
        )
        search = searches.get(node.code)
        if search is not None and not search.converged:
            notes.append(
                _(
                    "{code}: the weight search stopped after {n} evaluations without "
                    "converging; raise max_iterations or tolerance in its weighting."
                ).format(code=node.code, n=len(search.objective_values))
            )
    return notes
