"""F1b: a rate's ``n`` that counts only those who answered is at most its band's count.

``neet_youth[venezuelan]`` is published with ``n`` = the Venezuelans aged 15-24 who answered
(38 here), so their hidden count is at least 38. Beside a published total and published age
groups that is an upper bound on another hidden group: the block's 3 Venezuelans aged 0-14
share 43 people with the 15-24 (120 - 65 - 12), hence 0-14 <= 43 - 38 = 5, narrower than the
3 + 10 = 13 their range needs. The model states ``n = band`` only where it holds with equality
(38 = 40 does not), so the audit's LP used to give 0-14 the whole [0, 43] and said nothing.
Expected intervals are worked out by hand above and checked with ``scipy.optimize.linprog``
on equations written here, not read from the code under test.
"""

from __future__ import annotations

from scipy.optimize import linprog

from inclusive_cities.disclosure.attacks import lp_intervals
from inclusive_cities.disclosure.audit import lp_attack
from inclusive_cities.disclosure.model import Cell, Key, build_relations
from inclusive_cities.disclosure.rules import TOTAL, Rules
from inclusive_cities.disclosure.secondary import published_view

RULES = Rules()
AGES = {"0-14": 3, "15-24": 40, "25-64": 65, "65+": 12}


def ven(age: str = TOTAL) -> Key:
    return ("venezuelan_population", 1, "2024", TOTAL, age, TOTAL)


NEET = ("neet_youth", 1, "2024", TOTAL, TOTAL, "venezuelan")


def block(answered: int) -> dict[Key, Cell]:
    truth = {ven(a): Cell(ven(a), float(c), c, "personas") for a, c in AGES.items()}
    truth[ven()] = Cell(ven(), float(sum(AGES.values())), sum(AGES.values()), "personas")
    truth[NEET] = Cell(NEET, 100.0 * 9 / answered, answered, "%")
    return truth


def by_hand(answered: int) -> tuple[float, float]:
    """min/max of 0-14 given 0-14 + 15-24 = 43 and 15-24 >= answered (linprog)."""
    bounds = [(0, None), (answered, None)]
    low = linprog([1, 0], A_eq=[[1, 1]], b_eq=[43], bounds=bounds)
    high = linprog([-1, 0], A_eq=[[1, 1]], b_eq=[43], bounds=bounds)
    return float(low.fun), float(-high.fun)


def test_the_answered_count_bounds_a_hidden_age_group() -> None:
    truth = block(answered=38)
    relations = build_relations(truth, {1: None}, RULES)
    hidden = {ven("0-14"), ven("15-24")}
    shown = published_view(truth, hidden)
    assert shown.counts[NEET] == 38 and shown.has(ven()) and not shown.has(ven("0-14"))
    assert by_hand(38) == (0.0, 5.0)
    # the model's equalities alone (the old audit) see nothing
    assert lp_intervals(truth, shown, relations, [ven("0-14")], RULES) == []
    found = lp_attack(truth, shown, relations, set(), {ven("0-14")}, RULES)
    assert [(f.key, round(f.low, 6), round(f.high, 6)) for f in found] == [(ven("0-14"), 0.0, 5.0)]


def test_a_bound_far_below_the_band_narrows_nothing() -> None:
    """With 20 of the 40 answering, 0-14 can still be 0 .. 23 (>= 13): no finding."""
    truth = block(answered=20)
    relations = build_relations(truth, {1: None}, RULES)
    shown = published_view(truth, {ven("0-14"), ven("15-24")})
    assert by_hand(20) == (0.0, 23.0)
    assert lp_attack(truth, shown, relations, set(), {ven("0-14")}, RULES) == []
