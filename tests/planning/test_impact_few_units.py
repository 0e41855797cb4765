"""Impact measures of a project of one neighbourhood, with few comparison units (trial #5).

T4: the balance table said "0.00" (alike) whenever a project had one barrio: its spread is
undefined and the standardised difference fell back to 0. T5: with two placebos the page showed
"95 % CI 0.2 to 0.8" beside "not significant, p = 0.333". T10: the public balance's "all others"
mean averaged withheld scores (now the public pages compare published units only:
tests/planning/test_impact.py). Every expected figure is worked out by hand here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.i18n import use_language
from inclusive_cities.planning.impact import did, match_units, placebos_needed, too_few_placebos


def test_one_treated_unit_is_standardised_by_the_others_spread() -> None:
    baseline = pd.DataFrame(
        {"y": [10.0, 11.0, 19.0, 30.0, 12.0]}, index=["T1", "C1", "C2", "C3", "C4"]
    )
    matched = match_units(baseline, ["T1"], ["y"], method="nearest", k=1)
    row = matched.balance.iloc[0]
    others = [11.0, 19.0, 30.0, 12.0]
    assert row["smd_before"] == pytest.approx((10.0 - np.mean(others)) / np.std(others, ddof=1))
    assert row["smd_before"] < -0.5  # far from "alike"
    # after matching: the same denominator (T21: the two matched units' own spread made a
    # near-perfect match read as weak), so 10 against 11 is a small difference
    assert matched.comparison == ["C1"]
    assert row["smd_after"] == pytest.approx((10.0 - 11.0) / np.std(others, ddof=1))
    assert abs(row["smd_after"]) < 0.15


def test_no_spread_at_all_gives_no_figure() -> None:
    """Every candidate alike and the project elsewhere: no scale to standardise by."""
    baseline = pd.DataFrame({"y": [10.0, 12.0, 12.0, 12.0]}, index=["T1", "C1", "C2", "C3"])
    row = match_units(baseline, ["T1"], ["y"], k=1).balance.iloc[0]
    assert math.isnan(row["smd_before"]) and math.isnan(row["smd_after"])


def _panel(changes: dict[str, float]) -> pd.DataFrame:
    """Two periods; unit T starts after the first. ``changes``: each unit's change."""
    rows = []
    for unit, change in changes.items():
        rows.append({"unit": unit, "period": 2024, "y": 50.0, "treated": unit == "T", "post": 0})
        rows.append(
            {"unit": unit, "period": 2025, "y": 50.0 + change, "treated": unit == "T", "post": 1}
        )
    return pd.DataFrame(rows)


def test_two_placebos_give_no_95_percent_interval() -> None:
    """T rose 3, the comparison units 1 and 2 (placebos: 1 - 2 = -1 and 2 - 1 = +1)."""
    result = did(_panel({"T": 3.0, "A": 1.0, "B": 2.0}))
    assert result.estimate == pytest.approx(3.0 - 1.5)
    assert result.details["inference"] == "placebo" and result.details["placebos"] == 2
    assert too_few_placebos(2) and too_few_placebos(19) and not too_few_placebos(20)
    assert placebos_needed() == 20
    assert result.p_value == pytest.approx(1 / 3)  # only the estimate is as large: 1 of 3
    assert not result.has_interval and not result.significant
    assert "95 %" not in result.verdict() and "p = 0.333" in result.verdict()
    assert result.to_dict()["ci_low"] is None
    assert "The p-value comes from placebos" in result.assumptions()  # no interval to speak of
    use_language("es")
    try:
        assert "IC 95" not in result.verdict() and "no significativ" in result.verdict().lower()
    finally:
        use_language("en")


def test_twenty_placebos_keep_their_interval() -> None:
    changes = {"T": 9.0} | {f"C{i:02d}": float(i % 5) for i in range(20)}
    result = did(_panel(changes))
    assert result.details["placebos"] == 20 and result.has_interval
    pool = pd.Series({k: v for k, v in changes.items() if k != "T"})
    placebos = np.array([pool[j] - pool.drop(j).mean() for j in pool.index])
    low, high = np.quantile(placebos, [0.025, 0.975])
    assert (result.ci_low, result.ci_high) == pytest.approx(
        (result.estimate - high, result.estimate - low)
    )
