"""Properties every marker must have, checked with generated data (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inclusive_cities.marker import compute

from .conftest import indicator, label, make_spec

AGGREGATIONS = [
    "arithmetic",
    "geometric",
    "harmonic",
    {"method": "power_mean", "p": 0.5},
    {"method": "power_mean", "p": 2},
]
NORMALISATIONS = [
    None,  # each indicator's goalposts
    "minmax",
    "zscore",
    "rank",
    "percentile_rank",
    {"method": "distance_to_target", "target": 60},
    {"method": "categorical", "cuts": [20, 50, 80]},
    {"method": "categorical", "cuts": [25, 75], "percentiles": True},
]


def tree_spec(aggregation="arithmetic", normalisation=None, weights=None, **defaults):
    spec = make_spec(
        {
            "code": "IDX",
            "name": label("I"),
            "children": [
                {
                    "code": "A",
                    "name": label("A"),
                    "indicators": [indicator("a1"), indicator("a2", direction="lower_is_better")],
                },
                {
                    "code": "B",
                    "name": label("B"),
                    "children": [
                        {
                            "code": "B1",
                            "name": label("B1"),
                            "indicators": [indicator("b1", -50, 150), indicator("b2")],
                        }
                    ],
                    "indicators": [indicator("b3", direction="lower_is_better")],
                },
            ],
        },
        defaults=defaults,
    )
    overrides = {"aggregation": aggregation, "weights": weights}
    if normalisation is not None:
        overrides["normalisation"] = normalisation
    return spec.with_overrides(**overrides)


CODES = ["a1", "a2", "b1", "b2", "b3"]
ANCESTORS = {
    "a1": ["A", "IDX"],
    "a2": ["A", "IDX"],
    "b1": ["B1", "B", "IDX"],
    "b2": ["B1", "B", "IDX"],
    "b3": ["B", "IDX"],
}
values = st.floats(min_value=-20, max_value=120, allow_nan=False, width=32)


def table(matrix: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(matrix.astype(float), columns=CODES)
    frame.insert(0, "unit_code", [f"u{i}" for i in range(len(frame))])
    return frame


matrices = st.integers(min_value=2, max_value=12).flatmap(
    lambda n: arrays(np.float64, (n, 5), elements=values)
)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(
    matrix=matrices,
    aggregation=st.sampled_from(AGGREGATIONS),
    which=st.sampled_from(CODES),
    unit=st.integers(min_value=0, max_value=11),
    step=st.floats(min_value=0.01, max_value=80),
    minmax=st.booleans(),
)
def test_improving_an_indicator_never_lowers_an_ancestor(
    matrix, aggregation, which, unit, step, minmax
):
    spec = tree_spec(aggregation, "minmax" if minmax else None)
    unit = unit % matrix.shape[0]
    before = compute(spec, table(matrix))
    better = matrix.copy()
    j = CODES.index(which)
    higher = spec.find(which).direction == "higher_is_better"
    better[unit, j] += step if higher else -step
    after = compute(spec, table(better))
    for node in ANCESTORS[which]:
        old, new = before.scores[node].iloc[unit], after.scores[node].iloc[unit]
        if np.isnan(old):  # e.g. min-max of a constant indicator has no score to lower
            continue
        assert new >= old - 1e-9, (node, old, new)


@FAST
@given(
    matrix=matrices,
    aggregation=st.sampled_from([*AGGREGATIONS, "copeland"]),
    normalisation=st.sampled_from(NORMALISATIONS),
)
def test_scores_stay_on_the_scale(matrix, aggregation, normalisation):
    result = compute(tree_spec(aggregation, normalisation), table(matrix))
    scores = result.scores.to_numpy()
    present = scores[~np.isnan(scores)]
    if normalisation is None:  # fixed goalposts score every unit with complete data
        assert present.size == scores.size
    assert (present >= 0).all() and (present <= 100 + 1e-9).all()
    normalised = result.normalised.to_numpy()
    normalised = normalised[~np.isnan(normalised)]
    assert (normalised >= 0).all() and (normalised <= 100 + 1e-9).all()


@FAST
@given(
    matrix=matrices, holes=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 4)), max_size=6)
)
def test_equal_weights_and_arithmetic_is_the_plain_mean(matrix, holes):
    for i, j in holes:
        matrix[i % matrix.shape[0], j] = np.nan
    spec = tree_spec("arithmetic", None, missing={"min_coverage": 0})
    result = compute(spec, table(matrix))
    n = result.normalised
    s = result.scores
    pd.testing.assert_series_equal(s["A"], n[["a1", "a2"]].mean(axis=1), check_names=False)
    pd.testing.assert_series_equal(s["B1"], n[["b1", "b2"]].mean(axis=1), check_names=False)
    pd.testing.assert_series_equal(
        s["B"], pd.concat([s["B1"], n["b3"]], axis=1).mean(axis=1), check_names=False
    )
    pd.testing.assert_series_equal(
        s["IDX"], s[["A", "B"]].mean(axis=1), check_names=False, atol=1e-12
    )


@FAST
@given(
    matrix=matrices,
    aggregation=st.sampled_from([*AGGREGATIONS, "copeland"]),
    normalisation=st.sampled_from(NORMALISATIONS),
    imputation=st.sampled_from(["none", "mean", "median", "group_mean", "group_median"]),
    treatment=st.sampled_from(["none", "winsorise"]),
    seed=st.integers(0, 2**16),
    holes=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 4)), max_size=5),
)
def test_results_do_not_depend_on_row_order(
    matrix, aggregation, normalisation, imputation, treatment, seed, holes
):
    for i, j in holes:
        matrix[i % matrix.shape[0], j] = np.nan
    data = table(matrix)
    data["grp"] = [("g1", "g2", "g3")[i % 3] for i in range(len(data))]
    method = {"method": imputation, "group_column": "grp"} if "group" in imputation else imputation
    spec = tree_spec(aggregation, normalisation).with_overrides(
        imputation=method, treatment=treatment
    )
    first = compute(spec, data)
    order = np.random.default_rng(seed).permutation(len(data))
    second = compute(spec, data.iloc[order].reset_index(drop=True))
    pd.testing.assert_frame_equal(first.scores, second.scores.loc[first.scores.index])
    pd.testing.assert_series_equal(first.rank, second.rank.loc[first.rank.index])
    assert first.provenance.input_hash == second.provenance.input_hash
