"""Census rows add up to the generated totals, use only the layout's codes and link together."""

from __future__ import annotations

import pandas as pd
import pyogrio

from inclusive_cities.demo import GeneratedCity

# Allowed raw values per column of docs/data-formats/demo-city.md ("" = empty cell).
HOUSEHOLD_CODES = {
    "V_PARED": {1, 2, 3, 4, 5, 6},
    "V_PISO": {1, 2, 3, 4, 5, 6},
    "V_ACUEDUCTO": {1, 2},
    "V_ALCANTARILLADO": {1, 2},
    "V_ENERGIA": {1, 2},
    "V_BASURA": {1, 2},
    "H_INTERNET": {1, 2, 9},
    "H_TENENCIA": {1, 2, 3},
    "V_ESTRATO": {1, 2, 3, 4, 5, 6},
}
PERSON_CODES = {
    "P_SEXO": {1, 2},
    "P_NACIONALIDAD": {1, 2, 3},
    "P_ASISTE": {1, 2},
    "P_SALUD": {1, 2, 9},
    "P_TRABAJO": {1, 2, 3},
    "P_INFORMAL": {1, 2},
    "P_DISCAP": {1, 2},
}


def test_row_counts_equal_the_generated_totals(
    small_city: GeneratedCity, households: pd.DataFrame, persons: pd.DataFrame
) -> None:
    assert len(households) == small_city.households
    assert len(persons) == small_city.persons
    assert households["H_PERSONAS"].sum() == small_city.persons
    assert (persons["P_NACIONALIDAD"] == 2).sum() == small_city.venezuelans
    assert households["H_INGRESO"].sum() == small_city.income_total
    assert 15_000 < small_city.persons < 25_000  # "small" is about 20k people


def test_per_block_counts_equal_the_generated_ones(
    small_city: GeneratedCity, households: pd.DataFrame, persons: pd.DataFrame
) -> None:
    per_block = persons.groupby("COD_MANZANA").size()
    expected = {code: n for code, n in small_city.persons_by_block.items() if n}
    assert per_block.to_dict() == expected
    hh_block = households.groupby("COD_MANZANA").size()
    assert hh_block.to_dict() == {c: n for c, n in small_city.households_by_block.items() if n}


def test_rows_link_blocks_households_and_persons(
    small_city: GeneratedCity, households: pd.DataFrame, persons: pd.DataFrame
) -> None:
    blocks = set(pyogrio.read_dataframe(small_city.files["boundaries"], layer="manzana")["codigo"])
    assert set(households["COD_MANZANA"]) <= blocks
    assert households["ID_HOGAR"].is_unique
    assert persons["ID_PERSONA"].is_unique
    assert set(persons["ID_HOGAR"]) == set(households["ID_HOGAR"])
    sizes = persons.groupby("ID_HOGAR").size()
    assert (sizes == households.set_index("ID_HOGAR")["H_PERSONAS"].reindex(sizes.index)).all()
    assert (persons["ID_PERSONA"].str[:8] == persons["ID_HOGAR"]).all()
    block_of_household = households.set_index("ID_HOGAR")["COD_MANZANA"]
    assert (persons["COD_MANZANA"] == block_of_household.reindex(persons["ID_HOGAR"]).values).all()
    assert households["ID_HOGAR"].str.fullmatch(r"\d{8}").all()
    assert households["COD_MANZANA"].is_monotonic_increasing  # sorted by block, as documented
    assert households["ID_HOGAR"].str.startswith("0").all()


def test_coded_columns_use_only_the_layout_codes(
    households: pd.DataFrame, persons: pd.DataFrame
) -> None:
    for frame, codes in ((households, HOUSEHOLD_CODES), (persons, PERSON_CODES)):
        for column, allowed in codes.items():
            values = set(frame[column].dropna().astype(int))
            assert values <= allowed, (column, values - allowed)
            assert len(values) >= 2, column
    assert (persons["P_SALUD"] == 9).any()  # a few "no sabe", like a real extract


def test_numeric_columns_are_in_range(households: pd.DataFrame, persons: pd.DataFrame) -> None:
    assert households["H_PERSONAS"].between(1, 10).all()
    assert households["H_PERSONAS"].max() >= 8
    assert households["H_DORMITORIOS"].dropna().between(0, 8).all()
    assert households["H_INGRESO"].dropna().between(0, 1e10).all()
    assert persons["P_EDAD"].between(0, 110).all()
    assert persons["P_ANOS_ESTUDIO"].dropna().between(0, 25).all()


def test_empty_cells_follow_the_questionnaire(
    households: pd.DataFrame, persons: pd.DataFrame
) -> None:
    renter = households["H_TENENCIA"] == 2
    assert households.loc[~renter, "H_ARRIENDO"].isna().all()
    assert households.loc[renter, "H_ARRIENDO"].notna().mean() > 0.9
    assert households["H_INGRESO"].isna().any()  # some households do not declare income
    under_15 = persons["P_EDAD"] < 15
    assert persons.loc[under_15, "P_TRABAJO"].isna().all()
    assert persons.loc[~under_15, "P_TRABAJO"].notna().all()
    employed = persons["P_TRABAJO"] == 1
    assert persons.loc[~employed, "P_INFORMAL"].isna().all()
    assert persons.loc[employed, "P_INFORMAL"].notna().all()
    for column in ("COD_MANZANA", "ID_HOGAR", "ID_PERSONA", "P_SEXO", "P_EDAD"):
        assert persons[column].notna().all(), column


def test_household_heads_are_adults(persons: pd.DataFrame) -> None:
    heads = persons[persons["ID_PERSONA"].str.endswith("01")]
    assert heads["P_EDAD"].min() >= 18
