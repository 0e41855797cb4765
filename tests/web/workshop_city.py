"""The planning test city (``tests/web/planning_city.py``: barrios B1-B6, indicators a1 and b1,
marker periods 2020 and 2024, project P7 started in 2022) with what a facilitator and a planner
add to it: a workshop template filled in with openpyxl as a facilitator would, census values of
a1 by nationality in B1 (the integration differential), and a published territorial plan.

Expected figures are worked out here by hand, from the same constants the city is built from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from inclusive_cities.store import connect, models, transaction
from tests.web.planning_city import BARRIOS, build_planning_city

WORKSHOP = "TALLER-01"
PLAN = "PIT-2024"
# a1 in B1 (2024) by nationality, with standard errors: the census differential and its CI
HOST_A1, HOST_SE = 25.0, 1.5
MIGRANT_A1, MIGRANT_SE = 12.0, 2.0
GAP = MIGRANT_A1 - HOST_A1  # -13 points
GAP_HALF = 1.959964 * math.hypot(HOST_SE, MIGRANT_SE)  # 1.96 × 2.5 = 4.9
CITY_A1 = sum(b[1] for b in BARRIOS.values()) / len(BARRIOS)  # plain mean: no n given
B1_A1 = BARRIOS["B1"][1]

TREE = [  # code, kind, hangs from, text, indicators, units
    ("PC", "central", "", "Viviendas sin agua ni salud en La Esperanza", "", ""),
    ("C1", "cause", "PC", "Falta de conexiones de agua potable", "a1", "B1"),
    ("C2", "cause", "C1", "Redes viejas que nadie repara", "", ""),
    ("C3", "cause", "PC", "Pocas personas afiliadas a salud", "b1", "B1"),
    ("E1", "effect", "PC", "Enfermedades de la piel en niñas y niños", "", ""),
    ("E2", "effect", "E1", "Ausencias en la escuela", "", ""),
]
MATRIX = [  # code, area, kind, text, indicators, units, solutions proposed
    ("D-01", "A", "demanda", "Agua potable en todas las casas", "a1", "B1", "S-01"),
    ("C-01", "A", "causa", "Conexiones informales y redes viejas", "", "", "S-01"),
    ("A-01", "A", "activo", "Junta de acción comunal activa", "", "", ""),
    ("X-01", "A", "diferencial", "Las familias venezolanas arriendan sin servicios", "", "", ""),
    ("S-01", "A", "solución", "Mejoramiento de vivienda y conexiones de agua", "", "", ""),
    ("D-02", "B", "demanda", "Afiliación al sistema de salud", "b1", "B1", "S-02"),
    ("S-02", "B", "solución", "Jornadas de afiliación en el salón comunal", "", "", ""),
]
PARTICIPANTS = [  # sex, age group, nationality group, role, count
    ("F", "18-29", "host", "resident", 14),
    ("M", "30-44", "host", "resident", 11),
    ("F", "30-44", "refugee_migrant", "resident", 12),
    ("M", "18-29", "refugee_migrant", "leader", 6),
]
TOTAL_PEOPLE = sum(p[4] for p in PARTICIPANTS)  # 43
"""By role 37 residents and 6 leaders: 6 is under 10, and with the total published 37 would
give it back, so both role counts are withheld; sex (26/17), nationality (25/18) and age
(20/23) are all 10 or more and published."""


@dataclass
class WorkshopCity:
    url: str
    folder: Path
    template: Path


def fill_template(template: Path, out: Path) -> Path:
    """Fill the shipped template as a facilitator does: field values in column B, one row per
    participant group, tree and matrix rows under their headers (sentinel -999 in an empty
    coordinate, as field forms write it)."""
    book = load_workbook(template)
    info, tree, matrix = book.worksheets
    values = {
        1: WORKSHOP,
        2: "Taller de vivienda y salud en La Esperanza",
        3: "2025-03-14",
        4: "B1",
        5: "Salón comunal La Esperanza",
        6: -999,
        7: -999,
        8: "A, B",
        9: "Ana Pérez; Luis Gómez",
        10: "",
    }
    for offset, value in values.items():
        info.cell(row=1 + offset, column=2, value=value)
    header = next(
        r for r in range(1, info.max_row + 1) if info.cell(row=r, column=5).value is not None
    )
    for i, row in enumerate(PARTICIPANTS, start=1):
        for j, value in enumerate(row, start=1):
            info.cell(row=header + i, column=j, value=value)
    for i, (code, kind, parent, text, indicators, units) in enumerate(TREE, start=2):
        for j, value in enumerate((code, kind, parent, text, "", "", indicators, units), start=1):
            tree.cell(row=i, column=j, value=value or None)
    for i, row in enumerate(MATRIX, start=2):
        for j, value in enumerate(row, start=1):
            matrix.cell(row=i, column=j, value=value or None)
    book.save(out)
    return out


def build_workshop_city(folder: Path) -> WorkshopCity:
    """The planning city, the census differential of a1 in B1, and a published plan holding
    the started project P7 (which answers solution S-01); no workshop yet."""
    from inclusive_cities.planning.territorial_plan import add_project, create_plan
    from inclusive_cities.planning.workshop_templates import write_template

    city = build_planning_city(folder)
    engine = connect(city.url)
    with transaction(engine) as s:
        unit = s.scalar(select(models.SpatialUnit).where(models.SpatialUnit.code == "B1"))
        a1 = s.scalar(select(models.Indicator).where(models.Indicator.code == "a1"))
        period = s.scalar(select(models.Period).where(models.Period.code == "2024"))
        assert unit is not None and a1 is not None and period is not None
        for nationality, value, se, n in (
            ("host", HOST_A1, HOST_SE, 800),
            ("venezuelan", MIGRANT_A1, MIGRANT_SE, 200),
        ):
            s.add(
                models.Observation(
                    indicator_id=a1.id,
                    unit_id=unit.id,
                    period_id=period.id,
                    nationality=nationality,
                    value=value,
                    standard_error=se,
                    n=n,
                    status="computed",
                )
            )
    create_plan(
        engine,
        "PLN",
        "2024-2027",
        code=PLAN,
        name="Plan de intervención territorial Villa Plan",
        published=True,
    )
    add_project(
        engine,
        "PLN",
        PLAN,
        "P7",
        status="under_way",
        end_date="2026-12-31",
        targets=["a1"],
        solution_codes=[f"{WORKSHOP}:S-01"],
    )
    template = write_template(folder / "plantilla-taller.xlsx", "es")
    engine.dispose()
    return WorkshopCity(city.url, folder, template)
