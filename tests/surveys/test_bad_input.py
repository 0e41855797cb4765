"""Bad designs and data are refused with one clear line naming what to fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.surveys import Design, SurveyError, estimate, load_design


def _one_psu_data() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stratum": ["a", "a", "a", "a", "b", "b"],
            "psu": [1, 1, 2, 2, 3, 3],
            "y": [1.0, 2.0, 3.0, 5.0, 4.0, 8.0],
            "w": [2.0, 2.0, 2.0, 2.0, 3.0, 3.0],
        }
    )


def test_weights_zero_negative_or_missing_are_named_by_row():
    data = _one_psu_data()
    data.loc[3, "w"] = 0
    with pytest.raises(SurveyError, match=r"zero or negative weights in rows 3"):
        estimate(data, Design(weight="w"), "y")
    data.loc[3, "w"] = np.nan
    with pytest.raises(SurveyError, match=r"missing or not a number in rows 3"):
        estimate(data, Design(weight="w"), "y")


def test_missing_design_column():
    with pytest.raises(SurveyError, match="does not have: peso"):
        estimate(_one_psu_data(), Design(weight="peso"), "y")


def test_lonely_psu_options_like_r():
    data = _one_psu_data()
    base = dict(weight="w", strata="stratum", psu="psu")
    with pytest.raises(SurveyError, match=r"single PSU: b\..*lonely_psu"):
        estimate(data, Design(**base), "y", "total")
    removed = estimate(data, Design(**base, lonely_psu="remove"), "y", "total").iloc[0]
    certain = estimate(data, Design(**base, lonely_psu="certainty"), "y", "total").iloc[0]
    # Stratum a alone: PSU totals 2*(1+2)=6 and 2*(3+5)=16 -> 2/(2-1)*((6-11)^2+(16-11)^2)
    assert removed.se == pytest.approx(np.sqrt(100.0))
    assert certain.se == pytest.approx(removed.se)
    adjusted = estimate(data, Design(**base, lonely_psu="adjust"), "y", "total").iloc[0]
    # b's single PSU total 36, centred on the grand mean of PSU totals (6+16+36)/3
    grand = (6 + 16 + 36) / 3
    assert adjusted.se == pytest.approx(np.sqrt(100.0 + (36 - grand) ** 2))


def test_unknown_statistic_and_non_numeric_variable():
    data = _one_psu_data().assign(label=["x"] * 6)
    with pytest.raises(SurveyError, match="Unknown statistic"):
        estimate(data, Design(weight="w"), "y", "median")  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match="not numeric"):
        estimate(data, Design(weight="w"), "label")


def test_design_yaml(tmp_path):
    path = tmp_path / "design.yaml"
    path.write_text("weight: w\nstrata: stratum\npsu: psu\nlonely_psu: adjust\n")
    assert load_design(path).lonely_psu == "adjust"
    path.write_text("weight: w\nlonely_psu: sometimes\n")
    with pytest.raises(SurveyError, match="line 2, key 'lonely_psu': 'sometimes' is not one of"):
        load_design(path)
    path.write_text("replicate_weights: [r1]\n")
    with pytest.raises(SurveyError, match="replicate_method"):
        load_design(path)
