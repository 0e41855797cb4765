"""Co-creation workshop pages (issue #17 §1): the list of a city's workshops, one workshop with
its problem tree drawn, its systematisation matrix per thematic area with the evidence beside
each claim, who took part (through disclosure control) and its record as PDF and XLSX; and the
staff forms that upload the filled-in template and correct a workshop by hand.

Figures, drawings and edits come from :mod:`inclusive_cities.planning` (the workshop domain);
this router only shapes them for the page. It must not import ``web.app`` (which imports the
routers): what it needs from the app is read from ``request.app.state.web``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_cities.errors import InclusiveCitiesError
from inclusive_cities.i18n import format_day, format_number
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n.units import unit_label
from inclusive_cities.store import models
from inclusive_cities.web import auth, services
from inclusive_cities.web.errors import NotFound, WebError
from inclusive_cities.web.site import context as web
from inclusive_cities.web.site import language_of as language
from inclusive_cities.web.site import render as page
from inclusive_cities.web.staff_forms import Upload, audit

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""A filled-in workshop template is a few kilobytes; 20 MB leaves room for pasted images."""
MATRIX_KINDS = ("demand", "cause", "asset", "differential", "solution")
NODE_KINDS = ("central", "cause", "effect")


# -- plumbing shared with the plan pages ------------------------------------------------------


def db(request: Request) -> Iterator[Session]:
    with web(request).session() as session:
        yield session


DB = Annotated[Session, Depends(db)]


def login_redirect() -> RedirectResponse:
    return RedirectResponse("/admin/login", status_code=303)


def download(content: bytes, filename: str, media_type: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


def date_text(value: date | None, lang: str) -> str:
    """A date as people write it: 14/3/2026 in Spanish, 14 Mar 2026 in English."""
    return format_day(value, lang)


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return format_number(value, digits, language_now())


def language_now() -> str:
    from inclusive_cities.i18n import current_language

    return current_language()


def kind_labels() -> dict[str, str]:
    """Matrix columns and tree levels in the reader's language."""
    return {
        "demand": _("Demand"),
        "cause": _("Cause"),
        "asset": _("Territorial asset"),
        "differential": _("Integration differential"),
        "solution": _("Solution"),
        "central": _("Central problem"),
        "effect": _("Effect"),
    }


def kind_plurals() -> dict[str, str]:
    return {
        "demand": _("Demands"),
        "cause": _("Causes"),
        "asset": _("Territorial assets"),
        "differential": _("Integration differentials"),
        "solution": _("Solutions"),
    }


def run_spec(request: Request, run: models.MarkerRun) -> Any:
    """A run's spec without reading its scores: the recipe it stored, else the spec by name
    (reading scores would run disclosure control over the whole city just to name areas)."""
    from inclusive_cities.web import data

    return data.stored_spec(run) or web(request).specs(run.spec_code)


def _latest_runs(session: Session, city_id: int, limit: int) -> list[models.MarkerRun]:
    return list(
        session.scalars(
            select(models.MarkerRun)
            .where(models.MarkerRun.city_id == city_id)
            .order_by(models.MarkerRun.id.desc())
            .limit(limit)
        )
    )


def area_names(request: Request, session: Session, city_id: int, lang: str) -> dict[str, str]:
    """Marker node codes (areas, dimensions) → names, from the specs of the city's latest
    marker runs (a workshop's areas are the marker's)."""
    names: dict[str, str] = {}
    for run in _latest_runs(session, city_id, 3):
        spec = run_spec(request, run)
        for node in spec.nodes if spec is not None else []:
            names.setdefault(node.code, node.name(lang))
    return names


def marker_areas(request: Request, session: Session, city_id: int, lang: str) -> list[Any]:
    """(code, name) of the areas of the city's latest marker run: what a workshop is about."""
    runs = _latest_runs(session, city_id, 1)
    spec = run_spec(request, runs[0]) if runs else None
    return [(node.code, node.name(lang)) for node in spec.areas()] if spec is not None else []


def indicator_names(session: Session, lang: str) -> dict[str, str]:
    rows = session.execute(
        select(models.Indicator.code, models.Indicator.name_es, models.Indicator.name_en)
    ).all()
    return {code: (es if lang == "es" else en) or code for code, es, en in rows}


def unit_names(session: Session, city_id: int) -> dict[str, str]:
    rows = session.execute(
        select(models.SpatialUnit.code, models.SpatialUnit.name).where(
            models.SpatialUnit.city_id == city_id
        )
    ).all()
    return {code: name or code for code, name in rows}


staff = auth.staff
"""The analyst or admin looking at a page, else None (``programme`` sees the public view)."""
staff_or_login = auth.staff_or_login
"""For staff pages' GETs: None (send to login), 403 for ``programme``, else staff."""


def safe_svg(svg: str) -> Markup:
    """The tree drawn by the workshop domain, inline. It is built there with every text
    escaped (the test of the drawing checks it); only an ``<svg>`` element is accepted."""
    text = svg.strip()
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2 :].strip()
    if not text.startswith("<svg"):
        return Markup("")
    return Markup(text)  # escaped by the domain's writer


# -- shaping a workshop for the page --------------------------------------------------------


def _workshop_or_404(session: Session, city: str, code: str) -> Any:
    from inclusive_cities.planning.workshops import find_workshop

    try:
        return find_workshop(session, city, code[:64])
    except InclusiveCitiesError as error:
        raise NotFound(str(error)) from None


def place_text(workshop: Any, units: dict[str, str]) -> str:
    """Where the workshop was held: the place's name, then the neighbourhood's name and code."""
    parts = []
    if workshop.place_name:
        parts.append(str(workshop.place_name))
    if workshop.unit_code:
        name = units.get(workshop.unit_code, "")
        parts.append(f"{name} ({workshop.unit_code})" if name else str(workshop.unit_code))
    return " · ".join(parts)


def participants_view(session: Session, workshop_id: int) -> dict[str, Any]:
    """The disclosure-controlled participant counts as a table: one row per dimension, one
    cell per category; withheld cells read "<10 or withheld" (never a number)."""
    from inclusive_cities.planning.workshops import published_participants, role_label

    table = published_participants(session, workshop_id)
    categories = category_labels()
    dimensions = {
        "sex": _("Sex"),
        "age_group": _("Age group"),
        "nationality": _("Nationality"),
        "role": _("Role"),
    }
    total_text = "—"
    rows: list[dict[str, Any]] = []
    if len(table):
        for dimension, label in dimensions.items():
            part = table[table["dimension"] == dimension]
            if not len(part):
                continue
            values = [_cell(r) for r in part.to_dict("records")]
            rows.append(
                {
                    "label": label,
                    "cells": [
                        {**v, "text": f"{categories.get(str(c), role_label(str(c)))}: {v['text']}"}
                        for v, c in zip(values, part["category"], strict=True)
                    ],
                }
            )
        total = table[table["dimension"] == "total"]
        if len(total):
            total_text = _cell(total.iloc[0].to_dict())["text"]
    width = max((len(r["cells"]) for r in rows), default=0)
    for row in rows:
        row["cells"] += [{"text": "", "hidden": False}] * (width - len(row["cells"]))
    return {"total_text": total_text, "rows": rows, "columns": [""] * width}


def _cell(record: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    value = record.get("count")
    if record.get("status") != "published" or value is None or pd.isna(value):
        return {"text": _("withheld"), "hidden": True}
    return {"text": format_number(int(value), 0, language_now()), "hidden": False}


def category_labels() -> dict[str, str]:
    return {
        "F": _("Women"),
        "M": _("Men"),
        "other": _("Other or not said"),
        "host": _("Host population"),
        "refugee_migrant": _("Refugees and migrants"),
        "total": _("Total"),
    }


def evidence_view(item: Any, lang: str, units: dict[str, str]) -> dict[str, Any]:
    """One piece of evidence in words and two small bars (neighbourhood and city on one
    scale), the gap between hosts and refugees and migrants with its 95 % interval."""
    unit_name = units.get(item.unit_code or "", item.unit_code or _("the neighbourhood"))
    measure = getattr(item, "unit_of_measure", "") or ""
    # the unit as every other page writes it ("m² por habitante", not "m2/inhab"; trial F11)
    suffix = f" {unit_label(measure)}" if measure and measure not in ("", "ratio") else ""
    view: dict[str, Any] = {
        "code": item.indicator,
        "indicator": item.indicator_name or item.indicator,
        "bars": [],
        "gap": "",
        "note": "",
    }
    if item.withheld:
        view["summary"] = _("Not published for this neighbourhood (disclosure control).")
        return view
    if item.unit_value is None and item.city_value is None:
        view["summary"] = _("No data for this indicator yet.")
        return view
    view["summary"] = _("{unit}: {value} · whole city: {city}").format(
        unit=unit_name,
        value=number(item.unit_value) + suffix,
        city=number(item.city_value) + suffix,
    )
    values = [v for v in (item.unit_value, item.city_value) if v is not None]
    top = max(abs(v) for v in values) if values else 0
    if top > 0:
        for cls, label, value in (
            ("unit", unit_name, item.unit_value),
            ("city", _("Whole city"), item.city_value),
        ):
            if value is not None:
                view["bars"].append(
                    {"cls": cls, "label": label, "width": round(100 * abs(value) / top, 1)}
                )
    if getattr(item, "period", None):
        view["note"] = _("Period {period}").format(period=item.period)
    if item.gap is not None:
        text = _("Refugees and migrants minus host population: {gap}").format(
            gap=_signed(item.gap) + suffix
        )
        if item.gap_ci_low is not None and item.gap_ci_high is not None:
            text += " " + _("(95 % CI {low} to {high})").format(
                low=number(item.gap_ci_low), high=number(item.gap_ci_high)
            )
        if item.gap_source == "survey":
            text += " · " + _("survey")
        elif item.gap_source == "census":
            text += " · " + _("census")
        gap_period = getattr(item, "gap_period", "")
        if gap_period and gap_period != getattr(item, "period", ""):
            text += " · " + _("period {period}").format(period=gap_period)
        view["gap"] = text
    elif getattr(item, "gap_withheld", False):
        view["gap"] = _(
            "The gap between host people and refugees and migrants here is withheld "
            "(disclosure control)."
        )
    return view


def _signed(value: float) -> str:
    text = number(value)
    return text if value < 0 else "+" + text


def _evidence_by_claim(
    session: Session, workshop_id: int, lang: str, units: dict[str, str]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    from inclusive_cities.planning.workshop_evidence import claim_evidence

    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in claim_evidence(session, workshop_id, lang=lang, protect=True):
        found.setdefault((item.source, item.claim_code), []).append(
            evidence_view(item, lang, units)
        )
    return found


def tree_rows(workshop: Any, evidence: dict[tuple[str, str], list[dict[str, Any]]]) -> list[Any]:
    """The tree as an indented list (effects first, then the centre, then causes by depth):
    the same content as the drawing for screen readers and printing."""
    labels = kind_labels()
    children: dict[str | None, list[Any]] = {}
    for node in sorted(workshop.nodes, key=lambda n: (n.position, n.code)):
        children.setdefault(node.parent or None, []).append(node)
    out: list[dict[str, Any]] = []

    def walk(node: Any, depth: int) -> None:
        out.append(
            {
                "code": node.code,
                "kind": node.kind,
                "kind_label": labels.get(node.kind, node.kind),
                "text": node.text,
                "depth": depth,
                "evidence": evidence.get(("tree", node.code), []),
            }
        )
        for child in children.get(node.code, []):
            walk(child, depth + 1)

    for root in children.get(None, []):
        walk(root, 0)
    return out


def matrix_view(
    request: Request,
    session: Session,
    workshop: Any,
    lang: str,
    city: models.City,
    evidence: dict[tuple[str, str], list[dict[str, Any]]],
    units: dict[str, str],
) -> list[dict[str, Any]]:
    """The matrix per thematic area, rows in the matrix's column order (demands, causes,
    assets, differentials, solutions), with evidence and the plan projects that answer each
    solution."""
    labels = kind_labels()
    areas = area_names(request, session, city.id, lang)
    solutions = {r.code: r.text for r in workshop.matrix if r.kind == "solution"}
    answered = projects_by_solution(session, city, workshop.code)
    order = {kind: i for i, kind in enumerate(MATRIX_KINDS)}
    grouped: dict[str, list[Any]] = {}
    for row in workshop.matrix:
        grouped.setdefault(row.area or "", []).append(row)
    out = []
    for area in sorted(grouped, key=lambda a: (a not in (workshop.areas or []), a)):
        rows = sorted(grouped[area], key=lambda r: (order.get(r.kind, 9), r.position, r.code))
        out.append(
            {
                "code": area or "-",
                "name": areas.get(area, area or _("No thematic area")),
                "rows": [
                    {
                        "code": r.code,
                        "kind": r.kind,
                        "kind_label": labels.get(r.kind, r.kind),
                        "text": r.text,
                        "units": ", ".join(units.get(u, u) for u in (r.units or [])),
                        "evidence": evidence.get(("matrix", r.code), []),
                        "solutions": [
                            {"code": s, "text": solutions.get(s, "")} for s in (r.solutions or [])
                        ],
                        "projects": answered.get(r.code, []) if r.kind == "solution" else [],
                    }
                    for r in rows
                ],
            }
        )
    return out


def projects_by_solution(
    session: Session, city: models.City, workshop_code: str
) -> dict[str, list[dict[str, str]]]:
    """Solution code → projects of the city's published plans that answer it (plan items keep
    solution references as ``WORKSHOP:S-01`` or plain ``S-01``)."""
    from inclusive_cities.store.plan_models import TerritorialPlan, TerritorialPlanItem

    rows = session.execute(
        select(
            TerritorialPlanItem.code, TerritorialPlanItem.name, TerritorialPlanItem.solution_codes
        )
        .join(TerritorialPlan, TerritorialPlan.id == TerritorialPlanItem.plan_id)
        .where(TerritorialPlan.city_id == city.id, TerritorialPlan.published.is_(True))
    ).all()
    found: dict[str, list[dict[str, str]]] = {}
    for code, name, refs in rows:
        for ref in refs or []:
            workshop, _sep, solution = str(ref).rpartition(":")
            if workshop and workshop != workshop_code:
                continue
            found.setdefault(solution, []).append({"code": code, "name": name or code})
    return found


# -- public pages ----------------------------------------------------------------------------


@router.get("/cities/{city}/workshops")
def workshops_page(request: Request, session: DB, city: str) -> Response:
    """A city's co-creation workshops, newest first."""
    from inclusive_cities.planning.workshops import list_workshops

    lang = language(request)
    row = services.city_by_code(session, city)
    units = unit_names(session, row.id)
    areas = area_names(request, session, row.id, lang)
    summaries = sorted(
        list_workshops(session, row.code),
        key=lambda w: (w.held_on or date.min, w.code),
        reverse=True,
    )
    workshops = [
        {
            "code": w.code,
            "title": w.title or w.code,
            "date": date_text(w.held_on, lang),
            "place": (
                f"{units.get(w.unit_code, w.unit_code)} ({w.unit_code})" if w.unit_code else ""
            ),
            "areas": [areas.get(a, a) for a in (w.areas or [])],
            "nodes": w.n_nodes,
            "rows": w.n_rows,
            "solutions": w.n_solutions,
        }
        for w in summaries
    ]
    return page(
        request,
        "workshops/list.html",
        title=_("Co-creation workshops") + " — " + row.name,
        city=row,
        tab="workshops",
        who=staff(request, session),
        workshops=workshops,
    )


@router.get("/cities/{city}/workshops/{code}")
def workshop_page(request: Request, session: DB, city: str, code: str) -> Response:
    """One workshop: its tree drawn, its matrix beside the evidence, who took part."""
    from inclusive_cities.planning.problem_tree import tree_svg

    lang = language(request)
    row = services.city_by_code(session, city)
    workshop = _workshop_or_404(session, row.code, code)
    units = unit_names(session, row.id)
    areas = area_names(request, session, row.id, lang)
    evidence = _evidence_by_claim(session, workshop.id, lang, units)
    svg = tree_svg(workshop, lang=lang) if workshop.nodes else ""
    language(request)  # the drawing may switch the language for its own labels
    return page(
        request,
        "workshops/detail.html",
        title=(workshop.title or workshop.code) + " — " + row.name,
        city=row,
        tab="workshops",
        who=staff(request, session),
        w={
            "code": workshop.code,
            "title": workshop.title or workshop.code,
            "date": date_text(workshop.held_on, lang),
            "place": place_text(workshop, units),
            "areas": [areas.get(a, a) for a in (workshop.areas or [])],
            "facilitators": workshop.facilitators,
        },
        tree_svg=safe_svg(svg) if svg else "",
        tree_rows=tree_rows(workshop, evidence),
        matrix=matrix_view(request, session, workshop, lang, row, evidence, units),
        participants=participants_view(session, workshop.id),
    )


@router.get("/cities/{city}/workshops/{code}/record.{fmt}")
def record_download(request: Request, session: DB, city: str, code: str, fmt: str) -> Response:
    """The workshop record (tree, matrix, evidence, published counts) as PDF or XLSX."""
    from inclusive_cities.reports.workshop_report import workshop_record as write_record

    lang = language(request)
    if fmt not in ("pdf", "xlsx"):
        raise NotFound(_("This page does not exist."))
    row = services.city_by_code(session, city)
    workshop = _workshop_or_404(session, row.code, code)
    if fmt == "pdf":  # rendered by a job (issue #20): the file or the job's page
        from inclusive_cities.web.report_jobs import report_response

        stem = "-".join([_("workshop"), row.code.lower(), workshop.code.lower(), lang])
        return report_response(
            request,
            "workshop",
            {"workshop": int(workshop.id)},
            public=True,
            file_name=f"{stem}.pdf",
        )
    with tempfile.TemporaryDirectory(prefix="ic-workshop-") as folder:
        out = Path(folder) / f"record.{fmt}"
        try:
            write_record(web(request).engine, int(workshop.id), out, lang)
        except InclusiveCitiesError as error:
            raise WebError(str(error)) from None
        finally:
            language(request)
        content = out.read_bytes()
    name = "-".join([_("workshop"), row.code.lower(), workshop.code.lower(), lang]) + "." + fmt
    return download(content, name, "application/pdf" if fmt == "pdf" else XLSX)


@router.get("/workshops/template.xlsx")
def workshop_template(request: Request) -> Response:
    """The blank workshop template (workshop, problem tree and matrix sheets) for facilitators."""
    from inclusive_cities.planning.workshop_templates import write_template

    lang = language(request)
    with tempfile.TemporaryDirectory(prefix="ic-workshop-") as folder:
        out = write_template(Path(folder) / "template.xlsx", lang)
        language(request)
        content = Path(out).read_bytes()
    return download(content, "-".join([_("workshop-template"), lang]) + ".xlsx", XLSX)


# -- staff: upload, create and correct ---------------------------------------------------------


def _codes(text: str) -> list[str]:
    """``1101, 1102; 1103`` as a list of codes (how people type several codes in one box)."""
    return [c.strip() for c in text.replace(";", ",").split(",") if c.strip()][:50]


def _admin_page(
    request: Request, session: Session, who: auth.Identity, city: models.City, **extra: Any
) -> Response:
    from inclusive_cities.planning.workshops import list_workshops

    lang = language(request)
    summaries = sorted(list_workshops(session, city.code), key=lambda w: w.code)
    return page(
        request,
        "workshops/admin.html",
        status_code=400 if extra.get("error") else 200,
        title=_("Workshops: upload and correct") + " — " + city.name,
        city=city,
        tab="admin",
        who=who,
        workshops=[
            {"code": w.code, "title": w.title or w.code, "date": date_text(w.held_on, lang)}
            for w in summaries
        ],
        areas=marker_areas(request, session, city.id, lang),
        message=extra.get("message"),
        error=extra.get("error"),
        form=extra.get("form", {}),
    )


@router.get("/admin/cities/{city}/workshops")
def admin_workshops(request: Request, session: DB, city: str) -> Response:
    """Upload a filled-in template, start a workshop by hand, or pick one to correct."""
    who = staff_or_login(request, session)
    if who is None:
        return login_redirect()
    return _admin_page(request, session, who, services.city_by_code(session, city))


@router.post("/admin/cities/{city}/workshops/upload")
async def upload_workshop(
    request: Request,
    city: str,
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Import the filled-in XLSX template (one transaction; a one-line error otherwise)."""
    from inclusive_cities.planning.workshop_import import import_workshop

    ctx = web(request)
    with ctx.session() as session:
        who = auth.require_user(request, session, csrf_token)
        row = services.city_by_code(session, city)
    upload = await Upload.read(file, MAX_UPLOAD_BYTES)
    try:
        upload.check(
            (".xlsx",),
            _("{name}: upload the workshop template filled in (.xlsx)."),
            _("The file is larger than 20 MB."),
        )
        with upload.saved("ic-workshop-") as path:
            summary = import_workshop(ctx.engine, path, row.code)
    except InclusiveCitiesError as error:
        language(request)
        with ctx.session() as session:
            return _admin_page(request, session, who, row, error=str(error))
    language(request)
    codes = ",".join(summary.codes)
    audit(request, who, "workshop_upload", f"workshop:{row.code}:{codes}", file=upload.name[:200])
    if len(summary.codes) != 1:  # a KoBo export may hold several workshops
        return RedirectResponse(f"/cities/{row.code}/workshops", status_code=303)
    return RedirectResponse(
        f"/admin/cities/{row.code}/workshops/{summary.codes[0]}?imported=1", status_code=303
    )


@router.post("/admin/cities/{city}/workshops")
def create_workshop(
    request: Request,
    session: DB,
    city: str,
    code: Annotated[str, Form(max_length=64)],
    title: Annotated[str, Form(max_length=500)] = "",
    held_on: Annotated[str, Form(max_length=10)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Start a workshop by hand (then add its tree and matrix on its edit page)."""
    from inclusive_cities.planning.workshops import WorkshopData, save_workshop

    who = auth.require_user(request, session, csrf_token)
    row = services.city_by_code(session, city)
    code = code.strip()
    try:
        day = _day(held_on)
        from inclusive_cities.planning.workshops import find_workshop

        try:
            find_workshop(session, row.code, code)
        except InclusiveCitiesError:
            pass
        else:
            raise WebError(
                _("There is already a workshop {code}: open it to correct it.").format(code=code)
            )
        save_workshop(session, row.code, WorkshopData(code=code, title=title.strip(), held_on=day))
        session.commit()
    except InclusiveCitiesError as error:
        session.rollback()
        return _admin_page(request, session, who, row, error=str(error))
    audit(request, who, "workshop_create", f"workshop:{row.code}:{code}")
    return RedirectResponse(f"/admin/cities/{row.code}/workshops/{code}", status_code=303)


def _day(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise WebError(
            _("'{value}' is not a date: write it as 2026-03-14.").format(value=text[:20])
        ) from None


def _edit_page(
    request: Request,
    session: Session,
    who: auth.Identity,
    city: models.City,
    code: str,
    **extra: Any,
) -> Response:
    lang = language(request)
    workshop = _workshop_or_404(session, city.code, code)
    labels = kind_labels()
    return page(
        request,
        "workshops/edit.html",
        status_code=400 if extra.get("error") else 200,
        title=_("Edit workshop {code}").format(code=workshop.code),
        city=city,
        tab="admin",
        who=who,
        w=workshop,
        held_on=workshop.held_on.isoformat() if workshop.held_on else "",
        nodes=sorted(workshop.nodes, key=lambda n: (NODE_KINDS.index(n.kind), n.position, n.code)),
        rows=sorted(
            workshop.matrix,
            key=lambda r: (r.area, MATRIX_KINDS.index(r.kind), r.position, r.code),
        ),
        node_kinds=[(k, labels[k]) for k in NODE_KINDS],
        matrix_kinds=[(k, labels[k]) for k in MATRIX_KINDS],
        areas=marker_areas(request, session, city.id, lang),
        message=extra.get("message")
        or (_("The workshop was imported.") if request.query_params.get("imported") else None),
        error=extra.get("error"),
    )


@router.get("/admin/cities/{city}/workshops/{code}")
def edit_workshop(request: Request, session: DB, city: str, code: str) -> Response:
    who = staff_or_login(request, session)
    if who is None:
        return login_redirect()
    return _edit_page(request, session, who, services.city_by_code(session, city), code)


def _change(
    request: Request,
    session: Session,
    city: str,
    code: str,
    csrf_token: str,
    change: Any,
    done: str,
) -> Response:
    """Apply ``change`` to the stored workshop and save it whole (one transaction); a bad
    value shows the edit page with the one-line error and changes nothing."""
    from inclusive_cities.planning.workshops import save_workshop

    who = auth.require_user(request, session, csrf_token)
    row = services.city_by_code(session, city)
    workshop = _workshop_or_404(session, row.code, code)
    try:
        changed = change(workshop)
        save_workshop(session, row.code, changed, source_file=workshop.source_file)
        session.commit()
    except InclusiveCitiesError as error:
        session.rollback()
        return _edit_page(request, session, who, row, code, error=str(error))
    audit(request, who, "workshop_edit", f"workshop:{row.code}:{code}", change=done)
    return _edit_page(request, session, who, row, changed.code, message=done)


@router.post("/admin/cities/{city}/workshops/{code}")
def save_fields(
    request: Request,
    session: DB,
    city: str,
    code: str,
    title: Annotated[str, Form(max_length=500)] = "",
    held_on: Annotated[str, Form(max_length=10)] = "",
    unit_code: Annotated[str, Form(max_length=64)] = "",
    place_name: Annotated[str, Form(max_length=500)] = "",
    areas: Annotated[list[str] | None, Form()] = None,
    facilitators: Annotated[str, Form(max_length=2000)] = "",
    notes: Annotated[str, Form(max_length=8000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The workshop's own fields (date, place, areas, facilitators)."""

    def change(w: Any) -> Any:
        return dataclasses.replace(
            w,
            title=title.strip(),
            held_on=_day(held_on),
            unit_code=unit_code.strip(),
            place_name=place_name.strip(),
            areas=[a[:32] for a in (areas or [])][:20],
            facilitators=facilitators.strip(),
            notes=notes.strip(),
        )

    return _change(request, session, city, code, csrf_token, change, _("Workshop saved."))


@router.post("/admin/cities/{city}/workshops/{code}/nodes")
def save_node(
    request: Request,
    session: DB,
    city: str,
    code: str,
    node: Annotated[str, Form(max_length=32)],
    kind: Annotated[str, Form(max_length=10)],
    text: Annotated[str, Form(max_length=2000)],
    parent: Annotated[str, Form(max_length=32)] = "",
    indicators: Annotated[str, Form(max_length=1000)] = "",
    units: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Add a node to the problem tree, or change the one with this code."""
    from inclusive_cities.planning.workshops import TreeNode

    node = node.strip()

    def change(w: Any) -> Any:
        old = next((n for n in w.nodes if n.code == node), None)
        new = TreeNode(
            code=node,
            kind=kind,
            text=text.strip(),
            parent=parent.strip() or None,
            position=old.position if old else 1 + max((n.position for n in w.nodes), default=0),
            areas=old.areas if old else [],
            dimensions=old.dimensions if old else [],
            indicators=_codes(indicators),
            units=_codes(units),
        )
        nodes = [new if n.code == node else n for n in w.nodes]
        return dataclasses.replace(w, nodes=nodes if old else [*w.nodes, new])

    return _change(
        request, session, city, code, csrf_token, change, _("Node {code} saved.").format(code=node)
    )


@router.post("/admin/cities/{city}/workshops/{code}/nodes/{node}/delete")
def delete_node(
    request: Request,
    session: DB,
    city: str,
    code: str,
    node: str,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Remove a node; its children move up to its parent so the tree stays whole."""

    def change(w: Any) -> Any:
        gone = next((n for n in w.nodes if n.code == node), None)
        if gone is None:
            raise WebError(_("There is no node {code} in this tree.").format(code=node[:32]))
        nodes = [
            dataclasses.replace(n, parent=gone.parent) if n.parent == node else n
            for n in w.nodes
            if n.code != node
        ]
        return dataclasses.replace(w, nodes=nodes)

    return _change(
        request,
        session,
        city,
        code,
        csrf_token,
        change,
        _("Node {code} deleted.").format(code=node[:32]),
    )


@router.post("/admin/cities/{city}/workshops/{code}/rows")
def save_row(
    request: Request,
    session: DB,
    city: str,
    code: str,
    row_code: Annotated[str, Form(max_length=32)],
    area: Annotated[str, Form(max_length=32)],
    kind: Annotated[str, Form(max_length=16)],
    text: Annotated[str, Form(max_length=2000)],
    indicators: Annotated[str, Form(max_length=1000)] = "",
    units: Annotated[str, Form(max_length=1000)] = "",
    solutions: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Add a matrix row, or change the one with this code."""
    from inclusive_cities.planning.workshops import MatrixRow

    row_code = row_code.strip()

    def change(w: Any) -> Any:
        old = next((r for r in w.matrix if r.code == row_code), None)
        new = MatrixRow(
            code=row_code,
            area=area.strip(),
            kind=kind,
            text=text.strip(),
            position=old.position if old else 1 + max((r.position for r in w.matrix), default=0),
            indicators=_codes(indicators),
            units=_codes(units),
            solutions=_codes(solutions),
        )
        rows = [new if r.code == row_code else r for r in w.matrix]
        return dataclasses.replace(w, matrix=rows if old else [*w.matrix, new])

    return _change(
        request,
        session,
        city,
        code,
        csrf_token,
        change,
        _("Row {code} saved.").format(code=row_code),
    )


@router.post("/admin/cities/{city}/workshops/{code}/rows/{row_code}/delete")
def delete_row(
    request: Request,
    session: DB,
    city: str,
    code: str,
    row_code: str,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Remove a matrix row (and its code from the solutions other rows propose)."""

    def change(w: Any) -> Any:
        if not any(r.code == row_code for r in w.matrix):
            raise WebError(_("There is no row {code} in this matrix.").format(code=row_code[:32]))
        rows = [
            dataclasses.replace(r, solutions=[s for s in r.solutions if s != row_code])
            for r in w.matrix
            if r.code != row_code
        ]
        return dataclasses.replace(w, matrix=rows)

    return _change(
        request,
        session,
        city,
        code,
        csrf_token,
        change,
        _("Row {code} deleted.").format(code=row_code[:32]),
    )
