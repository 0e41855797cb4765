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
    assert list(frame.columns) == ["unit_code", "IDX", "A", "B", "rank", "level"]
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
