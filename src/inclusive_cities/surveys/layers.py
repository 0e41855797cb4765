"""Survey layers: catalogue survey entries estimated for every unit of a level → observations.

The layers are the ``record: survey`` entries of the indicator catalogue (the refugee and
migrant layers of the extended marker: documentation and regular status, health affiliation,
school attendance and education by sex, employment, informality and income, participation,
discrimination), plus any entries of the user's own catalogue files. Each figure is a domain
estimate on the full design, passes disclosure control, and is written as an ``Observation``
with status ``estimated`` (with n, SE and 95% CI) or ``suppressed`` (value empty) in one
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, insert, select

from inclusive_cities.i18n import gettext as _
from inclusive_cities.indicators.catalogue import Catalogue, IndicatorSpec, load_catalogue
from inclusive_cities.indicators.expressions import Expression
from inclusive_cities.store import models, transaction
from inclusive_cities.store.models import TOTAL
from inclusive_cities.store.tables import OBSERVATIONS
from inclusive_cities.surveys.design import Design
from inclusive_cities.surveys.disclosure import suppress
from inclusive_cities.surveys.errors import SurveyError
from inclusive_cities.surveys.estimation import CV_UNRELIABLE, MIN_PSU, estimate
from inclusive_cities.surveys.sae import benchmark, fay_herriot

PERSONS, HOUSEHOLDS = "persons", "households"
SEX_CODES = {"M": "M", "F": "F", "1": "M", "2": "F", "hombre": "M", "mujer": "F"}


def survey_indicators(
    catalogue: Catalogue | None = None,
    codes: Iterable[str] | None = None,
    extra: Iterable[Path | str] = (),
) -> list[IndicatorSpec]:
    """The catalogue's survey entries (the shipped catalogue plus ``extra`` files), in order.

    ``codes`` picks some of them; a code that is not a survey entry is an error.
    """
    entries = catalogue if catalogue is not None else load_catalogue(extra)
    found = entries.of_record("survey")
    if codes is None:
        return found
    by_code = {spec.code: spec for spec in found}
    wanted = list(codes)
    unknown = [code for code in wanted if code not in by_code]
    if unknown:
        raise SurveyError(
            _(
                "'{code}' is not a survey indicator of the catalogue: the survey indicators "
                "are {known}."
            ).format(code=unknown[0], known=", ".join(by_code))
        )
    return [by_code[code] for code in wanted]


def _expressions(indicator: IndicatorSpec) -> dict[str, Expression]:
    measured = indicator.condition if indicator.statistic == "share" else indicator.value
    found = {"_measure": measured, "_among": indicator.among}
    return {key: expression for key, expression in found.items() if expression is not None}


def missing_questions(indicator: IndicatorSpec, frames: dict[str, pd.DataFrame]) -> str | None:
    """Why ``indicator`` cannot be computed from this survey (None when it can)."""
    if indicator.survey_table not in frames:
        return _("the survey has no {table} table").format(table=indicator.survey_table)
    columns = set(frames[indicator.survey_table].columns)
    needed = sorted(set().union(*(e.columns for e in _expressions(indicator).values())))
    absent = [name for name in needed if name not in columns]
    if absent:
        return _("the survey has no question '{question}'").format(question=absent[0])
    return None


def evaluate(
    data: pd.DataFrame, expressions: dict[str, Expression], connection: Any = None
) -> pd.DataFrame:
    """Catalogue expressions over survey records, with the same compiler (Ibis on DuckDB) as
    the census indicators, so a condition means the same thing in both; rows keep ``data``'s
    order and index. A null comparison stays null. ``connection``: an Ibis DuckDB connection
    to reuse (opening one costs more than a survey entry's query)."""
    import ibis
    import pyarrow as pa

    from inclusive_cities.indicators.expressions import compile_expression

    used = sorted(set().union(*(e.columns for e in expressions.values())))
    frame = pd.DataFrame({name: _plain(data[name]) for name in used})
    frame["_row"] = np.arange(len(frame))
    table = ibis.memtable(pa.Table.from_pandas(frame, preserve_index=False))
    query = table.select(
        table["_row"],
        **{key: compile_expression(expression, table) for key, expression in expressions.items()},
    )
    if connection is not None:
        arrow = connection.to_pyarrow(query)
    else:
        with _duckdb() as own:
            arrow = own.to_pyarrow(query)
    result = pd.DataFrame(
        {name: arrow[name].to_pandas(types_mapper=pd.ArrowDtype) for name in arrow.column_names}
    )
    result = result.sort_values("_row").drop(columns="_row")
    result.index = data.index
    return result


@contextmanager
def _duckdb() -> Iterator[Any]:
    """An in-memory Ibis DuckDB connection, closed after use."""
    import ibis

    connection = ibis.duckdb.connect()
    try:
        yield connection
    finally:
        connection.disconnect()


def _plain(column: pd.Series) -> pd.Series:
    """Pandas string columns as plain objects with None for missing (Arrow-friendly)."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column
    return column.astype(object).where(column.notna(), None)


def analysis_tables(tables: dict[str, pd.DataFrame], design: Design) -> dict[str, pd.DataFrame]:
    """Households and persons, each person carrying its household's design and unit."""
    main = tables["main"].copy()
    carry = [c for c in [*design.columns(), "unit_code", "_parent"] if c in main.columns]
    persons = None
    for name, table in tables.items():
        if name == "main" or "_parent" not in table.columns:
            continue
        members = table[~table.get("_orphan", False).astype(bool)] if "_orphan" in table else table
        persons = members.drop(columns=[c for c in carry if c in members and c != "_parent"])
        persons = persons.merge(main[carry], on="_parent", how="inner")
        break
    out = {HOUSEHOLDS: main}
    if persons is not None:
        age = design.census_columns.get("age")
        if age and age in persons.columns:
            from inclusive_cities.surveys.calibration import age_group

            persons["age_group"] = age_group(persons[age])
        out[PERSONS] = persons
    return out


def _ancestors(engine: Engine, city: str, level: str) -> tuple[dict[str, str], list[tuple]]:
    """Map every unit code of the city to its ancestor's code at ``level``."""
    with transaction(engine) as session:
        city_row = session.scalar(select(models.City).where(models.City.code == city))
        if city_row is None:
            raise SurveyError(_("There is no city '{city}' in the observatory.").format(city=city))
        level_row = session.scalar(
            select(models.UnitLevel).where(
                models.UnitLevel.city_id == city_row.id, models.UnitLevel.code == level
            )
        )
        if level_row is None:
            levels = session.scalars(
                select(models.UnitLevel.code).where(models.UnitLevel.city_id == city_row.id)
            ).all()
            raise SurveyError(
                _("City {city} has no level '{level}' (levels: {levels}).").format(
                    city=city, level=level, levels=", ".join(levels)
                )
            )
        rows = session.execute(
            select(
                models.SpatialUnit.id,
                models.SpatialUnit.code,
                models.SpatialUnit.level_id,
                models.SpatialUnit.parent_id,
            ).where(models.SpatialUnit.city_id == city_row.id)
        ).all()
    by_id = {r.id: r for r in rows}
    targets = [(r.id, r.code) for r in rows if r.level_id == level_row.id]
    mapping: dict[str, str] = {}
    target_codes = sorted((c for _i, c in targets), key=len, reverse=True)
    for r in rows:
        node: Any = r
        while node is not None and node.level_id != level_row.id:
            node = by_id.get(node.parent_id) if node.parent_id else None
        if node is not None:
            mapping[r.code] = node.code
        else:
            match = next((c for c in target_codes if r.code.startswith(c)), None)
            if match:
                mapping[r.code] = match
    return mapping, targets


def unit_polygons(engine: Engine, city: str, level: str | None = None):
    """The city's units at ``level`` (default: the finest) as a GeoDataFrame in EPSG:4326."""
    import geopandas as gpd
    import shapely

    with transaction(engine) as session:
        city_row = session.scalar(select(models.City).where(models.City.code == city))
        if city_row is None:
            raise SurveyError(_("There is no city '{city}' in the observatory.").format(city=city))
        levels = session.scalars(
            select(models.UnitLevel)
            .where(models.UnitLevel.city_id == city_row.id)
            .order_by(models.UnitLevel.depth)
        ).all()
        chosen = [lv for lv in levels if lv.code == level] if level else levels[-1:]
        if not chosen:
            raise SurveyError(
                _("City {city} has no level '{level}' (levels: {levels}).").format(
                    city=city, level=level, levels=", ".join(lv.code for lv in levels)
                )
            )
        rows = session.execute(
            select(models.SpatialUnit.code, models.SpatialUnit.geometry).where(
                models.SpatialUnit.level_id == chosen[0].id,
                models.SpatialUnit.geometry.is_not(None),
            )
        ).all()
    if not rows:
        raise SurveyError(
            _("The units of level {level} have no geometry to place geopoints in.").format(
                level=chosen[0].code
            )
        )
    return gpd.GeoDataFrame(
        {"codigo": [r.code for r in rows]},
        geometry=shapely.from_wkb([r.geometry for r in rows]),
        crs="EPSG:4326",
    )


def unit_mapping(engine: Engine, city: str, level: str) -> dict[str, str]:
    """Every unit code of the city mapped to its ancestor's code at ``level``."""
    return _ancestors(engine, city, level)[0]


def compute_layer(
    frames: dict[str, pd.DataFrame],
    design: Design,
    indicator: IndicatorSpec,
    units: list[str],
    unit_of: dict[str, str],
    min_n: int,
    covariates: pd.DataFrame | None = None,
    connection: Any = None,
) -> pd.DataFrame:
    """One survey entry for every unit (and by sex), after disclosure control.

    The entry's ``min_denominator`` can raise ``min_n``, never lower it. With ``covariates``
    (one row per unit, census values), unit totals whose direct CV is above 30% are replaced
    by the benchmarked Fay–Herriot EBLUP (SE = √MSE).
    """
    if indicator.record != "survey":
        raise SurveyError(
            _("Indicator {code} is a {record} entry, not a survey entry.").format(
                code=indicator.code, record=indicator.record
            )
        )
    reason = missing_questions(indicator, frames)
    if reason:
        raise SurveyError(
            _("Indicator {code} cannot be estimated: {reason}.").format(
                code=indicator.code, reason=reason
            )
        )
    data = frames[indicator.survey_table].copy()
    data["_unit"] = (
        data["unit_code"].astype("string").map(unit_of) if "unit_code" in data else pd.NA
    )
    values = evaluate(data, _expressions(indicator), connection)
    among = (
        values["_among"].astype("boolean").fillna(False).astype(bool)
        if "_among" in values
        else pd.Series(True, index=data.index)
    )
    if indicator.statistic == "mean":
        measured = pd.to_numeric(values["_measure"], errors="coerce").astype(float)
        scale = 1.0
    else:
        measured = values["_measure"].astype("boolean").astype("Float64").astype(float)
        scale = 100.0
    data["_y"] = measured.where(among & measured.notna())
    by_sex = "sex" in indicator.disaggregations
    rows = [estimate(data, design, "_y", "mean", by="_unit").assign(sex=TOTAL)]
    sex_column = design.census_columns.get("sex", "sexo")
    if by_sex and sex_column in data:
        data["_sex"] = data[sex_column].astype(str).map(SEX_CODES)
        by_sex_table = estimate(data, design, "_y", "mean", by=["_unit", "_sex"])
        rows.append(by_sex_table.rename(columns={"_sex": "sex"}))
    table = pd.concat(rows, ignore_index=True)
    table["method"] = "direct"
    if covariates is not None:
        table = _small_areas(table, data, design, covariates)
    grid = pd.DataFrame(
        [(u, s) for u in units for s in ([TOTAL, "F", "M"] if by_sex else [TOTAL])],
        columns=["_unit", "sex"],
    )
    table = grid.merge(table, on=["_unit", "sex"], how="left")
    table["n"] = table["n"].fillna(0).astype(int)
    for column in ("estimate", "se", "ci_low", "ci_high"):
        table[column] = table[column] * scale
    threshold = max(int(min_n), int(np.ceil(indicator.min_denominator)))
    table = suppress(table, ["sex"], min_n=threshold)
    # a unit's estimate from a single sampled PSU (e.g. one block of 7 households) has no
    # estimable sampling error: its CI would be far too narrow, so it is not published
    # (a Fay-Herriot estimate borrows strength from the other units and is kept)
    single = (table["method"] == "direct") & (table["n_psu"].fillna(0) < MIN_PSU)
    table.loc[single, "status"] = "suppressed"
    table.loc[table["cv"].isna() & (table["status"] != "suppressed"), "status"] = "suppressed"
    table.loc[table["status"] == "suppressed", ["estimate", "se", "ci_low", "ci_high"]] = np.nan
    return table.rename(columns={"_unit": "unit"})


def _small_areas(
    table: pd.DataFrame, data: pd.DataFrame, design: Design, covariates: pd.DataFrame
) -> pd.DataFrame:
    """Fay–Herriot for unreliable unit totals, benchmarked to the city's direct estimate."""
    totals = table[table["sex"] == TOTAL].set_index("_unit")
    usable = totals[(totals["n"] >= 2) & (totals["se"] > 0)].index.intersection(covariates.index)
    if len(usable) <= covariates.shape[1] + 1:
        raise SurveyError(
            _(
                "Small-area estimation needs more units with a direct estimate and census "
                "covariates ({units}) than covariates plus one ({needed})."
            ).format(units=len(usable), needed=covariates.shape[1] + 1)
        )
    x = np.column_stack([np.ones(len(usable)), covariates.loc[usable].to_numpy(dtype=float)])
    fit = fay_herriot(
        totals.loc[usable, "estimate"].to_numpy(), totals.loc[usable, "se"].to_numpy() ** 2, x
    )
    weight = data[design.weight] if design.weight else pd.Series(1.0, index=data.index)
    answered = data["_y"].notna()
    shares = weight[answered].groupby(data.loc[answered, "_unit"]).sum().reindex(usable)
    shares = (shares / shares.sum()).to_numpy()
    city = estimate(data, design, "_y").iloc[0]["estimate"]
    eblup = benchmark(fit.eblup, shares, city)
    replace = totals.loc[usable, "cv"].to_numpy() > CV_UNRELIABLE
    for unit, value, mse in zip(usable[replace], eblup[replace], fit.mse[replace], strict=True):
        mask = (table["_unit"] == unit) & (table["sex"] == TOTAL)
        se = float(np.sqrt(mse))
        table.loc[mask, ["estimate", "se", "ci_low", "ci_high", "cv", "method"]] = [
            value,
            se,
            value - 1.959963984540054 * se,
            value + 1.959963984540054 * se,
            se / abs(value) if value else np.nan,
            "fay_herriot",
        ]
    return table


def store_covariates(
    engine: Engine, city: str, period: str, level: str, codes: list[str]
) -> pd.DataFrame:
    """Census covariates (observations of ``codes``, all groups) per unit of ``level``."""
    _unit_of, targets = _ancestors(engine, city, level)
    ids = {uid: code for uid, code in targets}
    with transaction(engine) as session:
        rows = session.execute(
            select(models.Indicator.code, models.Observation.unit_id, models.Observation.value)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .join(models.Period, models.Period.id == models.Observation.period_id)
            .where(
                models.Indicator.code.in_(codes),
                models.Period.code == period,
                models.Observation.unit_id.in_(list(ids)),
                models.Observation.sex == TOTAL,
                models.Observation.age_group == TOTAL,
                models.Observation.nationality == TOTAL,
                models.Observation.value.is_not(None),
            )
        ).all()
    frame = pd.DataFrame(rows, columns=["code", "unit_id", "value"])
    missing = sorted(set(codes) - set(frame["code"]))
    if missing:
        raise SurveyError(
            _(
                "No census values of {codes} for the units of level {level} in period "
                "{period}: compute those indicators first or choose other covariates."
            ).format(codes=", ".join(missing), level=level, period=period)
        )
    frame["unit"] = frame["unit_id"].map(ids)
    return frame.pivot_table(index="unit", columns="code", values="value")[codes].dropna()


def write_layers(
    engine: Engine,
    tables: dict[str, pd.DataFrame],
    design: Design,
    *,
    city: str,
    period: str,
    level: str,
    indicators: Iterable[IndicatorSpec] | None = None,
    min_n: int | None = None,
    source: str = "survey",
    batch_id: int | None = None,
    sae_covariates: list[str] | None = None,
    census_margins: dict | None = None,
) -> pd.DataFrame:
    """Estimate the survey entries for all units of ``level`` and write their observations.

    ``indicators`` defaults to every survey entry of the shipped catalogue (see
    :func:`survey_indicators` for the user's own files). Entries whose questions the survey
    lacks are skipped: the returned table's ``attrs["skipped"]`` says why, by code.
    ``sae_covariates`` (indicator codes with census values per unit) switches on
    Fay–Herriot estimates for units whose direct estimate is unreliable;
    ``census_margins`` (see ``calibration.census_margins_from_store``) rakes the persons'
    weights to the census by age group, sex and nationality first.
    """
    chosen = list(survey_indicators() if indicators is None else indicators)
    unit_of, targets = _ancestors(engine, city, level)
    units = [code for _id, code in targets]
    unit_ids = dict((code, uid) for uid, code in targets)
    frames = analysis_tables(tables, design)
    designs = {name: design for name in frames}
    if census_margins and PERSONS in frames:
        from inclusive_cities.surveys.calibration import calibrate_persons

        frames[PERSONS], designs[PERSONS] = calibrate_persons(
            frames[PERSONS], design, census_margins
        )
    threshold = design.min_n if min_n is None else min_n
    covariates = (
        store_covariates(engine, city, period, level, sae_covariates) if sae_covariates else None
    )
    results = []
    skipped: dict[str, str] = {}
    usable: list[IndicatorSpec] = []
    with _duckdb() as connection:  # one for every entry
        for indicator in chosen:
            reason = missing_questions(indicator, frames)
            if reason:
                skipped[indicator.code] = reason
                continue
            usable.append(indicator)
            results.append(
                compute_layer(
                    frames,
                    designs[indicator.survey_table],  # the persons' raked design if calibrated
                    indicator,
                    units,
                    unit_of,
                    threshold,
                    covariates,
                    connection,
                ).assign(indicator=indicator.code)
            )
    if not results:
        raise SurveyError(
            _(
                "None of the catalogue's survey indicators can be estimated from this "
                "survey ({why}): check the survey's questions against the catalogue's "
                "survey_variables."
            ).format(why="; ".join(f"{code}: {why}" for code, why in skipped.items()) or "-")
        )
    summary = pd.concat(results, ignore_index=True)
    summary.attrs["skipped"] = skipped
    with transaction(engine) as session:
        period_row = session.scalar(select(models.Period).where(models.Period.code == period))
        if period_row is None:
            period_row = models.Period(code=period, label=period)
            session.add(period_row)
            session.flush()
        ids = {}
        for indicator in usable:
            row = session.scalar(
                select(models.Indicator).where(models.Indicator.code == indicator.code)
            )
            if row is None:
                row = models.Indicator(code=indicator.code, source=source)
                session.add(row)
            row.name_es, row.name_en = indicator.name_es, indicator.name_en
            row.area, row.dimension = indicator.area, indicator.dimension
            row.unit, row.direction = indicator.unit, indicator.direction
            row.formula = indicator.formula()
            session.flush()
            ids[indicator.code] = row.id
        session.execute(
            delete(models.Observation).where(
                models.Observation.indicator_id.in_(list(ids.values())),
                models.Observation.period_id == period_row.id,
                models.Observation.unit_id.in_(list(unit_ids.values())),
            )
        )
        rows = []
        for record in summary.itertuples(index=False):
            suppressed = record.status == "suppressed"
            rows.append(
                {
                    "indicator_id": ids[record.indicator],
                    "unit_id": unit_ids[record.unit],
                    "period_id": period_row.id,
                    "sex": record.sex,
                    "age_group": TOTAL,
                    "nationality": TOTAL,
                    "value": None if suppressed else float(record.estimate),
                    "n": None if suppressed else int(record.n),
                    "standard_error": None if suppressed else float(record.se),
                    "ci_low": None if suppressed else float(record.ci_low),
                    "ci_high": None if suppressed else float(record.ci_high),
                    "status": "suppressed" if suppressed else "estimated",
                    "source": source,
                    "batch_id": batch_id,
                }
            )
        if rows:  # one executemany, in the rows' order (ids as the ORM gave them)
            session.execute(insert(OBSERVATIONS), rows)
    return summary
