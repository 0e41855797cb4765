"""Aggregation rules against hand-worked cases (OECD/JRC Handbook 2008, §6).

The Handbook (Nardo et al. 2008, §6.2) defines geometric aggregation as
``CI = Π x_q^{w_q}`` (weights summing to 1) and the non-compensatory approach (§6.3)
through the outranking matrix ``e_jk = Σ_q [w_q·1(x_qj > x_qk) + ½·w_q·1(x_qj = x_qk)]``;
Copeland's rule ranks units by (pairwise wins − pairwise losses), a unit j beating k when
``e_jk > ½``. We could not retrieve the Handbook's own tables, so the cases below are
small enough to work out by hand; the arithmetic is in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.marker import compute
from inclusive_cities.marker.aggregate import aggregate, copeland

from .conftest import indicator, label, make_spec


def cols(rows):
    matrix = np.asarray(rows, dtype=float)
    return [matrix[:, j].copy() for j in range(matrix.shape[1])]


def test_geometric_mean_is_less_compensatory_than_arithmetic():
    # unit A = (10, 90, 50), unit B = (50, 50, 50); equal weights
    columns = cols([[10, 90, 50], [50, 50, 50]])
    arithmetic = aggregate("arithmetic", columns, [1, 1, 1], [False] * 3)
    geometric = aggregate("geometric", columns, [1, 1, 1], [False] * 3)
    assert arithmetic.tolist() == pytest.approx([50.0, 50.0])
    # A: (10·90·50)^(1/3) = 45000^(1/3) = 35.5689...
    assert geometric[0] == pytest.approx(45000 ** (1 / 3))
    assert geometric[1] == pytest.approx(50.0)


def test_weighted_geometric_harmonic_and_power_means():
    columns = cols([[10, 90, 50]])
    w = [2, 1, 1]  # normalised: 0.5, 0.25, 0.25
    geometric = aggregate("geometric", columns, w, [False] * 3)[0]
    assert geometric == pytest.approx(10**0.5 * 90**0.25 * 50**0.25)  # = 27.545...
    harmonic = aggregate("harmonic", columns, w, [False] * 3)[0]
    assert harmonic == pytest.approx(1 / (0.5 / 10 + 0.25 / 90 + 0.25 / 50))  # = 17.4757...
    power = aggregate("power_mean", columns, w, [False] * 3, p=2)[0]
    assert power == pytest.approx(np.sqrt(0.5 * 100 + 0.25 * 8100 + 0.25 * 2500))  # = 52.44...
    # a zero kills geometric and harmonic means (no compensation at all)
    zero = cols([[0, 90, 50]])
    assert aggregate("geometric", zero, w, [False] * 3)[0] == 0
    assert aggregate("harmonic", zero, w, [False] * 3)[0] == 0


def test_arithmetic_renormalises_weights_over_present_components():
    columns = cols([[20, np.nan, 80], [np.nan, np.nan, np.nan]])
    result = aggregate("arithmetic", columns, [1, 2, 1], [True, True, True])
    assert result[0] == pytest.approx((1 * 20 + 1 * 80) / 2)
    assert np.isnan(result[1])


def test_copeland_worked_example():
    # criteria weights 0.5, 0.3, 0.2
    #        c1 c2 c3
    # A:      8  2  5
    # B:      6  9  5
    # C:      4  7  9
    # D:      6  1  1
    # e_AB = 0.5 + ½·0.2 = 0.6 (A beats B); e_AC = 0.5 (tie); e_AD = 1 (A beats D)
    # e_BC = 0.5 + 0.3 = 0.8 (B beats C); e_BD = ½·0.5 + 0.3 + 0.2 = 0.75 (B beats D)
    # e_CD = 0.3 + 0.2 = 0.5 (tie)
    # Copeland (wins − losses): A +2, B +1 (lost to A), C −1 (lost to B), D −2
    # mapped from [−3, 3] to [0, 100]: 100·(s + 3)/6
    columns = cols([[8, 2, 5], [6, 9, 5], [4, 7, 9], [6, 1, 1]])
    scores = copeland(columns, [0.5, 0.3, 0.2])
    assert scores.tolist() == pytest.approx([500 / 6, 400 / 6, 200 / 6, 100 / 6])


def test_copeland_inside_a_spec_ranks_like_the_worked_example():
    spec = make_spec(
        {
            "code": "IDX",
            "name": label("I"),
            "aggregation": "copeland",
            "indicators": [
                indicator("c1", 0, 10, weight=0.5),
                indicator("c2", 0, 10, weight=0.3),
                indicator("c3", 0, 10, weight=0.2),
            ],
        }
    )
    data = pd.DataFrame(
        {"unit_code": list("ABCD"), "c1": [8, 6, 4, 6], "c2": [2, 9, 7, 1], "c3": [5, 5, 9, 1]}
    )
    result = compute(spec, data)
    assert result.rank.tolist() == [1, 2, 3, 4]
    assert result.score.tolist() == pytest.approx([500 / 6, 400 / 6, 200 / 6, 100 / 6])


def test_copeland_skips_components_a_pair_does_not_share():
    # B lacks c2: A vs B is decided on c1 and c3 only (A wins c1, B wins c3, equal weights
    # -> 0.5, a tie); A beats C on all three; B vs C on c1, c3: B wins both.
    columns = cols([[3, 3, 1], [2, np.nan, 2], [1, 1, 0]])
    scores = copeland(columns, [1, 1, 1])
    # A: +1 (C) tie B; B: +1 (C) tie A; C: −2  -> 100·(s + 2)/4
    assert scores.tolist() == pytest.approx([75.0, 75.0, 0.0])


def test_negative_zero_scores_do_not_break_harmonic_means():
    # goalposts can produce −0.0; 1/−0.0 = −inf would cancel +inf and give NaN
    columns = [np.array([-0.0, 50.0]), np.array([0.0, 50.0])]
    assert aggregate("harmonic", columns, [1, 1], [False, False]).tolist() == [0.0, 50.0]
    power = aggregate("power_mean", columns, [1, 1], [False, False], p=-1)
    assert power.tolist() == pytest.approx([0.0, 50.0])
