"""Monitoring: did each unit improve, worsen or stay put between two marker runs?

A change only counts when it is larger than the uncertainty of the two scores
(METHODOLOGY.md §2, step 12). The rule, for each unit and node:

    change = score_b − score_a
    threshold = sqrt(h_a² + h_b²)        (h = half-width of the 90 % interval)
    improved  if change >  threshold
    worsened  if change < −threshold
    no significant change otherwise

The half-widths come from :func:`inclusive_cities.marker.sensitivity.sensitivity`
(half the 5–95 % score range of each unit) or are given per unit and node. Adding the
half-widths in quadrature is the half-width of the difference of two independent
estimates; where no half-width is known, ``tolerance`` points are used instead and the
``basis`` column says so. Higher scores are always better: every node's score is on
the 0–100 "more inclusive is higher" scale after normalisation.

Entry points: :func:`compare` (two ``MarkerResult`` runs), :func:`compare_periods` (two
tables and their standard errors: scores, intervals and verdicts in one call),
:func:`compare_series` (consecutive pairs of several periods). Runs whose tree,
benchmarks or method differ are refused unless ``allow_different_specs``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker.engine import MarkerResult, compute
from inclusive_cities.marker.errors import MarkerError
from inclusive_cities.marker.sensitivity import ProgressCallback, UncertaintyResult, sensitivity
from inclusive_cities.marker.spec import MarkerSpec, Node, load_spec

IMPROVED = "improved"
WORSENED = "worsened"
NO_SIGNIFICANT_CHANGE = "no_significant_change"
NOT_COMPARABLE = "not_comparable"
VERDICTS = (IMPROVED, WORSENED, NO_SIGNIFICANT_CHANGE, NOT_COMPARABLE)


class MarkerComparisonError(MarkerError):
    """Two runs cannot be compared as they are (different trees or benchmarks, no overlap)."""


def verdict_label(verdict: str) -> str:
    """The translated, human wording of a verdict code."""
    labels = {
        IMPROVED: _("improved"),
        WORSENED: _("worsened"),
        NO_SIGNIFICANT_CHANGE: _("no significant change"),
        NOT_COMPARABLE: _("not comparable"),
    }
    return labels[verdict]


@dataclass(frozen=True)
class Comparison:
    """Change per unit and node between two runs, with a verdict for each.

    ``changes`` has one row per (unit, node): ``score_a``, ``score_b``, ``change``,
    ``threshold``, ``basis`` (``uncertainty`` or ``tolerance``) and ``verdict``.
    ``summary`` counts verdicts per node.
    """

    changes: pd.DataFrame
    summary: pd.DataFrame
    tolerance: float
    specs_differ: bool

    def to_frame(self) -> pd.DataFrame:
        return self.changes.reset_index()


def _as_half_widths(value: pd.DataFrame | None, units: pd.Index, nodes: pd.Index) -> pd.DataFrame:
    """Half-widths aligned to units × nodes; NaN where unknown."""
    if value is None:
        return pd.DataFrame(np.nan, index=units, columns=nodes)
    return value.reindex(index=units, columns=nodes).astype(float)


def compare_scores(
    scores_a: pd.DataFrame,
    scores_b: pd.DataFrame,
    *,
    half_widths_a: pd.DataFrame | None = None,
    half_widths_b: pd.DataFrame | None = None,
    tolerance: float = 0.0,
) -> Comparison:
    """Compare two units × nodes score tables (index = unit id, columns = node codes).

    Units or nodes present in only one table are reported as ``not_comparable``.
    Where only one of the two half-widths is known, the other counts as zero.
    """
    if tolerance < 0:
        raise MarkerComparisonError(
            _("The tolerance must be zero or more points, got {value}.").format(value=tolerance)
        )
    units = scores_a.index.union(scores_b.index, sort=False)
    nodes = pd.Index(list(dict.fromkeys([*scores_a.columns, *scores_b.columns])), name="node")
    a = scores_a.reindex(index=units, columns=nodes).astype(float)
    b = scores_b.reindex(index=units, columns=nodes).astype(float)
    h_a = _as_half_widths(half_widths_a, units, nodes)
    h_b = _as_half_widths(half_widths_b, units, nodes)
    known = h_a.notna() | h_b.notna()
    combined = np.sqrt(h_a.fillna(0.0) ** 2 + h_b.fillna(0.0) ** 2)
    threshold = combined.where(known, float(tolerance))
    change = b - a
    verdict = np.select(
        [
            change.isna().to_numpy(),
            (change > threshold).to_numpy(),
            (change < -threshold).to_numpy(),
        ],
        [NOT_COMPARABLE, IMPROVED, WORSENED],
        NO_SIGNIFICANT_CHANGE,
    )
    basis = np.where(known.to_numpy(), "uncertainty", "tolerance")
    unit_name = scores_a.index.name or scores_b.index.name or "unit"
    long_index = pd.MultiIndex.from_product([units, nodes], names=[unit_name, "node"])
    changes = pd.DataFrame(
        {
            "score_a": a.to_numpy().reshape(-1),
            "score_b": b.to_numpy().reshape(-1),
            "change": change.to_numpy().reshape(-1),
            "threshold": threshold.to_numpy().reshape(-1),
            "basis": basis.reshape(-1),
            "verdict": verdict.reshape(-1),
        },
        index=long_index,
    )
    summary = (
        changes.groupby(level="node", sort=False)["verdict"]
        .value_counts()
        .unstack(fill_value=0)
        .reindex(columns=list(VERDICTS), fill_value=0)
    )
    return Comparison(changes=changes, summary=summary, tolerance=tolerance, specs_differ=False)


def half_widths_from_intervals(
    low: pd.DataFrame | pd.Series, high: pd.DataFrame | pd.Series, node: str | None = None
) -> pd.DataFrame:
    """Half-widths (high − low)/2; a Series (one node's interval per unit) needs ``node``."""
    width = (high - low) / 2.0
    if isinstance(width, pd.Series):
        if node is None:
            raise ValueError("a Series of intervals needs the node it belongs to")
        return width.to_frame(node)
    return width


def describe_differences(
    signature_a: Mapping[str, object], signature_b: Mapping[str, object]
) -> list[str]:
    """Names of the parts (``tree``, ``benchmarks`` …) whose signatures differ."""
    return [key for key in signature_a if signature_a.get(key) != signature_b.get(key)]


def spec_signature(spec: MarkerSpec) -> dict[str, object]:
    """What must match for two runs to be comparable, in three parts.

    * ``tree``: every node and indicator code with its parent, and each indicator's
      direction and denominator;
    * ``benchmarks``: each indicator's normalisation (method, goalposts, targets, cuts)
      and the score scale;
    * ``method``: weights, aggregation, imputation, treatment and coverage rules.
    Names, descriptions, levels and sources do not matter.
    """
    parents = spec.parents()
    tree: list[tuple[object, ...]] = []
    benchmarks: list[object] = [spec.defaults.scale.model_dump(mode="json")]
    method: list[object] = [
        spec.defaults.missing.model_dump(mode="json"),
        spec.defaults.treatment.model_dump(mode="json"),
    ]
    for item, depth, _parent in spec.walk():
        code = item.code
        if isinstance(item, Node):
            tree.append((code, parents[code], "node"))
            aggregation = spec.aggregation_for(item, depth).model_dump(mode="json")
            method.append((code, item.weight, aggregation, spec.min_coverage_for(item)))
            continue
        denominator = item.denominator.model_dump(mode="json") if item.denominator else None
        tree.append((code, parents[code], item.direction, denominator))
        norm = spec.normalisation_for(item).model_dump(mode="json")
        norm.pop("source", None)
        benchmarks.append((code, norm))
        method.append(
            (
                code,
                item.weight,
                spec.treatment_for(item).model_dump(mode="json"),
                spec.imputation_for(item).model_dump(mode="json"),
            )
        )
    return {"tree": tree, "benchmarks": benchmarks, "method": method}


def check_comparable(
    spec_a: MarkerSpec, spec_b: MarkerSpec, *, allow_different_specs: bool = False
) -> list[str]:
    """The parts of the recipe that differ; raises unless ``allow_different_specs``."""
    differing = describe_differences(spec_signature(spec_a), spec_signature(spec_b))
    labels = {"tree": _("tree"), "benchmarks": _("benchmarks"), "method": _("method")}
    if differing and not allow_different_specs:
        raise MarkerComparisonError(
            _(
                "Cannot compare runs of spec {a} and spec {b}: their {parts} differ, so score "
                "changes would mix real change with changes of method. Use the same spec for "
                "both periods, or pass allow_different_specs=True (--allow-different-specs) "
                "to compare anyway."
            ).format(
                a=spec_a.code,
                b=spec_b.code,
                parts=", ".join(labels[part] for part in differing),
            )
        )
    return differing


def _half_widths_of(uncertainty: UncertaintyResult | pd.DataFrame | None) -> pd.DataFrame | None:
    if uncertainty is None or isinstance(uncertainty, pd.DataFrame):
        return uncertainty
    return uncertainty.half_widths()


def compare(
    run_a: MarkerResult,
    run_b: MarkerResult,
    *,
    uncertainty_a: UncertaintyResult | pd.DataFrame | None = None,
    uncertainty_b: UncertaintyResult | pd.DataFrame | None = None,
    tolerance: float = 0.0,
    allow_different_specs: bool = False,
) -> Comparison:
    """Change per unit and node from ``run_a`` (earlier) to ``run_b`` (later), with verdicts.

    The runs must use the same tree, benchmarks and method (see :func:`spec_signature`)
    unless ``allow_different_specs``. ``uncertainty_a``/``_b`` are the runs' sensitivity
    results (``sensitivity(..., all_nodes=True)`` gives every node an interval) or
    units × nodes tables of 90 % half-widths; see the module docs for the rule.
    """
    differing = check_comparable(
        run_a.spec, run_b.spec, allow_different_specs=allow_different_specs
    )
    comparison = compare_scores(
        run_a.scores,
        run_b.scores,
        half_widths_a=_half_widths_of(uncertainty_a),
        half_widths_b=_half_widths_of(uncertainty_b),
        tolerance=tolerance,
    )
    changes = comparison.changes
    for suffix, run in (("a", run_a), ("b", run_b)):
        levels = run.levels.stack()
        levels.index = levels.index.set_names(changes.index.names)
        changes[f"level_{suffix}"] = levels.reindex(changes.index).to_numpy()
    return dataclasses.replace(comparison, changes=changes, specs_differ=bool(differing))


def compare_periods(
    spec: MarkerSpec | str,
    data_a: pd.DataFrame,
    data_b: pd.DataFrame,
    *,
    spec_b: MarkerSpec | str | None = None,
    id_column: str = "unit_code",
    standard_errors_a: pd.DataFrame | None = None,
    standard_errors_b: pd.DataFrame | None = None,
    replicates: int = 200,
    seed: int = 1,
    tolerance: float = 0.0,
    allow_different_specs: bool = False,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    **compute_options: Any,
) -> Comparison:
    """Score two periods' tables and compare them, judging change by measurement error.

    Each period with standard errors gets a 90 % interval for every node from a Monte
    Carlo over its measurement errors only: the methodological choices (weights,
    methods) are the same in both periods, so they would move both scores together and
    must not widen the interval of a change. Periods without standard errors count as
    exact; nodes with no interval at all use ``tolerance``.
    """
    spec = load_spec(spec) if isinstance(spec, str) else spec
    other = spec if spec_b is None else (load_spec(spec_b) if isinstance(spec_b, str) else spec_b)
    check_comparable(spec, other, allow_different_specs=allow_different_specs)
    runs = []
    uncertainties: list[UncertaintyResult | None] = []
    periods = ((spec, data_a, standard_errors_a), (other, data_b, standard_errors_b))
    with_errors = sum(1 for *_rest, errors in periods if errors is not None)
    done_before = 0
    for period_spec, data, errors in periods:
        runs.append(compute(period_spec, data, id_column, **compute_options))
        if errors is None or replicates <= 0:
            uncertainties.append(None)
            continue
        offset = done_before

        def report(done: int, total: int, offset: int = offset) -> None:
            if progress is not None:
                progress(offset + done, total * with_errors)

        uncertainties.append(
            sensitivity(
                period_spec,
                data,
                id_column=id_column,
                weights=None,
                aggregation=None,
                drop_indicator=False,
                standard_errors=errors,
                error_draws=replicates,
                replicates=replicates,
                seed=seed,
                n_bootstrap=0,
                progress=report,
                workers=workers,
                all_nodes=True,
                **compute_options,
            )
        )
        done_before += replicates * 3
    return compare(
        runs[0],
        runs[1],
        uncertainty_a=uncertainties[0],
        uncertainty_b=uncertainties[1],
        tolerance=tolerance,
        allow_different_specs=True,
    )


def compare_series(
    runs: Mapping[str, MarkerResult],
    *,
    uncertainties: Mapping[str, UncertaintyResult | pd.DataFrame] | None = None,
    tolerance: float = 0.0,
    allow_different_specs: bool = False,
) -> pd.DataFrame:
    """Consecutive comparisons of runs given oldest first as ``{period: run}``.

    One row per (pair of consecutive periods, unit, node) with ``period_a`` and
    ``period_b`` columns, followed by the columns of :meth:`Comparison.to_frame`.
    """
    if len(runs) < 2:
        raise MarkerComparisonError(
            _("Monitoring needs at least two periods, got {n}.").format(n=len(runs))
        )
    uncertainties = uncertainties or {}
    periods = list(runs)
    frames = []
    for before, after in itertools.pairwise(periods):
        comparison = compare(
            runs[before],
            runs[after],
            uncertainty_a=uncertainties.get(before),
            uncertainty_b=uncertainties.get(after),
            tolerance=tolerance,
            allow_different_specs=allow_different_specs,
        )
        frame = comparison.to_frame()
        frame.insert(0, "period_b", after)
        frame.insert(0, "period_a", before)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
