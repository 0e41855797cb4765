"""A report never prints a rank interval that leaves out the rank beside it.

Villa Prueba (tests/reports/conftest.py) ranks its barrios B1 1st ... B6 6th. Intervals ranked
among other units (withheld ones, an older run) can miss the report's rank: B2 is 2nd, and an
interval 5–11 beside it says nothing true about it. B3 (3rd) with 2–4 contains its rank.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from inclusive_cities.reports.data import load_city_data
from inclusive_cities.reports.markerdata import marker_view


def test_intervals_that_miss_the_rank_are_left_out(city_engine: Engine) -> None:
    data = load_city_data(city_engine, "TST", "2024")
    given = pd.DataFrame(
        {"code": ["B2", "B3", "B6"], "rank_p05": [5, 2, 1], "rank_p95": [11, 4, 5]}
    )
    view = marker_view(data, "en", given)
    assert view is not None and view.rank_low is not None and view.rank_high is not None
    by_code = {
        code: (low, high)
        for code, low, high in zip(view.units["code"], view.rank_low, view.rank_high, strict=True)
    }
    assert by_code["B3"] == (2, 4)
    assert all(pd.isna(v) for v in by_code["B2"])  # 2nd, not within 5–11
    assert all(pd.isna(v) for v in by_code["B6"])  # 6th, not within 1–5
    assert all(pd.isna(v) for v in by_code["B1"])  # no interval given
