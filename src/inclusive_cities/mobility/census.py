"""How many refugees and migrants a city's census counts: the size a survey must fit."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.mobility.errors import MobilityError
from inclusive_cities.store import models

MIGRANT_INDICATOR = "venezuelan_population"


def census_migrants(engine: Engine, city: str, period: str) -> float:
    """The city's census count of Venezuelan residents in ``period``.

    Summed over the coarsest level that has the figure (its units cover the city), so a
    block-level count and a locality-level count give the same total.
    """
    with Session(engine) as session:
        city_id = session.scalar(select(models.City.id).where(models.City.code == city))
        if city_id is None:
            raise MobilityError(
                _("City '{city}' is not in the observatory; import its boundaries first.").format(
                    city=city
                )
            )
        rows = session.execute(
            select(models.UnitLevel.depth, func.sum(models.Observation.value))
            .join(models.SpatialUnit, models.SpatialUnit.level_id == models.UnitLevel.id)
            .join(models.Observation, models.Observation.unit_id == models.SpatialUnit.id)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .join(models.Period, models.Period.id == models.Observation.period_id)
            .where(
                models.UnitLevel.city_id == city_id,
                models.Indicator.code == MIGRANT_INDICATOR,
                models.Period.code == period,
                models.Observation.sex == models.TOTAL,
                models.Observation.age_group == models.TOTAL,
                models.Observation.nationality == models.TOTAL,
                models.Observation.value.is_not(None),
            )
            .group_by(models.UnitLevel.depth)
            .order_by(models.UnitLevel.depth)
        ).all()
    if not rows:
        raise MobilityError(
            _(
                "City '{city}' has no census count of Venezuelan residents for period "
                "'{period}'; run 'inclusive-cities indicators compute --city {city} "
                "--period {period}' first."
            ).format(city=city, period=period)
        )
    return float(rows[0][1] or 0.0)
