"""Read KoBoToolbox / ODK exports together with their XLSForm.

The form (``survey``, ``choices``, ``settings`` sheets) says what every column means; the
export comes as an XLSX with one sheet per repeat group or as a set of CSV files. Every
problem — unknown choice codes, constraint violations, rows without a location, repeat
rows whose parent is missing — is reported with its file, row, column and value. Rows
are never dropped silently: a row that cannot be used is listed in the issues.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType

import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.surveys.dates import read_dates
from inclusive_cities.surveys.errors import SurveyError

META_COLUMNS = {
    "_index",
    "_parent_index",
    "_parent_table_name",
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_tags",
    "_version_",
    "_xform_id",
    "_attachments",
    "_geolocation",
    "KEY",
    "PARENT_KEY",
    "SET-OF",
    "SubmissionDate",
    "instanceID",
    "meta/instanceID",
    "start",
    "end",
    "today",
    "deviceid",
    "formhub/uuid",
    "meta/rootUuid",
    "_duration",
}
STRUCTURE_TYPES = {
    "begin_group",
    "end_group",
    "begin_repeat",
    "end_repeat",
    "begin group",
    "end group",
    "begin repeat",
    "end repeat",
}
NO_DATA_TYPES = {"note"}
ISSUE_COLUMNS = ["file", "sheet", "row", "column", "value", "problem", "severity"]
_CONSTRAINT_OK = re.compile(r"^[\s\d\.\(\)<>=!+\-*/]*(?:(?:and|or|not)[\s\d\.\(\)<>=!+\-*/]*)*$")


@dataclass(frozen=True)
class Question:
    name: str
    type: str
    list_name: str | None
    label: str
    repeat: str | None
    constraint: str
    required: bool

    @property
    def base_type(self) -> str:
        return self.type.split()[0] if self.type else ""


@dataclass
class Form:
    """An XLSForm reduced to what the importer needs."""

    form_id: str
    title: str
    language: str
    questions: dict[str, Question]
    choices: dict[str, dict[str, str]]
    repeats: list[str]

    def in_table(self, table: str | None) -> list[Question]:
        return [q for q in self.questions.values() if q.repeat == table]


@dataclass
class SurveyImport:
    """Cleaned tables (``main`` and one per repeat) and every problem found."""

    form: Form
    tables: dict[str, pd.DataFrame]
    issues: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ISSUE_COLUMNS))

    @property
    def main(self) -> pd.DataFrame:
        return self.tables["main"]


def _label_column(columns: list[str], kind: str, language: str) -> str | None:
    """The ``label::Español (es)`` / ``label::es`` / ``label`` column for a language."""
    pattern = re.compile(rf"^{kind}::(?:.*\({language}\)|{language})$", re.IGNORECASE)
    for column in columns:
        if pattern.match(str(column).strip()):
            return column
    return None


def _available_languages(columns: list[str]) -> list[str]:
    found = []
    for column in columns:
        match = re.match(r"^label::(.*)$", str(column).strip())
        if match:
            found.append(match.group(1))
    return found


def validate_xlsform(path: Path) -> None:
    """Let pyxform (the reference XLSForm compiler) judge the form, as KoBo and ODK would."""
    from pyxform.errors import PyXFormError
    from pyxform.xls2xform import convert

    try:
        convert(xlsform=str(path))
    except PyXFormError as error:
        reason = " ".join(str(error).split())
        raise SurveyError(
            _("The XLSForm {path} is not valid: {reason}").format(path=path, reason=reason)
        ) from error


def read_form(path: str | Path, language: str = "es", *, validate: bool = True) -> Form:
    """Read an XLSForm's survey, choices and settings sheets (checked with pyxform)."""
    path = _existing_file(path, _("form"))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        _check_workbook(path)
    if validate and path.suffix.lower() in (".xlsx", ".xls"):
        validate_xlsform(path)
    try:
        sheets = pd.read_excel(
            path, sheet_name=None, dtype=str, keep_default_na=False, engine="calamine"
        )
    except Exception as error:  # openpyxl raises many kinds for a bad file
        raise SurveyError(
            _("Cannot read the XLSForm {path}: {reason}.").format(path=path, reason=error)
        ) from error
    sheets = {name.strip().lower(): frame for name, frame in sheets.items()}
    for required in ("survey", "choices"):
        if required not in sheets:
            raise SurveyError(
                _("The XLSForm {path} has no '{sheet}' sheet (found: {found}).").format(
                    path=path, sheet=required, found=", ".join(sheets)
                )
            )
    survey, choices_sheet = sheets["survey"], sheets["choices"]
    columns = [str(c) for c in survey.columns]
    label = _label_column(columns, "label", language)
    if label is None:
        languages = _available_languages(columns)
        if languages or "label" not in columns:
            raise SurveyError(
                _(
                    "The XLSForm {path} has no label column for language '{language}': it has "
                    "{found}. Choose one of those languages or add label::{language}."
                ).format(path=path, language=language, found=", ".join(languages) or "none")
            )
        label = "label"
    choice_label = _label_column([str(c) for c in choices_sheet.columns], "label", language)
    choice_label = choice_label or ("label" if "label" in choices_sheet.columns else None)
    questions: dict[str, Question] = {}
    stack: list[str] = []
    repeats: list[str] = []
    for _i, row in survey.iterrows():
        qtype = str(row.get("type", "")).strip()
        name = str(row.get("name", "")).strip()
        if not qtype:
            continue
        kind = qtype.replace(" ", "_").lower()
        if kind == "begin_repeat":
            stack.append(name)
            repeats.append(name)
            continue
        if kind == "end_repeat":
            if stack:
                stack.pop()
            continue
        if kind in {"begin_group", "end_group"} or qtype in NO_DATA_TYPES or not name:
            continue
        parts = qtype.split()
        list_name = (
            parts[1] if parts[0] in ("select_one", "select_multiple") and len(parts) > 1 else None
        )
        questions[name] = Question(
            name=name,
            type=qtype,
            list_name=list_name,
            label=str(row.get(label, "")),
            repeat=stack[-1] if stack else None,
            constraint=str(row.get("constraint", "")).strip(),
            required=str(row.get("required", "")).strip().lower() in ("yes", "true", "true()"),
        )
    choices: dict[str, dict[str, str]] = {}
    for _i, row in choices_sheet.iterrows():
        list_name = str(row.get("list_name", row.get("list name", ""))).strip()
        if not list_name:
            continue
        choices.setdefault(list_name, {})[str(row.get("name", "")).strip()] = (
            str(row.get(choice_label, "")) if choice_label else ""
        )
    settings = sheets.get("settings", pd.DataFrame())
    first = settings.iloc[0] if len(settings) else pd.Series(dtype=str)
    return Form(
        form_id=str(first.get("form_id", path.stem)) or path.stem,
        title=str(first.get("form_title", "")),
        language=language,
        questions=questions,
        choices=choices,
        repeats=repeats,
    )


def _existing_file(path: str | Path, what: str) -> Path:
    """The path of an existing file, else a one-line error naming it (not pyxform's)."""
    path = Path(path)
    if not path.exists():
        raise SurveyError(
            _("The {what} file {path} does not exist: check the path.").format(what=what, path=path)
        )
    if path.is_dir():
        raise SurveyError(
            _("The {what} {path} is a folder: give the XLSForm file (.xlsx).").format(
                what=what, path=path
            )
        )
    if path.stat().st_size == 0:
        raise SurveyError(
            _("The {what} file {path} is empty (0 bytes): export it again.").format(
                what=what, path=path
            )
        )
    return path


def _check_workbook(path: Path) -> None:
    """Refuse a workbook whose cells would not fit in memory before opening it."""
    from inclusive_cities.ingest.common import IngestError
    from inclusive_cities.ingest.tabular import check_xlsx_limits

    try:
        check_xlsx_limits(path)
    except IngestError as error:
        raise SurveyError(str(error)) from error


def _read_export(path: Path) -> dict[str, pd.DataFrame]:
    """Sheets of an XLSX export, or the CSV files of a directory (first = main)."""
    if not path.exists():
        raise SurveyError(
            _("The {what} file {path} does not exist: check the path.").format(
                what=_("survey data"), path=path
            )
        )
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise SurveyError(_("No CSV files in {path}.").format(path=path))
        frames = {f.stem: _read_csv(f) for f in files}
        mains = [k for k, v in frames.items() if "_parent_index" not in v and "PARENT_KEY" not in v]
        order = mains + [k for k in frames if k not in mains]
        return {k: frames[k] for k in order}
    if path.suffix.lower() == ".csv":
        return {path.stem: _read_csv(path)}
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        _check_workbook(path)
    try:
        # calamine reads the same text as openpyxl, ten times faster (3,465 households and
        # 12,288 members: 0.4 s instead of 3.8 s of CPU)
        return pd.read_excel(
            path, sheet_name=None, dtype=str, keep_default_na=False, engine="calamine"
        )
    except Exception as error:
        raise SurveyError(
            _("Cannot read the survey data {path}: {reason}.").format(path=path, reason=error)
        ) from error


def _read_csv(path: Path) -> pd.DataFrame:
    """One CSV of an export as text, or a one-line error naming the file."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError, OSError) as error:
        raise SurveyError(
            _(
                "Cannot read the survey data {path}: {reason}. Export it again from KoBo or ODK "
                "as CSV (UTF-8) or XLSX."
            ).format(path=path, reason=" ".join(str(error).split())[:200])
        ) from error


def _short(column: str) -> str:
    return str(column).split("/")[-1] if "/" in str(column) else str(column)


def _normalise_columns(frame: pd.DataFrame, form: Form) -> pd.DataFrame:
    """Drop group prefixes (``grp/q`` → ``q``) but keep one-hot ``q/option`` columns."""
    renamed = {}
    for column in frame.columns:
        text = str(column)
        if text in META_COLUMNS or "/" not in text:
            continue
        parts = text.split("/")
        if parts[-1] in form.questions:
            renamed[column] = parts[-1]
        elif len(parts) >= 2 and parts[-2] in form.questions:
            renamed[column] = f"{parts[-2]}/{parts[-1]}"
    return frame.rename(columns=renamed)


class _Issues:
    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self.codes: list[_Code] = []  # no-answer codes read as numbers: the import is refused

    def add(
        self,
        file: str,
        sheet: str,
        row: object,
        column: str,
        value: object,
        problem: str,
        severity: str = "warning",
    ) -> None:
        self.rows.append(
            dict(
                zip(
                    ISSUE_COLUMNS, [file, sheet, row, column, value, problem, severity], strict=True
                )
            )
        )

    def where(
        self,
        file: str,
        sheet: str,
        excel_row: pd.Series,
        column: str,
        values: pd.Series,
        mask: pd.Series,
        problem: str,
    ) -> None:
        """One issue per row of ``mask``, naming the row as a spreadsheet shows it."""
        for idx in values.index[mask]:
            self.add(file, sheet, int(excel_row[idx]), column, values[idx], problem)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=ISSUE_COLUMNS)


@functools.lru_cache(maxsize=256)
def _constraint_code(expression: str) -> CodeType | None:
    """A simple numeric XLSForm constraint as Python, compiled once (a survey checks it for
    every answer: 32,000 times on the medium demo); None if it is not that simple."""
    if not expression or not _CONSTRAINT_OK.match(expression):
        return None
    code = re.sub(r"(?<![<>!=])=(?!=)", "==", expression)
    code = re.sub(r"(?<![\d])\.(?![\d])", "x", code)
    try:
        return compile(code, "<constraint>", "eval")
    except SyntaxError:
        return None


def _constraint_check(expression: str, value: float) -> bool | None:
    """Evaluate simple numeric XLSForm constraints (``. >= 0 and . <= 120``); None if not."""
    code = _constraint_code(expression)
    if code is None:
        return None
    try:
        return bool(eval(code, {"__builtins__": {}}, {"x": value}))
    except Exception:
        return None


def _one_hot_only(
    frame: pd.DataFrame,
    questions: list[Question],
    form: Form,
    file: str,
    sheet: str,
    excel_row: pd.Series,
    issues: _Issues,
) -> pd.DataFrame:
    """Rebuild ``q`` from one-hot ``q/option`` columns when the export has only those."""
    frame = frame.copy()
    for q in questions:
        if q.base_type != "select_multiple" or q.name in frame.columns:
            continue
        columns = [c for c in frame.columns if str(c).startswith(q.name + "/")]
        if not columns:
            continue
        allowed = set(form.choices.get(q.list_name or "", {}))
        selected = pd.Series([[] for _ in range(len(frame))], index=frame.index)
        answered = pd.Series(False, index=frame.index)
        for column in columns:
            option = str(column).split("/", 1)[1]
            if allowed and option not in allowed:
                issues.add(
                    file,
                    sheet,
                    "",
                    column,
                    option,
                    _("code not in the form's choice list {list}").format(list=q.list_name),
                )
            raw = frame[column]
            flags = (
                raw.astype("string")
                .str.strip()
                .str.lower()
                .map(
                    {"1": True, "0": False, "true": True, "false": False, "1.0": True, "0.0": False}
                )
            )
            for idx in frame.index[raw.notna() & flags.isna()]:
                issues.add(
                    file,
                    sheet,
                    int(excel_row[idx]),
                    str(column),
                    raw[idx],
                    _("one-hot value must be 0 or 1"),
                )
            answered |= flags.notna()
            for idx in frame.index[flags.fillna(False).astype(bool)]:
                selected[idx] = [*selected[idx], option]
        frame[q.name] = selected.map(" ".join).where(answered)
    return frame


def _without_codes(
    frame: pd.DataFrame, questions: list[Question], missing: Sequence[str]
) -> pd.DataFrame:
    """Answers that are missing-value codes (999, -999, "NS/NR") become empty: in a number
    question by value (``999.0`` too), elsewhere by text. Metadata columns stay as they are."""
    codes = {str(c).strip() for c in missing if str(c).strip()}
    if not codes:
        return frame
    numbers = {float(v) for v in pd.to_numeric(pd.Series(sorted(codes)), errors="coerce").dropna()}
    frame = frame.copy()
    for q in questions:
        if q.name not in frame.columns:
            continue
        text = frame[q.name].astype("string").str.strip()
        hidden = text.isin(codes).fillna(False)
        if q.base_type in ("integer", "decimal") and numbers:
            hidden |= pd.to_numeric(text, errors="coerce").isin(numbers)
        frame[q.name] = frame[q.name].mask(hidden.to_numpy(dtype=bool))
    return frame


SENTINELS = (
    *(77.0, 88.0, 98.0, 99.0, 888.0, 999.0, 8888.0, 9999.0, 99999.0),
    *(-1.0, -9.0, -99.0, -999.0, -9999.0),
)
"""Numbers questionnaires use for "don't know / no answer / refused" (88 no sabe, 99 no
responde, 98, 77, 999, -999, -1 ...)."""


@dataclass(frozen=True)
class _Code:
    """A no-answer code read as a number where it cannot be one (see :func:`_warn_sentinels`)."""

    file: str
    sheet: str
    row: int
    question: str
    code: str
    count: int
    low: float
    high: float


def _warn_sentinels(
    numbers: pd.Series,
    question: str,
    file: str,
    sheet: str,
    issues: _Issues,
    excel_row: pd.Series | None = None,
    bounded: bool = False,
) -> None:
    """One warning per question where a no-answer code looks like data: the same sentinel in
    several answers is far likelier to be a code than a value, and an estimate would use it.

    Where it also lies far outside every other answer (99 people in a household where no other
    household has more than 14), it cannot be a value: the import is refused (trial #4 F12:
    30 households of 88 and 30 of 99 people doubled the profile's population, exit 0). A form
    whose constraint sets an upper bound (``. <= 120``) that the value meets has said it is
    one: then it is only a warning.
    """
    sentinel = numbers.isin(SENTINELS)
    counts = numbers[sentinel].value_counts()
    others = numbers[~sentinel & numbers.notna()]
    for value, count in counts.items():
        if count >= 2:
            code = format(float(value), "g")
            outside = len(others) >= 5 and (
                float(value) > 2 * max(float(others.max()), 0.5)
                if float(value) > 0
                else float(value) < 0 <= float(others.min())
            )
            if outside and not (bounded and float(value) > 0) and excel_row is not None:
                first = numbers.index[numbers == value][0]
                row = int(excel_row[first])
                low, high = float(others.min()), float(others.max())
                issues.codes.append(_Code(file, sheet, row, question, code, int(count), low, high))
            issues.add(
                file,
                sheet,
                "",
                question,
                code,
                _(
                    "{count} answers are {code}, a code questionnaires use for 'no answer': "
                    "they are read as numbers; if they mean no answer, import again with "
                    "--missing {code}"
                ).format(count=count, code=code),
            )


def _names_for_labels(
    values: pd.Series,
    choices: dict[str, str],
    question: Question,
    file: str,
    sheet: str,
    issues: _Issues,
    multiple: bool = False,
) -> pd.Series:
    """Answers exported as the choices' labels ("Mujer", "Quedarse": KoBo's export option
    "labels") read as the names the form gives them, when every answer that is not a name is
    exactly one choice's label; one warning says so (trial #4 F14: the import stored 8,971
    "not in the choice list" warnings with exit 0, and every estimate then refused). A
    select_multiple answer is its labels joined by spaces: read only when no label has one."""
    text = values.astype("string").str.strip()
    known = set(choices)
    if multiple:
        strange = text.notna() & ~text.fillna("").str.split().map(lambda t: set(t) <= known)
    else:
        strange = text.notna() & ~text.isin(list(known))
    if not strange.any():
        return values
    by_label: dict[str, str] = {}
    for name, label in choices.items():
        key = str(label).strip().casefold()
        by_label[key] = name if key not in by_label else ""  # "" marks a label used twice
    if multiple and any(" " in key for key in by_label):
        return values  # "Seguir el viaje Salud" cannot be split back into labels

    def name_of(answer: str) -> object:
        if not multiple:
            return by_label.get(answer.casefold()) or pd.NA
        found = [by_label.get(t.casefold()) or (t if t in known else "") for t in answer.split()]
        return " ".join(found) if all(found) else pd.NA

    names = text[strange].map(name_of)
    if names.isna().any():
        return values  # not (only) labels: each unknown code is named by the caller
    example = str(text[strange].iloc[0])
    issues.add(
        file,
        sheet,
        "",
        question.name,
        example,
        _(
            "{count} answers are the choices' labels ('{label}'), not their names: read as the "
            "names of list {list} ('{name}'); export the data with XML values next time"
        ).format(
            count=int(strange.sum()), label=example, list=question.list_name, name=names.iloc[0]
        ),
    )
    return values.mask(strange.to_numpy(dtype=bool), names.reindex(values.index))


def _clean_table(
    frame: pd.DataFrame,
    form: Form,
    table: str | None,
    file: str,
    sheet: str,
    issues: _Issues,
    missing: Sequence[str] = (),
) -> pd.DataFrame:
    frame = _normalise_columns(frame, form).replace({"": np.nan})
    frame = _without_codes(frame, form.in_table(table), missing)
    excel_row = pd.Series(np.arange(len(frame)) + 2, index=frame.index)
    questions = form.in_table(table)
    frame = _one_hot_only(frame, questions, form, file, sheet, excel_row, issues)
    out = frame.copy()
    present = [q for q in questions if q.name in frame.columns]
    for q in questions:
        if (
            q.name not in frame.columns
            and not any(str(c).startswith(q.name + "/") for c in frame.columns)
            and q.base_type not in ("calculate", "geopoint")
        ):
            issues.add(file, sheet, "", q.name, "", _("question of the form is not in the data"))
    for q in present:
        values = frame[q.name]
        filled = values.notna()
        if q.base_type == "select_one" and q.list_name in form.choices:
            allowed = set(form.choices[q.list_name])
            values = _names_for_labels(values, form.choices[q.list_name], q, file, sheet, issues)
            out[q.name] = values
            bad = filled & ~values.astype(str).isin(allowed)
            problem = _("code not in the form's choice list {list}").format(list=q.list_name)
            issues.where(file, sheet, excel_row, q.name, values, bad, problem)
        elif q.base_type == "select_multiple" and q.list_name in form.choices:
            allowed = set(form.choices[q.list_name])
            values = _names_for_labels(
                values, form.choices[q.list_name], q, file, sheet, issues, multiple=True
            )
            out[q.name] = values
            tokens = values.fillna("").astype(str).str.split()
            for option in form.choices[q.list_name]:
                column = f"{q.name}/{option}"
                one_hot = tokens.map(lambda t, o=option: o in t).where(filled)
                if column in frame.columns:
                    given = pd.to_numeric(frame[column], errors="coerce")
                    clash = filled & given.notna() & (given.astype(bool) != one_hot.astype(bool))
                    for idx in frame.index[clash]:
                        issues.add(
                            file,
                            sheet,
                            int(excel_row[idx]),
                            column,
                            frame[column][idx],
                            _("one-hot column disagrees with the answer '{answer}'").format(
                                answer=values[idx]
                            ),
                        )
                out[column] = one_hot
            for idx in frame.index[filled]:
                unknown = [t for t in tokens[idx] if t not in allowed]
                if unknown:
                    issues.add(
                        file,
                        sheet,
                        int(excel_row[idx]),
                        q.name,
                        " ".join(unknown),
                        _("code not in the form's choice list {list}").format(list=q.list_name),
                    )
        elif q.base_type in ("integer", "decimal"):
            numbers = pd.to_numeric(values, errors="coerce")
            bad = filled & numbers.isna()
            issues.where(file, sheet, excel_row, q.name, values, bad, _("not a number"))
            if q.constraint:
                broken = []
                for idx in frame.index[numbers.notna()]:
                    ok = _constraint_check(q.constraint, float(numbers[idx]))
                    if ok is False:
                        broken.append(idx)
                        issues.add(
                            file,
                            sheet,
                            int(excel_row[idx]),
                            q.name,
                            values[idx],
                            _(
                                "violates the constraint {constraint}: read as no answer "
                                "(KoBo refuses such answers, so it is a code or an edit)"
                            ).format(constraint=q.constraint),
                        )
                # a value the form itself forbids never enters an estimate
                numbers = numbers.mask(numbers.index.isin(broken))
            _warn_sentinels(
                numbers, q.name, file, sheet, issues, excel_row, bounded="<" in (q.constraint or "")
            )
            out[q.name] = numbers
        elif q.base_type == "date":
            dates = read_dates(values)
            problem = _("is not a date (write YYYY-MM-DD or DD/MM/YYYY, day first)")
            issues.where(file, sheet, excel_row, q.name, values, filled & dates.isna(), problem)
            # one way of writing them from here on (29/02/2020 and 2020-02-29 alike)
            out[q.name] = dates.dt.strftime("%Y-%m-%d").where(dates.notna(), values)
        elif q.base_type == "geopoint":
            parts = values.fillna("").astype(str).str.split(expand=True)
            lat = pd.to_numeric(parts[0], errors="coerce") if 0 in parts else np.nan
            lon = pd.to_numeric(parts[1], errors="coerce") if 1 in parts else np.nan
            out[f"{q.name}_lat"], out[f"{q.name}_lon"] = lat, lon
        if q.required:
            for idx in frame.index[~filled]:
                issues.add(
                    file, sheet, int(excel_row[idx]), q.name, "", _("required answer is missing")
                )
    for q in questions:  # KoBo's own split geopoint columns
        lat_col, lon_col = f"_{q.name}_latitude", f"_{q.name}_longitude"
        if q.base_type == "geopoint" and lat_col in frame.columns and f"{q.name}_lat" not in out:
            out[f"{q.name}_lat"] = pd.to_numeric(frame[lat_col], errors="coerce")
            out[f"{q.name}_lon"] = pd.to_numeric(frame[lon_col], errors="coerce")
    out["_source_row"] = excel_row
    return out


def read_kobo(
    form_path: str | Path,
    data_path: str | Path,
    *,
    language: str = "es",
    missing: Sequence[str] = (),
) -> SurveyImport:
    """Read a KoBo/ODK export with its XLSForm into cleaned tables and an issue list.

    ``missing`` are the codes the questionnaire uses for "no answer" (e.g. 999, -999):
    read as empty answers before any check, so that they never enter an estimate.
    """
    form = read_form(form_path, language)
    data_path = Path(data_path)
    sheets = _read_export(data_path)
    names = list(sheets)
    main_sheet = names[0]
    file = data_path.name
    main_raw = sheets[main_sheet]
    main_questions = {q.name for q in form.in_table(None)}
    main_columns = {_short(c) for c in main_raw.columns} | set(main_raw.columns)
    if not main_questions & main_columns:
        raise SurveyError(
            _(
                "The data {file} do not match the form {form}: none of the form's questions "
                "({questions}) is a column of sheet '{sheet}'. Export the data of this form."
            ).format(
                file=file,
                form=form.form_id,
                questions=", ".join(sorted(main_questions)[:8]),
                sheet=main_sheet,
            )
        )
    issues = _Issues()
    tables = {"main": _clean_table(main_raw, form, None, file, main_sheet, issues, missing)}
    known = set(form.questions) | META_COLUMNS
    for column in main_raw.columns:
        short = _short(column)
        if short not in known and str(column) not in known and not str(column).startswith("_"):
            base = str(column).split("/")[-2] if "/" in str(column) else ""
            if base not in form.questions:
                issues.add(
                    file, main_sheet, "", str(column), "", _("column is not a question of the form")
                )
    for repeat in form.repeats:
        sheet = _match_sheet(repeat, names[1:])
        if sheet is None:
            issues.add(
                file,
                "",
                "",
                repeat,
                "",
                _("the form's repeat group has no sheet or CSV in the data"),
            )
            continue
        tables[repeat] = _link_repeat(
            sheets[sheet], tables["main"], form, repeat, file, sheet, issues, missing
        )
    if issues.codes:
        raise _codes_error(issues.codes)
    return SurveyImport(form=form, tables=tables, issues=issues.frame())


def _codes_error(codes: list[_Code]) -> SurveyError:
    """One line naming the first code found and the flags that import every one of them."""
    first = codes[0]
    flags = " ".join(f"--missing {c}" for c in sorted({c.code for c in codes}, key=float))
    return SurveyError(
        _(
            "{file}, sheet '{sheet}', row {row}, column '{column}': value {code} is in {count} "
            "answers, while the other answers run from {low} to {high}: it is a 'no answer' "
            "code, not a value, and would enter every estimate. Import again with {flags} (if "
            "they are real answers, give the question an upper bound in the form, e.g. . <= 120)."
        ).format(
            file=first.file,
            sheet=first.sheet,
            row=first.row,
            column=first.question,
            code=first.code,
            count=first.count,
            low=format(first.low, "g"),
            high=format(first.high, "g"),
            flags=flags,
        )
    )


def _match_sheet(repeat: str, names: list[str]) -> str | None:
    for name in names:
        if name == repeat or name.endswith(repeat) or name[:31] == repeat[:31]:
            return name
    return None


def _link_repeat(
    raw: pd.DataFrame,
    main: pd.DataFrame,
    form: Form,
    repeat: str,
    file: str,
    sheet: str,
    issues: _Issues,
    missing: Sequence[str] = (),
) -> pd.DataFrame:
    if "_parent_index" in raw.columns and "_index" in main.columns:
        child, parent = "_parent_index", "_index"
    elif "PARENT_KEY" in raw.columns and "KEY" in main.columns:
        child, parent = "PARENT_KEY", "KEY"
    else:
        raise SurveyError(
            _(
                "Sheet '{sheet}' of {file} (repeat '{repeat}') cannot be linked to its parent: "
                "it needs _parent_index (KoBo, with _index in the main sheet) or PARENT_KEY "
                "(ODK, with KEY in the main sheet)."
            ).format(sheet=sheet, file=file, repeat=repeat)
        )
    table = _clean_table(raw, form, repeat, file, sheet, issues, missing)
    parents = set(main[parent].astype(str))
    orphan = ~table[child].astype(str).isin(parents)
    for idx in table.index[orphan]:
        issues.add(
            file,
            sheet,
            int(table.at[idx, "_source_row"]),
            child,
            table.at[idx, child],
            _("repeat row has no parent row in the main sheet"),
            "error",
        )
    table["_parent"] = table[child].astype(str)
    table["_orphan"] = orphan
    main_key = main[parent].astype(str)
    if "_parent" not in main:
        main["_parent"] = main_key
    return table


def locate(
    result: SurveyImport,
    units: pd.DataFrame | None = None,
    *,
    geopoint: str | None = None,
    unit_column: str | None = None,
    known_codes: set[str] | None = None,
    tolerance_m: float = 25.0,
) -> SurveyImport:
    """Give every main row a ``unit_code``: point in polygon (with tolerance) or a code column.

    ``units`` is a GeoDataFrame with ``codigo`` and polygons. Points farther than
    ``tolerance_m`` from every unit are reported as outside the city; rows without a
    location are reported too. Rows are kept (with an empty unit) in both cases.
    """
    import geopandas as gpd

    main = result.main
    file = "data"
    extra = _Issues()
    if unit_column:
        if unit_column not in main.columns:
            raise SurveyError(
                _("No unit-code column '{column}' in the survey data.").format(column=unit_column)
            )
        codes = main[unit_column].astype("string").str.strip()
        main["unit_code"] = codes
        if known_codes is not None:
            unknown = codes.notna() & ~codes.isin(known_codes)
            for idx in main.index[unknown]:
                extra.add(
                    file,
                    "main",
                    int(main.at[idx, "_source_row"]),
                    unit_column,
                    codes[idx],
                    _("unit code is not a unit of the city"),
                )
            main.loc[unknown, "unit_code"] = pd.NA
    else:
        if units is None or geopoint is None:
            raise SurveyError(_("Give either a unit-code column or boundaries and a geopoint."))
        lat, lon = main.get(f"{geopoint}_lat"), main.get(f"{geopoint}_lon")
        if lat is None or lon is None:
            raise SurveyError(_("No geopoint '{name}' in the survey data.").format(name=geopoint))
        points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        crs = units.crs if units.crs and units.crs.is_projected else units.estimate_utm_crs()
        zones = units.to_crs(crs)[["codigo", "geometry"]]
        located = gpd.GeoDataFrame({"_row": np.arange(len(main))}, geometry=points.to_crs(crs))
        has_point = lat.notna().to_numpy() & lon.notna().to_numpy()
        joined = gpd.sjoin_nearest(
            located[has_point],
            zones,
            how="left",
            max_distance=tolerance_m,
            distance_col="_distance",
        )
        joined = joined.sort_values("_distance").drop_duplicates("_row")
        codes = pd.Series(pd.NA, index=range(len(main)), dtype="string")
        codes[joined["_row"].to_numpy()] = joined["codigo"].astype("string").to_numpy()
        main["unit_code"] = codes.to_numpy()
        outside = has_point & main["unit_code"].isna().to_numpy()
        for idx in main.index[outside]:
            extra.add(
                file,
                "main",
                int(main.at[idx, "_source_row"]),
                geopoint,
                f"{lat[idx]} {lon[idx]}",
                _("point is outside the city's units"),
            )
        main.loc[outside, "_outside_city"] = True
    outside_city = main.get("_outside_city", pd.Series(False, index=main.index))
    missing = main["unit_code"].isna() & ~outside_city.fillna(False).astype(bool)
    for idx in main.index[missing]:
        extra.add(
            file,
            "main",
            int(main.at[idx, "_source_row"]),
            unit_column or geopoint or "",
            "",
            _("row has no location"),
        )
    issues = pd.concat([result.issues, extra.frame()], ignore_index=True)
    return SurveyImport(form=result.form, tables=result.tables, issues=issues)
