"""KoBo/ODK import of the synthetic demo survey and of hand-made broken exports."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from inclusive_cities.surveys import SurveyError
from inclusive_cities.surveys.demo_survey import FORM_ID, generate_demo_survey, write_form
from inclusive_cities.surveys.kobo import locate, read_form, read_kobo

from .helpers import tiny_boundaries


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    boundaries = tiny_boundaries(root / "boundaries.gpkg")
    return boundaries, generate_demo_survey(boundaries, root / "survey", households=200, take=6)


def test_demo_form_is_a_real_xlsform(demo):
    _boundaries, survey = demo
    sheets = pd.read_excel(survey.form, sheet_name=None)
    assert set(sheets) == {"survey", "choices", "settings"}
    assert {"label::Español (es)", "label::English (en)"} <= set(sheets["survey"].columns)
    types = set(sheets["survey"]["type"])
    assert {"begin_repeat", "geopoint", "select_multiple necesidad"} <= types
    form_es, form_en = read_form(survey.form, "es"), read_form(survey.form, "en")
    assert form_es.questions["sexo"].label == "Sexo" and form_en.questions["sexo"].label == "Sex"
    assert form_es.questions["edad"].repeat == "miembros"
    assert form_es.repeats == ["miembros"]
    assert sheets["settings"]["form_id"].iloc[0] == FORM_ID


def test_demo_survey_imports_cleanly_and_is_two_stage(demo):
    boundaries, survey = demo
    result = read_kobo(survey.form, survey.data)
    assert result.issues.empty, result.issues
    main, members = result.main, result.tables["miembros"]
    assert len(main) == survey.households and len(members) == survey.members
    assert (main["estrato_muestral"].nunique(), main["upm"].nunique()) == (2, 16)
    assert not members["_orphan"].any()
    assert main["necesidades/salud"].sum() == main["necesidades"].str.contains("salud").sum()
    located = locate(result, gpd.read_file(boundaries, layer="manzana"), geopoint="ubicacion")
    agree = (located.main["unit_code"] == located.main["codigo_manzana"]).mean()
    assert agree > 0.95


def _write_export(path, main: pd.DataFrame, members: pd.DataFrame | None = None):
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        main.to_excel(writer, sheet_name="main", index=False)
        if members is not None:
            members.to_excel(writer, sheet_name="miembros", index=False)
    return path


def _base_main() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "codigo_manzana": ["010010001", "010010002", "999"],
            "peso": [10.0, 12.0, 8.0],
            "hogar/ingreso": [900000, -5, 1000],
            "hogar/discriminacion": ["si", "quizas", "no"],
            "hogar/necesidades": ["salud empleo", "agua", ""],
            "hogar/necesidades/salud": [1, 1, 0],
            "ubicacion": ["7.9 -72.5 0 5", "", "7.9 -72.5 0 5"],
            "_index": [1, 2, 3],
        }
    )


def test_problems_are_reported_with_file_row_column_value(tmp_path):
    form = write_form(tmp_path / "form.xlsx")
    members = pd.DataFrame(
        {"sexo": ["F", "X"], "edad": [30, 140], "_index": [1, 2], "_parent_index": [1, 7]}
    )
    data = _write_export(tmp_path / "data.xlsx", _base_main(), members)
    result = read_kobo(form, data)
    issues = result.issues

    def has(column, value, text):
        hit = issues[(issues["column"] == column) & (issues["value"].astype(str) == str(value))]
        return hit["problem"].str.contains(text).any()

    assert has("discriminacion", "quizas", "choice list sino")
    assert has("necesidades", "agua", "choice list necesidad")
    assert has("ingreso", "-5", "constraint")
    assert has("edad", "140", "constraint")
    assert has("sexo", "X", "choice list sexo")
    orphan = issues[issues["problem"].str.contains("no parent")]
    assert orphan["row"].tolist() == [3] and orphan["severity"].tolist() == ["error"]
    assert issues.loc[issues["value"].astype(str) == "quizas", "row"].tolist() == [3]
    assert set(issues["file"]) == {"data.xlsx"}
    # nothing was dropped: every row is still there, flagged
    assert len(result.main) == 3 and len(result.tables["miembros"]) == 2
    located = locate(result, unit_column="codigo_manzana", known_codes={"010010001", "010010002"})
    assert located.issues["problem"].str.contains("not a unit of the city").any()
    assert located.issues["problem"].str.contains("no location").sum() == 1


def test_points_outside_the_city_and_rows_without_location(tmp_path):
    boundaries = tiny_boundaries(tmp_path / "b.gpkg")
    form = write_form(tmp_path / "form.xlsx")
    main = _base_main()
    main["ubicacion"] = ["7.8950 -73.1850 0 5", "", "4.60 -74.08 0 5"]
    result = read_kobo(form, _write_export(tmp_path / "d.xlsx", main))
    located = locate(result, gpd.read_file(boundaries, layer="manzana"), geopoint="ubicacion")
    problems = located.issues["problem"]
    assert problems.str.contains("outside the city").sum() == 1
    assert problems.str.contains("no location").sum() == 1
    assert located.main["unit_code"].notna().sum() == 1


def test_form_data_mismatch_language_and_missing_parent_link(tmp_path):
    form = write_form(tmp_path / "form.xlsx")
    other = _write_export(tmp_path / "other.xlsx", pd.DataFrame({"foo": [1], "bar": [2]}))
    with pytest.raises(SurveyError, match="do not match the form"):
        read_kobo(form, other)
    with pytest.raises(SurveyError, match=r"no label column for language 'fr'.*Español \(es\)"):
        read_form(form, "fr")
    members = pd.DataFrame({"sexo": ["F"], "edad": [30]})
    unlinked = _write_export(tmp_path / "unlinked.xlsx", _base_main(), members)
    with pytest.raises(SurveyError, match=r"cannot be linked to its parent.*_parent_index"):
        read_kobo(form, unlinked)


def test_csv_set_with_odk_keys(tmp_path):
    form = write_form(tmp_path / "form.xlsx")
    folder = tmp_path / "csv"
    folder.mkdir()
    main = _base_main().drop(columns="_index").assign(KEY=["uuid:a", "uuid:b", "uuid:c"])
    main.to_csv(folder / "a_main.csv", index=False)
    pd.DataFrame(
        {
            "sexo": ["F", "M"],
            "edad": [3, 40],
            "PARENT_KEY": ["uuid:a", "uuid:c"],
            "KEY": ["uuid:a/m[1]", "uuid:c/m[1]"],
        }
    ).to_csv(folder / "miembros.csv", index=False)
    result = read_kobo(form, folder)
    assert result.tables["miembros"]["_parent"].tolist() == ["uuid:a", "uuid:c"]
    assert not result.tables["miembros"]["_orphan"].any()


def test_invalid_xlsform_is_refused_with_pyxform_reason(tmp_path):
    path = tmp_path / "broken.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame(
            {"type": ["select_one missing_list"], "name": ["q1"], "label::Español (es)": ["P1"]}
        ).to_excel(writer, sheet_name="survey", index=False)
        pd.DataFrame(
            {"list_name": ["sino"], "name": ["si"], "label::Español (es)": ["Sí"]}
        ).to_excel(writer, sheet_name="choices", index=False)
    with pytest.raises(SurveyError, match=r"broken.xlsx is not valid: .*missing_list"):
        read_form(path)


def test_results_agree_with_svy(apiclus1):
    """Cross-check with svy 0.35 (the maintained successor of samplics) on dclus1 domains."""
    import polars as pl
    from svy import Design as SvyDesign
    from svy import Sample

    from inclusive_cities.surveys import Design, estimate

    sample = Sample(pl.from_pandas(apiclus1), SvyDesign(wgt="pw", psu="dnum", pop_size="fpc"))
    theirs = sample.estimation.mean("api00", by="stype").to_polars().to_pandas()
    ours = estimate(apiclus1, Design(weight="pw", psu="dnum", fpc="fpc"), "api00", by="stype")
    merged = ours.merge(theirs, on="stype")
    assert len(merged) == 3
    assert (abs(merged["se_x"] - merged["se_y"]) < 1e-9 * merged["se_x"]).all()
    assert (abs(merged["estimate"] - merged["est"]) < 1e-9).all()


def test_select_multiple_given_only_as_one_hot_columns(tmp_path):
    form = write_form(tmp_path / "form.xlsx")
    main = pd.DataFrame(
        {
            "codigo_manzana": ["010010001", "010010002"],
            "hogar/discriminacion": ["si", "no"],
            "hogar/necesidades/salud": [1, 0],
            "hogar/necesidades/empleo": [1, "x"],
            "hogar/necesidades/agua": [0, 1],
            "_index": [1, 2],
        }
    )
    result = read_kobo(form, _write_export(tmp_path / "d.xlsx", main))
    assert result.main["necesidades"].tolist() == ["salud empleo", "agua"]
    problems = result.issues.set_index("column")["problem"]
    assert "choice list necesidad" in problems["necesidades/agua"]
    assert "0 or 1" in problems["necesidades/empleo"]
    assert result.issues.set_index("column").loc["necesidades/empleo", "row"] == 3


def test_forbidden_values_are_no_answer_and_repeated_sentinels_are_named(tmp_path):
    """Trial F9: -999 incomes broke the form's own constraint ('. >= 0') and 999 ones looked
    like data; both entered the estimates (stratum mean 960,272.8 instead of 969,695.5)."""
    form = write_form(tmp_path / "form.xlsx")
    main = pd.concat([_base_main()] * 2, ignore_index=True)
    main["_index"] = range(1, len(main) + 1)
    main["hogar/ingreso"] = [900000, -999, 999, 999, 1000, -999]
    members = pd.DataFrame({"sexo": ["F"], "edad": [30], "_index": [1], "_parent_index": [1]})
    data = _write_export(tmp_path / "data.xlsx", main, members)
    result = read_kobo(form, data)
    # the form forbids negatives: those answers are no answer; 999 stays (it is allowed)
    assert result.main["ingreso"].isna().tolist() == [False, True, False, False, False, True]
    assert result.main["ingreso"].sum() == 900000 + 999 + 999 + 1000
    issues = result.issues
    named = issues[(issues["column"] == "ingreso") & (issues["value"].astype(str) == "999")]
    assert named["problem"].str.contains("--missing 999").tolist() == [True]
    assert named["problem"].str.startswith("2 answers are 999").tolist() == [True]
    broken = issues[issues["problem"].str.contains("read as no answer")]
    assert broken["row"].tolist() == [3, 7]
    # with the code declared, nothing is left to warn about and the mean is the real one
    declared = read_kobo(form, data, missing=["999", "-999"])
    assert declared.main["ingreso"].mean() == (900000 + 1000) / 2
    assert not declared.issues["problem"].str.contains("--missing").any()
