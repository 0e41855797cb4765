"""The FastAPI application: public pages, JSON API, OGC API – Features, admin area.

``create_app(database_url)`` builds an app with no process-wide state beyond caches, so
uvicorn can run several workers against one database.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from inclusive_cities import __version__
from inclusive_cities.config import get_basemap
from inclusive_cities.i18n import gettext
from inclusive_cities.store import connect, require_current
from inclusive_cities.web.errors import BadRequest, NotFound, WebError
from inclusive_cities.web.site import (
    HERE,
    LANG_COOKIE,
    MAX_ROW_ID,
    SWAGGER_UI,
    ClientAddress,
    HeadAsGet,
    IpNetwork,
    LanguageMiddleware,
    Offset,
    RowId,
    SecurityHeaders,
    Site,
    WebContext,
    WebSettings,
    _error,
    client_address,
    context,
    find_assets,
    forwarded_client,
    language_of,
    make_templates,
    parse_networks,
    public_root,
    render,
    script_json,
    served_over_https,
    session_scope,
    wants_json,
)
from inclusive_cities.web.specview import SpecProvider, marker_engine_specs

__all__ = [  # the site's pieces stay importable from here
    "HERE",
    "LANG_COOKIE",
    "MAX_ROW_ID",
    "SWAGGER_UI",
    "ClientAddress",
    "HeadAsGet",
    "IpNetwork",
    "LanguageMiddleware",
    "Offset",
    "RowId",
    "SecurityHeaders",
    "Site",
    "WebContext",
    "WebSettings",
    "client_address",
    "context",
    "create_app",
    "find_assets",
    "forwarded_client",
    "language_of",
    "make_templates",
    "parse_networks",
    "public_root",
    "render",
    "script_json",
    "served_over_https",
    "session_scope",
    "wants_json",
]


def _standard_detail(status: int) -> str | None:
    """What an error page says for the statuses the framework raises on its own, in the
    page's language (a 405 page read "Method Not Allowed" under a Spanish title: F10)."""
    return {
        400: lambda: gettext("The request could not be understood."),
        401: lambda: gettext("Sign in to open this page."),
        403: lambda: gettext("Your account may not open this page."),
        404: lambda: gettext("This page does not exist."),
        405: lambda: gettext(
            "This address receives a form; it cannot be opened on its own. Go back to the page "
            "that has the form."
        ),
        413: lambda: gettext("The file is too large."),
        429: lambda: gettext("Too many requests: wait a moment and try again."),
    }.get(status, lambda: None)()


def create_app(
    database_url: str | None = None,
    *,
    specs: SpecProvider | None = None,
    settings: WebSettings | None = None,
) -> FastAPI:
    """The observatory web app for the database at ``database_url``."""
    from inclusive_cities.config import get_settings
    from inclusive_cities.web import admin, api, ogc, pages

    url = database_url or get_settings().database_url
    engine = connect(url)
    require_current(engine)
    settings = settings or WebSettings()
    assets = find_assets(settings)
    app = FastAPI(
        title="Inclusive Cities Observatory API",
        version=__version__,
        description=(
            "Published, disclosure-safe figures of the Inclusive Cities Observatory: cities, "
            "spatial units, indicators, observations, Urban Inclusion Marker runs and results, "
            "and OGC API – Features for every published layer."
        ),
        docs_url=None,
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    site = Site.from_settings()
    basemap = get_basemap()
    app.state.web = WebContext(
        engine,
        specs or marker_engine_specs,
        settings,
        make_templates(),
        bool(assets),
        site,
        assets is not None and (assets / SWAGGER_UI / "swagger-ui-bundle.js").exists(),
        basemap,
    )
    from inclusive_cities.web.tiles import PublishedCache

    app.add_middleware(PublishedCache)  # innermost: ETags of published layers (web/tiles.py)
    app.add_middleware(SecurityHeaders, tile_origin=basemap.origin if basemap else None)
    app.add_middleware(LanguageMiddleware)
    app.add_middleware(HeadAsGet)
    app.add_middleware(ClientAddress, site=site)  # outermost: every layer sees the real client
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """Browsers ask for /favicon.ico whatever the page links: answer with the SVG icon."""
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    if assets is not None:
        app.mount("/assets", StaticFiles(directory=assets), name="assets")

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound) -> Any:
        return _error(request, 404, str(error))

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, error: BadRequest) -> Any:
        return _error(request, 400, str(error))

    @app.exception_handler(WebError)
    async def web_error(request: Request, error: WebError) -> Any:
        return _error(request, 400, str(error))

    @app.exception_handler(OperationalError)
    async def store_error(request: Request, error: OperationalError) -> Any:
        from inclusive_cities.store.busy import is_busy

        if not is_busy(error):
            raise error
        # SQLite's one writer is busy (a publish or an import): a moment to wait, not a bug
        response = _error(
            request,
            503,
            gettext(
                "The observatory is being updated (another operation is writing to its "
                "database). Try again in a few minutes."
            ),
        )
        response.headers["Retry-After"] = "60"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Any:
        detail = error.detail if isinstance(error.detail, str) else gettext("Error")
        if detail == HTTPStatus(error.status_code).phrase:  # Starlette's words are English
            detail = _standard_detail(error.status_code) or detail
        response = _error(request, error.status_code, detail)
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        """Swagger UI from the npm package served under /assets (no CDN, which the CSP
        would block); its start-up code is /static/docs.js, not an inline script."""
        return render(request, "docs.html", title=app.title, swagger=SWAGGER_UI)

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(ogc.router)
    app.include_router(admin.router)
    app.include_router(admin.api_router)
    from inclusive_cities.web import table_upload

    app.include_router(table_upload.router)
    from inclusive_cities.web import planning

    app.include_router(planning.router)
    from inclusive_cities.web import governance

    app.include_router(governance.router)
    from inclusive_cities.web import territorial_plan, workshops

    app.include_router(workshops.router)
    app.include_router(territorial_plan.router)
    from inclusive_cities.web import tiles

    app.include_router(tiles.router)
    from inclusive_cities.web import programme

    app.include_router(programme.router)
    from inclusive_cities.web import report_jobs

    app.include_router(report_jobs.router)
    return app
