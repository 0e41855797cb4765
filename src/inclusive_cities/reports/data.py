"""Read what a report needs from the store into DataFrames (the only store access here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Engine, or_, select

from inclusive_cities.i18n import gettext as _
from inclusive_cities.reports.errors import ReportError
from inclusive_cities.reports.withheld import withhold_observations, withhold_scores
from inclusive_cities.store import models, transaction


@dataclass
class CityData:
    """Everything the store holds for one city and period, as plain frames."""

    city_code: str
    city_name: str
    country: str
    is_synthetic: bool
    period_code: str
    period_label: str
    period_end: object
    units: gpd.GeoDataFrame  # unit_id, code, name, parent_id, level_code, level_name_*, depth
    observations: pd.DataFrame  # indicator, unit_id, sex, age_group, nationality, value, n, …
    indicators: pd.DataFrame  # code, name_es, name_en, area, dimension, unit, direction, source
    run: dict | None  # the latest marker run of the city and period
    scores: pd.DataFrame  # unit_id, node_code, score, level, rank, coverage, imputed


def _frame(rows: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def load_city_data(engine: Engine, city_code: str, period_code: str) -> CityData:
    """Load a city and period; a one-line error lists the codes that exist when one is wrong."""
    with transaction(engine) as session:
        city = session.scalar(select(models.City).where(models.City.code == city_code))
        if city is None:
            known = session.scalars(select(models.City.code).order_by(models.City.code)).all()
            raise ReportError(
                _(
                    "There is no city with code '{code}' in the observatory; cities: {known}."
                ).format(code=city_code, known=", ".join(known) or _("none"))
            )
        period = session.scalar(select(models.Period).where(models.Period.code == period_code))
        if period is None:
            known = session.scalars(select(models.Period.code).order_by(models.Period.code)).all()
            raise ReportError(
                _(
                    "There is no period with code '{code}' in the observatory; periods: {known}."
                ).format(code=period_code, known=", ".join(known) or _("none"))
            )
        unit_rows = session.execute(
            select(
                models.SpatialUnit.id,
                models.SpatialUnit.code,
                models.SpatialUnit.name,
                models.SpatialUnit.parent_id,
                models.SpatialUnit.geometry,
                models.SpatialUnit.area_m2,
                models.UnitLevel.code,
                models.UnitLevel.name_es,
                models.UnitLevel.name_en,
                models.UnitLevel.depth,
            )
            .join(models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id)
            .where(models.SpatialUnit.city_id == city.id)
        ).all()
        units = _frame(
            unit_rows,
            [
                "unit_id",
                "code",
                "name",
                "parent_id",
                "wkb",
                "area_m2",
                "level_code",
                "level_name_es",
                "level_name_en",
                "depth",
            ],
        )
        geometry = shapely.from_wkb(units["wkb"].to_numpy()) if len(units) else []
        gunits = gpd.GeoDataFrame(units.drop(columns=["wkb"]), geometry=geometry, crs="EPSG:4326")
        run = session.scalar(
            select(models.MarkerRun)
            .where(models.MarkerRun.city_id == city.id, models.MarkerRun.period_id == period.id)
            .order_by(
                models.MarkerRun.published.desc(),
                models.MarkerRun.created_at.desc(),
                models.MarkerRun.id.desc(),
            )
            .limit(1)
        )
        # Only what reports read: totals by nationality (rights gaps) and, for the units of
        # the marker run, overall totals (fact sheets); a city holds far more observations.
        wanted = models.Observation.nationality != models.TOTAL
        if run is not None and run.level_id is not None:
            wanted = or_(wanted, models.SpatialUnit.level_id == run.level_id)
        obs_rows = session.execute(
            select(
                models.Indicator.code,
                models.Observation.unit_id,
                models.Observation.sex,
                models.Observation.age_group,
                models.Observation.nationality,
                models.Observation.value,
                models.Observation.n,
                models.Observation.standard_error,
                models.Observation.status,
                models.Observation.source,
                models.Observation.id,
            )
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .where(
                models.SpatialUnit.city_id == city.id,
                models.Observation.period_id == period.id,
                models.Observation.sex == models.TOTAL,
                models.Observation.age_group == models.TOTAL,
                wanted,
            )
        ).all()
        observations = _frame(
            [r[:-1] for r in obs_rows],
            [
                "indicator",
                "unit_id",
                "sex",
                "age_group",
                "nationality",
                "value",
                "n",
                "se",
                "status",
                "source",
            ],
        )
        # a report is a publication: it prints what the web serves (docs/disclosure-derived.md)
        observations = withhold_observations(
            session, city.id, [int(r[-1]) for r in obs_rows], observations
        )
        ind_rows = session.execute(
            select(
                models.Indicator.code,
                models.Indicator.name_es,
                models.Indicator.name_en,
                models.Indicator.area,
                models.Indicator.dimension,
                models.Indicator.unit,
                models.Indicator.direction,
                models.Indicator.source,
            )
        ).all()
        indicators = _frame(
            ind_rows,
            ["code", "name_es", "name_en", "area", "dimension", "unit", "direction", "source"],
        )
        run_info = None
        scores = pd.DataFrame(
            columns=["unit_id", "node_code", "score", "level", "rank", "coverage", "imputed"]
        )
        if run is not None:
            run_info = {
                "id": run.id,
                "spec_code": run.spec_code,
                "spec_hash": run.spec_hash,
                "city_score": run.city_score,
                "level_id": run.level_id,
                "parameters": run.parameters or {},
                "created_at": run.created_at,
                "software_version": run.software_version,
                "seed": run.seed,
            }
            score_rows = session.execute(
                select(
                    models.MarkerScore.unit_id,
                    models.MarkerScore.node_code,
                    models.MarkerScore.score,
                    models.MarkerScore.level,
                    models.MarkerScore.rank,
                    models.MarkerScore.coverage,
                    models.MarkerScore.imputed,
                ).where(models.MarkerScore.run_id == run.id)
            ).all()
            scores = withhold_scores(session, run.id, _frame(score_rows, list(scores.columns)))
        return CityData(
            city_code=city.code,
            city_name=city.name,
            country=city.country,
            is_synthetic=bool(city.is_synthetic),
            period_code=period.code,
            period_label=period.label or period.code,
            period_end=period.end_date,
            units=gunits,
            observations=observations,
            indicators=indicators,
            run=run_info,
            scores=scores,
        )
