"""Territorial intervention plans: a city's projects for a period, with their status, dates,
cost and funding, site, the areas they target and the workshop solutions they answer.

A plan item copies what it needs of a candidate project (issue #16's ``planning_projects``) and
keeps its code in ``project_code``: candidates are replaced as a whole on every re-import, a
commitment in a plan is not. One way to add a project: :func:`save_item` (typed or imported
fields) or :func:`add_project` (a stored candidate's fields, then the same checks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.planning.errors import PlanningError
from inclusive_cities.planning.projects import (
    _TYPE_ALIASES,
    PROJECT_TYPES,
    _blank,
    _codes,
    _date,
    _plain,
    parse_amount,
    parse_degrees,
)
from inclusive_cities.store import models, transaction
from inclusive_cities.store.models import utcnow
from inclusive_cities.store.plan_models import ITEM_STATUSES, TerritorialPlan, TerritorialPlanItem
from inclusive_cities.store.workshop_models import Workshop, WorkshopMatrixRow

__all__ = [
    "ITEM_COLUMNS",
    "ITEM_STATUSES",
    "PROJECT_TYPES",
    "Plan",
    "PlanError",
    "PlanInfo",
    "add_project",
    "budget_by",
    "count_items",
    "create_plan",
    "delete_item",
    "delete_plan",
    "list_plans",
    "load_plan",
    "save_item",
    "set_published",
    "status_label",
    "target_areas",
    "unanswered_solutions",
]

ITEM_COLUMNS = [
    "code",
    "project_code",
    "name",
    "type",
    "description",
    "status",
    "cost",
    "funding_source",
    "start_date",
    "end_date",
    "unit_codes",
    "targets",
    "solution_codes",
    "geometry",
]

_STATUS_ALIASES = {
    "propuesto": "proposed",
    "propuesta": "proposed",
    "aprobado": "approved",
    "aprobada": "approved",
    "en_ejecucion": "under_way",
    "en_curso": "under_way",
    "en_marcha": "under_way",
    "in_progress": "under_way",
    "underway": "under_way",
    "ongoing": "under_way",
    "ejecutado": "done",
    "ejecutada": "done",
    "terminado": "done",
    "terminada": "done",
    "finalizado": "done",
    "finalizada": "done",
    "completed": "done",
    "executed": "done",
    "complete": "done",
    "hecho": "done",
}


_STATUS_WORDS_ES = {
    "proposed": "propuesto",
    "approved": "aprobado",
    "under_way": "en_ejecucion",
    "done": "ejecutado",
}
"""The Spanish word a planner writes for each status (all of ``_STATUS_ALIASES`` are read)."""


def status_words() -> str:
    """The statuses as the user writes them, in the current language, for error messages."""
    from inclusive_cities.i18n import current_language

    if current_language() == "es":
        return ", ".join(_STATUS_WORDS_ES[s] for s in ITEM_STATUSES)
    return ", ".join(ITEM_STATUSES)


def status_label(status: str, language: str | None = None) -> str:
    """A status as pages and exported workbooks show it; importing reads it back."""
    labels = {
        "proposed": _("Proposed", language),
        "approved": _("Approved", language),
        "under_way": _("Under way", language),
        "done": _("Executed", language),
    }
    return labels.get(status, status)


class PlanError(PlanningError):
    """A plan, plan item, proposal or design cannot be stored as given."""


@dataclass(frozen=True)
class PlanInfo:
    """A plan as lists show it: what, when, how many projects, how much, how many done."""

    id: int
    city: str
    code: str
    name: str
    period: str
    description: str
    published: bool
    items: int
    cost: float
    done: int


@dataclass(frozen=True)
class Plan:
    """A plan and its items (one row per project; columns ``ITEM_COLUMNS``)."""

    info: PlanInfo
    items: pd.DataFrame


Fail = Callable[[str, object, str], PlanError]


def _simple_fail(column: str, value: object, what: str) -> PlanError:
    return PlanError(
        _("Column '{column}': '{value}' {what}").format(
            column=column, value="" if _blank(value) else str(value), what=what
        )
    )


def city_id(session: Session, city: str) -> int:
    """The city's id, or a one-line error pointing at ``inclusive-cities info``."""
    found = session.scalar(select(models.City.id).where(models.City.code == city))
    if found is None:
        raise PlanError(
            _("There is no city '{city}' in the observatory; see 'inclusive-cities info'.").format(
                city=city
            )
        )
    return int(found)


def plan_row(session: Session, city: str, plan: str) -> TerritorialPlan:
    """The stored plan ``plan`` (its code, or its period when only one plan has it)."""
    cid = city_id(session, city)
    row = session.scalar(
        select(TerritorialPlan).where(TerritorialPlan.city_id == cid, TerritorialPlan.code == plan)
    )
    if row is None:
        by_period = session.scalars(
            select(TerritorialPlan).where(
                TerritorialPlan.city_id == cid, TerritorialPlan.period == plan
            )
        ).all()
        if len(by_period) == 1:
            return by_period[0]
        known = session.scalars(
            select(TerritorialPlan.code)
            .where(TerritorialPlan.city_id == cid)
            .order_by(TerritorialPlan.code)
        ).all()
        raise PlanError(
            _(
                "{city} has no plan '{plan}': create it with 'inclusive-cities plan create' "
                "(plans: {known})."
            ).format(city=city, plan=plan, known=", ".join(known) or "-")
        )
    return row


def create_plan(
    engine: Engine,
    city: str,
    period: str,
    *,
    code: str | None = None,
    name: str = "",
    description: str = "",
    published: bool = False,
) -> PlanInfo:
    """A new plan, or the same plan's name and period updated (the code identifies it)."""
    period = str(period).strip()
    if not period:
        raise PlanError(_("A plan needs a period, such as 2026-2029."))
    code = (code or period).strip()
    with transaction(engine) as session:
        cid = city_id(session, city)
        row = session.scalar(
            select(TerritorialPlan).where(
                TerritorialPlan.city_id == cid, TerritorialPlan.code == code
            )
        )
        if row is None:
            row = TerritorialPlan(city_id=cid, code=code)
            session.add(row)
        row.period = period
        row.name = name or row.name or ""
        row.description = description or row.description or ""
        row.published = published or bool(row.published)
        row.updated_at = utcnow()
        session.flush()
        return _info(session, city, row)


def _info(session: Session, city: str, row: TerritorialPlan) -> PlanInfo:
    item = TerritorialPlanItem
    count, cost = session.execute(
        select(func.count(item.id), func.coalesce(func.sum(item.cost), 0.0)).where(
            item.plan_id == row.id
        )
    ).one()
    done = session.scalar(
        select(func.count(item.id)).where(item.plan_id == row.id, item.status == "done")
    )
    return PlanInfo(
        id=row.id,
        city=city,
        code=row.code,
        name=row.name or "",
        period=row.period,
        description=row.description or "",
        published=bool(row.published),
        items=int(count or 0),
        cost=float(cost or 0.0),
        done=int(done or 0),
    )


def list_plans(engine: Engine, city: str) -> list[PlanInfo]:
    """The city's plans, latest period first."""
    with transaction(engine) as session:
        cid = city_id(session, city)
        rows = session.scalars(
            select(TerritorialPlan)
            .where(TerritorialPlan.city_id == cid)
            .order_by(TerritorialPlan.period.desc(), TerritorialPlan.code)
        ).all()
        return [_info(session, city, row) for row in rows]


def set_published(engine: Engine, city: str, plan: str, published: bool = True) -> PlanInfo:
    """Publish a plan (its projects then appear in the OGC API) or withdraw it."""
    with transaction(engine) as session:
        row = plan_row(session, city, plan)
        row.published = published
        row.updated_at = utcnow()
        session.flush()
        return _info(session, city, row)


def delete_plan(engine: Engine, city: str, plan: str) -> None:
    """Remove a plan and its items (proposals and designs keep existing, unlinked)."""
    with transaction(engine) as session:
        session.delete(plan_row(session, city, plan))


def _item_record(row: TerritorialPlanItem) -> dict[str, Any]:
    return {
        "code": row.code,
        "project_code": row.project_code or "",
        "name": row.name or "",
        "type": row.type,
        "description": row.description or "",
        "status": row.status,
        "cost": float(row.cost or 0.0),
        "funding_source": row.funding_source or "",
        "start_date": row.start_date,
        "end_date": row.end_date,
        "unit_codes": list(row.unit_codes or []),
        "targets": list(row.targets or []),
        "solution_codes": list(row.solution_codes or []),
        "geometry": None if row.geometry is None else shapely.from_wkb(row.geometry),
    }


def load_plan(engine: Engine, city: str, plan: str) -> Plan:
    """A plan with its items ordered by start date then code (the timeline's order)."""
    with transaction(engine) as session:
        row = plan_row(session, city, plan)
        items = session.scalars(
            select(TerritorialPlanItem)
            .where(TerritorialPlanItem.plan_id == row.id)
            .order_by(TerritorialPlanItem.code)
        ).all()
        frame = pd.DataFrame([_item_record(i) for i in items], columns=ITEM_COLUMNS)
        frame.attrs["target_areas"] = target_areas(session)
        info = _info(session, city, row)
    return Plan(info=info, items=frame)


def target_areas(session: Session) -> dict[str, str]:
    """Indicator and dimension codes → the marker area they belong to (from the catalogue).

    A project may target an area, a dimension or an indicator; the budget by thematic area
    counts each under its area, so "crimes per 100,000" falls under its area, not beside it.
    """
    out: dict[str, str] = {}
    for code, area, dimension in session.execute(
        select(models.Indicator.code, models.Indicator.area, models.Indicator.dimension)
    ):
        if area:
            out[str(code)] = str(area)
            if dimension:
                out.setdefault(str(dimension), str(area))
    return out


def _choice(value: object, allowed: tuple[str, ...], aliases: Mapping[str, str]) -> str | None:
    key = _plain(str(value))
    key = aliases.get(key, key)
    return key if key in allowed else None


def _geometry(raw: Mapping[str, Any], fail: Fail) -> BaseGeometry | None:
    """A site: a shapely Point/Polygon, WKT text, or longitude and latitude (EPSG:4326)."""
    site = raw.get("geometry")
    if isinstance(site, str) and site.strip():
        try:
            site = shapely.from_wkt(site)
        except shapely.errors.GEOSException:
            raise fail(
                "geometry", site, _("is not WKT: write POINT (lon lat) or POLYGON ((...)).")
            ) from None
    if _blank(site) or site is None:
        lon, lat = parse_degrees(raw.get("longitude")), parse_degrees(raw.get("latitude"))
        if lon is None and lat is None:
            return None
        if lon is None or lat is None:
            raise fail(
                "longitude" if lon is None else "latitude",
                raw.get("longitude" if lon is None else "latitude"),
                _("is missing: give both longitude and latitude, or neither."),
            )
        site = shapely.Point(lon, lat)
    if not isinstance(site, BaseGeometry):
        raise fail("geometry", site, _("is not a point or a polygon."))
    if site.geom_type not in ("Point", "Polygon", "MultiPolygon") or site.is_empty:
        raise fail(
            "geometry", site.geom_type, _("is not a site: use a point or a polygon (EPSG:4326).")
        )
    minx, miny, maxx, maxy = site.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise fail(
            "geometry",
            f"{minx:.1f}, {miny:.1f}",
            _("is not longitude/latitude: reproject the site to EPSG:4326."),
        )
    if not site.is_valid:
        site = shapely.make_valid(site)
    return site


def clean_item(raw: Mapping[str, Any], fail: Fail = _simple_fail) -> dict[str, Any]:
    """Checked item fields from a form, a file row or Python: aliases folded (es/en), numbers
    read as planners write them, dates parsed; ``fail`` builds the error naming the cell."""
    code = raw.get("code")
    if _blank(code):
        raise fail("code", code, _("is empty: every project needs a code."))
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    type_ = _choice(raw.get("type", ""), PROJECT_TYPES, _TYPE_ALIASES)
    if type_ is None:
        raise fail(
            "type",
            raw.get("type"),
            _("is not a project type: use one of {types}.").format(types=", ".join(PROJECT_TYPES)),
        )
    status_value = raw.get("status")
    status = (
        "proposed"
        if _blank(status_value)
        else _choice(status_value, ITEM_STATUSES, _STATUS_ALIASES)
    )
    if status is None:
        raise fail(
            "status",
            status_value,
            _(
                "is not a status: write one of {statuses} (Spanish and English words are both "
                "read)."
            ).format(statuses=status_words()),
        )
    cost_value = raw.get("cost")
    cost = 0.0 if _blank(cost_value) else parse_amount(cost_value)
    if cost is None or cost < 0 or cost != cost:
        raise fail("cost", cost_value, _("is not a cost: write a number of 0 or more."))
    dates: dict[str, date | None] = {}
    for column in ("start_date", "end_date"):
        try:
            dates[column] = _date(raw.get(column))
        except ValueError:
            raise fail(
                column, raw.get(column), _("is not a date: write it as 2026-03-31.")
            ) from None
    if dates["start_date"] and dates["end_date"] and dates["end_date"] < dates["start_date"]:
        raise fail(
            "end_date",
            dates["end_date"].isoformat(),
            _("is before the start date {start}: correct one of them.").format(
                start=dates["start_date"].isoformat()
            ),
        )

    def listed(column: str) -> list[str]:
        value = raw.get(column)
        if isinstance(value, list | tuple):
            return [str(v).strip() for v in value if str(v).strip()]
        return _codes(value)

    return {
        "code": str(code).strip(),
        "project_code": "" if _blank(raw.get("project_code")) else str(raw["project_code"]).strip(),
        "name": "" if _blank(raw.get("name")) else str(raw["name"]).strip(),
        "type": type_,
        "description": "" if _blank(raw.get("description")) else str(raw["description"]).strip(),
        "status": status,
        "cost": float(cost),
        "funding_source": ""
        if _blank(raw.get("funding_source"))
        else str(raw["funding_source"]).strip(),
        "start_date": dates["start_date"],
        "end_date": dates["end_date"],
        "unit_codes": listed("unit_codes"),
        "targets": listed("targets"),
        "solution_codes": listed("solution_codes"),
        "geometry": _geometry(raw, fail),
    }


def units_at_sites(
    session: Session, city_id: int, sites: Sequence[BaseGeometry | None]
) -> list[list[str]]:
    """The units each site lies in, as the planner places a project drawn without unit codes:
    at the level of the city's latest published marker run, the unit holding a point, or the
    units a polygon overlaps (one only touching it along an edge is not covered: a park drawn
    on a block's outline is that block's). ``[]`` for a missing site, or when no run is
    published."""
    level = session.scalar(
        select(models.MarkerRun.level_id)
        .join(models.Period, models.Period.id == models.MarkerRun.period_id)
        .where(models.MarkerRun.city_id == city_id, models.MarkerRun.published.is_(True))
        .order_by(models.Period.code.desc(), models.MarkerRun.id.desc())
        .limit(1)
    )
    if level is None or not any(s is not None and not s.is_empty for s in sites):
        return [[] for _site in sites]
    rows = session.execute(
        select(models.SpatialUnit.code, models.SpatialUnit.geometry).where(
            models.SpatialUnit.city_id == city_id,
            models.SpatialUnit.level_id == level,
            models.SpatialUnit.geometry.is_not(None),
        )
    ).all()
    codes = np.array([str(code) for code, _wkb in rows], dtype=object)
    units = shapely.from_wkb([wkb for _code, wkb in rows])
    out: list[list[str]] = []
    for site in sites:
        if site is None or site.is_empty:
            out.append([])
            continue
        if site.geom_type == "Point":
            inside = shapely.covers(units, site)
        else:
            inside = shapely.intersects(units, site) & ~shapely.touches(units, site)
        out.append(sorted(codes[inside].tolist()))
    return out


def check_units(session: Session, cid: int, codes: list[str], fail: Fail) -> None:
    """Every unit code names a unit of the city (at any level)."""
    if not codes:
        return
    known = set(
        session.scalars(
            select(models.SpatialUnit.code).where(
                models.SpatialUnit.city_id == cid, models.SpatialUnit.code.in_(codes)
            )
        ).all()
    )
    for code in codes:
        if code not in known:
            raise fail("unit_codes", code, _("is not a unit of this city: use the units' codes."))


def store_item(
    session: Session, plan: TerritorialPlan, item: Mapping[str, Any], source: str
) -> None:
    """Insert or update (by code) one cleaned item in ``plan``."""
    row = session.scalar(
        select(TerritorialPlanItem).where(
            TerritorialPlanItem.plan_id == plan.id, TerritorialPlanItem.code == item["code"]
        )
    )
    if row is None:
        row = TerritorialPlanItem(plan_id=plan.id, code=item["code"])
        session.add(row)
    for key, value in item.items():
        if key == "geometry":
            row.geometry = None if value is None else shapely.to_wkb(value)
        elif key != "code":
            setattr(row, key, value)
    row.source_file = source
    plan.updated_at = utcnow()


def save_item(engine: Engine, city: str, plan: str, fields: Mapping[str, Any]) -> str:
    """Add a project to a plan, or update the project with the same code; returns its code."""
    item = clean_item(fields)
    with transaction(engine) as session:
        row = plan_row(session, city, plan)
        check_units(session, row.city_id, item["unit_codes"], _simple_fail)
        store_item(session, row, item, str(fields.get("source_file", "")))
    return str(item["code"])


def add_project(engine: Engine, city: str, plan: str, project_code: str, **overrides: Any) -> str:
    """Adopt a candidate project (issue #16) into a plan: its name, type, cost, funder,
    targets, units and site are copied, then ``overrides`` (status, dates, ...) applied."""
    with transaction(engine) as session:
        cid = city_id(session, city)
        project = session.scalar(
            select(models.PlanningProject).where(
                models.PlanningProject.city_id == cid,
                models.PlanningProject.code == project_code,
            )
        )
        if project is None:
            raise PlanError(
                _(
                    "{city} has no candidate project '{code}': import it with "
                    "'inclusive-cities plan import-projects'."
                ).format(city=city, code=project_code)
            )
        site = None if project.geometry is None else shapely.from_wkb(project.geometry)
        fields: dict[str, Any] = {
            "code": project.code,
            "project_code": project.code,
            "name": project.name,
            "type": project.type,
            "cost": project.cost,
            "funding_source": project.funder,
            "start_date": project.start_date,
            "unit_codes": list(project.unit_codes or []),
            "targets": list(project.targets or []),
            "geometry": site,
            "longitude": project.longitude,
            "latitude": project.latitude,
        }
    fields.update(overrides)
    return save_item(engine, city, plan, fields)


def delete_item(engine: Engine, city: str, plan: str, code: str) -> None:
    """Remove one project from a plan (a proposal it came from goes back to unlinked)."""
    with transaction(engine) as session:
        row = plan_row(session, city, plan)
        item = session.scalar(
            select(TerritorialPlanItem).where(
                TerritorialPlanItem.plan_id == row.id, TerritorialPlanItem.code == code
            )
        )
        row.updated_at = utcnow()
        if item is None:
            raise PlanError(
                _("The plan {plan} has no project '{code}'.").format(plan=row.code, code=code)
            )
        session.delete(item)


def budget_by(items: pd.DataFrame, by: str) -> pd.DataFrame:
    """Cost and number of projects per status, type, funding source or targeted area.

    By ``target`` an item's cost is split equally over the areas it targets (an item with no
    target counts under ""), so the column still sums to the plan's total; indicator and
    dimension targets count under their area (``items.attrs["target_areas"]``, set by
    :func:`load_plan`).
    """
    columns = ["key", "projects", "cost", "share"]
    if by not in ("status", "type", "funding_source", "target"):
        raise PlanError(
            _(
                "Budget by '{by}' is not available: use status, type, funding_source or target."
            ).format(by=by)
        )
    if items.empty:
        return pd.DataFrame(columns=columns)
    if by == "target":
        area_of: Mapping[str, str] = items.attrs.get("target_areas") or {}
        rows: list[dict[str, Any]] = []
        for targets, cost in zip(items["targets"], items["cost"], strict=True):
            keys = list(dict.fromkeys(area_of.get(t, t) for t in targets)) or [""]
            rows.extend({"key": k, "cost": float(cost) / len(keys), "n": 1} for k in keys)
        long = pd.DataFrame(rows)
    else:
        long = pd.DataFrame({"key": items[by].astype(str), "cost": items["cost"], "n": 1})
    table = long.groupby("key", sort=False).agg(projects=("n", "sum"), cost=("cost", "sum"))
    if by == "status":
        order = [s for s in ITEM_STATUSES if s in table.index]
        table = table.loc[order]
    else:
        table = table.sort_values("cost", ascending=False)
    total = float(items["cost"].sum())
    table["share"] = table["cost"] / total if total > 0 else 0.0
    return table.reset_index()[columns]


def city_solutions(session: Session, cid: int) -> pd.DataFrame:
    """Every solution of the city's workshops: workshop code, solution code, area, text."""
    rows = session.execute(
        select(
            Workshop.code, WorkshopMatrixRow.code, WorkshopMatrixRow.area, WorkshopMatrixRow.text
        )
        .join(Workshop, Workshop.id == WorkshopMatrixRow.workshop_id)
        .where(Workshop.city_id == cid, WorkshopMatrixRow.kind == "solution")
        .order_by(Workshop.code, WorkshopMatrixRow.position, WorkshopMatrixRow.code)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["workshop", "code", "area", "text"])


def answers(reference: str, workshop: str, code: str) -> bool:
    """Whether an item's solution reference ("S-01" or "TALLER-1:S-01") names this solution."""
    if ":" in reference:
        ws, _sep, sol = reference.partition(":")
        return ws.strip() == workshop and sol.strip() == code
    return reference.strip() == code


def unanswered_solutions(engine: Engine, city: str, plan: str) -> pd.DataFrame:
    """The workshop solutions no project of the plan answers yet."""
    with transaction(engine) as session:
        row = plan_row(session, city, plan)
        solutions = city_solutions(session, row.city_id)
        refs = [
            ref
            for codes in session.scalars(
                select(TerritorialPlanItem.solution_codes).where(
                    TerritorialPlanItem.plan_id == row.id
                )
            )
            for ref in (codes or [])
        ]
    if solutions.empty:
        return solutions
    keep = [
        not any(answers(ref, ws, code) for ref in refs)
        for ws, code in zip(solutions["workshop"], solutions["code"], strict=True)
    ]
    return solutions[keep].reset_index(drop=True)


def count_items(
    engine: Engine,
    city: str,
    *,
    status: str | None = "done",
    plan: str | None = None,
    ended_by: date | None = None,
) -> int:
    """How many projects of the city's plans (or of one plan) have ``status``; with
    ``ended_by``, only those whose end date is on or before it (programme results)."""
    if status is not None and status not in ITEM_STATUSES:
        raise PlanError(
            _("'{status}' is not a status: use one of {statuses}.").format(
                status=status, statuses=", ".join(ITEM_STATUSES)
            )
        )
    item = TerritorialPlanItem
    with transaction(engine) as session:
        query = select(func.count(item.id)).join(
            TerritorialPlan, TerritorialPlan.id == item.plan_id
        )
        if plan is not None:
            query = query.where(TerritorialPlan.id == plan_row(session, city, plan).id)
        else:
            query = query.where(TerritorialPlan.city_id == city_id(session, city))
        if status is not None:
            query = query.where(item.status == status)
        if ended_by is not None:
            query = query.where(item.end_date.is_not(None), item.end_date <= ended_by)
        return int(session.scalar(query) or 0)
