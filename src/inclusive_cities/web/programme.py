"""The programme view (issue #18 §4): the public programme page across the target cities
(map, results against targets with progress bars, by country, the "n of m target cities have
a …" lines), a page per target city with its results over time, the centres network map and
list, the donor report, and the staff entry (a form for one result, the XLSX template upload).

Figures are read through :mod:`inclusive_cities.reports.programme_report`, which reads the
monitoring domain (disclosure control applied there). This router imports nothing from
``web.app``: it reaches the app's state through ``request.app.state.web``.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n import use_language
from inclusive_cities.store import transaction
from inclusive_cities.web import auth
from inclusive_cities.web.errors import NotFound, WebError
from inclusive_cities.web.site import context as _ctx
from inclusive_cities.web.site import language_of as _language
from inclusive_cities.web.site import render as _render
from inclusive_cities.web.staff_forms import Upload, audit

router = APIRouter(include_in_schema=False)
MAX_TEMPLATE_BYTES = 20 * 1024 * 1024
"""A filled-in results template is a few kilobytes; anything this large is not one."""


def _basemap(request: Request) -> dict[str, str] | None:
    basemap = _ctx(request).basemap
    if basemap is None:
        return None
    return {"url": basemap.url, "attribution": basemap.attribution}


def _programme(request: Request, language: str, period: str | None = None) -> Any:
    from inclusive_cities.reports import programme_report as pr
    from inclusive_cities.reports.errors import ReportError

    try:
        return pr.programme_view(_ctx(request).engine, language, period)
    except ReportError as error:
        raise NotFound(str(error)) from None


# -- public pages ----------------------------------------------------------------------------


@router.get("/programme")
def programme_page(
    request: Request, period: Annotated[str | None, Query(max_length=16)] = None
) -> Response:
    """The programme across its target cities, for the public: aggregates only; ``period``
    chosen on the page (else the one most indicators and cities last reported for)."""
    language = _language(request)
    view = _programme(request, language, period or None)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [c.longitude, c.latitude]},
            "properties": {
                "name": c.name,
                "country": c.country_name,
                "href": f"/programme/cities/{c.key}?lang={language}",
            },
        }
        for c in view.cities
        if c.longitude is not None and c.latitude is not None
    ]
    map_config = {
        "container": "programme-map",
        "lang": language,
        "basemap": _basemap(request),
        "data": {"type": "FeatureCollection", "features": features},
        "labels": True,
        "radius": 8,
        "colour": "#004f8a",
        "popup": [["country", _("Country")]],
        "text": {"open": _("Click to see the city's results")},
    }
    return _render(
        request,
        "programme/index.html",
        title=view.name,
        view=view,
        map_config=map_config,
    )


@router.get("/programme/cities/{key}")
def programme_city_page(request: Request, key: str) -> Response:
    """One target city: its latest results, their course over time, what was delivered."""
    from inclusive_cities.reports import programme_report as pr
    from inclusive_cities.reports.errors import ReportError

    language = _language(request)
    try:
        city = pr.city_view(_ctx(request).engine, key[:64], language)
    except ReportError as error:
        raise NotFound(str(error)) from None
    chart = pr.trend_chart(city.history, language)
    return _render(
        request,
        "programme/city.html",
        title=city.target.name + " — " + city.programme_name,
        programme_name=city.programme_name,
        target=city.target,
        latest=city.latest,
        history=city.history,
        trend_spec=json.dumps(chart.to_dict()) if chart is not None else None,
        deliveries=city.deliveries,
    )


@router.get("/programme/centres")
def centres_page(request: Request) -> Response:
    """The Social Integration and Habitat Co-creation Centres: map (read from the OGC API
    collection), principles across the network and the list."""
    from inclusive_cities.monitoring.centres import COLLECTION_ID
    from inclusive_cities.reports import programme_report as pr

    language = _language(request)
    centres = pr.centres_view(_ctx(request).engine, language)
    ogc_url = f"/ogc/collections/{COLLECTION_ID}/items"
    map_config = {
        "container": "centres-map",
        "lang": language,
        "basemap": _basemap(request),
        "url": ogc_url + "?" + urlencode({"f": "json", "limit": 1000, "lang": language}),
        "labels": False,
        "radius": 6,
        "colour": "#1a7f5a",
        "popup": [
            ["city", _("City")],
            ["services", _("Services")],
            ["opening_hours", _("Opening hours")],
        ],
        "text": {"open": ""},
    }
    return _render(
        request,
        "programme/centres.html",
        title=_("Centres network"),
        programme_name=centres.programme_name,
        centres=centres.centres,
        principles=centres.principles,
        country_count=centres.countries,
        active_count=sum(1 for c in centres.centres if c.get("status_code") == "active"),
        map_config=map_config,
        ogc_url=ogc_url,
    )


@router.get("/programme/report.{fmt}")
def programme_report_download(request: Request, fmt: str) -> Response:
    """The donor report as PDF or HTML in the page's language."""
    from inclusive_cities.reports.programme_report import render_programme_html

    language = _language(request)
    if fmt not in ("pdf", "html"):
        raise NotFound(_("This page does not exist."))
    name = "-".join([_("programme-results"), language])
    engine = _ctx(request).engine
    if fmt == "html":
        try:
            page = render_programme_html(engine, language)
        finally:
            use_language(language)
        return HTMLResponse(
            page, headers={"Content-Disposition": f'inline; filename="{name}.html"'}
        )
    from inclusive_cities.web.report_jobs import report_response

    # rendered by a job (issue #20); this answers with the file or the job's page
    return report_response(request, "programme", {}, public=True, file_name=f"{name}.pdf")


# -- staff entry -----------------------------------------------------------------------------


@dataclass
class Entry:
    """What the staff entry page offers the signed-in user."""

    cities: list[Any]
    indicators: list[Any]
    kinds: list[tuple[str, str]]
    period: str
    current: list[dict[str, Any]]


def _entry(request: Request, who: auth.Identity, language: str) -> Entry:
    """The cities this user may edit (all for analysts and admins), the indicators and what is
    stored for those cities in the latest period."""
    from inclusive_cities.reports import programme_report as pr
    from inclusive_cities.reports.errors import ReportError

    engine = _ctx(request).engine
    try:
        view = pr.programme_view(engine, language)
        rep = pr._results(engine, language)
    except ReportError:
        return Entry([], [], [], "", [])
    with _ctx(request).session() as session:
        cities = [c for c in view.cities if auth.can_edit_city(who, c.key, session)]
    current = [
        {"city": city.name, "result": row}
        for city in cities
        for row in city.results
        if row.target is not None or row.actual is not None or row.baseline is not None
    ]
    return Entry(
        cities=cities,
        indicators=list(rep.indicators),
        kinds=[("actual", _("Result")), ("target", _("Target value")), ("baseline", _("Baseline"))],
        period=view.period or str(date.today().year),
        current=current,
    )


def _staff_page(
    request: Request, who: auth.Identity, status_code: int = 200, **extra: Any
) -> Response:
    language = _language(request)
    entry = _entry(request, who, language)
    return _render(
        request,
        "programme/staff.html",
        status_code=status_code,
        title=_("Programme results entry"),
        who=who,
        entry=entry,
        chosen=extra.get("chosen", {}),
        message=extra.get("message"),
        error=extra.get("error"),
        lines=extra.get("lines", []),
    )


@router.get("/admin/programme")
def staff_programme(request: Request) -> Response:
    """Programme staff enter or correct a result of their own cities, or upload the template."""
    with _ctx(request).session() as session:
        who = auth.identity(request, session)
    if who is None:
        return RedirectResponse("/admin/login", status_code=303)
    return _staff_page(request, who)


@router.get("/admin/programme/template.xlsx")
def template_download(request: Request, city: str = "") -> Response:
    """The blank results template in the page's language (pre-filled for ``city`` if given)."""
    from inclusive_cities.monitoring import MonitoringError
    from inclusive_cities.monitoring.entry import write_template
    from inclusive_cities.reports import programme_report as pr

    language = _language(request)
    with _ctx(request).session() as session:
        who = auth.identity(request, session)
    if who is None:
        return RedirectResponse("/admin/login", status_code=303)
    folder = Path(tempfile.mkdtemp(prefix="ic-programme-template-"))
    try:
        path = write_template(
            _ctx(request).engine,
            folder / "template.xlsx",
            lang=language,
            programme=pr.PROGRAMME,
            city=city[:64] or None,
        )
        content = path.read_bytes()
    except MonitoringError as error:
        raise NotFound(str(error)) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    name = "-".join([_("programme-results-template"), city[:64] or "all", language])
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


def _may_edit(request: Request, who: auth.Identity, city: str) -> None:
    with _ctx(request).session() as session:
        allowed = auth.can_edit_city(who, city, session)
    if not allowed:
        raise WebError(
            _("You may not edit the results of {city}: ask an administrator.").format(
                city=city[:64]
            )
        )


@router.post("/admin/programme/results")
def save_result(
    request: Request,
    city: Annotated[str, Form(max_length=64)],
    indicator: Annotated[str, Form(max_length=64)],
    period: Annotated[str, Form(max_length=16)],
    kind: Annotated[str, Form(max_length=10)],
    value: Annotated[str, Form(max_length=40)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Enter one baseline, target or actual (all people, no disaggregation) for a city."""
    from inclusive_cities import monitoring
    from inclusive_cities.monitoring import MonitoringError
    from inclusive_cities.reports import programme_report as pr

    ctx = _ctx(request)
    language = _language(request)
    with ctx.session() as session:
        who = auth.require_user(request, session, csrf_token)
    chosen = {"city": city, "indicator": indicator, "period": period, "kind": kind}
    _may_edit(request, who, city)
    try:
        number = parse_number(value, language)
        with transaction(ctx.engine) as session:
            monitoring.set_value(
                session, pr.PROGRAMME, indicator, city, period, kind, number, user=who.email
            )
    except MonitoringError as error:
        return _staff_page(request, who, status_code=400, error=str(error), chosen=chosen)
    audit(request, who, "programme_value", f"programme_city:{city}", **{**chosen, "value": number})
    return _staff_page(
        request,
        who,
        chosen=chosen,
        message=_("Saved: {indicator}, {city}, {period}.").format(
            indicator=indicator, city=city, period=period
        ),
    )


@router.post("/admin/programme/uploads")
async def upload_results(
    request: Request,
    file: Annotated[UploadFile, File()],
    city: Annotated[str, Form(max_length=64)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Import a filled-in results template (XLSX) for one target city, in one transaction."""
    from inclusive_cities.monitoring import MonitoringError
    from inclusive_cities.monitoring.entry import import_template
    from inclusive_cities.reports import programme_report as pr

    ctx = _ctx(request)
    with ctx.session() as session:
        who = auth.require_user(request, session, csrf_token)
    _may_edit(request, who, city)
    upload = await Upload.read(file, MAX_TEMPLATE_BYTES)
    try:
        upload.check(
            (".xlsx",),
            _("{name}: upload the programme results template (.xlsx)."),
            _("The file is larger than 20 MB: import it with the command line."),
        )
        with upload.saved("ic-programme-upload-") as path:
            summary = import_template(
                ctx.engine, path, programme=pr.PROGRAMME, target_city=city, user=who.email
            )
    except (WebError, MonitoringError) as error:
        return _staff_page(request, who, status_code=400, error=str(error))
    audit(request, who, "programme_upload", f"programme_city:{city}", file=upload.name[:200])
    return _staff_page(
        request,
        who,
        message=_("{name} imported.").format(name=upload.name),
        lines=summary.lines(),
        chosen={"city": city},
    )


def parse_number(text: str, language: str) -> float:
    """A number typed in a form: "1.234,5" or "1.200" in Spanish, "1,234.5" in English, or
    plain ("94.5" reads as a decimal in both)."""
    from inclusive_cities.monitoring import MonitoringError

    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").rstrip("%")
    grouped = re.fullmatch(r"-?\d{1,3}(\.\d{3})+", cleaned) is not None
    if language == "es" and ("," in cleaned or grouped):
        # Spanish writes 1.200,5: dots group thousands, the comma marks the decimals
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        number = float(cleaned)
    except ValueError:
        raise MonitoringError(
            _("Value '{value}' is not a number: type digits, such as 120 or 94,5.").format(
                value=text[:40]
            )
        ) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise MonitoringError(_("Value '{value}' is not a number.").format(value=text[:40]))
    return number
