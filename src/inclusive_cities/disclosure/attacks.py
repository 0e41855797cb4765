"""The attacker: what a member of the public can work out about hidden cells.

Each attack reads only published figures (values, their ``n``, marker scores) and the
public structure (which cells add up to which); the auditor then compares the result with
the true value, so a finding is a real recovery, never a guess.
"""

from __future__ import annotations

import math
import os
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
from scipy import sparse

from inclusive_cities.disclosure.model import Cell, Finding, Key, Published, Relation
from inclusive_cities.disclosure.rules import TOTAL, Rules

SHARE_TIMES_TOTAL = "share × total"
TOTAL_MINUS_PARTS = "total − parts"
SUM_OF_PARTS = "sum of parts"
PARENT_MINUS_CHILDREN = "parent − visible children"
LINKED_TABLE = "linked table"
NORMALISED_INVERSE = "inverse of normalised score"
LP_INTERVAL = "LP interval"
DEPENDENCY = "published figure computed from a hidden one"


@dataclass(frozen=True)
class ScoreCell:
    """A published marker score of one unit at one node, with the node's goalposts."""

    run: int
    node: str
    unit: int
    score: float | None
    lower: float | None = None
    upper: float | None = None
    direction: str = "higher_is_better"
    scale: tuple[float, float] = (0.0, 100.0)


def _hidden(key: Key, truth: dict[Key, Cell], published: Published) -> bool:
    cell = truth.get(key)
    return cell is not None and cell.value is not None and not published.has(key)


def share_times_total(truth: dict[Key, Cell], published: Published, rules: Rules) -> list[Finding]:
    """A share of a group and the total it is a share of give the group's count, and back."""
    out: list[Finding] = []
    for key, share in published.values.items():
        pair = rules.shares.get(key[0])
        if pair is None:
            continue
        count_key = (pair[0], *key[1:])
        total_key = (pair[1], *key[1:])
        if _hidden(count_key, truth, published) and published.has(total_key):
            guess = share / 100.0 * published.values[total_key]
            target, via = count_key, (key, total_key)
        elif _hidden(total_key, truth, published) and published.has(count_key) and share > 0:
            guess = published.values[count_key] * 100.0 / share
            target, via = total_key, (key, count_key)
        else:
            continue
        value = truth[target].value
        assert value is not None
        if rules.recovered(guess, value):
            out.append(Finding(target, SHARE_TIMES_TOTAL, value, guess, guess, _names(via)))
    return out


def differencing(
    truth: dict[Key, Cell],
    published: Published,
    relations: Iterable[Relation],
    rules: Rules,
    among: Iterable[int] | None = None,
) -> list[Finding]:
    """A relation with exactly one hidden member gives it away by subtraction or addition.

    For means the attacker works on ``value x n`` (the group's total) and on ``n``, which
    add up as counts do; a hidden member's ``n`` comes out of the same relation. ``among``:
    only these relations (indices into ``relations``), counted member by member (the
    closure's later passes look at the few relations a pass touched).
    """
    from inclusive_cities.disclosure.derived import upstream_differencing

    relations = relations if isinstance(relations, list) else list(relations)
    if among is None:
        # only a relation with one hidden member, or none and one suppressed upstream, can
        # give anything away: counted for every relation at once, the rest is never looked at
        hidden_count, upstream_count = _layout(relations, truth).counts(published)
        chosen = np.flatnonzero(
            (hidden_count == 1) | ((hidden_count == 0) & (upstream_count == 1))
        ).tolist()
    else:
        hidden_count, upstream_count = np.zeros(len(relations), np.int64), None
        chosen = []
        for index in among:
            members = relations[index].members
            count = sum(_hidden(k, truth, published) for k in members)
            upstream = sum(
                truth[k].value is None and truth[k].n != 0 and k not in published.values
                for k in members
                if k in truth
            )
            hidden_count[index] = count
            if count == 1 or (count == 0 and upstream == 1):
                chosen.append(index)
    out: list[Finding] = []
    for index in chosen:
        relation = relations[index]
        if hidden_count[index] == 0:  # its lone hidden member was suppressed upstream
            out.extend(upstream_differencing(truth, published, relation, rules))
            continue
        target = next(k for k in relation.members if _hidden(k, truth, published))
        others = [k for k in relation.members if k != target]
        sign = {k: (1.0 if k == relation.total else -1.0) for k in relation.members}
        values = {k: published.values.get(k, 0.0) for k in others}
        if relation.quantity == "count":
            rest = sum(sign[k] * values[k] for k in others)
            guess = -rest / sign[target]
        else:
            if any(k in published.values and k not in published.counts for k in others):
                continue
            ns = {k: float(published.counts.get(k, 0)) for k in others}
            n_target = -sum(sign[k] * ns[k] for k in others) / sign[target]
            if n_target <= 0:
                continue
            mass = -sum(sign[k] * values[k] * ns[k] for k in others) / sign[target]
            guess = mass / n_target
        value = truth[target].value
        assert value is not None
        if rules.recovered(guess, value):
            out.append(
                Finding(target, _label(relation, target), value, guess, guess, _names(others))
            )
    return out


class _Layout:
    """Relations as flat arrays of member numbers: counting every relation's hidden members
    is then one numpy pass (``differencing`` runs a dozen times per ``publish``, over 116,615
    relations on the medium demo, and was a fifth of its time member by member)."""

    def __init__(self, relations: list[Relation], truth: dict[Key, Cell]) -> None:
        self.relations, self.truth = relations, truth
        self.size = _size(self)
        number: dict[Key, int] = {}
        flat = [number.setdefault(k, len(number)) for r in relations for k in r.members]
        self.members = np.array(flat, dtype=np.int64)
        sizes = np.fromiter((len(r.members) for r in relations), np.int64, len(relations))
        self.starts = np.cumsum(sizes) - sizes
        self.keys = list(number)
        cells = [truth.get(k) for k in self.keys]
        self.valued = np.array([c is not None and c.value is not None for c in cells], bool)
        self.upstream = np.array(
            [c is not None and c.value is None and c.n != 0 for c in cells], bool
        )
        self.owner = np.repeat(np.arange(len(relations)), sizes)
        counted = np.array([r.quantity == "count" for r in relations], bool)
        self.counted = np.repeat(counted, sizes)

    @classmethod
    def cut(cls, whole: _Layout, subset: RelationSubset) -> _Layout:
        """The layout of some of ``whole``'s relations, cut from its arrays: the same members,
        keys (numbered in order of first appearance) and flags as laying them out anew, with
        no Python step per member (each round of the solver lays out its components'
        relations: seconds on the medium demo)."""
        layout = cls.__new__(cls)
        layout.relations, layout.truth = subset, whole.truth
        positions = subset.positions
        every = np.diff(np.r_[whole.starts, len(whole.members)])
        sizes = every[positions]
        starts = np.cumsum(sizes) - sizes
        total = int(sizes.sum())
        offsets = np.repeat(whole.starts[positions] - starts, sizes) + np.arange(total)
        flat = whole.members[offsets]
        numbers, first = np.unique(flat, return_index=True)
        order = numbers[np.argsort(first, kind="stable")]
        renumber = np.empty(len(whole.keys), np.int64)
        renumber[order] = np.arange(len(order))
        layout.members = renumber[flat]
        layout.starts = starts
        keys = whole.keys
        layout.keys = [keys[i] for i in order.tolist()]
        layout.valued = whole.valued[order]
        layout.upstream = whole.upstream[order]
        layout.owner = np.repeat(np.arange(len(positions)), sizes)
        layout.counted = whole.counted[offsets]
        layout.size = _size(layout)
        return layout

    def hidden(self, published: Published) -> np.ndarray:
        """Per key number: a stored figure the public does not read (``_hidden``)."""
        shown = np.fromiter((k in published.values for k in self.keys), bool, len(self.keys))
        return self.valued & ~shown

    def counts(self, published: Published) -> tuple[np.ndarray, np.ndarray]:
        """Per relation: its hidden members, and its members suppressed upstream unpublished."""
        if not len(self.starts):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        shown = np.fromiter((k in published.values for k in self.keys), bool, len(self.keys))
        hidden = (self.valued & ~shown).astype(np.int64)[self.members]
        upstream = (self.upstream & ~shown).astype(np.int64)[self.members]
        return np.add.reduceat(hidden, self.starts), np.add.reduceat(upstream, self.starts)


class RelationSubset(list[Relation]):
    """Some relations of a larger list, in its order, with their positions in it: their
    layout is cut from the larger list's (:meth:`_Layout.cut`) instead of laid out anew."""

    def __init__(self, whole: list[Relation], positions: Iterable[int]) -> None:
        self.positions = np.fromiter(positions, dtype=np.int64)
        super().__init__(whole[i] for i in self.positions.tolist())
        self.whole = whole


_LAYOUTS: list[_Layout] = []
_WHOLE: list[_Layout] = []
"""The last layout subsets were cut from (kept beside the last layout asked for)."""


def _hidden_in(
    relations: list[Relation], truth: dict[Key, Cell], published: Published
) -> dict[Key, list[int]]:
    """Hidden cell -> the count relations holding it (indices into ``relations``, ascending).

    The last answer is kept: the solver's rounds ask ``lp_intervals`` then
    ``protection_cuts`` about the very same view (half a second each on the medium demo)."""
    if _HIDDEN_IN:
        last = _HIDDEN_IN[0]
        if (
            last.relations is relations
            and last.truth is truth
            and last.published is published
            and last.size == (len(relations), len(truth), len(published.values))
        ):
            return last.hidden_in
    _HIDDEN_IN[:] = [_HiddenIn(relations, truth, published)]
    return _HIDDEN_IN[0].hidden_in


class _HiddenIn:
    """One answer of :func:`_hidden_in` with what it was asked about."""

    def __init__(
        self, relations: list[Relation], truth: dict[Key, Cell], published: Published
    ) -> None:
        self.relations, self.truth, self.published = relations, truth, published
        self.size = (len(relations), len(truth), len(published.values))
        self.hidden_in = _count_relations_holding(relations, truth, published)


_HIDDEN_IN: list[_HiddenIn] = []


def _count_relations_holding(
    relations: list[Relation], truth: dict[Key, Cell], published: Published
) -> dict[Key, list[int]]:
    layout = _layout(relations, truth)
    where = np.flatnonzero(layout.hidden(published)[layout.members] & layout.counted)
    hidden_in: dict[Key, list[int]] = defaultdict(list)
    keys = layout.keys
    for number, index in zip(
        layout.members[where].tolist(), layout.owner[where].tolist(), strict=True
    ):
        hidden_in[keys[number]].append(index)
    return hidden_in


def _size(layout: _Layout) -> tuple[int, int]:
    """Lengths of the lists a layout was built from: a list grown since is laid out again."""
    return len(layout.relations), len(layout.truth)


def _layout(relations: list[Relation], truth: dict[Key, Cell]) -> _Layout:
    """The layout of these very relations over this very truth (the last one is kept: the
    solve, its closure and the audit ask for the same lists again and again)."""
    for kept in (*_LAYOUTS, *_WHOLE):
        if kept.relations is relations and kept.truth is truth and kept.size == _size(kept):
            return kept
    if isinstance(relations, RelationSubset):
        whole = _layout(relations.whole, truth)
        _WHOLE[:] = [whole]
        _LAYOUTS[:] = [_Layout.cut(whole, relations)]
    else:
        _LAYOUTS[:] = [_Layout(relations, truth)]
    return _LAYOUTS[0]


def _label(relation: Relation, target: Key) -> str:
    if relation.kind == "linked":
        return LINKED_TABLE
    if relation.kind == "geography":
        return PARENT_MINUS_CHILDREN if target != relation.total else SUM_OF_PARTS
    return SUM_OF_PARTS if target == relation.total else TOTAL_MINUS_PARTS


def normalised_inverse(
    truth: dict[Key, Cell],
    published: Published,
    scores: Iterable[ScoreCell],
    periods: dict[int, str],
    rules: Rules,
) -> list[Finding]:
    """A score normalised linearly between published goalposts gives back the raw value.

    Without goalposts the attacker fits the line through two visible (value, score)
    pairs of the same node; either way a score strictly inside the scale inverts.
    """
    out: list[Finding] = []
    by_node: dict[tuple[int, str], list[ScoreCell]] = defaultdict(list)
    for cell in scores:
        by_node[(cell.run, cell.node)].append(cell)
    for (run, node), cells in by_node.items():
        period = periods.get(run)
        if period is None:
            continue

        def key_of(unit: int, node: str = node, period: str = period) -> Key:
            return (node, unit, period, TOTAL, TOTAL, TOTAL)

        line = _goalpost_line(cells[0]) or _fitted_line(cells, published, key_of)
        if line is None:
            continue
        low, high = cells[0].scale
        for cell in cells:
            key = key_of(cell.unit)
            if cell.score is None or not _hidden(key, truth, published):
                continue
            if not low < cell.score < high:
                continue
            guess = line[0] + line[1] * cell.score
            value = truth[key].value
            assert value is not None
            if rules.recovered(guess, value):
                via = f"score[run {run}, {node}, unit {cell.unit}]"
                out.append(Finding(key, NORMALISED_INVERSE, value, guess, guess, (via,)))
    return out


def _goalpost_line(cell: ScoreCell) -> tuple[float, float] | None:
    """raw = a + b x score from the goalposts the page shows."""
    if cell.lower is None or cell.upper is None or cell.upper == cell.lower:
        return None
    low, high = cell.scale
    span = (cell.upper - cell.lower) / (high - low)
    if cell.direction.startswith("lower"):
        return cell.upper + span * low, -span
    return cell.lower - span * low, span


def _fitted_line(
    cells: list[ScoreCell], published: Published, key_of: object
) -> tuple[float, float] | None:
    assert callable(key_of)
    low, high = cells[0].scale
    pairs = [
        (c.score, published.values[key_of(c.unit)])
        for c in cells
        if c.score is not None and low < c.score < high and published.has(key_of(c.unit))
    ]
    if len({p[0] for p in pairs}) < 2:
        return None
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    slope, intercept = np.polyfit(x, y, 1)
    if np.max(np.abs(intercept + slope * x - y)) > 1e-6 * max(1.0, float(np.max(np.abs(y)))):
        return None  # not a linear normalisation: the inverse does not apply
    return float(intercept), float(slope)


def lp_intervals(
    truth: dict[Key, Cell],
    published: Published,
    relations: Iterable[Relation],
    protected: Iterable[Key],
    rules: Rules,
    exact: bool = True,
) -> list[Finding]:
    """Protected hidden counts whose LP interval does not reach ``value ± range``.

    With ``exact`` False (the solver's rounds, which only need to know which side fails), a
    narrowed cell's side that another table already proved reports its end of the range
    instead of costing one more LP for the attacker's exact end.

    The range's lower end is floored at 0 (counts are never negative). One HiGHS model per
    linked component, warm-started from solve to solve: every solution it finds is a table
    consistent with what is published, so each target it carries to an end of its range is
    proven protected on that side without an LP of its own. Batch LPs first push the targets
    up (or down) together; each target still unproven then gets its own LP per side, whose
    table again proves the others it happens to carry. On the medium demo city that saves
    most of the per-cell LPs.
    """
    relations = relations if isinstance(relations, list) else list(relations)
    wanted: dict[Key, tuple[float, float]] = {}
    for target in sorted(protected):
        if not _hidden(target, truth, published):
            continue
        value = truth[target].value
        assert value is not None
        reach = rules.protection_range(value)
        wanted[target] = (max(0.0, value - reach), value + reach)
    if not wanted:
        return []
    hidden_in = _hidden_in(relations, truth, published)
    out: list[Finding] = []
    done: set[Key] = set()
    prices: dict[tuple[Key, float], Any] = {}
    _keep_prices(relations, published, prices)
    for target in wanted:
        if target in done or target not in hidden_in:
            continue  # in no relation: (0, inf), never narrowed
        keys, a_eq, b_eq = _system(
            _component(target, relations, hidden_in), relations, truth, published
        )
        done.update(keys)
        mine = [k for k in keys if k in wanted]
        values = {k: float(truth[k].value or 0.0) for k in mine}
        proof = _Proof(Attacker(a_eq, b_eq), keys, mine, wanted, values)
        narrowed = proof.narrowed(exact)
        prices.update(proof.prices)
        for key, (low, high) in narrowed.items():
            value = truth[key].value
            assert value is not None
            via = (f"{len(keys)} unknowns linked by published additive relations",)
            out.append(Finding(key, LP_INTERVAL, value, low, high, via))
    return out


class _Proof:
    """Which targets of one component the attacker narrows, with as few LPs as it can."""

    def __init__(
        self,
        attacker: Attacker,
        keys: list[Key],
        targets: list[Key],
        wanted: dict[Key, tuple[float, float]],
        value: dict[Key, float],
    ) -> None:
        self.attacker, self.targets = attacker, targets
        position = {k: i for i, k in enumerate(keys)}
        self.columns = np.array([position[k] for k in targets], dtype=np.int32)
        self.floor = np.array([wanted[k][0] for k in targets])
        self.cap = np.array([wanted[k][1] for k in targets])
        # a table within HiGHS's feasibility tolerance of an end reaches it (as before)
        self.slack = 1e-7 * np.maximum(1.0, self.cap)
        self.tol = 1e-6 * np.maximum(1.0, np.array([abs(value[k]) for k in targets]))
        self.prices: dict[tuple[Key, float], tuple[int, np.ndarray, np.ndarray]] = {}
        self.up = np.zeros(len(targets), bool)  # proven: some table puts it at its cap
        self.down = np.zeros(len(targets), bool)  # proven: some table puts it at its floor

    def _prove(self, solution: np.ndarray) -> None:
        values = solution[self.columns]
        self.up |= values >= self.cap - self.slack
        self.down |= values <= self.floor + self.slack

    def narrowed(self, exact: bool = True) -> dict[Key, tuple[float, float]]:
        """Target -> (low, high) of every target narrowed on at least one side."""
        for side in (1.0, -1.0):
            for _round in range(MAX_SCREENS):
                todo = np.flatnonzero(~(self.up if side > 0 else self.down))
                if not len(todo):
                    break
                before = int(self.up.sum() + self.down.sum())
                ends = self.cap[todo] if side > 0 else self.floor[todo]
                solution = self.attacker.batch(self.columns[todo], ends, side)
                if solution is None:
                    break
                self._prove(solution)
                if int(self.up.sum() + self.down.sum()) == before:
                    break
        ends_of: dict[int, list[float]] = {}
        for i in range(len(self.targets)):
            for side, proven in ((-1.0, self.down), (1.0, self.up)):
                if proven[i]:
                    continue
                optimum, solution = self.attacker.optimum(int(self.columns[i]), side)
                if solution is not None:
                    self._prove(solution)
                    short = (
                        optimum > self.floor[i] + self.tol[i]
                        if side < 0
                        else optimum < self.cap[i] - self.tol[i]
                    )
                    if short:  # its dual gives the cut (protection_cuts): kept, sparse
                        duals = np.asarray(self.attacker.highs.getSolution().row_dual)
                        where = np.flatnonzero(duals)
                        self.prices[(self.targets[i], side)] = (len(duals), where, duals[where])
                if optimum is None:
                    optimum = 0.0 if side < 0 else float("inf")
                ends_of.setdefault(i, [math.nan, math.nan])[int(side > 0)] = optimum
        out: dict[Key, tuple[float, float]] = {}
        for i, (low, high) in ends_of.items():
            short_down = not math.isnan(low) and low > self.floor[i] + self.tol[i]
            short_up = not math.isnan(high) and high < self.cap[i] - self.tol[i]
            if short_down or short_up:
                # narrowed. A side proven by another target's table has no optimum of its
                # own: its end of the range is reported (the attacker reaches at least that
                # far) unless the exact interval is asked for (the audit prints it)
                column = int(self.columns[i])
                if math.isnan(low):
                    low = self._exact(column, -1.0) if exact else float(self.floor[i])
                if math.isnan(high):
                    high = self._exact(column, 1.0) if exact else float(self.cap[i])
                out[self.targets[i]] = (low, high)
        return out

    def _exact(self, column: int, side: float) -> float:
        optimum = self.attacker.optimum(column, side)[0]
        return (0.0 if side < 0 else float("inf")) if optimum is None else optimum


MAX_SCREENS = 8
"""Batch LPs per side and component, while each proves something more."""


def lp_bounds(
    truth: dict[Key, Cell],
    published: Published,
    relations: Iterable[Relation],
    targets: Iterable[Key],
) -> dict[Key, tuple[float, float, int]]:
    """Min and max of each hidden count over every published additive relation.

    Hidden counts are the unknowns (``>= 0``); each relation is an equation with the
    published members moved to the right-hand side; one HiGHS model per linked component.
    A hidden cell in no relation is unbounded: ``(0, inf)``.
    """
    counts = relations if isinstance(relations, list) else list(relations)
    hidden_in = _hidden_in(counts, truth, published)
    out: dict[Key, tuple[float, float, int]] = {}
    component_of: dict[Key, tuple[dict[Key, int], Attacker]] = {}
    for target in sorted(targets):
        if not _hidden(target, truth, published):
            continue
        if target not in hidden_in:
            out[target] = (0.0, float("inf"), 1)
            continue
        if target not in component_of:
            component = _component(target, counts, hidden_in)
            keys, a_eq, b_eq = _system(component, counts, truth, published)
            solved_component = ({k: i for i, k in enumerate(keys)}, Attacker(a_eq, b_eq))
            for key in keys:
                component_of[key] = solved_component
        position, attacker = component_of[target]
        low, high = attacker.bounds(position[target])
        out[target] = (low, high, attacker.size)
    return out


def interval(index: int, a_eq: np.ndarray, b_eq: np.ndarray) -> tuple[float, float]:
    """The attacker's LP (HiGHS): smallest and largest value the unknown can take."""
    return Attacker(a_eq, b_eq).bounds(index)


PRIMAL, DUAL = 4, 1
"""HiGHS's simplex strategies: ``simplex_strategy`` 4 and 1."""


class Attacker:
    """One HiGHS model per linked component, re-solved per cell with a new objective."""

    def __init__(self, a_eq: np.ndarray | sparse.spmatrix, b_eq: np.ndarray) -> None:
        self.size = a_eq.shape[1]
        self.highs = _highs()
        model = highspy.HighsLp()
        model.num_col_ = self.size
        model.num_row_ = a_eq.shape[0]
        model.col_cost_ = np.zeros(self.size)
        model.col_lower_ = np.zeros(self.size)
        model.col_upper_ = np.full(self.size, highspy.kHighsInf)
        model.row_lower_ = b_eq
        model.row_upper_ = b_eq
        matrix = sparse.csc_matrix(a_eq)
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.start_ = matrix.indptr
        model.a_matrix_.index_ = matrix.indices
        model.a_matrix_.value_ = matrix.data
        self.highs.passModel(model)
        self.columns = np.arange(self.size, dtype=np.int32)
        self.strategy = -1

    def _run(self, strategy: int) -> None:
        if strategy != self.strategy:
            self.highs.setOptionValue("simplex_strategy", strategy)
            self.strategy = strategy
        self.highs.run()

    def _optimum(self, index: int, sign: float) -> float | None:
        return self.optimum(index, sign)[0]

    def optimum(self, index: int, side: float) -> tuple[float | None, np.ndarray | None]:
        """Smallest (side -1) or largest (side 1) value of one unknown, and the table that
        attains it (None, None when unbounded or infeasible)."""
        cost = np.zeros(self.size)
        cost[index] = -side
        self.highs.changeColsCost(self.size, self.columns, cost)
        self._run(PRIMAL)
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None, None
        value = -float(self.highs.getInfo().objective_function_value) * side
        return value, np.asarray(self.highs.getSolution().col_value)

    def batch(self, columns: np.ndarray, ends: np.ndarray, side: float) -> np.ndarray | None:
        """One table pushing the given unknowns up to (side 1) or down to (side -1) their
        ends at once, each bounded there; the bounds are restored afterwards."""
        cost = np.zeros(self.size)
        cost[columns] = -side
        lower = np.zeros(len(columns))
        upper = np.full(len(columns), highspy.kHighsInf)
        if side > 0:
            upper = np.asarray(ends, dtype=float)
        else:
            lower = np.asarray(ends, dtype=float)
        self.highs.changeColsCost(self.size, self.columns, cost)
        self.highs.changeColsBounds(len(columns), columns.astype(np.int32), lower, upper)
        self._run(DUAL)
        ok = self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        solution = np.asarray(self.highs.getSolution().col_value) if ok else None
        self.highs.changeColsBounds(
            len(columns),
            columns.astype(np.int32),
            np.zeros(len(columns)),
            np.full(len(columns), highspy.kHighsInf),
        )
        return solution

    def bounds(self, index: int) -> tuple[float, float]:
        low = self.optimum(index, -1.0)[0]
        high = self.optimum(index, 1.0)[0]
        return (0.0 if low is None else low), (float("inf") if high is None else high)


_SOLVER: list[highspy.Highs] = []


def _highs() -> highspy.Highs:
    """A quiet HiGHS instance (its licence banner would land in the CLI's output)."""
    if not _SOLVER:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as sink:
                os.dup2(sink.fileno(), 1)
                first = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        first.setOptionValue("output_flag", False)
        _SOLVER.append(first)
    solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    return solver


def _component(
    start: Key, relations: list[Relation], hidden_in: dict[Key, list[int]]
) -> tuple[list[Key], list[int]]:
    """Hidden cells linked to ``start`` through relations that contain more than one."""
    rows, queue = set(hidden_in[start]), [start]
    seen = {start}
    while queue:
        key = queue.pop()
        for index in hidden_in[key]:
            rows.add(index)
            for other in relations[index].members:
                if other in hidden_in and other not in seen:
                    seen.add(other)
                    queue.append(other)
    # sorted, not in the order of the search: the columns (and so which optimal dual the LP
    # returns, and the cut read from it) must not depend on which target came first
    return sorted(seen), sorted(rows)


def _system(
    component: tuple[list[Key], list[int]],
    relations: list[Relation],
    truth: dict[Key, Cell],
    published: Published,
) -> tuple[list[Key], sparse.csr_matrix, np.ndarray]:
    keys, rows = component
    column = {k: i for i, k in enumerate(keys)}
    entries: dict[tuple[int, int], float] = defaultdict(float)
    b_eq = np.zeros(len(rows))
    for r, index in enumerate(rows):
        relation = relations[index]
        for key in relation.members:
            sign = 1.0 if key == relation.total else -1.0
            if key in column:
                entries[r, column[key]] += sign
            else:
                b_eq[r] -= sign * published.values.get(key, 0.0)
    # sparse: a component of the medium demo has ~8,000 unknowns in ~20,000 relations
    a_eq = sparse.csr_matrix(
        (
            list(entries.values()),
            ([r for r, _c in entries], [c for _r, c in entries]),
        ),
        shape=(len(rows), len(keys)),
    )
    return keys, a_eq, b_eq


def _names(keys: Iterable[Key]) -> tuple[Key, ...]:
    return tuple(keys)


@dataclass(frozen=True)
class Cut:
    """``sum(weights[c] x hidden_c) >= need``: every pattern protecting ``target`` meets it.

    A Benders cut of Fischetti and Salazar's exact method, read off the attacker's LP dual:
    the published cells with a weight are the ones that pin the target's interval, and the
    pattern must hide enough of them (weighted by how far each would let the target move).
    """

    target: Key
    weights: dict[Key, float]
    need: float


def protection_cuts(
    truth: dict[Key, Cell],
    published: Published,
    relations: Iterable[Relation],
    findings: Iterable[Finding],
    rules: Rules,
) -> list[Cut]:
    """One cut per side on which a narrowed protected cell (an ``LP_INTERVAL`` finding) fails.

    With deviations ``z = y - truth``, a hidden count may fall to 0 (``z_c >= -a_c``) and rise
    without bound; a published one is fixed (``z_c = 0``). For ANY row prices ``pi`` of the
    relations ``M z = delta``, weak duality bounds the attacker's best move of the target:
    ``max t z_p <= pi.delta + sum_c hidden_c (g+_c x inf + g-_c x a_c)`` with
    ``g = t e_p - M' pi``. Protection needs ``max t z_p >= need`` (``range`` up,
    ``min(value, range)`` down), so ``sum_c min(w_c, need') hidden_c >= need'`` holds for every
    protecting pattern (the cap is valid because ``hidden_c`` is 0 or 1). The prices are the
    LP's optimal duals, so the current pattern violates it. Validity does not depend on their
    accuracy (only the cut's strength does); the attacker's LP still checks the result.
    """
    counts = relations if isinstance(relations, list) else list(relations)
    hidden_in = _hidden_in(counts, truth, published)
    systems: dict[Key, _Dual] = {}
    out: list[Cut] = []
    for finding in sorted(findings, key=lambda f: (f.key, f.attack)):
        target = finding.key
        if finding.attack != LP_INTERVAL or target not in hidden_in:
            continue
        value = abs(float(truth[target].value or 0.0))
        reach = rules.protection_range(value)
        tol = 1e-6 * max(1.0, value)
        sides = []
        if finding.high < value + reach - tol:
            sides.append((1.0, reach))
        if finding.low > max(0.0, value - reach) + tol:
            sides.append((-1.0, min(value, reach)))
        if not sides:
            continue
        if target not in systems:
            dual = _Dual(_component(target, counts, hidden_in), counts, truth, published)
            for key in dual.keys:
                systems[key] = dual
        for side, need in sides:
            cut = systems[target].cut(
                target, side, need, _kept_prices(relations, published, target, side)
            )
            if cut is not None:
                out.append(cut)
    return out


_KEPT: dict[str, Any] = {}
"""The row prices of the last ``lp_intervals``' narrowing LPs: ``protection_cuts`` on the same
relations and public figures reads its cuts from them instead of solving each LP again (on the
medium demo those repeated LPs were most of a cut round)."""


def _keep_prices(
    relations: list[Relation], published: Published, prices: dict[tuple[Key, float], Any]
) -> None:
    _KEPT.clear()
    _KEPT.update(relations=relations, published=published, prices=prices)


def _kept_prices(
    relations: Iterable[Relation], published: Published, target: Key, side: float
) -> np.ndarray | None:
    if _KEPT.get("relations") is not relations or _KEPT.get("published") is not published:
        return None
    kept = _KEPT["prices"].get((target, side))
    if kept is None:
        return None
    size, where, values = kept
    prices = np.zeros(size)
    prices[where] = values
    return prices


class _Dual:
    """The attacker's LP of one component, with every member (published too) as a column."""

    def __init__(
        self,
        component: tuple[list[Key], list[int]],
        relations: list[Relation],
        truth: dict[Key, Cell],
        published: Published,
    ) -> None:
        self.component, self.relations, self.truth, self.published = (
            component,
            relations,
            truth,
            published,
        )
        self.keys = component[0]
        self.attacker: Attacker | None = None  # built only when no prices were kept
        _keys, rows = component
        cells: dict[Key, int] = {}
        row_of, col_of, sign_of = [], [], []
        for r, index in enumerate(rows):
            relation = relations[index]
            for key in relation.members:
                cell = truth.get(key)
                if cell is None or cell.value is None:
                    continue  # the attacker reads it as 0: a constant, not a cell to hide
                row_of.append(r)
                col_of.append(cells.setdefault(key, len(cells)))
                sign_of.append(1.0 if key == relation.total else -1.0)
        self.cells = list(cells)
        self.full = sparse.csr_matrix((sign_of, (row_of, col_of)), shape=(len(rows), len(cells)))
        self.value = np.array([abs(float(truth[k].value or 0.0)) for k in self.cells])
        self.residual = self.full @ np.array([float(truth[k].value or 0.0) for k in self.cells])
        self.where = cells

    def prices(self, target: Key, side: float) -> np.ndarray | None:
        """Row prices of the attacker's LP moving ``target`` to ``side`` (None: unbounded)."""
        if self.attacker is None:
            keys, a_eq, b_eq = _system(self.component, self.relations, self.truth, self.published)
            self.position = {k: i for i, k in enumerate(keys)}
            self.attacker = Attacker(a_eq, b_eq)
        optimum, _table = self.attacker.optimum(self.position[target], side)
        if optimum is None:
            return None
        return np.asarray(self.attacker.highs.getSolution().row_dual)

    def cut(
        self, target: Key, side: float, need: float, prices: np.ndarray | None = None
    ) -> Cut | None:
        """The Benders cut of ``target`` on ``side`` (1: it must rise by ``need``; -1: fall),
        from the given row prices or from an LP solved for them."""
        if prices is None or len(prices) != self.full.shape[0]:
            prices = self.prices(target, side)
            if prices is None:
                return None  # unbounded on this side: nothing to cut
        full_cost = np.zeros(len(self.cells))
        full_cost[self.where[target]] = -side
        reduced = full_cost - self.full.T @ prices  # HiGHS: col_dual = c - A' row_dual
        need_left = need - float(prices @ self.residual)
        if need_left <= 1e-9:
            return None
        eps = 1e-7
        weight = np.where(
            reduced < -eps, need_left, np.where(reduced > eps, reduced * self.value, 0.0)
        )
        weight = np.minimum(weight, need_left)
        chosen = np.flatnonzero(weight > 1e-9 * max(1.0, need_left))
        return Cut(target, {self.cells[i]: float(weight[i]) for i in chosen}, need_left)
