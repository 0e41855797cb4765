"""Secondary suppression shared among processes, and solves skipped when nothing can change.

Components share no relation, so two processes each solving and attacking their own give
the very set one process finds. A MIP whose fixed cells (what is already hidden, what needs
protection) already meet every row has that pattern as its only optimum: the solver returns
it without HiGHS, and ``milp`` on the same rows returns the same.
"""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from inclusive_cities.disclosure import secondary
from inclusive_cities.disclosure.attacks import differencing, lp_intervals
from inclusive_cities.disclosure.model import Cell, Key, build_relations
from inclusive_cities.disclosure.publication import primary_cells
from inclusive_cities.disclosure.rules import TOTAL, Rules
from inclusive_cities.disclosure.secondary import (
    MIP_OPTIONS,
    _assign,
    _in_processes,
    _Problem,
    _satisfies,
    _structure,
    parallel_solves,
    protect_verified,
    published_view,
)

GROUPS = ("venezuelan", "host", "other_foreign")


def city(neighbourhoods: int = 6, blocks: int = 8) -> tuple[dict[Key, Cell], dict[int, int | None]]:
    """Neighbourhoods of blocks with people by nationality; some blocks hold 1 to 4
    Venezuelans (primary cells), each neighbourhood its own linked component."""
    rng = np.random.default_rng(7)
    truth: dict[Key, Cell] = {}
    parents: dict[int, int | None] = {}

    def add(unit: int, counts: dict[str, int]) -> None:
        for group, value in (*counts.items(), (TOTAL, sum(counts.values()))):
            key = ("population", unit, "2024", TOTAL, TOTAL, group)
            truth[key] = Cell(key, float(value), value, "personas", False, len(truth))

    for hood in range(neighbourhoods):
        top = 1000 * (hood + 1)
        parents[top] = None
        sums = dict.fromkeys(GROUPS, 0)
        for b in range(1, blocks + 1):
            parents[top + b] = top
            counts = {
                "venezuelan": int(
                    rng.integers(1, 5) if rng.random() < 0.3 else rng.integers(15, 40)
                ),
                "host": int(rng.integers(30, 90)),
                "other_foreign": int(rng.integers(12, 30)),
            }
            add(top + b, counts)
            sums = {g: sums[g] + counts[g] for g in GROUPS}
        add(top, sums)
    return truth, parents


def test_two_processes_find_the_set_one_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    truth, parents = city()
    rules = Rules()
    relations = build_relations(truth, parents, rules)
    _baseline, primary, protected = primary_cells(truth, rules)
    assert len(protected) >= 6
    one, proven_one = protect_verified(truth, relations, set(primary), protected, rules)

    monkeypatch.setattr(secondary, "MIN_PARALLEL_CELLS", 0)  # a small city, shared anyway
    shape = _structure(truth, relations, protected, rules)
    pending = sorted({shape.member_of[k] for k in primary})
    assert len(_assign(pending, shape, 2)) == 2
    with parallel_solves(2):
        two, proven_two = protect_verified(truth, relations, set(primary), protected, rules)
    assert multiprocessing.active_children() == []

    assert two == one
    assert proven_two == proven_one == protected
    assert len(one) > len(primary)  # the secondary cells were chosen, by both
    # and the attacker gets nothing back from the pattern
    view = published_view(truth, one)
    assert lp_intervals(truth, view, relations, protected, rules) == []
    assert differencing(truth, view, relations, rules) == []


def test_the_groups_are_balanced_and_fixed() -> None:
    truth, parents = city(neighbourhoods=5, blocks=4)
    rules = Rules()
    relations = build_relations(truth, parents, rules)
    shape = _structure(truth, relations, set(), rules)
    pending = list(range(len(shape.components)))
    assert _assign(pending, shape, 2) == [pending]  # too small to pay for a process
    groups = [sorted(g) for g in _assign_all(pending, shape)]
    assert sorted(i for g in groups for i in g) == pending
    assert [len(g) for g in groups] == [3, 2]  # five alike components: 3 + 2


def _assign_all(pending: list[int], shape: secondary._Structure) -> list[list[int]]:
    saved = secondary.MIN_PARALLEL_CELLS
    secondary.MIN_PARALLEL_CELLS = 0
    try:
        return _assign(pending, shape, 2)
    finally:
        secondary.MIN_PARALLEL_CELLS = saved


def test_a_failing_worker_is_reported_and_none_is_left_behind() -> None:
    truth, parents = city(neighbourhoods=2, blocks=3)
    rules = Rules()
    relations = build_relations(truth, parents, rules)
    _baseline, primary, protected = primary_cells(truth, rules)
    shape = _structure(truth, relations, protected, rules)
    with pytest.raises(RuntimeError, match="IndexError"):
        _in_processes(shape, set(primary), set(), [[0], [len(shape.components) + 5]])
    assert multiprocessing.active_children() == []


def test_one_process_outside_the_commands_that_ask_for_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The web's lazy solve never forks: only ``parallel_solves`` raises the count."""
    assert secondary._workers() == 1
    monkeypatch.setenv(secondary.WORKERS_VARIABLE, "3")
    assert secondary._workers() == 1
    with parallel_solves() as workers:
        assert workers == secondary._workers() == 3
    monkeypatch.setenv(secondary.WORKERS_VARIABLE, "1")
    with parallel_solves() as workers:
        assert workers == 1
    assert secondary._workers() == 1


def block(ven: int, host: int, other: int) -> dict[Key, Cell]:
    counts = {"venezuelan": ven, "host": host, "other_foreign": other, TOTAL: ven + host + other}
    return {
        (k := ("population", 1, "2024", TOTAL, TOTAL, g)): Cell(k, float(v), v, "personas")
        for g, v in counts.items()
    }


def by_hand(problem: _Problem, fixed: set[Key]) -> set[Key]:
    """HiGHS on the problem's own rows, with what is fixed at 1."""
    low = np.array([1.0 if k in fixed or k in problem.need else 0.0 for k in problem.order])
    size, width = len(problem.order), problem.width  # cells, then relations' z (continuous)
    result = milp(
        problem.cost,
        constraints=[LinearConstraint(problem.base, problem.lower, np.inf)],
        integrality=np.r_[np.ones(size), np.zeros(width - size)],
        bounds=Bounds(np.r_[low, np.zeros(width - size)], np.ones(width)),
        options=MIP_OPTIONS,
    )
    assert result.x is not None
    return {k for k, y in zip(problem.order, result.x[:size], strict=True) if y > 0.5}


def key(group: str) -> Key:
    return ("population", 1, "2024", TOTAL, TOTAL, group)


def test_a_pattern_that_meets_every_row_is_returned_as_milp_would() -> None:
    """3 Venezuelans beside 100 hosts and 20 others: hiding them with the 20 others meets
    every row (the others can absorb 10), so it is the answer, with or without HiGHS."""
    truth = block(3, 100, 20)
    relations = build_relations(truth, {1: None}, Rules())
    problem = _Problem(
        frozenset(truth), [(r, r.members) for r in relations], truth, {key("venezuelan")}, Rules()
    )
    fixed = {key("venezuelan"), key("other_foreign")}
    pattern = np.array([1.0 if k in fixed else 0.0 for k in problem.order])
    assert _satisfies(problem.base, problem.wide.complete(pattern), problem.lower)  # no HiGHS
    assert problem.solve(fixed, []) == fixed == by_hand(problem, fixed)
    # a cut the pattern does not meet (hide the total or the hosts) sends it to HiGHS,
    # which hides the cheaper: the hosts (cost 1 + 100) rather than the total (1 + 123)
    cut = ({key(TOTAL): 1.0, key("host"): 1.0}, 1.0)
    assert problem.solve(fixed, [cut]) == fixed | {key("host")}


def test_a_pattern_that_misses_a_row_is_solved() -> None:
    """The Venezuelans alone leave their relation with one hidden member: not skipped."""
    truth = block(3, 100, 20)
    relations = build_relations(truth, {1: None}, Rules())
    problem = _Problem(
        frozenset(truth), [(r, r.members) for r in relations], truth, {key("venezuelan")}, Rules()
    )
    fixed = {key("venezuelan")}
    pattern = np.array([1.0 if k in fixed else 0.0 for k in problem.order])
    assert not _satisfies(problem.base, problem.wide.complete(pattern), problem.lower)
    assert problem.solve(fixed, []) == by_hand(problem, fixed) == fixed | {key("other_foreign")}


def test_no_live_relation_leaves_nothing_to_solve() -> None:
    """A relation with one valued member links nothing: no component, nothing added."""
    truth = block(3, 100, 20)
    for group in ("host", "other_foreign", TOTAL):
        truth[key(group)].value = None  # suppressed upstream: not the solver's to choose
    relations = build_relations(truth, {1: None}, Rules())
    shape = _structure(truth, relations, {key("venezuelan")}, Rules())
    assert shape.components == [] and shape.relations_of == {}
    assert shape.lines_of.get(key("venezuelan")) == ()
    hidden = {key("venezuelan")}
    assert protect_verified(truth, relations, hidden, {key("venezuelan")}, Rules())[0] == hidden
