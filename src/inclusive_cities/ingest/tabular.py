"""Reading small tables (CSV, XLSX) as text, and parsing numbers the way people write them.

Every cell is kept as text until a validator decides what it should be, so that codes keep
their leading zeros and a bad value can be quoted back to the user exactly as written.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest.common import IngestError, require_file, shown

EXCEL_SUFFIXES = (".xlsx", ".xlsm")


@dataclass
class TextTable:
    """A table as text: header, rows (each as long as the header) and where they came from."""

    file: str
    header: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    """Row number as a spreadsheet shows it (header = 1) for each data row."""
    encoding: str = "utf-8"
    hxl: list[str] | None = None
    short_rows: list[tuple[int, int]] = field(default_factory=list)
    """(row number, field count) of rows with fewer or more fields than the header."""


def decode(raw: bytes, file: str, encoding: str | None = None) -> tuple[str, str]:
    """Text and the encoding used: UTF-8 (with or without BOM), else Latin-1 (Windows-1252).

    A declared encoding that does not fit is an error naming the line, not a silent
    fallback: the user said UTF-8, so a Latin-1 byte means the export went wrong.
    """
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(
            _(
                "{file} is not a text file (it contains NUL bytes): export it as CSV or XLSX."
            ).format(file=file)
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as error:
            line = raw[: error.start].count(b"\n") + 1
            raise IngestError(
                _(
                    "{file}, row {row}: byte 0x{byte:02x} is not valid {encoding}; the file seems "
                    "to be in another encoding (Latin-1?). Save it as UTF-8, or give the right "
                    "--encoding."
                ).format(file=file, row=line, byte=raw[error.start], encoding=encoding)
            ) from error
        except LookupError as error:
            raise IngestError(
                _("Unknown encoding '{encoding}': use utf-8, utf-8-sig or latin-1.").format(
                    encoding=encoding
                )
            ) from error
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "latin-1"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def is_hxl_row(cells: list[str]) -> bool:
    filled = [c.strip() for c in cells if c.strip()]
    return bool(filled) and all(c.startswith("#") for c in filled)


def read_csv_text(path: Path | str, encoding: str | None = None) -> TextTable:
    path = require_file(path)
    text, used = decode(path.read_bytes(), path.name, encoding)
    if not text.strip():
        raise IngestError(
            _("{file} has no rows (only blank lines): export it again.").format(file=path.name)
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            records.append((reader.line_num, cells))
    except csv.Error as error:
        raise IngestError(
            _(
                "{file}, row {row}: the file ends inside a quoted value or is malformed "
                "({reason}); it may be truncated: export it again."
            ).format(file=path.name, row=reader.line_num, reason=str(error))
        ) from error
    return _table(path.name, records, used)


def _table(file: str, records: list[tuple[int, list[str]]], encoding: str) -> TextTable:
    records = [(n, cells) for n, cells in records if any(c.strip() for c in cells)]
    if not records:
        raise IngestError(
            _("{file} has no rows (only blank lines): export it again.").format(file=file)
        )
    header = [c.strip() for c in records[0][1]]
    body = records[1:]
    hxl = None
    if is_hxl_row(header):
        hxl, header = header, header
    elif body and is_hxl_row(body[0][1]):
        hxl = [c.strip() for c in body[0][1]]
        hxl += [""] * (len(header) - len(hxl))
        body = body[1:]
    _check_header(file, header, body, hxl is not None and hxl is header)
    for index, name in enumerate(header):
        if not name:
            header[index] = f"column_{index + 1}"
    table = TextTable(file, header, [], [], encoding=encoding, hxl=hxl)
    width = len(header)
    for number, cells in body:
        if len(cells) != width:
            table.short_rows.append((number, len(cells)))
            cells = (cells + [""] * width)[:width]
        table.rows.append([c.strip() for c in cells])
        table.row_numbers.append(number)
    return table


def _check_header(
    file: str, header: list[str], body: list[tuple[int, list[str]]], tags: bool
) -> None:
    """Refuse a header that would make a column ambiguous: a name given twice, or a column
    with values but no name (a blank trailing column is fine)."""
    if not tags:
        for index, name in enumerate(header):
            if name and name in header[:index]:
                raise IngestError(
                    _(
                        "{file}: column '{column}' appears twice in the header (columns "
                        "{first} and {second}): give each column its own name."
                    ).format(file=file, column=name, first=header.index(name) + 1, second=index + 1)
                )
    for index, name in enumerate(header):
        if name:
            continue
        filled = next(((n, c[index]) for n, c in body if index < len(c) and c[index].strip()), None)
        if filled is not None:
            raise IngestError(
                _(
                    "{file}, row {row}: column {column} has values ('{value}') but no name in the "
                    "header: name it, or delete the column."
                ).format(file=file, row=filled[0], column=index + 1, value=shown(filled[1]))
            )


def read_excel_text(path: Path | str, sheet: str | None = None) -> TextTable:
    """A sheet as text; merged header cells are refused (they hide column names)."""
    import openpyxl

    path = require_data_file(path)
    check_xlsx_limits(path)
    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as error:  # openpyxl raises many kinds (XML ParseError, KeyError...)
        raise IngestError(
            _(
                "{file} cannot be opened as an Excel workbook ({reason}); it may be truncated or "
                "not .xlsx: save it again from Excel or LibreOffice."
            ).format(
                file=path.name,
                reason=str(error).splitlines()[0] if str(error) else type(error).__name__,
            )
        ) from error
    names = book.sheetnames
    if sheet is None:
        sheet = names[0]
    if sheet not in names:
        raise IngestError(
            _("{file} has no sheet '{sheet}' (sheets: {sheets}): choose one with --sheet.").format(
                file=path.name, sheet=sheet, sheets=", ".join(names)
            )
        )
    work = book[sheet]
    file = f"{path.name}:{sheet}"
    rows = list(work.iter_rows(values_only=True))
    first = next((i for i, row in enumerate(rows) if any(v not in (None, "") for v in row)), None)
    if first is None:
        raise IngestError(_("{file} has no rows: choose another sheet.").format(file=file))
    for merged in work.merged_cells.ranges:
        if merged.min_row <= first + 2 and merged.max_row >= first + 1:
            raise IngestError(
                _(
                    "{file}, row {row}: header cells {cells} are merged, which hides column names; "
                    "unmerge them and give each column its own name in one header row."
                ).format(file=file, row=merged.min_row, cells=merged.coord)
            )
    if any(value is None for row in rows for value in row):
        _refuse_unsaved_formulas(path, sheet, rows, file)
    records = [
        (number, [_cell_text(v) for v in row])
        for number, row in enumerate(rows, start=1)
        if number > first
    ]
    return _table(file, records, "xlsx")


def _refuse_unsaved_formulas(path: Path, sheet: str, values: list[tuple], file: str) -> None:
    """A formula whose result was never saved reads as an empty cell: refuse it by name.

    Workbooks written by programs (not by Excel or LibreOffice) often hold formulas without
    their computed values; read as they are they would import as empty rows.
    """
    import openpyxl
    from openpyxl.utils import get_column_letter

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        for number, row in enumerate(book[sheet].iter_rows(values_only=True), start=1):
            saved = values[number - 1] if number <= len(values) else ()
            for index, cell in enumerate(row):
                value = saved[index] if index < len(saved) else None
                if value is None and isinstance(cell, str) and cell.startswith("="):
                    raise IngestError(
                        _(
                            "{file}, cell {cell}: the formula {formula} has no saved value, so "
                            "it reads as empty: open the workbook in Excel or LibreOffice and "
                            "save it (or paste the values), then import it again."
                        ).format(
                            file=file,
                            cell=f"{get_column_letter(index + 1)}{number}",
                            formula=cell[:60],
                        )
                    )
    finally:
        book.close()


XLSX_MAX_MB = 200
"""Default largest unpacked size of a workbook (a zip bomb is refused)."""
XLSX_MAX_ROWS = 1_000_000
"""Default most rows a sheet may declare before it is read."""


def _limit(variable: str, default: int) -> int:
    """A positive whole number from the environment, else ``default``."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) == 0:
        raise IngestError(
            _("{variable} is '{value}': give a whole number above 0.").format(
                variable=variable, value=text
            )
        )
    return int(text)


_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]*(\d*)(?::[A-Z]*(\d+))?\"")


def check_xlsx_limits(path: Path, max_mb: int | None = None, max_rows: int | None = None) -> None:
    """Refuse a workbook that would not fit before reading it (a zip bomb, a huge sheet).

    An XLSX is a zip archive: 432 KiB can unpack to gigabytes of cells. The sizes the
    archive declares and each sheet's declared dimension are read first (a few KiB), and
    a workbook beyond the limits (environment ``INCLUSIVE_CITIES_XLSX_MAX_MB`` and
    ``INCLUSIVE_CITIES_XLSX_MAX_ROWS``) is refused before any cell is.
    """
    max_mb = max_mb or _limit("INCLUSIVE_CITIES_XLSX_MAX_MB", XLSX_MAX_MB)
    max_rows = max_rows or _limit("INCLUSIVE_CITIES_XLSX_MAX_ROWS", XLSX_MAX_ROWS)
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            total = sum(entry.file_size for entry in entries)
            if total > max_mb * 1024 * 1024:
                raise IngestError(
                    _(
                        "{file} unpacks to {size} MB, more than the {limit} MB allowed (packed it "
                        "is {packed} MB): split the workbook or save it as CSV; the limit is "
                        "set with INCLUSIVE_CITIES_XLSX_MAX_MB."
                    ).format(
                        file=path.name,
                        size=total // (1024 * 1024),
                        limit=max_mb,
                        packed=round(path.stat().st_size / (1024 * 1024), 1),
                    )
                )
            for entry in entries:
                if not (
                    entry.filename.startswith("xl/worksheets/") and entry.filename.endswith(".xml")
                ):
                    continue
                with archive.open(entry) as handle:
                    head = handle.read(16384)
                found = _DIMENSION.search(head)
                rows = int(found.group(2) or found.group(1) or 0) if found else 0
                if rows > max_rows:
                    raise IngestError(
                        _(
                            "{file}: sheet {sheet} declares {rows} rows, more than the {limit} "
                            "allowed: split the workbook or save it as CSV; the limit is set "
                            "with INCLUSIVE_CITIES_XLSX_MAX_ROWS."
                        ).format(
                            file=path.name,
                            sheet=entry.filename.rsplit("/", 1)[-1].removesuffix(".xml"),
                            rows=rows,
                            limit=max_rows,
                        )
                    )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        raise IngestError(
            _(
                "{file} cannot be opened as an Excel workbook ({reason}); it may be truncated or "
                "not .xlsx: save it again from Excel or LibreOffice."
            ).format(
                file=path.name,
                reason=str(error).splitlines()[0] if str(error) else type(error).__name__,
            )
        ) from error


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_text_table(
    path: Path | str, *, encoding: str | None = None, sheet: str | None = None
) -> TextTable:
    """CSV or XLSX by extension."""
    path = Path(path)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return read_excel_text(path, sheet)
    if path.suffix.lower() == ".xls":
        raise IngestError(
            _("{file} is an old .xls workbook: save it as .xlsx or CSV.").format(file=path.name)
        )
    return read_csv_text(path, encoding)


_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_SPANISH = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*(,\d+)?$|^[+-]?\d+(,\d+)?$")
_ENGLISH = re.compile(r"^[+-]?\d{1,3}(,\d{3})*(\.\d+)?$")


def parse_number(text: str, decimal: str = ".") -> float | None:
    """A number written with ``decimal`` as decimal mark (thousands marks allowed).

    ``"1.234,5"`` with decimal ``","`` is 1234.5; ``"12,5 %"`` is 12.5 (percent points).
    Returns None when the text is not a number in that convention, so that "12,5" read as
    English is refused rather than becoming 125.
    """
    value = text.strip().replace("\u00a0", " ")
    if value.endswith("%"):
        value = value[:-1].strip()
    value = value.replace(" ", "")
    if not value:
        return None
    if decimal == ",":
        if _SPANISH.match(value):
            return _finite(float(value.replace(".", "").replace(",", ".")))
        return None
    if _PLAIN.match(value):
        return _finite(float(value))
    if _ENGLISH.match(value) and "," in value:
        return _finite(float(value.replace(",", "")))
    return None


def _finite(value: float) -> float | None:
    """1e309 reads as infinity: not a number anyone measured."""
    return value if math.isfinite(value) else None


def looks_like_decimal_comma(text: str) -> bool:
    return bool(re.match(r"^[+-]?\d+,\d+\s*%?$", text.strip()))


def zero_stripped(known: Iterable[str]) -> dict[str, str]:
    """Known numeric codes by their form without leading zeros (``"50"`` -> ``"0050"``)."""
    return {k.lstrip("0"): k for k in sorted(known, reverse=True) if k.isdigit()}


def lost_leading_zeros(code: str, known: Iterable[str] | Mapping[str, str]) -> str | None:
    """The known code that ``code`` is once leading zeros are put back (``50`` -> ``0050``),
    or None. Spreadsheets read codes as numbers and drop their zeros; every importer that
    matches codes names (or restores) the code it probably meant with this. ``known``: the
    codes, or :func:`zero_stripped` of them when asking about many codes."""
    text = str(code).strip()
    if not text.isdigit():
        return None
    index = known if isinstance(known, Mapping) else zero_stripped(known)
    found = index.get(text.lstrip("0"))
    return found if found is not None and found != text else None


def require_data_file(path: Path | str) -> Path:
    """An existing, non-empty regular file (a folder given by mistake is named as such)."""
    path = Path(path)
    if path.is_dir():
        raise IngestError(
            _("{path} is a folder, not a file: give the path of the file inside it.").format(
                path=path
            )
        )
    return require_file(path)
