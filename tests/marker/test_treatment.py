"""Outlier treatment against hand-computed Excel statistics and COINr's winsorisation rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.marker import compute
from inclusive_cities.marker.treat import skew_kurt, winsorise_caps

from .conftest import label, make_spec
from .test_coinr_pipeline import coinr_kurt, coinr_skew


def test_skew_and_kurtosis_match_excel_by_hand():
    # x = 1, 2, 3, 10: n = 4, mean 4, d = (−3, −2, −1, 6), Σd² = 50, s² = 50/3,
    # Σd³ = 180, Σd⁴ = 1394.
    # Excel SKEW = n/((n−1)(n−2)) · Σd³/s³ = (4/6) · 180/(50/3)^1.5 = 1.7636326...
    # Excel KURT = n(n+1)/((n−1)(n−2)(n−3)) · Σd⁴/s⁴ − 3(n−1)²/((n−2)(n−3))
    #            = (20/6) · 1394·9/2500 − 27/2 = 16.728 − 13.5 = 3.228
    skew, kurt = skew_kurt(np.array([1.0, 2.0, 3.0, 10.0]))
    assert skew == pytest.approx((4 / 6) * 180 / (50 / 3) ** 1.5, rel=1e-12)
    assert skew == pytest.approx(1.7636326148, rel=1e-9)
    assert kurt == pytest.approx(3.228, rel=1e-12)


def test_statistics_need_enough_distinct_values():
    assert all(np.isnan(skew_kurt(np.array([1.0, 2.0]))))
    assert all(np.isnan(skew_kurt(np.array([5.0, 5.0, 5.0, 5.0]))))


def test_tied_extremes_are_winsorised_together():
    x = np.array([0.0] * 12 + [1, 2, 5, 100, 100])
    assert abs(coinr_skew(x)) > 2 and coinr_kurt(x) > 3.5
    # both 100s become 5 in one step (COINr counts 2 points) and the series then passes
    after = np.where(x == 100, 5.0, x)
    assert abs(coinr_skew(after)) < 2 or coinr_kurt(after) < 3.5
    assert winsorise_caps(x, 5, 2, 3.5) == (None, 5.0, 2, True)


def test_negative_skew_winsorises_the_bottom():
    x = -np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30, 100.0])
    assert winsorise_caps(x, 5, 2, 3.5) == (-30.0, None, 1, True)


def spec_with(treatment):
    return make_spec(
        {
            "code": "IDX",
            "name": label("I"),
            "indicators": [
                {"code": "x", "name": label("x"), "direction": "higher_is_better"},
            ],
        },
        defaults={"normalisation": "minmax", "treatment": treatment},
    )


def test_log_fallback_applies_to_the_original_series():
    # 30 ones, 10, 100, 1000 with at most 2 points: 1000 -> 100 (1 point), then both 100s
    # -> 10 (2 points) and the test still fails, so COINr's log_CT is applied to the
    # ORIGINAL values: log(x − 1 + 0.01·(1000 − 1)).
    raw = np.array([1.0] * 30 + [10, 100, 1000])
    winsorised = np.where(raw > 10, 10.0, raw)
    assert not (abs(coinr_skew(winsorised)) < 2 or coinr_kurt(winsorised) < 3.5)
    data = pd.DataFrame({"unit_code": [f"u{i}" for i in range(raw.size)], "x": raw})
    result = compute(spec_with({"method": "winsorise", "winmax": 2}), data)
    logged = np.log(raw - 1 + 0.01 * 999)
    np.testing.assert_allclose(result.treated["x"].to_numpy(), logged)
    expected = (logged - logged.min()) / (logged.max() - logged.min()) * 100
    np.testing.assert_allclose(result.score.to_numpy(), expected)
    assert result.treatment_log.iloc[0]["action"] == "log"
    assert result.treated_flags["x"].all()


def test_winsorisation_through_compute_with_tied_extremes():
    raw = np.array([0.0] * 12 + [1, 2, 5, 100, 100])
    data = pd.DataFrame({"unit_code": [f"u{i}" for i in range(raw.size)], "x": raw})
    result = compute(spec_with({"method": "winsorise"}), data)
    treated = np.where(raw == 100, 5.0, raw)
    np.testing.assert_allclose(result.treated["x"].to_numpy(), treated)
    np.testing.assert_allclose(result.score.to_numpy(), treated / 5 * 100)
    assert result.treated_flags["x"].sum() == 2
