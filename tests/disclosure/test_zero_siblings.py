"""A protected count whose siblings are all zero: its total carries the range, up the tree.

The medium demo's barrio marker was blank to the public: a block with 2 other-foreign people,
0 Venezuelans and 0 hosts asked its zero siblings to absorb a range of 10 (impossible), the
solver found no pattern and the fallback hid the whole linked component, every population
count of the city with it. Here a district D of two neighbourhoods: N1 holds that block (B2)
and a block with 4 Venezuelans (B3); N2's blocks (B6, B7) have no small count at all.

The attacker's interval is computed independently: the relations are written out below from
the table, and ``scipy.optimize.linprog`` minimises and maximises each protected cell over
every non-negative table that agrees with what is published.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from inclusive_cities.disclosure.model import Cell, Key
from inclusive_cities.disclosure.publication import Protection, compute
from inclusive_cities.disclosure.rules import TOTAL, Rules

NATIONALITIES = ("other_foreign", "venezuelan", "host")
SEXES = ("male", "female")
# block: (other_foreign, venezuelan, host), (male, female)
BLOCKS = {
    "B2": ((2, 0, 0), (1, 1)),
    "B3": ((12, 4, 130), (70, 76)),
    "B4": ((15, 25, 160), (98, 102)),
    "B5": ((11, 30, 210), (120, 131)),
    "B6": ((14, 40, 300), (170, 184)),
    "B7": ((19, 35, 280), (160, 174)),
}
UNITS = {"D": 1, "N1": 2, "N2": 3, "B2": 4, "B3": 5, "B4": 6, "B5": 7, "B6": 8, "B7": 9}
PARENTS = {"D": None, "N1": "D", "N2": "D", "B2": "N1", "B3": "N1", "B4": "N1", "B5": "N1"}
PARENTS |= {"B6": "N2", "B7": "N2"}


def pop(unit: str, nationality: str = TOTAL, sex: str = TOTAL) -> Key:
    return ("population", UNITS[unit], "2024", sex, TOTAL, nationality)


def ven(unit: str) -> Key:
    return ("venezuelan_population", UNITS[unit], "2024", TOTAL, TOTAL, TOTAL)


def table() -> dict[Key, int]:
    """Every count of the city, the upper levels summed from the blocks."""
    values: dict[Key, int] = {}
    for block, (by_nationality, by_sex) in BLOCKS.items():
        for nationality, count in zip(NATIONALITIES, by_nationality, strict=True):
            values[pop(block, nationality)] = count
        for sex, count in zip(SEXES, by_sex, strict=True):
            values[pop(block, sex=sex)] = count
        values[pop(block)] = sum(by_nationality)
        values[ven(block)] = by_nationality[1]
    for upper in ("N1", "N2", "D"):
        blocks = [b for b in BLOCKS if PARENTS[b] == upper or PARENTS[PARENTS[b] or ""] == upper]
        for nationality in (TOTAL, *NATIONALITIES):
            values[pop(upper, nationality)] = sum(values[pop(b, nationality)] for b in blocks)
        for sex in SEXES:
            values[pop(upper, sex=sex)] = sum(values[pop(b, sex=sex)] for b in blocks)
        values[ven(upper)] = sum(values[ven(b)] for b in blocks)
    return values


def equations(values: dict[Key, int]) -> list[tuple[Key, list[Key]]]:
    """(total, parts) of every additive relation the public knows, written from the table."""
    out: list[tuple[Key, list[Key]]] = []
    for unit in UNITS:
        out.append((pop(unit), [pop(unit, n) for n in NATIONALITIES]))
        out.append((pop(unit), [pop(unit, sex=s) for s in SEXES]))
        out.append((ven(unit), [pop(unit, "venezuelan")]))
        children = [u for u, p in PARENTS.items() if p == unit]
        if children:
            for nationality in (TOTAL, *NATIONALITIES):
                out.append((pop(unit, nationality), [pop(c, nationality) for c in children]))
            for sex in SEXES:
                out.append((pop(unit, sex=sex), [pop(c, sex=sex) for c in children]))
            out.append((ven(unit), [ven(c) for c in children]))
    for total, parts in out:
        assert values[total] == sum(values[p] for p in parts)
    return out


def attacker_interval(values: dict[Key, int], hidden: set[Key], target: Key) -> tuple[float, float]:
    """Smallest and largest value of ``target`` over every table the public cannot rule out."""
    unknowns = sorted(k for k in values if k in hidden)
    column = {k: i for i, k in enumerate(unknowns)}
    rows, rhs = [], []
    for total, parts in equations(values):
        row = np.zeros(len(unknowns))
        known = 0.0
        for key, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
            if key in column:
                row[column[key]] += sign
            else:
                known += sign * values[key]
        if row.any():
            rows.append(row)
            rhs.append(-known)
    cost = np.zeros(len(unknowns))
    cost[column[target]] = 1.0
    ends = []
    for sign in (1.0, -1.0):
        found = linprog(sign * cost, A_eq=np.array(rows), b_eq=np.array(rhs), bounds=(0, None))
        ends.append(np.inf if found.status == 3 else sign * found.fun)
    return ends[0], ends[1]


@pytest.fixture(scope="module")
def protected_city() -> tuple[dict[Key, int], Protection]:
    values = table()
    truth = {
        k: Cell(k, float(v), v, "personas", False, i) for i, (k, v) in enumerate(values.items())
    }
    parents = {UNITS[u]: (None if p is None else UNITS[p]) for u, p in PARENTS.items()}
    codes = {i: u for u, i in UNITS.items()}
    return values, compute(truth, parents, codes, Rules())


def test_blocks_without_small_counts_keep_their_population(
    protected_city: tuple[dict[Key, int], Protection],
) -> None:
    values, result = protected_city
    # the block of 2 people and the 4 Venezuelans are hidden (fewer than 10 people)
    assert {pop("B2"), pop("B2", "other_foreign"), pop("B3", "venezuelan")} <= result.hidden
    # the other neighbourhood's blocks publish their people: before the fix the zero siblings
    # made the component infeasible and every count of the city was hidden
    for block in ("B6", "B7"):
        assert pop(block) not in result.hidden, block
    published = [k for k in values if k[0] == "population" and k not in result.hidden]
    assert len(published) >= len(values) // 2


def test_the_attacker_cannot_narrow_a_protected_count(
    protected_city: tuple[dict[Key, int], Protection],
) -> None:
    values, result = protected_city
    rules = Rules()
    assert result.protected >= {pop("B2", "other_foreign"), pop("B3", "venezuelan"), ven("B3")}
    for target in sorted(result.protected):
        value = values[target]
        reach = max(rules.threshold, rules.relative_range * value)  # docs/disclosure.md
        low, high = attacker_interval(values, result.hidden, target)
        assert low <= max(0.0, value - reach) + 1e-6, (target, low, high)
        assert high >= value + reach - 1e-6, (target, low, high)
