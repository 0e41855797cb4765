"""Census microdata → additive parts per unit, with Ibis (DuckDB or PostgreSQL).

Each indicator becomes a few aggregate columns ("parts": numerator and denominator counts,
sums, group counts). Parts are additive, so a higher level's value is recomputed from the
summed parts of its blocks, never by averaging block values. Medians are the exception:
they are recomputed from the records at every level (see :func:`microdata_parts` ``by``).
All indicators of one record type aggregate in a single query, so the records stay in the
database engine and only one small row per unit comes back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from inclusive_cities.indicators.catalogue import IndicatorSpec
from inclusive_cities.indicators.expressions import compile_expression

UNIT = "unit_code"
DISAGGREGATION_COLUMNS = ("sex", "age_group", "nationality")


def part_names(spec: IndicatorSpec) -> list[str]:
    """The aggregate columns an indicator needs, in a fixed order."""
    code = spec.code
    if spec.aggregation in ("share", "per_1000", "ratio", "mean"):
        return [f"{code}__num", f"{code}__den"]
    if spec.aggregation == "median":
        return [f"{code}__median", f"{code}__den"]
    if spec.aggregation == "gap":
        return [f"{code}__a_sum", f"{code}__a_n", f"{code}__b_sum", f"{code}__b_n"]
    if spec.aggregation == "entropy":
        return [f"{code}__g{i}" for i in range(len(spec.groups))]
    return [f"{code}__num"]  # per_km2 (the area comes from the units) and count


def _condition(spec_expr: object, table: ir.Table) -> ir.BooleanValue:
    if spec_expr is None:
        return ibis.literal(True)
    return compile_expression(spec_expr, table)  # type: ignore[arg-type]


def _both(first: ir.BooleanValue | None, second: ir.BooleanValue) -> ir.BooleanValue:
    """``first and second``, without a literal TRUE when there is no first condition."""
    return second if first is None else first & second


# Conditional aggregates are written as ``COUNT(CASE WHEN c THEN 1 END)`` and
# ``SUM(CASE WHEN c THEN x END)`` rather than with ``FILTER (WHERE c)``: the result is the
# same (a row counts or adds only where ``c`` is true) but DuckDB then updates every aggregate
# in one vectorised pass instead of building a selection per filtered aggregate, which made
# the block aggregation about a quarter cheaper in CPU (benchmarks/README.md, Indicators).


def _count(table: ir.Table, where: ir.BooleanValue | None = None) -> ir.Scalar:
    """Rows where ``where`` is true (all rows without it)."""
    if where is None:
        return table.count()
    if not isinstance(where, ir.Column):  # a constant condition
        return table.count(where=where)
    if isinstance(where.op(), ops.NotNull):  # COUNT(x) counts the non-null x already
        counted = where.op().arg.to_expr()  # type: ignore[attr-defined]
        if isinstance(counted, ir.Column):
            return counted.count()
    return where.ifelse(ibis.literal(1, type="int8"), ibis.null("int8")).count()


def _only(value: ir.Value, where: ir.BooleanValue) -> ir.Value:
    """``value`` where ``where`` is true, null elsewhere (ignored by sums and medians)."""
    return where.ifelse(value, ibis.null(value.type()))


def _aggregates(spec: IndicatorSpec, table: ir.Table) -> dict[str, ir.Scalar]:
    names = part_names(spec)
    den = (
        compile_expression(spec.denominator, table)  # type: ignore[arg-type]
        if spec.denominator is not None and spec.aggregation != "ratio"
        else None
    )
    if spec.aggregation in ("share", "per_1000"):
        num = _condition(spec.numerator, table)
        return {names[0]: _count(table, _both(den, num)), names[1]: _count(table, den)}
    if spec.aggregation in ("per_km2", "count"):
        return {names[0]: _count(table, _condition(spec.numerator, table))}
    if spec.aggregation == "ratio":
        top = compile_expression(spec.numerator, table).cast("float64")  # type: ignore[arg-type]
        bottom = compile_expression(spec.denominator, table).cast("float64")  # type: ignore[arg-type]
        both = top.notnull() & bottom.notnull()
        return {names[0]: _only(top, both).sum(), names[1]: _only(bottom, both).sum()}
    if spec.aggregation == "entropy":
        return {
            name: _count(table, _both(den, _condition(expression, table)))
            for name, (_label, expression) in zip(names, spec.groups, strict=True)
        }
    raw = compile_expression(spec.value, table)  # type: ignore[arg-type]
    # integers are summed as they are (exact); the cast is only for medians of ratios etc.
    value = raw if raw.type().is_numeric() else raw.cast("float64")
    # sums, medians and COUNT(value) skip nulls: only the denominator's condition is needed
    kept = value if den is None else _only(value, den)
    if spec.aggregation == "mean":
        return {names[0]: kept.sum(), names[1]: kept.count()}
    if spec.aggregation == "median":
        return {names[0]: kept.median(), names[1]: kept.count()}
    groups = dict(spec.groups)  # gap
    a = _only(value, _both(den, _condition(groups["a"], table)))
    b = _only(value, _both(den, _condition(groups["b"], table)))
    return {names[0]: a.sum(), names[1]: a.count(), names[2]: b.sum(), names[3]: b.count()}


def age_group_expression(table: ir.Table, age_groups: Mapping[str, tuple[int, int]]) -> ir.Value:
    """The age-group label of each person (null outside every group)."""
    branches = [(table.age.between(low, high), label) for label, (low, high) in age_groups.items()]
    return ibis.cases(*branches, else_=ibis.null("string"))


def microdata_parts(
    table: ir.Table,
    specs: Sequence[IndicatorSpec],
    by: str = UNIT,
    disaggregation: str | None = None,
    age_groups: Mapping[str, tuple[int, int]] | None = None,
) -> ir.Table:
    """One Ibis aggregation: a row per ``by`` value (and group) with every spec's parts."""
    keys = [table[by].name(UNIT)]
    if disaggregation == "age_group":
        keys.append(age_group_expression(table, age_groups or {}).name("group"))
    elif disaggregation is not None:
        keys.append(table[disaggregation].cast("string").name("group"))
    metrics: dict[str, ir.Scalar] = {}
    for spec in specs:
        metrics.update(_aggregates(spec, table))
    result = table.group_by(keys).aggregate(**metrics)
    if disaggregation is not None:
        result = result.filter(result.group.notnull())
    return result


def fetch_parts(expression: ir.Table, units: Iterable[str] | None = None) -> pd.DataFrame:
    """Run an aggregation and return its rows, keeping only ``units`` (codes) if given.

    The rows come as Arrow and are filtered and turned into pandas there: Ibis's own
    conversion checked every one of the hundreds of part columns in Python (and left nullable
    integer sums as Python objects, summed one by one up the hierarchy), and pandas' ``isin``
    on Arrow strings made a Python string per row (≈1 s of the medium demo's main thread)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = expression.to_pyarrow()
    if units is not None:
        codes = pc.cast(table[UNIT], pa.string())
        table = table.filter(pc.is_in(codes, value_set=pa.array(list(units), pa.string())))
    return table.to_pandas()


def finish(
    parts: pd.DataFrame, spec: IndicatorSpec, areas_km2: pd.Series | None = None
) -> pd.DataFrame:
    """Values and sizes from parts: columns ``value`` (NaN when suppressed) and ``n``."""
    area = areas_of(parts, areas_km2) if spec.aggregation == "per_km2" else None
    value, n = finish_arrays(part_arrays(parts, part_names(spec)), spec, area)
    return pd.DataFrame({"value": value, "n": n}, index=parts.index)


def part_arrays(parts: pd.DataFrame, names: Iterable[str]) -> dict[str, np.ndarray]:
    """The parts' columns as float64 arrays (NaN where missing), once for every indicator
    that uses them: :func:`finish_arrays` is then NumPy only (pandas per indicator, level
    and group cost ≈ 0.3 s CPU on the medium demo city)."""
    return {
        name: parts[name].to_numpy(dtype="float64", na_value=np.nan)
        for name in dict.fromkeys(names)
    }


def areas_of(parts: pd.DataFrame, areas_km2: pd.Series | None) -> np.ndarray:
    """Each row's unit area (km²), NaN when unknown."""
    if areas_km2 is None:
        return np.full(len(parts), np.nan)
    return areas_km2.reindex(parts[UNIT]).to_numpy(dtype="float64")


def finish_arrays(
    columns: Mapping[str, np.ndarray], spec: IndicatorSpec, area: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`finish` on arrays: ``(value, n)``, value NaN when suppressed. ``columns`` holds
    the spec's parts as float64 (:func:`part_arrays`); ``area`` the units' km² (per_km2)."""
    names = part_names(spec)
    filled = {name: np.where(np.isnan(columns[name]), 0.0, columns[name]) for name in names}
    agg = spec.aggregation
    with np.errstate(divide="ignore", invalid="ignore"):
        if agg in ("share", "per_1000", "ratio", "mean"):
            num, den = filled[names[0]], filled[names[1]]
            scale = {"share": 100.0, "per_1000": 1000.0}.get(agg, 1.0) * spec.scale
            value = scale * num / den
            n = den
            valid = den > 0
        elif agg == "median":
            value, n = columns[names[0]], filled[names[1]]
            valid = n > 0
        elif agg == "gap":
            a_sum, a_n, b_sum, b_n = (filled[name] for name in names)
            value = np.abs(a_sum / a_n - b_sum / b_n)
            n = a_n + b_n
            valid = (a_n > 0) & (b_n > 0) & (np.minimum(a_n, b_n) >= spec.min_denominator)
        elif agg == "entropy":
            counts = np.column_stack([filled[name] for name in names])
            n = counts.sum(axis=1)
            value = normalised_entropy(counts)
            valid = n > 0
        elif agg == "count":
            value = n = filled[names[0]]
            valid = np.ones(len(n), dtype=bool)
        else:  # per_km2
            area = np.full(len(filled[names[0]]), np.nan) if area is None else area
            value = filled[names[0]] / area
            n = filled[names[0]]
            valid = np.isfinite(area) & (area > 0)
    keep = valid & (n >= spec.min_denominator)
    return np.where(keep, value, np.nan), np.array(n, dtype="float64")


def normalised_entropy(counts: np.ndarray) -> np.ndarray:
    """Shannon entropy of each row's shares divided by ln(k) (k = number of columns): 0-1."""
    counts = np.asarray(counts, dtype="float64")
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(total > 0, counts / total, 0.0)
        logs = np.where(shares > 0, np.log(shares), 0.0)
    entropy = -(shares * logs).sum(axis=1)
    k = counts.shape[1]
    return entropy / math.log(k) if k > 1 else np.zeros(len(counts))


def parent_lookup(parent_of: Mapping[str, str] | pd.Series) -> pd.Series:
    """Child code → parent code as a Series: its index hashes the children once for every
    :func:`sum_parts` given it (``Series.map`` with a dict called Python once per row)."""
    if isinstance(parent_of, pd.Series):
        return parent_of
    return pd.Series(list(parent_of.values()), index=list(parent_of.keys()), dtype=object)


def sum_parts(
    parts: pd.DataFrame, parent_of: Mapping[str, str] | pd.Series, columns: Iterable[str]
) -> pd.DataFrame:
    """Parts of the parents: the children's additive parts summed (medians excluded).

    Children without a parent in ``parent_of`` (a mapping, or :func:`parent_lookup`) are
    dropped.
    """
    columns = [c for c in columns if not c.endswith("__median")]
    keys = [UNIT] + (["group"] if "group" in parts.columns else [])
    lookup = parent_lookup(parent_of)
    parents = lookup.reindex(parts[UNIT].to_numpy(dtype=object)).to_numpy()
    frame = parts[keys[1:] + columns].assign(**{UNIT: parents})
    frame = frame[frame[UNIT].notna()]
    return frame.groupby(keys, sort=True)[columns].sum(min_count=1).reset_index()
