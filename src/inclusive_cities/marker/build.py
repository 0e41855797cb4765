"""Marker runs on the store: observations of a city's units in a period -> a MarkerRun."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker.engine import MarkerResult, compute
from inclusive_cities.marker.errors import MarkerError
from inclusive_cities.marker.spec import MarkerSpec, Node
from inclusive_cities.progress import ProgressCallback, quiet_progress
from inclusive_cities.store import models
from inclusive_cities.store.bulk import bulk_insert, keys_checked_by_value, python_column
from inclusive_cities.store.tables import (
    CITIES,
    INDICATORS,
    LEVELS,
    OBSERVATIONS,
    PERIODS,
    RUNS,
    UNITS,
)


class Keyed(Protocol):
    """A city or period: an ORM object or a Core row of its table."""

    id: int
    code: str


class Level(Keyed, Protocol):
    """A unit level (ORM object or Core row)."""

    depth: int


@dataclass(frozen=True)
class BuildSummary:
    run_id: int
    units: int
    scores_written: int
    city_score: float | None
    absent_indicators: list[str]
    result: MarkerResult
    inherited: dict[str, str] | None = None
    aggregated: dict[str, str] | None = None


def _descendant_indicators(spec: MarkerSpec) -> dict[str, list[str]]:
    """node code -> the indicator codes below it."""
    below: dict[str, list[str]] = {}

    def visit(node: Node) -> list[str]:
        codes: list[str] = []
        for child in node.components():
            codes.extend(visit(child) if isinstance(child, Node) else [child.code])
        below[node.code] = codes
        return codes

    visit(spec.tree)
    return below


def _lookup(session: Session, city: str, period: str, level: str | None) -> tuple[Any, Any, Any]:
    """The city, period and unit level rows (``id``, ``code``; the level's ``depth`` too).

    Core queries on the tables, not ORM entities: the process's first ORM query configures
    every mapper (≈0.03-0.2 s CPU), which nothing else ``marker build`` does needs."""
    connection = _core(session)
    cities, periods, levels = CITIES, PERIODS, LEVELS
    city_row = connection.execute(
        select(cities.c.id, cities.c.code).where(cities.c.code == city)
    ).first()
    if city_row is None:
        raise MarkerError(
            _("There is no city '{city}' in the observatory; see 'inclusive-cities info'.").format(
                city=city
            )
        )
    period_row = connection.execute(
        select(periods.c.id, periods.c.code).where(periods.c.code == period)
    ).first()
    if period_row is None:
        raise MarkerError(
            _("There is no period '{period}' in the observatory.").format(period=period)
        )
    query = select(levels.c.id, levels.c.code, levels.c.depth).where(
        levels.c.city_id == city_row.id
    )
    if level is None:
        level_row = connection.execute(query.order_by(levels.c.depth.desc()).limit(1)).first()
    else:
        level_row = connection.execute(query.where(levels.c.code == level)).first()
    if level_row is None:
        raise MarkerError(
            _("City '{city}' has no unit level '{level}'.").format(city=city, level=level or "-")
        )
    return city_row, period_row, level_row


def build_run(
    engine: Engine,
    city: str,
    period: str,
    spec: MarkerSpec,
    level: str | None = None,
    population_indicator: str = "population",
    uncertainty_replicates: int = 0,
    seed: int = 1,
    progress: ProgressCallback | None = None,
) -> BuildSummary:
    """Compute ``spec`` on the observations of ``city``'s units (one level) for ``period``
    and store the run with a score row per unit and node, in one transaction.

    Only whole-population values (every disaggregation ``_T``) that are not suppressed are
    read. Indicators with no observation at all are left missing (recorded in the run).
    With ``uncertainty_replicates`` > 0, a Monte Carlo over weights, aggregation and
    left-out indicators (:func:`~inclusive_cities.marker.sensitivity.sensitivity`) gives
    each unit's 5-95 % rank interval, kept in the run's parameters as ``rank_intervals``
    (reports and the web show it beside the rank).
    ``progress(step, done, total)`` hears of each step (3, or 4 with rank intervals).
    """
    progress = progress or quiet_progress
    steps = 4 if uncertainty_replicates > 0 else 3
    progress(_("Reading the observations"), 0, steps)
    codes = spec.indicator_codes
    wanted = [*codes, population_indicator]
    # the transaction reads, then inserts the run (its city, period and level were just read
    # in it) and its scores, whose keys bulk_insert checks per distinct value; nothing is
    # deleted, so nothing relies on cascades (see keys_checked_by_value)
    with keys_checked_by_value(engine) as session:
        city_row, period_row, level_row = _lookup(session, city, period, level)
        units = (
            _core(session)
            .execute(
                select(UNITS.c.id, UNITS.c.code).where(
                    UNITS.c.city_id == city_row.id, UNITS.c.level_id == level_row.id
                )
            )
            .all()
        )
        if not units:
            raise MarkerError(
                _("City '{city}' has no units at level '{level}'.").format(
                    city=city, level=level_row.code
                )
            )
        rows = _level_rows(session, city_row, period_row, level_row, wanted, units)
        inherited: dict[str, str] = {}
        aggregated: dict[str, str] = {}
        observed = set(rows.present().tolist())  # distinct codes, not per row
        lacking = [c for c in codes if c not in observed]
        borrowed: list[pd.DataFrame] = []
        if lacking:
            extra, inherited = _inherit(session, city_row, period_row, level_row, lacking)
            lacking = [c for c in lacking if c not in inherited]
            finer, aggregated = _aggregate_up(
                session, city_row, period_row, level_row, lacking, population_indicator
            )
            borrowed = [frame for frame in (extra, finer) if len(frame)]
        wide, found = _wide(rows, borrowed, units)
        unit_ids = {code: unit_id for unit_id, code in units}
        population = population_indicator if population_indicator in wide.columns else None
        progress(_("Computing the marker"), 1, steps)
        result = compute(
            spec,
            wide,
            id_column="unit_code",
            population_column=population,
            missing_columns="ignore",
            source=f"{city}/{period}/{level_row.code}",
        )
        absent = [c for c in codes if c not in found]
        if not result.score.notna().any():
            # an all-empty run would replace a good one on the site once published
            raise MarkerError(
                _(
                    "{city} {period}, level '{level}': no unit gets an index with {spec}, so "
                    "no run was stored: {why}. Import the missing indicators for this level, "
                    "or choose a level that has them ({levels})."
                ).format(
                    city=city,
                    period=period,
                    level=level_row.code,
                    spec=spec.code,
                    why=no_index_reason(result, absent),
                    levels=_observed_levels(session, city_row, period_row, codes) or "-",
                )
            )
        city_score = result.city_score
        rank_intervals = (
            _rank_intervals(
                _uncertainty_spec(spec, result.derived_weights),
                wide,
                population,
                uncertainty_replicates,
                seed,
                lambda done, runs: progress(
                    _("Rank intervals: {done} of {runs} marker runs").format(done=done, runs=runs),
                    2,
                    steps,
                ),
            )
            if uncertainty_replicates > 0
            else None
        )
        run = dict(
            city_id=city_row.id,
            period_id=period_row.id,
            level_id=level_row.id,
            spec_code=spec.code,
            spec_hash=spec.hash,
            input_hash=result.provenance.input_hash,
            software_version=result.provenance.software_version,
            seed=result.provenance.seed,
            parameters={
                **result.provenance.parameters,
                "spec": spec.model_dump(mode="json"),
                "population_indicator": population,
                "inherited": inherited,
                "aggregated": aggregated,
                # weights the data chose for pca/optimised nodes (the spec holds only the rule)
                **({"derived_weights": result.derived_weights} if result.derived_weights else {}),
                **(
                    {
                        "rank_intervals": rank_intervals,
                        "uncertainty": {"replicates": uncertainty_replicates, "seed": seed},
                    }
                    if rank_intervals is not None
                    else {}
                ),
            },
            city_score=None if np.isnan(city_score) else city_score,
        )
        progress(_("Storing the scores"), steps - 1, steps)
        # a Core insert (the model's column defaults apply): no ORM unit of work (see _lookup)
        inserted = _core(session).execute(insert(RUNS).values(**run))
        run_id = int(inserted.inserted_primary_key[0])
        scores_written = bulk_insert(
            session, models.MarkerScore.__table__, _score_columns(run_id, result, unit_ids, spec)
        )
    progress(_("Marker run stored"), steps, steps)
    return BuildSummary(
        run_id=run_id,
        units=len(unit_ids),
        scores_written=scores_written,
        city_score=None if np.isnan(city_score) else city_score,
        absent_indicators=absent,
        result=result,
        inherited=inherited,
        aggregated=aggregated,
    )


def no_index_reason(result: MarkerResult, absent: list[str]) -> str:
    """Why no unit has an index: the indicators without any value, and those with values
    when they are too few to meet the spec's coverage rule (one clause, no full stop)."""
    spec = result.spec
    raw = result.raw
    codes = spec.indicator_codes
    empty = [c for c in codes if c in absent or not raw[c].notna().any()]
    present = [c for c in codes if c not in empty]
    why = _("no values for {codes} ({n} of {total} indicators)").format(
        codes=", ".join(empty) or "-", n=len(empty), total=len(codes)
    )
    if present:
        why += _(
            "; values only for {codes}, too few for the index (each node needs "
            "{share:.0%} of its parts)"
        ).format(codes=", ".join(present), share=spec.defaults.missing.min_coverage)
    return why


def has_index_values(session: Session, run: models.MarkerRun) -> bool:
    """Whether any unit of a stored run has an index score (the root of its spec). A run
    without one must never be published: the site would show it instead of a good one."""
    spec = (run.parameters or {}).get("spec") or {}
    tree = spec.get("tree") if isinstance(spec, dict) else None
    root = tree.get("code") if isinstance(tree, dict) else None
    query = select(models.MarkerScore.id).where(
        models.MarkerScore.run_id == run.id, models.MarkerScore.score.is_not(None)
    )
    if root is not None:
        query = query.where(models.MarkerScore.node_code == root)
    return session.scalar(query.limit(1)) is not None


def empty_run_reason(session: Session, run: models.MarkerRun) -> str:
    """One line: which run was not published, why, and which run the site keeps showing."""
    current = session.scalar(
        select(models.MarkerRun.id)
        .where(
            models.MarkerRun.city_id == run.city_id,
            models.MarkerRun.period_id == run.period_id,
            models.MarkerRun.spec_code == run.spec_code,
            models.MarkerRun.published.is_(True),
            models.MarkerRun.id != run.id,
        )
        .order_by(models.MarkerRun.id.desc())
        .limit(1)
    )
    absent = (run.parameters or {}).get("absent_indicators") or []
    kept = (
        _("the site keeps showing run {id}").format(id=current)
        if current is not None
        else _("no run of this spec and period is published")
    )
    return _(
        "Marker run {id} ({spec}) was not published: no unit has an index value "
        "(indicators without values: {codes}); {kept}. Import the missing data, run "
        "'marker build' again and publish the new run."
    ).format(id=run.id, spec=run.spec_code, codes=", ".join(absent) or "-", kept=kept)


def _observed_levels(session: Session, city: Keyed, period: Keyed, codes: list[str]) -> str:
    """The unit levels of ``city`` with any value of ``codes`` in ``period``, comma-joined."""
    rows = session.scalars(
        select(models.UnitLevel.code)
        .join(models.SpatialUnit, models.SpatialUnit.level_id == models.UnitLevel.id)
        .join(models.Observation, models.Observation.unit_id == models.SpatialUnit.id)
        .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
        .where(
            models.SpatialUnit.city_id == city.id,
            models.Observation.period_id == period.id,
            models.Observation.value.is_not(None),
            models.Indicator.code.in_(codes),
        )
        .distinct()
    ).all()
    return ", ".join(sorted(rows))


EMPTY = ["unit_code", "indicator", "value"]


def _core(session: Session) -> Any:
    """The session's connection: plain Core rows for big reads (the ORM's row loading cost
    ~1 s CPU for the 168,000 observations of a medium city's blocks)."""
    return session.connection()


@dataclass(frozen=True)
class LevelRows:
    """A level's values as :func:`_level_rows` reads them: per row, the position of its unit
    in ``units`` and of its indicator in ``codes``, and its value."""

    unit: np.ndarray
    indicator: np.ndarray
    value: np.ndarray
    codes: np.ndarray

    def present(self) -> np.ndarray:
        """The codes of the indicators with at least one row."""
        counts = np.bincount(self.indicator, minlength=len(self.codes))
        return self.codes[np.flatnonzero(counts)]  # type: ignore[no-any-return]


def _level_values(
    session: Session,
    city: Keyed,
    period: Keyed,
    level: Level,
    codes: list[str],
    units: Sequence[Sequence[Any]],
) -> pd.DataFrame:
    """unit_code, indicator, value: the published whole-population values of ``codes`` for
    the level's ``units`` (id, code), as a long table (see :func:`_level_rows`)."""
    rows = _level_rows(session, city, period, level, codes, units)
    unit_codes = np.array([code for _id, code in units], dtype=object)
    return pd.DataFrame(
        {
            "unit_code": pd.Series(unit_codes[rows.unit], dtype="str"),
            "indicator": pd.Series(rows.codes[rows.indicator], dtype="str"),
            "value": rows.value,
        }
    )


def _level_rows(
    session: Session,
    city: Keyed,
    period: Keyed,
    level: Level,
    codes: list[str],
    units: Sequence[Sequence[Any]],
) -> LevelRows:
    """The published whole-population values of ``codes`` for the level's ``units`` (id,
    code), by position in ``units`` and in the indicator codes read.

    Ids, not codes, are read and named afterwards: with the indicator ids the query walks
    only their rows of the period index (not the period's 440,000 on the medium demo), and
    the driver's plain tuples of numbers become one NumPy array (the medium demo's 172,807
    rows: ≈0.3 s CPU less than rows of strings made into a DataFrame)."""
    query = select(INDICATORS.c.id, INDICATORS.c.code).where(INDICATORS.c.code.in_(codes))
    indicators = {int(i): str(code) for i, code in _core(session).execute(query)}
    result = _core(session).execute(
        select(OBSERVATIONS.c.unit_id, OBSERVATIONS.c.indicator_id, OBSERVATIONS.c.value)
        .join(UNITS, UNITS.c.id == OBSERVATIONS.c.unit_id)
        .where(
            UNITS.c.city_id == city.id,
            UNITS.c.level_id == level.id,
            OBSERVATIONS.c.period_id == period.id,
            OBSERVATIONS.c.status != "suppressed",
            OBSERVATIONS.c.sex == models.TOTAL,
            OBSERVATIONS.c.age_group == models.TOTAL,
            OBSERVATIONS.c.nationality == models.TOTAL,
            OBSERVATIONS.c.indicator_id.in_(list(indicators)),
        )
    )
    try:
        rows = result.cursor.fetchall()  # the driver's tuples: no Row object per row
    finally:
        result.close()
    table = np.array(rows, dtype="float64").reshape(-1, 3)  # ids are exact below 2**53
    unit_ids = np.array([unit_id for unit_id, _code in units], dtype="int64")
    order = np.argsort(unit_ids)
    where = order[np.searchsorted(unit_ids, table[:, 0].astype("int64"), sorter=order)]
    indicator_ids = np.array(list(indicators), dtype="int64")
    indicator_codes = np.array(list(indicators.values()), dtype=object)
    sorter = np.argsort(indicator_ids)
    which = sorter[np.searchsorted(indicator_ids, table[:, 1].astype("int64"), sorter=sorter)]
    return LevelRows(unit=where, indicator=which, value=table[:, 2], codes=indicator_codes)


def _wide(
    rows: LevelRows, borrowed: list[pd.DataFrame], units: Sequence[Sequence[Any]]
) -> tuple[pd.DataFrame, set[str]]:
    """The table the engine scores, and the indicator codes it has values for: one row per
    unit (sorted by code), ``unit_code`` then one column per indicator (sorted), as
    ``long.pivot(index="unit_code", columns="indicator")`` reindexed to every unit gave it,
    filled by position in one NumPy matrix (the pivot of 172,807 strings cost ≈0.1 s CPU).
    ``borrowed``: long frames (unit_code, indicator, value) of the values taken from other
    levels, for indicators the level itself has none of; a unit has one value per
    indicator."""
    unit_codes = [str(code) for _id, code in units]
    order = sorted(range(len(unit_codes)), key=unit_codes.__getitem__)
    position = np.empty(len(unit_codes), dtype=np.int64)
    position[np.array(order, dtype=np.int64)] = np.arange(len(unit_codes))
    present = rows.present().tolist()
    extra_codes = [str(code) for frame in borrowed for code in frame["indicator"].unique()]
    columns = sorted({*present, *extra_codes})
    column_of = {code: j for j, code in enumerate(columns)}
    matrix = np.full((len(unit_codes), len(columns)), np.nan)
    if len(rows.value):
        # codes read but without a row have no column (and no row points to them)
        where = np.array([column_of.get(str(code), -1) for code in rows.codes], dtype=np.int64)
        matrix[position[rows.unit], where[rows.indicator]] = rows.value
    if borrowed:
        row_of = {unit_codes[i]: k for k, i in enumerate(order)}
        for frame in borrowed:
            # plain objects, not pandas strings (iterating those costs ≈1 µs a value)
            at = np.array(
                [row_of.get(str(code), -1) for code in frame["unit_code"].to_numpy(object)],
                dtype=np.int64,
            )
            keep = at >= 0
            indices, names = pd.factorize(frame["indicator"].to_numpy(object))
            js = np.array([column_of[str(name)] for name in names], dtype=np.int64)[indices]
            matrix[at[keep], js[keep]] = frame["value"].to_numpy(dtype=float)[keep]
    wide = pd.DataFrame(matrix, columns=pd.Index(columns, dtype="str", name="indicator"))
    wide.insert(0, "unit_code", pd.array([unit_codes[i] for i in order], dtype="str"))
    return wide, set(columns)


def _frame(rows: Sequence[Sequence[object]], columns: list[str]) -> pd.DataFrame:
    """A frame from result rows, built column by column (``from_records`` probes each row:
    ~10× slower on hundreds of thousands of rows)."""
    if not rows:
        return pd.DataFrame.from_records([], columns=columns)
    return pd.DataFrame(
        {name: list(values) for name, values in zip(columns, zip(*rows, strict=True), strict=True)}
    )


def _city_units(session: Session, city: Keyed) -> pd.DataFrame:
    return _frame(
        _core(session)
        .execute(
            select(
                UNITS.c.id,
                UNITS.c.code,
                UNITS.c.parent_id,
                UNITS.c.level_id,
            ).where(UNITS.c.city_id == city.id)
        )
        .all(),
        ["id", "code", "parent_id", "level_id"],
    )


def _levels(session: Session, city: Keyed) -> dict[int, tuple[str, int]]:
    """level id -> (code, depth)."""
    rows = (
        _core(session)
        .execute(
            select(LEVELS.c.id, LEVELS.c.code, LEVELS.c.depth).where(LEVELS.c.city_id == city.id)
        )
        .all()
    )
    return {level_id: (code, depth) for level_id, code, depth in rows}


def _whole_population_values(
    session: Session,
    city: Keyed,
    period: Keyed,
    level_ids: list[int],
    codes: list[str],
) -> pd.DataFrame:
    """unit_id, indicator, value: published (not suppressed) whole-population values.

    Filtered by indicator id, not by a join on the code: SQLite then walks the period index
    for those indicators only, not for the period's every row."""
    query = select(INDICATORS.c.id, INDICATORS.c.code).where(INDICATORS.c.code.in_(codes))
    names = {int(i): str(code) for i, code in _core(session).execute(query)}
    rows = (
        _core(session)
        .execute(
            select(
                OBSERVATIONS.c.unit_id,
                OBSERVATIONS.c.indicator_id,
                OBSERVATIONS.c.value,
            )
            .join(UNITS, UNITS.c.id == OBSERVATIONS.c.unit_id)
            .where(
                UNITS.c.city_id == city.id,
                UNITS.c.level_id.in_(level_ids),
                OBSERVATIONS.c.period_id == period.id,
                OBSERVATIONS.c.status != "suppressed",
                OBSERVATIONS.c.value.is_not(None),
                OBSERVATIONS.c.sex == models.TOTAL,
                OBSERVATIONS.c.age_group == models.TOTAL,
                OBSERVATIONS.c.nationality == models.TOTAL,
                OBSERVATIONS.c.indicator_id.in_(list(names)),
            )
        )
        .all()
    )
    return _frame(
        [(unit_id, names[indicator], value) for unit_id, indicator, value in rows],
        ["unit_id", "indicator", "value"],
    )


def _inherit(
    session: Session,
    city: Keyed,
    period: Keyed,
    level: Level,
    codes: list[str],
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Values of indicators observed only at coarser levels, given to each unit from its
    nearest ancestor that has one (a barrio's crime rate for each of its blocks).

    Returns the rows to add (unit_code, indicator, value) and code -> the level used.
    """
    units = _city_units(session, city)
    levels = _levels(session, city)
    coarser = [i for i, (_code, depth) in levels.items() if depth < level.depth]
    ancestors = units[units["level_id"] == level.id][["code", "parent_id"]]
    ancestors = ancestors.rename(columns={"parent_id": "ancestor"})
    if ancestors.empty or not coarser or not codes:
        return pd.DataFrame(columns=EMPTY), {}
    observed = _whole_population_values(session, city, period, coarser, codes)
    parent_of = units.set_index("id")["parent_id"]
    level_of = units.set_index("id")["level_id"]
    rows: list[pd.DataFrame] = []
    used: dict[str, str] = {}
    pending = set(observed["indicator"])
    while pending and ancestors["ancestor"].notna().any():
        at = ancestors["ancestor"].dropna().astype(int)
        for code in sorted(pending):
            values = observed[observed["indicator"] == code].set_index("unit_id")["value"]
            found = at.map(values).dropna()
            if found.empty:
                continue
            rows.append(
                pd.DataFrame(
                    {
                        "unit_code": ancestors.loc[found.index, "code"],
                        "indicator": code,
                        "value": found.to_numpy(),
                    }
                )
            )
            used[code] = levels[int(level_of[at[found.index[0]]])][0]
            pending.discard(code)
        ancestors = ancestors.assign(ancestor=ancestors["ancestor"].map(parent_of))
    if not rows:
        return pd.DataFrame(columns=EMPTY), {}
    return pd.concat(rows, ignore_index=True), used


def _aggregate_up(
    session: Session,
    city: Keyed,
    period: Keyed,
    level: Level,
    codes: list[str],
    population_indicator: str,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Values of indicators observed only at finer levels, as the population-weighted mean of
    each unit's parts at the nearest finer level that has them (a locality's crime rate from
    its barrios'). A part without a population count weighs nothing, unless none of its
    unit's parts has one: then they weigh equally.

    Returns the rows to add (unit_code, indicator, value) and code -> the level used.
    """
    levels = _levels(session, city)
    finer = sorted(
        (depth, level_id) for level_id, (_c, depth) in levels.items() if depth > level.depth
    )
    if not finer or not codes:
        return pd.DataFrame(columns=EMPTY), {}
    units = _city_units(session, city)
    parent_of = units.set_index("id")["parent_id"]
    level_of = units.set_index("id")["level_id"]
    code_of = units.set_index("id")["code"]
    rows: list[pd.DataFrame] = []
    used: dict[str, str] = {}
    pending = list(codes)
    for _depth, level_id in finer:
        if not pending:
            break
        observed = _whole_population_values(
            session, city, period, [level_id], [*pending, population_indicator]
        )
        if observed.empty:
            continue
        wide = observed.pivot_table(
            index="unit_id", columns="indicator", values="value", aggfunc="first"
        )
        # each part's unit at ``level``: walk the parents up
        owner = pd.Series(wide.index, index=wide.index, dtype="float64")
        while owner.notna().any():
            at_level = owner.dropna().astype(int).map(level_of) == level.id
            if at_level.all():
                break
            climbing = at_level[~at_level].index
            # a unit without a parent (None) ends its climb as NaN: it belongs to no unit
            owner.loc[climbing] = owner.loc[climbing].astype(int).map(parent_of).astype("float64")
        wide = wide[owner.notna()]
        owner = owner.dropna().astype(int)
        weights = (
            wide[population_indicator].fillna(0.0)
            if population_indicator in wide.columns and wide[population_indicator].notna().any()
            else pd.Series(1.0, index=wide.index)
        )
        for code in [c for c in pending if c in wide.columns]:
            present = wide[code].notna()
            if not present.any():
                continue
            weight = weights[present]
            # a unit none of whose parts has people counted weighs its parts equally
            unweighted = weight.groupby(owner[present]).transform("sum") <= 0
            weight = weight.mask(unweighted, 1.0)
            frame = (
                pd.DataFrame(
                    {
                        "owner": owner[present],
                        "weighted": wide.loc[present, code] * weight,
                        "weight": weight,
                    }
                )
                .groupby("owner")[["weighted", "weight"]]
                .sum()
            )
            rows.append(
                pd.DataFrame(
                    {
                        "unit_code": code_of.reindex(frame.index).to_numpy(),
                        "indicator": code,
                        "value": (frame["weighted"] / frame["weight"]).to_numpy(),
                    }
                )
            )
            used[code] = levels[level_id][0]
        pending = [c for c in pending if c not in used]
    if not rows:
        return pd.DataFrame(columns=EMPTY), {}
    return pd.concat(rows, ignore_index=True), used


def _uncertainty_spec(spec: MarkerSpec, derived: dict[str, float]) -> MarkerSpec:
    """The spec the Monte Carlo perturbs: with the weights the data chose written in (so
    that it varies those, not the nominal ones). It perturbs positive weights only."""
    if not derived:
        return spec
    negative = next(((code, w) for code, w in derived.items() if w <= 0), None)
    if negative is not None:
        raise MarkerError(
            _(
                "The uncertainty analysis varies positive weights, but the data gave {code} the "
                "weight {weight:.4f} (PCA): use fixed or optimised weights for its node, or "
                "leave --uncertainty out."
            ).format(code=negative[0], weight=negative[1])
        )
    return spec.with_weights_fixed(derived)


def _rank_intervals(
    spec: MarkerSpec,
    wide: pd.DataFrame,
    population: str | None,
    replicates: int,
    seed: int,
    runs: Callable[[int, int], None] | None = None,
) -> dict[str, list[int]]:
    """unit code -> [5th, 95th percentile rank] over the Monte Carlo runs."""
    from inclusive_cities.marker.sensitivity import sensitivity

    outcome = sensitivity(
        spec,
        wide,
        id_column="unit_code",
        replicates=replicates,
        seed=seed,
        n_bootstrap=100,
        workers=1,
        population_column=population,
        missing_columns="ignore",
        progress=runs,
    )
    units = outcome.units
    return {
        str(code): [round(float(low)), round(float(high))]
        for code, low, high in zip(units.index, units["rank_p05"], units["rank_p95"], strict=True)
        if not (np.isnan(low) or np.isnan(high))
    }


def _score_columns(
    run_id: int, result: MarkerResult, unit_ids: dict[str, int], spec: MarkerSpec
) -> dict[str, Any]:
    """The score rows, column by column (one row per unit and node, then per unit and
    indicator), ready for :func:`~inclusive_cities.store.bulk.bulk_insert`.

    All parts at once as units × parts matrices: levels and ranks as the engine's
    ``_classify`` and ``_rank`` give them (cut points; 1 = best, ties share the lowest rank),
    computed column-wise in NumPy instead of a pandas Series per node and indicator
    (≈0.4 s CPU for the 75 parts of a medium demo's blocks)."""
    below = _descendant_indicators(spec)
    known = pd.Index(list(unit_ids))
    ids = np.fromiter(unit_ids.values(), dtype=np.int64, count=len(unit_ids))[
        known.get_indexer(result.ids.astype(str))
    ]
    nodes = list(spec.node_codes)
    indicators = list(spec.indicator_codes)
    parts = [*nodes, *indicators]
    if not parts:
        return {name: [] for name in SCORE_COLUMNS}
    count = len(ids)
    # indicators too: their normalised 0-100 score, so a unit's profile can show each one's
    # level and rank beside its raw value
    scores = np.column_stack(
        [
            result.scores[nodes].to_numpy(dtype=float).reshape(count, len(nodes)),
            result.normalised[indicators].to_numpy(dtype=float).reshape(count, len(indicators)),
        ]
    )
    present = ~np.isnan(scores)
    node_coverage = result.coverage[nodes].to_numpy(dtype=float).reshape(count, len(nodes))
    coverage = np.column_stack([node_coverage, np.ones((count, len(indicators)))])
    coverage = np.where(present, coverage, np.nan)
    coverage[:, len(nodes) :][~present[:, len(nodes) :]] = 0.0
    imputed = result.imputed
    flags = imputed.to_numpy(dtype=bool).reshape(count, imputed.shape[1])
    column = {code: j for j, code in enumerate(imputed.columns)}
    imputed_flags = np.column_stack(
        [flags[:, [column[c] for c in below[code]]].any(axis=1) for code in nodes]
        + [flags[:, column[code]] for code in indicators]
    ).reshape(count, len(parts))
    # unit by unit (parts in spec order within a unit): the unique index on (run, unit, node)
    # then grows at its end
    order = np.argsort(ids, kind="stable")
    scores, present = scores[order], present[order]
    levels = _levels_of(scores, present, spec)
    ranks = _ranks_of(scores, present)
    return {
        # NumPy keys: bulk_insert finds their distinct values (its foreign key check) without
        # a Python object per row, and makes Python values a chunk at a time
        "run_id": np.full(len(parts) * count, run_id, dtype=np.int64),
        "unit_id": np.repeat(ids[order], len(parts)),
        "node_code": parts * count,
        "score": _nullable(scores.ravel(), ~present.ravel()),
        "level": levels.ravel().tolist(),
        "rank": _nullable(ranks.ravel(), ~present.ravel()),
        "coverage": python_column(coverage[order].ravel()),
        "imputed": imputed_flags[order].ravel().tolist(),
    }


def _nullable(values: np.ndarray, missing: np.ndarray) -> list[object]:
    """Python values (``astype(object)`` makes Python ints and floats in C), ``None`` where
    ``missing``."""
    out = values.astype(object)
    out[missing] = None
    return out.tolist()  # type: ignore[no-any-return]


def _levels_of(scores: np.ndarray, present: np.ndarray, spec: MarkerSpec) -> np.ndarray:
    """Level codes of every score (``None`` where missing), as ``engine._classify``."""
    mins = np.array([level.min for level in spec.levels], dtype=float)[::-1]
    ascending = np.searchsorted(mins, scores, side="right") - 1
    codes = len(mins) - 1 - np.clip(ascending, 0, len(mins) - 1)
    names = np.array([level.code for level in spec.levels], dtype=object)
    levels = names[codes]  # a new object array
    levels[~present] = None
    return levels  # type: ignore[no-any-return]


def _ranks_of(scores: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Each column's ranks as ``engine._rank``: 1 = best, ties share the lowest rank; missing
    scores sort last and their ranks mean nothing (masked by the caller)."""
    count = scores.shape[0]
    ranks = np.zeros(scores.shape, dtype=np.int64)
    if count == 0:
        return ranks
    negated = -scores
    order = np.argsort(negated, axis=0)  # NaN last: present values take positions 0..k-1
    ordered = np.take_along_axis(negated, order, axis=0)
    starts = np.ones(scores.shape, dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    first = np.maximum.accumulate(np.where(starts, np.arange(count)[:, None], 0), axis=0)
    np.put_along_axis(ranks, order, first + 1, axis=0)
    return np.where(present, ranks, 0)


SCORE_COLUMNS = ("run_id", "unit_id", "node_code", "score", "level", "rank", "coverage", "imputed")


__all__ = [
    "BuildSummary",
    "build_run",
    "empty_run_reason",
    "has_index_values",
    "no_index_reason",
]
