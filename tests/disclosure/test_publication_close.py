"""``publication.close`` looks again only at the relations a pass touched (issue #21).

The closure used to rebuild the public view and walk every relation on every pass; it now
drops the new cells from the view and re-reads only relations holding one of them. The set
it ends with must be the one full passes give (written here the old way, independently), and
no relation of the result may hold exactly one hidden member (counted here member by member).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from inclusive_cities.disclosure.attacks import differencing
from inclusive_cities.disclosure.derived import combined_differencing
from inclusive_cities.disclosure.model import Cell, Key, Relation, always_hidden, build_relations
from inclusive_cities.disclosure.publication import close, dependants
from inclusive_cities.disclosure.rules import TOTAL, Rules
from inclusive_cities.disclosure.secondary import published_view

# a neighbourhood N of five blocks (venezuelan, other foreign, host), with odd shapes: a block
# of 3 Venezuelans only, one with nobody foreign, a block whose host count is 999 people
BLOCKS = {
    "B1": (4, 12, 80),
    "B2": (17, 14, 45),
    "B3": (25, 30, 150),
    "B4": (0, 16, 999),
    "B5": (3, 0, 0),
}
UNITS = {"N": 1} | {b: i + 2 for i, b in enumerate(BLOCKS)}
PARENTS: dict[int, int | None] = {1: None} | {UNITS[b]: 1 for b in BLOCKS}
GROUPS = ("venezuelan", "other_foreign", "host")


def pop(unit: str, group: str = TOTAL) -> Key:
    return ("population", UNITS[unit], "2024", TOTAL, TOTAL, group)


def city() -> tuple[dict[Key, Cell], list[Relation]]:
    values: dict[Key, int] = {}
    for block, counts in BLOCKS.items():
        for group, count in zip(GROUPS, counts, strict=True):
            values[pop(block, group)] = count
        values[pop(block)] = sum(counts)
    for group in (*GROUPS, TOTAL):
        values[pop("N", group)] = sum(values[pop(b, group)] for b in BLOCKS)
    truth = {
        k: Cell(k, float(v), v, "personas", False, i) for i, (k, v) in enumerate(values.items())
    }
    return truth, build_relations(truth, PARENTS, Rules())


def full_passes(
    truth: dict[Key, Cell],
    relations: list[Relation],
    hidden: set[Key],
    rules: Rules,
    dependants_of: Callable[[dict[Key, Cell], set[Key], Rules], set[Key]] = dependants,
) -> set[Key]:
    """The closure as it was: every pass rebuilds the view and reads every relation
    (``dependants_of``: the rule for figures computed from hidden ones, the current one by
    default; test_speed_setup passes the old one)."""
    hidden = set(hidden)
    while True:
        more = dependants_of(truth, hidden, rules) - hidden
        view = published_view(truth, hidden)
        for finding in differencing(truth, view, relations, rules) + combined_differencing(
            truth, view, relations, rules
        ):
            if truth[finding.key].of is not None and not always_hidden(truth[finding.key], rules):
                continue
            visible = [
                k for k in finding.via if isinstance(k, tuple) and k not in hidden and k in truth
            ]
            if visible:
                more.add(min(visible, key=lambda k: abs(truth[k].value or 0.0)))
        if not more:
            return hidden
        hidden |= more


STARTS = [
    {pop("B5", "venezuelan")},  # a chain: the block's row, then the neighbourhood's column
    {pop("B1", "venezuelan"), pop("B2", "other_foreign")},
    {pop("B1", "venezuelan"), pop("B1", "other_foreign")},  # two small groups side by side
    {pop("N", "venezuelan"), pop("B4")},
]


@pytest.mark.parametrize("start", range(len(STARTS)))
def test_the_incremental_closure_ends_where_full_passes_do(start: int) -> None:
    truth, relations = city()
    rules = Rules()
    closed = close(truth, relations, STARTS[start], rules)
    assert closed == full_passes(truth, relations, STARTS[start], rules)
    assert closed >= STARTS[start]
    for relation in relations:  # nothing comes back by subtraction
        assert sum(k in closed for k in relation.members) != 1, relation


def test_a_lone_hidden_block_count_takes_the_smallest_members_with_it() -> None:
    """B5's 3 Venezuelans alone: its row gives them back (total 3 − 0 − 0), so the smallest
    visible member of that row goes (host 0, before other foreign 0: members in order);
    the neighbourhood's Venezuelan column gives them back too, so its smallest visible member
    goes (B4's 0 Venezuelans)."""
    truth, relations = city()
    closed = close(truth, relations, {pop("B5", "venezuelan")}, Rules())
    assert {pop("B5", "host"), pop("B4", "venezuelan")} <= closed
    assert pop("B3") not in closed and pop("N") not in closed


@pytest.mark.parametrize("start", range(len(STARTS)))
def test_differencing_among_some_relations_finds_what_the_full_count_finds_there(
    start: int,
) -> None:
    """``differencing(..., among=...)`` counts members one by one over the relations named;
    over all of them it finds exactly what the one numpy pass over every relation finds, and
    over a part, that part's findings."""
    truth, relations = city()
    rules = Rules()
    view = published_view(truth, STARTS[start])
    every = differencing(truth, view, relations, rules)
    assert every  # each start gives something away
    assert differencing(truth, view, relations, rules, range(len(relations))) == every
    some = [i for i, r in enumerate(relations) if r.kind == "geography"]
    found = differencing(truth, view, relations, rules, some)
    by_hand = [
        f for f in every if any(set(f.via) | {f.key} == set(relations[i].members) for i in some)
    ]
    assert found == by_hand
