"""Evidence beside each claim of a workshop (issue #17 §1).

A cause or a demand that facilitators linked to an indicator gets, from the store:

* the value of the workshop's neighbourhood (the claim's own unit when it names one) in the
  latest period that has it, against the city's value: the units of the coarsest level that
  has the indicator pooled with their denominators ``n`` (so a pooled share is the share over
  all persons, as the rights report computes it);
* the integration differential, refugees and migrants minus hosts, in the same unit:
  from the census by nationality (no sampling error: ``gap_source = "census"``), or, where a
  survey layer of refugees and migrants exists (observations ``estimated`` with their 95 % CI,
  written by :func:`inclusive_cities.surveys.layers.write_layers`), the survey estimate minus
  the host value of the census indicator that measures the same thing
  (:data:`SURVEY_HOST_COMPARATOR`). The census host value is a full count, so the gap's CI is
  the survey estimate's CI shifted by it (``gap_source = "survey"``).

Only figures the web publishes are used: suppressed observations and, with ``protect``, the
cells disclosure control withholds (:func:`inclusive_cities.disclosure.hidden_observation_ids`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_cities.planning.workshops import WorkshopData, load_workshop
from inclusive_cities.store import models
from inclusive_cities.store.models import TOTAL

HOST = "host"
SURVEY_HOST_COMPARATOR = {
    "mig_health_affiliation": "health_insurance",
    "mig_employment_rate": "employment_rate",
    "mig_informal_employment": "informal_employment",
}
"""Survey layer of refugees and migrants -> census indicator whose host value it is compared
with (same definition: share of persons with health insurance, employed, informally employed)."""
TREE_CLAIMS = ("central", "cause")
MATRIX_CLAIMS = ("demand", "cause", "differential")


@dataclass(frozen=True)
class Evidence:
    """One claim × one linked indicator, with what the store says about it."""

    source: str  # "tree" or "matrix"
    claim_code: str
    claim_kind: str
    claim_text: str
    indicator: str
    indicator_name: str
    unit_of_measure: str
    direction: str
    unit_code: str
    unit_name: str
    period: str
    unit_value: float | None
    city_value: float | None
    host_value: float | None
    migrant_value: float | None
    migrant_ci_low: float | None
    migrant_ci_high: float | None
    gap: float | None
    gap_ci_low: float | None
    gap_ci_high: float | None
    gap_source: str  # "census", "survey" or ""
    withheld: bool  # a figure exists but disclosure control withholds it
    gap_period: str = ""  # the period of the gap (the latest with both groups)
    gap_withheld: bool = False  # figures by nationality exist but are withheld

    @property
    def migrants_worse(self) -> bool | None:
        """Whether the gap is a disadvantage of refugees and migrants (None: no direction)."""
        sign = {"higher_is_better": 1, "lower_is_better": -1}.get(self.direction)
        if sign is None or self.gap is None:
            return None
        return self.gap * sign < 0


@dataclass
class _Obs:
    id: int
    unit_id: int
    period: str
    period_order: int
    nationality: str
    value: float | None
    n: int | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    status: str


def _observations(
    session: Session,
    city_id: int,
    indicator_id: int,
    hidden: frozenset[int],
    periods: set[int] | None,
    order: dict[int, int],
) -> tuple[list[_Obs], set[tuple[int, str]]]:
    rows = session.execute(
        select(
            models.Observation.id,
            models.Observation.unit_id,
            models.Period.code,
            models.Period.id,
            models.Observation.nationality,
            models.Observation.value,
            models.Observation.n,
            models.Observation.standard_error,
            models.Observation.ci_low,
            models.Observation.ci_high,
            models.Observation.status,
        )
        .join(models.Period, models.Period.id == models.Observation.period_id)
        .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
        .where(
            models.Observation.indicator_id == indicator_id,
            models.SpatialUnit.city_id == city_id,
            models.Observation.sex == TOTAL,
            models.Observation.age_group == TOTAL,
        )
    ).all()
    found = [
        _Obs(row[0], row[1], row[2], order.get(row[3], row[3]), *row[4:])
        for row in rows
        if periods is None or row[3] in periods
    ]
    public = [
        o for o in found if o.status != "suppressed" and o.value is not None and o.id not in hidden
    ]
    shown = {o.id for o in public}
    return public, {(o.unit_id, o.nationality) for o in found if o.id not in shown}


def _pooled(cells: list[_Obs]) -> float | None:
    """Mean of the values weighted by their denominators (plain mean when ``n`` is missing)."""
    values = [c for c in cells if c.value is not None]
    if not values:
        return None
    if all(c.n for c in values):
        total = sum(c.n or 0 for c in values)
        return sum((c.value or 0.0) * (c.n or 0) for c in values) / total
    return sum(c.value or 0.0 for c in values) / len(values)


def period_order(session: Session) -> dict[int, int]:
    """Rank of every period in time (start date, else the year its code starts with): ids
    follow the order periods were imported in, not the order they happened in."""
    rows = session.execute(
        select(models.Period.id, models.Period.code, models.Period.start_date)
    ).all()

    def when(row: Any) -> tuple[date, str]:
        year = row.code[:4]
        start = row.start_date or (date(int(year), 1, 1) if year.isdigit() else date.min)
        return start, row.code

    return {row.id: rank for rank, row in enumerate(sorted(rows, key=when))}


def published_periods(session: Session, city_id: int) -> set[int] | None:
    """Periods the web publishes for a city (published marker runs and indicator layers);
    ``None`` (every period) while nothing is published yet, the analyst's view."""
    from inclusive_cities.store.web_models import PublishedLayer

    runs = session.scalars(
        select(models.MarkerRun.period_id).where(
            models.MarkerRun.city_id == city_id, models.MarkerRun.published.is_(True)
        )
    )
    layers = session.scalars(
        select(PublishedLayer.period_id).where(PublishedLayer.city_id == city_id)
    )
    found = set(runs) | set(layers)
    return found or None


class _Store:
    """What the evidence of one workshop reads, loaded once."""

    def __init__(self, session: Session, city_id: int, protect: bool) -> None:
        from inclusive_cities.disclosure import hidden_observation_ids

        self.session = session
        self.city_id = city_id
        self.hidden = hidden_observation_ids(session, city_id) if protect else frozenset()
        self.periods = published_periods(session, city_id) if protect else None
        self.order = period_order(session)
        units = session.execute(
            select(
                models.SpatialUnit.id,
                models.SpatialUnit.code,
                models.SpatialUnit.name,
                models.UnitLevel.depth,
            )
            .join(models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id)
            .where(models.SpatialUnit.city_id == city_id)
        ).all()
        self.unit_id = {code: uid for uid, code, _n, _d in units}
        self.unit_name = {code: name for _u, code, name, _d in units}
        self.depth = {uid: depth for uid, _c, _n, depth in units}
        self.indicators = {
            i.code: i
            for i in session.scalars(select(models.Indicator))  # the catalogue is small
        }
        self._cache: dict[str, tuple[list[_Obs], set[tuple[int, str]]]] = {}

    def cells(self, code: str) -> tuple[list[_Obs], set[tuple[int, str]]]:
        if code not in self._cache:
            indicator = self.indicators.get(code)
            self._cache[code] = (
                _observations(
                    self.session, self.city_id, indicator.id, self.hidden, self.periods, self.order
                )
                if indicator is not None
                else ([], set())
            )
        return self._cache[code]


def _latest(cells: list[_Obs]) -> list[_Obs]:
    if not cells:
        return []
    last = max(c.period_order for c in cells)
    return [c for c in cells if c.period_order == last]


def evidence_for(store: _Store, indicator_code: str, unit_code: str) -> dict[str, object]:
    """The figures of one indicator for one unit (see the module docstring)."""
    cells, withheld = store.cells(indicator_code)
    unit_id = store.unit_id.get(unit_code)
    mine = [c for c in cells if c.unit_id == unit_id] if unit_id is not None else []
    period_cells = _latest([c for c in mine if c.nationality == TOTAL] or mine or cells)
    period = period_cells[0].period if period_cells else ""
    total = next((c for c in period_cells if c.unit_id == unit_id and c.nationality == TOTAL), None)
    in_period = [c for c in cells if c.period == period and c.nationality == TOTAL]
    city_value = None
    if in_period:
        coarsest = min(store.depth.get(c.unit_id, 0) for c in in_period)
        city_value = _pooled([c for c in in_period if store.depth.get(c.unit_id) == coarsest])
    out: dict[str, object] = {
        "period": period,
        "unit_value": total.value if total else None,
        "city_value": city_value,
        "host_value": None,
        "migrant_value": None,
        "migrant_ci_low": None,
        "migrant_ci_high": None,
        "gap": None,
        "gap_ci_low": None,
        "gap_ci_high": None,
        "gap_source": "",
        "withheld": total is None and (unit_id, TOTAL) in withheld,
        "gap_withheld": any(u == unit_id and n != TOTAL for u, n in withheld),
    }
    if unit_id is None:
        return out
    if total is not None and total.status == "estimated" and total.ci_low is not None:
        out |= _survey_gap(store, indicator_code, unit_id, total)
        out["gap_withheld"] = out["gap"] is None and out["gap_withheld"]
        return out
    groups = [c for c in mine if c.nationality != TOTAL]
    both = {c.period_order for c in groups if c.nationality == HOST} & {
        c.period_order for c in groups if c.nationality != HOST
    }
    same = [c.period_order for c in period_cells if c.unit_id == unit_id]
    chosen = same[0] if same and same[0] in both else max(both, default=None)
    here = [c for c in groups if c.period_order == chosen]
    host = [c for c in here if c.nationality == HOST]
    migrants = [c for c in here if c.nationality != HOST]
    if host and migrants:
        host_value, migrant_value = _pooled(host), _pooled(migrants)
        if host_value is not None and migrant_value is not None:
            out |= {
                "host_value": host_value,
                "migrant_value": migrant_value,
                "gap": migrant_value - host_value,
                "gap_source": "census",
                "gap_period": here[0].period,
            }
            ses = [c.se for c in host + migrants]
            if len(host) == 1 and len(migrants) == 1 and all(s is not None for s in ses):
                half = 1.959964 * math.sqrt(sum((s or 0.0) ** 2 for s in ses))
                out |= {"gap_ci_low": out["gap"] - half, "gap_ci_high": out["gap"] + half}  # type: ignore[operator]
    if out["gap"] is not None:
        out["gap_withheld"] = False
    return out


def _survey_gap(store: _Store, code: str, unit_id: int, survey: _Obs) -> dict[str, object]:
    out: dict[str, object] = {
        "migrant_value": survey.value,
        "migrant_ci_low": survey.ci_low,
        "migrant_ci_high": survey.ci_high,
    }
    comparator = SURVEY_HOST_COMPARATOR.get(code)
    if comparator is None:
        return out
    cells, _withheld = store.cells(comparator)
    host = _latest([c for c in cells if c.unit_id == unit_id and c.nationality == HOST])
    if not host or host[0].value is None or survey.value is None:
        return out
    value = host[0].value
    return out | {
        "host_value": value,
        "gap": survey.value - value,
        "gap_ci_low": (survey.ci_low or 0.0) - value,
        "gap_ci_high": (survey.ci_high or 0.0) - value,
        "gap_source": "survey",
        "gap_period": survey.period,
    }


def claim_evidence(
    session: Session,
    workshop_id: int,
    *,
    lang: str = "es",
    protect: bool = True,
    workshop: WorkshopData | None = None,
) -> list[Evidence]:
    """Evidence for every cause/demand (tree and matrix) linked to an indicator."""
    workshop = workshop or load_workshop(session, workshop_id)
    city = session.scalar(select(models.City).where(models.City.code == workshop.city_code))
    if city is None:
        return []
    store = _Store(session, city.id, protect)
    claims = [("tree", n.code, n.kind, n.text, n.indicators, n.units) for n in workshop.nodes]
    claims = [c for c in claims if c[2] in TREE_CLAIMS]
    claims += [
        ("matrix", r.code, r.kind, r.text, r.indicators, r.units)
        for r in workshop.matrix
        if r.kind in MATRIX_CLAIMS
    ]
    out = []
    for source, code, kind, text, indicators, units in claims:
        for indicator_code in indicators:
            for unit_code in units or [workshop.unit_code]:
                indicator = store.indicators.get(indicator_code)
                figures = evidence_for(store, indicator_code, unit_code)
                out.append(
                    Evidence(
                        source=source,
                        claim_code=code,
                        claim_kind=kind,
                        claim_text=text,
                        indicator=indicator_code,
                        indicator_name=(
                            (indicator.name_es if lang == "es" else indicator.name_en)
                            if indicator
                            else indicator_code
                        ),
                        unit_of_measure=indicator.unit if indicator else "",
                        direction=indicator.direction if indicator else "unknown",
                        unit_code=unit_code,
                        unit_name=store.unit_name.get(unit_code, ""),
                        **figures,  # type: ignore[arg-type]
                    )
                )
    return out
