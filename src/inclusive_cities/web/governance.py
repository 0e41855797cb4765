"""Migration-governance pages (issue #19): a city's assessment beside its country's and beside
the evidence, the public library of good practices and the initiatives, downloads (XLSX, the
report as PDF/HTML), and the admin entry (upload an assessment, edit an answer).

The pages read through :mod:`inclusive_cities.governance` and
:mod:`inclusive_cities.reports.governance_report`; the queries stay beside them, not in
``web/services.py``. This router imports nothing from ``web.app`` (which imports the routers):
it reaches the app's state through ``request.app.state.web``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import format_number, use_language
from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models
from inclusive_cities.store.models import utcnow
from inclusive_cities.web import auth, jobs
from inclusive_cities.web.errors import NotFound, WebError
from inclusive_cities.web.site import context as _ctx
from inclusive_cities.web.site import language_of as _language
from inclusive_cities.web.site import render as _render
from inclusive_cities.web.staff_forms import Upload, audit

router = APIRouter(include_in_schema=False)
"""The admin session cookie (set by ``web/admin.py`` at login)."""
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UPLOAD_SUFFIXES = (".xlsx", ".csv")
KINDS = ("good_practice", "initiative")


# -- the app's shared pieces, read from its state (no import of web.app) ---------------------


def _city(session: Session, code: str) -> models.City:
    city = session.scalar(select(models.City).where(models.City.code == code))
    if city is None:
        raise NotFound(_("There is no city with code {code}.").format(code=code[:64]))
    return city


def _node_names(request: Request) -> Any:
    """Names of a run's nodes from the app's spec provider (it knows the test and stored
    specs as well as the built-in ones)."""
    provider = _ctx(request).specs

    def names(spec_code: str, language: str) -> dict[str, str]:
        spec = provider(spec_code)
        if spec is None:
            return {}
        found = {node.code: node.name(language) for node in spec.nodes}
        found[spec_code] = spec.name(language)
        return found

    return names


# -- public pages ----------------------------------------------------------------------------


def _assessment_id(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise NotFound(_("There is no assessment {id}.").format(id=str(value)[:20])) from None
    if not 1 <= number <= 2**31 - 1:
        raise NotFound(_("There is no assessment {id}.").format(id=number))
    return number


def _view(request: Request, city: str, assessment: str | None) -> Any:
    from inclusive_cities.reports.errors import ReportError
    from inclusive_cities.reports.governance_report import governance_view

    language = _language(request)
    try:
        return governance_view(
            _ctx(request).engine,
            city,
            language,
            _assessment_id(assessment),
            node_names=_node_names(request),
        )
    except ReportError as error:
        raise NotFound(str(error)) from None


@router.get("/cities/{city}/governance")
def governance_page(request: Request, city: str, assessment: str | None = None) -> Response:
    """A city's migration-governance assessment, for the public."""
    from inclusive_cities.reports import governance_report as gr

    language = _language(request)
    with _ctx(request).session() as session:
        row = _city(session, city)
    view = _view(request, row.code, assessment)
    chart = gr.view_radar(view, language)
    questions = gr.question_rows(view, language)
    domains = []
    if view.local is not None:
        levels = {d.code: d for d in view.comparison.domains} if view.comparison else {}
        changes = {d.code: d for d in view.changes.domains} if view.changes else {}
        evidence = {e.domain: e for e in view.evidence}
        for d in view.local.domains:
            level = levels.get(d.code)
            change = changes.get(d.code)
            domains.append(
                {
                    "code": d.code,
                    "name": d.name.text(language),
                    "score": d.score,
                    "band": d.band,
                    "band_text": gr.band_text(d.band),
                    "national": level.right if level else None,
                    "difference": level.difference if level else None,
                    "status": level.status if level else "not_comparable",
                    "status_text": gr.status_text(level.status if level else "not_comparable"),
                    "before": change.right if change else None,
                    "change": change.status if change else "not_comparable",
                    "change_text": gr.status_text(change.status if change else "not_comparable"),
                    "answered": d.answered,
                    "questions": d.questions,
                    "not_applicable": d.not_applicable,
                    "evidence": evidence.get(d.code),
                    "rows": [q for q in questions if q["domain"] == d.code],
                }
            )
    return _render(
        request,
        "governance.html",
        city=row,
        title=_("Migration governance") + " — " + row.name,
        view=view,
        domains=domains,
        radar_spec=json.dumps(chart.to_dict()) if chart is not None else None,
        strengths=view.local.strengths(language) if view.local else [],
        gaps=view.local.gaps(language) if view.local else [],
        level_summary=view.comparison.summary(language) if view.comparison else [],
        change_summary=view.changes.summary(language) if view.changes else [],
        initiatives=[_record(r, language) for r in view.initiatives],
        country_name=gr.country_label(view.country, language),
        country_label=_("{country} (national)").format(
            country=gr.country_label(view.country, language)
        ),
        domain_names={d["code"]: d["name"] for d in domains},
    )


def _record(record: Any, language: str) -> dict[str, Any]:
    """An initiative or good practice in the reader's language (link only if http/https)."""
    from inclusive_cities.reports import governance_report as gr

    return {
        "code": record.code,
        "kind": gr.kind_text(record.kind),
        "kind_code": record.kind,
        "name": record.name.text(language),
        "description": record.description.text(language),
        "level": gr.level_text(record.level),
        "city": record.city or "",
        "country": gr.country_label(record.country, language),
        "country_code": record.country,
        "domain": record.domain,
        "status": gr.status_text_plain(record.status),
        "partners": record.partners,
        "year": record.year,
        "link": gr.safe_link(record.link),
    }


def _framework_domains(session: Session, language: str) -> list[tuple[str, str]]:
    """The domains people can filter by, named: those of every framework version the store
    keeps (the ones assessments answered), then the built-in frameworks'."""
    from inclusive_cities.governance import Framework, builtin_frameworks, load_framework

    frameworks = [
        Framework.model_validate(spec)
        for spec in session.scalars(
            select(models.GovernanceFramework.spec).order_by(models.GovernanceFramework.id.desc())
        )
    ]
    frameworks += [load_framework(code) for code in sorted(builtin_frameworks())]
    names: dict[str, str] = {}
    for framework in frameworks:
        for domain in framework.domains:
            names.setdefault(domain.code, domain.name.text(language))
    return sorted(names.items(), key=lambda item: item[1])


@router.get("/governance/practices")
def practices_page(
    request: Request,
    q: str = "",
    domain: str = "",
    city: str = "",
    country: str = "",
    kind: str = "good_practice",
) -> Response:
    """The public library of good practices (``kind=initiative``: the initiatives list),
    searchable by words, domain, city and country."""
    from inclusive_cities.governance import search_initiatives
    from inclusive_cities.reports import governance_report as gr

    language = _language(request)
    kind = kind if kind in KINDS else "good_practice"
    q, domain, city, country = q[:200].strip(), domain[:64], city[:64], country[:3]
    engine = _ctx(request).engine

    def search(text: str | None) -> list[Any]:
        return search_initiatives(
            engine,
            text,
            kind=kind,
            domain=domain or None,
            city=city or None,
            country=country or None,
        )

    # every word must appear somewhere in the record, in any order ("salud ventanilla")
    records = search(None)
    for word in q.split()[:10]:
        found = {r.id for r in search(word)}
        records = [r for r in records if r.id in found]
    everything = search_initiatives(_ctx(request).engine, kind=kind)
    with _ctx(request).session() as session:
        city_names = dict(session.execute(select(models.City.code, models.City.name)).all())
        domains = _framework_domains(session, language)
    return _render(
        request,
        "governance_practices.html",
        title=_("Good practices") if kind == "good_practice" else _("Initiatives"),
        kind=kind,
        records=[_record(r, language) for r in records],
        total=len(everything),
        q=q,
        domain=domain,
        chosen_city=city,
        country=country,
        domains=domains,
        domain_names=dict(domains),
        cities=sorted({r.city for r in everything if r.city}),
        countries=sorted(
            {(r.country, gr.country_label(r.country, language)) for r in everything if r.country},
            key=lambda pair: pair[1],
        ),
        city_names=city_names,
    )


@router.get("/governance/initiatives")
def initiatives_page(
    request: Request, q: str = "", domain: str = "", city: str = "", country: str = ""
) -> Response:
    """The balance of existing initiatives, with the same search as the library."""
    return practices_page(request, q, domain, city, country, kind="initiative")


# -- downloads -------------------------------------------------------------------------------


@router.get("/cities/{city}/governance/report.{fmt}")
def governance_report_download(
    request: Request, city: str, fmt: str, assessment: str | None = None
) -> Response:
    """The report "Migration governance assessment" as PDF or HTML in the page's language."""
    from inclusive_cities.reports.errors import ReportError
    from inclusive_cities.reports.governance_report import render_governance_html

    language = _language(request)
    if fmt not in ("pdf", "html"):
        raise NotFound(_("This page does not exist."))
    with _ctx(request).session() as session:
        row = _city(session, city)
    name = "-".join([_("governance-assessment"), row.code, language])
    if fmt == "html":
        try:
            page = render_governance_html(
                _ctx(request).engine, row.code, language, _assessment_id(assessment)
            )
        except ReportError as error:
            raise NotFound(str(error)) from None
        finally:
            use_language(language)
        return HTMLResponse(
            page, headers={"Content-Disposition": f'inline; filename="{name}.html"'}
        )
    from inclusive_cities.web.report_jobs import report_response

    # rendered by a job (issue #20); this answers with the file or the job's page
    options = {"city": row.code, "assessment": _assessment_id(assessment)}
    return report_response(request, "governance", options, public=True, file_name=f"{name}.pdf")


@router.get("/governance/assessments/{assessment_id}.xlsx")
def assessment_xlsx(request: Request, assessment_id: int) -> Response:
    """An assessment (answers, evidence, scores and its comparisons) as an XLSX workbook."""
    from inclusive_cities.governance import GovernanceError, assessment_result, export_xlsx
    from inclusive_cities.reports.governance_report import governance_view

    language = _language(request)
    engine = _ctx(request).engine
    try:
        result = assessment_result(engine, _assessment_id(str(assessment_id)) or 0)
    except GovernanceError as error:
        raise NotFound(str(error)) from None
    comparisons = []
    if result.info.level == "local" and result.info.city:
        view = governance_view(engine, result.info.city, language, result.info.id)
        comparisons = [c for c in (view.comparison, view.changes) if c is not None]
    # the respondent is a person's name in the template: it stays in the admin area
    public = dataclasses.replace(result, info=dataclasses.replace(result.info, respondent=""))
    folder = Path(tempfile.mkdtemp(prefix="ic-governance-"))
    try:
        path = export_xlsx(public, folder / "assessment.xlsx", language, comparisons)
        content = path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    name = "-".join(
        [_("governance-assessment"), result.info.place, str(result.info.assessed_on), language]
    )
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get("/governance/template.xlsx")
def template_xlsx(request: Request, framework: str = "mgi-demo") -> Response:
    """The blank assessment template of a built-in framework, in the page's language."""
    from inclusive_cities.governance import builtin_frameworks, load_framework, write_template

    language = _language(request)
    if framework not in builtin_frameworks():
        raise NotFound(_("There is no framework {code}.").format(code=framework[:64]))
    folder = Path(tempfile.mkdtemp(prefix="ic-governance-"))
    try:
        path = write_template(load_framework(framework), language, folder / "template.xlsx")
        content = path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    name = "-".join([_("governance-template"), framework, language])
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


# -- admin -----------------------------------------------------------------------------------


def _admin_page(
    request: Request, session: Session, who: auth.Identity, status_code: int = 200, **extra: Any
) -> Response:
    from inclusive_cities.governance import list_assessments
    from inclusive_cities.reports import governance_report as gr

    language = _language(request)
    assessments = list_assessments(_ctx(request).engine)
    cities = list(session.scalars(select(models.City).order_by(models.City.name)))
    return _render(
        request,
        "governance_admin.html",
        status_code=status_code,
        title=_("Governance assessments"),
        who=who,
        assessments=list(reversed(assessments)),
        cities=cities,
        countries=sorted(
            {(c.country, gr.country_label(c.country, language)) for c in cities if c.country},
            key=lambda pair: pair[1],
        ),
        message=extra.get("message"),
        error=extra.get("error"),
    )


@router.get("/admin/governance")
def admin_governance(request: Request) -> Response:
    """Upload an assessment; list the stored ones, each with its answers to edit."""
    with _ctx(request).session() as session:
        who = auth.staff_or_login(request, session)
        if who is None:
            return RedirectResponse("/admin/login", status_code=303)
        return _admin_page(request, session, who)


def run_governance_import(
    engine: Any, job_id: int, path: Path, options: dict[str, Any], language: str
) -> None:
    """Import an assessment file in the background; the job keeps the result or the error."""
    from inclusive_cities.governance import import_assessment

    use_language(language)
    jobs._update(engine, job_id, status="running", step=_("Importing the assessment"), total=1)
    jobs.LIVE[job_id] = (_("Importing the assessment"), 0, 1)
    try:
        summary = import_assessment(
            engine, path, city=options.get("city") or None, country=options.get("country") or None
        )
    except Exception as error:  # a job must always end with a state the page can show
        jobs._failed(engine, job_id, error)
    else:
        from inclusive_cities.reports.governance_report import country_label

        overall = "-" if summary.overall is None else format_number(summary.overall, 1, language)
        if summary.level == "local":
            with Session(engine) as session:
                name = session.scalar(
                    select(models.City.name).where(models.City.code == summary.place)
                )
        else:
            name = country_label(summary.place, language)
        lines = [
            _("{file}: assessment of {place} ({level}) stored, id {ids}.").format(
                file=path.name,
                place=name or summary.place,
                level=_("local") if summary.level == "local" else _("national"),
                ids=", ".join(str(i) for i in summary.assessment_ids),
            ),
            _("{answered} of {questions} questions answered; overall score {score}.").format(
                answered=summary.answered, questions=summary.questions, score=overall
            ),
        ]
        if summary.replaced:
            lines.append(_("It replaced the assessment of the same place and date."))
        if summary.level == "local":
            lines.append(_("Public page: /cities/{city}/governance").format(city=summary.place))
        if summary.marker_values:
            lines.append(
                _("The governance score was given to the marker for {count} units.").format(
                    count=summary.marker_values
                )
            )
        # which periods take it, and what public layers or runs it changed (as the CLI says)
        lines.extend(summary.summary_lines()[1:])
        report = {
            "summary": lines,
            "problems": [],
            "rows_accepted": summary.answered,
            "rows_rejected": 0,
        }
        jobs._update(
            engine,
            job_id,
            status="done",
            step=_("Finished"),
            done=1,
            report=report,
            finished_at=utcnow(),
        )
    finally:
        jobs.LIVE.pop(job_id, None)
        shutil.rmtree(path.parent, ignore_errors=True)


def start_governance_import(
    engine: Any, file_name: str, content: bytes, options: dict[str, Any], user: str, language: str
) -> int:
    """Queue the import of an uploaded assessment (a job worker or a thread runs it)."""
    safe_name = Path(file_name).name or "assessment.xlsx"
    return jobs.submit(engine, "governance", safe_name, options, user, language, content)


@router.post("/admin/governance/uploads")
async def upload_assessment(
    request: Request,
    file: Annotated[UploadFile, File()],
    place: Annotated[str, Form(max_length=80)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Upload a filled-in assessment template (XLSX) or a KoBo export; ``place`` is
    ``city:CODE`` (a local assessment) or ``country:ISO3`` (a national one)."""
    from inclusive_cities.ingest.identifiers import IdentifierError, validate_identifier

    ctx = _ctx(request)
    language = _language(request)
    with ctx.session() as session:
        who = auth.require_user(request, session, csrf_token)
    kind, _sep, code = place.partition(":")
    if kind not in ("city", "country") or not code:
        raise WebError(_("Choose the city or the country the assessment is about."))
    try:
        code = validate_identifier("city", code) if kind == "city" else code.upper()[:3]
    except IdentifierError as error:
        raise WebError(str(error)) from error
    upload = await Upload.read(file, jobs.MAX_UPLOAD_BYTES)
    upload.check(
        UPLOAD_SUFFIXES,
        _("{name}: upload the assessment template (.xlsx) or a KoBo export (.xlsx, .csv)."),
        _("The file is larger than 200 MB: import it with the command line."),
    )
    options = {"city": code} if kind == "city" else {"country": code}
    job_id = start_governance_import(
        ctx.engine, upload.name, upload.content, options, who.email, language
    )
    audit(request, who, "governance_upload", f"job:{job_id}", file=upload.name[:200], **options)
    return RedirectResponse(f"/admin/jobs/{job_id}", status_code=303)


def _edit_page(
    request: Request, who: auth.Identity, assessment_id: int, status_code: int = 200, **extra: Any
) -> Response:
    from inclusive_cities.governance import GovernanceError, assessment_result

    language = _language(request)
    try:
        result = assessment_result(_ctx(request).engine, assessment_id)
    except GovernanceError as error:
        raise NotFound(str(error)) from None
    framework = result.framework
    rows = []
    for q in result.questions:
        question = framework.question(q.code)
        rows.append(
            {
                "code": q.code,
                "domain": q.domain,
                "text": q.text.text(language),
                "answer": q.answer,
                "scale": question.scale,
                "scale_value": q.scale_value,
                "label": result.answer_label(q, language),
                "evidence_text": q.evidence_text,
                "evidence_link": q.evidence_link,
                "evidence_required": q.evidence_required,
                "evidence_missing": q.evidence_missing,
                "not_applicable": question.not_applicable,
            }
        )
    return _render(
        request,
        "governance_edit.html",
        status_code=status_code,
        title=_("Edit assessment {id}").format(id=assessment_id),
        who=who,
        result=result,
        place=result.info.place_label(language),
        rows=rows,
        domain_names={d.code: d.name.text(language) for d in result.domains},
        answer_words={
            "yes": _("Yes"),
            "partly": _("Partly"),
            "no": _("No"),
            "not_applicable": _("Not applicable"),
        },
        message=extra.get("message"),
        error=extra.get("error"),
    )


@router.get("/admin/governance/assessments/{assessment_id}")
def edit_assessment(request: Request, assessment_id: int) -> Response:
    with _ctx(request).session() as session:
        who = auth.staff_or_login(request, session)
    if who is None:
        return RedirectResponse("/admin/login", status_code=303)
    return _edit_page(request, who, _assessment_id(str(assessment_id)) or 0)


@router.post("/admin/governance/assessments/{assessment_id}/answers")
def save_answer(
    request: Request,
    assessment_id: int,
    question: Annotated[str, Form(max_length=64)],
    answer: Annotated[str, Form(max_length=40)],
    evidence_text: Annotated[str, Form(max_length=4000)] = "",
    evidence_link: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Change one answer (and its evidence); scores, comparisons and the marker's governance
    value follow from the stored answers."""
    from inclusive_cities.governance import GovernanceError, set_answer

    ctx = _ctx(request)
    with ctx.session() as session:
        who = auth.require_user(request, session, csrf_token)
    number = _assessment_id(str(assessment_id)) or 0
    try:
        set_answer(
            ctx.engine,
            number,
            question,
            answer,
            evidence_text=evidence_text,
            evidence_link=evidence_link,
        )
    except GovernanceError as error:
        return _edit_page(request, who, number, status_code=400, error=str(error))
    audit(
        request,
        who,
        "governance_answer",
        f"governance_assessment:{number}",
        question=question,
        answer=answer,
    )
    return _edit_page(
        request,
        who,
        number,
        message=_("Answer {code} saved.").format(code=question),
    )
