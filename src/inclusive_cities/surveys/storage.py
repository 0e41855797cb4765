"""Where imported surveys live: Parquet files beside the database, never in public tables.

Microdata go to ``<data_dir>/surveys/<city>/<period>/<survey>/`` (one Parquet file per
table, the design and the issue list); the database records only an ``ImportBatch``
(kind ``survey``) with the files' fingerprint. Re-importing the same files is a no-op.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import Engine, select

from inclusive_cities.config import get_settings
from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models, transaction
from inclusive_cities.surveys.design import Design
from inclusive_cities.surveys.errors import SurveyError
from inclusive_cities.surveys.kobo import SurveyImport

KIND = "survey"


@dataclass(frozen=True)
class StoredSurvey:
    batch_id: int
    directory: Path
    created: bool
    rows: int
    issues: int


def fingerprint(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                digest.update(file.name.encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def survey_dir(city: str, period: str, survey: str, data_dir: str | Path | None = None) -> Path:
    root = Path(data_dir or get_settings().data_dir)
    return root / "surveys" / city / period / survey


def store_survey(
    engine: Engine,
    result: SurveyImport,
    design: Design,
    *,
    city: str,
    period: str,
    sources: list[Path],
    survey: str | None = None,
    data_dir: str | Path | None = None,
    imported_by: str = "",
) -> StoredSurvey:
    """Write the cleaned tables as Parquet and register the import, all or nothing.

    Files are written to a staging folder and renamed into place at the end of the
    database transaction; if the commit then fails, the folder is removed again.
    """
    survey = survey or result.form.form_id
    sha = fingerprint(*sources)
    target = survey_dir(city, period, survey, data_dir)
    moved: list[Path] = []
    try:
        return _store(
            engine, result, design, city, period, sources, survey, sha, target, imported_by, moved
        )
    except Exception:
        for path in moved:  # the database did not commit: take the files back out
            shutil.rmtree(path, ignore_errors=True)
        raise


def _store(
    engine: Engine,
    result: SurveyImport,
    design: Design,
    city: str,
    period: str,
    sources: list[Path],
    survey: str,
    sha: str,
    target: Path,
    imported_by: str,
    moved: list[Path],
) -> StoredSurvey:
    with transaction(engine) as session:
        city_row = session.scalar(select(models.City).where(models.City.code == city))
        if city_row is None:
            raise SurveyError(
                _(
                    "There is no city '{city}' in the observatory: import its boundaries "
                    "first (or check --city)."
                ).format(city=city)
            )
        existing = session.scalar(
            select(models.ImportBatch).where(
                models.ImportBatch.kind == KIND,
                models.ImportBatch.sha256 == sha,
                models.ImportBatch.city_id == city_row.id,
                models.ImportBatch.status == "active",
            )
        )
        if existing is not None and (target / "main.parquet").exists():
            return StoredSurvey(
                existing.id, target, False, existing.rows_accepted, existing.rows_rejected
            )
        period_row = session.scalar(select(models.Period).where(models.Period.code == period))
        if period_row is None:
            period_row = models.Period(code=period, label=period)
            session.add(period_row)
            session.flush()
        previous = session.scalars(
            select(models.ImportBatch).where(
                models.ImportBatch.kind == KIND,
                models.ImportBatch.city_id == city_row.id,
                models.ImportBatch.period_id == period_row.id,
                models.ImportBatch.status == "active",
            )
        ).all()
        previous = [b for b in previous if (b.details or {}).get("survey") == survey]
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=_ensure(target.parent)))
        try:
            for name, table in result.tables.items():
                _parquet_safe(table).to_parquet(staging / f"{name}.parquet", index=False)
            result.issues.to_csv(staging / "issues.csv", index=False)
            (staging / "design.yaml").write_text(
                yaml.safe_dump(design.model_dump(exclude_none=True), allow_unicode=True),
                encoding="utf-8",
            )
            rejected = int((result.issues["severity"] == "error").sum())
            batch = models.ImportBatch(
                kind=KIND,
                file_name=", ".join(p.name for p in sources),
                sha256=sha,
                city_id=city_row.id,
                period_id=period_row.id,
                rows_read=sum(len(t) for t in result.tables.values()),
                rows_accepted=sum(len(t) for t in result.tables.values()) - rejected,
                rows_rejected=rejected,
                imported_by=imported_by,
                replaces_id=previous[-1].id if previous else None,
                details={
                    "survey": survey,
                    "form_id": result.form.form_id,
                    "tables": sorted(result.tables),
                    "issues": len(result.issues),
                    "directory": str(target),
                },
            )
            session.add(batch)
            for old in previous:
                old.status = "replaced"
            session.flush()
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
            moved.append(target)
        except Exception:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return StoredSurvey(batch.id, target, True, batch.rows_accepted, len(result.issues))


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _parquet_safe(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].astype("string")
    return out


def load_survey(
    city: str, period: str, survey: str, data_dir: str | Path | None = None
) -> tuple[dict[str, pd.DataFrame], Design]:
    """The stored tables and design of an imported survey (analyst role only)."""
    directory = survey_dir(city, period, survey, data_dir)
    if not (directory / "main.parquet").exists():
        raise SurveyError(
            _(
                "No survey '{survey}' imported for city {city}, period {period} (looked in "
                "{path}). Run 'inclusive-cities survey import' first."
            ).format(survey=survey, city=city, period=period, path=directory)
        )
    tables = {p.stem: pd.read_parquet(p) for p in sorted(directory.glob("*.parquet"))}
    design = Design(**yaml.safe_load((directory / "design.yaml").read_text(encoding="utf-8")))
    return tables, design
