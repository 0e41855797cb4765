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

from inclusive_cities.mobility import flows, summarise

DATA = Path(__file__).parent / "data"
VALUES = ["estimate", "se", "ci_low", "ci_high", "cv"]
# summing in another order moves the last bits only; a change of method moves far more
RELATIVE = 1e-9


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


@pytest.fixture(scope="module")
def summary(hfs: pd.DataFrame) -> pd.DataFrame:
    return summarise(hfs)


def test_every_summary_figure_is_unchanged(summary: pd.DataFrame) -> None:
    pinned = pd.read_csv(DATA / "hfs_figures_seed3.csv", keep_default_na=False, na_values=[""])
    assert len(summary) == len(pinned) == 780
    _compare(summary, pinned, ["round", "geography", "topic", "category"])
    # the pin covers suppression of both kinds and figures near the [0, 1] bounds
    assert pinned["suppressed"].sum() == 52
    assert (pinned["ci_low"] == 0).any()


def test_design_effects_are_unchanged(summary: pd.DataFrame) -> None:
    pinned = pd.read_csv(DATA / "hfs_figures_seed3.csv", keep_default_na=False, na_values=[""])
    ours = pd.to_numeric(summary["deff"]).to_numpy(float)
    theirs = pinned["deff"].to_numpy(float)
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    shown = ~np.isnan(theirs)
    np.testing.assert_allclose(ours[shown], theirs[shown], rtol=RELATIVE)


def test_flows_are_unchanged(hfs: pd.DataFrame) -> None:
    pinned = pd.read_csv(DATA / "hfs_flows_seed3.csv", keep_default_na=False, na_values=[""])
    got = pd.concat([flows(hfs), flows(hfs, round_code="R3", city="DEMO")], ignore_index=True).drop(
        columns=["deff"]
    )
    assert len(got) == len(pinned) == 66
    _compare(got, pinned, ["round", "geography", "origin", "destination"])
