"""No-answer codes in a real-shaped HFS export (trial #4 F12): KoBo exports of household
surveys write 88 ("no sabe") and 99 ("no responde") in number questions. Read as numbers they
made households of 99 people and doubled the profile's population, with exit 0. A code that
repeats far outside every other answer is refused by name, with the flags that fix it.

The export is the demo's own KoBo round (``mobility generate --format kobo``) with 30
households of 88 and 30 of 99 people written in, as H5 built it by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from inclusive_cities.mobility.generate import write_rounds
from inclusive_cities.surveys.errors import SurveyError
from inclusive_cities.surveys.kobo import read_kobo


@pytest.fixture(scope="module")
def coded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("hfs")
    write_rounds(out, seed=3, fmt="kobo")
    clean = pd.read_excel(out / "hfs_R1.xlsx", engine="calamine")
    data = clean.copy()
    column = "grp_hogar/household_size"
    data[column] = data[column].astype(object)
    data.loc[data.index[:30], column] = 99
    data.loc[data.index[30:60], column] = 88
    path = out / "hfs_R1_codes.xlsx"
    data.to_excel(path, sheet_name="HFS", index=False)
    return out / "form_R1.xlsx", path, clean


def test_codes_far_outside_the_answers_are_refused_by_name(
    coded: tuple[Path, Path, pd.DataFrame],
) -> None:
    form, data, clean = coded
    top = int(clean["grp_hogar/household_size"].max())
    assert top < 44  # the codes are more than twice every real answer
    with pytest.raises(SurveyError) as refused:
        read_kobo(form, data)
    message = str(refused.value)
    assert "hfs_R1_codes.xlsx, sheet 'HFS', row 2, column 'household_size': value 99" in message
    assert "30 answers" in message and f"from 1 to {top}" in message
    assert "--missing 88 --missing 99" in message
    assert "\n" not in message


def test_declared_codes_are_no_answers_and_the_rest_is_the_truth(
    coded: tuple[Path, Path, pd.DataFrame],
) -> None:
    form, data, clean = coded
    result = read_kobo(form, data, missing=["88", "99"])
    sizes = result.tables["main"]["household_size"]
    assert sizes.isna().sum() == 60
    expected = clean["grp_hogar/household_size"].iloc[60:].astype(float)
    assert sizes.dropna().sum() == expected.sum()
    assert sizes.mean() == pytest.approx(expected.mean())


def test_an_upper_bound_in_the_form_admits_the_value(
    coded: tuple[Path, Path, pd.DataFrame], tmp_path: Path
) -> None:
    form, data, _clean = coded
    survey = pd.read_excel(form, sheet_name="survey", engine="calamine")
    choices = pd.read_excel(form, sheet_name="choices", engine="calamine")
    if "constraint" not in survey.columns:
        survey["constraint"] = ""
    survey["constraint"] = survey["constraint"].astype(object)
    survey.loc[survey["name"] == "household_size", "constraint"] = ". >= 1 and . <= 120"
    bounded = tmp_path / "form_bounded.xlsx"
    with pd.ExcelWriter(bounded, engine="openpyxl") as writer:
        survey.to_excel(writer, sheet_name="survey", index=False)
        choices.to_excel(writer, sheet_name="choices", index=False)
    result = read_kobo(bounded, data)  # the form says 99 people is an answer: a warning only
    assert (result.tables["main"]["household_size"] == 99).sum() == 30
    warned = result.issues[result.issues["column"] == "household_size"]
    assert {"88", "99"} <= set(warned["value"].astype(str))
