"""Territorial intervention plan pages (issue #17 §2): a plan's map of projects over the marker
layer, its timeline, budget by area and by status, the workshop solutions no project answers
yet, the neighbourhood proposals and what became of them; one project's page with its evidence,
workshop origins, priority score (issue #16) and measured impact; downloads (GeoPackage, XLSX,
the plan report); and the staff forms that add and edit projects, upload files and record
proposals.

Data come from :mod:`inclusive_cities.planning` (plans, proposals, designs, selection, impact);
this router only shapes them. A plan is public once published; drafts are for staff only. It
must not import ``web.app`` (which imports the routers).
"""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import shapely
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from inclusive_cities.errors import InclusiveCitiesError
from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models
from inclusive_cities.store.plan_models import ITEM_STATUSES
from inclusive_cities.web import auth, data, services
from inclusive_cities.web import planning as planner
from inclusive_cities.web.errors import NotFound, WebError
from inclusive_cities.web.staff_forms import Upload, audit
from inclusive_cities.web.workshops import (
    DB,
    XLSX,
    area_names,
    date_text,
    download,
    evidence_view,
    indicator_names,
    language,
    login_redirect,
    number,
    page,
    staff,
    staff_or_login,
    unit_names,
    web,
)

router = APIRouter(include_in_schema=False)
CURRENCY = "$"
GPKG = "application/geopackage+sqlite3"
STATUS_COLOURS = {
    "proposed": "#8a96a3",
    "approved": "#2c7bb6",
    "under_way": "#d68a00",
    "done": "#1a9641",
}
MAX_PLAN_UPLOAD = 50 * 1024 * 1024


def status_labels() -> dict[str, str]:
    from inclusive_cities.planning.territorial_plan import status_label

    return {status: status_label(status) for status in ITEM_STATUSES}


def outcome_labels() -> dict[str, str]:
    return {
        "adopted": _("Adopted into the plan"),
        "not_adopted": _("Not adopted"),
        "pending": _("Pending"),
    }


def money(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{CURRENCY} {format_number(float(value), 0, language_now())}"


def language_now() -> str:
    from inclusive_cities.i18n import current_language

    return current_language()


def _list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    return [str(v) for v in value]


def _date(value: Any) -> date | None:
    if value is None or (not isinstance(value, date) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value if isinstance(value, date) else None


# -- which plan ------------------------------------------------------------------------------


def _plans(request: Request, city: models.City, who: auth.Identity | None) -> list[Any]:
    from inclusive_cities.planning.territorial_plan import list_plans

    plans = list_plans(web(request).engine, city.code)
    return [p for p in plans if p.published or who is not None]


def _pick(plans: list[Any], wanted: str | None) -> Any:
    if not plans:
        return None
    if wanted:
        for plan in plans:
            if plan.code == wanted:
                return plan
        raise NotFound(_("There is no plan {code}.").format(code=wanted[:64]))
    published = [p for p in plans if p.published]
    return sorted(published or plans, key=lambda p: (p.period, p.id))[-1]


def _load(request: Request, city: models.City, plan: Any) -> Any:
    from inclusive_cities.planning.territorial_plan import load_plan

    return load_plan(web(request).engine, city.code, plan.code)


def _visible(
    request: Request, session: Session, city: str, plan: str | None
) -> tuple[models.City, auth.Identity | None, Any]:
    """The city, the viewer (None for the public) and the plan they may see."""
    row = services.city_by_code(session, city)
    who = staff(request, session)
    plans = _plans(request, row, who)
    chosen = _pick(plans, plan)
    if chosen is None:
        if plan:
            raise NotFound(_("There is no plan {code}.").format(code=plan[:64]))
        return row, who, None
    return row, who, chosen


# -- shaping -----------------------------------------------------------------------------


def project_rows(items: pd.DataFrame, units: dict[str, str], lang: str) -> list[dict[str, Any]]:
    types = planner.type_labels()
    statuses = status_labels()
    out = []
    for item in items.to_dict("records"):
        codes = _list(item.get("unit_codes"))
        start, end = _date(item.get("start_date")), _date(item.get("end_date"))
        out.append(
            {
                "code": str(item["code"]),
                "name": str(item.get("name") or item["code"]),
                "type": str(item.get("type") or ""),
                "type_label": types.get(str(item.get("type")), str(item.get("type") or "")),
                "status": str(item.get("status") or "proposed"),
                "status_label": statuses.get(str(item.get("status")), str(item.get("status"))),
                "cost": float(item.get("cost") or 0),
                "cost_text": money(item.get("cost")),
                "funding": str(item.get("funding_source") or ""),
                "start": start,
                "end": end,
                "dates": _dates_text(start, end, lang),
                "unit_codes": codes,
                "units_text": ", ".join(units.get(c, c) for c in codes),
                "solutions": _list(item.get("solution_codes")),
                "targets": _list(item.get("targets")),
                "description": str(item.get("description") or ""),
                "project_code": str(item.get("project_code") or ""),
                "geometry": item.get("geometry"),
            }
        )
    return out


def _dates_text(start: date | None, end: date | None, lang: str) -> str:
    if start is None and end is None:
        return _("No dates yet")
    if end is None:
        return _("from {start}").format(start=date_text(start, lang))
    if start is None:
        return _("until {end}").format(end=date_text(end, lang))
    return f"{date_text(start, lang)} – {date_text(end, lang)}"


def timeline(rows: list[dict[str, Any]], lang: str, today: date | None = None) -> dict[str, Any]:
    """Bars placed on the span from the earliest start to the latest end (percent of the span),
    year ticks, and today's line when it falls inside."""
    dated = [r for r in rows if r["start"] is not None]
    undated = ", ".join(r["name"] for r in rows if r["start"] is None)
    if not dated:
        return {"rows": [], "ticks": [], "today": None, "undated": undated}
    first = min(r["start"] for r in dated)
    last = max((r["end"] or r["start"]) for r in dated)
    first = date(first.year, 1, 1)
    last = date(last.year + 1, 1, 1)
    span = (last - first).days

    def at(day: date) -> float:
        return round(100 * (day - first).days / span, 2)

    out = []
    for r in sorted(dated, key=lambda r: (r["start"], r["code"])):
        end = r["end"] or r["start"]
        left = at(r["start"])
        out.append(
            {
                **r,
                "left": left,
                "width": max(round(at(end) - left, 2), 0.8),
            }
        )
    ticks = [
        {"left": at(date(year, 1, 1)) + 50 * 365 / span, "label": str(year)}
        for year in range(first.year, last.year)
    ]
    today = today or date.today()
    return {
        "rows": out,
        "ticks": ticks,
        "today": at(today) if first <= today <= last else None,
        "undated": undated,
    }


def budget_blocks(request: Request, session: Session, city: models.City, plan: Any) -> list[Any]:
    """Budget by thematic area and by status, as bars on one scale per block."""
    from inclusive_cities.planning.territorial_plan import budget_by

    lang = language(request)
    names = {**area_names(request, session, city.id, lang), **indicator_names(session, lang)}
    statuses = status_labels()
    blocks = []
    for key, title, labels, colours in (
        ("target", _("By thematic area"), names, {}),
        ("status", _("By status"), statuses, STATUS_COLOURS),
    ):
        table = budget_by(plan.items, key) if len(plan.items) else pd.DataFrame()
        rows = []
        top = float(table["cost"].max()) if len(table) else 0.0
        for r in (
            table.sort_values("cost", ascending=False).to_dict("records") if len(table) else []
        ):
            label = str(r["key"]) if r["key"] not in (None, "") else _("Not said")
            rows.append(
                {
                    "label": labels.get(str(r["key"]), label),
                    "text": money(r["cost"]),
                    "share": format_number(100 * float(r["share"]), 0, lang) + " %",
                    "width": round(100 * float(r["cost"]) / top, 1) if top else 0,
                    "colour": colours.get(str(r["key"]), "#004f8a"),
                }
            )
        blocks.append({"id": key, "title": title, "rows": rows})
    return blocks


def _solution_names(session: Session, city: models.City) -> dict[tuple[str, str], dict[str, Any]]:
    """(workshop code, solution code) → the solution's text and its workshop."""
    from inclusive_cities.planning.workshops import list_solutions, list_workshops

    titles = {w.code: w.title or w.code for w in list_workshops(session, city.code)}
    found = {}
    for s in list_solutions(session, city.code):
        found[(s.workshop_code, s.code)] = {
            "code": s.code,
            "text": s.text,
            "workshop": s.workshop_code,
            "workshop_title": titles.get(s.workshop_code, s.workshop_code),
        }
    return found


def open_solutions(
    request: Request, session: Session, city: models.City, plan: Any
) -> list[dict[str, Any]]:
    from inclusive_cities.planning.territorial_plan import unanswered_solutions

    table = unanswered_solutions(web(request).engine, city.code, plan.code)
    names = _solution_names(session, city)
    out = []
    for r in table.to_dict("records"):
        known = names.get((str(r["workshop"]), str(r["code"])), {})
        out.append(
            {
                "code": str(r["code"]),
                "text": str(r["text"]),
                "workshop": str(r["workshop"]),
                "workshop_title": known.get("workshop_title", str(r["workshop"])),
            }
        )
    return out


def proposal_rows(
    request: Request,
    session: Session,
    city: models.City,
    item: str | None = None,
    names: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Proposals of published plans (or not yet in a plan); ``item`` keeps those it became."""
    from inclusive_cities.planning.proposals import list_proposals
    from inclusive_cities.reports.plan_report import supporters_text  # same rule as the report

    units = unit_names(session, city.id)
    outcomes = outcome_labels()
    table = list_proposals(web(request).engine, city.code)
    out = []
    for p in table.to_dict("records"):
        if item is not None and str(p.get("item") or "") != item:
            continue
        linked = str(p.get("item") or "")
        out.append(
            {
                "code": str(p["code"]),
                "title": str(p.get("title") or p["code"]),
                "description": str(p.get("description") or ""),
                "unit": units.get(str(p.get("unit_code") or ""), str(p.get("unit_code") or "")),
                "supporters": supporters_text(int(p.get("supporters") or 0)),
                "outcome": str(p.get("outcome") or "pending"),
                "outcome_label": outcomes.get(str(p.get("outcome")), str(p.get("outcome"))),
                "reason": str(p.get("reason") or ""),
                "project": (
                    {
                        "code": linked,
                        "name": (names or {}).get(linked, linked),
                        "plan": str(p.get("plan") or ""),
                    }
                    if linked
                    else None
                ),
            }
        )
    return out


def map_config(
    request: Request,
    session: Session,
    city: models.City,
    rows: list[dict[str, Any]],
    plan_code: str,
    fit_units: bool = True,
    fit: list[float] | None = None,
) -> dict[str, Any]:
    """Units coloured by their marker level (the latest published run) and the projects as
    GeoJSON (their own point or polygon, else a point inside their neighbourhoods)."""
    lang = language(request)
    units: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    levels: list[dict[str, str]] = []
    try:
        run = planner._pick_run(planner._runs(session, city, published_only=True), None)["run"]
    except NotFound:
        run = None
    if run is not None:
        units = planner.units_layer(request, session, city, run)
        spec = data.spec_for(web(request).specs, data.run_scores(session, run.id))
        levels = [{"label": lv.label(lang), "colour": lv.colour} for lv in spec.levels]
    geometries = unit_geometries(session, city.id)
    features = []
    for r in rows:
        geometry = site(r, geometries)
        if geometry is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geometry),
                "properties": {
                    "code": r["code"],
                    "name": r["name"],
                    "status": r["status"],
                    "status_label": r["status_label"],
                    "cost_text": r["cost_text"],
                    "url": f"/cities/{city.code}/plan/projects/{r['code']}?plan={plan_code}",
                },
            }
        )
    projects: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if features:
        bounds = shapely.bounds(
            shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in features])
        )
        projects["bbox"] = [float(b) for b in bounds]
    basemap = web(request).basemap
    scored = sum(1 for f in units["features"] if f["properties"].get("score") is not None)
    hidden = sum(1 for f in units["features"] if f["properties"].get("withheld"))
    if hidden:  # the grey of withheld units has its own line in the legend (trial #4 F7, F18)
        levels = [
            *levels,
            {"label": _("Withheld for confidentiality"), "colour": services.WITHHELD_COLOUR},
        ]
    return {
        "withheld": bool(units["features"]) and scored == 0,
        "config": {
            "cityName": city.name,
            "lang": lang,
            "basemap": dataclasses.asdict(basemap) if basemap else None,
            "units": units,
            "projects": projects,
            "colours": STATUS_COLOURS,
            "fitUnits": fit_units,
            "fit": fit,
            "text": {"marker": _("Marker (0–100)")},
        },
        "levels": levels,
    }


def unit_geometries(session: Session, city_id: int) -> dict[str, Any]:
    from sqlalchemy import select

    rows = session.execute(
        select(models.SpatialUnit.code, models.SpatialUnit.geometry).where(
            models.SpatialUnit.city_id == city_id, models.SpatialUnit.geometry.is_not(None)
        )
    ).all()
    return {code: geometry for code, geometry in rows}


def site(row: dict[str, Any], geometries: dict[str, Any]) -> Any:
    """A project's own geometry, else a point inside the union of its neighbourhoods."""
    geometry = row.get("geometry")
    if isinstance(geometry, bytes | bytearray):
        geometry = shapely.from_wkb(bytes(geometry))
    if isinstance(geometry, shapely.Geometry) and not geometry.is_empty:
        return geometry
    parts = [shapely.from_wkb(geometries[c]) for c in row["unit_codes"] if c in geometries]
    if parts:
        return shapely.union_all(parts).representative_point()
    return None


def _around(session: Session, city: models.City, rows: list[dict[str, Any]]) -> list[float] | None:
    """The box the project's map opens on: its site and its neighbourhoods together."""
    geometries = unit_geometries(session, city.id)
    parts = [site(r, geometries) for r in rows]
    parts += [
        shapely.from_wkb(geometries[c]) for r in rows for c in r["unit_codes"] if c in geometries
    ]
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    return [float(b) for b in shapely.bounds(shapely.union_all(parts))]


# -- public pages ----------------------------------------------------------------------------


@router.get("/cities/{city}/plan")
def plan_page(request: Request, session: DB, city: str, plan: str | None = None) -> Response:
    """A plan: map, timeline, budget, projects, open solutions and proposals."""
    lang = language(request)
    row, who, chosen = _visible(request, session, city, plan)
    if chosen is None:
        return page(
            request,
            "plan/none.html",
            title=_("Territorial intervention plan") + " — " + row.name,
            city=row,
            tab="plan",
            who=who,
        )
    full = _load(request, row, chosen)
    units = unit_names(session, row.id)
    rows = project_rows(full.items, units, lang)
    open_list = open_solutions(request, session, row, chosen)
    done = sum(1 for r in rows if r["status"] in ("done", "under_way"))
    geo = map_config(request, session, row, rows, chosen.code)
    base = f"/cities/{row.code}/plan/{chosen.code}"
    return page(
        request,
        "plan/plan.html",
        title=chosen.name + " — " + row.name,
        city=row,
        tab="plan",
        who=who,
        plan=chosen,
        plans=_plans(request, row, who),
        figures={
            "projects": format_number(len(rows), 0, lang),
            "budget": money(sum(r["cost"] for r in rows)),
            "progress": _("{count} of {total}").format(
                count=format_number(done, 0, lang), total=format_number(len(rows), 0, lang)
            ),
            "open_solutions": format_number(len(open_list), 0, lang),
        },
        base=base,
        base_projects=f"/cities/{row.code}/plan/projects",
        statuses=[
            {"label": label, "colour": STATUS_COLOURS[key]}
            for key, label in status_labels().items()
        ],
        levels=geo["levels"],
        marker_withheld=geo["withheld"],
        timeline=timeline(rows, lang),
        budget=budget_blocks(request, session, row, full),
        projects=rows,
        open_solutions=open_list,
        proposals=proposal_rows(request, session, row, names={r["code"]: r["name"] for r in rows}),
        config=geo["config"],
    )


@router.get("/cities/{city}/plan/proposals")
def proposals_page(request: Request, session: DB, city: str) -> Response:
    row = services.city_by_code(session, city)
    return page(
        request,
        "plan/proposals.html",
        title=_("Neighbourhood proposals") + " — " + row.name,
        city=row,
        tab="proposals",
        who=staff(request, session),
        proposals=proposal_rows(request, session, row),
    )


def units_at_site(session: Session, city: models.City, item: dict[str, Any]) -> list[str]:
    """The neighbourhoods a project's own site lies in (a project imported with a point or
    polygon and no unit codes), by the planner's rule that ``plan.xlsx`` also follows."""
    from inclusive_cities.planning.territorial_plan import units_at_sites

    geometry = item.get("geometry")
    if isinstance(geometry, bytes | bytearray):
        geometry = shapely.from_wkb(bytes(geometry))
    if not isinstance(geometry, shapely.Geometry) or geometry.is_empty:
        return []
    return units_at_sites(session, city.id, [geometry])[0]


def _item(rows: list[dict[str, Any]], code: str) -> dict[str, Any]:
    for r in rows:
        if r["code"] == code:
            return r
    raise NotFound(_("There is no project {code} in this plan.").format(code=code[:64]))


def target_names(request: Request, session: Session, city: models.City) -> dict[str, str]:
    lang = language(request)
    return {**indicator_names(session, lang), **area_names(request, session, city.id, lang)}


def node_indicators(request: Request, session: Session, city_id: int) -> dict[str, list[str]]:
    """Marker node code (area, dimension) → the indicator codes under it, from the specs of
    the city's latest marker runs: a project may target an area rather than an indicator."""
    from inclusive_cities.web.workshops import _latest_runs, run_spec

    found: dict[str, list[str]] = {}
    for run in _latest_runs(session, city_id, 3):
        spec = run_spec(request, run)
        nodes = spec.nodes if spec is not None else []
        children: dict[str, list[Any]] = {}
        for node in nodes:
            children.setdefault(node.parent or "", []).append(node)

        def below(code: str, children: dict[str, list[Any]] = children) -> list[str]:
            codes: list[str] = []
            for child in children.get(code, []):
                codes.extend([child.code] if child.is_indicator else below(child.code))
            return codes

        for node in nodes:
            if not node.is_indicator:
                found.setdefault(node.code, below(node.code))
    return found


def project_evidence(
    request: Request, session: Session, city: models.City, item: dict[str, Any]
) -> list[dict[str, Any]]:
    """For each indicator the project targets and each of its neighbourhoods: the value there
    against the whole city, and the host vs refugee-migrant gap, as the workshops show them."""
    from inclusive_cities.planning.workshop_evidence import claim_evidence
    from inclusive_cities.planning.workshops import MatrixRow, WorkshopData

    lang = language(request)
    units = unit_names(session, city.id)
    known = indicator_names(session, lang)
    under = node_indicators(request, session, city.id)
    indicators: list[str] = []
    for target in item["targets"]:  # an area or dimension stands for the indicators under it
        for code in [target] if target in known else under.get(target, []):
            if code in known and code not in indicators:
                indicators.append(code)
    if not indicators or not item["unit_codes"]:
        return []
    # the project read as one claim of a workshop held in its neighbourhoods: the workshop
    # domain's evidence (with its disclosure control) answers it as it answers any claim
    claim = WorkshopData(
        code=item["code"],
        city_code=city.code,
        matrix=[
            MatrixRow(
                code=item["code"],
                area="",
                kind="cause",
                text=item["name"],
                indicators=indicators,
                units=list(item["unit_codes"]),
            )
        ],
    )
    out = []
    for e in claim_evidence(session, 0, lang=lang, protect=True, workshop=claim):
        view = evidence_view(e, lang, units)
        out.append(
            {
                "code": e.indicator,
                "indicator": view["indicator"],
                "unit": units.get(e.unit_code or "", e.unit_code or ""),
                "unit_value": "—" if e.withheld else number(e.unit_value),
                "city_value": number(e.city_value),
                "gap": view["gap"],
            }
        )
    return out


def origins(session: Session, city: models.City, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The workshop solutions the project answers, with the demands and causes behind them."""
    from inclusive_cities.planning.workshops import find_workshop, list_solutions, list_workshops

    titles = {w.code: w.title or w.code for w in list_workshops(session, city.code)}
    solutions = list_solutions(session, city.code)
    out = []
    for ref in item["solutions"]:
        workshop, _sep, code = ref.rpartition(":")
        match = [
            s for s in solutions if s.code == code and (not workshop or s.workshop_code == workshop)
        ]
        for s in match:
            claims = [
                r.text
                for r in find_workshop(session, city.code, s.workshop_code).matrix
                if code in (r.solutions or [])
            ]
            out.append(
                {
                    "code": s.code,
                    "text": s.text,
                    "workshop": s.workshop_code,
                    "workshop_title": titles.get(s.workshop_code, s.workshop_code),
                    "because": "; ".join(claims),
                }
            )
    return out


def priority(
    request: Request,
    session: Session,
    city: models.City,
    item: dict[str, Any],
    who: auth.Identity | None,
) -> tuple[dict[str, Any] | None, str]:
    """The need of the project's neighbourhoods (their marker, as the public map shows it, so
    withheld scores stay withheld) and, for staff, its benefit and rank among the city's
    projects by issue #16's functions on the latest published marker run."""
    import numpy as np

    lang = language(request)
    try:
        run = planner._pick_run(planner._runs(session, city, published_only=True), None)["run"]
    except NotFound:
        return None, _("There is no published marker run to score the project on.")
    scores = data.run_scores(session, run.id)
    spec = data.spec_for(web(request).specs, scores)
    root = spec.root.code if spec.root else ""
    table = data.unit_table(session, city.id)
    column = scores.column(root) if root in scores.nodes else np.full(len(scores.unit_ids), np.nan)
    by_code = {
        table.codes[table.index[int(unit)]]: float(value)
        for unit, value in zip(scores.unit_ids, column, strict=True)
    }
    inside = [by_code[c] for c in item["unit_codes"] if c in by_code]
    if not inside:
        return None, _("The project names no neighbourhood the marker covers.")
    result: dict[str, Any] = {"run": run.id, "benefit": None, "rank": "", "need": "—"}
    if any(np.isnan(v) for v in inside):
        result["need_note"] = _("Withheld by disclosure control in one of its neighbourhoods.")
    else:
        mean = sum(inside) / len(inside)
        result["need"] = number((100 - mean) / 100, 2)
        result["need_note"] = _("Marker of its neighbourhoods: {score} of 100").format(
            score=number(mean)
        )
    code = item["project_code"]
    if who is not None and code:
        from inclusive_cities.planning import load_projects, load_run, project_benefits

        engine = web(request).engine
        run_data = data.CACHE.get(
            ("planning-run", city.code, run.id), lambda: load_run(engine, city.code, run.id)
        )
        projects = load_projects(engine, city.code, False)
        if len(projects) and code in set(projects["code"].astype(str)):
            frame = project_benefits(projects, run_data)
            frame = frame.sort_values("benefit", ascending=False).reset_index(drop=True)
            at = frame.index[frame["code"].astype(str) == code][0]
            result["benefit"] = number(float(frame.loc[at, "benefit"]), 0)
            result["rank"] = _("{rank} of {total} projects by benefit").format(
                rank=format_number(int(at) + 1, 0, lang),
                total=format_number(len(frame), 0, lang),
            )
    return result, ""


def impact(
    request: Request, session: Session, city: models.City, item: dict[str, Any]
) -> tuple[dict[str, Any] | None, str]:
    """The project's measured impact on the marker (difference in differences), as the impact
    page measures it, once it has started and a period before and one after are published."""
    code = item["project_code"] or item["code"]
    if item["start"] is None:
        return None, _("The impact will be measured once the project has started.")
    try:
        view = planner.impact_view(request, session, city.code, code, "marker", "did")
    except (NotFound, WebError, InclusiveCitiesError) as error:
        return None, _("Not measured yet: {reason}").format(reason=str(error))
    except Exception as error:  # the page stands without the estimate
        return None, _("Not measured yet: {reason}").format(reason=str(error)[:200])
    finally:
        language(request)
    if isinstance(view, RedirectResponse):
        return None, _(
            "The impact will be published once the marker of a period before and one after the "
            "project are published."
        )
    result = view.result
    sign = "+" if result.estimate > 0 else ""
    return (
        {
            "estimate": sign + number(result.estimate) + " " + _("points"),
            "verdict": result.verdict(),
            "interval": _("95 % confidence interval: {low} to {high}").format(
                low=number(result.ci_low), high=number(result.ci_high)
            ),
            "cls": "significant" if result.significant else "not-significant",
            "url": f"/cities/{city.code}/impact/{code}",
        },
        "",
    )


def designs(
    request: Request, session: Session, city: models.City, plan: Any, item: str
) -> list[dict[str, Any]]:
    from inclusive_cities.planning.designs import list_designs
    from inclusive_cities.planning.workshops import list_workshops

    titles = {w.code: w.title or w.code for w in list_workshops(session, city.code)}
    stages = {"before": _("Before"), "after": _("After")}
    out = []
    for d in list_designs(web(request).engine, city.code, plan=plan.code, item=item):
        out.append(
            {
                "code": d.code,
                "name": d.name or d.code,
                "geometry": d.geometry,
                "workshops": [{"code": c, "title": titles.get(c, c)} for c in d.workshop_codes],
                "options": [
                    {
                        "name": o.get("title") or o.get("code"),
                        "description": o.get("description", ""),
                        "chosen": o.get("code") == d.chosen_option,
                    }
                    for o in d.options
                ],
                "photos": [
                    {
                        "url": f"/cities/{city.code}/plan/photos/{p.id}",
                        "stage": stages.get(p.stage, p.stage),
                        "caption": p.caption,
                        "alt": p.caption or f"{stages.get(p.stage, p.stage)}: {d.name}",
                    }
                    for p in sorted(d.photos, key=lambda p: (p.stage != "before", p.id))
                ],
                "notes": d.notes,
            }
        )
    return out


@router.get("/cities/{city}/plan/projects/{code}")
def project_page(
    request: Request, session: DB, city: str, code: str, plan: str | None = None
) -> Response:
    """One project of the plan: what, where, why (evidence, workshops), priority, impact."""
    lang = language(request)
    row, who, chosen = _visible(request, session, city, plan)
    if chosen is None:
        raise NotFound(_("There is no project {code} in this plan.").format(code=code[:64]))
    full = _load(request, row, chosen)
    units = unit_names(session, row.id)
    rows = project_rows(full.items, units, lang)
    item = _item(rows, code)
    if not item["unit_codes"]:
        item = {**item, "unit_codes": units_at_site(session, row, item)}
        item["units_text"] = ", ".join(units.get(c, c) for c in item["unit_codes"])
    names = target_names(request, session, row)
    item = {**item, "targets": item["targets"], "target_names": item["targets"]}
    score, score_missing = priority(request, session, row, item, who)
    measured, impact_missing = impact(request, session, row, item)
    plan_designs = designs(request, session, row, chosen, item["code"])
    extra = [d for d in plan_designs if d["geometry"] is not None]
    shapes = [item] + [
        {**item, "code": d["code"], "name": d["name"], "geometry": d["geometry"]} for d in extra
    ]
    geo = map_config(
        request,
        session,
        row,
        shapes,
        chosen.code,
        fit_units=False,
        fit=_around(session, row, shapes),
    )
    return page(
        request,
        "plan/project.html",
        title=item["name"] + " — " + row.name,
        city=row,
        tab="plan",
        who=who,
        plan=chosen,
        p={**item, "targets": [names.get(t, t) for t in item["targets"]]},
        evidence=project_evidence(request, session, row, item),
        origins=origins(session, row, item),
        proposals=proposal_rows(request, session, row, item=item["code"]),
        priority=score,
        priority_missing=score_missing,
        impact=measured,
        impact_missing=impact_missing,
        designs=plan_designs,
        config=geo["config"],
    )


@router.get("/cities/{city}/plan/photos/{photo_id}")
def photo(request: Request, session: DB, city: str, photo_id: int) -> Response:
    """A before/after photo of a designed space (only of the city's visible plans)."""
    from inclusive_cities.planning.designs import list_designs, read_photo

    row, who, _chosen = _visible(request, session, city, None)
    visible = {p.code for p in _plans(request, row, who)}
    allowed = {
        ph.id
        for d in list_designs(web(request).engine, row.code)
        if d.plan in visible or (who is not None)
        for ph in d.photos
    }
    if photo_id not in allowed:
        raise NotFound(_("There is no photo {id}.").format(id=photo_id))
    content, content_type, _name = read_photo(web(request).engine, photo_id)
    return Response(
        content,
        media_type=content_type,
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/cities/{city}/plan/{plan}/{name}")
def plan_download(request: Request, session: DB, city: str, plan: str, name: str) -> Response:
    """The plan's projects (GeoPackage, XLSX) and its report (PDF, HTML)."""
    from inclusive_cities.planning.plan_io import export_plan
    from inclusive_cities.reports.plan_report import write_plan_report

    lang = language(request)
    kinds = {
        "plan.gpkg": GPKG,
        "plan.xlsx": XLSX,
        "report.pdf": "application/pdf",
        "report.html": "text/html; charset=utf-8",
    }
    if name not in kinds:
        raise NotFound(_("This page does not exist."))
    row, _who, chosen = _visible(request, session, city, plan)
    suffix = name.rpartition(".")[2]
    if name == "report.pdf":  # rendered by a job (issue #20): the file or the job's page
        from inclusive_cities.web.report_jobs import report_response

        stem = "-".join([_("plan"), row.code.lower(), chosen.code.lower(), lang])
        return report_response(
            request,
            "plan",
            {"city": row.code, "plan": chosen.code},
            public=_who is None,
            file_name=f"{stem}.pdf",
            user=str(getattr(_who, "email", "")),
        )
    with tempfile.TemporaryDirectory(prefix="ic-plan-") as folder:
        out = Path(folder) / f"out.{suffix}"
        try:
            if name.startswith("report"):
                write_plan_report(web(request).engine, row.code, chosen.code, out, language=lang)
            else:
                export_plan(web(request).engine, row.code, chosen.code, out, language=lang)
        except InclusiveCitiesError as error:
            raise WebError(str(error)) from None
        finally:
            language(request)
        content = out.read_bytes()
    stem = "-".join([_("plan"), row.code.lower(), chosen.code.lower(), lang])
    if name == "report.html":
        return HTMLResponse(
            content.decode("utf-8"),
            headers={"Content-Disposition": f'inline; filename="{stem}.html"'},
        )
    return download(content, f"{stem}.{suffix}", kinds[name])


# -- staff: plans, projects, files, proposals --------------------------------------------------


def _staff_or_login(request: Request, session: Session) -> auth.Identity | None:
    return staff_or_login(request, session)


def _plan_admin(
    request: Request,
    session: Session,
    who: auth.Identity,
    city: models.City,
    plan: str,
    **extra: Any,
) -> Response:
    """The plan's edit page: publish, upload, adopt candidates, add a project, proposals."""
    from sqlalchemy import select

    lang = language(request)
    chosen = _pick(_plans(request, city, who), plan)
    full = _load(request, city, chosen)
    rows = project_rows(full.items, unit_names(session, city.id), lang)
    in_plan = {r["project_code"] for r in rows} | {r["code"] for r in rows}
    candidates = session.execute(
        select(
            models.PlanningProject.code, models.PlanningProject.name, models.PlanningProject.cost
        )
        .where(models.PlanningProject.city_id == city.id)
        .order_by(models.PlanningProject.code)
    ).all()
    return page(
        request,
        "plan/admin.html",
        status_code=400 if extra.get("error") else 200,
        title=_("Edit plan {code}").format(code=chosen.code),
        city=city,
        tab="admin-plan",
        who=who,
        plan=chosen,
        projects=rows,
        candidates=[
            {"code": c, "name": n or c, "cost": money(cost)}
            for c, n, cost in candidates
            if c not in in_plan
        ],
        statuses=list(status_labels().items()),
        outcomes=list(outcome_labels().items()),
        types=list(planner.type_labels().items()),
        proposals=proposal_rows(request, session, city),
        message=extra.get("message"),
        error=extra.get("error"),
    )


@router.get("/admin/cities/{city}/plan")
def admin_plans(request: Request, session: DB, city: str) -> Response:
    """Every plan of the city (drafts too) and a form to start one."""
    who = _staff_or_login(request, session)
    if who is None:
        return login_redirect()
    row = services.city_by_code(session, city)
    return page(
        request,
        "plan/admin_list.html",
        title=_("Territorial intervention plans") + " — " + row.name,
        city=row,
        tab="admin-plan",
        who=who,
        plans=_plans(request, row, who),
        error=None,
    )


@router.post("/admin/cities/{city}/plan")
def admin_create_plan(
    request: Request,
    session: DB,
    city: str,
    period: Annotated[str, Form(max_length=32)],
    code: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=500)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    from inclusive_cities.planning.territorial_plan import create_plan

    who = auth.require_user(request, session, csrf_token)
    row = services.city_by_code(session, city)
    try:
        info = create_plan(
            web(request).engine,
            row.code,
            period,
            code=code.strip() or None,
            name=name.strip(),
            description=description.strip(),
        )
    except InclusiveCitiesError as error:
        return page(
            request,
            "plan/admin_list.html",
            status_code=400,
            title=_("Territorial intervention plans") + " — " + row.name,
            city=row,
            tab="admin-plan",
            who=who,
            plans=_plans(request, row, who),
            error=str(error),
        )
    audit(request, who, "plan_create", f"plan:{row.code}:{info.code}")
    return RedirectResponse(f"/admin/cities/{row.code}/plan/{info.code}", status_code=303)


@router.get("/admin/cities/{city}/plan/{plan}")
def admin_plan(request: Request, session: DB, city: str, plan: str) -> Response:
    who = _staff_or_login(request, session)
    if who is None:
        return login_redirect()
    return _plan_admin(request, session, who, services.city_by_code(session, city), plan)


def _act(
    request: Request,
    session: Session,
    city: str,
    plan: str,
    csrf_token: str,
    action: Any,
    done: str,
    what: str,
) -> Response:
    """Run one change of the plan domain; show its one-line error or what was done."""
    who = auth.require_user(request, session, csrf_token)
    row = services.city_by_code(session, city)
    _pick(_plans(request, row, who), plan)
    try:
        action(row)
    except InclusiveCitiesError as error:
        language(request)
        return _plan_admin(request, session, who, row, plan, error=str(error))
    language(request)
    audit(request, who, what, f"plan:{row.code}:{plan}")
    return _plan_admin(request, session, who, row, plan, message=done)


@router.post("/admin/cities/{city}/plan/{plan}/publish")
def admin_publish(
    request: Request,
    session: DB,
    city: str,
    plan: str,
    published: Annotated[str, Form(max_length=5)] = "1",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    from inclusive_cities.planning.territorial_plan import set_published

    on = published == "1"
    return _act(
        request,
        session,
        city,
        plan,
        csrf_token,
        lambda row: set_published(web(request).engine, row.code, plan, on),
        _("The plan is public.") if on else _("The plan is a draft again (staff only)."),
        "plan_publish",
    )


@router.post("/admin/cities/{city}/plan/{plan}/add-project")
def admin_add_project(
    request: Request,
    session: DB,
    city: str,
    plan: str,
    project: Annotated[str, Form(max_length=64)],
    status: Annotated[str, Form(max_length=20)] = "approved",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Adopt one of the city's candidate projects (issue #16) into the plan."""
    from inclusive_cities.planning.territorial_plan import add_project

    return _act(
        request,
        session,
        city,
        plan,
        csrf_token,
        lambda row: add_project(web(request).engine, row.code, plan, project, status=status),
        _("Project {code} added to the plan.").format(code=project[:64]),
        "plan_add_project",
    )


@router.post("/admin/cities/{city}/plan/{plan}/items")
def admin_save_item(
    request: Request,
    session: DB,
    city: str,
    plan: str,
    code: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=500)],
    type: Annotated[str, Form(max_length=40)],
    status: Annotated[str, Form(max_length=20)] = "proposed",
    cost: Annotated[str, Form(max_length=32)] = "0",
    funding_source: Annotated[str, Form(max_length=500)] = "",
    start_date: Annotated[str, Form(max_length=10)] = "",
    end_date: Annotated[str, Form(max_length=10)] = "",
    unit_codes: Annotated[str, Form(max_length=2000)] = "",
    targets: Annotated[str, Form(max_length=2000)] = "",
    solution_codes: Annotated[str, Form(max_length=2000)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    longitude: Annotated[str, Form(max_length=32)] = "",
    latitude: Annotated[str, Form(max_length=32)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Add a project to the plan or change the one with this code (the plan domain checks
    every value and names the bad one)."""
    from inclusive_cities.planning.territorial_plan import load_plan, save_item

    def action(row: models.City) -> None:
        engine = web(request).engine
        items = load_plan(engine, row.code, plan).items
        old = items[items["code"].astype(str) == code.strip()] if len(items) else items
        fields: dict[str, Any] = {
            "code": code.strip(),
            "name": name.strip(),
            "type": type,
            "status": status,
            "cost": cost.strip() or "0",
            "funding_source": funding_source.strip(),
            "start_date": start_date.strip() or None,
            "end_date": end_date.strip() or None,
            "unit_codes": _list(unit_codes),
            "targets": _list(targets),
            "solution_codes": _list(solution_codes),
            "description": description.strip(),
        }
        if longitude.strip() and latitude.strip():
            fields["longitude"] = longitude.strip()
            fields["latitude"] = latitude.strip()
        elif len(old):
            fields["geometry"] = old.iloc[0]["geometry"]
            fields["project_code"] = old.iloc[0]["project_code"]
        save_item(engine, row.code, plan, fields)

    return _act(
        request,
        session,
        city,
        plan,
        csrf_token,
        action,
        _("Project {code} saved.").format(code=code.strip()[:64]),
        "plan_save_item",
    )


@router.post("/admin/cities/{city}/plan/{plan}/items/{code}/delete")
def admin_delete_item(
    request: Request,
    session: DB,
    city: str,
    plan: str,
    code: str,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    from inclusive_cities.planning.territorial_plan import delete_item

    return _act(
        request,
        session,
        city,
        plan,
        csrf_token,
        lambda row: delete_item(web(request).engine, row.code, plan, code),
        _("Project {code} removed from the plan.").format(code=code[:64]),
        "plan_delete_item",
    )


@router.post("/admin/cities/{city}/plan/{plan}/upload")
async def admin_upload(
    request: Request,
    city: str,
    plan: str,
    file: Annotated[UploadFile, File()],
    what: Annotated[str, Form(max_length=20)] = "projects",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Import the plan's projects (GeoPackage or XLSX) or neighbourhood proposals (XLSX)."""
    from inclusive_cities.planning.plan_io import import_plan
    from inclusive_cities.planning.proposals import import_proposals

    upload = await Upload.read(file, MAX_PLAN_UPLOAD)
    suffixes = (".xlsx",) if what == "proposals" else (".gpkg", ".xlsx")

    def action(row: models.City) -> None:
        upload.check(
            suffixes,
            _("{name}: upload a {kinds} file."),
            _("The file is larger than 50 MB: import it with the command line."),
            kinds=" / ".join(suffixes),
        )
        with upload.saved("ic-plan-") as path:
            if what == "proposals":
                import_proposals(web(request).engine, row.code, path)
            else:
                import_plan(web(request).engine, row.code, plan, path)

    with web(request).session() as session:
        return _act(
            request,
            session,
            city,
            plan,
            csrf_token,
            action,
            _("{name} imported.").format(name=upload.name[:100]),
            "plan_upload",
        )


@router.post("/admin/cities/{city}/plan/{plan}/proposals")
def admin_save_proposal(
    request: Request,
    session: DB,
    city: str,
    plan: str,
    code: Annotated[str, Form(max_length=64)],
    title: Annotated[str, Form(max_length=500)],
    unit_code: Annotated[str, Form(max_length=64)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    supporters: Annotated[str, Form(max_length=12)] = "0",
    outcome: Annotated[str, Form(max_length=20)] = "pending",
    reason: Annotated[str, Form(max_length=4000)] = "",
    item: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Record a neighbourhood proposal and what became of it."""
    from inclusive_cities.planning.proposals import save_proposal

    def action(row: models.City) -> None:
        save_proposal(
            web(request).engine,
            row.code,
            {
                "code": code.strip(),
                "title": title.strip(),
                "unit_code": unit_code.strip(),
                "description": description.strip(),
                "supporters": supporters.strip() or "0",
                "outcome": outcome,
                "reason": reason.strip(),
                "plan": plan if item.strip() else "",
                "item": item.strip(),
            },
        )

    return _act(
        request,
        session,
        city,
        plan,
        csrf_token,
        action,
        _("Proposal {code} saved.").format(code=code.strip()[:64]),
        "plan_save_proposal",
    )
