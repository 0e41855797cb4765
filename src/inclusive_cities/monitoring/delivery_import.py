"""Reading the programme's delivery records from CSV or XLSX, shared by the five record kinds.

Facilitators type the records in a workbook (one sheet per kind, Spanish or English headers and
words) or export CSV. Every kind describes its columns once as :class:`Field` rows; this module
turns a sheet into clean dictionaries, stopping at the first bad cell with one line that names
the file, row, column and value and says what to do. Missing-value codes (999, -999, 9999) are
empty cells. Writing happens in the kind's own module, in one transaction with an import batch.
"""

from __future__ import annotations

import contextvars
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_cities.errors import InclusiveCitiesError
from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models
from inclusive_cities.store.monitoring_models import TargetCity

_ONLY_CITIES: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar(
    "delivery_only_cities", default=None
)
"""Target city codes the person importing may edit (None: any, as for an administrator)."""


@contextmanager
def only_cities(codes: set[str] | frozenset[str] | None) -> Iterator[None]:
    """Import as programme staff who edit only these target cities: a row of another city, or
    of no city, is refused (the web upload wraps its import in this)."""
    token = _ONLY_CITIES.set(None if codes is None else frozenset(codes))
    try:
        yield
    finally:
        _ONLY_CITIES.reset(token)


SENTINELS = frozenset({"999", "-999", "9999", "-9999", "999.0", "-999.0", "n/a", "na", "nd"})
"""Cells that mean "no data" in the programme's spreadsheets (the 999 codes of the forms)."""


class DeliveryError(InclusiveCitiesError):
    """A delivery record (training, entrepreneur, policy, centre, commitment) cannot be used."""


def plain(text: str) -> str:
    """Lower case without accents or extra spaces, to match headers and words typed by hand."""
    decomposed = unicodedata.normalize("NFKD", str(text).strip().lower())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s_\-]+", " ", folded)


@dataclass(frozen=True)
class Field:
    """One column of a record kind: its key, English and Spanish headers, and how it is read."""

    key: str
    en: str
    es: str
    kind: str = "text"
    """text, date, number, bool, choice, list, city."""
    required: bool = False
    names: dict[str, tuple[str, ...]] | None = None
    """For ``choice``: stored value -> its names (Spanish first); the value itself, with spaces
    for underscores, is the English word, and case and accents are ignored when matching."""


@dataclass(frozen=True)
class Sheet:
    """A record kind's sheet name in each language."""

    en: str
    es: str


def problem(file: str, row: int, column: str, value: str, what: str) -> DeliveryError:
    """The one-line error every reader raises."""
    return DeliveryError(
        _("{file}, row {row}, column '{column}': '{value}' {what}").format(
            file=file, row=row, column=column, value=value, what=what
        )
    )


def _date(text: str) -> date | None:
    text = text.strip()
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?", text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if not match:
            return None
        day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


_WORDS: dict[int, dict[str, str]] = {}
"""Accepted words of each module-level names table, built once (the tables never change)."""
_YES = {"yes", "y", "si", "s", "1", "true", "verdadero", "x"}
_NO = {"no", "n", "0", "false", "falso"}


def parse_cell(
    field: Field,
    raw: str,
    *,
    file: str,
    row: int,
    column: str,
    cities: Callable[[str], int | None] | None = None,
) -> object:
    """A typed value of one cell (None when empty or a missing-value code)."""
    text = raw.strip()
    if plain(text) in SENTINELS:
        text = ""
    if not text and field.kind == "city" and _ONLY_CITIES.get() is not None:
        raise problem(
            file, row, column, raw, _("is empty: your account adds records of its own cities only.")
        )
    if not text:
        if field.required:
            raise problem(file, row, column, raw, _("is empty: this column is required."))
        return [] if field.kind == "list" else None
    if field.kind == "text":
        return text
    if field.kind == "date":
        value = _date(text)
        if value is None:
            raise problem(
                file, row, column, raw, _("is not a date: write it as 2025-03-31 or 31/03/2025.")
            )
        return value
    if field.kind == "number":
        try:
            return float(text.replace(",", "."))
        except ValueError:
            raise problem(
                file, row, column, raw, _("is not a number: write digits only, such as 72.5.")
            ) from None
    if field.kind == "bool":
        if plain(text) in _YES:
            return True
        if plain(text) in _NO:
            return False
        raise problem(file, row, column, raw, _("is not yes or no: write yes/no (or sí/no)."))
    if field.kind == "choice":
        words = _WORDS.get(id(field.names))
        if words is None:
            words = _WORDS.setdefault(id(field.names), accepted_words(field.names or {}))
        word = words.get(plain(text))
        if word is None:
            raise problem(
                file,
                row,
                column,
                raw,
                _("is not allowed here: use one of {words}.").format(
                    words=", ".join(sorted(set(words.values())))
                ),
            )
        return word
    if field.kind == "list":
        return [part.strip() for part in re.split(r"[;|\n]", text) if part.strip()]
    if field.kind == "city":
        try:
            found = cities(text) if cities else None
        except DeliveryError as refused:
            raise problem(file, row, column, raw, str(refused)) from None
        if found is None:
            raise problem(
                file,
                row,
                column,
                raw,
                _(
                    "is not a target city of a programme: use a target city's code or name "
                    "(see 'inclusive-cities programme results'), or add the city first."
                ),
            )
        return found
    raise ValueError(field.kind)


def city_finder(session: Session) -> Callable[[str], int | None]:
    """Target city ids by code or name (accents and case ignored); ambiguous names match none.
    Under :func:`only_cities`, a city outside the allowed codes is refused."""
    index: dict[str, set[int]] = {}
    codes: dict[int, str] = {}
    for city in session.scalars(select(TargetCity)):
        codes[city.id] = city.code
        for key in (city.code, city.name):
            index.setdefault(plain(key), set()).add(city.id)
    allowed = _ONLY_CITIES.get()

    def find(text: str) -> int | None:
        ids = index.get(plain(text), set())
        found = next(iter(ids)) if len(ids) == 1 else None
        if found is not None and allowed is not None and codes[found] not in allowed:
            raise DeliveryError(
                _("is not one of the cities your account may edit ({codes}).").format(
                    codes=", ".join(sorted(allowed)) or "-"
                )
            )
        return found

    return find


@dataclass(frozen=True)
class Rows:
    """Clean rows of one sheet, with the file label and each row's number for later errors."""

    file: str
    records: list[dict[str, object]]
    numbers: list[int]
    rows_read: int
    headers: dict[str, str] = dataclass_field(default_factory=dict)
    """Field key -> the column's name as the file spells it (for messages)."""

    def column(self, key: str) -> str:
        """The name of a field's column in this file (or in the file's language if absent)."""
        return self.headers.get(key, key)


@dataclass(frozen=True)
class _SheetText:
    name: str
    header: list[str]
    rows: list[list[str]]
    numbers: list[int]


_BOOKS: dict[tuple[str, float, int], list[_SheetText]] = {}


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "date") and hasattr(value, "hour") and not value.hour:  # type: ignore[attr-defined]
        return value.date().isoformat()  # type: ignore[attr-defined]
    return str(value)


def _workbook(path: Path) -> list[_SheetText]:
    """Every sheet of a workbook as text, read once per file version (a workbook import reads
    five sheets; loading the XML five times would dominate it)."""
    import openpyxl

    from inclusive_cities.ingest.tabular import check_xlsx_limits

    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime, stat.st_size)
    if key in _BOOKS:
        return _BOOKS[key]
    check_xlsx_limits(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds (XML ParseError, KeyError...)
        raise DeliveryError(
            _(
                "{file} cannot be opened as an Excel workbook ({reason}): save it again as .xlsx."
            ).format(file=path.name, reason=str(error).splitlines()[0] if str(error) else "?")
        ) from error
    sheets = []
    try:
        for name in book.sheetnames:
            rows = [
                (number, [_cell_text(v) for v in row])
                for number, row in enumerate(book[name].iter_rows(values_only=True), start=1)
            ]
            rows = [(n, cells) for n, cells in rows if any(c.strip() for c in cells)]
            if not rows:
                sheets.append(_SheetText(name, [], [], []))
                continue
            header = [c.strip() for c in rows[0][1]]
            sheets.append(
                _SheetText(name, header, [c for _n, c in rows[1:]], [n for n, _c in rows[1:]])
            )
    finally:
        book.close()
    _BOOKS.clear()
    _BOOKS[key] = sheets
    return sheets


def _find_sheet(path: Path, sheet: Sheet) -> _SheetText:
    """The sheet of a workbook holding this kind (es or en name); a one-sheet book is it."""
    sheets = _workbook(path)
    wanted = {plain(sheet.en), plain(sheet.es)}
    for found in sheets:
        if plain(found.name) in wanted:
            return found
    if len(sheets) == 1:
        return sheets[0]
    raise DeliveryError(
        _("{file} has no sheet '{es}' or '{en}' (sheets: {sheets}): rename the sheet.").format(
            file=path.name, es=sheet.es, en=sheet.en, sheets=", ".join(s.name for s in sheets)
        )
    )


def has_sheet(path: Path | str, sheet: Sheet) -> bool:
    """Whether a workbook has this kind's sheet with a record under its header (a CSV file
    never has a second kind; an untouched template sheet is skipped)."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        return False
    wanted = {plain(sheet.en), plain(sheet.es)}
    return any(plain(s.name) in wanted and s.rows for s in _workbook(path))


def read_rows(
    path: Path | str,
    fields: tuple[Field, ...],
    sheet: Sheet,
    session: Session,
) -> Rows:
    """Every non-empty row of the kind's sheet (or the CSV), parsed and checked."""
    from inclusive_cities.ingest.tabular import read_text_table

    path = Path(path)
    if not path.is_file():
        raise DeliveryError(_("{file} does not exist: check the path.").format(file=str(path)))
    if path.suffix.lower() == ".xlsx":
        found = _find_sheet(path, sheet)
        file = f"{path.name}:{found.name}"
        return parse_rows(file, found.header, found.rows, found.numbers, fields, session)
    table = read_text_table(path)
    return parse_rows(table.file, table.header, table.rows, table.row_numbers, fields, session)


def parse_rows(
    file: str,
    header: list[str],
    cells_by_row: list[list[str]],
    row_numbers: list[int],
    fields: tuple[Field, ...],
    session: Session,
) -> Rows:
    """Rows of text cells under a header, parsed and checked (any source: CSV, XLSX, GPKG)."""
    by_header = {}
    for field in fields:
        by_header[plain(field.en)] = field
        by_header[plain(field.es)] = field
        by_header[plain(field.key)] = field
    columns: list[Field | None] = [by_header.get(plain(h)) for h in header]
    present = {f.key for f in columns if f is not None}
    for field in fields:
        if field.required and field.key not in present:
            raise DeliveryError(
                _(
                    "{file}: there is no column '{es}' (or '{en}'); the columns are {columns}."
                ).format(
                    file=file,
                    es=field.es,
                    en=field.en,
                    columns=", ".join(f.es for f in fields),
                )
            )
    finder = city_finder(session)
    records: list[dict[str, object]] = []
    numbers: list[int] = []
    for number, cells in zip(row_numbers, cells_by_row, strict=True):
        if not any(cell.strip() for cell in cells):
            continue
        record: dict[str, object] = {}
        for column, name, cell in zip(columns, header, cells, strict=False):
            if column is not None:
                record[column.key] = parse_cell(
                    column, cell, file=file, row=number, column=name, cities=finder
                )
        for field in fields:
            if field.key not in record:  # an absent column reads as an empty cell
                record[field.key] = parse_cell(field, "", file=file, row=number, column=field.es)
        records.append(record)
        numbers.append(number)
    if not records:
        raise DeliveryError(
            _("{file} has no records under its header row: type at least one.").format(file=file)
        )
    english = sum(
        1
        for h in header
        if plain(h) in {plain(f.en) for f in fields} - {plain(f.es) for f in fields}
    )
    spanish = sum(
        1
        for h in header
        if plain(h) in {plain(f.es) for f in fields} - {plain(f.en) for f in fields}
    )
    names = {f.key: (f.en if english > spanish else f.es) for f in fields}
    for column, name in zip(columns, header, strict=False):
        if column is not None:
            names[column.key] = name
    return Rows(file, records, numbers, len(cells_by_row), names)


def unique_codes(rows: Rows) -> Iterator[tuple[dict[str, object], int, str]]:
    """Each record with its row number and code; a code used twice is refused, naming both
    rows (a re-import updates by code, so a repeat within one file would hide a record)."""
    seen: dict[str, int] = {}
    for record, number in zip(rows.records, rows.numbers, strict=True):
        code = str(record["code"])
        if code in seen:
            raise problem(
                rows.file,
                number,
                rows.column("code"),
                code,
                _("is used twice (also row {other}); keep one.").format(other=seen[code]),
            )
        seen[code] = number
        yield record, number, code


def upsert_by_code(session: Session, model: type[Any], code: str, values: dict[str, Any]) -> bool:
    """Create the record of this code or update it in place (re-importing a file is safe);
    True when it was created."""
    existing = session.scalar(select(model).where(model.code == code))
    if existing is None:
        session.add(model(code=code, **values))
        return True
    for key, value in values.items():
        setattr(existing, key, value)
    return False


def new_batch(session: Session, kind: str, path: Path | str, rows: Rows) -> models.ImportBatch:
    """The import batch a file's records point to (what was read, from which file)."""
    from inclusive_cities.ingest.common import sha256_file

    batch = models.ImportBatch(
        kind=kind,
        file_name=Path(path).name,
        sha256=sha256_file(Path(path)),
        rows_read=rows.rows_read,
        rows_accepted=len(rows.records),
    )
    session.add(batch)
    session.flush()
    return batch


def accepted_words(pairs: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """A choice's accepted words: each stored value, its plain form and its Spanish names."""
    table: dict[str, str] = {}
    for value, names in pairs.items():
        table[plain(value)] = value
        for name in names:
            table[plain(name)] = value
    return table


@dataclass(frozen=True)
class ImportResult:
    """What an import did: records created and updated (re-importing updates, never doubles)."""

    kind: str
    created: int
    updated: int
    batch_id: int


def choice_label(field: Field, value: str, lang: str) -> str:
    """The word a template shows for a stored value (its first Spanish name in es)."""
    names = (field.names or {}).get(value, ())
    if lang == "es" and names:
        return names[0]
    return value.replace("_", " ")
