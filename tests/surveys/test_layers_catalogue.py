"""Survey layers come from the catalogue's survey entries; values checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from inclusive_cities.indicators import catalogue_from_text, load_catalogue
from inclusive_cities.store.models import TOTAL
from inclusive_cities.surveys import Design, SurveyError
from inclusive_cities.surveys.layers import compute_layer, missing_questions, survey_indicators

CATALOGUE = """
survey_variables:
  persons: {edad: integer, sexo: select_one, trabaja: select_one}
  households: {ingreso: integer}
indicators:
  employed:
    record: survey
    name: {es: Ocupación, en: Employment}
    table: persons
    statistic: share
    condition: trabaja == 'si'
    among: between(edad, 15, 64)
    disaggregations: [sex]
  income:
    record: survey
    name: {es: Ingreso, en: Income}
    table: households
    statistic: mean
    value: ingreso
    among: ingreso > 0
"""

# unit, weight, age, sex, works. Rows marked x are outside the population or unanswered.
PERSONS = [
    ("A", 10, 30, "F", "si"),
    ("A", 40, 41, "F", "si"),
    ("A", 15, 52, "F", "no"),
    ("A", 20, 33, "M", "no"),
    ("A", 25, 19, "M", "si"),
    ("A", 30, 12, "F", None),  # x: too young, not asked
    ("A", 5, 25, "M", None),  # x: did not answer
    ("A", 50, 70, "F", "si"),  # x: older than 64
    ("A", 100, None, "F", "si"),  # x: age unknown, so not in the population
    ("B", 10, 22, "F", "no"),
    ("B", 30, 28, "F", "si"),
    ("B", 30, 35, "M", "si"),
    ("B", 10, 60, "M", "no"),
    ("B", 20, 45, "M", "si"),
    ("B", 8, 80, "M", "si"),  # x: older than 64
]


def _persons() -> pd.DataFrame:
    frame = pd.DataFrame(PERSONS, columns=["unit_code", "w", "edad", "sexo", "trabaja"])
    frame["trabaja"] = frame["trabaja"].astype("string")
    return frame


def _layer(spec_code: str, frames: dict, min_n: int = 1) -> pd.DataFrame:
    spec = catalogue_from_text(CATALOGUE)[spec_code]
    return compute_layer(
        frames, Design(weight="w"), spec, ["A", "B"], {"A": "A", "B": "B"}, min_n
    ).set_index(["unit", "sex"])


def test_weighted_share_by_unit_and_sex_equals_the_hand_computation() -> None:
    table = _layer("employed", {"persons": _persons()})
    # weights of those who work / weights of everyone aged 15-64 who answered
    expected = {
        ("A", TOTAL): (100 * (10 + 40 + 25) / (10 + 40 + 15 + 20 + 25), 5),
        ("A", "F"): (100 * (10 + 40) / (10 + 40 + 15), 3),
        ("A", "M"): (100 * 25 / (20 + 25), 2),
        ("B", TOTAL): (100 * (30 + 30 + 20) / (10 + 30 + 30 + 10 + 20), 5),
        ("B", "F"): (100 * 30 / (10 + 30), 2),
        ("B", "M"): (100 * (30 + 20) / (30 + 10 + 20), 3),
    }
    assert set(table.index) == set(expected)
    for cell, (value, n) in expected.items():
        assert table.loc[cell, "estimate"] == pytest.approx(value), cell
        assert table.loc[cell, "n"] == n, cell
        assert table.loc[cell, "status"] == "estimated"
        assert table.loc[cell, "ci_low"] < value < table.loc[cell, "ci_high"]


def test_weighted_mean_of_households() -> None:
    households = pd.DataFrame(
        {
            "unit_code": ["A", "A", "A", "B", "B"],
            "w": [1.0, 3.0, 2.0, 5.0, 5.0],
            "ingreso": [1000, 2000, 0, 500, 1500],  # 0 is outside `ingreso > 0`
        }
    )
    table = _layer("income", {"households": households})
    assert list(table.index.get_level_values("sex").unique()) == [TOTAL]
    assert table.loc[("A", TOTAL), "estimate"] == pytest.approx((1000 + 3 * 2000) / 4)
    assert table.loc[("B", TOTAL), "estimate"] == pytest.approx(1000)


def test_min_denominator_raises_the_design_threshold_but_never_lowers_it() -> None:
    spec = catalogue_from_text(
        CATALOGUE.replace("disaggregations", "min_denominator: 3\n    disaggregations")
    )["employed"]
    frames = {"persons": _persons()}
    units = {"A": "A", "B": "B"}
    table = compute_layer(frames, Design(weight="w"), spec, ["A", "B"], units, 1)
    table = table.set_index(["unit", "sex"])
    # n = 2 cells fall below the entry's 3; every published cell has n >= 3
    assert table.loc[("A", "M"), "status"] == "suppressed"
    assert table.loc[("B", "F"), "status"] == "suppressed"
    published = table[table["status"] == "estimated"]
    assert not published.empty and (published["n"] >= 3).all()
    # a design threshold of 6 wins over the entry's 3: nothing (n <= 5) is published
    strict = compute_layer(frames, Design(weight="w"), spec, ["A", "B"], units, 6)
    assert (strict["status"] == "suppressed").all() and strict["estimate"].isna().all()


def test_missing_questions_are_named_and_not_guessed() -> None:
    spec = catalogue_from_text(CATALOGUE)["employed"]
    frames = {"persons": _persons().drop(columns=["trabaja"])}
    assert missing_questions(spec, frames) == "the survey has no question 'trabaja'"
    assert missing_questions(spec, {}) == "the survey has no persons table"
    with pytest.raises(SurveyError, match="employed cannot be estimated: the survey has no"):
        compute_layer(frames, Design(weight="w"), spec, ["A"], {"A": "A"}, 1)


def test_survey_indicators_come_from_the_catalogue() -> None:
    shipped = survey_indicators()
    codes = [spec.code for spec in shipped]
    assert codes == [spec.code for spec in load_catalogue() if spec.record == "survey"]
    assert "mig_health_affiliation" in codes and not any(c.startswith("svy_") for c in codes)
    picked = survey_indicators(codes=["mig_documentation", "mig_regular_status"])
    assert [spec.code for spec in picked] == ["mig_documentation", "mig_regular_status"]
    with pytest.raises(SurveyError, match="'population' is not a survey indicator"):
        survey_indicators(codes=["population"])


def test_user_survey_entry_in_yaml_runs_through_the_cli(tmp_path, capsys) -> None:
    from sqlalchemy import select

    from inclusive_cities.cli import main
    from inclusive_cities.store import models, transaction
    from inclusive_cities.surveys import estimate, load_design
    from inclusive_cities.surveys.demo_survey import generate_demo_survey
    from inclusive_cities.surveys.kobo import locate, read_kobo
    from inclusive_cities.surveys.layers import analysis_tables
    from inclusive_cities.surveys.storage import load_survey, store_survey

    from .helpers import tiny_boundaries, tiny_store

    boundaries = tiny_boundaries(tmp_path / "boundaries.gpkg")
    survey = generate_demo_survey(boundaries, tmp_path / "survey", households=120, take=8)
    url = f"sqlite:///{tmp_path / 'obs.db'}"
    engine = tiny_store(url, boundaries)
    design = load_design(survey.design)
    result = locate(read_kobo(survey.form, survey.data), unit_column=design.unit_column)
    data = tmp_path / "data"
    store_survey(
        engine, result, design, city="DEMO", period="2024", sources=[survey.data], data_dir=data
    )
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "survey_variables:\n  persons: {arriendo_atrasado: select_one}\n"
        "indicators:\n"
        "  adults_uninsured:\n    record: survey\n"
        "    name: {es: Adultos sin afiliación a salud, en: Adults without health insurance}\n"
        "    direction: lower_is_better\n    unit: '%'\n"
        "    table: persons\n    condition: afiliado_salud == 'no'\n    among: edad >= 18\n"
        "  rent_arrears:\n    record: survey\n    name: {es: Arriendo atrasado, en: Rent arrears}\n"
        "    table: persons\n    condition: arriendo_atrasado == 'si'\n",
        encoding="utf-8",
    )
    argv = ["--lang", "en", "--database", url, "survey", "layers", "--city", "DEMO"]
    argv += ["--period", "2024", "--survey", "encuesta_migrantes_demo", "--data-dir", str(data)]
    argv += ["--min-n", "1", "-c", str(mine), "--only", "adults_uninsured"]
    main([*argv, "--only", "rent_arrears"])
    assert "Not estimated: rent_arrears (the survey has no question" in capsys.readouterr().out
    with transaction(engine) as session:
        rows = session.execute(
            select(models.SpatialUnit.code, models.Observation.value, models.Indicator.name_en)
            .join(models.Observation, models.Observation.unit_id == models.SpatialUnit.id)
            .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
            .where(models.Indicator.code == "adults_uninsured")
        ).all()
    assert {name for _c, _v, name in rows} == {"Adults without health insurance"}
    got = {code: value for code, value, _name in rows}
    # independently: the domain estimate of the uninsured among adults, by barrio
    tables, stored_design = load_survey("DEMO", "2024", "encuesta_migrantes_demo", data)
    persons = analysis_tables(tables, stored_design)["persons"].copy()
    persons["barrio"] = persons["unit_code"].str[:5]
    persons["y"] = (persons["afiliado_salud"] == "no").astype(float).where(persons["edad"] >= 18)
    direct = estimate(persons, stored_design, "y", by="barrio").set_index("barrio")
    assert set(got) == set(direct.index) and len(got) == 4
    for barrio, value in got.items():
        assert value == pytest.approx(100 * direct.loc[barrio, "estimate"])


def test_calibrated_weights_are_the_ones_the_layers_use(tmp_path) -> None:
    from inclusive_cities.surveys.layers import write_layers

    from .helpers import tiny_boundaries, tiny_store

    engine = tiny_store(f"sqlite:///{tmp_path / 'obs.db'}", tiny_boundaries(tmp_path / "b.gpkg"))
    main = pd.DataFrame(
        {
            "_parent": ["1", "2", "3"],
            "unit_code": ["010010001", "010010002", "010020001"],
            "peso": [10.0, 20.0, 5.0],
        }
    )
    members = pd.DataFrame(
        {
            "_parent": ["1", "1", "2", "2", "3", "3", "3"],
            "sexo": ["F", "M", "F", "F", "M", "M", "F"],
            "edad": [30, 40, 20, 50, 33, 25, 60],
            "trabaja": ["si", "no", "no", "si", "si", "si", "no"],
        }
    )
    design = Design(weight="peso", census_columns={"sex": "sexo", "age": "edad"})
    entry = catalogue_from_text(CATALOGUE.replace("    among: between(edad, 15, 64)\n", ""))
    summary = write_layers(
        engine,
        {"main": main, "miembros": members},
        design,
        city="DEMO",
        period="2024",
        level="barrio",
        indicators=[entry["employed"]],
        min_n=1,
        census_margins={"sex": {"F": 110.0, "M": 60.0}},
    )
    got = summary[summary["sex"] == TOTAL].set_index("unit")["estimate"]
    # raking to one margin is post-stratification: women's weights (10+20+20+5 = 55) x 2,
    # men's (10+5+5 = 20) x 3
    woman, man = 110 / 55, 60 / 20
    barrio_1 = (10 * woman + 20 * woman) / (10 * woman + 10 * man + 20 * woman + 20 * woman)
    barrio_2 = (5 * man + 5 * man) / (5 * man + 5 * man + 5 * woman)
    assert got["01001"] == pytest.approx(100 * barrio_1)
    assert got["01002"] == pytest.approx(100 * barrio_2)
    assert got["01001"] != pytest.approx(100 * 30 / 60)  # the uncalibrated share


def test_a_unit_sampled_in_one_psu_is_not_published_with_a_ci_of_zero_width() -> None:
    """Trial #3 F4: all of a barrio's respondents in ONE sampled block. For a mean, the
    domain's linearised values sum to 0 inside that block, so the first-stage variance is
    exactly 0 and the CI was published (±3 points where ±12 is honest). Such a domain is now
    flagged (n_psu 1, few_psu, unreliable) and its layer cell withheld."""
    from inclusive_cities.surveys.estimation import estimate

    persons = _persons()
    persons["block"] = ["A1"] * 9 + ["B1", "B2", "B1", "B2", "B1", "B2"]
    design = Design(weight="w", psu="block")
    persons["_y"] = (
        (persons["trabaja"] == "si")
        .astype(float)
        .where(persons["edad"].between(15, 64) & persons["trabaja"].notna())
    )
    direct = estimate(persons, design, "_y", "mean", by="unit_code").set_index("unit_code")
    assert direct.loc["A", "se"] == pytest.approx(0.0, abs=1e-12)  # the misleading zero
    assert direct.loc["A", "n_psu"] == 1 and bool(direct.loc["A", "few_psu"])
    assert bool(direct.loc["A", "unreliable"])
    assert direct.loc["B", "n_psu"] == 2 and not bool(direct.loc["B", "few_psu"])
    spec = catalogue_from_text(CATALOGUE)["employed"]
    table = compute_layer(
        {"persons": persons.drop(columns="_y")}, design, spec, ["A", "B"], {"A": "A", "B": "B"}, 1
    ).set_index(["unit", "sex"])
    for sex in (TOTAL, "F", "M"):
        assert table.loc[("A", sex), "status"] == "suppressed"
        assert pd.isna(table.loc[("A", sex), "estimate"])
    assert table.loc[("B", TOTAL), "status"] == "estimated"
    assert table.loc[("B", TOTAL), "estimate"] == pytest.approx(100 * 80 / 100)
