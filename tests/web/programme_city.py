"""A small programme in the store for the programme pages and the donor report: three
target cities in two countries, built through the monitoring domain's own functions.

TST (Colombia) is a store city (the web tests' tiny city, with two published marker runs), so
its "cities with a published marker" figure is computed live; Medellín (Colombia) and Quito
(Ecuador) are results only. ``people_reached_campaigns`` is typed: targets 2026 of 1,000
(TST), 400 (MED) and 600 (QTO); actuals 2025 of 300, 150, 250 and 2026 of 700, 100, 150.
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from inclusive_cities import monitoring
from inclusive_cities.store import init_database, transaction
from inclusive_cities.web.data import CACHE, MAP_CACHE
from tests.web.conftest import build_city

PROGRAMME = "inclusive_cities"
TYPED = "people_reached_campaigns"
CITIES = {
    # code: (name, country, store city, lon, lat)
    "TST": ("Ciudad Prueba", "COL", "TST", -72.485, 7.905),
    "MED": ("Medellín", "COL", None, -75.5636, 6.2518),
    "QTO": ("Quito", "ECU", None, -78.4678, -0.1807),
}
TARGETS = {"TST": 1000.0, "MED": 400.0, "QTO": 600.0}
ACTUALS = {
    "2025": {"TST": 300.0, "MED": 150.0, "QTO": 250.0},
    "2026": {"TST": 700.0, "MED": 100.0, "QTO": 150.0},
}
CENTRES = [
    # code, name, target city, city, country, lon, lat, status, scores of the 7 principles
    (
        "C1",
        "Centro Integra Norte",
        "TST",
        "Ciudad Prueba",
        "COL",
        -72.49,
        7.91,
        "activo",
        [4, 3, 2, 4, 3, 1, 2],
    ),
    (
        "C2",
        "Casa de Encuentro Comuna 13",
        "MED",
        "Medellín",
        "COL",
        -75.6050,
        6.2560,
        "activo",
        [3, 3, 3, 2, 2, 2, 4],
    ),
    (
        "C3",
        "Centro Hábitat La Mariscal",
        "QTO",
        "Quito",
        "ECU",
        -78.4900,
        -0.2030,
        "activo",
        [2, 4, 1, 3, 4, 3, 3],
    ),
    (
        "C4",
        "Centro Comunitario Chillogallo",
        "QTO",
        "Quito",
        "ECU",
        -78.5560,
        -0.2790,
        "en preparación",
        [1, 1, 2, 1, 2, 1, 1],
    ),
]
PRINCIPLE_COLUMNS = [
    "inclusion_diversity",
    "inclusive_governance",
    "intercultural_dialogue",
    "no_one_left_behind",
    "civic_solidarity",
    "empowerment_equity",
    "action_nexus",
]
# two sessions for public servants in TST; (pre, post) per participant: 11 of 12 improved,
# one did not (60 -> 55); a 13th left before the post test (999 = no score) and is not assessed.
# One small session in MED: 3 people, all improved (too few to publish for MED alone).
SESSIONS = {"T1": ("TST", "2026-03-10"), "T2": ("TST", "2026-05-20"), "T3": ("MED", "2026-06-02")}
PARTICIPANTS = [
    ("T1", "p01", 40, 70),
    ("T1", "p02", 50, 80),
    ("T1", "p03", 30, 60),
    ("T1", "p04", 60, 55),
    ("T1", "p05", 45, 75),
    ("T1", "p06", 20, 65),
    ("T1", "p07", 55, 90),
    ("T2", "p08", 35, 60),
    ("T2", "p09", 50, 70),
    ("T2", "p10", 40, 85),
    ("T2", "p11", 65, 80),
    ("T2", "p12", 30, 50),
    ("T2", "p13", 45, None),
    ("T3", "m01", 50, 60),
    ("T3", "m02", 40, 70),
    ("T3", "m03", 20, 30),
]
# policies supported: two adopted, one drafted
POLICIES = [
    ("PL1", "Ordenanza de inclusión de población migrante", "TST", "adoptada", "2026-04-15"),
    ("PL2", "Plan de integración socioeconómica", "MED", "borrador", ""),
    ("PL3", "Ordenanza de movilidad humana", "QTO", "aprobada", "2026-05-30"),
]
POLICY_HEADER = ["código", "nombre", "tipo", "nivel", "ciudad", "etapa", "fecha_propuesta"]
OFFICER = "oficial@example.org"
OFFICER_PASSWORD = "clave-del-oficial-2026"


@dataclass
class ProgrammeCity:
    url: str


def programme_copy(factory: pytest.TempPathFactory, name: str) -> ProgrammeCity:
    """A fresh copy of the programme store: built once per test run (a few seconds of CPU),
    then copied for each module, which may change its copy as it likes."""
    template = factory.getbasetemp() / "programme-template" / "p.db"
    if not template.exists():
        template.parent.mkdir(parents=True, exist_ok=True)
        build_programme(f"sqlite:///{template}")
        with closing(sqlite3.connect(template)) as connection:  # WAL pages into the file
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    target = factory.mktemp(name) / "p.db"
    shutil.copyfile(template, target)
    CACHE.clear()  # the web's caches must not answer for another store
    MAP_CACHE.clear()
    return ProgrammeCity(f"sqlite:///{target}")


def build_programme(url: str) -> ProgrammeCity:
    """The tiny web city plus the programme, its three target cities and typed results."""
    build_city(url)
    engine = init_database(url)
    with transaction(engine) as session:
        programme = monitoring.install_framework(session, monitoring.load_framework())
        for code, (name, country, store, lon, lat) in CITIES.items():
            monitoring.add_target_city(
                session,
                programme,
                code,
                name,
                country,
                store_city=store,
                longitude=lon,
                latitude=lat,
            )
        for code, target in TARGETS.items():
            monitoring.set_value(session, programme, TYPED, code, "2026", "target", target)
            monitoring.set_value(session, programme, TYPED, code, "2025", "target", target / 2)
        for period, actuals in ACTUALS.items():
            for code, actual in actuals.items():
                monitoring.set_value(session, programme, TYPED, code, period, "actual", actual)
        monitoring.set_value(session, programme, "cities_with_marker", "TST", "2026", "target", 1)
        monitoring.set_value(session, programme, "cities_with_marker", "MED", "2026", "target", 1)
        monitoring.set_value(session, programme, "cities_with_marker", "QTO", "2026", "target", 1)
    folder = Path(url.removeprefix("sqlite:///")).parent
    add_deliveries(engine, folder)
    return ProgrammeCity(url)


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def add_deliveries(engine: Engine, folder: Path) -> None:
    """The centres, trainings and policies (Spanish headers, as a facilitator types them)."""
    from inclusive_cities.monitoring import centres, policies, trainings

    header = ["código", "nombre", "ciudad_objetivo", "ciudad", "país", "longitud", "latitud"]
    header += ["servicios", "horario", "contacto", "estado"]
    header += [centres.PRINCIPLE_HEADERS[p] for p in PRINCIPLE_COLUMNS]
    rows = [
        [
            code,
            name,
            target,
            city,
            country,
            lon,
            lat,
            "orientación; vivienda",
            "L-V 8-17",
            "",
            status,
            *scores,
        ]
        for code, name, target, city, country, lon, lat, status, scores in CENTRES
    ]
    centres.import_centres(engine, write_csv(folder / "centros.csv", header, rows))
    sessions = write_csv(
        folder / "capacitaciones.csv",
        ["código", "ciudad", "tema", "público", "fecha", "horas"],
        [
            [code, city, "movilidad humana", "servidores públicos", day, 4]
            for code, (city, day) in SESSIONS.items()
        ],
    )
    people = write_csv(
        folder / "participantes.csv",
        ["capacitación", "participante", "sexo", "puntaje_pre", "puntaje_post"],
        [
            [t, p, "mujer" if i % 2 else "hombre", pre, 999 if post is None else post]
            for i, (t, p, pre, post) in enumerate(PARTICIPANTS)
        ],
    )
    trainings.import_trainings(engine, sessions, people)
    policies.import_policies(
        engine,
        write_csv(
            folder / "politicas.csv",
            [*POLICY_HEADER, "fecha_borrador", "fecha_adopción"],
            [
                [
                    code,
                    name,
                    "ordenanza",
                    "municipal",
                    city,
                    stage,
                    "2025-09-01",
                    "2025-12-01",
                    adopted,
                ]
                for code, name, city, stage, adopted in POLICIES
            ],
        ),
    )
