"""Public HTML pages: cities, overview, map, unit profile, rankings, downloads, methodology."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models
from inclusive_cities.web import charts, data, exports, services
from inclusive_cities.web.errors import NotFound
from inclusive_cities.web.site import context, language_of, render, session_scope
from inclusive_cities.web.specview import SpecView

router = APIRouter(include_in_schema=False)
DB = Annotated[Session, Depends(session_scope)]
DOWNLOAD_NAME = re.compile(r"^([a-z0-9-]{1,200})\.(geojson|csv|hxl\.csv|xlsx|gpkg)$")


def _cities(session: Session) -> list[dict[str, Any]]:
    out = []
    for city in session.scalars(select(models.City).order_by(models.City.name)):
        periods = services.published_periods(session, city.id)
        out.append({"city": city, "published": bool(periods), "periods": periods})
    return out


@router.get("/")
def home(request: Request, session: DB) -> Response:
    cities = _cities(session)
    published = [c for c in cities if c["published"]]
    return render(request, "home.html", cities=published, title=_("Inclusive Cities Observatory"))


@router.get("/cities/{city}")
def city_overview(request: Request, session: DB, city: str, period: str | None = None) -> Response:
    language = language_of(request)
    ctx = context(request)
    row = services.city_by_code(session, city)
    view = services.overview(session, ctx.specs, row, period, language)
    measure = _("Share of the population (%)") if view.population else _("Share of units (%)")
    distribution = (
        charts.distribution_spec(view.distribution, measure) if view.distribution else None
    )
    return render(
        request,
        "city.html",
        view=view,
        city=row,
        title=row.name,
        distribution_spec=json.dumps(distribution) if distribution else None,
        measure=measure,
    )


@router.get("/cities/{city}/map")
def map_page(request: Request, session: DB, city: str, period: str | None = None) -> Response:
    language = language_of(request)
    ctx = context(request)
    row = services.city_by_code(session, city)
    chosen = services.pick_period(session, row.id, period)
    periods = services.published_periods(session, row.id)
    options = services.layer_options(session, ctx.specs, row.id, chosen.id, language)
    units = data.unit_table(session, row.id)
    localities = (
        sorted(set(zip(units.locality_code, units.locality_name, strict=True)))
        if services.has_parent_level(units)
        else []
    )
    config = {
        "city": row.code,
        "cityName": row.name,
        "period": chosen.code,
        "periods": [p.code for p in periods],
        "basemap": dataclasses.asdict(ctx.basemap) if ctx.basemap else None,
        "lang": language,
        "unitUrl": f"/cities/{row.code}/units/",
        "text": {
            "value": _("Value"),
            "class": _("Class"),
            "locality": _("Locality"),
            "profile": _("Open the profile"),
            "noData": _("No data"),
            "loading": _("Loading the layer…"),
            "units": _("units"),
            "change": _("Change since {period}"),
        },
    }
    return render(
        request,
        "map.html",
        city=row,
        period=chosen,
        periods=periods,
        options=options,
        localities=localities,
        config=json.dumps(config),
        title=_("Map explorer") + " — " + row.name,
    )


@router.get("/cities/{city}/units/{code}")
def unit_page(
    request: Request, session: DB, city: str, code: str, period: str | None = None
) -> Response:
    language = language_of(request)
    ctx = context(request)
    row = services.city_by_code(session, city)
    profile = services.unit_profile(session, ctx.specs, row, code, period, language)
    radar = None
    scored = profile.scored_areas
    top = profile.spec.scale_upper if profile.spec else 100.0
    if len(scored) >= 3:  # a missing area is left out, never drawn as 0
        scale = profile.spec.scale if profile.spec else "0–100"
        radar = charts.radar_spec(scored, _("Area scores ({scale})").format(scale=scale), top)
    trend = None
    if profile.trend:
        lower, upper = (profile.spec.scale_lower, top) if profile.spec else (0.0, 100.0)
        trend = charts.trend_spec(profile.trend, lower, upper)
    return render(
        request,
        "unit.html",
        city=row,
        profile=profile,
        radar_spec=json.dumps(radar) if radar else None,
        trend_spec=json.dumps(trend) if trend else None,
        periods=services.published_periods(session, row.id),
        title=(profile.unit.name or profile.unit.code) + " — " + row.name,
    )


@router.get("/cities/{city}/rankings")
def rankings_page(
    request: Request,
    session: DB,
    city: str,
    period: str | None = None,
    sort: str = "rank",
    order: str = "asc",
    level: str | None = None,
    locality: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    format: str = "html",
) -> Response:
    language = language_of(request)
    ctx = context(request)
    row = services.city_by_code(session, city)
    table = services.rankings(
        session,
        ctx.specs,
        row,
        period,
        language,
        sort=sort,
        descending=order == "desc",
        level=level or None,
        locality=locality or None,
        search=q or None,
    )
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        head = ["rank", "code", "name", "locality", "score"]
        if not table.has_locality:
            head.remove("locality")
        writer.writerow(
            [*head, "level", "coverage", "missing_areas"]
            + ["score_" + c["code"] for c in table.columns]
        )
        for r in table.rows:
            writer.writerow(
                [r[h] if r[h] is not None else "" for h in head]
                + [r["level"], r["coverage"], "; ".join(r["missing_areas"])]
                + ["" if r[c["code"]] is None else r[c["code"]] for c in table.columns]
            )
        name = f"rankings-{row.code}-{table.period.code}.csv".lower()
        return Response(
            buffer.getvalue().encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
    size = 100
    pages = max(1, (table.total + size - 1) // size)
    page = min(page, pages)
    shown = table.rows[(page - 1) * size : page * size]
    query = {
        k: v
        for k, v in {
            "period": table.period.code,
            "level": level,
            "locality": locality,
            "q": q,
            "sort": sort,
            "order": order,
        }.items()
        if v
    }
    return render(
        request,
        "rankings.html",
        city=row,
        table=table,
        rows=shown,
        page=page,
        pages=pages,
        query=query,
        sort=sort,
        order=order,
        level=level or "",
        locality=locality or "",
        q=q or "",
        partial=services.partial_text,
        periods=services.published_periods(session, row.id),
        title=_("Rankings") + " — " + row.name,
    )


@router.get("/downloads")
def downloads_page(request: Request, session: DB) -> Response:
    language = language_of(request)
    ctx = context(request)
    collections = data.published_collections(session)
    rows = []
    for c in collections:
        spec = services.collection_spec(session, ctx.specs, c)
        rows.append({"collection": c, "title": c.title(language, spec)})
    return render(
        request,
        "downloads.html",
        rows=rows,
        formats=[
            ("csv", "CSV"),
            ("hxl.csv", _("HXL CSV")),
            ("xlsx", "Excel"),
            ("gpkg", "GeoPackage"),
            ("geojson", "GeoJSON"),
        ],
        licence=ctx.settings.data_licence,
        title=_("Downloads"),
    )


@router.get("/downloads/{filename}")
def download(request: Request, session: DB, filename: str) -> Response:
    language = language_of(request)
    ctx = context(request)
    match = DOWNLOAD_NAME.match(filename)
    collection = data.find_collection(session, match.group(1)) if match else None
    if match is None or collection is None:
        raise NotFound(_("There is no published file called {name}.").format(name=filename))
    from inclusive_cities.ingest.boundaries import boundary_terms, figure_terms

    fmt = match.group(2)
    table = exports.feature_table(session, ctx.specs, collection)
    licence = ctx.settings.data_licence
    city_id = session.scalar(select(models.City.id).where(models.City.code == collection.city_code))
    if collection.indicator_id is not None and city_id is not None:
        # figures imported under their maker's licence (import table --licence) say so
        declared = figure_terms(session, collection.indicator_id, collection.period_id, city_id)
        licence = "; ".join(declared) or licence
    terms = boundary_terms(session, city_id) if city_id is not None else []
    if terms:  # the figures are ours; the geometry is under its makers' terms
        licence = _("{licence} (figures); boundaries: {terms}").format(
            licence=licence, terms="; ".join(terms)
        )
    body = exports.render(table, fmt, language, licence)
    return Response(
        body,
        media_type=exports.FORMATS[fmt],
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/methodology")
def methodology(request: Request, session: DB, spec: str | None = None) -> Response:
    language = language_of(request)
    ctx = context(request)
    codes = sorted(
        set(
            session.scalars(
                select(models.MarkerRun.spec_code).where(models.MarkerRun.published.is_(True))
            )
        )
    )
    chosen = spec or (codes[0] if codes else "uim-basic")
    if spec is not None and spec not in codes and ctx.specs(spec) is None:
        raise NotFound(_("There is no marker spec called {code}.").format(code=spec))
    view = _published_spec(session, chosen) or ctx.specs(chosen)
    names = {code: _published_spec(session, code) or ctx.specs(code) for code in codes}
    return render(
        request,
        "methodology.html",
        spec=view,
        codes=codes,
        names={code: found.name(language) for code, found in names.items() if found},
        chosen=chosen,
        title=_("Methodology"),
    )


def _published_spec(session: Session, code: str) -> SpecView | None:
    """The recipe stored by the newest published run of spec ``code``: a city's own spec
    is documented from what was actually computed, not looked up among built-in ones."""
    run = session.scalar(
        select(models.MarkerRun)
        .where(models.MarkerRun.spec_code == code, models.MarkerRun.published.is_(True))
        .order_by(models.MarkerRun.id.desc())
        .limit(1)
    )
    return data.stored_spec(run) if run is not None else None


@router.get("/cities")
def cities_redirect() -> Response:
    return RedirectResponse("/", status_code=307)
