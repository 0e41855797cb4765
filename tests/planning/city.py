"""A small city built in code for the planning tests: 8 barrios in 2 localities, 4 indicators
in two areas (percentages with 0-100 goalposts, so normalised scores equal the values),
population by nationality, and a stored marker run with Monte Carlo rank intervals."""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from sqlalchemy import Engine

from inclusive_cities.marker import parse_spec
from inclusive_cities.marker.build import build_run
from inclusive_cities.store import init_database, models, transaction

SPEC = """
code: tiny-plan
name: {es: Mini, en: Tiny}
tree:
  code: IDX
  name: {es: Índice, en: Index}
  children:
    - code: AA
      name: {es: Vivienda, en: Housing}
      children:
        - code: AA1
          name: {es: Servicios, en: Services}
          indicators:
            - {code: a1, name: {es: A1, en: A1}, direction: higher_is_better, unit: "%",
               normalisation: {lower: 0, upper: 100}}
            - {code: a2, name: {es: A2, en: A2}, direction: higher_is_better, unit: "%",
               normalisation: {lower: 0, upper: 100}}
    - code: BB
      name: {es: Salud, en: Health}
      indicators:
        - {code: b1, name: {es: B1, en: B1}, direction: higher_is_better, unit: "%",
           normalisation: {lower: 0, upper: 100}}
        - {code: b2, name: {es: B2, en: B2}, direction: higher_is_better, unit: "%",
           normalisation: {lower: 0, upper: 100}}
"""

# barrio code -> (a1, a2, b1, b2): areas are plain means, the index the mean of the areas
VALUES: dict[str, tuple[float, float, float, float]] = {
    "0101": (20.0, 30.0, 40.0, 50.0),  # AA 25, BB 45, IDX 35
    "0102": (80.0, 90.0, 70.0, 60.0),  # AA 85, BB 65, IDX 75
    "0103": (50.0, 50.0, 50.0, 50.0),  # 50
    "0104": (60.0, 40.0, 90.0, 70.0),  # AA 50, BB 80, IDX 65
    "0201": (10.0, 20.0, 70.0, 90.0),  # AA 15, BB 80, IDX 47.5
    "0202": (90.0, 90.0, 20.0, 20.0),  # AA 90, BB 20, IDX 55
    "0203": (30.0, 30.0, 30.0, 30.0),  # 30
    "0204": (70.0, 80.0, 80.0, 90.0),  # AA 75, BB 85, IDX 80
}
# barrio code -> (host, venezuelan, other foreign)
PEOPLE: dict[str, tuple[int, int, int]] = {
    "0101": (900, 300, 0),
    "0102": (1000, 50, 10),
    "0103": (800, 150, 50),
    "0104": (600, 100, 0),
    "0201": (700, 500, 20),
    "0202": (1200, 80, 0),
    "0203": (500, 400, 100),
    "0204": (1100, 40, 0),
}
LOCALITIES = {"01": "Norte", "02": "Sur"}
LON0, LAT0, SIDE = -74.10, 4.60, 0.004  # about 445 m squares


def square(column: int, row: int) -> shapely.Polygon:
    x = LON0 + column * SIDE
    y = LAT0 + row * SIDE
    return shapely.box(x, y, x + SIDE, y + SIDE)


def barrio_geometry(code: str) -> shapely.Polygon:
    """0101-0104 in the bottom row, 0201-0204 above them."""
    return square(int(code[2:]) - 1, int(code[:2]) - 1)


@dataclass
class TinyCity:
    engine: Engine
    url: str
    run_id: int


def build_city(url: str, replicates: int = 16) -> TinyCity:
    engine = init_database(url)
    with transaction(engine) as session:
        city = models.City(code="TINY", name="Tiny", country="COL", projected_crs="EPSG:32618")
        period = models.Period(code="2024")
        session.add_all([city, period])
        session.flush()
        top = models.UnitLevel(city_id=city.id, code="localidad", depth=0)
        low = models.UnitLevel(city_id=city.id, code="barrio", depth=1)
        session.add_all([top, low])
        session.flush()
        parents = {}
        for code, name in LOCALITIES.items():
            shape = shapely.union_all([barrio_geometry(f"{code}0{i}") for i in range(1, 5)])
            unit = models.SpatialUnit(
                city_id=city.id,
                level_id=top.id,
                code=code,
                name=name,
                geometry=shapely.to_wkb(shape),
            )
            session.add(unit)
            session.flush()
            parents[code] = unit.id
        units = {}
        for code in VALUES:
            unit = models.SpatialUnit(
                city_id=city.id,
                level_id=low.id,
                code=code,
                name=f"Barrio {code}",
                parent_id=parents[code[:2]],
                geometry=shapely.to_wkb(barrio_geometry(code)),
            )
            session.add(unit)
            session.flush()
            units[code] = unit.id
        indicators = {}
        for code in ("a1", "a2", "b1", "b2", "population"):
            indicator = models.Indicator(
                code=code,
                name_es=code,
                name_en=code,
                direction="neutral" if code == "population" else "higher_is_better",
            )
            session.add(indicator)
            session.flush()
            indicators[code] = indicator.id
        rows = []
        for code, values in VALUES.items():
            for name, value in zip(("a1", "a2", "b1", "b2"), values, strict=True):
                rows.append((indicators[name], units[code], models.TOTAL, value))
            host, venezuelan, other = PEOPLE[code]
            rows += [
                (indicators["population"], units[code], models.TOTAL, host + venezuelan + other),
                (indicators["population"], units[code], "host", host),
                (indicators["population"], units[code], "venezuelan", venezuelan),
                (indicators["population"], units[code], "other_foreign", other),
            ]
        session.add_all(
            models.Observation(
                indicator_id=i, unit_id=u, period_id=period.id, nationality=n, value=v
            )
            for i, u, n, v in rows
        )
    summary = build_run(
        engine,
        "TINY",
        "2024",
        parse_spec(SPEC),
        level="barrio",
        uncertainty_replicates=replicates,
        seed=3,
    )
    return TinyCity(engine=engine, url=url, run_id=summary.run_id)
