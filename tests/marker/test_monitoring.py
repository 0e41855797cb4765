"""Monitoring: change per unit and node between two runs, judged against the uncertainty."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from inclusive_cities.marker.errors import MarkerError
from inclusive_cities.marker.monitoring import (
    IMPROVED,
    NO_SIGNIFICANT_CHANGE,
    NOT_COMPARABLE,
    WORSENED,
    MarkerComparisonError,
    check_comparable,
    compare,
    compare_periods,
    compare_scores,
    compare_series,
    half_widths_from_intervals,
    verdict_label,
)


def _scores(rows: dict[str, list[float]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["UIM", "HOUSING"])
    frame.index.name = "unit_code"
    return frame


def test_verdicts_use_the_combined_half_widths() -> None:
    before = _scores({"n1": [50.0, 40.0], "n2": [60.0, 70.0], "n3": [30.0, 20.0]})
    after = _scores({"n1": [56.0, 41.0], "n2": [54.0, 70.0], "n3": [33.0, 20.0]})
    # Half-widths 3 and 4 combine to sqrt(9 + 16) = 5 points for every unit on UIM.
    h_a = pd.DataFrame({"UIM": [3.0, 3.0, 3.0]}, index=before.index)
    h_b = pd.DataFrame({"UIM": [4.0, 4.0, 4.0]}, index=before.index)
    result = compare_scores(before, after, half_widths_a=h_a, half_widths_b=h_b, tolerance=0.5)
    changes = result.changes
    assert changes.loc[("n1", "UIM"), "change"] == 6.0
    assert changes.loc[("n1", "UIM"), "threshold"] == 5.0
    assert changes.loc[("n1", "UIM"), "verdict"] == IMPROVED  # +6 > 5
    assert changes.loc[("n2", "UIM"), "verdict"] == WORSENED  # −6 < −5
    assert changes.loc[("n3", "UIM"), "verdict"] == NO_SIGNIFICANT_CHANGE  # +3 within ±5
    # HOUSING has no interval: the 0.5-point tolerance decides.
    assert changes.loc[("n1", "HOUSING"), "basis"] == "tolerance"
    assert changes.loc[("n1", "HOUSING"), "verdict"] == IMPROVED  # +1 > 0.5
    assert changes.loc[("n2", "HOUSING"), "verdict"] == NO_SIGNIFICANT_CHANGE
    assert changes.loc[("n1", "UIM"), "basis"] == "uncertainty"
    assert result.summary.loc["UIM"].to_dict() == {
        IMPROVED: 1,
        WORSENED: 1,
        NO_SIGNIFICANT_CHANGE: 1,
        NOT_COMPARABLE: 0,
    }


def test_a_change_equal_to_the_threshold_is_not_significant() -> None:
    before = _scores({"n1": [50.0, 40.0]})
    after = _scores({"n1": [45.0, 40.0]})
    h = pd.DataFrame({"UIM": [3.0]}, index=before.index)
    h_b = pd.DataFrame({"UIM": [4.0]}, index=before.index)
    result = compare_scores(before, after, half_widths_a=h, half_widths_b=h_b)
    assert result.changes.loc[("n1", "UIM"), "change"] == -5.0
    assert result.changes.loc[("n1", "UIM"), "verdict"] == NO_SIGNIFICANT_CHANGE


def test_one_known_half_width_counts_the_other_as_zero() -> None:
    before = _scores({"n1": [50.0, 40.0]})
    after = _scores({"n1": [53.5, 40.0]})
    h_a = pd.DataFrame({"UIM": [3.0]}, index=before.index)
    result = compare_scores(before, after, half_widths_a=h_a)
    assert result.changes.loc[("n1", "UIM"), "threshold"] == 3.0
    assert result.changes.loc[("n1", "UIM"), "verdict"] == IMPROVED


def test_units_in_one_run_only_are_not_comparable() -> None:
    before = _scores({"n1": [50.0, 40.0], "gone": [10.0, 10.0]})
    after = _scores({"n1": [50.0, 40.0], "new": [90.0, 90.0]})
    result = compare_scores(before, after)
    verdicts = result.changes["verdict"]
    assert verdicts.loc[("gone", "UIM")] == NOT_COMPARABLE
    assert verdicts.loc[("new", "UIM")] == NOT_COMPARABLE
    assert verdicts.loc[("n1", "UIM")] == NO_SIGNIFICANT_CHANGE  # zero change, zero tolerance
    assert math.isnan(result.changes.loc[("new", "UIM"), "score_a"])
    assert result.to_frame().columns[:2].tolist() == ["unit_code", "node"]


def test_half_widths_from_a_series_of_intervals() -> None:
    low = pd.Series([40.0, 10.0], index=["a", "b"])
    high = pd.Series([50.0, 30.0], index=["a", "b"])
    widths = half_widths_from_intervals(low, high, node="UIM")
    assert widths["UIM"].tolist() == [5.0, 10.0]
    with pytest.raises(ValueError, match="node"):
        half_widths_from_intervals(low, high)


def test_negative_tolerance_is_a_marker_error() -> None:
    frame = _scores({"n1": [1.0, 2.0]})
    with pytest.raises(MarkerError, match="tolerance"):
        compare_scores(frame, frame, tolerance=-1.0)
    assert issubclass(MarkerComparisonError, MarkerError)


def test_verdict_labels_are_translated() -> None:
    from inclusive_cities.i18n import use_language

    use_language("es")
    try:
        assert verdict_label(IMPROVED) == "mejoró"
        assert verdict_label(NO_SIGNIFICANT_CHANGE) == "sin cambio significativo"
    finally:
        use_language("en")
    assert verdict_label(WORSENED) == "worsened"


SPEC_YAML = """
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
          normalisation: {lower: 0, upper: 40, source: UN-Habitat}
        - code: tenure
          name: {es: Tenencia, en: Tenure}
          direction: higher_is_better
          normalisation: {lower: 0, upper: 100}
    - code: SERVICES
      name: {es: Servicios, en: Services}
      indicators:
        - code: water
          name: {es: Agua, en: Water}
          direction: higher_is_better
          normalisation: {lower: 20, upper: 100}
"""


def _spec(text: str = SPEC_YAML):
    from inclusive_cities.marker.spec import parse_spec

    return parse_spec(text, "tiny.yaml")


def test_same_recipe_with_other_names_is_comparable() -> None:
    renamed = _spec(SPEC_YAML.replace("en: Housing", "en: Dwellings").replace("UN-Habitat", "x"))
    assert check_comparable(_spec(), renamed) == []


@pytest.mark.parametrize(
    ("edit", "part"),
    [
        (("upper: 40,", "upper: 50,"), "benchmarks"),
        (("direction: lower_is_better", "direction: higher_is_better"), "tree"),
        (("    - code: SERVICES", "    - code: SERVICE"), "tree"),
    ],
)
def test_different_benchmarks_or_trees_are_refused(edit: tuple[str, str], part: str) -> None:
    other = _spec(SPEC_YAML.replace(*edit))
    with pytest.raises(MarkerComparisonError, match=f"their .*{part}.* differ") as caught:
        check_comparable(_spec(), other)
    message = str(caught.value)
    assert "\n" not in message and "--allow-different-specs" in message
    assert part in check_comparable(_spec(), other, allow_different_specs=True)


def test_other_weights_are_a_method_difference() -> None:
    heavier = _spec().with_overrides(weights={"HOUSING": 3.0})
    with pytest.raises(MarkerComparisonError, match="method"):
        check_comparable(_spec(), heavier)


def _period(values: dict[str, list[float]]) -> pd.DataFrame:
    frame = pd.DataFrame(values)
    frame.insert(0, "unit_code", ["n1", "n2", "n3"])
    return frame


BEFORE = {
    "overcrowding": [20.0, 10.0, 30.0],
    "tenure": [50.0, 70.0, 20.0],
    "water": [60.0, 90.0, 40.0],
}
# n1 improves a lot everywhere, n2 barely moves, n3 loses a lot of water access.
AFTER = {
    "overcrowding": [8.0, 10.5, 30.0],
    "tenure": [80.0, 70.5, 20.0],
    "water": [95.0, 90.0, 22.0],
}


def test_compare_runs_of_two_periods_with_their_uncertainty() -> None:
    from inclusive_cities.marker.engine import compute
    from inclusive_cities.marker.sensitivity import sensitivity

    spec = _spec()
    errors = _period({code: [2.0, 2.0, 2.0] for code in BEFORE})
    run_a, run_b = compute(spec, _period(BEFORE)), compute(spec, _period(AFTER))
    options = dict(
        weights=None,
        aggregation=None,
        drop_indicator=False,
        standard_errors=errors,
        replicates=64,
        n_bootstrap=0,
        workers=1,
        all_nodes=True,
    )
    u_a = sensitivity(spec, _period(BEFORE), **options)
    u_b = sensitivity(spec, _period(AFTER), **options)
    result = compare(run_a, run_b, uncertainty_a=u_a, uncertainty_b=u_b)
    changes = result.changes
    assert set(changes.index.get_level_values("node")) == {"UIM", "HOUSING", "SERVICES"}
    assert (changes["basis"] == "uncertainty").all()
    # The rule, recomputed from the two runs' own intervals:
    h_a, h_b = u_a.half_widths(), u_b.half_widths()
    for (unit, node), row in changes.iterrows():
        expected_threshold = math.hypot(h_a.loc[unit, node], h_b.loc[unit, node])
        assert row["threshold"] == pytest.approx(expected_threshold)
        assert row["change"] == pytest.approx(
            run_b.scores.loc[unit, node] - run_a.scores.loc[unit, node]
        )
    assert changes.loc[("n1", "UIM"), "verdict"] == IMPROVED
    assert changes.loc[("n2", "UIM"), "verdict"] == NO_SIGNIFICANT_CHANGE
    assert changes.loc[("n3", "SERVICES"), "verdict"] == WORSENED
    assert changes.loc[("n3", "HOUSING"), "verdict"] == NO_SIGNIFICANT_CHANGE  # unchanged data
    assert changes.loc[("n1", "UIM"), "level_a"] == run_a.level.loc["n1"]
    assert not result.specs_differ


def test_compare_periods_from_tables() -> None:
    errors = _period({code: [2.0, 2.0, 2.0] for code in BEFORE})
    calls: list[tuple[int, int]] = []
    result = compare_periods(
        _spec(),
        _period(BEFORE),
        _period(AFTER),
        standard_errors_a=errors,
        standard_errors_b=errors,
        replicates=32,
        workers=1,
        progress=lambda done, total: calls.append((done, total)),
    )
    verdicts = result.changes["verdict"]
    assert verdicts.loc[("n1", "UIM")] == IMPROVED
    assert verdicts.loc[("n2", "UIM")] == NO_SIGNIFICANT_CHANGE
    assert calls[-1][0] == calls[-1][1] == 2 * 32 * 3
    # Without standard errors every change beyond the tolerance counts.
    exact = compare_periods(_spec(), _period(BEFORE), _period(AFTER), tolerance=0.1)
    assert exact.changes.loc[("n2", "UIM"), "basis"] == "tolerance"
    # n2: overcrowding 10 -> 10.5 on goalposts 0-40 (lower is better) is -1.25 points,
    # tenure +0.5, water 0; HOUSING = mean(-1.25, 0.5), UIM = mean(HOUSING, SERVICES).
    assert exact.changes.loc[("n2", "UIM"), "change"] == pytest.approx(-0.1875)
    assert exact.changes.loc[("n2", "UIM"), "verdict"] == WORSENED


def test_compare_refuses_runs_of_different_benchmarks() -> None:
    from inclusive_cities.marker.engine import compute

    other = _spec(SPEC_YAML.replace("upper: 40,", "upper: 50,"))
    run_a, run_b = compute(_spec(), _period(BEFORE)), compute(other, _period(AFTER))
    with pytest.raises(MarkerComparisonError, match="benchmarks"):
        compare(run_a, run_b)
    forced = compare(run_a, run_b, allow_different_specs=True)
    assert forced.specs_differ
    with pytest.raises(MarkerComparisonError, match="benchmarks"):
        compare_periods(_spec(), _period(BEFORE), _period(AFTER), spec_b=other)


def _cli_app():
    import typer

    from inclusive_cities.cli import marker, marker_uncertainty

    app = typer.Typer()
    marker.register(app)
    marker_uncertainty.register(app)
    return app


def _write_periods(tmp_path, spec_text: str = SPEC_YAML) -> list[str]:
    (tmp_path / "tiny.yaml").write_text(spec_text, encoding="utf-8")
    _period(BEFORE).to_csv(tmp_path / "a.csv", index=False)
    _period(AFTER).to_csv(tmp_path / "b.csv", index=False)
    _period({code: [2.0, 2.0, 2.0] for code in BEFORE}).to_csv(tmp_path / "se.csv", index=False)
    return [
        "marker",
        "compare",
        "--spec",
        str(tmp_path / "tiny.yaml"),
        "--a",
        str(tmp_path / "a.csv"),
        "--b",
        str(tmp_path / "b.csv"),
        "--out",
        str(tmp_path / "change.csv"),
    ]


def test_cli_compare_writes_verdicts(tmp_path) -> None:
    from typer.testing import CliRunner

    from inclusive_cities.i18n import use_language

    args = _write_periods(tmp_path)
    se = str(tmp_path / "se.csv")
    use_language("es")
    try:
        result = CliRunner().invoke(
            _cli_app(),
            [*args, "--se-a", se, "--se-b", se, "--replicates", "32", "--workers", "1"],
        )
    finally:
        use_language("en")
    assert result.exit_code == 0, result.output
    assert "mejoró" in result.output
    change = pd.read_csv(tmp_path / "change.csv", dtype={"unit_code": str})
    assert len(change) == 3 * 3
    row = change[(change["unit_code"] == "n1") & (change["node"] == "UIM")].iloc[0]
    assert row["verdict"] == IMPROVED and row["verdict_label"] == "mejoró"
    assert row["basis"] == "uncertainty"


def test_cli_compare_refuses_other_benchmarks_unless_allowed(tmp_path) -> None:
    from typer.testing import CliRunner

    args = _write_periods(tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text(SPEC_YAML.replace("upper: 40,", "upper: 50,"), encoding="utf-8")
    refused = CliRunner().invoke(_cli_app(), [*args, "--spec-b", str(other)])
    assert isinstance(refused.exception, MarkerComparisonError)
    assert not (tmp_path / "change.csv").exists()
    allowed = CliRunner().invoke(
        _cli_app(), [*args, "--spec-b", str(other), "--allow-different-specs"]
    )
    assert allowed.exit_code == 0, allowed.output
    assert "different specs" in allowed.output
    assert (tmp_path / "change.csv").exists()


def test_compare_series_pairs_consecutive_periods() -> None:
    from inclusive_cities.marker.engine import compute

    later = {
        code: [v + 5.0 if code != "overcrowding" else v for v in values]
        for code, values in AFTER.items()
    }
    runs = {
        "2021": compute(_spec(), _period(BEFORE)),
        "2023": compute(_spec(), _period(AFTER)),
        "2025": compute(_spec(), _period(later)),
    }
    table = compare_series(runs, tolerance=0.5)
    assert table[["period_a", "period_b"]].drop_duplicates().values.tolist() == [
        ["2021", "2023"],
        ["2023", "2025"],
    ]
    assert len(table) == 2 * 3 * 3
    last = table[(table["period_a"] == "2023") & (table["node"] == "SERVICES")]
    # water +5 on goalposts 20-100 is +6.25 points, the only SERVICES indicator.
    assert last["change"].round(6).tolist() == [6.25, 6.25, 6.25]
    assert (last["verdict"] == IMPROVED).all()
    with pytest.raises(MarkerComparisonError, match="two periods"):
        compare_series({"2021": runs["2021"]})
