"""Neighbourhood proposals: what communities asked for, how many backed it, and what became of
it — adopted into a plan (as which project) or not, and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.planning.plan_io import Rows, read_rows
from inclusive_cities.planning.projects import _blank, _date, _plain, parse_amount
from inclusive_cities.planning.territorial_plan import (
    Fail,
    PlanError,
    _simple_fail,
    check_units,
    city_id,
    plan_row,
)
from inclusive_cities.store import transaction
from inclusive_cities.store.plan_models import (
    PROPOSAL_OUTCOMES,
    NeighbourhoodProposal,
    TerritorialPlan,
    TerritorialPlanItem,
)

PROPOSAL_COLUMNS = [
    "code",
    "unit_code",
    "title",
    "description",
    "proposed_by",
    "submitted_on",
    "supporters",
    "outcome",
    "reason",
    "plan",
    "item",
]

PROPOSAL_ALIASES = {
    "codigo": "code",
    "id": "code",
    "barrio": "unit_code",
    "unidad": "unit_code",
    "neighbourhood": "unit_code",
    "neighborhood": "unit_code",
    "unit": "unit_code",
    "titulo": "title",
    "descripcion": "description",
    "propuesto_por": "proposed_by",
    "proponente": "proposed_by",
    "fecha": "submitted_on",
    "fecha_presentacion": "submitted_on",
    "submitted": "submitted_on",
    "date": "submitted_on",
    "apoyos": "supporters",
    "firmas": "supporters",
    "supporters_count": "supporters",
    "resultado": "outcome",
    "decision": "outcome",
    "motivo": "reason",
    "razon": "reason",
    "plan_code": "plan",
    "proyecto": "item",
    "proyecto_del_plan": "item",
    "project": "item",
    "plan_item": "item",
}

_OUTCOME_ALIASES = {
    "adoptada": "adopted",
    "adoptado": "adopted",
    "aceptada": "adopted",
    "si": "adopted",
    "yes": "adopted",
    "no_adoptada": "not_adopted",
    "no_adoptado": "not_adopted",
    "rechazada": "not_adopted",
    "rejected": "not_adopted",
    "no": "not_adopted",
    "pendiente": "pending",
    "en_estudio": "pending",
}


def clean_proposal(raw: Mapping[str, Any], fail: Fail = _simple_fail) -> dict[str, Any]:
    """Checked proposal fields: an outcome (adopted needs a plan item, not adopted a reason)."""
    code = raw.get("code")
    if _blank(code):
        raise fail("code", code, _("is empty: every proposal needs a code."))
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    title = "" if _blank(raw.get("title")) else str(raw["title"]).strip()
    if not title:
        raise fail("title", raw.get("title"), _("is empty: say what the community proposes."))
    supporters_value = raw.get("supporters")
    supporters = 0.0 if _blank(supporters_value) else parse_amount(supporters_value)
    if supporters is None or supporters < 0 or supporters != int(supporters):
        raise fail("supporters", supporters_value, _("is not a number of people: write 0 or more."))
    outcome_value = raw.get("outcome")
    key = "pending" if _blank(outcome_value) else _plain(str(outcome_value))
    outcome = _OUTCOME_ALIASES.get(key, key)
    if outcome not in PROPOSAL_OUTCOMES:
        raise fail(
            "outcome",
            outcome_value,
            _("is not an outcome: use one of {outcomes}.").format(
                outcomes=", ".join(PROPOSAL_OUTCOMES)
            ),
        )
    try:
        submitted = _date(raw.get("submitted_on"))
    except ValueError:
        raise fail(
            "submitted_on", raw.get("submitted_on"), _("is not a date: write it as 2026-03-31.")
        ) from None

    def text(column: str) -> str:
        value = raw.get(column)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return "" if _blank(value) else str(value).strip()

    reason = text("reason")
    if outcome == "not_adopted" and not reason:
        raise fail("reason", "", _("is empty: say why the proposal was not adopted."))
    plan, item = text("plan"), text("item")
    if outcome == "adopted" and not item:
        raise fail("item", "", _("is empty: name the plan project the proposal became."))
    return {
        "code": str(code).strip(),
        "unit_code": text("unit_code"),
        "title": title,
        "description": text("description"),
        "proposed_by": text("proposed_by"),
        "submitted_on": submitted,
        "supporters": int(supporters),
        "outcome": outcome,
        "reason": reason,
        "plan": plan,
        "item": item,
    }


def _item_id(
    session: Session, city: str, cid: int, proposal: Mapping[str, Any], fail: Fail
) -> int | None:
    if not proposal["item"]:
        return None
    query = (
        select(TerritorialPlanItem.id)
        .join(TerritorialPlan, TerritorialPlan.id == TerritorialPlanItem.plan_id)
        .where(TerritorialPlan.city_id == cid, TerritorialPlanItem.code == proposal["item"])
    )
    if proposal["plan"]:
        query = query.where(TerritorialPlan.id == plan_row(session, city, proposal["plan"]).id)
    found = session.scalars(query).all()
    if len(found) != 1:
        raise fail(
            "item",
            proposal["item"],
            _("is not one project of the city's plans: name the plan too, or add the project.")
            if found
            else _("is not a project of the city's plans: add it to the plan first."),
        )
    return int(found[0])


def _store(
    session: Session, city: str, cid: int, proposal: Mapping[str, Any], fail: Fail, source: str
) -> None:
    check_units(session, cid, [proposal["unit_code"]] if proposal["unit_code"] else [], fail)
    item_id = _item_id(session, city, cid, proposal, fail)
    row = session.scalar(
        select(NeighbourhoodProposal).where(
            NeighbourhoodProposal.city_id == cid, NeighbourhoodProposal.code == proposal["code"]
        )
    )
    if row is None:
        row = NeighbourhoodProposal(city_id=cid, code=proposal["code"])
        session.add(row)
    for key in (
        "unit_code",
        "title",
        "description",
        "proposed_by",
        "submitted_on",
        "supporters",
        "outcome",
        "reason",
    ):
        setattr(row, key, proposal[key])
    row.plan_item_id = item_id
    row.source_file = source


def save_proposal(engine: Engine, city: str, fields: Mapping[str, Any]) -> str:
    """Record a proposal (or update the one with the same code); returns its code."""
    proposal = clean_proposal(fields)
    with transaction(engine) as session:
        cid = city_id(session, city)
        _store(session, city, cid, proposal, _simple_fail, "")
    return str(proposal["code"])


def import_proposals(engine: Engine, city: str, path: Path | str) -> int:
    """Proposals from a workbook (es/en headers) in one transaction; re-import safe (by code)."""
    rows: Rows = read_rows(
        path, PROPOSAL_ALIASES, ("code", "title"), sheets=("propuestas", "proposals")
    )
    cleaned = [(r["_row"], clean_proposal(r, rows.fail(r["_row"]))) for r in rows.records]
    if not cleaned:
        raise PlanError(
            _("{file} has no proposals: fill one row per proposal.").format(file=rows.file)
        )
    with transaction(engine) as session:
        cid = city_id(session, city)
        for position, proposal in cleaned:
            _store(session, city, cid, proposal, rows.fail(position), rows.file)
    return len(cleaned)


def list_proposals(engine: Engine, city: str) -> pd.DataFrame:
    """The city's proposals (columns ``PROPOSAL_COLUMNS``), most supported first."""
    with transaction(engine) as session:
        cid = city_id(session, city)
        rows = session.execute(
            select(NeighbourhoodProposal, TerritorialPlanItem.code, TerritorialPlan.code)
            .outerjoin(
                TerritorialPlanItem, TerritorialPlanItem.id == NeighbourhoodProposal.plan_item_id
            )
            .outerjoin(TerritorialPlan, TerritorialPlan.id == TerritorialPlanItem.plan_id)
            .where(NeighbourhoodProposal.city_id == cid)
            .order_by(NeighbourhoodProposal.supporters.desc(), NeighbourhoodProposal.code)
        ).all()
        records = [
            {
                "code": p.code,
                "unit_code": p.unit_code,
                "title": p.title,
                "description": p.description,
                "proposed_by": p.proposed_by,
                "submitted_on": p.submitted_on,
                "supporters": int(p.supporters),
                "outcome": p.outcome,
                "reason": p.reason,
                "plan": plan or "",
                "item": item or "",
            }
            for p, item, plan in rows
        ]
    return pd.DataFrame(records, columns=PROPOSAL_COLUMNS)
