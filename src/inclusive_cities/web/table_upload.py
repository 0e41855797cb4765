"""The staff upload of an indicator table in two steps: see the columns, then import.

An analyst's file from Excel, QGIS or KoBo has its own headers: the first step keeps the file
aside and shows each column with the role guessed for it (unit code, period, indicator value,
ignore), the city's levels with how many of the file's codes each has, and a unit and
direction per indicator (typed, or read from a data dictionary). The second step imports it
as ``inclusive-cities import table`` would with the same choices (``--unit-column``,
``--column``, ``--level``, ``--locale``, ``--missing``, ``--dictionary``), in one
transaction, as a background job whose page lists the rejected rows and the warnings.

The file waits in a folder of this machine's temporary directory (one per upload, named by
a random token and tied to the user who sent it) until it is imported or a day has passed.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inclusive_cities.errors import InclusiveCitiesError
from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models
from inclusive_cities.web import auth, jobs
from inclusive_cities.web.errors import NotFound, WebError
from inclusive_cities.web.site import context, language_of, render
from inclusive_cities.web.staff_forms import Upload, audit

router = APIRouter(include_in_schema=False)

ROLES = ("unit", "period", "indicator", "code_column", "value_column", "ignore")
"""A column's role: a wide table has a column per indicator; a long one a column of
indicator codes and a column of values."""
DIRECTIONS = ("unknown", "higher_is_better", "lower_is_better", "neutral")
UNITS = ("%", "m", "km", "min", "years", "personas", "hogares", "viviendas", "0-1")
"""Units offered beside the indicator (any other may be typed)."""
MAX_FORM_FIELDS = 20_000
"""Fields the mapping form may send: seven per column, and census tables have hundreds."""
KEEP_SECONDS = 24 * 3600
TOKEN_LENGTH = 43
SAMPLES = 3
PREVIEW_ROWS = 5
DICTIONARY_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".yaml", ".yml")


def valid_codes(city: str, period: str, period_required: bool = False) -> tuple[str, str]:
    """City and period codes as the importers accept them: a code such as
    ``2024</script>`` would create a period that every page then has to show."""
    from inclusive_cities.ingest.identifiers import IdentifierError, validate_identifier

    try:
        return validate_identifier("city", city), (
            validate_identifier("period", period) if period or period_required else ""
        )
    except IdentifierError as error:
        raise WebError(str(error)) from error


def table_reading(locale: str, missing: str) -> dict[str, Any]:
    """The upload form's number convention and missing-value codes as import options (only
    those given, so a plain upload's options stay as they were)."""
    from inclusive_cities.ingest.dictionary import split_missing_codes
    from inclusive_cities.ingest.tables import LOCALE_DECIMAL

    options: dict[str, Any] = {}
    if locale:
        if locale not in LOCALE_DECIMAL:
            raise WebError(
                _("Number format '{value}' is not one of {known}.").format(
                    value=locale, known=", ".join(LOCALE_DECIMAL)
                )
            )
        options["locale"] = locale
    numbers, texts = split_missing_codes([missing], "missing")
    if numbers:
        options["missing"] = list(numbers)
    if texts:
        options["missing_text"] = list(texts)
    return options


def staging_root() -> Path:
    """Where uploads wait between the two steps."""
    return Path(tempfile.gettempdir()) / "inclusive-cities-uploads"


def role_labels() -> dict[str, str]:
    return {
        "unit": _("Unit code"),
        "period": _("Period (year)"),
        "indicator": _("Indicator value"),
        "code_column": _("Indicator codes (long table)"),
        "value_column": _("Values (long table)"),
        "ignore": _("Ignore"),
    }


def direction_labels() -> dict[str, str]:
    return {
        "unknown": _("not said (never judged)"),
        "higher_is_better": _("higher is better"),
        "lower_is_better": _("lower is better"),
        "neutral": _("neutral (descriptive)"),
    }


@dataclass
class Staged:
    """An upload waiting for its columns to be mapped: the file, and the form's choices."""

    token: str
    folder: Path
    settings: dict[str, Any]

    @property
    def path(self) -> Path:
        return self.folder / "table" / self.settings["file"]

    @property
    def dictionary(self) -> Path | None:
        name = self.settings.get("dictionary")
        return self.folder / "dictionary" / name if name else None

    def save(self) -> None:
        (self.folder / "settings.json").write_text(json.dumps(self.settings), encoding="utf-8")


def _purge_old(root: Path) -> None:
    """Remove the uploads nobody imported within a day."""
    limit = time.time() - KEEP_SECONDS
    for folder in root.glob("*"):
        if folder.is_dir() and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)


def stage(upload: Upload, settings: dict[str, Any]) -> Staged:
    """Keep an uploaded table aside under a new random token."""
    root = staging_root()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    _purge_old(root)
    token = secrets.token_urlsafe(32)
    folder = root / token
    (folder / "table").mkdir(parents=True, mode=0o700)
    (folder / "table" / upload.name).write_bytes(upload.content)
    staged = Staged(token, folder, {**settings, "file": upload.name})
    staged.save()
    return staged


def staged_upload(token: str, who: auth.Identity) -> Staged:
    """The upload of ``token`` if this user sent it and it is still waiting."""
    folder = staging_root() / token
    if len(token) != TOKEN_LENGTH or not token.replace("-", "").replace("_", "").isalnum():
        raise NotFound(_("This upload is not waiting any more: upload the file again."))
    try:
        settings = json.loads((folder / "settings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise NotFound(_("This upload is not waiting any more: upload the file again.")) from error
    if settings.get("user") != who.email:
        raise NotFound(_("This upload is not waiting any more: upload the file again."))
    return Staged(token, folder, settings)


def save_dictionary(staged: Staged, upload: Upload) -> None:
    """Keep a data dictionary beside the table, once it reads as one."""
    from inclusive_cities.ingest.dictionary import read_dictionary

    upload.check(
        DICTIONARY_SUFFIXES,
        _("{name}: a data dictionary is a .csv, .xlsx or .yaml file."),
        _("The data dictionary is larger than 5 MB."),
    )
    folder = staged.folder / "dictionary"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    path = folder / upload.name
    path.write_bytes(upload.content)
    try:
        read_dictionary(path)
    except InclusiveCitiesError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise WebError(str(error)) from error
    staged.settings["dictionary"] = upload.name
    staged.save()


@dataclass
class ColumnView:
    """One column of the file as the mapping form shows it."""

    index: int
    header: str
    samples: list[str]
    role: str
    code: str
    label: str = ""
    unit: str = ""
    direction: str = "unknown"
    catalogue: bool = False
    from_dictionary: bool = False


@dataclass
class LevelView:
    code: str
    name: str
    matched: int
    zeros: list[tuple[str, str]] = field(default_factory=list)
    """(code as written, code of the city) for codes that lost their leading zeros."""


@dataclass
class Preview:
    """What the mapping page shows of a staged table."""

    file: str
    rows: int
    header: list[str]
    sample_rows: list[list[str]]
    columns: list[ColumnView]
    levels: list[LevelView]
    level: str
    codes: int
    decimal_comma: bool
    missing_found: list[str]


def _samples(table: Any, index: int) -> list[str]:
    seen: list[str] = []
    for cells in table.rows:
        text = cells[index].strip()
        if text and text not in seen:
            seen.append(text)
        if len(seen) == SAMPLES:
            break
    return seen


def _guess_roles(table: Any) -> tuple[dict[int, str], dict[int, str]]:
    """Each column's role and indicator code as ``import table`` would take them."""
    from inclusive_cities.ingest.dictionary import normalise_code
    from inclusive_cities.ingest.tables import detect_layout

    roles = dict.fromkeys(range(len(table.header)), "ignore")
    codes = {i: normalise_code(h) for i, h in enumerate(table.header)}
    try:
        layout = detect_layout(table)
    except InclusiveCitiesError:
        return roles, codes
    roles[layout.unit] = "unit"
    if layout.period is not None:
        roles[layout.period] = "period"
    if layout.indicator is not None and layout.value is not None:
        roles[layout.indicator], roles[layout.value] = "code_column", "value_column"
    for index, code in layout.wide.items():
        roles[index] = "indicator"
        codes[index] = code
    return roles, codes


def _has_numbers(table: Any, index: int) -> bool:
    from inclusive_cities.ingest.tabular import parse_number

    return any(
        parse_number(c[index], ".") is not None or parse_number(c[index], ",") is not None
        for c in table.rows
        if c[index].strip()
    )


def _missing_candidates(table: Any, columns: list[int]) -> list[str]:
    """Cells of number columns that look like "no data" codes: text (NS/NR) and 9…9 values
    far from the column's others (999 among shares), offered, never applied unasked."""
    from inclusive_cities.ingest.dictionary import looks_like_code
    from inclusive_cities.ingest.tabular import parse_number

    found: list[str] = []
    for index in columns:
        values: list[tuple[str, float]] = []
        for cells in table.rows:
            text = cells[index].strip()
            if not text:
                continue
            number = parse_number(text, ",") if "," in text else parse_number(text, ".")
            if number is None:
                if not any(ch.isdigit() for ch in text) and text not in found:
                    found.append(text)
            else:
                values.append((text, number))
        numbers = [v for _t, v in values]
        for text, value in values:
            if looks_like_code(value, numbers) and text not in found:
                found.append(text)
    return found


def _levels(session: Session, city: models.City, codes: set[str]) -> list[LevelView]:
    """The city's levels, each with how many of the file's codes it has and which codes
    lost their leading zeros there."""
    from inclusive_cities.ingest.tabular import lost_leading_zeros, zero_stripped

    views: list[LevelView] = []
    levels = session.scalars(
        select(models.UnitLevel)
        .where(models.UnitLevel.city_id == city.id)
        .order_by(models.UnitLevel.depth)
    )
    for level in levels:
        known = list(
            session.scalars(
                select(models.SpatialUnit.code).where(models.SpatialUnit.level_id == level.id)
            )
        )
        stripped = zero_stripped(known)
        matched = codes & set(known)
        zeros = []
        for code in sorted(codes - matched):
            restored = lost_leading_zeros(code, stripped)
            if restored is not None:
                zeros.append((code, restored))
        name = level.name_es if language_is_spanish() else level.name_en
        views.append(LevelView(level.code, name or level.code, len(matched), zeros))
    return views


def language_is_spanish() -> bool:
    from inclusive_cities.i18n import current_language

    return current_language() == "es"


def preview(session: Session, staged: Staged) -> Preview:
    """Read the staged table (as the importer reads it) and guess how to import it."""
    from inclusive_cities.i18n.units import unit_label
    from inclusive_cities.ingest.dictionary import normalise_code, read_dictionary
    from inclusive_cities.ingest.tables import shipped_catalogue
    from inclusive_cities.ingest.tabular import looks_like_decimal_comma, read_text_table

    try:
        table = read_text_table(staged.path)
    except InclusiveCitiesError as error:
        raise WebError(str(error)) from error
    if not table.rows:
        raise WebError(
            _("{file} has a header but no data rows: nothing to import.").format(file=table.file)
        )
    roles, codes = _guess_roles(table)
    chosen = staged.settings.get("columns") or {}
    declared = read_dictionary(staged.dictionary) if staged.dictionary else {}
    catalogue = shipped_catalogue()
    columns: list[ColumnView] = []
    for index, header in enumerate(table.header):
        role = roles[index]
        if role == "indicator" and not _has_numbers(table, index):
            role = "ignore"  # names or notes: the importer leaves them out too
        view = ColumnView(index, header, _samples(table, index), role, codes[index])
        previous = chosen.get(str(index))
        if previous:
            view.role, view.code = previous["role"], previous["code"]
            view.label, view.unit = previous["label"], previous["unit"]
            view.direction = previous["direction"]
        meta = declared.get(view.code) or declared.get(normalise_code(header))
        if meta is not None and not previous:
            view.from_dictionary = True
            view.label, view.unit, view.direction = meta.name_es, meta.unit, meta.direction
            if view.role == "ignore" and _has_numbers(table, index):
                view.role = "indicator"
        if view.code in catalogue:
            spec = catalogue[view.code]
            view.catalogue = True
            view.label = spec.name_es if language_is_spanish() else spec.name_en
            view.unit, view.direction = unit_label(spec.unit) or spec.unit, spec.direction
        columns.append(view)
    unit_index = next((c.index for c in columns if c.role == "unit"), None)
    city = session.scalar(select(models.City).where(models.City.code == staged.settings["city"]))
    if city is None:
        raise WebError(_("There is no city {city}.").format(city=staged.settings["city"]))
    file_codes = (
        {cells[unit_index].strip() for cells in table.rows if cells[unit_index].strip()}
        if unit_index is not None
        else set()
    )
    levels = _levels(session, city, file_codes)
    best = max(levels, key=lambda lv: (lv.matched, len(lv.zeros)), default=None)
    value_columns = [c.index for c in columns if c.role in ("indicator", "value_column")]
    return Preview(
        file=table.file,
        rows=len(table.rows),
        header=table.header,
        sample_rows=table.rows[:PREVIEW_ROWS],
        columns=columns,
        levels=levels,
        level=staged.settings.get("level") or (best.code if best and best.matched else ""),
        codes=len(file_codes),
        decimal_comma=any(
            looks_like_decimal_comma(cells[i]) for cells in table.rows for i in value_columns
        ),
        missing_found=_missing_candidates(table, value_columns),
    )


def _page(
    request: Request, session: Session, who: auth.Identity, staged: Staged, error: str = ""
) -> Response:
    shown = preview(session, staged)
    settings = staged.settings
    return render(
        request,
        "admin/table_upload.html",
        status_code=400 if error else 200,
        title=_("Map the columns of {file}").format(file=shown.file),
        who=who,
        staged=staged,
        settings=settings,
        p=shown,
        roles=role_labels(),
        directions=direction_labels(),
        units=UNITS,
        locale=settings.get("locale") or ("es" if shown.decimal_comma else ""),
        missing=settings.get("missing")
        if settings.get("missing") is not None
        else " ".join(shown.missing_found),
        error=error,
    )


def _who(request: Request, csrf_token: str | None = None) -> auth.Identity:
    with context(request).session() as session:
        return auth.require_user(request, session, csrf_token)


@router.post("/admin/uploads/preview")
async def upload_preview(
    request: Request,
    city: Annotated[str, Form(max_length=64)],
    file: Annotated[UploadFile, File()],
    dictionary: Annotated[UploadFile | None, File()] = None,
    period: Annotated[str, Form(max_length=40)] = "",
    source: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form()] = "",
    locale: Annotated[str, Form(max_length=5)] = "",
    missing: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """First step: keep the table aside and show its columns to map."""
    who = _who(request, csrf_token)
    city, period = valid_codes(city, period)
    table_reading(locale, missing)  # refuse a bad number format now, not after mapping
    upload = await Upload.read(file, jobs.MAX_UPLOAD_BYTES)
    upload.check(
        jobs.UPLOAD_SUFFIXES,
        _("{name}: upload a .csv, .tsv, .txt or .xlsx table."),
        _("The file is larger than 200 MB: import it with the command line."),
    )
    settings = {
        "user": who.email,
        "city": city,
        "period": period,
        "source": source,
        "locale": locale,
        "missing": missing or None,
    }
    staged = stage(upload, settings)
    if dictionary is not None and dictionary.filename:
        try:
            save_dictionary(staged, await Upload.read(dictionary, 5 * 1024 * 1024))
        except WebError as error:
            with context(request).session() as session:
                return _page(request, session, who, staged, str(error))
    return RedirectResponse(f"/admin/uploads/{staged.token}", status_code=303)


@router.get("/admin/uploads/{token}")
def mapping_page(request: Request, token: str) -> Response:
    """The columns of a staged table, their guessed roles, and the import's options."""
    with context(request).session() as session:
        who = auth.identity(request, session)
        if who is None:
            return RedirectResponse("/admin/login", status_code=303)
        who = auth.require_user(request, session)
        return _page(request, session, who, staged_upload(token, who))


@router.post("/admin/uploads/{token}/dictionary")
async def upload_dictionary(
    request: Request,
    token: str,
    dictionary: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Read a data dictionary into the mapping: labels, units and directions per column."""
    who = _who(request, csrf_token)
    staged = staged_upload(token, who)
    staged.settings.pop("columns", None)  # the dictionary's meanings replace the typed ones
    try:
        save_dictionary(staged, await Upload.read(dictionary, 5 * 1024 * 1024))
    except WebError as error:
        with context(request).session() as session:
            return _page(request, session, who, staged, str(error))
    return RedirectResponse(f"/admin/uploads/{token}", status_code=303)


def _chosen_columns(form: Any, header: list[str]) -> dict[str, dict[str, str]]:
    """Each column's role, code, label, unit and direction as the form sent them."""
    chosen: dict[str, dict[str, str]] = {}
    for index in range(len(header)):
        role = str(form.get(f"role_{index}") or "ignore")
        if role not in ROLES:
            raise WebError(
                _("Column '{column}': role '{role}' is not one of {roles}.").format(
                    column=header[index], role=role[:40], roles=", ".join(ROLES)
                )
            )
        direction = str(form.get(f"direction_{index}") or "unknown")
        if direction not in DIRECTIONS:
            direction = "unknown"
        chosen[str(index)] = {
            "role": role,
            "code": str(form.get(f"code_{index}") or "").strip()[:64],
            "label": str(form.get(f"label_{index}") or "").strip()[:200],
            "unit": str(form.get(f"unit_{index}") or "").strip()[:40],
            "direction": direction,
        }
    return chosen


def import_options(staged: Staged, header: list[str]) -> dict[str, Any]:
    """The ``import_table`` options of the mapping: what the CLI's --unit-column,
    --period-column, --column, --level, --locale, --missing and --dictionary would say."""
    from inclusive_cities.ingest.dictionary import meta_entry, normalise_code, read_dictionary
    from inclusive_cities.ingest.tables import shipped_catalogue

    settings = staged.settings
    columns = settings.get("columns") or {}
    by_role: dict[str, list[int]] = {role: [] for role in ROLES}
    for index, column in columns.items():
        by_role[column["role"]].append(int(index))
    if len(by_role["unit"]) != 1:
        raise WebError(
            _("Choose exactly one column as the unit code (now {count}).").format(
                count=len(by_role["unit"])
            )
        )
    if len(by_role["period"]) > 1:
        raise WebError(_("Choose at most one column as the period."))
    long = bool(by_role["code_column"] or by_role["value_column"])
    pairs = (len(by_role["code_column"]), len(by_role["value_column"]))
    if long and (pairs != (1, 1) or by_role["indicator"]):
        raise WebError(
            _(
                "A long table has one column of indicator codes and one of values, and no "
                "indicator value columns: choose one of each, or map a wide table's columns."
            )
        )
    if not long and not by_role["indicator"]:
        raise WebError(_("Choose at least one column as an indicator value."))
    if not by_role["period"] and not settings.get("period"):
        raise WebError(_("The table has no period column: give the period (e.g. 2024)."))
    declared = read_dictionary(staged.dictionary) if staged.dictionary else {}
    catalogue = shipped_catalogue()
    indicator_columns: dict[str, str] = {}
    entries: list[dict[str, str]] = []
    for index in sorted(by_role["indicator"]):
        column = columns[str(index)]
        code = normalise_code(column["code"] or header[index])
        if not code or len(code) > 64:
            raise WebError(
                _(
                    "Column '{column}': write an indicator code of 1 to 64 letters, digits or "
                    "underscores (e.g. hogares_con_internet)."
                ).format(column=header[index])
            )
        if code in indicator_columns.values():
            raise WebError(
                _("Column '{column}': code {code} is given to two columns: keep one.").format(
                    column=header[index], code=code
                )
            )
        indicator_columns[header[index]] = code
        if code in catalogue:
            continue  # the catalogue says what it means
        meta = declared.get(code) or declared.get(normalise_code(header[index]))
        entry = meta_entry(meta) if meta is not None else {"code": code}
        entry["code"] = code
        if column["label"]:
            entry["name_es"] = column["label"]
        if column["unit"]:
            entry["unit"] = column["unit"]
        if column["direction"] != "unknown" or meta is None:
            entry["direction"] = column["direction"]
        if len(entry) > 2 or meta is not None or entry.get("direction") != "unknown":
            entries.append(entry)
    if long:  # the codes are in the cells: the dictionary, if any, says what they mean
        entries = [meta_entry(meta) for meta in declared.values()]
    options: dict[str, Any] = {
        "city": settings["city"],
        "period": None if by_role["period"] else settings["period"],
        "source": settings.get("source") or "",
        "accept_valid": bool(settings.get("accept_valid")),
        "accept_units": bool(settings.get("accept_units")),
        "unit_column": header[by_role["unit"][0]],
        "period_column": header[by_role["period"][0]] if by_role["period"] else None,
        "indicator_columns": indicator_columns or None,
        "indicator_column": header[by_role["code_column"][0]] if long else None,
        "value_column": header[by_role["value_column"][0]] if long else None,
        "level": settings.get("level") or None,
        "dictionary_entries": entries,
    }
    options.update(table_reading(settings.get("locale") or "", settings.get("missing") or ""))
    return options


@router.post("/admin/uploads/{token}/import")
async def confirm_import(request: Request, token: str) -> Response:
    """Second step: import the staged table with the mapping, as a background job."""
    form = await request.form(max_fields=MAX_FORM_FIELDS)
    csrf = str(form.get("csrf_token") or "")
    who = _who(request, csrf)
    staged = staged_upload(token, who)
    with context(request).session() as session:
        try:
            shown = preview(session, staged)
            settings = staged.settings
            _city, settings["period"] = valid_codes(
                settings["city"], str(form.get("period") or "")[:40]
            )
            settings["level"] = str(form.get("level") or "")[:64]
            settings["locale"] = str(form.get("locale") or "")[:5]
            settings["missing"] = str(form.get("missing") or "")[:200]
            settings["source"] = str(form.get("source") or "")[:200]
            settings["accept_valid"] = form.get("accept_valid") == "on"
            settings["accept_units"] = form.get("accept_units") == "on"
            settings["columns"] = _chosen_columns(form, shown.header)
            staged.save()
            options = import_options(staged, shown.header)
        except InclusiveCitiesError as error:
            return _page(request, session, who, staged, str(error))
    ctx = context(request)
    content = staged.path.read_bytes()
    job_id = jobs.start_table_import(
        ctx.engine, staged.path.name, content, options, who.email, language_of(request)
    )
    shutil.rmtree(staged.folder, ignore_errors=True)
    audit(
        request, who, "upload", f"job:{job_id}", file=staged.path.name[:200], city=options["city"]
    )
    return RedirectResponse(f"/admin/jobs/{job_id}", status_code=303)


@dataclass
class ImportedIndicator:
    code: str
    name: str
    unit: str
    direction: str
    period: str
    values: int


def imported_indicators(session: Session, batch_id: int | None) -> list[ImportedIndicator]:
    """The indicators an import stored, with the unit and direction the pages will use."""
    from inclusive_cities.i18n.units import unit_label

    if batch_id is None:
        return []
    rows = session.execute(
        select(models.Indicator, models.Period.code, func.count(models.Observation.id))
        .join(models.Observation, models.Observation.indicator_id == models.Indicator.id)
        .join(models.Period, models.Period.id == models.Observation.period_id)
        .where(models.Observation.batch_id == batch_id)
        .group_by(models.Indicator.id, models.Period.code)
        .order_by(models.Indicator.code, models.Period.code)
    ).all()
    spanish = language_is_spanish()
    return [
        ImportedIndicator(
            code=indicator.code,
            name=indicator.name_es if spanish else indicator.name_en,
            unit=unit_label(indicator.unit) or indicator.unit,
            direction=direction_labels().get(indicator.direction, indicator.direction),
            period=period,
            values=int(count),
        )
        for indicator, period, count in rows
    ]
