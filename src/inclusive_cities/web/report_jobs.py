"""PDF reports rendered by the job queue, not inside the request (issue #20).

WeasyPrint takes seconds per report; rendered in the request it blocks a web worker for
that long. A "Download PDF" link now asks :func:`report_response`: a report already made
for the same inputs, language, audience and store is served at once from ``report_files``;
otherwise one job renders it (two clicks join the same job) and the browser is sent to
``/reports/{job}``, a page that refreshes itself until the file is ready and then downloads
it. The job runs where every job runs (:mod:`inclusive_cities.web.jobs`): a thread of the
web process on SQLite, ``inclusive-cities worker`` on PostgreSQL; the bytes are kept in the
database, so any web worker serves a file any job worker made. Stored files are dropped once
the store changes (its fingerprint) or after :data:`KEEP_DAYS` days.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inclusive_cities.errors import InclusiveCitiesError
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n import use_language
from inclusive_cities.store import transaction
from inclusive_cities.store.models import Base, utcnow
from inclusive_cities.store.report_models import ReportFile
from inclusive_cities.store.scale_models import JobPayload
from inclusive_cities.store.web_models import Job
from inclusive_cities.web import auth, jobs
from inclusive_cities.web.errors import NotFound

router = APIRouter(include_in_schema=False)  # pages, not the public API
JobId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]

KEEP_DAYS = float(os.environ.get("INCLUSIVE_CITIES_REPORT_DAYS", "7"))
"""Days a made report is served again before it is made afresh (it also goes when the
store changes)."""
REFRESH_SECONDS = 2
NOT_IN_FINGERPRINT = {
    "jobs",
    "job_payloads",
    "report_files",
    "web_sessions",
    "api_tokens",
    "users",
    "user_cities",
}
"""Tables whose rows do not change what a report says (accounts; a report job adds to jobs)."""
QUIET_ACTIONS = ("login", "login_failed", "login_blocked", "logout", "create_token")
"""Audit entries that change no figure (every web edit of the store is audited)."""
_CONTEXTS: dict[str, Any] = {}
"""The web context of each database this process serves, for jobs run in its threads."""


class ReportJobError(InclusiveCitiesError):
    """A report job cannot make its file (its inputs are no longer valid or visible)."""


class NoLongerPublic(ReportJobError):
    """A public report whose figures the public site no longer shows (unpublished since)."""

    def __init__(self, what: str) -> None:
        super().__init__(
            _("{what} is no longer public: sign in and ask for the report again.").format(what=what)
        )


# -- what each kind of report is ---------------------------------------------------------


def _governance(engine: Engine, options: dict[str, Any], language: str, out: Path) -> None:
    from inclusive_cities.reports.governance_report import governance_report

    governance_report(engine, options["city"], out, language, options.get("assessment"))


def _programme(engine: Engine, options: dict[str, Any], language: str, out: Path) -> None:
    from inclusive_cities.reports.programme_report import programme_report

    programme_report(engine, out, language)


def _plan(engine: Engine, options: dict[str, Any], language: str, out: Path) -> None:
    from inclusive_cities.reports.plan_report import write_plan_report

    write_plan_report(engine, options["city"], options["plan"], out, language=language)


def _workshop(engine: Engine, options: dict[str, Any], language: str, out: Path) -> None:
    from inclusive_cities.reports.workshop_report import workshop_record

    workshop_record(engine, int(options["workshop"]), out, language)


KINDS: dict[str, Callable[[Engine, dict[str, Any], str, Path], None] | str] = {
    "governance": _governance,
    "programme": _programme,
    "plan": _plan,
    "workshop": _workshop,
    # the planner's reports share the page's code; named, so this module does not import it
    "selection": "inclusive_cities.web.planning:selection_pdf_job",
    "impact": "inclusive_cities.web.planning:impact_pdf_job",
}
"""Report kind -> what writes its PDF from the job's options (JSON, with ``public``) and
language: a function, or ``module:function`` for the web routers that import this module."""


def _writer(kind: str) -> Callable[[Engine, dict[str, Any], str, Path], None]:
    import importlib

    writer = KINDS[kind]
    if isinstance(writer, str):
        module, _sep, name = writer.partition(":")
        writer = getattr(importlib.import_module(module), name)
    return writer  # type: ignore[return-value]


def kind_labels() -> dict[str, str]:
    return {
        "governance": _("Governance assessment report"),
        "programme": _("Programme results report"),
        "plan": _("Territorial plan report"),
        "workshop": _("Workshop record"),
        "selection": _("Planner selection report"),
        "impact": _("Project impact report"),
    }


# -- the web context a job renders with --------------------------------------------------


def remember_context(request: Request) -> None:
    """Keep the web context of the app that asked for a report, so a job run by a thread of
    this process renders with the same specs and settings."""
    context = request.app.state.web
    _CONTEXTS[context.engine.url.render_as_string(hide_password=False)] = context


def _context(engine: Engine) -> Any:
    url = engine.url.render_as_string(hide_password=False)
    if url not in _CONTEXTS:
        from inclusive_cities.web.site import WebContext, WebSettings, make_templates
        from inclusive_cities.web.specview import marker_engine_specs

        _CONTEXTS[url] = WebContext(
            engine, marker_engine_specs, WebSettings(), make_templates(), False
        )
    return _CONTEXTS[url]


def offline_request(engine: Engine, path: str, query: dict[str, str], language: str) -> Request:
    """A GET of ``path`` with ``query`` by nobody signed in, for the page code a report
    shares with its page (the job has the inputs, not the browser's request)."""
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "server": ("localhost", 80),
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": urlencode(query).encode(),
        "headers": [],
        "state": {"language": language},
        "app": SimpleNamespace(state=SimpleNamespace(web=_context(engine))),
    }
    return Request(scope)


# -- asking for a report -----------------------------------------------------------------


def store_fingerprint(session: Session) -> str:
    """A digest that changes when the store does: the newest row of every table that feeds
    a report (imports, new records), every audited web edit, and what is published."""
    from inclusive_cities.store.web_models import AuditEntry
    from inclusive_cities.web import data

    _import_models()
    columns = []
    for table in Base.metadata.sorted_tables:
        if table.name in NOT_IN_FINGERPRINT or "id" not in table.c:
            continue
        column = table.c.id
        if table.name == AuditEntry.__tablename__:
            query = select(func.max(column)).where(AuditEntry.action.not_in(QUIET_ACTIONS))
        else:
            query = select(func.max(column))
        columns.append(query.scalar_subquery())
    newest = session.execute(select(*columns)).one() if columns else ()
    parts = [*newest, data.publication_fingerprint(session)]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@cache
def _import_models() -> None:
    """Every table of the store, whichever modules this process has imported so far: two web
    workers must compute the same fingerprint."""
    import importlib
    import pkgutil

    import inclusive_cities.store as store

    for module in pkgutil.iter_modules(store.__path__):
        if module.name.endswith("models"):
            importlib.import_module(f"inclusive_cities.store.{module.name}")


def report_key(
    kind: str, options: dict[str, Any], language: str, public: bool, fingerprint: str
) -> str:
    """What makes one report: two requests with the same key get the same file."""
    text = json.dumps([kind, options, language, public, fingerprint], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _drop_old(session: Session, fingerprint: str) -> None:
    """Forget the files of reports of an older store, and any older than :data:`KEEP_DAYS`
    days (their status pages then say there is no such report)."""
    too_old = utcnow() - timedelta(days=KEEP_DAYS)
    stale = (
        select(ReportFile.job_id)
        .join(Job, Job.id == ReportFile.job_id)
        .where(
            or_(ReportFile.fingerprint != fingerprint, ReportFile.created_at < too_old),
            Job.status.in_(("done", "failed")),  # a job being run keeps its row
        )
    )
    ids = list(session.scalars(stale))
    if ids:
        session.execute(delete(ReportFile).where(ReportFile.job_id.in_(ids)))
        # the job rows stay: SQLite would give a deleted newest id to the next job, and an
        # old status page would then show another report
        session.execute(delete(JobPayload).where(JobPayload.job_id.in_(ids)))


def request_report(
    engine: Engine,
    kind: str,
    options: dict[str, Any],
    language: str,
    *,
    public: bool,
    user: str = "",
    file_name: str,
    back_url: str = "",
) -> tuple[int, bool]:
    """The job of this report: the stored one when it is made or being made, else a new
    one. Returns (job id, whether its file is ready)."""
    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind}")
    for _attempt in range(3):  # two clicks at once: the second finds the first's job
        with transaction(engine) as session:
            fingerprint = store_fingerprint(session)
            key = report_key(kind, options, language, public, fingerprint)
            found = session.execute(
                select(ReportFile.job_id, Job.status)
                .join(Job, Job.id == ReportFile.job_id)
                .where(ReportFile.key == key)
            ).first()
            if found is not None and found.status != "failed":
                return int(found.job_id), found.status == "done"
            if found is not None:  # failed (a worker died in it): asking again retries
                session.get(ReportFile, found.job_id).key = None  # type: ignore[union-attr]
            _drop_old(session, fingerprint)
        try:
            with transaction(engine) as session:
                job_id = jobs.create(session, "report", file_name, {}, user, language)
                session.add(
                    ReportFile(
                        job_id=job_id,
                        key=key,
                        kind=kind,
                        options=options,
                        language=language,
                        public=public,
                        fingerprint=fingerprint,
                        file_name=file_name,
                        back_url=back_url,
                    )
                )
        except IntegrityError:
            continue
        jobs.dispatch(engine, job_id, "report")
        return job_id, False
    raise ReportJobError(_("The report could not be queued; try again."))


def report_response(
    request: Request,
    kind: str,
    options: dict[str, Any],
    *,
    public: bool,
    file_name: str,
    user: str = "",
) -> RedirectResponse:
    """What a report's old download URL answers: its file when already made, else the page
    that follows the job making it."""
    from inclusive_cities.web.site import language_of

    remember_context(request)
    language = language_of(request)
    back = request.headers.get("referer", "")
    job_id, ready = request_report(
        request.app.state.web.engine,
        kind,
        options,
        language,
        public=public,
        user=user,
        file_name=file_name,
        back_url=back if back.startswith(str(request.base_url)) else "",
    )
    target = f"/reports/{job_id}/file" if ready else f"/reports/{job_id}"
    return RedirectResponse(f"{target}?lang={language}", status_code=303)


# -- the job -----------------------------------------------------------------------------


def run_report(engine: Engine, job_id: int, options: dict[str, Any], language: str) -> None:
    """Render report job ``job_id`` and keep its bytes; a failure ends the job with the
    one-line reason and frees the report's key, so asking again makes it afresh."""
    from inclusive_cities.web.errors import WebError

    use_language(language)
    with transaction(engine) as session:
        row = session.get(ReportFile, job_id)
        if row is None:  # dropped as stale before it ran
            jobs._update(engine, job_id, status="failed", step=_("This report was withdrawn."))
            return
        kind, report_options = row.kind, dict(row.options) | {"public": row.public}
    steps = [_("Gathering the figures and rendering the PDF"), _("Storing the file")]
    jobs.LIVE[job_id] = (steps[0], 0, 2)
    jobs._update(engine, job_id, status="running", step=steps[0], done=0, total=2)
    try:
        with tempfile.TemporaryDirectory(prefix="ic-report-") as folder:
            out = Path(folder) / "report.pdf"
            _writer(kind)(engine, report_options, language, out)
            content = out.read_bytes()
        use_language(language)
        jobs.LIVE[job_id] = (steps[1], 1, 2)
        with transaction(engine) as session:
            stored = session.get(ReportFile, job_id)
            if stored is not None:
                stored.content = content
            job = session.get(Job, job_id)
            if job is not None:
                job.status, job.step, job.done = "done", _("Finished"), 2
                job.report = {"bytes": len(content)}
                job.finished_at = utcnow()
    except Exception as error:  # a job must always end with a state the page can show
        use_language(language)
        reason = error.detail if hasattr(error, "detail") and isinstance(error.detail, str) else ""
        if isinstance(error, InclusiveCitiesError | WebError):
            reason = str(error)
        jobs._failed(engine, job_id, ReportJobError(reason) if reason else error)
        with transaction(engine) as session:
            stored = session.get(ReportFile, job_id)
            if stored is not None:
                stored.key = None
    finally:
        jobs.LIVE.pop(job_id, None)


# -- the pages that follow a report job --------------------------------------------------


def _visible(request: Request, session: Session, job_id: int) -> tuple[Job, ReportFile] | None:
    """The job and its report, when this visitor may see them (staff reports need a login);
    None: send them to log in."""
    job = session.get(Job, job_id)
    row = session.get(ReportFile, job_id)
    if job is None or row is None:
        raise NotFound(_("There is no report {id}.").format(id=job_id))
    if not row.public and auth.staff_or_login(request, session) is None:
        return None
    return job, row


def _login() -> RedirectResponse:
    return RedirectResponse("/admin/login", status_code=303)


def state(job: Job, row: ReportFile) -> dict[str, Any]:
    """The job as the status page and its JSON show it."""
    step, done, total = jobs.live_state(job)
    return {
        "id": job.id,
        "kind": row.kind,
        "status": job.status,
        "step": step,
        "done": done,
        "total": total,
        "seconds": round(jobs.elapsed_seconds(job), 1),
        "file": f"/reports/{job.id}/file" if job.status == "done" else None,
        "bytes": len(row.content) if row.content is not None else None,
    }


@router.get("/reports/{job_id}")
def report_status_page(request: Request, job_id: JobId) -> Response:
    """ "Preparing the report…": refreshes itself until the file is ready, then downloads it."""
    from inclusive_cities.web.site import context, language_of, render

    language = language_of(request)
    with context(request).session() as session:
        found = _visible(request, session, job_id)
        if found is None:
            return _login()
        job, row = found
        info = state(job, row)
        back, file_name, city = row.back_url, row.file_name, (row.options or {}).get("city")
        made_in = row.language
    return render(
        request,
        "report_job.html",
        title=kind_labels().get(info["kind"], info["kind"]),
        job=info,
        back_url=back,
        # a report asked for from a bookmark has no page to go back to: its city's, then
        city_url=f"/cities/{quote(str(city))}?lang={language}" if city else "",
        file_name=file_name,
        file_url=f"{info['file']}?lang={language}" if info["file"] else "",
        # the language switch of a made report's page must not download it again: the file
        # is in the language it was asked in, which the page then says
        auto_download=made_in == language,
        other_language=""
        if made_in == language
        else (
            _("This report is in English.") if made_in == "en" else _("This report is in Spanish.")
        ),
        refresh=REFRESH_SECONDS,
    )


@router.get("/reports/{job_id}/status.json")
def report_status_json(request: Request, job_id: JobId) -> Response:
    """The same state for scripts: status, step, progress and, once done, the file's URL."""
    from inclusive_cities.web.site import context, language_of

    language_of(request)
    with context(request).session() as session:
        found = _visible(request, session, job_id)
        if found is None:
            return JSONResponse({"detail": _("Log in to use the admin area.")}, status_code=401)
        return JSONResponse(state(*found))


@router.get("/reports/{job_id}/file")
def report_file(request: Request, job_id: JobId) -> Response:
    """The report's bytes, from whichever job worker made them."""
    from inclusive_cities.web.site import context, language_of

    language_of(request)
    with context(request).session() as session:
        found = _visible(request, session, job_id)
        if found is None:
            return _login()
        job, row = found
        if job.status != "done" or row.content is None:
            return RedirectResponse(f"/reports/{job_id}", status_code=303)
        content, name, media_type = row.content, row.file_name, row.media_type
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, max-age=0" if not row.public else "public, max-age=60",
        },
    )


__all__ = [
    "KINDS",
    "ReportJobError",
    "report_key",
    "report_response",
    "request_report",
    "run_report",
    "store_fingerprint",
]
