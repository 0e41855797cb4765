"""Survey designs: which columns carry weights, strata, PSUs, FPCs and replicate weights.

A design is declared once (at import or in a YAML file) and checked against the data
before any estimate, so that a bad weight or a stratum with one PSU is reported with the
file's row numbers instead of silently producing wrong standard errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

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
    min_n: int = 10
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
            raise ValueError("replicate_weights need replicate_method (brr, jackknife, bootstrap)")
        if not 0 <= self.fay_rho < 1:
            raise ValueError("fay_rho must be in [0, 1)")
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
    except (OSError, yaml.YAMLError) as error:
        raise SurveyError(
            _("Cannot read the survey design {path}: {reason}.").format(path=path, reason=error)
        ) from error
    if not isinstance(raw, dict):
        raise SurveyError(
            _(
                "The survey design {path} must be a mapping of keys such as weight, strata, psu."
            ).format(path=path)
        )
    try:
        return Design(**raw)
    except ValidationError as error:
        first = error.errors()[0]
        raise SurveyError(
            _("The survey design {path} is invalid at '{field}': {reason}.").format(
                path=path, field=".".join(str(p) for p in first["loc"]), reason=first["msg"]
            )
        ) from error


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
            raise SurveyError(
                _(
                    "Weight column '{column}' in {source} is missing or not a number in rows "
                    "{rows}: give every respondent a positive weight."
                ).format(column=column, source=source, rows=_rows(bad_missing, data.index))
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
