"""The JRC COINr default pipeline, expressed as a spec, gives COINr's numbers.

COINr (Becker et al., JRC; documented in its vignettes "Denomination", "Imputation",
"Screening", "Treatment", "Normalisation", "Aggregation") runs:
``Denominate`` (x / denominator × scale) -> ``Impute`` (``i_mean_grp``: mean of the unit's
group) -> ``Screen`` (drop units whose data availability in the imputed data set is below
``dat_thresh``) -> ``Treat`` (``winsorise`` with ``winmax = 5``, pass test
``check_SkewKurt``: |skew| < 2 or kurtosis < 3.5, e1071/Excel type-2 statistics, fallback
``log_CT`` on the original series) -> ``Normalise`` (``n_minmax`` to [0, 100], direction
applied by reversing) -> ``Aggregate`` (``a_amean``: weighted mean of the available values).
The expected numbers below are worked out step by step with plain NumPy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.marker import compute

from .conftest import label, make_spec


def coinr_skew(x: np.ndarray) -> float:
    """COINr ``skew()``: e1071 type 2, ``sqrt(n)·Σd³/(Σd²)^1.5 · sqrt(n(n−1))/(n−2)``."""
    n, d = x.size, x - x.mean()
    return float(np.sqrt(n) * (d**3).sum() / (d**2).sum() ** 1.5 * np.sqrt(n * (n - 1)) / (n - 2))


def coinr_kurt(x: np.ndarray) -> float:
    """COINr ``kurt()``: ``r = n·Σd⁴/(Σd²)²``, ``((n+1)(r−3)+6)(n−1)/((n−2)(n−3))``."""
    n, d = x.size, x - x.mean()
    r = n * (d**4).sum() / (d**2).sum() ** 2
    return float(((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3)))


@pytest.fixture
def coinr_case():
    spec = make_spec(
        {
            "code": "IDX",
            "name": label("Index"),
            "children": [
                {
                    "code": "P1",
                    "name": label("Pillar 1"),
                    "weight": 2,
                    "indicators": [
                        {"code": "x1", "name": label("x1"), "direction": "higher_is_better"},
                        {"code": "x2", "name": label("x2"), "direction": "lower_is_better"},
                    ],
                },
                {
                    "code": "P2",
                    "name": label("Pillar 2"),
                    "indicators": [
                        {
                            "code": "x3",
                            "name": label("x3"),
                            "direction": "higher_is_better",
                            "denominator": {"column": "pop", "scale": 1000},
                        }
                    ],
                },
            ],
        },
        defaults={
            "normalisation": "minmax",
            "aggregation": "arithmetic",
            "treatment": {"method": "winsorise", "winmax": 5, "skew_max": 2, "kurt_max": 3.5},
            "missing": {
                "min_coverage": 0,
                "unit_min_coverage": 0.7,
                "screen_on": "imputed",
                "imputation": {"method": "group_mean", "group_column": "grp"},
            },
        },
    )
    data = pd.DataFrame(
        {
            "unit_code": [f"u{i:02d}" for i in range(1, 14)],
            "grp": ["a"] * 6 + ["b"] * 6 + ["c"],
            "x1": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30, 100, 12],
            "x2": [5, np.nan, 7, 3, 9, 1, 4, np.nan, 6, 2, 8, 5, np.nan],
            "x3": [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130],
            "pop": [1000, 2000, 1000, 4000, 5000, 2000, 1000, 2000, 3000, 4000, 1000, 2000, 1000],
        }
    )
    return spec, data


def expected_coinr(data: pd.DataFrame) -> pd.Series:
    # Denominate: x3 per 1,000 inhabitants
    x3 = data["x3"].to_numpy(float) / data["pop"].to_numpy(float) * 1000
    # Impute x2 with the group mean: group a observed 5, 7, 3, 9, 1 -> 5;
    # group b observed 4, 6, 2, 8, 5 -> 5; group c has no observed x2 -> stays missing
    x2 = data["x2"].to_numpy(float).copy()
    x2[1], x2[7] = 25 / 5, 25 / 5
    assert np.isnan(x2[12])
    # Screen: u13 has 2 of 3 values (0.67 < 0.7) and is dropped; 12 units remain
    keep = np.arange(12)
    x1 = data["x1"].to_numpy(float)[keep]
    x2, x3 = x2[keep], x3[keep]
    # Treat x1 = 1..10, 30, 100: skew 3.06, kurtosis 9.74 -> fails; winsorise the top point
    # (100 -> 30); then skew 1.71 < 2 -> passes after one point
    assert coinr_skew(x1) > 2 and coinr_kurt(x1) > 3.5
    x1 = x1.copy()
    x1[11] = 30.0
    assert abs(coinr_skew(x1)) < 2
    for other in (x2, x3):  # the other two pass untreated
        assert abs(coinr_skew(other)) < 2 or coinr_kurt(other) < 3.5

    def minmax(x: np.ndarray, direction: int) -> np.ndarray:
        x = x * direction
        return (x - x.min()) / (x.max() - x.min()) * 100

    n1, n2, n3 = minmax(x1, 1), minmax(x2, -1), minmax(x3, 1)
    pillar1 = (n1 + n2) / 2
    pillar2 = n3
    index = (2 * pillar1 + 1 * pillar2) / 3
    return pd.Series(index, index=data["unit_code"].iloc[:12].to_numpy())


def test_coinr_default_pipeline_numbers(coinr_case):
    spec, data = coinr_case
    result = compute(spec, data)
    expected = expected_coinr(data)
    assert result.screened.tolist() == [False] * 12 + [True]
    assert np.isnan(result.score["u13"])
    np.testing.assert_allclose(result.score.iloc[:12].to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert result.imputed.loc[["u02", "u08"], "x2"].tolist() == [True, True]
    assert int(result.imputed.to_numpy().sum()) == 2
    log = result.treatment_log.set_index("indicator")
    assert log.loc["x1", "action"] == "winsorised"
    assert log.loc["x1", "n_winsorised"] == 1
    assert log.loc["x1", "upper_cap"] == 30.0
    assert result.treated_flags["x1"].tolist() == [False] * 11 + [True, False]
    assert result.treated.loc["u12", "x1"] == 30.0
    assert result.raw.loc["u12", "x1"] == 100.0


def test_coinr_pipeline_is_row_order_free(coinr_case):
    spec, data = coinr_case
    first = compute(spec, data)
    second = compute(spec, data.sample(frac=1, random_state=3).reset_index(drop=True))
    pd.testing.assert_series_equal(first.score, second.score.loc[first.score.index])
