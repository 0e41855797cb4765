"""The attacker's dual gives cuts every protecting pattern satisfies (Fischetti and Salazar).

A neighbourhood N1 of four blocks, people by nationality (Venezuelan, host). B1's 5
Venezuelans need ``± 10`` (down to 0). Relation by relation, hiding B1 and B2 as a rectangle
looks enough (B2's 30 Venezuelans can absorb 10), but B2's single host caps how far B1 can
fall: the attacker moves B1 down only by 1, so B1 is narrowed to [4, …]. The cut read from the
attacker's LP must (a) be violated by that pattern, (b) hold for every pattern that does
protect B1, checked here with ``scipy.optimize.linprog`` on equations written from the table,
and (c) lead ``compute`` to a pattern the attacker cannot narrow.
"""

from __future__ import annotations

import importlib
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog
from sqlalchemy import update

from inclusive_cities.cli import main
from inclusive_cities.disclosure.attacks import LP_INTERVAL, Finding, lp_intervals, protection_cuts
from inclusive_cities.disclosure.audit import unproven
from inclusive_cities.disclosure.model import Cell, Key, build_relations
from inclusive_cities.disclosure.publication import compute
from inclusive_cities.disclosure.rules import TOTAL, Rules
from inclusive_cities.disclosure.secondary import published_view
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.web.data import CACHE
from tests.disclosure.conftest import SmallCity

UNITS = {"N1": 1, "B1": 2, "B2": 3, "B3": 4, "B4": 5}
PARENTS = {1: None, 2: 1, 3: 1, 4: 1, 5: 1}
# block: (venezuelan, host)
BLOCKS = {"B1": (5, 100), "B2": (30, 1), "B3": (40, 60), "B4": (50, 70)}


def pop(unit: str, nationality: str = TOTAL) -> Key:
    return ("population", UNITS[unit], "2024", TOTAL, TOTAL, nationality)


def table() -> dict[Key, int]:
    values: dict[Key, int] = {}
    for block, (ven, host) in BLOCKS.items():
        values[pop(block, "venezuelan")] = ven
        values[pop(block, "host")] = host
        values[pop(block)] = ven + host
    for nationality in ("venezuelan", "host", TOTAL):
        values[pop("N1", nationality)] = sum(values[pop(b, nationality)] for b in BLOCKS)
    return values


def equations() -> list[tuple[Key, list[Key]]]:
    """Every additive relation the public knows, written by hand from the table's layout."""
    out = [(pop(u), [pop(u, "venezuelan"), pop(u, "host")]) for u in UNITS]
    for nationality in ("venezuelan", "host", TOTAL):
        out.append((pop("N1", nationality), [pop(b, nationality) for b in BLOCKS]))
    return out


def interval(values: dict[Key, int], hidden: set[Key], target: Key) -> tuple[float, float]:
    """The attacker's smallest and largest value of ``target``, from scipy's linprog."""
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


def protects(values: dict[Key, int], hidden: set[Key], target: Key) -> bool:
    """docs/disclosure.md: the interval reaches ``value ± max(10, 10 %)``, floored at 0."""
    value = values[target]
    low, high = interval(values, hidden, target)
    return low <= max(0.0, value - 10) + 1e-6 and high >= value + 10 - 1e-6


@pytest.fixture(scope="module")
def city() -> tuple[dict[Key, int], dict[Key, Cell]]:
    values = table()
    # n left empty: only the rule set (not the web's n threshold) decides what is primary
    truth = {
        k: Cell(k, float(v), None, "personas", False, i) for i, (k, v) in enumerate(values.items())
    }
    return values, truth


PROTECTING = 40
RECTANGLE = {pop("B1", "venezuelan"), pop("B1", "host"), pop("B2", "venezuelan"), pop("B2", "host")}


def test_the_rectangle_is_narrowed_and_its_cut_excludes_it(
    city: tuple[dict[Key, int], dict[Key, Cell]],
) -> None:
    values, truth = city
    target = pop("B1", "venezuelan")
    low, high = interval(values, RECTANGLE, target)
    assert (low, high) == pytest.approx((4.0, 35.0))  # B2 has one host: B1 falls by 1 only
    finding = Finding(target, LP_INTERVAL, 5.0, low, 1e12, ())
    relations = build_relations(truth, PARENTS, Rules())
    cuts = protection_cuts(truth, published_view(truth, RECTANGLE), relations, [finding], Rules())
    assert len(cuts) == 1  # only the downward side fails
    cut = cuts[0]
    assert cut.need == pytest.approx(5.0)  # min(value, range): down to 0
    # the rectangle's own weight is what the attacker can move B1 down by: 1, short of 5
    assert sum(w for k, w in cut.weights.items() if k in RECTANGLE) == pytest.approx(1.0)
    assert any(k not in RECTANGLE for k in cut.weights)


def test_every_protecting_pattern_satisfies_the_cut(
    city: tuple[dict[Key, int], dict[Key, Cell]],
) -> None:
    """A wrong cut (one excluding a pattern that protects B1) fails here: every superset of
    the rectangle with up to 3 more cells (hiding B3's or B4's pair, a total, a margin …)."""
    values, truth = city
    target = pop("B1", "venezuelan")
    relations = build_relations(truth, PARENTS, Rules())
    finding = Finding(target, LP_INTERVAL, 5.0, 4.0, 1e12, ())
    (cut,) = protection_cuts(truth, published_view(truth, RECTANGLE), relations, [finding], Rules())
    others = sorted(set(values) - RECTANGLE)
    protecting = 0
    for size in range(4):
        for extra in itertools.combinations(others, size):
            hidden = RECTANGLE | set(extra)
            if not protects(values, hidden, target):
                continue
            protecting += 1
            assert sum(cut.weights.get(k, 0.0) for k in hidden) >= cut.need - 1e-6, extra
    assert protecting > PROTECTING  # the check saw many protecting patterns, not a few


def test_compute_ends_with_a_pattern_the_attacker_cannot_narrow(
    city: tuple[dict[Key, int], dict[Key, Cell]],
) -> None:
    values, truth = city
    codes = {i: u for u, i in UNITS.items()}
    result = compute(truth, PARENTS, codes, Rules())
    assert result.protected == {pop("B1", "venezuelan")}
    assert RECTANGLE - {pop("B2", "host"), pop("B2", "venezuelan")} <= result.hidden
    assert protects(values, result.hidden, pop("B1", "venezuelan"))
    # no relation left with a single hidden member (it would come back by subtraction)
    for total, parts in equations():
        assert sum(k in result.hidden for k in (total, *parts)) != 1, total
    # and not everything was hidden to get there
    assert len(result.hidden) < len(values) - 3


def test_the_audit_skips_only_what_the_solve_proved_on_the_same_public_figures(
    city: tuple[dict[Key, int], dict[Key, Cell]],
) -> None:
    """publish audits right after solving: the cells the solve attacked and found protected
    are not attacked again, but only while the public sees no more than the solver's attacker."""
    values, truth = city
    state = compute(truth, PARENTS, {i: u for u, i in UNITS.items()}, Rules())
    target = pop("B1", "venezuelan")
    assert state.verified == {target}
    assert unproven(state, published_view(truth, state.hidden)) == set()
    # one more figure served than the solve assumed (a hidden one of the pattern): the proof
    # does not apply, every protected cell is attacked, and the attacker finds B1 narrowed
    leaky = state.hidden - {pop("B3", "venezuelan"), pop("B3", "host")}
    served = published_view(truth, leaky)
    assert unproven(state, served) == {target}
    relations = build_relations(truth, PARENTS, Rules())
    found = lp_intervals(truth, served, relations, unproven(state, served), Rules())
    assert [f.key for f in found] == [target]
    assert not protects(values, leaky, target)  # linprog agrees: B1 is narrowed


def test_publish_audits_again_only_what_its_own_solve_did_not_prove(
    small: SmallCity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real ``publish`` of the small city: its audit's LP attack gets only the protected
    cells the solve of the same process did not prove (none here); a later ``disclosure
    audit`` (a new solve read from the data folder, no proof) attacks them all."""
    monkeypatch.setenv("INCLUSIVE_CITIES_DATA_DIR", str(tmp_path / "data"))
    audit_module = importlib.import_module("inclusive_cities.disclosure.audit")
    attacked: list[set[Key]] = []
    real = audit_module.lp_intervals

    def recording(*args: Any) -> Any:
        attacked.append(set(args[3]))
        return real(*args)

    monkeypatch.setattr(audit_module, "lp_intervals", recording)
    with transaction(connect(small.url)) as session:
        session.execute(update(models.MarkerRun).values(published=False))
    CACHE.clear()
    main(["-d", small.url, "--lang", "en", "publish", "--city", "DSC", "--layers"])
    CACHE.clear()  # as in a new process: the stored protection, without the solve's proof
    main(["-d", small.url, "--lang", "en", "disclosure", "audit", "--city", "DSC"])  # 0 found
    at_publish, later = attacked
    assert later  # the small city has protected hidden counts (B1's one Venezuelan …)
    assert at_publish == set()
