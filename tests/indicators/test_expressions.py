"""The expression language: what it accepts, what it refuses, what it computes."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from inclusive_cities.indicators import (
    IndicatorError,
    catalogue_from_text,
    compile_expression,
    parse,
)

COLUMNS = {"age", "sex", "income", "rent", "insured"}


@pytest.fixture
def table() -> ibis.Table:
    return ibis.memtable(
        pd.DataFrame(
            {
                "age": [3, 17, 30, None],
                "sex": ["female", "male", None, "female"],
                "income": [100.0, 0.0, 50.0, 80.0],
                "rent": [10.0, 5.0, None, 20.0],
                "insured": pd.array([True, None, False, True], dtype="boolean"),
            }
        )
    )


CASES = [
    ("between(age, 5, 17)", [False, True, False, None]),
    ("sex == 'female' and age >= 18", [False, False, None, None]),
    ("sex in ['female', 'male']", [True, True, None, True]),
    ("sex not in ['male']", [True, False, None, True]),
    ("not insured", [False, None, True, False]),
    ("is_null(age) or age < 5", [True, False, False, True]),
    ("100 * rent / income", [10.0, None, None, 25.0]),
    ("coalesce(rent, 0) + 1", [11.0, 6.0, 1.0, 21.0]),
    ("18 <= age < 65", [False, False, True, None]),
    ("sex == None", [False, False, True, False]),
]


def test_expressions_compute_with_sql_null_rules(table) -> None:
    # one query for all cases (each case is a column), to keep the test fast
    columns = {
        f"c{i}": compile_expression(parse(text, COLUMNS, "test"), table)
        for i, (text, _expected) in enumerate(CASES)
    }
    result = table.select(**columns).execute()
    for i, (text, expected) in enumerate(CASES):
        got = [None if pd.isna(v) else v for v in result[f"c{i}"]]
        assert got == expected, text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("cars > 0", "uses the unknown column 'cars'"),
        ("__import__('os').system('ls')", "calls an unknown function"),
        ("age.__class__", "uses 'Attribute', which is not allowed"),
        ("lambda: 1", "uses 'Lambda', which is not allowed"),
        ("[x for x in age]", "uses 'ListComp', which is not allowed"),
        ("age ** 2", "uses 'Pow', which is not allowed"),
        ("sex in other", "uses 'in' without a literal list"),
        ("between(age, 1)", "calls between with the wrong arguments: it takes 3"),
        ("age >", "is not valid"),
        ("sex in [age]", "has a list with non-literal items"),
    ],
)
def test_bad_expressions_are_refused_with_one_line(text: str, fragment: str) -> None:
    with pytest.raises(IndicatorError) as error:
        parse(text, COLUMNS, "mine.yaml, indicator 'x'")
    message = str(error.value)
    assert message.startswith(f"mine.yaml, indicator 'x': expression '{text}' ")
    assert fragment in message and "\n" not in message


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        (
            "record: household\n    aggregation: share\n    numerator: internet",
            "'name' needs both 'es' and 'en' texts",
        ),
        (
            "record: household\n    name: {es: a, en: Crimes per 100,000 inhabitants}\n"
            "    aggregation: count",
            "'name' has a key '000 inhabitants' besides 'es' and 'en'",
        ),
        ("record: flat\n    name: {es: a, en: b}", "record 'flat' is not one of household"),
        (
            "record: person\n    name: {es: a, en: b}\n    aggregation: mode\n    value: age",
            "aggregation 'mode' is not one of share",
        ),
        (
            "record: person\n    name: {es: a, en: b}\n    aggregation: mean",
            "aggregation mean needs 'value'",
        ),
        (
            "record: household\n    name: {es: a, en: b}\n    aggregation: share\n"
            "    numerator: internet\n    disaggregations: [sex]",
            "disaggregations are only available for person records",
        ),
        (
            "record: facility\n    name: {es: a, en: b}\n    method: within\n"
            "    facility_types: [health]",
            "method within needs 'threshold_m'",
        ),
        (
            "record: person\n    name: {es: a, en: b}\n    aggregation: share\n"
            "    numerator: internet",
            "uses the unknown column 'internet'",
        ),
    ],
)
def test_bad_catalogue_entries(entry: str, fragment: str) -> None:
    with pytest.raises(IndicatorError) as error:
        catalogue_from_text(f"indicators:\n  mine:\n    {entry}\n", "mine.yaml")
    assert fragment in str(error.value)
    assert str(error.value).startswith("mine.yaml, indicator 'mine'")


def test_user_entries_add_and_replace_shipped_ones() -> None:
    catalogue = catalogue_from_text(
        "indicators:\n"
        "  internet:\n"
        "    record: household\n"
        "    name: {es: Internet fijo, en: Fixed internet}\n"
        "    aggregation: share\n"
        "    numerator: internet and electricity\n"
        "    denominator: not_null(internet)\n",
        shipped=True,
    )
    assert catalogue["internet"].numerator.text == "internet and electricity"
    # 35 uim-basic + 15 uim-extended indicators + 4 context counts (population, households,
    # Venezuelans) + 1 survey context figure (mean household income)
    assert "durable_housing" in catalogue and len(catalogue.indicators) == 55


def test_shipped_catalogue_covers_uim_basic() -> None:
    from inclusive_cities.indicators import load_catalogue

    catalogue = load_catalogue()
    expected = {
        "V_CAL": {"durable_housing", "overcrowding"},
        "V_SER": {"piped_water", "sewerage", "electricity", "refuse_collection", "internet"},
        "V_ASE": {"home_ownership", "rent_burden"},
        "S_PRO": {"dist_health_m", "pop_within_1km_health"},
        "S_AMB": {"green_area_m2_per_inhab", "pop_in_risk_zone"},
        "S_BIE": {"health_insurance", "life_expectancy_gap_years", "mig_health_affiliation"},
        "E_PRO": {"dist_school_m", "dist_library_m", "school_attendance_5_16"},
        "E_DIV": {"entropy_stratum", "entropy_nationality", "entropy_age"},
        "E_BIE": {
            "years_schooling_25plus",
            "schooling_gender_gap_years",
            "mig_school_attendance_female",
            "mig_school_attendance_male",
            "mig_secondary_complete_female",
            "mig_secondary_complete_male",
        },
        "EP_PRO": {"pop_within_400m_public_space", "public_space_m2_per_inhab"},
        "EP_VIT": {"land_use_mix", "intersection_density_per_km2", "pop_within_500m_transport"},
        "EP_SEG": {"crime_rate_per_100k"},
        "O_PRO": {"dist_commerce_m", "jobs_reachable"},
        "O_BIE": {
            "employment_rate",
            "unemployment_rate",
            "informal_employment",
            "neet_youth",
            "mig_employment_rate",
            "mig_informal_employment",
            "mig_income_below_minimum_wage",
        },
        # uim-extended's governance and participation area
        "G_PAR": {"participation_workshops", "community_organisation_membership"},
        "G_INS": {"migration_governance_score", "pop_within_2km_protection_centre"},
        "G_MIG": {"mig_regular_status", "mig_documentation", "mig_discrimination"},
        "": {
            "population",
            "venezuelan_population",
            "venezuelan_share",
            "households",
            "mig_household_income",
        },
    }
    got: dict[str, set[str]] = {}
    for spec in catalogue:
        got.setdefault(spec.dimension, set()).add(spec.code)
    assert got == expected
    lower = {s.code for s in catalogue if s.direction == "lower_is_better"}
    assert {"overcrowding", "rent_burden", "dist_health_m", "neet_youth"} <= lower
    assert "internet" not in lower


def test_shipped_names_keep_their_commas() -> None:
    from inclusive_cities.indicators import load_catalogue

    # an unquoted comma in {en: ...} used to cut the English name at "Crimes per 100"
    assert load_catalogue()["crime_rate_per_100k"].name_en == "Crimes per 100,000 inhabitants"
