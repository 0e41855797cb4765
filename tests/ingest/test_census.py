"""Census microdata: profile mapping, streamed validation, canonical Parquet, batches."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from inclusive_cities.ingest import IngestError, import_census, load_profile, microdata_path
from inclusive_cities.store import models, transaction
from tests.ingest.conftest import (
    PERSON_COLUMNS,
    assert_rejected,
    household,
    households_file,
    person,
    persons_file,
    snapshot,
    write_csv,
)


def census(engine: Engine, path: Path, record: str, data_dir: Path, **options: object):  # type: ignore[no-untyped-def]
    return import_census(
        engine, path, record=record, city="TST", period="2024", data_dir=data_dir, **options
    )  # type: ignore[arg-type]


@pytest.fixture
def with_households(city: Engine, tmp_path: Path) -> Engine:
    census(city, households_file(tmp_path / "hh.csv"), "households", tmp_path / "data")
    return city


def test_households_and_persons_mapped_to_canonical_values(city: Engine, tmp_path: Path) -> None:
    data = tmp_path / "data"
    hh = census(city, households_file(tmp_path / "hh.csv"), "households", data)
    people = census(city, persons_file(tmp_path / "p.csv"), "persons", data)
    assert (hh.rows_read, hh.rows_accepted, hh.units_matched) == (3, 3, 3)
    assert (people.rows_read, people.rows_accepted) == (5, 5)
    frame = pd.read_parquet(microdata_path(data, "TST", "2024", "persons"))
    assert list(frame.person_id) == ["P1", "P2", "P3", "P4", "P5"]
    assert list(frame.sex) == ["female", "female", "male", "female", "male"]
    assert frame.age.sum() == 40 + 12 + 41 + 70 + 25
    assert list(frame.nationality) == ["host", "host", "venezuelan", "host", "host"]
    # P_SALUD 9 = "no sabe" becomes missing; P_TRABAJO empty under 15 stays missing
    assert frame.health_insurance.isna().tolist() == [False, False, False, False, True]
    assert frame.labour_status[0] == "employed" and pd.isna(frame.labour_status[1])
    houses = pd.read_parquet(microdata_path(data, "TST", "2024", "households"))
    assert houses.unit_code.tolist() == ["01001", "01002", "02001"]
    assert houses.tenure.tolist() == ["renter", "renter", "owner"]
    assert houses.monthly_rent.isna().tolist() == [False, False, True]
    assert houses.durable_floor.tolist() == [True, True, True]
    with transaction(city) as session:
        batch = session.scalars(
            select(models.ImportBatch).where(models.ImportBatch.kind == "census_persons")
        ).one()
        assert batch.details["rows"] == 5 and batch.rows_accepted == 5
        # the batch names a file of its own; the fixed name links to it
        assert Path(batch.details["parquet"]).samefile(
            microdata_path(data, "TST", "2024", "persons")
        )
        assert (
            Path(batch.details["parquet"]).parent
            == microdata_path(data, "TST", "2024", "persons").parent.resolve()
        )
    # microdata never go into a table: only batches were added
    assert "persons" not in snapshot(city) and "households" not in snapshot(city)


def test_parquet_metadata_names_its_source(with_households: Engine, tmp_path: Path) -> None:
    report = census(with_households, persons_file(tmp_path / "p.csv"), "persons", tmp_path / "data")
    path = microdata_path(tmp_path / "data", "TST", "2024", "persons")
    meta = dict(
        duckdb.connect().execute(f"SELECT key, value FROM parquet_kv_metadata('{path}')").fetchall()
    )
    assert meta[b"source_sha256"].decode() == report.sha256


def test_reimport_noop_and_correction_replaces(with_households: Engine, tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = persons_file(tmp_path / "p.csv")
    first = census(with_households, path, "persons", data)
    assert census(with_households, path, "persons", data).status == "unchanged"
    persons_file(path, [person("01001", "H1", "P1", P_EDAD=33)])
    fixed = census(with_households, path, "persons", data)
    assert fixed.replaced_batch_ids == [first.batch_id]
    assert pd.read_parquet(microdata_path(data, "TST", "2024", "persons")).age.tolist() == [33]
    with transaction(with_households) as session:
        statuses = dict(
            session.execute(
                select(models.ImportBatch.id, models.ImportBatch.status).where(
                    models.ImportBatch.kind == "census_persons"
                )
            ).all()
        )
    assert statuses == {first.batch_id: "replaced", fixed.batch_id: "active"}
    assert not list((data / "microdata/TST/2024").glob(".*"))


def test_accept_valid_writes_rejects_with_reasons(with_households: Engine, tmp_path: Path) -> None:
    path = persons_file(
        tmp_path / "p.csv",
        [
            person("01001", "H1", "P1"),
            person("01001", "H1", "P2", P_EDAD=130),
            person("01001", "HX", "P3"),
            person("01001", "H1", "P4"),
        ],
    )
    report = census(with_households, path, "persons", tmp_path / "data", accept_valid=True)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (4, 2, 2)
    with Path(report.reject_path or "").open(encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert [(r["_row"], r["_column"], r["_value"]) for r in rejects] == [
        ("3", "P_EDAD", "130"),
        ("4", "ID_HOGAR", "HX"),
    ]
    assert "out of range for age (0 to 120)" in rejects[0]["_reason"]
    frame = pd.read_parquet(microdata_path(tmp_path / "data", "TST", "2024", "persons"))
    assert frame.person_id.tolist() == ["P1", "P4"]


def test_dry_run_writes_nothing(with_households: Engine, tmp_path: Path) -> None:
    before = snapshot(with_households)
    report = census(
        with_households,
        persons_file(tmp_path / "p.csv"),
        "persons",
        tmp_path / "data",
        dry_run=True,
    )
    assert report.status == "dry_run" and report.rows_accepted == 5
    assert snapshot(with_households) == before
    assert not microdata_path(tmp_path / "data", "TST", "2024", "persons").exists()


def test_refused_and_dry_run_imports_leave_no_empty_folders(city: Engine, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pytest.raises(IngestError, match="has a header but no rows"):
        census(city, households_file(tmp_path / "empty.csv", rows=[]), "households", data)
    census(city, households_file(tmp_path / "hh.csv"), "households", data, dry_run=True)
    assert not (data / "microdata").exists()
    census(city, households_file(tmp_path / "hh.csv"), "households", data)
    with pytest.raises(IngestError, match="has a header but no rows"):
        census(city, households_file(tmp_path / "empty.csv", rows=[]), "households", data)
    # an earlier import's folder stays, with its file
    assert microdata_path(data, "TST", "2024", "households").exists()


def test_parquet_stata_and_spss_sources(with_households: Engine, tmp_path: Path) -> None:
    frame = pd.read_csv(persons_file(tmp_path / "p.csv"), dtype=str, keep_default_na=False)
    frame.to_parquet(tmp_path / "p.parquet")
    report = census(with_households, tmp_path / "p.parquet", "persons", tmp_path / "data")
    assert report.rows_accepted == 5
    numeric = frame.copy()
    numeric["P_EDAD"] = numeric.P_EDAD.astype(int)
    numeric.to_stata(tmp_path / "p.dta", write_index=False)
    report = census(with_households, tmp_path / "p.dta", "persons", tmp_path / "data")
    assert report.rows_accepted == 5 and report.replaced_batch_ids
    ages = pd.read_parquet(microdata_path(tmp_path / "data", "TST", "2024", "persons")).age
    assert ages.sum() == 40 + 12 + 41 + 70 + 25
    import pyreadstat

    numeric["P_EDAD"] = numeric.P_EDAD + 1
    pyreadstat.write_sav(numeric, str(tmp_path / "p.sav"))
    census(with_households, tmp_path / "p.sav", "persons", tmp_path / "data")
    ages = pd.read_parquet(microdata_path(tmp_path / "data", "TST", "2024", "persons")).age
    assert ages.sum() == 40 + 12 + 41 + 70 + 25 + 5


def test_latin1_census_detected(with_households: Engine, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv", PERSON_COLUMNS, [person("01001", "H1", "Pñ1")], encoding="latin-1"
    )
    census(with_households, path, "persons", tmp_path / "data")
    ids = pd.read_parquet(microdata_path(tmp_path / "data", "TST", "2024", "persons")).person_id
    assert ids.tolist() == ["Pñ1"]


def test_profile_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("persons:\n  columns:\n    EDAD: edad_anos\n", encoding="utf-8")
    with pytest.raises(IngestError, match="'edad_anos' is not a canonical persons variable"):
        load_profile(bad, "persons")
    bad.write_text(
        "persons:\n  columns:\n    SEXO: {variable: sex, codes: {1: hombre}}\n", encoding="utf-8"
    )
    with pytest.raises(IngestError, match="code 1 maps to 'hombre'"):
        load_profile(bad, "persons")
    with pytest.raises(IngestError, match="not found"):
        load_profile("inei_2099", "persons")


# --- bad census files: file, row, column, value in the message; store and data dir unchanged


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        (
            {"P_EDAD": 130},
            ["row 3", "column 'P_EDAD'", "value '130'", "out of range for age (0 to 120)"],
        ),
        ({"P_EDAD": "treinta"}, ["row 3", "column 'P_EDAD'", "value 'treinta'", "not a number"]),
        ({"P_EDAD": "30.5"}, ["row 3", "column 'P_EDAD'", "value '30.5'", "whole number"]),
        ({"P_SEXO": 7}, ["row 3", "column 'P_SEXO'", "value '7'", "code not allowed for sex"]),
        ({"ID_PERSONA": ""}, ["row 3", "column 'ID_PERSONA'", "person_id is required"]),
        (
            {"COD_MANZANA": "99999"},
            ["row 3", "column 'COD_MANZANA'", "value '99999'", "unit code not found"],
        ),
        ({"ID_HOGAR": "H404"}, ["row 3", "column 'ID_HOGAR'", "value 'H404'", "households file"]),
        ({"ID_PERSONA": "P1"}, ["row 3", "column 'ID_PERSONA'", "value 'P1'", "first at row 2"]),
    ],
    ids=["range", "number", "integer", "code", "required", "unit", "orphan", "duplicate"],
)
def test_bad_person_values(
    with_households: Engine, tmp_path: Path, changes: dict[str, object], fragments: list[str]
) -> None:
    path = persons_file(
        tmp_path / "bad.csv", [person("01001", "H1", "P1"), person("01001", "H1", "P2", **changes)]
    )
    data = tmp_path / "data"
    assert_rejected(
        with_households,
        lambda: census(with_households, path, "persons", data),
        "bad.csv",
        "1 of 2 rows rejected",
        *fragments,
        data_dir=data,
    )


def test_bad_household_stratum(city: Engine, tmp_path: Path) -> None:
    path = households_file(tmp_path / "hh.csv", [household("01001", "H1", V_ESTRATO=8)])
    assert_rejected(
        city,
        lambda: census(city, path, "households", tmp_path / "data"),
        "hh.csv",
        "row 2",
        "column 'V_ESTRATO'",
        "value '8'",
        "stratum (1 to 6)",
    )


def test_wrong_layout_names_missing_columns(city: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "other.csv", ["MANZANA", "HOGAR"], [["01001", "H1"]])
    assert_rejected(
        city,
        lambda: census(city, path, "households", tmp_path / "data"),
        "other.csv",
        "COD_MANZANA",
        "profile 'demo'",
    )


def test_truncated_census_csv(with_households: Engine, tmp_path: Path) -> None:
    path = persons_file(tmp_path / "cut.csv")
    raw = path.read_bytes()
    path.write_bytes(raw[: raw.rindex(b"\n", 0, len(raw) - 1) + 12])
    assert_rejected(
        with_households,
        lambda: census(with_households, path, "persons", tmp_path / "data"),
        "cut.csv",
        "truncated",
    )


def test_header_only_census(city: Engine, tmp_path: Path) -> None:
    path = households_file(tmp_path / "hh.csv", [])
    assert_rejected(
        city, lambda: census(city, path, "households", tmp_path / "data"), "hh.csv", "no rows"
    )


def test_census_before_boundaries(engine: Engine, tmp_path: Path) -> None:
    path = households_file(tmp_path / "hh.csv")
    assert_rejected(
        engine,
        lambda: census(engine, path, "households", tmp_path / "data"),
        "hh.csv",
        "city TST",
        "boundaries",
    )


def test_numeric_code_map_checked_against_range(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "households:\n  columns:\n    M: unit_code\n    H: household_id\n"
        "    E: {variable: stratum, codes: {1: 1, 2: 2, 0: null}}\n",
        encoding="utf-8",
    )
    assert load_profile(path, "households").mappings[2].codes == {"1": 1, "2": 2, "0": None}
    path.write_text(path.read_text(encoding="utf-8").replace("2: 2", "2: 7"), encoding="utf-8")
    with pytest.raises(IngestError, match="code 2 maps to '7'"):
        load_profile(path, "households")


def test_row_numbers_and_order_kept_when_read_in_parallel(
    with_households: Engine, tmp_path: Path
) -> None:
    """A file large enough for DuckDB to read in parallel chunks: problems still name their
    line in the file, and the canonical rows keep the file's order."""
    rows = [person("01001", "H1", f"P{i}", P_EDAD=i % 100) for i in range(300_000)]
    bad = [5, 150_001, 299_998]  # indexes into rows; the file's row = index + 2 (header)
    for index in bad:
        rows[index][PERSON_COLUMNS.index("P_EDAD")] = 130
    rows[250_000][PERSON_COLUMNS.index("ID_PERSONA")] = "P7"  # repeats row 9's identifier
    path = persons_file(tmp_path / "big.csv", rows)
    report = census(
        with_households, path, "persons", tmp_path / "data", accept_valid=True, threads=2
    )
    assert (report.rows_read, report.rows_rejected) == (300_000, 4)
    assert [(p.row, p.column) for p in report.problems] == [
        (7, "P_EDAD"),
        (150_003, "P_EDAD"),
        (250_002, "ID_PERSONA"),
        (300_000, "P_EDAD"),
    ]
    frame = pd.read_parquet(microdata_path(tmp_path / "data", "TST", "2024", "persons"))
    expected = [f"P{i}" for i in range(300_000) if i not in (*bad, 250_000)]
    assert frame.person_id.tolist() == expected
