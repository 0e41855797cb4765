"""Indicator tables (CSV/XLSX, long or wide, optional HXL row) into observations.

Long: one row per (unit, indicator, period, value). Wide: one row per unit (and period),
one column per indicator. An HXL hashtag row under the header, when present, says which
column is which; an unknown tag is an error (untagged columns are ignored, as in HXL).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Engine, and_, delete, func, insert, select
from sqlalchemy.orm import Session

from inclusive_cities import store
from inclusive_cities.catalogue import Catalogue, load_catalogue
from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest.checks import (
    Value,
    context_warnings,
    count_problems,
    implausible_values,
    is_population_column,
    scale_problems,
)
from inclusive_cities.ingest.common import (
    ImportRejected,
    ImportReport,
    IngestError,
    Problem,
    ProgressCallback,
    Timer,
    UnitsRefused,
    default_reject_path,
    enforce,
    find_city,
    get_or_create_period,
    open_batch,
    overlapping_batches,
    quiet_progress,
    require_file,
    same_file_batch,
    sha256_file,
    write_rejects,
)
from inclusive_cities.ingest.dictionary import (
    ColumnMeta,
    column_meta,
    dictionary_from_entries,
    normalise_code,
    read_dictionary,
)
from inclusive_cities.ingest.tabular import (
    TextTable,
    looks_like_decimal_comma,
    lost_leading_zeros,
    parse_number,
    read_text_table,
    zero_stripped,
)
from inclusive_cities.store import models

UNIT_NAMES = ("unit_code", "unit", "codigo", "code", "codigo_unidad")
PERIOD_NAMES = ("period", "periodo", "year", "anio", "año", "ano")
INDICATOR_NAMES = ("indicator", "indicador", "indicator_code")
VALUE_NAMES = ("value", "valor")
IGNORED_NAMES = ("name", "nombre", "unit_name")
UNIT_TAGS = re.compile(r"^#(adm[1-5]|loc)(\+.*)?\+code(\+.*)?$")
IGNORED_TAGS = re.compile(r"^#(adm[1-5]|loc|meta|description|org|country)(\+.*)?$")
DEFAULT_HXL_MAP = {
    "#population+total": "population_total",
    "#population+refugees": "population_refugees",
    "#population+migrants": "population_migrants",
    "#population+idps": "population_idps",
}
LOCALE_DECIMAL = {"es": ",", "pt": ",", "fr": ",", "de": ",", "en": "."}


@dataclass
class TableLayout:
    """Which column plays which role (found from HXL tags, names or options)."""

    unit: int
    period: int | None
    indicator: int | None = None
    value: int | None = None
    wide: dict[int, str] = field(default_factory=dict)
    """Column index -> indicator code (wide tables)."""
    guessed: bool = False
    """The wide columns were taken from the header (not named with --column or HXL), so a
    column of names or notes may be among them."""


@dataclass
class ObservationRow:
    row: int
    column: str
    unit_code: str
    indicator: str
    period: str
    value: float
    unit_column: str = ""
    """Header of the unit-code column (messages about the unit name it, not the value's)."""
    text: str = ""
    """The cell as written (24.251 is quoted back as such, not as 24.251 read as a float)."""


@dataclass
class ParsedTable:
    """A table read and checked without the store: its values, problems and warnings."""

    table: TextTable
    rows: list[ObservationRow]
    problems: list[Problem]
    warnings: list[Problem]
    read: int
    metas: dict[str, ColumnMeta]
    missing_cells: int
    scale: list[Problem] = field(default_factory=list)
    """Columns on the wrong scale for their unit (kilometres in metres, shares in %): refused
    unless the user says the values are right."""


@functools.cache
def shipped_catalogue() -> Catalogue:
    """The shipped indicator catalogue, parsed once per process: its YAML took more CPU than
    checking a 5,000-row table (the file is part of the package and does not change)."""
    return load_catalogue()


def _index(header: list[str], wanted: str | None, names: tuple[str, ...]) -> int | None:
    """The column named ``wanted``, else the first with one of the usual ``names``, accents
    and spaces aside ("Código parroquia" is a unit code column, "Año" a period column)."""
    lower = [h.lower() for h in header]
    if wanted is not None:
        return lower.index(wanted.lower()) if wanted.lower() in lower else None
    lower = [normalise_code(h) for h in header]
    for name in names:
        if name in lower:
            return lower.index(name)
    for index, name in enumerate(lower):
        if names is UNIT_NAMES and name.startswith(("codigo_", "cod_", "code_")):
            return index
    return None


def layout_from_hxl(table: TextTable, hxl_map: dict[str, str]) -> TableLayout:
    """Roles from the HXL row; an unknown tag stops the import (it would be silently lost)."""
    assert table.hxl is not None
    unit = period = indicator = value = None
    wide: dict[int, str] = {}
    for index, raw in enumerate(table.hxl):
        tag = raw.strip().lower().replace(" ", "")
        if not tag:
            continue
        base = tag.split("+")[0]
        attributes = tag.split("+")[1:]
        if tag in hxl_map:
            wide[index] = hxl_map[tag]
        elif UNIT_TAGS.match(tag):
            unit = index if unit is None else unit
        elif base == "#date":
            period = index
        elif base == "#indicator" and attributes in (["code"], ["name"]):
            indicator = index
        elif base in ("#indicator", "#value") and attributes in ([], ["num"], ["value"]):
            value = index
        elif base == "#indicator":
            wide[index] = normalise_code("_".join(attributes))
        elif IGNORED_TAGS.match(tag):
            continue
        else:
            raise IngestError(
                _(
                    "{file}, row 2, column '{column}': HXL tag '{tag}' is not known: map it to an "
                    "indicator (--hxl-map '{tag}=indicator_code'), tag the column "
                    "#indicator+CODE, or clear the tag to ignore the column."
                ).format(file=table.file, column=table.header[index], tag=raw)
            )
    if unit is None:
        raise IngestError(
            _(
                "{file}: no HXL unit code column (#adm1+code … #adm5+code or #loc+code): tag the "
                "column with the unit codes."
            ).format(file=table.file)
        )
    return TableLayout(unit, period, indicator, value, wide)


def detect_layout(
    table: TextTable,
    *,
    unit_column: str | None = None,
    period_column: str | None = None,
    indicator_columns: dict[str, str] | None = None,
    hxl_map: dict[str, str] | None = None,
    indicator_column: str | None = None,
    value_column: str | None = None,
) -> TableLayout:
    """Roles of the columns: HXL first, then options, then usual names (a long table's
    indicator-code and value columns may be named with ``indicator_column``/``value_column``)."""
    if table.hxl is not None and not unit_column:
        return layout_from_hxl(table, {**DEFAULT_HXL_MAP, **(hxl_map or {})})
    unit = _index(table.header, unit_column, UNIT_NAMES)
    if unit is None:
        raise IngestError(
            _(
                "{file}: no unit code column '{column}' (columns: {columns}): name it with "
                "--unit-column."
            ).format(
                file=table.file,
                column=unit_column or "unit_code/codigo",
                columns=", ".join(table.header),
            )
        )
    period = _index(table.header, period_column, PERIOD_NAMES)
    if period_column and period is None:
        raise IngestError(
            _("{file}: no period column '{column}': check --period-column.").format(
                file=table.file, column=period_column
            )
        )
    indicator = _index(table.header, indicator_column, INDICATOR_NAMES)
    value = _index(table.header, value_column, VALUE_NAMES)
    if indicator is not None and value is not None and not indicator_columns:
        return TableLayout(unit, period, indicator, value)
    wide: dict[int, str] = {}
    lower = [h.lower() for h in table.header]
    if indicator_columns:
        for column, code in indicator_columns.items():
            if column.lower() not in lower:
                raise IngestError(
                    _("{file}: no column '{column}' (columns: {columns}).").format(
                        file=table.file, column=column, columns=", ".join(table.header)
                    )
                )
            wide[lower.index(column.lower())] = code
    else:
        for index, name in enumerate(lower):
            if index not in (unit, period) and name not in IGNORED_NAMES:
                wide[index] = normalise_code(name)
    return TableLayout(unit, period, wide=wide, guessed=not indicator_columns)


def table_observations(
    table: TextTable,
    layout: TableLayout,
    *,
    period: str | None,
    decimal: str,
    missing_for: Callable[[str], Sequence[float]] = lambda _code: (),
    missing_text_for: Callable[[str], Sequence[str]] = lambda _code: (),
) -> tuple[list[ObservationRow], list[Problem], int, int]:
    """Parse every value; returns observations, problems, the number of rows read and the
    number of cells left empty because they hold a missing-value code (``missing_for``)."""
    missing_cells = 0
    problems: list[Problem] = []
    rows: list[ObservationRow] = []
    for number, count in table.short_rows:
        problems.append(
            Problem(
                table.file,
                number,
                "*",
                count,
                _(
                    "this row has {count} fields where the header has {width}: the file may be "
                    "truncated or use another delimiter."
                ).format(count=count, width=len(table.header)),
            )
        )
    short = {n for n, _c in table.short_rows}
    header = table.header
    seen: dict[tuple[str, str, str], int] = {}
    for number, cells in zip(table.row_numbers, table.rows, strict=True):
        if number in short:
            continue
        unit_code = cells[layout.unit]
        if not unit_code:
            problems.append(
                Problem(
                    table.file,
                    number,
                    header[layout.unit],
                    "",
                    _("the unit code is empty: fill it in or delete the row."),
                )
            )
            continue
        row_period = cells[layout.period] if layout.period is not None else period
        if not row_period:
            column = header[layout.period] if layout.period is not None else "period"
            problems.append(
                Problem(
                    table.file,
                    number,
                    column,
                    "",
                    _("the period is empty: fill it in or give --period."),
                )
            )
            continue
        if layout.indicator is not None and layout.value is not None:
            pairs = [(layout.value, normalise_code(cells[layout.indicator]))]
            if not pairs[0][1]:
                problems.append(
                    Problem(
                        table.file,
                        number,
                        header[layout.indicator],
                        "",
                        _("the indicator code is empty: fill it in."),
                    )
                )
                continue
        else:
            pairs = list(layout.wide.items())
        for index, code in pairs:
            text = cells[index]
            if not text.strip():
                continue
            if text.strip().lower() in missing_text_for(code):
                missing_cells += 1
                continue
            value = parse_number(text, decimal)
            if value is None:
                if decimal == "." and looks_like_decimal_comma(text):
                    hint = _(
                        "it looks like a decimal comma: declare it with --decimal , (or --locale "
                        "es)."
                    )
                elif not any(c.isdigit() for c in text):
                    hint = _(
                        "write a number or leave the cell empty; if '{value}' means 'no data', "
                        "declare it with --missing '{value}' (or in the dictionary's 'missing')."
                    ).format(value=text.strip())
                else:  # the example in the file's own way of writing decimals (F21)
                    hint = _("write a number (e.g. {example}) or leave the cell empty.").format(
                        example="12,5" if decimal == "," else "12.5"
                    )
                problems.append(
                    Problem(
                        table.file,
                        number,
                        header[index],
                        text,
                        _("not a number; {hint}").format(hint=hint),
                    )
                )
                continue
            if value in missing_for(code):
                missing_cells += 1
                continue
            key = (unit_code, code, row_period)
            if key in seen:
                problems.append(
                    Problem(
                        table.file,
                        number,
                        header[index],
                        text,
                        _(
                            "a second value for unit {unit}, indicator {indicator} "
                            "and period {period} (first at row {first}): keep one."
                        ).format(
                            unit=unit_code, indicator=code, period=row_period, first=seen[key]
                        ),
                    )
                )
                continue
            seen[key] = number
            rows.append(
                ObservationRow(
                    number,
                    header[index],
                    unit_code,
                    code,
                    row_period,
                    value,
                    header[layout.unit],
                    text,
                )
            )
    return rows, problems, len(table.rows), missing_cells


def _is_number_like(text: str, decimal: str) -> bool:
    """A cell that is, or nearly is, a number (a decimal comma not declared still counts)."""
    return (
        parse_number(text, decimal) is not None
        or parse_number(text, "," if decimal == "." else ".") is not None
    )


def _leave_out_text_columns(
    table: TextTable, layout: TableLayout, decimal: str, meta: Callable[[str], ColumnMeta]
) -> list[Problem]:
    """Leave out, with a one-line note each, the columns of a wide table taken from its header
    that hold no number at all (names, notes): rejecting every row for them helps nobody.
    When no column would be left, none is left out (the rejection then names the cells)."""
    if not layout.guessed or layout.indicator is not None:
        return []
    notes: list[Problem] = []
    text_columns: list[int] = []
    for index, code in layout.wide.items():
        missing = meta(code).missing_text
        cells = [
            cells[index]
            for cells in table.rows
            if cells[index].strip() and cells[index].strip().lower() not in missing
        ]
        if not cells or any(_is_number_like(c, decimal) for c in cells):
            continue
        text_columns.append(index)
        notes.append(
            Problem(
                table.file,
                None,
                table.header[index],
                cells[0],
                _(
                    "the column holds text, not numbers: left out; to choose the columns to "
                    "import, name each with --column COLUMN=CODE."
                ),
            )
        )
    if len(text_columns) == len(layout.wide):
        return []
    for index in text_columns:
        del layout.wide[index]
    return notes


_CATALOGUE_LOOKALIKES = ((re.compile(r"venezol|venezuel"), "venezuelan_population"),)


def _catalogue_suggestions(
    metas: Mapping[str, ColumnMeta], columns: Mapping[str, str], file: str
) -> list[Problem]:
    """A note for a column that looks like a catalogue count under another name ("Población
    venezolana"): only under the catalogue's code does the profile count it and does
    disclosure control treat it as a count of a protected group."""
    notes: list[Problem] = []
    for code, meta in metas.items():
        if meta.origin == "catalogue":
            continue
        target = next((t for pattern, t in _CATALOGUE_LOOKALIKES if pattern.search(code)), None)
        if target is None or target in metas:
            continue
        if not (is_population_column(meta, columns[code]) or meta.unit in ("personas", "count")):
            continue
        notes.append(
            Problem(
                file,
                None,
                columns[code],
                code,
                _(
                    "this looks like the catalogue's {target}: import it as such (--column "
                    "'{column}={target}') so that profiles count it and disclosure control "
                    "protects it as a count of people."
                ).format(target=target, column=columns[code]),
            )
        )
    return notes


def parse_indicator_table(
    path: Path | str,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    locale: str | None = None,
    period: str | None = None,
    unit_column: str | None = None,
    period_column: str | None = None,
    indicator_columns: dict[str, str] | None = None,
    hxl_map: dict[str, str] | None = None,
    missing: Sequence[float] = (),
    dictionary: Mapping[str, ColumnMeta] | None = None,
    missing_text: Sequence[str] = (),
    indicator_column: str | None = None,
    value_column: str | None = None,
) -> ParsedTable:
    """Read, parse and check an indicator table without touching the store: cells equal to a
    missing-value code (``missing``, or the dictionary's per column) are left empty, values
    outside what the column means (catalogue or dictionary) are problems."""
    table = read_text_table(path, encoding=encoding, sheet=sheet)
    if not table.rows:
        raise IngestError(
            _("{file} has a header but no data rows: nothing to import.").format(file=table.file)
        )
    layout = detect_layout(
        table,
        unit_column=unit_column,
        period_column=period_column,
        indicator_columns=indicator_columns,
        hxl_map=hxl_map,
        indicator_column=indicator_column,
        value_column=value_column,
    )
    if layout.period is None and not period:
        raise IngestError(
            _("{file}: no period column: give the period with --period (e.g. 2024).").format(
                file=table.file
            )
        )
    mark = decimal or LOCALE_DECIMAL.get((locale or "").split("_")[0].lower(), ".")
    catalogue = shipped_catalogue()
    metas: dict[str, ColumnMeta] = {}
    declared = dict(dictionary or {})
    for index, code in layout.wide.items():  # an entry may name the column as the file does
        header = normalise_code(table.header[index])
        if header in declared and code not in declared:
            declared[code] = replace(declared[header], code=code)

    def meta(code: str) -> ColumnMeta:
        if code not in metas:
            metas[code] = column_meta(code, catalogue, declared, missing, missing_text)
        return metas[code]

    skipped = _leave_out_text_columns(table, layout, mark, meta)
    rows, problems, read, missing_cells = table_observations(
        table,
        layout,
        period=period,
        decimal=mark,
        missing_for=lambda code: meta(code).missing,
        missing_text_for=lambda code: meta(code).missing_text,
    )
    values = [
        Value(r.row, r.column, r.indicator, r.unit_code, r.period, r.value, r.text) for r in rows
    ]
    used = {r.indicator: meta(r.indicator) for r in rows}
    implausible, warnings = implausible_values(values, used, table.file)
    warnings[:0] = skipped
    problems.extend(implausible)
    counts, count_warnings = count_problems(values, used, table.file, mark)
    problems.extend(counts)
    warnings.extend(count_warnings)
    scale = scale_problems(values, used, table.file, mark)
    warnings.extend(_catalogue_suggestions(used, {r.indicator: r.column for r in rows}, table.file))
    columns = {r.indicator: r.column for r in rows}
    for code, column in columns.items():
        said = declared.get(code)
        if said is None or code not in catalogue:
            continue
        if said.direction not in ("unknown", catalogue[code].direction):
            warnings.append(
                Problem(
                    table.file,
                    None,
                    column,
                    said.direction,
                    _(
                        "{code} is a catalogue indicator ({direction}): the dictionary's "
                        "direction is not used; give the column another code (--column) if it "
                        "measures something else."
                    ).format(code=code, direction=catalogue[code].direction),
                )
            )
    return ParsedTable(table, rows, problems, warnings, read, metas, missing_cells, scale)


def read_indicator_table(
    path: Path | str,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    locale: str | None = None,
    period: str | None = None,
    unit_column: str | None = None,
    period_column: str | None = None,
    indicator_columns: dict[str, str] | None = None,
    hxl_map: dict[str, str] | None = None,
    missing: Sequence[float] = (),
    dictionary: Mapping[str, ColumnMeta] | None = None,
) -> tuple[TextTable, list[ObservationRow], list[Problem], int]:
    """Read and parse an indicator table without touching the store."""
    parsed = parse_indicator_table(
        path,
        sheet=sheet,
        encoding=encoding,
        decimal=decimal,
        locale=locale,
        period=period,
        unit_column=unit_column,
        period_column=period_column,
        indicator_columns=indicator_columns,
        hxl_map=hxl_map,
        missing=missing,
        dictionary=dictionary,
    )
    return parsed.table, parsed.rows, parsed.problems, parsed.read


def import_table(
    engine: Engine,
    path: Path | str,
    *,
    city: str,
    level: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    locale: str | None = None,
    period: str | None = None,
    unit_column: str | None = None,
    period_column: str | None = None,
    indicator_columns: dict[str, str] | None = None,
    hxl_map: dict[str, str] | None = None,
    missing: Sequence[float] = (),
    dictionary: Path | str | None = None,
    missing_text: Sequence[str] = (),
    dictionary_entries: Sequence[Mapping[str, str]] = (),
    indicator_column: str | None = None,
    value_column: str | None = None,
    source: str = "",
    licence: str = "",
    accept_valid: bool = False,
    accept_units: bool = False,
    dry_run: bool = False,
    reject_path: Path | str | None = None,
    progress: ProgressCallback | None = None,
    imported_by: str = "",
) -> ImportReport:
    """Import an indicator table for ``city`` as observed observations, in one transaction.

    ``imported_by``: who imports it (the web account; the shell's user otherwise).

    A column on the wrong scale for its unit (all 0-1 in a % column, kilometres in a metres
    column) refuses the file (:class:`UnitsRefused`); ``accept_units`` stores it as it is,
    with a warning.

    ``licence`` (e.g. the statistical office's terms) is kept with the import and named on
    every download of its figures instead of the observatory's default licence.

    ``missing``: cell values that mean "no data" (999, -999) in every column, and
    ``missing_text`` the text ones (NS/NR); ``dictionary``: a data dictionary file giving each
    column's names, unit, direction, range and codes; ``dictionary_entries``: entries given
    as data (the web form's units and directions), over the file's."""
    timer = Timer()
    progress = progress or quiet_progress
    path = require_file(path)
    store.require_current(engine)
    report = ImportReport(kind="table", file=path.name, sha256=sha256_file(path))
    declared = read_dictionary(dictionary) if dictionary is not None else {}
    declared.update(
        dictionary_from_entries(
            [
                (_("{file}, column {code}").format(file=path.name, code=e.get("code", "?")), e)
                for e in dictionary_entries
            ]
        )
    )
    reading: dict[str, object] = {
        "missing": sorted(float(m) for m in missing),
        "dictionary": sha256_file(Path(dictionary)) if dictionary is not None else "",
    }
    if missing_text:
        reading["missing_text"] = sorted(t.lower() for t in missing_text)
    chosen = {  # how the file was read: the same file read otherwise is another import
        "entries": [dict(sorted(e.items())) for e in dictionary_entries],
        "columns": dict(sorted((indicator_columns or {}).items())),
        "unit_column": unit_column,
        "period_column": period_column,
        "indicator_column": indicator_column,
        "value_column": value_column,
        "period": period,
        "level": level,
        "decimal": decimal or locale,
    }
    reading.update({k: v for k, v in chosen.items() if v})
    progress(_("Reading {file}").format(file=path.name), 0, None)
    parsed = parse_indicator_table(
        path,
        sheet=sheet,
        encoding=encoding,
        decimal=decimal,
        locale=locale,
        period=period,
        unit_column=unit_column,
        period_column=period_column,
        indicator_columns=indicator_columns,
        hxl_map=hxl_map,
        missing=missing,
        dictionary=declared,
        missing_text=missing_text,
        indicator_column=indicator_column,
        value_column=value_column,
    )
    table, rows, problems = parsed.table, parsed.rows, parsed.problems
    report.file = table.file
    report.rows_read = parsed.read
    report.warnings.extend(parsed.warnings)
    report.details.update(
        encoding=table.encoding,
        hxl=table.hxl is not None,
        reading=reading,
        missing_cells=parsed.missing_cells,
    )
    with store.transaction(engine) as session:
        city_row = find_city(session, city, table.file)
        previous = same_file_batch(session, "table", city_row.id, report.sha256)
        if previous is not None and not dry_run and _read_alike(previous, reading):
            report.status, report.batch_id = "unchanged", previous.id
            report.seconds = timer.seconds()
            return report
        codes = {r.unit_code for r in rows}
        units, areas = _unit_ids(session, city_row, level, codes, table.file)
        unmatched = codes - set(units)
        if rows and not units:
            raise IngestError(_no_unit_matches(session, city_row, level, rows, table.file))
        reported: set[int] = set()
        known_codes = _city_codes(session, city_row, level) if unmatched else []
        stripped = zero_stripped(known_codes)
        spelled = _folded(known_codes)
        for row in rows:
            if row.unit_code in unmatched and row.row not in reported:
                reported.add(row.row)
                problems.append(
                    Problem(
                        table.file,
                        row.row,
                        row.unit_column,
                        row.unit_code,
                        _(
                            "unit code not found in city {city}: check the code or "
                            "import the boundaries first."
                        ).format(city=city)
                        + (
                            _zeros_hint([row.unit_code], stripped)
                            or _spelling_hint(row.unit_code, spelled)
                        ),
                    )
                )
        rows = [r for r in rows if r.unit_code not in unmatched]
        report.units_matched = len({r.unit_code for r in rows})
        report.units_unmatched = len(unmatched)
        problems.sort(key=lambda p: (p.row or 0, p.column))
        bad_rows = {p.row for p in problems}
        rows = [r for r in rows if r.row not in bad_rows]
        report.problems = problems
        report.rows_rejected = len(bad_rows)
        report.rows_accepted = len({r.row for r in rows})
        report.details["observations"] = len(rows)
        if accept_valid and problems and not rows:
            raise ImportRejected(_nothing_valid(report), report)
        enforce(report, accept_valid)
        if parsed.scale and not accept_units:
            raise UnitsRefused(report, parsed.scale)
        # kept as asked: the warning says so instead of "import it again"
        report.warnings.extend(
            replace(
                problem,
                reason=_("{reason}; stored as they are, as asked.").format(
                    reason=problem.reason.split(";")[0]
                ),
            )
            for problem in parsed.scale
        )
        report.warnings.extend(
            context_warnings(
                [Value(r.row, r.column, r.indicator, r.unit_code, r.period, r.value) for r in rows],
                parsed.metas,
                {code: areas.get(code) for code in units},
                table.file,
            )
        )
        if accept_valid and problems:
            report.reject_path = str(reject_path or default_reject_path(path))
        if dry_run:
            report.status = "dry_run"
            report.seconds = timer.seconds()
            return report
        level_of = _level_codes(session, {units[r.unit_code] for r in rows})
        # what this file covers: an indicator, a period and a level (a file of barrios never
        # replaces one of localities: trial #4 F20, where each upload deleted the last one's
        # rows at any level, and the census values those had overwritten never came back)
        scope = sorted({_scope(r, level_of[units[r.unit_code]]) for r in rows})
        overlapping = overlapping_batches(session, "table", city_row.id, scope)
        replaced = [b for b in overlapping if set((b.details or {}).get("scope", [])) <= set(scope)]
        partly = [b for b in overlapping if b not in replaced]
        periods = {
            code: get_or_create_period(session, code).id for code in {r.period for r in rows}
        }
        single = next(iter(periods.values())) if len(periods) == 1 else None
        if licence.strip():
            report.details["licence"] = licence.strip()
        if source.strip():
            report.details["source"] = source.strip()
        batch = open_batch(
            session,
            report,
            city_id=city_row.id,
            period_id=single,
            scope=scope,
            replaced=replaced,
            details=dict(report.details),
        )
        if imported_by:  # a web upload: the account, not the server process's user (F20)
            batch.imported_by = imported_by
        indicators = _indicator_ids(
            session,
            {r.indicator for r in rows},
            source or table.file,
            {r.indicator: parsed.metas[r.indicator] for r in rows},
        )
        report.warnings.extend(
            _dropped_units(session, replaced, {units[r.unit_code] for r in rows})
        )
        if replaced:
            session.execute(
                delete(models.Observation).where(
                    models.Observation.batch_id.in_([b.id for b in replaced])
                )
            )
        for old in partly:  # an earlier file with more in it keeps what this one does not cover
            _drop_scope(session, old, set(scope), indicators, periods)
        report.warnings.extend(
            _overwritten(session, rows, units, indicators, periods, table.file, source)
        )
        _replace_values(session, rows, units, indicators, periods)
        values = [
            {
                "indicator_id": indicators[r.indicator],
                "unit_id": units[r.unit_code],
                "period_id": periods[r.period],
                "value": r.value,
                "status": "observed",
                "source": source or table.file,
                "batch_id": batch.id,
                "sex": models.TOTAL,
                "age_group": models.TOTAL,
                "nationality": models.TOTAL,
            }
            for r in rows
        ]
        for start in range(0, len(values), 5000):
            session.execute(insert(models.Observation), values[start : start + 5000])
            progress(_("Storing observations"), min(start + 5000, len(values)), len(values))
    if report.reject_path:
        by_row = {
            n: dict(zip(table.header, c, strict=True))
            for n, c in zip(table.row_numbers, table.rows, strict=True)
        }
        write_rejects(Path(report.reject_path), problems, by_row)
    report.seconds = timer.seconds()
    return report


def _read_alike(batch: models.ImportBatch, reading: dict[str, object]) -> bool:
    """Whether a stored import of the same file read it the same way (same missing codes and
    dictionary): the same file read with --missing 999 is a different import."""
    before = (batch.details or {}).get("reading") or {"missing": [], "dictionary": ""}
    return bool(before == reading)


def _nothing_valid(report: ImportReport) -> str:
    """With --accept-valid and every row rejected: the first reasons, and no advice to use
    the option already given."""
    first = "; ".join(str(p).rstrip(".") for p in report.problems[:3])
    return _(
        "{file}: all {read} rows were rejected, nothing was imported: {first}. Fix the file "
        "(or choose the columns with --column) and run again."
    ).format(file=report.file, read=report.rows_read, first=first)


def _city_codes(session: Session, city: models.City, level: str | None) -> list[str]:
    query = select(models.SpatialUnit.code).where(models.SpatialUnit.city_id == city.id)
    if level is not None:
        query = query.join(
            models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id
        ).where(models.UnitLevel.code == level)
    return list(session.scalars(query))


def _zeros_hint(codes: Sequence[str], stripped: Mapping[str, str]) -> str:
    """ " The city has 0050: the file lost the codes' leading zeros" when it is so."""
    for code in codes:
        found = lost_leading_zeros(code, stripped)
        if found is not None:
            return " " + _(
                "The city has {found} for {code}: the file lost the codes' leading zeros (a "
                "spreadsheet read them as numbers); format the column as text and export again."
            ).format(found=found, code=code)
    return ""


def _fold(text: str) -> str:
    """Lower case, no accents, single spaces: 'Zámbiza' and 'ZAMBIZA ' read alike."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.lower().split())


def _folded(codes: Sequence[str]) -> dict[str, str]:
    return {_fold(c): c for c in sorted(codes, reverse=True)}


def _spelling_hint(code: str, folded: Mapping[str, str]) -> str:
    """ " The city writes it 'Zambiza'" when the code differs only in accents, case or spaces
    (names used as codes are typed by hand)."""
    found = folded.get(_fold(code))
    if found is None or found == code:
        return ""
    return " " + _(
        "The city writes it '{found}' (accents, capitals or spaces differ): write it so in the "
        "file."
    ).format(found=found)


def _city_levels(session: Session, city: models.City) -> list[str]:
    return list(
        session.scalars(
            select(models.UnitLevel.code)
            .where(models.UnitLevel.city_id == city.id)
            .order_by(models.UnitLevel.depth)
        )
    )


def _no_unit_matches(
    session: Session,
    city: models.City,
    level: str | None,
    rows: list[ObservationRow],
    file: str,
) -> str:
    """One line instead of one "not found" per row when no code matches at all."""
    codes = sorted({r.unit_code for r in rows})
    known = _city_codes(session, city, level)
    folded = _folded(known)
    hint = _zeros_hint(codes, zero_stripped(known)) or next(
        (h for h in (_spelling_hint(c, folded) for c in codes) if h), ""
    )
    return (
        _(
            "{file}: none of the {count} unit codes in column '{column}' (e.g. {examples}) is a "
            "unit of city {city}{at} (levels: {levels}): check the codes and --level, or import "
            "the boundaries first."
        ).format(
            file=file,
            count=len(codes),
            column=rows[0].unit_column,
            examples=", ".join(codes[:3]),
            city=city.code,
            at=_(" at level {level}").format(level=level) if level else "",
            levels=", ".join(_city_levels(session, city)) or "-",
        )
        + hint
    )


def _unit_ids(
    session: Session, city: models.City, level: str | None, codes: set[str], file: str
) -> tuple[dict[str, int], dict[str, float | None]]:
    """Codes -> unit ids (and areas in m²) at the named level, or at the level where most
    codes match. A level the city does not have is an error naming the levels it has."""
    if level is not None:
        levels = _city_levels(session, city)
        if level not in levels:
            raise IngestError(
                _(
                    "{file}: city {city} has no level '{level}' (levels: {levels}): give one of "
                    "them with --level, or leave --level out to match the codes."
                ).format(file=file, city=city.code, level=level, levels=", ".join(levels) or "-")
            )
    query = (
        select(
            models.UnitLevel.code,
            models.SpatialUnit.code,
            models.SpatialUnit.id,
            models.SpatialUnit.area_m2,
        )
        .join(models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id)
        .where(models.SpatialUnit.city_id == city.id)
    )
    if level is not None:
        query = query.where(models.UnitLevel.code == level)
    by_level: dict[str, dict[str, tuple[int, float | None]]] = {}
    for level_code, code, unit_id, area in session.execute(query):
        if code in codes:
            by_level.setdefault(level_code, {})[code] = (unit_id, area)
    if not by_level:
        return {}, {}
    best = max(by_level.values(), key=len)
    return {c: u for c, (u, _a) in best.items()}, {c: a for c, (_u, a) in best.items()}


def _indicator_ids(
    session: Session, codes: set[str], source: str, metas: Mapping[str, ColumnMeta]
) -> dict[str, int]:
    """Indicator ids, creating the new ones with their meaning: the catalogue's names, unit
    and direction, else the dictionary's, else the code as name and an unknown direction.
    A stored indicator takes what a dictionary now declares for it."""
    stored = {
        row.code: row
        for row in session.scalars(select(models.Indicator).where(models.Indicator.code.in_(codes)))
    }
    found: dict[str, int] = {}
    in_catalogue = any(m.origin == "catalogue" for m in metas.values())
    catalogue = shipped_catalogue() if in_catalogue else None
    for code in sorted(codes):
        meta = metas.get(code) or ColumnMeta(code=code)
        row = stored.get(code)
        if row is None:
            row = models.Indicator(
                code=code,
                name_es=meta.name_es or meta.name_en or code,
                name_en=meta.name_en or meta.name_es or code,
                unit=meta.unit,
                direction=meta.direction,
                source=source,
            )
            if meta.origin == "catalogue" and catalogue is not None:
                spec = catalogue[code]
                row.area, row.dimension = spec.area, spec.dimension
            session.add(row)
        elif meta.origin:
            if meta.name_es and (meta.origin == "dictionary" or row.name_es == code):
                row.name_es = meta.name_es
            if meta.name_en and (meta.origin == "dictionary" or row.name_en == code):
                row.name_en = meta.name_en
            if meta.unit and (meta.origin == "dictionary" or not row.unit):
                row.unit = meta.unit
            if meta.origin == "catalogue" or meta.direction != "unknown":
                row.direction = meta.direction
        session.flush()
        found[code] = row.id
    return found


def _scope(row: ObservationRow, level: str) -> str:
    return f"{row.indicator}@{row.period}@{level}"


def _level_codes(session: Session, unit_ids: set[int]) -> dict[int, str]:
    """Each unit's level code."""
    out: dict[int, str] = {}
    ids = sorted(unit_ids)
    for start in range(0, len(ids), 900):
        for unit_id, code in session.execute(
            select(models.SpatialUnit.id, models.UnitLevel.code)
            .join(models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id)
            .where(models.SpatialUnit.id.in_(ids[start : start + 900]))
        ):
            out[int(unit_id)] = str(code)
    return out


def _drop_scope(
    session: Session,
    old: models.ImportBatch,
    scope: set[str],
    indicators: dict[str, int],
    periods: dict[str, int],
) -> None:
    """Delete an earlier batch's rows for the scope entries this file covers; the batch stays
    active for the rest of its scope."""
    details = dict(old.details or {})
    kept = [entry for entry in details.get("scope", []) if entry not in scope]
    for entry in sorted(set(details.get("scope", [])) & scope):
        if entry.count("@") != 2 or entry.split("@")[0] not in indicators:
            continue
        code, period, level = entry.split("@")
        level_units = (
            select(models.SpatialUnit.id)
            .join(models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id)
            .where(models.UnitLevel.code == level, models.SpatialUnit.city_id == old.city_id)
        )
        session.execute(
            delete(models.Observation).where(
                models.Observation.batch_id == old.id,
                models.Observation.indicator_id == indicators[code],
                models.Observation.period_id == periods[period],
                models.Observation.unit_id.in_(level_units),
            )
        )
    details["scope"] = kept
    old.details = details


def _dropped_units(
    session: Session, earlier: list[models.ImportBatch], covered: set[int]
) -> list[Problem]:
    """A warning for each earlier file whose values for units this file does not have are
    removed with it (a corrected file replaces the earlier one of the same indicator, period
    and level; a file meant to add a few units would otherwise delete the others unsaid)."""
    warnings = []
    for old in earlier:
        units = set(
            session.scalars(
                select(models.Observation.unit_id).where(models.Observation.batch_id == old.id)
            )
        )
        gone = len(units - covered)
        if gone:
            warnings.append(
                Problem(
                    old.file_name,
                    None,
                    "",
                    str(gone),
                    _(
                        "this file replaces {file} (import {batch}): its values for {count} "
                        "units that this file does not have are removed. To add units to it "
                        "instead, import one file with all of them."
                    ).format(file=old.file_name, batch=old.id, count=gone),
                )
            )
    return warnings


def _overwritten(
    session: Session,
    rows: list[ObservationRow],
    units: dict[str, int],
    indicators: dict[str, int],
    periods: dict[str, int],
    file: str,
    source: str,
) -> list[Problem]:
    """A warning for each indicator whose values computed by the observatory (from the census,
    the facilities ...) this file replaces: they are not kept, and a later file that leaves
    those units out leaves them empty until the indicators are computed again (trial #4 F20:
    census values replaced without a word)."""
    warnings: list[Problem] = []
    for code in sorted({r.indicator for r in rows}):
        for period in sorted({r.period for r in rows if r.indicator == code}):
            unit_ids = sorted(
                {units[r.unit_code] for r in rows if (r.indicator, r.period) == (code, period)}
            )
            count = 0
            for start in range(0, len(unit_ids), 900):
                count += int(
                    session.scalar(
                        select(func.count(models.Observation.id)).where(
                            models.Observation.indicator_id == indicators[code],
                            models.Observation.period_id == periods[period],
                            models.Observation.sex == models.TOTAL,
                            models.Observation.age_group == models.TOTAL,
                            models.Observation.nationality == models.TOTAL,
                            models.Observation.status.in_(("computed", "suppressed")),
                            models.Observation.unit_id.in_(unit_ids[start : start + 900]),
                        )
                    )
                    or 0
                )
            if count:
                warnings.append(
                    Problem(
                        file,
                        None,
                        code,
                        period,
                        _(
                            "replaces {count} values of {code} ({period}) that the observatory "
                            "computed from the census or the maps with the file's ({source}); "
                            "to go back to the computed ones, run 'indicators compute' again."
                        ).format(count=count, code=code, period=period, source=source or file),
                    )
                )
    return warnings


def _replace_values(
    session: Session,
    rows: list[ObservationRow],
    units: dict[str, int],
    indicators: dict[str, int],
    periods: dict[str, int],
) -> None:
    """Values for the same indicator, unit and period from elsewhere give way to this file."""
    pairs = {(indicators[r.indicator], periods[r.period]) for r in rows}
    for indicator_id, period_id in pairs:
        unit_ids = [
            units[r.unit_code]
            for r in rows
            if indicators[r.indicator] == indicator_id and periods[r.period] == period_id
        ]
        for start in range(0, len(unit_ids), 900):
            session.execute(
                delete(models.Observation).where(
                    and_(
                        models.Observation.indicator_id == indicator_id,
                        models.Observation.period_id == period_id,
                        models.Observation.sex == models.TOTAL,
                        models.Observation.age_group == models.TOTAL,
                        models.Observation.nationality == models.TOTAL,
                        models.Observation.unit_id.in_(unit_ids[start : start + 900]),
                    )
                )
            )
