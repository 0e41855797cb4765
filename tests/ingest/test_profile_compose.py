"""Profiles that compose identifiers and unit codes from several columns, and per-column
"no answer" codes.

The test city (conftest) has barrios 01001, 01002 and 02001 as its smallest units; the files
below give them as a localidad number and a barrio number that lost their leading zeros, as
census files often do.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from inclusive_cities.ingest import IngestError, import_census, load_profile, microdata_path
from tests.ingest.conftest import assert_rejected, write_csv

PROFILE = """
name: composed
households:
  columns:
    BARRIO:
      variable: unit_code
      compose: [LOC, NUM]
      pad: [2, 3]
    HOGAR:
      variable: household_id
      compose: [VIV, NRO]
      separator: "-"
    PERSONAS: persons
    DORMIT: {variable: bedrooms, missing: ["99"]}
persons:
  columns:
    BARRIO: {variable: unit_code, compose: [LOC, NUM], pad: [2, 3]}
    HOGAR: {variable: household_id, compose: [VIV, NRO], separator: "-"}
    PERSONA:
      variable: person_id
      compose: [VIV, NRO, PER]
      pad: [null, null, 2]
      separator: "-"
      missing: ["0"]
    EDAD: {variable: age, missing: ["999"]}
    ANOS: years_schooling
"""
HOUSEHOLDS = ["LOC", "NUM", "VIV", "NRO", "PERSONAS", "DORMIT"]
PERSONS = ["LOC", "NUM", "VIV", "NRO", "PER", "EDAD", "ANOS"]


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "composed.yaml"
    path.write_text(PROFILE, encoding="utf-8")
    return path


def census(engine: Engine, path: Path, record: str, profile: Path, data: Path, **options: object):  # type: ignore[no-untyped-def]
    return import_census(
        engine,
        path,
        record=record,
        city="TST",
        period="2024",
        profile=profile,
        data_dir=data,
        **options,  # type: ignore[arg-type]
    )


def households(path: Path, rows: list[list[object]] | None = None) -> Path:
    return write_csv(
        path,
        HOUSEHOLDS,
        rows
        if rows is not None
        else [
            ["1", "1", "7", "1", 3, 2],
            ["01", "002", "7", "2", 2, 99],  # 99 bedrooms: "no answer" in DORMIT only
            [" 2 ", "1", "15", "1", 1, 1],  # parts are trimmed before padding
        ],
    )


def test_composed_keys_and_units_worked_out_by_hand(
    city: Engine, tmp_path: Path, profile: Path
) -> None:
    data = tmp_path / "data"
    report = census(city, households(tmp_path / "hh.csv"), "households", profile, data)
    assert (report.rows_read, report.rows_rejected, report.units_matched) == (3, 0, 3)
    houses = pd.read_parquet(microdata_path(data, "TST", "2024", "households"))
    # LOC padded to 2, NUM to 3, no separator: 1|1 -> 01001, 01|002 -> 01002, 2|1 -> 02001
    assert houses.unit_code.tolist() == ["01001", "01002", "02001"]
    # VIV and NRO kept as they are, joined with "-"
    assert houses.household_id.tolist() == ["7-1", "7-2", "15-1"]
    assert houses.bedrooms.isna().tolist() == [False, True, False]
    assert houses.persons.tolist() == [3, 2, 1]

    people_file = write_csv(
        tmp_path / "p.csv",
        PERSONS,
        [
            ["1", "1", "7", "1", "1", 40, 11],
            ["1", "1", "7", "1", "2", 999, 5],  # 999 = age not reported, in EDAD only
            ["2", "1", "15", "1", "1", 30, 0],
        ],
    )
    report = census(city, people_file, "persons", profile, data)
    assert (report.rows_read, report.rows_rejected) == (3, 0)
    people = pd.read_parquet(microdata_path(data, "TST", "2024", "persons"))
    # PER padded to 2 digits: 7-1-01, 7-1-02, 15-1-01; the household keys match the
    # households file's, so the orphan check found every household
    assert people.person_id.tolist() == ["7-1-01", "7-1-02", "15-1-01"]
    assert people.household_id.tolist() == ["7-1", "7-1", "15-1"]
    assert people.unit_code.tolist() == ["01001", "01001", "02001"]
    assert people.age.isna().tolist() == [False, True, False]
    assert people.years_schooling.tolist() == [11, 5, 0]
    assert report.details["orphans_checked"] is True


def test_part_longer_than_its_width_names_column_and_value(
    city: Engine, tmp_path: Path, profile: Path
) -> None:
    path = households(
        tmp_path / "hh.csv", [["1", "1", "7", "1", 3, 2], ["1", "1001", "8", "1", 3, 2]]
    )
    assert_rejected(
        city,
        lambda: census(city, path, "households", profile, tmp_path / "data"),
        "hh.csv",
        "row 3",
        "column 'NUM'",
        "value '1001'",
        "longer than the 3 characters 'pad' gives it in BARRIO (unit_code)",
    )


def test_empty_part_makes_the_required_identifier_missing(
    city: Engine, tmp_path: Path, profile: Path
) -> None:
    path = households(tmp_path / "hh.csv", [["1", "1", "7", "", 3, 2]])
    assert_rejected(
        city,
        lambda: census(city, path, "households", profile, tmp_path / "data"),
        "row 2",
        "column 'NRO'",
        "household_id is required but NRO, one of the columns composed into HOGAR, is empty",
    )


def test_per_column_missing_codes_apply_to_that_column_only(
    city: Engine, tmp_path: Path, profile: Path
) -> None:
    # 99 is "no answer" for DORMIT, but in PERSONAS it is a number, and out of range (1-60)
    path = households(tmp_path / "hh.csv", [["1", "1", "7", "1", 99, 99]])
    assert_rejected(
        city,
        lambda: census(city, path, "households", profile, tmp_path / "data"),
        "column 'PERSONAS'",
        "value '99'",
        "out of range for persons (1 to 60)",
    )


def test_rejected_rows_of_composed_columns_with_reasons(
    city: Engine, tmp_path: Path, profile: Path
) -> None:
    """Each problem is given to the composed column it belongs to, also when two composed
    columns share a part (VIV is in HOGAR and PERSONA) or when a part is empty only by the
    column's own missing codes (PER 0)."""
    data = tmp_path / "data"
    census(city, households(tmp_path / "hh.csv"), "households", profile, data)
    path = write_csv(
        tmp_path / "p.csv",
        PERSONS,
        [
            ["1", "1", "7", "1", "1", 40, 11],
            ["1", "1", "", "1", "2", 40, 11],  # VIV empty: household_id comes first
            ["1", "1", "7", "1", "0", 40, 11],  # PER 0: missing for PERSONA only
            ["1", "1", "7", "1", "100", 40, 11],  # PER longer than 2
            ["123", "1", "7", "1", "3", 40, 11],  # LOC longer than 2
        ],
    )
    report = census(city, path, "persons", profile, data, accept_valid=True)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (5, 1, 4)
    assert [(p.row, p.column, p.value) for p in report.problems] == [
        (3, "VIV", None),  # an empty CSV cell is read as no value
        (4, "PER", "0"),
        (5, "PER", "100"),
        (6, "LOC", "123"),
    ]
    with Path(report.reject_path or "").open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [r["_reason"] for r in rejects] == [p.reason for p in report.problems]
    assert rejects[0]["_reason"].startswith("household_id is required but VIV, one of the")
    assert rejects[1]["_reason"].startswith("person_id is required but PER, one of the")
    assert "longer than the 2 characters 'pad' gives it in PERSONA" in rejects[2]["_reason"]
    assert "longer than the 2 characters 'pad' gives it in BARRIO" in rejects[3]["_reason"]


def test_unknown_compose_column_names_profile_column_and_fix(
    city: Engine, tmp_path: Path, profile: Path
) -> None:
    path = write_csv(
        tmp_path / "hh.csv",
        ["LOC", "NUMERO", "VIV", "NRO", "PERSONAS", "DORMIT"],
        [["1", "1", "7", "1", 3, 2]],
    )
    assert_rejected(
        city,
        lambda: census(city, path, "households", profile, tmp_path / "data"),
        "hh.csv: column NUM, which profile composed.yaml composes into BARRIO, is not in the "
        "file (it has: DORMIT, LOC, NRO, NUMERO, PERSONAS, VIV)",
        "correct the compose list in composed.yaml",
    )


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        (
            "{variable: persons, compose: [A, B]}",
            "compose builds text, so it can only feed identifiers and unit codes, not persons "
            "(integer)",
        ),
        ("{variable: durable_walls, compose: [A, B]}", "not durable_walls (boolean)"),
        ("{variable: tenure, compose: [A, B]}", "not tenure (category)"),
        ("{variable: household_id, compose: A}", "compose must be a list of source column names"),
        ("{variable: household_id, compose: []}", "compose must be a list of source column names"),
        ("{variable: household_id, compose: [A, B], pad: [2]}", "one width per compose column (2"),
        ("{variable: household_id, compose: [A, B], pad: [2, 0]}", "a whole number from 1"),
        ("{variable: household_id, compose: [A, B], separator: 1}", "separator must be text"),
        ("{variable: household_id, compose: [A, B], pads: [2, 2]}", "unknown key 'pads'"),
        ("{variable: household_id, compose: [A, B], codes: {1: x}}", "unknown key 'codes'"),
        ("{variable: persons, pad: [2]}", "unknown key 'pad' (allowed here: variable, codes"),
        ("{variable: persons, missing: 99}", "'missing' must be a list of source values"),
        ("{compose: [A, B]}", "no 'variable:' says which canonical variable it feeds"),
    ],
)
def test_profile_errors_for_compose_and_missing(tmp_path: Path, entry: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"households:\n  columns:\n    U: unit_code\n    H: household_id\n    BUILT: {entry}\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestError) as caught:
        load_profile(path, "households")
    message = str(caught.value)
    assert message.startswith("Census profile bad.yaml, column BUILT: "), message
    assert fragment in message
    assert "\n" not in message


def test_profile_without_compose_reads_each_column_once(profile: Path) -> None:
    """Composition is recorded on the mapping; plain columns keep their single source."""
    mappings = {m.variable.name: m for m in load_profile(profile, "persons").mappings}
    assert mappings["unit_code"].columns == ("LOC", "NUM")
    assert mappings["unit_code"].pad == (2, 3)
    assert mappings["person_id"].pad == (None, None, 2)
    assert mappings["person_id"].missing == ("0",)
    assert mappings["age"].columns == ("EDAD",) and mappings["age"].compose == ()
    assert mappings["age"].missing == ("999",)
