"""Programme counts of people withheld in one period stay withheld across periods (trial F5).

The trial read "Servidores públicos capacitados" of Barranquilla: 2025-S1 "reservado", 2025-S2 18,
and "all periods 26" on the same page, so 2025-S1 = 26 - 18 = 8. Here the same shape is built in
code and attacked with everything the programme publishes (every period's city, country and
programme rows, and each city's all-periods line), as a linear program solved with scipy
(independent of the HiGHS model the protection uses):

* public servants trained (a flow, from the trainings records): BAQ 8 in 2025-S1 and 18 in
  2025-S2 (26 in all), CUC 12 and 15 (27), LIM 20 and 11 (31); nobody trained in 2024;
* people reached by campaigns (typed): MED 2025 = 120, 2025-S1 = 5, 2025-S2 = 115, so the year
  gives the semester back (120 - 115 = 5) unless one more figure of that relation is withheld;
  BAQ 2025-S1 = 40, 2025-S2 = 60, 2025 = 100.

Every withheld count of 1 to 9 must stay uncertain by at least the protection range, 10 people
(max(10, 10 %) of a count under 10), either side as far as 0 allows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scipy.optimize import linprog
from sqlalchemy import Engine

from inclusive_cities import monitoring
from inclusive_cities.monitoring.trainings import import_trainings
from inclusive_cities.reports import programme_report as pr
from inclusive_cities.store import init_database, transaction

T = "_T"
PROGRAMME = "inclusive_cities"
SERVANTS = "public_servants_trained"
TYPED = "people_reached_campaigns"
CITIES = {"BAQ": ("Barranquilla", "COL"), "CUC": ("Cúcuta", "COL"), "MED": ("Medellín", "COL")}
CITIES |= {"LIM": ("Lima", "PER")}
TRAINED = {"BAQ": (8, 18), "CUC": (12, 15), "LIM": (20, 11)}
"""People in the 2025-S1 and 2025-S2 sessions of each city (different people each time)."""
REACHED = {"MED": (120, 5, 115), "BAQ": (100, 40, 60)}
"""Typed campaign reach: 2025, 2025-S1, 2025-S2."""
PERIODS = ("2024", "2025", "2025-S1", "2025-S2")
SPANS = {"2025": ("2025-S1", "2025-S2"), T: ("2024", "2025-S1", "2025-S2")}
"""What adds up to what, as the attacker reads the periods' names."""


def _files(folder: Path) -> tuple[Path, Path]:
    sessions = ["código,ciudad,tema,público,fecha,horas"]
    people = ["capacitación,participante,sexo,nacionalidad,puntaje_pre,puntaje_post"]
    for city, counts in TRAINED.items():
        for half, (day, count) in enumerate(zip(("2025-03-10", "2025-09-15"), counts, strict=True)):
            code = f"{city}{half}"
            sessions.append(f"{code},{city},protección,servidores públicos,{day},999")
            people += [f"{code},{city}-{half}-{i:02d},mujer,migrante,999,999" for i in range(count)]
    (folder / "sesiones.csv").write_text("\n".join(sessions) + "\n", encoding="utf-8")
    (folder / "personas.csv").write_text("\n".join(people) + "\n", encoding="utf-8")
    return folder / "sesiones.csv", folder / "personas.csv"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("time-margin")
    engine = init_database(f"sqlite:///{folder / 'p.db'}")
    with transaction(engine) as session:
        programme = monitoring.install_framework(session, monitoring.load_framework())
        for code, (name, country) in CITIES.items():
            monitoring.add_target_city(session, programme, code, name, country)
            for period in PERIODS:  # targets make the periods reporting periods
                monitoring.set_value(session, PROGRAMME, SERVANTS, code, period, "target", 40)
        for code, figures in REACHED.items():
            for period, value in zip(("2025", "2025-S1", "2025-S2"), figures, strict=True):
                monitoring.set_value(session, PROGRAMME, TYPED, code, period, "actual", value)
    sessions, people = _files(folder)
    import_trainings(engine, sessions, people)
    return engine


@pytest.fixture(scope="module")
def published(engine: Engine) -> dict[tuple[str, str, str, str], float | None]:
    """Every count of the two indicators any page, report or export prints (None: withheld),
    keyed by (indicator, country, city, period), T for a margin or all periods."""
    out: dict[tuple[str, str, str, str], float | None] = {}
    latest = monitoring.results(engine, PROGRAMME)
    for period in latest.periods:
        report = monitoring.results(engine, PROGRAMME, period)
        for row in [*report.city_rows, *report.by_country, *report.headline]:
            if row.indicator in (SERVANTS, TYPED) and (row.actual is not None or row.withheld):
                key = (row.indicator, row.country or T, row.city or T, period)
                out[key] = None if row.withheld else row.actual
    for city in CITIES:  # the city page's "all periods" delivery line
        view = pr.city_view(engine, city, "es")
        for line in view.deliveries:
            if line["code"] == SERVANTS:
                value = None if line["suppressed"] else float(line["value"].replace(".", ""))
                out[(SERVANTS, CITIES[city][1], city, T)] = value
    return out


def _truth(code: str, city: str, period: str) -> float:
    if code == SERVANTS:
        s1, s2 = TRAINED.get(city, (0, 0))
        return {"2024": 0, "2025-S1": s1, "2025-S2": s2, "2025": s1 + s2, T: s1 + s2}[period]
    year, s1, s2 = REACHED[city]
    return {"2025": year, "2025-S1": s1, "2025-S2": s2}[period]


def _intervals(
    published: dict[tuple[str, str, str, str], float | None],
) -> dict[tuple[str, str, str, str], tuple[float, float]]:
    """The attacker: hidden cells as unknowns >= 0, every sum the periods and places imply."""
    hidden = [k for k, v in published.items() if v is None]
    column = {k: i for i, k in enumerate(hidden)}
    equations: list[tuple[tuple[str, str, str, str], list[tuple[str, str, str, str]]]] = []
    for code, country, city, period in published:
        parts = [(code, country, city, p) for p in SPANS.get(period, ())]
        parts = [p for p in parts if p in published]
        if len(parts) > 1:
            equations.append(((code, country, city, period), parts))
        if city == T:  # a country adds up its cities; the programme its countries
            below = [
                k
                for k in published
                if k[0] == code
                and k[3] == period
                and (k[1] == country and k[2] != T if country != T else k[1] != T and k[2] == T)
            ]
            if below:
                equations.append(((code, country, city, period), below))
    a_eq, b_eq = [], []
    for total, parts in equations:
        row = [0.0] * len(hidden)
        rest = 0.0
        for key, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
            if published[key] is None:
                row[column[key]] += sign
            else:
                rest -= sign * float(published[key] or 0)
        if any(row):
            a_eq.append(row)
            b_eq.append(rest)
    bounds: dict[tuple[str, str, str, str], tuple[float, float]] = {}
    for key in hidden:
        goal = [0.0] * len(hidden)
        goal[column[key]] = 1.0
        low = linprog(goal, A_eq=a_eq or None, b_eq=b_eq or None, bounds=(0, None))
        high = linprog([-g for g in goal], A_eq=a_eq or None, b_eq=b_eq or None, bounds=(0, None))
        assert low.status == 0, low.message
        bounds[key] = (low.fun, float("inf") if high.status == 3 else -high.fun)
    return bounds


def test_a_withheld_period_does_not_come_back_from_all_periods_or_the_year(
    published: dict[tuple[str, str, str, str], float | None],
) -> None:
    # the two small counts are withheld where they are printed ...
    assert published[(SERVANTS, "COL", "BAQ", "2025-S1")] is None
    assert published[(TYPED, "COL", "MED", "2025-S1")] is None
    # ... the all-periods line of Barranquilla is printed (or withheld) on its page
    assert (SERVANTS, "COL", "BAQ", T) in published
    # and no withheld count of 1-9 people comes back within 10 either side
    bounds = _intervals(published)
    small = {
        key: _truth(key[0], key[2], key[3])
        for key in bounds
        if key[2] != T and 0 < _truth(key[0], key[2], key[3]) < 10
    }
    assert {k[2] for k in small} == {"BAQ", "MED"}
    for key, truth in small.items():
        low, high = bounds[key]
        assert low <= max(0.0, truth - 10) + 1e-6, (key, low, high)
        assert high >= truth + 10 - 1e-6, (key, low, high)


def test_what_is_published_is_the_truth(
    published: dict[tuple[str, str, str, str], float | None],
) -> None:
    """Withholding never changes a printed figure: each one is the hand-made count."""
    for (code, _country, city, period), value in published.items():
        if value is not None and city != T:
            assert value == _truth(code, city, period), (code, city, period)
