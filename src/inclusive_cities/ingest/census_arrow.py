"""The census checking pass on Arrow batches: a CSV streamed through pyarrow, no DuckDB table.

Why (issue #21): DuckDB's own CSV read into a temporary table cost more CPU than pyarrow's whole
read plus Parquet write. Here the file is read by pyarrow's streaming CSV reader in blocks;
every column but the identifiers arrives dictionary-encoded, so the checks (trim, missing-value
codes, code maps, numeric casts, ranges, required) run once per *distinct* text of a block, as
the very SQL expressions of :class:`~inclusive_cities.ingest.census.CensusReader` run by DuckDB
on that small dictionary, and reach the rows by index. Identifiers (high cardinality, text)
are checked with Arrow compute. Units and households are checked per block against the known
sets; duplicate identifiers once the whole file is read. Checked blocks wait in memory (beyond
half the memory limit they go to an Arrow stream file beside the output) and the canonical
Parquet is written from them at the end, so that its schema (a column is ``required`` when it
has no missing value, as DuckDB writes it) and the rows match the DuckDB reader's exactly.

Anything this pass does not cover raises :class:`ArrowPassUnavailable` before or while reading,
and the import runs the DuckDB reader instead, which gives the same result (and the same error
messages for malformed files): composed columns, Stata/SPSS/Parquet sources, a profile with no
delimiter (sniffed), Latin-1 files, headers DuckDB would rename, rows pyarrow cannot parse.
"""

from __future__ import annotations

import codecs
import csv
import math
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest.census import (
    ID_COLUMNS,
    PARQUET_SUFFIXES,
    STAT_SUFFIXES,
    CensusReader,
    _column_sql,
    _csv_encoding,
    _sql_type,
)
from inclusive_cities.ingest.common import ProgressCallback
from inclusive_cities.ingest.variables import Mapping

BLOCK_BYTES = 8 << 20
"""CSV bytes per block (≈ 165,000 rows of the demo's persons file). A block of 64 MB (the whole
medium file) parsed 5–10 % slower than 4–8 MB ones, which stay in the processor's cache; the
per-block checks cost little (dictionaries of a few texts, households by binary search)."""
ROW_GROUP_ROWS = 122_880
"""Rows per Parquet row group, as DuckDB writes them."""
IDENTIFIERS = frozenset(ID_COLUMNS.values())
ARROW_TYPES = {"integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_()}


PYTHON_TEXTS = 20_000
"""Distinct texts of a column in a block beyond which DuckDB checks them faster than Python."""
NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
Result = tuple[object, str | None, str | None]


def python_check(
    mapping: Mapping, decimal: str, missing: tuple[str, ...]
) -> Callable[[str | None], Result | None] | None:
    """The checks of ``_column_sql`` for one text, in Python: (value, problem, trimmed text),
    or None for a text whose treatment only DuckDB can say for sure (non-ASCII: trim() and
    lower() on Unicode; a number in a form other than plain decimal: 'inf', '1_000', …).
    None for a mapping it does not cover (codes onto numbers)."""
    variable = mapping.variable
    kind = variable.type
    codes = mapping.codes
    if codes and kind not in ("boolean", "category", "string"):
        return None
    absent = set(missing) if missing else {""}
    allowed = set(variable.values or ())
    low, high = variable.low, variable.high

    def check(text: str | None) -> Result | None:
        if text is None:
            r = None
        elif not text.isascii():
            return None
        else:
            r = text.strip(" ")
        if r is None or r in absent:
            return None, ("required" if variable.required else None), r
        value: object = None
        problem: str | None = None
        if codes:
            k = r[:-2] if r.endswith(".0") else r
            if k in codes:
                target = codes[k]
                value = (
                    None if target is None else bool(target) if kind == "boolean" else str(target)
                )
            else:
                problem = "code"
        elif kind in ("integer", "number"):
            number = r.replace(".", "").replace(",", ".") if decimal == "," else r
            if not NUMBER.fullmatch(number):
                return None
            n = float(number)
            if abs(n) >= 2.0**62:  # near BIGINT's edge: DuckDB's cast decides
                return None
            if not math.isfinite(n):
                problem = "number"
            elif kind == "integer" and n != math.floor(n):
                problem = "integer"
            elif (low is not None and n < low) or (high is not None and n > high):
                problem = "range"
            value = round(n) if kind == "integer" else n
            if kind == "integer" and problem == "integer":
                return None  # DuckDB's rounding of a fraction: its own rule
        elif kind == "boolean":
            lowered = r.lower()
            if lowered in ("true", "1"):
                value = True
            elif lowered in ("false", "0"):
                value = False
            else:
                problem = "code"
        elif kind == "category":
            if r in allowed:
                value = r
            else:
                problem = "code"
        else:
            value = r
        return value, problem, r

    return check


class ArrowPassUnavailable(Exception):
    """This file or profile needs the DuckDB reader (the reason is the message)."""


@dataclass
class _Block:
    """One checked block: its rows without value/unit/household problems."""

    batch: pa.RecordBatch  # canonical columns + "_row" (file row number)
    units: dict[str, int]  # rows per unit code among these rows


def _memory_bytes(limit: str) -> int:
    match = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?i?b?)\s*", limit.lower())
    if not match:
        return 1 << 30
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    return int(float(match.group(1)) * scale[match.group(2)[:1]])


class ArrowCensusReader(CensusReader):
    """Same checks, problems, rejects and canonical file as :class:`CensusReader`, for CSV."""

    block_bytes = BLOCK_BYTES
    row_group_rows = ROW_GROUP_ROWS
    spill_bytes: int | None = None
    """Checked rows held in memory before they go to the spill file (None: half the limit)."""

    def stage_file(self, progress: ProgressCallback) -> None:
        """Pass 1: read and check every block; keep the good rows and the problems."""
        present = self._header()
        self.check_columns(set(present))
        self._prepare()
        self._blocks: list[_Block] = []
        self._spill: ipc.RecordBatchStreamWriter | None = None
        self._spill_path = self.work_dir / f".{self.record}.{os.getpid()}.{uuid.uuid4().hex}.arrows"
        self._held = 0
        self._budget = self.spill_bytes or _memory_bytes(self.memory_limit) // 2
        self._ids: list[pa.Array] = []
        self._ascending = True  # identifiers strictly ascending so far: no duplicates
        self._last_id: str | None = None
        self._problems: list[pa.Table] = []
        self._null_counts = dict.fromkeys(self._names, 0)
        self.read = 0
        size = max(self.path.stat().st_size, 1)
        step = _("Checking {file}").format(file=self.path.name)
        progress(step, 0, 100)
        try:
            for number, batch in enumerate(self._batches(), start=1):
                self._check_block(batch)
                progress(step, min(99, number * self.block_bytes * 100 // size), 100)
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            raise ArrowPassUnavailable(str(error)) from error
        if self._spill is not None:
            self._spill.close()
        progress(step, 100, 100)

    def close(self) -> None:
        spill = getattr(self, "_spill_path", None)
        if spill is not None:
            if self._spill is not None:
                self._spill.close()
            spill.unlink(missing_ok=True)
        super().close()

    # ---- reading ---------------------------------------------------------------------------

    def _header(self) -> list[str]:
        """The header's column names, or ArrowPassUnavailable where DuckDB would differ."""
        suffix = self.path.suffix.lower()
        if suffix in STAT_SUFFIXES or suffix in PARQUET_SUFFIXES:
            raise ArrowPassUnavailable("not a CSV file")
        if any(m.compose for m in self.profile.mappings):
            raise ArrowPassUnavailable("composed columns")
        if not self.profile.delimiter or len(self.profile.delimiter) != 1:
            raise ArrowPassUnavailable("delimiter to be sniffed")
        if _csv_encoding(self.path, self.profile) != "utf-8":
            raise ArrowPassUnavailable("not UTF-8")
        with self.path.open("rb") as handle:
            head = handle.read(1 << 16)
        if head.startswith(codecs.BOM_UTF8):
            head = head[len(codecs.BOM_UTF8) :]
        line, newline, _rest = head.partition(b"\n")
        if not newline or b'"' in line:
            raise ArrowPassUnavailable("header not on one plain line")
        try:
            names = next(
                csv.reader(
                    [line.decode("utf-8").rstrip("\r")],
                    strict=True,
                    delimiter=self.profile.delimiter,
                )
            )
        except (UnicodeDecodeError, csv.Error, StopIteration) as error:
            raise ArrowPassUnavailable("header unreadable") from error
        if len(set(names)) != len(names) or any(not n or n != n.strip() for n in names):
            raise ArrowPassUnavailable("header names DuckDB would rename")
        return names

    def _prepare(self) -> None:
        """Which columns are read as identifiers (plain text) and the SQL run on dictionaries."""
        mappings = self.profile.mappings
        self._names = [m.variable.name for m in mappings]
        self._plain = [
            i
            for i, m in enumerate(mappings)
            if m.variable.name in IDENTIFIERS
            and not m.codes
            and _sql_type(m.variable.type) == "VARCHAR"
            and m.variable.type not in ("boolean", "category")
        ]
        self._coded = [i for i in range(len(mappings)) if i not in self._plain]
        raws, helpers, values = [], [], []
        for i in self._coded:
            mapping = mappings[i]
            extra, value, problem = _column_sql(
                i, mapping, self.profile.decimal, self.profile.missing + mapping.missing
            )
            raws.append(f"trim(CAST(v{i} AS VARCHAR)) AS r{i}")
            helpers.extend([f"r{i}", *extra])
            values.append(
                f"CAST({value} AS {_sql_type(mapping.variable.type)}) AS c{i}, "
                f"{problem} AS p{i}, r{i}"
            )
        self._python_checks = {
            i: check
            for i in self._coded
            if (
                check := python_check(
                    mappings[i], self.profile.decimal, self.profile.missing + mappings[i].missing
                )
            )
        }
        self._dictionary_sql = (
            f"SELECT {', '.join(values)} FROM (SELECT {', '.join(helpers)} "
            f"FROM (SELECT {', '.join(raws)} FROM dictionaries) a) b"
        )
        self._types = {
            i: ARROW_TYPES.get(mappings[i].variable.type, pa.string()) for i in range(len(mappings))
        }
        if self.unit_codes is not None:
            self._unit_set = pa.array(sorted(set(self.unit_codes)), type=pa.string())
        self._households: pa.Array | None = None
        self._household_keys: tuple[np.ndarray, int] | None = None
        if self.household_ids is not None and self.record == "persons":
            # ParquetFile, not read_table: the latter imports pyarrow.dataset (≈ 10 ms)
            table = pq.ParquetFile(self.household_ids).read(columns=["household_id"])
            self._households = table.column(0).combine_chunks().drop_null()
            keys = _digit_keys(self._households)
            if keys is not None:  # sorted integers, looked up by binary search
                numbers = keys[0].to_numpy()
                if len(numbers) > 1 and not (numbers[1:] > numbers[:-1]).all():
                    numbers = np.sort(numbers)
                self._household_keys = (numbers, keys[1])

    def _batches(self) -> Iterator[pa.RecordBatch]:
        mappings = self.profile.mappings
        sources = [mappings[i].source for i in range(len(mappings))]
        types = {
            m.source: pa.string() if i in self._plain else pa.dictionary(pa.int32(), pa.string())
            for i, m in enumerate(mappings)
        }
        reader = pacsv.open_csv(
            self.path,
            read_options=pacsv.ReadOptions(block_size=self.block_bytes, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=self.profile.delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=list(dict.fromkeys(sources)),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        yield from reader

    # ---- checking one block ----------------------------------------------------------------

    def _check_block(self, batch: pa.RecordBatch) -> None:
        mappings = self.profile.mappings
        n = batch.num_rows
        if n == 0:
            return
        first_row = self.read + self.header_offset + 1
        self.read += n
        values: dict[int, pa.Array] = {}
        problems: list[tuple[int, pa.Array, pa.Array]] = []  # (mapping, code, raw text)
        dictionaries = {}
        for i in self._coded:
            column = batch.column(mappings[i].source)
            if isinstance(column, pa.ChunkedArray):
                column = column.combine_chunks()
            dictionaries[i] = column
        if dictionaries:
            checked = self._check_dictionaries(dictionaries)
            for i, (value, problem, raw, indices) in checked.items():
                values[i] = self._take(value, indices)
                if problem.null_count < len(problem):
                    code = pc.take(problem, indices)
                    empty = problem[len(problem) - 1]  # the code of an empty cell
                    if empty.is_valid and indices.null_count:
                        code = pc.fill_null(code, empty)
                    if code.null_count < n:
                        problems.append((i, code, pc.take(raw, indices)))
        for i in self._plain:
            value, text, code = self._check_identifier(i, batch.column(mappings[i].source))
            values[i] = value
            if code is not None:
                problems.append((i, code, text))
        rows = pa.array(np.arange(first_row, first_row + n, dtype=np.int64))
        bad = self._problem_rows(values, problems, rows)
        key = self._names.index(ID_COLUMNS[self.record])
        self._ids.append(values[key])
        if self._ascending:
            self._ascending = self._still_ascending(values[key])
        columns = [values[i] for i in range(len(mappings))]
        table = pa.RecordBatch.from_arrays([*columns, rows], names=[*self._names, "_row"])
        for name in self._names:  # over every row, the bad ones too (see write_valid)
            self._null_counts[name] += table.column(name).null_count
        if bad is not None:
            table = table.filter(pc.invert(bad))
        units = self._unit_counts(table)
        self._hold(_Block(table, units))

    def _still_ascending(self, ids: pa.Array) -> bool:
        """Whether the identifiers read so far are strictly ascending (most census files are
        sorted by identifier), which rules out duplicates without hashing them."""
        ids = ids.drop_null()
        if len(ids) == 0:
            return True
        if self._last_id is not None and not ids[0].as_py() > self._last_id:
            return False
        self._last_id = ids[-1].as_py()
        if len(ids) < 2:
            return True
        return bool(pc.all(pc.less(ids[:-1], ids[1:])).as_py())

    def _check_dictionaries(
        self, columns: dict[int, pa.DictionaryArray]
    ) -> dict[int, tuple[pa.Array, pa.Array, pa.Array, pa.Array]]:
        """Check each column's distinct texts: in Python where the text is one the SQL of
        ``_column_sql`` is sure to treat alike (ASCII, a plain decimal number), else with
        that SQL in DuckDB (a column with one such text, or too many texts for Python).

        Returns per mapping (value, problem code, trimmed text) per distinct text, the last
        entry standing for an empty cell, and the rows' indices into them."""
        out = {}
        rest = {}
        for i, column in columns.items():
            check = self._python_checks.get(i)
            texts = [*column.dictionary.to_pylist(), None] if check else []
            if not check or len(texts) > PYTHON_TEXTS:
                rest[i] = column
                continue
            results = [check(text) for text in texts]
            if any(result is None for result in results):
                rest[i] = column
                continue
            values, problems, raws = zip(*results, strict=True)  # type: ignore[misc]
            out[i] = (
                pa.array(values, self._types[i]),
                pa.array(problems, pa.string()),
                pa.array(raws, pa.string()),
                column.indices,  # an empty cell (null) stands for the last entry
            )
        if rest:
            out.update(self._check_dictionaries_sql(rest))
        return out

    def _check_dictionaries_sql(
        self, columns: dict[int, pa.DictionaryArray]
    ) -> dict[int, tuple[pa.Array, pa.Array, pa.Array, pa.Array]]:
        """Run the profile's SQL on each column's distinct texts (one query for all columns)."""
        longest = max(len(c.dictionary) for c in columns.values()) + 1
        table = {}
        indices = {}
        for i, column in columns.items():
            size = len(column.dictionary)
            text = column.dictionary.cast(pa.string())
            table[f"v{i}"] = pa.concat_arrays([text, pa.nulls(longest - size, pa.string())])
            indices[i] = column.indices  # an empty cell (null) stands for the last entry
        for i in self._coded:  # the columns checked in Python: empty here
            table.setdefault(f"v{i}", pa.nulls(longest, pa.string()))
        self.con.register("dictionaries", pa.table(table))
        try:
            result = self.con.sql(self._dictionary_sql).to_arrow_table()
        finally:
            self.con.unregister("dictionaries")
        out = {}
        for i in columns:
            size = len(columns[i].dictionary) + 1
            out[i] = (
                result.column(f"c{i}").combine_chunks()[:size].cast(self._types[i]),
                result.column(f"p{i}").combine_chunks()[:size].cast(pa.string()),
                result.column(f"r{i}").combine_chunks()[:size].cast(pa.string()),
                indices[i],
            )
        return out

    def _take(self, value: pa.Array, indices: pa.Array) -> pa.Array:
        """Rows' values from the distinct texts' values: text stays dictionary-encoded (one
        entry per distinct value, as the Parquet writer stores it), other types plain. An
        empty cell's value (the last entry) is always missing, as a null index gives."""
        value = value[: len(value) - 1]
        if not pa.types.is_string(value.type):
            return pc.take(value, indices)
        encoded = pc.dictionary_encode(value)
        if len(encoded.dictionary) == len(value) and encoded.indices.null_count == 0:
            return pa.DictionaryArray.from_arrays(indices, encoded.dictionary)  # one to one
        return pa.DictionaryArray.from_arrays(pc.take(encoded.indices, indices), encoded.dictionary)

    def _check_identifier(
        self, index: int, column: pa.Array
    ) -> tuple[pa.Array, pa.Array, pa.Array | None]:
        """(value, trimmed text, problem code or None) of an identifier: trimmed as DuckDB's
        trim() does, missing-value codes, required."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        mapping = self.profile.mappings[index]
        trimmed = _needs_trim(column)
        if trimmed:
            self.con.register("identifiers", pa.table({"v": column}))
            try:
                column = (
                    self.con.sql("SELECT trim(v) AS v FROM identifiers")
                    .to_arrow_table()
                    .column(0)
                    .combine_chunks()
                    .cast(pa.string())
                )
            finally:
                self.con.unregister("identifiers")
        missing = pc.is_null(column)
        codes = list(dict.fromkeys((*self.profile.missing, *mapping.missing)))
        if trimmed or any(codes_ != "" for codes_ in codes):  # no '' cell survives the reader
            found = pc.is_in(column, value_set=pa.array(codes, pa.string()))
            missing = pc.or_(missing, pc.fill_null(found, False))
        if missing.true_count == 0:
            return column, column, None
        value = pc.if_else(missing, pa.scalar(None, pa.string()), column)
        if not mapping.variable.required:
            return value, column, None
        code = pc.if_else(missing, pa.scalar("required"), pa.scalar(None, pa.string()))
        return value, column, code

    def _problem_rows(
        self,
        values: dict[int, pa.Array],
        problems: list[tuple[int, pa.Array, pa.Array]],
        rows: pa.Array,
    ) -> pa.Array | None:
        """The block's first problem per row (value, else unit, else household), kept in
        ``self._problems``; returns the rows' "has a problem" mask, None when all are good."""
        mappings = self.profile.mappings
        n = len(rows)
        null = pa.scalar(None, pa.string())
        code = column = raw = None
        for i, c, r in sorted(problems, key=lambda item: item[0]):  # first mapping wins
            here = pc.is_valid(c)
            name = pa.scalar(mappings[i].source)
            if code is None:
                code, column, raw = c, pc.if_else(here, name, null), r.cast(pa.string())
            else:
                take_new = pc.and_(pc.is_null(code), here)
                code = pc.if_else(take_new, c, code)
                column = pc.if_else(take_new, name, column)
                raw = pc.if_else(take_new, r.cast(pa.string()), raw)
        extra = []  # (mask, code, column, value)
        names = {m.variable.name: (i, m.source) for i, m in enumerate(mappings)}
        if self.unit_codes is not None:
            i, source = names["unit_code"]
            units = values[i]
            if isinstance(units, pa.DictionaryArray):
                known = pc.is_in(units.dictionary, value_set=self._unit_set)
                unknown = pc.and_(pc.is_valid(units), pc.invert(pc.take(known, units.indices)))
            else:
                unknown = pc.and_(
                    pc.is_valid(units), pc.invert(pc.is_in(units, value_set=self._unit_set))
                )
            extra.append((unknown, "unit", source, units))
        if self._households is not None:
            i, source = names["household_id"]
            households = values[i]
            orphan = self._orphans(households)
            extra.append((orphan, "orphan", source, households))
        for mask, kind, source, value in extra:
            if not pc.any(mask).as_py():
                continue
            text = value.cast(pa.string())
            if code is None:
                code = pc.if_else(mask, pa.scalar(kind), null)
                column = pc.if_else(mask, pa.scalar(source), null)
                raw = pc.if_else(mask, text, null)
            else:
                take_new = pc.and_(pc.is_null(code), mask)
                code = pc.if_else(take_new, pa.scalar(kind), code)
                column = pc.if_else(take_new, pa.scalar(source), column)
                raw = pc.if_else(take_new, text, raw)
        if code is None or code.null_count == n:
            return None
        bad = pc.is_valid(code)
        unit_index = names["unit_code"][0] if "unit_code" in names else None
        table = pa.table(
            {
                "_row": rows,
                "problem": code,
                "problem_column": column,
                "problem_value": raw,
                "first_row": pa.nulls(n, pa.int64()),
                "unit_code": (
                    values[unit_index].cast(pa.string())
                    if unit_index is not None
                    else pa.nulls(n, pa.string())
                ),
            }
        ).filter(bad)
        self._problems.append(table)
        return bad

    def _orphans(self, households: pa.Array) -> pa.Array:
        """Rows whose household is not among the imported ones. A household's persons are
        usually consecutive: only the first row of each run is looked up."""
        n = len(households)
        if n < 2:
            heads = np.zeros(n, dtype=np.int64)
        else:
            changed = pc.fill_null(pc.not_equal(households[1:], households[:-1]), True)
            heads = np.concatenate([[0], np.flatnonzero(changed.to_numpy(False)) + 1])
        first = households.take(pa.array(heads))
        keys = _digit_keys(first.drop_null()) if first.null_count == 0 else None
        if (
            keys is not None
            and self._household_keys is not None
            and keys[1] == (self._household_keys[1])
        ):
            # Arrow's is_in builds a hash table of the value set on every call (0.2 s for
            # 1.5M households); a binary search in the sorted keys costs a tenth of that
            known = self._household_keys[0]
            wanted = keys[0].to_numpy()
            where = np.minimum(np.searchsorted(known, wanted), len(known) - 1)
            found = known[where] == wanted
        else:
            found = pc.is_in(first, value_set=self._households).to_numpy(False)
        valid = pc.is_valid(first).to_numpy(False)
        runs = np.diff(np.append(heads, n))
        return pa.array(np.repeat(valid & ~found, runs))

    def _unit_counts(self, table: pa.RecordBatch) -> dict[str, int]:
        if "unit_code" not in self._names:
            return {}
        units = table.column("unit_code")
        if isinstance(units, pa.DictionaryArray):
            counts = np.bincount(
                units.indices.drop_null().to_numpy(), minlength=len(units.dictionary)
            )
            names = units.dictionary.to_pylist()
            return {names[k]: int(c) for k, c in enumerate(counts) if c}
        counted = pc.value_counts(units.drop_null())
        return dict(
            zip(
                counted.field("values").to_pylist(),
                counted.field("counts").to_pylist(),
                strict=True,
            )
        )

    def _hold(self, block: _Block) -> None:
        """Keep a block in memory, or in the spill stream once past half the memory limit."""
        if self._spill is None:
            self._blocks.append(block)
            self._held += block.batch.nbytes
            if self._held <= self._budget:
                return
            self._spill = ipc.new_stream(str(self._spill_path), self._spill_schema())
            for held in self._blocks:
                self._spill.write_batch(held.batch)
                held.batch = None  # type: ignore[assignment]
            return
        self._spill.write_batch(block.batch)
        self._blocks.append(_Block(None, block.units))  # type: ignore[arg-type]

    def _spill_schema(self) -> pa.Schema:
        return self._blocks[0].batch.schema

    def _held_batches(self) -> Iterator[pa.RecordBatch]:
        if self._spill is None:
            for block in self._blocks:
                yield block.batch
            return
        with pa.OSFile(str(self._spill_path)) as source:
            yield from ipc.open_stream(source)

    # ---- after the pass --------------------------------------------------------------------

    def duplicates(self) -> None:
        """Later copies of an identifier (checked over all rows, the bad ones too)."""
        key = ID_COLUMNS[self.record]
        self.dup_column = next(m.source for m in self.profile.mappings if m.variable.name == key)
        ids = (
            pa.chunked_array(self._ids, type=pa.string())
            if self._ids
            else pa.chunked_array([], pa.string())
        )
        self._dups: pa.Table | None = None
        self.duplicated = 0
        if len(ids) == 0 or self._ascending:
            return
        encoded = pc.dictionary_encode(ids.combine_chunks())
        if len(encoded.dictionary) == len(ids) - ids.null_count:
            return
        rows = pa.array(np.arange(self.header_offset + 1, self.header_offset + 1 + len(ids)))
        grouped = (
            pa.table({"id": ids, "_row": rows})
            .filter(pc.is_valid(ids))
            .group_by("id", use_threads=False)
            .aggregate([("_row", "min"), ("_row", "count")])
        )
        dups = grouped.filter(pc.greater(grouped["_row_count"], 1))
        self._dups = pa.table({"id": dups["id"], "first": dups["_row_min"]})
        self.duplicated = dups.num_rows
        # the later copies of a good row become problems
        later = []
        for block in self._blocks_with_batches():
            ident_ = block.column(key).cast(pa.string())
            where = pc.index_in(ident_, value_set=self._dups["id"])
            first = pc.take(self._dups["first"], where)
            repeat = pc.fill_null(pc.greater(block.column("_row"), first), False)
            if pc.any(repeat).as_py():
                picked = block.filter(repeat)
                later.append(
                    pa.table(
                        {
                            "_row": picked.column("_row"),
                            "problem": pa.array(["duplicate"] * picked.num_rows, pa.string()),
                            "problem_column": pa.array(
                                [self.dup_column] * picked.num_rows, pa.string()
                            ),
                            "problem_value": picked.column(key).cast(pa.string()),
                            "first_row": pc.take(
                                self._dups["first"],
                                pc.drop_null(
                                    pc.index_in(
                                        picked.column(key).cast(pa.string()),
                                        value_set=self._dups["id"],
                                    )
                                ),
                            ),
                            "unit_code": (
                                picked.column("unit_code").cast(pa.string())
                                if "unit_code" in self._names
                                else pa.nulls(picked.num_rows, pa.string())
                            ),
                        }
                    )
                )
        self._dup_problems = later
        self._problems.extend(later)
        self._repeated = {int(r) for t in later for r in t.column("_row").to_pylist()}

    def _blocks_with_batches(self) -> Iterator[pa.RecordBatch]:
        yield from self._held_batches()

    def problem_view(self) -> str:
        if not getattr(self, "_problem_table_registered", False):
            table = (
                pa.concat_tables(self._problems).sort_by("_row")
                if self._problems
                else pa.table(
                    {
                        "_row": pa.array([], pa.int64()),
                        "problem": pa.array([], pa.string()),
                        "problem_column": pa.array([], pa.string()),
                        "problem_value": pa.array([], pa.string()),
                        "first_row": pa.array([], pa.int64()),
                        "unit_code": pa.array([], pa.string()),
                    }
                )
            )
            self.con.register("problem_rows", table)
            self._problem_table_registered = True
        return "problem_rows"

    def counts(self) -> tuple[int, int, int, int]:
        """(rows read, rows with a problem, units matched, units unmatched)."""
        bad = sum(t.num_rows for t in self._problems)
        units: dict[str, int] = {}
        for block in self._blocks:
            for unit, count in block.units.items():
                units[unit] = units.get(unit, 0) + count
        if self.duplicated and "unit_code" in self._names:
            for table in self._dup_problems:
                for unit in table.column("unit_code").to_pylist():
                    if unit is not None:
                        units[unit] -= 1
        matched = sum(1 for count in units.values() if count > 0)
        unmatched = 0
        if self._problems:
            unmatched = int(
                self.con.execute(
                    f"SELECT count(DISTINCT unit_code) FROM {self.problem_view()} "
                    "WHERE problem = 'unit'"
                ).fetchone()[0]  # type: ignore[index]
            )
        return self.read, bad, matched, unmatched

    def write_valid(self, target: Path, sha: str, progress: ProgressCallback, clean: bool) -> None:
        """Pass 2: the canonical Parquet from the held blocks, in file order."""
        step = _("Writing canonical Parquet")
        progress(step, 0, 100)
        repeated = pa.array(sorted(getattr(self, "_repeated", ())), pa.int64())
        # DuckDB writes a column as 'required' when its statistics say the checked rows (all
        # of them, the rejected ones too) hold no missing value; so does this file
        nulls = self._null_counts
        fields = []
        for i, name in enumerate(self._names):
            kind = self._types[i]
            if kind == pa.string() and i in self._coded:
                kind = pa.dictionary(pa.int32(), pa.string())
            fields.append(pa.field(name, kind, nullable=nulls[name] > 0))
        schema = pa.schema(fields, metadata={"source_sha256": sha, "record": self.record})
        writer = pq.ParquetWriter(
            str(target),
            schema,
            compression="zstd",
            store_schema=False,
            write_statistics=True,
            # identifiers are (nearly) all distinct: a dictionary would be dropped for plain
            # encoding once past its page size, after hashing them all
            use_dictionary=[name for name in self._names if name not in IDENTIFIERS],
        )
        # without the Arrow schema (the file is the same as DuckDB's), the key/value pairs
        # go into the Parquet footer themselves
        writer.add_key_value_metadata({"source_sha256": sha, "record": self.record})
        try:
            waiting: list[pa.RecordBatch] = []  # rows of the next row groups
            count, size = 0, self.row_group_rows
            for batch in self._held_batches():
                if len(repeated):
                    batch = batch.filter(pc.invert(pc.is_in(batch.column("_row"), repeated)))
                if batch.num_rows:
                    waiting.append(batch.drop_columns(["_row"]))
                    count += batch.num_rows
                if count >= size:  # whole row groups now, whatever the block size
                    table = pa.Table.from_batches(waiting)
                    whole = count - count % size
                    writer.write_table(table[:whole].cast(schema), row_group_size=size)
                    waiting, count = table[whole:].to_batches(), count - whole
            if count:
                table = pa.Table.from_batches(waiting)
                writer.write_table(table.cast(schema), row_group_size=size)
        finally:
            writer.close()
        progress(step, 100, 100)


def _needs_trim(column: pa.Array) -> bool:
    """Whether any text starts or ends with a byte DuckDB's trim() might remove (a space, or
    the first/last byte of a non-ASCII character, some of which are Unicode spaces)."""
    if len(column) == column.null_count:
        return False
    offsets_buffer, data_buffer = column.buffers()[1], column.buffers()[2]
    if data_buffer is None:
        return False
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[
        column.offset : column.offset + len(column) + 1
    ]
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    full = ends > starts
    if not full.all():
        starts, ends = starts[full], ends[full]
    if len(starts) == 0:
        return False
    first, last = data[starts], data[ends - 1]
    return bool(((first == 0x20) | (first >= 0x80) | (last == 0x20) | (last >= 0x80)).any())


def _digit_keys(texts: pa.Array) -> tuple[pa.Array, int] | None:
    """Texts that are all digits of one same width (zero-padded codes, as census keys
    usually are) as integers, with that width: two such texts are equal exactly when their
    integers are, and integers hash several times faster than text. None otherwise."""
    if len(texts) == 0 or texts.null_count:
        return None
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)[
        texts.offset : texts.offset + len(texts) + 1
    ]
    widths = np.diff(offsets)
    width = int(widths[0])
    if not 0 < width <= 18 or not (widths == width).all():
        return None
    data = np.frombuffer(texts.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    if not ((data >= 0x30) & (data <= 0x39)).all():
        return None
    return pc.cast(texts, pa.int64()), width
