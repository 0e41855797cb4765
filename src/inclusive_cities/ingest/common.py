"""What every importer shares: problems, reports, batches, hashing, reject files.

An import is one transaction. Rows that fail validation become :class:`Problem` objects;
by default any problem rejects the whole file (:class:`ImportRejected`), with
``accept_valid`` the good rows go in and the bad ones are written to a reject CSV.
"""

from __future__ import annotations

import csv
import hashlib
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, CursorResult, insert, select, update
from sqlalchemy.orm import Session

from inclusive_cities.errors import InclusiveCitiesError
from inclusive_cities.i18n import current_language, format_number
from inclusive_cities.i18n import gettext as _
from inclusive_cities.progress import ProgressCallback as ProgressCallback  # re-exported
from inclusive_cities.progress import quiet_progress as quiet_progress
from inclusive_cities.store import models
from inclusive_cities.store.tables import BATCHES, CITIES, LEVELS, PERIODS

MAX_LISTED_PROBLEMS = 5


class IngestError(InclusiveCitiesError):
    """An input file cannot be imported as it is; the message says where and what to do."""


class ImportRejected(IngestError):
    """Some rows failed validation and the file was rejected whole (nothing was written)."""

    def __init__(self, message: str, report: ImportReport) -> None:
        super().__init__(message)
        self.report = report


class UnitsRefused(ImportRejected):
    """Columns whose values are on the wrong scale for their unit (kilometres in a metres
    column, 0-1 shares in a % column): no row is wrong by itself, so the file is refused whole
    until it is converted or the user says the values are right (trial #4 F17)."""

    def __init__(self, report: ImportReport, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        self.report = report
        report.problems = self.problems
        super().__init__(self.refusal(), report)

    def refusal(self, way_out: str | None = None) -> str:
        """The one-line refusal; ``way_out``: how the reader's tool says the values are right
        (the command line's --accept-units by default; the upload page names its checkbox)."""
        listed = "; ".join(str(p).rstrip(".") for p in self.problems[:MAX_LISTED_PROBLEMS])
        if way_out is None:
            way_out = _("If the values are right as they are, run again with --accept-units.")
        return (
            _("{file}: nothing was imported. {problems}.").format(
                file=self.report.file, problems=listed
            )
            + " "
            + way_out
        )


def shown(value: object, limit: int = 60) -> str:
    """A value as it appears in a message: short, on one line."""
    text = "" if value is None else str(value)
    text = text.replace("\r", " ").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Problem:
    """One rejected row (or feature) or one repair: where it is, what is wrong, what to do."""

    file: str
    row: int | None
    column: str
    value: object
    reason: str
    unit: str = "row"
    """How positions are named: "row" (line in a table, header = 1), "feature" or "record"."""

    def where(self) -> str:
        if self.row is None:
            return _("whole file")
        if self.unit == "feature":
            return _("feature {n}").format(n=self.row)
        if self.unit == "record":
            return _("record {n}").format(n=self.row)
        return _("row {n}").format(n=self.row)

    def __str__(self) -> str:
        return _("{file}, {where}, column '{column}', value '{value}': {reason}").format(
            file=self.file,
            where=self.where(),
            column=self.column,
            value=shown(self.value),
            reason=self.reason,
        )


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    kind: str
    file: str
    sha256: str = ""
    status: str = "imported"
    """imported | unchanged (same file already imported) | dry_run."""
    batch_id: int | None = None
    replaced_batch_ids: list[int] = field(default_factory=list)
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    units_matched: int = 0
    units_unmatched: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    repairs: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    """Things accepted as they are but worth a look (e.g. units that overlap)."""
    reject_path: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        """The end-of-import summary, translated."""
        lines = [
            _("{file}: {status}").format(file=self.file, status=status_label(self.status)),
            _("rows read {read}, accepted {accepted}, rejected {rejected}").format(
                read=number(self.rows_read),
                accepted=number(self.rows_accepted),
                rejected=number(self.rows_rejected),
            ),
        ]
        if self.units_matched or self.units_unmatched:
            lines.append(
                _("units matched {matched}, unmatched {unmatched}").format(
                    matched=number(self.units_matched), unmatched=number(self.units_unmatched)
                )
            )
        if self.details.get("missing_cells"):
            lines.append(
                _("{count} cells held a missing-value code and were left empty").format(
                    count=number(int(self.details["missing_cells"]))
                )
            )
        if self.repairs:
            lines.append(_("{count} repairs (see below)").format(count=len(self.repairs)))
        if self.warnings:
            lines.append(_("{count} warnings (see below)").format(count=len(self.warnings)))
        if self.reject_path:
            lines.append(_("rejected rows written to {path}").format(path=self.reject_path))
        if self.replaced_batch_ids:
            lines.append(
                _("replaces import batch {ids}").format(
                    ids=", ".join(str(i) for i in self.replaced_batch_ids)
                )
            )
        lines.append(_("time taken {seconds} s").format(seconds=format_number(self.seconds, 1)))
        return lines


def number(value: int) -> str:
    """A count written the way the reader's language writes it (6,571 / 6.571)."""
    from babel.numbers import format_decimal

    return str(format_decimal(value, locale=current_language()))


def status_label(status: str) -> str:
    labels = {
        "imported": _("imported"),
        "unchanged": _("already imported (same sha256): nothing to do"),
        "dry_run": _("validated (dry run): nothing was written"),
    }
    return labels.get(status, status)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def require_file(path: Path | str) -> Path:
    path = Path(path)
    if not path.exists():
        raise IngestError(_("File {path} does not exist: check the path.").format(path=path))
    if path.is_dir() and path.suffix.lower() != ".gdb" and not any(path.glob("*.shp")):
        # a FileGDB or a folder of shapefiles is a vector dataset; any other folder is a slip
        raise IngestError(
            _("{path} is a folder, not a file: give the path of the file inside it.").format(
                path=path
            )
        )
    if path.is_file() and path.stat().st_size == 0:
        raise IngestError(
            _("File {path} is empty (0 bytes): export it again from its source.").format(path=path)
        )
    return path


def rejection_message(report: ImportReport, way_out: str | None = None) -> str:
    """The one-line refusal of a file with rejected rows. ``way_out``: what to do next, as the
    reader's tool says it (the command line's --accept-valid by default; the upload page
    names its checkbox)."""
    first = "; ".join(str(p).rstrip(".") for p in report.problems[:MAX_LISTED_PROBLEMS])
    more = len(report.problems) - MAX_LISTED_PROBLEMS
    extra = _(" (and {count} more)").format(count=more) if more > 0 else ""
    head = _("{file}: {rejected} of {read} rows rejected, nothing was imported. {first}{extra}.")
    if way_out is None:
        way_out = _(
            "Fix the file, or run again with --accept-valid to import the valid rows and write "
            "the rejected ones to a reject file."
        )
    return (
        head.format(
            file=report.file,
            rejected=number(report.rows_rejected),
            read=number(report.rows_read),
            first=first,
            extra=extra,
        )
        + " "
        + way_out
    )


def enforce(report: ImportReport, accept_valid: bool) -> None:
    """Reject the whole file when any row failed and the user did not accept partial imports."""
    if report.problems and not accept_valid:
        raise ImportRejected(rejection_message(report), report)
    if accept_valid and report.problems and report.rows_accepted == 0:
        raise ImportRejected(rejection_message(report), report)


def default_reject_path(source: Path) -> Path:
    return source.with_name(source.stem + ".rejected.csv")


def write_rejects(
    path: Path, problems: Sequence[Problem], rows: Mapping[int, Mapping[str, object]] | None = None
) -> None:
    """A CSV of the rejected rows: one line per bad input row (or feature) with all its
    problems (columns, values and reasons joined by " | "), then the row's own fields."""
    rows = rows or {}
    grouped: dict[tuple[str, int | None], list[Problem]] = {}
    for problem in problems:
        where = (problem.where(), problem.row) if problem.row is not None else (str(problem), None)
        grouped.setdefault(where, []).append(problem)
    fields: list[str] = []
    for problem in problems:
        for name in rows.get(problem.row or -1, {}):
            if name not in fields:
                fields.append(name)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["_position", "_column", "_value", "_reason", *fields])
        for group in grouped.values():
            first = group[0]
            row = rows.get(first.row or -1, {})
            several = len({p.column for p in group}) > 1
            reasons = [
                _("column '{column}': {reason}").format(column=p.column, reason=p.reason)
                if several
                else p.reason
                for p in group
            ]
            writer.writerow(
                [
                    first.where(),
                    " | ".join(dict.fromkeys(p.column for p in group)),
                    " | ".join(shown(p.value, 500) for p in group),
                    " | ".join(dict.fromkeys(reasons)),
                ]
                + ["" if row.get(key) is None else row.get(key) for key in fields]
            )
    os.replace(tmp, path)


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.start


# --- import batches ---------------------------------------------------------------------


def same_file_batch(
    session: Session, kind: str, city_id: int | None, sha: str, scope: list[str] | None = None
) -> models.ImportBatch | None:
    """The active batch that already holds this very file, if any (re-import = no-op).

    With ``scope``, the batch must also have covered the same scope (e.g. the same levels of
    one GeoPackage): the same file read differently is a different import.
    """
    query = select(models.ImportBatch).where(
        models.ImportBatch.kind == kind,
        models.ImportBatch.sha256 == sha,
        models.ImportBatch.status == "active",
    )
    if city_id is not None:
        query = query.where(models.ImportBatch.city_id == city_id)
    for batch in session.scalars(query.order_by(models.ImportBatch.id.desc())):
        if scope is None or sorted(set(scope)) == (batch.details or {}).get("scope"):
            return batch
    return None


def overlapping_batches(
    session: Session, kind: str, city_id: int | None, scope: Iterable[str]
) -> list[models.ImportBatch]:
    """Active batches of the same kind and city whose scope shares an entry with ``scope``.

    A batch's scope (``details["scope"]``) says what it covers ("persons@2024",
    "level:barrio", "crime_rate@2023"...): a corrected file for the same scope replaces it.
    """
    wanted = set(scope)
    found = []
    query = select(models.ImportBatch).where(
        models.ImportBatch.kind == kind, models.ImportBatch.status == "active"
    )
    if city_id is not None:
        query = query.where(models.ImportBatch.city_id == city_id)
    for batch in session.scalars(query.order_by(models.ImportBatch.id)):
        if wanted & set((batch.details or {}).get("scope", [])):
            found.append(batch)
    return found


def _batch_values(
    report: ImportReport,
    city_id: int | None,
    period_id: int | None,
    scope: Iterable[str],
    replaced: Sequence[Any],
    details: dict[str, Any] | None,
) -> dict[str, Any]:
    """The new batch row's columns, the same through the ORM and through Core."""
    return {
        "kind": report.kind,
        "file_name": report.file,
        "sha256": report.sha256,
        "city_id": city_id,
        "period_id": period_id,
        "rows_read": report.rows_read,
        "rows_accepted": report.rows_accepted,
        "rows_rejected": report.rows_rejected,
        "imported_by": os.environ.get("USER", ""),
        "status": "active",
        "replaces_id": replaced[-1].id if replaced else None,
        "details": {"scope": sorted(set(scope)), **(details or {})},
    }


def open_batch(
    session: Session,
    report: ImportReport,
    *,
    city_id: int | None,
    period_id: int | None,
    scope: Iterable[str],
    replaced: Sequence[models.ImportBatch],
    details: dict[str, Any] | None = None,
) -> models.ImportBatch:
    """Create the batch for this import and retire the batches it replaces."""
    batch = models.ImportBatch(
        **_batch_values(report, city_id, period_id, scope, replaced, details)
    )
    session.add(batch)
    for old in replaced:
        old.status = "replaced"
    session.flush()
    report.batch_id = batch.id
    report.replaced_batch_ids = [old.id for old in replaced]
    return batch


def find_city(session: Session, code: str, file: str) -> models.City:
    city = session.scalars(select(models.City).where(models.City.code == code)).first()
    if city is None:
        raise IngestError(
            _(
                "{file}: city {city} is not in the observatory: import its boundaries first "
                "('inclusive-cities import boundaries ... --city {city}')."
            ).format(file=file, city=code)
        )
    return city


def get_or_create_period(session: Session, code: str) -> models.Period:
    period = session.scalars(select(models.Period).where(models.Period.code == code)).first()
    if period is None:
        period = models.Period(code=code, label=code)
        session.add(period)
        session.flush()
    return period


def smallest_level(session: Session, city: models.City, file: str) -> models.UnitLevel:
    level = session.scalars(
        select(models.UnitLevel)
        .where(models.UnitLevel.city_id == city.id)
        .order_by(models.UnitLevel.depth.desc())
    ).first()
    if level is None:
        raise IngestError(
            _("{file}: city {city} has no spatial units yet: import its boundaries first.").format(
                file=file, city=city.code
            )
        )
    return level


# --- the same, in SQLAlchemy Core ---------------------------------------------------------
# For importers whose only store work is a few lookups and one batch row (the census): the
# process's first ORM query configures every mapped class (≈0.03 s CPU, a tenth of the
# medium demo's whole persons import), which plain table statements never do.


@dataclass(frozen=True)
class BatchRow:
    """An import batch as the Core helpers read it: its id and details."""

    id: int
    details: dict[str, Any] | None


def city_id_of(connection: Connection, code: str, file: str) -> int:
    """:func:`find_city`'s id, with the same error."""
    found = connection.execute(select(CITIES.c.id).where(CITIES.c.code == code)).first()
    if found is None:
        raise IngestError(
            _(
                "{file}: city {city} is not in the observatory: import its boundaries first "
                "('inclusive-cities import boundaries ... --city {city}')."
            ).format(file=file, city=code)
        )
    return int(found[0])


def active_batch_rows(
    connection: Connection, kind: str, city_id: int | None, scope: Iterable[str]
) -> list[BatchRow]:
    """:func:`overlapping_batches` as :class:`BatchRow` (oldest first)."""
    wanted = set(scope)
    query = select(BATCHES.c.id, BATCHES.c.details).where(
        BATCHES.c.kind == kind, BATCHES.c.status == "active"
    )
    if city_id is not None:
        query = query.where(BATCHES.c.city_id == city_id)
    return [
        BatchRow(int(batch_id), details)
        for batch_id, details in connection.execute(query.order_by(BATCHES.c.id))
        if wanted & set((details or {}).get("scope", []))
    ]


def same_file_batch_row(
    connection: Connection,
    kind: str,
    city_id: int | None,
    sha: str,
    scope: list[str] | None = None,
) -> BatchRow | None:
    """:func:`same_file_batch` as a :class:`BatchRow`."""
    query = select(BATCHES.c.id, BATCHES.c.details).where(
        BATCHES.c.kind == kind, BATCHES.c.sha256 == sha, BATCHES.c.status == "active"
    )
    if city_id is not None:
        query = query.where(BATCHES.c.city_id == city_id)
    for batch_id, details in connection.execute(query.order_by(BATCHES.c.id.desc())):
        if scope is None or sorted(set(scope)) == (details or {}).get("scope"):
            return BatchRow(int(batch_id), details)
    return None


def period_id_of(connection: Connection, code: str) -> int:
    """:func:`get_or_create_period`'s id."""
    found = connection.execute(select(PERIODS.c.id).where(PERIODS.c.code == code)).first()
    if found is not None:
        return int(found[0])
    inserted = connection.execute(insert(PERIODS).values(code=code, label=code))
    return _new_id(inserted)


def smallest_level_id(connection: Connection, city_id: int, city: str, file: str) -> int:
    """:func:`smallest_level`'s id, with the same error."""
    found = connection.execute(
        select(LEVELS.c.id).where(LEVELS.c.city_id == city_id).order_by(LEVELS.c.depth.desc())
    ).first()
    if found is None:
        raise IngestError(
            _("{file}: city {city} has no spatial units yet: import its boundaries first.").format(
                file=file, city=city
            )
        )
    return int(found[0])


def register_batch(
    connection: Connection,
    report: ImportReport,
    *,
    city_id: int | None,
    period_id: int | None,
    scope: Iterable[str],
    replaced: Sequence[BatchRow],
    details: dict[str, Any] | None = None,
) -> int:
    """:func:`open_batch`: the batch row of this import, the batches it replaces retired."""
    inserted = connection.execute(
        insert(BATCHES).values(
            **_batch_values(report, city_id, period_id, scope, replaced, details)
        )
    )
    if replaced:
        connection.execute(
            update(BATCHES)
            .where(BATCHES.c.id.in_([old.id for old in replaced]))
            .values(status="replaced")
        )
    report.batch_id = _new_id(inserted)
    report.replaced_batch_ids = [old.id for old in replaced]
    return report.batch_id


def _new_id(inserted: CursorResult[Any]) -> int:
    """The id of the row an ``INSERT`` just wrote."""
    key = inserted.inserted_primary_key
    assert key is not None
    return int(key[0])
