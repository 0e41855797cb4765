"""Rights gaps follow the indicator's direction; a neutral figure has no disadvantage."""

from __future__ import annotations

import pandas as pd
import pytest

from inclusive_cities.reports.rights import gaps
from inclusive_cities.store.models import TOTAL


def _observations() -> pd.DataFrame:
    rows = []
    for code in ("durable_housing", "overcrowding", "health_insurance"):
        for nationality, value in (("host", 80.0), ("venezuelan", 60.0)):
            rows.append(
                {
                    "indicator": code,
                    "unit_id": 1,
                    "sex": TOTAL,
                    "age_group": TOTAL,
                    "nationality": nationality,
                    "status": "computed",
                    "value": value,
                    "n": 10,
                    "source": "",
                }
            )
    return pd.DataFrame(rows)


def test_neutral_indicator_gets_no_disadvantage_and_ranked_ones_keep_their_sign() -> None:
    units = pd.DataFrame({"unit_id": [1], "depth": [0]})
    indicators = pd.DataFrame(
        {
            "code": ["durable_housing", "overcrowding", "health_insurance"],
            "unit": ["%", "%", "%"],
            "direction": ["higher_is_better", "lower_is_better", "neutral"],
            "source": ["", "", ""],
        }
    )
    found = gaps(_observations(), units, indicators).set_index("indicator")
    # host 80, migrants 60: higher is better → 20 points behind; lower is better → 20 ahead
    assert found.loc["durable_housing", "disadvantage"] == pytest.approx(20.0)
    assert found.loc["overcrowding", "disadvantage"] == pytest.approx(-20.0)
    assert "health_insurance" not in found.index
