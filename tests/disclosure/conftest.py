"""A tiny published city whose suppressed cells leak by every attack, values set by hand.

City DSC, one neighbourhood N1 of three blocks B1, B2, B3 (period 2024):

========================  ====  ====  ====  ====
figure                     B1    B2    B3    N1
========================  ====  ====  ====  ====
population                 52    40    60    152
population, host           51    28    45    124
population, venezuelan      1    12    15     28
venezuelan_population       1    12    15     28
venezuelan_share (%)      1.923  30    25   18.42
employment_rate (%, n)   40/20 50/6 70/30     -
========================  ====  ====  ====  ====

Counts carry ``n`` = their value, so the web's own rule hides B1's Venezuelan count (1)
and B2's employment rate (n = 6). A published marker run scores ``employment_rate`` on
0-100 goalposts (score = rate) and an index ``UIM``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from inclusive_cities.store import init_database, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from inclusive_cities.web.data import CACHE, MAP_CACHE

POPULATION = {"B1": 52, "B2": 40, "B3": 60}
HOST = {"B1": 51, "B2": 28, "B3": 45}
VENEZUELAN = {"B1": 1, "B2": 12, "B3": 15}
EMPLOYMENT = {"B1": (40.0, 20), "B2": (50.0, 6), "B3": (70.0, 30)}


@dataclass
class SmallCity:
    url: str
    units: dict[str, int]
    run: int


def build(url: str) -> SmallCity:
    engine = init_database(url)
    CACHE.clear()
    MAP_CACHE.clear()
    with transaction(engine) as s:
        city = models.City(code="DSC", name="Ciudad DSC", country="COL", is_synthetic=True)
        s.add(city)
        s.flush()
        upper = models.UnitLevel(
            city_id=city.id, code="barrio", name_es="Barrio", name_en="Neighbourhood", depth=0
        )
        lower = models.UnitLevel(
            city_id=city.id, code="manzana", name_es="Manzana", name_en="Block", depth=1
        )
        s.add_all([upper, lower])
        s.flush()
        parent = models.SpatialUnit(city_id=city.id, level_id=upper.id, code="N1", name="N1")
        s.add(parent)
        s.flush()
        units = {"N1": parent.id}
        for code in POPULATION:
            block = models.SpatialUnit(
                city_id=city.id, level_id=lower.id, code=code, name=code, parent_id=parent.id
            )
            s.add(block)
            s.flush()
            units[code] = block.id
        period = models.Period(
            code="2024",
            label="Censo 2024",
            start_date=date(2024, 1, 1),
            end_date=date(2024, 12, 31),
        )
        s.add(period)
        indicators = {
            code: models.Indicator(code=code, name_es=code, name_en=code, unit=unit, source="test")
            for code, unit in (
                ("population", "personas"),
                ("venezuelan_population", "personas"),
                ("venezuelan_share", "%"),
                ("employment_rate", "%"),
            )
        }
        s.add_all(indicators.values())
        s.flush()

        def add(code: str, unit: str, value: float, n: int | None, nationality: str = "_T") -> None:
            s.add(
                models.Observation(
                    indicator_id=indicators[code].id,
                    unit_id=units[unit],
                    period_id=period.id,
                    nationality=nationality,
                    value=value,
                    n=n,
                    status="computed",
                )
            )

        totals = {"N1": sum(POPULATION.values())}
        for unit in [*POPULATION, "N1"]:
            pop = POPULATION.get(unit, totals["N1"])
            host = HOST.get(unit, sum(HOST.values()))
            ven = VENEZUELAN.get(unit, sum(VENEZUELAN.values()))
            add("population", unit, pop, pop)
            add("population", unit, host, host, "host")
            add("population", unit, ven, ven, "venezuelan")
            add("venezuelan_population", unit, ven, ven)
            add("venezuelan_share", unit, 100.0 * ven / pop, pop)
        for unit, (rate, n) in EMPLOYMENT.items():
            add("employment_rate", unit, rate, n)
        run = models.MarkerRun(
            city_id=city.id,
            period_id=period.id,
            level_id=lower.id,
            spec_code="uim-dsc",
            spec_hash="s" * 64,
            input_hash="i" * 64,
            software_version="test",
            published=True,
        )
        s.add(run)
        s.flush()
        for unit, (rate, _n) in EMPLOYMENT.items():
            s.add(
                models.MarkerScore(
                    run_id=run.id, unit_id=units[unit], node_code="employment_rate", score=rate
                )
            )
            s.add(
                models.MarkerScore(run_id=run.id, unit_id=units[unit], node_code="UIM", score=rate)
            )
        for indicator in indicators.values():
            s.add(PublishedLayer(city_id=city.id, period_id=period.id, indicator_id=indicator.id))
        run_id = run.id
    return SmallCity(url, units, run_id)


@pytest.fixture
def small(tmp_path: Path) -> SmallCity:
    return build(f"sqlite:///{tmp_path / 'dsc.db'}")
