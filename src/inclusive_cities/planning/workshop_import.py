"""Import workshops from the shipped XLSX template or from a KoBoToolbox export of the XLSForm.

Rules shared with every importer of the observatory: one transaction (a bad cell leaves the
store as it was), one-line errors naming file, sheet, row, column and value and what to do,
and a re-import of the same workshop code replaces the stored workshop. Headers are matched
in Spanish or English, without accents or the hint in brackets; unknown columns are ignored.

Missing-value codes (``-999``, ``999``, ``NS/NR``… see ``SENTINELS``) are read as empty
cells. Where a value is required, an empty or coded cell is refused: the number of people of
a participant group, the nationality group, a node's or row's kind and text, the workshop's
code and date. In the participant groups an unknown sex, age group or role is kept as the
category ``unknown`` (people were there, their group was not recorded).
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.planning.workshop_templates import (
    MATRIX_WORDS,
    NATIONALITY_WORDS,
    NODE_WORDS,
    SENTINELS,
    SEX_WORDS,
    Column,
    matrix_columns,
    normalise,
    participant_columns,
    sheet_names,
    tree_columns,
    workshop_fields,
    write_xlsform,
)
from inclusive_cities.planning.workshops import (
    CODE_PREFIX,
    MatrixRow,
    Participants,
    TreeNode,
    WorkshopData,
    WorkshopError,
    check_workshop,
    save_workshop,
)
from inclusive_cities.store import models, transaction
from inclusive_cities.store.workshop_models import Workshop

LANGUAGES = ("es", "en")
UNKNOWN = "unknown"


class WorkshopFileError(WorkshopError):
    """A workshop file has a bad cell: the message names file, sheet, row, column and value."""


@dataclass(frozen=True)
class Where:
    """Where a value was read, for the error message."""

    file: str
    sheet: str
    row: int | str
    column: str

    def fail(self, value: object, problem: str) -> WorkshopFileError:
        return WorkshopFileError(
            _(
                "{file}, sheet '{sheet}', row {row}, column '{column}': value '{value}' {problem}"
            ).format(
                file=self.file,
                sheet=self.sheet,
                row=self.row,
                column=self.column,
                value="" if value is None else value,
                problem=problem,
            )
        )


@dataclass(frozen=True)
class ImportSummary:
    """What an import stored: one entry per workshop of the file."""

    file: str
    workshop_ids: list[int]
    codes: list[str]
    replaced: int
    nodes: int
    rows: int
    participants: int


@dataclass
class Vocabulary:
    """What links may point at: the city's units and the catalogue's codes in the store."""

    units: set[str]
    indicators: set[str]
    areas: set[str]
    dimensions: set[str]

    @classmethod
    def of(cls, session: Session, city: models.City) -> Vocabulary:
        units = set(
            session.scalars(
                select(models.SpatialUnit.code).where(models.SpatialUnit.city_id == city.id)
            )
        )
        catalogue = session.execute(
            select(models.Indicator.code, models.Indicator.area, models.Indicator.dimension)
        ).all()
        return cls(
            units=units,
            indicators={c for c, _a, _d in catalogue},
            areas={a for _c, a, _d in catalogue if a},
            dimensions={d for _c, _a, d in catalogue if d},
        )


def blank(value: object) -> bool:
    """An empty cell or a missing-value code."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    text = str(value).strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = str(int(value)) if float(value).is_integer() else text
    return text == "" or text.upper() in SENTINELS


def text_of(value: object) -> str:
    """A cell as text ('' when blank); whole numbers lose Excel's '.0'."""
    if blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def split_codes(value: object) -> list[str]:
    """Codes separated by commas, semicolons, line breaks or spaces."""
    return [c for c in re.split(r"[,;\n\s]+", text_of(value)) if c and not blank(c)]


def _word(value: object, words: dict[str, set[str]]) -> str | None:
    key = normalise(text_of(value))
    return next((code for code, known in words.items() if key in known), None)


def unknown_unit_hint(code: str, known: set[str]) -> str:
    """What to write instead of an unknown unit code: the closest codes of the city.

    No command lists a city's unit codes, so the message itself names the likely ones.
    """
    import difflib

    close = difflib.get_close_matches(code, sorted(known), n=5, cutoff=0.5)
    if close:
        return _(
            "is not a unit code of the city ({count} units): closest codes {codes}; "
            "correct it or leave the cell empty."
        ).format(count=len(known), codes=", ".join(close))
    # nothing alike: show what the city's codes look like, of the same length first
    same = sorted(k for k in known if len(k) == len(code))[:3]
    shapes: dict[int, str] = {}
    for known_code in sorted(known):
        shapes.setdefault(len(known_code), known_code)
    examples = same or [shapes[n] for n in sorted(shapes)][:3]
    return _(
        "is not a unit code of the city ({count} units) and none is like it: the city's "
        "codes look like {codes}; correct it or leave the cell empty."
    ).format(count=len(known), codes=", ".join(examples) or "—")


class Reader:
    """Turns cells into a :class:`WorkshopData`, checking links against the store."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    def unit(self, value: object, where: Where) -> str:
        code = text_of(value)
        if not code:
            return ""
        known = self.vocabulary.units
        if code in known:
            return code
        from inclusive_cities.ingest.tabular import lost_leading_zeros

        # a spreadsheet that read 01001 as the number 1001
        restored = lost_leading_zeros(code, known)
        if restored is not None:
            return restored
        raise where.fail(value, unknown_unit_hint(code, known))

    def units(self, value: object, where: Where) -> list[str]:
        return [self.unit(code, where) for code in split_codes(value)]

    def codes(self, value: object, where: Where, known: set[str], what: str) -> list[str]:
        found = split_codes(value)
        if not known:
            return found
        for code in found:
            if code not in known:
                raise where.fail(
                    code,
                    _("is not {what} of the store: use one of {known}.").format(
                        what=what, known=", ".join(sorted(known)[:12])
                    ),
                )
        return found

    def indicators(self, value: object, where: Where) -> list[str]:
        return self.codes(value, where, self.vocabulary.indicators, _("an indicator code"))

    def areas(self, value: object, where: Where) -> list[str]:
        return self.codes(value, where, self.vocabulary.areas, _("a marker area code"))

    def dimensions(self, value: object, where: Where) -> list[str]:
        return self.codes(value, where, self.vocabulary.dimensions, _("a marker dimension code"))

    @staticmethod
    def required(value: object, where: Where) -> str:
        text = text_of(value)
        if not text:
            raise where.fail(value, _("is empty or a missing-value code: fill it in."))
        return text

    @staticmethod
    def day(value: object, where: Where) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = text_of(value)
        for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
            try:
                return datetime.strptime(text, pattern).date()
            except ValueError:
                continue
        raise where.fail(
            value, _("is not a date: write it as YYYY-MM-DD (for example 2025-03-14).")
        )

    @staticmethod
    def coordinate(value: object, where: Where, limit: float) -> float | None:
        if blank(value):
            return None
        try:
            number = float(str(value).replace(",", "."))
        except ValueError:
            number = float("nan")
        if not -limit <= number <= limit:
            raise where.fail(
                value,
                _("is not a coordinate in decimal degrees between -{limit} and {limit}.").format(
                    limit=int(limit)
                ),
            )
        return number

    @staticmethod
    def count(value: object, where: Where) -> int:
        if blank(value):
            raise where.fail(
                value,
                _(
                    "is empty or a missing-value code: write the number of people (0 if none) "
                    "or delete the row."
                ),
            )
        try:
            number = float(str(value).strip())
        except ValueError:
            number = -1.0
        if number < 0 or not number.is_integer():
            raise where.fail(value, _("is not a whole number of people (0 or more)."))
        return int(number)

    def participant(self, cells: dict[str, object], where: dict[str, Where]) -> Participants:
        sex = _word(cells.get("sex"), SEX_WORDS)
        if sex is None and not blank(cells.get("sex")):
            raise where["sex"].fail(
                cells.get("sex"), _("is not a sex: write F, M or other (or leave it empty).")
            )
        nationality = _word(cells.get("nationality"), NATIONALITY_WORDS)
        if nationality is None:
            raise where["nationality"].fail(
                cells.get("nationality"),
                _("is not a nationality group: write host or refugee_migrant."),
            )
        return Participants(
            sex=sex or UNKNOWN,
            age_group=text_of(cells.get("age_group")) or UNKNOWN,
            nationality=nationality,
            # accents as typed ("líder"), case and spaces folded so the groups add up
            role=" ".join(text_of(cells.get("role")).lower().split()) or UNKNOWN,
            count=self.count(cells.get("count"), where["count"]),
        )

    def node(self, cells: dict[str, object], where: dict[str, Where], position: int) -> TreeNode:
        kind = _word(cells.get("kind"), NODE_WORDS)
        if kind is None:
            raise where["kind"].fail(
                cells.get("kind"), _("is not a node kind: write central, cause or effect.")
            )
        return TreeNode(
            code=text_of(cells.get("code")),
            kind=kind,
            text=self.required(cells.get("text"), where["text"]),
            parent=text_of(cells.get("parent")) or None,
            position=position,
            areas=self.areas(cells.get("areas"), where["areas"]),
            dimensions=self.dimensions(cells.get("dimensions"), where["dimensions"]),
            indicators=self.indicators(cells.get("indicators"), where["indicators"]),
            units=self.units(cells.get("units"), where["units"]),
        )

    def matrix_row(
        self, cells: dict[str, object], where: dict[str, Where], position: int
    ) -> MatrixRow:
        kind = _word(cells.get("kind"), MATRIX_WORDS)
        if kind is None:
            raise where["kind"].fail(
                cells.get("kind"),
                _("is not a matrix column: write demand, cause, asset, differential or solution."),
            )
        area = self.areas(self.required(cells.get("area"), where["area"]), where["area"])
        return MatrixRow(
            code=text_of(cells.get("code")),
            area=area[0],
            kind=kind,
            text=self.required(cells.get("text"), where["text"]),
            position=position,
            indicators=self.indicators(cells.get("indicators"), where["indicators"]),
            units=self.units(cells.get("units"), where["units"]),
            solutions=split_codes(cells.get("solutions")),
        )


def _labels(columns_of: Any) -> dict[str, str]:
    """Normalised header (es, en or key) -> column key."""
    found: dict[str, str] = {}
    for lang in LANGUAGES:
        for column in columns_of(lang):
            found[normalise(column.label)] = column.key
            found[normalise(column.key)] = column.key
    return found


def finish_tree(nodes: list[TreeNode], rows: list[int], where: list[Where]) -> None:
    """Give codes to nodes without one and turn parents given as a row number into codes."""
    taken = {n.code for n in nodes if n.code}
    counters = {"central": 0, "cause": 0, "effect": 0}
    for node in nodes:
        if node.code:
            continue
        prefix = {"central": "P", "cause": "C", "effect": "E"}[node.kind]
        while True:
            counters[node.kind] += 1
            code = f"{prefix}-{counters[node.kind]:02d}"
            if code not in taken:
                break
        node.code = code
        taken.add(code)
    by_row = {row: node.code for row, node in zip(rows, nodes, strict=True)}
    for node, place in zip(nodes, where, strict=True):
        if node.parent is None or node.parent in taken:
            continue
        number = re.sub(r"^(fila|row)\s*", "", node.parent.strip().lower())
        if number.isdigit() and int(number) in by_row:
            node.parent = by_row[int(number)]
            continue
        raise place.fail(
            node.parent,
            _(
                "is neither the code nor the row number of a node of the tree: give the "
                "code of the node this one hangs from (or its row)."
            ),
        )
    for node, place in zip(nodes, where, strict=True):
        if node.kind != "central" and node.parent is None:
            raise place.fail(
                "",
                _(
                    "is empty: a cause or an effect hangs from the central problem or from "
                    "another node; give that node's code or row."
                ),
            )


def finish_matrix(
    rows: list[MatrixRow], where: list[Where], tree_codes: frozenset[str] = frozenset()
) -> None:
    """Give codes (S-01 for solutions…) to rows without one and check proposed solutions.

    A generated code skips the tree's codes too: a code names one claim within a workshop.
    """
    taken = {r.code for r in rows if r.code} | set(tree_codes)
    counters: dict[str, int] = {}
    for row in rows:
        if row.code:
            continue
        while True:
            counters[row.kind] = counters.get(row.kind, 0) + 1
            code = f"{CODE_PREFIX[row.kind]}-{counters[row.kind]:02d}"
            if code not in taken:
                break
        row.code = code
        taken.add(code)
    solutions = {r.code for r in rows if r.kind == "solution"}
    for row, place in zip(rows, where, strict=True):
        for code in row.solutions:
            if code not in solutions:
                raise place.fail(
                    code,
                    _(
                        "is not the code of a solution row of the matrix: add the solution "
                        "or correct the code."
                    ),
                )


def _sheet(book: Any, key: str, file: str) -> Any:
    wanted = {normalise(sheet_names(lang)[key]) for lang in LANGUAGES} | {key}
    for sheet in book.worksheets:
        if normalise(sheet.title) in wanted:
            return sheet
    expected = " / ".join(sheet_names(lang)[key] for lang in LANGUAGES)
    raise WorkshopFileError(
        _(
            "{file} has no sheet '{expected}': fill the shipped template "
            "(`inclusive-cities workshop template`)."
        ).format(file=file, expected=expected)
    )


def _table(
    sheet: Any,
    columns_of: Any,
    required: tuple[str, ...],
    file: str,
    start: int = 1,
    stop_at_blank: bool = False,
) -> tuple[list[tuple[int, dict[str, object], dict[str, Where]]], int]:
    """Rows of a sheet under its header row (searched from ``start``), keyed by column key."""
    labels = _labels(columns_of)
    header_row, header = 0, {}
    for number, row in enumerate(
        sheet.iter_rows(min_row=start, max_row=start + 15, values_only=True), start=start
    ):
        keys = {i: labels[normalise(v)] for i, v in enumerate(row) if normalise(v) in labels}
        if len(keys) >= 2:
            header_row, header = number, keys
            break
    if not header_row:
        names = ", ".join(c.label for c in columns_of("es"))
        raise WorkshopFileError(
            _("{file}, sheet '{sheet}': no header row found (expected {names}).").format(
                file=file, sheet=sheet.title, names=names
            )
        )
    missing = [k for k in required if k not in header.values()]
    if missing:
        label = {c.key: c.label for c in columns_of("es")}[missing[0]]
        raise WorkshopFileError(
            _(
                "{file}, sheet '{sheet}', row {row}: column '{column}' is missing: add it as in "
                "the template."
            ).format(file=file, sheet=sheet.title, row=header_row, column=label)
        )
    out: list[tuple[int, dict[str, object], dict[str, Where]]] = []
    heading = {i: str(sheet.cell(row=header_row, column=i + 1).value) for i in header}
    for number, row in enumerate(
        sheet.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1
    ):
        cells = {key: row[i] if i < len(row) else None for i, key in header.items()}
        if all(v is None or str(v).strip() == "" for v in cells.values()):
            if out and stop_at_blank:
                break
            continue
        where = {key: Where(file, sheet.title, number, heading[i]) for i, key in header.items()}
        for key in {c.key for c in columns_of("en")} - set(where):
            where[key] = Where(file, sheet.title, number, key)
        out.append((number, cells, where))
    return out, header_row


def read_template(path: Path, reader: Reader) -> WorkshopData:
    """One workshop from the XLSX template (either language)."""
    from openpyxl import load_workbook

    file = path.name
    try:
        book = load_workbook(path, data_only=True, read_only=False)
    except Exception as error:  # openpyxl raises several types for a non-XLSX file
        raise WorkshopFileError(
            _("{file} is not an XLSX workbook ({reason}): save it as .xlsx.").format(
                file=file, reason=type(error).__name__
            )
        ) from error
    info = _sheet(book, "workshop", file)
    labels = _labels(workshop_fields)
    values: dict[str, object] = {}
    where: dict[str, Where] = {}
    people_labels = _labels(participant_columns)
    people_start = 0
    for number, row in enumerate(info.iter_rows(values_only=True), start=1):
        if not row:
            continue
        key = labels.get(normalise(row[0]))
        if key and key not in values and normalise(row[0]) not in people_labels:
            values[key] = row[1] if len(row) > 1 else None
            where[key] = Where(file, info.title, number, str(row[0]))
        if normalise(row[0]) in people_labels and people_labels[normalise(row[0])] == "sex":
            people_start = number
            break
    for column in workshop_fields("en"):
        where.setdefault(column.key, Where(file, info.title, "-", column.label))
    data = WorkshopData(
        code=reader.required(values.get("code"), where["code"]),
        title=text_of(values.get("title")),
        held_on=reader.day(_given(values.get("held_on"), where["held_on"]), where["held_on"]),
        unit_code=reader.unit(values.get("unit_code"), where["unit_code"]),
        place_name=text_of(values.get("place_name")),
        longitude=reader.coordinate(values.get("longitude"), where["longitude"], 180),
        latitude=reader.coordinate(values.get("latitude"), where["latitude"], 90),
        areas=reader.areas(values.get("areas"), where["areas"]),
        facilitators=text_of(values.get("facilitators")),
        notes=text_of(values.get("notes")),
        source_file=file,
    )
    _check_point(data, where)
    if people_start:
        rows, _header = _table(
            info,
            participant_columns,
            ("nationality", "count"),
            file,
            start=people_start,
            stop_at_blank=True,
        )
        data.participants = _participants(rows, reader)
    tree_rows, _header = _table(_sheet(book, "tree", file), tree_columns, ("kind", "text"), file)
    data.nodes = [reader.node(cells, w, i) for i, (_n, cells, w) in enumerate(tree_rows)]
    finish_tree(
        data.nodes, [n for n, _c, _w in tree_rows], [w["parent"] for _n, _c, w in tree_rows]
    )
    matrix_rows, _header = _table(
        _sheet(book, "matrix", file), matrix_columns, ("area", "kind", "text"), file
    )
    data.matrix = [reader.matrix_row(cells, w, i) for i, (_n, cells, w) in enumerate(matrix_rows)]
    finish_matrix(
        data.matrix,
        [w["solutions"] for _n, _c, w in matrix_rows],
        frozenset(n.code for n in data.nodes),
    )
    return data


def _given(value: object, where: Where) -> object:
    """A required cell as read (a date stays a date)."""
    return value if isinstance(value, (date, datetime)) else Reader.required(value, where)


def _check_point(data: WorkshopData, where: dict[str, Where]) -> None:
    if (data.longitude is None) != (data.latitude is None):
        missing = "latitude" if data.latitude is None else "longitude"
        raise where[missing].fail(
            "", _("is empty while the other coordinate is given: give both or neither.")
        )


def _participants(
    rows: list[tuple[int, dict[str, object], dict[str, Where]]], reader: Reader
) -> list[Participants]:
    seen: dict[tuple[str, str, str, str], int] = {}
    out = []
    for number, cells, where in rows:
        person = reader.participant(cells, where)
        group = (person.sex, person.age_group, person.nationality, normalise(person.role))
        if group in seen:
            raise where["count"].fail(
                cells.get("count"),
                _("repeats the group of row {row}: add the two counts in one row.").format(
                    row=seen[group]
                ),
            )
        seen[group] = number
        out.append(person)
    return out


def read_kobo_export(path: Path, reader: Reader, form: Path | None = None) -> list[WorkshopData]:
    """Every workshop of a KoBoToolbox XLSX export of the shipped XLSForm."""
    from inclusive_cities.surveys.kobo import read_kobo

    file = path.name
    with tempfile.TemporaryDirectory() as folder:
        form_path = form or write_xlsform(Path(folder) / "workshop-form.xlsx")
        survey = read_kobo(form_path, path, missing=list(SENTINELS))
    errors = survey.issues[survey.issues["severity"] == "error"] if len(survey.issues) else None
    if errors is not None and len(errors):
        first = errors.iloc[0]
        raise Where(file, str(first["sheet"]), first["row"], str(first["column"])).fail(
            first["value"], str(first["problem"])
        )
    main = survey.tables["main"]
    out = []
    for index, record in main.iterrows():
        row = int(record["_source_row"])
        sheet = "main"

        def at(column: str, row: int = row, sheet: str = sheet) -> Where:
            return Where(file, sheet, row, column)

        data = WorkshopData(
            code=reader.required(record.get("code"), at("code")),
            title=text_of(record.get("title")),
            held_on=reader.day(
                _given(_kobo_date(record.get("held_on")), at("held_on")), at("held_on")
            ),
            unit_code=reader.unit(record.get("unit_code"), at("unit_code")),
            place_name=text_of(record.get("place_name")),
            longitude=reader.coordinate(record.get("location_lon"), at("location"), 180),
            latitude=reader.coordinate(record.get("location_lat"), at("location"), 90),
            areas=reader.areas(record.get("areas"), at("areas")),
            facilitators=text_of(record.get("facilitators")),
            notes=text_of(record.get("notes")),
            source_file=file,
        )
        key = str(record.get("_parent", index))
        people = _children(survey.tables.get("participants"), key)
        data.participants = _participants(
            [(n, cells, _wheres(file, "participants", n, cells)) for n, cells in people], reader
        )
        nodes = _children(survey.tables.get("tree"), key, prefix="node_")
        data.nodes = [
            reader.node(cells, _wheres(file, "tree", n, cells, "node_"), i)
            for i, (n, cells) in enumerate(nodes)
        ]
        finish_tree(
            data.nodes,
            [n for n, _c in nodes],
            [Where(file, "tree", n, "node_parent") for n, _c in nodes],
        )
        rows = _children(survey.tables.get("matrix"), key, prefix="row_")
        data.matrix = [
            reader.matrix_row(cells, _wheres(file, "matrix", n, cells, "row_"), i)
            for i, (n, cells) in enumerate(rows)
        ]
        finish_matrix(
            data.matrix,
            [Where(file, "matrix", n, "row_solutions") for n, _c in rows],
            frozenset(n.code for n in data.nodes),
        )
        out.append(data)
    if not out:
        raise WorkshopFileError(_("{file} has no workshop submissions.").format(file=file))
    return out


def _kobo_date(value: object) -> object:
    if isinstance(value, str) and "T" in value:
        return value.split("T")[0]
    return value


def _children(table: Any, key: str, prefix: str = "") -> list[tuple[int, dict[str, object]]]:
    if table is None or table.empty:
        return []
    mine = table[table["_parent"] == key]
    out = []
    for _index, record in mine.iterrows():
        cells = {
            str(c)[len(prefix) :] if prefix and str(c).startswith(prefix) else str(c): record[c]
            for c in mine.columns
        }
        out.append((int(record["_source_row"]), cells))
    return out


def _wheres(
    file: str, sheet: str, row: int, cells: dict[str, object], prefix: str = ""
) -> dict[str, Where]:
    keys = set(cells) | {"code", "kind", "text", "parent", "areas", "dimensions", "indicators"}
    keys |= {"units", "solutions", "area", "sex", "nationality", "count", "age_group", "role"}
    return {k: Where(file, sheet, row, prefix + k) for k in keys}


def is_kobo_export(path: Path) -> bool:
    """A KoBo export has a first sheet with the form's field names and ``_index``/``_uuid``."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True)
    except Exception as error:  # openpyxl raises several types for a non-XLSX file
        raise WorkshopFileError(
            _("{file} is not an XLSX workbook ({reason}): save it as .xlsx.").format(
                file=path.name, reason=type(error).__name__
            )
        ) from error
    try:
        first = book.worksheets[0]
        header = next(first.iter_rows(max_row=1, values_only=True), ())
        return any(str(v) in ("_index", "_uuid", "_id") for v in header if v is not None)
    finally:
        book.close()


def import_workshop(
    engine: Engine,
    path: str | Path,
    city: str,
    *,
    imported_by: str = "",
    form: str | Path | None = None,
) -> ImportSummary:
    """Import the workshop(s) of a template or a KoBo export into a city, in one transaction."""
    path = Path(path)
    if not path.is_file():
        raise WorkshopFileError(
            _("{file} does not exist: give the path of the filled template.").format(file=path)
        )
    with transaction(engine) as session:
        city_row = session.scalar(select(models.City).where(models.City.code == city))
        if city_row is None:
            raise WorkshopError(
                _("City '{city}' is not in the store: import its boundaries first.").format(
                    city=city
                )
            )
        reader = Reader(Vocabulary.of(session, city_row))
        if is_kobo_export(path):
            workshops = read_kobo_export(path, reader, Path(form) if form else None)
        else:
            workshops = [read_template(path, reader)]
        for data in workshops:
            check_workshop(data)
        batch = models.ImportBatch(
            kind="workshop",
            file_name=path.name,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            city_id=city_row.id,
            rows_read=sum(len(w.nodes) + len(w.matrix) + len(w.participants) for w in workshops),
            rows_accepted=sum(
                len(w.nodes) + len(w.matrix) + len(w.participants) for w in workshops
            ),
            imported_by=imported_by,
            details={"workshops": [w.code for w in workshops]},
        )
        session.add(batch)
        session.flush()
        replaced = 0
        ids = []
        for data in workshops:
            old = session.scalar(
                select(Workshop).where(Workshop.city_id == city_row.id, Workshop.code == data.code)
            )
            if old is not None:
                replaced += 1
                previous = session.get(models.ImportBatch, old.batch_id) if old.batch_id else None
                if previous is not None:
                    previous.status = "replaced"
                    batch.replaces_id = previous.id
            ids.append(save_workshop(session, city, data, source_file=path.name, batch_id=batch.id))
    return ImportSummary(
        file=path.name,
        workshop_ids=ids,
        codes=[w.code for w in workshops],
        replaced=replaced,
        nodes=sum(len(w.nodes) for w in workshops),
        rows=sum(len(w.matrix) for w in workshops),
        participants=sum(w.total_participants() for w in workshops),
    )


__all__ = [
    "Column",
    "ImportSummary",
    "WorkshopFileError",
    "import_workshop",
    "read_kobo_export",
    "read_template",
]
