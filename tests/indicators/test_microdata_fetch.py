"""The census aggregation's rows fetched as Arrow and summed up the hierarchy (#21): records
of units the city does not have are left out, children without a parent are dropped, and
nullable sums stay exact, against sums made by hand."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from inclusive_cities.indicators.microdata import fetch_parts, sum_parts


def records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_code": ["0101", "0101", "0102", "0201", "9999", "0102"],
            "sex": ["f", "m", "f", "m", "f", None],
            "years": [3, None, 5, 7, 11, None],
        }
    )


def test_fetch_parts_keeps_the_given_units_and_exact_nullable_sums() -> None:
    table = ibis.memtable(records())
    parts = table.group_by("unit_code").aggregate(years=table.years.sum(), n=table.count())
    fetched = fetch_parts(parts, pd.Index(["0101", "0102", "0201", "0301"]))
    found = fetched.sort_values("unit_code").reset_index(drop=True)
    assert found["unit_code"].tolist() == ["0101", "0102", "0201"]  # 9999 left out
    assert found["years"].tolist() == [3.0, 5.0, 7.0]
    assert found["n"].tolist() == [2, 2, 1]
    # without units every row comes back
    assert sorted(fetch_parts(parts)["unit_code"]) == ["0101", "0102", "0201", "9999"]


def test_fetch_parts_matches_integer_unit_codes_as_text() -> None:
    table = ibis.memtable(pd.DataFrame({"unit_code": [11, 11, 12], "x": [1, 2, 3]}))
    parts = table.group_by("unit_code").aggregate(x=table.x.sum())
    found = fetch_parts(parts, ["11"])
    assert found["unit_code"].tolist() == [11] and found["x"].tolist() == [3]


def test_sum_parts_adds_children_by_parent_and_group() -> None:
    parts = pd.DataFrame(
        {
            "unit_code": pd.array(["0101", "0102", "0101", "0201", "0999"], dtype="str"),
            "group": pd.array(["f", "f", "m", "m", "f"], dtype="str"),
            "a__num": [1.0, 2.0, np.nan, 4.0, 100.0],
            "a__median": [9.0, 9.0, 9.0, 9.0, 9.0],
        }
    )
    parent_of = {"0101": "01", "0102": "01", "0201": "02"}  # 0999 has no parent
    summed = sum_parts(parts, parent_of, ["a__num", "a__median"])
    assert list(summed.columns) == ["unit_code", "group", "a__num"]  # medians excluded
    rows = {(u, g): v for u, g, v in summed.itertuples(index=False)}
    assert set(rows) == {("01", "f"), ("01", "m"), ("02", "m")}
    assert rows[("01", "f")] == 3.0
    assert np.isnan(rows[("01", "m")])  # only missing parts: missing, not 0
    assert rows[("02", "m")] == 4.0
