"""A layer is a survey layer because its figures are estimates, not because disclosure control
withheld some of its cells (trial #4 F8: census layers with suppressed cells were filed under
"Survey layers" in the map explorer, next to the survey of refugees and migrants)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from inclusive_cities.store import models, transaction
from inclusive_cities.web.services import indicator_kind
from tests.store_fixtures import city_with_blocks


def test_suppressed_census_cells_do_not_make_a_survey_layer(tmp_path: Path) -> None:
    engine, ids = city_with_blocks(f"sqlite:///{tmp_path / 's.db'}", "KND", ("01", "02", "03"))
    with transaction(engine) as session:
        survey = models.Indicator(code="mig_employment", name_es="Empleo", name_en="Employment")
        session.add(survey)
        session.flush()
        census_cells = [
            (85.0, "computed", None),
            (None, "suppressed", None),
            (72.5, "computed", None),
        ]
        survey_cells = [
            (61.0, "estimated", 4.2),
            (None, "suppressed", None),
            (58.0, "estimated", 3.9),
        ]
        for indicator_id, cells in ((ids["indicator"], census_cells), (survey.id, survey_cells)):
            for unit, (value, status, error) in zip(ids["units"], cells, strict=True):
                session.add(
                    models.Observation(
                        indicator_id=indicator_id,
                        unit_id=unit,
                        period_id=ids["period"],
                        value=value,
                        status=status,
                        standard_error=error,
                    )
                )
    with transaction(engine) as session:
        census = session.scalar(select(models.Indicator).where(models.Indicator.code == "tasa"))
        estimate = session.get(models.Indicator, survey.id)
        assert census is not None and estimate is not None
        assert indicator_kind(session, census, ids["period"]) == "indicator"
        assert indicator_kind(session, estimate, ids["period"]) == "survey"
