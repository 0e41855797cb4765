"""Entrepreneurs supported in each city and the socio-economic integration plan they make up.

A record is one person (an anonymous id), the plan activity that supported them (seed capital,
mentoring, a training...), their sector, and whether the business was open 6 and 12 months
later. People are never published one by one: :func:`entrepreneurs_by_city` gives counts by sex
and nationality through :func:`protect_counts`, the disclosure rule for counts of people.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.disclosure import Rules, control_enabled
from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.delivery_import import (
    Field,
    ImportResult,
    Sheet,
    new_batch,
    problem,
    read_rows,
)
from inclusive_cities.monitoring.people import NATIONALITY_NAMES, SEX_NAMES, protect_counts
from inclusive_cities.store import transaction
from inclusive_cities.store.delivery_models import DeliveryEntrepreneur
from inclusive_cities.store.monitoring_models import TargetCity

ENTREPRENEURS_SHEET = Sheet(en="entrepreneurs", es="emprendedores")
PLAN_ACTIVITIES: dict[str, tuple[str, ...]] = {
    "business_training": ("formación empresarial", "capacitacion", "business training"),
    "seed_capital": ("capital semilla", "seed capital"),
    "mentoring": ("mentoría", "acompanamiento", "mentoring"),
    "market_access": ("acceso a mercados", "feria", "market access"),
    "financial_inclusion": ("inclusión financiera", "financial inclusion"),
}


def entrepreneur_fields() -> tuple[Field, ...]:
    """The columns of the entrepreneurs sheet (an anonymous id, never a name)."""
    return (
        Field("code", "id", "id", required=True),
        Field("target_city", "target_city", "ciudad", "city", required=True),
        Field("sex", "sex", "sexo", "choice", False, SEX_NAMES),
        Field("age_group", "age_group", "grupo_edad"),
        Field("nationality", "nationality", "nacionalidad", "choice", False, NATIONALITY_NAMES),
        Field("sector", "sector", "sector"),
        Field(
            "plan_activity",
            "plan_activity",
            "actividad_plan",
            "choice",
            False,
            PLAN_ACTIVITIES,
        ),
        Field("supported_on", "supported_on", "fecha_apoyo", "date"),
        Field("trainings", "trainings", "capacitaciones", "list"),
        Field("open_6m", "open_6m", "abierto_6m", "bool"),
        Field("open_12m", "open_12m", "abierto_12m", "bool"),
    )


def activity_label(activity: str, lang: str = "en") -> str:
    """A plan activity as readers see it."""
    return {
        "business_training": _("business training", lang),
        "seed_capital": _("seed capital", lang),
        "mentoring": _("mentoring", lang),
        "market_access": _("market access", lang),
        "financial_inclusion": _("financial inclusion", lang),
    }.get(activity, activity)


def import_entrepreneurs(engine: Engine, path: Path | str) -> ImportResult:
    """Import entrepreneurs in one transaction; (city, id) is the key, so re-importing the
    follow-up columns later updates the same people."""
    with transaction(engine) as session:
        return import_entrepreneurs_in(session, path)


def import_entrepreneurs_in(session: Session, path: Path | str) -> ImportResult:
    """The same import inside the caller's transaction (a whole workbook is one)."""
    created = updated = 0
    rows = read_rows(path, entrepreneur_fields(), ENTREPRENEURS_SHEET, session)
    batch = new_batch(session, "delivery_entrepreneurs", path, rows)
    seen: dict[tuple[object, str], int] = {}
    stored: dict[tuple[object, str], DeliveryEntrepreneur] = {
        (p.target_city_id, p.code): p for p in session.scalars(select(DeliveryEntrepreneur))
    }
    for record, number in zip(rows.records, rows.numbers, strict=True):
        key = (record["target_city"], str(record["code"]))
        if key in seen:
            raise problem(
                rows.file,
                number,
                rows.column("code"),
                key[1],
                _("is used twice in this city (also row {other}); keep one.").format(
                    other=seen[key]
                ),
            )
        seen[key] = number
        if record["open_12m"] is True and record["open_6m"] is False:
            raise problem(
                rows.file,
                number,
                rows.column("open_12m"),
                "yes",
                _("says open at 12 months but '{other}' says closed at 6: check both.").format(
                    other=rows.column("open_6m")
                ),
            )
        values = {
            "sex": record["sex"] or "unknown",
            "age_group": record["age_group"] or "",
            "nationality": record["nationality"] or "unknown",
            "sector": record["sector"] or "",
            "plan_activity": record["plan_activity"] or "",
            "supported_on": record["supported_on"],
            "trainings": record["trainings"] or [],
            "open_6m": record["open_6m"],
            "open_12m": record["open_12m"],
            "batch_id": batch.id,
        }
        existing = stored.get(key)
        if existing is None:
            session.add(DeliveryEntrepreneur(target_city_id=key[0], code=key[1], **values))
            created += 1
        else:
            for name, value in values.items():
                setattr(existing, name, value)
            updated += 1
    session.flush()
    return ImportResult("entrepreneurs", created, updated, batch.id)


@dataclass(frozen=True)
class CityEntrepreneurs:
    """Published figures of one city: the total and protected counts by sex and nationality."""

    target_city: str
    name: str
    country: str
    total: int | None
    by_sex: dict[str, int | None]
    by_nationality: dict[str, int | None]
    by_activity: dict[str, int | None]
    open_6m: int | None
    followed_6m: int
    open_12m: int | None
    followed_12m: int


def entrepreneurs_by_city(engine: Engine) -> list[CityEntrepreneurs]:
    """Each target city's entrepreneurs as disclosure-controlled aggregates."""
    threshold = Rules().threshold if control_enabled() else 0
    grouped: dict[int, list[DeliveryEntrepreneur]] = defaultdict(list)
    with Session(engine) as session:
        cities = {c.id: c for c in session.scalars(select(TargetCity))}
        for person in session.scalars(select(DeliveryEntrepreneur)):
            grouped[person.target_city_id].append(person)
    result = []
    for city_id, people in sorted(grouped.items(), key=lambda kv: cities[kv[0]].name):
        city = cities[city_id]

        def tally(attribute: str, people: list = people) -> dict[str, int | None]:
            counts: dict[str, int] = defaultdict(int)
            for person in people:
                counts[getattr(person, attribute) or "unknown"] += 1
            return protect_counts(dict(counts))

        followed_6 = [p for p in people if p.open_6m is not None]
        followed_12 = [p for p in people if p.open_12m is not None]
        open_6 = sum(1 for p in followed_6 if p.open_6m)
        open_12 = sum(1 for p in followed_12 if p.open_12m)
        total = len(people)
        result.append(
            CityEntrepreneurs(
                target_city=city.code,
                name=city.name,
                country=city.country,
                total=total if total >= threshold else None,
                by_sex=tally("sex"),
                by_nationality=tally("nationality"),
                by_activity=tally("plan_activity"),
                open_6m=open_6 if len(followed_6) >= threshold else None,
                followed_6m=len(followed_6) if len(followed_6) >= threshold else 0,
                open_12m=open_12 if len(followed_12) >= threshold else None,
                followed_12m=len(followed_12) if len(followed_12) >= threshold else 0,
            )
        )
    return result


@dataclass(frozen=True)
class OpenBusinesses:
    """Entrepreneurs followed up at a milestone and how many had their business open."""

    months: int
    followed: int
    open: int

    @property
    def share(self) -> float | None:
        return self.open / self.followed if self.followed else None


def business_open(
    engine: Engine, months: int = 6, *, target_city_id: int | None = None
) -> OpenBusinesses:
    """Follow-up at 6 or 12 months: people with a known status, and how many were open."""
    if months not in (6, 12):
        raise ValueError(months)
    column = DeliveryEntrepreneur.open_6m if months == 6 else DeliveryEntrepreneur.open_12m
    query = select(column).where(column.is_not(None))
    if target_city_id is not None:
        query = query.where(DeliveryEntrepreneur.target_city_id == target_city_id)
    with engine.connect() as connection:
        values = [bool(v) for (v,) in connection.execute(query)]
    return OpenBusinesses(months, len(values), sum(values))


def entrepreneurs_supported(engine: Engine, *, target_city_id: int | None = None) -> int:
    """People supported with a business (all plan activities)."""
    query = select(DeliveryEntrepreneur.id)
    if target_city_id is not None:
        query = query.where(DeliveryEntrepreneur.target_city_id == target_city_id)
    with engine.connect() as connection:
        return len(connection.execute(query).all())
