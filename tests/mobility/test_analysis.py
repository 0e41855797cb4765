"""Per-round figures, suppression, trends and flows on the synthetic rounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.cli import main
from inclusive_cities.mobility import NATIONAL, flows, summarise, trends


def _figure(
    summary: pd.DataFrame, round_code: str, geography: str, topic: str, category: str
) -> pd.Series:
    part = summary[
        (summary["round"] == round_code)
        & (summary["geography"] == geography)
        & (summary["topic"] == topic)
        & (summary["category"] == category)
    ]
    assert len(part) == 1
    return part.iloc[0]


def test_point_estimates_equal_weighted_shares(hfs: pd.DataFrame, summary: pd.DataFrame) -> None:
    part = hfs[(hfs["round"] == "R2") & (hfs["city"] == "DEMO")]
    share = part.loc[part["regular_status"] == "regular", "weight"].sum() / part["weight"].sum()
    assert _figure(summary, "R2", "DEMO", "regular_status", "regular")["estimate"] == (
        pytest.approx(share)
    )
    r1 = hfs[hfs["round"] == "R1"]
    persons = (r1["weight"] * r1["household_size"]).sum()
    assert _figure(summary, "R1", NATIONAL, "stock_persons", "total")["estimate"] == (
        pytest.approx(persons)
    )
    food = part.loc[part["needs"].str.contains("food"), "weight"].sum() / part["weight"].sum()
    assert _figure(summary, "R2", "DEMO", "need", "food")["estimate"] == pytest.approx(food)


def test_cells_below_ten_are_suppressed_with_a_secondary_cell(hfs: pd.DataFrame) -> None:
    data = hfs[hfs["round"] == "R1"].copy()
    # leave exactly 5 respondents who want to return in the whole round
    returners = data.index[data["intention"] == "return"]
    data.loc[returners[5:], "intention"] = "stay"
    table = summarise(data, geographies=[NATIONAL])
    intention = table[table["topic"] == "intention"].set_index("category")
    assert intention.loc["return", "suppressed"] and intention.loc["return", "n"] == len(data)
    # with one cell hidden, the smallest other cell is hidden too (no recovery by subtraction)
    assert intention.loc["move_on", "suppressed"]
    assert not intention.loc["stay", "suppressed"]
    assert pd.isna(intention.loc["return", "estimate"])


def test_trends_test_the_change_between_rounds(summary: pd.DataFrame) -> None:
    table = trends(summary, "DEMO")
    regular = table[(table["topic"] == "regular_status") & (table["category"] == "regular")]
    assert list(regular["round"]) == ["R1", "R2", "R3"]
    r1 = _figure(summary, "R1", "DEMO", "regular_status", "regular")
    r3 = _figure(summary, "R3", "DEMO", "regular_status", "regular")
    assert r3["estimate"] > r1["estimate"]  # the generator raises regular status over rounds
    r2 = _figure(summary, "R2", "DEMO", "regular_status", "regular")
    expected = r3["estimate"] - r2["estimate"]
    assert regular.iloc[2]["change"] == pytest.approx(expected)
    z = expected / np.hypot(r2["se"], r3["se"])
    from scipy import stats

    assert regular.iloc[2]["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert pd.isna(regular.iloc[0]["change"])


def test_flows_add_up_to_the_households(hfs: pd.DataFrame) -> None:
    table = flows(hfs, round_code="R3", city="DEMO", min_n=1)
    part = hfs[(hfs["round"] == "R3") & (hfs["city"] == "DEMO")]
    assert table["estimate"].sum() == pytest.approx(part["weight"].sum())
    stayers = table[(table["origin"] == "VEN") & (table["destination"] == "DEMO")]
    expected = part.loc[
        (part["origin_country"] == "VEN") & (part["intention"] == "stay"), "weight"
    ].sum()
    assert stayers["estimate"].iloc[0] == pytest.approx(expected)
    # a total of households has no design effect to print (the annex read "inf": F19)
    assert table["deff"].isna().all()
    suppressed = flows(hfs, round_code="R3", city="DEMO")
    hidden = suppressed[suppressed["suppressed"]]
    assert len(hidden) > 1
    # the hidden cells' own n is the small count suppression hides (trial F12: 'n = 1'
    # beside a blank estimate, and estimate / n of the others gave the estimate back)
    assert hidden["n"].isna().all() and hidden["estimate"].isna().all()
    counts = table.set_index(["origin", "destination"])["n"]
    assert (counts.loc[list(zip(hidden["origin"], hidden["destination"], strict=True))] < 10).all()


def test_cli(hfs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "trends.csv"
    main(
        [
            "--lang",
            "en",
            "mobility",
            "trends",
            "--mapping",
            str(hfs_dir / "mapping.yaml"),
            "--city",
            "DEMO",
            "--topic",
            "intention",
            "--out",
            str(out),
        ]
    )
    assert "Trend of Intention in the next 6 months: DEMO" in capsys.readouterr().out
    assert {"change", "p_value"} <= set(pd.read_csv(out).columns)
    with pytest.raises(SystemExit) as stop:
        main(
            [
                "--lang",
                "en",
                "mobility",
                "summary",
                "--mapping",
                str(hfs_dir / "mapping.yaml"),
                "--city",
                "NOWHERE",
            ]
        )
    assert stop.value.code == 1
    assert "No survey responses for city 'NOWHERE'" in capsys.readouterr().err


def test_one_hidden_flow_takes_a_second_with_it() -> None:
    """With one flow hidden, it would be the domain's total less the others: the smallest
    other flow is hidden too (by hand: 30, 20 and 12 households shown, 4 hidden)."""
    from inclusive_cities.mobility.analysis import VALUES, hide_a_second

    table = pd.DataFrame(
        {
            "origin": ["VEN", "VEN", "COL", "HTI"],
            **{v: [60.0, 40.0, 24.0, None] for v in VALUES},
            "n": [30, 20, 12, None],
            "suppressed": [False, False, False, True],
        }
    )
    out = hide_a_second(table)
    assert out["suppressed"].tolist() == [False, False, True, True]
    assert out["n"].isna().tolist() == [False, False, True, True]
    assert out["estimate"].isna().tolist() == [False, False, True, True]
    two = hide_a_second(out)  # two hidden already: nothing more to hide
    assert two["suppressed"].tolist() == [False, False, True, True]
