"""The demo programme: Inclusive Cities with 9 target cities and a year of results.

The demo city is a store city (its marker, mobility profile, neighbourhoods, workshops and
plan projects are computed live); the 8 others are the programme's real cities with results
only, typed the way a programme officer would (one XLSX template per city, imported). The
figures are invented but plausible and add up to the programme's headline lines: 6 of 9
target cities with a published marker, 8 of 9 with a human mobility profile.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, delete, func, select

from inclusive_cities import monitoring
from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.entry import import_template, write_template
from inclusive_cities.monitoring.results import FLOW_RULES
from inclusive_cities.store import models, transaction
from inclusive_cities.store.monitoring_models import IndicatorValue, ProgrammeIndicator

OTHER_CITIES = [
    # code, name, country, adm1, longitude, latitude, has marker, has mobility profile
    ("BAQ", "Barranquilla", "COL", "Atlántico", -74.7813, 10.9685, True, True),
    ("CUC", "San José de Cúcuta", "COL", "Norte de Santander", -72.5078, 7.8939, True, True),
    ("VDR", "Villa del Rosario", "COL", "Norte de Santander", -72.4742, 7.8336, False, True),
    ("BGA", "Bucaramanga", "COL", "Santander", -73.1227, 7.1193, True, True),
    ("LIM", "Lima", "PER", "Lima", -77.0428, -12.0464, True, True),
    ("UIO", "Quito", "ECU", "Pichincha", -78.4678, -0.1807, True, True),
    ("MEC", "Manta", "ECU", "Manabí", -80.7089, -0.9677, False, False),
    ("SDQ", "Gran Santo Domingo", "DOM", "Santo Domingo", -69.9312, 18.4861, False, True),
]
PERIODS = ("2025-S1", "2025-S2")
TYPED_TARGETS = {
    # indicator: yearly target per city; 13 policies and 63 centres over the 9 cities, as the
    # programme reports them
    "public_servants_trained": 30,
    "improved_knowledge_share": 85,
    "policies_supported": 2,
    "entrepreneurs_supported": 40,
    "community_trained": 60,
    "centres_in_network": 7,
    "people_reached_campaigns": 1500,
}
ONE_POLICY = {"VDR", "BGA", "MEC", "SDQ", "UIO"}
STORE_ONLY_TARGETS = {"projects_done": 3, "neighbourhoods_covered": 150}
WORKSHOP_TARGETS = {"2024-S2": 2}
"""The demo's two co-creation workshops are held in September and October 2024 (demo/workshops.py):
their target is set in that half-year, so the page says 2 of 2 there, not 0 of 2 in 2025."""
"""Targets only the store city has: results-only cities have no observatory data for them."""


@dataclass
class DemoProgramme:
    programme: str
    cities: int
    values: int


def _store_centre(engine: Engine, city: str) -> tuple[float | None, float | None, str, str]:
    with transaction(engine) as session:
        row = session.execute(
            select(models.City.id, models.City.name, models.City.country).where(
                models.City.code == city
            )
        ).first()
        if row is None:
            raise monitoring.MonitoringError(
                _("There is no city {city} in the observatory: load the demo city first.").format(
                    city=city
                )
            )
        box = session.execute(
            select(
                func.avg(models.SpatialUnit.min_x),
                func.avg(models.SpatialUnit.max_x),
                func.avg(models.SpatialUnit.min_y),
                func.avg(models.SpatialUnit.max_y),
            ).where(models.SpatialUnit.city_id == row.id)
        ).first()
    if box is None or box[0] is None:
        return None, None, row.name, row.country or "COL"
    return (box[0] + box[1]) / 2, (box[2] + box[3]) / 2, row.name, row.country or "COL"


def _fill(path: Path, rows: list[list[object]]) -> None:
    """Type values into a template the way an officer does (the values sheet, by hand)."""
    from openpyxl import load_workbook

    book = load_workbook(path)
    sheet = book["valores"]
    sheet.delete_rows(2, sheet.max_row)
    for row in rows:
        sheet.append(row)
    book.save(path)


def build_demo_programme(engine: Engine, city: str = "DEMO", seed: int = 0) -> DemoProgramme:
    """Install the framework, the 9 target cities, targets and a year of actuals."""
    rng = np.random.default_rng(seed)
    lon, lat, name, country = _store_centre(engine, city)
    with transaction(engine) as session:
        programme = monitoring.install_framework(session, monitoring.load_framework())
        monitoring.add_target_city(
            session, programme, city, name, country, store_city=city, longitude=lon, latitude=lat
        )
        for code, cname, ccountry, adm1, clon, clat, _m, _p in OTHER_CITIES:
            monitoring.add_target_city(
                session, programme, code, cname, ccountry, adm1=adm1, longitude=clon, latitude=clat
            )
        code = programme.code
        # a rebuilt demo starts from no values (a re-import only replaces the cells it holds)
        indicator_ids = select(ProgrammeIndicator.id).where(
            ProgrammeIndicator.programme_id == programme.id
        )
        session.execute(
            delete(IndicatorValue).where(IndicatorValue.indicator_id.in_(indicator_ids))
        )
    written = 0
    with tempfile.TemporaryDirectory() as tmp:
        for target in [city, *[c[0] for c in OTHER_CITIES]]:
            info = next((c for c in OTHER_CITIES if c[0] == target), None)
            rows: list[list[object]] = []
            targets = dict(TYPED_TARGETS)
            if target in ONE_POLICY:
                targets["policies_supported"] = 1
            if info is None:
                targets.update(STORE_ONLY_TARGETS)
            for indicator, yearly in targets.items():
                rows.append([indicator, "", target, "2024", "linea_base", "", "", "", "", 0])
                for period in PERIODS:
                    # people trained are counted over each period's own sessions (flows,
                    # monitoring.results.FLOW_RULES): half the year's target in each half;
                    # the other counts stand at the period's end, so S2's target is the year's
                    share = 0.5 if period.endswith("S1") or indicator in FLOW_RULES else 1.0
                    target_value = (
                        yearly if indicator == "improved_knowledge_share" else round(yearly * share)
                    )
                    rows.append(
                        [indicator, "", target, period, "meta", "", "", "", "", target_value]
                    )
            if info is None:
                rows.append(["workshops_held", "", target, "2024", "linea_base", "", "", "", "", 0])
                for period, value in WORKSHOP_TARGETS.items():
                    rows.append(
                        ["workshops_held", "", target, period, "meta", "", "", "", "", value]
                    )
            if info is not None:
                for indicator, flag in (
                    ("cities_with_marker", info[6]),
                    ("cities_with_mobility_profile", info[7]),
                ):
                    rows.append([indicator, "", target, "2024", "linea_base", "", "", "", "", 0])
                    for period in PERIODS:
                        rows.append([indicator, "", target, period, "meta", "", "", "", "", 1])
                        has = flag and (period == "2025-S2" or rng.random() < 0.6)
                        rows.append(
                            [indicator, "", target, period, "real", "", "", "", "", int(has)]
                        )
                done = 0.0
                for period in PERIODS:
                    done += float(rng.integers(400, 900))
                    rows.append(
                        [
                            "people_reached_campaigns",
                            "",
                            target,
                            period,
                            "real",
                            "",
                            "",
                            "",
                            "",
                            int(done),
                        ]
                    )
                    female = int(done * rng.uniform(0.5, 0.6))
                    migrants = int(done * rng.uniform(0.35, 0.55))
                    rows += [
                        [
                            "people_reached_campaigns",
                            "",
                            target,
                            period,
                            "real",
                            "mujer",
                            "",
                            "",
                            "",
                            female,
                        ],
                        [
                            "people_reached_campaigns",
                            "",
                            target,
                            period,
                            "real",
                            "hombre",
                            "",
                            "",
                            "",
                            int(done) - female,
                        ],
                        [
                            "people_reached_campaigns",
                            "",
                            target,
                            period,
                            "real",
                            "",
                            "",
                            "refugee_migrant",
                            "",
                            migrants,
                        ],
                        [
                            "people_reached_campaigns",
                            "",
                            target,
                            period,
                            "real",
                            "",
                            "",
                            "host",
                            "",
                            int(done) - migrants,
                        ],
                        [
                            "people_reached_campaigns",
                            "",
                            target,
                            period,
                            "real",
                            "",
                            "60+",
                            "",
                            "",
                            int(rng.integers(3, 40)),
                        ],
                    ]
                for period in PERIODS:
                    rows.append(
                        ["neighbourhoods_covered", "", target, period, "real", "", "", "", "", 999]
                    )
            else:
                for indicator in ("cities_with_marker", "cities_with_mobility_profile"):
                    for period in PERIODS:
                        rows.append([indicator, "", target, period, "meta", "", "", "", "", 1])
                done = 0.0
                for period in PERIODS:
                    done += float(rng.integers(900, 1400))
                    rows.append(
                        [
                            "people_reached_campaigns",
                            "",
                            target,
                            period,
                            "real",
                            "",
                            "",
                            "",
                            "",
                            int(done),
                        ]
                    )
            path = Path(tmp) / f"{target}.xlsx"
            write_template(engine, path, lang="es", programme=code, city=target, period=PERIODS[-1])
            _fill(path, rows)
            summary = import_template(engine, path, programme=code, target_city=target, user="demo")
            written += summary.values_written
    return DemoProgramme(code, 1 + len(OTHER_CITIES), written)
