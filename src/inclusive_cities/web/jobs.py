"""Uploads run as background jobs through the importers; progress lives in the ``jobs`` table.

A job's input (options, language, uploaded file) is written to ``job_payloads`` by
:func:`submit`; :func:`execute` runs it, in a thread of the web process (SQLite, or
PostgreSQL with one process) or in ``inclusive-cities worker`` through the Procrastinate
queue (:mod:`inclusive_cities.web.queue`, what ``serve`` uses on PostgreSQL). The runner
writes its progress to the database, so any worker can show it and a page reload never
loses it. The validation report is the importer's own
:class:`~inclusive_cities.ingest.ImportReport` (the CLI prints the same lines).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from inclusive_cities.errors import InclusiveCitiesError
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n import use_language
from inclusive_cities.progress import ProgressCallback
from inclusive_cities.store import transaction
from inclusive_cities.store.models import utcnow
from inclusive_cities.store.scale_models import JobPayload
from inclusive_cities.store.web_models import Job

if TYPE_CHECKING:
    from inclusive_cities.ingest import ImportRejected

UPLOAD_SUFFIXES = (".csv", ".xlsx", ".txt", ".tsv")
LIVE: dict[int, tuple[str, int, int | None]] = {}
"""Progress of the jobs running in this process. An import holds SQLite's single write lock
for its whole transaction, so there progress is kept here and written when the job ends;
on PostgreSQL it is also written to the row as it goes, for every worker to see."""
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_STEPS = 40
"""Steps kept in a job's report (an import of many files stays readable)."""


def _update(engine: Engine, job_id: int, **values: Any) -> None:
    with transaction(engine) as session:
        job = session.get(Job, job_id)
        if job is not None:
            for name, value in values.items():
                setattr(job, name, value)


def _progress(engine: Engine, job_id: int, steps: list[dict[str, Any]]) -> ProgressCallback:
    """The callback a job hands to the domain: its step, done and total are live in this
    process, and on the row for every worker unless the store is SQLite (whose single write
    lock an import holds); each new step is kept, with the seconds since the job started,
    for the job page to list."""
    started = time.monotonic()
    last = [0.0]
    shared = engine.dialect.name != "sqlite"

    def progress(step: str, done: int, total: int | None) -> None:
        LIVE[job_id] = (step, done, total)
        now = time.monotonic()
        if len(steps) < MAX_STEPS and (not steps or steps[-1]["step"] != step):
            steps.append({"step": step, "seconds": round(now - started, 1)})
        if shared and (now - last[0] > 0.5 or (total is not None and done >= total)):
            last[0] = now
            _update(engine, job_id, step=step, done=done, total=total)

    return progress


def _failed(engine: Engine, job_id: int, error: Exception) -> None:
    """End a job with the user's one-line message, or the kind of an unexpected error."""
    step = (
        str(error)
        if isinstance(error, InclusiveCitiesError)
        else _("Unexpected error ({kind}).").format(kind=type(error).__name__)
    )
    _update(engine, job_id, status="failed", step=step, finished_at=utcnow())


def _report_dict(report: Any, rejected: bool = False) -> dict[str, Any]:
    """The report as the job page shows it. A rejected file's report still carries the
    importer's default status "imported": its first line then says what happened."""
    summary = report.summary_lines()
    if rejected:
        summary[0] = _("{file}: rejected, nothing was imported").format(file=report.file)
    return {
        "summary": summary,
        "problems": [
            {"where": p.where(), "column": p.column, "value": str(p.value)[:80], "reason": p.reason}
            for p in list(report.problems)[:50]
        ],
        "warnings": [
            {"where": p.where(), "column": p.column, "value": str(p.value)[:80], "reason": p.reason}
            for p in list(report.warnings)[:50]
        ],
        "rows_accepted": report.rows_accepted,
        "rows_rejected": report.rows_rejected,
        "batch_id": report.batch_id,
    }


def _for_the_web(error: ImportRejected) -> str:
    """The importer's one-line refusal as the upload page says it: its checkbox, not the
    command line's --accept-valid (trial #4 F21) or --accept-units (F17)."""
    from inclusive_cities.ingest.common import UnitsRefused, rejection_message

    if isinstance(error, UnitsRefused):
        return error.refusal(
            _(
                "If the values are right as they are, upload the file again with 'Import the "
                "values as they are even if their scale looks wrong for their unit' ticked."
            )
        )
    message = str(error)
    if message != rejection_message(error.report):
        return message  # a refusal of another kind: nothing of the command line in it
    way_out = _(
        "Fix the file, or upload it again with 'Import the valid rows even if some are "
        "rejected' ticked."
    )
    return rejection_message(error.report, way_out)


def run_table_import(
    engine: Engine, job_id: int, path: Path, options: dict[str, Any], language: str
) -> None:
    """Import an indicator table; store progress, the report, or the one-line error."""
    from inclusive_cities.ingest import ImportRejected, import_table

    use_language(language)
    _update(engine, job_id, status="running", step=_("Starting"), done=0, total=None)
    steps: list[dict[str, Any]] = []
    progress = _progress(engine, job_id, steps)
    with transaction(engine) as session:
        job = session.get(Job, job_id)
        user = job.created_by if job is not None else ""
    try:
        report = import_table(engine, path, progress=progress, imported_by=user or "", **options)
    except ImportRejected as error:
        _update(
            engine,
            job_id,
            status="failed",
            step=_for_the_web(error),
            report={**_report_dict(error.report, rejected=True), "steps": steps},
            finished_at=utcnow(),
        )
    except Exception as error:  # a job must always end with a state the page can show
        _failed(engine, job_id, error)
    else:
        _update(
            engine,
            job_id,
            status="done",
            step=_("Finished"),
            report={**_report_dict(report), "steps": steps},
            finished_at=utcnow(),
        )
    finally:
        LIVE.pop(job_id, None)
        shutil.rmtree(path.parent, ignore_errors=True)


def live_state(job: Job) -> tuple[str, int, int | None]:
    """Step, done and total of a job, from this process when it is running here; a job
    waiting in the queue while no job worker is alive says so, and what to start."""
    from sqlalchemy.orm import object_session

    from inclusive_cities.web import queue

    if job.status in ("queued", "running") and job.id in LIVE:
        return LIVE[job.id]
    session = object_session(job)
    if job.status == "queued" and session is not None and queue.no_live_worker(session):
        return (
            _(
                "Queued, but no job worker is running: start 'inclusive-cities worker' with "
                "this database (docs/deployment.md)."
            ),
            job.done,
            job.total,
        )
    return job.step, job.done, job.total


def elapsed_seconds(job: Job) -> float:
    """Seconds since the job was queued, or until it finished."""
    end = job.finished_at or utcnow()
    return max(0.0, (end - job.created_at).total_seconds())


def start_table_import(
    engine: Engine,
    file_name: str,
    content: bytes,
    options: dict[str, Any],
    user: str,
    language: str,
) -> int:
    """Queue the import of an uploaded table (see :func:`submit`)."""
    return submit(
        engine, "table", Path(file_name).name or "upload.csv", options, user, language, content
    )


def submit(
    engine: Engine,
    kind: str,
    label: str,
    options: dict[str, Any],
    user: str,
    language: str,
    content: bytes | None = None,
) -> int:
    """Write job ``kind`` and its input to the database and hand it to a runner: the job
    workers' queue when this process uses it, else a thread here. Returns the job's id."""
    with transaction(engine) as session:
        job_id = create(session, kind, label, options, user, language, content)
    dispatch(engine, job_id, kind)
    return job_id


def create(
    session: Session,
    kind: str,
    label: str,
    options: dict[str, Any],
    user: str,
    language: str,
    content: bytes | None = None,
) -> int:
    """Write job ``kind`` and its input in ``session`` (a caller may add its own rows in the
    same transaction); :func:`dispatch` it once committed. Returns the job's id."""
    if kind not in RUNNERS:
        raise ValueError(f"unknown job kind {kind}")
    job = Job(kind=kind, file_name=label, created_by=user, step=_("Queued"))
    session.add(job)
    session.flush()
    session.add(
        JobPayload(
            job_id=job.id,
            options=options,
            language=language,
            file_name=label if content is not None else "",
            content=content,
        )
    )
    return int(job.id)


def dispatch(engine: Engine, job_id: int, kind: str) -> None:
    """Hand a committed job to the job workers' queue, or to a thread of this process."""
    from inclusive_cities.web import queue

    if queue.uses_queue(engine):
        queue.defer(engine, job_id)
    else:
        threading.Thread(
            target=execute, args=(engine, job_id), name=f"{kind}-job-{job_id}", daemon=True
        ).start()


RUNNERS = {
    "table": "inclusive_cities.web.jobs:run_table_import",
    "build": "inclusive_cities.web.jobs:run_build",
    "governance": "inclusive_cities.web.governance:run_governance_import",
    "report": "inclusive_cities.web.report_jobs:run_report",
}
"""What runs each kind of job: ``module:function`` taking (engine, job id, [file path,]
options, language); a kind whose payload has no file gets no path."""


def execute(engine: Engine, job_id: int) -> None:
    """Run job ``job_id`` from its payload, in whatever process calls it; a job that
    already ended (failed by the stalled-job recovery) is left alone."""
    import importlib

    with transaction(engine) as session:
        job = session.get(Job, job_id)
        payload = session.get(JobPayload, job_id)
        if job is None or payload is None or job.status in ("done", "failed"):
            return
        payload.attempts += 1
        kind, options, language = job.kind, dict(payload.options), payload.language
        file_name, content = payload.file_name, payload.content
    module, _sep, name = RUNNERS[kind].partition(":")
    runner = getattr(importlib.import_module(module), name)
    if content is None:
        runner(engine, job_id, options, language)
    else:
        folder = Path(tempfile.mkdtemp(prefix=f"ic-{kind}-job-"))
        path = folder / (Path(file_name).name or "upload")
        path.write_bytes(content)
        runner(engine, job_id, path, options, language)  # it removes the folder
    with transaction(engine) as session:
        job = session.get(Job, job_id)
        payload = session.get(JobPayload, job_id)
        if job is not None and payload is not None and job.status in ("done", "failed"):
            payload.content = None  # the file is not kept once the job has ended


def run_build(engine: Engine, job_id: int, options: dict[str, Any], language: str) -> None:
    """Recompute a city's indicators (optional) and a marker run, as ``indicators compute``
    and ``marker build`` do; the job's report lists what was done."""
    from inclusive_cities.indicators import compute_city
    from inclusive_cities.marker import load_spec
    from inclusive_cities.marker.build import build_run

    use_language(language)
    city, period = options["city"], options["period"]
    lines: list[str] = []
    steps: list[dict[str, Any]] = []
    progress = _progress(engine, job_id, steps)
    try:
        if options.get("indicators"):
            _update(engine, job_id, status="running", step=_("Computing indicators"), total=2)
            LIVE[job_id] = (_("Computing indicators"), 0, 2)
            computed = compute_city(engine, city, period, progress=progress)
            lines.append(
                _("Indicators computed: {computed}; not computed: {skipped}.").format(
                    computed=len(computed.written), skipped=len(computed.skipped)
                )
            )
        _update(engine, job_id, status="running", step=_("Computing the marker"), done=1, total=2)
        LIVE[job_id] = (_("Computing the marker"), 1, 2)
        summary = build_run(
            engine,
            city,
            period,
            load_spec(options["spec"]),
            level=options.get("level") or None,
            progress=progress,
        )
        score = "-" if summary.city_score is None else f"{summary.city_score:.1f}"
        lines.append(
            _(
                "Marker run {run} stored (not published yet): {units} units, city score {score}."
            ).format(run=summary.run_id, units=summary.units, score=score)
        )
    except Exception as error:  # a job must always end with a state the page can show
        _failed(engine, job_id, error)
    else:
        report = {
            "summary": lines,
            "problems": [],
            "rows_accepted": 0,
            "rows_rejected": 0,
            "steps": steps,
        }
        _update(
            engine,
            job_id,
            status="done",
            step=_("Finished"),
            done=2,
            report=report,
            finished_at=utcnow(),
        )
    finally:
        LIVE.pop(job_id, None)


def start_build(engine: Engine, options: dict[str, Any], user: str, language: str) -> int:
    """Queue a build of indicators and marker for a city and period (see :func:`submit`)."""
    label = _("Build of {spec} for {city} {period}").format(
        spec=options["spec"], city=options["city"], period=options["period"]
    )
    return submit(engine, "build", label, options, user, language)
