"""The assessment's overall score as the marker's ``migration_governance_score``.

``marker build`` reads indicator values from the store's observations (whole population, not
suppressed) at the level it builds, inheriting from coarser levels. The rule kept here:

* for each period in which the city has observations, the value is the overall score of the
  city's latest *local* assessment dated on or before the period's end (its ``end_date``; a
  period coded as a year, such as ``2024``, ends on 31 December of that year; a period with
  neither takes the latest assessment);
* it is written for every unit of the city at every level, status ``computed``, replacing any
  imported value of that indicator for that period; a period without such an assessment keeps
  what was imported;
* it is applied when a local assessment is imported, and by ``governance sync --city``
  (run it after importing a table that carries the indicator, or new periods).
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import Engine, and_, delete, insert, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models

INDICATOR = "migration_governance_score"


def period_end(period: models.Period) -> date | None:
    """When a period ends, for choosing the assessment in force; None when unknown."""
    if period.end_date is not None:
        return period.end_date
    match = re.fullmatch(r"(\d{4})", period.code.strip())
    return date(int(match.group(1)), 12, 31) if match else None


def _indicator(session: Session) -> models.Indicator:
    row = session.scalar(select(models.Indicator).where(models.Indicator.code == INDICATOR))
    if row is None:
        from inclusive_cities.indicators.catalogue import load_catalogue

        spec = load_catalogue()[INDICATOR]
        row = models.Indicator(
            code=INDICATOR,
            name_es=spec.name_es,
            name_en=spec.name_en,
            area=spec.area,
            dimension=spec.dimension,
            unit=spec.unit,
            direction=spec.direction,
        )
        session.add(row)
    row.source = row.source or _("governance assessment (inclusive-cities governance import)")
    session.flush()
    return row


def in_force(
    assessments: list[models.GovernanceAssessment], period: models.Period
) -> models.GovernanceAssessment | None:
    """The latest assessment dated on or before the period's end (any, if the end is unknown)."""
    end = period_end(period)
    eligible = [a for a in assessments if end is None or a.assessed_on <= end]
    return max(eligible, key=lambda a: (a.assessed_on, a.id), default=None)


def sync_city(session: Session, city: models.City) -> int:
    """Write the rule above for ``city``; returns the number of values written."""
    return sync_city_changes(session, city)[0]


def sync_city_changes(
    session: Session, city: models.City
) -> tuple[int, list[str], dict[int, list[str]]]:
    """:func:`sync_city`, with the periods whose score changed (what was published or scored
    from them is out of date: :func:`stale_notes`) and each assessment's periods (the ones
    whose score it gives)."""
    assessments = list(
        session.scalars(
            select(models.GovernanceAssessment).where(
                models.GovernanceAssessment.level == "local",
                models.GovernanceAssessment.city_id == city.id,
                models.GovernanceAssessment.overall_score.is_not(None),
            )
        )
    )
    if not assessments:
        return 0, [], {}
    unit_ids = list(
        session.scalars(select(models.SpatialUnit.id).where(models.SpatialUnit.city_id == city.id))
    )
    if not unit_ids:
        return 0, [], {}
    periods = session.scalars(
        select(models.Period)
        .where(
            select(models.Observation.id)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .where(
                and_(
                    models.SpatialUnit.city_id == city.id,
                    models.Observation.period_id == models.Period.id,
                )
            )
            .exists()
        )
        .order_by(models.Period.code)
    ).all()
    indicator = _indicator(session)
    written = 0
    changed: list[str] = []
    given: dict[int, list[str]] = {}
    for period in periods:
        chosen = in_force(assessments, period)
        if chosen is None or chosen.overall_score is None:
            continue
        given.setdefault(chosen.id, []).append(period.code)
        before = set(
            session.scalars(
                select(models.Observation.value)
                .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
                .where(
                    models.Observation.indicator_id == indicator.id,
                    models.Observation.period_id == period.id,
                    models.SpatialUnit.city_id == city.id,
                )
                .distinct()
            )
        )
        if before and before != {chosen.overall_score}:
            changed.append(period.code)
        session.execute(
            delete(models.Observation).where(
                models.Observation.indicator_id == indicator.id,
                models.Observation.period_id == period.id,
                models.Observation.unit_id.in_(
                    select(models.SpatialUnit.id).where(models.SpatialUnit.city_id == city.id)
                ),
            )
        )
        source = _("governance assessment {place} {date}").format(
            place=chosen.place, date=chosen.assessed_on.isoformat()
        )
        session.execute(
            insert(models.Observation),
            [
                {
                    "indicator_id": indicator.id,
                    "unit_id": unit_id,
                    "period_id": period.id,
                    "value": chosen.overall_score,
                    "status": "computed",
                    "source": source,
                    "batch_id": chosen.batch_id,
                }
                for unit_id in unit_ids
            ],
        )
        written += len(unit_ids)
    return written, changed, given


def stale_notes(session: Session, city: models.City, periods: list[str]) -> list[str]:
    """What a new score changed beyond the store: the published layers of the indicator that
    now show it without a ``publish``, and the marker runs computed from the earlier score
    (trial #5 T15: a second assessment rewrote a public layer with no word)."""
    from inclusive_cities.store.web_models import PublishedLayer

    if not periods:
        return []
    indicator = _indicator(session)
    published = sorted(
        session.scalars(
            select(models.Period.code)
            .join(PublishedLayer, PublishedLayer.period_id == models.Period.id)
            .where(
                PublishedLayer.city_id == city.id,
                PublishedLayer.indicator_id == indicator.id,
                models.Period.code.in_(periods),
            )
        )
    )
    notes = []
    if published:
        notes.append(
            _(
                "The public site now shows the new score in the published layer of "
                "migration_governance_score for {periods}."
            ).format(periods=", ".join(published))
        )
    runs = session.execute(
        select(models.MarkerRun.id, models.MarkerRun.spec_code, models.Period.code)
        .join(models.Period, models.Period.id == models.MarkerRun.period_id)
        .where(models.MarkerRun.city_id == city.id, models.Period.code.in_(periods))
        .order_by(models.MarkerRun.id)
    ).all()
    stale = [
        _("run {id} ({spec}, {period})").format(id=run_id, spec=spec, period=period)
        for run_id, spec, period in runs
        if _uses(spec)
    ]
    if stale:
        notes.append(
            _(
                "Marker runs computed with the earlier score: {runs}. Run 'inclusive-cities "
                "marker build' for them and publish again."
            ).format(runs=", ".join(stale))
        )
    return notes


def _uses(spec_code: str) -> bool:
    """The marker recipe reads migration_governance_score (a recipe that cannot be read is
    named too: better one note too many than a stale run unsaid)."""
    from inclusive_cities.marker.spec import load_spec

    try:
        return INDICATOR in load_spec(spec_code).indicator_codes
    except Exception:  # a custom recipe's file moved: say so rather than guess
        return True


def sync(engine: Engine, city: str) -> int:
    """Apply the rule for ``city`` in one transaction (``governance sync --city``)."""
    from inclusive_cities.governance.errors import GovernanceError
    from inclusive_cities.store import transaction

    with transaction(engine) as session:
        row = session.scalar(select(models.City).where(models.City.code == city))
        if row is None:
            raise GovernanceError(
                _(
                    "There is no city '{city}' in the observatory; see 'inclusive-cities info'."
                ).format(city=city)
            )
        return sync_city(session, row)
