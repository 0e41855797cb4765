"""Census microdata (households, persons) streamed through DuckDB into canonical Parquet.

The file is never loaded whole into Python: DuckDB reads it in a parallel streaming pass
that maps codes and checks every value into a temporary DuckDB table (spilled to disk
beyond the memory limit, rows numbered by their order in the file); queries on that table
then check units, households and duplicates, count and list the problems, and write the
canonical Parquet. Each import writes a file of its own,
``<data_dir>/microdata/<city>/<period>/<record>.<pid>.<token>.parquet``, renamed into place
inside the database transaction that registers its import batch; the batch records that
name and readers (``indicators compute``) open the file the committed batch points to. A
killed import therefore leaves a file no batch names, which is never read and is removed
by the next import. ``<record>.parquet`` beside it is a hard link to the committed file,
updated after the commit, for people and tools that look for a fixed name.
Microdata never enter the observatory's store.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Connection, Engine, select

from inclusive_cities import store
from inclusive_cities.config import get_settings
from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest.common import (
    BatchRow,
    ImportReport,
    IngestError,
    Problem,
    ProgressCallback,
    Timer,
    active_batch_rows,
    city_id_of,
    default_reject_path,
    enforce,
    period_id_of,
    quiet_progress,
    register_batch,
    same_file_batch_row,
    sha256_file,
    smallest_level_id,
)
from inclusive_cities.ingest.identifiers import validate_identifier
from inclusive_cities.ingest.tabular import decode, require_data_file
from inclusive_cities.ingest.variables import Mapping, Profile, load_profile, normalise_record
from inclusive_cities.store.tables import BATCHES, UNITS

PROBLEM_LIST_LIMIT = 1000
ID_COLUMNS: dict[str, str] = {"households": "household_id", "persons": "person_id"}
STAT_SUFFIXES: tuple[str, ...] = (".dta", ".sav", ".zsav")
PARQUET_SUFFIXES: tuple[str, ...] = (".parquet",)


def microdata_path(data_dir: Path | str, city: str, period: str, record: str) -> Path:
    """The fixed name of the committed microdata of a city, period and record (a hard link
    to the file its active import batch points to)."""
    city = validate_identifier("city", city)
    period = validate_identifier("period", period)
    return Path(data_dir) / "microdata" / city / period / f"{normalise_record(record)}.parquet"


def version_path(final: Path) -> Path:
    """A new file name for one import's canonical Parquet, beside the fixed name: the pid
    says whether the process that wrote it still runs, the token makes it unique."""
    record = final.name.removesuffix(".parquet")
    return final.with_name(f"{record}.{os.getpid()}.{uuid.uuid4().hex[:16]}.parquet")


_IN_FLIGHT: set[str] = set()
"""Version files this process renamed into place whose transaction has not ended yet."""
_IN_FLIGHT_LOCK = threading.Lock()


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _column_sql(
    index: int, mapping: Mapping, decimal: str, missing: tuple[str, ...]
) -> tuple[list[str], str, str]:
    """SQL for one mapping, in layers so that DuckDB parses each cell once.

    Returns (helper columns computed from ``r{index}``, the canonical value and the problem
    code, both written over ``r/m/n/k{index}``). ``r`` is the trimmed text, ``m`` says it is
    missing, ``n`` is its number, ``k`` the code without a trailing ".0" (Stata floats).
    """
    r, m, n, k = (f"{letter}{index}" for letter in "rmnk")
    missing_list = ", ".join(literal(value) for value in missing) or "''"
    helpers = [f"({r} IS NULL OR {r} IN ({missing_list})) AS {m}"]
    variable = mapping.variable
    if mapping.codes:
        helpers.append(
            f"CASE WHEN {r} LIKE '%.0' THEN left({r}, length({r}) - 2) ELSE {r} END AS {k}"
        )
        cases = " ".join(
            f"WHEN {literal(code)} THEN {_sql_constant(target, variable.type)}"
            for code, target in mapping.codes.items()
        )
        known = ", ".join(literal(code) for code in mapping.codes)
        value = f"CASE WHEN {m} THEN NULL ELSE (CASE {k} {cases} ELSE NULL END) END"
        problem = f"CASE WHEN {m} THEN NULL WHEN {k} NOT IN ({known}) THEN 'code' END"
    elif variable.type in ("integer", "number"):
        text = f"replace(replace({r}, '.', ''), ',', '.')" if decimal == "," else r
        helpers.append(f"TRY_CAST({text} AS DOUBLE) AS {n}")
        checks = [f"WHEN {n} IS NULL OR NOT isfinite({n}) THEN 'number'"]
        if variable.type == "integer":
            checks.append(f"WHEN {n} <> floor({n}) THEN 'integer'")
        if variable.low is not None:
            checks.append(f"WHEN {n} < {variable.low!r} THEN 'range'")
        if variable.high is not None:
            checks.append(f"WHEN {n} > {variable.high!r} THEN 'range'")
        cast = "BIGINT" if variable.type == "integer" else "DOUBLE"
        value = f"CASE WHEN {m} THEN NULL ELSE TRY_CAST({n} AS {cast}) END"
        problem = f"CASE WHEN {m} THEN NULL {' '.join(checks)} END"
    elif variable.type == "boolean":
        value = (
            f"CASE WHEN {m} THEN NULL WHEN lower({r}) IN ('true', '1') THEN TRUE "
            f"WHEN lower({r}) IN ('false', '0') THEN FALSE END"
        )
        problem = (
            f"CASE WHEN {m} THEN NULL "
            f"WHEN lower({r}) NOT IN ('true', '1', 'false', '0') THEN 'code' END"
        )
    elif variable.type == "category":
        allowed = ", ".join(literal(v) for v in variable.values)
        value = f"CASE WHEN {m} OR {r} NOT IN ({allowed}) THEN NULL ELSE {r} END"
        problem = f"CASE WHEN {m} THEN NULL WHEN {r} NOT IN ({allowed}) THEN 'code' END"
    else:
        value = f"CASE WHEN {m} THEN NULL ELSE {r} END"
        problem = "NULL"
    if variable.required:
        problem = f"CASE WHEN {m} THEN 'required' ELSE {problem} END"
    return helpers, value, problem


def compose_code(kind: str, index: int) -> str:
    """Problem code of a composed column: the kind ('part' empty, 'width' too long) and the
    mapping's position, since one source column may be part of several composed columns."""
    return f"{kind}:{index}"


def _compose_sql(
    index: int, mapping: Mapping, missing: tuple[str, ...]
) -> tuple[list[str], list[str], list[str]]:
    """SQL for a composed column, in three layers like ``_column_sql``.

    Returns (the parts read as trimmed text ``r{index}_{part}``; each part with its flags
    ``e`` empty and ``l`` too long; the composed text ``r{index}``, the problem kind
    ``q{index}`` and the offending part's column ``c{index}`` and value ``x{index}``).
    """
    missing_list = ", ".join(literal(value) for value in missing) or "''"
    reads, flags, texts, wrong = [], [], [], []
    kinds, columns, values = [], [], []
    for part, (column, width) in enumerate(zip(mapping.compose, mapping.pad, strict=True)):
        r, e, w = f"r{index}_{part}", f"e{index}_{part}", f"l{index}_{part}"
        reads.append(f"trim(CAST({ident(column)} AS VARCHAR)) AS {r}")
        flags.extend([r, f"({r} IS NULL OR {r} IN ({missing_list})) AS {e}"])
        if width is None:
            bad = e
            kinds.append(f"WHEN {e} THEN 'empty'")
            texts.append(r)
        else:
            flags.append(f"length({r}) > {int(width)} AS {w}")
            bad = f"{e} OR {w}"
            kinds.append(f"WHEN {e} THEN 'empty' WHEN {w} THEN 'width'")
            texts.append(f"lpad({r}, {int(width)}, '0')")
        wrong.append(f"({bad})")
        columns.append(f"WHEN {bad} THEN {literal(column)}")
        values.append(f"WHEN {bad} THEN {r}")
    joined = f"concat_ws({literal(mapping.separator)}, {', '.join(texts)})"
    built = [
        f"CASE WHEN {' OR '.join(wrong)} THEN NULL ELSE {joined} END AS r{index}",
        f"CASE {' '.join(kinds)} END AS q{index}",
        f"CASE {' '.join(columns)} END AS c{index}",
        f"CASE {' '.join(values)} END AS x{index}",
    ]
    return reads, flags, built


def _sql_constant(value: object, kind: str) -> str:
    if value is None:
        return "NULL"
    if kind == "boolean":
        return "TRUE" if value else "FALSE"
    return literal(value)


def _sql_type(kind: str) -> str:
    return {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}.get(kind, "VARCHAR")


def canonical_schema(record: str, profile: str | Path = "demo") -> list[tuple[str, str]]:
    """Column names and DuckDB types of the canonical Parquet a profile's import writes.

    Categories stay text and integers BIGINT: measured on 5M persons, small integer codes for
    categories and an integer unit key saved at most a tenth of the block aggregation's CPU
    (benchmarks/README.md, Indicators), not worth a code book every reader would need.
    """
    return [
        (m.variable.name, _sql_type(m.variable.type))
        for m in load_profile(profile, normalise_record(record)).mappings
    ]


def write_canonical(
    con: duckdb.DuckDBPyConnection,
    rows_sql: str,
    target: Path,
    *,
    sha: str,
    record: str,
    progress: ProgressCallback | None = None,
) -> None:
    """The one statement that writes canonical microdata (also used by the benchmarks)."""
    sql = f"""COPY ({rows_sql})
              TO {literal(target)} (FORMAT parquet, COMPRESSION zstd,
                  KV_METADATA {{source_sha256: {literal(sha)}, record: {literal(record)}}})"""
    _run(con, sql, _("Writing canonical Parquet"), progress or quiet_progress)


def _source_sql(path: Path, profile: Profile, encoding: str) -> str:
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return f"read_parquet({literal(path)})"
    options = [
        "header = true",
        "all_varchar = true",
        f"encoding = {literal(encoding)}",
        "quote = '\"'",
        "escape = '\"'",
    ]
    if profile.delimiter:
        options.append(f"delim = {literal(profile.delimiter)}")
    return f"read_csv({literal(path)}, {', '.join(options)})"


def _csv_encoding(path: Path, profile: Profile) -> str:
    """UTF-8 unless the start of the file says Latin-1 (or the profile names one)."""
    if profile.encoding:
        return (
            "latin-1"
            if profile.encoding.lower().replace("_", "-")
            in ("latin-1", "latin1", "iso-8859-1", "cp1252")
            else "utf-8"
        )
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(
            _(
                "{file} is saved as UTF-16 (Unicode text): save it as CSV UTF-8 (in Excel: "
                "'CSV UTF-8 (comma delimited)') and import it again."
            ).format(file=path.name)
        )
    cut = head.rfind(b"\n")
    _text, used = decode(head[: cut + 1] if cut > 0 else head, path.name)
    return "latin-1" if used == "latin-1" else "utf-8"


def stat_to_parquet(path: Path, target: Path, chunk_rows: int = 200_000) -> None:
    """Stata/SPSS files converted chunk by chunk (pyreadstat), never whole in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pyreadstat

    reader = pyreadstat.read_dta if path.suffix.lower() == ".dta" else pyreadstat.read_sav
    writer = None
    try:
        for frame, _meta in pyreadstat.read_file_in_chunks(reader, str(path), chunksize=chunk_rows):
            table = pa.Table.from_pandas(frame.astype("string"), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema)
            writer.write_table(table.cast(writer.schema))
    except (pyreadstat.ReadstatError, OSError, ValueError) as error:
        raise IngestError(
            _(
                "{file} cannot be read as a Stata/SPSS file ({reason}); it may be truncated: "
                "export it again."
            ).format(file=path.name, reason=str(error).splitlines()[0])
        ) from error
    finally:
        if writer is not None:
            writer.close()


def _run(con: duckdb.DuckDBPyConnection, sql: str, step: str, progress: ProgressCallback) -> None:
    """Run a long query while reporting DuckDB's own progress (percent)."""
    failure: list[BaseException] = []

    def work() -> None:
        try:
            con.execute(sql)
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.05)
        with suppress(Exception):
            done = con.query_progress()
            if done >= 0:
                progress(step, int(done), 100)
    if failure:
        raise failure[0]
    progress(step, 100, 100)


class CensusReader:
    """The streaming validation of one census file against a profile (no store needed)."""

    def __init__(
        self,
        path: Path,
        profile: Profile,
        work_dir: Path,
        *,
        unit_codes: list[str] | None = None,
        household_ids: Path | None = None,
        memory_limit: str = "1GB",
        threads: int | None = None,
    ) -> None:
        self.path = path
        self.profile = profile
        self.record = profile.record
        self.work_dir = work_dir
        self.unit_codes = unit_codes
        self.household_ids = household_ids
        self.memory_limit = memory_limit
        self.staged = ""  # the staged rows with their file row numbers, once staged
        self.converted: Path | None = None
        self.threads = threads
        self._con: duckdb.DuckDBPyConnection | None = None
        self.spill = work_dir / f".{self.record}.{os.getpid()}.{uuid.uuid4().hex}.spill"
        self.header_offset = 1
        self.unit = "row"

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, opened when first needed (opening costs ≈ 30 ms of CPU,
        which a clean file through the Arrow pass never needs to pay)."""
        if self._con is None:
            con = duckdb.connect()
            con.execute(f"SET memory_limit = {literal(self.memory_limit)}")
            con.execute("SET preserve_insertion_order = true")
            con.execute("SET enable_progress_bar = true")
            con.execute("SET enable_progress_bar_print = false")
            con.execute(f"SET temp_directory = {literal(self.spill)}")
            if self.threads:
                con.execute(f"SET threads = {int(self.threads)}")
            self._con = con
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
        shutil.rmtree(self.spill, ignore_errors=True)
        if self.converted is not None:
            with suppress(FileNotFoundError):
                self.converted.unlink()

    def _source(self) -> str:
        path = self.path
        suffix = path.suffix.lower()
        if suffix in STAT_SUFFIXES:
            self.converted = (
                self.work_dir / f".{self.record}.{os.getpid()}.{uuid.uuid4().hex}.source.parquet"
            )
            stat_to_parquet(path, self.converted)
            path = self.converted
        if path.suffix.lower() in PARQUET_SUFFIXES:
            self.header_offset, self.unit = 0, "record"
            return f"read_parquet({literal(path)})"
        return _source_sql(path, self.profile, _csv_encoding(path, self.profile))

    def columns(self, source: str) -> list[str]:
        try:
            described = self.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        except duckdb.Error as error:
            raise self._read_error(error) from error
        return [str(row[0]) for row in described]

    def _read_error(self, error: Exception) -> IngestError:
        text = " ".join(str(error).split())
        if "unicode" in text.lower() or "utf" in text.lower():
            return IngestError(
                _(
                    "{file} is not valid UTF-8 ({reason}): save it as UTF-8 or set 'file: "
                    "encoding: latin-1' in the profile."
                ).format(file=self.path.name, reason=text[:300])
            )
        return IngestError(
            _(
                "{file} cannot be read ({reason}); the file may be truncated or malformed: export "
                "it again."
            ).format(file=self.path.name, reason=text[:300])
        )

    def stage_file(self, progress: ProgressCallback) -> None:
        """Pass 1: stream the source into the staging Parquet with values and problems."""
        source = self._source()
        self.check_columns(set(self.columns(source)))
        self._stage(source, progress)

    def check_columns(self, present: set[str]) -> None:
        """Every column the profile reads is in the file (else one error naming them)."""
        plain = [m for m in self.profile.mappings if not m.compose]
        missing = [m.source for m in plain if m.source not in present]
        if missing:
            raise IngestError(
                _(
                    "{file}: columns {columns} named in profile '{profile}' are missing (the file "
                    "has: {present}): use the right profile or fix the header."
                ).format(
                    file=self.path.name,
                    columns=", ".join(missing),
                    profile=self.profile.name,
                    present=", ".join(sorted(present))[:400],
                )
            )
        for mapping in self.profile.mappings:
            absent = [c for c in mapping.compose if c not in present]
            if absent:
                raise IngestError(
                    _(
                        "{file}: column {columns}, which profile {profile} composes into "
                        "{column}, is not in the file (it has: {present}): correct the compose "
                        "list in {profile} or import the file it was written for."
                    ).format(
                        file=self.path.name,
                        columns=", ".join(absent),
                        profile=self.profile.file or self.profile.name,
                        column=mapping.source,
                        present=", ".join(sorted(present))[:400],
                    )
                )

    def _stage(self, source: str, progress: ProgressCallback) -> None:
        raws: list[str] = []
        helpers: list[str] = []
        values: list[str] = []
        problems: list[str] = []
        columns_cases: list[str] = []
        raw_cases: list[str] = []
        flags: list[str] = []  # per-part flags and then the composed text: two layers that
        built: list[str] = []  # are only added to the query when a profile composes a column
        for index, mapping in enumerate(self.profile.mappings):
            name = mapping.variable.name
            missing_values = self.profile.missing + mapping.missing
            if mapping.compose:
                part_reads, part_flags, composed = _compose_sql(index, mapping, missing_values)
                raws.extend(part_reads)
                flags.extend(part_flags)
                built.extend(composed)
                helpers.extend(f"{letter}{index}" for letter in "rqcx")
                kinds = f"WHEN 'width' THEN {literal(compose_code('width', index))}"
                if mapping.variable.required:
                    kinds += f" WHEN 'empty' THEN {literal(compose_code('part', index))}"
                values.append(
                    f"r{index} AS {ident(name)}, CASE q{index} {kinds} END AS p{index}, "
                    f"c{index}, x{index}"
                )
                columns_cases.append(f"WHEN p{index} IS NOT NULL THEN c{index}")
                raw_cases.append(f"WHEN p{index} IS NOT NULL THEN x{index}")
            else:
                extra, value, problem = _column_sql(
                    index, mapping, self.profile.decimal, missing_values
                )
                raws.append(f"trim(CAST({ident(mapping.source)} AS VARCHAR)) AS r{index}")
                flags.append(f"r{index}")
                built.append(f"r{index}")
                helpers.extend([f"r{index}", *extra])
                values.append(
                    f"CAST({value} AS {_sql_type(mapping.variable.type)}) AS {ident(name)}, "
                    f"{problem} AS p{index}, r{index}"
                )
                columns_cases.append(f"WHEN p{index} IS NOT NULL THEN {literal(mapping.source)}")
                raw_cases.append(f"WHEN p{index} IS NOT NULL THEN r{index}")
            problems.append(f"WHEN p{index} IS NOT NULL THEN p{index}")
        read = f"(SELECT {', '.join(raws)} FROM {source}) s"
        if any(m.compose for m in self.profile.mappings):
            read = f"(SELECT {', '.join(built)} FROM (SELECT {', '.join(flags)} FROM {read}) f) s"
        if self.unit_codes is not None:
            codes = pa.table({"code": pa.array(self.unit_codes, type=pa.string())})
            self.con.register("unit_codes", codes)
            self.con.execute("CREATE TEMP TABLE units AS SELECT DISTINCT code FROM unit_codes")
            self.con.unregister("unit_codes")
        if self.household_ids is not None and self.record == "persons":
            self.con.execute(
                "CREATE TEMP TABLE households AS SELECT DISTINCT household_id AS hid "
                f"FROM read_parquet({literal(self.household_ids)})"
            )
        canonical = ", ".join(ident(m.variable.name) for m in self.profile.mappings)
        # A temporary table, not a staging Parquet file: DuckDB keeps it in memory and spills
        # it to the temp directory beyond the memory limit, and writing then re-reading
        # Parquet cost more CPU than all the checks. Insertion order is kept, so ``rowid``
        # numbers the rows in file order without a (single-threaded) row_number() window.
        sql = f"""
            CREATE TEMP TABLE stage AS
                SELECT {canonical},
                    CASE {" ".join(problems)} END AS _problem,
                    CASE {" ".join(columns_cases)} END AS _column,
                    CASE {" ".join(raw_cases)} END AS _raw
                FROM (
                    SELECT {", ".join(values)}
                    FROM (
                        SELECT {", ".join(helpers)}
                        FROM {read}
                    ) a
                ) b
        """
        try:
            _run(self.con, sql, _("Checking {file}").format(file=self.path.name), progress)
        except duckdb.Error as error:
            raise self._read_error(error) from error
        self.staged = f"(SELECT rowid + {self.header_offset + 1} AS _row, * FROM stage)"

    def duplicates(self) -> None:
        """Pass 2 (on the staged rows): later copies of an identifier become problems."""
        key = ID_COLUMNS[self.record]
        source = next(m.source for m in self.profile.mappings if m.variable.name == key)
        self.con.execute(
            f"""CREATE TEMP TABLE dups AS
                SELECT {ident(key)} AS id, min(_row) AS first
                FROM {self.staged} WHERE {ident(key)} IS NOT NULL
                GROUP BY 1 HAVING count(*) > 1"""
        )
        self.dup_column = source
        self.duplicated = int(self.con.execute("SELECT count(*) FROM dups").fetchone()[0])  # type: ignore[index]

    def problem_view(self) -> str:
        """Every staged row with its first problem: a value's, else its unit, else its
        household, else a repeated identifier."""
        key = ident(ID_COLUMNS[self.record])
        sources = {m.variable.name: m.source for m in self.profile.mappings}
        checks = []  # (condition, code, column, value)
        joins = ""
        if self.unit_codes is not None:
            joins += " LEFT JOIN units ON units.code = s.unit_code"
            checks.append(
                (
                    "s.unit_code IS NOT NULL AND units.code IS NULL",
                    "unit",
                    sources["unit_code"],
                    "s.unit_code",
                )
            )
        if self.household_ids is not None and self.record == "persons":
            joins += " LEFT JOIN households h ON h.hid = s.household_id"
            checks.append(
                (
                    "s.household_id IS NOT NULL AND h.hid IS NULL",
                    "orphan",
                    sources["household_id"],
                    "s.household_id",
                )
            )
        checks.append(
            ("d.id IS NOT NULL AND s._row > d.first", "duplicate", self.dup_column, f"s.{key}")
        )
        problem = " ".join(f"WHEN {c} THEN {literal(code)}" for c, code, _col, _v in checks)
        column = " ".join(f"WHEN {c} THEN {literal(col)}" for c, _code, col, _v in checks)
        value = " ".join(f"WHEN {c} THEN {v}" for c, _code, _col, v in checks)
        return f"""(
            SELECT s.*,
                CASE WHEN s._problem IS NOT NULL THEN s._problem {problem} END AS problem,
                CASE WHEN s._problem IS NOT NULL THEN s._column {column} END AS problem_column,
                CASE WHEN s._problem IS NOT NULL THEN s._raw {value} END AS problem_value,
                d.first AS first_row
            FROM {self.staged} s LEFT JOIN dups d ON d.id = s.{key}{joins}
        )"""

    def counts(self) -> tuple[int, int, int, int]:
        """(rows read, rows with a problem, units matched, units unmatched) in one scan."""
        row = self.con.execute(
            f"""SELECT count(*), count(problem),
                       count(DISTINCT unit_code) FILTER (WHERE problem IS NULL),
                       count(DISTINCT unit_code) FILTER (WHERE problem = 'unit')
                FROM {self.problem_view()}"""
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2]), int(row[3])

    def problems(self, limit: int = PROBLEM_LIST_LIMIT) -> list[Problem]:
        rows = self.con.execute(
            f"""SELECT _row, problem, problem_column, problem_value, first_row
                FROM {self.problem_view()} WHERE problem IS NOT NULL ORDER BY _row LIMIT {limit}"""
        ).fetchall()
        return [
            Problem(
                self.path.name,
                int(r[0]),
                str(r[2]),
                r[3],
                problem_reason(str(r[1]), self._mapping_of(str(r[1]), str(r[2])), r[4], str(r[2])),
                unit=self.unit,
            )
            for r in rows
        ]

    def _mapping_of(self, code: str, column: str) -> Mapping | None:
        """The mapping a problem belongs to: by position for a composed column's problems
        (``part:3``), else by the column it names."""
        position = code.partition(":")[2]
        if position.isdigit():
            return self.profile.mappings[int(position)]
        return next((m for m in self.profile.mappings if m.source == column), None)

    def write_valid(self, target: Path, sha: str, progress: ProgressCallback, clean: bool) -> None:
        """Pass 3: the canonical file, in source order (a plain copy when no row was bad)."""
        names = ", ".join(ident(m.variable.name) for m in self.profile.mappings)
        rows = (
            f"SELECT {names} FROM stage"  # rowid order, that is, file order
            if clean
            else f"SELECT {names} FROM {self.problem_view()} WHERE problem IS NULL ORDER BY _row"
        )
        write_canonical(self.con, rows, target, sha=sha, record=self.record, progress=progress)

    def write_rejects(self, target: Path) -> None:
        mappings = {m.source: m for m in self.profile.mappings}
        cases = []
        for code in (
            "required",
            "number",
            "integer",
            "range",
            "code",
            "unit",
            "orphan",
            "duplicate",
        ):
            for source, mapping in mappings.items():
                reason = problem_reason(code, mapping, None)
                cases.append(
                    f"WHEN problem = {literal(code)} AND problem_column = {literal(source)} "
                    f"THEN {literal(reason)}"
                )
        for index, mapping in enumerate(self.profile.mappings):
            for kind in ("part", "width"):
                code = compose_code(kind, index)
                for column in mapping.compose:
                    reason = problem_reason(code, mapping, None, column)
                    cases.append(
                        f"WHEN problem = {literal(code)} AND problem_column = {literal(column)} "
                        f"THEN {literal(reason)}"
                    )
        tmp = target.with_name(target.name + ".tmp")
        self.con.execute(
            f"""COPY (SELECT _row AS {ident("_" + self.unit)}, problem_column AS _column,
                        problem_value AS _value, CASE {" ".join(cases)} ELSE problem END AS _reason
                      FROM {self.problem_view()} WHERE problem IS NOT NULL ORDER BY _row)
                TO {literal(tmp)} (FORMAT csv, HEADER true)"""
        )
        os.replace(tmp, target)


def problem_reason(
    code: str, mapping: Mapping | None, first: object, column: str | None = None
) -> str:
    """The translated explanation of a problem code found by the SQL checks (``column`` is
    the part of a composed column the problem is in)."""
    variable = mapping.variable if mapping else None
    name = variable.name if variable else ""
    code = code.partition(":")[0]
    if code == "part" and mapping is not None:
        return _(
            "{variable} is required but {column}, one of the columns composed into {built}, "
            "is empty: fill it in."
        ).format(variable=name, column=column, built=mapping.source)
    if code == "width" and mapping is not None and column in mapping.compose:
        return _(
            "{column} is longer than the {width} characters 'pad' gives it in {built} "
            "({variable}): correct the value or the pad in the profile."
        ).format(
            column=column,
            width=mapping.pad[mapping.compose.index(column)],
            built=mapping.source,
            variable=name,
        )
    if code == "required":
        return _("{variable} is required but empty: fill it in.").format(variable=name)
    if code == "number":
        return _(
            "not a number for {variable}: write digits (decimal point) or leave the cell "
            "empty if unknown."
        ).format(variable=name)
    if code == "integer":
        return _("{variable} must be a whole number.").format(variable=name)
    if code == "range" and variable is not None and None not in (variable.low, variable.high):
        return _(
            "out of range for {variable} ({low:g} to {high:g}): correct it or leave the cell "
            "empty if unknown."
        ).format(variable=name, low=variable.low, high=variable.high)
    if code == "code" and mapping is not None:
        allowed = (
            ", ".join(mapping.codes)
            if mapping.codes
            else ", ".join(
                variable.values if variable and variable.values else ("true", "false", "1", "0")
            )
        )
        return _(
            "code not allowed for {variable} (allowed: {allowed}): correct it or add it to "
            "the profile's code map."
        ).format(variable=name, allowed=allowed)
    if code == "unit":
        return _(
            "unit code not found among the smallest spatial units of the city: check the "
            "code or import the boundaries first."
        )
    if code == "orphan":
        return _(
            "household not found in the households file of this city and period: import "
            "the households first or correct the identifier."
        )
    if code == "duplicate":
        if first is None:
            return _("duplicate identifier: identifiers must be unique in the file.")
        return _(
            "duplicate identifier (first at row {first}): identifiers must be unique in the file."
        ).format(first=first)
    return code


def _settle_versions(
    final: Path, active: BatchRow | None, kind: str, connection: Connection, city_id: int
) -> None:
    """Point the fixed name at the committed file and remove files no active batch names.

    Such files come from imports killed between the rename and the commit (their batch was
    rolled back) or from batches since replaced; a file whose writer still runs is left.
    """
    if not final.parent.is_dir():
        return
    record = final.name.removesuffix(".parquet")
    kept = {
        Path(str((details or {}).get("parquet", ""))).name
        for details in connection.scalars(
            select(BATCHES.c.details).where(
                BATCHES.c.kind == kind,
                BATCHES.c.city_id == city_id,
                BATCHES.c.status == "active",
            )
        )
    }
    committed = Path(str((active.details or {}).get("parquet", ""))) if active else None
    if committed is not None and committed.name != final.name and committed.exists():
        _link(committed, final)
    elif committed is None:
        with suppress(FileNotFoundError):
            final.unlink()
    for version in final.parent.glob(f"{record}.*.parquet"):
        parts = version.name.split(".")
        if version.name in kept or len(parts) != 4 or not parts[1].isdigit():
            continue
        with _IN_FLIGHT_LOCK:
            if version.name in _IN_FLIGHT:
                continue
        if int(parts[1]) != os.getpid() and _alive(int(parts[1])):
            continue
        with suppress(OSError):
            version.unlink()
    with suppress(FileNotFoundError):  # left by the import code of earlier releases
        final.with_name(final.name + ".previous").unlink()


def _link(source: Path, final: Path) -> None:
    """Make ``final`` a hard link to ``source`` in one atomic rename (a copy where the file
    system has no hard links)."""
    with suppress(FileNotFoundError):
        if final.samefile(source):
            return  # rename() between two links of one file would do nothing
    record = final.name.removesuffix(".parquet")
    tmp = final.with_name(f".{record}.{os.getpid()}.{uuid.uuid4().hex[:8]}.link")
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, final)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(directory: Path, record: str) -> None:
    """Remove work files left by imports whose process died (their pid is in the name)."""
    for stale in directory.glob(f".{record}.*"):
        parts = stale.name.split(".")
        if len(parts) < 3 or not parts[2].isdigit():
            continue
        try:
            os.kill(int(parts[2]), 0)
        except ProcessLookupError:
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                with suppress(OSError):
                    stale.unlink()
        except PermissionError:
            continue


def import_census(
    engine: Engine,
    path: Path | str,
    *,
    record: str,
    city: str,
    period: str,
    profile: str | Path = "demo",
    data_dir: Path | str | None = None,
    accept_valid: bool = False,
    dry_run: bool = False,
    reject_path: Path | str | None = None,
    progress: ProgressCallback | None = None,
    memory_limit: str = "1GB",
    threads: int | None = None,
    before_commit: Callable[[], Any] | None = None,
    missing: Sequence[str] = (),
    arrow: bool = True,
) -> ImportReport:
    """Validate census microdata and store them as canonical Parquet with an import batch.

    ``record`` is households or persons (import households first: persons are checked
    against them). ``before_commit`` is called inside the transaction after the file is
    in place (used by tests to interrupt an import at its most delicate moment).
    ``arrow=False`` runs the DuckDB reader even on a CSV file the Arrow pass covers
    (``census_arrow``; used by tests and benchmarks to compare the two).
    """
    timer = Timer()
    progress = progress or quiet_progress
    record = normalise_record(record)
    city = validate_identifier("city", city)
    period = validate_identifier("period", period)
    path = require_data_file(path)
    store.require_current(engine)
    mapping_profile = load_profile(profile, record)
    if missing:  # --missing: cell texts that mean "no data" in every column (999, 999.0)
        mapping_profile = replace(mapping_profile, missing=(*mapping_profile.missing, *missing))
    kind = f"census_{record}"
    root = Path(data_dir or get_settings().data_dir)
    final = microdata_path(root, city, period, record)
    report = ImportReport(kind=kind, file=path.name)
    if final.parent.is_dir():
        _clean_stale(final.parent, record)
    progress(_("Hashing {file}").format(file=path.name), 0, None)
    report.sha256 = sha256_file(path)
    # Core statements on one transaction: no ORM (see common.BatchRow)
    with engine.begin() as connection:
        city_id = city_id_of(connection, city, path.name)
        active = active_batch_rows(connection, kind, city_id, [f"{record}@{period}"])
        _settle_versions(final, active[-1] if active else None, kind, connection, city_id)
        previous = same_file_batch_row(
            connection, kind, city_id, report.sha256, scope=[f"{record}@{period}"]
        )
        if previous is not None and not dry_run:
            report.status, report.batch_id = "unchanged", previous.id
            report.details = dict(previous.details or {})
            report.seconds = timer.seconds()
            return report
        level_id = smallest_level_id(connection, city_id, city, path.name)
        found = connection.execute(select(UNITS.c.code).where(UNITS.c.level_id == level_id))
        try:  # the driver's tuples in one fetch, no Row object per unit
            units = [code for (code,) in found.cursor.fetchall()]
        finally:
            found.close()
        households = None
        if record == "persons":
            hh = active_batch_rows(
                connection, "census_households", city_id, [f"households@{period}"]
            )
            if not hh:
                raise IngestError(
                    _(
                        "{file}: there are no census households for city {city}, period "
                        "{period}: import the households file of that period first (persons "
                        "are checked against it)."
                    ).format(file=path.name, city=city, period=period)
                )
            parquet = str((hh[-1].details or {}).get("parquet", ""))
            if parquet and Path(parquet).exists():
                households = Path(parquet)
    final.parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = dict(
        unit_codes=units, household_ids=households, memory_limit=memory_limit, threads=threads
    )
    reader: CensusReader = (ArrowCensusReader if arrow else CensusReader)(
        path, mapping_profile, final.parent, **options
    )
    tmp = final.with_name(f".{record}.{os.getpid()}.{uuid.uuid4().hex}.tmp.parquet")
    version = version_path(final)
    try:
        try:
            reader.stage_file(progress)
        except ArrowPassUnavailable:  # a file or profile only the DuckDB reader covers
            reader.close()
            reader = CensusReader(path, mapping_profile, final.parent, **options)
            reader.stage_file(progress)
        reader.duplicates()
        read, bad, matched, unmatched = reader.counts()
        if read == 0:
            raise IngestError(
                _("{file} has a header but no rows: nothing to import.").format(file=path.name)
            )
        report.rows_read, report.rows_rejected, report.rows_accepted = read, bad, read - bad
        report.problems = reader.problems() if bad else []
        report.units_matched, report.units_unmatched = matched, unmatched
        report.details.update(
            record=record,
            profile=mapping_profile.name,
            period=period,
            parquet=str(version.resolve()),
            rows=report.rows_accepted,
            orphans_checked=households is not None,
        )
        if bad:
            report.rows_rejected = bad
            if not accept_valid or bad == read:
                # the message lists a few problems; the exact total is in rows_rejected
                enforce(report, accept_valid)
            report.reject_path = str(reject_path or default_reject_path(path))
            if not dry_run:
                reader.write_rejects(Path(report.reject_path))
        if dry_run:
            report.status = "dry_run"
            return report
        reader.write_valid(tmp, report.sha256, progress, clean=bad == 0)
        _commit(engine, report, version, tmp, city_id, period, record, before_commit)
        _point_fixed_name(engine, final, kind, city_id, record, period)
    finally:
        reader.close()
        with suppress(FileNotFoundError):
            tmp.unlink()
        _remove_empty_folders(final.parent, Path(root))
        report.seconds = timer.seconds()
    return report


def _remove_empty_folders(folder: Path, root: Path) -> None:
    """A refused or dry-run import leaves no empty <city>/<period> folders behind."""
    root = root.resolve()
    folder = folder.resolve()
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty (an earlier import lives there) or already gone
            return
        folder = folder.parent


def _commit(
    engine: Engine,
    report: ImportReport,
    version: Path,
    tmp: Path,
    city_id: int,
    period: str,
    record: str,
    before_commit: Callable[[], Any] | None,
) -> None:
    """Register the batch and move the file into place under its own name as one step.

    The batch names ``version``, a file no committed batch has named before: if the process
    dies before the commit, the store keeps its old batch and the file it names, and the
    new file is never read (the next import removes it).
    """
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.add(version.name)
    try:
        with engine.begin() as connection:
            period_id = period_id_of(connection, period)
            scope = [f"{record}@{period}"]
            replaced = active_batch_rows(connection, report.kind, city_id, scope)
            register_batch(
                connection,
                report,
                city_id=city_id,
                period_id=period_id,
                scope=scope,
                replaced=replaced,
                details=dict(report.details),
            )
            os.replace(tmp, version)
            if before_commit is not None:
                before_commit()
    except BaseException:
        with suppress(FileNotFoundError):
            version.unlink()
        raise
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard(version.name)


def _point_fixed_name(
    engine: Engine, final: Path, kind: str, city_id: int, record: str, period: str
) -> None:
    """After the commit: the fixed name links to the new file, replaced files go."""
    with engine.begin() as connection:
        active = active_batch_rows(connection, kind, city_id, [f"{record}@{period}"])
        _settle_versions(final, active[-1] if active else None, kind, connection, city_id)


# the Arrow pass builds on this module's SQL and reader, and import_census uses it: imported
# last, once the names it takes from here exist (at call time it would cost the import)
from inclusive_cities.ingest.census_arrow import (  # noqa: E402
    ArrowCensusReader,
    ArrowPassUnavailable,
)
