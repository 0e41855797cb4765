"""``survey estimate --by`` lists domains whose codes are numbers in numeric order.

A plain table of responses keeps its codes as text (leading zeros matter), so domains 1..12
used to come out as 1, 10, 11, 12, 2, 3...; they must read 1, 2, 3, ..., 10, 11, 12, and the
answers' codes of a proportion likewise.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from .helpers import run


def test_numeric_codes_sort_as_numbers(tmp_path: Path) -> None:
    zones = [str(z) for z in (10, 2, 1, 12, 9, 11, 3, 2, 10, 1, 12, 3)]
    answers = ["10", "2", "2", "1", "10", "999", "1", "2", "10", "1", "2", "2"]
    weights = [1.5, 2.0, 3.0, 1.0, 2.5, 4.0, 2.0, 1.0, 3.5, 2.0, 1.0, 1.5]
    responses = tmp_path / "responses.csv"
    pd.DataFrame({"zona": zones, "peso": weights, "p5": answers}).to_csv(responses, index=False)
    design = tmp_path / "design.yaml"
    design.write_text("weight: peso\nmin_n: 1\n")
    out = tmp_path / "by_zone.csv"
    common = ["--lang", "en", "survey", "estimate", "--data", str(responses)]
    common += ["--design", str(design), "--missing", "999"]
    assert run(*common, "p5", "--statistic", "proportion", "--by", "zona", "--out", str(out)) == 0
    table = pd.read_csv(out, dtype={"zona": str, "category": str})
    # every zone, in numeric order, within each answer code (also in numeric order)
    assert table["category"].drop_duplicates().tolist() == ["1", "2", "10"]
    first = table[table["category"] == "1"]
    assert first["zona"].tolist() == ["1", "2", "3", "9", "10", "11", "12"]
    # zone 11 only answered 999 (no answer): listed, with nothing to show
    assert (first.loc[first["zona"] == "11", "status"] == "suppressed").all()
    # zone 2: weights 2.0 ("2") and 1.0 ("2") -> share of "2" is 1; zone 10: 1.5 "10", 3.5 "10"
    zone_two = table[(table["zona"] == "2") & (table["category"] == "2")]
    assert zone_two["estimate"].iloc[0] == pytest.approx(1.0)
    # zone 1: weights 3.0 ("2") and 2.0 ("1") -> share of "1" is 2/5
    zone_one = first[first["zona"] == "1"]
    assert zone_one["estimate"].iloc[0] == pytest.approx(2.0 / 5.0)
    # text codes keep their text order
    words = tmp_path / "words.csv"
    pd.DataFrame({"zona": ["b", "a10", "a2", "b"], "peso": [1.0] * 4, "y": [1, 2, 3, 4]}).to_csv(
        words, index=False
    )
    common[common.index(str(responses))] = str(words)
    assert run(*common, "y", "--by", "zona", "--out", str(out)) == 0
    assert pd.read_csv(out)["zona"].tolist() == ["a10", "a2", "b"]
