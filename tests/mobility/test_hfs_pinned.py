"""The HFS figures pinned before the high-frequency survey moved onto ``surveys.estimate``.

``data/hfs_figures_seed3.csv`` and ``data/hfs_flows_seed3.csv`` were written at commit
80ca453 by mobility's own Taylor estimator (``mobility/estimate.py``, since deleted) on the
three synthetic rounds of ``write_rounds(seed=3)``, the ``hfs`` fixture: every figure of
``summarise`` (780 rows: three rounds, the nation and three cities) and the flows of all
rounds nationally and of R3 in DEMO. Whatever engine computes them, the published
figures (estimates, SEs, CIs, CVs, counts and suppression) must stay the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inclusive_cities.mobility import NATIONAL, flows

DATA = Path(__file__).parent / "data"
VALUES = ["estimate", "se", "ci_low", "ci_high", "cv"]
# summing in another order moves the last bits only; a change of method moves far more
RELATIVE = 1e-9
SINGLE_CHOICE = {"sex", "intention", "regular_status"}


def _compare(got: pd.DataFrame, pinned: pd.DataFrame, keys: list[str]) -> None:
    got = got.reset_index(drop=True)
    assert list(got[keys].astype(str).itertuples(index=False)) == list(
        pinned[keys].astype(str).itertuples(index=False)
    )
    assert got["n"].astype(int).tolist() == pinned["n"].astype(int).tolist()
    assert got["suppressed"].astype(bool).tolist() == pinned["suppressed"].astype(bool).tolist()
    for column in VALUES:
        ours = pd.to_numeric(got[column]).to_numpy(float)
        theirs = pinned[column].to_numpy(float)
        assert np.array_equal(np.isnan(ours), np.isnan(theirs)), column
        shown = ~np.isnan(theirs)
        np.testing.assert_allclose(
            ours[shown], theirs[shown], rtol=RELATIVE, atol=1e-12, err_msg=column
        )


def test_every_summary_figure_is_unchanged(summary: pd.DataFrame) -> None:
    pinned = pd.read_csv(DATA / "hfs_figures_seed3.csv", keep_default_na=False, na_values=[""])
    assert len(summary) == len(pinned) == 780
    _compare(summary, pinned, ["round", "geography", "topic", "category"])
    # the pin covers suppression of both kinds and figures near the [0, 1] bounds
    assert pinned["suppressed"].sum() == 52
    assert (pinned["ci_low"] == 0).any()


def _domains(hfs: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    out = {}
    for round_code, part in hfs.groupby("round"):
        out[(str(round_code), NATIONAL)] = part
        for city, in_city in part.groupby("city"):
            out[(str(round_code), str(city))] = in_city
    return out


def test_design_effects_follow_r_definition(hfs: pd.DataFrame, summary: pd.DataFrame) -> None:
    """The one figure that moved, on purpose: the design effect.

    mobility's own estimator compared a share's variance with p(1-p)/n (simple random
    sampling with replacement) and a mean's with the unweighted variance over n;
    ``surveys.estimate`` uses R's ``svymean(deff = TRUE)``: the weighted variance
    s2 = sum w (y - ybar)^2 / sum w * n/(n-1), over n, times (1 - n/N) with N = sum w.
    For a share s2 = p(1-p) n/(n-1), so each pinned deff moves by exactly
    (n-1)/n / (1 - n/N). Totals still have none.
    """
    pinned = pd.read_csv(DATA / "hfs_figures_seed3.csv", keep_default_na=False, na_values=[""])
    domains = _domains(hfs)
    sizes: dict[tuple[str, str, str], tuple[int, float]] = {}
    for (round_code, geography), part in domains.items():
        for topic in ["need", "pyramid", "transit", *SINGLE_CHOICE]:
            answered = part[part[topic].notna()] if topic in SINGLE_CHOICE else part
            sizes[(round_code, geography, topic)] = (len(answered), answered["weight"].sum())
    checked = 0
    for position, row in enumerate(summary.itertuples()):
        key = (row.round, row.geography, row.topic)
        if key not in sizes or pd.isna(pinned.at[position, "deff"]):
            continue
        n, population = sizes[key]
        assert row.n == n
        expected = pinned.at[position, "deff"] * (n - 1) / n / (1 - n / population)
        assert row.deff == pytest.approx(expected, rel=RELATIVE)
        checked += 1
    assert checked > 250
    means = summary[summary["topic"].isin(["household_size", "months_since_arrival"])]
    for row in means.itertuples():
        part = domains[(row.round, row.geography)]
        part = part[part[row.topic].notna()]
        w, y = part["weight"].to_numpy(), part[row.topic].to_numpy(float)
        n, population = len(part), w.sum()
        s2 = np.sum(w * (y - np.sum(w * y) / population) ** 2) / population * n / (n - 1)
        assert row.deff == pytest.approx(row.se**2 / (s2 / n * (1 - n / population)), rel=1e-9)
    totals = summary[summary["topic"].str.startswith("stock_")]
    assert totals["deff"].isna().all() and pinned.loc[totals.index, "deff"].isna().all()


def test_flows_are_unchanged(hfs: pd.DataFrame) -> None:
    pinned = pd.read_csv(DATA / "hfs_flows_seed3.csv", keep_default_na=False, na_values=[""])
    got = pd.concat([flows(hfs), flows(hfs, round_code="R3", city="DEMO")], ignore_index=True).drop(
        columns=["deff"]
    )
    assert len(got) == len(pinned) == 66
    hidden = got["suppressed"].astype(bool).to_numpy()
    assert got.loc[hidden, "n"].isna().all()  # a hidden cell's small n is not published
    got.loc[hidden, "n"] = pinned.loc[hidden, "n"].to_numpy()
    _compare(got, pinned, ["round", "geography", "origin", "destination"])
