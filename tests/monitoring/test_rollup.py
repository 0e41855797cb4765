"""Typed figures roll up over time as the framework declares (trial #3 F11).

A monthly 5W export answers for its quarters, semesters and years only when the framework says
how its indicator adds up: ``per_period`` (a semester is the sum of its months), ``cumulative``
(a semester is its last month). An undeclared indicator is never rolled up, since summing
running totals would count people twice. Targets follow the same rule, and the rolled-up sums
are protected together with the months they are made of. Every expected figure below is
worked out by hand from the monthly figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog
from sqlalchemy import Engine

from inclusive_cities import monitoring
from inclusive_cities.monitoring.errors import MonitoringError
from inclusive_cities.monitoring.framework import load_framework
from inclusive_cities.monitoring.periods import enclosing, rolled_up, window
from inclusive_cities.store import init_database, transaction
from tests.monitoring.frameworks import one_output_framework

PROGRAMME = "rollup_test"
MONTHS = [f"2025-{m:02d}" for m in range(1, 7)]
REACHED = {"QTO": [40, 35, 50, 45, 30, 60], "GYE": [25, 3, 30, 20, 35, 28]}
"""New people reached by a campaign each month (a flow); GYE's February (3) is under 10."""
RUNNING = {"QTO": [5, 8, 8, 12, 15, 15], "GYE": [2, 4, 7, 7, 9, 11]}
"""Policies supported so far (a running total) at the end of each month."""


def _framework(path: Path) -> Path:
    indicator = {"unit": "people", "name_es": "x", "name_en": "x"}
    return one_output_framework(
        path,
        PROGRAMME,
        [
            {"code": "reached", "accumulation": "per_period", **indicator},
            {"code": "reached_undeclared", **indicator},
            {"code": "policies", "accumulation": "cumulative", **indicator, "unit": "policies"},
        ],
    )


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("rollup")
    engine = init_database(f"sqlite:///{folder / 'p.db'}")
    with transaction(engine) as session:
        programme = monitoring.install_framework(
            session, load_framework(_framework(folder / "framework.yaml"))
        )
        for code, name in (("QTO", "Quito"), ("GYE", "Guayaquil")):
            monitoring.add_target_city(session, programme, code, name, "ECU")
            for i, month in enumerate(MONTHS):
                for indicator in ("reached", "reached_undeclared"):
                    monitoring.set_value(
                        session, PROGRAMME, indicator, code, month, "actual", REACHED[code][i]
                    )
                monitoring.set_value(
                    session, PROGRAMME, "policies", code, month, "actual", RUNNING[code][i]
                )
            # targets: per quarter for the flow, for the year for the running total
            for quarter, target in (("2025-Q1", 100), ("2025-Q2", 120)):
                monitoring.set_value(session, PROGRAMME, "reached", code, quarter, "target", target)
                monitoring.set_value(
                    session, PROGRAMME, "reached_undeclared", code, quarter, "target", target
                )
            monitoring.set_value(session, PROGRAMME, "policies", code, "2025", "target", 20)
    return engine


def _rows(engine: Engine, period: str) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    report = monitoring.results(engine, PROGRAMME, period, "en")
    rows = {(r.indicator, r.city): (r.actual, r.target) for r in report.city_rows}
    rows |= {(r.indicator, "_T"): (r.actual, r.target) for r in report.headline}
    return rows


def test_a_semester_is_the_sum_of_its_months_for_a_flow(engine: Engine) -> None:
    s1 = _rows(engine, "2025-S1")
    assert s1[("reached", "QTO")] == (40 + 35 + 50 + 45 + 30 + 60, 100 + 120)
    q2 = _rows(engine, "2025-Q2")
    assert q2[("reached", "QTO")] == (45 + 30 + 60, 120)


def test_a_running_total_is_its_last_month(engine: Engine) -> None:
    s1 = _rows(engine, "2025-S1")
    assert s1[("policies", "QTO")][0] == 15
    assert s1[("policies", "GYE")][0] == 11
    q1 = _rows(engine, "2025-Q1")
    assert q1[("policies", "QTO")][0] == 8
    # the year's target (20) stands at December: not the first semester's, nor the first
    # quarter's (a running total judged in June against December's goal reads as a shortfall)
    assert s1[("policies", "QTO")][1] is None
    assert q1[("policies", "QTO")][1] is None


def test_an_undeclared_indicator_is_not_rolled_up(engine: Engine) -> None:
    s1 = _rows(engine, "2025-S1")
    assert s1[("reached_undeclared", "QTO")][0] is None
    # its monthly figure is still read, with the quarter's target (the old rule)
    march = _rows(engine, "2025-03")
    assert march[("reached_undeclared", "QTO")] == (50, 100)


def test_a_year_with_half_its_months_is_not_summed(engine: Engine) -> None:
    year = _rows(engine, "2025")
    assert year[("reached", "QTO")][0] is None  # six of twelve months: no figure
    # nor are its targets: Q1 and Q2 only (a year's goal of 220 would misstate the plan)
    assert year[("reached", "QTO")][1] is None
    assert year[("policies", "QTO")][0] is None  # no figure at December


def test_the_rolled_up_periods_are_offered(engine: Engine) -> None:
    periods = monitoring.results(engine, PROGRAMME, None, "en").periods
    assert {"2025-Q1", "2025-Q2", "2025-S1"} <= set(periods)
    assert "2025" in periods  # the year holds the quarters' targets


def _published(engine: Engine) -> dict[tuple[str, str], float | None]:
    """The flow's figure as every page prints it: (place, period) -> value (None: withheld)."""
    out: dict[tuple[str, str], float | None] = {}
    for period in monitoring.results(engine, PROGRAMME, None, "en").periods:
        report = monitoring.results(engine, PROGRAMME, period, "en")
        for row in report.city_rows:
            if row.indicator == "reached":
                out[(row.city, period)] = row.actual
        for row in report.headline:
            if row.indicator == "reached":
                out[("_T", period)] = row.actual
    return out


def test_a_small_month_does_not_come_back_from_its_quarter_and_semester(engine: Engine) -> None:
    """The attacker's LP over every printed figure: months add up to quarters, quarters to the
    semester, cities to the programme. GYE's February (3 people) must keep a wide interval."""
    printed = _published(engine)
    assert printed[("GYE", "2025-02")] is None  # withheld: 3 people
    assert printed[("QTO", "2025-S1")] == 260  # the city's sum stays printed
    places = ("QTO", "GYE", "_T")
    periods = [*MONTHS, "2025-Q1", "2025-Q2", "2025-S1"]
    cells = [(p, t) for p in places for t in periods]
    truth = {(c, MONTHS[i]): REACHED[c][i] for c in ("QTO", "GYE") for i in range(6)}
    for t in periods[6:]:
        inside = [m for m in MONTHS if window(t).start <= window(m).start <= window(t).end]
        for c in ("QTO", "GYE"):
            truth[(c, t)] = sum(truth[(c, m)] for m in inside)
    for t in periods:
        truth[("_T", t)] = truth[("QTO", t)] + truth[("GYE", t)]
    for cell in cells:  # what is printed is the truth
        if printed.get(cell) is not None:
            assert printed[cell] == truth[cell], cell
    unknown = [c for c in cells if printed.get(c) is None]
    column = {c: i for i, c in enumerate(unknown)}
    rows, rhs = [], []

    def equation(total: tuple[str, str], parts: list[tuple[str, str]]) -> None:
        row, b = np.zeros(len(unknown)), 0.0
        for cell, sign in [(total, 1.0), *[(p, -1.0) for p in parts]]:
            if cell in column:
                row[column[cell]] += sign
            else:
                b -= sign * float(printed[cell])  # type: ignore[arg-type]
        rows.append(row)
        rhs.append(b)

    for place in places:
        equation((place, "2025-Q1"), [(place, m) for m in MONTHS[:3]])
        equation((place, "2025-Q2"), [(place, m) for m in MONTHS[3:]])
        equation((place, "2025-S1"), [(place, "2025-Q1"), (place, "2025-Q2")])
    for t in periods:
        equation(("_T", t), [("QTO", t), ("GYE", t)])
    target = column[("GYE", "2025-02")]
    ends = []
    for sign in (1.0, -1.0):
        cost = np.zeros(len(unknown))
        cost[target] = sign
        found = linprog(cost, A_eq=np.array(rows), b_eq=np.array(rhs), bounds=(0, None))
        assert found.status in (0, 3)  # optimal, or unbounded above
        ends.append(sign * found.fun if found.status == 0 else float("inf"))
    low, high = ends
    assert low <= 0.0 + 1e-6 and high >= 3 + 3  # at least the rules' range either side


def test_periods_and_rollups_by_hand() -> None:
    assert enclosing("2025-05") == ["2025-Q2", "2025-S1", "2025"]
    assert enclosing("2025") == []
    months = {m: float(i + 1) for i, m in enumerate(MONTHS)}
    assert rolled_up(months, window("2025-S1"), "per_period") == 21.0
    assert rolled_up({**months, "2025-Q1": 100.0}, window("2025-S1"), "per_period") == 115.0
    del months["2025-04"]
    assert rolled_up(months, window("2025-S1"), "per_period") is None  # a month missing
    assert rolled_up(months, window("2025-S1"), "cumulative") == 6.0
    assert rolled_up(months, window("2025-S1"), "") is None


def test_an_unknown_accumulation_is_refused_by_name(tmp_path: Path) -> None:
    path = _framework(tmp_path / "f.yaml")
    path.write_text(path.read_text().replace("per_period", "acumulado"), encoding="utf-8")
    with pytest.raises(MonitoringError, match="accumulation acumulado: use per_period"):
        load_framework(path)


def test_a_monthly_5w_export_answers_for_its_quarter_in_the_cli(tmp_path: Path) -> None:
    """End to end with the shipped framework (people reached: per period): three months of a
    5W export, then ``programme results --period 2025-Q1`` prints their sum for the city."""
    from typer.testing import CliRunner

    from inclusive_cities.cli import app
    from inclusive_cities.monitoring.entry import import_5w

    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = init_database(url)
    with transaction(engine) as session:
        programme = monitoring.install_framework(session, load_framework())
        monitoring.add_target_city(session, programme, "QTO", "Quito", "ECU")
    lines = ["Month;Admin2;Indicator;New beneficiaries of the month"]
    lines += ["2025-01;Quito;people_reached_campaigns;1.200"]  # thousands, as 5W exports write
    lines += [
        "2025-02;Quito;people_reached_campaigns;340",
        "marzo 2025;Quito;people_reached_campaigns;95",
    ]
    path = tmp_path / "5w.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_5w(engine, path)
    result = CliRunner().invoke(
        app,
        ["-d", url, "--lang", "en", "programme", "results", "--period", "2025-Q1"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "People reached by" in line)
    assert "1,635" in row  # 1,200 + 340 + 95 (the headline: the programme's one city)
    months = monitoring.results(engine, "inclusive_cities", "2025-02", "en")
    assert (
        next(r.actual for r in months.city_rows if r.indicator == "people_reached_campaigns") == 340
    )
