"""The demo city's territorial intervention plan: about fifteen projects drawn from its stored
candidate projects (those already executed in the second period are done or under way), five
neighbourhood proposals and one participatory design of a public space with before and after
pictures. Written in plausible Spanish; every figure is synthetic. Safe to re-run.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import shapely
from sqlalchemy import Engine, select

from inclusive_cities.planning.designs import add_photo, save_design
from inclusive_cities.planning.proposals import save_proposal
from inclusive_cities.planning.territorial_plan import (
    city_id,
    city_solutions,
    create_plan,
    delete_item,
    load_plan,
    save_item,
    set_published,
    target_areas,
)
from inclusive_cities.store import models, transaction

PLAN_CODE = "PIT-2025"
PLAN_PERIOD = "2025-2028"
FUNDERS = (
    "Alcaldía municipal",
    "Sistema General de Participaciones",
    "Cooperación internacional (ACNUR / OIM)",
    "Banco Interamericano de Desarrollo",
    "Gobernación del departamento",
)
"""Who pays, in turn: the plan's projects mix local, national and international money."""
TYPE_AREAS = {
    "housing": "VIV",
    "public_space": "EPUB",
    "services": "SAL",
    "economic": "OPO",
    "centre": "OPO",
    "social_cohesion": "EPUB",
}
"""The marker area a project type answers when its targets are indicators, not areas."""


def _plausible(targets: list[str], kind: str, area_of: dict[str, str]) -> list[str]:
    """Targets a project of this type can answer: those in its type's area, else the area.

    The candidate projects' targets are drawn for the optimiser; shown in the plan, a health
    centre "targeting" crime reads as nonsense.
    """
    area = TYPE_AREAS.get(kind)
    if area is None:
        return targets
    kept = [t for t in targets if area_of.get(t, t) == area]
    return kept or [area]


PROPOSALS = (
    (
        "Recuperar el parque del barrio como lugar de encuentro",
        "Vecinas y vecinos, colombianos y venezolanos, piden arreglar juegos, luminarias y "
        "bancas para que las familias vuelvan a usar el parque.",
        "Junta de Acción Comunal",
        312,
    ),
    (
        "Punto de orientación para personas migrantes",
        "Un lugar fijo donde recibir orientación sobre regularización, salud y escuela.",
        "Mesa de población migrante",
        148,
    ),
    (
        "Cancha sintética en el lote vacío",
        "Construir una cancha sintética en el lote de la esquina para los jóvenes.",
        "Colectivo juvenil",
        86,
    ),
    (
        "Ruta de bus hasta el centro de salud",
        "Que la ruta alimentadora llegue hasta el centro de salud en las mañanas.",
        "Asociación de madres comunitarias",
        57,
    ),
    (
        "Mural contra la xenofobia",
        "Pintar un mural con niñas y niños de la escuela sobre la convivencia.",
        "Docentes de la institución educativa",
        7,
    ),
)


@dataclass(frozen=True)
class DemoPlan:
    plan: str
    items: int
    proposals: int
    designs: int


def _picture(label: str, colours: tuple[str, str]) -> bytes:
    """A small illustrative PNG (a sketch, not a photo) with its label, for the demo."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 320), colours[0])
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 210, 480, 320), fill=colours[1])
    for x in range(40, 480, 110):
        draw.ellipse((x, 150, x + 50, 200), fill="#2e7d32" if "DESP" in label else "#8d6e63")
        draw.rectangle((x + 22, 195, x + 28, 230), fill="#5d4037")
    draw.text((16, 16), label, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def build_demo_plan(engine: Engine, city: str = "DEMO") -> DemoPlan:
    """Create (or refresh) the demo plan, its proposals and its participatory design."""
    with transaction(engine) as session:
        cid = city_id(session, city)
        candidates = session.scalars(
            select(models.PlanningProject)
            .where(models.PlanningProject.city_id == cid)
            .order_by(models.PlanningProject.code)
        ).all()
        units = {
            code: shapely.from_wkb(geometry)
            for code, geometry in session.execute(
                select(models.SpatialUnit.code, models.SpatialUnit.geometry).where(
                    models.SpatialUnit.city_id == cid, models.SpatialUnit.geometry.is_not(None)
                )
            )
        }
        solutions = city_solutions(session, cid)
        area_of = target_areas(session)
        executed = [c for c in candidates if c.start_date is not None][:6]
        waiting = [c for c in candidates if c.start_date is None]
        planned = waiting[::4][:9]
        centre = next((c for c in waiting if c.type == "centre"), None)
        if centre is not None and centre not in planned:
            planned[-1:] = [centre]
        chosen: list[dict[str, Any]] = [
            {
                "code": c.code,
                "name": c.name,
                "type": c.type,
                "cost": c.cost,
                "targets": _plausible(list(c.targets or []), c.type, area_of),
                "unit_codes": list(c.unit_codes or []),
                "geometry": None if c.geometry is None else shapely.from_wkb(c.geometry),
                "start": c.start_date,
            }
            for c in executed + planned
        ]
    create_plan(
        engine,
        city,
        PLAN_PERIOD,
        code=PLAN_CODE,
        name="Plan de Intervención Territorial 2025-2028",
        description=(
            "Proyectos priorizados con la evidencia del observatorio y los talleres de "
            "co-creación con comunidades de acogida, refugiadas y migrantes."
        ),
    )
    free = list(solutions.itertuples())
    codes = []
    for i, project in enumerate(chosen):
        site = project["geometry"]
        if site is None and project["unit_codes"] and project["unit_codes"][0] in units:
            site = units[project["unit_codes"][0]].representative_point()
        end: date | None
        if project["start"] is not None:
            status = "done" if i < 4 else "under_way"
            start = project["start"]
            end = date(start.year, 11, 30) if status == "done" else date(start.year + 1, 6, 30)
        else:
            status = ("approved", "approved", "under_way", "proposed")[i % 4]
            start = date(2026, 1 + (i * 2) % 12, 1)
            months = start.month - 1 + 6 + 3 * (i % 5)
            planned_end = date(start.year + months // 12, months % 12 + 1, 28)
            end = None if status == "proposed" else planned_end
        answered = []
        areas = [*project["targets"], TYPE_AREAS.get(project["type"], "")]
        match = next((s for s in free if s.area in areas), None)
        if match is not None and len(free) > 2:
            answered.append(f"{match.workshop}:{match.code}")
            free.remove(match)
        codes.append(
            save_item(
                engine,
                city,
                PLAN_CODE,
                {
                    "code": project["code"],
                    "project_code": project["code"],
                    "name": project["name"],
                    "type": project["type"],
                    "status": status,
                    "cost": project["cost"],
                    "funding_source": FUNDERS[i % len(FUNDERS)],
                    "start_date": start,
                    "end_date": end,
                    "unit_codes": project["unit_codes"],
                    "targets": project["targets"],
                    "solution_codes": answered,
                    "geometry": site,
                },
            )
        )
    for stale in set(load_plan(engine, city, PLAN_CODE).items["code"]) - set(codes):
        delete_item(engine, city, PLAN_CODE, stale)  # a re-run gives the same plan
    set_published(engine, city, PLAN_CODE, True)
    barrios = sorted(c for c in units if len(c) == 5)[::29][: len(PROPOSALS)] or [""] * 5
    public_space = next((p for p in chosen if p["type"] == "public_space"), chosen[0])
    outcomes = ("adopted", "adopted", "not_adopted", "not_adopted", "pending")
    reasons = (
        "",
        "",
        "El lote es privado y no hay predio público disponible en el barrio.",
        "Depende de la empresa de transporte; se trasladó a la mesa de movilidad.",
        "",
    )
    adopted_items = (
        public_space["code"],
        next((p["code"] for p in chosen if p["type"] == "centre"), codes[-1]),
    )
    for i, (title, description, who, supporters) in enumerate(PROPOSALS):
        save_proposal(
            engine,
            city,
            {
                "code": f"PV-{i + 1:02d}",
                "unit_code": barrios[i % len(barrios)],
                "title": title,
                "description": description,
                "proposed_by": who,
                "submitted_on": date(2025, 3 + i, 10),
                "supporters": supporters,
                "outcome": outcomes[i],
                "reason": reasons[i],
                "plan": PLAN_CODE if i < 2 else "",
                "item": adopted_items[i] if i < 2 else "",
            },
        )
    site = public_space["geometry"]
    if site is None and public_space["unit_codes"]:
        site = units[public_space["unit_codes"][0]].representative_point()
    space = (site or shapely.Point(0, 0)).centroid.buffer(0.0012, quad_segs=4)
    save_design(
        engine,
        city,
        {
            "code": "DP-01",
            "name": public_space["name"],
            "plan": PLAN_CODE,
            "item": public_space["code"],
            "geometry": space,
            "workshop_codes": sorted(set(solutions["workshop"]))[:2],
            "options": [
                {
                    "code": "A",
                    "title": "Parque infantil",
                    "description": "Juegos para niñas y niños, arenero y bancas bajo sombra.",
                },
                {
                    "code": "B",
                    "title": "Plaza de encuentro",
                    "description": "Plazoleta con luminarias, mesas, huerta comunitaria y "
                    "un muro para murales hechos con la comunidad.",
                },
                {
                    "code": "C",
                    "title": "Cancha múltiple",
                    "description": "Cancha de microfútbol y baloncesto con graderías.",
                },
            ],
            "chosen_option": "B",
            "notes": "Elegida en el segundo taller por 41 de 58 votos.",
        },
    )
    add_photo(
        engine,
        city,
        "DP-01",
        _picture("ANTES - boceto sintetico", ("#cfd8dc", "#a1887f")),
        stage="before",
        caption="El lote antes de la intervención (imagen sintética).",
        file_name="antes.png",
    )
    add_photo(
        engine,
        city,
        "DP-01",
        _picture("DESPUES - boceto sintetico", ("#b3e5fc", "#9ccc65")),
        stage="after",
        caption="La plaza de encuentro terminada (imagen sintética).",
        file_name="despues.png",
    )
    return DemoPlan(plan=PLAN_CODE, items=len(codes), proposals=len(PROPOSALS), designs=1)
