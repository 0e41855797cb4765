"""Survey designs found wrong by probing: accepted with exit 0, or refused in 8 lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from inclusive_cities.surveys import Design, SurveyError, load_design
from inclusive_cities.surveys.demo_survey import generate_demo_survey
from inclusive_cities.surveys.kobo import locate, read_kobo
from inclusive_cities.surveys.storage import store_survey
from tests.ingest.conftest import files_under, snapshot

from .helpers import tiny_boundaries, tiny_store


def test_negative_min_n_refused(tmp_path: Path) -> None:
    path = tmp_path / "design.yaml"
    path.write_text("weight: peso\nmin_n: -1\n", encoding="utf-8")
    with pytest.raises(SurveyError) as caught:
        load_design(path)
    message = str(caught.value)
    assert "min_n" in message and "-1" in message and "\n" not in message
    with pytest.raises(ValueError):
        Design(min_n=0)


def test_invalid_yaml_is_one_line_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "design.yaml"
    path.write_text("weight: peso\nstrata: [estrato\npsu: upm\n", encoding="utf-8")
    with pytest.raises(SurveyError) as caught:
        load_design(path)
    message = str(caught.value)
    assert "\n" not in message, message
    assert "is not valid YAML at line 3, column" in message


def test_binary_design_file(tmp_path: Path) -> None:
    path = tmp_path / "design.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(SurveyError, match=r"is not a text YAML file \(byte \d+ is not UTF-8\)"):
        load_design(path)


def test_design_naming_a_missing_weight_column_is_refused_at_import(tmp_path: Path) -> None:
    boundaries = tiny_boundaries(tmp_path / "boundaries.gpkg")
    survey = generate_demo_survey(boundaries, tmp_path / "survey", households=40, take=8)
    engine = tiny_store(f"sqlite:///{tmp_path / 'obs.db'}", boundaries)
    design = load_design(survey.design).model_copy(update={"weight": "peso_final"})
    result = locate(read_kobo(survey.form, survey.data), unit_column=design.unit_column)
    before, files = snapshot(engine), files_under(tmp_path)
    with pytest.raises(SurveyError, match="does not have: peso_final"):
        store_survey(
            engine, result, design, city="DEMO", period="2024",
            sources=[survey.form, survey.data], data_dir=tmp_path / "data",
        )  # fmt: skip
    assert snapshot(engine) == before and files_under(tmp_path) == files


def test_weights_with_a_decimal_comma_say_so() -> None:
    """Trial F9: a weight column exported as text '46,8571' was refused as 'not a number'
    with no word about the comma."""
    import pandas as pd

    from inclusive_cities.surveys.design import check_design

    data = pd.DataFrame({"peso": ["46,8571", "12.5", "3"], "y": [1, 2, 3]})
    with pytest.raises(SurveyError) as caught:
        check_design(data, Design(weight="peso"), "export.xlsx")
    message = str(caught.value)
    assert "\n" not in message
    assert "rows 0" in message and "decimal comma ('46,8571')" in message
