"""The computed indicators the observatory answers from its own tables.

* ``marker_published``: 1 when the city has a published Urban Inclusion Marker run for a
  period that ended by the end of the reporting period, else 0;
* ``mobility_profile_published``: 1 when a Human Mobility Profile report was written for the
  city for such a period (``report profile`` records it with :func:`record_profile`), else 0;
  a published human-mobility map layer is not a profile;
* ``neighbourhoods_covered``: neighbourhoods (the level after the first) with data by then;
* ``workshops_held``: co-creation workshops held within the reporting period;
* ``projects_done``: items of the city's territorial intervention plans done by then.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from inclusive_cities.monitoring.periods import Window
from inclusive_cities.monitoring.registry import register_computed
from inclusive_cities.store import models
from inclusive_cities.store.monitoring_models import TargetCity
from inclusive_cities.store.web_models import AuditEntry


def _period_end(period: models.Period) -> date:
    """When a store period ended: its end date, else the end of the year its code names."""
    if period.end_date is not None:
        return period.end_date
    digits = "".join(ch for ch in period.code[:4] if ch.isdigit())
    return date(int(digits), 12, 31) if len(digits) == 4 else date.max


def _periods_by(session: Session, end: date) -> list[int]:
    periods = session.scalars(select(models.Period)).all()
    return [p.id for p in periods if _period_end(p) <= end]


@register_computed("marker_published")
def marker_published(session: Session, city: TargetCity, window: Window) -> float | None:
    if city.city_id is None:
        return None
    periods = _periods_by(session, window.end)
    found = session.scalar(
        select(func.count(models.MarkerRun.id)).where(
            models.MarkerRun.city_id == city.city_id,
            models.MarkerRun.published.is_(True),
            models.MarkerRun.period_id.in_(periods),
        )
    )
    return 1.0 if found else 0.0


PROFILE_ACTION = "report_profile"
"""The audit-log action that records a Human Mobility Profile written for a city."""


def record_profile(engine: Engine, city: str, period: str, language: str, file: str) -> None:
    """Note in the store that the city's Human Mobility Profile for ``period`` was written
    (the programme's "cities with a mobility profile" is then computed, not typed)."""
    from inclusive_cities.store import transaction

    with transaction(engine) as session:
        session.add(
            AuditEntry(
                action=PROFILE_ACTION,
                target=f"city:{city}",
                user_email="",
                client="cli",
                details={"period": period, "language": language, "file": file},
            )
        )


@register_computed("mobility_profile_published")
def mobility_profile_published(session: Session, city: TargetCity, window: Window) -> float | None:
    if city.city_id is None:
        return None
    code = session.scalar(select(models.City.code).where(models.City.id == city.city_id))
    ends = {p.code: _period_end(p) for p in session.scalars(select(models.Period))}
    details = session.scalars(
        select(AuditEntry.details).where(
            AuditEntry.action == PROFILE_ACTION, AuditEntry.target == f"city:{code}"
        )
    ).all()
    written = [ends.get(str(d.get("period")), date.max) for d in details if isinstance(d, dict)]
    return 1.0 if any(end <= window.end for end in written) else 0.0


@register_computed("neighbourhoods_covered")
def neighbourhoods_covered(session: Session, city: TargetCity, window: Window) -> float | None:
    if city.city_id is None:
        return None
    levels = session.scalars(
        select(models.UnitLevel)
        .where(models.UnitLevel.city_id == city.city_id)
        .order_by(models.UnitLevel.depth)
    ).all()
    if not levels:
        return 0.0
    level = levels[1] if len(levels) > 1 else levels[0]
    periods = _periods_by(session, window.end)
    count = session.scalar(
        select(func.count(func.distinct(models.Observation.unit_id)))
        .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
        .where(models.SpatialUnit.level_id == level.id, models.Observation.period_id.in_(periods))
    )
    return float(count or 0)


def _has_table(session: Session, name: str) -> bool:
    return inspect(session.get_bind()).has_table(name)


@register_computed("workshops_held")
def workshops_held(session: Session, city: TargetCity, window: Window) -> float | None:
    if city.city_id is None or not _has_table(session, "workshops"):
        return None
    from inclusive_cities.store.workshop_models import Workshop

    count = session.scalar(
        select(func.count(Workshop.id)).where(
            Workshop.city_id == city.city_id,
            Workshop.held_on >= window.start,
            Workshop.held_on <= window.end,
        )
    )
    return float(count or 0)


@register_computed("projects_done")
def projects_done(session: Session, city: TargetCity, window: Window) -> float | None:
    """Items of the city's territorial intervention plans marked done, finished by then
    (an item without an end date counts once it is done)."""
    if city.city_id is None or not _has_table(session, "territorial_plan_items"):
        return None
    from inclusive_cities.store.plan_models import TerritorialPlan, TerritorialPlanItem

    count = session.scalar(
        select(func.count(TerritorialPlanItem.id))
        .join(TerritorialPlan, TerritorialPlan.id == TerritorialPlanItem.plan_id)
        .where(
            TerritorialPlan.city_id == city.city_id,
            TerritorialPlanItem.status == "done",
            (TerritorialPlanItem.end_date.is_(None)) | (TerritorialPlanItem.end_date <= window.end),
        )
    )
    return float(count or 0)
