"""Read-only access to what the observatory publishes, shaped for pages, APIs and exports.

Only published, disclosure-safe figures leave this module: marker runs whose ``published``
flag is set, indicator layers an analyst published, and observations that are neither
suppressed nor based on fewer than :data:`MIN_CELL` respondents (that read model is
:mod:`inclusive_cities.disclosure.served`, re-exported here). Heavy, immutable pieces
(unit geometries, serialised features) are cached in-process under a fingerprint of the
rows they come from, so stateless workers stay correct when the database changes.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy import ClauseElement, CursorResult, Engine, String, func, select, true
from sqlalchemy.orm import Session

from inclusive_cities.cache import CACHE as CACHE
from inclusive_cities.cache import MAP_CACHE as MAP_CACHE
from inclusive_cities.cache import Cache as _Cache  # noqa: F401  (web/tiles.py makes its own)
from inclusive_cities.cache import observations_fingerprint as observations_fingerprint
from inclusive_cities.cache import store_key as store_key
from inclusive_cities.cache import units_fingerprint as units_fingerprint
from inclusive_cities.disclosure.served import MIN_CELL as MIN_CELL
from inclusive_cities.disclosure.served import PublicObservation as PublicObservation
from inclusive_cities.disclosure.served import RunScores as RunScores
from inclusive_cities.disclosure.served import indicator_observations as indicator_observations
from inclusive_cities.disclosure.served import (
    public_observation_filter as public_observation_filter,
)
from inclusive_cities.disclosure.served import run_scores as run_scores
from inclusive_cities.disclosure.served import safe_observation as safe_observation
from inclusive_cities.specview import stored_spec as stored_spec
from inclusive_cities.store import models
from inclusive_cities.store.web_models import PublishedLayer
from inclusive_cities.web.specview import SpecProvider, SpecView, fallback_spec

POPULATION_CODES = ("population", "pop_total", "persons", "total_population")
MIGRANT_SHARE_CODES = (
    "refugee_migrant_share",
    "venezuelan_share",
    "migrant_share",
    "share_venezuelan",
    "pct_venezuelan",
)
"""Indicator codes the overview reads population and refugee/migrant share from."""


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


@dataclass(frozen=True)
class Collection:
    """A published layer: one marker run, or one indicator for one city and period."""

    id: str
    kind: str
    city_id: int
    city_code: str
    city_name: str
    synthetic: bool
    period_id: int
    period_code: str
    period_label: str
    level_id: int | None
    run_id: int | None = None
    spec_code: str = ""
    indicator_id: int | None = None
    indicator_code: str = ""
    indicator_name_es: str = ""
    indicator_name_en: str = ""
    source: str = ""
    level_name_es: str = ""
    level_name_en: str = ""

    def title(self, language: str, spec: SpecView | None = None) -> str:
        if self.kind == "marker":
            name = spec.name(language) if spec else self.spec_code
        else:
            name = self.indicator_name_es if language == "es" else self.indicator_name_en
        level = self.level_name_es if language == "es" else self.level_name_en
        where = f" — {level}" if level else ""
        return f"{name}{where} — {self.city_name} — {self.period_label or self.period_code}"


def publication_fingerprint(session: Session) -> str:
    """A digest of every row that the published collections' metadata is read from.

    Listing the collections takes dozens of queries once a city has many published layers;
    keyed on this digest (a handful of small queries), the list is built once per publish,
    import or rename and reused by every request, in every worker, until one of them changes.
    """
    row = fixed_query(session, "publication", _publication_statement).one()  # one round trip
    text = repr((store_key(session), *row))  # two stores in one process never share it
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


_FIXED_SQL: dict[tuple[str, str], str] = {}
"""SQL of :func:`fixed_query`'s statements by (name, dialect name), constants inlined."""


def fixed_query(
    session: Session, name: str, build: Callable[[], ClauseElement]
) -> CursorResult[Any]:
    """Run a statement without parameters that ``build()`` makes, compiled once per dialect.

    Why (issue #21): the digests asked on every OGC request (:func:`publication_fingerprint`,
    the feature sources') are large statements; building one (≈ 300 SQL expression objects)
    and computing its cache key took ≈ 5 ms of CPU per request, most of a request's, while the
    SQL itself runs in ≈ 0.3 ms. Rows come as the driver gives them (no result types).
    """
    dialect = session.get_bind().dialect
    sql = _FIXED_SQL.get((name, dialect.name))
    if sql is None:
        compiled = build().compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        sql = _FIXED_SQL.setdefault((name, dialect.name), str(compiled))
    return session.connection().exec_driver_sql(sql)


def _publication_statement() -> ClauseElement:
    """One row: each table's rows that collections' metadata comes from, as one text."""
    run, layer, analysis = models.MarkerRun, PublishedLayer, models.AnalysisLayer
    indicator, level = models.Indicator, models.UnitLevel
    tables: list[tuple[list[Any], Any]] = [
        (
            [run.id, run.city_id, run.period_id, run.level_id, run.spec_code],
            run.published.is_(True),
        ),
        ([layer.id, layer.city_id, layer.period_id, layer.indicator_id], true()),
        (
            [
                analysis.id,
                analysis.city_id,
                analysis.period_id,
                analysis.name,
                analysis.kind,
                analysis.source,
                analysis.target,
                analysis.parameters,
                analysis.input_hash,
                analysis.created_at,
            ],
            analysis.published.is_(True),
        ),
        (
            [
                indicator.id,
                indicator.code,
                indicator.name_es,
                indicator.name_en,
                indicator.direction,
                indicator.source,
            ],
            true(),
        ),
        (
            [models.City.id, models.City.code, models.City.name, models.City.is_synthetic],
            true(),
        ),
        ([models.Period.id, models.Period.code, models.Period.label], true()),
        ([level.id, level.code, level.name_es, level.name_en, level.depth], true()),
    ]
    parts: list[Any] = []
    for columns, condition in tables:
        text = columns[0].cast(String)
        for column in columns[1:]:
            text = text + "~" + func.coalesce(column.cast(String), "")
        parts.append(select(func.aggregate_strings(text, "|")).where(condition).scalar_subquery())
    parts.append(select(func.max(models.Observation.id)).scalar_subquery())
    # the units' maxima (as in units_fingerprint): the collections' extents come from them
    parts.append(select(func.max(models.SpatialUnit.id)).scalar_subquery())
    parts.append(select(func.max(models.SpatialUnit.batch_id)).scalar_subquery())
    return select(*parts)


def published_collections(session: Session, city_id: int | None = None) -> list[Collection]:
    """Every published layer, marker runs first, newest run per city, period and spec."""
    key = ("published-collections", city_id, publication_fingerprint(session))
    return list(CACHE.get(key, lambda: _published_collections(session, city_id)))


def _published_collections(session: Session, city_id: int | None) -> list[Collection]:
    out: list[Collection] = []
    seen: set[str] = set()
    runs = session.execute(
        select(models.MarkerRun, models.City, models.Period)
        .join(models.City, models.City.id == models.MarkerRun.city_id)
        .join(models.Period, models.Period.id == models.MarkerRun.period_id)
        .where(models.MarkerRun.published.is_(True))
        .where(true() if city_id is None else models.MarkerRun.city_id == city_id)
        .order_by(models.City.code, models.Period.code, models.MarkerRun.id.desc())
    ).all()
    for run, city, period in runs:
        cid = slug(f"{city.code}-{run.spec_code}-{period.code}")
        if cid in seen:
            cid = f"{cid}-run{run.id}"
        seen.add(cid)
        out.append(
            Collection(
                id=cid,
                kind="marker",
                city_id=city.id,
                city_code=city.code,
                city_name=city.name,
                synthetic=city.is_synthetic,
                period_id=period.id,
                period_code=period.code,
                period_label=period.label or period.code,
                level_id=run.level_id,
                run_id=run.id,
                spec_code=run.spec_code,
            )
        )
    layers = session.execute(
        select(PublishedLayer, models.City, models.Period, models.Indicator)
        .join(models.City, models.City.id == PublishedLayer.city_id)
        .join(models.Period, models.Period.id == PublishedLayer.period_id)
        .join(models.Indicator, models.Indicator.id == PublishedLayer.indicator_id)
        .where(true() if city_id is None else PublishedLayer.city_id == city_id)
        .order_by(models.City.code, models.Indicator.code, models.Period.code)
    ).all()
    # one collection per level that has values: a collection is one indicator at one level.
    # The finest level keeps the plain id (what clients already link to); coarser levels add
    # the level's code to it.
    levels_of: dict[tuple[int, int, int], list[models.UnitLevel]] = {}
    if layers:
        level_rows = session.execute(
            select(
                models.Observation.indicator_id,
                models.Observation.period_id,
                models.SpatialUnit.city_id,
                models.UnitLevel,
            )
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .join(models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id)
            .where(
                models.Observation.indicator_id.in_({row[3].id for row in layers}),
                true() if city_id is None else models.SpatialUnit.city_id == city_id,
            )
            .distinct()
        ).all()
        for indicator_id, period_id, city_of, unit_level in level_rows:
            levels_of.setdefault((indicator_id, period_id, city_of), []).append(unit_level)
    for _layer, city, period, indicator in layers:
        base = slug(f"{city.code}-{indicator.code}-{period.code}")
        if base in seen:
            continue
        seen.add(base)
        ordered = sorted(
            levels_of.get((indicator.id, period.id, city.id), []), key=lambda lv: -lv.depth
        )
        found: list[models.UnitLevel | None] = [*ordered] or [None]
        for position, level in enumerate(found):
            suffix = level.code if position > 0 and level is not None else ""
            cid = slug(f"{base}-{suffix}") if suffix else base
            out.append(
                Collection(
                    id=cid,
                    kind="indicator",
                    city_id=city.id,
                    city_code=city.code,
                    city_name=city.name,
                    synthetic=city.is_synthetic,
                    period_id=period.id,
                    period_code=period.code,
                    period_label=period.label or period.code,
                    level_id=level.id if level is not None else None,
                    indicator_id=indicator.id,
                    indicator_code=indicator.code,
                    indicator_name_es=indicator.name_es,
                    indicator_name_en=indicator.name_en,
                    source=indicator.source,
                    level_name_es=(level.name_es or level.code) if level is not None else "",
                    level_name_en=(level.name_en or level.code) if level is not None else "",
                )
            )
    return out


def find_collection(session: Session, collection_id: str) -> Collection | None:
    return next((c for c in published_collections(session) if c.id == collection_id), None)


# -- units and geometry -----------------------------------------------------------------


@dataclass
class UnitTable:
    """The units of one city: ids, codes, names, parents and their top-level locality."""

    ids: np.ndarray
    codes: list[str]
    names: list[str]
    level_ids: np.ndarray
    locality_code: list[str]
    locality_name: list[str]
    index: dict[int, int] = field(default_factory=dict)
    by_code: dict[tuple[int, str], int] = field(default_factory=dict)

    def row(self, unit_id: int) -> int:
        return self.index[unit_id]


def unit_table(session: Session, city_id: int) -> UnitTable:
    key = ("units", city_id, units_fingerprint(session, city_id))

    def build() -> UnitTable:
        rows = session.execute(
            select(
                models.SpatialUnit.id,
                models.SpatialUnit.code,
                models.SpatialUnit.name,
                models.SpatialUnit.parent_id,
                models.SpatialUnit.level_id,
            )
            .where(models.SpatialUnit.city_id == city_id)
            .order_by(models.SpatialUnit.id)
        ).all()
        parent = {r.id: r.parent_id for r in rows}
        info = {r.id: (r.code, r.name) for r in rows}
        top: dict[int, int] = {}
        for r in rows:
            current = r.id
            while parent.get(current) is not None and current not in top:
                current = parent[current]  # type: ignore[assignment]
            top[r.id] = top.get(current, current)
        table = UnitTable(
            ids=np.array([r.id for r in rows], dtype=np.int64),
            codes=[r.code for r in rows],
            names=[r.name or r.code for r in rows],
            level_ids=np.array([r.level_id for r in rows], dtype=np.int64),
            locality_code=[info[top[r.id]][0] for r in rows],
            locality_name=[info[top[r.id]][1] or info[top[r.id]][0] for r in rows],
        )
        table.index = {int(u): i for i, u in enumerate(table.ids)}
        table.by_code = {(int(r.level_id), r.code): i for i, r in enumerate(rows)}
        return table

    return CACHE.get(key, build)


@dataclass
class Geometries:
    """Decoded geometries of a set of units (EPSG:4326), with their bounding boxes."""

    unit_ids: np.ndarray
    geoms: np.ndarray
    bounds: np.ndarray
    simplified_json: dict[int, list[str]] = field(default_factory=dict)
    full_json: list[str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def json_at(self, zoom: int | None) -> list[str]:
        """GeoJSON geometry strings simplified to about half a screen pixel at ``zoom``."""
        if zoom is None:
            with self.lock:
                if self.full_json is None:
                    self.full_json = list(shapely.to_geojson(self.geoms))
                return self.full_json
        bucket = max(8, min(16, int(zoom) // 2 * 2))
        with self.lock:
            if bucket not in self.simplified_json:
                # degrees per pixel at this zoom on a 512-px tile; half of it is invisible
                tolerance = 360.0 / (512 * 2**bucket) / 2
                grid = tolerance / 4
                simple = shapely.simplify(self.geoms, tolerance, preserve_topology=True)
                simple = shapely.set_precision(simple, grid, mode="pointwise")
                self.simplified_json[bucket] = list(shapely.to_geojson(simple))
            return self.simplified_json[bucket]


def level_geometries(session: Session, city_id: int, level_id: int | None) -> Geometries:
    """Geometries of every unit of ``level_id`` (cached until the city's units change)."""
    key = ("geoms", city_id, level_id, units_fingerprint(session, city_id))

    def build() -> Geometries:
        query = select(models.SpatialUnit.id, models.SpatialUnit.geometry).where(
            models.SpatialUnit.city_id == city_id, models.SpatialUnit.geometry.is_not(None)
        )
        if level_id is not None:
            query = query.where(models.SpatialUnit.level_id == level_id)
        rows = session.execute(query.order_by(models.SpatialUnit.id)).all()
        ids = np.array([r.id for r in rows], dtype=np.int64)
        geoms = shapely.from_wkb([r.geometry for r in rows]) if rows else np.array([])
        bounds = shapely.bounds(geoms) if rows else np.zeros((0, 4))
        return Geometries(unit_ids=ids, geoms=np.asarray(geoms), bounds=np.asarray(bounds))

    return CACHE.get(key, build)


# -- scores and observations --------------------------------------------------------------


def unit_values_by_code(
    session: Session, codes: tuple[str, ...], period_id: int, city_id: int
) -> tuple[dict[int, float], models.Indicator | None]:
    """Disclosure-safe totals of the first indicator among ``codes`` that has data."""
    for code in codes:
        indicator = session.scalar(select(models.Indicator).where(models.Indicator.code == code))
        if indicator is None:
            continue
        values = {
            o.unit_id: o.value
            for o in indicator_observations(session, indicator.id, period_id, city_id)
            if o.value is not None
        }
        if values:
            return values, indicator
    return {}, None


def spec_for(provider: SpecProvider, scores: RunScores) -> SpecView:
    """The recipe the run stored, else the provider's spec of that name, else node codes."""
    return (
        stored_spec(scores.run)
        or provider(scores.run.spec_code)
        or fallback_spec(scores.run.spec_code, scores.nodes)
    )


def weighted_mean(values: np.ndarray, weights: np.ndarray | None) -> float | None:
    mask = ~np.isnan(values)
    if weights is not None:
        mask &= ~np.isnan(weights) & (weights > 0)
    if not mask.any():
        return None
    if weights is None:
        return float(np.mean(values[mask]))
    return float(np.average(values[mask], weights=weights[mask]))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def engine_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
