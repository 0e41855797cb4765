"""A tiny city for the workshop tests, built in code, with figures whose evidence is worked
out by hand in the tests: two localities, three barrios (codes with a leading zero), census
indicators by nationality, one survey layer of refugees and migrants with its 95 % CI."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from inclusive_cities.store import init_database, models, transaction
from inclusive_cities.store.models import TOTAL

CITY = "TST"
# (indicator, area, dimension, unit, direction)
INDICATORS = [
    ("overcrowding", "VIV", "V_CAL", "%", "lower_is_better"),
    ("health_insurance", "SAL", "S_BIE", "%", "higher_is_better"),
    ("mig_health_affiliation", "SAL", "S_BIE", "%", "higher_is_better"),
]
# (indicator, period, unit, nationality, value, n, status, se, ci_low, ci_high)
OBSERVATIONS: list[tuple[Any, ...]] = [
    ("overcrowding", "2024", "0101", TOTAL, 99.0, 400, "computed", None, None, None),
    ("overcrowding", "2025", "L1", TOTAL, 20.0, 1000, "computed", None, None, None),
    ("overcrowding", "2025", "L2", TOTAL, 30.0, 3000, "computed", None, None, None),
    ("overcrowding", "2025", "0101", TOTAL, 25.0, 400, "computed", None, None, None),
    ("overcrowding", "2025", "0101", "host", 22.0, 300, "computed", None, None, None),
    ("overcrowding", "2025", "0101", "venezuelan", 34.0, 100, "computed", None, None, None),
    ("overcrowding", "2025", "0101", "other_foreign", None, 3, "suppressed", None, None, None),
    ("overcrowding", "2025", "0102", TOTAL, 18.0, 300, "computed", None, None, None),
    ("overcrowding", "2025", "0102", "host", 17.0, 296, "computed", None, None, None),
    ("overcrowding", "2025", "0102", "venezuelan", None, 4, "suppressed", None, None, None),
    ("health_insurance", "2025", "L1", TOTAL, 70.0, 1000, "computed", None, None, None),
    ("health_insurance", "2025", "L2", TOTAL, 90.0, 3000, "computed", None, None, None),
    ("health_insurance", "2025", "0101", TOTAL, 75.0, 400, "computed", None, None, None),
    ("health_insurance", "2025", "0101", "host", 80.0, 300, "computed", None, None, None),
    ("mig_health_affiliation", "2025", "0101", TOTAL, 55.0, 60, "estimated", 5.0, 45.2, 64.8),
    ("mig_health_affiliation", "2025", "0102", TOTAL, 65.0, 40, "estimated", 6.0, 53.2, 76.8),
]


def build_city(url: str) -> Engine:
    """The city in a fresh store at ``url``."""
    engine = init_database(url)
    with transaction(engine) as session:
        city = models.City(code=CITY, name="Ciudad de Prueba", country="COL", is_synthetic=True)
        session.add(city)
        session.flush()
        localidad = models.UnitLevel(city_id=city.id, code="localidad", depth=0)
        barrio = models.UnitLevel(city_id=city.id, code="barrio", depth=1)
        session.add_all([localidad, barrio])
        session.flush()
        units: dict[str, models.SpatialUnit] = {}
        for code, name in (("L1", "Norte"), ("L2", "Sur")):
            units[code] = models.SpatialUnit(
                city_id=city.id, level_id=localidad.id, code=code, name=name
            )
        session.add_all(units.values())
        session.flush()
        for code, name, parent in (
            ("0101", "Santa Mónica", "L1"),
            ("0102", "La Colina", "L1"),
            ("0201", "El Prado", "L2"),
        ):
            units[code] = models.SpatialUnit(
                city_id=city.id,
                level_id=barrio.id,
                code=code,
                name=name,
                parent_id=units[parent].id,
            )
            session.add(units[code])
        # 2025 imported before 2024: ids do not say which period is the latest
        periods = {p: models.Period(code=p, label=p) for p in ("2025", "2024")}
        session.add_all(periods.values())
        indicators = {}
        for code, area, dimension, unit, direction in INDICATORS:
            indicators[code] = models.Indicator(
                code=code,
                name_es=code,
                name_en=code,
                area=area,
                dimension=dimension,
                unit=unit,
                direction=direction,
            )
        session.add_all(indicators.values())
        session.flush()
        for code, period, unit, nationality, value, n, status, se, low, high in OBSERVATIONS:
            session.add(
                models.Observation(
                    indicator_id=indicators[code].id,
                    unit_id=units[unit].id,
                    period_id=periods[period].id,
                    nationality=nationality,
                    value=value,
                    n=n,
                    status=status,
                    standard_error=se,
                    ci_low=low,
                    ci_high=high,
                )
            )
    return engine


# the participants a facilitator writes (sex, age group, nationality group, role, count)
PARTICIPANTS = [
    ("F", "18-29", "host", "Residente", 12),
    ("M", "30-59", "refugee_migrant", "Líder", 4),
    ("Mujer", "30-59", "Refugiada o migrante", "residente", 7),
    ("M", "18-29", "acogida", "residente", 9),
    ("NS/NR", "60+", "host", "residente", 3),
]
# code, kind, hangs from, text, areas, dimensions, indicators, units, (odd column)
TREE = [
    (
        "P-01",
        "Problema central",
        "",
        "Hacinamiento y vivienda precaria en el barrio",
        "VIV",
        "V_CAL",
        "overcrowding",
        "",
        "ok",
    ),
    (
        "C-01",
        "causa",
        "P-01",
        "Arriendos altos frente a ingresos informales",
        "VIV",
        "",
        "overcrowding",
        "0101",
        "",
    ),
    (
        "C-02",
        "Causa",
        "P-01",
        "Barreras de acceso a salud para personas migrantes",
        "SAL",
        "",
        "mig_health_affiliation",
        "",
        "",
    ),
    ("", "causa", 3, "Subarriendo de piezas sin contrato", -999, "NS/NR", "", "", "revisar"),
    ("E-01", "efecto", "P-01", "Conflictos de convivencia entre vecinos", "", "", "", "", ""),
    ("E-02", "Effect", "E-01", "Discriminación hacia la población venezolana", "", "", "", "", ""),
]
# code, area, column, text, indicators, units, solutions
MATRIX = [
    (
        "D-01",
        "SAL",
        "Demanda",
        "Atención en salud sin importar el estatus migratorio",
        "mig_health_affiliation",
        "",
        "S-01",
    ),
    ("C-01", "VIV", "causa", "Arriendos altos", "overcrowding", "", "S-01; S-02"),
    ("A-01", "VIV", "Activo territorial", "Junta de acción comunal activa", "", "", ""),
    ("X-01", "SAL", "diferencial", "Menos afiliación entre personas migrantes", "", "", ""),
    ("S-01", "SAL", "Solución", "Jornadas de afiliación en el salón comunal", "", "0101", ""),
    ("", "VIV", "solución", "Mejoramiento de vivienda con mano de obra local", "", "", ""),
]


def fill_template(template: Path, out: Path, **changes: Any) -> Path:
    """Fill the shipped template the way a facilitator would (openpyxl, cell by cell)."""
    from openpyxl import load_workbook

    book = load_workbook(template)
    info, tree, matrix = book.worksheets
    fields = {
        "Código del taller": "TALLER-01",
        "Título": "Taller de vivienda y salud en Santa Mónica",
        "Fecha": datetime(2025, 3, 14),
        "Código de la unidad": 101,  # Excel dropped the leading zero of 0101
        "Lugar": "Salón comunal Santa Mónica",
        "Longitud": -74.08,
        "Latitud": 4.61,
        "Áreas temáticas": "VIV, SAL",
        "Facilitadores": "Ana Pérez; Luis Gómez",
        "Notas": "NS/NR",
    } | changes.pop("fields", {})
    header_row = 0
    for row in info.iter_rows(min_row=1, max_col=1):
        label = str(row[0].value or "")
        for prefix, value in fields.items():
            if label.startswith(prefix):
                info.cell(row=row[0].row, column=2, value=value)
        if label == "Sexo":
            header_row = row[0].row
    for i, people in enumerate(changes.pop("participants", PARTICIPANTS)):
        for j, value in enumerate(people):
            info.cell(row=header_row + 1 + i, column=j + 1, value=value)
    tree.cell(row=1, column=9, value="Observaciones")  # a column the template does not have
    for i, node in enumerate(changes.pop("tree", TREE)):
        for j, value in enumerate(node):
            tree.cell(row=2 + i, column=j + 1, value=value if value != "" else None)
    for i, line in enumerate(changes.pop("matrix", MATRIX)):
        for j, value in enumerate(line):
            matrix.cell(row=2 + i, column=j + 1, value=value if value != "" else None)
    book.save(out)
    return out
