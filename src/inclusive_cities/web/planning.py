"""Planner pages: prioritised places, candidate projects under a budget, and their impact.

Choosing among candidate projects is staff work, so the planner and the places page sit
behind the admin login; the impact page of a project is public once the marker run it is
measured on is published. Queries live here beside the pages (not in ``web/services.py``),
and figures come from :mod:`inclusive_cities.planning`; this module only shapes them.

This router must not import ``web.app`` (``web.app`` imports the routers): the few things it
needs from the app (templates, engine, language) are read from ``request.app.state.web``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import DEFAULT_LANGUAGE, use_language
from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models
from inclusive_cities.web import auth, data, services
from inclusive_cities.web.errors import BadRequest, NotFound

router = APIRouter(include_in_schema=False)
MAX_BUDGET = 1e13
MAX_WEIGHT = 10.0
K_DEFAULT = 10
ROBUST_REPLICATES = 50
CURRENCY = "$"


# -- plumbing -------------------------------------------------------------------------------


def _web(request: Request) -> Any:
    return request.app.state.web


def _db(request: Request) -> Iterator[Session]:
    with _web(request).session() as session:
        yield session


DB = Annotated[Session, Depends(_db)]


def _language(request: Request) -> str:
    language = str(request.scope.get("state", {}).get("language", DEFAULT_LANGUAGE))
    use_language(language)
    return language


def _page(request: Request, template: str, **values: Any) -> HTMLResponse:
    """Render a page with what ``base.html`` expects (the same values ``web.app.render`` gives)."""
    web = _web(request)
    language = _language(request)
    query = dict(request.query_params)
    query.pop("lang", None)
    other = "en" if language == "es" else "es"
    html = web.templates.get_template(template).render(
        request=request,
        lang=language,
        other_lang=other,
        switch_url=request.url.path + "?" + urlencode({**query, "lang": other}),
        basemap=web.basemap,
        has_assets=web.has_assets,
        has_docs_assets=web.has_docs_assets,
        **values,
    )
    return HTMLResponse(html)


def _who(request: Request, session: Session) -> auth.Identity | None:
    """The logged-in analyst or admin (cookie session or API token), else None: a
    ``programme`` account is not planning staff and sees what the public sees."""
    return auth.staff(request, session)


def _require_staff(request: Request, session: Session) -> auth.Identity:
    """401 for nobody, 403 for a ``programme`` account (the planner is for staff)."""
    return auth.require_staff(request, session)


def _login_redirect() -> RedirectResponse:
    return RedirectResponse("/admin/login", status_code=303)


# -- runs, units and projects ------------------------------------------------------------


def _runs(session: Session, city: models.City, published_only: bool) -> list[dict[str, Any]]:
    """The city's marker runs, newest period first, labelled for a select box."""
    query = (
        select(models.MarkerRun, models.Period)
        .join(models.Period, models.Period.id == models.MarkerRun.period_id)
        .where(models.MarkerRun.city_id == city.id)
        .order_by(models.Period.code.desc(), models.MarkerRun.id.desc())
    )
    if published_only:
        query = query.where(models.MarkerRun.published.is_(True))
    rows = []
    for run, period in session.execute(query).all():
        state = _("published") if run.published else _("draft")
        label = _("{period} · {state} · no. {id}").format(
            period=period.label or period.code, id=run.id, state=state
        )
        rows.append({"id": run.id, "label": label, "run": run, "period": period})
    return rows


def _pick_run(runs: list[dict[str, Any]], wanted: int | None) -> dict[str, Any]:
    if not runs:
        raise NotFound(
            _("This city has no marker run yet: compute one with 'inclusive-cities marker build'.")
        )
    if wanted is None:
        published = [r for r in runs if r["run"].published]
        return (published or runs)[0]
    for row in runs:
        if row["id"] == wanted:
            return row
    raise NotFound(_("There is no marker run {id}.").format(id=wanted))


def _projects_fingerprint(session: Session, city_id: int) -> tuple[Any, ...]:
    """Changes whenever the city's candidate projects are imported again."""
    row = session.execute(
        select(
            func.count(models.PlanningProject.id),
            func.max(models.PlanningProject.id),
            func.max(models.PlanningProject.batch_id),
        ).where(models.PlanningProject.city_id == city_id)
    ).one()
    return tuple(row)


def type_labels() -> dict[str, str]:
    """Project types in the user's language (codes as the projects file writes them)."""
    return {
        "public_space": _("Public space"),
        "housing": _("Housing"),
        "services": _("Services"),
        "centre": _("Integration centre"),
        "economic": _("Economic development"),
        "social_cohesion": _("Social cohesion"),
    }


def _locality_names(session: Session, city_id: int) -> dict[str, str]:
    table = data.unit_table(session, city_id)
    return dict(zip(table.locality_code, table.locality_name, strict=True))


def _nice_step(total: float) -> float:
    """A round slider step near a two-hundredth of the total (1, 2 or 5 times a power of 10)."""
    if total <= 0:
        return 1.0
    raw = total / 200
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _weights(request: Request, areas: list[str]) -> dict[str, float] | None:
    """``w.VIV=2&w.SAL=0.5`` from the query: the planner's area weights (None = the spec's)."""
    weights: dict[str, float] = {}
    for key, value in request.query_params.items():
        if not key.startswith("w."):
            continue
        area = key[2:]
        if area not in areas:
            raise BadRequest(
                _("Unknown area '{area}': use one of {areas}.").format(
                    area=area[:40], areas=", ".join(areas)
                )
            )
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if not 0 < weight <= MAX_WEIGHT:
            raise BadRequest(
                _(
                    "The weight of {area} must be a number above 0 and at most {max}, not "
                    "'{value}'."
                ).format(area=area, max=MAX_WEIGHT, value=value[:20])
            )
        weights[area] = weight
    return weights or None


def _share(value: float | None, name: str) -> float:
    if value is None:
        return 0.0
    if not 0 <= value <= 100:
        raise BadRequest(
            _("{name} must be a percentage from 0 to 100, not {value}.").format(
                name=name, value=value
            )
        )
    return value / 100


# -- the engine, cached ------------------------------------------------------------------


def _places(
    request: Request, session: Session, city: models.City, run_id: int, weights: Any, k: int
) -> Any:
    from inclusive_cities.planning import prioritise_places

    engine = _web(request).engine
    # the drivers and area names are written in the language of the request
    key = (
        "planning-places",
        city.code,
        run_id,
        tuple(sorted((weights or {}).items())),
        k,
        _language(request),
    )
    return data.CACHE.get(
        key, lambda: prioritise_places(engine, city.code, run_id, k=k, weights=weights)
    )


def _run_data(request: Request, city: models.City, run_id: int) -> Any:
    """The run as the planning domain reads it (spec, normalised scores, population): read
    once, then every re-solve only re-aggregates, which keeps it well under a second."""
    from inclusive_cities.planning import load_run

    engine = _web(request).engine
    return data.CACHE.get(
        ("planning-run", city.code, run_id), lambda: load_run(engine, city.code, run_id)
    )


def _projects(
    request: Request, session: Session, city: models.City, candidates_only: bool = True
) -> pd.DataFrame:
    """The city's stored projects: by default the candidates for the budget (not started)."""
    from inclusive_cities.planning import load_projects

    engine = _web(request).engine
    key = ("planning-projects", city.code, candidates_only, _projects_fingerprint(session, city.id))
    return data.CACHE.get(key, lambda: load_projects(engine, city.code, candidates_only))


@dataclasses.dataclass
class Inputs:
    """What the planner chose on the page, parsed once for the JSON, XLSX and PDF answers."""

    city: models.City
    run: dict[str, Any]
    runs: list[dict[str, Any]]
    areas: list[tuple[str, str]]
    weights: dict[str, float] | None
    budget: float
    min_migrant_share: float
    min_host_share: float
    k: int = K_DEFAULT

    def query(self) -> dict[str, str]:
        """The same choice as URL parameters (download links repeat the page's choice)."""
        out = {"run": str(self.run["id"]), "budget": f"{self.budget:g}"}
        if self.min_migrant_share:
            out["migrant"] = f"{100 * self.min_migrant_share:g}"
        if self.min_host_share:
            out["host"] = f"{100 * self.min_host_share:g}"
        for area, weight in (self.weights or {}).items():
            out[f"w.{area}"] = f"{weight:g}"
        return out


def _areas(request: Request, session: Session, run: models.MarkerRun) -> list[tuple[str, str]]:
    """The index's areas (code, name in the page's language), from the run's stored spec."""
    language = _language(request)
    scores = data.run_scores(session, run.id)
    spec = data.spec_for(_web(request).specs, scores)
    return [(node.code, node.name(language)) for node in spec.areas()]


def _inputs(
    request: Request,
    session: Session,
    city_code: str,
    run: int | None,
    budget: float | None,
    migrant: float | None,
    host: float | None,
    projects: pd.DataFrame | None = None,
) -> Inputs:
    city = services.city_by_code(session, city_code)
    runs = _runs(session, city, published_only=False)
    chosen = _pick_run(runs, run)
    areas = _areas(request, session, chosen["run"])
    weights = _weights(request, [code for code, _name in areas])
    if budget is None:
        frame = projects if projects is not None else _projects(request, session, city)
        total = float(frame["cost"].sum()) if len(frame) else 0.0
        budget = _nice_step(total) * round(total / 2 / _nice_step(total)) if total else 0.0
    if not 0 <= budget <= MAX_BUDGET or math.isnan(budget):
        raise BadRequest(
            _("The budget must be a positive amount, not {value}.").format(value=budget)
        )
    return Inputs(
        city,
        chosen,
        runs,
        areas,
        weights,
        float(budget),
        _share(migrant, _("The minimum share for refugees and migrants")),
        _share(host, _("The minimum share for the host population")),
    )


def _constraints(inputs: Inputs) -> Any:
    from inclusive_cities.planning import Constraints

    return Constraints(
        budget=inputs.budget,
        min_migrant_share=inputs.min_migrant_share,
        min_host_share=inputs.min_host_share,
    )


def _money(value: float, language: str) -> str:
    return f"{CURRENCY} {services.format_number(value, 0, language)}"


def _period_label(run: dict[str, Any]) -> str:
    period = run.get("period")
    return str(getattr(period, "label", None) or getattr(period, "code", "") or "")


def solve(request: Request, session: Session, inputs: Inputs) -> dict[str, Any]:
    """The selection for the planner's choice as JSON: totals and every project (the curve
    comes from :func:`curve_json`, asked for after, so the table never waits for it)."""
    from inclusive_cities.planning import (
        InfeasibleError,
        PlanningError,
        project_benefits,
        select_projects,
    )

    language = _language(request)
    started = time.perf_counter()
    projects = _projects(request, session, inputs.city)
    try:
        run = _run_data(request, inputs.city, inputs.run["id"])
        benefits = project_benefits(projects, run, inputs.weights)
    except PlanningError as failure:
        raise BadRequest(str(failure)) from None
    # the benefit model rides in attrs, which pandas deep-copies on every operation: the
    # selection does not need it, and without it a re-solve is several times faster
    benefits.attrs.clear()
    constraints = _constraints(inputs)
    error = None
    try:
        selection = select_projects(benefits, constraints)
        table = selection.table
    except InfeasibleError as failure:
        error = str(failure)
        selection = None
        table = benefits.assign(chosen=False, greedy_chosen=False)
    seconds = time.perf_counter() - started
    types = type_labels()
    localities = _locality_names(session, inputs.city.id)
    rows: list[dict[str, Any]] = []
    for row in table.itertuples(index=False):
        rows.append(
            {
                "code": str(row.code),
                "name": str(row.name or row.code),
                "type": str(row.type),
                "type_label": types.get(str(row.type), str(row.type)),
                "locality": str(row.locality or ""),
                "locality_label": localities.get(str(row.locality), str(row.locality or "")),
                "cost": float(row.cost),
                "host": _round(row.beneficiaries_host),
                "migrant": _round(row.beneficiaries_migrant),
                "benefit": float(row.benefit),
                "chosen": bool(row.chosen),
                "greedy": bool(row.greedy_chosen),
            }
        )
    chosen = [r for r in rows if r["chosen"]]
    # each unit's residents once, however many chosen projects reach them
    host = _round(selection.people_host) if selection is not None else 0.0
    migrant = _round(selection.people_migrant) if selection is not None else 0.0
    greedy_text = ""
    if selection is not None:
        greedy_text = _(
            "The simple rule (benefit per peso) reaches {benefit}: {gap} % less."
        ).format(
            benefit=services.format_number(selection.greedy_benefit, 1, language),
            gap=services.format_number(100 * selection.gap, 1, language),
        )
    return {
        "budget": inputs.budget,
        "run": inputs.run["id"],
        "weights": inputs.weights or {},
        "count": len(chosen),
        "spent": float(selection.cost) if selection is not None else 0.0,
        "benefit": float(selection.benefit) if selection is not None else 0.0,
        "greedy_benefit": float(selection.greedy_benefit) if selection is not None else 0.0,
        "gap": float(selection.gap) if selection is not None else 0.0,
        "greedy_text": greedy_text,
        "people": host + migrant,
        "host": host,
        "migrant": migrant,
        # the residents counted are those of the run's period (plan prioritise says the same)
        "population_period": _period_label(inputs.run),
        "projects": rows,
        "seconds": round(seconds, 4),
        "error": error,
    }


def curve_json(request: Request, session: Session, inputs: Inputs) -> dict[str, Any]:
    """The budget curve for the planner's weights and rules, with the chosen budget marked:
    ten exact solves the first time, then from the cache while only the budget moves."""
    from inclusive_cities.charts.planning import budget_curve, localised
    from inclusive_cities.planning import PlanningError, project_benefits

    language = _language(request)
    started = time.perf_counter()
    projects = _projects(request, session, inputs.city)
    try:
        run = _run_data(request, inputs.city, inputs.run["id"])
        benefits = project_benefits(projects, run, inputs.weights)
    except PlanningError as failure:
        raise BadRequest(str(failure)) from None
    benefits.attrs.clear()
    curve = _curve(inputs, projects, benefits, _constraints(inputs))
    # budgets where the rules cannot be met have no benefit: left off the chart (no NaN)
    curve = curve[curve["feasible"].astype(bool)].reset_index(drop=True)
    chart = budget_curve(
        curve.to_dict("records"),
        inputs.budget,
        budget_title=_("Budget ({currency})").format(currency=CURRENCY),
        benefit_title=_("Total benefit (points)"),
        exact_label=_("Best choice"),
        greedy_label=_("Simple rule (benefit per peso)"),
        budget_label=_("Chosen budget"),
    )
    return {
        "budget": inputs.budget,
        "curve": json.loads(curve.to_json(orient="records")),
        "curve_spec": localised(chart.to_dict(), language),
        "seconds": round(time.perf_counter() - started, 4),
    }


def _curve(
    inputs: Inputs, projects: pd.DataFrame, benefits: pd.DataFrame, constraints: Any
) -> pd.DataFrame:
    """The budget curve at ten budgets up to the cost of every project. It does not depend
    on the budget being looked at, so moving the budget slider reuses it (one solve, not
    eleven); the chart marks the chosen budget with a rule."""
    from inclusive_cities.planning import budget_curve

    budgets = _budgets(projects)
    key = (
        "planning-curve",
        inputs.city.code,
        inputs.run["id"],
        tuple(sorted((inputs.weights or {}).items())),
        inputs.min_migrant_share,
        inputs.min_host_share,
        tuple(benefits["benefit"].round(9)),
        tuple(budgets),
    )
    return data.CACHE.get(key, lambda: budget_curve(benefits, constraints, budgets=budgets))


def _budgets(projects: pd.DataFrame) -> list[float]:
    """Ten round budgets up to the cost of every candidate project."""
    total = float(projects["cost"].sum()) if len(projects) else 0.0
    step = _nice_step(total)
    return sorted({step * round(total * i / 10 / step) for i in range(1, 11)})


def _round(value: Any) -> float:
    """Beneficiaries are estimates from census counts: whole people, never fractions."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 0.0
    return float(round(float(value)))


# -- map layers ----------------------------------------------------------------------------


NO_DATA = "#d9d9d9"


def _feature_collection(features: list[dict[str, Any]], bounds: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if features and bounds is not None and np.all(np.isfinite(bounds)):
        out["bbox"] = [float(b) for b in bounds]
    return out


def units_layer(
    request: Request, session: Session, city: models.City, run: models.MarkerRun
) -> dict[str, Any]:
    """The run's units coloured by their index level: the need the projects answer to."""
    language = _language(request)
    scores = data.run_scores(session, run.id)
    spec = data.spec_for(_web(request).specs, scores)
    root = spec.root.code if spec.root else (scores.nodes[0] if scores.nodes else "")
    geometries = data.level_geometries(session, city.id, run.level_id)
    table = data.unit_table(session, city.id)
    at = {int(u): i for i, u in enumerate(scores.unit_ids)}
    column = scores.column(root) if root in scores.nodes else np.full(len(scores.unit_ids), np.nan)
    withheld = scores.is_withheld(root)
    features = []
    for unit_id, geometry in zip(geometries.unit_ids, geometries.json_at(12), strict=True):
        row = at.get(int(unit_id))
        score = None if row is None or np.isnan(column[row]) else float(column[row])
        level = spec.level_for(score)
        index = table.index[int(unit_id)]
        label, colour = (level.label(language), level.colour) if level else (_("No data"), NO_DATA)
        if level is None and row is not None and withheld[row]:
            # withheld by disclosure control, not missing: said as the map explorer says it
            label, colour = _("Withheld for confidentiality"), services.WITHHELD_COLOUR
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(geometry),
                "properties": {
                    "code": table.codes[index],
                    "name": table.names[index],
                    "score": score,
                    "level": label,
                    "colour": colour,
                    "withheld": bool(row is not None and withheld[row] and level is None),
                },
            }
        )
    bounds = None
    if len(geometries.bounds):
        b = geometries.bounds
        bounds = [b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()]
    return _feature_collection(features, bounds)


def project_points(projects: pd.DataFrame, session: Session, city: models.City) -> dict[str, Any]:
    """Each project as a point: its site, the centre of its polygon, or of the units it serves."""
    unit_geoms: dict[str, Any] = {}
    if "unit_codes" in projects and projects["unit_codes"].notna().any():
        rows = session.execute(
            select(models.SpatialUnit.code, models.SpatialUnit.geometry).where(
                models.SpatialUnit.city_id == city.id, models.SpatialUnit.geometry.is_not(None)
            )
        ).all()
        unit_geoms = {r.code: shapely.from_wkb(r.geometry) for r in rows}
    features = []
    xs: list[float] = []
    ys: list[float] = []
    for row in projects.to_dict("records"):
        point = _project_point(row, unit_geoms)
        if point is None:
            continue
        xs.append(point[0])
        ys.append(point[1])
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": list(point)},
                "properties": {
                    "code": str(row["code"]),
                    "name": str(row.get("name") or row["code"]),
                    "cost": float(row["cost"]),
                    "chosen": False,
                },
            }
        )
    bounds = [min(xs), min(ys), max(xs), max(ys)] if xs else None
    return _feature_collection(features, bounds)


def _project_point(row: dict[str, Any], unit_geoms: dict[str, Any]) -> tuple[float, float] | None:
    lon, lat = row.get("longitude"), row.get("latitude")
    if lon is not None and lat is not None and not (pd.isna(lon) or pd.isna(lat)):
        return float(lon), float(lat)
    geometry = row.get("geometry")
    if isinstance(geometry, bytes | bytearray):
        geometry = shapely.from_wkb(bytes(geometry))
    if isinstance(geometry, shapely.Geometry) and not geometry.is_empty:
        centre = geometry.representative_point()
        return float(centre.x), float(centre.y)
    codes = row.get("unit_codes")
    if isinstance(codes, list | tuple | np.ndarray):
        parts = [unit_geoms[c] for c in codes if c in unit_geoms]
        if parts:
            centre = shapely.union_all(parts).representative_point()
            return float(centre.x), float(centre.y)
    return None


# -- pages and answers -------------------------------------------------------------------


@router.get("/cities/{city}/planner")
def planner_page(
    request: Request,
    session: DB,
    city: str,
    run: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    budget: Annotated[float | None, Query(ge=0, le=MAX_BUDGET)] = None,
) -> Response:
    """The investment planner (staff only): budget, weights, map, curve, table, downloads."""
    if auth.staff_or_login(request, session) is None:
        return _login_redirect()
    language = _language(request)
    row = services.city_by_code(session, city)
    projects = _projects(request, session, row)
    inputs = _inputs(request, session, city, run, budget, None, None, projects)
    total = float(projects["cost"].sum()) if len(projects) else 0.0
    step = _nice_step(total)
    spec = data.spec_for(_web(request).specs, data.run_scores(session, inputs.run["id"]))
    config: dict[str, Any] = {}
    levels = [{"label": lv.label(language), "colour": lv.colour} for lv in spec.levels]
    if len(projects):
        units = units_layer(request, session, row, inputs.run["run"])
        if any(f["properties"]["withheld"] for f in units["features"]):
            levels.append(
                {"label": _("Withheld for confidentiality"), "colour": services.WITHHELD_COLOUR}
            )
        config = {
            "city": row.code,
            "cityName": row.name,
            "lang": language,
            "currency": CURRENCY,
            "solveUrl": f"/api/planning/{row.code}/solve",
            "curveUrl": f"/api/planning/{row.code}/curve",
            "robustUrl": f"/api/planning/{row.code}/robust",
            "xlsxUrl": f"/cities/{row.code}/planner/selection.xlsx",
            "pdfUrl": f"/cities/{row.code}/planner/selection.pdf",
            "basemap": dataclasses.asdict(_web(request).basemap) if _web(request).basemap else None,
            "units": units,
            "projects": project_points(projects, session, row),
            "text": {
                "chosen": _("Chosen"),
                "notChosen": _("Not chosen"),
                "marker": _("Marker (0–100)"),
                "yes": _("Yes"),
                "no": _("No"),
                "countOf": _("{count} of {total}"),
                "split": _(
                    "{host} host · {migrant} refugees and migrants (population of {period}, "
                    "the marker run's)"
                ),
            },
        }
    return _page(
        request,
        "planning.html",
        title=_("Investment planner") + " — " + row.name,
        city=row,
        tab="planner",
        projects=len(projects),
        runs=inputs.runs,
        run=inputs.run["run"],
        areas=[{"code": c, "name": n} for c, n in inputs.areas],
        budget=inputs.budget,
        budget_max=math.ceil(total / step) * step if total else 0,
        budget_step=step,
        budget_text=_money(inputs.budget, language),
        total_text=_money(total, language),
        levels=levels,
        xlsx_url=f"/cities/{row.code}/planner/selection.xlsx?" + urlencode(inputs.query()),
        pdf_url=f"/cities/{row.code}/planner/selection.pdf?" + urlencode(inputs.query()),
        config=json.dumps(config),
    )


Budget = Annotated[float | None, Query(ge=0, le=MAX_BUDGET)]
Share = Annotated[float | None, Query(ge=0, le=100)]
RunQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


def _planner_inputs(
    request: Request,
    session: DB,
    city: str,
    run: RunQuery = None,
    budget: Budget = None,
    migrant: Share = None,
    host: Share = None,
) -> Inputs:
    """The query every planner endpoint reads, for staff only."""
    _require_staff(request, session)
    return _inputs(request, session, city, run, budget, migrant, host)


PlannerInputs = Annotated[Inputs, Depends(_planner_inputs)]


@router.get("/api/planning/{city}/solve")
def solve_json(request: Request, session: DB, inputs: PlannerInputs) -> JSONResponse:
    """Solve the selection again for the page's budget and weights (staff only)."""
    return JSONResponse(solve(request, session, inputs))


@router.get("/api/planning/{city}/curve")
def curve_endpoint(request: Request, session: DB, inputs: PlannerInputs) -> JSONResponse:
    """The budget curve for the page's weights, with its budget marked (staff only)."""
    return JSONResponse(curve_json(request, session, inputs))


@router.get("/api/planning/{city}/robust")
def robust_endpoint(request: Request, session: DB, inputs: PlannerInputs) -> JSONResponse:
    """How often each project is chosen over the marker's simulations (staff only)."""
    return JSONResponse(robust_json(request, session, inputs))


def robust_json(request: Request, session: Session, inputs: Inputs) -> dict[str, Any]:
    """The selection solved again with the need of each of the marker's simulations (at most
    50 pairs, 100 solves): the share of them in which each project is chosen."""
    from inclusive_cities.planning import (
        InfeasibleError,
        PlanningError,
        prioritise_places,
        project_benefits,
        robust_selection,
    )

    engine = _web(request).engine
    started = time.perf_counter()
    projects = _projects(request, session, inputs.city)
    key = (
        "planning-robust",
        inputs.city.code,
        _projects_fingerprint(session, inputs.city.id),
        tuple(sorted(inputs.query().items())),
    )

    def build() -> dict[str, float | None]:
        run = _run_data(request, inputs.city, inputs.run["id"])
        places = prioritise_places(
            engine, inputs.city.code, run, k=inputs.k, weights=inputs.weights, weight_draws=0
        )
        benefits = project_benefits(projects, places)
        draws = max(1, min(ROBUST_REPLICATES, int(run.replicates or 1)))
        table = robust_selection(benefits, places, _constraints(inputs), draws)
        return {
            str(code): (None if math.isnan(share) else float(share))
            for code, share in zip(table["code"], table["share_chosen"], strict=True)
        } | {"": float(table.attrs.get("replicates", 0))}

    try:
        shares = data.CACHE.get(key, build)
    except (InfeasibleError, PlanningError) as failure:
        raise BadRequest(str(failure)) from None
    shares = dict(shares)
    replicates = int(shares.pop("", 0) or 0)
    return {
        "budget": inputs.budget,
        "shares": shares,
        "replicates": replicates,
        "seconds": round(time.perf_counter() - started, 4),
    }


def _plan(request: Request, session: Session, inputs: Inputs) -> Any:
    """Everything the downloads hold: places, benefits, selection, curve and robustness
    (kept a while, so the workbook and the PDF of one choice are solved once)."""
    from inclusive_cities.planning import PlanningError
    from inclusive_cities.planning.selection import prioritise

    engine = _web(request).engine
    projects = _projects(request, session, inputs.city)
    key = (
        "planning-plan",
        inputs.city.code,
        _projects_fingerprint(session, inputs.city.id),
        tuple(sorted(inputs.query().items())),
        _language(request),  # area names and drivers are written in the request's language
    )

    def build() -> Any:
        run = _run_data(request, inputs.city, inputs.run["id"])
        return prioritise(
            engine,
            inputs.city.code,
            str(inputs.run["id"]),
            constraints=_constraints(inputs),
            weights=inputs.weights,
            k=inputs.k,
            budgets=_budgets(projects),
            # as many marker simulations as the run drew, at most 50 (100 solves)
            robust_replicates=max(1, min(ROBUST_REPLICATES, int(run.replicates or 1))),
        )

    try:
        return data.CACHE.get(key, build)
    except PlanningError as failure:
        raise BadRequest(str(failure)) from None


def _download(path: Path, filename: str, media_type: str) -> Response:
    body = path.read_bytes()
    return Response(
        body,
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/cities/{city}/planner/selection.xlsx")
def selection_xlsx(
    request: Request,
    session: DB,
    city: str,
    run: RunQuery = None,
    budget: Budget = None,
    migrant: Share = None,
    host: Share = None,
) -> Response:
    """The selection as a workbook in the user's language (the CLI's --out, same sheets)."""
    if auth.staff_or_login(request, session) is None:
        return _login_redirect()
    from inclusive_cities.planning.output import write_selection_xlsx

    _language(request)
    inputs = _inputs(request, session, city, run, budget, migrant, host)
    plan = _plan(request, session, inputs)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "selection.xlsx"
        write_selection_xlsx(plan, out)
        return _download(
            out,
            f"{inputs.city.code.lower()}-selection-{inputs.budget:.0f}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )


@router.get("/cities/{city}/planner/selection.pdf")
def selection_pdf(
    request: Request,
    session: DB,
    city: str,
    run: RunQuery = None,
    budget: Budget = None,
    migrant: Share = None,
    host: Share = None,
) -> Response:
    """The selection as a printed report for a council (same figures as the page)."""
    if auth.staff_or_login(request, session) is None:
        return _login_redirect()
    from inclusive_cities.web.report_jobs import report_response

    _language(request)
    inputs = _inputs(request, session, city, run, budget, migrant, host)
    # solved and rendered by a job (issue #20), from the same choice as the page's
    return report_response(
        request,
        "selection",
        {"city": inputs.city.code, "path": request.url.path, "query": inputs.query()},
        public=False,
        file_name=f"{inputs.city.code.lower()}-selection-{inputs.budget:.0f}.pdf",
        user=str(getattr(_who(request, session), "email", "")),
    )


def selection_pdf_job(engine: Engine, options: dict[str, Any], language: str, out: Path) -> None:
    """The report job of :func:`selection_pdf`: the page's choice comes back from its query
    parameters, and is solved and rendered in the job worker."""
    from inclusive_cities.reports.planning_report import selection_report
    from inclusive_cities.web.report_jobs import offline_request

    query: dict[str, str] = options["query"]
    request = offline_request(engine, options["path"], query, language)
    with _web(request).session() as session:
        inputs = _inputs(
            request,
            session,
            options["city"],
            int(query["run"]),
            float(query["budget"]),
            float(query["migrant"]) if "migrant" in query else None,
            float(query["host"]) if "host" in query else None,
        )
        plan = _plan(request, session, inputs)
    selection_report(engine, inputs.city.code, plan, out, language=language)


@router.get("/cities/{city}/planner/places")
def places_page(
    request: Request,
    session: DB,
    city: str,
    run: RunQuery = None,
    k: Annotated[int, Query(ge=1, le=1000)] = K_DEFAULT,
) -> Response:
    """Which units are the most excluded, and how sure we are (staff only)."""
    if auth.staff_or_login(request, session) is None:
        return _login_redirect()
    _language(request)
    row = services.city_by_code(session, city)
    runs = _runs(session, row, published_only=False)
    chosen = _pick_run(runs, run)
    areas = _areas(request, session, chosen["run"])
    weights = _weights(request, [code for code, _name in areas])
    places = _places(request, session, row, chosen["id"], weights, k)
    labels = dict(getattr(places, "area_labels", {}) or {})
    localities = _locality_names(session, row.id)
    units = []
    for unit in places.units.to_dict("records"):
        drivers = [
            d.strip()
            for d in str(unit.get("drivers") or "").replace(";", ",").split(",")
            if d.strip()
        ]
        units.append(
            {
                **unit,
                "locality_label": localities.get(str(unit.get("locality")), unit.get("locality")),
                "driver_labels": [labels.get(d, d) for d in drivers],
                "p_percent": 100 * float(unit["p_top_k"]),
            }
        )
    spearman = getattr(places, "spearman", {}) or {}
    return _page(
        request,
        "planning_places.html",
        title=_("Priority places") + " — " + row.name,
        city=row,
        tab="places",
        runs=runs,
        run=chosen["run"],
        k=k,
        areas=[{"code": c, "name": n, "weight": (weights or {}).get(c, 1.0)} for c, n in areas],
        units=units,
        replicates=getattr(places, "replicates", None),
        spearman=spearman.get("median"),
        spearman_low=spearman.get("p05"),
        sure=_sureness(spearman.get("median")),
    )


def _sureness(spearman: float | None) -> str:
    """Spearman's rank correlation under perturbed weights, said in plain words."""
    if spearman is None or math.isnan(spearman):
        return ""
    if spearman >= 0.95:
        return _("The order hardly changes when the area weights move: it is robust.")
    if spearman >= 0.8:
        return _("The order changes a little when the area weights move: check the close cases.")
    return _(
        "The order changes a lot when the area weights move: agree on the weights before deciding."
    )


# -- impact of projects --------------------------------------------------------------------

METHODS = ("did", "cs", "synth")
ALL_PROJECTS = "all"
"""The impact page of the plan as a whole (every project with a start date)."""


def method_labels() -> dict[str, str]:
    return {
        "did": _("Difference in differences"),
        "cs": _("Staggered starts (Callaway and Sant'Anna)"),
        "synth": _("Synthetic control (one area)"),
    }


def group_labels() -> dict[str, str]:
    return {
        "treated": _("Neighbourhoods with the project"),
        "comparison": _("Comparison neighbourhoods"),
        "synthetic": _("Synthetic comparison"),
    }


def _started_projects(request: Request, session: Session, city: models.City) -> pd.DataFrame:
    projects = _projects(request, session, city, candidates_only=False)
    if not len(projects) or "start_date" not in projects:
        return projects.iloc[0:0]
    return projects[projects["start_date"].notna()].sort_values(["start_date", "code"])


def _latest_runs(
    session: Session, city: models.City, spec: str, level_id: int | None
) -> dict[str, models.MarkerRun]:
    """period code -> the latest run of ``spec`` there (the runs the impact panel reads)."""
    rows = session.execute(
        select(models.MarkerRun, models.Period.code)
        .join(models.Period, models.Period.id == models.MarkerRun.period_id)
        .where(
            models.MarkerRun.city_id == city.id,
            models.MarkerRun.spec_code == spec,
            models.MarkerRun.level_id == level_id,
        )
        .order_by(models.MarkerRun.id)
    ).all()
    return {code: run for run, code in rows}


def _impact_run(session: Session, city: models.City) -> models.MarkerRun:
    """The run whose spec and level the impact is measured on: the planner's default."""
    return _pick_run(_runs(session, city, published_only=False), None)["run"]


def _public_impact(runs: dict[str, models.MarkerRun]) -> bool:
    """An impact page is public when every marker run it rests on is published (and, checked
    per project, none of its units' scores is withheld): it then shows nothing the public map
    does not already show."""
    return len(runs) >= 2 and all(run.published for run in runs.values())


def _hidden_scores(
    session: Session, runs: dict[str, models.MarkerRun], root: str
) -> set[tuple[str, str]]:
    """(unit code, period) pairs whose score the public site withholds (disclosure control
    masks scores normalised from a hidden cell)."""
    hidden: set[tuple[str, str]] = set()
    for period, run in runs.items():
        scores = data.run_scores(session, run.id)
        if root not in scores.nodes:
            continue
        column = scores.column(root)
        table = data.unit_table(session, run.city_id)
        for unit_id, value in zip(scores.unit_ids, column, strict=True):
            if np.isnan(value):
                hidden.add((table.codes[table.index[int(unit_id)]], period))
    return hidden


@router.get("/cities/{city}/impact")
def impact_list(request: Request, session: DB, city: str) -> Response:
    """Projects that have started (public works, public list), each linked to the measure of
    its impact when that measure is public (or the viewer is staff)."""
    language = _language(request)
    row = services.city_by_code(session, city)
    staff = _who(request, session) is not None
    withheld: set[str] = set()
    try:
        run = _impact_run(session, row)
    except NotFound:  # a city with published layers but no marker run yet
        public = False
    else:
        runs = _latest_runs(session, row, run.spec_code, run.level_id)
        public = _public_impact(runs)
        if public and not staff:
            hidden = _hidden_scores(session, runs, _root_of(request, session, run))
            withheld = {code for code, _period in hidden}
    types = type_labels()
    localities = _locality_names(session, row.id)
    # projects stored without a locality (the demo's executed ones): their units' localities
    units = data.unit_table(session, row.id)
    unit_locality = dict(zip(units.codes, units.locality_name, strict=True))

    def locality(p: dict[str, Any]) -> str:
        if p.get("locality"):
            return localities.get(str(p["locality"]), str(p["locality"]))
        codes = _codes(p)
        return ", ".join(sorted({unit_locality[str(c)] for c in codes if str(c) in unit_locality}))

    projects = [
        {
            "code": str(p["code"]),
            "name": str(p.get("name") or p["code"]),
            "type": types.get(str(p["type"]), str(p["type"])),
            "locality": locality(p),
            "start": _date_text(p["start_date"], language),
            # its own units' score is withheld: its page is for staff, and the list says why
            "reserved": bool(withheld & {str(c) for c in _codes(p)}),
        }
        for p in _started_projects(request, session, row).to_dict("records")
    ]
    return _page(
        request,
        "impact_list.html",
        title=_("Impact of projects") + " — " + row.name,
        city=row,
        tab="impact",
        staff=staff,
        linked=staff or public,
        projects=projects,
    )


def _codes(project: dict[str, Any]) -> list[Any]:
    """The unit codes a project was stored with (none for one placed by its site alone)."""
    stored = project.get("unit_codes")
    return stored if isinstance(stored, list) else []


def _date_text(value: Any, language: str) -> str:
    when = pd.Timestamp(value)
    if language == "es":
        return f"{when.day}/{when.month}/{when.year}"
    return when.strftime("%-d %b %Y")


def _measure(
    request: Request,
    city: models.City,
    project: str,
    outcome: str,
    method: str,
    run: Any,
    withheld: frozenset[str] = frozenset(),
) -> Any:
    """The measure (cached); ``withheld``: units left out of the comparison (the public
    pages' measure rests on public scores only)."""
    from inclusive_cities.planning.impact import measure_impact

    engine = _web(request).engine
    level = None
    with _web(request).session() as session:
        level_row = session.get(models.UnitLevel, run.level_id) if run.level_id else None
        level = level_row.code if level_row else None
    key = (
        "planning-impact",
        city.code,
        project,
        outcome,
        method,
        run.spec_code,
        level,
        _language(request),
        tuple(sorted(withheld)),
    )
    return data.CACHE.get(
        key,
        lambda: measure_impact(
            engine,
            city.code,
            outcome,
            project=None if project == ALL_PROJECTS else project,
            method=method,
            level=level,
            spec=run.spec_code,
            withheld=withheld,
        ),
    )


@dataclasses.dataclass
class ImpactView:
    """Everything an impact page (and its PDF) shows, shaped once."""

    city: models.City
    project: dict[str, Any]
    run: models.MarkerRun
    runs: dict[str, models.MarkerRun]
    outcome: str
    method: str
    result: Any
    public: bool
    staff: bool
    units: pd.DataFrame
    methods: tuple[str, ...] = METHODS
    """The methods the page offers: the synthetic control only with enough earlier periods."""
    notice: str = ""
    """Why the page shows another method than the one asked for."""


def impact_view(
    request: Request,
    session: Session,
    city_code: str,
    project: str,
    outcome: str,
    method: str,
    staff: bool | None = None,
) -> ImpactView | RedirectResponse:
    """The impact of one started project, or the login page when it is not public;
    ``staff`` given: as that audience saw it (a report job has no browser session)."""
    from inclusive_cities.planning.impact import ImpactError

    row = services.city_by_code(session, city_code)
    staff = _who(request, session) is not None if staff is None else staff
    run = _impact_run(session, row)
    runs = _latest_runs(session, row, run.spec_code, run.level_id)
    public = _public_impact(runs)
    if not staff and not public:
        return _login_redirect()
    if method not in METHODS:
        raise BadRequest(
            _("Unknown method '{method}': use one of {choices}.").format(
                method=method[:20], choices=", ".join(METHODS)
            )
        )
    if outcome != "marker" and not staff:
        raise BadRequest(_("The public impact pages measure the marker only."))
    started = _started_projects(request, session, row)
    if project == ALL_PROJECTS:  # the plan as a whole: every project with a start date
        match = started
    else:
        match = started[started["code"].astype(str) == project] if len(started) else started
    if not len(match):
        raise NotFound(
            _("Project {project} has not started or does not exist in {city}.").format(
                project=project[:64], city=row.name
            )
        )
    offered, notice = _offered_methods(project, match, sorted(runs), method)
    if method not in offered:
        method = "did"
    # the public measure compares only units whose score the public map shows: one withheld
    # score among the comparison units sent 45 of the demo's 49 projects to the login page
    # (trial #5 T16), and the estimate and group means could have given them away
    hidden: set[tuple[str, str]] = set()
    if not staff:
        hidden = _hidden_scores(session, runs, _root_of(request, session, run))
    withheld = frozenset(code for code, _period in hidden)
    try:
        result = _measure(request, row, project, outcome, method, run, withheld)
    except ImpactError as failure:
        raise BadRequest(str(failure)) from None
    labels = dict(_outcomes(request, session, run, staff=True))
    result = dataclasses.replace(result, outcome_label=labels.get(outcome, outcome))
    units = result.tables.get("units", pd.DataFrame(columns=["unit", "role", "pre", "post"]))
    units = units.copy()
    if not staff and len(units) and withheld & set(units["unit"].astype(str)):
        # the project's own units are withheld: its measure would give them away
        return _login_redirect()
    chosen = match.iloc[0].to_dict()
    if project == ALL_PROJECTS:
        chosen = {
            "code": ALL_PROJECTS,
            "name": _("All started projects ({count})").format(count=len(match)),
            "start_date": match["start_date"].min(),
        }
    return ImpactView(
        row, chosen, run, runs, outcome, method, result, public, staff, units, offered, notice
    )


def _offered_methods(
    project: str, started: pd.DataFrame, periods: list[str], asked: str
) -> tuple[tuple[str, ...], str]:
    """The methods a project's page can offer, and a note when the one asked for is not one
    of them. The synthetic control fits one area on its periods before the start and needs
    ``MIN_SYNTH_PRE`` of them: offered with fewer, it always ended on an error page that
    named a command-line flag (trial #5 T11)."""
    from inclusive_cities.planning.impact import MIN_SYNTH_PRE

    before = []
    if project != ALL_PROJECTS and len(started):
        start = _start_period(started.iloc[0].to_dict(), periods)
        before = [p for p in periods if start is None or p < start]
    if project != ALL_PROJECTS and len(before) >= MIN_SYNTH_PRE:
        return METHODS, ""
    offered = tuple(m for m in METHODS if m != "synth")
    if asked != "synth":
        return offered, ""
    return offered, _(
        "The synthetic control needs at least {needed} periods before the project starts and "
        "the observatory has {n}: shown with difference in differences instead."
    ).format(needed=MIN_SYNTH_PRE, n=len(before))


def _root_of(request: Request, session: Session, run: models.MarkerRun) -> str:
    spec = data.spec_for(_web(request).specs, data.run_scores(session, run.id))
    return spec.root.code if spec.root else ""


def _outcomes(
    request: Request, session: Session, run: models.MarkerRun, staff: bool
) -> list[tuple[str, str]]:
    language = _language(request)
    options = [("marker", _("Urban Inclusion Marker"))]
    if staff:
        spec = data.spec_for(_web(request).specs, data.run_scores(session, run.id))
        options += [(node.code, node.name(language)) for node in spec.indicators()]
    return options


@router.get("/cities/{city}/impact/{project}")
def impact_page(
    request: Request,
    session: DB,
    city: str,
    project: str,
    outcome: Annotated[str, Query(max_length=64)] = "marker",
    method: Annotated[str, Query(max_length=16)] = "did",
) -> Response:
    """The impact of one project: the verdict in plain words, the estimate with its 95 %
    interval, treated vs comparison over time, and maps before and after."""
    from inclusive_cities.charts.planning import impact_trend, localised
    from inclusive_cities.reports.planning_report import prepost_maps, units_frame

    language = _language(request)
    view = impact_view(request, session, city, project, outcome, method)
    if isinstance(view, RedirectResponse):
        return view
    result = view.result
    groups = group_labels()
    trend_rows = [
        {
            "period": str(r["period"]),
            "group": groups.get(str(r["group"]), str(r["group"])),
            "value": float(r["value"]),
        }
        for r in result.tables.get("trend", pd.DataFrame()).to_dict("records")
    ]
    periods = sorted(view.runs)
    start = _start_period(view.project, periods)
    shown = {r["group"] for r in trend_rows}  # no legend line for a group with no line
    chart = impact_trend(
        trend_rows,
        start=start,
        value_title=result.outcome_label or outcome,
        period_title=_("Period"),
        start_label=_("First period after the start"),
        groups=[label for label in groups.values() if label in shown],
    )
    pre_map, post_map = prepost_maps(
        units_frame(_web(request).engine, view.city.code, view.run.level_id),
        view.units,
        marker=outcome == "marker",
        treated_label=_("Neighbourhoods with the project"),
        value_label=result.outcome_label or outcome,
        other_label=_("Not compared or no data"),
    )
    names = dict(zip(view.units["unit"], view.units.get("name", view.units["unit"]), strict=True))
    rows = [
        {
            **r,
            "name": names.get(r["unit"], r["unit"]),
            "role_label": groups.get(r["role"], r["role"]),
        }
        for r in view.units.to_dict("records")
    ]
    query = {"outcome": outcome, "method": view.method}
    return _page(
        request,
        "impact.html",
        title=_("Impact: {project}").format(project=view.project.get("name") or project),
        city=view.city,
        tab="impact",
        view=view,
        result=result,
        project=view.project,
        verdict=result.verdict(),
        assumptions=result.assumptions(),
        method_label=method_labels()[view.method],
        methods={m: name for m, name in method_labels().items() if m in view.methods},
        notice=view.notice,
        outcomes=_outcomes(request, session, view.run, view.staff),
        first_period=periods[0] if periods else "",
        last_period=periods[-1] if periods else "",
        pre_map=pre_map,
        post_map=post_map,
        units=rows,
        balance=result.tables.get("balance"),
        trend_spec=json.dumps(localised(chart.to_dict(), language)),
        start=_date_text(view.project["start_date"], language),
        xlsx_url=f"/cities/{view.city.code}/impact/{project}/impact.xlsx?" + urlencode(query),
        pdf_url=f"/cities/{view.city.code}/impact/{project}/impact.pdf?" + urlencode(query),
    )


def _start_period(project: dict[str, Any], periods: list[str]) -> str | None:
    """The first period on or after the project's start (where the chart's rule goes)."""
    year = pd.Timestamp(project["start_date"]).year
    later = [p for p in periods if p[:4].isdigit() and int(p[:4]) >= year]
    return later[0] if later else None


@router.get("/cities/{city}/impact/{project}/impact.xlsx")
def impact_xlsx(
    request: Request,
    session: DB,
    city: str,
    project: str,
    outcome: Annotated[str, Query(max_length=64)] = "marker",
    method: Annotated[str, Query(max_length=16)] = "did",
) -> Response:
    """The estimate and its tables as a workbook in the user's language."""
    from inclusive_cities.planning.impact import impact_to_xlsx

    _language(request)
    view = impact_view(request, session, city, project, outcome, method)
    if isinstance(view, RedirectResponse):
        return view
    result = dataclasses.replace(view.result, tables={**view.result.tables, "units": view.units})
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "impact.xlsx"
        impact_to_xlsx(result, out)
        return _download(
            out,
            f"{view.city.code.lower()}-impact-{project.lower()}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )


def impact_pdf_job(engine: Engine, options: dict[str, Any], language: str, out: Path) -> None:
    """The report job of :func:`impact_pdf`, shown to the audience that asked for it."""
    from inclusive_cities.reports.planning_report import impact_report
    from inclusive_cities.web.report_jobs import NoLongerPublic, offline_request

    request = offline_request(engine, options["path"], {}, language)
    with _web(request).session() as session:
        view = impact_view(
            request,
            session,
            options["city"],
            options["project"],
            options["outcome"],
            options["method"],
            staff=not options["public"],
        )
    if isinstance(view, RedirectResponse):
        raise NoLongerPublic(options["project"])
    periods = sorted(view.runs)
    impact_report(
        engine,
        view.city.code,
        view.result,
        out,
        language=language,
        project=view.project,
        units=view.units,
        level_id=view.run.level_id,
        periods=periods,
        start_period=_start_period(view.project, periods),
    )


@router.get("/cities/{city}/impact/{project}/impact.pdf")
def impact_pdf(
    request: Request,
    session: DB,
    city: str,
    project: str,
    outcome: Annotated[str, Query(max_length=64)] = "marker",
    method: Annotated[str, Query(max_length=16)] = "did",
) -> Response:
    """The impact as a printed report section, with the same charts and maps as the page."""
    from inclusive_cities.web.report_jobs import report_response

    _language(request)
    view = impact_view(request, session, city, project, outcome, method)
    if isinstance(view, RedirectResponse):
        return view
    # rendered by a job (issue #20); staff see what the staff page shows, the public theirs
    options = {
        "city": view.city.code,
        "path": request.url.path,
        "project": project,
        "outcome": outcome,
        "method": method,
    }
    return report_response(
        request,
        "impact",
        options,
        public=not view.staff,
        file_name=f"{view.city.code.lower()}-impact-{project.lower()}.pdf",
    )
