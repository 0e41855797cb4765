"""The attacker finds every known leak with control off, and nothing with control on."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from inclusive_cities.cli import main
from inclusive_cities.disclosure import audit, control, protection
from inclusive_cities.disclosure.attacks import (
    LP_INTERVAL,
    NORMALISED_INVERSE,
    PARENT_MINUS_CHILDREN,
    SHARE_TIMES_TOTAL,
    TOTAL_MINUS_PARTS,
    Finding,
    lp_bounds,
)
from inclusive_cities.disclosure.audit import published_figures
from inclusive_cities.disclosure.model import Key
from inclusive_cities.store import connect, models
from inclusive_cities.web import data
from tests.disclosure.conftest import SmallCity


def key(city: SmallCity, code: str, unit: str, nationality: str = "_T") -> Key:
    return (code, city.units[unit], "2024", "_T", "_T", nationality)


def findings(city: SmallCity, enabled: bool) -> dict[tuple[str, Key], Finding]:
    with control(enabled), Session(connect(city.url)) as session:
        report = audit(session, "DSC")
    return {(f.attack, f.key): f for f in report.findings}


def test_without_control_every_attack_recovers_its_cell(small: SmallCity) -> None:
    found = findings(small, enabled=False)
    venezuelans_b1 = key(small, "venezuelan_population", "B1")
    # share x total: 1.923 % of 52 people is 1 person
    assert found[(SHARE_TIMES_TOTAL, venezuelans_b1)].low == pytest.approx(100 / 52 * 52 / 100)
    # total - parts: 52 people, 51 of them host, so 1 Venezuelan
    by_nationality = found[(TOTAL_MINUS_PARTS, key(small, "population", "B1", "venezuelan"))]
    assert by_nationality.low == pytest.approx(52 - 51)
    # parent - visible children: the neighbourhood's 28 minus B2's 12 and B3's 15
    assert found[(PARENT_MINUS_CHILDREN, venezuelans_b1)].low == pytest.approx(28 - 12 - 15)
    # inverse of the normalised score: the line through (40, 40) and (70, 70) maps B2's 50
    inverse = found[(NORMALISED_INVERSE, key(small, "employment_rate", "B2"))]
    assert inverse.low == pytest.approx(50.0)
    # LP: the relations pin B1's count to [1, 1], far inside 1 +- 10
    interval = found[(LP_INTERVAL, venezuelans_b1)]
    assert (interval.low, interval.high) == pytest.approx((1.0, 1.0))


def test_with_control_nothing_is_recoverable_and_ranges_hold(small: SmallCity) -> None:
    assert findings(small, enabled=True) == {}
    with control(True), Session(connect(small.url)) as session:
        state = protection(session, 1)
        city = session.get(models.City, 1)
        assert city is not None
        published = published_figures(session, city)
        # exactly the two counts of one Venezuelan person are owed a protection range
        assert state.protected == {
            key(small, "venezuelan_population", "B1"),
            key(small, "population", "B1", "venezuelan"),
        }
        bounds = lp_bounds(state.truth, published, state.relations, state.protected)
        assert set(bounds) == state.protected
        for cell, (low, high, _size) in bounds.items():
            value = state.truth[cell].value
            assert value is not None
            reach = max(10.0, 0.1 * value)
            assert low <= max(0.0, value - reach) + 1e-9
            assert high >= value + reach - 1e-9
        # the share of B1 goes with its count; the run hides B2's score and its index
        assert key(small, "venezuelan_share", "B1") not in published.values
        scores = data.run_scores(session, small.run)
        row = list(scores.unit_ids).index(small.units["B2"])
        assert all(scores.scores[row, j] != scores.scores[row, j] for j in range(2))  # NaN


def test_audit_command_exits_non_zero_only_when_cells_come_back(
    small: SmallCity, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["-d", small.url, "--lang", "en", "disclosure", "audit", "--city", "DSC"]
    main(args)  # returns: exit status 0
    assert "0 recoverable" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        main([*args, "--without-control"])
    assert stop.value.code == 1
    out = capsys.readouterr().out
    assert "venezuelan_population[B1, 2024]: share × total gives 1" in out
