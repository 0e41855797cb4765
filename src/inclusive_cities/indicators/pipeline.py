"""Compute a city's indicators from the store and write them back as observations.

Reads: census microdata Parquet (import batches ``census_persons``/``census_households``),
spatial units and their hierarchy, facilities, optional environment layers (a vector file
with layers ``espacio_publico``, ``zonas_riesgo``, ``vias``) and observed table indicators.
Writes: one :class:`Observation` per indicator, unit, period and group (status ``computed``
or ``suppressed`` below the minimum denominator) at the base level and every level above,
replacing earlier computed values of the same indicators, all in one transaction.
"""

from __future__ import annotations

import contextvars
import gc
import json
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import ibis
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from inclusive_cities import store
from inclusive_cities.config import get_settings
from inclusive_cities.i18n import gettext as _
from inclusive_cities.indicators.backends import DEFAULT_ENGINE, check_engine, read_census
from inclusive_cities.indicators.catalogue import Catalogue, IndicatorSpec, load_catalogue
from inclusive_cities.indicators.engine import Inputs, Level, compute, read_layers, step_count
from inclusive_cities.indicators.errors import IndicatorError
from inclusive_cities.progress import ProgressCallback, quiet_progress
from inclusive_cities.store import models
from inclusive_cities.store.bulk import bulk_insert, keys_checked_by_value, plain_indexes_dropped

CENSUS_KINDS = {"person": "census_persons", "household": "census_households"}
LAYER_KINDS = ("environment", "layers", "environment_layers")


@dataclass
class ComputeReport:
    """What ``indicators compute`` did: values written per indicator and what it skipped."""

    city: str
    period: str
    levels: list[str]
    written: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    observed: dict[str, str] = field(default_factory=dict)
    """Indicators imported from tables (kept as they are) → where from."""
    unknown_units: int = 0
    batches: dict[str, int] = field(default_factory=dict)


def _city_period(session: object, city: str, period: str) -> tuple[models.City, models.Period]:
    city_row = session.scalars(select(models.City).where(models.City.code == city)).first()  # type: ignore[attr-defined]
    if city_row is None:
        known = session.scalars(select(models.City.code)).all()  # type: ignore[attr-defined]
        raise IndicatorError(
            _(
                "There is no city '{city}' in the observatory (known: {known}): import its "
                "boundaries first."
            ).format(city=city, known=", ".join(known) or "-")
        )
    period_row = session.scalars(select(models.Period).where(models.Period.code == period)).first()  # type: ignore[attr-defined]
    if period_row is None:
        known = session.scalars(select(models.Period.code)).all()  # type: ignore[attr-defined]
        raise IndicatorError(
            _(
                "There is no period '{period}' in the observatory (known: {known}): import its "
                "census first."
            ).format(period=period, known=", ".join(known) or "-")
        )
    return city_row, period_row


def _levels(session: object, city: models.City, level: str | None) -> list[models.UnitLevel]:
    """The base level and the levels above it, base first."""
    rows = list(
        session.scalars(  # type: ignore[attr-defined]
            select(models.UnitLevel)
            .where(models.UnitLevel.city_id == city.id)
            .order_by(models.UnitLevel.depth.desc())
        )
    )
    if not rows:
        raise IndicatorError(
            _("City '{city}' has no spatial units: import its boundaries first.").format(
                city=city.code
            )
        )
    if level is None:
        return rows
    for i, row in enumerate(rows):
        if row.code == level:
            return rows[i:]
    raise IndicatorError(
        _("City '{city}' has no level '{level}': its levels are {known}.").format(
            city=city.code, level=level, known=", ".join(r.code for r in rows)
        )
    )


def _units(session: object, city: models.City, levels: list[models.UnitLevel]):
    frame = pd.DataFrame(
        session.execute(  # type: ignore[attr-defined]
            select(
                models.SpatialUnit.id,
                models.SpatialUnit.code,
                models.SpatialUnit.level_id,
                models.SpatialUnit.parent_id,
                models.SpatialUnit.geometry,
                models.SpatialUnit.batch_id,
            ).where(models.SpatialUnit.city_id == city.id)
        ).all(),
        columns=["id", "code", "level_id", "parent_id", "geometry", "batch_id"],
    )
    base = frame[frame["level_id"] == levels[0].id]
    if base.empty:
        raise IndicatorError(
            _("Level '{level}' of city '{city}' has no units: import them first.").format(
                level=levels[0].code, city=city.code
            )
        )
    if base["geometry"].isna().any():
        missing = base.loc[base["geometry"].isna(), "code"].iloc[0]
        raise IndicatorError(
            _("Unit '{unit}' of level '{level}' has no geometry: re-import the boundaries.").format(
                unit=missing, level=levels[0].code
            )
        )
    geometry = shapely.from_wkb(base["geometry"].to_list())
    units = gpd.GeoDataFrame(
        {"code": base["code"].astype(str).to_numpy()}, geometry=geometry, crs="EPSG:4326"
    ).set_index("code")
    # plain Python values once (iterating Arrow strings made a Python object per unit, twice)
    ids, codes = frame["id"].tolist(), frame["code"].astype(str).to_numpy(dtype=object).tolist()
    level_ids = frame["level_id"].tolist()
    code_of = dict(zip(ids, codes, strict=True))
    parent_of_id = dict(zip(ids, frame["parent_id"].tolist(), strict=True))
    level_of_id = dict(zip(ids, level_ids, strict=True))
    hierarchy: list[Level] = []
    current = {int(i): int(i) for i in base["id"]}  # base id -> ancestor id at this step
    for level in levels[1:]:
        mapping: dict[str, str] = {}
        step: dict[int, int] = {}
        for child, ancestor in current.items():
            node: int | None = ancestor
            while node is not None and not pd.isna(node) and level_of_id.get(node) != level.id:
                parent = parent_of_id.get(node)
                node = None if parent is None or pd.isna(parent) else int(parent)
            if node is not None:
                mapping[code_of[child]] = code_of[node]
                step[child] = node
        current = step
        hierarchy.append(Level(level.code, mapping))
    level_codes = {lv.id: lv.code for lv in levels}
    unit_ids = {
        (level_codes[level_id], code): int(uid)
        for uid, code, level_id in zip(ids, codes, level_ids, strict=True)
        if level_id in level_codes
    }
    boundary_batch = base["batch_id"].dropna()
    return (
        units,
        hierarchy,
        unit_ids,
        (int(boundary_batch.iloc[0]) if len(boundary_batch) else None),
    )


def _census(session: object, city: models.City, period: models.Period, data_dir: Path):
    found: dict[str, tuple[Path, int | None]] = {}
    for record, kind in CENSUS_KINDS.items():
        batch = session.scalars(  # type: ignore[attr-defined]
            select(models.ImportBatch)
            .where(
                models.ImportBatch.kind == kind,
                models.ImportBatch.city_id == city.id,
                models.ImportBatch.period_id == period.id,
                models.ImportBatch.status == "active",
            )
            .order_by(models.ImportBatch.id.desc())
        ).first()
        if batch is None:
            continue
        details = batch.details or {}
        raw = details.get("parquet") or details.get("path")
        path = (
            Path(raw)
            if raw
            else data_dir / "microdata" / city.code / period.code / f"{kind}.parquet"
        )
        if not path.is_absolute():
            path = data_dir / path
        if not path.exists():
            raise IndicatorError(
                _(
                    "The census file {path} registered by import batch {batch} is missing: restore "
                    "it or import the census again."
                ).format(path=path, batch=batch.id)
            )
        found[record] = (path, batch.id)
    return found


def _facilities(session: object, city: models.City) -> tuple[gpd.GeoDataFrame | None, int | None]:
    rows = session.execute(  # type: ignore[attr-defined]
        select(
            models.Facility.type,
            models.Facility.longitude,
            models.Facility.latitude,
            models.Facility.capacity,
            models.Facility.batch_id,
        ).where(models.Facility.city_id == city.id)
    ).all()
    if not rows:
        return None, None
    frame = pd.DataFrame(rows, columns=["type", "lon", "lat", "capacity", "batch_id"])
    points = gpd.GeoDataFrame(
        frame[["type", "capacity"]],
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs="EPSG:4326",
    )
    batch = frame["batch_id"].dropna()
    return points, (int(batch.iloc[0]) if len(batch) else None)


def _layer_batches(session: object, city: models.City) -> list[Path]:
    batches = session.scalars(  # type: ignore[attr-defined]
        select(models.ImportBatch).where(
            models.ImportBatch.kind.in_(LAYER_KINDS),
            models.ImportBatch.city_id == city.id,
            models.ImportBatch.status == "active",
        )
    ).all()
    paths = []
    for batch in batches:
        raw = (batch.details or {}).get("path")
        if raw and Path(raw).exists():
            paths.append(Path(raw))
    return paths


def _observed(
    session: object, catalogue: Catalogue, city: models.City, period: models.Period
) -> dict[str, str]:
    codes = [spec.code for spec in catalogue if spec.record in ("table", "survey")]
    if not codes:
        return {}
    rows = session.execute(  # type: ignore[attr-defined]
        select(models.Indicator.code, models.Observation.batch_id, models.Observation.source)
        .join(models.Observation, models.Observation.indicator_id == models.Indicator.id)
        .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
        .where(
            models.Indicator.code.in_(codes),
            models.SpatialUnit.city_id == city.id,
            models.Observation.period_id == period.id,
            models.Observation.status != "computed",
        )
        .distinct()
    ).all()
    found: dict[str, str] = {}
    for code, batch, source in rows:
        if batch is not None:
            found[code] = _("import batch {batch}").format(batch=batch)
        elif str(source or "").startswith("survey:"):
            # survey layers write estimates without an import batch: name the survey
            found.setdefault(
                code,
                _("the survey layers of '{survey}'").format(
                    survey=str(source).removeprefix("survey:")
                ),
            )
        else:
            found.setdefault(code, str(source or "") or _("observations without an import batch"))
    return found


def _indicator_rows(
    session: Session,
    specs: Iterable[IndicatorSpec],
    known: Mapping[str, models.Indicator] | None = None,
) -> dict[str, int]:
    """The indicators' ids, their rows created or described from the catalogue (one flush).
    ``known``: rows already read (the writer reads them all at once while it waits)."""
    rows: dict[str, models.Indicator] = {}
    for spec in specs:
        row = (known or {}).get(spec.code) or session.scalars(
            select(models.Indicator).where(models.Indicator.code == spec.code)
        ).first()
        if row is None:
            row = models.Indicator(code=spec.code, name_es=spec.name_es, name_en=spec.name_en)
            session.add(row)
        row.area = row.area or spec.area
        row.dimension = row.dimension or spec.dimension
        row.unit = row.unit or spec.unit
        row.direction = spec.direction
        row.formula = spec.formula()
        row.source = row.source or "inclusive-cities indicators compute"
        rows[spec.code] = row
    session.flush()
    return {code: row.id for code, row in rows.items()}


@contextmanager
def _collections_paused() -> Iterator[None]:
    """The garbage collector's automatic passes paused while the block runs, resumed after
    (if they were on: a computation in another thread may have paused them too).

    A computation runs after the imports of pandas, Ibis, SQLAlchemy, GeoPandas…: hundreds of
    thousands of long-lived objects that every full pass walks again, while the computation
    itself leaves little cyclic garbage (its arrays and frames are freed by reference
    counting). On the medium demo the passes during ``compute_city`` took ≈0.5 s CPU, three
    full ones among them; what garbage is left is collected by the first pass after."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


@_collections_paused()
def compute_city(
    engine: Engine,
    city: str,
    period: str,
    level: str | None = None,
    catalogue: Catalogue | None = None,
    codes: Iterable[str] | None = None,
    layers: Iterable[Path | str] = (),
    data_dir: Path | str | None = None,
    dry_run: bool = False,
    network: str | None = None,
    progress: ProgressCallback | None = None,
    backend: str = DEFAULT_ENGINE,
) -> ComputeReport:
    """Compute every indicator the city's inputs allow and store them (one transaction).

    ``backend`` aggregates the census: ``"duckdb"`` here, or ``"spark"`` / a Spark master URL
    for a national census (see :mod:`inclusive_cities.indicators.backends`).

    ``progress(step, done, total)`` hears of reading the inputs, each step of
    :func:`~inclusive_cities.indicators.engine.compute`, and storing.
    """
    store.require_current(engine)
    check_engine(backend)
    catalogue = (catalogue or load_catalogue()).select(codes)
    progress = progress or quiet_progress
    total = step_count(catalogue) + 2
    progress(_("Reading the city's inputs"), 0, total)
    root = Path(data_dir or get_settings().data_dir)
    with store.transaction(engine) as session:
        city_row, period_row = _city_period(session, city, period)
        wanted = [lv.code for lv in _levels(session, city_row, level)]
        # census records are coded by the smallest units: compute from there and keep the
        # asked level and those above (values up the hierarchy are recomputed from parts)
        levels = _levels(session, city_row, None)
        units, hierarchy, unit_ids, boundary_batch = _units(session, city_row, levels)
        census = _census(session, city_row, period_row, root)
        facilities, facility_batch = _facilities(session, city_row)
        layer_paths = list(layers) + _layer_batches(session, city_row)
        observed = _observed(session, catalogue, city_row, period_row)
        crs = city_row.projected_crs
    tables = read_census(backend, {record: path for record, (path, _batch) in census.items()})
    # the layer files are read by the engine's spatial thread while the census is aggregated
    environment: dict[str, gpd.GeoDataFrame] = {}
    if network is not None:
        # --network is a street file (.osm.pbf, .osm, .gpkg …) or an environment layer name
        from inclusive_cities.spatial.network import network_layer

        network, environment = network_layer(network, read_layers(layer_paths), "EPSG:4326")
        layer_paths = []
    inputs = Inputs(
        persons=tables.get("person"),
        households=tables.get("household"),
        units=units,
        base_level=levels[0].code,
        levels=hierarchy,
        facilities=facilities,
        layers=environment,
        crs=crs or None,
        observed=observed,
        network=network,
        layer_files=layer_paths,
    )
    batches = {record: batch for record, (_path, batch) in census.items() if batch is not None}
    if facility_batch is not None:
        batches["facilities"] = facility_batch
    if boundary_batch is not None:
        batches["boundaries"] = boundary_batch
    # each finished part of the values (person census, household census, spatial) is stored
    # while the engine computes the next one
    writer = None if dry_run else _Writer(engine, catalogue, unit_ids, wanted, period, batches)
    try:
        result = compute(
            inputs,
            catalogue,
            lambda step, done, _total: progress(step, done + 1, total),
            on_values=writer.put if writer is not None else None,
            categorical=True,
        )
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    progress(_("Storing indicators"), total - 1, total)
    if len(wanted) < len(levels):
        result.values = result.values[result.values["level"].isin(wanted)].reset_index(drop=True)
    report = ComputeReport(
        city=city,
        period=period,
        levels=wanted,
        skipped=result.skipped,
        unknown_units=result.unknown_units,
        observed=result.observed,
    )
    report.batches = batches
    values = result.values
    present = values["value"].notna().to_numpy()
    codes = np.asarray(pd.Categorical(values["indicator"], categories=result.computed).codes)
    written = np.bincount(codes[present], minlength=len(result.computed))
    suppressed = np.bincount(codes[~present], minlength=len(result.computed))
    for i, code in enumerate(result.computed):
        report.written[code] = int(written[i])
        report.suppressed[code] = int(suppressed[i])
    if writer is not None:
        writer.finish()
    if dry_run or not result.computed:
        progress(_("Indicators computed"), total, total)
        return report
    if report.observed:
        with store.transaction(engine) as session:
            _describe_imported(session, [catalogue[code] for code in report.observed])
    progress(_("Indicators computed"), total, total)
    return report


def _describe_imported(session: Session, specs: Iterable[IndicatorSpec]) -> None:
    """Give indicators imported from tables the catalogue's names, area and direction.

    An indicator table names its columns by code only; the catalogue knows what they mean,
    so maps and profiles show "Crime rate per 100,000" rather than ``crime_rate_per_100k``.
    """
    for spec in specs:
        row = session.scalars(
            select(models.Indicator).where(models.Indicator.code == spec.code)
        ).first()
        if row is None:
            continue
        if row.name_es in ("", row.code):
            row.name_es = spec.name_es
        if row.name_en in ("", row.code):
            row.name_en = spec.name_en
        row.area = row.area or spec.area
        row.dimension = row.dimension or spec.dimension
        row.unit = row.unit or spec.unit
        row.direction = spec.direction


def _provenance(spec: IndicatorSpec, batches: Mapping[str, int]) -> tuple[str, int | None]:
    used = {"person": ["person"], "household": ["household"]}.get(spec.record, [])
    if spec.record in ("facility", "layer"):
        used = (["facilities"] if spec.record == "facility" else []) + ["boundaries", "person"]
    elif spec.aggregation == "per_km2":
        used.append("boundaries")
    names = {"person": "census_persons", "household": "census_households"}
    parts = [
        _("{kind} batch {batch}").format(kind=names.get(key, key), batch=batches[key])
        for key in used
        if key in batches
    ]
    text = _("computed by inclusive-cities indicators from {batches}").format(
        batches=", ".join(parts) or "-"
    )
    main = next((batches[key] for key in used if key in batches), None)
    return text, main


WRITE_ON_A_THREAD = True
"""Store the values on a writer thread while the engine computes (False: after it, on the
caller's thread; same values, ≈0.2 s CPU less, no overlap). See benchmarks/README.md."""


_AHEAD = "earlier_values_ahead"


class _Aborted(Exception):
    """The engine failed: the writer rolls back what it stored."""


_ABORT = object()


class _Writer:
    """Stores the engine's values part by part in one transaction, on its own thread and
    connection while the engine computes the next part (SQLite and psycopg release the GIL
    while they write; DuckDB and Shapely while they compute). The earlier computed values
    of each part's indicators for the city's units at the computed levels are replaced.

    An in-memory SQLite database is one connection per thread, so there the parts are
    kept and stored after the engine, on the caller's thread."""

    def __init__(
        self,
        engine: Engine,
        catalogue: Catalogue,
        unit_ids: Mapping[tuple[str, str], int],
        levels: list[str],
        period: str,
        batches: Mapping[str, int],
    ) -> None:
        self.engine, self.catalogue, self.period, self.batches = engine, catalogue, period, batches
        self.levels = levels
        self.unit_keys = pd.MultiIndex.from_tuples(list(unit_ids) or [("", "")])
        self.unit_values = np.fromiter(unit_ids.values(), dtype="int64", count=len(unit_ids))
        self.units = sorted({uid for (level, _code), uid in unit_ids.items() if level in levels})
        self.parts: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.replacing = True
        self.deleted: frozenset[int] = frozenset()
        """Indicator ids whose earlier values the next part need not delete (done ahead)."""
        self.known: dict[str, models.Indicator] = {}
        self.error: BaseException | None = None
        database = engine.url.database or ""
        memory = engine.dialect.name == "sqlite" and (
            database in ("", ":memory:") or "mode=memory" in database
        )
        self.thread = (
            None
            if memory or not WRITE_ON_A_THREAD
            # in the caller's context: the sources it stores are in the command's language
            else threading.Thread(
                target=contextvars.copy_context().run,
                args=(self._run,),
                name="indicators-writer",
                daemon=True,
            )
        )
        if self.thread is not None:
            self.thread.start()

    def put(self, values: pd.DataFrame, codes: list[str]) -> None:
        self.parts.put((values, codes))

    def finish(self) -> None:
        """Wait until every part is stored and committed; raise the writer's error."""
        self.parts.put(None)
        if self.thread is None:
            self._store()
            return
        self.thread.join()
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        """Roll back what was stored (the engine failed)."""
        self.parts.put(_ABORT)
        if self.thread is not None:
            self.thread.join()

    def _run(self) -> None:
        try:
            self._store()
        except BaseException as error:  # handed to finish() on the caller's thread
            self.error = error

    def _store(self) -> None:
        table = models.Observation.__table__
        # the transaction deletes and inserts observations only (nothing cascades from them):
        # their foreign keys are checked per distinct value (see keys_checked_by_value)
        with keys_checked_by_value(self.engine) as session:
            # while the engine computes the first part: the earlier values are counted and,
            # when they are most of the table (a re-run), the plain indexes dropped now
            period_id = session.scalars(
                select(models.Period.id).where(models.Period.code == self.period)
            ).one()
            # the catalogue's indicator rows, read once while the engine computes
            self.known = {
                row.code: row
                for row in session.scalars(
                    select(models.Indicator).where(
                        models.Indicator.code.in_([spec.code for spec in self.catalogue])
                    )
                )
            }
            known = [row.id for row in self.known.values()]
            removing = _earlier_count(session, known, period_id, self.units)
            # nothing to replace (SQLite counted none): the delete of each part is skipped
            self.replacing = removing > 0 or session.connection().dialect.name != "sqlite"
            # a re-run writes about as many values as it replaces
            with plain_indexes_dropped(session, table, adding=removing, removing=removing) as early:
                ahead = self._delete_ahead(session, period_id) if early else None
                part = self.parts.get()
                if ahead is not None:
                    self._settle_ahead(session, ahead, part)
                if part is None:
                    return
                later = (
                    nullcontext(True)
                    if early or part is _ABORT
                    else plain_indexes_dropped(
                        session, table, adding=len(part[0]), removing=removing
                    )
                )
                with later:
                    while part is not None:
                        if part is _ABORT:
                            raise _Aborted
                        self._write(session, period_id, *part)
                        part = self.parts.get()

    def _delete_ahead(self, session: Session, period_id: int) -> frozenset[int] | None:
        """SQLite, a re-run (the plain indexes dropped early): while the engine computes the
        first part (the first census record type of the catalogue), delete the earlier values
        of that record's indicators in a savepoint; :meth:`_settle_ahead` keeps the delete if
        the part holds the same indicators, else undoes it. Returns the ids deleted.

        The first part's delete is then off the way between the engine and the insert
        (≈0.4 s of SQLite on the medium demo). Only the first part's: the next parts' rows
        take ids after the rows stored before them, which depend on which rows still exist."""
        record = next(
            (r for r in CENSUS_KINDS if any(spec.record == r for spec in self.catalogue)), None
        )
        ids = frozenset(
            self.known[spec.code].id
            for spec in self.catalogue
            if spec.record == record and spec.code in self.known
        )
        if not ids:
            return None
        connection = session.connection()
        # Python's sqlite3 opens its transaction before a change only: a SAVEPOINT sent first
        # would open one it does not know of (see store.bulk._drop_indexes)
        connection.exec_driver_sql('DELETE FROM "observations" WHERE 0')
        connection.exec_driver_sql(f"SAVEPOINT {_AHEAD}")
        _delete_earlier(session, sorted(ids), period_id, self.units)
        return ids

    def _settle_ahead(self, session: Session, ahead: frozenset[int], part: Any) -> None:
        """Keep the delete of :meth:`_delete_ahead` if ``part`` replaces exactly those
        indicators (then its own delete is skipped), else roll it back."""
        connection = session.connection()
        codes = part[1] if isinstance(part, tuple) else []
        replaced = frozenset(self.known[code].id for code in codes if code in self.known)
        if replaced == ahead:
            self.deleted = ahead
        else:
            connection.exec_driver_sql(f"ROLLBACK TO {_AHEAD}")
        connection.exec_driver_sql(f"RELEASE {_AHEAD}")

    def _write(self, session: Session, period_id: int, values: pd.DataFrame, codes: list[str]):
        """Replace the earlier values of the part's indicators by its rows."""
        values = values[values["level"].isin(self.levels)]
        # the store's unit id of each (level, unit code), looked up column-wise
        found = self.unit_keys.get_indexer(
            pd.MultiIndex.from_arrays([values["level"], values["unit_code"]])
        )
        found = np.where(found < len(self.unit_values), found, -1)
        values = values[found >= 0].assign(unit_id=self.unit_values[found[found >= 0]])
        ids = _indicator_rows(session, [self.catalogue[code] for code in codes], self.known)
        if self.replacing and not self.deleted:
            _delete_earlier(session, list(ids.values()), period_id, self.units)
        self.deleted = frozenset()  # deleted ahead: the first part's only
        rows = _observation_rows(values, codes, self.catalogue, ids, period_id, self.batches)
        _insert(session, rows)


# earlier values of the indicators being written, in one statement on SQLite: the unit and
# indicator ids come as JSON arrays (a statement per 500 units walked the unit index again)
_EARLIER_SQLITE = (
    "FROM observations WHERE indicator_id IN (SELECT value FROM json_each(?)) "
    "AND period_id = ? AND unit_id IN (SELECT value FROM json_each(?)) "
    "AND status IN ('computed', 'suppressed')"
)


def _earlier_count(
    session: Session, indicators: list[int], period_id: int, units: list[int]
) -> int:
    """How many earlier computed values :func:`_delete_earlier` will remove (SQLite only:
    it decides whether rebuilding the indexes pays; elsewhere 0)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return 0
    found = connection.exec_driver_sql(
        f"SELECT count(*) {_EARLIER_SQLITE}",
        (json.dumps(indicators), period_id, json.dumps(units)),
    ).scalar()
    return int(found or 0)


def _delete_earlier(
    session: Session, indicators: list[int], period_id: int, units: list[int]
) -> None:
    """Delete the earlier computed and suppressed values of these indicators, period and
    units (observed, imputed and estimated values stay)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            f"DELETE {_EARLIER_SQLITE}", (json.dumps(indicators), period_id, json.dumps(units))
        )
        return
    for start in range(0, len(units), 500):
        session.execute(
            delete(models.Observation).where(
                models.Observation.indicator_id.in_(indicators),
                models.Observation.period_id == period_id,
                models.Observation.unit_id.in_(units[start : start + 500]),
                models.Observation.status.in_(("computed", "suppressed")),
            )
        )


OBSERVATION_COLUMNS = (
    "indicator_id",
    "unit_id",
    "period_id",
    "sex",
    "age_group",
    "nationality",
    "value",
    "n",
    "status",
    "source",
    "batch_id",
)


def _observation_rows(
    values: pd.DataFrame,
    computed: list[str],
    catalogue: Catalogue,
    ids: Mapping[str, int],
    period_id: int,
    batches: Mapping[str, int],
) -> dict[str, Any]:
    """The observation table's rows as columns, built column-wise (hundreds of
    thousands on big cities), ordered by indicator, unit and groups: the unique index then
    grows at its end instead of all over (≈10 % less CPU for SQLite on the medium demo), and
    the ids come out in the same order on every run (DuckDB returns groups in any order)."""
    values = values[values["indicator"].isin(computed)]
    codes = pd.Categorical(values["indicator"], categories=computed).codes.astype("int64")
    provenance = [_provenance(catalogue[code], batches) for code in computed]
    indicator_ids = np.array([ids[code] for code in computed], dtype="int64")[codes]
    unit_ids = values["unit_id"].to_numpy(dtype="int64")
    labels = {name: pd.Categorical(values[name]) for name in ("sex", "age_group", "nationality")}
    order = np.lexsort(
        (
            *(np.asarray(labels[name].codes) for name in ("nationality", "age_group", "sex")),
            unit_ids,
            indicator_ids,
        )
    )
    value = values["value"].to_numpy(dtype="float64")[order]
    n = values["n"].to_numpy(dtype="float64")[order]
    present = np.isfinite(value)
    batch = np.array([p[1] if p[1] is not None else np.nan for p in provenance], dtype="float64")
    rounded = np.where(np.isfinite(n), np.round(n), np.nan)
    # arrays, not lists: bulk_insert makes Python values a chunk at a time (millions of rows
    # on a large city); labels are taken from small arrays of shared strings
    return {
        "indicator_id": indicator_ids[order],
        "unit_id": unit_ids[order],
        "period_id": np.full(len(order), period_id, dtype="int64"),
        **{name: _labels(labels[name])[order] for name in ("sex", "age_group", "nationality")},
        "value": np.where(present, value, np.nan),
        "n": pd.array(rounded, dtype="Float64").astype("Int64"),
        "status": np.array(["suppressed", "computed"], dtype=object)[present.astype("int8")],
        "source": np.array([p[0] for p in provenance], dtype=object)[codes][order],
        "batch_id": pd.array(batch[codes][order], dtype="Float64").astype("Int64"),
    }


def _labels(categorical: pd.Categorical) -> np.ndarray:
    """A column of a few distinct strings as an object array sharing one string per label."""
    labels = np.array([*categorical.categories, None], dtype=object)  # code -1 (missing): None
    return labels[np.asarray(categorical.codes)]


def _insert(session: object, columns: Mapping[str, Any]) -> None:
    """Bulk insert through the driver (executemany on SQLite, COPY on PostgreSQL)."""
    bulk_insert(
        session,  # type: ignore[arg-type]
        models.Observation.__table__,
        {name: columns[name] for name in OBSERVATION_COLUMNS},
    )


NATIONALITIES = ("host", "venezuelan", "other_foreign")


def unit_layer(
    engine: Engine,
    city: str,
    period: str,
    level: str | None = None,
    indicators: Iterable[str] = (),
    data_dir: Path | str | None = None,
) -> gpd.GeoDataFrame:
    """The units of one level (default: the smallest) in EPSG:4326, indexed by code, with
    census counts (``population`` and one column per nationality) and the stored all-groups
    value of each of ``indicators``: the input of segregation, clusters and interpolation."""
    store.require_current(engine)
    root = Path(data_dir or get_settings().data_dir)
    with store.transaction(engine) as session:
        city_row, period_row = _city_period(session, city, period)
        levels = _levels(session, city_row, None)
        _base, hierarchy, _ids, _batch = _units(session, city_row, levels)
        census = _census(session, city_row, period_row, root)
        codes = list(indicators)
        stored = pd.DataFrame(
            session.execute(
                select(models.Indicator.code, models.Observation.unit_id, models.Observation.value)
                .join(models.Observation, models.Observation.indicator_id == models.Indicator.id)
                .where(
                    models.Indicator.code.in_(codes),
                    models.Observation.period_id == period_row.id,
                    models.Observation.sex == models.TOTAL,
                    models.Observation.age_group == models.TOTAL,
                    models.Observation.nationality == models.TOTAL,
                )
            ).all(),
            columns=["code", "unit_id", "value"],
        )
        chosen = (
            levels[0] if level is None else next((lv for lv in levels if lv.code == level), None)
        )
        if chosen is None:
            raise IndicatorError(
                _("City '{city}' has no level '{level}': its levels are {known}.").format(
                    city=city, level=level, known=", ".join(lv.code for lv in levels)
                )
            )
        geometry_rows = session.execute(
            select(
                models.SpatialUnit.id, models.SpatialUnit.code, models.SpatialUnit.geometry
            ).where(models.SpatialUnit.level_id == chosen.id)
        ).all()
    frame = gpd.GeoDataFrame(
        {"code": [str(r[1]) for r in geometry_rows], "unit_id": [r[0] for r in geometry_rows]},
        geometry=shapely.from_wkb([r[2] for r in geometry_rows]),
        crs="EPSG:4326",
    ).set_index("code")
    mapping = next((h.parent_of for h in hierarchy if h.code == chosen.code), None)
    if "person" in census:
        con = ibis.duckdb.connect()
        persons = con.read_parquet(str(census["person"][0]))
        counts = (
            persons.group_by([persons.unit_code, persons.nationality.cast("string").name("nat")])
            .aggregate(n=persons.count())
            .execute()
        )
        counts["unit_code"] = counts["unit_code"].astype(str)
        if mapping is not None:
            counts["unit_code"] = counts["unit_code"].map(mapping)
        table = counts.pivot_table(index="unit_code", columns="nat", values="n", aggfunc="sum")
        for name in NATIONALITIES:
            frame[name] = (
                table[name].reindex(frame.index).fillna(0).to_numpy() if name in table else 0.0
            )
        totals = counts.groupby("unit_code")["n"].sum()
        frame["population"] = totals.reindex(frame.index).fillna(0).to_numpy()
    for code in codes:
        mine = stored[stored["code"] == code].set_index("unit_id")["value"]
        frame[code] = frame["unit_id"].map(mine).to_numpy(dtype="float64")
    return frame.drop(columns=["unit_id"])
