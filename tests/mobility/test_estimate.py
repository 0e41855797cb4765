"""The HFS's estimates come from ``surveys.estimate``: hand calculations on a tiny design
(Student-t intervals, domains on the full design, suppression) and the change test."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from inclusive_cities import mobility, surveys
from inclusive_cities.mobility import NATIONAL, change, summarise

# Two strata: A with weights 2,2,2 and answers 1,0,1; B with weights 4,4 and answers 0,1.
TINY = pd.DataFrame(
    {
        "weight": [2.0, 2.0, 2.0, 4.0, 4.0],
        "stratum": ["A", "A", "A", "B", "B"],
        "y": [1, 0, 1, 0, 1],
    }
)
DESIGN = surveys.Design(weight="weight", strata="stratum", min_n=1)


def test_share_and_its_t_interval_match_hand_linearisation() -> None:
    # p = 8/14 = 4/7. Linearised u_i = w_i (y_i - p) / 14: A = 3/49, -4/49, 3/49 (variance
    # contribution 3/2 * 294/147**2 = 1/49); B = -8/49, 6/49 (2 * 98/49**2 = 4/49).
    row = surveys.estimate(TINY, DESIGN, "y", "mean", interval="t").iloc[0]
    assert row["estimate"] == pytest.approx(4 / 7)
    assert row["se"] == pytest.approx(math.sqrt(5) / 7)
    t = stats.t.ppf(0.975, 3)  # 5 PSUs - 2 strata
    assert row["ci_low"] == pytest.approx(4 / 7 - t * math.sqrt(5) / 7)
    assert row["ci_high"] == pytest.approx(4 / 7 + t * math.sqrt(5) / 7)
    normal = surveys.estimate(TINY, DESIGN, "y", "mean").iloc[0]
    assert normal["ci_high"] == pytest.approx(4 / 7 + 1.959964 * math.sqrt(5) / 7)
    assert row["n"] == 5


def test_total_matches_hand_calculation() -> None:
    # Y = 2+0+2+0+4 = 8; Var = 3/2*(4/9+16/9+4/9) + 2*(4+4) = 4 + 16 = 20.
    row = surveys.estimate(TINY, DESIGN, "y", "total", interval="t").iloc[0]
    assert row["estimate"] == pytest.approx(8.0)
    assert row["se"] == pytest.approx(math.sqrt(20))
    assert row["ci_low"] == pytest.approx(8 - stats.t.ppf(0.975, 3) * math.sqrt(20))


def test_domain_estimate_keeps_the_full_design() -> None:
    # Domain = stratum B only: p = 4/8; u = 4*(0-.5)/8, 4*(1-.5)/8 = -.25, .25 -> 2*(.125) = .25
    frame = TINY.assign(domain=TINY["stratum"].where(TINY["stratum"] == "B"))
    row = surveys.estimate(frame, DESIGN, "y", "mean", by="domain", interval="t").iloc[0]
    assert row["estimate"] == pytest.approx(0.5)
    assert row["se"] == pytest.approx(0.5)
    # the t quantile keeps the whole design's 3 degrees of freedom, not the domain's
    assert row["ci_high"] == pytest.approx(0.5 + stats.t.ppf(0.975, 3) * 0.5)


def test_hfs_design_and_small_cells(hfs: pd.DataFrame) -> None:
    """Shares hide both a small domain and a small cell; their CI stays within [0, 1]."""
    design = mobility.design_for(hfs)
    assert (design.weight, design.strata, design.psu) == ("weight", "stratum", None)
    data = hfs[hfs["round"] == "R1"].copy()
    data.loc[data.index[data["route"] == "sea"][3:], "route"] = "air"
    table = summarise(data, geographies=[NATIONAL]).set_index(["topic", "category"])
    sea = table.loc[("route", "sea")]
    assert sea["suppressed"] and pd.isna(sea["estimate"]) and sea["n"] == len(data)
    shown = table[~table["suppressed"].astype(bool)]
    shares = shown.drop(index=["stock_households", "stock_persons"], level=0)
    shares = shares.drop(index=["household_size", "months_since_arrival"], level=0)
    assert (shares["ci_low"] >= 0).all() and (shares["ci_high"] <= 1).all()


def test_change_between_rounds() -> None:
    result = change((0.40, 0.02), (0.50, 0.03))
    se = math.sqrt(0.02**2 + 0.03**2)
    assert result.difference == pytest.approx(0.10)
    assert result.se == pytest.approx(se)
    assert result.p_value == pytest.approx(2 * (1 - stats.norm.cdf(0.10 / se)))
    assert result.significant
    assert change((0.40, 0.02), (0.41, 0.03)).significant is False
    assert change((0.40, 0.02), (None, None)).p_value is None


def test_the_copy_is_gone() -> None:
    """One survey estimator: mobility has no Taylor code of its own any more."""
    package = Path(mobility.__file__).parent
    assert not (package / "estimate.py").exists()
    source = "".join(p.read_text(encoding="utf-8") for p in package.glob("*.py"))
    assert "bincount(sample.psu" not in source and "_linearised_variance" not in source
