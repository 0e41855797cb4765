"""Bad data gives one clear line naming the source, row, column and value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.marker import MarkerDataError, MarkerSpecError, compute


def test_missing_id_column(two_area_spec, small_table):
    with pytest.raises(MarkerDataError) as caught:
        compute(two_area_spec, small_table.rename(columns={"unit_code": "id"}), source="d.csv")
    assert str(caught.value).startswith("d.csv: there is no id column 'unit_code'")
    assert "--id-column" in str(caught.value)


def test_duplicate_ids_name_both_rows(two_area_spec, small_table):
    data = small_table.copy()
    data.loc[3, "unit_code"] = "u2"
    with pytest.raises(MarkerDataError) as caught:
        compute(two_area_spec, data, source="d.csv", first_row=2)
    message = str(caught.value)
    assert message == (
        "d.csv, column 'unit_code': the unit id 'u2' appears more than once (rows 3 and 5); "
        "keep one row per unit."
    )


def test_empty_id(two_area_spec, small_table):
    data = small_table.astype({"unit_code": object})
    data.loc[2, "unit_code"] = None
    with pytest.raises(MarkerDataError, match=r"row 3, column 'unit_code': the unit id is empty"):
        compute(two_area_spec, data)


def test_non_numeric_value_names_row_column_and_value(two_area_spec, small_table):
    data = small_table.astype({"a2": object})
    data.loc[2, "a2"] = "n/a?"
    with pytest.raises(MarkerDataError) as caught:
        compute(two_area_spec, data, source="d.csv", first_row=2)
    assert str(caught.value).startswith(
        "d.csv, row 4 (unit_code u3), column 'a2': 'n/a?' is not a number"
    )


def test_numbers_written_as_text_are_accepted(two_area_spec, small_table):
    data = small_table.astype({"a2": str})
    data.loc[1, "a2"] = ""
    data["a2"] = data["a2"].replace("", np.nan)
    result = compute(two_area_spec, data)
    assert result.raw.loc["u1", "a2"] == 30.0


def test_indicator_missing_from_data(two_area_spec, small_table):
    with pytest.raises(MarkerSpecError, match="uses indicator 'b1' but the data has no such"):
        compute(two_area_spec, small_table.drop(columns="b1"))
    result = compute(two_area_spec, small_table.drop(columns="b1"), missing_columns="ignore")
    assert result.scores["B"].isna().all()
    assert result.provenance.parameters["absent_indicators"] == ["b1"]


def test_negative_population(two_area_spec, small_table):
    data = small_table.assign(population=[1, -2, 3, 4])
    with pytest.raises(MarkerDataError, match="population cannot be negative"):
        compute(two_area_spec, data, population_column="population")


def test_missing_group_column(two_area_spec, small_table):
    spec = two_area_spec.with_overrides(imputation={"method": "group_mean", "group_column": "g"})
    data = small_table.copy()
    data.loc[0, "a1"] = np.nan
    with pytest.raises(MarkerDataError, match="group imputation needs the column 'g'"):
        compute(spec, data)


def test_results_frame_has_unit_order_of_input(two_area_spec, small_table):
    frame = compute(two_area_spec, small_table.iloc[[2, 0, 3, 1]]).to_frame()
    assert frame["unit_code"].tolist() == ["u3", "u1", "u4", "u2"]
    assert isinstance(frame, pd.DataFrame)
