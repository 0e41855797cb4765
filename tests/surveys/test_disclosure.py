"""Small cells are hidden, and what is hidden cannot be recovered from the margins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from inclusive_cities.surveys import SurveyError
from inclusive_cities.surveys.disclosure import publishable, suppress

T = "_T"


def _table(counts: dict[tuple[str, str], int]) -> pd.DataFrame:
    """Counts by sex × nationality with both margins and the grand total."""
    rows = [{"sex": s, "nationality": c, "n": v} for (s, c), v in counts.items()]
    frame = pd.DataFrame(rows)
    for s, group in frame.groupby("sex"):
        rows.append({"sex": s, "nationality": T, "n": int(group["n"].sum())})
    for c, group in frame.groupby("nationality"):
        rows.append({"sex": T, "nationality": c, "n": int(group["n"].sum())})
    rows.append({"sex": T, "nationality": T, "n": int(frame["n"].sum())})
    table = pd.DataFrame(rows)
    table["estimate"] = table["n"] * 1.5
    return table


def _bounds(published: pd.DataFrame, original: pd.DataFrame, row: int) -> tuple[float, float]:
    """An attacker's LP: min and max of a hidden cell given every published figure."""
    interior = original[(original["sex"] != T) & (original["nationality"] != T)].index.tolist()
    index = {r: k for k, r in enumerate(interior)}
    a_eq, b_eq = [], []
    for r in interior:  # published interior cells are known
        if published.at[r, "status"] != "suppressed":
            vec = np.zeros(len(interior))
            vec[index[r]] = 1
            a_eq.append(vec)
            b_eq.append(published.at[r, "n"])
    for r in original.index:  # published margins are sums of interior cells
        if r in index or published.at[r, "status"] == "suppressed":
            continue
        vec = np.zeros(len(interior))
        for c in interior:
            same_sex = original.at[r, "sex"] in (T, original.at[c, "sex"])
            same_nat = original.at[r, "nationality"] in (T, original.at[c, "nationality"])
            if same_sex and same_nat:
                vec[index[c]] = 1
        a_eq.append(vec)
        b_eq.append(published.at[r, "n"])
    target = np.zeros(len(interior))
    target[index[row]] = 1
    low = linprog(target, A_eq=a_eq, b_eq=b_eq, bounds=(0, None)).fun
    high = -linprog(-target, A_eq=a_eq, b_eq=b_eq, bounds=(0, None)).fun
    return low, high


def test_primary_and_secondary_suppression_cannot_be_undone():
    counts = {
        ("F", "VEN"): 40,
        ("F", "COL"): 25,
        ("F", "OTH"): 4,
        ("M", "VEN"): 38,
        ("M", "COL"): 30,
        ("M", "OTH"): 12,
    }
    original = _table(counts)
    published = suppress(original, ["sex", "nationality"], min_n=10)
    status = published.set_index(["sex", "nationality"])["suppression"]
    assert status[("F", "OTH")] == "primary"
    assert (published["suppression"] == "secondary").sum() >= 2
    hidden = published[published["status"] == "suppressed"]
    assert hidden["estimate"].isna().all() and hidden["n"].notna().all()
    assert not (published["estimate"] == 0).any()
    for row in hidden.index:
        if original.at[row, "sex"] == T or original.at[row, "nationality"] == T:
            continue
        low, high = _bounds(published, original, row)
        assert high - low > 1, f"cell {row} recoverable: [{low}, {high}]"
    # without secondary suppression the attacker recovers the small cell exactly
    only_primary = original.assign(status=np.where(original["n"] < 10, "suppressed", "estimated"))
    row = original[(original["sex"] == "F") & (original["nationality"] == "OTH")].index[0]
    low, high = _bounds(only_primary, original, row)
    assert low == pytest.approx(4) and high == pytest.approx(4)


def test_every_line_has_zero_or_several_hidden_cells():
    rng = np.random.default_rng(3)
    counts = {(s, c): int(rng.integers(0, 30)) for s in "FMX" for c in ("A", "B", "C", "D")}
    published = suppress(_table(counts), ["sex", "nationality"], min_n=10)
    for other in ("nationality", "sex"):
        for _key, group in published.groupby(other):
            hidden = (group["status"] == "suppressed").sum()
            assert hidden != 1


def test_publishable_refuses_microdata_and_tables_without_counts():
    with pytest.raises(SurveyError, match="respondent identifiers"):
        publishable(pd.DataFrame({"_index": [1], "n": [30], "estimate": [0.5]}))
    with pytest.raises(SurveyError, match="unweighted counts"):
        publishable(pd.DataFrame({"estimate": [0.5]}))
    out = publishable(pd.DataFrame({"n": [3, 30], "estimate": [0.2, 0.5]}), min_n=10)
    assert out["status"].tolist() == ["suppressed", "estimated"]
    assert np.isnan(out.loc[0, "estimate"]) and out.loc[1, "estimate"] == 0.5
    assert pd.isna(out.loc[0, "n"]) and out.loc[1, "n"] == 30
    crossed = publishable(
        _table({("F", "A"): 4, ("F", "B"): 30, ("M", "A"): 20, ("M", "B"): 25}),
        ["sex", "nationality"],
    )
    hidden = crossed[crossed["status"] == "suppressed"]
    assert len(hidden) >= 4 and hidden["n"].isna().all() and hidden["estimate"].isna().all()
    assert (crossed.loc[crossed["status"] != "suppressed", "n"] >= 10).all()
