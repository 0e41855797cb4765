"""The score rows ``marker build`` stores give each node and indicator the level and rank the
engine's own ``_classify`` and ``_rank`` give, though they are computed for all parts at once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from inclusive_cities.marker import load_spec
from inclusive_cities.marker.build import _levels_of, _nullable, _ranks_of
from inclusive_cities.marker.engine import _classify, _rank


def test_ranks_and_levels_by_hand():
    # 5 units × 3 parts: ties, a missing score, a column with no score, cut points exactly,
    # -0.0 beside 0.0 (equal), a score above 100
    scores = np.array(
        [
            [80.0, 12.5, np.nan],
            [79.999, 12.5, np.nan],
            [np.nan, -0.0, np.nan],
            [40.0, 0.0, np.nan],
            [80.0, 100.5, np.nan],
        ]
    )
    present = ~np.isnan(scores)
    ranks = _ranks_of(scores, present)
    # column 0: 80 and 80 share rank 1, 79.999 is 3rd, 40 4th; column 1: 100.5 first, the two
    # 12.5 share 2, the two zeros share 4
    assert _nullable(ranks.ravel(), ~present.ravel()) == [
        1, 2, None,
        3, 2, None,
        None, 4, None,
        4, 4, None,
        1, 1, None,
    ]  # fmt: skip
    levels = _levels_of(scores, present, load_spec("uim-basic"))
    assert levels.tolist() == [
        ["very_solid", "very_weak", None],
        ["solid", "very_weak", None],
        [None, "very_weak", None],
        ["weak", "very_weak", None],
        ["very_solid", "very_solid", None],
    ]


def test_ranks_and_levels_agree_with_the_engine_on_many_ties():
    spec = load_spec("uim-basic")
    generator = np.random.default_rng(7)
    # values on a coarse grid (many ties) with 20 % missing, 300 units × 9 parts
    scores = generator.integers(0, 21, size=(300, 9)).astype(float) * 5.0
    scores[generator.random(scores.shape) < 0.2] = np.nan
    scores[:, 4] = np.nan
    present = ~np.isnan(scores)
    ranks = _ranks_of(scores, present)
    levels = _levels_of(scores, present, spec)
    for j in range(scores.shape[1]):
        column = pd.Series(scores[:, j])
        expected_rank = _rank(column)
        got = pd.array(np.where(present[:, j], ranks[:, j], 0), dtype="Int64")
        got[~present[:, j]] = pd.NA
        assert got.tolist() == expected_rank.array.tolist()
        expected_level = _classify(column, spec).astype(object)
        assert levels[:, j].tolist() == [
            None if pd.isna(level) else level for level in expected_level
        ]
