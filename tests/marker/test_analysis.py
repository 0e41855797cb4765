"""Analysis helpers against hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.marker import compute
from inclusive_cities.marker.analysis import (
    correlations,
    cronbach_alpha,
    rank_shift_on_removal,
    strengths_and_weaknesses,
)


@pytest.fixture
def result(two_area_spec, small_table):
    return compute(two_area_spec, small_table)


def test_cronbach_alpha_by_hand(result):
    # A's components (normalised = raw on 0-100 goalposts): a1 = 10, 50, 90, 70; a2 = 30, 50,
    # 100, 10. var(a1) = 1200 (mean 55: 2025+25+1225+225 = 3500/3 = 1166.67)
    a1 = np.array([10, 50, 90, 70.0])
    a2 = np.array([30, 50, 100, 10.0])
    var1, var2 = a1.var(ddof=1), a2.var(ddof=1)
    assert var1 == pytest.approx(3500 / 3)
    total = (a1 + a2).var(ddof=1)  # sums 40, 100, 190, 80 -> mean 102.5
    assert total == pytest.approx((62.5**2 + 2.5**2 + 87.5**2 + 22.5**2) / 3)
    alpha = 2 * (1 - (var1 + var2) / total)
    assert cronbach_alpha(result)["A"] == pytest.approx(alpha)
    assert np.isnan(cronbach_alpha(result)["B"])  # one component only


def test_correlations_with_parent_and_index(result):
    table = correlations(result)
    expected = np.corrcoef(result.normalised["a1"], result.scores["A"])[0, 1]
    assert table.loc["a1", "r_parent"] == pytest.approx(expected)
    assert table.loc["A", "r_index"] == pytest.approx(
        np.corrcoef(result.scores["A"], result.score)[0, 1]
    )
    assert table.loc["b1", "r_parent"] == pytest.approx(1.0)  # B is b1 alone
    assert set(table.index) == {"A", "B", "a1", "a2", "b1"}


def test_strengths_and_weaknesses_by_rank(result):
    # u1 normalised: a1 10 (rank 4 of 4), a2 30 (rank 3), b1 80 (rank 2: 100, 80, 60, 40)
    table = strengths_and_weaknesses(result, "u1", n=1)
    assert table.to_dict("records") == [
        {"kind": "strength", "code": "b1", "name": "b1", "rank": 2, "score": 80.0, "raw": 20.0},
        {"kind": "weakness", "code": "a1", "name": "a1", "rank": 4, "score": 10.0, "raw": 10.0},
    ]


def test_rank_shift_when_a_component_is_removed(result):
    # nominal IDX: u1 50, u2 45, u3 97.5, u4 50 -> ranks 2, 4, 1, 2
    # without B: IDX = A = 20, 50, 95, 40 -> ranks 4, 2, 1, 3: shifts 2, 2, 0, 1
    table = rank_shift_on_removal(result, ["B"])
    assert table.loc["B", "mean_abs_rank_shift"] == pytest.approx(5 / 4)
    assert table.loc["B", "max_abs_rank_shift"] == 2
    assert table.loc["B", "units_moved"] == 3
    everything = rank_shift_on_removal(result)
    assert set(everything.index) == {"A", "B", "a1", "a2", "b1"}
    # removing b1 empties B, so it is the same variant as removing B
    pd.testing.assert_series_equal(everything.loc["b1"], everything.loc["B"], check_names=False)
