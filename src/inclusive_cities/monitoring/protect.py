"""Disclosure control of the programme's counts of people before anything is published.

Counts of people (unit ``people``) are published only through the observatory's suppression
of long tables with margins (:func:`inclusive_cities.surveys.disclosure.suppress`): a cell
of 1 to 9 people (under the disclosure rules' threshold, 10) is withheld (primary; 0 names
nobody and is published), and more cells of the same line are withheld until no hidden cell
can be recovered from its margin or narrowed below its protection range (secondary). Cities
nest in countries, so the country totals and the programme total are the margins. Cities,
centres and policies are not people and are published as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.orm import Session

from inclusive_cities.disclosure.model import Cell, Key, Relation
from inclusive_cities.disclosure.rules import Rules, control_enabled
from inclusive_cities.store.models import TOTAL

PEOPLE_UNITS = frozenset({"people", "persons", "personas"})


def is_people(unit: str) -> bool:
    return unit.strip().lower() in PEOPLE_UNITS


def withheld_cells(table: pd.DataFrame, dims: Sequence[str], value: str = "value") -> pd.Series:
    """Which rows of a long table with ``_T`` margins must be withheld (a boolean Series)."""
    if table.empty or not control_enabled():
        return pd.Series(False, index=table.index)
    from inclusive_cities.surveys.disclosure import suppress

    frame = table.reset_index(drop=True)
    counts = frame[[*dims, value]].rename(columns={value: "n"})
    counts["n"] = pd.to_numeric(counts["n"], errors="coerce").round()
    # a count of 0 people names nobody: published, not withheld (nor marked "reserved")
    out = suppress(counts, list(dims), n="n", min_n=Rules().threshold, total=TOTAL, hide_zero=False)
    return pd.Series((out["status"] == "suppressed").to_numpy(), index=table.index)


# -- the programme's counts as one linked table: places x periods ----------------------------

Place = tuple[str, str]
"""(country, city), ``_T`` for a margin: (``_T``, ``_T``) is the whole programme."""

ALL_PERIODS = TOTAL
"""The period code of a count over every period (a city's "all periods" delivery line)."""


@dataclass
class PeopleTable:
    """One indicator's counts of people for every place and span, and how its spans add up.

    ``real`` holds the figures as pages print them; ``model`` the additive figures the
    attacker is assumed to know (a flow's period is the sum of its pieces even when one person
    came twice: the overlap is treated as known, which only makes the attacker stronger).
    ``time`` lists per city ``(total span, part spans)``; the places add up in every span.
    """

    code: str
    real: dict[tuple[Place, str], float] = field(default_factory=dict)
    model: dict[tuple[Place, str], float] = field(default_factory=dict)
    virtual: set[str] = field(default_factory=set)
    time: dict[Place, list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)
    breakdowns: dict[tuple[str, Place, str, str], float] = field(default_factory=dict)
    """(dimension, city, span, category) -> typed count: the breakdowns the IATI and HXL
    exports publish (with the programme's margin by category). Protected with the totals."""
    withheld_breakdowns: set[tuple[str, str, str, str]] = field(default_factory=set)
    """Filled by :func:`withheld_programme_cells`: (dimension, city, span, category) of every
    breakdown count to withhold (city ``_T``: the programme's margin by category)."""


def _key(code: str, place: Place, span: str, group: str = "") -> Key:
    return ("programme:" + code, 0, span, place[0], place[1], group)


def withheld_programme_cells(tables: list[PeopleTable]) -> set[tuple[str, str, str, str]]:
    """(indicator, country, city, span) of every published count of people to withhold.

    Every table is protected as one linked set of relations (cities add up to their country
    and countries to the programme in every span; a span adds up from its parts in every
    place), with the disclosure domain's secondary suppression (a MILP checked by its LP
    attacker): no withheld count of 1-9 comes back, exactly or to within its protection
    range, by adding and subtracting what is published, whichever page, report or export
    prints it.
    """
    if not control_enabled():
        return set()
    # no relation ties one indicator to another: each is solved on its own (together, the
    # solver's attacker rounds hid cells of indicators with nothing to protect). A typed
    # indicator's breakdowns (by sex, age, nationality) are solved WITH its totals: solved
    # apart, a breakdown published the sex split of a city whose total the pages withheld as
    # the partner of a small one, and the country total then gave the small one back
    return {cell for table in tables for cell in _withheld_in(table)}


def _withheld_in(table: PeopleTable) -> set[tuple[str, str, str, str]]:
    from inclusive_cities.disclosure.secondary import protect

    rules = Rules()
    truth: dict[Key, Cell] = {}
    relations: list[Relation] = []
    hidden: set[Key] = set()
    protected: set[Key] = set()

    def relate(total: Key, parts: tuple[Key, ...], kind: str) -> None:
        # a 0 is published (it names nobody) and is a constant of every sum it is in
        members = tuple(k for k in parts if k in truth)
        if total in truth and members:
            relations.append(Relation(total, members, kind, "count"))

    for (place, span), value in table.model.items():
        real = table.real.get((place, span), value)
        if round(value) == 0 and round(real) == 0:
            continue
        key = _key(table.code, place, span)
        truth[key] = Cell(key, float(value), round(value), "count")
        virtual = span in table.virtual or (place[1] == TOTAL and span == ALL_PERIODS)
        small = 0 < round(real) < rules.threshold or 0 < round(value) < rules.threshold
        if virtual or (0 < round(real) < rules.threshold):
            hidden.add(key)
        if small:
            protected.add(key)
    _breakdown_cells(table, truth, relations, hidden, protected, rules)
    spans = {span for _place, span in table.model}
    places = {place for place, _span in table.model}
    countries = sorted({p[0] for p in places if p[0] != TOTAL})
    for span in spans:
        for country in countries:
            cities = tuple(
                _key(table.code, p, span)
                for p in sorted(places)
                if p[0] == country and p[1] != TOTAL and (p, span) in table.model
            )
            relate(_key(table.code, (country, TOTAL), span), cities, "place")
        parts = tuple(_key(table.code, (c, TOTAL), span) for c in countries)
        relate(_key(table.code, (TOTAL, TOTAL), span), parts, "place")
    for place, sums in table.time.items():
        for total, members in sums:
            relate(
                _key(table.code, place, total),
                tuple(_key(table.code, place, m) for m in members),
                "period",
            )
    table.withheld_breakdowns = set()
    if not protected:
        return set()
    chosen = protect(truth, relations, hidden, protected, rules)
    virtual_keys = {
        _key(table.code, place, span)
        for place, span in table.model
        if span in table.virtual or (place[1] == TOTAL and span == ALL_PERIODS)
    } | {k for k in truth if k[5].startswith(REST)}
    table.withheld_breakdowns = {
        (key[5].split(":", 1)[0], key[4], key[2], key[5].split(":", 1)[1])
        for key in chosen - virtual_keys
        if key[5]
    }
    return {
        (key[0].removeprefix("programme:"), key[3], key[4], key[2])
        for key in chosen - virtual_keys
        if not key[5]
    }


REST = "rest:"
"""Group label of a city's people outside the categories typed (never published)."""


def _breakdown_cells(
    table: PeopleTable,
    truth: dict[Key, Cell],
    relations: list[Relation],
    hidden: set[Key],
    protected: set[Key],
    rules: Rules,
) -> None:
    """Add the typed breakdowns to the table's cells and relations (in place).

    A city's total in a span is its categories plus the people typed in none of them (a rest,
    never published: a breakdown need not be complete, the demo types only the 60+; a rest of
    at least the total's protection range leaves the line out, see below); the
    programme's margin by category is the sum of its cities'. Counts of 1-9 are withheld
    and owed their range, as the totals are.
    """
    lines: dict[tuple[str, Place, str], list[Key]] = {}
    margins: dict[tuple[str, str, str], float] = {}
    for (dimension, place, span, category), value in sorted(table.breakdowns.items()):
        margins[(dimension, span, category)] = margins.get((dimension, span, category), 0.0)
        margins[(dimension, span, category)] += value
        if round(value) == 0:
            continue  # a 0 names nobody: published, a constant of its sums
        key = _key(table.code, place, span, f"{dimension}:{category}")
        truth[key] = Cell(key, float(value), round(value), "count")
        lines.setdefault((dimension, place, span), []).append(key)
        if 0 < round(value) < rules.threshold:
            hidden.add(key)
            protected.add(key)
    columns: dict[tuple[str, str, str], list[Key]] = {}
    for (dimension, place, span), keys in lines.items():
        for key in keys:
            columns.setdefault((dimension, span, key[5]), []).append(key)
        total = _key(table.code, place, span)
        whole = table.model.get((place, span))
        if whole is None or total not in truth:
            continue
        rest = float(whole) - sum(float(truth[k].value or 0.0) for k in keys)
        if rest < 0 or rest >= rules.protection_range(float(whole)):
            # the categories do not add up to the total; or the people typed in none of them
            # are so many that ``category <= total`` bounds no category inside its range (as
            # an always-hidden member, the rest would only force more cells out of the table)
            continue
        parts = tuple(keys)
        if rest > 0:
            other = _key(table.code, place, span, f"{REST}{dimension}")
            truth[other] = Cell(other, rest, round(rest), "count", virtual=True)
            hidden.add(other)
            parts = (*parts, other)
        relations.append(Relation(total, parts, "breakdown", "count"))
    for (dimension, span, group), keys in columns.items():
        category = group.split(":", 1)[1]
        value = margins[(dimension, span, category)]
        margin = _key(table.code, (TOTAL, TOTAL), span, group)
        truth[margin] = Cell(margin, value, round(value), "count")
        if 0 < round(value) < rules.threshold:
            hidden.add(margin)
            protected.add(margin)
        relations.append(Relation(margin, tuple(keys), "breakdown", "count"))


def read_breakdowns(
    session: Session, indicator_id: int, city_id: int, place: Place, spans: Iterable[str]
) -> dict[tuple[str, Place, str, str], float]:
    """A city's typed actuals by one disaggregation (the others ``_T``), for
    :attr:`PeopleTable.breakdowns`: what the IATI and HXL exports publish."""
    from sqlalchemy import select

    from inclusive_cities.monitoring.framework import DISAGGREGATIONS
    from inclusive_cities.store.monitoring_models import IndicatorValue

    out: dict[tuple[str, Place, str, str], float] = {}
    rows = session.scalars(
        select(IndicatorValue).where(
            IndicatorValue.indicator_id == indicator_id,
            IndicatorValue.target_city_id == city_id,
            IndicatorValue.kind == "actual",
            IndicatorValue.period.in_(list(spans)),
        )
    )
    for row in rows:
        split = [d for d in DISAGGREGATIONS if getattr(row, d) != TOTAL]
        if len(split) == 1 and row.value is not None:
            category = str(getattr(row, split[0]))
            out[(split[0], place, str(row.period), category)] = float(row.value)
    return out
