"""Two co-creation workshops of the demo city (issue #17 §3), in plausible Spanish.

They are written as the facilitators would hand them in (the shipped XLSX template, filled)
and imported through the real importer, so the demo exercises the same path as a city. Their
places are chosen from the store: the barrio with the largest share of Venezuelan residents
(housing and health) and the one with the least public space per inhabitant (public space and
livelihoods), each linked to real demo indicators whose evidence the pages show.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.planning.workshop_import import ImportSummary, import_workshop
from inclusive_cities.planning.workshop_templates import write_filled_template
from inclusive_cities.planning.workshops import MatrixRow, Participants, TreeNode, WorkshopData
from inclusive_cities.store import models, transaction

Node = tuple[
    str, str, str | None, str, list[str], list[str]
]  # code, kind, parent, text, ind, areas
Row = tuple[str, str, str, str, list[str], list[str]]  # code, area, kind, text, ind, solutions


def _barrio_by(session: Session, city_id: int, indicator: str, highest: bool) -> tuple[str, str]:
    """The barrio (second level) with the highest/lowest total value of an indicator."""
    depth = 1
    order = models.Observation.value.desc() if highest else models.Observation.value.asc()
    row = session.execute(
        select(models.SpatialUnit.code, models.SpatialUnit.name)
        .join(models.Observation, models.Observation.unit_id == models.SpatialUnit.id)
        .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
        .join(models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id)
        .where(
            models.SpatialUnit.city_id == city_id,
            models.UnitLevel.depth == depth,
            models.Indicator.code == indicator,
            models.Observation.nationality == models.TOTAL,
            models.Observation.sex == models.TOTAL,
            models.Observation.age_group == models.TOTAL,
            models.Observation.value.is_not(None),
        )
        .order_by(order, models.SpatialUnit.code)
        .limit(1)
    ).first()
    if row is None:
        row = session.execute(
            select(models.SpatialUnit.code, models.SpatialUnit.name)
            .join(models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id)
            .where(models.SpatialUnit.city_id == city_id, models.UnitLevel.depth == depth)
            .order_by(models.SpatialUnit.code)
            .limit(1)
        ).first()
    return (row[0], row[1] or row[0]) if row else ("", "")


def _people(rows: list[tuple[str, str, str, str, int]]) -> list[Participants]:
    return [Participants(*row) for row in rows]


def _tree(nodes: list[Node], unit: str) -> list[TreeNode]:
    return [
        TreeNode(
            code=code,
            kind=kind,
            parent=parent,
            text=text,
            position=i,
            indicators=indicators,
            areas=areas,
            units=[unit] if indicators else [],
        )
        for i, (code, kind, parent, text, indicators, areas) in enumerate(nodes)
    ]


def _matrix(rows: list[Row], unit: str) -> list[MatrixRow]:
    return [
        MatrixRow(
            code=code,
            area=area,
            kind=kind,
            text=text,
            position=i,
            indicators=indicators,
            units=[unit] if kind in ("demand", "solution", "asset") else [],
            solutions=solutions,
        )
        for i, (code, area, kind, text, indicators, solutions) in enumerate(rows)
    ]


def housing_workshop(unit: str, name: str) -> WorkshopData:
    """Housing and health in the barrio where most Venezuelan families live."""
    nodes: list[Node] = [
        ("P-01", "central", None, f"Viviendas precarias y hacinadas en {name}",
         ["overcrowding"], ["VIV"]),
        ("C-01", "cause", "P-01", "Arriendos de piezas sin contrato y a precios altos",
         ["rent_burden"], ["VIV"]),
        ("C-02", "cause", "C-01", "Ingresos bajos e inestables por el trabajo informal",
         ["informal_employment"], ["OPO"]),
        ("C-03", "cause", "P-01", "El acueducto y el alcantarillado no llegan a todas las casas",
         ["piped_water", "sewerage"], ["VIV"]),
        ("C-04", "cause", "P-01", "Barreras para afiliarse al sistema de salud sin documentos",
         ["mig_health_affiliation"], ["SAL"]),
        ("E-01", "effect", "P-01", "Enfermedades respiratorias y diarreicas en niñas y niños",
         [], ["SAL"]),
        ("E-02", "effect", "P-01", "Tensiones entre vecinos por el uso del agua y los servicios",
         [], []),
        ("E-03", "effect", "E-02", "Estigmatización de las familias venezolanas del sector",
         ["mig_discrimination"], ["GOV"]),
    ]  # fmt: skip
    rows: list[Row] = [
        ("D-01", "VIV", "demand", "Mejorar las viviendas sin que suban los arriendos",
         ["overcrowding"], ["S-01", "S-02"]),
        ("C-05", "VIV", "cause", "Subarriendo informal de piezas", ["rent_burden"], ["S-02"]),
        ("A-01", "VIV", "asset", "Junta de acción comunal activa y maestros de obra del barrio",
         [], []),
        ("X-01", "VIV", "differential", "Las familias migrantes viven más hacinadas que las de "
         "acogida", ["overcrowding"], []),
        ("S-01", "VIV", "solution", "Mejoramiento de vivienda con mano de obra local", [], []),
        ("S-02", "VIV", "solution", "Asesoría jurídica sobre contratos de arriendo", [], []),
        ("D-02", "SAL", "demand", "Atención en salud sin importar el estatus migratorio",
         ["mig_health_affiliation", "health_insurance"], ["S-03"]),
        ("A-02", "SAL", "asset", "Puesto de salud a diez minutos a pie", [], []),
        ("S-03", "SAL", "solution", "Jornadas de afiliación y regularización en el salón comunal",
         [], []),
    ]  # fmt: skip
    return WorkshopData(
        code="TALLER-2024-01",
        title=f"Taller de vivienda y salud en {name}",
        held_on=date(2024, 9, 14),
        unit_code=unit,
        place_name=f"Salón comunal de {name}",
        areas=["VIV", "SAL"],
        facilitators="Equipo del observatorio; Junta de acción comunal",
        notes="Taller de tres horas con cuidado de niñas y niños; dos mesas de trabajo.",
        participants=_people(
            [
                ("F", "18-29", "refugee_migrant", "residente", 9),
                ("F", "30-59", "refugee_migrant", "residente", 11),
                ("M", "30-59", "refugee_migrant", "residente", 6),
                ("F", "30-59", "host", "residente", 10),
                ("M", "30-59", "host", "residente", 7),
                ("F", "60+", "host", "líder comunitario", 3),
                ("M", "30-59", "host", "funcionario", 2),
            ]
        ),
        nodes=_tree(nodes, unit),
        matrix=_matrix(rows, unit),
    )


def public_space_workshop(unit: str, name: str) -> WorkshopData:
    """Public space and livelihoods in the barrio with the least public space per inhabitant."""
    nodes: list[Node] = [
        ("P-01", "central", None, f"El parque de {name} está abandonado y es inseguro",
         ["public_space_m2_per_inhab"], ["EPUB"]),
        ("C-01", "cause", "P-01", "Poca iluminación y ningún mantenimiento",
         ["pop_within_400m_public_space"], ["EPUB"]),
        ("C-02", "cause", "P-01", "Venta y consumo de sustancias en las noches",
         ["crime_rate_per_100k"], ["EPUB"]),
        ("C-03", "cause", "P-01", "No hay espacios de encuentro entre vecinos de distintos "
         "orígenes", [], ["GOV"]),
        ("C-04", "cause", "C-03", "Las mujeres migrantes trabajan todo el día en ventas "
         "ambulantes", ["mig_employment_rate", "informal_employment"], ["OPO"]),
        ("E-01", "effect", "P-01", "Niñas, niños y mujeres dejan de usar el parque", [], []),
        ("E-02", "effect", "P-01", "Desconfianza entre la comunidad de acogida y la migrante",
         ["mig_discrimination"], ["GOV"]),
    ]  # fmt: skip
    rows: list[Row] = [
        ("D-01", "EPUB", "demand", "Un parque iluminado y seguro para las familias",
         ["public_space_m2_per_inhab"], ["S-01", "S-02"]),
        ("C-05", "EPUB", "cause", "Falta de mantenimiento del parque", [], ["S-01"]),
        ("A-01", "EPUB", "asset", "Colectivo juvenil de muralistas del barrio", [], []),
        ("S-01", "EPUB", "solution", "Recuperación participativa del parque con murales", [], []),
        ("S-02", "EPUB", "solution", "Urbanismo táctico en la calle de acceso al parque", [], []),
        ("D-02", "OPO", "demand", "Lugares para vender sin que decomisen la mercancía",
         ["informal_employment"], ["S-03"]),
        ("X-01", "OPO", "differential", "Las personas migrantes trabajan más en la informalidad",
         ["informal_employment", "mig_informal_employment"], []),
        ("S-03", "OPO", "solution", "Feria mensual de emprendimientos de mujeres migrantes y de "
         "acogida", [], []),
        ("S-04", "OPO", "solution", "Campaña barrial contra la xenofobia", [], []),
    ]  # fmt: skip
    return WorkshopData(
        code="TALLER-2024-02",
        title=f"Taller de espacio público y medios de vida en {name}",
        held_on=date(2024, 10, 5),
        unit_code=unit,
        place_name=f"Cancha del parque de {name}",
        areas=["EPUB", "OPO"],
        facilitators="Equipo del observatorio; Secretaría de Integración Social",
        notes="Recorrido por el parque antes del taller; mapa parlante del barrio.",
        participants=_people(
            [
                ("F", "18-29", "host", "residente", 8),
                ("M", "18-29", "host", "joven muralista", 6),
                ("F", "30-59", "refugee_migrant", "emprendedora", 12),
                ("M", "30-59", "refugee_migrant", "residente", 5),
                ("F", "30-59", "host", "líder comunitario", 4),
                ("M", "30-59", "host", "funcionario", 3),
            ]
        ),
        nodes=_tree(nodes, unit),
        matrix=_matrix(rows, unit),
    )


def load_demo_workshops(engine: Engine, city: str, out: str | Path) -> list[ImportSummary]:
    """Write the two workshops as filled templates in ``out`` and import them into ``city``."""
    out = Path(out)
    with transaction(engine) as session:
        city_id = session.scalar(select(models.City.id).where(models.City.code == city))
        if city_id is None:
            from inclusive_cities.planning.workshops import _city

            _city(session, city)  # raises the one-line "import it first"
            return []
        housing = _barrio_by(session, city_id, "venezuelan_share", highest=True)
        space = _barrio_by(session, city_id, "public_space_m2_per_inhab", highest=False)
    if space[0] == housing[0]:
        with transaction(engine) as session:
            space = _barrio_by(session, city_id, "pop_within_400m_public_space", highest=False)
    summaries = []
    for workshop in (housing_workshop(*housing), public_space_workshop(*space)):
        path = write_filled_template(out / f"{workshop.code.lower()}.xlsx", workshop, "es")
        summaries.append(import_workshop(engine, path, city, imported_by="demo"))
    return summaries
