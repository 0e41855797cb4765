"""The programme's typed breakdowns (IATI, HXL) are protected WITH the totals the pages show.

People reached in one semester: Colombia's cities A 29 (15 women, 14 men), C 3 (2, 1),
D 50 (30, 20); Peru's L 25 (13, 12). The pages (programme protection: cities add up to their
country) withhold C and, as its partner in Colombia's line, A. The export's breakdown by sex
was protected on its own (cities x sex with the programme's margins) and chose Peru's L as
C's partner: it published A's 15 women and 14 men, so A = 29, and Colombia's 82 - 29 - 50
gave C's 3 back. Every interval below is worked out with ``scipy.optimize.linprog`` on
equations written here from what each pattern publishes, not read from the code under test.
"""

from __future__ import annotations

import pandas as pd
from scipy.optimize import linprog

from inclusive_cities.monitoring.protect import (
    PeopleTable,
    withheld_cells,
    withheld_programme_cells,
)

T = "_T"
SPAN = "2025-S1"
CITIES = {
    ("COL", "A"): (15, 14),
    ("COL", "C"): (2, 1),
    ("COL", "D"): (30, 20),
    ("PER", "L"): (13, 12),
}
SEXES = ("female", "male")


def people(breakdowns: bool) -> PeopleTable:
    table = PeopleTable("reached")
    for place, split in CITIES.items():
        table.real[(place, SPAN)] = table.model[(place, SPAN)] = float(sum(split))
        if breakdowns:
            for sex, value in zip(SEXES, split, strict=True):
                table.breakdowns[("sex", place, SPAN, sex)] = float(value)
    for source in (table.model, table.real):  # countries and the programme, as results does
        for (place, span), value in list(source.items()):
            for margin in ((place[0], T), (T, T)):
                source[(margin, span)] = source.get((margin, span), 0.0) + value
    return table


def interval(shown_totals: set[str], shown_split: set[tuple[str, str]], target: list[int]):
    """min/max of the sum of unknowns ``target`` given the published figures.

    Unknowns: the 4 cities' totals (0-3) then each city's women and men (4-11). Published:
    country and programme totals (always: none is small), the cities' totals in
    ``shown_totals``, the sex cells in ``shown_split`` and the programme's margins by sex;
    each city's total is its women plus men (the attacker knows the split is complete)."""
    names = [c for _country, c in CITIES]
    index = {c: i for i, c in enumerate(names)}
    split = {(c, s): 4 + 2 * i + j for i, c in enumerate(names) for j, s in enumerate(SEXES)}
    rows, rhs = [], []

    def equation(coefficients: dict[int, float], value: float) -> None:
        row = [0.0] * 12
        for column, coefficient in coefficients.items():
            row[column] = coefficient
        rows.append(row)
        rhs.append(value)

    values = {c: sum(v) for (_country, c), v in CITIES.items()}
    for country in ("COL", "PER"):
        members = [c for (k, c) in CITIES if k == country]
        equation({index[c]: 1.0 for c in members}, float(sum(values[c] for c in members)))
    for city in names:
        equation({index[city]: 1.0, split[(city, "female")]: -1.0, split[(city, "male")]: -1.0}, 0)
        if city in shown_totals:
            equation({index[city]: 1.0}, float(values[city]))
    for (_country, city), cells in CITIES.items():
        for sex, value in zip(SEXES, cells, strict=True):
            if (city, sex) in shown_split:
                equation({split[(city, sex)]: 1.0}, float(value))
    for j, sex in enumerate(SEXES):
        equation({split[(c, sex)]: 1.0 for c in names}, float(sum(v[j] for v in CITIES.values())))
    cost = [0.0] * 12
    for column in target:
        cost[column] = 1.0
    low = linprog(cost, A_eq=rows, b_eq=rhs, bounds=(0, None))
    high = linprog([-c for c in cost], A_eq=rows, b_eq=rhs, bounds=(0, None))
    assert low.status == 0
    return round(float(low.fun), 6), (float("inf") if high.status == 3 else round(-high.fun, 6))


def shown(withheld: set[tuple[str, str, str, str]], split_hidden: set[tuple[str, str]]):
    totals = {c for (_k, c) in CITIES} - {city for _i, _k, city, _s in withheld}
    cells = {(c, s) for (_k, c) in CITIES for s in SEXES} - split_hidden
    return totals, cells


def test_protected_apart_the_breakdown_gives_a_withheld_city_back() -> None:
    pages = withheld_programme_cells([people(breakdowns=False)])
    assert {city for _i, _k, city, _s in pages} == {"A", "C"}
    frame = pd.DataFrame(
        [(c, s, v) for (_k, c), cells in CITIES.items() for s, v in zip(SEXES, cells, strict=True)]
        + [(c, T, sum(v)) for (_k, c), v in CITIES.items()]
        + [(T, s, sum(v[j] for v in CITIES.values())) for j, s in enumerate(SEXES)]
        + [(T, T, sum(sum(v) for v in CITIES.values()))],
        columns=["city", "category", "value"],
    )
    hidden = frame[withheld_cells(frame, ["city", "category"])]
    split_hidden = {
        (c, s) for c, s in zip(hidden["city"], hidden["category"], strict=True) if T not in (c, s)
    }
    assert ("A", "female") not in split_hidden  # what the old export published
    totals, cells = shown(pages, split_hidden)
    assert interval(totals, cells, [1]) == (3.0, 3.0)  # C's 3 exactly


def test_protected_together_no_small_count_comes_back() -> None:
    table = people(breakdowns=True)
    pages = withheld_programme_cells([table])
    split_hidden = {(city, category) for _d, city, _s, category in table.withheld_breakdowns}
    assert ("C", "female") in split_hidden and ("C", "male") in split_hidden
    assert all(
        dimension == "sex" and span == SPAN for dimension, _c, span, _k in table.withheld_breakdowns
    )
    totals, cells = shown(pages, split_hidden)
    assert "C" not in totals
    names = [c for _country, c in CITIES]
    c_female, c_male = 4 + 2 * names.index("C"), 5 + 2 * names.index("C")
    for target, value in (([1], 3), ([c_female], 2), ([c_male], 1)):
        low, high = interval(totals, cells, target)
        assert low <= 1e-6 and high >= value + 10 - 1e-6, (target, low, high)
