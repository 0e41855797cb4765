"""Where imported surveys live: Parquet files beside the database, never in public tables.

Each import writes its own folder, ``<data_dir>/surveys/<city>/<period>/<survey>/v<pid>.<token>/``
(one Parquet file per table, the design and the issue list), renamed into place inside the
database transaction that registers its ``ImportBatch`` (kind ``survey``); the batch names
that folder. A process killed before the commit leaves a folder no batch names: it is never
read and the next import removes it. ``current`` beside the folders is a symbolic link to
the committed one, moved after the commit, for readers without a database connection.
Re-importing the same files for the same city, period and survey is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import Engine, select

from inclusive_cities.config import get_settings
from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest.identifiers import IdentifierError, validate_identifier
from inclusive_cities.store import models, transaction
from inclusive_cities.surveys.design import Design, check_design_columns
from inclusive_cities.surveys.errors import SurveyError
from inclusive_cities.surveys.kobo import SurveyImport

KIND = "survey"
CURRENT = "current"
LEGACY_FILES = ("*.parquet", "issues.csv", "design.yaml")
_IN_FLIGHT: set[str] = set()
"""Version folders this process renamed into place whose transaction has not ended."""
_IN_FLIGHT_LOCK = threading.Lock()


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
    """The folder holding every stored version of one survey (identifiers checked, so that
    no value can point outside the data folder)."""
    city = validate_identifier("city", city)
    period = validate_identifier("period", period)
    survey = validate_identifier("survey", survey)
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
    before_commit: Callable[[], Any] | None = None,
) -> StoredSurvey:
    """Write the cleaned tables as Parquet and register the import, all or nothing.

    Files are written to a staging folder and renamed, under a name of their own that the
    batch records, before the commit; if the commit then fails, the folder is removed
    again. ``before_commit`` runs just before the commit (tests interrupt imports there).
    """
    if survey is None:
        try:
            survey = validate_identifier("survey", result.form.form_id)
        except IdentifierError as error:
            raise SurveyError(
                _(
                    "The form id '{form_id}' cannot name the survey's folder: give a name with "
                    "--survey (letters, digits, '_', '.', '-')."
                ).format(form_id=result.form.form_id)
            ) from error
    target = survey_dir(city, period, survey, data_dir)
    check_design_columns(result.tables, design, ", ".join(p.name for p in sources[1:] or sources))
    sha = fingerprint(*sources)
    moved: list[Path] = []
    try:
        stored = _store(
            engine,
            result,
            design,
            city,
            period,
            sources,
            survey,
            sha,
            target,
            imported_by,
            moved,
            before_commit,
        )
    except BaseException:
        for path in moved:  # the database did not commit: take the files back out
            shutil.rmtree(path, ignore_errors=True)
        raise
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.difference_update(str(path) for path in moved)
    settle(engine, city, period, survey, data_dir)
    return stored


def _active_batches(session: Any, city_id: int) -> list[models.ImportBatch]:
    return list(
        session.scalars(
            select(models.ImportBatch).where(
                models.ImportBatch.kind == KIND,
                models.ImportBatch.city_id == city_id,
                models.ImportBatch.status == "active",
            )
        )
    )


def _committed(
    session: Any, city: str, period: str, survey: str
) -> tuple[models.ImportBatch | None, list[models.ImportBatch]]:
    """The active batch of this survey (or None) and every active survey batch of the city."""
    row = session.execute(
        select(models.City.id).where(models.City.code == city)
    ).scalar_one_or_none()
    if row is None:
        return None, []
    batches = _active_batches(session, row)
    period_id = session.execute(
        select(models.Period.id).where(models.Period.code == period)
    ).scalar_one_or_none()
    mine = [
        b for b in batches if b.period_id == period_id and (b.details or {}).get("survey") == survey
    ]
    return (mine[-1] if mine else None), batches


def imported_periods(engine: Engine, city: str, survey: str) -> list[str]:
    """The periods (rounds) of one survey imported for a city, as committed batches say:
    a survey repeated in rounds, such as the high-frequency survey, is one import a round."""
    with transaction(engine) as session:
        row = session.execute(
            select(models.City.id).where(models.City.code == city)
        ).scalar_one_or_none()
        if row is None:
            return []
        ids = {
            b.period_id
            for b in _active_batches(session, row)
            if (b.details or {}).get("survey") == survey
        }
        codes = session.scalars(select(models.Period.code).where(models.Period.id.in_(ids)))
        return sorted(str(code) for code in codes)


def settle(
    engine: Engine, city: str, period: str, survey: str, data_dir: str | Path | None = None
) -> None:
    """Point ``current`` at the committed version and remove versions no batch names.

    Those come from imports killed between the rename and the commit, or from batches
    since replaced; a version whose writer still runs is left alone.
    """
    folder = survey_dir(city, period, survey, data_dir)
    if not folder.is_dir():
        return
    with transaction(engine) as session:
        active, batches = _committed(session, city, period, survey)
        kept = {str((b.details or {}).get("directory", "")) for b in batches}
        committed = _directory(active) if active is not None else None
    if committed is not None and committed.parent == folder and committed.is_dir():
        link = folder / f".{CURRENT}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        link.symlink_to(committed.name)
        os.replace(link, folder / CURRENT)
    elif committed is None:
        with suppress(FileNotFoundError):
            (folder / CURRENT).unlink()
    for entry in folder.iterdir():
        pid = _writer_pid(entry.name)
        if str(entry) in kept or pid is None or entry.is_symlink() or not entry.is_dir():
            continue
        with _IN_FLIGHT_LOCK:
            if str(entry) in _IN_FLIGHT:
                continue
        if pid != os.getpid() and _alive(pid):
            continue
        shutil.rmtree(entry, ignore_errors=True)
    if str(folder) not in kept:  # files of the single-folder layout of earlier releases
        for pattern in LEGACY_FILES:
            for stale in folder.glob(pattern):
                with suppress(OSError):
                    stale.unlink()


def _directory(batch: models.ImportBatch) -> Path:
    """The folder a survey batch names."""
    return Path(str((batch.details or {}).get("directory", "")))


def _writer_pid(name: str) -> int | None:
    """The pid in a version (``v<pid>.<token>``) or staging (``.staging-<pid>-…``) folder."""
    if name.startswith("v"):
        text = name[1:].partition(".")[0]
    elif name.startswith(".staging-"):
        text = name.removeprefix(".staging-").partition("-")[0]
    else:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    before_commit: Callable[[], Any] | None,
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
        existing = previous[-1] if previous and previous[-1].sha256 == sha else None
        if existing is not None and (_directory(existing) / "main.parquet").exists():
            return StoredSurvey(
                existing.id,
                _directory(existing),
                False,
                existing.rows_accepted,
                existing.rows_rejected,
            )
        _ensure(target)
        version = target / f"v{os.getpid()}.{uuid.uuid4().hex[:16]}"
        staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=target))
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
                    "directory": str(version),
                },
            )
            session.add(batch)
            for old in previous:
                old.status = "replaced"
            session.flush()
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT.add(str(version))
            moved.append(version)
            staging.rename(version)
            if before_commit is not None:
                before_commit()
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return StoredSurvey(batch.id, version, True, batch.rows_accepted, len(result.issues))


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
    city: str,
    period: str,
    survey: str,
    data_dir: str | Path | None = None,
    engine: Engine | None = None,
) -> tuple[dict[str, pd.DataFrame], Design]:
    """The stored tables and design of an imported survey (analyst role only).

    With ``engine`` the folder is the one the committed import batch names; without, the
    one ``current`` links to (or the single folder of earlier releases).
    """
    folder = survey_dir(city, period, survey, data_dir)
    directory = folder / CURRENT if (folder / CURRENT).exists() else folder
    if engine is not None:
        with transaction(engine) as session:
            active, _batches = _committed(session, city, period, survey)
            if active is not None:
                directory = _directory(active)
    if not (directory / "main.parquet").exists():
        raise SurveyError(
            _(
                "No survey '{survey}' imported for city {city}, period {period} (looked in "
                "{path}). Run 'inclusive-cities survey import' first."
            ).format(survey=survey, city=city, period=period, path=folder)
        )
    tables = {p.stem: pd.read_parquet(p) for p in sorted(directory.glob("*.parquet"))}
    design = Design(**yaml.safe_load((directory / "design.yaml").read_text(encoding="utf-8")))
    return tables, design
