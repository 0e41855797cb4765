"""Design-based estimates checked against hand calculations and the surveys engine."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from inclusive_cities import surveys
from inclusive_cities.mobility import Design, Estimate, change, proportion, total

# Two strata: A with weights 2,2,2 and answers 1,0,1; B with weights 4,4 and answers 0,1.
TINY = pd.DataFrame(
    {
        "weight": [2.0, 2.0, 2.0, 4.0, 4.0],
        "stratum": ["A", "A", "A", "B", "B"],
        "y": [1, 0, 1, 0, 1],
    }
)


def test_proportion_matches_hand_linearisation() -> None:
    # p = 8/14 = 4/7. Linearised u_i = w_i (y_i - p) / 14: A = 3/49, -4/49, 3/49 (variance
    # contribution 3/2 * 294/147**2 = 1/49); B = -8/49, 6/49 (2 * 98/49**2 = 4/49).
    result = proportion(TINY, TINY["y"], design=Design(), min_n=1)
    assert result.estimate == pytest.approx(4 / 7)
    assert result.se == pytest.approx(math.sqrt(5) / 7)
    t = stats.t.ppf(0.975, 3)  # 5 PSUs - 2 strata
    assert result.ci_low == pytest.approx(max(0.0, 4 / 7 - t * math.sqrt(5) / 7))
    assert result.ci_high == pytest.approx(min(1.0, 4 / 7 + t * math.sqrt(5) / 7))
    assert result.n == 5


def test_total_matches_hand_calculation() -> None:
    # Y = 2+0+2+0+4 = 8; Var = 3/2*(4/9+16/9+4/9) + 2*(4+4) = 4 + 16 = 20.
    result = total(TINY, TINY["y"], min_n=1)
    assert result.estimate == pytest.approx(8.0)
    assert result.se == pytest.approx(math.sqrt(20))


def test_domain_estimate_keeps_the_full_design() -> None:
    # Domain = stratum B only: p = 4/8; u = 4*(0-.5)/8, 4*(1-.5)/8 = -.25, .25 -> 2*(.125) = .25
    result = proportion(TINY, TINY["y"], domain=TINY["stratum"] == "B", min_n=1)
    assert result.estimate == pytest.approx(0.5)
    assert result.se == pytest.approx(0.5)


def test_small_cells_are_suppressed() -> None:
    result = proportion(TINY, TINY["y"], min_n=10)
    assert result.suppressed and result.estimate is None and result.n == 5
    # a domain large enough but a cell of 3 respondents: hidden as well
    many = pd.concat([TINY] * 4, ignore_index=True)
    cell = (many.index < 3).astype(int)
    assert proportion(many, cell, min_n=10).suppressed
    assert not proportion(many, many["y"], min_n=10).suppressed


def test_agrees_with_the_surveys_engine(hfs: pd.DataFrame) -> None:
    """Two independent implementations of Taylor linearisation give the same SEs."""
    data = hfs[hfs["round"] == "R1"].reset_index(drop=True)
    ours = proportion(data, data["regular_status"] == "regular")
    theirs = surveys.estimate(
        data, surveys.Design(weight="weight", strata="stratum"), "regular_status", "proportion"
    )
    row = theirs[theirs["category"] == "regular"].iloc[0]
    assert ours.estimate == pytest.approx(row["estimate"], rel=1e-9)
    assert ours.se == pytest.approx(row["se"], rel=1e-9)


def test_change_between_rounds() -> None:
    before = Estimate(0.40, 0.02, None, None, None, None, 500)
    after = Estimate(0.50, 0.03, None, None, None, None, 500)
    result = change(before, after)
    se = math.sqrt(0.02**2 + 0.03**2)
    assert result.difference == pytest.approx(0.10)
    assert result.se == pytest.approx(se)
    assert result.p_value == pytest.approx(2 * (1 - stats.norm.cdf(0.10 / se)))
    assert result.significant
    assert change(before, Estimate(0.41, 0.03, None, None, None, None, 500)).significant is False
    assert np.isnan(np.nan) and change(before, Estimate(*[None] * 6, 3, True)).p_value is None
