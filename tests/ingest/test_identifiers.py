"""City, period, survey and layer codes that become folders are checked before any use."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from inclusive_cities.ingest import import_census, import_layers, microdata_path
from inclusive_cities.ingest.identifiers import IdentifierError, validate_identifier
from tests.ingest.conftest import files_under, households_file, snapshot
from tests.ingest.test_cli import call


@pytest.mark.parametrize(
    "value",
    ["DEMO", "TST", "MDE", "2024", "encuesta_migrantes_demo", "a.b-c_1", "x" * 64],
)
def test_safe_codes_pass_unchanged(value: str) -> None:
    assert validate_identifier("city", value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "..",
        "../x",
        "a/../b",
        "a/b",
        "a\\b",
        "/abs",
        ".hidden",
        "-option",
        "with space",
        "tab\tin",
        "new\nline",
        "x" * 65,
        "ciudad_año",
        "</script><img src=x>",
        "a..b",
    ],
)
def test_unsafe_codes_refused_with_one_line(value: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        validate_identifier("survey", value)
    message = str(caught.value)
    assert "--survey" in message and "\n" not in message
    assert "--survey is empty" in message or "is not a valid code" in message


@pytest.mark.parametrize(
    "value", ["2024", "2018", "2024-Q1", "2024r2", "2018_censo", "R1", "ronda-2"]
)
def test_periods_are_years_or_rounds(value: str) -> None:
    assert validate_identifier("period", value) == value


@pytest.mark.parametrize("value", ["20x4", "24", "year2024x", "Q1-2024-b", "2024--1", "1e5"])
def test_period_codes_that_are_not_periods(value: str) -> None:
    with pytest.raises(IdentifierError, match=r"--period '.*' is not (a period|a valid code)"):
        validate_identifier("period", value)


def test_census_period_cannot_escape_the_data_folder(
    city: Engine, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "work" / "data"
    source = households_file(tmp_path / "hh.csv")
    before, listing = snapshot(city), files_under(tmp_path)
    for option, value, fragment in (
        ("--period", "../../../../x", "--period '../../../../x' is not a valid code"),
        ("--period", "", "--period is empty"),
        ("--period", "20x4", "--period '20x4' is not a period"),
        ("--city", "../TST", "--city '../TST' is not a valid code"),
    ):
        options = {"--city": "TST", "--period": "2024", option: value}
        code, out, err = call(
            capsys, "--database", sqlite_url, "--lang", "en", "import", "census", str(source),
            "--record", "households", "--data-dir", str(data),
            *[part for pair in options.items() for part in pair],
        )  # fmt: skip
        line = " ".join(err.split())
        assert code == 1 and fragment in line and "Unexpected" not in line, (out, err)
        assert err.strip().count("\n") == 0
    assert snapshot(city) == before and files_under(tmp_path) == listing
    with pytest.raises(IdentifierError):
        import_census(city, source, record="households", city="TST", period="..", data_dir=data)
    with pytest.raises(IdentifierError):
        microdata_path(data, "TST", "../2024", "persons")


def test_layers_city_cannot_escape(city: Engine, tmp_path: Path) -> None:
    with pytest.raises(IdentifierError, match=r"--city '\.\./\.\./TST' is not a valid code"):
        import_layers(city, tmp_path / "any.gpkg", city="../../TST", data_dir=tmp_path / "d")
    assert not (tmp_path / "d").exists()


def test_table_and_boundaries_codes_checked_at_the_cli(
    city: Engine, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "t.csv"
    table.write_text("unit_code,a\n01001,1\n", encoding="utf-8")
    before = snapshot(city)
    code, _out, err = call(
        capsys, "--database", sqlite_url, "--lang", "en", "import", "table", str(table),
        "--city", "TST", "--period", "20x4",
    )  # fmt: skip
    assert code == 1 and "--period '20x4' is not a period" in " ".join(err.split())
    code, _out, err = call(
        capsys, "--database", sqlite_url, "--lang", "en", "import", "boundaries", str(table),
        "--city", "A/B", "--level", "barrio",
    )  # fmt: skip
    assert code == 1 and "--city 'A/B' is not a valid code" in " ".join(err.split())
    assert snapshot(city) == before


def test_level_codes_checked_at_the_cli(
    city: Engine, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(city)
    code, _out, err = call(
        capsys, "--database", sqlite_url, "--lang", "en", "import", "boundaries",
        str(tmp_path / "b.gpkg"), "--city", "TST", "--level", "../barrio=b.gpkg",
    )  # fmt: skip
    assert code == 1 and "--level '../barrio' is not a valid code" in " ".join(err.split())
    assert snapshot(city) == before
