"""Commitments cities agree in multilevel dialogue spaces: what, who, when, status, evidence.

The dialogue spaces define city commitments to include refugees and migrants; keeping them as
records (with the evidence that one was fulfilled) lets the programme page say how many are
kept instead of listing promises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.delivery_import import (
    Field,
    ImportResult,
    Sheet,
    new_batch,
    problem,
    read_rows,
    unique_codes,
    upsert_by_code,
)
from inclusive_cities.store import transaction
from inclusive_cities.store.delivery_models import COMMITMENT_STATUSES, DeliveryCommitment
from inclusive_cities.store.monitoring_models import TargetCity

COMMITMENTS_SHEET = Sheet(en="commitments", es="compromisos")
STATUS_NAMES: dict[str, tuple[str, ...]] = {
    "agreed": ("acordado", "acordada", "agreed"),
    "in_progress": ("en curso", "en progreso", "in progress"),
    "fulfilled": ("cumplido", "cumplida", "fulfilled", "done"),
    "dropped": ("abandonado", "descartado", "dropped"),
}


def commitment_fields() -> tuple[Field, ...]:
    """The columns of the commitments sheet."""
    return (
        Field("code", "code", "código", required=True),
        Field("target_city", "target_city", "ciudad", "city", required=True),
        Field("what", "what", "qué", required=True),
        Field("who", "who", "quién"),
        Field("dialogue_space", "dialogue_space", "espacio_diálogo"),
        Field("agreed_on", "agreed_on", "fecha_acuerdo", "date", required=True),
        Field("due_on", "due_on", "fecha_límite", "date"),
        Field("status", "status", "estado", "choice", False, STATUS_NAMES),
        Field("evidence", "evidence", "evidencia"),
    )


def status_label(status: str, lang: str = "en") -> str:
    """A commitment's status as readers see it."""
    return {
        "agreed": _("agreed", lang),
        "in_progress": _("in progress", lang),
        "fulfilled": _("fulfilled", lang),
        "dropped": _("dropped", lang),
    }.get(status, status)


def import_commitments(engine: Engine, path: Path | str) -> ImportResult:
    """Import commitments in one transaction, keyed by code."""
    with transaction(engine) as session:
        return import_commitments_in(session, path)


def import_commitments_in(session: Session, path: Path | str) -> ImportResult:
    """The same import inside the caller's transaction (a whole workbook is one)."""
    created = updated = 0
    rows = read_rows(path, commitment_fields(), COMMITMENTS_SHEET, session)
    batch = new_batch(session, "delivery_commitments", path, rows)
    for record, number, code in unique_codes(rows):
        status = record["status"] or "agreed"
        if status == "fulfilled" and not record["evidence"]:
            raise problem(
                rows.file,
                number,
                rows.column("evidence"),
                "",
                _("is empty: a fulfilled commitment needs its evidence (a link or document)."),
            )
        due = record["due_on"]
        if (
            isinstance(due, date)
            and isinstance(record["agreed_on"], date)
            and (due < record["agreed_on"])
        ):
            raise problem(
                rows.file,
                number,
                rows.column("due_on"),
                due.isoformat(),
                _("is before the date it was agreed: check both dates."),
            )
        values = {
            "target_city_id": record["target_city"],
            "what": record["what"],
            "who": record["who"] or "",
            "dialogue_space": record["dialogue_space"] or "",
            "agreed_on": record["agreed_on"],
            "due_on": due,
            "status": status,
            "evidence": record["evidence"] or "",
            "batch_id": batch.id,
        }
        if upsert_by_code(session, DeliveryCommitment, code, values):
            created += 1
        else:
            updated += 1
        session.flush()
    return ImportResult("commitments", created, updated, batch.id)


@dataclass(frozen=True)
class CommitmentRecord:
    """A commitment as the public page lists it."""

    code: str
    target_city: str
    city_name: str
    country: str
    what: str
    who: str
    dialogue_space: str
    agreed_on: date
    due_on: date | None
    status: str
    evidence: str


def list_commitments(engine: Engine, *, target_city: str | None = None) -> list[CommitmentRecord]:
    """Commitments by city and date agreed."""
    query = select(DeliveryCommitment, TargetCity).join(
        TargetCity, DeliveryCommitment.target_city_id == TargetCity.id
    )
    if target_city:
        query = query.where(TargetCity.code == target_city)
    with Session(engine) as session:
        return [
            CommitmentRecord(
                code=c.code,
                target_city=city.code,
                city_name=city.name,
                country=city.country,
                what=c.what,
                who=c.who,
                dialogue_space=c.dialogue_space,
                agreed_on=c.agreed_on,
                due_on=c.due_on,
                status=c.status,
                evidence=c.evidence,
            )
            for c, city in session.execute(
                query.order_by(TargetCity.name, DeliveryCommitment.agreed_on)
            ).all()
        ]


def commitments_by_status(engine: Engine) -> dict[str, int]:
    """How many commitments are at each status (every status present)."""
    counts = dict.fromkeys(COMMITMENT_STATUSES, 0)
    with engine.connect() as connection:
        for status, count in connection.execute(
            select(DeliveryCommitment.status, func.count()).group_by(DeliveryCommitment.status)
        ):
            counts[status] = int(count)
    return counts
