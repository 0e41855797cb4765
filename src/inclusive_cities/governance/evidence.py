"""Beside the evidence: each domain's linked marker areas and indicators, with the city's
measured values, so the governance page shows outcomes next to policies.

Values come from the city's latest run of the framework's ``evidence_spec`` marker (by
default ``uim-extended``; else the latest run of any spec): for an area or dimension, the mean
of the run's unit scores (0-100, every unit weighing the same); for an indicator, the mean of
its whole-population values over the run's units in the run's period.

The marker's ``migration_governance_score`` is the assessment's own overall score: it is left
out of the evidence (a score is no evidence of itself, and the run's period may hold the score
of an earlier assessment). Two linked items with the same name (such as the refugee and migrant
population of two different areas) are told apart by their parent's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from inclusive_cities.governance.assess import AssessmentResult
from inclusive_cities.governance.spec import Label
from inclusive_cities.store import models


@dataclass(frozen=True)
class LinkedValue:
    code: str
    name: Label
    value: float | None
    unit: str = ""


@dataclass(frozen=True)
class DomainEvidence:
    domain: str
    name: Label
    score: float | None
    areas: list[LinkedValue]
    indicators: list[LinkedValue]
    run_id: int | None
    spec: str
    period: str


def domain_evidence(
    engine: Engine, result: AssessmentResult, *, published_only: bool = False
) -> list[DomainEvidence]:
    """The linked marker evidence of every domain of ``result`` (values need a city run;
    public pages pass ``published_only=True`` to read only published runs)."""
    from inclusive_cities.marker.spec import load_spec

    framework = result.framework
    spec = load_spec(framework.evidence_spec)
    from inclusive_cities.governance.marker_link import INDICATOR

    walked = [(item, parent) for item, _d, parent in spec.walk()]
    counts: dict[tuple[str, str], int] = {}
    for item, _parent in walked:
        key = (item.name.es, item.name.en)
        counts[key] = counts.get(key, 0) + 1
    names = {
        item.code: (
            Label(es=f"{parent.name.es} › {item.name.es}", en=f"{parent.name.en} › {item.name.en}")
            if parent is not None and counts[(item.name.es, item.name.en)] > 1
            else item.name
        )
        for item, parent in walked
    }
    with Session(engine) as session:
        run = None
        period = ""
        if result.info.city:
            city = session.scalar(select(models.City).where(models.City.code == result.info.city))
            runs = (
                select(models.MarkerRun).where(models.MarkerRun.city_id == city.id)
                if city
                else None
            )
            if runs is not None and published_only:
                runs = runs.where(models.MarkerRun.published.is_(True))
            if runs is not None:
                run = session.scalar(
                    runs.where(models.MarkerRun.spec_code == spec.code).order_by(
                        models.MarkerRun.id.desc()
                    )
                ) or session.scalar(runs.order_by(models.MarkerRun.id.desc()))
        areas: dict[str, float] = {}
        indicators: dict[str, tuple[float, str]] = {}
        if run is not None:
            period = (
                session.scalar(select(models.Period.code).where(models.Period.id == run.period_id))
                or ""
            )
            areas = {
                code: float(mean)
                for code, mean in session.execute(
                    select(models.MarkerScore.node_code, func.avg(models.MarkerScore.score))
                    .where(models.MarkerScore.run_id == run.id)
                    .group_by(models.MarkerScore.node_code)
                ).all()
                if mean is not None
            }
            units = select(models.SpatialUnit.id).where(
                models.SpatialUnit.city_id == run.city_id,
                models.SpatialUnit.level_id == run.level_id,
            )
            wanted = {
                code for d in framework.domains for code in d.links.indicators if code != INDICATOR
            }
            indicators = {
                code: (float(mean), unit or "")
                for code, unit, mean in session.execute(
                    select(
                        models.Indicator.code,
                        models.Indicator.unit,
                        func.avg(models.Observation.value),
                    )
                    .join(
                        models.Observation, models.Observation.indicator_id == models.Indicator.id
                    )
                    .where(
                        models.Indicator.code.in_(wanted),
                        models.Observation.period_id == run.period_id,
                        models.Observation.unit_id.in_(units),
                        models.Observation.status != "suppressed",
                        models.Observation.sex == models.TOTAL,
                        models.Observation.age_group == models.TOTAL,
                        models.Observation.nationality == models.TOTAL,
                    )
                    .group_by(models.Indicator.code, models.Indicator.unit)
                ).all()
                if mean is not None
            }
    evidence = []
    for domain in result.domains:
        fw_domain = framework.domain(domain.code)
        evidence.append(
            DomainEvidence(
                domain=domain.code,
                name=domain.name,
                score=domain.score,
                areas=[
                    LinkedValue(code, names[code], areas.get(code), "0-100")
                    for code in fw_domain.links.areas
                ],
                indicators=[
                    LinkedValue(
                        code,
                        names[code],
                        indicators[code][0] if code in indicators else None,
                        indicators[code][1] if code in indicators else "",
                    )
                    for code in fw_domain.links.indicators
                    if code != INDICATOR
                ],
                run_id=run.id if run is not None else None,
                spec=run.spec_code if run is not None else spec.code,
                period=period,
            )
        )
    return evidence
