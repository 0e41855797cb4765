"""Survey and programme tables (the ``surveys.disclosure.suppress`` gate): the sum of a line's
small hidden cells keeps its range, as the census's combined cells do.

The tables are respondents (or people) by sex x nationality with both margins. Every expected
interval is worked out with ``scipy.optimize.linprog`` on equations written from the table's
layout (``tests/surveys/test_disclosure._bounds`` generalised to a sum of cells), never read
from the code under test. On the gate that protected single cells only, both tables below
gave their migrants away: "at least 7 of B3's respondents are migrants" (truth 7) and "B3's
migrants are 4 to 29" (truth 9, which needs 0 .. 19).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from inclusive_cities.surveys.disclosure import suppress

T = "_T"
GROUPS = ("host", "venezuelan", "other_foreign")


def _table(counts: dict[str, tuple[int, int, int]]) -> pd.DataFrame:
    """Respondents by row (a block, a sex) x nationality, with both margins."""
    rows = [
        {"sex": r, "nationality": g, "n": c}
        for r, values in counts.items()
        for g, c in zip(GROUPS, values, strict=True)
    ]
    rows += [{"sex": r, "nationality": T, "n": sum(v)} for r, v in counts.items()]
    rows += [
        {"sex": T, "nationality": g, "n": sum(v[i] for v in counts.values())}
        for i, g in enumerate(GROUPS)
    ]
    rows.append({"sex": T, "nationality": T, "n": sum(sum(v) for v in counts.values())})
    table = pd.DataFrame(rows)
    table["estimate"] = 100.0 * table["n"] / (table["n"] + 3)  # any weighted figure
    return table


def _interval(original: pd.DataFrame, published: pd.DataFrame, rows: list[int]) -> tuple:
    """The attacker's min and max of the SUM of ``rows`` given every published count."""
    interior = original[(original["sex"] != T) & (original["nationality"] != T)].index.tolist()
    column = {r: i for i, r in enumerate(interior)}
    a_eq, b_eq = [], []
    for r in original.index:
        if published.at[r, "status"] == "suppressed":
            continue
        vector = np.zeros(len(interior))
        for c in interior:
            if original.at[r, "sex"] in (T, original.at[c, "sex"]) and original.at[
                r, "nationality"
            ] in (T, original.at[c, "nationality"]):
                vector[column[c]] = 1
        a_eq.append(vector)
        b_eq.append(float(original.at[r, "n"]))
    if not a_eq:
        return 0.0, float("inf")
    cost = np.zeros(len(interior))
    for r in rows:
        cost[column[r]] = 1
    low = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
    high = linprog(-cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
    assert low.status == 0
    return float(low.fun), float("inf") if high.status == 3 else float(-high.fun)


def _rows(table: pd.DataFrame, row: str, groups: tuple[str, ...]) -> list[int]:
    mask = (table["sex"] == row) & table["nationality"].isin(groups)
    return table[mask].index.tolist()


@pytest.mark.parametrize(
    "counts",
    [
        # by hand, old gate: host(B2) + host(B3) = 15 published, B3's 22 published, so
        # B3's migrants = 22 - host(B3) >= 7: exactly its 3 + 4
        {"B2": (0, 20, 59), "B3": (15, 3, 4)},
        # old gate: B3's 4 + 5 = 9 migrants narrowed to [4, 29]
        {"B2": (5, 12, 8), "B3": (59, 4, 5)},
    ],
)
def test_the_migrant_respondents_of_a_row_keep_their_range_as_a_sum(
    counts: dict[str, tuple[int, int, int]],
) -> None:
    original = _table(counts)
    published = suppress(original, ["sex", "nationality"], min_n=10)
    migrants = _rows(original, "B3", ("venezuelan", "other_foreign"))
    assert (published.loc[migrants, "status"] == "suppressed").all()
    total = int(original.loc[migrants, "n"].sum())
    assert 1 <= total < 10
    # a sum of 1..9 needs +- 10: the attacker can exclude neither 0 nor total + 10
    low, high = _interval(original, published, migrants)
    assert low <= 1e-6, (low, high)
    assert high >= total + 10 - 1e-6, (low, high)
    for row in migrants:  # and each cell keeps its own range
        low, high = _interval(original, published, [row])
        assert low <= 1e-6 and high >= original.at[row, "n"] + 10 - 1e-6
    # suppressed cells lose value and count nowhere but in ``n`` of the analyst's copy
    assert published.loc[published["status"] == "suppressed", "estimate"].isna().all()


def test_a_table_without_a_small_sum_is_suppressed_as_before() -> None:
    """B3's migrants are 3 + 12 = 15: no combined cell, so nothing beyond the single cells'
    protection (the same rows as a gate without sums would hide, worked out by hand: the 3,
    and the line rule's and range's partners)."""
    original = _table({"B2": (40, 30, 25), "B3": (59, 3, 12)})
    published = suppress(original, ["sex", "nationality"], min_n=10)
    (small,) = _rows(original, "B3", ("venezuelan",))
    assert published.at[small, "suppression"] == "primary"
    low, high = _interval(original, published, [small])
    assert low <= 1e-6 and high >= 3 + 10 - 1e-6
    # cheapest protection: one 2 x 2 rectangle around the 3 (no margin hidden)
    hidden = published[published["status"] == "suppressed"]
    assert len(hidden) == 4
    assert not ((hidden["sex"] == T) | (hidden["nationality"] == T)).any()
