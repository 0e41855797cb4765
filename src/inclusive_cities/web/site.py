"""What the web's routers share: the site's settings, request context, templates,
middleware and error pages.

Routers import these from here; ``web.app`` assembles the app from them and the routers
(routers never import ``web.app``, which imports them: ``.importlinter``).
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import Path as PathParam
from fastapi import Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import inclusive_cities.store.web_models  # noqa: F401  (the web tables join the metadata)
from inclusive_cities import __version__
from inclusive_cities.config import Basemap
from inclusive_cities.i18n import (
    DEFAULT_LANGUAGE,
    current_language,
    format_day,
    gettext,
    normalise_language,
    use_language,
)
from inclusive_cities.web.errors import WebError
from inclusive_cities.web.specview import SpecProvider

HERE = Path(__file__).resolve().parent
LANG_COOKIE = "lang"
MAX_ROW_ID = 2**31 - 1
"""Largest id, offset or count a URL may carry: ids are 32-bit integers on PostgreSQL, and
SQLite refuses integers of 2^63 or more (those used to end in a 500, now a 422)."""
RowId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ROW_ID)]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class WebSettings(BaseSettings):
    """Web options from ``INCLUSIVE_CITIES_WEB_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="INCLUSIVE_CITIES_WEB_", extra="ignore")

    data_licence: str = "CC BY 4.0"
    cookie_secure: bool = False
    assets_dir: str | None = None
    """Folder holding maplibre-gl, vega, vega-lite and vega-embed (default: ./node_modules)."""


SWAGGER_UI = "swagger-ui-dist"
"""npm package of the API docs page (HTML, JS and CSS of Swagger UI, served locally)."""


def find_assets(settings: WebSettings) -> Path | None:
    """The npm ``node_modules`` folder: from settings, the working folder or the source tree."""
    candidates = [Path(settings.assets_dir)] if settings.assets_dir else []
    candidates += [Path.cwd() / "node_modules", HERE.parents[2] / "node_modules"]
    for folder in candidates:
        if (folder / "maplibre-gl" / "dist" / "maplibre-gl.js").exists():
            return folder
    return None


@dataclass(frozen=True)
class Site:
    """How the site is reached from outside, from ``INCLUSIVE_CITIES_*`` settings.

    ``public_url`` (``INCLUSIVE_CITIES_PUBLIC_URL``, e.g. ``https://observatorio.example.org``)
    is the root of every absolute link (OGC API links) and, when it is https, makes the
    session cookie ``Secure``. Without it links use the request's own host only when that
    host is in ``allowed_hosts`` (``INCLUSIVE_CITIES_ALLOWED_HOSTS``, default the loopback
    names): a forged ``Host`` header then gets root-relative links (``/ogc/...``), never an
    attacker's host echoed back.

    ``trusted_proxies`` (``INCLUSIVE_CITIES_TRUSTED_PROXIES``: addresses or networks, comma
    separated, default none) are the only peers whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed; from anyone else those headers are ignored, so a
    client cannot pick the address the login rate limit and the audit log see.
    """

    public_url: str | None = None
    trusted_proxies: tuple[IpNetwork, ...] = ()
    allowed_hosts: frozenset[str] = frozenset({"localhost", "127.0.0.1", "::1"})

    @classmethod
    def from_settings(cls) -> Site:
        from inclusive_cities.config import get_settings

        settings = get_settings()
        public = (settings.public_url or "").strip().rstrip("/") or None
        if public is not None:
            parts = urlsplit(public)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise WebError(
                    gettext(
                        "INCLUSIVE_CITIES_PUBLIC_URL '{value}' is not a web address: give "
                        "one such as https://observatorio.example.org."
                    ).format(value=public[:200])
                )
        return cls(
            public_url=public,
            trusted_proxies=parse_networks(settings.trusted_proxies),
            allowed_hosts=frozenset(
                h.strip().lower().strip("[]")
                for h in settings.allowed_hosts.split(",")
                if h.strip()
            ),
        )

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """``10.0.0.1, 172.16.0.0/12`` as networks; a bad entry is a one-line error."""
    networks = []
    for entry in text.replace(";", ",").replace(" ", ",").split(","):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as error:
            raise WebError(
                gettext(
                    "INCLUSIVE_CITIES_TRUSTED_PROXIES: '{value}' is not an IP address or "
                    "network: give addresses such as 127.0.0.1 or 10.0.0.0/8, comma separated."
                ).format(value=entry[:100])
            ) from error
    return tuple(networks)


def forwarded_client(site: Site, peer: str, forwarded_for: str) -> str:
    """The client's address: the peer itself unless it is a trusted proxy; then the
    right-most ``X-Forwarded-For`` entry that is not a trusted proxy (entries further left
    were written by the client and prove nothing)."""
    if not site.trusts(peer):
        return peer
    client = peer
    for entry in reversed([e.strip() for e in forwarded_for.split(",") if e.strip()]):
        try:
            ipaddress.ip_address(entry)
        except ValueError:
            break  # not written by a proxy: keep the last trusted hop
        client = entry
        if not site.trusts(entry):
            break
    return client


class ClientAddress:
    """Set the request's client address and scheme, believing forwarded headers only from
    trusted proxies (see :class:`Site`).

    Run the app with ``inclusive-cities serve`` (or uvicorn ``--no-proxy-headers``): a
    server that rewrites the client from ``X-Forwarded-For`` itself would hide the real peer.
    """

    def __init__(self, app: ASGIApp, site: Site) -> None:
        self.app = app
        self.site = site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("client") and self.site.trusted_proxies:
            peer, port = scope["client"]
            if self.site.trusts(peer):
                headers: dict[bytes, list[str]] = {}
                for name, value in scope.get("headers", []):
                    headers.setdefault(name, []).append(value.decode("latin-1"))
                forwarded = ",".join(headers.get(b"x-forwarded-for", []))
                scope["client"] = (forwarded_client(self.site, peer, forwarded), port)
                protos = ",".join(headers.get(b"x-forwarded-proto", [])).split(",")
                proto = protos[-1].strip().lower()
                if proto in ("http", "https"):
                    scope["scheme"] = proto
        await self.app(scope, receive, send)


def client_address(request: Request) -> str:
    """The address the rate limit and the audit log record (see :class:`ClientAddress`)."""
    return request.client.host if request.client else "unknown"


def public_root(request: Request) -> str:
    """The root of absolute links: the configured public URL, else the request's own
    scheme and host when the host is allowed, else "" (root-relative links)."""
    site = context(request).site
    if site.public_url:
        return site.public_url
    host = (request.url.hostname or "").lower().strip("[]")
    if host in site.allowed_hosts:
        return str(request.base_url).rstrip("/")
    return ""


def served_over_https(request: Request) -> bool:
    """Whether cookies must be ``Secure``: https public URL, https request (directly or
    through a trusted proxy), or ``INCLUSIVE_CITIES_WEB_COOKIE_SECURE``."""
    ctx = context(request)
    public = ctx.site.public_url or ""
    return (
        ctx.settings.cookie_secure or public.startswith("https://") or request.url.scheme == "https"
    )


def script_json(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>``, ``&`` and the
    JavaScript line separators are written as ``\\uXXXX`` escapes, so a name such as
    ``</script><img onerror=...>`` stays text. Takes an object or an already dumped string."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return Markup(text)  # every character that could end the block is escaped


class HeadAsGet:
    """Answer ``HEAD`` on every GET route as GET would, without the body (RFC 9110 §9.3.2).

    Caches, link checkers and some GIS clients send HEAD first; FastAPI routes declare GET
    only, so without this every one of them answered 405.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


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
        "default-src 'self'; img-src 'self' data: blob:{tiles}; style-src 'self' "
        "'unsafe-inline'; script-src 'self' 'unsafe-eval'; worker-src 'self' blob:; "
        "connect-src 'self'{tiles}; frame-ancestors 'none'"
    )
    """``{tiles}``: the basemap's tile host, the only outside origin a page may fetch from."""

    def __init__(self, app: ASGIApp, tile_origin: str | None = None) -> None:
        self.app = app
        self.csp = self.CSP.format(tiles=f" {tile_origin}" if tile_origin else "")

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
                    (b"content-security-policy", self.csp.encode()),
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
    site: Site = field(default_factory=Site)
    has_docs_assets: bool = False
    basemap: Basemap | None = None

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
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"  # not computable (a standardised difference with no spread), not "nan"
        from inclusive_cities.web.services import format_number

        return format_number(value, digits, current_language())

    env.filters["number"] = number
    env.filters["day"] = lambda value: format_day(value, current_language())
    env.filters["script_json"] = script_json
    env.filters["unit"] = _unit_label
    return env


def _unit_label(unit: str | None) -> str:
    """Template filter: a unit in the page's language ("per 1,000 inhabitants")."""
    from inclusive_cities.i18n.units import unit_label

    return unit_label(unit)


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
        basemap=ctx.basemap,
        has_assets=ctx.has_assets,
        has_docs_assets=ctx.has_docs_assets,
        **values,
    )
    return HTMLResponse(html, status_code=status_code)


def wants_json(request: Request) -> bool:
    path = request.url.path
    accept = request.headers.get("accept", "")
    return path.startswith(("/api", "/ogc", "/tiles/")) or (
        "application/json" in accept and "text/html" not in accept
    )


def _error(request: Request, status: int, message: str) -> Any:
    if wants_json(request):
        return JSONResponse({"code": status, "description": message}, status_code=status)
    return render(request, "error.html", status_code=status, status=status, message=message)
