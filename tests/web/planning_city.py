"""A tiny city with a real marker run and candidate projects, for the planner's pages and
report (built through the project's own interfaces: ``build_run`` and the projects importer).

City PLN: localities L1 (B1-B3) and L2 (B4-B6), six square barrios 0.01° wide near 4.6°N,
74.1°W. The marker has two areas, A (indicator a1) and B (b1), both 0-100 goalposts, so a
barrio's index is the mean of its two values. Population by nationality (host and
Venezuelan). Six candidate projects, each serving whole barrios, in a real XLSX file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import shapely
from sqlalchemy import update

from inclusive_cities.marker import load_spec
from inclusive_cities.marker.build import build_run
from inclusive_cities.store import init_database, models, transaction
from inclusive_cities.web import auth

SPEC = """
code: pln-test
name: {es: Marcador de prueba, en: Test marker}
tree:
  code: IDX
  name: {es: Índice, en: Index}
  children:
    - code: A
      name: {es: Vivienda, en: Housing}
      indicators:
        - {code: a1, name: {es: Agua, en: Water}, direction: higher_is_better,
           normalisation: {lower: 0, upper: 100, source: test}}
    - code: B
      name: {es: Salud, en: Health}
      indicators:
        - {code: b1, name: {es: Afiliación, en: Insurance}, direction: higher_is_better,
           normalisation: {lower: 0, upper: 100, source: test}}
"""

# barrio -> (locality, a1, b1, host, Venezuelan); the index is (a1 + b1) / 2
BARRIOS = {
    "B1": ("L1", 20.0, 30.0, 800.0, 200.0),
    "B2": ("L1", 40.0, 50.0, 600.0, 100.0),
    "B3": ("L1", 60.0, 70.0, 900.0, 100.0),
    "B4": ("L2", 80.0, 60.0, 400.0, 100.0),
    "B5": ("L2", 30.0, 10.0, 300.0, 300.0),
    "B6": ("L2", 90.0, 90.0, 450.0, 50.0),
}
NAMES = {
    "B1": "La Esperanza",
    "B2": "San José",
    "B3": "El Progreso",
    "B4": "Villa Nueva",
    "B5": "Los Pinos",
    "B6": "Brisas del Río",
}
# code, name, type, cost, locality, effect, units, depends_on, excludes
PROJECTS = [
    ("P1", "Mejoramiento de vivienda La Esperanza", "housing", 400_000, "L1", 0.5, "B1", "", ""),
    ("P2", "Parque Los Pinos", "public_space", 300_000, "L2", 0.4, "B5", "", ""),
    ("P3", "Puesto de salud San José", "services", 200_000, "L1", 0.3, "B2", "", ""),
    ("P4", "Centro de integración", "centre", 600_000, "L1", 0.3, "B1;B5", "", ""),
    ("P5", "Feria de emprendimiento", "economic", 100_000, "L2", 0.2, "B6", "", ""),
    ("P6", "Escuela de convivencia", "social_cohesion", 250_000, "L1", 0.3, "B3", "P3", ""),
]
STARTED = [
    ("P7", "Centro de integración, primera fase", "centre", 350_000, "L1", 0.3, "B1;B5", "", ""),
]
"""Projects already under way: measured for impact, never candidates for the budget."""
START = {"P7": "2022-06-01"}
"""P7 (barrios B1 and B5) started between the two marker periods, 2020 and 2024."""
CHANGE = {"B1": 10.0, "B2": 2.0, "B3": 4.0, "B4": 2.0, "B5": 8.0, "B6": 4.0}
"""How much each barrio's two indicators (so its index) rose from 2020 to 2024: +9 on average
where P7 worked, +3 elsewhere, so the difference in differences is 6 points."""
EMAIL = "planner@example.org"
PASSWORD = "una-clave-larga-2026"


def index_score(code: str) -> float:
    """The barrio's marker index by hand: the mean of its two 0-100 values."""
    _loc, a1, b1, _host, _ven = BARRIOS[code]
    return (a1 + b1) / 2


@dataclass
class PlanningCity:
    url: str
    run_id: int
    projects_file: Path


def projects_workbook(folder: Path) -> Path:
    """The projects as a planner would type them in Excel (Spanish headers): the candidates and
    one already under way."""
    frame = pd.DataFrame(
        PROJECTS + STARTED,
        columns=[
            "code",
            "name",
            "type",
            "cost",
            "locality",
            "effect",
            "units",
            "depends_on",
            "excludes",
        ],
    )
    frame["funder"] = "Alcaldía"
    frame["start_date"] = [START.get(code, "") for code in frame["code"]]
    path = folder / "proyectos.xlsx"
    frame.to_excel(path, index=False)
    return path


_BUILT: list[tuple[Path, int]] = []
"""A snapshot of the first city this process built (SQLite file, run id): later modules copy
it instead of building the marker again."""


def _copy_database(source: Path, target: Path) -> None:
    """SQLite's own backup: a consistent copy whatever the journal mode."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def build_planning_city(folder: Path) -> PlanningCity:
    """The city in ``folder``; built once per test process, then copied (the web and the
    report tests share it without paying for two marker builds)."""
    if _BUILT:
        snapshot, run_id = _BUILT[0]
        _copy_database(snapshot, folder / "planning.db")
        return PlanningCity(
            f"sqlite:///{folder / 'planning.db'}", run_id, projects_workbook(folder)
        )
    city = _build(folder)
    _copy_database(folder / "planning.db", folder / "snapshot.db")
    _BUILT.append((folder / "snapshot.db", city.run_id))
    return city


def _build(folder: Path) -> PlanningCity:
    from inclusive_cities.planning import import_projects

    url = f"sqlite:///{folder / 'planning.db'}"
    engine = init_database(url)
    with transaction(engine) as s:
        city = models.City(code="PLN", name="Villa Plan", country="COL", is_synthetic=True)
        s.add(city)
        s.flush()
        loc_level = models.UnitLevel(
            city_id=city.id, code="localidad", name_es="Localidad", name_en="Locality", depth=0
        )
        barrio_level = models.UnitLevel(
            city_id=city.id, code="barrio", name_es="Barrio", name_en="Neighbourhood", depth=1
        )
        period = models.Period(code="2024", label="2024", start_date=date(2024, 1, 1))
        before = models.Period(code="2020", label="2020", start_date=date(2020, 1, 1))
        s.add_all([loc_level, barrio_level, period, before])
        s.flush()
        localities = {}
        for i, code in enumerate(("L1", "L2")):
            geom = shapely.box(-74.1, 4.6 + 0.01 * i, -74.07, 4.61 + 0.01 * i)
            unit = models.SpatialUnit(
                city_id=city.id,
                level_id=loc_level.id,
                code=code,
                name=f"Localidad {i + 1}",
                geometry=shapely.to_wkb(geom),
            )
            s.add(unit)
            s.flush()
            localities[code] = unit.id
        indicators = {
            code: models.Indicator(code=code, name_es=code, name_en=code, unit=unit)
            for code, unit in (("a1", "%"), ("b1", "%"), ("population", "personas"))
        }
        s.add_all(indicators.values())
        s.flush()
        for i, (code, (loc, a1, b1, host, ven)) in enumerate(BARRIOS.items()):
            column, row = i % 3, i // 3
            geom = shapely.box(
                -74.1 + 0.01 * column, 4.6 + 0.01 * row, -74.09 + 0.01 * column, 4.61 + 0.01 * row
            )
            minx, miny, maxx, maxy = geom.bounds
            unit = models.SpatialUnit(
                city_id=city.id,
                level_id=barrio_level.id,
                code=code,
                name=NAMES[code],
                parent_id=localities[loc],
                geometry=shapely.to_wkb(geom),
                min_x=minx,
                min_y=miny,
                max_x=maxx,
                max_y=maxy,
            )
            s.add(unit)
            s.flush()
            values = [
                ("a1", models.TOTAL, a1),
                ("b1", models.TOTAL, b1),
                ("population", models.TOTAL, host + ven),
                ("population", "host", host),
                ("population", "venezuelan", ven),
            ]
            earlier = [
                ("a1", models.TOTAL, a1 - CHANGE[code]),
                ("b1", models.TOTAL, b1 - CHANGE[code]),
                ("population", models.TOTAL, host + ven),
            ]
            for when, rows in ((period, values), (before, earlier)):
                for indicator, nationality, value in rows:
                    s.add(
                        models.Observation(
                            indicator_id=indicators[indicator].id,
                            unit_id=unit.id,
                            period_id=when.id,
                            nationality=nationality,
                            value=value,
                            status="computed",
                        )
                    )
        auth.create_user(s, EMAIL, "analyst", PASSWORD, name="Planner")
    spec_file = folder / "pln-test.yaml"
    spec_file.write_text(SPEC, encoding="utf-8")
    summary = build_run(
        engine,
        "PLN",
        "2024",
        load_spec(spec_file),
        level="barrio",
        uncertainty_replicates=16,
        seed=5,
    )
    run_id = int(summary.run_id)
    build_run(engine, "PLN", "2020", load_spec(spec_file), level="barrio")
    with transaction(engine) as s:
        s.execute(update(models.MarkerRun).values(published=True))
    workbook = projects_workbook(folder)
    import_projects(engine, "PLN", workbook, level="barrio")
    engine.dispose()
    return PlanningCity(url, run_id, workbook)
