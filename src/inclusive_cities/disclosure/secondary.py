"""Secondary suppression over linked, hierarchical tables as a mixed-integer program (HiGHS).

The formulation follows the cell-suppression problem of Fischetti and Salazar (used by
τ-ARGUS's optimal method and sdcTable's ``OPT``) in its cut-generation form: binary
``y_c`` (cell hidden), minimise the suppressed value ``sum (1 + value_c) y_c``, subject to

* primaries and dependency-hidden cells fixed at 1;
* no relation with a single hidden member (it would come back by subtraction);
* per relation holding a protected cell ``p`` of value ``v`` and range ``r``: the other
  hidden members can absorb ``r`` upwards (``M y_total + sum v_d y_d >= r`` when ``p`` is
  a part) or ``min(v, r)`` downwards when ``p`` is the total.

These relation-wise constraints are necessary, not sufficient, across linked tables; the
pattern is therefore checked with the attacker's LP and, for every cell still narrowed
below its range, a cut ("hide at least one more cell around it") is added and the
component solved again, as in the Benders scheme of the exact method.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import traceback
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from inclusive_cities.disclosure.attacks import (
    RelationSubset,
    differencing,
    lp_intervals,
    protection_cuts,
)
from inclusive_cities.disclosure.model import Cell, Key, Published, Relation
from inclusive_cities.disclosure.rules import Rules

MAX_ROUNDS = 8
MAX_RINGS = 4
MIP_OPTIONS = {"node_limit": 2000, "time_limit": 600.0, "mip_rel_gap": 0.02}
"""HiGHS stops on its node count, so the pattern is the same on an idle or a loaded machine
(a time limit made it depend on the load). The time limit is only a guard for inputs far
larger than a city's: on the medium demo no solve comes near it."""
log = logging.getLogger(__name__)


def published_view(
    truth: dict[Key, Cell], hidden: set[Key], keys: Iterable[Key] | None = None
) -> Published:
    """What the public would read if exactly ``hidden`` were withheld (of ``keys`` only,
    when given: the solver's rounds attack a few components, not the whole city)."""
    cells = truth.items() if keys is None else ((k, truth[k]) for k in keys if k in truth)
    values: dict[Key, float] = {}
    counts: dict[Key, int] = {}
    for k, c in cells:
        if c.value is not None and k not in hidden:
            values[k] = float(c.value)
            if c.n is not None:
                counts[k] = int(c.n)
    return Published(values, counts)


def protect_verified(
    truth: dict[Key, Cell],
    relations: list[Relation],
    hidden: set[Key],
    protected: set[Key],
    rules: Rules,
    changed: set[Key] | None = None,
    proven: set[Key] | frozenset[Key] = frozenset(),
) -> tuple[set[Key], set[Key]]:
    """The cheapest hidden set containing ``hidden`` that the attacker cannot break, and
    the protected cells its LP attack proved protected (see :func:`protect`).

    With ``changed``, only the linked components holding those cells are solved and
    attacked again (components share no relation, so the others keep their pattern).
    ``proven``: protected cells an earlier call proved against a subset of ``hidden`` over
    the same relations; they are not attacked again (hiding more only widens an interval).

    Components never interact (no relation, so no attack, spans two), so inside
    :func:`parallel_solves` they are shared out among processes: each runs the same rounds
    on its own components and the union is the set one process finds.
    """
    shape = _structure(truth, relations, protected, rules)
    member_of = shape.member_of
    pending = sorted(
        {member_of[k] for k in (hidden if changed is None else changed) if k in member_of}
    )
    groups = _assign(pending, shape, _workers())
    if len(groups) < 2:
        return _Search(shape, hidden, proven).run(pending)
    return _in_processes(shape, hidden, proven, groups)


class _Search:
    """The rounds of MIP, attack and cuts over some components of one structure.

    Each round reads only the relations of the components it solves and a public view of
    their members (an attack on a component never reads past its relations), so a round of
    eleven components does not rebuild the view and layout of the whole city."""

    def __init__(self, shape: _Structure, hidden: set[Key], proven: Iterable[Key]) -> None:
        self.shape, self.proven = shape, frozenset(proven)
        self.result = set(hidden)
        self.verified: set[Key] = set()
        self.cuts: dict[int, list[tuple[dict[Key, float], float]]] = defaultdict(list)

    def run(self, pending: Iterable[int]) -> tuple[set[Key], set[Key]]:
        shape, result, cuts = self.shape, self.result, self.cuts
        truth, protected, rules = shape.truth, shape.protected, shape.rules
        components, member_of, lines_of = shape.components, shape.member_of, shape.lines_of
        pending = set(pending)
        # The hidden set only grows (each solve fixes what is already hidden, each ring adds),
        # and hiding a cell only widens the attacker's intervals (a published value becomes a
        # variable: every table that was feasible still is). So a protected cell that passed
        # the attacker's LP keeps passing: after the first check only the cells that failed
        # are attacked again, over their whole components' relations. On the medium demo this
        # is the difference between ~15 minutes of LPs and a few.
        narrowed: set[Key] | None = None
        failing: set[Key] = set()
        for _round in range(MAX_ROUNDS):
            if not pending:
                return result, self.verified
            for index in sorted(pending):
                result |= shape.problem(index).solve(result, cuts[index])
            touched = {k for index in pending for k in components[index]}
            relations, view = self._local(pending)
            targets = (
                (protected & touched) - self.proven
                if narrowed is None
                else protected & touched & narrowed
            )
            found = lp_intervals(truth, view, relations, targets, rules, exact=False)
            narrowed = {f.key for f in found}
            self.verified |= targets - narrowed
            failing = narrowed | _given_away(truth, view, relations, touched, rules)
            log.debug(
                "secondary suppression, round %d: %d components solved, %d cells hidden, "
                "%d targets attacked, %d still narrowed",
                _round + 1,
                len(pending),
                len(result),
                len(targets),
                len(failing),
            )
            if not failing:
                return result, self.verified
            pending = set()
            # the attacker's dual names the published cells that pin each narrowed interval
            cut_for: set[Key] = set()
            for cut in protection_cuts(truth, view, relations, found, rules):
                owner = member_of.get(cut.target)
                if owner is None:
                    continue
                weights = {k: w for k, w in cut.weights.items() if k in components[owner]}
                cuts[owner].append((weights, cut.need))
                cut_for.add(cut.target)
                pending.add(owner)
            for key in failing - cut_for:  # given away by subtraction: hide one more near it
                near = {h for m in lines_of.get(key, ()) for h in m if h in result}
                around = frozenset(k for h in near for m in lines_of.get(h, ()) for k in m) - result
                if key not in member_of:
                    continue
                if around:
                    cuts[member_of[key]].append(
                        ({k: 1.0 for k in around & components[member_of[key]]}, 1.0)
                    )
                pending.add(member_of[key])
        return self._rings(failing, narrowed)

    def _rings(self, failing: set[Key], narrowed: set[Key] | None) -> tuple[set[Key], set[Key]]:
        """The cuts did not converge: hide the relations around what is still disclosed, one
        ring at a time, checking again after each (never a whole component for one cell)."""
        shape, result = self.shape, self.result
        truth, protected, rules = shape.truth, shape.protected, shape.rules
        components, member_of, lines_of = shape.components, shape.member_of, shape.lines_of
        for _ring in range(MAX_RINGS):
            log.info(
                "secondary suppression: %d cells still narrowed after %d rounds (e.g. %s); "
                "hiding the relations around them",
                len(failing),
                MAX_ROUNDS,
                sorted(failing)[:3],
            )
            for key in failing:
                for m in lines_of.get(key, ()):
                    result |= set(m)
            owners = {member_of[key] for key in failing if key in member_of}
            touched = {k for index in owners for k in components[index]}
            relations, view = self._local(owners)
            targets = protected & touched & (narrowed if narrowed is not None else touched)
            narrowed = {
                f.key for f in lp_intervals(truth, view, relations, targets, rules, exact=False)
            }
            self.verified |= targets - narrowed
            failing = narrowed | _given_away(truth, view, relations, touched, rules)
            if not failing:
                return result, self.verified
            failing = {
                h for key in failing for m in lines_of.get(key, ()) for h in m if h in result
            } | failing
        return result, self.verified

    def _local(self, owners: Iterable[int]) -> tuple[list[Relation], Published]:
        """The relations of these components (in the order of the whole list, so every LP
        reads its rows in the same order) and what the public reads of their members."""
        shape = self.shape
        numbers = sorted(i for index in owners for i in shape.relations_of[index])
        relations = RelationSubset(shape.relations, numbers)
        members = {k for r in relations for k in r.members}
        return relations, published_view(shape.truth, self.result, members)


MIN_PARALLEL_CELLS = 5000
"""Below this many cells to solve a second process costs more (fork, result through a pipe)
than it saves: the small city of the tests and most of ``compute``'s later passes stay in one."""
WORKERS_VARIABLE = "INCLUSIVE_CITIES_SOLVER_WORKERS"
_ALLOWED: list[int] = [1]


@contextmanager
def parallel_solves(workers: int | None = None) -> Iterator[int]:
    """Let the solves inside share components among ``workers`` processes (forked).

    Only commands that solve a city's protection on purpose (``publish``, ``disclosure
    audit``) enter this: a web worker that solves lazily on a request keeps to one process.
    ``workers`` None: the ``INCLUSIVE_CITIES_SOLVER_WORKERS`` variable, else up to 2 (the
    CPUs the process may use). Without ``fork`` (Windows, macOS's default) it stays 1."""
    if workers is None:
        chosen = os.environ.get(WORKERS_VARIABLE, "").strip()
        workers = int(chosen) if chosen else min(2, os.cpu_count() or 1)
    if "fork" not in multiprocessing.get_all_start_methods():
        workers = 1
    saved = _ALLOWED[0]
    _ALLOWED[0] = max(1, workers)
    try:
        yield _ALLOWED[0]
    finally:
        _ALLOWED[0] = saved


def _workers() -> int:
    return _ALLOWED[0]


def _assign(pending: list[int], shape: _Structure, workers: int) -> list[list[int]]:
    """Components shared out by size, largest first to the least loaded (a fixed rule: the
    same inputs give the same groups). One group when a second process would not pay."""
    sizes = {index: len(shape.components[index]) for index in pending}
    if workers < 2 or sum(sizes.values()) < MIN_PARALLEL_CELLS or len(pending) < 2:
        return [pending] if pending else []
    groups: list[list[int]] = [[] for _ in range(workers)]
    load = [0] * workers
    for index in sorted(pending, key=lambda i: (-sizes[i], i)):
        lightest = load.index(min(load))
        groups[lightest].append(index)
        load[lightest] += sizes[index]
    return [sorted(g) for g in groups if g]


def _in_processes(
    shape: _Structure, hidden: set[Key], proven: Iterable[Key], groups: list[list[int]]
) -> tuple[set[Key], set[Key]]:
    """The first group in this process, each other one in a forked child (it inherits the
    truth, the relations and the structure); a child sends back only the cells it added."""
    context = multiprocessing.get_context("fork")
    children: list[tuple[Any, Any]] = []
    answered = False
    # what exists now (the truth, the relations, the structure) is left out of the collector's
    # passes: a child's collections would otherwise touch every object and copy the whole
    # heap page by page (Python's documented advice for fork without exec)
    gc.freeze()
    try:
        for group in groups[1:]:
            reader, writer = context.Pipe(duplex=False)
            child = context.Process(
                target=_child, args=(writer, shape, hidden, proven, group), daemon=True
            )
            child.start()
            writer.close()
            children.append((child, reader))
        result, verified = _Search(shape, hidden, proven).run(groups[0])
        for child, reader in children:
            try:
                status, added, theirs = reader.recv()
            except EOFError:
                raise RuntimeError(
                    f"a secondary suppression worker ended without an answer "
                    f"(exit code {child.exitcode})"
                ) from None
            if status != "ok":
                raise RuntimeError(f"a secondary suppression worker failed:\n{added}")
            result |= added
            verified |= theirs
        answered = True
        return result, verified
    finally:
        for child, reader in children:  # on an error here, the others stop at once
            reader.close()
            child.join(timeout=10 if answered else 0)
            if child.is_alive():
                child.terminate()
                child.join()
        gc.unfreeze()


def _child(
    writer: Any, shape: _Structure, hidden: set[Key], proven: Iterable[Key], group: list[int]
) -> None:
    """One worker's rounds; what it adds (or its traceback) goes back through the pipe."""
    try:
        result, verified = _Search(shape, hidden, proven).run(group)
        writer.send(("ok", result - hidden, verified))
    except BaseException:
        writer.send(("error", traceback.format_exc(), set()))
    finally:
        writer.close()


class _Structure:
    """The solver's view of the relations: linked components, each cell's lines and each
    component's MIP. It depends only on the cells, the relations and which cells are
    protected, not on the pattern, so ``compute``'s passes share it (each pass rebuilt it:
    components and MIP rows were a tenth of the solve on the medium demo)."""

    def __init__(
        self,
        truth: dict[Key, Cell],
        relations: list[Relation],
        protected: set[Key],
        rules: Rules,
    ) -> None:
        self.truth, self.relations, self.protected, self.rules = truth, relations, protected, rules
        self.size = (len(truth), len(relations), len(protected))
        # cells suppressed upstream (value NULL) are not the solver's to choose: the closure
        # (publication.close) hides one more member beside each one that stands alone. As
        # fixed members here they joined each rate's tables into components too large to
        # solve in time, and the fallback then hid whole relations, city-wide. So a relation's
        # line is its valued members, and it is live (a MIP row, a link) with two or more.
        # Laid out as arrays of cell numbers (a Python union-find over 144,000 relations was
        # most of the 5.6 s this took on the medium demo, before any process could share it)
        keys = list(truth)
        number = {k: i for i, k in enumerate(keys)}
        valued = np.fromiter((c.value is not None for c in truth.values()), bool, len(keys))
        sizes = np.fromiter((len(r.parts) + 1 for r in relations), np.int64, len(relations))
        flat = np.fromiter(
            (number.get(k, -1) for r in relations for k in r.members), np.int64, int(sizes.sum())
        )
        owner = np.repeat(np.arange(len(relations)), sizes)
        kept = flat >= 0
        kept[kept] = valued[flat[kept]]  # a valued member of its relation
        self.live = np.bincount(owner[kept], minlength=len(relations)) > 1
        on_line = kept & self.live[owner]
        cells, rows = flat[on_line], owner[on_line]  # grouped by relation, ascending
        label = _linked(cells, rows, len(keys))
        members = np.unique(cells)
        names = np.unique(label[members], return_inverse=True)[1]
        component_of = np.full(len(keys), -1, np.int64)
        component_of[members] = names
        order = np.argsort(names, kind="stable")
        bounds = np.flatnonzero(np.diff(names[order])) + 1
        self.components = [
            frozenset(keys[i] for i in chunk.tolist())
            for chunk in np.split(members[order], bounds)
            if len(chunk)  # none at all when no relation is live
        ]
        self.member_of: dict[Key, int] = dict(
            zip([keys[i] for i in members.tolist()], names.tolist(), strict=True)
        )
        # every relation holding a valued member of a component (a relation holds at most
        # one component's cells: two valued members make it live, so they are linked), in
        # ascending order within each component
        inside = kept.copy()
        inside[inside] = component_of[flat[inside]] >= 0
        holder, held = component_of[flat[inside]], owner[inside]  # relations ascending
        by_holder = np.argsort(holder, kind="stable")
        holder, held = holder[by_holder], held[by_holder]
        first = np.ones(len(holder), bool)
        first[1:] = (holder[1:] != holder[:-1]) | (held[1:] != held[:-1])
        holder, held = holder[first], held[first]
        splits = np.flatnonzero(np.diff(holder)) + 1
        self.relations_of: dict[int, list[int]] = {
            int(group[0]): rows_of.tolist()
            for group, rows_of in zip(np.split(holder, splits), np.split(held, splits), strict=True)
            if len(group)
        }
        # each cell's live relations, ascending (a CSR over cell numbers)
        by_cell = np.argsort(cells, kind="stable")
        self._cell_rows = rows[by_cell]
        self._cell_start = np.searchsorted(cells[by_cell], np.arange(len(keys) + 1))
        self._number = number
        self._kept_lines: dict[int, tuple[Key, ...]] = {}
        self.lines_of = _Lines(self)
        self.problems: dict[int, _Problem] = {}

    def line(self, index: int) -> tuple[Key, ...]:
        """The valued members of relation ``index`` (built once, on first use)."""
        line = self._kept_lines.get(index)
        if line is None:
            truth = self.truth
            line = self._kept_lines[index] = tuple(
                k
                for k in self.relations[index].members
                if k in truth and truth[k].value is not None
            )
        return line

    def rows_of(self, index: int) -> list[tuple[Relation, tuple[Key, ...]]]:
        """The live relations of one component with their lines, in the relations' order."""
        live = self.live
        return [
            (self.relations[i], self.line(i)) for i in self.relations_of.get(index, ()) if live[i]
        ]

    def problem(self, index: int) -> _Problem:
        """The MIP of one component, built on first use and kept for later rounds and passes."""
        if index not in self.problems:
            self.problems[index] = _Problem(
                self.components[index], self.rows_of(index), self.truth, self.protected, self.rules
            )
        return self.problems[index]

    def fits(
        self,
        truth: dict[Key, Cell],
        relations: list[Relation],
        protected: set[Key],
        rules: Rules,
    ) -> bool:
        return (
            self.truth is truth
            and self.relations is relations
            and self.protected is protected
            and self.rules is rules
            and self.size == (len(truth), len(relations), len(protected))
        )


class _Lines:
    """Cell -> the lines of the live relations holding it (``lines_of.get(key, ())``), read
    from the structure's arrays when asked: the rounds ask about a few narrowed cells."""

    def __init__(self, shape: _Structure) -> None:
        self.shape = shape

    def get(self, key: Key, default: tuple[()] = ()) -> list[tuple[Key, ...]] | tuple[()]:
        shape = self.shape
        cell = shape._number.get(key)
        if cell is None:
            return default
        start, end = shape._cell_start[cell], shape._cell_start[cell + 1]
        if start == end:
            return default
        return [shape.line(i) for i in shape._cell_rows[start:end].tolist()]


def _linked(cells: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    """Connected-component label of every cell number, linking each relation's cells to
    its first (``cells`` grouped by ``rows``)."""
    if not len(cells):
        return np.arange(size)
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    first = np.repeat(cells[starts], np.diff(np.r_[starts, len(cells)]))
    graph = sparse.coo_array(
        (np.ones(len(cells), np.int8), (cells, first)), shape=(size, size)
    ).tocsr()
    return connected_components(graph, directed=False)[1]


_STRUCTURES: list[_Structure] = []


def _structure(
    truth: dict[Key, Cell], relations: list[Relation], protected: set[Key], rules: Rules
) -> _Structure:
    """The structure of these very lists (the last one is kept for the next pass)."""
    if not (_STRUCTURES and _STRUCTURES[0].fits(truth, relations, protected, rules)):
        _STRUCTURES[:] = [_Structure(truth, relations, protected, rules)]
    return _STRUCTURES[0]


def _given_away(
    truth: dict[Key, Cell],
    view: Published,
    relations: list[Relation],
    touched: set[Key],
    rules: Rules,
) -> set[Key]:
    """Cells of ``touched`` that come back by subtraction. Those suppressed upstream are the
    closure's (see ``lines`` in :func:`protect_verified`)."""
    return {
        f.key
        for f in differencing(truth, view, relations, rules)
        if f.key in touched and truth[f.key].value is not None
    }


def protect(
    truth: dict[Key, Cell],
    relations: list[Relation],
    hidden: set[Key],
    protected: set[Key],
    rules: Rules,
    changed: set[Key] | None = None,
) -> set[Key]:
    """The cheapest hidden set containing ``hidden`` that the attacker cannot break."""
    return protect_verified(truth, relations, hidden, protected, rules, changed)[0]


def _components(lines: list[tuple[Key, ...]]) -> list[frozenset[Key]]:
    parent: dict[Key, Key] = {}

    def find(key: Key) -> Key:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for members in lines:
        first = find(members[0])
        for other in members[1:]:
            parent[find(other)] = first
    groups: dict[Key, set[Key]] = defaultdict(set)
    for key in list(parent):
        groups[find(key)].add(key)
    return [frozenset(g) for g in groups.values()]


def requirements(
    rows: list[tuple[Relation, tuple[Key, ...]]],
    value: dict[Key, float],
    protected: set[Key],
    rules: Rules,
) -> dict[Key, float]:
    """How far up each cell must be able to move: protected cells and the totals carrying them.

    A protected part whose siblings cannot absorb its range (their values add up to less,
    e.g. 2 other-foreign people beside 0 Venezuelans and 0 hosts in a block) can only rise
    with its total, so the total must be hidden and inherits the same range in its own
    relations, transitively up the hierarchy (sdcTable / τ-ARGUS). Linked cells (the same
    quantity in two tables) share their requirement both ways.
    """
    part_of: dict[Key, list[tuple[Relation, tuple[Key, ...]]]] = defaultdict(list)
    linked: dict[Key, list[Key]] = defaultdict(list)
    for relation, members in rows:
        if relation.quantity != "count":
            continue
        if relation.kind == "linked" or len(relation.parts) == 1:
            for key in members:
                linked[key].extend(o for o in members if o != key)
            continue
        for key in members:
            if key != relation.total:
                part_of[key].append((relation, members))
    need = {k: rules.protection_range(value[k]) for k in protected if k in value}
    queue = list(need)
    while queue:
        key = queue.pop()
        reach = need[key]
        heirs = list(linked.get(key, ()))
        for relation, members in part_of.get(key, ()):
            siblings = sum(value[o] for o in members if o not in (key, relation.total))
            if siblings < reach and relation.total in value:
                heirs.append(relation.total)
        for heir in heirs:
            if need.get(heir, 0.0) < reach:
                need[heir] = reach
                queue.append(heir)
    return need


class _Problem:
    """The MIP of one linked component: its fixed rows built once, solved once per round.

    The rows of the relations and of the protection ranges depend only on the component's
    cells, their values and which of them are protected, not on the pattern, so they are
    built once (with numpy, not row by row: on the medium demo that Python loop was a third
    of ``publish``) and every round only appends its cuts and raises the lower bounds of
    what is already hidden.

    Columns: one binary per cell (``order``), then one continuous "some member is hidden"
    column per wide relation (see :func:`_relation_rows`).
    """

    def __init__(
        self,
        keys: frozenset[Key],
        rows: list[tuple[Relation, tuple[Key, ...]]],
        truth: dict[Key, Cell],
        protected: set[Key],
        rules: Rules,
    ) -> None:
        self.order = sorted(keys)
        self.column = {k: i for i, k in enumerate(self.order)}
        column = self.column
        value = np.array([abs(float(truth[k].value or 0.0)) for k in self.order])
        means = {k for relation, members in rows if relation.quantity == "mean" for k in members}
        self.cost = 1.0 + np.array(
            [float(truth[k].n or 0) if k in means else value[i] for i, k in enumerate(self.order)]
        )
        values = dict(zip(self.order, value.tolist(), strict=True))
        self.need = requirements(rows, values, protected & keys, rules)
        self.rows = rows
        groups = [[column[k] for k in members] for _relation, members in rows]
        size = len(self.order)
        row_of, col_of, data, self.wide = _relation_rows(groups, size)
        self.width = size + len(self.wide.starts)
        lower: list[float] = [0.0] * (int(row_of.max()) + 1 if len(row_of) else 0)
        extra_rows: list[int] = []
        extra_cols: list[int] = []
        extra_data: list[float] = []

        def add(columns: list[int], coefficients: list[float], bound: float) -> None:
            extra_rows.extend([len(lower)] * len(columns))
            extra_cols.extend(columns)
            extra_data.extend(coefficients)
            lower.append(bound)

        for (relation, members), cols in zip(rows, groups, strict=True):
            if relation.quantity != "count":
                continue
            for position, key in enumerate(members):
                reach = self.need.get(key)
                if reach is None:
                    continue
                others = [c for i, c in enumerate(cols) if i != position]
                if key == relation.total:
                    # it falls as far as its hidden parts can (parts never go below 0)
                    down = min(values[key], reach)
                    add(others, [min(float(value[c]), down) for c in others], down)
                    continue
                # it rises as far as its hidden siblings can fall; where they cannot carry
                # the whole range the total rises with it (it inherited the range: see
                # requirements)
                total = column.get(relation.total)
                siblings = [c for c in others if c != total]
                coefficients = [min(float(value[c]), reach) for c in siblings]
                if total is not None and (
                    relation.kind == "linked"
                    or len(relation.parts) == 1
                    or float(value[siblings].sum()) < reach
                ):
                    siblings.append(total)
                    coefficients.append(reach)
                add(siblings, coefficients, reach)
        self.base = sparse.csr_array(
            (
                np.concatenate([data, np.array(extra_data)]),
                (
                    np.concatenate([row_of, np.array(extra_rows, dtype=np.int64)]),
                    np.concatenate([col_of, np.array(extra_cols, dtype=np.int64)]),
                ),
            ),
            shape=(len(lower), self.width),
        )
        self.base.sum_duplicates()
        self.lower = np.array(lower)
        self.integrality = np.r_[np.ones(size), np.zeros(self.width - size)]
        self.cost = np.r_[self.cost, np.zeros(self.width - size)]

    def solve(self, fixed: set[Key], cuts: list[tuple[dict[Key, float], float]]) -> set[Key]:
        """The cheapest pattern hiding ``fixed`` (within this component) and every cut."""
        column, size = self.column, len(self.order)
        cut_rows: list[int] = []
        cut_cols: list[int] = []
        cut_data: list[float] = []
        cut_lower: list[float] = []
        for weights, bound in cuts:
            entries = sorted((column[k], w) for k, w in weights.items() if k in column)
            if not entries:
                continue
            cut_rows.extend([len(cut_lower)] * len(entries))
            cut_cols.extend(c for c, _w in entries)
            cut_data.extend(w for _c, w in entries)
            cut_lower.append(bound)
        matrix = sparse.vstack(
            [
                self.base,
                sparse.csr_array(
                    (cut_data, (cut_rows, cut_cols)), shape=(len(cut_lower), self.width)
                ),
            ],
            format="csr",
        )
        lower = np.concatenate([self.lower, np.array(cut_lower)])
        low_bounds = np.array([1.0 if k in fixed or k in self.need else 0.0 for k in self.order])
        if _satisfies(matrix, self.wide.complete(low_bounds), lower):
            # every cell it hides is fixed and any other costs more than nothing: the MIP's
            # only optimum (the later passes re-solve components their dependants did not
            # change, and most rounds' cuts are met by what an earlier solve hid)
            return {k for k, y in zip(self.order, low_bounds.tolist(), strict=True) if y}
        result = milp(
            self.cost,
            constraints=[LinearConstraint(matrix, lower, np.inf)] if len(lower) else [],
            integrality=self.integrality,
            bounds=Bounds(np.r_[low_bounds, np.zeros(self.width - size)], np.ones(self.width)),
            options=MIP_OPTIONS,
        )
        if result.x is None:
            # hiding every cell is always feasible, so only the node limit gets here: hide
            # the relations around the cells needing protection (the check then says what
            # is left)
            log.info(
                "secondary suppression: no pattern within the node limit for a component of "
                "%d cells (%s); hiding the relations around its %d protected cells",
                size,
                result.message,
                len(self.need),
            )
            around = {
                k for _r, members in self.rows if self.need.keys() & set(members) for k in members
            }
            return {k for k in self.order if k in fixed} | set(self.need) | around
        return {k for k, y in zip(self.order, result.x[:size].tolist(), strict=True) if y > 0.5}


def _satisfies(matrix: sparse.csr_array, pattern: np.ndarray, lower: np.ndarray) -> bool:
    """``matrix @ pattern >= lower`` in every row (to well within HiGHS's tolerance)."""
    if not len(lower):
        return True
    slack = matrix @ pattern - lower
    return bool(np.all(slack >= -1e-9 * np.maximum(1.0, np.abs(lower))))


WIDE = 4
"""Relations of this many members or more get the compact "no single hidden member" rows."""


class _Wide:
    """The wide relations' member columns (flat, with starts), to give each one's "some
    member is hidden" column its smallest feasible value for a pattern of cells."""

    def __init__(self, columns: np.ndarray, starts: np.ndarray) -> None:
        self.columns, self.starts = columns, starts

    def complete(self, pattern: np.ndarray) -> np.ndarray:
        if not len(self.starts):
            return pattern
        return np.r_[pattern, np.maximum.reduceat(pattern[self.columns], self.starts)]


def _relation_rows(
    groups: list[list[int]], size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Wide]:
    """(row, column, coefficient) of "no relation with a single hidden member".

    A narrow relation gets, for each member ``k``, ``sum(y_others) - y_k >= 0``: one row of
    ``m`` entries per member, ``m²`` in all. A wide one (``m >= WIDE``) gets a continuous
    column ``z`` in [0, 1] with ``z - y_k >= 0`` per member and ``sum(y) - 2 z >= 0``:
    ``3m + 1`` entries, and the same integer patterns and the same LP relaxation (the
    smallest ``z`` is ``max y_k``, and ``sum(y) >= 2 max y_k`` is the narrow rows' strongest).
    On the medium demo the narrow rows alone made the MIPs twice as slow to solve.
    Wide relations' ``z`` columns follow the cells' ``size`` columns, in the groups' order.
    """
    narrow = [g for g in groups if len(g) < WIDE]
    wide = [g for g in groups if len(g) >= WIDE]
    rows, columns, data = _narrow_rows(narrow)
    offset = len(columns) and int(rows.max()) + 1
    sizes = np.fromiter((len(g) for g in wide), dtype=np.int64, count=len(wide))
    members = np.fromiter((c for g in wide for c in g), dtype=np.int64, count=int(sizes.sum()))
    starts = np.cumsum(sizes) - sizes
    owner = np.repeat(np.arange(len(wide)), sizes)
    column_z = size + owner
    # a row per membership (z - y_k >= 0), then one per relation (sum y - 2 z >= 0)
    member_row = offset + np.arange(len(members))
    sum_row = offset + len(members) + np.arange(len(wide))
    rows = np.concatenate([rows, member_row, member_row, sum_row[owner], sum_row])
    columns = np.concatenate([columns, column_z, members, members, size + np.arange(len(wide))])
    ones = np.ones(len(members))
    data = np.concatenate([data, ones, -ones, ones, np.full(len(wide), -2.0)])
    return rows, columns, data, _Wide(members, starts)


def _narrow_rows(groups: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each member ``k`` of each relation, ``sum(y_others) - y_k >= 0``, one row per
    membership."""
    sizes = np.fromiter((len(g) for g in groups), dtype=np.int64, count=len(groups))
    columns = np.fromiter((c for g in groups for c in g), dtype=np.int64, count=int(sizes.sum()))
    starts = np.cumsum(sizes) - sizes
    width = np.repeat(sizes, sizes)  # size of the relation each membership row belongs to
    first = np.repeat(starts, sizes)  # where that relation's members start
    rows = np.repeat(np.arange(len(columns)), width)
    within = np.arange(int(width.sum())) - np.repeat(np.cumsum(width) - width, width)
    position = np.repeat(first, width) + within
    data = np.where(position == rows, -1.0, 1.0)
    return rows, columns[position], data
