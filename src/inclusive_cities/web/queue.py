"""Background jobs on PostgreSQL through Procrastinate: web workers defer, job workers run.

Web processes only write the job (``jobs`` + ``job_payloads``) and a Procrastinate job naming
it; ``inclusive-cities worker`` runs it with :func:`inclusive_cities.web.jobs.execute`. A worker
killed mid-job (``kill -9``, out of memory) stops sending heartbeats: its import transaction
dies with its connection, so the store is unchanged, and any other worker (or the restarted
one) finds the stalled job, then runs it again or, after ``max_attempts`` tries, marks it
failed with the reason. The ``jobs`` table stays the one the web pages read, whichever runner
ran the job; on SQLite the web process runs jobs itself (see :mod:`inclusive_cities.web.jobs`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from inclusive_cities.errors import InclusiveCitiesError
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n import use_language
from inclusive_cities.store import transaction
from inclusive_cities.store.models import utcnow
from inclusive_cities.store.scale_models import JobPayload
from inclusive_cities.store.web_models import Job

if TYPE_CHECKING:
    import procrastinate

QUEUE = "observatory"
TASK_NAME = "inclusive_cities.run_job"
RUNNER_SETTING = "INCLUSIVE_CITIES_JOB_RUNNER"
"""``queue`` (set by ``serve`` on PostgreSQL): jobs go to the job workers; anything else, or
unset: the web process runs them in a thread (SQLite, tests, one-process PostgreSQL)."""
MAX_ATTEMPTS = 2
"""Runs of a job whose worker died: the second death marks it failed (a file that kills a
worker by memory would kill every worker otherwise)."""

log = logging.getLogger(__name__)
_WEB_APP: dict[str, procrastinate.App] = {}
_WEB_LOCK = threading.Lock()


class QueueError(InclusiveCitiesError):
    """The job queue cannot be used (wrong database, PostgreSQL unreachable)."""


def conninfo(database_url: str) -> str:
    """The libpq URL of a SQLAlchemy PostgreSQL URL (``postgresql+psycopg://`` → ``postgresql://``)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise QueueError(
            _(
                "The job queue needs PostgreSQL, not {engine}: on SQLite 'serve' runs the "
                "jobs itself, no 'worker' is needed."
            ).format(engine=url.get_backend_name())
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def uses_queue(engine: Engine) -> bool:
    """Whether jobs started in this process go to the job workers."""
    return engine.dialect.name == "postgresql" and os.environ.get(RUNNER_SETTING) == "queue"


def _register(app: procrastinate.App, database_url: str) -> None:
    engines: list[Engine] = []

    def run_job(job_id: int) -> None:
        from inclusive_cities import store
        from inclusive_cities.web import jobs

        if not engines:
            engines.append(store.connect(database_url))
        jobs.execute(engines[0], job_id)

    app.task(name=TASK_NAME, queue=QUEUE)(run_job)


def no_live_worker(session: Session, within: float = 60.0) -> bool:
    """Whether this site queues jobs and no job worker has sent a heartbeat for ``within``
    seconds (serve installs the queue's tables before it queues anything)."""
    if not uses_queue(session.get_bind()):  # type: ignore[arg-type]
        return False
    alive = session.execute(
        text(
            "SELECT count(*) FROM procrastinate_workers "
            "WHERE last_heartbeat > now() - make_interval(secs => :within)"
        ),
        {"within": within},
    ).scalar()
    return not alive


def install_schema(database_url: str) -> None:
    """Create Procrastinate's tables and functions once (idempotent: skipped when present)."""
    import psycopg
    from procrastinate.schema import SchemaManager

    with psycopg.connect(conninfo(database_url), autocommit=True) as connection:
        present = connection.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if present and present[0] is not None:
            return
        # two processes starting at once: one installs, the other waits for it
        connection.execute("SELECT pg_advisory_lock(20020013)")
        try:
            present = connection.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if present and present[0] is None:
                connection.execute(SchemaManager.get_schema())
        finally:
            connection.execute("SELECT pg_advisory_unlock(20020013)")


def defer(engine: Engine, job_id: int) -> None:
    """Put job ``job_id`` in the queue, for a job worker to run."""
    from procrastinate import App, SyncPsycopgConnector

    url = engine.url.render_as_string(hide_password=False)
    with _WEB_LOCK:
        app = _WEB_APP.get(url)
        if app is None:
            app = App(
                connector=SyncPsycopgConnector(conninfo=conninfo(url), min_size=1, max_size=2)
            )
            _register(app, url)
            app.open()
            _WEB_APP[url] = app
    queue_job_id = app.tasks[TASK_NAME].defer(job_id=job_id)
    with transaction(engine) as session:
        payload = session.get(JobPayload, job_id)
        if payload is not None:
            payload.queue_job_id = queue_job_id


def _mark(engine: Engine, job_id: int, **values: Any) -> None:
    with transaction(engine) as session:
        job = session.get(Job, job_id)
        if job is not None:
            for name, value in values.items():
                setattr(job, name, value)


async def recover_stalled(
    app: procrastinate.App, engine: Engine, stalled_after: float, max_attempts: int
) -> list[tuple[int, str]]:
    """Requeue or fail the jobs of workers that stopped sending heartbeats; returns
    (job id, "retried" | "failed") for each one handled."""
    from procrastinate.jobs import Status

    handled: list[tuple[int, str]] = []
    stalled = await app.job_manager.get_stalled_jobs(
        queue=QUEUE, task_name=TASK_NAME, seconds_since_heartbeat=stalled_after
    )
    for queued in stalled:
        job_id = int(str(queued.task_kwargs["job_id"]))
        with transaction(engine) as session:
            row = session.execute(
                select(JobPayload.attempts, JobPayload.language).where(JobPayload.job_id == job_id)
            ).first()
        attempts = int(row[0]) if row else 0
        use_language(row[1] if row else "es")  # the reason in the language of who started it
        if attempts < max_attempts:
            await app.job_manager.retry_job(queued)
            _mark(
                engine,
                job_id,
                status="queued",
                step=_(
                    "The job worker stopped during this job (killed or out of memory); nothing "
                    "of it was kept. Running it again (attempt {next} of {max})."
                ).format(next=attempts + 1, max=max_attempts),
            )
            handled.append((job_id, "retried"))
        else:
            await app.job_manager.finish_job(queued, status=Status.FAILED, delete_job=False)
            _mark(
                engine,
                job_id,
                status="failed",
                step=_(
                    "The server stopped while doing this (attempts: {attempts}; killed or out of "
                    "memory) and kept nothing of it. Try again later; if it happens again, ask "
                    "the observatory's technical team to give the job workers more memory or to "
                    "run it from the command line."
                ).format(attempts=attempts),
                finished_at=utcnow(),
            )
            with transaction(engine) as session:
                payload = session.get(JobPayload, job_id)
                if payload is not None:
                    payload.content = None
            handled.append((job_id, "failed"))
        log.warning("job %s of a stalled worker: %s", job_id, handled[-1][1])
    # dead workers leave the list, so the job page can tell when none is alive
    await app.job_manager.prune_stalled_workers(seconds_since_heartbeat=stalled_after)
    return handled


def run_worker(
    database_url: str,
    concurrency: int = 1,
    heartbeat: float = 10.0,
    stalled_after: float = 30.0,
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """Run jobs until SIGINT/SIGTERM; every ``heartbeat`` seconds also recover the jobs of
    workers silent for ``stalled_after`` seconds."""
    from procrastinate import App, PsycopgConnector

    from inclusive_cities import store

    # every connection of this worker says which it is (pg_stat_activity.application_name),
    # so an administrator sees which process holds a long import
    os.environ["PGAPPNAME"] = f"inclusive-cities worker {socket.gethostname()} {os.getpid()}"
    install_schema(database_url)
    engine = store.connect(database_url)
    app = App(
        connector=PsycopgConnector(
            conninfo=conninfo(database_url), min_size=1, max_size=concurrency + 3
        )
    )
    _register(app, database_url)

    async def main() -> None:
        async with app.open_async():
            worker = asyncio.create_task(
                app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=concurrency,
                    name=f"{socket.gethostname()}-{os.getpid()}",
                    update_heartbeat_interval=heartbeat,
                    stalled_worker_timeout=stalled_after,
                    fetch_job_polling_interval=min(heartbeat, 5.0),
                )
            )
            while not worker.done():
                try:
                    await recover_stalled(app, engine, stalled_after, max_attempts)
                except Exception:  # the database restarting must not stop the worker
                    log.exception("recovering stalled jobs failed; trying again")
                await asyncio.wait({worker}, timeout=heartbeat)
            await worker

    asyncio.run(main())
