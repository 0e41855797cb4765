"""A small city shaped like real published block data, scored with its own 4-area spec.

City RDC has ONE level only (blocks B1-B4, no localities), indicators in their real units
(metres, %, per 1,000 inhabitants) and block B1 has no value for the only housing indicator,
so its whole housing area is missing. The run is built by the marker engine
(``build_run``) with a custom spec the installation does not ship, then published.

Scores by hand (goalposts 0-50 %, 0-2,000 m, 0-100 %, 0-50 %, 0-20 per 1,000; housing,
health and both opportunity indicators are lower-is-better):

====  =========  ======  =========  ======  ===================  =======================
unit  crowding   health  education  unemp.  crime                index
====  =========  ======  =========  ======  ===================  =======================
B1    —          80      90         80      90 (OPO 85)          (80+90+85)/3 = 85
B2    80         50      70         60      80 (OPO 70)          (80+50+70+70)/4 = 67.5
B3    50         25      50         40      50 (OPO 45)          (50+25+50+45)/4 = 42.5
B4    90         90      95         90      95 (OPO 92.5)        367.5/4 = 91.875
====  =========  ======  =========  ======  ===================  =======================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import shapely

from inclusive_cities.marker import MarkerSpec
from inclusive_cities.marker.build import build_run
from inclusive_cities.store import init_database, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from inclusive_cities.web.data import CACHE, MAP_CACHE

SPEC_CODE = "mi-marcador"
BLOCKS = ["B1", "B2", "B3", "B4"]
VALUES: dict[str, dict[str, float | None]] = {
    "overcrowding": {"B1": None, "B2": 10.0, "B3": 25.0, "B4": 5.0},
    "dist_health_m": {"B1": 400.0, "B2": 1000.0, "B3": 1500.0, "B4": 200.0},
    "school_attendance": {"B1": 90.0, "B2": 70.0, "B3": 50.0, "B4": 95.0},
    "unemployment": {"B1": 10.0, "B2": 20.0, "B3": 30.0, "B4": 5.0},
    "crime_rate": {"B1": 2.0, "B2": 4.0, "B3": 10.0, "B4": 1.0},
}
UNITS = {
    "overcrowding": "%",
    "dist_health_m": "m",
    "school_attendance": "%",
    "unemployment": "%",
    "crime_rate": "per 1,000 inhabitants",
}
INDEX = {"B1": 85.0, "B2": 67.5, "B3": 42.5, "B4": 91.875}
AREAS = {
    "VIV": ("Vivienda", "Housing"),
    "SAL": ("Salud", "Health"),
    "EDU": ("Educación", "Education"),
    "OPO": ("Oportunidades", "Opportunities"),
}


def _indicator(code: str, upper: float, direction: str) -> dict[str, Any]:
    return {
        "code": code,
        "name": {"es": f"{code} (es)", "en": f"{code} (en)"},
        "direction": direction,
        "unit": UNITS[code],
        "normalisation": {"method": "goalposts", "lower": 0, "upper": upper, "source": "test"},
    }


def own_spec() -> MarkerSpec:
    """Four areas, one indicator each except opportunities (two)."""
    children = {
        "VIV": [_indicator("overcrowding", 50, "lower_is_better")],
        "SAL": [_indicator("dist_health_m", 2000, "lower_is_better")],
        "EDU": [_indicator("school_attendance", 100, "higher_is_better")],
        "OPO": [
            _indicator("unemployment", 50, "lower_is_better"),
            _indicator("crime_rate", 20, "lower_is_better"),
        ],
    }
    return MarkerSpec.model_validate(
        {
            "code": SPEC_CODE,
            "name": {"es": "Marcador propio", "en": "Own marker"},
            "tree": {
                "code": "IDX",
                "name": {"es": "Índice propio", "en": "Own index"},
                "children": [
                    {"code": code, "name": {"es": es, "en": en}, "indicators": children[code]}
                    for code, (es, en) in AREAS.items()
                ],
            },
        }
    )


@dataclass
class RealCity:
    url: str
    run_id: int


def build_real_city(url: str) -> RealCity:
    """Store the city, its observations and a published run of :func:`own_spec`."""
    engine = init_database(url)
    CACHE.clear()
    MAP_CACHE.clear()
    with transaction(engine) as s:
        city = models.City(code="RDC", name="Ciudad Real", country="COL")
        s.add(city)
        s.flush()
        level = models.UnitLevel(
            city_id=city.id, code="manzana", name_es="Manzana", name_en="Block", depth=0
        )
        s.add(level)
        s.flush()
        units = {}
        for i, code in enumerate(BLOCKS):
            geom = shapely.box(-72.5 + 0.01 * i, 7.9, -72.49 + 0.01 * i, 7.91)
            minx, miny, maxx, maxy = geom.bounds
            units[code] = models.SpatialUnit(
                city_id=city.id,
                level_id=level.id,
                code=code,
                name=f"Manzana {code}",
                geometry=shapely.to_wkb(geom),
                min_x=minx,
                min_y=miny,
                max_x=maxx,
                max_y=maxy,
            )
        s.add_all(units.values())
        period = models.Period(
            code="2024", label="2024", start_date=date(2024, 1, 1), end_date=date(2024, 12, 31)
        )
        s.add(period)
        s.flush()
        for code, by_unit in VALUES.items():
            indicator = models.Indicator(
                code=code,
                name_es=f"{code} (es)",
                name_en=f"{code} (en)",
                unit=UNITS[code],
                direction="higher_is_better" if code == "school_attendance" else "lower_is_better",
                source="test",
            )
            s.add(indicator)
            s.flush()
            for unit_code, value in by_unit.items():
                if value is not None:  # B1's overcrowding is not stored at all
                    s.add(
                        models.Observation(
                            indicator_id=indicator.id,
                            unit_id=units[unit_code].id,
                            period_id=period.id,
                            value=value,
                        )
                    )
            if code == "crime_rate":
                s.add(
                    PublishedLayer(city_id=city.id, period_id=period.id, indicator_id=indicator.id)
                )
    summary = build_run(engine, "RDC", "2024", own_spec())
    with transaction(engine) as s:
        run = s.get(models.MarkerRun, summary.run_id)
        assert run is not None
        run.published = True
    return RealCity(url, summary.run_id)
