"""Sobol estimators and the marker uncertainty analysis.

Reference values for the Ishigami function come from its closed-form variance
decomposition (Ishigami & Homma 1990; Sobol' & Levitan 1999, as tabulated in
Saltelli et al. 2008, "Global Sensitivity Analysis. The Primer", §4.9):
for Y = sin X1 + a sin² X2 + b X3⁴ sin X1 with Xi ~ U(−π, π),
V1 = (1 + bπ⁴/5)²/2, V2 = a²/8, V3 = 0, V13 = b²π⁸(1/18 − 1/50), V = V1 + V2 + V13.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from inclusive_cities.marker.sensitivity import (
    Factor,
    ab_matrix,
    analyse_function,
    base_matrices,
    monte_carlo,
    rank_descending,
    saltelli_design,
    sobol_first_order,
    sobol_indices,
    sobol_total,
    split_outputs,
)

A_ISHIGAMI, B_ISHIGAMI = 7.0, 0.1


def ishigami(points: np.ndarray) -> np.ndarray:
    x = -math.pi + 2 * math.pi * points
    return (
        np.sin(x[:, 0])
        + A_ISHIGAMI * np.sin(x[:, 1]) ** 2
        + B_ISHIGAMI * x[:, 2] ** 4 * np.sin(x[:, 0])
    )


def ishigami_analytic() -> tuple[list[float], list[float]]:
    a, b, pi = A_ISHIGAMI, B_ISHIGAMI, math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    total = v1 + v2 + v13
    # Cross-check against the textbook closed form of V(Y).
    assert total == pytest.approx(a**2 / 8 + b * pi**4 / 5 + b**2 * pi**8 / 18 + 0.5)
    return [v1 / total, v2 / total, 0.0], [(v1 + v13) / total, v2 / total, v13 / total]


def test_analytic_reference_matches_published_values() -> None:
    first, total = ishigami_analytic()
    # The rounded values usually quoted (e.g. Saltelli et al. 2008, §4.9).
    assert first[:2] == pytest.approx([0.3139, 0.4424], abs=1e-4)
    assert total == pytest.approx([0.5576, 0.4424, 0.2437], abs=1e-4)


@pytest.mark.parametrize("sampler", ["sobol", "random"])
def test_ishigami_indices_match_analytic_values(sampler: str) -> None:
    first, total = ishigami_analytic()
    n = 2**14 if sampler == "sobol" else 2**16
    result = analyse_function(
        ishigami, ["x1", "x2", "x3"], n, seed=3, sampler=sampler, n_bootstrap=200
    )
    # Scrambled Sobol' points converge far faster than plain Monte Carlo.
    tolerance = 0.005 if sampler == "sobol" else 0.025
    assert result.first_order.to_numpy() == pytest.approx(first, abs=tolerance)
    assert result.total.to_numpy() == pytest.approx(total, abs=tolerance)
    frame = result.frame
    assert (frame["S1_low"] <= frame["S1"]).all() and (frame["S1"] <= frame["S1_high"]).all()
    assert (frame["ST_low"] <= frame["ST"]).all() and (frame["ST"] <= frame["ST_high"]).all()
    # The 90 % intervals are informative: far narrower than the [0, 1] range.
    assert ((frame["ST_high"] - frame["ST_low"]) < 0.1).all()


def test_linear_additive_model_has_equal_first_and_total_indices() -> None:
    # Y = Σ c_i X_i with X_i ~ U(0, 1): V_i = c_i² / 12, so S_i = S_Ti = c_i² / Σ c_j².
    coefficients = np.array([1.0, 2.0, 3.0, 0.0])
    expected = coefficients**2 / np.sum(coefficients**2)
    result = analyse_function(
        lambda p: p @ coefficients, ["a", "b", "c", "d"], 2**13, seed=11, n_bootstrap=100
    )
    assert result.first_order.to_numpy() == pytest.approx(expected, abs=0.01)
    assert result.total.to_numpy() == pytest.approx(expected, abs=0.01)
    assert result.total["d"] == 0.0  # the inert factor never changes the output


def test_estimators_by_hand_on_two_rows() -> None:
    # n = 2, d = 1: y_A = [1, 3], y_B = [2, 4], y_AB = [[2, 5]].
    y_a, y_b, y_ab = np.array([1.0, 3.0]), np.array([2.0, 4.0]), np.array([[2.0, 5.0]])
    variance = np.var([1.0, 3.0, 2.0, 4.0])  # 1.25
    first = ((2 * (2 - 1)) + (4 * (5 - 3))) / 2 / variance  # 5 / 1.25 = 4
    total = 0.5 * (((1 - 2) ** 2 + (3 - 5) ** 2) / 2) / variance  # 1.25 / 1.25 = 1
    assert sobol_first_order(y_a, y_b, y_ab) == pytest.approx([first])
    assert sobol_total(y_a, y_b, y_ab) == pytest.approx([total])
    assert first == pytest.approx(4.0) and total == pytest.approx(1.0)


def test_constant_output_gives_undefined_indices() -> None:
    ones = np.ones(8)
    result = sobol_indices(ones, ones, np.ones((2, 8)), ["p", "q"], n_bootstrap=20)
    assert result.frame.isna().all().all()


def test_design_matrices_shapes_and_mixing() -> None:
    rng = np.random.default_rng(5)
    a, b = base_matrices(100, 3, rng)
    assert a.shape == b.shape == (100, 3)
    assert ((a >= 0) & (a < 1) & (b >= 0) & (b < 1)).all()
    assert not np.allclose(a, b)
    mixed = ab_matrix(a, b, 1)
    assert np.array_equal(mixed[:, 1], b[:, 1])
    assert np.array_equal(mixed[:, [0, 2]], a[:, [0, 2]])
    design = saltelli_design(a, b)
    assert design.shape == (100, 5, 3)
    assert np.array_equal(design[:, 0], a) and np.array_equal(design[:, 1], b)
    assert np.array_equal(design[:, 3], mixed)
    y_a, y_b, y_ab = split_outputs(design[..., 0], 3)
    assert np.array_equal(y_a, a[:, 0]) and np.array_equal(y_b, b[:, 0])
    assert y_ab.shape == (3, 100)
    assert np.array_equal(y_ab[0], b[:, 0]) and np.array_equal(y_ab[1], a[:, 0])


def test_same_seed_same_indices_other_seed_differs() -> None:
    def run(seed: int):
        return analyse_function(ishigami, ["x1", "x2", "x3"], 512, seed=seed, n_bootstrap=50)

    first, again, other = run(7), run(7), run(8)
    assert first.frame.equals(again.frame)
    assert not first.frame.equals(other.frame)


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="sampler"):
        base_matrices(10, 2, np.random.default_rng(0), "latin")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="names"):
        sobol_indices(np.ones(3), np.ones(3), np.ones((2, 3)), ["only-one"])
    with pytest.raises(ValueError, match="confidence"):
        sobol_indices(np.ones(3), np.ones(3), np.ones((1, 3)), ["x"], confidence=1.5)


# --------------------------------------------------------------------------------------
# Generic Monte Carlo driver on toy models whose answers are known by construction
# --------------------------------------------------------------------------------------


def test_rank_descending_ties_share_lowest_rank_and_nan_stays() -> None:
    ranks = rank_descending(np.array([[3.0, 5.0, 5.0, np.nan, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0]]))
    assert np.array_equal(ranks[0], [3.0, 1.0, 1.0, np.nan, 4.0], equal_nan=True)
    assert np.array_equal(ranks[1], [5.0, 4.0, 3.0, 2.0, 1.0])


def _swap_model(scenario: dict[str, object]) -> np.ndarray:
    """Two units; the 'swap' choice exchanges their order, 'inert' does nothing."""
    return np.array([10.0, 20.0]) if scenario["swap"] else np.array([20.0, 10.0])


def test_monte_carlo_on_a_swap_model() -> None:
    factors = [Factor("swap", (False, True)), Factor("inert", ("x", "y", "z"))]
    calls: list[tuple[int, int]] = []
    result = monte_carlo(
        _swap_model,
        factors,
        np.array([20.0, 10.0]),
        ["north", "south"],
        replicates=64,
        seed=2,
        n_bootstrap=100,
        progress=lambda done, total: calls.append((done, total)),
    )
    units = result.units
    assert units["nominal_rank"].tolist() == [1.0, 2.0]
    # A scrambled Sobol' sample of 64 points puts exactly half of each coordinate
    # below 0.5, so exactly half of the 128 A and B runs swap the two units.
    assert units["mean_abs_rank_shift"].tolist() == [0.5, 0.5]
    assert units["rank_p05"].tolist() == [1.0, 1.0]
    assert units["rank_p95"].tolist() == [2.0, 2.0]
    assert units["score_p05"].tolist() == [10.0, 10.0]
    assert units["score_p95"].tolist() == [20.0, 20.0]
    # Only 'swap' moves the output: the inert factor's indices are exactly zero and
    # the swap explains everything (first-order = total = 1 up to sampling error).
    indices = result.indices.frame
    assert indices.loc["inert", "S1"] == 0.0 and indices.loc["inert", "ST"] == 0.0
    assert indices.loc["swap", "ST"] == pytest.approx(1.0, abs=0.05)
    assert indices.loc["swap", "S1"] == pytest.approx(1.0, abs=0.15)
    assert result.unit_total.loc["north", "inert"] == 0.0
    assert result.unit_total.loc["north", "swap"] == pytest.approx(1.0, abs=0.05)
    # Run table: 64 base rows × (2 factors + 2) variants, in design order.
    assert len(result.runs) == 64 * 4
    assert result.runs["variant"].iloc[:4].tolist() == ["A", "B", "swap", "inert"]
    swapped = result.runs["swap"] == "True"
    assert (result.runs.loc[swapped, "mean_abs_rank_shift"] == 1.0).all()
    assert (result.runs.loc[~swapped, "mean_abs_rank_shift"] == 0.0).all()
    assert calls[-1] == (256, 256) and len(calls) == 64
    assert result.to_frame().columns[0] == "unit"


def test_monte_carlo_is_reproducible_from_its_seed() -> None:
    def noisy(scenario: dict[str, object]) -> np.ndarray:
        shift = float(scenario["level"])  # type: ignore[arg-type]
        return np.array([1.0, 2.0 + shift, 3.0 - shift, 2.5])

    factors = [Factor("level", (0.0, 0.6, 1.2, 2.0))]
    nominal = np.array([1.0, 2.0, 3.0, 2.5])
    run = lambda seed: monte_carlo(  # noqa: E731
        noisy, factors, nominal, list("abcd"), replicates=50, seed=seed, n_bootstrap=30
    )
    first, again, other = run(4), run(4), run(5)
    assert first.units.equals(again.units) and first.runs.equals(again.runs)
    assert first.indices.frame.equals(again.indices.frame)
    assert not first.runs.equals(other.runs)
