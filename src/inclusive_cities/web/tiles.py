"""Published layers as Mapbox Vector Tiles, and HTTP caching of everything published.

A city of 45,000 blocks is tens of megabytes of GeoJSON; as vector tiles the browser fetches
only the few tiles it shows, each cut and encoded on request (:mod:`inclusive_cities.web.mvt`)
and kept in a cache under the publication's version. Tiles carry exactly the properties the
GeoJSON of the same layer carries (nulls are left out: MVT has no null), so a suppressed value
stays suppressed.

* ``/tiles/ogc/{collection}/{z}/{x}/{y}.mvt`` — an OGC collection, properties as its items;
  ``/tiles/ogc/{collection}/tiles.json`` its TileJSON (QGIS, MapLibre).
* ``/tiles/map/{city}/layer.json`` — what the map explorer asks for: the GeoJSON of
  ``/api/cities/{city}/map`` for small layers, or above :func:`tile_threshold` features the
  same legend and metadata with a tile URL template instead of the features.
* ``/tiles/map/{city}/{z}/{x}/{y}.mvt`` — those tiles, properties as the map's GeoJSON.

:class:`PublishedCache` gives every published, immutable response (OGC collections and items,
tiles, map layers, downloads) an ETag derived from the publication's version, so a repeated
map load is answered ``304 Not Modified`` without building anything.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import logging
import os
import re
import threading
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import numpy as np
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inclusive_cities.i18n import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models
from inclusive_cities.web import data, services
from inclusive_cities.web.errors import NotFound
from inclusive_cities.web.mvt import HALF_WORLD, TileLayer
from inclusive_cities.web.site import context, language_of, session_scope

log = logging.getLogger(__name__)

router = APIRouter(prefix="/tiles", tags=["Vector tiles"])
DB = Annotated[Session, Depends(session_scope)]
Code = Annotated[str, Query(max_length=64)]
MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 16
"""Deepest zoom tiles are cut at; MapLibre over-zooms them beyond (blocks need no more)."""
LAYER_NAME = "units"
DETAIL_ZOOM = 12
"""From this zoom the explorer's tiles hold one feature per unit with all its properties (a
block is ~5 px wide, worth a click, and the unit list reads them); below it, one MultiPolygon
per class and locality per tile (:meth:`TileLayer.coalesced`): a block is a pixel or two and
its colour is all anyone sees, and the browser draws the overview several times faster."""
COALESCE_KEYS = ("cls", "colour", "label", "loc", "loc_name")
"""What the coalesced features carry: what the legend filter, the locality filter and the
hover read at overview zooms. Every unit of a group carries the same values itself."""
DEFAULT_THRESHOLD = 5000
"""Above this many features the explorer draws tiles instead of one GeoJSON document."""
TILE_CACHE = data._Cache(size=512)
"""Encoded (gzip) tiles: about 2,000 features each at city zooms, a few hundred kB at most."""
Zoom = Annotated[int, PathParam(ge=0, le=MAX_ZOOM)]
TileIndex = Annotated[int, PathParam(ge=0, le=2**MAX_ZOOM - 1)]


def tile_threshold() -> int:
    """``INCLUSIVE_CITIES_WEB_TILE_THRESHOLD`` (features), read per request so one setting
    serves every worker; 5,000 by default."""
    text = os.environ.get("INCLUSIVE_CITIES_WEB_TILE_THRESHOLD", "").strip()
    return int(text) if text.isdigit() else DEFAULT_THRESHOLD


# -- the publication's version and HTTP caching ----------------------------------------------


def published_version(session: Session) -> str:
    """Changes whenever anything a published layer is read from changes: publications,
    observations, units (and, when present, the OGC feature sources of other domains)."""
    parts: list[Any] = [
        data.publication_fingerprint(session),
        data.units_fingerprint(session, 0)[1:],
    ]
    if importlib.util.find_spec("inclusive_cities.web.feature_collections") is not None:
        from inclusive_cities.web import feature_collections

        parts.append(feature_collections.fingerprint(session))
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


def request_version(request: Request, session: Session) -> str:
    """The version :class:`PublishedCache` read for this request (else read it now)."""
    known = request.scope.get("state", {}).get(VERSION_STATE)
    return str(known) if known else published_version(session)


def _engine_version(engine: Engine) -> str:
    with data.engine_session(engine) as session:
        return published_version(session)


CACHED_PATHS = re.compile(
    r"^/(ogc/collections(/.*)?|tiles/.+|downloads/[^/]+|api/cities/[^/]+/map)$"
)
"""Published, immutable between publications: the same URL gives the same bytes."""
VERSION_STATE = "published_version"
REVALIDATE = "public, no-cache"
"""Stored by browsers and proxies, but asked about again (an If-None-Match costs a 304)."""
IMMUTABLE = "public, max-age=86400, immutable"
"""A tile URL carrying the current version (``v=``) can never change: no need to ask."""


def _etag_matches(header: str, tag: str) -> bool:
    if header.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == tag for t in header.split(","))


class PublishedCache:
    """ETag and Cache-Control on published layers; ``If-None-Match`` answered with 304.

    Tiles (``/tiles/...``): the ETag is a digest of :func:`published_version`, the path, the
    query, the language and the content coding, computed before the route runs (which reuses
    the version), so a 304 builds nothing. Re-publishing, importing or replacing units changes
    the version and therefore every ETag.

    OGC collections and items, map layers and downloads are already served from caches keyed
    on the publication's fingerprint, at two or three small queries a request that their tests
    hold them to: their ETag is a digest of the bytes sent, so it needs no query of its own
    and changes exactly when what a client would receive changes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, _warm_after_startup(scope, send))
            return
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not CACHED_PATHS.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        asked = headers.get("if-none-match", "")
        if not scope["path"].startswith("/tiles/"):
            await self.app(scope, receive, _tag_by_content(send, asked))
            return
        engine = scope["app"].state.web.engine
        version = await run_in_threadpool(_engine_version, engine)
        query = scope.get("query_string", b"").decode("latin-1")
        language = scope.get("state", {}).get("language", DEFAULT_LANGUAGE)
        coding = "gzip" if "gzip" in headers.get("accept-encoding", "") else ""
        key = "\n".join([version, scope["path"], query, language, coding])
        tag = '"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'
        scope.setdefault("state", {})[VERSION_STATE] = version  # the routes need not ask again
        pinned = f"v={version}" in query.split("&")
        common = _cache_headers(tag, IMMUTABLE if pinned else REVALIDATE)
        if _etag_matches(asked, tag):
            await _not_modified(send, common)
            return

        async def send_with_tag(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"vary"]
                message["headers"] = [*kept, *common]
            await send(message)

        await self.app(scope, receive, send_with_tag)


def _cache_headers(tag: str, cache_control: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"etag", tag.encode()),
        (b"cache-control", cache_control.encode()),
        (b"vary", b"Accept-Encoding, Cookie"),
    ]


async def _not_modified(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": 304, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _tag_by_content(send: Send, asked: str) -> Send:
    """A ``send`` that holds a 200 response until its last byte, tags it with a digest of
    its bytes, and sends 304 instead when the client already has them."""
    start: Message = {}
    chunks: list[bytes] = []

    async def tagged(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            if message["status"] != 200:
                await send(message)
                return
            start = message
            return
        if not start or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks)
        tag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        common = _cache_headers(tag, REVALIDATE)
        if _etag_matches(asked, tag):
            await _not_modified(send, common)
            return
        kept = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"vary"]
        await send({**start, "headers": [*kept, *common]})
        await send({"type": "http.response.body", "body": body})

    return tagged


# -- tiles -------------------------------------------------------------------------------------


def _tile_response(request: Request, key: Any, z: int, x: int, y: int, layer: Any) -> Response:
    """The tile z/x/y of the layer ``layer()`` builds, from the cache when it was cut before
    (``key`` names the layer and the publication's version, so a hit reads no data)."""
    if x >= 2**z or y >= 2**z:
        raise NotFound(
            _("There is no tile {z}/{x}/{y}: x and y run from 0 to {last} at zoom {z}.").format(
                z=z, x=x, y=y, last=2**z - 1
            )
        )
    packed = _cut(key, z, x, y, layer)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(packed, media_type=MVT, headers={"content-encoding": "gzip"})
    return Response(gzip.decompress(packed), media_type=MVT)


def _cut(key: Any, z: int, x: int, y: int, layer: Any) -> bytes:
    """The gzip bytes of tile z/x/y, cut once per layer version (then from memory)."""
    return TILE_CACHE.get(
        (key, z, x, y), lambda: gzip.compress(layer().encode(z, x, y, MAX_ZOOM), 5)
    )


def ogc_layer(request: Request, session: Session, collection_id: str) -> tuple[Any, TileLayer]:
    """An OGC collection as a tile layer: the items' geometries and properties, feature ids
    1, 2, ... in the items' order (MVT ids are integers; the fid is the ``code`` property)."""
    from inclusive_cities.web import ogc

    found = ogc._find(session, collection_id)
    table = ogc._table(request, session, found)
    key = ("mvt-ogc", found.id, request_version(request, session))
    layer = data.MAP_CACHE.get(
        key,
        lambda: TileLayer.build(
            LAYER_NAME, np.arange(1, len(table.fids) + 1), table.geoms, table.props
        ),
    )
    return key, layer


@router.get(
    "/ogc/{collection_id}/{z}/{x}/{y}.mvt",
    summary="A published OGC collection as Mapbox Vector Tiles",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}},
)
def ogc_tile(
    request: Request, session: DB, collection_id: str, z: Zoom, x: TileIndex, y: TileIndex
) -> Response:
    key = ("ogc", collection_id, language_of(request), request_version(request, session))
    return _tile_response(
        request, key, z, x, y, lambda: ogc_layer(request, session, collection_id)[1]
    )


@router.get("/ogc/{collection_id}/tiles.json", summary="TileJSON of a published OGC collection")
def ogc_tilejson(request: Request, session: DB, collection_id: str) -> Response:
    """TileJSON 3.0.0, so QGIS and MapLibre find the tiles from one URL."""
    from inclusive_cities.web import ogc

    found = ogc._find(session, collection_id)
    table = ogc._table(request, session, found)
    version = request_version(request, session)
    root = str(request.base_url).rstrip("/")
    body = {
        "tilejson": "3.0.0",
        "name": found.id,
        "tiles": [f"{root}/tiles/ogc/{found.id}/{{z}}/{{x}}/{{y}}.mvt?v={version}"],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": _bbox(table.bounds),
        "vector_layers": [
            {"id": LAYER_NAME, "fields": {c: _field_type(c, table.numeric) for c in table.columns}}
        ],
    }
    return Response(data.dumps(body), media_type="application/json")


def _field_type(column: str, numeric: set[str]) -> str:
    return "Number" if column in numeric else "String"


def _bbox(bounds: np.ndarray) -> list[float] | None:
    if not len(bounds):
        return None
    return [
        float(np.nanmin(bounds[:, 0])),
        float(np.nanmin(bounds[:, 1])),
        float(np.nanmax(bounds[:, 2])),
        float(np.nanmax(bounds[:, 3])),
    ]


# -- the map explorer's layers ------------------------------------------------------------------


class MapLayer:
    """A map explorer layer parsed once: its metadata (legend, title, bbox) and tile layer."""

    def __init__(self, head: dict[str, Any], count: int, layer: TileLayer | None) -> None:
        self.head = head
        self.count = count
        self.layer = layer


def _map_body(
    request: Request,
    session: Session,
    city: str,
    layer: str,
    period: str | None,
    compare: str | None,
    classification: str,
    k: int,
) -> tuple[Any, str]:
    """The explorer's GeoJSON of a layer (the cached string ``/api/cities/.../map`` sends;
    its properties do not depend on the zoom, so the cheapest zoom is asked for)."""
    ctx = context(request)
    row = services.city_by_code(session, city)
    chosen = services.pick_period(session, row.id, period)
    other = services.pick_period(session, row.id, compare) if compare else None
    if layer.startswith("ogc:"):
        from inclusive_cities.web import ogc

        body = ogc.interpolation_map_json(request, session, row.code, layer, classification, k)
    else:
        body = services.map_layer_json(
            session,
            ctx.specs,
            row,
            chosen,
            layer,
            zoom=8,
            method=classification,
            k=k,
            compare=other,
            language=language_of(request),
        )
    return row.id, body


def map_layer(request: Request, session: Session, city_id: int, body: str) -> MapLayer:
    """The parsed layer, cached under the GeoJSON it comes from. Geometries are the units'
    own (full precision, from the store), in the same order as the GeoJSON's features."""

    def build() -> MapLayer:
        document = json.loads(body)
        features = document.pop("features")
        head = {k: v for k, v in document.items() if k != "type"}
        if not features:
            return MapLayer(head, 0, None)
        ids = np.array([f["id"] for f in features], dtype=np.int64)
        props = [f["properties"] for f in features]
        if head.get("kind") == "interpolation":
            geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
        else:
            units = data.unit_table(session, city_id)
            level = int(units.level_ids[units.row(int(ids[0]))])
            stored = data.level_geometries(session, city_id, level)
            position = {int(u): i for i, u in enumerate(stored.unit_ids)}
            geoms = stored.geoms[[position[int(u)] for u in ids]]
        tiles = TileLayer.build(LAYER_NAME, ids, geoms, props)
        if head.get("kind") != "interpolation":  # grid cells are few and large: kept whole
            tiles.coalesced(COALESCE_KEYS, DETAIL_ZOOM)
        return MapLayer(head, len(features), tiles)

    return data.MAP_CACHE.get(("mvt-map", hash(body), len(body)), build)


@router.get(
    "/map/{city}/layer.json",
    summary="A map explorer layer: GeoJSON when small, else legend and a tile URL template",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def map_layer_json(
    request: Request,
    session: DB,
    city: str,
    layer: Annotated[str, Query(max_length=200)] = "node:UIM",
    period: Code | None = None,
    compare: Code | None = None,
    zoom: Annotated[int | None, Query(ge=0, le=24)] = None,
    classification: Annotated[str, Query(max_length=20)] = "levels",
    k: Annotated[int, Query(ge=2, le=7)] = 5,
) -> Response:
    from inclusive_cities.web import api

    city_id, body = _map_body(request, session, city, layer, period, compare, classification, k)
    parsed = map_layer(request, session, city_id, body)
    if parsed.count <= tile_threshold():
        return api.map_layer(
            request, session, city, layer, period, compare, zoom, classification, k
        )
    query = {"layer": layer, "classification": classification, "k": str(k)}
    query.update({"period": period or parsed.head.get("period") or ""})
    if compare:
        query["compare"] = compare
    query["lang"] = language_of(request)
    query["v"] = request_version(request, session)
    template = f"/tiles/map/{quote(city)}/{{z}}/{{x}}/{{y}}.mvt?" + urlencode(query)
    body_out = {
        "type": "FeatureCollection",
        **parsed.head,
        "featureCount": parsed.count,
        "tiles": [template],
        "sourceLayer": LAYER_NAME,
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "detailZoom": DETAIL_ZOOM if parsed.layer and parsed.layer.classes else 0,
        "features": [],
    }
    return Response(data.dumps(body_out), media_type="application/geo+json")


@router.get(
    "/map/{city}/{z}/{x}/{y}.mvt",
    summary="A map explorer layer as Mapbox Vector Tiles (properties as its GeoJSON)",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}},
)
def map_tile(
    request: Request,
    session: DB,
    city: str,
    z: Zoom,
    x: TileIndex,
    y: TileIndex,
    layer: Annotated[str, Query(max_length=200)] = "node:UIM",
    period: Code | None = None,
    compare: Code | None = None,
    classification: Annotated[str, Query(max_length=20)] = "levels",
    k: Annotated[int, Query(ge=2, le=7)] = 5,
) -> Response:
    version = request_version(request, session)
    key = ("map", city, layer, period, compare, classification, k, language_of(request), version)

    def build() -> TileLayer:
        city_id, body = _map_body(request, session, city, layer, period, compare, classification, k)
        parsed = map_layer(request, session, city_id, body)
        if parsed.layer is None:
            return TileLayer.build(LAYER_NAME, np.zeros(0), np.array([], dtype=object), [])
        return parsed.layer

    return _tile_response(request, key, z, x, y, build)


# -- warming the big layers at start-up -------------------------------------------------------


def _warm_after_startup(scope: Scope, send: Send) -> Send:
    """A lifespan ``send`` that, once the application has started, warms the big layers in a
    background thread (the server answers requests meanwhile; a request for a layer being
    built waits for that one build instead of starting another)."""

    async def sending(message: Message) -> None:
        await send(message)
        if message["type"] == "lifespan.startup.complete" and hasattr(scope["app"], "state"):
            web = getattr(scope["app"].state, "web", None)
            if web is not None and os.environ.get("INCLUSIVE_CITIES_WEB_TILE_WARM") != "0":
                threading.Thread(
                    target=warm, args=(scope["app"],), name="tiles-warm", daemon=True
                ).start()
                threading.Thread(
                    target=_warm_ogc, args=(scope["app"],), name="ogc-warm", daemon=True
                ).start()

    return sending


def _warm_ogc(app: Any) -> None:
    from inclusive_cities.web import ogc  # the OGC routes import this module

    ogc.warm(app)


def warm(app: Any) -> int:
    """Build the map explorer's opening layer of every city above :func:`tile_threshold`
    units (latest published period, first layer, both languages) and cut its overview tiles,
    so the first visitor after a start does not wait the ~10 s that building a 50,000-block
    layer takes. Returns the number of tiles cut. Errors are logged, never raised: warming
    is an optimisation, the first request would build the same layer."""
    cut = 0
    try:
        with data.engine_session(app.state.web.engine) as session:
            sizes = session.execute(
                select(models.SpatialUnit.city_id, func.count()).group_by(
                    models.SpatialUnit.city_id, models.SpatialUnit.level_id
                )
            ).all()
            threshold = tile_threshold()
            big = sorted({city_id for city_id, count in sizes if count > threshold})
            for city_id in big:
                cut += _warm_city(app, session, city_id)
    except Exception:  # a failed warm-up only means a slower first visit
        log.warning("Warming the vector tile layers failed", exc_info=True)
    return cut


def _warm_city(app: Any, session: Session, city_id: int) -> int:
    from starlette.requests import Request as StarletteRequest

    city = session.get(models.City, city_id)
    if city is None or not services.published_periods(session, city_id):
        return 0
    period = services.pick_period(session, city_id, None)
    version = published_version(session)
    cut = 0
    for language in sorted(SUPPORTED_LANGUAGES, key=lambda code: code != DEFAULT_LANGUAGE):
        request = StarletteRequest(
            {"type": "http", "app": app, "headers": [], "state": {"language": language}}
        )
        options = services.layer_options(session, app.state.web.specs, city_id, period.id, language)
        if not options or options[0].key.startswith("ogc:"):
            continue
        layer_key = options[0].key
        _id, body = _map_body(
            request, session, city.code, layer_key, period.code, None, "levels", 5
        )
        parsed = map_layer(request, session, city_id, body)
        tiles = parsed.layer
        if tiles is None or parsed.count <= tile_threshold():
            continue
        key = ("map", city.code, layer_key, period.code, None, "levels", 5, language, version)
        for z, x, y in _overview_tiles(tiles.bounds):
            _cut(key, z, x, y, lambda built=tiles: built)
            cut += 1
    return cut


def _overview_tiles(
    bounds: np.ndarray, most: int = 16, zooms: int = 3
) -> list[tuple[int, int, int]]:
    """Tiles over the layer's extent (Web Mercator bounds) at the ``zooms`` deepest zooms
    below :data:`DETAIL_ZOOM` where the extent spans at most ``most`` tiles: the zooms a
    city opens at on a phone, a laptop or a wide screen (further out, one tile holds the
    whole city and costs a second to cut for a view nobody opens with)."""
    if not len(bounds):
        return []
    minx, miny = np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1])
    maxx, maxy = np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])
    out: list[tuple[int, int, int]] = []
    for z in range(DETAIL_ZOOM):
        size = 2 * HALF_WORLD / 2**z
        last = 2**z - 1
        x0, x1 = (int(min(last, max(0, (v + HALF_WORLD) // size))) for v in (minx, maxx))
        y0, y1 = (int(min(last, max(0, (HALF_WORLD - v) // size))) for v in (maxy, miny))
        if (x1 - x0 + 1) * (y1 - y0 + 1) > most:
            break
        out += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    deepest = max((z for z, _x, _y in out), default=0)
    return [t for t in out if t[0] > deepest - zooms]
