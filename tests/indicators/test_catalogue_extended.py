"""The catalogue covers uim-basic and uim-extended; survey entries parse and fail clearly."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest
import yaml

from inclusive_cities.indicators import IndicatorError, catalogue_from_text, load_catalogue
from inclusive_cities.marker import builtin_specs, load_spec

VARIABLES = (
    "survey_variables:\n"
    "  persons: {edad: integer, sexo: select_one, trabaja: select_one, pago: decimal}\n"
    "  households: {ingreso: integer}\n"
)
GOOD = (
    "    record: survey\n"
    "    name: {es: Ocupadas, en: Employed women}\n"
    "    table: persons\n"
    "    statistic: share\n"
    "    condition: trabaja == 'si'\n"
    "    among: edad >= 15 and sexo == 'F'\n"
    "    min_denominator: 12\n"
)


def _text(entry: str) -> str:
    return VARIABLES + "indicators:\n  mine:\n" + entry


def test_survey_entry_parses_with_its_population_and_statistic() -> None:
    spec = catalogue_from_text(_text(GOOD + "    disaggregations: [sex]\n"), "mine.yaml")["mine"]
    assert spec.record == "survey" and spec.is_survey and not spec.is_microdata
    assert spec.survey_table == "persons" and spec.statistic == "share"
    assert spec.condition is not None and spec.condition.columns == {"trabaja"}
    assert spec.among is not None and spec.among.columns == {"edad", "sexo"}
    assert spec.value is None
    assert spec.min_denominator == 12.0
    assert spec.disaggregations == ("sex",)
    assert "among: edad >= 15 and sexo == 'F'" in spec.formula()


def test_mean_entry_over_a_number() -> None:
    text = VARIABLES + (
        "indicators:\n  income:\n    record: survey\n    name: {es: Ingreso, en: Income}\n"
        "    table: households\n    statistic: mean\n    value: ingreso / 1000\n"
    )
    spec = catalogue_from_text(text)["income"]
    assert spec.statistic == "mean" and spec.value is not None and spec.condition is None
    assert spec.among is None


# (replacement of one line of GOOD or an added line, expected fragment, line of the field)
BAD = [
    (
        ("    condition: trabaja == 'si'\n", "    condition: trabajo == 'si'\n"),
        "uses the unknown column 'trabajo'",
        10,
    ),
    (
        ("    among: edad >= 15 and sexo == 'F'\n", "    among: edad >= 15 and genero == 'F'\n"),
        "uses the unknown column 'genero'",
        11,
    ),
    (
        ("    statistic: share\n", "    statistic: median\n"),
        "statistic 'median' is not one of share, mean",
        9,
    ),
    (("    table: persons\n", "    table: members\n"), "table 'members' is not one of", 8),
    (
        ("    statistic: share\n", "    statistic: mean\n"),
        "statistic mean needs 'value'",
        9,
    ),
    (
        ("    condition: trabaja == 'si'\n", "    value: sexo\n"),
        "statistic share needs 'condition'",
        9,
    ),
    (
        ("    min_denominator: 12\n", "    min_denominator: -1\n"),
        "'min_denominator' must be a number >= 0",
        12,
    ),
    (
        ("    min_denominator: 12\n", "    disaggregations: [nationality]\n"),
        "disaggregation 'nationality' is not one of sex",
        12,
    ),
    (
        ("    min_denominator: 12\n", "    aggregation: share\n"),
        "'aggregation' is not a field of a survey entry",
        12,
    ),
    (
        ("    condition: trabaja == 'si'\n", "    condition: __import__('os')\n"),
        "calls an unknown function",
        10,
    ),
]


@pytest.mark.parametrize(("change", "fragment", "line"), BAD)
def test_bad_survey_entries_name_file_line_and_field(
    change: tuple[str, str], fragment: str, line: int
) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(IndicatorError) as error:
        catalogue_from_text(_text(GOOD.replace(old, new)), "mine.yaml")
    message = str(error.value)
    assert fragment in message
    assert re.match(rf"mine\.yaml, indicator 'mine', line {line}[,:] ", message), message
    assert "\n" not in message


def test_mean_of_a_text_question_is_refused() -> None:
    text = _text(GOOD.replace("statistic: share", "statistic: mean")).replace(
        "    condition: trabaja == 'si'\n", "    value: trabaja\n"
    )
    with pytest.raises(IndicatorError, match="'trabaja' is a select_one question"):
        catalogue_from_text(text, "mine.yaml")


def test_sex_disaggregation_needs_persons() -> None:
    text = VARIABLES + (
        "indicators:\n  income:\n    record: survey\n    name: {es: I, en: I}\n"
        "    table: households\n    statistic: mean\n    value: ingreso\n"
        "    disaggregations: [sex]\n"
    )
    with pytest.raises(IndicatorError, match=r"income', line 11: disaggregation by sex needs"):
        catalogue_from_text(text, "mine.yaml")


def test_survey_entries_need_declared_questions() -> None:
    with pytest.raises(IndicatorError, match="no survey variables are declared for the persons"):
        catalogue_from_text("indicators:\n  mine:\n" + GOOD, "mine.yaml")
    with pytest.raises(IndicatorError, match="'pregunta' is not one of integer, decimal"):
        catalogue_from_text(
            "survey_variables:\n  persons: {edad: pregunta}\nindicators: {}\n", "mine.yaml"
        )


def test_user_file_adds_questions_and_a_survey_entry_to_the_shipped_ones() -> None:
    text = (
        "survey_variables:\n  persons: {arriendo_atrasado: select_one}\n"
        "indicators:\n  mig_rent_arrears:\n    record: survey\n"
        "    name: {es: Atraso en el arriendo, en: Rent arrears}\n"
        "    table: persons\n    condition: arriendo_atrasado == 'si'\n    among: edad >= 18\n"
    )
    catalogue = catalogue_from_text(text, "mine.yaml", shipped=True)
    assert catalogue["mig_rent_arrears"].statistic == "share"  # the default statistic
    # the shipped questions (edad) stay known beside the user's own
    assert {"edad", "arriendo_atrasado"} <= set(catalogue.survey_variables["persons"])
    assert "mig_health_affiliation" in catalogue


def _spec_codes(name: str) -> set[str]:
    return set(load_spec(builtin_specs()[name]).indicator_codes)


@pytest.mark.parametrize("name", ["uim-basic", "uim-extended"])
def test_every_marker_indicator_has_a_catalogue_entry(name: str) -> None:
    codes = _spec_codes(name)
    assert len(codes) >= 35
    missing = sorted(codes - set(load_catalogue().indicators))
    assert missing == [], f"{name} indicators without a catalogue entry: {missing}"


def test_extended_entries_have_the_promised_kinds() -> None:
    catalogue = load_catalogue()
    extended = _spec_codes("uim-extended") - _spec_codes("uim-basic")
    assert len(extended) == 15
    kinds = {code: catalogue[code].record for code in extended}
    assert kinds.pop("migration_governance_score") == "table"
    assert kinds.pop("pop_within_2km_protection_centre") == "facility"
    assert set(kinds.values()) == {"survey"}
    centre = catalogue["pop_within_2km_protection_centre"]
    assert (centre.method, centre.threshold_m) == ("within", 2000.0)
    assert centre.facility_types == ("protection_integration",)
    for sex, code in (("F", "female"), ("M", "male")):
        for stem in ("mig_school_attendance", "mig_secondary_complete"):
            spec = catalogue[f"{stem}_{code}"]
            assert spec.among is not None and f"sexo == '{sex}'" in spec.among.text
            assert spec.disaggregations == ()
    # the same direction and dimension as the marker says
    spec = load_spec(builtin_specs()["uim-extended"])
    directions = {i.code: i.direction for i in spec.indicators()}
    for code in extended:
        assert catalogue[code].direction == directions[code], code
        assert catalogue[code].name_es and catalogue[code].name_en


def test_shipped_survey_entries_read_questions_of_the_demo_form() -> None:
    from inclusive_cities.surveys.demo_survey import SURVEY_ROWS

    table, questions = "households", {"households": set(), "persons": {"age_group"}}
    for kind, name, *_rest in SURVEY_ROWS:
        if kind == "begin_repeat":
            table = "persons"
        elif kind == "end_repeat":
            table = "households"
        elif name and not kind.startswith(("begin", "end")):
            questions[table].add(name)
    catalogue = load_catalogue()
    for table_name, declared in catalogue.survey_variables.items():
        assert set(declared) <= questions[table_name], table_name
    for spec in catalogue.of_record("survey"):
        used = set()
        for expression in (spec.condition, spec.value, spec.among):
            if expression is not None:
                used |= expression.columns
        assert used and used <= questions[spec.survey_table], spec.code


def test_shipped_catalogue_file_lines_are_in_messages(tmp_path) -> None:
    text = files("inclusive_cities.catalogue").joinpath("catalogue.yaml").read_text("utf-8")
    shipped = yaml.safe_load(text)
    entry = dict(shipped["indicators"]["mig_documentation"], statistic="ratio")
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"indicators": {"mig_documentation": entry}}), "utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip() == "statistic: ratio")
    with pytest.raises(IndicatorError) as error:
        load_catalogue([path])
    assert str(error.value).startswith(f"mine.yaml, indicator 'mig_documentation', line {line}:")
    assert "statistic 'ratio' is not one of share, mean" in str(error.value)


def test_context_figures_are_neutral_and_a_misspelt_direction_is_refused() -> None:
    catalogue = load_catalogue()
    for code in ("population", "venezuelan_population", "venezuelan_share", "households"):
        assert catalogue[code].direction == "neutral", code
    assert catalogue["overcrowding"].direction == "lower_is_better"
    own = catalogue_from_text(
        "indicators:\n  mine:\n    record: table\n    name: {es: M, en: M}\n"
        "    direction: neutral\n",
        "mine.yaml",
    )
    assert own["mine"].direction == "neutral"
    with pytest.raises(IndicatorError, match=r"direction 'neutro' is not one of .*, neutral"):
        catalogue_from_text(
            "indicators:\n  mine:\n    record: table\n    name: {es: M, en: M}\n"
            "    direction: neutro\n",
            "mine.yaml",
        )
