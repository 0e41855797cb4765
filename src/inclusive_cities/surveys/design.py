"""Survey designs: which columns carry weights, strata, PSUs, FPCs and replicate weights.

A design is declared once (at import or in a YAML file) and checked against the data
before any estimate, so that a bad weight or a stratum with one PSU is reported with the
file's row numbers instead of silently producing wrong standard errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from inclusive_cities.i18n import gettext as _
from inclusive_cities.surveys.errors import SurveyError

LonelyPSU = Literal["fail", "remove", "certainty", "adjust"]
ReplicateMethod = Literal["brr", "jackknife", "bootstrap"]


class CalibrationStep(BaseModel):
    """One post-stratification pass: its cell columns and the weights it produced."""

    columns: list[str]
    weights_column: str


class Calibration(BaseModel):
    """How the weights were calibrated, so that variances use the calibration residuals."""

    kind: Literal["poststratify", "rake"]
    steps: list[CalibrationStep]
    base_weights_column: str


class Design(BaseModel):
    """A complex sample design, in the vocabulary of R's ``svydesign``/``svrepdesign``."""

    # a misspelt key ("weigth") must not silently give unweighted estimates
    model_config = ConfigDict(extra="forbid")

    weight: str | None = None
    strata: str | None = None
    psu: str | None = None
    fpc: str | None = Field(
        default=None,
        description="Column with the number of PSUs in the stratum (>1) or the sampling "
        "fraction (<=1).",
    )
    ssu: str | None = None
    """Second-stage unit (e.g. household within a block); used only together with fpc."""
    fpc2: str | None = None
    """Second-stage FPC: SSUs in the PSU (>1) or the second-stage sampling fraction (<=1)."""
    replicate_weights: list[str] = Field(default_factory=list)
    replicate_method: ReplicateMethod | None = None
    fay_rho: float = 0.0
    replicate_mse: bool = False
    replicate_scale: float | None = None
    """Overall multiplier of the squared deviations, overriding the method's default
    (R's ``scale``; e.g. (n-1)/n·(1-n/N) for R's ``as.svrepdesign`` JK1 with an FPC)."""
    lonely_psu: LonelyPSU = "fail"
    min_n: int = Field(default=10, ge=1)
    """Smallest unweighted cell published (at least 1: below it nothing is suppressed)."""
    calibration: Calibration | None = None
    unit_column: str | None = None
    """At import: the column holding each respondent's spatial-unit code, if any."""
    geopoint: str | None = None
    """At import: the geopoint question used to place respondents in spatial units."""
    census_columns: dict[str, str] = Field(default_factory=dict)
    """Person questions matching the census for calibration: keys age, sex, nationality."""

    @model_validator(mode="after")
    def _replicates_need_a_method(self) -> Design:
        if self.replicate_weights and self.replicate_method is None:
            raise ValueError(
                _("replicate_weights need replicate_method (brr, jackknife or bootstrap)")
            )
        if not 0 <= self.fay_rho < 1:
            raise ValueError(
                _("fay_rho is {value}: it must be 0 or more and less than 1").format(
                    value=self.fay_rho
                )
            )
        return self

    @property
    def uses_replicates(self) -> bool:
        return bool(self.replicate_weights)

    def columns(self) -> list[str]:
        named = [
            self.weight,
            self.strata,
            self.psu,
            self.fpc,
            self.ssu,
            self.fpc2,
            *self.replicate_weights,
        ]
        return [c for c in named if c]


def load_design(path: str | Path) -> Design:
    """Read a design from YAML (keys as in :class:`Design`)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise SurveyError(
            _("Cannot read the survey design {path}: {reason}.").format(
                path=path, reason=error.strerror or type(error).__name__
            )
        ) from error
    except (UnicodeDecodeError, ValueError) as error:
        raise SurveyError(
            _(
                "The survey design {path} is not a text YAML file (byte {offset} is not UTF-8): "
                "give the design as YAML saved in UTF-8."
            ).format(path=path, offset=getattr(error, "start", "?"))
        ) from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise SurveyError(
            _(
                "The survey design {path} is not valid YAML at line {line}, column {column} "
                "({reason}): fix the indentation or quoting there."
            ).format(
                path=path,
                line=mark.line + 1 if mark else "?",
                column=mark.column + 1 if mark else "?",
                reason=" ".join(str(getattr(error, "problem", None) or error).split()),
            )
        ) from error
    if not isinstance(raw, dict):
        raise SurveyError(
            _(
                "The survey design {path} must be a mapping of keys such as weight, strata, psu."
            ).format(path=path)
        )
    try:
        return Design(**{str(key): value for key, value in raw.items()})
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        if not field:
            raise SurveyError(
                _("The survey design {path}: {reason}; fix it.").format(
                    path=path, reason=_validation_reason(first)
                )
            ) from error
        raise SurveyError(
            _("The survey design {path}, line {line}, key '{field}': {reason}; fix it.").format(
                path=path,
                line=_key_line(path, str(first["loc"][0]) if first["loc"] else ""),
                field=field,
                reason=_validation_reason(first),
            )
        ) from error


def _key_line(path: Path, key: str) -> str:
    """Line of a top-level key in the YAML file, so the user goes straight to it."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return "?"
    for name, _value in getattr(node, "value", []) or []:
        if getattr(name, "value", None) == key:
            return str(name.start_mark.line + 1)
    return "?"


def _validation_reason(error: Mapping[str, Any]) -> str:
    """pydantic's reason in the user's language, with the value that was given."""
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    value = error.get("input")
    limits = {
        "greater_than_equal": ("ge", _("{value} is below the minimum {limit}")),
        "greater_than": ("gt", _("{value} must be more than {limit}")),
        "less_than_equal": ("le", _("{value} is above the maximum {limit}")),
        "less_than": ("lt", _("{value} must be less than {limit}")),
    }
    if kind in limits:
        key, text = limits[kind]
        return text.format(value=value, limit=context.get(key, "?"))
    if kind.startswith("int_"):
        return _("'{value}' is not a whole number").format(value=value)
    if kind.startswith("float_"):
        return _("'{value}' is not a number").format(value=value)
    if kind.startswith("bool_"):
        return _("'{value}' is not true or false").format(value=value)
    if kind == "literal_error":
        return _("'{value}' is not one of {expected}").format(
            value=value, expected=context.get("expected", "?")
        )
    if kind == "string_type":
        return _("'{value}' is not a column name").format(value=value)
    if kind == "list_type":
        return _("'{value}' is not a list (write [a, b])").format(value=value)
    if kind == "value_error":
        return " ".join(str(context.get("error", value)).split())
    if kind == "extra_forbidden":
        return _("not a design key (the keys are {keys})").format(
            keys=", ".join(Design.model_fields)
        )
    return _("'{value}' is not valid here ({reason})").format(
        value=value, reason=" ".join(str(error.get("msg", "")).split())
    )


def check_design_columns(tables: dict[str, pd.DataFrame], design: Design, source: str) -> None:
    """Refuse a design naming columns (weight, strata, PSU...) that no table of the survey
    has: caught at import rather than at the first estimate."""
    present = {str(column) for table in tables.values() for column in table.columns}
    missing = [column for column in design.columns() if column not in present]
    if missing:
        main = next(iter(tables.values()), pd.DataFrame())
        raise SurveyError(
            _(
                "The design names columns that {source} does not have: {columns}. "
                "Available columns: {available}."
            ).format(
                source=source,
                columns=", ".join(missing),
                available=", ".join(map(str, list(main.columns)[:30])),
            )
        )


def _rows(mask: np.ndarray, index: pd.Index, limit: int = 5) -> str:
    labels = [str(i) for i in index[mask][:limit]]
    more = int(mask.sum()) - len(labels)
    return ", ".join(labels) + (f" (+{more})" if more > 0 else "")


def check_design(data: pd.DataFrame, design: Design, source: str = "data") -> None:
    """Refuse data that the design cannot be applied to, naming rows and columns."""
    missing = [c for c in design.columns() if c not in data.columns]
    if missing:
        raise SurveyError(
            _(
                "The design names columns that {source} does not have: {columns}. "
                "Available columns: {available}."
            ).format(
                source=source,
                columns=", ".join(missing),
                available=", ".join(map(str, list(data.columns)[:30])),
            )
        )
    for column in [design.weight, *design.replicate_weights]:
        if column is None:
            continue
        values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
        bad_missing = ~np.isfinite(values)
        if bad_missing.any():
            text = data[column].astype("string").str.strip()
            comma = text[bad_missing].str.fullmatch(r"-?\d+,\d+").fillna(False)
            hint = (
                _(
                    " They are written with a decimal comma ('{value}'): store the column as "
                    "numbers in Excel, or write them with a dot."
                ).format(value=text[bad_missing][comma].iloc[0])
                if comma.any()
                else ""
            )
            raise SurveyError(
                _(
                    "Weight column '{column}' in {source} is missing or not a number in rows "
                    "{rows}: give every respondent a positive weight."
                ).format(column=column, source=source, rows=_rows(bad_missing, data.index))
                + hint
            )
        if column == design.weight and (values <= 0).any():
            raise SurveyError(
                _(
                    "Weight column '{column}' in {source} has zero or negative weights in rows "
                    "{rows}: weights must be positive (drop those rows from the design or fix "
                    "the weights)."
                ).format(column=column, source=source, rows=_rows(values <= 0, data.index))
            )
    for column in [design.strata, design.psu]:
        if column and data[column].isna().any():
            raise SurveyError(
                _("Design column '{column}' in {source} is empty in rows {rows}.").format(
                    column=column,
                    source=source,
                    rows=_rows(data[column].isna().to_numpy(), data.index),
                )
            )


DESIGN_ROLES = ("weight", "strata", "psu", "fpc", "ssu", "fpc2")


def parse_cell(text: str, decimal: str, excel: bool = False) -> float | None:
    """A number as the file wrote it. A workbook's numeric cells are numbers whatever the
    user's --decimal says (4.5 stays 4.5); only text cells follow ``decimal``."""
    from inclusive_cities.ingest.tabular import parse_number

    if excel:
        value = parse_number(text, ".")
        if value is not None or decimal == ".":
            return value
    return parse_number(text, decimal)


def read_responses(
    path: str | Path,
    design: Design,
    *,
    numeric: Sequence[str] = (),
    needed: Sequence[str] = (),
    design_source: str = "the design",
    sheet: str | None = None,
    encoding: str | None = None,
    decimal: str = ".",
    missing: Sequence[str] = (),
) -> pd.DataFrame:
    """A plain table of responses (CSV/XLSX, one respondent a row) ready for the design.

    Cells stay text (codes keep their leading zeros) except the design's weights and FPCs
    and the ``numeric`` variables, parsed with ``decimal``. Empty cells and the ``missing``
    codes are missing answers. Every problem names the file, the row as a spreadsheet shows
    it, the column and the value, because the person who must fix it has the file, not
    this program. ``needed`` are further columns that must exist (domains, calibration).
    """
    from inclusive_cities.ingest.tabular import read_text_table

    table = read_text_table(path, encoding=encoding, sheet=sheet)
    file = table.file
    excel = table.encoding == "xlsx"
    for number, count in table.short_rows[:1]:
        raise SurveyError(
            _(
                "{file}, row {row}: {count} fields where the header has {width}; the file may "
                "be truncated or use another delimiter."
            ).format(file=table.file, row=number, count=count, width=len(table.header))
        )
    header = table.header
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise SurveyError(
            _(
                "{file}: column '{column}' appears twice in the header; give each column its "
                "own name."
            ).format(file=file, column=repeated[0])
        )
    known = ", ".join(header[:30])
    for role in DESIGN_ROLES:
        column = getattr(design, role)
        if column and column not in header:
            raise SurveyError(
                _(
                    "{design} names the {role} column '{column}', which {file} does not have "
                    "(columns: {known}): fix the name in the design or add the column."
                ).format(design=design_source, role=role, column=column, file=file, known=known)
            )
    for column in [*design.replicate_weights, *numeric, *needed]:
        if column not in header:
            raise SurveyError(
                _(
                    "{file} has no column '{column}' (columns: {known}): name it as the file's "
                    "header writes it."
                ).format(file=file, column=column, known=known)
            )
    rows = table.row_numbers
    codes = {str(m).strip() for m in missing}
    frame = pd.DataFrame(table.rows, columns=header, dtype="string")
    frame = frame.mask(frame.isin(list(codes)) | (frame == ""))
    weights = [c for c in (design.weight, *design.replicate_weights) if c]
    wanted = [*weights, *(c for c in (design.fpc, design.fpc2) if c), *numeric]
    for column in dict.fromkeys(wanted):
        values = []
        for position, text in enumerate(frame[column].tolist()):
            where = {"file": file, "row": rows[position], "column": column}
            if pd.isna(text):
                if column in weights:
                    raise SurveyError(
                        _(
                            "{file}, row {row}, column '{column}': the weight is empty; give "
                            "every respondent a positive weight, or leave the row out."
                        ).format(**where)
                    )
                values.append(np.nan)
                continue
            value = parse_cell(str(text), decimal, excel)
            if value is None:
                raise SurveyError(
                    _(
                        "{file}, row {row}, column '{column}': '{value}' is not a number{hint}."
                    ).format(
                        **where,
                        value=text,
                        hint=_(" (for a decimal comma add --decimal ,)")
                        if decimal == "." and "," in str(text)
                        else "",
                    )
                )
            if codes and any(parse_cell(c, decimal) == value for c in codes):
                values.append(np.nan)
                continue
            if column == design.weight and value <= 0:
                raise SurveyError(
                    _(
                        "{file}, row {row}, column '{column}': weight {value} is not positive; "
                        "give every respondent a weight above 0 (if it marks a missing value, "
                        "leave the row out)."
                    ).format(**where, value=text)
                )
            values.append(value)
        frame[column] = np.array(values, dtype=float)
    for role in ("strata", "psu"):
        column = getattr(design, role)
        if column and frame[column].isna().any():
            position = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
            raise SurveyError(
                _(
                    "{file}, row {row}, column '{column}': the {role} is empty; every "
                    "respondent needs one."
                ).format(file=file, row=rows[position], column=column, role=role)
            )
    frame.attrs["file"] = file
    frame.attrs["rows"] = list(rows)
    return frame
