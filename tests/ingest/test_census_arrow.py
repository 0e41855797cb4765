"""The Arrow checking pass (issue #21) gives what the DuckDB reader gives, row for row.

A messy persons file, read in many small blocks, is imported by both readers; the problems,
the reject file, the counts and the canonical Parquet (schema with nullability, rows, order,
key/value metadata) must be equal, and the rejected rows are the ones planted by hand.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine

from inclusive_cities.ingest import IngestError, census_arrow, import_census
from inclusive_cities.ingest.census_arrow import ArrowCensusReader
from inclusive_cities.store import connect
from tests.ingest.conftest import PERSON_COLUMNS, household, households_file, person

UNITS = [("01001", "H1"), ("01002", "H2"), ("02001", "H3")]
ROWS = 300


def messy_rows() -> tuple[list[list[object]], dict[int, str]]:
    """300 persons with planted problems; returns the rows and {file row: problem}."""
    rows = [person(*UNITS[k % 3], f"P{k:04d}") for k in range(ROWS)]
    planted = {
        10: ("P_SEXO", 3, "code"),
        11: ("P_SEXO", "1.0", None),  # a Stata float code is the code
        12: ("P_EDAD", "abc", "number"),
        13: ("P_EDAD", "30.5", "integer"),
        14: ("P_EDAD", "-5", "range"),
        15: ("P_EDAD", " 31 ", None),  # spaces are trimmed
        16: ("P_EDAD", "999", None),  # --missing 999
        17: ("COD_MANZANA", "99999", "unit"),
        18: ("ID_HOGAR", "H9", "orphan"),
        19: ("ID_PERSONA", "", "required"),
        20: ("ID_PERSONA", " P0005 ", "duplicate"),  # trimmed, then a repeat of row 7
        21: ("ID_PERSONA", "P0012", "duplicate"),  # a repeat of a row that is bad itself
        22: ("ID_PERSONA", "Ñ22\u00a0", None),  # DuckDB's trim() removes a no-break space
        24: ("P_SALUD", "\t1", "code"),  # a tab is not trimmed
        25: ("P_EDAD", "1e1", None),
        26: ("P_ANOS_ESTUDIO", "-999", None),  # --missing -999
        30: ("P_SEXO", 7, "code"),  # also a repeat of P0006, but its value problem wins
        40: ("ID_HOGAR", " H1 ", None),
    }
    for index, (column, value, _problem) in planted.items():
        rows[index][PERSON_COLUMNS.index(column)] = value
    rows[30][PERSON_COLUMNS.index("ID_PERSONA")] = "P0006"
    bad = {index + 2: problem for index, (_c, _v, problem) in planted.items() if problem}
    return rows, bad


def write_messy(path: Path) -> tuple[Path, dict[int, str]]:
    rows, bad = messy_rows()
    with path.open("w", newline="", encoding="utf-8-sig") as handle:  # with a BOM
        writer = csv.writer(handle)
        writer.writerow(PERSON_COLUMNS)
        writer.writerows(rows[:-1])
        # the last record: every field quoted, a quoted empty cell and a newline in a value
        handle.write('"02001","H3","P02\n99","1","30","1","","2","1","","2","2"\r\n')
    return path, bad


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, city_template: Path) -> dict[str, object]:
    """The messy file imported by each reader into a store of its own."""
    folder = tmp_path_factory.mktemp("arrow")
    source, bad = write_messy(folder / "persons.csv")
    results: dict[str, object] = {"bad": bad}
    for name, arrow in (("arrow", True), ("duckdb", False)):
        database = folder / f"{name}.db"
        shutil.copy(city_template, database)
        engine = connect(f"sqlite:///{database}")
        data = folder / f"data-{name}"
        households = households_file(folder / "hh.csv")
        import_census(
            engine, households, record="households", city="TST", period="2024", data_dir=data
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ArrowCensusReader, "block_bytes", 2048)  # ≈ 40 rows a block
            report = import_census(
                engine,
                source,
                record="persons",
                city="TST",
                period="2024",
                data_dir=data,
                accept_valid=True,
                missing=("999", "-999"),
                arrow=arrow,
                reject_path=folder / f"rejects-{name}.csv",
            )
        results[name] = report
        engine.dispose()
    return results


def test_rejected_rows_are_the_planted_ones(imported: dict[str, object]) -> None:
    report = imported["arrow"]
    bad = imported["bad"]
    assert report.rows_read == ROWS  # type: ignore[attr-defined]
    assert report.rows_rejected == len(bad)  # type: ignore[attr-defined]
    rows = {p.row: p for p in report.problems}  # type: ignore[attr-defined]
    assert sorted(rows) == sorted(bad)
    assert rows[22].column == "ID_PERSONA" and "7)" in rows[22].reason  # P0005 first at 7
    assert "14)" in rows[23].reason  # P0012's first copy is row 14, itself rejected
    assert rows[19].column == "COD_MANZANA" and rows[19].value == "99999"
    assert rows[20].column == "ID_HOGAR" and rows[20].value == "H9"
    assert rows[26].value == "\t1" and rows[32].column == "P_SEXO"
    assert report.units_matched == 3 and report.units_unmatched == 1  # type: ignore[attr-defined]


def test_same_problems_rejects_and_counts_as_duckdb(imported: dict[str, object]) -> None:
    arrow, duck = imported["arrow"], imported["duckdb"]
    for field in (
        "rows_read",
        "rows_rejected",
        "rows_accepted",
        "units_matched",
        "units_unmatched",
    ):
        assert getattr(arrow, field) == getattr(duck, field), field
    assert [str(p) for p in arrow.problems] == [str(p) for p in duck.problems]  # type: ignore[attr-defined]
    assert (
        Path(arrow.reject_path).read_text(encoding="utf-8")  # type: ignore[attr-defined]
        == Path(duck.reject_path).read_text(encoding="utf-8")  # type: ignore[attr-defined]
    )


def test_same_canonical_parquet_as_duckdb(imported: dict[str, object]) -> None:
    arrow = pq.read_table(imported["arrow"].details["parquet"])  # type: ignore[attr-defined]
    duck = pq.read_table(imported["duckdb"].details["parquet"])  # type: ignore[attr-defined]
    assert arrow.schema.equals(duck.schema, check_metadata=True)
    assert arrow.equals(duck)
    ids = arrow.column("person_id").to_pylist()
    assert ids[-1] == "P02\n99" and "Ñ22" in ids and ids.count("P0005") == 1
    assert arrow.num_rows == ROWS - len(imported["bad"])  # type: ignore[arg-type]


def test_clean_file_spilled_beyond_memory_limit(
    tmp_path: Path, city: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks past half the memory limit wait in a stream file; the output keeps file order
    and DuckDB's schema (columns without missing values are 'required')."""
    rows = [person(*UNITS[k % 3], f"P{k:04d}", P_TRABAJO=1 + k % 3) for k in range(ROWS)]
    source = tmp_path / "p.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([PERSON_COLUMNS, *rows])
    data = tmp_path / "data"
    import_census(
        city,
        households_file(tmp_path / "hh.csv"),
        record="households",
        city="TST",
        period="2024",
        data_dir=data,
    )
    spilled: list[Path] = []
    hold = ArrowCensusReader._hold

    def watch(self: ArrowCensusReader, block: object) -> None:
        hold(self, block)  # type: ignore[arg-type]
        if self._spill is not None and self._spill_path not in spilled:
            spilled.append(self._spill_path)

    monkeypatch.setattr(ArrowCensusReader, "block_bytes", 2048)
    monkeypatch.setattr(ArrowCensusReader, "_hold", watch)
    monkeypatch.setattr(ArrowCensusReader, "spill_bytes", 4096)
    monkeypatch.setattr(ArrowCensusReader, "row_group_rows", 64)
    report = import_census(city, source, record="persons", city="TST", period="2024", data_dir=data)
    assert spilled and not spilled[0].exists()  # used, then removed
    # row groups of 64 rows across blocks of ≈ 40: 300 = 4 × 64 + 44
    metadata = pq.ParquetFile(report.details["parquet"]).metadata
    assert [metadata.row_group(k).num_rows for k in range(metadata.num_row_groups)] == [
        64,
        64,
        64,
        64,
        44,
    ]
    table = pq.read_table(report.details["parquet"])
    assert table.column("person_id").to_pylist() == [f"P{k:04d}" for k in range(ROWS)]
    assert table.column("labour_status").to_pylist()[:4] == [
        "employed",
        "unemployed",
        "inactive",
        "employed",
    ]
    assert not table.schema.field("labour_status").nullable
    assert table.schema.field("informal").nullable is False
    assert pq.ParquetFile(report.details["parquet"]).metadata.metadata == {
        b"source_sha256": report.sha256.encode(),
        b"record": b"persons",
    }


def test_malformed_row_gives_the_duckdb_message(tmp_path: Path, city: Engine) -> None:
    """A row pyarrow cannot parse sends the import to the DuckDB reader, whose message the
    user has always seen."""
    data = tmp_path / "data"
    import_census(
        city,
        households_file(tmp_path / "hh.csv"),
        record="households",
        city="TST",
        period="2024",
        data_dir=data,
    )
    source = tmp_path / "p.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows([PERSON_COLUMNS, person("01001", "H1", "P1")])
        writer.writerow([*person("01001", "H1", "P2"), "extra"])
    messages = []
    for arrow in (True, False):
        with pytest.raises(IngestError) as caught:
            import_census(
                city,
                source,
                record="persons",
                city="TST",
                period="2024",
                data_dir=data,
                arrow=arrow,
            )
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "p.csv" in messages[0]
    assert census_arrow.ArrowPassUnavailable.__doc__


TEXTS = [
    None,
    "",
    " ",
    "1",
    "2",
    "9",
    "1.0",
    "1.00",
    ".0",
    "01",
    " 1 ",
    "\t1",
    "+1",
    "-1",
    "-0",
    "0",
    "1.",
    ".5",
    "2.5",
    "30",
    "120",
    "121",
    "-5",
    "1e1",
    "1E+2",
    "1e400",
    "abc",
    "999",
    "-999",
    "1,5",
    "1.234,5",
    "true",
    "TRUE",
    "False",
    "yes",
    "male",
    "female",
    "host",
    "Ñ",
    "1\u00a0",
    "inf",
    "nan",
    "1_000",
    "0x10",
    "12345678901234567890",
]


@pytest.mark.parametrize(
    ("variable", "codes", "decimal", "missing"),
    [
        ("age", {}, ".", ("", "999")),
        ("monthly_income", {}, ",", ("",)),
        ("monthly_rent", {}, ".", ()),
        ("internet", {}, ".", ("",)),
        ("sex", {}, ".", ("",)),
        ("sex", {"1": "male", "2": "female"}, ".", ("",)),
        ("health_insurance", {"1": True, "2": False, "9": None}, ".", ("",)),
        ("person_id", {}, ".", ("", "-999")),
    ],
)
def test_python_checks_agree_with_the_sql(
    variable: str, codes: dict[str, object], decimal: str, missing: tuple[str, ...]
) -> None:
    """Every text the Python checks decide gets the value, problem and trimmed text the SQL
    of the DuckDB reader gives it; plain texts are decided in Python."""
    import duckdb
    import pyarrow as pa

    from inclusive_cities.ingest.census import _column_sql, _sql_type
    from inclusive_cities.ingest.variables import Mapping, canonical_variables

    record = (
        "households" if variable in ("monthly_income", "monthly_rent", "internet") else "persons"
    )
    mapping = Mapping("X", canonical_variables()[record][variable], codes=codes)
    check = census_arrow.python_check(mapping, decimal, missing)
    assert check is not None
    helpers, value, problem = _column_sql(0, mapping, decimal, missing)
    con = duckdb.connect()
    con.register("t", pa.table({"v": pa.array(TEXTS, pa.string())}))
    sql = (
        f"SELECT CAST({value} AS {_sql_type(mapping.variable.type)}), {problem}, r0 FROM "
        f"(SELECT r0, {', '.join(helpers)} FROM (SELECT trim(v) AS r0 FROM t))"
    )
    expected = con.sql(sql).fetchall()
    decided = 0
    for text, want in zip(TEXTS, expected, strict=True):
        got = check(text)
        if got is None:
            continue
        decided += 1
        assert got == want, (text, got, want)
        assert type(got[0]) is type(want[0]), (text, got, want)
    plain = [
        t
        for t in TEXTS
        if t is None or (t.isascii() and t.strip(" ").lstrip("+-").replace(".", "").isdigit())
    ]
    assert decided >= len(plain) - 3


def test_orphans_of_zero_padded_households(tmp_path: Path, city: Engine) -> None:
    """Digit-only household keys of one width are compared as integers: '00000009' is an
    orphan, '0000001' (one digit short) too, although both would be 9 and 1 as numbers."""
    data = tmp_path / "data"
    households = [household(u, f"{k + 1:08d}") for k, (u, _h) in enumerate(UNITS)]
    import_census(
        city,
        households_file(tmp_path / "hh.csv", households),
        record="households",
        city="TST",
        period="2024",
        data_dir=data,
    )
    rows = [person(UNITS[k % 3][0], f"{k % 3 + 1:08d}", f"P{k:03d}") for k in range(12)]
    rows[4][1] = "00000009"
    expected = [(6, "00000009")]
    for change in (None, "0000001"):  # every key 8 digits wide (integers), then not (text)
        if change:
            rows[7][1] = change
            expected.append((9, change))
        source = tmp_path / "p.csv"
        with source.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([PERSON_COLUMNS, *rows])
        report = import_census(
            city,
            source,
            record="persons",
            city="TST",
            period="2024",
            data_dir=data,
            accept_valid=True,
            dry_run=True,
        )
        assert [(p.row, p.value) for p in report.problems] == expected
    assert census_arrow._digit_keys(pa.array(["007", "010"])) is not None
    assert census_arrow._digit_keys(pa.array(["007", "10"])) is None
    assert census_arrow._digit_keys(pa.array(["0a7"])) is None
