"""Policies and local instruments the programme supported, and how far each has gone.

A development plan, an ordinance, a public policy or a programme, at municipal, provincial or
national level, moves from proposed to drafted to adopted; each stage keeps its date so the
report can say when. Documents are file names or web links; marker areas are the Urban
Inclusion Marker dimensions the instrument addresses, so the map of needs and the policy
response can be read together.
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
from inclusive_cities.store.delivery_models import POLICY_STAGES, DeliveryPolicy
from inclusive_cities.store.monitoring_models import TargetCity

POLICIES_SHEET = Sheet(en="policies", es="políticas")
TYPE_NAMES: dict[str, tuple[str, ...]] = {
    "development_plan": ("plan de desarrollo", "development plan"),
    "ordinance": ("ordenanza", "ordinance"),
    "public_policy": ("política pública", "public policy"),
    "programme": ("programa", "programme", "program"),
}
LEVEL_NAMES: dict[str, tuple[str, ...]] = {
    "municipal": ("municipal", "cantonal", "distrital"),
    "provincial": ("provincial", "departamental", "regional"),
    "national": ("nacional", "national"),
}
STAGE_NAMES: dict[str, tuple[str, ...]] = {
    "proposed": ("propuesta", "propuesto", "proposed"),
    "drafted": ("borrador", "redactada", "en borrador", "drafted"),
    "adopted": ("adoptada", "aprobada", "adoptado", "aprobado", "adopted"),
}


def policy_fields() -> tuple[Field, ...]:
    """The columns of the policies sheet."""
    return (
        Field("code", "code", "código", required=True),
        Field("name", "name", "nombre", required=True),
        Field("kind", "type", "tipo", "choice", True, TYPE_NAMES),
        Field("level", "level", "nivel", "choice", True, LEVEL_NAMES),
        Field("target_city", "target_city", "ciudad", "city"),
        Field("country", "country", "país"),
        Field("stage", "stage", "etapa", "choice", True, STAGE_NAMES),
        Field("proposed_on", "proposed_on", "fecha_propuesta", "date"),
        Field("drafted_on", "drafted_on", "fecha_borrador", "date"),
        Field("adopted_on", "adopted_on", "fecha_adopción", "date"),
        Field("documents", "documents", "documentos", "list"),
        Field("marker_areas", "marker_areas", "áreas_marcador", "list"),
    )


def stage_label(stage: str, lang: str = "en") -> str:
    """A policy's stage as readers see it."""
    return {
        "proposed": _("proposed", lang),
        "drafted": _("drafted", lang),
        "adopted": _("adopted", lang),
    }.get(stage, stage)


def type_label(kind: str, lang: str = "en") -> str:
    """A policy's type as readers see it."""
    return {
        "development_plan": _("development plan", lang),
        "ordinance": _("ordinance", lang),
        "public_policy": _("public policy", lang),
        "programme": _("programme", lang),
    }.get(kind, kind)


def import_policies(engine: Engine, path: Path | str) -> ImportResult:
    """Import policies in one transaction, keyed by code (re-importing moves them a stage on)."""
    with transaction(engine) as session:
        return import_policies_in(session, path)


def import_policies_in(session: Session, path: Path | str) -> ImportResult:
    """The same import inside the caller's transaction (a whole workbook is one)."""
    created = updated = 0
    rows = read_rows(path, policy_fields(), POLICIES_SHEET, session)
    batch = new_batch(session, "delivery_policies", path, rows)
    countries = {c.id: c.country for c in session.scalars(select(TargetCity))}
    for record, number, code in unique_codes(rows):
        country = str(record["country"] or "").upper()
        city = record["target_city"]
        if not country and isinstance(city, int):
            country = countries.get(city, "")
        if len(country) != 3 or not country.isalpha():
            raise problem(
                rows.file,
                number,
                rows.column("country"),
                str(record["country"] or ""),
                _("is not an ISO 3166 alpha-3 code (such as COL): give the country."),
            )
        if record["level"] == "municipal" and city is None:
            raise problem(
                rows.file,
                number,
                rows.column("target_city"),
                "",
                _("is empty: a municipal instrument needs its target city."),
            )
        if record["stage"] == "adopted" and record["adopted_on"] is None:
            raise problem(
                rows.file,
                number,
                rows.column("adopted_on"),
                "",
                _("is empty: an adopted instrument needs the date it was adopted."),
            )
        dates = [
            d
            for d in (record["proposed_on"], record["drafted_on"], record["adopted_on"])
            if isinstance(d, date)
        ]
        if dates != sorted(dates):
            raise problem(
                rows.file,
                number,
                rows.column("adopted_on"),
                str(record["adopted_on"] or ""),
                _(
                    "is out of order: the proposed, drafted and adopted dates must follow "
                    "each other."
                ),
            )
        values = {
            "name": record["name"],
            "kind": record["kind"],
            "level": record["level"],
            "target_city_id": city,
            "country": country,
            "stage": record["stage"],
            "proposed_on": record["proposed_on"],
            "drafted_on": record["drafted_on"],
            "adopted_on": record["adopted_on"],
            "documents": record["documents"] or [],
            "marker_areas": record["marker_areas"] or [],
            "batch_id": batch.id,
        }
        if upsert_by_code(session, DeliveryPolicy, code, values):
            created += 1
        else:
            updated += 1
        session.flush()
    return ImportResult("policies", created, updated, batch.id)


@dataclass(frozen=True)
class PolicyRecord:
    """A supported policy as the public page and the donor report list it."""

    code: str
    name: str
    kind: str
    level: str
    target_city: str
    city_name: str
    country: str
    stage: str
    proposed_on: date | None
    drafted_on: date | None
    adopted_on: date | None
    documents: list[str]
    marker_areas: list[str]


def list_policies(engine: Engine, *, country: str | None = None) -> list[PolicyRecord]:
    """Every supported policy, adopted first, then by name."""
    query = select(DeliveryPolicy, TargetCity).outerjoin(
        TargetCity, DeliveryPolicy.target_city_id == TargetCity.id
    )
    if country:
        query = query.where(DeliveryPolicy.country == country.upper())
    records = []
    with Session(engine) as session:
        for policy, city in session.execute(query).all():
            records.append(
                PolicyRecord(
                    code=policy.code,
                    name=policy.name,
                    kind=policy.kind,
                    level=policy.level,
                    target_city=city.code if city else "",
                    city_name=city.name if city else "",
                    country=policy.country,
                    stage=policy.stage,
                    proposed_on=policy.proposed_on,
                    drafted_on=policy.drafted_on,
                    adopted_on=policy.adopted_on,
                    documents=list(policy.documents or []),
                    marker_areas=list(policy.marker_areas or []),
                )
            )
    order = {stage: i for i, stage in enumerate(reversed(POLICY_STAGES))}
    return sorted(records, key=lambda r: (order[r.stage], r.name))


def policies_by_stage(engine: Engine, *, target_city_id: int | None = None) -> dict[str, int]:
    """How many instruments are at each stage (every stage present, zero when none)."""
    query = select(DeliveryPolicy.stage, func.count()).group_by(DeliveryPolicy.stage)
    if target_city_id is not None:
        query = query.where(DeliveryPolicy.target_city_id == target_city_id)
    counts = dict.fromkeys(POLICY_STAGES, 0)
    with engine.connect() as connection:
        for stage, count in connection.execute(query):
            counts[stage] = int(count)
    return counts
