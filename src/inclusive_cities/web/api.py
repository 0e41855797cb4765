"""The JSON API (OpenAPI at /openapi.json): published, disclosure-safe figures only."""

from __future__ import annotations

import gzip
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inclusive_cities.disclosure.served import (
    published_observation_count,
    published_observations,
)
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n.units import unit_label
from inclusive_cities.store import models
from inclusive_cities.web import data, services
from inclusive_cities.web.errors import NotFound
from inclusive_cities.web.site import Offset, RowId, context, language_of, session_scope

router = APIRouter(prefix="/api", tags=["observatory"])
DB = Annotated[Session, Depends(session_scope)]
Code = Annotated[str, Query(max_length=64)]
GZIP_MIN_BYTES = 100_000
"""Map layers larger than this are sent gzip-compressed to clients that accept it."""


class CityOut(BaseModel):
    code: str
    name: str
    country: str
    synthetic: bool
    periods: list[str]


class UnitOut(BaseModel):
    code: str
    name: str
    level: str
    parent: str | None
    bbox: list[float] | None


class UnitPage(BaseModel):
    total: int
    limit: int
    offset: int
    units: list[UnitOut]


class IndicatorOut(BaseModel):
    code: str
    name_es: str
    name_en: str
    area: str
    dimension: str
    unit: str
    unit_label: str = Field(
        description="The unit in the language asked for ('per 1,000 inhabitants', 'm', '%')."
    )
    direction: str = Field(
        json_schema_extra={"enum": list(models.DIRECTIONS)},
        description=(
            "Which end is good: higher_is_better or lower_is_better for the marker's "
            "indicators; neutral for descriptive figures (population, share of persons of "
            "Venezuelan origin) that are neither better nor worse, mapped in one hue; unknown "
            "for an imported column whose direction has not been declared (also one hue, "
            "never judged)."
        ),
    )
    source: str
    benchmark_lower: float | None
    benchmark_upper: float | None
    benchmark_source: str


class ObservationOut(BaseModel):
    indicator: str
    unit: str
    period: str
    measure: str = Field(description="The indicator's unit of measure, as stored ('%', 'm').")
    measure_label: str = Field(description="The unit of measure in the language asked for.")
    sex: str
    age_group: str
    nationality: str
    value: float
    n: int | None
    standard_error: float | None
    ci_low: float | None
    ci_high: float | None
    status: str
    source: str


class RunOut(BaseModel):
    id: int
    city: str
    period: str
    spec: str
    spec_hash: str
    input_hash: str
    software_version: str
    seed: int | None
    city_score: float | None
    created_at: str
    spec_name: str = Field("", description="The spec's name in the language asked for.")
    areas: list[str] = Field(
        default_factory=list, description="Codes of the index's areas, as many as the spec has."
    )


class ScoreOut(BaseModel):
    unit: str
    node: str
    score: float | None
    level: str | None
    rank: int | None
    coverage: float = Field(
        description="The unit's share of the index's areas with data (0–1); below 1 its index "
        "is partial."
    )
    missing_areas: list[str] = Field(description="Codes of the unit's areas without data.")


class CoverageOut(BaseModel):
    unit: str
    coverage: float = Field(description="Share of the index's areas with data (0–1).")
    missing_areas: list[str] = Field(description="Codes of the areas without data.")
    missing_area_names: list[str] = Field(description="Their names, in the language asked for.")
    label: str = Field(description="'partial: housing without data', or '' when complete.")


def _periods(session: Session, city_id: int) -> list[str]:
    return [p.code for p in services.published_periods(session, city_id)]


@router.get("/cities", response_model=list[CityOut], summary="Cities with published data")
def list_cities(session: DB) -> list[CityOut]:
    out = []
    for city in session.scalars(select(models.City).order_by(models.City.code)):
        periods = _periods(session, city.id)
        if periods:
            out.append(
                CityOut(
                    code=city.code,
                    name=city.name,
                    country=city.country,
                    synthetic=city.is_synthetic,
                    periods=periods,
                )
            )
    return out


def _published_city(session: Session, code: str) -> models.City:
    city = services.city_by_code(session, code)
    if not _periods(session, city.id):
        raise NotFound(_("There is no city with code {code}.").format(code=code))
    return city


@router.get("/cities/{city}", response_model=CityOut, summary="One city")
def get_city(session: DB, city: str) -> CityOut:
    row = _published_city(session, city)
    return CityOut(
        code=row.code,
        name=row.name,
        country=row.country,
        synthetic=row.is_synthetic,
        periods=_periods(session, row.id),
    )


def _unit_out(unit: models.SpatialUnit, levels: dict[int, str], codes: dict[int, str]) -> UnitOut:
    bbox = None
    if unit.min_x is not None:
        bbox = [unit.min_x, unit.min_y, unit.max_x, unit.max_y]  # type: ignore[list-item]
    return UnitOut(
        code=unit.code,
        name=unit.name,
        level=levels.get(unit.level_id, ""),
        parent=codes.get(unit.parent_id) if unit.parent_id else None,
        bbox=bbox,  # type: ignore[arg-type]
    )


@router.get("/cities/{city}/units", response_model=UnitPage, summary="Spatial units of a city")
def list_units(
    session: DB,
    city: str,
    level: Code | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    offset: Offset = 0,
) -> UnitPage:
    row = _published_city(session, city)
    levels = {
        lv.id: lv.code
        for lv in session.scalars(
            select(models.UnitLevel).where(models.UnitLevel.city_id == row.id)
        )
    }
    query = select(models.SpatialUnit).where(models.SpatialUnit.city_id == row.id)
    if level is not None:
        ids = [i for i, c in levels.items() if c == level]
        if not ids:
            raise NotFound(_("The city has no level {level}.").format(level=level))
        query = query.where(models.SpatialUnit.level_id == ids[0])
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    units = list(session.scalars(query.order_by(models.SpatialUnit.id).limit(limit).offset(offset)))
    parents = {u.parent_id for u in units if u.parent_id}
    codes = {
        row.id: row.code
        for row in session.execute(
            select(models.SpatialUnit.id, models.SpatialUnit.code).where(
                models.SpatialUnit.id.in_(parents)
            )
        )
    }
    return UnitPage(
        total=total,
        limit=limit,
        offset=offset,
        units=[_unit_out(u, levels, codes) for u in units],
    )


@router.get("/indicators", response_model=list[IndicatorOut], summary="Indicator catalogue")
def list_indicators(session: DB) -> list[IndicatorOut]:
    return [
        IndicatorOut(
            code=i.code,
            name_es=i.name_es,
            name_en=i.name_en,
            area=i.area,
            dimension=i.dimension,
            unit=i.unit,
            unit_label=unit_label(i.unit),
            direction=i.direction,
            source=i.source,
            benchmark_lower=i.benchmark_lower,
            benchmark_upper=i.benchmark_upper,
            benchmark_source=i.benchmark_source,
        )
        for i in session.scalars(select(models.Indicator).order_by(models.Indicator.code))
    ]


@router.get(
    "/cities/{city}/observations",
    response_model=list[ObservationOut],
    summary="Published observations (never suppressed values or cells with n < 10)",
)
def list_observations(
    request: Request,
    response: Response,
    session: DB,
    city: str,
    indicator: Code | None = None,
    period: Code | None = None,
    unit: Code | None = None,
    limit: Annotated[int, Query(ge=1, le=50000)] = 1000,
    offset: Offset = 0,
) -> list[ObservationOut]:
    row = _published_city(session, city)
    # how many rows all pages hold, and where the next page is (RFC 8288 Link)
    matched = published_observation_count(
        session, row.id, indicator=indicator, period=period, unit=unit
    )
    response.headers["X-Total-Count"] = str(matched)
    if offset + limit < matched:
        following = request.url.include_query_params(offset=offset + limit, limit=limit)
        response.headers["Link"] = f'<{following}>; rel="next"'
    rows = published_observations(
        session,
        row.id,
        indicator=indicator,
        period=period,
        unit=unit,
        limit=limit,
        offset=offset,
    )
    return [
        ObservationOut(
            indicator=code,
            unit=unit_code,
            period=p.code,
            measure=measure or "",
            measure_label=unit_label(measure),
            sex=o.sex,
            age_group=o.age_group,
            nationality=o.nationality,
            value=o.value,  # type: ignore[arg-type]
            n=o.n,
            standard_error=o.standard_error,
            ci_low=o.ci_low,
            ci_high=o.ci_high,
            status=o.status,
            source=o.source,
        )
        for o, code, unit_code, p, measure in rows
    ]


def _run_out(
    run: models.MarkerRun, city: str, period: str, request: Request | None = None
) -> RunOut:
    spec = None
    if request is not None:  # the run's own recipe, else the installation's spec of that code
        spec = data.stored_spec(run) or context(request).specs(run.spec_code)
    return RunOut(
        id=run.id,
        city=city,
        period=period,
        spec=run.spec_code,
        spec_hash=run.spec_hash,
        input_hash=run.input_hash,
        software_version=run.software_version,
        seed=run.seed,
        city_score=run.city_score,
        created_at=run.created_at.isoformat(),
        spec_name=spec.name(language_of(request)) if spec and request else run.spec_code,
        areas=[a.code for a in spec.areas()] if spec else [],
    )


@router.get("/runs", response_model=list[RunOut], summary="Published marker runs")
def list_runs(request: Request, session: DB, city: Code | None = None) -> list[RunOut]:
    query = (
        select(models.MarkerRun, models.City.code, models.Period.code)
        .join(models.City, models.City.id == models.MarkerRun.city_id)
        .join(models.Period, models.Period.id == models.MarkerRun.period_id)
        .where(models.MarkerRun.published.is_(True))
    )
    if city is not None:
        query = query.where(models.City.code == city)
    rows = session.execute(query.order_by(models.MarkerRun.id))
    return [_run_out(r, c, p, request) for r, c, p in rows]


def _published_run(session: Session, run_id: int) -> tuple[models.MarkerRun, str, str]:
    row = session.execute(
        select(models.MarkerRun, models.City.code, models.Period.code)
        .join(models.City, models.City.id == models.MarkerRun.city_id)
        .join(models.Period, models.Period.id == models.MarkerRun.period_id)
        .where(models.MarkerRun.id == run_id, models.MarkerRun.published.is_(True))
    ).first()
    if row is None:
        raise NotFound(_("There is no published marker run {id}.").format(id=run_id))
    return row[0], row[1], row[2]


@router.get("/runs/{run_id}", response_model=RunOut, summary="One published marker run")
def get_run(request: Request, session: DB, run_id: RowId) -> RunOut:
    return _run_out(*_published_run(session, run_id), request)


@router.get(
    "/runs/{run_id}/scores", response_model=list[ScoreOut], summary="Scores of a published run"
)
def run_scores(
    request: Request,
    session: DB,
    run_id: RowId,
    node: Code | None = None,
    unit: Code | None = None,
) -> list[ScoreOut]:
    run, _city, _period = _published_run(session, run_id)
    scores = data.run_scores(session, run.id)
    units = data.unit_table(session, run.city_id)
    coverage = services.run_coverage(scores, data.spec_for(context(request).specs, scores))
    nodes = scores.nodes if node is None else [n for n in scores.nodes if n == node]
    if node is not None and not nodes:
        raise NotFound(_("The run has no node {node}.").format(node=node))
    out = []
    for i, unit_id in enumerate(scores.unit_ids):
        code = units.codes[units.row(int(unit_id))]
        if unit is not None and code != unit:
            continue
        for n in nodes:
            value = scores.column(n)[i]
            out.append(
                ScoreOut(
                    unit=code,
                    node=n,
                    score=None if np.isnan(value) else float(value),
                    level=scores.levels[n][i],
                    rank=scores.ranks[n][i],
                    coverage=round(float(coverage.share[i]), 4),
                    missing_areas=coverage.missing[i],
                )
            )
    return out


@router.get(
    "/runs/{run_id}/coverage",
    response_model=list[CoverageOut],
    summary="Each unit's coverage: the share of the index's areas with data, and which lack it",
)
def run_coverage(
    request: Request, session: DB, run_id: RowId, unit: Code | None = None
) -> list[CoverageOut]:
    language = language_of(request)
    run, _city, _period = _published_run(session, run_id)
    scores = data.run_scores(session, run.id)
    units = data.unit_table(session, run.city_id)
    coverage = services.run_coverage(scores, data.spec_for(context(request).specs, scores))
    out = []
    for i, unit_id in enumerate(scores.unit_ids):
        code = units.codes[units.row(int(unit_id))]
        if unit is not None and code != unit:
            continue
        share, names = coverage.at(i, language)
        out.append(
            CoverageOut(
                unit=code,
                coverage=round(share, 4),
                missing_areas=coverage.missing[i],
                missing_area_names=names,
                label=services.partial_text(names) if names else "",
            )
        )
    return out


@router.get(
    "/cities/{city}/map",
    summary="A map layer as GeoJSON with classes, colours and legend",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def map_layer(
    request: Request,
    session: DB,
    city: str,
    layer: Annotated[str, Query(max_length=200)] = "node:UIM",
    period: Code | None = None,
    compare: Code | None = None,
    zoom: Annotated[int | None, Query(ge=0, le=24)] = None,
    classification: Annotated[str, Query(max_length=20)] = "levels",
    k: Annotated[int, Query(ge=2, le=7)] = 5,
) -> Response:
    language = language_of(request)
    ctx = context(request)
    row = services.city_by_code(session, city)
    chosen = services.pick_period(session, row.id, period)
    other = services.pick_period(session, row.id, compare) if compare else None
    if layer.startswith("ogc:"):
        from inclusive_cities.web import ogc

        body = ogc.interpolation_map_json(request, session, row.code, layer, classification, k)
        return Response(body, media_type="application/geo+json")
    body = services.map_layer_json(
        session,
        ctx.specs,
        row,
        chosen,
        layer,
        zoom=zoom,
        method=classification,
        k=k,
        compare=other,
        language=language,
    )
    if "gzip" in request.headers.get("accept-encoding", "") and len(body) > GZIP_MIN_BYTES:
        # whole layers run to tens of MB at 100k units: compress once, serve many times
        packed = data.MAP_CACHE.get(
            ("gzip", hash(body), len(body)), lambda: gzip.compress(body.encode("utf-8"), 5)
        )
        return Response(
            packed,
            media_type="application/geo+json",
            headers={"content-encoding": "gzip", "vary": "Accept-Encoding"},
        )
    return Response(body, media_type="application/geo+json", headers={"vary": "Accept-Encoding"})
