"""OGC API – Features Part 1 (core, GeoJSON, OpenAPI 3.0) for every published layer.

Conformance: http://www.opengis.net/doc/IS/ogcapi-features-1/1.0 (OGC 17-069r4). Items are
served from pre-serialised features, so paging and bbox filters only slice and join strings.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.web import data, exports
from inclusive_cities.web.app import context, language_of, session_scope
from inclusive_cities.web.errors import BadRequest, NotFound

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])
DB = Annotated[Session, Depends(session_scope)]
GEOJSON = "application/geo+json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
MAX_LIMIT = 10000
RESERVED = {"limit", "offset", "bbox", "datetime", "f", "lang", "bbox-crs", "crs"}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _json(body: Any, media_type: str = "application/json") -> Response:
    return Response(data.dumps(body), media_type=media_type)


@router.get("", summary="Landing page")
def landing(request: Request) -> Response:
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    return _json(
        {
            "title": _("Inclusive Cities Observatory"),
            "description": _("Published layers of the observatory as OGC API – Features."),
            "links": [
                {"href": base, "rel": "self", "type": "application/json", "title": "this"},
                {
                    "href": root + "/openapi.json",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "OpenAPI",
                },
                {"href": root + "/docs", "rel": "service-doc", "type": "text/html"},
                {"href": base + "/conformance", "rel": "conformance", "type": "application/json"},
                {"href": base + "/collections", "rel": "data", "type": "application/json"},
            ],
        }
    )


@router.get("/conformance", summary="Conformance classes")
def conformance() -> Response:
    return _json({"conformsTo": CONFORMANCE})


def _collection_doc(
    request: Request, session: Session, collection: data.Collection, language: str
) -> dict[str, Any]:
    ctx = context(request)
    base = _base(request) + "/collections/" + collection.id
    spec = ctx.specs(collection.spec_code) if collection.kind == "marker" else None
    extent = None
    geoms = data.level_geometries(session, collection.city_id, collection.level_id)
    if len(geoms.bounds):
        b = geoms.bounds
        extent = [
            float(np.nanmin(b[:, 0])),
            float(np.nanmin(b[:, 1])),
            float(np.nanmax(b[:, 2])),
            float(np.nanmax(b[:, 3])),
        ]
    doc: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title(language, spec),
        "description": (_("Synthetic demonstration data.") + " " if collection.synthetic else "")
        + _("Period {period}.").format(period=collection.period_label),
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            {"href": base, "rel": "self", "type": "application/json"},
            {"href": base + "/items", "rel": "items", "type": GEOJSON},
            {"href": base + "/schema", "rel": "describedby", "type": "application/schema+json"},
        ],
    }
    if extent:
        doc["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    return doc


@router.get("/collections", summary="Published layers")
def collections(request: Request, session: DB) -> Response:
    language = language_of(request)
    base = _base(request)
    docs = [
        _collection_doc(request, session, c, language) for c in data.published_collections(session)
    ]
    return _json(
        {
            "links": [{"href": base + "/collections", "rel": "self", "type": "application/json"}],
            "collections": docs,
        }
    )


def _find(session: Session, collection_id: str) -> data.Collection:
    found = data.find_collection(session, collection_id)
    if found is None:
        raise NotFound(_("There is no published collection {id}.").format(id=collection_id[:80]))
    return found


@router.get("/collections/{collection_id}", summary="One published layer")
def collection(request: Request, session: DB, collection_id: str) -> Response:
    return _json(
        _collection_doc(request, session, _find(session, collection_id), language_of(request))
    )


@router.get("/collections/{collection_id}/schema", summary="JSON Schema of the features")
def schema(request: Request, session: DB, collection_id: str) -> Response:
    """Property types, so clients (GDAL, QGIS) need not guess them from the first page."""
    ctx = context(request)
    found = _find(session, collection_id)
    table = exports.feature_table(session, ctx.specs, found)
    integers = {"rank", "n"}
    properties = {
        name: {
            "type": "integer"
            if name in integers
            else "number"
            if name in table.numeric
            else "string"
        }
        for name in table.columns
    }
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _base(request) + f"/collections/{found.id}/schema",
        "type": "object",
        "title": found.id,
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string"},
            "geometry": {"$ref": "https://geojson.org/schema/Geometry.json"},
            "properties": {"type": "object", "properties": properties},
        },
    }
    return _json(body, "application/schema+json")


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError as error:
        raise BadRequest(
            _("bbox must be four numbers: minx,miny,maxx,maxy (got {value}).").format(
                value=text[:80]
            )
        ) from error
    if len(parts) == 6:
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4 or not all(np.isfinite(parts)) or parts[0] > parts[2] or parts[1] > parts[3]:
        raise BadRequest(
            _("bbox must be four numbers: minx,miny,maxx,maxy (got {value}).").format(
                value=text[:80]
            )
        )
    return parts[0], parts[1], parts[2], parts[3]


def _matches(value: Any, wanted: str) -> bool:
    if value is None:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float(value) == float(wanted)
        except ValueError:
            return False
    return str(value) == wanted


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a layer (limit, offset, bbox and property filters)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def items(
    request: Request,
    session: DB,
    collection_id: str,
    limit: Annotated[int, Query(ge=1)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    bbox: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    ctx = context(request)
    found = _find(session, collection_id)
    table = exports.feature_table(session, ctx.specs, found)
    limit = min(limit, MAX_LIMIT)
    selected = np.ones(len(table.fids), dtype=bool)
    if bbox:
        minx, miny, maxx, maxy = parse_bbox(bbox)
        b = table.bounds
        selected &= (b[:, 0] <= maxx) & (b[:, 2] >= minx) & (b[:, 1] <= maxy) & (b[:, 3] >= miny)
        if selected.any():
            box = shapely.box(minx, miny, maxx, maxy)
            candidates = np.flatnonzero(selected)
            selected[candidates] = shapely.intersects(table.geoms[candidates], box)
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    for name, wanted in filters.items():
        if name not in table.columns:
            raise BadRequest(
                _("{name} is not a property of this collection: use one of {names}.").format(
                    name=name[:64], names=", ".join(table.columns)
                )
            )
        selected &= np.array([_matches(p.get(name), wanted) for p in table.props], dtype=bool)
    chosen = np.flatnonzero(selected)
    page = chosen[offset : offset + limit]
    base = _base(request) + f"/collections/{found.id}/items"
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit")}

    def link(rel: str, at: int) -> dict[str, str]:
        query = urlencode({**params, "limit": limit, "offset": at})
        return {"href": f"{base}?{query}", "rel": rel, "type": GEOJSON}

    links = [link("self", offset)]
    if offset + limit < len(chosen):
        links.append(link("next", offset + limit))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    links.append(
        {
            "href": _base(request) + f"/collections/{found.id}",
            "rel": "collection",
            "type": "application/json",
        }
    )
    head = {
        "type": "FeatureCollection",
        "numberMatched": len(chosen),
        "numberReturned": len(page),
        "links": links,
    }
    body = (
        data.dumps(head)[:-1]
        + ',"features":['
        + ",".join(table.feature_json[i] for i in page)
        + "]}"
    )
    return Response(body, media_type=GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{fid}",
    summary="One feature",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def item(request: Request, session: DB, collection_id: str, fid: str) -> Response:
    ctx = context(request)
    found = _find(session, collection_id)
    table = exports.feature_table(session, ctx.specs, found)
    try:
        i = table.fids.index(fid)
    except ValueError as error:
        raise NotFound(
            _("There is no feature {fid} in {id}.").format(fid=fid[:64], id=found.id)
        ) from error
    base = _base(request) + f"/collections/{found.id}"
    feature = (
        table.feature_json[i][:-1]
        + ","
        + data.dumps(
            {
                "links": [
                    {"href": f"{base}/items/{fid}", "rel": "self", "type": GEOJSON},
                    {"href": base, "rel": "collection", "type": "application/json"},
                ]
            }
        )[1:]
    )
    return Response(feature, media_type=GEOJSON)
