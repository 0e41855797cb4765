"""The inputs facilitators fill: an XLSX template (es/en) and an XLSForm for KoBoToolbox.

The template has one sheet for the workshop (its fields, then the participant counts), one
for the problem tree and one for the systematisation matrix. Headers are matched in either
language by :mod:`inclusive_cities.planning.workshop_import`, so a Spanish template filled
by one team and an English one filled by another import the same way. The vocabulary
(kinds of node and of matrix column, sexes, nationality groups) is defined here once.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inclusive_cities.i18n import gettext as _
from inclusive_cities.store.workshop_models import MATRIX_KINDS, NODE_KINDS

SENTINELS = ("-999", "999", "-99", "99", "NS/NR", "NS", "NR", "N/A", "NA", "ND", "-")
"""Missing-value codes of field forms: read as an empty cell (and refused where a value is
required, such as a participant count)."""


@dataclass(frozen=True)
class Column:
    """A field of the template: its key, header, and the help shown under it."""

    key: str
    label: str
    help: str = ""


def normalise(text: object) -> str:
    """Lower case, no accents, no parenthetical hint, single spaces: for matching headers."""
    value = str(text or "").split("(")[0].strip().lower()
    value = unicodedata.normalize("NFKD", value)
    value = "".join(c for c in value if not unicodedata.combining(c))
    return " ".join(value.replace("_", " ").split())


def sheet_names(lang: str) -> dict[str, str]:
    """Sheet titles of the template in a language (keys: workshop, tree, matrix)."""
    return {
        "workshop": _("Workshop", lang),
        "tree": _("Problem tree", lang),
        "matrix": _("Matrix", lang),
    }


def workshop_fields(lang: str) -> list[Column]:
    """Fields of the workshop sheet (label in column A, value in column B)."""
    return [
        Column("code", _("Workshop code", lang), _("Unique in the city, e.g. TALLER-01", lang)),
        Column("title", _("Title", lang)),
        Column("held_on", _("Date (YYYY-MM-DD)", lang)),
        Column("unit_code", _("Unit code (neighbourhood)", lang), _("As in the store", lang)),
        Column("place_name", _("Place", lang)),
        Column("longitude", _("Longitude", lang), _("Decimal degrees, WGS 84", lang)),
        Column("latitude", _("Latitude", lang), _("Decimal degrees, WGS 84", lang)),
        Column("areas", _("Thematic areas", lang), _("Marker area codes, comma-separated", lang)),
        Column("facilitators", _("Facilitators", lang)),
        Column("notes", _("Notes", lang)),
    ]


def participant_columns(lang: str) -> list[Column]:
    """Columns of the participant table on the workshop sheet (one row per group)."""
    return [
        Column("sex", _("Sex", lang), _("F, M or other", lang)),
        Column("age_group", _("Age group", lang), _("e.g. 18-29", lang)),
        Column("nationality", _("Nationality group", lang), _("host or refugee_migrant", lang)),
        Column("role", _("Role", lang), _("e.g. resident, leader, official", lang)),
        Column("count", _("Number of people", lang)),
    ]


def tree_columns(lang: str) -> list[Column]:
    """Columns of the problem-tree sheet (one row per node)."""
    return [
        Column("code", _("Code", lang)),
        Column("kind", _("Kind", lang), _("central, cause or effect", lang)),
        Column("parent", _("Hangs from (code or row)", lang)),
        Column("text", _("Text", lang)),
        Column("areas", _("Areas", lang)),
        Column("dimensions", _("Dimensions", lang)),
        Column("indicators", _("Indicators", lang)),
        Column("units", _("Units", lang)),
    ]


def matrix_columns(lang: str) -> list[Column]:
    """Columns of the matrix sheet (one row per demand, cause, asset, differential, solution)."""
    return [
        Column("code", _("Code", lang)),
        Column("area", _("Area", lang)),
        Column(
            "kind",
            _("Matrix column", lang),
            _("demand, cause, asset, differential or solution", lang),
        ),
        Column("text", _("Text", lang)),
        Column("indicators", _("Indicators", lang)),
        Column("units", _("Units", lang)),
        Column("solutions", _("Solutions proposed", lang), _("Solution codes, e.g. S-01", lang)),
    ]


def kind_names(lang: str) -> dict[str, str]:
    """Display names of node kinds and matrix columns."""
    return {
        "central": _("central problem", lang),
        "cause": _("cause", lang),
        "effect": _("effect", lang),
        "demand": _("demand", lang),
        "asset": _("territorial asset", lang),
        "differential": _("integration differential", lang),
        "solution": _("solution", lang),
    }


def nationality_names(lang: str) -> dict[str, str]:
    return {"host": _("host community", lang), "refugee_migrant": _("refugee or migrant", lang)}


def _words(*words: str) -> set[str]:
    return {normalise(w) for w in words}


NODE_WORDS: dict[str, set[str]] = {
    "central": _words("central", "problema central", "central problem", "problema"),
    "cause": _words("cause", "causa", "sub-cause", "subcausa", "sub-causa"),
    "effect": _words("effect", "efecto", "consecuencia", "consequence"),
}
MATRIX_WORDS: dict[str, set[str]] = {
    "demand": _words("demand", "demanda", "demandas", "necesidad"),
    "cause": _words("cause", "causa", "causas"),
    "asset": _words("asset", "activo", "activos", "activo territorial", "territorial asset"),
    "differential": _words(
        "differential",
        "diferencial",
        "diferencial de integracion",
        "integration differential",
    ),
    "solution": _words("solution", "solucion", "soluciones", "propuesta"),
}
SEX_WORDS: dict[str, set[str]] = {
    "F": _words("f", "mujer", "mujeres", "femenino", "female", "woman", "women"),
    "M": _words("m", "h", "hombre", "hombres", "masculino", "male", "man", "men"),
    "other": _words("other", "otro", "otra", "no binario", "non-binary", "x"),
    "unknown": _words("unknown", "desconocido", "no registrado", "not recorded"),
}
NATIONALITY_WORDS: dict[str, set[str]] = {
    "host": _words("host", "acogida", "comunidad de acogida", "host community", "colombiana"),
    "refugee_migrant": _words(
        "refugee_migrant",
        "refugee migrant",
        "refugee or migrant",
        "refugiada o migrante",
        "refugiado o migrante",
        "migrante",
        "refugiada",
        "refugiado",
        "venezolana",
    ),
}
assert set(NODE_WORDS) == set(NODE_KINDS) and set(MATRIX_WORDS) == set(MATRIX_KINDS)


def write_template(path: str | Path, lang: str = "es") -> Path:
    """Write the empty XLSX template in a language (help beside each field, lists on kinds)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    path = Path(path)
    book = Workbook()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    names = sheet_names(lang)
    info = book.active
    info.title = names["workshop"]
    info.append([_("Field", lang), _("Value", lang), _("Help", lang)])
    for field in workshop_fields(lang):
        info.append([field.label, None, field.help])
    info.append([])
    info.append([c.label for c in participant_columns(lang)])
    header_row = info.max_row
    info.append([None, None, None, None, None])
    sex = DataValidation(type="list", formula1='"F,M,other"', allow_blank=True)
    group = DataValidation(type="list", formula1='"host,refugee_migrant"', allow_blank=True)
    info.add_data_validation(sex)
    info.add_data_validation(group)
    sex.add(f"A{header_row + 1}:A{header_row + 200}")
    group.add(f"C{header_row + 1}:C{header_row + 200}")
    for cell in (*info[1], *info[header_row]):
        cell.font, cell.fill = bold, fill
    info.column_dimensions["A"].width = 32
    info.column_dimensions["B"].width = 28
    info.column_dimensions["C"].width = 40
    for key, columns in (("tree", tree_columns(lang)), ("matrix", matrix_columns(lang))):
        sheet = book.create_sheet(names[key])
        sheet.append([c.label for c in columns])
        for cell in sheet[1]:
            cell.font, cell.fill = bold, fill
        for index, column in enumerate(columns):
            letter = chr(ord("A") + index)
            sheet.column_dimensions[letter].width = 60 if column.key == "text" else 18
            if column.help:
                sheet.cell(row=1, column=index + 1).comment = _comment(column.help)
        kinds = NODE_KINDS if key == "tree" else MATRIX_KINDS
        rule = DataValidation(type="list", formula1='"' + ",".join(kinds) + '"', allow_blank=True)
        sheet.add_data_validation(rule)
        where = "B" if key == "tree" else "C"
        rule.add(f"{where}2:{where}500")
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _comment(text: str) -> Any:
    from openpyxl.comments import Comment

    return Comment(text, "inclusive-cities")


def xlsform_rows(lang: str = "es") -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """The survey, choices and settings sheets of the KoBoToolbox form (lists of rows)."""
    label = f"label::{'Español (es)' if lang == 'es' else 'English (en)'}"
    fields = {c.key: c.label for c in workshop_fields(lang)}
    people = {c.key: c.label for c in participant_columns(lang)}
    tree = {c.key: c.label for c in tree_columns(lang)}
    matrix = {c.key: c.label for c in matrix_columns(lang)}
    names = sheet_names(lang)
    survey = [
        ["type", "name", label, "required", "constraint"],
        ["text", "code", fields["code"], "yes", ""],
        ["text", "title", fields["title"], "", ""],
        ["date", "held_on", fields["held_on"], "yes", ""],
        ["text", "unit_code", fields["unit_code"], "", ""],
        ["text", "place_name", fields["place_name"], "", ""],
        ["geopoint", "location", _("Location", lang), "", ""],
        ["text", "areas", fields["areas"], "", ""],
        ["text", "facilitators", fields["facilitators"], "", ""],
        ["text", "notes", fields["notes"], "", ""],
        ["begin_repeat", "participants", _("Participants", lang), "", ""],
        ["select_one sex", "sex", people["sex"], "yes", ""],
        ["text", "age_group", people["age_group"], "yes", ""],
        ["select_one nationality", "nationality", people["nationality"], "yes", ""],
        ["text", "role", people["role"], "yes", ""],
        ["integer", "count", people["count"], "yes", ". >= 0"],
        ["end_repeat", "", "", "", ""],
        ["begin_repeat", "tree", names["tree"], "", ""],
        ["text", "node_code", tree["code"], "yes", ""],
        ["select_one node_kind", "node_kind", tree["kind"], "yes", ""],
        ["text", "node_parent", tree["parent"], "", ""],
        ["text", "node_text", tree["text"], "yes", ""],
        ["text", "node_areas", tree["areas"], "", ""],
        ["text", "node_dimensions", tree["dimensions"], "", ""],
        ["text", "node_indicators", tree["indicators"], "", ""],
        ["text", "node_units", tree["units"], "", ""],
        ["end_repeat", "", "", "", ""],
        ["begin_repeat", "matrix", names["matrix"], "", ""],
        ["text", "row_code", matrix["code"], "yes", ""],
        ["text", "row_area", matrix["area"], "yes", ""],
        ["select_one matrix_kind", "row_kind", matrix["kind"], "yes", ""],
        ["text", "row_text", matrix["text"], "yes", ""],
        ["text", "row_indicators", matrix["indicators"], "", ""],
        ["text", "row_units", matrix["units"], "", ""],
        ["text", "row_solutions", matrix["solutions"], "", ""],
        ["end_repeat", "", "", "", ""],
    ]
    kinds = kind_names(lang)
    sexes = {"F": _("Female", lang), "M": _("Male", lang), "other": _("Other", lang)}
    choices = [["list_name", "name", label]]
    choices += [["sex", code, text] for code, text in sexes.items()]
    choices += [["nationality", code, text] for code, text in nationality_names(lang).items()]
    choices += [["node_kind", code, kinds[code]] for code in NODE_KINDS]
    choices += [["matrix_kind", code, kinds[code]] for code in MATRIX_KINDS]
    settings = [
        ["form_title", "form_id", "version", "default_language"],
        [_("Co-creation workshop", lang), "inclusive_cities_workshop", "1", lang],
    ]
    return survey, choices, settings


def write_xlsform(path: str | Path, lang: str = "es") -> Path:
    """Write the XLSForm that KoBoToolbox (or ODK) turns into the workshop form."""
    from openpyxl import Workbook

    path = Path(path)
    survey, choices, settings = xlsform_rows(lang)
    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in survey:
        sheet.append(row)
    for title, rows in (("choices", choices), ("settings", settings)):
        other = book.create_sheet(title)
        for row in rows:
            other.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def write_filled_template(path: str | Path, workshop: Any, lang: str = "es") -> Path:
    """The template filled with a workshop (a :class:`WorkshopData`): what a facilitator hands
    in, and a way to give a stored workshop back for editing and re-import."""
    from openpyxl import load_workbook

    path = write_template(path, lang)
    book = load_workbook(path)
    info, tree, matrix = book.worksheets
    values = {
        "code": workshop.code,
        "title": workshop.title,
        "held_on": workshop.held_on.isoformat() if workshop.held_on else None,
        "unit_code": workshop.unit_code,
        "place_name": workshop.place_name,
        "longitude": workshop.longitude,
        "latitude": workshop.latitude,
        "areas": ", ".join(workshop.areas),
        "facilitators": workshop.facilitators,
        "notes": workshop.notes,
    }
    for row, field in enumerate(workshop_fields(lang), start=2):
        info.cell(row=row, column=2, value=values[field.key])
    first = len(workshop_fields(lang)) + 4  # fields, a blank row, the participants' header
    for i, p in enumerate(workshop.participants):
        for j, value in enumerate((p.sex, p.age_group, p.nationality, p.role, p.count)):
            info.cell(row=first + i, column=j + 1, value=value)
    for i, n in enumerate(workshop.nodes, start=2):
        node = (n.code, n.kind, n.parent, n.text, ", ".join(n.areas), ", ".join(n.dimensions),
                ", ".join(n.indicators), ", ".join(n.units))  # fmt: skip
        for j, value in enumerate(node):
            tree.cell(row=i, column=j + 1, value=value or None)
    for i, r in enumerate(workshop.matrix, start=2):
        cells = (r.code, r.area, r.kind, r.text, ", ".join(r.indicators), ", ".join(r.units),
                 ", ".join(r.solutions))  # fmt: skip
        for j, value in enumerate(cells):
            matrix.cell(row=i, column=j + 1, value=value or None)
    book.save(path)
    return path
