"""The admin area: login, publishing runs and layers, API tokens, users, audit log.

Every state change needs a logged-in analyst or admin and, for browser forms, the session's
CSRF token; scripts use ``Authorization: Bearer <token>`` instead (no cookie, no CSRF).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models
from inclusive_cities.store.web_models import AuditEntry, Job, PublishedLayer, User
from inclusive_cities.web import auth, jobs
from inclusive_cities.web.errors import BadRequest, NotFound, WebError
from inclusive_cities.web.site import (
    MAX_ROW_ID,
    RowId,
    client_address,
    context,
    language_of,
    render,
    served_over_https,
    session_scope,
)
from inclusive_cities.web.table_upload import imported_indicators, table_reading, valid_codes

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/admin", tags=["admin"])
DB = Annotated[Session, Depends(session_scope)]
COOKIE = auth.SESSION_COOKIE


def _client(request: Request) -> str:
    """The client address, from forwarded headers only behind a trusted proxy."""
    return client_address(request)


identity = auth.identity
require_user = auth.require_user


def require_admin(who: auth.Identity) -> None:
    if not who.is_admin:
        raise HTTPException(403, _("Only administrators can manage users."))


@router.get("/admin/login")
def login_form(request: Request) -> Response:
    return render(request, "admin/login.html", title=_("Log in"), error=None, email="")


@router.post("/admin/login")
def login_submit(
    request: Request,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    result = auth.login(context(request).engine, email, password, _client(request))
    if result.blocked:
        return render(
            request,
            "admin/login.html",
            status_code=429,
            title=_("Log in"),
            error=_("Too many failed attempts: wait {minutes} minutes and try again.").format(
                minutes=auth.LOGIN_WINDOW_MINUTES
            ),
            email=email,
        )
    if result.token is None:
        return render(
            request,
            "admin/login.html",
            status_code=401,
            title=_("Log in"),
            error=_("Wrong e-mail or password."),
            email=email,
        )
    # a programme account may only enter its cities' results: it lands on that page
    programme = result.identity is not None and result.identity.role == "programme"
    response = RedirectResponse("/admin/programme" if programme else "/admin", status_code=303)
    response.set_cookie(
        COOKIE,
        result.token,
        httponly=True,
        samesite="strict",
        secure=served_over_https(request),
        max_age=auth.SESSION_HOURS * 3600,
        path="/",
    )
    return response


@router.post("/admin/logout")
def logout(request: Request, session: DB, csrf_token: Annotated[str, Form()] = "") -> Response:
    who = require_user(request, session, csrf_token)
    auth.logout(session, request.cookies.get(COOKIE))
    auth.audit(session, "logout", user=who.email, client=_client(request))
    session.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _dashboard(request: Request, session: Session, who: auth.Identity, **extra: Any) -> Response:
    language = language_of(request)
    ctx = context(request)
    runs = session.execute(
        select(models.MarkerRun, models.City, models.Period)
        .join(models.City, models.City.id == models.MarkerRun.city_id)
        .join(models.Period, models.Period.id == models.MarkerRun.period_id)
        .order_by(models.City.code, models.Period.code, models.MarkerRun.id)
    ).all()
    levels = {level.id: level for level in session.scalars(select(models.UnitLevel))}
    run_rows = []
    for run, city, period in runs:
        spec = ctx.specs(run.spec_code)
        level = levels.get(run.level_id) if run.level_id is not None else None
        uncertainty = (run.parameters or {}).get("uncertainty") or {}
        replicates = uncertainty.get("replicates") if isinstance(uncertainty, dict) else None
        run_rows.append(
            {
                "run": run,
                "city": city,
                "period": period,
                "spec": spec.name(language) if spec else run.spec_code,
                # three runs of one marker and period differ only in their level (F4)
                "level": (
                    ((level.name_es if language == "es" else level.name_en) or level.code)
                    if level is not None
                    else "—"
                ),
                "replicates": replicates,
            }
        )
    published = {
        (p.city_id, p.period_id, p.indicator_id) for p in session.scalars(select(PublishedLayer))
    }
    layer_rows = []
    combos = session.execute(
        select(
            models.SpatialUnit.city_id,
            models.Observation.period_id,
            models.Observation.indicator_id,
            func.count(models.Observation.id),
        )
        .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
        .group_by(
            models.SpatialUnit.city_id,
            models.Observation.period_id,
            models.Observation.indicator_id,
        )
    ).all()
    cities = {c.id: c for c in session.scalars(select(models.City))}
    periods = {p.id: p for p in session.scalars(select(models.Period))}
    indicators = {i.id: i for i in session.scalars(select(models.Indicator))}
    for city_id, period_id, indicator_id, count in combos:
        indicator = indicators[indicator_id]
        layer_rows.append(
            {
                "city": cities[city_id],
                "period": periods[period_id],
                "indicator": indicator,
                "name": indicator.name_es if language == "es" else indicator.name_en,
                "count": count,
                "published": (city_id, period_id, indicator_id) in published,
            }
        )
    users = list(session.scalars(select(User).order_by(User.email))) if who.is_admin else []
    user_cities, target_cities = _programme_cities(session) if who.is_admin else ({}, [])
    audit_rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(50)))
    # report jobs (issue #20) are followed on their own pages, not among imports and builds
    job_rows = list(
        session.scalars(select(Job).where(Job.kind != "report").order_by(Job.id.desc()).limit(20))
    )
    tokens = auth.visible_tokens(session, who)
    return render(
        request,
        "admin/index.html",
        title=_("Administration"),
        who=who,
        runs=run_rows,
        layers=layer_rows,
        users=users,
        user_cities=user_cities,
        target_cities=target_cities,
        audit=audit_rows,
        jobs=job_rows,
        tokens=tokens,
        cities=list(cities.values()),
        new_token=extra.get("new_token"),
        message=extra.get("message"),
        error=extra.get("error"),
    )


@router.get("/admin")
def dashboard(request: Request, session: DB) -> Response:
    who = identity(request, session)
    if who is None:
        return RedirectResponse("/admin/login", status_code=303)
    if who.role == "programme":  # its only staff page is its cities' programme results
        return RedirectResponse("/admin/programme", status_code=303)
    return _dashboard(request, session, who)


def set_run_published(
    session: Session, who: auth.Identity, run_id: int, published: bool, client: str
) -> models.MarkerRun:
    run = session.get(models.MarkerRun, run_id)
    if run is None:
        raise NotFound(_("There is no marker run {id}.").format(id=run_id))
    from inclusive_cities.marker.build import empty_run_reason, has_index_values

    if published and not has_index_values(session, run):  # it would hide the good run
        raise BadRequest(empty_run_reason(session, run))
    run.published = published
    if published:
        refuse_if_disclosive(session, run.city_id)
    auth.audit(
        session,
        "publish_run" if published else "unpublish_run",
        user=who.email,
        target=f"marker_run:{run_id}",
        client=client,
    )
    return run


def refuse_if_disclosive(session: Session, city_id: int) -> None:
    """Publishing runs the disclosure audit first: nothing hidden may come back."""
    from inclusive_cities.disclosure import DisclosureError
    from inclusive_cities.disclosure import refuse_if_disclosive as audit_gate

    city = session.get(models.City, city_id)
    if city is None:
        raise NotFound(_("There is no such layer."))
    session.flush()
    try:
        audit_gate(session, city.code)
    except DisclosureError as error:
        raise BadRequest(str(error)) from error


@router.post("/admin/runs/{run_id}/{action}")
def run_action(
    request: Request,
    session: DB,
    run_id: RowId,
    action: str,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    who = require_user(request, session, csrf_token)
    if action not in ("publish", "unpublish"):
        raise NotFound(_("This page does not exist."))
    set_run_published(session, who, run_id, action == "publish", _client(request))
    session.commit()
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/layers/{action}")
def layer_action(
    request: Request,
    session: DB,
    action: str,
    city_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    period_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    indicator_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    who = require_user(request, session, csrf_token)
    if action not in ("publish", "unpublish"):
        raise NotFound(_("This page does not exist."))
    existing = session.scalar(
        select(PublishedLayer).where(
            PublishedLayer.city_id == city_id,
            PublishedLayer.period_id == period_id,
            PublishedLayer.indicator_id == indicator_id,
        )
    )
    target = f"layer:{city_id}/{period_id}/{indicator_id}"
    if action == "publish" and existing is None:
        if None in (
            session.get(models.City, city_id),
            session.get(models.Period, period_id),
            session.get(models.Indicator, indicator_id),
        ):
            raise NotFound(_("There is no such layer."))
        session.add(
            PublishedLayer(
                city_id=city_id,
                period_id=period_id,
                indicator_id=indicator_id,
                published_by=who.email,
            )
        )
        refuse_if_disclosive(session, city_id)
        auth.audit(session, "publish_layer", user=who.email, target=target, client=_client(request))
    elif action == "unpublish" and existing is not None:
        session.delete(existing)
        auth.audit(
            session, "unpublish_layer", user=who.email, target=target, client=_client(request)
        )
    session.commit()
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/tokens")
def create_token(
    request: Request,
    session: DB,
    label: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    who = require_user(request, session, csrf_token)
    token = auth.new_api_token(session, who.user_id, label)
    auth.audit(session, "create_token", user=who.email, target=label, client=_client(request))
    session.commit()
    return _dashboard(request, session, who, new_token=token)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    request: Request,
    session: DB,
    token_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Revoke an API token: it stops working at once (analysts revoke their own tokens,
    admins anyone's)."""
    who = require_user(request, session, csrf_token)
    try:
        token = auth.revoke_api_token(session, who, token_id)
    except WebError as error:
        session.rollback()
        return _dashboard(request, session, who, error=str(error))
    auth.audit(
        session,
        "revoke_token",
        user=who.email,
        target=f"api_token:{token.id}",
        client=_client(request),
        details={"label": token.label},
    )
    session.commit()
    return _dashboard(
        request,
        session,
        who,
        message=_("API token {label} revoked.").format(label=token.label or f"#{token.id}"),
    )


def _programme_cities(session: Session) -> tuple[dict[int, list[str]], list[tuple[str, str]]]:
    """Which target cities each programme account edits, and every target city (code, name)
    the add-user form offers."""
    from inclusive_cities.store.monitoring_models import TargetCity, UserCity

    linked: dict[int, list[str]] = {}
    for user_id, code in session.execute(
        select(UserCity.user_id, UserCity.city_code).order_by(UserCity.city_code)
    ):
        linked.setdefault(user_id, []).append(code)
    offered = {
        code: name
        for code, name in session.execute(
            select(TargetCity.code, TargetCity.name).order_by(TargetCity.code)
        )
    }
    return linked, sorted(offered.items())


@router.post("/admin/users")
def add_user(
    request: Request,
    session: DB,
    email: Annotated[str, Form(max_length=254)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=1000)],
    name: Annotated[str, Form(max_length=200)] = "",
    programme_city: Annotated[list[str] | None, Form(max_length=64)] = None,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    who = require_user(request, session, csrf_token)
    require_admin(who)
    # a programme account edits only the target cities ticked for it (others: refused)
    wanted = sorted(set(programme_city or [])) if role == "programme" else []
    if role == "programme" and not wanted:
        return _dashboard(
            request,
            session,
            who,
            error=_("Tick at least one target city that this programme account may edit."),
        )
    try:
        user = auth.create_user(session, email, role, password, name)
        if wanted:
            from inclusive_cities.monitoring.errors import MonitoringError
            from inclusive_cities.monitoring.values import assign_cities

            try:
                assign_cities(session, user, wanted)
            except MonitoringError as error:
                raise WebError(str(error)) from error
    except WebError as error:
        session.rollback()
        return _dashboard(request, session, who, error=str(error))
    auth.audit(
        session,
        "create_user",
        user=who.email,
        target=user.email,
        client=_client(request),
        details={"role": role, "cities": wanted} if wanted else {"role": role},
    )
    session.commit()
    return _dashboard(
        request, session, who, message=_("Account created for {email}.").format(email=user.email)
    )


@router.post("/admin/users/{user_id}/{action}")
def user_action(
    request: Request,
    session: DB,
    user_id: RowId,
    action: str,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    who = require_user(request, session, csrf_token)
    require_admin(who)
    user = session.get(User, user_id)
    if user is None or action not in ("activate", "deactivate"):
        raise NotFound(_("This page does not exist."))
    if user.id == who.user_id and action == "deactivate":
        return _dashboard(request, session, who, error=_("You cannot deactivate your own account."))
    user.active = action == "activate"
    auth.audit(
        session, f"{action}_user", user=who.email, target=user.email, client=_client(request)
    )
    session.commit()
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/uploads")
async def upload(
    request: Request,
    city: Annotated[str, Form(max_length=64)],
    file: Annotated[UploadFile, File()],
    period: Annotated[str, Form(max_length=40)] = "",
    source: Annotated[str, Form(max_length=200)] = "",
    accept_valid: Annotated[str, Form(max_length=5)] = "",
    accept_units: Annotated[str, Form(max_length=5)] = "",
    csrf_token: Annotated[str, Form()] = "",
    locale: Annotated[str, Form(max_length=5)] = "",
    missing: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Upload an indicator table (CSV/XLSX, HXL tags understood); it is imported in the
    background with the same validation as ``inclusive-cities import table`` (``locale``
    and ``missing`` are its --locale and --missing)."""
    ctx = context(request)
    language = language_of(request)
    with ctx.session() as session:
        who = require_user(request, session, csrf_token)
    city, period = valid_codes(city, period)
    name = file.filename or ""
    if not name.lower().endswith(jobs.UPLOAD_SUFFIXES):
        raise WebError(
            _("{name}: upload a .csv, .tsv, .txt or .xlsx table.").format(name=name[:100])
        )
    content = await file.read(jobs.MAX_UPLOAD_BYTES + 1)
    if len(content) > jobs.MAX_UPLOAD_BYTES:
        raise WebError(_("The file is larger than 200 MB: import it with the command line."))
    options = {
        "city": city,
        "period": period or None,
        "source": source,
        "accept_valid": accept_valid == "on",
        "accept_units": accept_units == "on",
    }
    options.update(table_reading(locale, missing))
    job_id = jobs.start_table_import(ctx.engine, name, content, options, who.email, language)
    with ctx.session() as session:
        auth.audit(
            session,
            "upload",
            user=who.email,
            target=f"job:{job_id}",
            client=_client(request),
            details={"file": name[:200], "city": city},
        )
        session.commit()
    return RedirectResponse(f"/admin/jobs/{job_id}", status_code=303)


@router.post("/admin/builds")
def build(
    request: Request,
    city: Annotated[str, Form(max_length=64)],
    period: Annotated[str, Form(max_length=40)],
    spec: Annotated[str, Form(max_length=64)] = "uim-basic",
    level: Annotated[str, Form(max_length=64)] = "",
    indicators: Annotated[str, Form(max_length=5)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Recompute indicators (optional) and a marker run in the background; the run is
    stored unpublished, for an analyst to check and publish."""
    from inclusive_cities.marker import builtin_specs

    ctx = context(request)
    language = language_of(request)
    with ctx.session() as session:
        who = require_user(request, session, csrf_token)
    city, period = valid_codes(city, period, period_required=True)
    if spec not in builtin_specs():
        raise WebError(_("Unknown marker spec {spec}.").format(spec=spec[:64]))
    options = {
        "city": city,
        "period": period,
        "spec": spec,
        "level": level,
        "indicators": indicators == "on",
    }
    job_id = jobs.start_build(ctx.engine, options, who.email, language)
    with ctx.session() as session:
        auth.audit(
            session,
            "build",
            user=who.email,
            target=f"job:{job_id}",
            client=_client(request),
            details=options,
        )
        session.commit()
    return RedirectResponse(f"/admin/jobs/{job_id}", status_code=303)


def _job(session: Session, request: Request, job_id: int) -> Job:
    require_user(request, session)
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(_("There is no job {id}.").format(id=job_id))
    return job


@router.get("/admin/jobs/{job_id}")
def job_page(request: Request, session: DB, job_id: RowId) -> Response:
    if identity(request, session) is None:
        return RedirectResponse("/admin/login", status_code=303)
    job = _job(session, request, job_id)
    step, done, total = jobs.live_state(job)
    batch = (job.report or {}).get("batch_id") if job.kind == "table" else None
    return render(
        request,
        "admin/job.html",
        title=_("Import job {id}").format(id=job.id),
        job=job,
        step=step,
        done=done,
        total=total,
        elapsed=jobs.elapsed_seconds(job),
        imported=imported_indicators(session, batch) if job.status == "done" else [],
    )


class JobOut(BaseModel):
    id: int
    file: str
    status: str
    step: str
    done: int
    total: int | None
    report: dict[str, Any] | None


@api_router.get("/jobs/{job_id}", response_model=JobOut)
def job_status(request: Request, session: DB, job_id: RowId) -> JobOut:
    """Progress and validation report of an upload."""
    job = _job(session, request, job_id)
    step, done, total = jobs.live_state(job)
    return JobOut(
        id=job.id,
        file=job.file_name,
        status=job.status,
        step=step,
        done=done,
        total=total,
        report=job.report,
    )


class PublishOut(BaseModel):
    id: int
    published: bool


@api_router.post("/runs/{run_id}/publish", response_model=PublishOut)
def api_publish(request: Request, session: DB, run_id: RowId) -> PublishOut:
    """Publish a marker run (Bearer token of an analyst or admin)."""
    who = require_user(request, session)
    run = set_run_published(session, who, run_id, True, _client(request))
    session.commit()
    return PublishOut(id=run.id, published=True)


@api_router.post("/runs/{run_id}/unpublish", response_model=PublishOut)
def api_unpublish(request: Request, session: DB, run_id: RowId) -> PublishOut:
    """Withdraw a marker run from the public pages and APIs."""
    who = require_user(request, session)
    run = set_run_published(session, who, run_id, False, _client(request))
    session.commit()
    return PublishOut(id=run.id, published=False)


@router.get("/admin/disclosure/{city}")
def disclosure_audit(request: Request, session: DB, city: str) -> Response:
    """Read-only: the disclosure audit of a city as it is published now, as a page of the
    analysts' area in their language (it was plain text with English numbers: F11)."""
    if auth.staff_or_login(request, session) is None:
        return RedirectResponse("/admin/login", status_code=303)
    from inclusive_cities.disclosure import DisclosureError, audit

    language_of(request)
    try:
        report = audit(session, city)
    except DisclosureError as error:
        raise NotFound(str(error)) from error
    return render(
        request,
        "admin/disclosure.html",
        city=city,
        summary=report.summary(),
        found=len(report.cells),
        lines="\n".join(report.line(f) for f in report.findings),
    )
