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
import pandas as pd
import pytest

from inclusive_cities.marker.sensitivity import (
    ErrorDraw,
    Factor,
    MarkerModel,
    ab_matrix,
    analyse_function,
    base_matrices,
    monte_carlo,
    perturbed_weight_sets,
    rank_descending,
    saltelli_design,
    sensitivity,
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
        ishigami, ["x1", "x2", "x3"], n, seed=3, sampler=sampler, n_bootstrap=40
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
    assert calls[-1] == (256, 256)
    assert result.unit_intervals is None  # only when asked for
    assert [done for done, _total in calls] == sorted({done for done, _total in calls})
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


# --------------------------------------------------------------------------------------
# Marker runs
# --------------------------------------------------------------------------------------

TINY_SPEC = """
code: tiny
name: {es: Mini, en: Tiny}
tree:
  code: UIM
  name: {es: Índice, en: Index}
  children:
    - code: HOUSING
      name: {es: Vivienda, en: Housing}
      indicators:
        - code: overcrowding
          name: {es: Hacinamiento, en: Overcrowding}
          direction: lower_is_better
          normalisation: {lower: 0, upper: 40}
        - code: tenure
          name: {es: Tenencia, en: Tenure}
          direction: higher_is_better
          normalisation: {lower: 0, upper: 100}
    - code: SERVICES
      name: {es: Servicios, en: Services}
      weight: 2
      indicators:
        - code: water
          name: {es: Agua, en: Water}
          direction: higher_is_better
          normalisation: {lower: 20, upper: 100}
        - code: school
          name: {es: Escuela, en: School}
          direction: higher_is_better
          normalisation: {lower: 0, upper: 100}
"""


def _tiny_spec():
    from inclusive_cities.marker.spec import parse_spec

    return parse_spec(TINY_SPEC, "tiny.yaml")


def _tiny_data(missing: bool = False) -> pd.DataFrame:
    """Five units; 'best' beats every other unit on every indicator, 'worst' loses to all."""
    frame = pd.DataFrame(
        {
            "unit_code": ["best", "b", "c", "d", "worst"],
            "overcrowding": [2.0, 10.0, 14.0, 8.0, 30.0],
            "tenure": [95.0, 60.0, 70.0, 40.0, 10.0],
            "water": [99.0, 70.0, 50.0, 80.0, 30.0],
            "school": [97.0, 50.0, 85.0, 65.0, 5.0],
        }
    )
    if missing:
        frame.loc[2, "tenure"] = np.nan
    return frame


def _errors(value: float) -> pd.DataFrame:
    frame = _tiny_data().copy()
    frame[["overcrowding", "tenure", "water", "school"]] = value
    return frame


def test_each_fast_run_equals_a_plain_compute_of_its_recipe() -> None:
    from inclusive_cities.marker.engine import compute

    spec, data = _tiny_spec(), _tiny_data(missing=True)
    model = MarkerModel(
        spec,
        data,
        "UIM",
        id_column="unit_code",
        standard_errors=_errors(3.0),
        error_draws=4,
        seed=9,
        compute_options={},
    )
    weights = perturbed_weight_sets(spec, 0.25, 3, np.random.default_rng(1))
    scenarios = [
        {},
        {"weights": weights[0], "aggregation": "geometric"},
        {"normalisation": "minmax", "drop_indicator": "water", "weights": weights[2]},
        {"imputation": "mean", "measurement_error": ErrorDraw(1), "aggregation": "harmonic"},
        {"imputation": "median", "measurement_error": ErrorDraw(3), "drop_indicator": "tenure"},
        {"normalisation": "zscore", "aggregation": {"method": "power_mean", "p": 0.5}},
    ]
    for scenario in scenarios:
        variant_spec, variant_data = model.variant(scenario)
        expected = compute(variant_spec, variant_data).scores["UIM"].to_numpy()
        np.testing.assert_allclose(model(scenario), expected, rtol=0, atol=1e-12)
    # Error draws are fixed per index: the same draw gives the same noisy data.
    first = model.variant({"measurement_error": ErrorDraw(1)})[1]
    again = model.variant({"measurement_error": ErrorDraw(1)})[1]
    other = model.variant({"measurement_error": ErrorDraw(2)})[1]
    assert first.equals(again) and not first.equals(other)
    assert not first["water"].equals(data["water"])


def test_dominating_units_keep_their_ranks_whatever_the_choices() -> None:
    result = sensitivity(
        _tiny_spec(),
        _tiny_data(),
        normalisation=["goalposts", "minmax"],
        aggregation=["arithmetic", "geometric"],
        replicates=64,
        seed=3,
        n_bootstrap=50,
        workers=1,
    )
    units = result.units
    # Every choice is monotone in each indicator, so strict dominance survives all runs.
    assert units.loc["best", ["nominal_rank", "rank_p05", "median_rank", "rank_p95"]].eq(1).all()
    assert units.loc["worst", ["rank_p05", "rank_p95"]].eq(5).all()
    assert units.loc["best", "mean_abs_rank_shift"] == 0.0
    assert units.loc["worst", "mean_abs_rank_shift"] == 0.0
    middle = units.loc[["b", "c", "d"]]
    assert (middle["rank_p05"] >= 2).all() and (middle["rank_p95"] <= 4).all()
    assert (middle["rank_p95"] > middle["rank_p05"]).any()  # the middle does move
    assert (units["score_p05"] <= units["median_score"]).all()
    assert (units["median_score"] <= units["score_p95"]).all()
    assert set(result.indices.frame.index) == {
        "weights",
        "normalisation",
        "aggregation",
        "drop_indicator",
    }
    assert result.node == "UIM"
    assert len(result.runs) == 64 * 6
    assert result.provenance["spec_hash"] == _tiny_spec().hash
    assert result.provenance["seed"] == 3
    assert result.provenance["choices"]["drop_indicator"] == [
        "nominal",
        "overcrowding",
        "tenure",
        "water",
        "school",
    ]


def test_choices_that_change_nothing_get_zero_indices() -> None:
    # No value is missing, so the imputation method cannot matter.
    rng = np.random.default_rng(4)
    data = pd.DataFrame(
        {
            "unit_code": [f"u{i}" for i in range(30)],
            "overcrowding": rng.uniform(0, 40, 30),
            "tenure": rng.uniform(0, 100, 30),
            "water": rng.uniform(20, 100, 30),
            "school": rng.uniform(0, 100, 30),
        }
    )
    result = sensitivity(
        _tiny_spec(),
        data,
        weights=None,
        aggregation=["arithmetic", "geometric"],
        imputation=["mean", "median"],
        drop_indicator=False,
        replicates=32,
        seed=5,
        n_bootstrap=20,
        workers=1,
    )
    assert result.indices.frame.loc["aggregation", "ST"] > 0.5
    assert result.indices.frame.loc["imputation", "ST"] == 0.0
    assert result.indices.frame.loc["imputation", "S1"] == 0.0
    assert (result.unit_total["imputation"].dropna() == 0.0).all()


def test_zero_standard_errors_move_nothing() -> None:
    result = sensitivity(
        _tiny_spec(),
        _tiny_data(),
        weights=None,
        aggregation=None,
        drop_indicator=False,
        standard_errors=_errors(0.0),
        replicates=16,
        n_bootstrap=10,
        workers=1,
    )
    units = result.units
    assert (units["mean_abs_rank_shift"] == 0).all()
    assert np.allclose(units["score_p05"], units["nominal_score"], atol=1e-4)
    assert np.allclose(units["score_p95"], units["nominal_score"], atol=1e-4)
    assert result.indices.frame["ST"].isna().all()  # no variance: the index is undefined


def test_measurement_error_widens_the_score_interval_as_expected() -> None:
    # A unit at 50 on four goalposts-0-100 indicators, SE 10 each: its score is a weighted
    # mean of four independent N(50, 10²) scores, so a 90 % interval of ±1.645·sd.
    spec = _tiny_spec().with_overrides(
        normalisation={"overcrowding": {"method": "goalposts", "lower": 0, "upper": 100}}
    )
    data = pd.DataFrame(
        {
            "unit_code": ["x", "y"],
            "overcrowding": [50.0, 50.0],
            "tenure": [50.0, 50.0],
            "water": [50.0, 50.0],
            "school": [50.0, 50.0],
        }
    )
    spec = spec.with_overrides(
        normalisation={"water": {"method": "goalposts", "lower": 0, "upper": 100}}
    )
    errors = data.copy()
    errors[["overcrowding", "tenure", "water", "school"]] = 10.0
    result = sensitivity(
        spec,
        data,
        weights=None,
        aggregation=None,
        drop_indicator=False,
        standard_errors=errors,
        error_draws=200,
        replicates=200,
        seed=8,
        n_bootstrap=10,
        workers=1,
    )
    x = result.units.loc["x"]
    assert x["nominal_score"] == 50.0
    half_width = (x["score_p95"] - x["score_p05"]) / 2
    # Areas weigh 1 and 2 and each averages two indicators: sd(area) = sqrt(2·10²)/2.
    area_sd = math.sqrt(2 * 10.0**2) / 2  # mean of two independent scores
    index_sd = math.sqrt((1 / 3) ** 2 * area_sd**2 + (2 / 3) ** 2 * area_sd**2)
    assert half_width == pytest.approx(1.645 * index_sd, rel=0.15)
    assert result.half_widths().columns.tolist() == ["UIM"]


def test_same_seed_same_result_whatever_the_number_of_workers() -> None:
    def run(seed: int, workers: int):
        return sensitivity(
            _tiny_spec(),
            _tiny_data(missing=True),
            imputation=["mean", "median"],
            standard_errors=_errors(2.0),
            replicates=20,
            seed=seed,
            n_bootstrap=30,
            workers=workers,
            unit_intervals=True,
        )

    one, again, forked, other = run(11, 1), run(11, 1), run(11, 2), run(12, 1)
    for left, right in ((one, again), (one, forked)):
        assert left.units.equals(right.units)
        assert left.indices.frame.equals(right.indices.frame)
        assert left.runs.equals(right.runs)
        assert left.unit_total.equals(right.unit_total)
        assert left.unit_intervals is not None and right.unit_intervals is not None
        for key, table in left.unit_intervals.items():
            assert table.equals(right.unit_intervals[key])
    assert not one.units.equals(other.units)


def test_perturbed_weights_stay_in_range_and_keep_sibling_totals() -> None:
    spec = _tiny_spec()
    sets = perturbed_weight_sets(spec, 0.25, 50, np.random.default_rng(0))
    assert len(sets) == 50 and sets[7].label == "w7"
    for weight_set in sets:
        w = weight_set.weights
        assert w["HOUSING"] + w["SERVICES"] == pytest.approx(3.0)
        assert w["overcrowding"] + w["tenure"] == pytest.approx(2.0)
        ratio = w["SERVICES"] / w["HOUSING"]
        assert 2 * 0.75 / 1.25 <= ratio <= 2 * 1.25 / 0.75
    assert len({round(s.weights["water"], 12) for s in sets}) == 50


def test_bad_requests_get_clear_errors() -> None:
    from inclusive_cities.marker.errors import MarkerDataError, MarkerError, MarkerSpecError

    spec, data = _tiny_spec(), _tiny_data()
    with pytest.raises(MarkerSpecError):
        sensitivity(spec, data, normalisation=["goalposts", "bogus"], replicates=4)
    with pytest.raises(MarkerError, match="Nothing is uncertain"):
        sensitivity(spec, data, weights=None, aggregation=None, drop_indicator=False)
    with pytest.raises(MarkerError, match="is an indicator"):
        sensitivity(spec, data, node="water", replicates=4)
    with pytest.raises(MarkerError, match="weight spread"):
        sensitivity(spec, data, weights=1.5, replicates=4)
    negative = _errors(1.0)
    negative.loc[3, "school"] = -2.0
    with pytest.raises(MarkerDataError, match=r"unit d, column 'school'.*negative") as caught:
        sensitivity(spec, data, standard_errors=negative, replicates=4)
    assert "\n" not in str(caught.value)
    with pytest.raises(MarkerDataError, match="id column"):
        sensitivity(spec, data, standard_errors=_errors(1.0).drop(columns="unit_code"))


# --------------------------------------------------------------------------------------
# Command line (the lead registers it in cli/__init__.py; here it runs on its own app)
# --------------------------------------------------------------------------------------


def _cli_app():
    import typer

    from inclusive_cities.cli import marker, marker_uncertainty

    app = typer.Typer()
    marker.register(app)
    marker_uncertainty.register(app)
    return app


def test_cli_sensitivity_writes_units_and_indices(tmp_path) -> None:
    from typer.testing import CliRunner

    spec_path = tmp_path / "tiny.yaml"
    spec_path.write_text(TINY_SPEC, encoding="utf-8")
    _tiny_data().to_csv(tmp_path / "data.csv", index=False)
    _errors(1.5).to_csv(tmp_path / "se.csv", index=False)
    out = tmp_path / "out.csv"
    args = [
        "marker",
        "sensitivity",
        "--spec",
        str(spec_path),
        "--data",
        str(tmp_path / "data.csv"),
        "--out",
        str(out),
        "--replicates",
        "16",
        "--seed",
        "4",
        "--se-data",
        str(tmp_path / "se.csv"),
        "--bootstrap",
        "20",
        "--workers",
        "1",
    ]
    result = CliRunner().invoke(_cli_app(), args)
    assert result.exit_code == 0, result.output
    units = pd.read_csv(out, dtype={"unit_code": str})
    assert units["unit_code"].tolist() == ["best", "b", "c", "d", "worst"]
    assert {"nominal_rank", "median_rank", "rank_p05", "rank_p95", "mean_abs_rank_shift"} <= set(
        units.columns
    )
    indices = pd.read_csv(tmp_path / "out_indices.csv")
    assert indices["factor"].tolist() == [
        "weights",
        "aggregation",
        "drop_indicator",
        "measurement_error",
    ]
    assert "runs of tiny" in result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "data.csv",
        "out.csv",
        "out_indices.csv",
        "se.csv",
        "tiny.yaml",
    ]
    # Same seed, same file.
    again = CliRunner().invoke(_cli_app(), [*args[:7], str(tmp_path / "again.csv"), *args[8:]])
    assert again.exit_code == 0
    assert (tmp_path / "again.csv").read_text() == out.read_text()


def test_cli_sensitivity_bad_method_is_a_marker_error(tmp_path) -> None:
    from typer.testing import CliRunner

    from inclusive_cities.marker.errors import MarkerError

    spec_path = tmp_path / "tiny.yaml"
    spec_path.write_text(TINY_SPEC, encoding="utf-8")
    _tiny_data().to_csv(tmp_path / "data.csv", index=False)
    result = CliRunner().invoke(
        _cli_app(),
        [
            "marker",
            "sensitivity",
            "--spec",
            str(spec_path),
            "--data",
            str(tmp_path / "data.csv"),
            "--out",
            str(tmp_path / "out.csv"),
            "--aggregation",
            "arithmetic,median_of_means",
        ],
    )
    assert isinstance(result.exception, MarkerError)
    assert "median_of_means" in str(result.exception)
    assert not (tmp_path / "out.csv").exists()


def test_runs_that_repeat_a_are_copied_not_recomputed() -> None:
    calls: list[tuple[object, ...]] = []

    def model(scenario: dict[str, object]) -> np.ndarray:
        calls.append(tuple(scenario.values()))
        level = float(scenario["level"]) + 0.1 * float(scenario["tilt"])  # type: ignore[arg-type]
        return np.array([1.0, 2.0 + level, 3.0 - level])

    factors = [Factor("level", (0.0, 1.0, 2.0)), Factor("tilt", (0, 1))]
    result = monte_carlo(
        model, factors, np.array([1.0, 2.0, 3.0]), list("xyz"), replicates=32, n_bootstrap=0
    )
    runs = result.runs
    distinct = runs.groupby("sample")[["level", "tilt"]].apply(
        lambda frame: len(frame.drop_duplicates())
    )
    assert len(calls) == distinct.sum() < len(runs)
    # A copied run reports exactly what its twin computed.
    for _sample, frame in runs.groupby("sample"):
        twins = frame.groupby(["level", "tilt"])["mean_abs_rank_shift"].nunique()
        assert (twins == 1).all()


def test_cli_methods_with_parameters(tmp_path) -> None:
    from typer.testing import CliRunner

    from inclusive_cities.errors import UsageError

    spec_path = tmp_path / "tiny.yaml"
    spec_path.write_text(TINY_SPEC, encoding="utf-8")
    data = _tiny_data(missing=True)
    data["zone"] = ["n", "n", "s", "s", "s"]
    data.to_csv(tmp_path / "data.csv", index=False)
    base = [
        "marker",
        "sensitivity",
        "--spec",
        str(spec_path),
        "--data",
        str(tmp_path / "data.csv"),
        "--out",
        str(tmp_path / "out.csv"),
        "--replicates",
        "8",
        "--bootstrap",
        "10",
        "--workers",
        "1",
        "--no-drop-indicator",
        "--weights",
        "0",
    ]
    result = CliRunner().invoke(
        _cli_app(),
        [
            *base,
            "--aggregation",
            "arithmetic,power_mean:0.5",
            "--imputation",
            "mean,group_median:zone",
        ],
    )
    assert result.exit_code == 0, result.output
    indices = pd.read_csv(tmp_path / "out_indices.csv")
    assert indices["factor"].tolist() == ["aggregation", "imputation"]
    extra = CliRunner().invoke(
        _cli_app(), [*base, "--unit-indices-out", str(tmp_path / "units_sobol.csv")]
    )
    assert extra.exit_code == 0, extra.output
    per_unit = pd.read_csv(tmp_path / "units_sobol.csv", dtype={"unit_code": str})
    assert per_unit.columns.tolist() == [
        "unit_code",
        "S1_aggregation",
        "ST_aggregation",
        "S1_aggregation_low",
        "S1_aggregation_high",
        "ST_aggregation_low",
        "ST_aggregation_high",
    ]
    assert per_unit["unit_code"].tolist() == ["best", "b", "c", "d", "worst"]
    moving = per_unit.dropna()  # 'best' and 'worst' never move: their indices are undefined
    assert len(moving) >= 1
    assert (moving["ST_aggregation_low"] <= moving["ST_aggregation_high"]).all()
    bad = CliRunner().invoke(_cli_app(), [*base, "--aggregation", "arithmetic,power_mean:half"])
    assert isinstance(bad.exception, UsageError)
    assert "power_mean:half" in str(bad.exception)


def test_unit_rank_indices_get_bootstrap_intervals() -> None:
    def model(scenario: dict[str, object]) -> np.ndarray:
        # Unit a never moves, b and c swap with 'swap', d and e swap with 'tilt' half the time.
        b, c = (2.0, 3.0) if scenario["swap"] else (3.0, 2.0)
        d, e = (0.5, 1.0) if scenario["tilt"] else (1.0, 0.5)
        return np.array([10.0, b, c, d, e])

    factors = [Factor("swap", (False, True)), Factor("tilt", (0, 1)), Factor("inert", (1, 2))]
    result = monte_carlo(
        model,
        factors,
        np.array([10.0, 3.0, 2.0, 1.0, 0.5]),
        list("abcde"),
        replicates=128,
        n_bootstrap=200,
        unit_intervals=True,
    )
    intervals = result.unit_intervals
    assert intervals is not None and set(intervals) == {"S1_low", "S1_high", "ST_low", "ST_high"}
    # Unit a's rank never varies: no index, no interval.
    assert intervals["ST_low"].loc["a"].isna().all()
    # b's rank depends on 'swap' alone: its total index and interval sit at 1 (up to
    # sampling), the other factors' at exactly 0.
    assert result.unit_total.loc["b", "swap"] == pytest.approx(1.0, abs=0.05)
    assert intervals["ST_low"].loc["b", "swap"] <= result.unit_total.loc["b", "swap"]
    assert result.unit_total.loc["b", "swap"] <= intervals["ST_high"].loc["b", "swap"]
    assert intervals["ST_high"].loc["b", "swap"] - intervals["ST_low"].loc["b", "swap"] < 0.3
    assert intervals["ST_low"].loc["b", "inert"] == intervals["ST_high"].loc["b", "inert"] == 0
    assert intervals["ST_high"].loc["d", "swap"] == 0.0
    assert result.unit_total.loc["d", "tilt"] == pytest.approx(1.0, abs=0.05)
