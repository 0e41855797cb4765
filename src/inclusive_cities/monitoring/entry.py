"""Entry of results: the XLSX template (es/en), its import, an XLSForm for KoBo, and the
import of a 5W export (who, what, where, when, for whom) as ActivityInfo produces it.

Every import runs in one transaction: the first bad cell stops it with a one-line error
naming the file, row, column and value, and the store is left as it was. Importing the same
file again replaces the same cells (re-import safe). Missing-value codes (empty, 999, -999,
"NA") leave a cell out instead of storing a false figure.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.errors import MonitoringError
from inclusive_cities.monitoring.framework import DEFAULT_PROGRAMME
from inclusive_cities.monitoring.periods import enclosing, normalise_period, rolled_up, window
from inclusive_cities.monitoring.protect import is_people
from inclusive_cities.monitoring.values import (
    category,
    find_target_city,
    get_indicator,
    get_programme,
    set_value,
    typed_actual_allowed,
)
from inclusive_cities.store import models, transaction
from inclusive_cities.store.models import TOTAL
from inclusive_cities.store.monitoring_models import IndicatorValue, ProgrammeIndicator, TargetCity

MISSING_CODES = ("", "999", "-999", "9999", "-9999", "-99", "na", "n/a", "nd", "s.d.", "-")
"""Cell texts that mean "no data": the cell is left out, never stored as a figure."""

VALUES_SHEET = {"es": "valores", "en": "values"}
INDICATORS_SHEET = {"es": "indicadores", "en": "indicators"}
HELP_SHEET = {"es": "instrucciones", "en": "instructions"}

COLUMNS: dict[str, tuple[str, str]] = {
    "indicator": ("indicador", "indicator"),
    "indicator_name": ("nombre_indicador", "indicator_name"),
    "city": ("ciudad", "city"),
    "period": ("periodo", "period"),
    "kind": ("tipo", "kind"),
    "sex": ("sexo", "sex"),
    "age_group": ("grupo_edad", "age_group"),
    "nationality": ("nacionalidad", "nationality"),
    "topic": ("tema", "topic"),
    "value": ("valor", "value"),
    "comment": ("comentario", "comment"),
    "source": ("fuente", "source"),
}
REQUIRED = ("indicator", "period", "kind", "value")
KINDS = {
    "baseline": "baseline",
    "linea_base": "baseline",
    "linea de base": "baseline",
    "target": "target",
    "meta": "target",
    "actual": "actual",
    "real": "actual",
    "logrado": "actual",
}
KIND_LABEL = {"es": {"baseline": "linea_base", "target": "meta", "actual": "real"}}


def _plain(text: object) -> str:
    """Lower case without accents or surrounding space, for matching headers and words."""
    decomposed = unicodedata.normalize("NFKD", str(text).strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _is_missing(value: object, missing: Iterable[str]) -> bool:
    if value is None:
        return True
    text = _plain(value)
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    return text in {_plain(m) for m in missing}


@dataclass
class ImportSummary:
    """What an import did, for the CLI, the web and the tests."""

    file: str
    rows_read: int = 0
    values_written: int = 0
    rows_missing: int = 0
    cities: set[str] = field(default_factory=set)
    indicators: set[str] = field(default_factory=set)
    batch_id: int | None = None
    warnings: list[str] = field(default_factory=list)
    """What was imported but deserves a look (a typed span its new months contradict, a
    totals row left out), printed after the summary line."""

    def lines(self) -> list[str]:
        return [
            _(
                "{file}: {rows} rows read, {written} values written, {missing} left out as "
                "missing, cities {cities}."
            ).format(
                file=self.file,
                rows=self.rows_read,
                written=self.values_written,
                missing=self.rows_missing,
                cities=", ".join(sorted(self.cities)) or "-",
            ),
            *self.warnings,
        ]


def _where(file: str, row: int, column: str, value: object) -> str:
    return _("{file}, row {row}, column '{column}', value '{value}'").format(
        file=file, row=row, column=column, value="" if value is None else value
    )


def _problem(file: str, row: int, column: str, value: object, error: Exception) -> MonitoringError:
    return MonitoringError(
        _("{where}: {reason}").format(where=_where(file, row, column, value), reason=str(error))
    )


# --- the XLSX template ----------------------------------------------------------------------


def _template_rows(
    session: Session, programme_code: str, city: TargetCity | None, period: str
) -> list[tuple[ProgrammeIndicator, TargetCity | None, str]]:
    programme = get_programme(session, programme_code)
    indicators = session.scalars(
        select(ProgrammeIndicator)
        .where(ProgrammeIndicator.programme_id == programme.id)
        .order_by(ProgrammeIndicator.position)
    ).all()
    rows = []
    for indicator in indicators:
        for kind in ("baseline", "target", "actual"):
            if kind == "actual" and city is not None and not typed_actual_allowed(indicator, city):
                continue
            rows.append((indicator, city, kind))
    return rows


def write_template(
    engine: Engine,
    out: Path,
    *,
    lang: str = "es",
    programme: str = DEFAULT_PROGRAMME,
    city: str | None = None,
    period: str | None = None,
) -> Path:
    """An XLSX template for typing results, headers and instructions in ``lang``.

    With ``city`` the rows are pre-filled for that target city (computed actuals left out).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    lang = "es" if lang == "es" else "en"
    column = 0 if lang == "es" else 1
    period_code = normalise_period(period) if period else str(date.today().year)
    with transaction(engine) as session:
        prog = get_programme(session, programme)
        target = find_target_city(session, prog, city) if city else None
        rows = _template_rows(session, programme, target, period_code)
        indicator_rows = [
            (
                ind.code,
                ind.name_es if lang == "es" else ind.name_en,
                ind.unit,
                ", ".join(ind.disaggregations or []),
                (_("computed", lang) if ind.computed else ""),
                ind.verification_es if lang == "es" else ind.verification_en,
            )
            for ind in session.scalars(
                select(ProgrammeIndicator)
                .where(ProgrammeIndicator.programme_id == prog.id)
                .order_by(ProgrammeIndicator.position)
            )
        ]
        filled = [
            (
                ind.code,
                ind.name_es if lang == "es" else ind.name_en,
                tc.code if tc else "",
                period_code,
                KIND_LABEL.get(lang, {}).get(kind, kind),
            )
            for ind, tc, kind in rows
        ]
        cities = [
            c.code
            for c in session.scalars(
                select(TargetCity)
                .where(TargetCity.programme_id == prog.id)
                .order_by(TargetCity.code)
            )
        ]
    book = Workbook()
    help_sheet = book.active
    assert help_sheet is not None
    help_sheet.title = HELP_SHEET[lang]
    for line in (
        _("Type one value per row in the sheet '{sheet}'.", lang).format(sheet=VALUES_SHEET[lang]),
        _("Kinds: baseline, target, actual. Periods: 2025, 2025-S1, 2025-Q3 or 2025-06.", lang),
        _("Leave sex, age group, nationality and topic empty for the total.", lang),
        _("Empty cells, 999 and -999 mean no data and are left out.", lang),
        _("Computed indicators take their actual from the observatory: do not type it.", lang),
    ):
        help_sheet.append([line])
    sheet = book.create_sheet(VALUES_SHEET[lang])
    sheet.append([names[column] for names in COLUMNS.values()])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for code, name, tc, per, kind in filled:
        sheet.append([code, name, tc, per, kind, "", "", "", "", "", "", ""])
    kinds = ",".join(["linea_base", "meta", "real"] if lang == "es" else list(VALUE_KINDS_EN))
    for formula, col in (
        (f'"{kinds}"', "E"),
        ('"female,male,other"', "F"),
        ('"host,refugee_migrant"', "H"),
    ):
        check = DataValidation(type="list", formula1=formula, allow_blank=True)
        check.add(f"{col}2:{col}2000")
        sheet.add_data_validation(check)
    if cities:
        check = DataValidation(type="list", formula1='"' + ",".join(cities) + '"', allow_blank=True)
        check.add("C2:C2000")
        sheet.add_data_validation(check)
    sheet.freeze_panes = "A2"
    for letter, width in zip(
        "ABCDEFGHIJKL", (26, 40, 12, 10, 12, 9, 11, 16, 16, 10, 24, 24), strict=True
    ):
        sheet.column_dimensions[letter].width = width
    ref = book.create_sheet(INDICATORS_SHEET[lang])
    ref.append(
        ["indicador", "nombre", "unidad", "desagregaciones", "calculado", "medio_verificacion"]
        if lang == "es"
        else ["indicator", "name", "unit", "disaggregations", "computed", "means_of_verification"]
    )
    for row in indicator_rows:
        ref.append(list(row))
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return out


VALUE_KINDS_EN = ("baseline", "target", "actual")


# --- reading files ------------------------------------------------------------------------


def _read_table(
    path: Path, sheet_names: Iterable[str] = ()
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number as the user sees it, {header: value}) for an XLSX sheet or a CSV file."""
    if not path.is_file():
        raise MonitoringError(_("There is no file {path}.").format(path=path))
    if path.suffix.lower() == ".csv":
        import csv

        with path.open(encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(4096)
            handle.seek(0)
            try:
                dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            reader = csv.reader(handle, dialect)
            rows = list(reader)
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as error:
            raise MonitoringError(
                _("{file} cannot be read as an Excel workbook: {reason}.").format(
                    file=path.name, reason=str(error).splitlines()[0] if str(error) else "?"
                )
            ) from error
        wanted = {_plain(s) for s in sheet_names}
        chosen = next((ws for ws in book.worksheets if _plain(ws.title) in wanted), None)
        chosen = chosen or book.worksheets[0]
        rows = [[_cell_value(c) for c in r] for r in chosen.iter_rows()]
        book.close()
    else:
        raise MonitoringError(_("{file} is neither an XLSX nor a CSV file.").format(file=path.name))
    if not rows:
        raise MonitoringError(_("{file} is empty.").format(file=path.name))
    headers = [str(h).strip() if h is not None else "" for h in rows[0]]
    for number, row in enumerate(rows[1:], start=2):
        if all(v is None or str(v).strip() == "" for v in row):
            continue
        yield number, dict(zip(headers, row, strict=False))


def _header_map(file: str, headers: Iterable[str]) -> dict[str, str]:
    """Canonical key -> the header as written, for es or en template headers."""
    found: dict[str, str] = {}
    for header in headers:
        for key, names in COLUMNS.items():
            if _plain(header) in {_plain(n) for n in names}:
                found[key] = header
    missing = [k for k in REQUIRED if k not in found]
    if missing:
        raise MonitoringError(
            _("{file} has no column {column}: use the template's headers ({es} or {en}).").format(
                file=file,
                column=", ".join(COLUMNS[k][0] for k in missing),
                es=COLUMNS[missing[0]][0],
                en=COLUMNS[missing[0]][1],
            )
        )
    return found


def _cell_value(cell: Any) -> Any:
    """A cell as the person who typed it sees it: Excel stores "85 %" typed in a per-cent
    cell as 0.85, which is read back as "85%" (0.85 would be 0.85 %, a target off by 100)."""
    value = cell.value
    number_format = str(getattr(cell, "number_format", "") or "")
    if isinstance(value, int | float) and not isinstance(value, bool) and "%" in number_format:
        return f"{value * 100:.10g}%"
    return value


def _number(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace(" ", "").replace("\u00a0", "").removesuffix("%")
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", text):
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        raise MonitoringError(_("it is not a number: type digits only.")) from None


def _count(value: object) -> float:
    """A count of people as exports write it: 2000, '2,000' (English), '2.000' (Spanish) or
    '2 000'. The separator between groups of three digits is never a decimal point here (a
    count has none), so '2,000' is two thousand; a fraction is refused, not rounded."""
    if isinstance(value, bool):
        raise MonitoringError(_("it is not a number: type digits only."))
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = re.sub(r"\s", "", str(value))
        if re.fullmatch(r"\d{1,3}(\.\d{3})+|\d{1,3}(,\d{3})+", text):
            text = text.replace(".", "").replace(",", "")
        elif re.fullmatch(r"\d+[.,]0+", text):
            text = re.split(r"[.,]", text)[0]
        if not re.fullmatch(r"-?\d+", text):
            raise MonitoringError(
                _(
                    "a count of people is a whole number: write 1250 (or 1.250 or 1,250 for "
                    "thousands)."
                )
            )
        number = float(text)
    if not number.is_integer():
        raise MonitoringError(
            _("a count of people is a whole number: write 1250 (or 1.250 or 1,250 for thousands).")
        )
    return number


def _new_batch(session: Session, path: Path, kind: str, user: str) -> models.ImportBatch:
    # hashed here: importing the ingest package would load GeoPandas for one checksum
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    batch = models.ImportBatch(kind=kind, file_name=path.name, sha256=digest, imported_by=user)
    session.add(batch)
    session.flush()
    return batch


def _check_allowed(city: TargetCity, allowed: set[str] | None) -> None:
    if allowed is not None and city.code not in allowed:
        raise MonitoringError(
            _(
                "you may not edit target city {city}; ask an admin to link it to your account."
            ).format(city=city.code)
        )


def _fixed_city(
    session: Session, programme_code: str, city: str | None, target: str | None
) -> TargetCity | None:
    programme = get_programme(session, programme_code)
    if city:
        city_id = session.scalar(select(models.City.id).where(models.City.code == city))
        found = (
            session.scalar(
                select(TargetCity).where(
                    TargetCity.programme_id == programme.id, TargetCity.city_id == city_id
                )
            )
            if city_id is not None
            else None
        )
        if found is None:
            raise MonitoringError(
                _(
                    "City {city} of the observatory is not a target city of {programme}; use "
                    "--target-city for a results-only city."
                ).format(city=city, programme=programme_code)
            )
        return found
    if target:
        return find_target_city(session, programme, target)
    return None


def import_template(
    engine: Engine,
    path: Path,
    *,
    programme: str = DEFAULT_PROGRAMME,
    city: str | None = None,
    target_city: str | None = None,
    user: str = "",
    allowed_cities: set[str] | None = None,
    missing: Iterable[str] = MISSING_CODES,
) -> ImportSummary:
    """Import a filled template (es or en headers) in one transaction.

    ``city`` is a store city code, ``target_city`` a target city's code or name; either one
    fills rows whose city cell is empty and refuses rows for another city. ``allowed_cities``
    restricts a programme staff member to their own cities.
    """
    path = Path(path)
    summary = ImportSummary(file=path.name)
    missing = tuple(missing)
    with transaction(engine) as session:
        prog = get_programme(session, programme)
        fixed = _fixed_city(session, programme, city, target_city)
        batch = _new_batch(session, path, "programme_values", user)
        summary.batch_id = batch.id
        headers: dict[str, str] | None = None
        indicators: dict[str, ProgrammeIndicator] = {}
        targets: dict[str, TargetCity] = {}
        parts = _Breakdowns()
        table = list(_read_table(path, VALUES_SHEET.values()))
        if table and not any(_plain(h) in ("indicador", "indicator") for h in table[0][1]):
            codes = set(
                session.scalars(
                    select(ProgrammeIndicator.code).where(
                        ProgrammeIndicator.programme_id == prog.id
                    )
                )
            )
            wide = table
            table = _wide_to_long(table, codes)
            if wide and not table:
                # a KoBo export "with labels" (Ciudad, Valores logrados/Personas alcanzadas
                # ...): its rows were there, its headers unknown (trial #5 T19)
                raise MonitoringError(
                    _(
                        "{file} has {rows} rows but none of its columns is an indicator of the "
                        "programme (its headers: {headers}). Export the submissions from KoBo "
                        "with 'XML values and headers', or fill the observatory's template "
                        "(inclusive-cities programme template)."
                    ).format(
                        file=path.name,
                        rows=len(wide),
                        headers=", ".join(f"'{h}'" for h in list(wide[0][1])[:4]),
                    )
                )
        for number, row in table:
            if headers is None:
                headers = _header_map(path.name, row.keys())
            summary.rows_read += 1
            cell = {key: row.get(header) for key, header in headers.items()}
            if _is_missing(cell.get("value"), missing):
                summary.rows_missing += 1
                continue
            key = "indicator"
            try:
                wanted = str(cell["indicator"]).strip()
                if wanted not in indicators:
                    indicators[wanted] = get_indicator(session, prog, wanted)
                indicator = indicators[wanted]
                key = "city"
                named = cell.get("city")
                if named is None or str(named).strip() == "":
                    if fixed is None:
                        raise MonitoringError(_("no city: fill it or give --city / --target-city."))
                    target = fixed
                else:
                    if str(named) not in targets:
                        targets[str(named)] = find_target_city(session, prog, str(named))
                    target = targets[str(named)]
                    if fixed is not None and target.id != fixed.id:
                        raise MonitoringError(
                            _(
                                "the file is imported for {city}: remove rows of other cities."
                            ).format(city=fixed.code)
                        )
                _check_allowed(target, allowed_cities)
                key = "kind"
                kind = KINDS.get(_plain(cell["kind"]).replace("í", "i"))
                if kind is None:
                    raise MonitoringError(
                        _("use baseline, target or actual (linea_base, meta, real).")
                    )
                key = "period"
                period = normalise_period(cell["period"])
                dims = {}
                for key in ("sex", "age_group", "nationality", "topic"):
                    dims[key] = category(key, cell.get(key))
                key = "value"
                value = _number(cell["value"])
                if row.get(KOBO_COLUMN) and not typed_actual_allowed(indicator, target):
                    # the form asks every city; for a city of the store the observatory
                    # computes it: one such answer refused the whole export (trial #5 T18)
                    summary.warnings.append(
                        _(
                            "{file}, row {row}, column '{column}': left out, {indicator} is "
                            "computed from the observatory for {city}."
                        ).format(
                            file=path.name,
                            row=number,
                            column=row[KOBO_COLUMN],
                            indicator=indicator.code,
                            city=target.name,
                        )
                    )
                    continue
                parts.add(indicator, target, period, kind, dims, value, number)
                set_value(
                    session,
                    prog,
                    indicator,
                    target,
                    period,
                    kind,
                    value,
                    **dims,
                    comment=str(cell.get("comment") or ""),
                    source=str(cell.get("source") or path.name),
                    user=user,
                    batch_id=batch.id,
                )
            except MonitoringError as error:
                column = headers.get(key, COLUMNS[key][0])
                if key == "value" and row.get(KOBO_COLUMN):
                    column = str(row[KOBO_COLUMN])
                raise _problem(path.name, number, column, cell.get(key), error) from None
            summary.values_written += 1
            summary.cities.add(target.code)
            summary.indicators.add(indicator.code)
        if headers is None:
            raise MonitoringError(_("{file} has no rows to import.").format(file=path.name))
        parts.check(path.name, headers.get("value", COLUMNS["value"][0]))
        batch.rows_read = summary.rows_read
        batch.rows_accepted = summary.values_written
        batch.rows_rejected = 0
    return summary


class _Breakdowns:
    """A file's counts of people by one disaggregation beside their total: the parts may be
    incomplete (only women typed) but never add up to more than the total. 600 women and 400
    men against a total of 850 were stored with exit 0 (trial #5 T18)."""

    def __init__(self) -> None:
        self.totals: dict[tuple[str, str, str, str], tuple[float, int]] = {}
        self.sums: dict[tuple[str, str, str, str, str], tuple[float, int, float]] = {}
        """(indicator, city, period, kind, dimension) -> (sum, last row, its value)."""

    def add(
        self,
        indicator: ProgrammeIndicator,
        target: TargetCity,
        period: str,
        kind: str,
        dims: dict[str, str],
        value: float,
        row: int,
    ) -> None:
        if not is_people(indicator.unit):
            return
        where = (indicator.code, target.code, period, kind)
        split = [d for d, c in dims.items() if c != TOTAL]
        if not split:
            self.totals[where] = (value, row)
        elif len(split) == 1:
            so_far = self.sums.get((*where, split[0]), (0.0, row, value))[0]
            self.sums[(*where, split[0])] = (so_far + value, row, value)

    def check(self, file: str, column: str) -> None:
        for (*where, dimension), (added, row, last) in sorted(self.sums.items()):
            total = self.totals.get(tuple(where))  # type: ignore[arg-type]
            if total is None or added <= total[0] + 1e-9:
                continue
            raise _problem(
                file,
                row,
                column,
                _shown(last),
                MonitoringError(
                    _(
                        "the values of {indicator} for {city}, {period} by {dimension} add up to "
                        "{sum}, more than its total {total} (row {total_row}). Correct the "
                        "breakdown or the total."
                    ).format(
                        indicator=where[0],
                        city=where[1],
                        period=where[2],
                        dimension=_dimension_name(dimension),
                        sum=_shown(added),
                        total=_shown(total[0]),
                        total_row=total[1],
                    )
                ),
            )


def _dimension_name(dimension: str) -> str:
    return {
        "sex": _("sex"),
        "age_group": _("age group"),
        "nationality": _("population group"),
        "topic": _("topic"),
    }[dimension]


# --- XLSForm for KoBo ---------------------------------------------------------------------

KOBO_SEP = "__"
KOBO_COLUMN = "_kobo_column"
"""The export's own column of a value read from KoBo (a refusal names it, not 'value')."""
PERIOD_REGEX = r"^[0-9]{4}(-(S[12]|Q[1-4]|[0-9]{2}))?$"


def write_xlsform(engine: Engine, out: Path, *, programme: str = DEFAULT_PROGRAMME) -> Path:
    """An XLSForm (es and en labels) to collect actuals with KoBo: one submission per city
    and period, one number per typed indicator (and per sex where it is disaggregated).
    Its data export is read back by :func:`import_template`."""
    from openpyxl import Workbook

    with transaction(engine) as session:
        prog = get_programme(session, programme)
        results_only = TargetCity(programme_id=prog.id, code="", name="", country="")
        indicators = [
            ind
            for ind in session.scalars(
                select(ProgrammeIndicator)
                .where(ProgrammeIndicator.programme_id == prog.id)
                .order_by(ProgrammeIndicator.position)
            )
            if typed_actual_allowed(ind, results_only)
        ]
        cities = list(
            session.scalars(
                select(TargetCity)
                .where(TargetCity.programme_id == prog.id)
                .order_by(TargetCity.code)
            )
        )
        title_es, title_en, code = prog.name_es, prog.name_en, prog.code
        fields = []
        for ind in indicators:
            numeric = "integer" if ind.measure == "unit" and ind.unit != "%" else "decimal"
            fields.append((numeric, ind.code, ind.name_es, ind.name_en, ""))
            if "sex" in (ind.disaggregations or []):
                for sex, es, en in (("female", "mujeres", "women"), ("male", "hombres", "men")):
                    fields.append(
                        (
                            numeric,
                            f"{ind.code}{KOBO_SEP}{sex}",
                            f"{ind.name_es}: {es}",
                            f"{ind.name_en}: {en}",
                            f"${{{ind.code}}} != ''",
                        )
                    )
        city_rows = [(c.code, c.name) for c in cities]
    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(
        [
            "type",
            "name",
            "label::Español (es)",
            "label::English (en)",
            "required",
            "constraint",
            "relevant",
        ]
    )
    survey.append(["select_one city", "city", "Ciudad", "City", "yes", "", ""])
    survey.append(
        [
            "text",
            "period",
            "Periodo (2025, 2025-S1, 2025-Q3, 2025-06)",
            "Period (2025, 2025-S1, 2025-Q3, 2025-06)",
            "yes",
            f"regex(., '{PERIOD_REGEX}')",
            "",
        ]
    )
    survey.append(["begin_group", "actuals", "Valores logrados", "Actual values", "", "", ""])
    for numeric, name, es, en, relevant in fields:
        survey.append([numeric, name, es, en, "", ". >= 0", relevant])
    survey.append(["end_group", "", "", "", "", "", ""])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::Español (es)", "label::English (en)"])
    for city_code, name in city_rows:
        choices.append(["city", city_code, name, name])
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(
        [
            f"{title_es} / {title_en}",
            f"{code}_results",
            date.today().strftime("%Y%m%d"),
            "Español (es)",
        ]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    book.save(out)
    return out


def _wide_to_long(
    rows: list[tuple[int, dict[str, Any]]], codes: set[str]
) -> list[tuple[int, dict[str, Any]]]:
    """KoBo's export (one row per submission, one column per indicator) as template rows."""
    long = []
    for number, row in rows:
        plain = {str(k).split("/")[-1]: v for k, v in row.items()}
        for header, value in row.items():
            code, _sep, sex = str(header).split("/")[-1].partition(KOBO_SEP)
            if code not in codes:
                continue
            long.append(
                (
                    number,
                    {
                        "indicator": code,
                        "city": plain.get("city"),
                        "period": plain.get("period"),
                        "kind": "actual",
                        "sex": sex or None,
                        "value": value,
                        "source": "KoBo " + str(plain.get("_uuid") or plain.get("_id") or ""),
                        KOBO_COLUMN: header,
                    },
                )
            )
    return long


# --- 5W exports (ActivityInfo) --------------------------------------------------------------

FIVE_W: dict[str, tuple[str, ...]] = {
    # who
    "organisation": (
        "appealing organisation",
        "appealing organization",
        "organizacion solicitante",
        "organizacion",
        "organization",
        "who",
    ),
    "partner": ("implementing partner", "socio implementador", "implementing partner name"),
    # what
    "indicator": ("indicator", "indicador", "what"),
    "activity": ("activity name", "nombre de la actividad", "actividad", "activity"),
    # where
    "country": ("country", "pais"),
    "admin1": ("admin1", "admin 1", "departamento", "provincia", "estado"),
    "admin2": ("admin2", "admin 2", "municipio", "ciudad", "city", "canton", "where"),
    # when
    "month": ("month", "mes", "reporting month", "when", "date", "fecha"),
    # for whom
    "new": (
        "new beneficiaries of the month",
        "nuevos beneficiarios del mes",
        "new beneficiaries",
        "beneficiarios nuevos",
    ),
    "total": (
        "total monthly beneficiaries",
        "total de beneficiarios del mes",
        "total beneficiaries",
        "beneficiarios",
    ),
    "women_u18": ("women under 18", "mujeres menores de 18", "girls"),
    "men_u18": ("men under 18", "hombres menores de 18", "boys"),
    "other_u18": ("other under 18", "otros menores de 18"),
    "women_o18": ("women above 18", "women over 18", "mujeres mayores de 18", "women"),
    "men_o18": ("men above 18", "men over 18", "hombres mayores de 18", "men"),
    "other_o18": ("other above 18", "other over 18", "otros mayores de 18"),
    "destination": (
        "refugees and migrants in destination",
        "refugiados y migrantes en destino",
        "in destination",
    ),
    "transit": (
        "refugees and migrants in transit",
        "refugiados y migrantes en transito",
        "in transit",
    ),
    "pendular": (
        "refugees and migrants pendular",
        "refugees and migrants pendulars",
        "refugees and migrants in pendular movement",
        "refugiados y migrantes pendulares",
        "refugiados y migrantes en movimiento pendular",
        "pendular",
        "pendulars",
        "pendulares",
    ),
    "returnees": (
        "colombian returnees",
        "returnees",
        "retornados colombianos",
        "colombianos retornados",
        "retornados",
    ),
    "host": (
        "host communities beneficiaries",
        "host community",
        "comunidad de acogida",
        "comunidades de acogida",
    ),
}
"""Column names of a 5W export (R4V/ActivityInfo headers in English and Spanish)."""

_5W_LABELS = {
    "indicator": "Indicator / Indicador",
    "admin2": "Admin2 / Municipio",
    "month": "Month / Mes",
}
"""How a missing required column is named to the user (the file's own header words)."""

POPULATION_GROUPS = ("destination", "transit", "pendular", "host", "returnees")
SEX_AGE = ("women_u18", "men_u18", "other_u18", "women_o18", "men_o18", "other_o18")
"""A 5W disaggregates the row's beneficiaries twice (population group; sex and age): each
breakdown, when every one of its cells is filled, adds up to the row's figure."""

_TOTAL_WORDS = ("total", "totales", "total general", "grand total", "suma")

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "ene"),
            ("feb",),
            ("mar",),
            ("apr", "abr"),
            ("may",),
            ("jun",),
            ("jul",),
            ("aug", "ago"),
            ("sep", "set"),
            ("oct",),
            ("nov",),
            ("dec", "dic"),
        ],
        start=1,
    )
    for name in names
}


def _month(value: object) -> str:
    """A 5W month ("2025-03", "March 2025", "marzo 2025", a date) as a period code."""
    if isinstance(value, datetime | date):
        return f"{value.year:04d}-{value.month:02d}"
    text = _plain(value)
    match = re.fullmatch(r"(\d{4})[-/](\d{1,2})(?:[-/]\d{1,2})?", text)
    if match:
        return normalise_period(f"{match.group(1)}-{int(match.group(2)):02d}")
    match = re.fullmatch(r"(\d{1,2})[-/](\d{4})", text)
    if match:
        return normalise_period(f"{match.group(2)}-{int(match.group(1)):02d}")
    match = re.fullmatch(r"([a-z]+)[ \-/]+(?:de )?(\d{4})", text)
    if match and match.group(1)[:3] in _MONTHS:
        return f"{match.group(2)}-{_MONTHS[match.group(1)[:3]]:02d}"
    raise MonitoringError(_("the month is not understood: write 2025-03 or March 2025."))


def _5w_headers(file: str, headers: Iterable[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in headers:
        plain = _plain(header)
        for key, names in FIVE_W.items():
            if key not in found and plain in names:
                found[key] = header
    needed = ("indicator", "admin2", "month")
    missing = [_5W_LABELS[k] for k in needed if k not in found]
    if missing or not ({"new", "total"} & found.keys()):
        raise MonitoringError(
            _(
                "{file} is not a 5W export: it lacks the column {columns} (who, what, where, "
                "when and for whom: Indicator, Admin2, Month, New beneficiaries of the month). "
                "Rename the column to one of these names."
            ).format(file=file, columns=", ".join(missing or ["New beneficiaries of the month"]))
        )
    return found


def _shown(value: float) -> str:
    """A count as the reader's language writes it (a share keeps one decimal)."""
    return format_number(value, 0 if float(value).is_integer() else 1)


def _unread_columns(headers: Iterable[str], found: dict[str, str]) -> list[str]:
    """Headers the import does not read: named in a refusal when a breakdown does not add up
    (a population column under another name is the usual cause)."""
    used = set(found.values())
    return [str(h) for h in headers if h not in used and str(h).strip()]


def _is_totals_row(row: dict[str, Any], headers: dict[str, str]) -> bool:
    """A sum written below the data ("Total" in a text cell, no indicator or no city), as
    spreadsheets exported for reading often have."""
    texts = [_plain(v) for v in row.values() if isinstance(v, str) and v.strip()]
    if not any(t in _TOTAL_WORDS for t in texts):
        return False
    return (
        not str(row.get(headers["indicator"]) or "").strip()
        or not str(row.get(headers["admin2"]) or "").strip()
        or _plain(row.get(headers["indicator"])) in _TOTAL_WORDS
    )


def _check_breakdowns(figures: dict[str, float], headers: dict[str, str]) -> str | None:
    """The header of the first breakdown whose filled cells do not add up to the row's
    figure (None when both agree or a breakdown is incomplete)."""
    total_key = "new" if "new" in figures else "total"
    total = figures.get(total_key)
    if total is None:
        return None
    for parts in (POPULATION_GROUPS, SEX_AGE):
        present = [k for k in parts if k in headers]
        if len(present) < 2 or any(k not in figures for k in present):
            continue
        if abs(sum(figures[k] for k in present) - total) > 1e-6:
            return "population" if parts is POPULATION_GROUPS else "sex_age"
    return None


def _breakdown_error(
    which: str, figures: dict[str, float], headers: dict[str, str], unread: list[str]
) -> MonitoringError:
    parts = POPULATION_GROUPS if which == "population" else SEX_AGE
    present = [k for k in parts if k in headers]
    total = figures.get("new", figures.get("total", 0.0))
    names = ", ".join(headers[k] for k in present)
    message = (
        _(
            "the population groups ({columns}) add up to {sum}, not to the row's {total} "
            "beneficiaries."
        )
        if which == "population"
        else _("sex and age ({columns}) add up to {sum}, not to the row's {total} beneficiaries.")
    ).format(
        columns=names,
        sum=_shown(sum(figures[k] for k in present)),
        total=_shown(total),
    )
    if unread:
        message += " " + _(
            "Columns not read: {columns}. If one of them is a part of this breakdown, rename it "
            "(e.g. 'Refugees and Migrants PENDULARS'); otherwise correct the row."
        ).format(columns=", ".join(f"'{c}'" for c in unread))
    else:
        message += " " + _("Correct the row in the export and import it again.")
    return MonitoringError(message)


def _5w_indicator(
    session: Session, prog: Any, text: object, mapping: dict[str, str]
) -> ProgrammeIndicator:
    wanted = str(text or "").strip()
    code = mapping.get(wanted) or mapping.get(_plain(wanted)) or wanted
    indicators = session.scalars(
        select(ProgrammeIndicator).where(ProgrammeIndicator.programme_id == prog.id)
    ).all()
    for ind in indicators:
        if _plain(code) in (_plain(ind.code), _plain(ind.name_es), _plain(ind.name_en)):
            return ind
    raise MonitoringError(
        _("no indicator of the programme is called so: use its code or map it with --map.")
    )


def import_5w(
    engine: Engine,
    path: Path,
    *,
    programme: str = DEFAULT_PROGRAMME,
    mapping: dict[str, str] | None = None,
    user: str = "",
    allowed_cities: set[str] | None = None,
    missing: Iterable[str] = MISSING_CODES,
    replace: bool = False,
) -> ImportSummary:
    """Import a 5W export as monthly actuals, in one transaction.

    ``replace``: the file replaces every earlier 5W figure of its indicators and months, in
    every city (a corrected export that drops a row); without it those figures are kept and
    the summary names them.

    Rows of the same indicator, city and month are added up (a 5W has one row per
    organisation and activity). The actual is the month's new beneficiaries (else the total),
    broken down by sex (women/men under and above 18), age (0-17 only: see below) and
    population group (host; refugees and migrants in destination, in transit and pendular).
    Re-importing the file replaces the same cells.
    """
    path = Path(path)
    mapping = {_plain(k): v for k, v in (mapping or {}).items()}
    missing = tuple(missing)
    summary = ImportSummary(file=path.name)
    cells: dict[tuple[int, int, str, str, str, str], float] = {}
    who: dict[tuple[int, int, str], set[str]] = {}
    with transaction(engine) as session:
        prog = get_programme(session, programme)
        batch = _new_batch(session, path, "programme_5w", user)
        summary.batch_id = batch.id
        indicators: dict[int, ProgrammeIndicator] = {}
        cities: dict[int, TargetCity] = {}
        headers: dict[str, str] | None = None
        unread: list[str] = []
        for number, row in _read_table(path):
            if headers is None:
                headers = _5w_headers(path.name, row.keys())
                unread = _unread_columns(row.keys(), headers)
            if _is_totals_row(row, headers):
                summary.warnings.append(
                    _(
                        "{file}, row {row}: left out, it is a totals row (the months are added "
                        "up from the other rows)."
                    ).format(file=path.name, row=number)
                )
                continue
            summary.rows_read += 1
            key = "indicator"
            try:
                ind = _5w_indicator(session, prog, row.get(headers["indicator"]), mapping)
                key = "admin2"
                place = str(row.get(headers["admin2"]) or "").strip()
                city = find_target_city(
                    session, prog, mapping.get(_plain(place), place), mapping_hint=True
                )
                _check_allowed(city, allowed_cities)
                if not typed_actual_allowed(ind, city):
                    raise MonitoringError(
                        _("{indicator} is computed from the observatory for {city}.").format(
                            indicator=ind.code, city=city.name
                        )
                    )
                key = "month"
                period = _month(row.get(headers["month"]))
                figures: dict[str, float] = {}
                for field_key in (
                    "new",
                    "total",
                    "women_u18",
                    "men_u18",
                    "other_u18",
                    "women_o18",
                    "men_o18",
                    "other_o18",
                    "destination",
                    "transit",
                    "pendular",
                    "returnees",
                    "host",
                ):
                    if field_key not in headers:
                        continue
                    key = field_key
                    raw = row.get(headers[field_key])
                    if _is_missing(raw, missing):
                        continue
                    figures[field_key] = _count(raw)
                    if figures[field_key] < 0:
                        raise MonitoringError(_("a count cannot be negative."))
                broken = _check_breakdowns(figures, headers)
                if broken is not None:
                    key = "new" if "new" in figures else "total"
                    raise _breakdown_error(broken, figures, headers, unread)
            except MonitoringError as error:
                column = headers.get(key, key)
                raise _problem(path.name, number, column, row.get(column), error) from None
            total = figures.get("new", figures.get("total"))
            if total is None:
                summary.rows_missing += 1
                continue
            indicators[ind.id], cities[city.id] = ind, city
            # adults are not stored as "18+": the framework's age groups are 0-17, 18-29,
            # 30-59 and 60+, so an "18+" row beside typed 60+ rows counted people twice in
            # any sum over ages (trial #5 T13); they are the total minus 0-17
            parts = {
                ("_T", "_T", "_T"): total,
                ("female", "_T", "_T"): figures.get("women_u18", 0) + figures.get("women_o18", 0),
                ("male", "_T", "_T"): figures.get("men_u18", 0) + figures.get("men_o18", 0),
                ("_T", "0-17", "_T"): sum(
                    figures.get(k, 0) for k in ("women_u18", "men_u18", "other_u18")
                ),
                ("_T", "_T", "host"): figures.get("host", 0),
                ("_T", "_T", "refugee_migrant"): sum(
                    figures.get(k, 0) for k in ("destination", "transit", "pendular")
                ),
            }
            present = {
                ("female", "_T", "_T"): {"women_u18", "women_o18"},
                ("male", "_T", "_T"): {"men_u18", "men_o18"},
                ("_T", "0-17", "_T"): {"women_u18", "men_u18", "other_u18"},
                ("_T", "_T", "host"): {"host"},
                ("_T", "_T", "refugee_migrant"): {"destination", "transit", "pendular"},
            }
            for cell, value in parts.items():
                if cell in present and not (present[cell] & figures.keys()):
                    continue
                slot = (ind.id, city.id, period, *cell)
                cells[slot] = cells.get(slot, 0.0) + value
            names = who.setdefault((ind.id, city.id, period), set())
            for k in ("organisation", "partner"):
                if k in headers and row.get(headers[k]):
                    names.add(str(row.get(headers[k])).strip())
        if headers is None:
            raise MonitoringError(_("{file} has no rows to import.").format(file=path.name))
        months: dict[tuple[int, int], set[str]] = {}
        for (ind_id, city_id, period, sex, age, nationality), value in sorted(cells.items()):
            months.setdefault((ind_id, city_id), set()).add(period)
            set_value(
                session,
                prog,
                indicators[ind_id],
                cities[city_id],
                period,
                "actual",
                value,
                sex=sex,
                age_group=age,
                nationality=nationality,
                comment=", ".join(sorted(who.get((ind_id, city_id, period), set()))),
                source=f"5W {path.name}",
                user=user,
                batch_id=batch.id,
            )
            summary.values_written += 1
            summary.cities.add(cities[city_id].code)
            summary.indicators.add(indicators[ind_id].code)
        batch.rows_read = summary.rows_read
        batch.rows_accepted = summary.rows_read - summary.rows_missing
        session.flush()
        summary.warnings.extend(
            _earlier_5w(session, path.name, months, indicators, cities, batch.id, replace)
        )
        for (ind_id, city_id), periods in sorted(months.items()):
            summary.warnings.extend(
                _typed_spans_disagreeing(session, indicators[ind_id], cities[city_id], periods)
            )
    return summary


def _earlier_5w(
    session: Session,
    file: str,
    months: dict[tuple[int, int], set[str]],
    indicators: dict[int, ProgrammeIndicator],
    cities: dict[int, TargetCity],
    batch_id: int,
    replace: bool,
) -> list[str]:
    """Figures of earlier 5W files for this file's indicators and months, in cities this file
    does not have: removed with ``replace``, else kept and named (a corrected export without
    BAQ's March left BAQ's 70 in place with no word, trial #5 T17)."""
    covered = {(i, c, p) for (i, c), periods in months.items() for p in periods}
    wanted = {(i, p) for i, _c, p in covered}
    if not wanted:
        return []
    rows = session.scalars(
        select(IndicatorValue).where(
            IndicatorValue.indicator_id.in_({i for i, _p in wanted}),
            IndicatorValue.period.in_({p for _i, p in wanted}),
            IndicatorValue.kind == "actual",
            IndicatorValue.source.like("5W %"),
            IndicatorValue.batch_id != batch_id,
        )
    ).all()
    left = [
        r
        for r in rows
        if (r.indicator_id, r.period) in wanted
        and (r.indicator_id, r.target_city_id, r.period) not in covered
    ]
    if not left:
        return []
    totals = sorted(
        (r for r in left if (r.sex, r.age_group, r.nationality, r.topic) == (TOTAL,) * 4),
        key=lambda r: (r.period, r.target_city_id),
    )
    names = {i.id: i.code for i in indicators.values()}
    places = {c.id: c.code for c in cities.values()}
    if any(r.target_city_id not in places for r in totals):
        places |= {
            c.id: c.code
            for c in session.scalars(
                select(TargetCity).where(TargetCity.id.in_({r.target_city_id for r in totals}))
            )
        }
    shown = ", ".join(
        f"{places[r.target_city_id]} {r.period} {names.get(r.indicator_id, '')} = {_shown(r.value)}"
        for r in totals[:5]
    ) + (" …" if len(totals) > 5 else "")
    if replace:
        for r in left:
            session.delete(r)
        return [
            _(
                "{file} replaces the earlier 5W figures of its indicators and months: removed "
                "{shown}."
            ).format(file=file, shown=shown)
        ]
    return [
        _(
            "Kept from earlier 5W files, for cities this file does not have in the same months: "
            "{shown}. If this file is a corrected export that replaces them, import it again "
            "with --replace."
        ).format(shown=shown)
    ]


def _typed_spans_disagreeing(
    session: Session, indicator: ProgrammeIndicator, city: TargetCity, months: set[str]
) -> list[str]:
    """Quarters, semesters and years entered as figures of their own that the months just
    imported contradict: the span's own figure is what results show, so a 5W's months that
    add up to something else would go unnoticed (a typed 2025-S1 of 735 beside months adding
    up to 505)."""
    if indicator.accumulation not in ("per_period", "cumulative"):
        return []
    figures = {
        period: value
        for period, value in session.execute(
            select(IndicatorValue.period, IndicatorValue.value).where(
                IndicatorValue.indicator_id == indicator.id,
                IndicatorValue.target_city_id == city.id,
                IndicatorValue.kind == "actual",
                IndicatorValue.sex == TOTAL,
                IndicatorValue.age_group == TOTAL,
                IndicatorValue.nationality == TOTAL,
                IndicatorValue.topic == TOTAL,
            )
        )
    }
    spans = sorted({span for month in months for span in enclosing(month)})
    out = []
    for span in spans:
        typed = figures.get(span)
        if typed is None:
            continue
        others = {code: value for code, value in figures.items() if code != span}
        made = rolled_up(others, window(span), indicator.accumulation)
        if made is None or abs(made - typed) <= 1e-6 * max(1.0, abs(typed)):
            continue
        message = (
            _(
                "{indicator} in {city}, {span}: the figure entered for {span} is {typed}, but "
                "its months now add up to {made}. Results show {typed}; correct or delete the "
                "figure of {span} if the months are right."
            )
            if indicator.accumulation == "per_period"
            else _(
                "{indicator} in {city}, {span}: the figure entered for {span} is {typed}, but "
                "its last month now says {made}. Results show {typed}; correct or delete the "
                "figure of {span} if the months are right."
            )
        )
        out.append(
            message.format(
                indicator=indicator.code,
                city=city.code,
                span=span,
                typed=_shown(typed),
                made=_shown(made),
            )
        )
    return out
