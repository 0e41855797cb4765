"""The FastAPI application: public pages, JSON API, OGC API – Features, admin area.

``create_app(database_url)`` builds an app with no process-wide state beyond caches, so
uvicorn can run several workers against one database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import inclusive_cities.store.web_models  # noqa: F401  (the web tables join the metadata)
from inclusive_cities import __version__
from inclusive_cities.i18n import (
    DEFAULT_LANGUAGE,
    current_language,
    gettext,
    normalise_language,
    use_language,
)
from inclusive_cities.store import connect, require_current
from inclusive_cities.web.errors import BadRequest, NotFound, WebError
from inclusive_cities.web.specview import SpecProvider, marker_engine_specs

HERE = Path(__file__).resolve().parent
LANG_COOKIE = "lang"


class WebSettings(BaseSettings):
    """Web options from ``INCLUSIVE_CITIES_WEB_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="INCLUSIVE_CITIES_WEB_", extra="ignore")

    basemap_url: str | None = None
    """Optional raster tile URL template ({z}/{x}/{y}); without it maps draw only the city."""
    data_licence: str = "CC BY 4.0"
    cookie_secure: bool = False
    assets_dir: str | None = None
    """Folder holding maplibre-gl, vega, vega-lite and vega-embed (default: ./node_modules)."""


def find_assets(settings: WebSettings) -> Path | None:
    """The npm ``node_modules`` folder: from settings, the working folder or the source tree."""
    candidates = [Path(settings.assets_dir)] if settings.assets_dir else []
    candidates += [Path.cwd() / "node_modules", HERE.parents[2] / "node_modules"]
    for folder in candidates:
        if (folder / "maplibre-gl" / "dist" / "maplibre-gl.js").exists():
            return folder
    return None


class LanguageMiddleware:
    """Pick the page language from ``?lang=``, then the ``lang`` cookie, else Spanish.

    A ``?lang=`` choice is remembered in a cookie. Pure ASGI (not BaseHTTPMiddleware) so the
    choice lives in the request's own context and costs nothing on hot API paths.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        asked = normalise_language((query.get("lang") or [""])[0])
        cookie_lang = None
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                jar: SimpleCookie = SimpleCookie()
                try:
                    jar.load(value.decode("latin-1"))
                except Exception:  # a malformed cookie header must not break the page
                    continue
                if LANG_COOKIE in jar:
                    cookie_lang = normalise_language(jar[LANG_COOKIE].value)
        language = asked or cookie_lang or DEFAULT_LANGUAGE
        use_language(language)
        scope.setdefault("state", {})["language"] = language

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and asked:
                headers = list(message.get("headers", []))
                headers.append(
                    (
                        b"set-cookie",
                        f"{LANG_COOKIE}={asked}; Path=/; Max-Age=31536000; SameSite=Lax".encode(),
                    )
                )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class SecurityHeaders:
    """Headers every response carries: no sniffing, no framing, a same-origin CSP."""

    CSP = (
        "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self' "
        "'unsafe-inline'; script-src 'self' 'unsafe-eval'; worker-src 'self' blob:; "
        "connect-src 'self' https:; frame-ancestors 'none'"
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", self.CSP.encode()),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass
class WebContext:
    engine: Engine
    specs: SpecProvider
    settings: WebSettings
    templates: Environment
    has_assets: bool

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=gettext, ngettext=lambda s, p, n: gettext(s if n == 1 else p), newstyle=False
    )
    env.globals["version"] = __version__

    def number(value: Any, digits: int = 1) -> str:
        if value is None:
            return "—"
        from inclusive_cities.web.services import format_number

        return format_number(value, digits, current_language())

    env.filters["number"] = number
    return env


def context(request: Request) -> WebContext:
    return request.app.state.web  # type: ignore[no-any-return]


def session_scope(request: Request) -> Iterator[Session]:
    with context(request).session() as session:
        yield session


def language_of(request: Request) -> str:
    language = request.scope.get("state", {}).get("language", DEFAULT_LANGUAGE)
    use_language(language)
    return str(language)


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    ctx = context(request)
    language = language_of(request)
    query = dict(request.query_params)
    query.pop("lang", None)
    other = "en" if language == "es" else "es"
    switch = request.url.path + "?" + urlencode({**query, "lang": other})
    html = ctx.templates.get_template(template).render(
        request=request,
        lang=language,
        other_lang=other,
        switch_url=switch,
        basemap_url=ctx.settings.basemap_url,
        has_assets=ctx.has_assets,
        **values,
    )
    return HTMLResponse(html, status_code=status_code)


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
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.web = WebContext(
        engine, specs or marker_engine_specs, settings, make_templates(), bool(assets)
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(LanguageMiddleware)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
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

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Any:
        detail = error.detail if isinstance(error.detail, str) else gettext("Error")
        if error.status_code == 404 and detail == "Not Found":
            detail = gettext("This page does not exist.")
        response = _error(request, error.status_code, detail)
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(ogc.router)
    app.include_router(admin.router)
    app.include_router(admin.api_router)
    return app


def wants_json(request: Request) -> bool:
    path = request.url.path
    accept = request.headers.get("accept", "")
    return path.startswith(("/api", "/ogc")) or (
        "application/json" in accept and "text/html" not in accept
    )


def _error(request: Request, status: int, message: str) -> Any:
    if wants_json(request):
        return JSONResponse({"code": status, "description": message}, status_code=status)
    return render(request, "error.html", status_code=status, status=status, message=message)
