"""Spec loading: built-in specs follow METHODOLOGY §1; bad specs give one line with path+line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from inclusive_cities.marker import MarkerSpecError, builtin_specs, load_spec, parse_spec

AREAS = {
    "VIV": ("Vivienda asequible y con servicios", ["V_CAL", "V_SER", "V_ASE"]),
    "SAL": ("Salud y bienestar", ["S_PRO", "S_AMB", "S_BIE"]),
    "EDU": ("Educación, cultura y diversidad", ["E_PRO", "E_DIV", "E_BIE"]),
    "EPUB": ("Espacio público y seguridad", ["EP_PRO", "EP_VIT", "EP_SEG"]),
    "OPO": ("Oportunidades económicas", ["O_PRO", "O_BIE"]),
}
INDICATORS = {
    "V_CAL": {"durable_housing": "+", "overcrowding": "-"},
    "V_SER": {
        c: "+" for c in ("piped_water", "sewerage", "electricity", "refuse_collection", "internet")
    },
    "V_ASE": {"home_ownership": "+", "rent_burden": "-"},
    "S_PRO": {"dist_health_m": "-", "pop_within_1km_health": "+"},
    "S_AMB": {"green_area_m2_per_inhab": "+", "pop_in_risk_zone": "-"},
    "S_BIE": {"health_insurance": "+", "life_expectancy_gap_years": "-"},
    "E_PRO": {"dist_school_m": "-", "dist_library_m": "-", "school_attendance_5_16": "+"},
    "E_DIV": {"entropy_stratum": "+", "entropy_nationality": "+", "entropy_age": "+"},
    "E_BIE": {"years_schooling_25plus": "+", "schooling_gender_gap_years": "-"},
    "EP_PRO": {"pop_within_400m_public_space": "+", "public_space_m2_per_inhab": "+"},
    "EP_VIT": {
        "land_use_mix": "+",
        "intersection_density_per_km2": "+",
        "pop_within_500m_transport": "+",
    },
    "EP_SEG": {"crime_rate_per_100k": "-"},
    "O_PRO": {"dist_commerce_m": "-", "jobs_reachable": "+"},
    "O_BIE": {
        "employment_rate": "+",
        "unemployment_rate": "-",
        "informal_employment": "-",
        "neet_youth": "-",
    },
}


def test_builtin_specs_are_listed():
    assert {"uim-basic", "uim-extended"} <= set(builtin_specs())


def test_uim_basic_follows_the_methodology_tree():
    spec = load_spec("uim-basic")
    assert spec.tree.code == "UIM"
    assert spec.tree.name.es == "Marcador de Inclusión Urbana"
    assert [a.code for a in spec.tree.children] == list(AREAS)
    for area in spec.tree.children:
        name, dimensions = AREAS[area.code]
        assert area.name.es == name
        assert [d.code for d in area.children] == dimensions
        for dimension in area.children:
            expected = INDICATORS[dimension.code]
            found = {
                i.code: "+" if i.direction == "higher_is_better" else "-"
                for i in dimension.indicators
            }
            assert found == expected, dimension.code
    assert sum(len(a.children) for a in spec.tree.children) == 14
    for indicator in spec.indicators():
        method = spec.normalisation_for(indicator)
        assert method.method == "goalposts"
        assert method.source, indicator.code


def test_uim_extended_adds_governance_subdimensions_and_survey_layers():
    basic, extended = load_spec("uim-basic"), load_spec("uim-extended")
    assert [a.code for a in extended.tree.children] == [*AREAS, "GOV"]
    assert set(basic.indicator_codes) < set(extended.indicator_codes)
    depths = extended.depths()
    assert max(depths.values()) == 4  # index > area > dimension > sub-dimension > indicator
    survey = [c for c in extended.indicator_codes if c.startswith("mig_")]
    assert {
        "mig_regular_status",
        "mig_health_affiliation",
        "mig_discrimination",
        "mig_school_attendance_female",
        "mig_income_below_minimum_wage",
    } <= set(survey)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


GOOD = """
code: demo
name: {es: Demo, en: Demo}
tree:
  code: IDX
  name: {es: Índice, en: Index}
  children:
    - code: A
      name: {es: A, en: A}
      weight: WEIGHT
      aggregation: AGG
      indicators:
        - code: x1
          name: {es: x1, en: x1}
          direction: higher_is_better
          normalisation: {lower: LOWER, upper: 10, source: test}
        - code: CODE2
          name: {es: x2, en: x2}
          direction: lower_is_better
          normalisation: {method: METHOD}
"""


def spec_text(**changes: str) -> str:
    values = {"WEIGHT": "1", "AGG": "arithmetic", "LOWER": "0", "CODE2": "x2", "METHOD": "minmax"}
    values.update(changes)
    text = GOOD
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def test_good_spec_loads(tmp_path):
    spec = load_spec(write(tmp_path, spec_text()))
    assert spec.indicator_codes == ["x1", "x2"]
    assert spec.node_codes == ["IDX", "A"]


@pytest.mark.parametrize(
    ("changes", "line", "path", "words"),
    [
        ({"WEIGHT": "0"}, 9, "tree.children[0].weight", "greater than 0"),
        ({"WEIGHT": "-2"}, 9, "tree.children[0].weight", "greater than 0"),
        ({"LOWER": "10"}, 15, "tree.children[0].indicators[0].normalisation", "must differ"),
        (
            {"METHOD": "softmax"},
            19,
            "tree.children[0].indicators[1].normalisation",
            "unknown method 'softmax'",
        ),
        ({"AGG": "median"}, 10, "tree.children[0].aggregation", "must be one of"),
        ({"CODE2": "A"}, 16, "tree.children[0].indicators[1].code", "used twice"),
    ],
)
def test_bad_specs_name_path_and_line(tmp_path, changes, line, path, words):
    file = write(tmp_path, spec_text(**changes))
    with pytest.raises(MarkerSpecError) as caught:
        load_spec(file)
    message = str(caught.value)
    assert message.startswith(f"{file}:{line}: {path}:"), message
    assert words in message
    assert "\n" not in message


def test_cycle_in_flat_parent_list_is_reported(tmp_path):
    file = write(
        tmp_path,
        """
        code: flat
        name: {es: F, en: F}
        nodes:
          - {code: IDX, name: {es: I, en: I}}
          - {code: A, parent: B, name: {es: A, en: A}}
          - {code: B, parent: A, name: {es: B, en: B}}
          - {code: x1, parent: A, name: {es: x, en: x}, direction: higher_is_better,
             normalisation: {lower: 0, upper: 1}}
        """,
    )
    with pytest.raises(MarkerSpecError, match=r"spec.yaml:5: nodes\[1\].parent: A is its own"):
        load_spec(file)


def test_flat_parent_list_builds_the_same_tree(tmp_path):
    file = write(
        tmp_path,
        """
        code: flat
        name: {es: F, en: F}
        nodes:
          - {code: IDX, name: {es: I, en: I}}
          - {code: A, parent: IDX, name: {es: A, en: A}}
          - {code: x1, parent: A, name: {es: x, en: x}, direction: higher_is_better,
             normalisation: {lower: 0, upper: 1}}
        """,
    )
    spec = load_spec(file)
    assert spec.parents() == {"IDX": None, "A": "IDX", "x1": "A"}


def test_cycle_through_yaml_alias_is_reported(tmp_path):
    file = write(
        tmp_path,
        """
        code: loop
        name: {es: L, en: L}
        tree: &root
          code: IDX
          name: {es: I, en: I}
          children:
            - *root
        """,
    )
    with pytest.raises(MarkerSpecError, match="cycle"):
        load_spec(file)


def test_invalid_yaml_names_the_line():
    with pytest.raises(MarkerSpecError, match=r"^s.yaml:2: this is not valid YAML"):
        parse_spec("code: a\n  name: [\n", "s.yaml")


def test_unknown_spec_name():
    with pytest.raises(MarkerSpecError, match="uim-basic"):
        load_spec("no-such-spec")


def test_with_overrides_changes_and_validates():
    spec = load_spec("uim-basic")
    varied = spec.with_overrides(
        weights={"VIV": 2.0, "piped_water": 3.0},
        normalisation={"overcrowding": "zscore"},
        aggregation="geometric",
        imputation="median",
        treatment="winsorise",
        drop=["internet", "EP_SEG"],
    )
    assert varied.find("VIV").weight == 2.0
    assert varied.find("piped_water").weight == 3.0
    assert varied.normalisation_for(varied.find("overcrowding")).method == "zscore"
    assert varied.normalisation_for(varied.find("durable_housing")).method == "goalposts"
    assert varied.defaults.aggregation.method == "geometric"
    assert varied.defaults.missing.imputation.method == "median"
    assert varied.defaults.treatment.method == "winsorise"
    assert "internet" not in varied.indicator_codes
    assert "EP_SEG" not in varied.node_codes and "crime_rate_per_100k" not in varied.indicator_codes
    assert varied.hash != spec.hash
    assert spec.find("VIV").weight == 1.0  # the original is unchanged
    with pytest.raises(MarkerSpecError, match="greater than 0"):
        spec.with_overrides(weights={"VIV": 0})
    with pytest.raises(MarkerSpecError, match="no such node"):
        spec.with_overrides(drop=["nope"])
    with pytest.raises(MarkerSpecError, match="p"):
        spec.with_overrides(aggregation="power_mean")
    with pytest.raises(MarkerSpecError, match="no goalposts"):
        spec.with_overrides(normalisation="minmax").with_overrides(normalisation="goalposts")


def test_spec_hash_is_stable_and_yaml_round_trips():
    spec = load_spec("uim-basic")
    assert spec.hash == load_spec("uim-basic").hash
    again = parse_spec(spec.to_yaml(), "round-trip.yaml")
    assert again.hash == spec.hash


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (
            "{code: A, parent: IDX, name: {es: B, en: B}}",
            "spec.yaml:6: nodes[2].code: the code 'A'",
        ),
        (
            "{code: C, parent: ZZ, name: {es: C, en: C}}",
            "spec.yaml:6: nodes[2].parent: C has parent",
        ),
        ("{code: C, name: {es: C, en: C}}", "spec.yaml:4: nodes: exactly one entry"),
    ],
)
def test_flat_list_errors_name_the_line(tmp_path, entry, words):
    file = write(
        tmp_path,
        f"""
        code: flat
        name: {{es: F, en: F}}
        nodes:
          - {{code: IDX, name: {{es: I, en: I}}}}
          - {{code: A, parent: IDX, name: {{es: A, en: A}}}}
          - {entry}
        """,
    )
    with pytest.raises(MarkerSpecError) as caught:
        load_spec(file)
    assert str(caught.value).startswith(f"{tmp_path}/{words}")
    assert f"{file}:" in str(caught.value)


def test_flat_list_field_errors_point_at_the_flat_entry(tmp_path):
    file = write(
        tmp_path,
        """
        code: flat
        name: {es: F, en: F}
        nodes:
          - {code: IDX, name: {es: I, en: I}}
          - {code: A, parent: IDX, name: {es: A, en: A}}
          - {code: x1, parent: A, name: {es: x, en: x}, direction: higher_is_better,
             weight: -1, normalisation: {lower: 0, upper: 1}}
        """,
    )
    with pytest.raises(MarkerSpecError) as caught:
        load_spec(file)
    message = str(caught.value)
    assert message.startswith(f"{file}:7: tree.children[0].indicators[0].weight:"), message


def test_neutral_direction_is_refused_for_a_marker_indicator(tmp_path):
    # the catalogue's descriptive figures (share of Venezuelans) are neutral; a marker needs
    # to know which end is good, so it says so in one line, in the user's language
    file = write(tmp_path, spec_text().replace("direction: lower_is_better", "direction: neutral"))
    with pytest.raises(MarkerSpecError) as caught:
        load_spec(file)
    message = str(caught.value)
    assert message.startswith(f"{file}:18: tree.children[0].indicators[1].direction:"), message
    assert "'neutral' is for descriptive figures outside the marker" in message
    assert "\n" not in message
    from inclusive_cities.i18n import use_language

    use_language("es")
    try:
        with pytest.raises(MarkerSpecError, match="cifras descriptivas") as caught:
            load_spec(file)
        assert "\n" not in str(caught.value)
    finally:
        use_language("en")


def _unit_kind(unit: str) -> str:
    """Units as the specs and the catalogue spell them, reduced to what they measure."""
    text = unit.replace("²", "2").replace("per km2", "1/km2").replace("per 100,000", "per 100k")
    return "%" if text.startswith("%") else text


def test_every_built_in_spec_scores_an_indicator_in_the_unit_it_is_computed_in() -> None:
    """Trial F8: jobs_reachable was computed as a count and scored as a %, goalposts 0-100,
    so 834 establishments scored 100 and 31.9 scored 31.9. The spec's unit and direction are
    the catalogue's, for every indicator of every built-in spec."""
    from inclusive_cities.catalogue.definitions import load_catalogue

    catalogue = load_catalogue().indicators
    for name in builtin_specs():
        for node in load_spec(name).indicators():
            entry = catalogue[node.code]
            assert (_unit_kind(node.unit), node.direction) == (
                _unit_kind(entry.unit),
                entry.direction,
            ), (name, node.code)
