"""Demo deliveries of the programme: a year of trainings, entrepreneurs, policies, the centres
network and city commitments across the programme's target cities.

Everything is written the way facilitators would: a Spanish workbook (``entregas.xlsx``) and the
centres as a GeoPackage (``centros.gpkg``), then imported through the same code a real file
goes through, so the demo exercises the importers. Seeded, so a rebuild gives the same store.
The ten policies are the kinds of instruments the programme reports (development plans,
ordinances, public policies, programmes); centre names and places are invented but plausible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.delivery_import import DeliveryError
from inclusive_cities.store.delivery_models import PRINCIPLES
from inclusive_cities.store.monitoring_models import TargetCity

YEAR = 2025
PUBLIC_TOPICS = (
    "human_mobility",
    "mgi",
    "protection",
    "inclusive_planning",
    "socioeconomic_integration",
)
COMMUNITY_TOPICS = (
    "entrepreneurship",
    "protection",
    "conflict_resolution",
    "gender_based_violence",
    "leadership",
    "self_construction",
)
SECTORS = (
    "comercio",
    "alimentos",
    "confección",
    "belleza",
    "servicios",
    "artesanías",
    "tecnología",
)
ACTIVITIES = (
    "business_training",
    "seed_capital",
    "mentoring",
    "market_access",
    "financial_inclusion",
)
POLICIES = (
    ("Plan de desarrollo económico y social {city} 2024-2027", "development_plan", "municipal"),
    ("Ordenanza de movilidad humana de {city}", "ordinance", "municipal"),
    (
        "Política pública de atención a la población migrante de {city}",
        "public_policy",
        "municipal",
    ),
    ("Programa de mejoramiento integral de barrios de {city}", "programme", "municipal"),
    ("Política pública provincial de movilidad humana", "public_policy", "provincial"),
    ("Ordenanza de vivienda de interés social de {city}", "ordinance", "municipal"),
    ("Plan de ordenamiento territorial de {city}", "development_plan", "municipal"),
    ("Kit territorial para la atención de la población migrante", "public_policy", "national"),
    ("Programa Semilleros de Propietarios", "programme", "national"),
    ("Plan de integración socioeconómica de {city}", "development_plan", "municipal"),
)
PLACES = (
    ("Bogotá", "COL", -74.0721, 4.7110),
    ("Medellín", "COL", -75.5812, 6.2442),
    ("Cali", "COL", -76.5320, 3.4516),
    ("Barranquilla", "COL", -74.7813, 10.9685),
    ("Cúcuta", "COL", -72.4967, 7.8939),
    ("Villa del Rosario", "COL", -72.4744, 7.8339),
    ("Bucaramanga", "COL", -73.1198, 7.1193),
    ("Riohacha", "COL", -72.9072, 11.5444),
    ("Lima", "PER", -77.0428, -12.0464),
    ("Arequipa", "PER", -71.5375, -16.4090),
    ("Trujillo", "PER", -79.0288, -8.1116),
    ("Tumbes", "PER", -80.4511, -3.5669),
    ("Quito", "ECU", -78.4678, -0.1807),
    ("Guayaquil", "ECU", -79.8891, -2.1894),
    ("Manta", "ECU", -80.7089, -0.9677),
    ("Montecristi", "ECU", -80.6589, -1.0458),
    ("Santo Domingo", "DOM", -69.9312, 18.4861),
    ("Santiago de los Caballeros", "DOM", -70.6970, 19.4517),
    ("Ciudad de Panamá", "PAN", -79.5199, 8.9824),
    ("San José", "CRI", -84.0907, 9.9281),
    ("Santiago", "CHL", -70.6693, -33.4489),
    ("Antofagasta", "CHL", -70.3975, -23.6509),
    ("Boa Vista", "BRA", -60.6733, 2.8235),
    ("Manaus", "BRA", -60.0217, -3.1190),
    ("Buenos Aires", "ARG", -58.3816, -34.6037),
    ("Montevideo", "URY", -56.1645, -34.9011),
)
NEIGHBOURHOODS = (
    "La Esperanza",
    "El Progreso",
    "San Martín",
    "Nueva Aurora",
    "Los Olivos",
    "Villa Hermosa",
    "El Paraíso",
    "Brisas del Norte",
    "La Libertad",
    "Santa Rosa",
    "Los Álamos",
    "Bellavista",
    "Juan Pablo II",
    "El Carmen",
    "Las Flores",
)
CENTRE_KINDS = (
    "Centro de Integración Social y Co-creación del Hábitat",
    "Casa de Integración y Convivencia",
    "Centro Comunitario de Integración",
    "Punto de Encuentro Intercultural",
)
SERVICES = (
    "orientación legal",
    "regularización migratoria",
    "empleo y emprendimiento",
    "apoyo psicosocial",
    "espacio infantil",
    "talleres comunitarios",
    "vivienda y hábitat",
    "salud",
)
SPACES = (
    "Mesa municipal de movilidad humana",
    "Espacio de diálogo multinivel",
    "Consejo consultivo",
)
COMMITMENTS = (
    "Incluir a la población refugiada y migrante en el plan de desarrollo municipal",
    "Abrir una ventanilla de orientación en la alcaldía",
    "Publicar datos de movilidad humana en el observatorio",
    "Asignar presupuesto al mejoramiento de barrios con alta presencia migrante",
    "Reconocer los centros de integración como equipamiento municipal",
)


@dataclass(frozen=True)
class DemoDeliveries:
    """What the demo wrote and imported."""

    workbook: Path
    centres_file: Path
    trainings: int
    participants: int
    entrepreneurs: int
    policies: int
    centres: int
    commitments: int


def _cities(engine: Engine) -> list[tuple[str, str, str, float | None, float | None]]:
    with Session(engine) as session:
        cities = session.scalars(select(TargetCity).order_by(TargetCity.id)).all()
        return [(c.code, c.name, c.country, c.longitude, c.latitude) for c in cities]


def _day(rng: random.Random) -> date:
    return date(YEAR, 1, 1) + timedelta(days=rng.randrange(0, 365))


def _people(rng: random.Random, prefix: str, count: int, improve: float) -> list[dict[str, Any]]:
    people = []
    for index in range(count):
        pre = rng.randrange(20, 80)
        if rng.random() < improve:
            post = min(100, pre + rng.randrange(5, 30))
        else:
            post = max(0, pre - rng.randrange(0, 10))
        people.append(
            {
                "participant": f"{prefix}-{index + 1:03d}",
                "sex": rng.choice(("female", "female", "male", "male", "other")),
                "age_group": rng.choice(("18-29", "30-44", "45-59", "60+")),
                "nationality": rng.choice(("host", "refugee_migrant", "refugee_migrant")),
                # about one in twenty left the post assessment blank (999 in the form)
                "pre_score": pre,
                "post_score": 999 if rng.random() < 0.05 else post,
            }
        )
    return people


def demo_records(engine: Engine, seed: int = 18) -> dict[str, list[dict[str, Any]]]:
    """Records of every kind for the store's target cities (stored values, keyed by field)."""
    rng = random.Random(seed)
    cities = _cities(engine)
    if not cities:
        raise DeliveryError(
            _(
                "The store has no programme target cities: build the programme first "
                "('inclusive-cities programme demo'), then the deliveries."
            )
        )
    records: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "trainings",
            "participants",
            "entrepreneurs",
            "policies",
            "centres",
            "commitments",
        )
    }
    for code, name, _country, _lon, _lat in cities:
        sessions = [("public_servants", t) for t in rng.sample(PUBLIC_TOPICS, 3)] + [
            ("community", t) for t in rng.sample(COMMUNITY_TOPICS, 3)
        ]
        for number, (audience, topic) in enumerate(sessions, start=1):
            session_code = f"{code}-{YEAR}-T{number:02d}"
            records["trainings"].append(
                {
                    "code": session_code,
                    "target_city": code,
                    "topic": topic,
                    "audience": audience,
                    "title": "",
                    "held_on": _day(rng),
                    "hours": float(rng.choice((4, 8, 12, 16))),
                }
            )
            size = rng.randrange(8, 14) if audience == "public_servants" else rng.randrange(15, 24)
            improve = 0.94 if audience == "public_servants" else 0.85
            for person in _people(rng, f"{code}-{number:02d}", size, improve):
                records["participants"].append({"training": session_code, **person})
        for index in range(rng.randrange(12, 30)):
            supported = _day(rng)
            open_6 = rng.random() < 0.8 if supported < date(YEAR, 7, 1) else None
            open_12 = (rng.random() < 0.85) if open_6 and supported < date(YEAR, 1, 31) else None
            records["entrepreneurs"].append(
                {
                    "code": f"E-{code}-{index + 1:03d}",
                    "target_city": code,
                    "sex": rng.choice(("female", "female", "male")),
                    "age_group": rng.choice(("18-29", "30-44", "45-59")),
                    "nationality": rng.choice(("host", "refugee_migrant", "refugee_migrant")),
                    "sector": rng.choice(SECTORS),
                    "plan_activity": rng.choice(ACTIVITIES),
                    "supported_on": supported,
                    "trainings": [],
                    "open_6m": open_6,
                    "open_12m": False if open_6 is False else open_12,
                }
            )
        for index in range(rng.randrange(1, 3)):
            agreed = _day(rng)
            status = rng.choice(("agreed", "in_progress", "fulfilled"))
            records["commitments"].append(
                {
                    "code": f"C-{code}-{index + 1}",
                    "target_city": code,
                    "what": rng.choice(COMMITMENTS),
                    "who": f"Alcaldía de {name}",
                    "dialogue_space": rng.choice(SPACES),
                    "agreed_on": agreed,
                    "due_on": agreed + timedelta(days=rng.choice((180, 365))),
                    "status": status,
                    "evidence": (
                        f"https://example.org/{code.lower()}/acta-{index + 1}.pdf"
                        if status == "fulfilled"
                        else ""
                    ),
                }
            )
    for index, (template, kind, level) in enumerate(POLICIES):
        code, name, country, _lon, _lat = cities[index % len(cities)]
        stage = ("adopted", "adopted", "drafted", "proposed")[index % 4]
        proposed = date(YEAR - 1, 1 + index, 10)
        records["policies"].append(
            {
                "code": f"P-{index + 1:02d}",
                "name": template.format(city=name),
                "kind": kind,
                "level": level,
                "target_city": code if level != "national" else None,
                "country": country,
                "stage": stage,
                "proposed_on": proposed,
                "drafted_on": proposed + timedelta(days=120) if stage != "proposed" else None,
                "adopted_on": proposed + timedelta(days=300) if stage == "adopted" else None,
                "documents": [f"{code.lower()}-instrumento-{index + 1}.pdf"],
                "marker_areas": rng.sample(
                    ("housing", "employment", "services", "participation"), 2
                ),
            }
        )
    places: list[tuple[str, str, float, float, str | None]] = [
        (name, country, lon, lat, code)
        for code, name, country, lon, lat in cities
        if lon is not None and lat is not None
    ]
    places += [(p[0], p[1], p[2], p[3], None) for p in PLACES]
    for index in range(60):
        city, country, lon, lat, target = places[index % len(places)]
        barrio = NEIGHBOURHOODS[(index * 7) % len(NEIGHBOURHOODS)]
        scores = {f"p_{p}": rng.choice((2, 3, 3, 4)) for p in PRINCIPLES}
        records["centres"].append(
            {
                "code": f"CIS-{index + 1:03d}",
                "name": f"{CENTRE_KINDS[index % len(CENTRE_KINDS)]} {barrio}",
                "target_city": target,
                "city": city,
                "country": country,
                "lon": round(float(lon) + rng.uniform(-0.04, 0.04), 5),
                "lat": round(float(lat) + rng.uniform(-0.04, 0.04), 5),
                "services": rng.sample(SERVICES, 3),
                "opening_hours": rng.choice(("lu-vi 8:00-17:00", "lu-sá 9:00-18:00")),
                "contact": f"centro{index + 1:03d}@example.org",
                "status": "in_preparation" if index % 20 == 19 else "active",
                **scores,
            }
        )
    return records


def build_demo_deliveries(engine: Engine, out: Path | str, seed: int = 18) -> DemoDeliveries:
    """Write the demo workbook and centres GeoPackage into ``out`` and import both."""
    import geopandas as gpd
    from shapely.geometry import Point

    from inclusive_cities.monitoring.centres import centre_fields, import_centres
    from inclusive_cities.monitoring.delivery_import import choice_label
    from inclusive_cities.monitoring.delivery_workbook import import_workbook, write_workbook

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    records = demo_records(engine, seed)
    workbook = write_workbook(
        folder / "entregas.xlsx",
        "es",
        records,
        kinds=("trainings", "participants", "entrepreneurs", "policies", "commitments"),
    )
    fields = {f.key: f for f in centre_fields()}
    rows = []
    for centre in records["centres"]:
        row = {}
        for key, value in centre.items():
            if key in ("lon", "lat"):
                continue
            field = fields[key]
            if field.kind == "list":
                value = "; ".join(value)
            elif field.kind == "choice":
                value = choice_label(field, value, "es")
            row[field.es] = value
        rows.append(row)
    frame = gpd.GeoDataFrame(
        rows, geometry=[Point(c["lon"], c["lat"]) for c in records["centres"]], crs="EPSG:4326"
    ).to_crs(3857)  # metres, as a GIS desk would send it: the import brings it back to degrees
    centres_file = folder / "centros.gpkg"
    if centres_file.exists():
        centres_file.unlink()
    frame.to_file(centres_file, layer="centros", driver="GPKG")
    import_workbook(engine, workbook)
    import_centres(engine, centres_file)
    return DemoDeliveries(
        workbook=workbook,
        centres_file=centres_file,
        trainings=len(records["trainings"]),
        participants=len(records["participants"]),
        entrepreneurs=len(records["entrepreneurs"]),
        policies=len(records["policies"]),
        centres=len(records["centres"]),
        commitments=len(records["commitments"]),
    )
