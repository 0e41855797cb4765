"""The protection's setup, closure and the audit's read, made faster, give what they gave (#21).

``build_relations``, ``primary_cells``, ``dependants`` (with ``derived_dependants`` and
``synchronised``), ``combined_differencing``, ``close`` and ``score_index`` were rewritten
around indexes read once; ``load_truth`` reads Core rows; the audit reads the published
figures in two queries instead of page by page. Each is compared here with the function as
it was (written out below, the straightforward way) on a city with every kind of figure the
model knows: group tables by sex, age and nationality, a geography of blocks in
neighbourhoods, shares, rates with an ``n`` and their age bands, an entropy index, cells
suppressed upstream and empty ones, for many hidden sets.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from inclusive_cities.disclosure import control
from inclusive_cities.disclosure.audit import published_figures
from inclusive_cities.disclosure.derived import (
    COMBINED_DIFFERENCE,
    combined_differencing,
    partition_indices,
)
from inclusive_cities.disclosure.model import (
    DIMENSIONS,
    Cell,
    Key,
    Published,
    Relation,
    build_relations,
)
from inclusive_cities.disclosure.publication import (
    DependencyIndex,
    Memberships,
    close,
    dependants,
    load_truth,
    primary_cells,
    score_index,
)
from inclusive_cities.disclosure.rules import BASE_COUNTS, TOTAL, Rules
from inclusive_cities.disclosure.secondary import published_view
from inclusive_cities.disclosure.served import (
    every_published_observation,
    indicator_observations,
)
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from tests.disclosure.conftest import SmallCity
from tests.disclosure.test_publication_close import full_passes

RULES = Rules()
NATIONALITIES = ("host", "venezuelan", "other_foreign")
AGES = ("0-14", "15-24", "25-64", "65+")
SEXES = ("female", "male")
PARENTS: dict[int, int | None] = {1: None, 2: 1, 3: 1} | {b: 2 + (b - 4) // 3 for b in range(4, 10)}


def city(seed: int) -> dict[Key, Cell]:
    """Counts by nationality, age and sex of a city of six blocks in two neighbourhoods, with
    the shares, rates, entropy and survey figures computed from them (values at random)."""
    draw = random.Random(seed)
    truth: dict[Key, Cell] = {}
    number = iter(range(1, 10**6))

    def add(
        code: str, unit: int, groups: tuple[str, str, str], value: Any, n: Any, kind: str
    ) -> None:
        key: Key = (code, unit, "2024", *groups)
        truth[key] = Cell(key, value, n, kind, kind == "survey", next(number))

    people: dict[tuple[int, str], int] = {}
    for unit in PARENTS:
        by_nationality = {g: draw.choice([0, 1, 2, 3, 5, 8, 12, 30, 80]) for g in NATIONALITIES}
        total = sum(by_nationality.values())
        add("population", unit, (TOTAL, TOTAL, TOTAL), float(total), total, "personas")
        for group, count in by_nationality.items():
            if draw.random() < 0.1:  # suppressed upstream: no value, n kept or empty
                add(
                    "population", unit, (TOTAL, TOTAL, group), None, draw.choice([0, 4]), "personas"
                )
            else:
                add("population", unit, (TOTAL, TOTAL, group), float(count), count, "personas")
        for age in AGES:
            count = draw.randint(0, 20)
            people[(unit, age)] = draw.randint(0, count)
            add("population", unit, (TOTAL, age, TOTAL), float(count), count, "personas")
        for sex in SEXES:
            count = draw.randint(0, 40)
            add("population", unit, (sex, TOTAL, TOTAL), float(count), count, "personas")
        venezuelans = by_nationality["venezuelan"]
        add(
            "venezuelan_population",
            unit,
            (TOTAL, TOTAL, TOTAL),
            float(venezuelans),
            None,
            "personas",
        )
        for age in AGES:
            count = people[(unit, age)]
            add("venezuelan_population", unit, (TOTAL, age, TOTAL), float(count), None, "personas")
        share = 100.0 * venezuelans / total if total else 0.0
        add("venezuelan_share", unit, (TOTAL, TOTAL, TOTAL), share, total, "%")
        for nationality in (TOTAL, *NATIONALITIES):
            n = people[(unit, "15-24")] + people[(unit, "25-64")]
            if nationality != "venezuelan":
                n = draw.choice([0, 3, 15, 40, venezuelans])
            add("employment_rate", unit, (TOTAL, TOTAL, nationality), draw.uniform(20, 80), n, "%")
            add("years_schooling_25plus", unit, (TOTAL, TOTAL, nationality), 8.0, n, "years")
        add("entropy_nationality", unit, (TOTAL, TOTAL, TOTAL), draw.random(), total, "0-1")
        add("entropy_age", unit, (TOTAL, TOTAL, TOTAL), draw.random(), total, "0-1")
        add("mig_regular_status", unit, (TOTAL, TOTAL, "venezuelan"), 40.0, None, "survey")
        add("households", unit, (TOTAL, TOTAL, TOTAL), float(draw.randint(0, 12)), None, "hogares")
    return truth


# -- the functions as they were ---------------------------------------------------------------


def old_group_and_geography(
    cells: dict[Key, Cell], parents: dict[int, int | None], rules: Rules
) -> list[Relation]:
    relations: list[Relation] = []
    by_unit: dict[tuple[str, int, str], dict[tuple[str, str, str], Key]] = defaultdict(dict)
    by_group: dict[tuple[str, str, str, str, str], dict[int, Key]] = defaultdict(dict)
    quantity: dict[str, str] = {}
    for key, cell in cells.items():
        if cell.value is None or cell.virtual:
            continue
        if rules.is_count(key[0], cell.unit):
            quantity[key[0]] = "count"
        elif rules.is_mean(key[0], cell.unit) and cell.n is not None:
            quantity[key[0]] = "mean"
    for key, cell in cells.items():
        if cell.virtual or key[0] not in quantity or (cell.value is None and cell.n == 0):
            continue
        by_unit[(key[0], key[1], key[2])][(key[3], key[4], key[5])] = key
        by_group[(key[0], key[2], key[3], key[4], key[5])][key[1]] = key
    for (code, _unit, _period), groups in by_unit.items():
        total = groups.get((TOTAL, TOTAL, TOTAL))
        if total is None:
            continue
        for position, dimension in enumerate(DIMENSIONS):
            parts = tuple(
                key
                for group, key in sorted(groups.items())
                if group[position] != TOTAL
                and all(g == TOTAL for i, g in enumerate(group) if i != position)
            )
            if parts:
                relations.append(Relation(total, parts, dimension, quantity[code]))
    children: dict[int, list[int]] = defaultdict(list)
    for unit, parent in parents.items():
        if parent is not None:
            children[parent].append(unit)
    for (code, *_rest), units in by_group.items():
        for parent, kids in children.items():
            if parent not in units:
                continue
            parts = tuple(units[k] for k in sorted(kids) if k in units)
            if parts:
                relations.append(Relation(units[parent], parts, "geography", quantity[code]))
    return relations


def old_primary_cells(truth: dict[Key, Cell], rules: Rules) -> tuple[set[Key], ...]:
    baseline = {
        k
        for k, c in truth.items()
        if c.value is None or (c.n is not None and c.n < rules.threshold)
    }
    primary = set(baseline)
    for key, cell in truth.items():
        if (
            cell.value is not None
            and rules.is_count(key[0], cell.unit)
            and rules.is_sensitive(key[0], key[5], cell.survey)
            and cell.value < rules.threshold
        ):
            primary.add(key)
    protected = {
        k for k in primary if (truth[k].value or 0) >= 1 and rules.is_count(k[0], truth[k].unit)
    }
    return baseline, primary, protected


def old_dependants(truth: dict[Key, Cell], hidden: set[Key], rules: Rules) -> set[Key]:
    out = set()
    for key in truth:
        pair = rules.shares.get(key[0])
        if (
            pair is not None
            and key not in hidden
            and ((pair[0], *key[1:]) in hidden or (pair[1], *key[1:]) in hidden)
        ):
            out.add(key)
    counts: dict[tuple[Any, ...], set[int]] = {}
    for key in hidden:
        cell = truth[key]
        if cell.value is not None and key[0] in BASE_COUNTS:
            counts.setdefault(key[1:], set()).add(round(cell.value))
    for key, cell in truth.items():
        rate = cell.n is not None and not rules.is_count(key[0], cell.unit)
        if rate and cell.n in counts.get(key[1:], set()) and key not in hidden:
            out.add(key)
    return out | old_derived(truth, hidden | out, rules)


def old_derived(truth: dict[Key, Cell], hidden: set[Key], rules: Rules) -> set[Key]:
    together: set[Key] = set()
    for key, cell in truth.items():
        if cell.of is None:
            continue
        if cell.of in hidden and key not in hidden:
            together.add(key)
        elif key in hidden and cell.of not in hidden:
            together.add(cell.of)
    indices = partition_indices()
    groups: set[tuple[int, str, int]] = set()
    for key in hidden:
        if key[0] in BASE_COUNTS:
            varying = [i for i in (3, 4, 5) if key[i] != TOTAL]
            if not varying:
                groups.add((key[1], key[2], 0))
            elif len(varying) == 1:
                groups.add((key[1], key[2], varying[0]))
        elif key[0] == "venezuelan_population" and key[3:] == (TOTAL, TOTAL, TOTAL):
            groups.add((key[1], key[2], 5))
    return together | {
        key
        for key in truth
        if key[0] in indices
        and key not in hidden
        and ((key[1], key[2], indices[key[0]][0]) in groups or (key[1], key[2], 0) in groups)
    }


def old_combined_differencing(
    truth: dict[Key, Cell], published: Published, relations: list[Relation], rules: Rules
) -> list[tuple[tuple[Key, ...], float, float]]:
    out = []
    for relation in relations:
        if relation.kind in ("combined", "linked") or not published.has(relation.total):
            continue

        def hidden_here(k: Key) -> bool:
            cell = truth.get(k)
            return (
                cell is not None
                and not published.has(k)
                and (cell.value is not None or cell.n != 0)
            )

        hidden = [k for k in relation.parts if hidden_here(k)]
        if len(hidden) < 2:
            continue
        shown = [k for k in relation.parts if k not in hidden]
        if any(k in truth and not published.has(k) for k in shown):
            continue
        if not all(rules.is_sensitive(k[0], k[5], truth[k].survey) for k in hidden):
            continue
        if relation.quantity == "count":
            if any(truth[k].value is None for k in hidden):
                continue
            guess = published.values[relation.total] - sum(published.values[k] for k in shown)
            people = sum(float(truth[k].value or 0.0) for k in hidden)
        else:
            if any(k not in published.counts for k in (relation.total, *shown)) or any(
                truth[k].n is None for k in hidden
            ):
                continue
            guess = published.counts[relation.total] - sum(published.counts[k] for k in shown)
            people = sum(float(truth[k].n or 0) for k in hidden)
        if 1 <= people < rules.threshold and rules.recovered(guess, people):
            out.append(((*hidden, relation.total, *shown), people, guess))
    return out


def full_closure(truth: dict[Key, Cell], relations: list[Relation], hidden: set[Key]) -> set[Key]:
    """``close`` as full passes with the old functions (see test_publication_close)."""
    return full_passes(truth, relations, hidden, RULES, old_dependants)


def hidden_sets(truth: dict[Key, Cell], seed: int) -> list[set[Key]]:
    """The primary cells, then random patterns from a few cells to half the city."""
    draw = random.Random(seed)
    keys = sorted(truth)
    primary = old_primary_cells(truth, RULES)[1]
    return [primary] + [set(draw.sample(keys, size)) | primary for size in (1, 5, 20, 80, 200)]


# -- the comparisons --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_setup_gives_what_the_old_functions_gave(seed: int) -> None:
    truth = city(seed)
    relations = build_relations(truth, PARENTS, RULES)
    # the group and geography relations, in the same order, ahead of the other kinds
    old = old_group_and_geography(truth, PARENTS, RULES)
    assert relations[: len(old)] == old
    assert any(r.kind == "geography" for r in old) and any(r.kind == "age_group" for r in old)
    assert primary_cells(truth, RULES) == old_primary_cells(truth, RULES)
    assert any(c.of is not None for c in truth.values())  # the rates' n cells are in
    index = DependencyIndex(truth, RULES)
    for hidden in hidden_sets(truth, seed):
        expected = old_dependants(truth, hidden, RULES)
        assert dependants(truth, hidden, RULES, index) == expected
        assert dependants(truth, hidden, RULES) == expected
        for few in ({k} for k in sorted(hidden)[::7]):  # fewer hidden cells than shares' inputs
            assert dependants(truth, few, RULES, index) == old_dependants(truth, few, RULES)
        view = published_view(truth, hidden)
        found = combined_differencing(truth, view, relations, RULES)
        assert all(f.attack == COMBINED_DIFFERENCE for f in found)
        old_found = old_combined_differencing(truth, view, relations, RULES)
        assert [(f.via, f.truth, f.low) for f in found] == old_found
        closed = close(truth, relations, hidden, RULES, index)
        assert closed == full_closure(truth, relations, hidden)
        scores = score_index(truth, closed)
        for (code, period), (units, withheld) in scores.items():
            totals = {
                k[1]: c
                for k, c in truth.items()
                if (k[0], k[2]) == (code, period) and k[3:] == (TOTAL, TOTAL, TOTAL)
            }
            assert units.tolist() == sorted(totals)
            assert withheld.tolist() == sorted(
                u for u, c in totals.items() if c.value is not None and c.key in closed
            )


def test_some_patterns_give_sums_of_hidden_groups_away() -> None:
    """The comparison above is not vacuous: the old attack finds sums on these cities."""
    found = 0
    for seed in range(6):
        truth = city(seed)
        relations = build_relations(truth, PARENTS, RULES)
        for hidden in hidden_sets(truth, seed):
            found += len(
                old_combined_differencing(truth, published_view(truth, hidden), relations, RULES)
            )
    assert found > 0


def test_memberships_name_the_relations_holding_each_cell() -> None:
    truth = city(3)
    outside: Key = ("not_stored", 4, "2024", TOTAL, TOTAL, TOTAL)  # numbered on the way
    relations = [
        *build_relations(truth, PARENTS, RULES),
        Relation(outside, (("population", 4, "2024", TOTAL, TOTAL, TOTAL),), "linked", "count"),
    ]
    holding = Memberships(truth, relations)
    draw = random.Random(3)
    alone: Key = ("mig_regular_status", 4, "2024", TOTAL, TOTAL, "venezuelan")  # in none
    for size in (0, 1, 3, 30, 200):
        keys = set(draw.sample(sorted(truth), size)) | {outside, alone}
        expected = sorted(
            {number for number, r in enumerate(relations) if any(k in keys for k in r.members)}
        )
        assert holding.among(keys) == expected
    assert holding.among({alone}) == []
    assert holding.among({outside}) == [len(relations) - 1]


def old_published_figures(session: Session, city_id: int) -> Published:
    """The audit's read as it was: the API page by page, then the totals of every layer."""
    codes = {
        uid: code
        for uid, code in session.execute(
            select(models.SpatialUnit.id, models.SpatialUnit.code).where(
                models.SpatialUnit.city_id == city_id
            )
        )
    }
    ids = {code: uid for uid, code in codes.items()}
    values: dict[Key, float] = {}
    counts: dict[Key, int] = {}
    for o, indicator, unit, period, _measure in every_published_observation(session, city_id, 2):
        key: Key = (indicator, ids[unit], period.code, o.sex, o.age_group, o.nationality)
        values[key] = float(o.value)
        if o.n is not None:
            counts[key] = int(o.n)
    layers = session.execute(
        select(PublishedLayer.indicator_id, PublishedLayer.period_id).where(
            PublishedLayer.city_id == city_id
        )
    ).all()
    for indicator_id, period_id in sorted(layers):
        code = session.get(models.Indicator, indicator_id)
        period = session.get(models.Period, period_id)
        assert code is not None and period is not None
        for row in indicator_observations(session, indicator_id, period_id, city_id):
            if row.value is not None:
                key = (code.code, row.unit_id, period.code, TOTAL, TOTAL, TOTAL)
                values[key] = float(row.value)
                if row.n is not None:
                    counts[key] = int(row.n)
    return Published(values, counts)


def test_published_figures_are_what_the_api_pages_and_the_totals_serve(small: SmallCity) -> None:
    engine = connect(small.url)
    with transaction(engine) as s:  # a withdrawn layer, a row suppressed upstream, a small n
        share = s.scalar(
            select(models.Indicator.id).where(models.Indicator.code == "venezuelan_share")
        )
        s.execute(delete(PublishedLayer).where(PublishedLayer.indicator_id == share))
        population = s.scalar(
            select(models.Indicator.id).where(models.Indicator.code == "population")
        )
        rows = s.scalars(
            select(models.Observation).where(
                models.Observation.indicator_id == population,
                models.Observation.nationality == "host",
            )
        ).all()
        rows[0].status, rows[0].value = "suppressed", None
        rows[1].n = 4
    read: dict[bool, Published] = {}
    for enabled in (True, False):
        with control(enabled), Session(engine) as s:
            city = s.get(models.City, 1)
            assert city is not None
            new, old = published_figures(s, city), old_published_figures(s, 1)
            assert new.values == old.values and new.counts == old.counts
            assert list(new.values) == list(old.values)  # in the same order
            read[enabled] = new
    # control withholds more than the web's own rule; the withdrawn layer's rows are gone
    assert set(read[True].values) < set(read[False].values)
    assert len(read[False].values) > 10
    assert not any(k[0] == "venezuelan_share" for k in read[False].values)


def test_load_truth_reads_what_the_orm_read(small: SmallCity) -> None:
    engine = connect(small.url)
    with transaction(engine) as s:
        first = s.scalars(select(models.Observation).order_by(models.Observation.id)).first()
        assert first is not None
        first.status, first.value = "suppressed", None
        second = s.get(models.Observation, first.id + 1)
        assert second is not None
        second.standard_error = 0.5
    with Session(engine) as s:
        truth, parents, codes = load_truth(s, 1)
        rows = s.execute(  # as load_truth read them: ORM rows, the codes joined in
            select(models.Observation, models.Indicator, models.Period)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .join(models.Period, models.Period.id == models.Observation.period_id)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .where(models.SpatialUnit.city_id == 1)
        ).all()
    expected = {}
    for o, indicator, period in rows:
        key: Key = (indicator.code, o.unit_id, period.code, o.sex, o.age_group, o.nationality)
        survey = o.status in ("estimated", "suppressed") or o.standard_error is not None
        expected[key] = Cell(key, o.value, o.n, indicator.unit, survey, o.id)
    assert truth == expected
    assert list(truth) == list(expected)  # the order the relations are built in
    assert sum(c.survey for c in truth.values()) == 2
    assert parents == {small.units["N1"]: None} | {
        small.units[b]: small.units["N1"] for b in ("B1", "B2", "B3")
    }
    assert codes == {uid: code for code, uid in small.units.items()}


@pytest.mark.parametrize("seed", [3, 11])
def test_a_layout_cut_from_the_whole_is_the_layout_laid_out_anew(seed: int) -> None:
    """The solver's rounds lay out their components' relations by cutting them from the whole
    list's arrays (attacks._Layout.cut): every array and the key numbering must be what laying
    the same relations out member by member gives."""
    from inclusive_cities.disclosure.attacks import RelationSubset, _Layout

    truth = city(seed)
    relations = build_relations(truth, PARENTS, Rules())
    whole = _Layout(relations, truth)
    draw = random.Random(seed)
    for size in (1, 7, len(relations) // 2, len(relations)):
        positions = sorted(draw.sample(range(len(relations)), size))
        subset = RelationSubset(relations, positions)
        assert list(subset) == [relations[i] for i in positions]
        cut, anew = _Layout.cut(whole, subset), _Layout(list(subset), truth)
        assert cut.keys == anew.keys
        for name in ("members", "starts", "valued", "upstream", "owner", "counted"):
            assert np.array_equal(getattr(cut, name), getattr(anew, name)), name
