"""The attacker's LP, now proving many cells per solve, against ``scipy.optimize.linprog``.

``lp_intervals`` skips a cell's own LP when another table it solved already carries the cell
to an end of its range (a feasible table proves that end cannot be excluded). Whatever it
skips, the cells it reports narrowed and their intervals must be exactly what an attacker
finds by minimising and maximising each protected cell over every non-negative table that
agrees with what is published, here with linprog on equations written from the table.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from inclusive_cities.disclosure.attacks import _kept_prices, lp_intervals, protection_cuts
from inclusive_cities.disclosure.model import Cell, Key, build_relations
from inclusive_cities.disclosure.rules import TOTAL, Rules
from inclusive_cities.disclosure.secondary import published_view

# a neighbourhood N of six blocks: (venezuelan, other foreign, host); small counts in B1, B2,
# B4 and B6, one block whose only people are 3 Venezuelans (B6); never two small migrant
# groups in one block (their sum would be a combined cell, model.combined_cells)
BLOCKS = {
    "B1": (4, 12, 80),
    "B2": (7, 14, 45),
    "B3": (25, 30, 150),
    "B4": (1, 16, 0),
    "B5": (40, 11, 300),
    "B6": (3, 0, 0),
}
UNITS = {"N": 1} | {b: i + 2 for i, b in enumerate(BLOCKS)}
PARENTS = {1: None} | {UNITS[b]: 1 for b in BLOCKS}
GROUPS = ("venezuelan", "other_foreign", "host")


def pop(unit: str, group: str = TOTAL) -> Key:
    return ("population", UNITS[unit], "2024", TOTAL, TOTAL, group)


def table() -> dict[Key, int]:
    values: dict[Key, int] = {}
    for block, counts in BLOCKS.items():
        for group, count in zip(GROUPS, counts, strict=True):
            values[pop(block, group)] = count
        values[pop(block)] = sum(counts)
    for group in (*GROUPS, TOTAL):
        values[pop("N", group)] = sum(values[pop(b, group)] for b in BLOCKS)
    return values


def equations() -> list[tuple[Key, list[Key]]]:
    out = [(pop(u), [pop(u, g) for g in GROUPS]) for u in UNITS]
    out += [(pop("N", g), [pop(b, g) for b in BLOCKS]) for g in (*GROUPS, TOTAL)]
    return out


def linprog_interval(values: dict[Key, int], hidden: set[Key], target: Key) -> tuple[float, float]:
    unknowns = sorted(hidden)
    column = {k: i for i, k in enumerate(unknowns)}
    rows, rhs = [], []
    for total, parts in equations():
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


SMALL = [pop(b, g) for b in BLOCKS for g in GROUPS if 0 < table()[pop(b, g)] < 10]
PATTERNS = [
    # each small cell with one sibling and its block total
    {pop("B1", "venezuelan"), pop("B1", "host"), pop("B2", "venezuelan"), pop("B2", "host")},
    # small cells hidden with their totals and a second block per column
    set(SMALL) | {pop("B1"), pop("B2"), pop("B4"), pop("B6"), pop("B3", "venezuelan")},
    # a wide pattern: every small cell, two more blocks' rows and the neighbourhood's groups
    set(SMALL)
    | {pop(b, g) for b in ("B3", "B5") for g in GROUPS}
    | {pop("N", g) for g in GROUPS}
    | {pop("B1", "host"), pop("B2", "host"), pop("B4"), pop("B6")},
]


@pytest.mark.parametrize("pattern", range(len(PATTERNS)))
def test_narrowed_cells_and_intervals_are_the_attackers(pattern: int) -> None:
    values = table()
    truth = {
        k: Cell(k, float(v), v, "personas", False, i) for i, (k, v) in enumerate(values.items())
    }
    hidden = PATTERNS[pattern]
    relations = build_relations(truth, PARENTS, Rules())
    assert {r.kind for r in relations} == {"nationality", "geography"}
    protected = {k for k in SMALL if k in hidden}
    found = lp_intervals(truth, published_view(truth, hidden), relations, protected, Rules())
    expected = {}
    for target in sorted(protected):
        low, high = linprog_interval(values, hidden, target)
        value = values[target]
        reach = max(10.0, 0.1 * value)  # docs/disclosure.md: ± max(10, 10 %), floored at 0
        if low > max(0.0, value - reach) + 1e-6 or high < value + reach - 1e-6:
            expected[target] = (low, high)
    assert {f.key for f in found} == set(expected)
    for finding in found:
        assert (finding.low, finding.high) == pytest.approx(expected[finding.key])
    # the solver's rounds skip the exact end of a side already proven: same cells, and each
    # reported end is the attacker's own or, on a proven side, its end of the range
    quick = lp_intervals(truth, published_view(truth, hidden), relations, protected, Rules(), False)
    assert {f.key for f in quick} == set(expected)
    for finding in quick:
        low, high = expected[finding.key]
        value = values[finding.key]
        assert finding.low == pytest.approx(low) or low <= max(0.0, value - 10) + 1e-6
        assert finding.high == pytest.approx(high) or high >= value + 10 - 1e-6
    assert len(protected) >= 2


def test_every_pattern_checks_something_narrowed_and_something_protected() -> None:
    """The patterns above are not trivial: across them, linprog finds cells narrowed and
    cells protected, and at least one narrowed on one side only."""
    values = table()
    narrowed, protected, one_side = 0, 0, 0
    for hidden, target in itertools.product(PATTERNS, SMALL):
        if target not in hidden:
            continue
        low, high = linprog_interval(values, hidden, target)
        value = values[target]
        down = low > max(0.0, value - 10) + 1e-6
        up = high < value + 10 - 1e-6
        narrowed += down or up
        protected += not (down or up)
        one_side += down != up
    assert narrowed and protected and one_side


def test_cuts_from_the_kept_prices_hold_for_every_protecting_pattern() -> None:
    """protection_cuts reads its prices from lp_intervals' own narrowing LPs (no LP again).
    Each cut must exclude the narrowed pattern and hold for every pattern that protects its
    cell (docs/disclosure.md), here every superset with up to two more cells of the blocks
    around it, by linprog."""
    values = table()
    truth = {
        k: Cell(k, float(v), v, "personas", False, i) for i, (k, v) in enumerate(values.items())
    }
    hidden = PATTERNS[0]
    relations = build_relations(truth, PARENTS, Rules())
    view = published_view(truth, hidden)
    protected = {k for k in SMALL if k in hidden}
    found = lp_intervals(truth, view, relations, protected, Rules())
    assert found
    for finding in found:  # the prices of the side that failed were kept
        side = 1.0 if finding.high < finding.truth + 10 - 1e-6 else -1.0
        assert _kept_prices(relations, view, finding.key, side) is not None
    cuts = protection_cuts(truth, view, relations, found, Rules())
    assert {c.target for c in cuts} == {f.key for f in found}
    near = {UNITS[u] for u in ("N", "B1", "B2", "B3")}  # where a protecting pattern can look
    others = sorted(k for k in set(values) - hidden if k[1] in near)
    checked = 0
    for cut in cuts:
        assert sum(cut.weights.get(k, 0.0) for k in hidden) < cut.need - 1e-6
        value = values[cut.target]
        for size in range(3):
            for extra in itertools.combinations(others, size):
                pattern = hidden | set(extra)
                low, high = linprog_interval(values, pattern, cut.target)
                if low <= max(0.0, value - 10) + 1e-6 and high >= value + 10 - 1e-6:
                    checked += 1
                    assert sum(cut.weights.get(k, 0.0) for k in pattern) >= cut.need - 1e-6
    assert checked >= 3  # the check is not empty
