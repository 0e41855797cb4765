"""The engine on tables small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.marker import compute


def test_goalposts_and_arithmetic_by_hand(two_area_spec, small_table):
    result = compute(two_area_spec, small_table, population_column="population")
    # A = mean(a1, a2); B = 100 - b1 (lower is better, goalposts 0..100); IDX = mean(A, B)
    a = np.array([20.0, 50.0, 95.0, 40.0])
    b = np.array([80.0, 40.0, 100.0, 60.0])
    idx = (a + b) / 2  # 50, 45, 97.5, 50
    np.testing.assert_allclose(result.scores["A"].to_numpy(), a)
    np.testing.assert_allclose(result.scores["B"].to_numpy(), b)
    np.testing.assert_allclose(result.score.to_numpy(), idx)
    # ranks: 97.5 -> 1; the two 50s share rank 2; 45 -> 4
    assert result.rank.tolist() == [2, 4, 1, 2]
    assert result.level.tolist() == ["moderately_weak", "weak", "very_solid", "moderately_weak"]
    city = (50 * 100 + 45 * 300 + 97.5 * 200 + 50 * 400) / 1000
    assert result.city_score == pytest.approx(city)
    shares = result.level_shares.loc["IDX"]
    assert shares["moderately_weak"] == pytest.approx(0.5)
    assert shares["weak"] == pytest.approx(0.3)
    assert shares["very_solid"] == pytest.approx(0.2)


def test_to_frame_columns(two_area_spec, small_table):
    frame = compute(two_area_spec, small_table).to_frame()
    assert list(frame.columns) == [
        "unit_code",
        "IDX",
        "A",
        "B",
        "rank",
        "level",
        "coverage",
        "missing_areas",
    ]
    assert frame["coverage"].tolist() == [1.0, 1.0, 1.0, 1.0]  # every unit has both areas
    assert frame["unit_code"].tolist() == ["u1", "u2", "u3", "u4"]


def test_effective_weights(two_area_spec):
    from inclusive_cities.marker import effective_weights

    weights = effective_weights(two_area_spec.with_overrides(weights={"B": 3.0}))
    # A gets 1/4 of the index, split equally; B gets 3/4 and holds only b1
    assert weights.to_dict() == pytest.approx({"a1": 0.125, "a2": 0.125, "b1": 0.75})


def test_provenance_is_row_order_free(two_area_spec, small_table):
    first = compute(two_area_spec, small_table, seed=7)
    shuffled = compute(two_area_spec, small_table.iloc[::-1].reset_index(drop=True), seed=7)
    assert first.provenance.input_hash == shuffled.provenance.input_hash
    assert first.provenance.spec_hash == two_area_spec.hash
    assert first.provenance.seed == 7
    changed = small_table.assign(a1=small_table["a1"] + 1)
    assert compute(two_area_spec, changed).provenance.input_hash != first.provenance.input_hash
    pd.testing.assert_frame_equal(first.scores, shuffled.scores.loc[first.scores.index])


def test_mean_median_and_locf_imputation_by_hand(two_area_spec, small_table):
    data = small_table.copy()
    data.loc[1, "a1"] = np.nan  # others: 10, 90, 70 -> mean 56.67, median 70
    mean = compute(two_area_spec.with_overrides(imputation="mean"), data)
    assert mean.treated.loc["u2", "a1"] == pytest.approx(170 / 3)
    assert mean.imputed.loc["u2", "a1"] and not mean.imputed.loc["u1", "a1"]
    median = compute(two_area_spec.with_overrides(imputation="median"), data)
    assert median.treated.loc["u2", "a1"] == 70
    # last observation carried forward: 2018 has 33 for u2, 2019 has it missing -> 33
    earlier = pd.DataFrame({"unit_code": ["u2", "u3"], "a1": [33.0, 1.0]})
    later = pd.DataFrame({"unit_code": ["u2", "u3"], "a1": [np.nan, 2.0]})
    locf = compute(two_area_spec.with_overrides(imputation="locf"), data, previous=[earlier, later])
    assert locf.treated.loc["u2", "a1"] == 33.0
    assert locf.treated.loc["u3", "a1"] == 90.0  # observed values are never replaced
    none = compute(two_area_spec, data)
    assert np.isnan(none.treated.loc["u2", "a1"])
    assert none.scores.loc["u2", "A"] == pytest.approx(50.0)  # a2 alone (coverage 1/2)
    assert none.coverage.loc["u2", "A"] == 0.5


def test_min_coverage_and_screening(two_area_spec, small_table):
    data = small_table.copy()
    data.loc[0, ["a1", "a2"]] = np.nan
    strict = compute(two_area_spec.with_overrides(min_coverage=0.6), data)
    assert np.isnan(strict.scores.loc["u1", "A"])  # 0 of 2 indicators
    assert np.isnan(strict.score["u1"])  # 1 of 2 areas = 0.5 < 0.6
    half = compute(two_area_spec.with_overrides(min_coverage=0.5), data)
    assert half.score["u1"] == pytest.approx(80.0)  # B alone (b1 = 20, lower is better)
    data_one = data.copy()
    data_one.loc[0, "a1"] = 10.0
    one = compute(two_area_spec.with_overrides(min_coverage=0.6), data_one)
    assert np.isnan(one.scores.loc["u1", "A"])  # 1 of 2 = 0.5 < 0.6
    screened_spec = two_area_spec.model_copy(
        update={
            "defaults": two_area_spec.defaults.model_copy(
                update={
                    "missing": two_area_spec.defaults.missing.model_copy(
                        update={"unit_min_coverage": 0.5}
                    )
                }
            )
        }
    )
    screened = compute(screened_spec, data)  # u1 has 1 of 3 indicators
    assert screened.screened.tolist() == [True, False, False, False]
    assert screened.score.isna().tolist() == [True, False, False, False]
    assert pd.isna(screened.rank["u1"]) and screened.rank["u3"] == 1


def test_reference_period_minmax_and_other_normalisations(two_area_spec, small_table):
    spec = two_area_spec.with_overrides(normalisation="minmax")
    base = pd.DataFrame(
        {"unit_code": ["x", "y"], "a1": [0.0, 200.0], "a2": [0.0, 100.0], "b1": [0.0, 100.0]}
    )
    result = compute(spec, small_table, reference=base)
    assert result.normalised.loc["u2", "a1"] == 25.0  # (50 − 0)/(200 − 0)
    observed = compute(spec, small_table)
    assert observed.normalised.loc["u2", "a1"] == 50.0  # (50 − 10)/(90 − 10)
    target = compute(
        two_area_spec.with_overrides(
            normalisation={
                "a1": {"method": "distance_to_target", "target": 80},
                "b1": {"method": "distance_to_target", "target": 40},
            }
        ),
        small_table,
    )
    # a1: 100·x/80 capped; b1 (lower is better): 100·40/x capped, x = 0 scores 100
    assert target.normalised["a1"].tolist() == pytest.approx([12.5, 62.5, 100, 87.5])
    assert target.normalised["b1"].tolist() == pytest.approx([100, 200 / 3, 100, 100])
    ranked = compute(two_area_spec.with_overrides(normalisation="rank"), small_table)
    # a1 = 10, 50, 90, 70 -> worst..best ranks 1..4 -> 0, 33.3, 100, 66.7
    assert ranked.normalised["a1"].tolist() == pytest.approx([0, 100 / 3, 100, 200 / 3])
    zscore = compute(two_area_spec.with_overrides(normalisation="zscore"), small_table)
    a1 = np.array([10, 50, 90, 70.0])
    z = (a1 - a1.mean()) / a1.std(ddof=1)
    assert zscore.normalised["a1"].tolist() == pytest.approx((50 + 10 * z).tolist())
    cats = compute(
        two_area_spec.with_overrides(
            normalisation={"a1": {"method": "categorical", "cuts": [20, 60]}}
        ),
        small_table,
    )
    assert cats.normalised["a1"].tolist() == [0.0, 50.0, 100.0, 100.0]


def test_result_pickles_with_its_provenance(two_area_spec, small_table):
    import pickle

    result = compute(two_area_spec, small_table)
    copy = pickle.loads(pickle.dumps(result))
    assert copy.provenance.input_hash == result.provenance.input_hash
    pd.testing.assert_frame_equal(copy.scores, result.scores)
