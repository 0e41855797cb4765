"""Weights from the data, as COINr makes them, reproduce COINr's documented ASEM output.

The ASEM sustainable connectivity index (COINr's example; data read at run time from
``../shared/data/reference/ASEM_iData.csv`` and ``ASEM_iMeta.csv``, see SOURCE.md there) is
built through the project's own spec and engine with COINr's ``build_example_coin()``
pipeline: denominate, impute by ``EurAsia_group`` mean, screen below 90 % availability,
winsorise (5 points, skew 2, kurtosis 3.5, log fallback), min-max 0-100, arithmetic means.

Expected values are COINr's printed output in its "Weights" vignette
(https://bluefoxr.github.io/COINr/articles/weights.html, COINr 1.0.0.9000, rendered in the
package repository as ``docs/articles/weights.html``):

- ``get_PCA(coin, dset = "Aggregated", Level = 2, weights_to = "PCAwtsLev2")`` prints the
  level-2 weights Physical 0.5117970, ConEcFin 0.3049926, Political 0.3547671, Instit
  0.5081540, P2P 0.5108455, Environ 0.6513188, Social -0.7443677, SusEcFin 0.1473108.
- ``get_corr(coin, dset = "Aggregated", Levels = c(3, 4))`` with equal weights prints
  Conn 0.9397805, Sust 0.8382873.
- ``get_opt_weights(coin, itarg = "equal", dset = "Aggregated", Level = 3)`` prints 15
  "iterating... objective function = …" lines (below), "Optimisation successful!", the
  weights Conn 0.3902439, Sust 0.6097561, and after re-aggregating, correlations Conn
  0.8971336, Sust 0.8925119.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from inclusive_cities.marker import MarkerSpec, compute
from inclusive_cities.marker.errors import MarkerSpecError
from inclusive_cities.marker.spec import parse_spec
from tests.reference import shared_data

REFERENCE = shared_data("reference")  # ../shared/data/reference, read at run time

# COINr "Weights" vignette, section "PCA weights" (printed to 7 decimals)
COINR_PCA_WEIGHTS = {
    "Physical": 0.5117970,
    "ConEcFin": 0.3049926,
    "Political": 0.3547671,
    "Instit": 0.5081540,
    "P2P": 0.5108455,
    "Environ": 0.6513188,
    "Social": -0.7443677,
    "SusEcFin": 0.1473108,
}
# COINr "Weights" vignette, section "Optimised weights"
COINR_CORR_EQUAL = {"Conn": 0.9397805, "Sust": 0.8382873}
COINR_OPT_TRACE = [
    -7.11287670895252,
    -6.75731482891423,
    -7.5563175412706,
    -8.21181051402935,
    -10.0802172796095,
    -13.3043247136273,
    -8.7011048855954,
    -7.93721550859392,
    -9.92111795779074,
    -8.57337082557942,
    -13.0490317878554,
    -10.1205749624737,
    -11.4698196057753,
    -11.5046209642509,
    -12.938292451273,
]
COINR_OPT_WEIGHTS = {"Conn": 0.3902439, "Sust": 0.6097561}
COINR_CORR_OPTIMISED = {"Conn": 0.8971336, "Sust": 0.8925119}


def asem_spec_yaml(weighting: dict[str, str] | None = None) -> str:
    """The ASEM tree from ASEM_iMeta as a COINr-style flat ``nodes:`` spec (YAML text)."""
    meta = pd.read_csv(REFERENCE / "ASEM_iMeta.csv")
    nodes: list[dict[str, Any]] = []
    for row in meta[meta["Type"].isin(["Indicator", "Aggregate"])].itertuples():
        entry: dict[str, Any] = {
            "code": row.iCode,
            "name": {"es": row.iName, "en": row.iName},
            "weight": float(row.Weight),
        }
        if isinstance(row.Parent, str):
            entry["parent"] = row.Parent
        if row.Type == "Indicator":
            entry["direction"] = "higher_is_better" if row.Direction > 0 else "lower_is_better"
            if isinstance(row.Denominator, str):
                entry["denominator"] = {"column": row.Denominator}
        if weighting and row.iCode in weighting:
            entry["weighting"] = weighting[row.iCode]
        nodes.append(entry)
    spec = {
        "code": "asem",
        "name": {"es": "ASEM", "en": "ASEM"},
        "defaults": {
            "normalisation": "minmax",
            "aggregation": "arithmetic",
            "treatment": {"method": "winsorise", "winmax": 5, "skew_max": 2, "kurt_max": 3.5},
            "missing": {
                "min_coverage": 0,
                "unit_min_coverage": 0.9,
                "screen_on": "imputed",
                "imputation": {"method": "group_mean", "group_column": "EurAsia_group"},
            },
        },
        "nodes": nodes,
    }
    return yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)


@pytest.fixture(scope="module")
def asem_data() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "ASEM_iData.csv")


def test_asem_index_with_fixed_weights_is_coinrs(asem_data):
    """The pipeline the weights build on: SOURCE.md's published ranking."""
    result = compute(parse_spec(asem_spec_yaml(), "asem.yaml"), asem_data, id_column="uCode")
    index = result.score
    expected = {"CHE": 68.38, "NLD": 64.82, "DNK": 64.80, "NOR": 64.47, "BEL": 63.54}
    for unit, value in expected.items():
        assert index[unit] == pytest.approx(value, abs=0.005)
    assert result.rank["IND"] == 45
    assert index["IND"] == pytest.approx(39.79, abs=0.005)
    assert result.derived_weights == {}


def test_pca_weights_are_coinrs_get_pca(asem_data):
    spec = parse_spec(asem_spec_yaml({"Conn": "pca", "Sust": "pca"}), "asem.yaml")
    result = compute(spec, asem_data, id_column="uCode")
    for code, weight in COINR_PCA_WEIGHTS.items():
        assert result.derived_weights[code] == pytest.approx(weight, abs=5e-7), code

    # independently: first right-singular vector of the standardised pillar scores
    fixed = compute(parse_spec(asem_spec_yaml(), "asem.yaml"), asem_data, id_column="uCode")
    pillars = fixed.scores[["Environ", "Social", "SusEcFin"]].dropna().to_numpy()
    z = (pillars - pillars.mean(axis=0)) / pillars.std(axis=0, ddof=1)
    first = np.linalg.svd(z)[2][0]
    first = first if first.sum() > 0 else -first
    derived = [result.derived_weights[c] for c in ("Environ", "Social", "SusEcFin")]
    assert derived == pytest.approx(first.tolist(), abs=1e-12)
    # the PCA-weighted sub-index is the weighted mean of its pillars with those weights
    w = np.array(derived)
    by_hand = pillars @ w / w.sum()
    units = fixed.scores[["Environ", "Social", "SusEcFin"]].dropna().index
    assert result.scores.loc[units, "Sust"].to_numpy() == pytest.approx(by_hand, rel=1e-12)
    # pillar scores do not depend on the weights chosen above them
    assert result.scores["Physical"].equals(fixed.scores["Physical"])
    # effective weights follow the derived ones (Conn's pillars all positive: shares add up)
    assert result.effective_weights.sum() == pytest.approx(1.0)


def test_optimised_weights_are_coinrs_get_opt_weights(asem_data):
    fixed = compute(parse_spec(asem_spec_yaml(), "asem.yaml"), asem_data, id_column="uCode")
    scores = fixed.scores
    for code, value in COINR_CORR_EQUAL.items():
        assert np.corrcoef(scores[code], scores["Index"])[0, 1] == pytest.approx(value, abs=5e-8)

    spec = parse_spec(asem_spec_yaml({"Index": "optimised"}), "asem.yaml")
    result = compute(spec, asem_data, id_column="uCode")
    search = result.weight_searches["Index"]
    assert search.objective_values == pytest.approx(COINR_OPT_TRACE, abs=1e-11)
    assert search.converged
    for code, weight in COINR_OPT_WEIGHTS.items():
        assert result.derived_weights[code] == pytest.approx(weight, abs=5e-8)
    for code, value in COINR_CORR_OPTIMISED.items():
        r = np.corrcoef(result.scores[code], result.scores["Index"])[0, 1]
        assert r == pytest.approx(value, abs=5e-8)
    # the index is the optimised weighted mean of Conn and Sust
    w = COINR_OPT_WEIGHTS
    by_hand = scores["Conn"] * w["Conn"] + scores["Sust"] * w["Sust"]
    assert result.score.to_numpy() == pytest.approx(by_hand.to_numpy(), abs=1e-5)


def test_unequal_targets_tilt_the_correlations(asem_data):
    """COINr's own test: itarg c(1, 2) with toler 0.01 gives shares 0.33 and 0.67."""
    spec = parse_spec(
        asem_spec_yaml(
            {"Index": {"method": "optimised", "targets": {"Conn": 1, "Sust": 2}, "tolerance": 0.01}}
        ),
        "asem.yaml",
    )
    search = compute(spec, asem_data, id_column="uCode").weight_searches["Index"]
    shares = search.correlations / search.correlations.sum()
    assert np.round(shares, 2).tolist() == [0.33, 0.67]


def test_weighting_spec_errors_name_the_line():
    text = asem_spec_yaml({"Index": {"method": "optimised", "targets": {"Conn": 1, "Soc": 1}}})
    with pytest.raises(MarkerSpecError, match=r"asem\.yaml:\d+: .*weighting.*'Soc'.*Conn, Sust"):
        parse_spec(text, "asem.yaml")
    text = asem_spec_yaml({"Index": {"method": "optimised", "targets": {"Conn": 1}}})
    with pytest.raises(MarkerSpecError, match="no importance for 'Sust'"):
        parse_spec(text, "asem.yaml")
    with pytest.raises(MarkerSpecError, match="unknown method 'entropy'"):
        parse_spec(asem_spec_yaml({"Index": "entropy"}), "asem.yaml")


def test_weighting_survives_yaml_round_trip():
    spec = parse_spec(asem_spec_yaml({"Conn": "pca", "Index": "optimised"}), "asem.yaml")
    again = MarkerSpec.model_validate(spec.model_dump())
    assert again.hash == spec.hash
    assert [n.code for n in again.data_weighted_nodes()] == ["Conn", "Index"]
    written = spec.to_yaml()
    assert "method: pca" in written and "method: optimised" in written


def test_marker_compute_cli_says_which_weights_the_data_chose(asem_data, tmp_path, capsys):
    """End to end: a YAML spec with ``weighting: pca``, scored from a CSV by the CLI."""
    from inclusive_cities.cli import main

    spec_file = tmp_path / "asem.yaml"
    spec_file.write_text(asem_spec_yaml({"Sust": "pca"}), encoding="utf-8")
    out = tmp_path / "scores.csv"
    try:
        main(
            [
                "--lang", "en", "marker", "compute", "--spec", str(spec_file),
                "--data", str(REFERENCE / "ASEM_iData.csv"), "--id-column", "uCode",
                "--out", str(out),
            ]
        )  # fmt: skip
    except SystemExit as stop:
        assert not stop.code
    printed = " ".join(capsys.readouterr().out.split())
    assert "Sust: weights from the data (pca): Environ 0.6513, Social -0.7444, SusEcFin 0.1473" in (
        printed
    )
    written = pd.read_csv(out).set_index("uCode")
    pillars = written[["Environ", "Social", "SusEcFin"]]
    w = np.array([COINR_PCA_WEIGHTS[c] for c in pillars.columns])
    assert written["Sust"].to_numpy() == pytest.approx((pillars.to_numpy() @ w) / w.sum(), abs=2e-3)


def test_marker_show_names_the_weighting(tmp_path, capsys, monkeypatch):
    from inclusive_cities.cli import main
    from inclusive_cities.cli import marker as marker_cli

    monkeypatch.setattr(marker_cli.console, "width", 200)
    spec_file = tmp_path / "asem.yaml"
    spec_file.write_text(asem_spec_yaml({"Sust": "pca"}), encoding="utf-8")
    for language, expected in (
        ("en", "its parts weighted from the data (pca)"),
        ("es", "sus partes ponderadas a partir de los datos (pca)"),
    ):
        try:
            main(["--lang", language, "marker", "show", str(spec_file), "--no-indicators"])
        except SystemExit as stop:
            assert not stop.code
        printed = capsys.readouterr().out
        line = next(row for row in printed.splitlines() if "Sust Sustainability" in row)
        assert expected in line
        assert sum(expected in row for row in printed.splitlines()) == 1
