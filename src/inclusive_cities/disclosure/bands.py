"""The ``n`` of a rate by nationality is a count of that nationality over an age band.

``employment_rate[venezuelan]`` is published with ``n`` = the Venezuelans aged 15-64 of its
unit, i.e. ``venezuelan_population[15-24] + venezuelan_population[25-64]``; the ``n`` of
``years_schooling_25plus[venezuelan]`` is those aged 25+. These are additive relations across
indicators: with the published age groups they gave back withheld counts exactly (the ages
15-24 and 65+ of 666 and 498 units of the medium demo, and from them the totals). The bands
are read from the indicator catalogue (a rate's denominator that tests only ``age``, possibly
with ``not_null(...)`` of its answers), so a new rate is covered without a code change.

Each such ``n`` becomes a virtual count cell ``n(rate)[unit, period, nationality]`` with the
relation ``n(rate) = sum of the band's age groups``. It is published exactly when its rate is
(the web serves a rate with its ``n``): :func:`synchronised` keeps the two hidden together.
"""

from __future__ import annotations

import ast
from functools import lru_cache

from inclusive_cities.disclosure.cells import Cell, Key, Relation
from inclusive_cities.disclosure.rules import TOTAL, Rules

BAND = "age band"
"""Kind of the relation ``n(rate) = sum of age groups``."""


@lru_cache(maxsize=1)
def rate_bands() -> tuple[dict[str, tuple[tuple[str, ...], bool]], dict[str, str]]:
    """(rate code -> (age groups its denominator spans, exact), nationality -> count code).

    ``exact`` is False when the denominator also requires answers (``not_null``): then ``n``
    is at most the band's count, and the relation is used only where it holds with equality.
    """
    from inclusive_cities.catalogue import load_catalogue

    catalogue = load_catalogue()
    groups = dict(catalogue.age_groups)
    bands: dict[str, tuple[tuple[str, ...], bool]] = {}
    counts: dict[str, str] = {}
    for code, spec in catalogue.indicators.items():
        if spec.record != "person":
            continue
        if (
            spec.aggregation == "count"
            and spec.numerator is not None
            and "age_group" in spec.disaggregations
        ):
            nationality = _equals(spec.numerator.tree.body, "nationality")
            if nationality is not None:
                counts[nationality] = code
            continue
        if spec.denominator is None or "nationality" not in spec.disaggregations:
            continue
        band = _band(spec.denominator.tree.body, groups)
        if band is not None:
            bands[code] = band
    return bands, counts


def _equals(node: ast.expr, column: str) -> str | None:
    """'x' when the expression is ``column == 'x'``."""
    if (
        isinstance(node, ast.Compare)
        and isinstance(node.left, ast.Name)
        and node.left.id == column
        and len(node.ops) == 1
        and isinstance(node.ops[0], ast.Eq)
        and isinstance(node.comparators[0], ast.Constant)
    ):
        return str(node.comparators[0].value)
    return None


def _band(
    node: ast.expr, groups: dict[str, tuple[int, int]]
) -> tuple[tuple[str, ...], bool] | None:
    """The age groups a denominator spans, if it is an age test (and answers' not_null)."""
    terms: list[ast.expr] = (
        node.values if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) else [node]
    )
    ages: list[ast.expr] = []
    exact = True
    for term in terms:
        names = {n.id for n in ast.walk(term) if isinstance(n, ast.Name)} - {"between", "not_null"}
        if names == {"age"}:
            ages.append(term)
        elif (
            isinstance(term, ast.Call)
            and isinstance(term.func, ast.Name)
            and term.func.id == "not_null"
        ):
            exact = False
        else:
            return None  # a condition on something else: n is not a count of an age band
    if not ages:
        return None
    test = ast.Expression(body=ast.BoolOp(op=ast.And(), values=ages) if len(ages) > 1 else ages[0])
    compiled = compile(ast.fix_missing_locations(test), "<band>", "eval")

    def inside(age: int) -> bool:
        scope = {"age": age, "between": lambda x, low, high: low <= x <= high}
        return bool(eval(compiled, {"__builtins__": {}}, scope))  # a checked catalogue test

    chosen: list[str] = []
    for label, (low, high) in groups.items():
        flags = {inside(a) for a in range(low, min(high, 120) + 1)}
        if flags == {True}:
            chosen.append(label)
        elif flags != {False}:
            return None  # the band cuts an age group: no additive relation
    return (tuple(chosen), exact) if chosen else None


def band_cells(
    cells: dict[Key, Cell],
    rules: Rules,
    bands: tuple[dict[str, tuple[tuple[str, ...], bool]], dict[str, str]] | None = None,
) -> list[Relation]:
    """Add the ``n`` of every rate by a nationality counted by age as a virtual cell (to
    ``cells``), with its relation to the age groups of that nationality's count."""
    spans, counts = rate_bands() if bands is None else bands
    out: list[Relation] = []
    made: dict[Key, Cell] = {}
    for key, cell in cells.items():
        code, unit, period, sex, age, nationality = key
        if code not in spans or sex != TOTAL or age != TOTAL or cell.virtual:
            continue
        count = counts.get(nationality)
        if count is None or cell.n is None or cell.n <= 0:
            continue
        labels, exact = spans[code]
        band = [(count, unit, period, TOTAL, label, TOTAL) for label in labels]
        if any(p in cells and cells[p].value is None for p in band):
            continue
        # an age group with nobody in it has no row: it counts 0, as in the count's own
        # group relation (total = the groups present), and the attacker reads it so (a block's
        # 65+ = 30 - 14 - n(employment) = 0 gave its 15-24 = 5 back)
        parts = tuple(p for p in band if p in cells)
        if not parts:
            continue
        if not exact and abs(sum(float(cells[p].value or 0.0) for p in parts) - cell.n) > 1e-9:
            continue  # answers missing here: n is below the band's count, not equal to it
        target: Key = (f"n({code})", unit, period, TOTAL, TOTAL, nationality)
        made[target] = Cell(
            target, float(cell.n), cell.n, "personas", cell.survey, None, True, of=key
        )
        out.append(Relation(target, parts, BAND, "count"))
    cells.update(made)
    return out


def synchronised(
    truth: dict[Key, Cell], hidden: set[Key], rated: list[tuple[Key, Key]] | None = None
) -> set[Key]:
    """A rate's ``n`` cell and the rate itself are hidden together (what the web serves).

    ``rated``: every (``n`` cell, its rate) of ``truth``, when the caller has them listed."""
    if rated is None:
        rated = [(key, cell.of) for key, cell in truth.items() if cell.of is not None]
    out: set[Key] = set()
    for key, rate in rated:
        if rate in hidden and key not in hidden:
            out.add(key)
        elif key in hidden and rate not in hidden:
            out.add(rate)
    return out


BOUND = "age band bound"
"""Kind of the attacker's rows ``band = n(rate) + slack``: ``n`` is at most its band's count."""


def band_bounds(
    cells: dict[Key, Cell],
    bands: tuple[dict[str, tuple[tuple[str, ...], bool]], dict[str, str]] | None = None,
) -> tuple[dict[Key, Cell], list[Relation]]:
    """The inequality ``n(rate) <= sum of its band`` where the rate also requires answers.

    ``neet_youth[venezuelan]`` rests on the Venezuelans aged 15-24 who answered: its published
    ``n`` bounds their hidden count from below (and, through the tables, other cells from
    above). Where ``n`` equals the band's count :func:`band_cells` already states it as an
    equality; elsewhere the attacker's LP gets it as ``band = n + s`` with a slack ``s >= 0``
    that is never published (for a band of several age groups, through their sum ``B``).
    Returned apart (new cells, relations), never added to the model: only the audit's LP
    attacks with them, since the slack is no figure to protect.
    """
    spans, counts = rate_bands() if bands is None else bands
    made: dict[Key, Cell] = {}
    out: list[Relation] = []
    for key, cell in cells.items():
        code, unit, period, sex, age, nationality = key
        if code not in spans or spans[code][1] or sex != TOTAL or age != TOTAL or cell.virtual:
            continue
        count = counts.get(nationality)
        target: Key = (f"n({code})", unit, period, TOTAL, TOTAL, nationality)
        if count is None or cell.n is None or cell.n <= 0 or target in cells:
            continue  # no band, or already the equality n = band
        band = [(count, unit, period, TOTAL, label, TOTAL) for label in spans[code][0]]
        parts = tuple(p for p in band if p in cells)
        if not parts or any(cells[p].value is None for p in parts):
            continue
        people = sum(float(cells[p].value or 0.0) for p in parts)
        if people < cell.n:
            continue  # counted otherwise (not a subset of the band): no inequality to state
        made[target] = Cell(
            target, float(cell.n), cell.n, "personas", cell.survey, None, True, of=key
        )
        slack: Key = (f"slack({code})", unit, period, TOTAL, TOTAL, nationality)
        made[slack] = Cell(slack, people - cell.n, None, "personas", cell.survey, None, True)
        whole = parts[0]
        if len(parts) > 1:
            whole = (f"band({code})", unit, period, TOTAL, TOTAL, nationality)
            made[whole] = Cell(whole, people, None, "personas", cell.survey, None, True)
            out.append(Relation(whole, parts, BOUND, "count"))
        out.append(Relation(whole, (target, slack), BOUND, "count"))
    return made, out
