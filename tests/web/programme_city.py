"""A small programme in the store for the programme pages and the donor report: three
target cities in two countries, built through the monitoring domain's own functions.

TST (Colombia) is a store city (the web tests' tiny city, with two published marker runs), so
its "cities with a published marker" figure is computed live; Medellín (Colombia) and Quito
(Ecuador) are results only. ``people_reached_campaigns`` is typed: targets 2026 of 1,000
(TST), 400 (MED) and 600 (QTO); actuals 2025 of 300, 150, 250 and 2026 of 700, 100, 150.
"""

from __future__ import annotations

from dataclasses import dataclass

from inclusive_cities import monitoring
from inclusive_cities.store import init_database, transaction
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
OFFICER = "oficial@example.org"
OFFICER_PASSWORD = "clave-del-oficial-2026"


@dataclass
class ProgrammeCity:
    url: str


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
    return ProgrammeCity(url)
