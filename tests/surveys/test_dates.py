"""Dates typed by hand in a KoBo export are read day first, whatever the first row says
(trial #4 F15: pandas guessed the order from the first value, so the same round imported or
failed depending on the order of its rows, and all-ambiguous days would have been read month
first without a word)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from inclusive_cities.mobility.generate import write_rounds
from inclusive_cities.surveys.dates import read_dates
from inclusive_cities.surveys.kobo import read_kobo


def test_day_first_whatever_comes_first() -> None:
    for order in (["02/03/2021", "29/02/2020"], ["29/02/2020", "02/03/2021"]):
        read = read_dates(pd.Series(order))
        assert dict(zip(order, read.dt.strftime("%Y-%m-%d"), strict=True)) == {
            "02/03/2021": "2021-03-02",
            "29/02/2020": "2020-02-29",
        }
    same = read_dates(pd.Series(["2020-02-29", "2020-02-29 00:00:00", "29.02.2020", "29-2-2020"]))
    assert same.dt.strftime("%Y-%m-%d").tolist() == ["2020-02-29"] * 4
    assert read_dates(pd.Series(["02/29/2020", "ayer", None])).isna().all()  # month first: no


def test_a_round_of_hand_typed_dates_imports_as_the_truth(tmp_path: Path) -> None:
    write_rounds(tmp_path, seed=5, fmt="kobo")
    clean = pd.read_excel(tmp_path / "hfs_R1.xlsx", engine="calamine", dtype=str)
    truth = pd.to_datetime(clean["grp_hogar/arrival_date"].str[:10], format="%Y-%m-%d")
    typed = clean.copy()
    typed["grp_hogar/arrival_date"] = truth.dt.strftime("%d/%m/%Y")
    # the first row's day is 12 or less, so a guess from it would read month first
    first = int((truth.dt.day <= 12).to_numpy().argmax())
    typed = pd.concat([typed.iloc[[first]], typed.drop(index=typed.index[first])])
    path = tmp_path / "hfs_R1_typed.xlsx"
    typed.to_excel(path, sheet_name="HFS", index=False)
    result = read_kobo(tmp_path / "form_R1.xlsx", path)
    assert not (result.issues["column"] == "arrival_date").any()
    read = result.tables["main"]["arrival_date"].tolist()
    expected = pd.concat([truth.iloc[[first]], truth.drop(index=truth.index[first])])
    assert read == expected.dt.strftime("%Y-%m-%d").tolist()
