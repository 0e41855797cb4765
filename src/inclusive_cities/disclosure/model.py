"""Cells and the additive relations between them, as both the protector and attacker see them.

A cell is one figure of one indicator for one unit, period and group. The relations are
public knowledge (a block's people add up to its neighbourhood's; host + Venezuelan +
other foreign = all), so the attacker uses exactly the ones the protector protects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from inclusive_cities.disclosure.cells import DIMENSIONS as DIMENSIONS
from inclusive_cities.disclosure.cells import Cell as Cell
from inclusive_cities.disclosure.cells import Finding as Finding
from inclusive_cities.disclosure.cells import Key as Key
from inclusive_cities.disclosure.cells import Published as Published
from inclusive_cities.disclosure.cells import Relation as Relation
from inclusive_cities.disclosure.rules import TOTAL, Rules


def build_relations(
    cells: dict[Key, Cell], parents: dict[int, int | None], rules: Rules
) -> list[Relation]:
    """Every additive relation among the cells: groups -> total, units -> parent, linked."""
    for stale in [k for k, c in cells.items() if c.virtual]:
        del cells[stale]  # built again below from the stored figures
    relations: list[Relation] = []
    by_unit: dict[tuple[str, int, str], dict[tuple[str, str, str], Key]] = defaultdict(dict)
    by_group: dict[tuple[str, str, str, str, str], dict[int, Key]] = defaultdict(dict)
    quantity: dict[str, str] = {}
    kinds: dict[tuple[str, str], str] = {}  # (code, unit) -> "count", "mean" or ""
    for key, cell in cells.items():
        if cell.value is None:
            continue
        kind = kinds.get((key[0], cell.unit))
        if kind is None:
            kind = kinds[(key[0], cell.unit)] = _kind(key[0], cell.unit, rules)
        if kind == "count" or (kind == "mean" and cell.n is not None):
            quantity[key[0]] = kind
    for key, cell in cells.items():
        # a cell suppressed upstream (value NULL) is still a member of its relations, as a
        # hidden one: left out, ``_T = host + venezuelan(suppressed)`` would look like a
        # relation with nothing hidden and its published members would give its n back
        if key[0] not in quantity or (cell.value is None and cell.n == 0):
            continue  # an empty cell (n = 0) discloses no one
        code, unit, period, sex, age, nationality = key
        by_unit[(code, unit, period)][(sex, age, nationality)] = key
        by_group[(code, period, sex, age, nationality)][unit] = key
    for (code, _unit, _period), groups in by_unit.items():
        total = groups.get((TOTAL, TOTAL, TOTAL))
        if total is None:
            continue
        # the groups that vary in exactly one dimension, by dimension, in group order
        lines: tuple[list[Key], list[Key], list[Key]] = ([], [], [])
        for (sex, age, nationality), key in sorted(groups.items()):
            if age == TOTAL and nationality == TOTAL:
                if sex != TOTAL:
                    lines[0].append(key)
            elif sex == TOTAL and nationality == TOTAL:
                lines[1].append(key)
            elif sex == TOTAL and age == TOTAL:
                lines[2].append(key)
        for dimension, parts in zip(DIMENSIONS, lines, strict=True):
            if parts:
                relations.append(Relation(total, tuple(parts), dimension, quantity[code]))
    children: dict[int, list[int]] = defaultdict(list)
    for unit, parent in parents.items():
        if parent is not None:
            children[parent].append(unit)
    kids = [(parent, sorted(units)) for parent, units in children.items()]
    order = {parent: number for number, (parent, _units) in enumerate(kids)}
    for (code, *_rest), units in by_group.items():
        # the parents present, in the order of ``children`` (from the smaller side)
        if len(units) < len(kids):
            present = [kids[i] for i in sorted(order[u] for u in units if u in order)]
        else:
            present = [(parent, k) for parent, k in kids if parent in units]
        for parent, members in present:
            below = tuple(units[k] for k in members if k in units)
            if below:
                relations.append(Relation(units[parent], below, "geography", quantity[code]))
    for first, second, nationality in rules.linked:
        for (code, unit, period), groups in by_unit.items():
            if code != first or (TOTAL, TOTAL, TOTAL) not in groups:
                continue
            other = by_unit.get((second, unit, period), {}).get((TOTAL, TOTAL, nationality))
            if other is not None:
                relations.append(
                    Relation(groups[(TOTAL, TOTAL, TOTAL)], (other,), "linked", "count")
                )
    from inclusive_cities.disclosure.bands import band_cells

    relations = relations + combined_cells(cells, relations, rules) + band_cells(cells, rules)
    virtual = sorted(k for k, c in cells.items() if c.virtual)
    for number, key in enumerate(virtual):
        cells[key].id = -(number + 1)  # stable: the stored protection names it by this id
    return relations


def _kind(code: str, unit: str, rules: Rules) -> str:
    """What a figure of this indicator and unit adds up as: "count", "mean" or ""."""
    if rules.is_count(code, unit):
        return "count"
    return "mean" if rules.is_mean(code, unit) else ""


COMBINED = "combined"
"""Kind of the relations that define a combined quantity and place it in its table."""


def always_hidden(cell: Cell, rules: Rules) -> bool:
    """Hidden whatever the pattern: the web's threshold rule, or a small sensitive count."""
    if cell.value is None or (cell.n is not None and cell.n < rules.threshold):
        return True
    code, nationality = cell.key[0], cell.key[5]
    return (
        rules.is_count(code, cell.unit)
        and rules.is_sensitive(code, nationality, cell.survey)
        and cell.value < rules.threshold
    )


def combined_cells(
    cells: dict[Key, Cell],
    relations: list[Relation],
    rules: Rules,
    name: Callable[[Relation, list[Cell]], Key] | None = None,
) -> list[Relation]:
    """The sum of a relation's small sensitive groups, as a cell of its own (added to ``cells``).

    Where the Venezuelan and the other-foreign rows of a block are both hidden, the published
    total minus the published host row gives their SUM: "5 migrants live here" (for a rate, its
    ``n``). That sum is a count of a sensitive group like any other, so it is protected like
    one. For every group relation whose always-hidden sensitive parts P (two or more with
    someone in them, not all the parts) add up to 1 .. threshold - 1 people, a virtual cell
    ``V`` (labelled ``a+b`` in the varying dimension) joins the model with two relations:
    ``V = sum(P)`` and ``total = (parts - P) + V``. The solver then hides another member
    around it and keeps its range exactly as for a stored count, and the attacker's LP bounds
    ``V``, i.e. ``sum(P)``. ``V`` has no observation id (a negative one) and is always hidden.

    ``name(relation, group)`` keys ``V`` for tables outside the census model (a survey or
    programme table's lines, whatever their kind): every relation of three or more parts is
    then considered, not only the census's group relations.
    """
    out: list[Relation] = []
    made: list[Cell] = []
    for relation in relations:
        if len(relation.parts) < 3 or (name is None and relation.kind not in DIMENSIONS):
            continue
        position = 3 + DIMENSIONS.index(relation.kind) if name is None else 0
        members = [cells[k] for k in relation.parts if k in cells]
        group = [
            c
            for c in members
            if rules.is_sensitive(c.key[0], c.key[5], c.survey) and always_hidden(c, rules)
        ]
        if len(group) < 2 or len(group) == len(relation.parts):
            continue
        if relation.quantity == "count":
            if any(c.value is None for c in group):
                continue
            people = [float(c.value or 0.0) for c in group]
        else:
            if any(c.n is None for c in group):
                continue
            people = [float(c.n or 0) for c in group]
        total = sum(people)
        if sum(1 for p in people if p > 0) < 2 or not 1 <= total < rules.threshold:
            continue
        if relation.quantity == "count":
            value: float | None = total
            n = None if any(c.n is None for c in group) else sum(int(c.n or 0) for c in group)
        else:
            n = int(total)
            known = all(c.value is not None for c in group)
            # unknown when a member was suppressed upstream: never read as a figure (NaN)
            value = (
                sum(float(c.value or 0.0) * float(c.n or 0) for c in group) / total
                if known
                else float("nan")
            )
        key = (
            name(relation, group)
            if name is not None
            else relabel(
                relation.total, position, "+".join(sorted(str(c.key[position]) for c in group))
            )
        )
        cell = Cell(key, value, n, group[0].unit, any(c.survey for c in group), None, True)
        made.append(cell)
        rest = tuple(k for k in relation.parts if k not in {c.key for c in group})
        out.append(Relation(key, tuple(c.key for c in group), COMBINED, relation.quantity))
        out.append(Relation(relation.total, (*rest, key), COMBINED, relation.quantity))
    cells.update((cell.key, cell) for cell in made)
    return out


def relabel(key: Key, position: int, label: str) -> Key:
    """``key`` with the group at ``position`` (3 sex, 4 age group, 5 nationality) replaced."""
    groups = [key[3], key[4], key[5]]
    groups[position - 3] = label
    return (key[0], key[1], key[2], groups[0], groups[1], groups[2])


def describe(key: Key, unit_codes: dict[int, str]) -> str:
    """A cell as people read it: indicator[unit, period, groups]."""
    groups = [g for g in key[3:] if g != TOTAL]
    label = f"{key[0]}[{unit_codes.get(key[1], key[1])}, {key[2]}"
    return label + (", " + ", ".join(groups) if groups else "") + "]"
