"""The table ``marker build`` scores is filled by position: it must be the long values
pivoted to one row per unit (all of the level's units, sorted by code) and one column per
indicator with a value (sorted), values borrowed from other levels included."""

from __future__ import annotations

import numpy as np
import pandas as pd

from inclusive_cities.marker.build import LevelRows, _wide


def test_wide_table_by_hand():
    # units (id, code) in store order, not code order; block "0010" has no value at all
    units = [(31, "0030"), (12, "0010"), (27, "0002"), (40, "0100")]
    # indicators read: "population" has no row, "crime" comes from the barrios
    rows = LevelRows(
        unit=np.array([0, 2, 3, 0, 2]),
        indicator=np.array([1, 1, 1, 0, 0]),
        value=np.array([55.5, -0.0, 999.0, 12.0, np.nan]),
        codes=np.array(["internet", "water", "population"], dtype=object),
    )
    borrowed = [
        pd.DataFrame(
            {"unit_code": ["0100", "0002"], "indicator": ["crime", "crime"], "value": [3.5, 1.0]}
        )
    ]
    wide, found = _wide(rows, borrowed, units)
    assert found == {"internet", "water", "crime"}
    assert list(wide.columns) == ["unit_code", "crime", "internet", "water"]
    assert wide.columns.name == "indicator"
    assert wide["unit_code"].tolist() == ["0002", "0010", "0030", "0100"]
    expected = [
        [1.0, np.nan, -0.0],
        [np.nan, np.nan, np.nan],
        [np.nan, 12.0, 55.5],
        [3.5, np.nan, 999.0],
    ]
    np.testing.assert_array_equal(wide[["crime", "internet", "water"]].to_numpy(), expected)
    # the same table as the long rows pivoted and reindexed to every unit
    long = pd.DataFrame(
        {
            "unit_code": pd.Series(["0030", "0002", "0100", "0030", "0002"], dtype="str"),
            "indicator": pd.Series(
                ["water", "water", "water", "internet", "internet"], dtype="str"
            ),
            "value": rows.value,
        }
    )
    pivoted = (
        pd.concat([long, *borrowed], ignore_index=True)
        .pivot(index="unit_code", columns="indicator", values="value")
        .reindex(sorted(code for _id, code in units))
        .rename_axis("unit_code")
        .reset_index()
    )
    pd.testing.assert_frame_equal(wide, pivoted, check_exact=True)
