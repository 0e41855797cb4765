"""The marker engine: a spec plus a table of units × indicators -> scores for every node.

Steps (Handbook 2008 ch. 1; COINr's default pipeline is the same order):
denominate -> impute -> screen -> treat outliers -> normalise -> aggregate bottom-up ->
classify, rank, aggregate to the city. Every step is vectorised over units (one NumPy
operation per indicator or node column; no loop over units). Statistics over units are
computed on sorted values, so results do not depend on row order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from inclusive_cities import __version__
from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker.aggregate import (
    WeightSearch,
    aggregate,
    derive_weights,
    derived_weights_notes,
)
from inclusive_cities.marker.errors import MarkerDataError, MarkerSpecError
from inclusive_cities.marker.impute import column_fill, group_codes, group_fill, locf_fill
from inclusive_cities.marker.normalise import normalise
from inclusive_cities.marker.spec import Goalposts, Indicator, MarkerSpec, Node, load_spec
from inclusive_cities.marker.treat import TreatmentLog, log_ct, passes, skew_kurt, winsorise_caps


@dataclass(frozen=True)
class Provenance:
    """What is needed to recompute a result and to know it is the same one."""

    spec_code: str
    spec_hash: str
    software_version: str
    seed: int | None
    parameters: dict[str, Any]
    _input_hash: Any = field(repr=False, compare=False, default=None)

    @property
    def input_hash(self) -> str:
        """SHA-256 of the input rows (independent of their order); computed on first use."""
        return str(self._input_hash())


def _row_order_free_hash(frame: pd.DataFrame) -> str:
    """Hash every row, sort the row hashes, hash the sorted list: order does not matter."""
    ordered = frame[sorted(frame.columns, key=str)]
    rows = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, ordered.columns)).encode("utf-8"))
    digest.update(np.sort(rows).tobytes())
    return digest.hexdigest()


class MarkerResult:
    """Scores and everything behind them for one run of a spec over one table of units.

    Main attributes (DataFrames are indexed by unit id):

    - ``scores``: unit × node, on the spec's scale (0–100), root first (tree pre-order).
    - ``score`` / ``rank`` / ``level``: the root's score, rank (1 = best; ties share the
      lowest rank) and performance-level code.
    - ``ranks``, ``levels``: the same for every node (computed on first use).
    - ``raw``, ``treated``, ``normalised``: indicator values as given, after denomination,
      imputation and outlier treatment, and after normalisation.
    - ``imputed``, ``treated_flags``: booleans per unit and indicator.
    - ``coverage``: share of each node's components present, per unit.
    - ``screened``: units left out for too little data. ``availability``: share of the
      indicators observed per unit.
    - ``effective_weights``: each indicator's weight in the index (nominal weights times
      the share of its ancestors, with all components present).
    - ``city``: population-weighted mean per node; ``level_shares``: population share by
      level per node. ``treatment_log``: what outlier treatment did per indicator.
    - ``provenance``: spec hash, input hash, software version, seed, parameters.
    """

    def __init__(
        self,
        *,
        spec: MarkerSpec,
        ids: pd.Index,
        data: pd.DataFrame,
        indicator_codes: list[str],
        treated_values: np.ndarray,
        normalised_values: np.ndarray,
        missing: np.ndarray | None,
        node_scores: np.ndarray,
        node_coverage: dict[str, np.ndarray | None],
        screened: np.ndarray,
        population: np.ndarray | None,
        treatment_log: list[TreatmentLog],
        notes: list[str],
        provenance: Provenance,
        recipe: dict[str, Any],
    ) -> None:
        self.spec = spec
        self.ids = ids
        self._data = data
        self.indicator_codes = indicator_codes
        self._treated = treated_values
        self._normalised = normalised_values
        self._missing = missing
        self._scores = node_scores
        self._coverage = node_coverage
        self._screened = screened
        self._population = population
        self.treatment_log = pd.DataFrame([t.__dict__ for t in treatment_log])
        self.notes = notes
        self.provenance = provenance
        self._recipe = recipe
        # weights the data chose (pca/optimised nodes' components) and the searches made
        self.derived_weights: dict[str, float] = {}
        self.weight_searches: dict[str, WeightSearch] = {}

    # -- scores --------------------------------------------------------------------
    @property
    def node_codes(self) -> list[str]:
        return self.spec.node_codes

    @cached_property
    def scores(self) -> pd.DataFrame:
        return pd.DataFrame(self._scores, index=self.ids, columns=self.node_codes, copy=False)

    @property
    def score(self) -> pd.Series:
        return self.scores[self.spec.tree.code]

    @cached_property
    def rank(self) -> pd.Series:
        return _rank(self.score)

    @cached_property
    def level(self) -> pd.Series:
        return _classify(self.score, self.spec)

    @cached_property
    def ranks(self) -> pd.DataFrame:
        return pd.DataFrame({code: _rank(self.scores[code]) for code in self.node_codes})

    @cached_property
    def levels(self) -> pd.DataFrame:
        return pd.DataFrame(
            {code: _classify(self.scores[code], self.spec) for code in self.node_codes}
        )

    # -- indicator values ------------------------------------------------------------
    @cached_property
    def raw(self) -> pd.DataFrame:
        present = [c for c in self.indicator_codes if c in self._data.columns]
        frame = self._data[present].apply(pd.to_numeric, errors="coerce")
        frame.index = self.ids
        return frame.reindex(columns=self.indicator_codes)

    @cached_property
    def treated(self) -> pd.DataFrame:
        return pd.DataFrame(self._treated, index=self.ids, columns=self.indicator_codes)

    @cached_property
    def normalised(self) -> pd.DataFrame:
        return pd.DataFrame(self._normalised, index=self.ids, columns=self.indicator_codes)

    @cached_property
    def imputed(self) -> pd.DataFrame:
        if self._missing is None:
            flags = np.zeros(self._treated.shape, dtype=bool)
        else:
            flags = self._missing & ~np.isnan(self._treated)
        return pd.DataFrame(flags, index=self.ids, columns=self.indicator_codes)

    @cached_property
    def treated_flags(self) -> pd.DataFrame:
        flags = np.zeros(self._treated.shape, dtype=bool)
        raw = self.raw.to_numpy(float)
        for entry in self.treatment_log.itertuples():
            j = self.indicator_codes.index(entry.indicator)
            if entry.action == "log":
                flags[:, j] = ~np.isnan(self._treated[:, j])
            elif entry.action == "winsorised":
                column = self._treated[:, j]
                with np.errstate(invalid="ignore"):
                    if entry.upper_cap is not None:
                        flags[:, j] |= (column == entry.upper_cap) & ~(raw[:, j] == column)
                    if entry.lower_cap is not None:
                        flags[:, j] |= (column == entry.lower_cap) & ~(raw[:, j] == column)
        return pd.DataFrame(flags, index=self.ids, columns=self.indicator_codes)

    @cached_property
    def coverage(self) -> pd.DataFrame:
        columns = {
            code: (np.ones(len(self.ids)) if cov is None else cov)
            for code, cov in self._coverage.items()
        }
        frame = pd.DataFrame(columns, index=self.ids)[self.node_codes]
        frame.loc[self._screened] = np.nan
        return frame

    @property
    def screened(self) -> pd.Series:
        return pd.Series(self._screened, index=self.ids, name="screened")

    @cached_property
    def availability(self) -> pd.Series:
        if self._missing is None or not self._missing.size:
            share = np.ones(len(self.ids))
        else:
            share = 1.0 - self._missing.mean(axis=1)
        return pd.Series(share, index=self.ids, name="availability")

    @property
    def population(self) -> pd.Series | None:
        if self._population is None:
            return None
        return pd.Series(self._population, index=self.ids, name="population")

    # -- weights and city --------------------------------------------------------------
    @cached_property
    def effective_weights(self) -> pd.Series:
        return effective_weights(self.spec, self.derived_weights)

    @cached_property
    def city(self) -> pd.DataFrame:
        """Per node: the city score (population-weighted mean), units and population counted."""
        rows = []
        weights = self._city_weights()
        for j, code in enumerate(self.node_codes):
            column = self._scores[:, j]
            ok = ~np.isnan(column)
            total = weights[ok].sum()
            value = float((column[ok] * weights[ok]).sum() / total) if total > 0 else np.nan
            rows.append(
                {
                    "node": code,
                    "score": value,
                    "level": _classify(pd.Series([value]), self.spec).iloc[0],
                    "units": int(ok.sum()),
                    "population": float(total) if self._population is not None else np.nan,
                }
            )
        return pd.DataFrame(rows).set_index("node")

    @property
    def city_score(self) -> float:
        return float(self.city.loc[self.spec.tree.code, "score"])

    @cached_property
    def level_shares(self) -> pd.DataFrame:
        """node × level: share of the (scored) population whose unit is at each level."""
        weights = self._city_weights()
        codes = [level.code for level in self.spec.levels]
        table = {}
        for code in self.node_codes:
            levels = self.levels[code].to_numpy(dtype=object)
            ok = pd.notna(levels)
            total = weights[ok].sum()
            table[code] = [
                float(weights[ok & (levels == level)].sum() / total) if total > 0 else np.nan
                for level in codes
            ]
        return pd.DataFrame(table, index=codes).T

    def _city_weights(self) -> np.ndarray:
        use = self.spec.city.method == "population_weighted_mean" and self._population is not None
        if use:
            assert self._population is not None
            return np.nan_to_num(self._population, nan=0.0)
        return np.ones(len(self.ids))

    @cached_property
    def area_coverage(self) -> pd.DataFrame:
        """Per unit: ``coverage``, the share of the index's areas (the root's components)
        that have a score, and ``missing_areas``, their codes joined by ``;``. An index
        computed from four of five areas says so, instead of passing for a whole one."""
        areas = [component.code for component in self.spec.tree.components()]
        nodes = {code: j for j, code in enumerate(self.node_codes)}
        columns = [  # an area node's score, or an indicator's own when the root has some
            self._scores[:, nodes[code]]
            if code in nodes
            else self._normalised[:, self.indicator_codes.index(code)]
            for code in areas
        ]
        if not columns:
            return pd.DataFrame({"coverage": 1.0, "missing_areas": ""}, index=self.ids)
        missing = np.isnan(np.column_stack(columns))
        share = 1.0 - missing.mean(axis=1)
        names = np.asarray(areas, dtype=object)
        listed = [";".join(names[row]) for row in missing]
        return pd.DataFrame({"coverage": share, "missing_areas": listed}, index=self.ids)

    # -- output ----------------------------------------------------------------------
    def to_frame(self, id_column: str | None = None) -> pd.DataFrame:
        """One row per unit: id, one column per node (0–100), ``rank`` and ``level`` of the
        root, its ``coverage`` (share of areas with data, 0–1) and ``missing_areas``."""
        name = id_column or str(self._recipe.get("id_column", "unit_code"))
        columns: dict[str, Any] = {name: self.ids.to_numpy()}
        for j, code in enumerate(self.node_codes):
            columns[code] = self._scores[:, j]
        columns["rank"] = self.rank.array
        columns["level"] = self.level.array
        coverage = self.area_coverage
        columns["coverage"] = coverage["coverage"].to_numpy()
        columns["missing_areas"] = coverage["missing_areas"].to_numpy()
        return pd.DataFrame(columns, copy=False)

    def recompute(self, spec: MarkerSpec | None = None, **changes: Any) -> MarkerResult:
        """Run again on the same data, with another spec and/or other ``compute`` arguments."""
        recipe = {**self._recipe, **changes}
        return compute(spec or self.spec, self._data, **recipe)

    def __repr__(self) -> str:
        return (
            f"MarkerResult(spec={self.spec.code!r}, units={len(self.ids)}, "
            f"nodes={len(self.node_codes)}, indicators={len(self.indicator_codes)})"
        )


def _rank(scores: pd.Series) -> pd.Series:
    """1 = best; ties share the lowest rank (method "min"); missing scores have no rank."""
    values = scores.to_numpy(dtype=float)
    present = ~np.isnan(values)
    ranks = np.zeros(values.size, dtype=np.int64)
    negated = -values[present]
    order = np.argsort(negated)
    ordered = negated[order]
    count = ordered.size
    if count:
        # each run of equal scores takes the position of its first member
        starts = np.empty(count, dtype=bool)
        starts[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
        first = np.maximum.accumulate(np.where(starts, np.arange(count), 0))
        within = np.empty(count, dtype=np.int64)
        within[order] = first + 1
        ranks[present] = within
    return pd.Series(pd.arrays.IntegerArray(ranks, ~present), index=scores.index, name=scores.name)


def _classify(scores: pd.Series, spec: MarkerSpec) -> pd.Series:
    """Performance level codes from the spec's cut points, as a categorical whose
    categories run from the best level to the worst (missing scores have no level)."""
    mins = np.array([level.min for level in spec.levels], dtype=float)[::-1]
    values = scores.to_numpy(dtype=float)
    ascending = np.searchsorted(mins, values, side="right") - 1
    codes = (len(mins) - 1 - np.clip(ascending, 0, len(mins) - 1)).astype(np.int8)
    codes[np.isnan(values)] = -1
    categories = [level.code for level in spec.levels]
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=categories),
        index=scores.index,
        name=scores.name,
    )


def effective_weights(spec: MarkerSpec, derived: dict[str, float] | None = None) -> pd.Series:
    """Each indicator's share of the index when every component is present (``derived``:
    weights the data chose, overriding the spec's)."""
    weights: dict[str, float] = {}
    chosen = derived or {}

    def visit(node: Node, share: float) -> None:
        components = node.components()
        total = sum(chosen.get(c.code, c.weight) for c in components)
        for component in components:
            part = share * chosen.get(component.code, component.weight) / total
            if isinstance(component, Node):
                visit(component, part)
            else:
                weights[component.code] = part

    visit(spec.tree, 1.0)
    return pd.Series(weights, name="effective_weight")[spec.indicator_codes]


# -- input checks ----------------------------------------------------------------------


def _row_label(position: int, first_row: int) -> int:
    return position + first_row


def _check_ids(data: pd.DataFrame, id_column: str, source: str, first_row: int) -> pd.Index:
    if id_column not in data.columns:
        shown = ", ".join(map(str, list(data.columns)[:8]))
        raise MarkerDataError(
            _(
                "{source}: there is no id column '{column}' (columns: {columns}); name the "
                "column that identifies units with --id-column."
            ).format(source=source, column=id_column, columns=shown)
        )
    ids = data[id_column]
    blank = ids.isna().to_numpy()
    if blank.any():
        position = int(np.flatnonzero(blank)[0])
        raise MarkerDataError(
            _(
                "{source}, row {row}, column '{column}': the unit id is empty; give every row "
                "an id."
            ).format(source=source, row=_row_label(position, first_row), column=id_column)
        )
    index = pd.Index(ids)
    if not index.is_unique:
        duplicated = index.duplicated(keep=False)
        positions = np.flatnonzero(duplicated)[:2]
        raise MarkerDataError(
            _(
                "{source}, column '{column}': the unit id '{value}' appears more than once (rows "
                "{first} and {second}); keep one row per unit."
            ).format(
                source=source,
                column=id_column,
                value=index[positions[0]],
                first=_row_label(int(positions[0]), first_row),
                second=_row_label(int(positions[1]), first_row),
            )
        )
    return index


def numeric_column(
    data: pd.DataFrame, column: str, source: str, first_row: int, id_column: str | None = None
) -> np.ndarray:
    """A column as float64, or a one-line error naming the first value that is not a number."""
    series = data[column]
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    converted = pd.to_numeric(series, errors="coerce")
    bad = (converted.isna() & series.notna()).to_numpy()
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        unit = f" ({id_column} {data[id_column].iloc[position]})" if id_column else ""
        raise MarkerDataError(
            _(
                "{source}, row {row}{unit}, column '{column}': '{value}' is not a number; write "
                "numbers with a dot for decimals and leave missing values empty."
            ).format(
                source=source,
                row=_row_label(position, first_row),
                unit=unit,
                column=column,
                value=series.iloc[position],
            )
        )
    return converted.to_numpy(dtype=float, na_value=np.nan)


# -- the pipeline -----------------------------------------------------------------------


def compute(
    spec: MarkerSpec | str,
    data: pd.DataFrame,
    id_column: str = "unit_code",
    population_column: str | None = None,
    groups: str | pd.Series | None = None,
    *,
    previous: pd.DataFrame | Sequence[pd.DataFrame] | None = None,
    reference: pd.DataFrame | None = None,
    missing_columns: str = "error",
    seed: int | None = None,
    source: str = "data",
    first_row: int = 1,
) -> MarkerResult:
    """Score every unit of ``data`` on every node of ``spec``.

    - ``data``: one row per unit, an id column and one numeric column per indicator code
      (plus denominator, population and group columns as the spec needs).
    - ``population_column``: weights of the city aggregate and level shares.
    - ``groups``: a column name (or Series aligned with ``data``) for group-mean/median
      imputation; overrides the spec's ``group_column``.
    - ``previous``: earlier periods' tables (oldest first) for ``locf`` imputation.
    - ``reference``: a table whose min/max (or mean/sd) data-driven normalisations use,
      e.g. a base period, so that scores compare over time.
    - ``missing_columns``: ``"error"`` (default) or ``"ignore"`` (treat as all missing).
    - ``seed``: recorded in the provenance (the computation itself is deterministic).
    - ``source``/``first_row``: how errors name the input (file name, row of the first unit).
    """
    spec = load_spec(spec) if isinstance(spec, str) else spec
    recipe = {
        "id_column": id_column,
        "population_column": population_column,
        "groups": groups,
        "previous": previous,
        "reference": reference,
        "missing_columns": missing_columns,
        "seed": seed,
        "source": source,
        "first_row": first_row,
    }
    ids = _check_ids(data, id_column, source, first_row)
    n = len(ids)
    indicators = spec.indicators()
    codes = [indicator.code for indicator in indicators]
    absent = [code for code in codes if code not in data.columns]
    if absent and missing_columns != "ignore":
        raise MarkerSpecError(
            _(
                "{source}: the spec {spec} uses indicator '{code}' but the data has no such column "
                "({n} missing in all); add the column, or drop the indicator from the spec."
            ).format(source=source, spec=spec.code, code=absent[0], n=len(absent))
        )
    notes: list[str] = []
    lo, hi = spec.defaults.scale.lower, spec.defaults.scale.upper

    # 1. raw values (one copy, column-major so each indicator is contiguous)
    values = np.empty((n, len(codes)), order="F")
    for j, code in enumerate(codes):
        if code in absent:
            values[:, j] = np.nan
        else:
            values[:, j] = numeric_column(data, code, source, first_row, id_column)

    # 2. denomination
    for j, indicator in enumerate(indicators):
        if indicator.denominator is not None:
            column = indicator.denominator.column
            if column not in data.columns:
                raise MarkerDataError(
                    _(
                        "{source}: indicator {code} is divided by column '{column}', which the "
                        "data does not have."
                    ).format(source=source, code=indicator.code, column=column)
                )
            denominator = numeric_column(data, column, source, first_row, id_column)
            with np.errstate(divide="ignore", invalid="ignore"):
                values[:, j] = values[:, j] / denominator * indicator.denominator.scale
            values[denominator == 0, j] = np.nan

    # a NaN anywhere makes a column's sum NaN: one fast pass per column instead of a mask
    column_has_nan = np.array([_has_nan(values[:, j]) for j in range(len(codes))], dtype=bool)
    missing = np.isnan(values) if column_has_nan.any() else None

    # 3. imputation (before screening, as COINr does)
    group_arrays = _group_arrays(spec, indicators, data, groups, source)
    previous_frames = _as_frames(previous)
    for j, indicator in enumerate(indicators):
        if missing is None or not column_has_nan[j]:
            continue
        how = spec.imputation_for(indicator)
        filled = values[:, j]
        gaps = missing[:, j]
        if how.method in ("mean", "median"):
            filled[gaps] = column_fill(filled, how.method)
        elif how.method in ("group_mean", "group_median"):
            key = _group_key(how.group_column, groups)
            group_codes_, n_groups = group_arrays[key]
            fills = group_fill(filled, group_codes_, n_groups, how.method.removeprefix("group_"))
            filled[gaps] = fills[gaps]
        elif how.method == "locf":
            fills = locf_fill(indicator.code, ids, previous_frames, id_column)
            filled[gaps] = fills[gaps]

    # 4. screening on data availability (observed, or after imputation as in COINr)
    threshold = spec.defaults.missing.unit_min_coverage
    if threshold > 0 and codes and missing is not None:
        basis = missing if spec.defaults.missing.screen_on == "raw" else np.isnan(values)
        availability = 1.0 - basis.mean(axis=1)
        screened = availability < threshold
    else:
        screened = np.zeros(n, dtype=bool)
    use = ~screened if screened.any() else None

    # 5. outlier treatment
    reference_values = _reference_values(reference, codes, source)
    logs: list[TreatmentLog] = []
    for j, indicator in enumerate(indicators):
        rule = spec.treatment_for(indicator)
        if rule.method == "none":
            continue
        log = _treat_column(indicator, rule, values[:, j], use)
        logs.append(log)
        if log.action == "log" and isinstance(spec.normalisation_for(indicator), Goalposts):
            notes.append(
                _(
                    "{code}: log-transformed by outlier treatment although it has fixed goalposts; "
                    "its goalposts were transformed the same way."
                ).format(code=indicator.code)
            )

    # 6. normalisation
    normalised = np.empty((n, len(codes)), order="F")
    normalised_has_nan = np.zeros(len(codes), dtype=bool)
    for j, indicator in enumerate(indicators):
        method = spec.normalisation_for(indicator)
        log_entry = next((t for t in logs if t.indicator == indicator.code), None)
        if log_entry is not None and log_entry.action == "log" and isinstance(method, Goalposts):
            method = _logged_goalposts(method, log_entry)
        higher = indicator.direction == "higher_is_better"
        ref = reference_values.get(indicator.code)
        normalise(method, values[:, j], use, higher, lo, hi, normalised[:, j], ref)
        normalised_has_nan[j] = _has_nan(normalised[:, j])
        if (
            normalised_has_nan[j]
            and np.isnan(normalised[:, j]).all()
            and not np.isnan(values[:, j]).all()
        ):
            notes.append(
                _(
                    "{code}: every unit has the same value, so min-max normalisation gives no "
                    "score."
                ).format(code=indicator.code)
            )
    if use is not None:
        normalised[screened, :] = np.nan
        normalised_has_nan[:] = True

    # 7. aggregation, bottom-up (weights from the data first, for pca/optimised nodes)
    derived, searches = derive_weights(
        spec,
        lambda w: _aggregate_tree(spec, normalised, codes, lo, hi, normalised_has_nan, w)[0],
        normalised,
        codes,
    )
    node_scores, coverage = _aggregate_tree(
        spec, normalised, codes, lo, hi, normalised_has_nan, derived
    )
    notes.extend(derived_weights_notes(spec, derived, searches))

    provenance = Provenance(
        spec_code=spec.code,
        spec_hash=spec.hash,
        software_version=__version__,
        seed=seed,
        parameters={
            "id_column": id_column,
            "population_column": population_column,
            "groups": groups if isinstance(groups, str) else (None if groups is None else "series"),
            "missing_columns": missing_columns,
            "absent_indicators": absent,
            "units": n,
            "screened": int(screened.sum()),
        },
        _input_hash=_lazy_hash(data, id_column, codes, spec, population_column),
    )
    population = (
        numeric_column(data, population_column, source, first_row, id_column)
        if population_column
        else None
    )
    if population_column and population is not None and (population < 0).any():
        raise MarkerDataError(
            _("{source}, column '{column}': population cannot be negative.").format(
                source=source, column=population_column
            )
        )
    result = MarkerResult(
        spec=spec,
        ids=ids,
        data=data,
        indicator_codes=codes,
        treated_values=values,
        normalised_values=normalised,
        missing=missing,
        node_scores=node_scores,
        node_coverage=coverage,
        screened=screened,
        population=population,
        treatment_log=logs,
        notes=notes,
        provenance=provenance,
        recipe=recipe,
    )
    result.derived_weights, result.weight_searches = derived, searches
    return result


class _LazyInputHash:
    """Computes the input hash over the columns a run read, once, when first asked.

    Hashing 10⁸ values takes longer than scoring them, so it is not paid unless the
    provenance is read (e.g. when a run is stored). Picklable, unlike a closure.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame
        self._value: str | None = None

    def __call__(self) -> str:
        if self._value is None:
            self._value = _row_order_free_hash(self._frame)
        return self._value


def _lazy_hash(
    data: pd.DataFrame, id_column: str, codes: list[str], spec: MarkerSpec, population: str | None
) -> _LazyInputHash:
    """The input hash of the columns the run read (id, indicators, denominators, groups)."""
    extra = {i.denominator.column for i in spec.indicators() if i.denominator}
    imputation = {spec.imputation_for(i).group_column for i in spec.indicators()} - {None}
    columns = [id_column, *codes, *sorted(extra), *sorted(c for c in imputation if c)]
    if population:
        columns.append(population)
    columns = [c for c in dict.fromkeys(columns) if c in data.columns]
    return _LazyInputHash(data[columns])


def _group_key(group_column: str | None, groups: str | pd.Series | None) -> str:
    if groups is not None:
        return "__groups__"
    return str(group_column)


def _group_arrays(
    spec: MarkerSpec,
    indicators: list[Indicator],
    data: pd.DataFrame,
    groups: str | pd.Series | None,
    source: str,
) -> dict[str, tuple[np.ndarray, int]]:
    needed = {
        spec.imputation_for(i).group_column
        for i in indicators
        if spec.imputation_for(i).method in ("group_mean", "group_median")
    }
    arrays: dict[str, tuple[np.ndarray, int]] = {}
    if not needed:
        return arrays
    if groups is not None:
        series = data[groups] if isinstance(groups, str) else pd.Series(groups)
        if isinstance(groups, str) and groups not in data.columns:
            raise MarkerDataError(
                _("{source}: there is no group column '{column}'.").format(
                    source=source, column=groups
                )
            )
        arrays["__groups__"] = group_codes(series.reset_index(drop=True))
        return arrays
    for column in needed:
        if column not in data.columns:
            raise MarkerDataError(
                _(
                    "{source}: group imputation needs the column '{column}', which the data does "
                    "not have; add it or pass groups=."
                ).format(source=source, column=column)
            )
        arrays[str(column)] = group_codes(data[column].reset_index(drop=True))
    return arrays


def _as_frames(previous: pd.DataFrame | Sequence[pd.DataFrame] | None) -> list[pd.DataFrame]:
    if previous is None:
        return []
    if isinstance(previous, pd.DataFrame):
        return [previous]
    return list(previous)


def _reference_values(
    reference: pd.DataFrame | None, codes: list[str], source: str
) -> dict[str, np.ndarray]:
    if reference is None:
        return {}
    return {
        code: numeric_column(reference, code, f"{source} (reference)", 1)
        for code in codes
        if code in reference.columns
    }


def _treat_column(
    indicator: Indicator, rule: Any, column: np.ndarray, use: np.ndarray | None
) -> TreatmentLog:
    """Apply the COINr treatment rules to one column in place (see ``treat`` module)."""
    values = column if use is None else column[use]
    skew0, kurt0 = skew_kurt(values)
    present = values[~np.isnan(values)]

    def entry(action: str, count: int, low: float | None, high: float | None) -> TreatmentLog:
        after = column if use is None else column[use]
        skew1, kurt1 = skew_kurt(after)
        return TreatmentLog(indicator.code, action, count, skew0, kurt0, skew1, kurt1, low, high)

    if rule.method == "log":
        lower, upper = float(present.min()), float(present.max())
        column[:] = log_ct(column, lower, upper)
        return entry("log", int(present.size), lower, upper)
    if passes(values, rule.skew_max, rule.kurt_max):
        return entry("none", 0, None, None)
    low, high, count, ok = winsorise_caps(values, rule.winmax, rule.skew_max, rule.kurt_max)
    if ok:
        np.clip(
            column,
            -np.inf if low is None else low,
            np.inf if high is None else high,
            out=column,
        )
        return entry("winsorised", count, low, high)
    if rule.fallback == "log":
        lower, upper = float(present.min()), float(present.max())
        column[:] = log_ct(column, lower, upper)
        return entry("log", int(present.size), lower, upper)
    return entry("failed", 0, None, None)


def _logged_goalposts(method: Goalposts, log: TreatmentLog) -> Goalposts:
    """Map fixed goalposts through the same log transform as the data (clamped to its domain)."""
    assert log.lower_cap is not None and log.upper_cap is not None
    floor = 0.01 * (log.upper_cap - log.lower_cap)

    def transform(bound: float) -> float:
        return float(np.log(max(bound - log.lower_cap + floor, floor)))  # type: ignore[operator]

    lower, upper = transform(method.lower), transform(method.upper)
    if lower >= upper:
        upper = lower + 1e-9
    return Goalposts(lower=lower, upper=upper, source=method.source)


def _has_nan(column: np.ndarray) -> bool:
    """True if any value is NaN (a NaN, or +inf with −inf, makes the sum NaN)."""
    return bool(np.isnan(np.add.reduce(column)))


def _indicator_block(
    node: Node, indicator_position: dict[str, int], normalised: np.ndarray
) -> np.ndarray | None:
    """The node's indicators as one 2-D view when they are consecutive columns, else None."""
    if node.children or not normalised.flags.f_contiguous:
        return None
    first = indicator_position[node.indicators[0].code]
    for offset, item in enumerate(node.indicators):
        if indicator_position[item.code] != first + offset:
            return None
    return normalised[:, first : first + len(node.indicators)]


def _aggregate_tree(
    spec: MarkerSpec,
    normalised: np.ndarray,
    codes: list[str],
    lo: float,
    hi: float,
    normalised_has_nan: np.ndarray | None = None,
    weights_override: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray | None]]:
    """Scores of every node (columns in pre-order) and their coverage (None = complete);
    ``weights_override`` replaces the spec's weights of the codes it names."""
    chosen = weights_override or {}
    node_codes = spec.node_codes
    position = {code: j for j, code in enumerate(node_codes)}
    indicator_position = {code: j for j, code in enumerate(codes)}
    n = normalised.shape[0]
    scores = np.empty((n, len(node_codes)), order="F")
    if normalised_has_nan is None:
        normalised_has_nan = np.array([_has_nan(normalised[:, j]) for j in range(len(codes))])
    has_nan: dict[str, bool] = {code: bool(normalised_has_nan[j]) for j, code in enumerate(codes)}
    coverage: dict[str, np.ndarray | None] = {}
    depths = spec.depths()
    for node in reversed(spec.nodes()):  # reversed pre-order: children before parents
        columns: list[np.ndarray] = []
        weights: list[float] = []
        nan_flags: list[bool] = []
        for child in node.components():
            if isinstance(child, Node):
                columns.append(scores[:, position[child.code]])
            else:
                columns.append(normalised[:, indicator_position[child.code]])
            weights.append(chosen.get(child.code, child.weight))
            nan_flags.append(has_nan[child.code])
        rule = spec.aggregation_for(node, depths[node.code])
        result = scores[:, position[node.code]]
        block = _indicator_block(node, indicator_position, normalised)
        if rule.method == "arithmetic" and block is not None and not any(nan_flags):
            # complete data in consecutive column-major columns: one BLAS pass
            w = np.asarray(weights, dtype=float)
            np.dot(block, w / w.sum(), out=result)
        else:
            aggregate(rule.method, columns, weights, nan_flags, rule.p, lo, hi, out=result)
        if any(nan_flags):
            present = np.zeros(n)
            for column, flag in zip(columns, nan_flags, strict=True):
                present += 1.0 if not flag else ~np.isnan(column)
            share = present / len(columns)
            result[share < spec.min_coverage_for(node)] = np.nan
            result[share == 0] = np.nan
            coverage[node.code] = share
        else:
            coverage[node.code] = None
        has_nan[node.code] = _has_nan(result)
    return scores, coverage


aggregate_tree = _aggregate_tree
"""Public name of the bottom-up aggregation step: ``aggregate_tree(spec, normalised (units ×
indicators, columns in ``codes`` order), codes, lo, hi) -> (scores units × nodes in
pre-order, coverage per node)``; used by the sensitivity analysis to re-aggregate."""
