"""The facilitators' workbook: one XLSX with a sheet per record kind, in Spanish or English.

The template is what facilitators type into (headers in their language, drop-down lists for the
closed answers, an instructions sheet); the same writer fills it with records for the demo, and
:func:`import_workbook` reads every sheet it finds in one transaction, sessions before their
participants, so a workbook comes in whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.centres import CENTRES_SHEET, centre_fields, import_centres_in
from inclusive_cities.monitoring.commitments import (
    COMMITMENTS_SHEET,
    commitment_fields,
    import_commitments_in,
)
from inclusive_cities.monitoring.delivery_import import (
    DeliveryError,
    Field,
    ImportResult,
    Sheet,
    choice_label,
    has_sheet,
)
from inclusive_cities.monitoring.entrepreneurs import (
    ENTREPRENEURS_SHEET,
    entrepreneur_fields,
    import_entrepreneurs_in,
)
from inclusive_cities.monitoring.policies import POLICIES_SHEET, import_policies_in, policy_fields
from inclusive_cities.monitoring.trainings import (
    PARTICIPANTS_SHEET,
    TRAININGS_SHEET,
    import_trainings_in,
    participant_fields,
    training_fields,
)
from inclusive_cities.store import transaction

KINDS: tuple[tuple[str, Sheet, Callable[[], tuple[Field, ...]]], ...] = (
    ("trainings", TRAININGS_SHEET, training_fields),
    ("participants", PARTICIPANTS_SHEET, participant_fields),
    ("entrepreneurs", ENTREPRENEURS_SHEET, entrepreneur_fields),
    ("policies", POLICIES_SHEET, policy_fields),
    ("centres", CENTRES_SHEET, centre_fields),
    ("commitments", COMMITMENTS_SHEET, commitment_fields),
)


def _cell(field: Field, value: Any, lang: str) -> Any:
    if value is None:
        return None
    if field.kind == "list":
        return "; ".join(str(v) for v in value)
    if field.kind == "choice":
        return choice_label(field, str(value), lang)
    if field.kind == "bool":
        return (_("yes", lang) if value else _("no", lang)) if isinstance(value, bool) else value
    return value


def write_workbook(
    path: Path | str,
    lang: str = "es",
    records: dict[str, list[dict[str, Any]]] | None = None,
    kinds: tuple[str, ...] | None = None,
) -> Path:
    """Write the workbook (the empty template when ``records`` is None); ``records`` maps a
    kind to rows keyed by field key, with stored values (they are written in ``lang``)."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    if lang not in ("es", "en"):
        raise DeliveryError(_("There is no template in '{lang}': use es or en.").format(lang=lang))
    book = openpyxl.Workbook()
    help_sheet = book.active
    assert help_sheet is not None
    help_sheet.title = _("instructions", lang)
    help_sheet.append([_("Programme deliveries: one sheet per kind of record.", lang)])
    help_sheet.append(
        [
            _(
                "Type one record per row under the header; leave a cell empty (or 999) when "
                "there is no data. People are anonymous ids, never names.",
                lang,
            )
        ]
    )
    help_sheet.append(
        [
            _(
                "Import it with: inclusive-cities programme deliveries import FILE.xlsx",
                lang,
            )
        ]
    )
    for kind, sheet, fields in KINDS:
        if kinds is not None and kind not in kinds:
            continue
        work = book.create_sheet(sheet.es if lang == "es" else sheet.en)
        columns = fields()
        work.append([f.es if lang == "es" else f.en for f in columns])
        for cell in work[1]:
            cell.font = Font(bold=True)
        for index, field in enumerate(columns, start=1):
            letter = openpyxl.utils.get_column_letter(index)
            work.column_dimensions[letter].width = max(12, len(field.es) + 2)
            if field.kind == "choice" and field.names:
                options = ",".join(choice_label(field, v, lang) for v in field.names)
                validation = DataValidation(type="list", formula1=f'"{options}"', allow_blank=True)
                validation.add(f"{letter}2:{letter}2000")
                work.add_data_validation(validation)
        for record in (records or {}).get(kind, []):
            work.append([_cell(f, record.get(f.key), lang) for f in columns])
    target = Path(path)
    book.save(target)
    return target


def import_workbook(engine: Engine, path: Path | str) -> list[ImportResult]:
    """Import every sheet of the workbook in one transaction (a bad cell anywhere keeps the
    store as it was); returns one result per kind found."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise DeliveryError(
            _("{file} is not an .xlsx workbook: import a CSV with its kind's command.").format(
                file=path.name
            )
        )
    if not path.is_file():
        raise DeliveryError(_("{file} does not exist: check the path.").format(file=path))
    importers: tuple[tuple[Sheet, Callable[[Session, Path], ImportResult]], ...] = (
        (TRAININGS_SHEET, import_trainings_in),
        (ENTREPRENEURS_SHEET, import_entrepreneurs_in),
        (POLICIES_SHEET, import_policies_in),
        (CENTRES_SHEET, import_centres_in),
        (COMMITMENTS_SHEET, import_commitments_in),
    )
    results = []
    with transaction(engine) as session:
        for sheet, importer in importers:
            if has_sheet(path, sheet):
                results.append(importer(session, path))
    if not results:
        raise DeliveryError(
            _(
                "{file} has no records in any of the sheets {sheets}: fill at least one "
                "(start from 'inclusive-cities programme deliveries template')."
            ).format(file=path.name, sheets=", ".join(s.es for _k, s, _f in KINDS))
        )
    return results
