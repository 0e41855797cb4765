"""The sum of a block's small migrant groups is a quantity to protect, not only each group.

Where a block's Venezuelan and other-foreign rows are both hidden, the published total minus
the published host row is their sum: 3 + 2 = "5 migrants live here" (for a rate, its ``n``).
Each figure expected below is worked out here from the table (by hand, or with
``scipy.optimize.linprog`` on equations written from the table's layout), never read from the
code under test; every test fails on the protection that guarded single cells only.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from inclusive_cities.disclosure.attacks import LP_INTERVAL, differencing, lp_intervals
from inclusive_cities.disclosure.derived import COMBINED_DIFFERENCE, combined_differencing
from inclusive_cities.disclosure.model import Cell, Key, build_relations
from inclusive_cities.disclosure.publication import compute
from inclusive_cities.disclosure.rules import TOTAL, Rules
from inclusive_cities.disclosure.secondary import published_view

RULES = Rules()
GROUPS = ("host", "venezuelan", "other_foreign")
MIGRANTS = "other_foreign+venezuelan"


def key(code: str, nationality: str = TOTAL, unit: int = 1) -> Key:
    return (code, unit, "2024", TOTAL, TOTAL, nationality)


def rate_block() -> dict[Key, Cell]:
    """Employment in one block: 40 hosts (30 employed), 3 Venezuelans (2), 2 others (1).
    The total is 33 of 45; the two migrant rows rest on 3 and 2 people (web rule: hidden)."""
    rows = {
        TOTAL: (100.0 * 33 / 45, 45),
        "host": (100.0 * 30 / 40, 40),
        "venezuelan": (100.0 * 2 / 3, 3),
        "other_foreign": (100.0 * 1 / 2, 2),
    }
    return {
        key("employment_rate", g): Cell(key("employment_rate", g), v, n, "%")
        for g, (v, n) in rows.items()
    }


def test_total_minus_host_gives_the_migrants_of_a_rate_and_is_withheld() -> None:
    truth = rate_block()
    relations = build_relations(truth, {1: None}, RULES)
    # the old pattern: the web rule hides the two small rows, nothing else
    old = published_view(
        truth, {key("employment_rate", "venezuelan"), key("employment_rate", "other_foreign")}
    )
    # by hand: n 45 - 40 = 5 migrants, (33 - 30) / 5 = 60 % of them employed
    assert old.counts[key("employment_rate")] - old.counts[key("employment_rate", "host")] == 5
    found = combined_differencing(truth, old, relations, RULES)
    assert [(f.key, f.attack, f.low, f.truth) for f in found] == [
        (key("employment_rate", MIGRANTS), COMBINED_DIFFERENCE, 5.0, 5.0)
    ]
    assert truth[key("employment_rate", MIGRANTS)].value == 100.0 * 3 / 5

    hidden = compute(truth, {1: None}, {1: "B1"}, RULES).hidden
    shown = published_view(truth, hidden)
    # the total or the host row goes with them, so 45 - 40 cannot be done
    assert not (shown.has(key("employment_rate")) and shown.has(key("employment_rate", "host")))
    assert (
        combined_differencing(truth, shown, build_relations(truth, {1: None}, RULES), RULES) == []
    )


UNITS = {"N1": 1, "B2": 2, "B3": 3}
PARENTS = {1: None, 2: 1, 3: 1}
# block: (host, venezuelan, other foreign); B3's 3 + 6 = 9 migrants are the small sum
BLOCKS = {"B2": (2, 12, 8), "B3": (59, 3, 6)}


def pop(unit: str, nationality: str = TOTAL) -> Key:
    return key("population", nationality, UNITS[unit])


def population() -> dict[Key, int]:
    values: dict[Key, int] = {}
    for block, counts in BLOCKS.items():
        for group, count in zip(GROUPS, counts, strict=True):
            values[pop(block, group)] = count
        values[pop(block)] = sum(counts)
    for group in (*GROUPS, TOTAL):
        values[pop("N1", group)] = sum(values[pop(b, group)] for b in BLOCKS)
    return values


def equations() -> list[tuple[Key, list[Key]]]:
    """Every additive relation the public knows, written by hand from the table's layout."""
    out = [(pop(u), [pop(u, g) for g in GROUPS]) for u in UNITS]
    for group in (*GROUPS, TOTAL):
        out.append((pop("N1", group), [pop(b, group) for b in BLOCKS]))
    return out


def interval(values: dict[Key, int], hidden: set[Key], targets: list[Key]) -> tuple[float, float]:
    """The attacker's smallest and largest sum of ``targets`` (scipy's linprog)."""
    unknowns = sorted(hidden)
    column = {k: i for i, k in enumerate(unknowns)}
    rows, rhs = [], []
    for total, parts in equations():
        row = np.zeros(len(unknowns))
        known = 0.0
        for cell, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
            if cell in column:
                row[column[cell]] += sign
            else:
                known += sign * values[cell]
        if row.any():
            rows.append(row)
            rhs.append(-known)
    cost = np.zeros(len(unknowns))
    for target in targets:
        cost[column[target]] = 1.0
    low = linprog(cost, A_eq=rows, b_eq=rhs, bounds=(0, None))
    high = linprog(-cost, A_eq=rows, b_eq=rhs, bounds=(0, None))
    assert low.status == 0
    return float(low.fun), (float("inf") if high.status == 3 else -float(high.fun))


def test_the_migrants_of_a_block_keep_their_range_as_a_sum() -> None:
    values = population()
    truth = {k: Cell(k, float(v), v, "personas") for k, v in values.items()}
    state = compute(truth, PARENTS, {v: k for k, v in UNITS.items()}, RULES)
    hidden = {k for k in state.hidden if k in values}
    migrants = [pop("B3", "venezuelan"), pop("B3", "other_foreign")]
    assert set(migrants) <= hidden
    # 9 migrants need +- max(10, 0.9): the attacker must not exclude 0 nor 19
    low, high = interval(values, hidden, migrants)
    assert low <= 1e-6 and high >= 9 + 10 - 1e-6
    for cell in migrants:  # and each group keeps its own range (floored at 0)
        low, high = interval(values, hidden, [cell])
        assert low <= 1e-6 and high >= values[cell] + 10 - 1e-6
    # the combined cell is modelled, always hidden, and the audit's LP sees the same interval
    combined = pop("B3", MIGRANTS)
    assert combined in state.protected and combined in state.hidden
    assert truth[combined].virtual and truth[combined].value == 9.0
    shown = published_view(state.truth, state.hidden)
    assert lp_intervals(state.truth, shown, state.relations, [combined], RULES) == []


def test_the_audit_narrows_the_sum_that_single_cells_left_open() -> None:
    """The pattern that protected single cells only: N1's and both blocks' migrant rows and
    both blocks' host rows hidden; published N1's 61 hosts and 90 people, B2's 22, B3's 68.

    By hand: host(B2) + host(B3) = 61 and host(B2) <= 22 (its block), so host(B3) is in
    [39, 61] and B3's migrants, 68 - host(B3), in [7, 29]: "at least 7 migrants live in B3"
    (truth 9, which needs 0 .. 19), while each group alone can still be 0 or 13 / 16."""
    values = population()
    truth = {k: Cell(k, float(v), v, "personas") for k, v in values.items()}
    relations = build_relations(truth, PARENTS, RULES)
    old = {pop(u, g) for u in ("B2", "B3") for g in GROUPS} | {
        pop("N1", "venezuelan"),
        pop("N1", "other_foreign"),
    }
    assert (values[pop("N1", "host")], values[pop("N1")]) == (61, 90)
    for cell in (pop("B3", "venezuelan"), pop("B3", "other_foreign")):
        low, high = interval(values, old, [cell])
        assert low <= 1e-6 and high >= values[cell] + 10 - 1e-6
    low, high = interval(values, old, [pop("B3", "venezuelan"), pop("B3", "other_foreign")])
    assert (round(low, 6), round(high, 6)) == (68 - 61, 68 - (61 - 22))
    shown = published_view(truth, old | {pop("B3", MIGRANTS)})  # never published
    found = lp_intervals(truth, shown, relations, [pop("B3", MIGRANTS)], RULES)
    assert [(f.key, f.attack, round(f.low, 6), round(f.high, 6)) for f in found] == [
        (pop("B3", MIGRANTS), LP_INTERVAL, 7.0, 29.0)
    ]


# Barrio 01001 of the medium demo (H5's trial): Venezuelans by age 0-14, 15-24, 25-64, 65+
AGES = {"0-14": 26, "15-24": 22, "25-64": 65, "65+": 5}
VEN = sum(AGES.values())  # 118
SEXES = {"female": 66, "male": VEN - 66}
POP = {"host": 1557, "venezuelan": VEN, "other_foreign": 3}


def ven(age: str = TOTAL, sex: str = TOTAL) -> Key:
    return ("venezuelan_population", 1, "2024", sex, age, TOTAL)


def barrio() -> dict[Key, Cell]:
    """Counts as stored, and two rates by nationality whose n is an age band of Venezuelans:
    employment (15-64: 22 + 65 = 87) and years of schooling (25+: 65 + 5 = 70)."""
    counts: dict[Key, float] = {ven(): VEN}
    counts.update({ven(age): c for age, c in AGES.items()})
    counts.update({ven(sex=sex): c for sex, c in SEXES.items()})
    counts.update({key("population", g): c for g, c in POP.items()})
    counts[key("population")] = sum(POP.values())
    truth = {k: Cell(k, float(v), int(v), "personas") for k, v in counts.items()}
    for code, value, n in (("employment_rate", 55.0, 87), ("years_schooling_25plus", 9.5, 70)):
        truth[key(code, "venezuelan")] = Cell(key(code, "venezuelan"), value, n, "%")
    return truth


def band_equations(shown: set[Key]) -> tuple[list[dict[Key, float]], list[float]]:
    """What the public knows, written by hand: the tables' sums, and each published rate's n
    as the sum of its age band."""
    rows: list[dict[Key, float]] = [
        {ven(): 1.0, **{ven(a): -1.0 for a in AGES}},
        {ven(): 1.0, **{ven(sex=s): -1.0 for s in SEXES}},
        {key("population"): 1.0, **{key("population", g): -1.0 for g in POP}},
        {ven(): 1.0, key("population", "venezuelan"): -1.0},
    ]
    rhs = [0.0] * 4
    for code, band in (
        ("employment_rate", ("15-24", "25-64")),
        ("years_schooling_25plus", ("25-64", "65+")),
    ):
        if key(code, "venezuelan") in shown:
            rows.append({ven(a): 1.0 for a in band})
            rhs.append(float(sum(AGES[a] for a in band)))
    return rows, rhs


def bounds(truth: dict[Key, Cell], shown: set[Key], target: Key) -> tuple[float, float]:
    """Smallest and largest value of ``target`` over the hand-written equations (linprog)."""
    rows, rhs = band_equations(shown)
    unknowns = sorted({k for row in rows for k in row if k not in shown})
    column = {k: i for i, k in enumerate(unknowns)}
    a_eq, b_eq = [], []
    for row, value in zip(rows, rhs, strict=True):
        line = np.zeros(len(unknowns))
        for cell, sign in row.items():
            if cell in column:
                line[column[cell]] += sign
            else:
                value -= sign * float(truth[cell].value or 0.0)
        a_eq.append(line)
        b_eq.append(value)
    cost = np.zeros(len(unknowns))
    cost[column[target]] = 1.0
    low = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
    high = linprog(-cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
    return float(low.fun), (float("inf") if high.status == 3 else -float(high.fun))


def test_the_n_of_a_rate_by_nationality_is_an_age_band_and_is_protected() -> None:
    truth = barrio()
    relations = build_relations(truth, {1: None}, RULES)
    # as published on the medium demo: the small ones and what the old solver hid beside them
    old = {ven(), ven("15-24"), ven("65+"), ven(sex="male")} | {
        key("population", "venezuelan"),
        key("population", "other_foreign"),
    }
    shown = {k for k in truth if k not in old and not truth[k].virtual}
    # by hand: 70 - 65 = 5 Venezuelans aged 65+, 87 - 65 = 22 aged 15-24
    assert bounds(truth, shown, ven("65+")) == (5.0, 5.0)
    assert bounds(truth, shown, ven("15-24")) == (22.0, 22.0)
    view = published_view(truth, old | {k for k, c in truth.items() if c.virtual and c.of is None})
    found = {(f.key, f.low) for f in differencing(truth, view, relations, RULES)}
    assert {(ven("65+"), 5.0), (ven("15-24"), 22.0)} <= found

    state = compute(truth, {1: None}, {1: "B1"}, RULES)
    shown = {k for k in truth if k not in state.hidden and not truth[k].virtual}
    for cell in (ven("65+"), key("population", "other_foreign")):  # 5 and 3: +- 10 each
        low, high = bounds(truth, shown, cell)
        assert low <= 1e-6 and high >= float(truth[cell].value or 0) + 10 - 1e-6, cell
    for cell in (ven(), ven("15-24"), ven(sex="male")):  # hidden beside them: not exact
        if cell not in shown:
            low, high = bounds(truth, shown, cell)
            assert high - low > 1e-6, cell


def test_an_age_group_with_nobody_counts_zero_in_its_band() -> None:
    """Medium demo block 100160020: no Venezuelan aged 65+ (no row at all). The band of
    years of schooling (25+) was left out for the missing row, yet the public reads it:
    30 - 14 - n(employment) 16 = 0 aged 65+, so n(schooling) 11 = aged 25-64 and 15-24 = 5.
    The band now counts the missing group as 0, and the solver protects the 5."""
    from inclusive_cities.disclosure.bands import BAND

    counts = {ven(): 30, ven("0-14"): 14, ven("15-24"): 5, ven("25-64"): 11}
    counts |= {ven(sex="female"): 16, ven(sex="male"): 14}
    truth = {k: Cell(k, float(v), int(v), "personas") for k, v in counts.items()}
    for code, value, n in (("employment_rate", 56.25, 16), ("years_schooling_25plus", 7.7, 11)):
        truth[key(code, "venezuelan")] = Cell(key(code, "venezuelan"), value, n, "%")
    relations = build_relations(dict(truth), {1: None}, RULES)
    bands = {r.total[0]: r.parts for r in relations if r.kind == BAND}
    assert bands == {
        "n(employment_rate)": (ven("15-24"), ven("25-64")),
        "n(years_schooling_25plus)": (ven("25-64"),),
    }
    state = compute(truth, {1: None}, {1: "B1"}, RULES)
    shown = {k for k in truth if k not in state.hidden and not truth[k].virtual}
    # what the public knows, by hand: x = (0-14, 15-24, 25-64, total, female, male)
    order = [ven("0-14"), ven("15-24"), ven("25-64"), ven(), ven(sex="female"), ven(sex="male")]
    rows = [[1, 1, 1, -1, 0, 0], [0, 0, 0, 1, -1, -1]]
    rhs = [0.0, 0.0]
    if key("employment_rate", "venezuelan") in shown:
        rows.append([0, 1, 1, 0, 0, 0])
        rhs.append(16.0)
    if key("years_schooling_25plus", "venezuelan") in shown:
        rows.append([0, 0, 1, 0, 0, 0])
        rhs.append(11.0)
    bounds = [(counts[c], counts[c]) if c in shown else (0, None) for c in order]
    target = np.zeros(len(order))
    target[1] = 1.0
    low = linprog(target, A_eq=rows, b_eq=rhs, bounds=bounds).fun
    high = -linprog(-target, A_eq=rows, b_eq=rhs, bounds=bounds).fun
    assert ven("15-24") in state.hidden
    assert low <= 1e-6 and high >= 5 + 10 - 1e-6, (low, high)
