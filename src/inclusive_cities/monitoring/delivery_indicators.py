"""The delivery records answer some of the results framework's indicators (computed actuals).

Registered in the monitoring registry when this module is imported. Flows count what happened
within the reporting period (people trained in its sessions, the share of them who improved);
stocks count what stood at its end (policies supported, centres in the network, businesses open
among the entrepreneurs supported by then). ``None`` means the city has no records of that kind
at all, so the store cannot tell; the records are per target city, so typed actuals are refused
for every city (``needs_store_city=False``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from inclusive_cities.monitoring.periods import Window
from inclusive_cities.monitoring.registry import register_computed, register_programme_level
from inclusive_cities.monitoring.trainings import wilson_with_design_effect
from inclusive_cities.store.delivery_models import (
    DeliveryCentre,
    DeliveryEntrepreneur,
    DeliveryParticipant,
    DeliveryPolicy,
    DeliveryTraining,
)
from inclusive_cities.store.monitoring_models import TargetCity


def _has(session: Session, column: object, city: TargetCity) -> bool:
    return bool(session.scalar(select(func.count()).where(column == city.id)))  # type: ignore[arg-type]


def _trained(
    session: Session, city: TargetCity, window: Window, audience: str | None
) -> float | None:
    if not _has(session, DeliveryTraining.target_city_id, city):
        return None
    query = (
        select(DeliveryParticipant.participant)
        .join(DeliveryTraining, DeliveryParticipant.training_id == DeliveryTraining.id)
        .where(
            DeliveryTraining.target_city_id == city.id,
            DeliveryTraining.held_on >= window.start,
            DeliveryTraining.held_on <= window.end,
        )
        .distinct()
    )
    if audience:
        query = query.where(DeliveryTraining.audience == audience)
    return float(len(session.execute(query).all()))


@register_computed("people_trained", needs_store_city=False)
def people_trained(session: Session, city: TargetCity, window: Window) -> float | None:
    """Different people trained in the period's sessions (both audiences)."""
    return _trained(session, city, window, None)


@register_computed("public_servants_trained", needs_store_city=False)
def public_servants_trained(session: Session, city: TargetCity, window: Window) -> float | None:
    """Different public servants trained in the period's sessions."""
    return _trained(session, city, window, "public_servants")


@register_computed("community_trained", needs_store_city=False)
def community_trained(session: Session, city: TargetCity, window: Window) -> float | None:
    """Different community members trained in the period's sessions."""
    return _trained(session, city, window, "community")


@register_computed("improved_knowledge_share", needs_store_city=False)
def improved_knowledge_share(session: Session, city: TargetCity, window: Window) -> float | None:
    """Per cent of assessed public servants whose post score beat their pre score (the point
    estimate; :func:`inclusive_cities.monitoring.trainings.improved_knowledge` gives its CI)."""
    return _improved_share(session, window, city.id)


@register_programme_level("improved_knowledge_share")
def improved_knowledge_share_programme(session: Session, window: Window) -> float | None:
    """The programme's share pooled over every assessed public servant (the estimate the
    deliveries section gives with its CI), not a mean of the cities' shares."""
    return _improved_share(session, window, None)


def improved_knowledge_share_among(
    session: Session, window: Window, city_ids: Collection[int]
) -> float | None:
    """A country's share, pooled over the assessed public servants of its target cities as
    the programme's is (trial F13: the mean of the cities shown left half of them out)."""
    return _improved_share(session, window, city_ids)


def assessed_public_servants(session: Session, window: Window, city_ids: Collection[int]) -> int:
    """How many public servants of these target cities have both scores in the window."""
    return len(_assessed(session, window, city_ids))


def _assessed(
    session: Session, window: Window, city_id: int | Collection[int] | None
) -> list[tuple[int, float | None, float | None]]:
    place: ColumnElement[bool]
    if city_id is None:
        place = DeliveryTraining.target_city_id.is_not(None)
    elif isinstance(city_id, int):
        place = DeliveryTraining.target_city_id == city_id
    else:
        place = DeliveryTraining.target_city_id.in_(list(city_id))
    return [
        (int(training), pre, post)
        for training, pre, post in session.execute(
            select(
                DeliveryTraining.id, DeliveryParticipant.pre_score, DeliveryParticipant.post_score
            )
            .join(DeliveryTraining, DeliveryParticipant.training_id == DeliveryTraining.id)
            .where(
                place,
                DeliveryTraining.audience == "public_servants",
                DeliveryTraining.held_on >= window.start,
                DeliveryTraining.held_on <= window.end,
                DeliveryParticipant.pre_score.is_not(None),
                DeliveryParticipant.post_score.is_not(None),
            )
        ).all()
    ]


def _improved_share(
    session: Session, window: Window, city_id: int | Collection[int] | None
) -> float | None:
    """Per cent improved among assessed public servants; None under the disclosure threshold
    (a share of fewer people than a publishable count would give them away)."""
    from inclusive_cities.disclosure import Rules, control_enabled

    rows = _assessed(session, window, city_id)
    if not rows or (control_enabled() and len(rows) < Rules().threshold):
        return None  # nobody assessed in the window: no share (not a division by zero)
    by_session: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for training, pre, post in rows:
        by_session[training][0] += int(post is not None and pre is not None and post > pre)
        by_session[training][1] += 1
    share, _low, _high, _deff = wilson_with_design_effect([(y, n) for y, n in by_session.values()])
    return 100.0 * share


def _policies(
    session: Session, city: TargetCity, window: Window, stage: str | None
) -> float | None:
    if not _has(session, DeliveryPolicy.target_city_id, city):
        return None
    started = or_(
        DeliveryPolicy.proposed_on <= window.end,
        DeliveryPolicy.drafted_on <= window.end,
        DeliveryPolicy.adopted_on <= window.end,
        (DeliveryPolicy.proposed_on.is_(None))
        & (DeliveryPolicy.drafted_on.is_(None))
        & (DeliveryPolicy.adopted_on.is_(None)),
    )
    query = select(func.count(DeliveryPolicy.id)).where(
        DeliveryPolicy.target_city_id == city.id, started
    )
    if stage == "adopted":
        query = query.where(DeliveryPolicy.adopted_on <= window.end)
    return float(session.scalar(query) or 0)


@register_computed("policies_supported", needs_store_city=False)
def policies_supported(session: Session, city: TargetCity, window: Window) -> float | None:
    """Instruments of the city supported by the end of the period (any stage; undated count)."""
    return _policies(session, city, window, None)


@register_computed("policies_adopted", needs_store_city=False)
def policies_adopted(session: Session, city: TargetCity, window: Window) -> float | None:
    """Instruments of the city adopted by the end of the period."""
    return _policies(session, city, window, "adopted")


@register_computed("centres_in_network", needs_store_city=False)
def centres_in_network(session: Session, city: TargetCity, window: Window) -> float | None:
    """Active centres of the network in the city (the registry keeps no opening dates)."""
    if not _has(session, DeliveryCentre.target_city_id, city):
        return None
    return float(
        session.scalar(
            select(func.count(DeliveryCentre.id)).where(
                DeliveryCentre.target_city_id == city.id, DeliveryCentre.status == "active"
            )
        )
        or 0
    )


@register_programme_level("centres_in_network")
def centres_in_network_programme(session: Session, window: Window) -> float | None:
    """Active centres of the whole network, linked to a target city or not."""
    if not session.scalar(select(func.count(DeliveryCentre.id))):
        return None
    return float(
        session.scalar(
            select(func.count(DeliveryCentre.id)).where(DeliveryCentre.status == "active")
        )
        or 0
    )


def _entrepreneurs(
    session: Session, city: TargetCity, window: Window
) -> list[DeliveryEntrepreneur]:
    return list(
        session.scalars(
            select(DeliveryEntrepreneur).where(
                DeliveryEntrepreneur.target_city_id == city.id,
                or_(
                    DeliveryEntrepreneur.supported_on.is_(None),
                    DeliveryEntrepreneur.supported_on <= window.end,
                ),
            )
        )
    )


@register_computed("entrepreneurs_supported", needs_store_city=False)
def entrepreneurs_supported(session: Session, city: TargetCity, window: Window) -> float | None:
    """People supported with a business by the end of the period."""
    if not _has(session, DeliveryEntrepreneur.target_city_id, city):
        return None
    return float(len(_entrepreneurs(session, city, window)))


@register_computed("business_open_6m", needs_store_city=False)
def business_open_6m(session: Session, city: TargetCity, window: Window) -> float | None:
    """Entrepreneurs supported by then whose business was open at the 6-month follow-up."""
    if not _has(session, DeliveryEntrepreneur.target_city_id, city):
        return None
    return float(sum(1 for p in _entrepreneurs(session, city, window) if p.open_6m))


@register_computed("business_open_12m", needs_store_city=False)
def business_open_12m(session: Session, city: TargetCity, window: Window) -> float | None:
    """Entrepreneurs supported by then whose business was open at the 12-month follow-up."""
    if not _has(session, DeliveryEntrepreneur.target_city_id, city):
        return None
    return float(sum(1 for p in _entrepreneurs(session, city, window) if p.open_12m))
