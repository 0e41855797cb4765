"""OGC API – Features Part 1 (core, GeoJSON, OpenAPI 3.0) for every published layer,
including published analysis layers (clusters of exclusion, areal interpolations).

Conformance: http://www.opengis.net/doc/IS/ogcapi-features-1/1.0 (OGC 17-069r4). Items are
served from pre-serialised features, so paging and bbox filters only slice and join strings.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_cities.disclosure.rules import control_enabled
from inclusive_cities.i18n import SUPPORTED_LANGUAGES, current_language, use_language
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n.units import unit_label
from inclusive_cities.spatial.layers import LayerInfo, source_direction, source_name
from inclusive_cities.store import models
from inclusive_cities.web import data, exports, feature_collections, services
from inclusive_cities.web.errors import BadRequest, NotFound
from inclusive_cities.web.site import context, language_of, public_root, session_scope

log = logging.getLogger(__name__)
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
    """Root of the OGC links: the configured public URL, never a forged Host header."""
    return public_root(request) + "/ogc"


def _json(body: Any, media_type: str = "application/json") -> Response:
    return Response(data.dumps(body), media_type=media_type)


@router.get("", summary="Landing page")
def landing(request: Request) -> Response:
    base = _base(request)
    root = public_root(request)
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
    if collection.kind == feature_collections.KIND:
        return feature_collections.collection_doc(session, collection, base, language)
    spec = services.collection_spec(session, ctx.specs, collection)
    extent = None
    if collection.kind == "analysis":
        bounds = _table(request, session, collection).bounds
    else:
        bounds = data.level_geometries(session, collection.city_id, collection.level_id).bounds
    if len(bounds):
        b = bounds
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
        + _("Period {period}.").format(period=collection.period_label)
        + (" " + collection.source if collection.kind == "analysis" else "")
        + _measure_note(session, collection),
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
    if collection.kind == "analysis":
        doc["analysis"] = _analysis_member(session, collection, language)
    return doc


def _indicator_measure(session: Session, collection: data.Collection) -> tuple[str, str]:
    """An indicator layer's (unit, direction) from the catalogue; ('', '') for other layers."""
    if collection.kind != "indicator" or collection.indicator_id is None:
        return "", ""
    row = session.execute(
        select(models.Indicator.unit, models.Indicator.direction).where(
            models.Indicator.id == collection.indicator_id
        )
    ).first()
    return ("", "") if row is None else (row.unit or "", row.direction or "")


def _direction_text(direction: str) -> str:
    if direction == "higher_is_better":
        return _("higher is better")
    if direction == "lower_is_better":
        return _("lower is better")
    return ""  # neutral, unknown: never judged


def _measure_note(session: Session, collection: data.Collection) -> str:
    """ " Unit: m; lower is better." for an indicator layer: a GIS client shows the collection's
    description, and a bare ``value`` field says neither (the downloads' metadata does)."""
    unit, direction = _indicator_measure(session, collection)
    parts = [_("Unit: {unit}").format(unit=unit_label(unit))] if unit else []
    if _direction_text(direction):
        parts.append(_direction_text(direction))
    return (" " + "; ".join(parts) + ".") if parts else ""


@dataclass(frozen=True)
class CollectionDocs:
    """Every collection's OGC document (titles, links, extents) and the list's JSON body."""

    by_id: dict[str, dict[str, Any]]
    body: str


def _layer_docs(request: Request, session: Session, language: str) -> dict[str, dict[str, Any]]:
    """The published layers' documents, under the publication digest alone (one statement)."""
    key = (
        "ogc-layer-docs",
        language,
        _base(request),
        id(context(request).specs),
        _publication(session, request),
    )

    def build() -> dict[str, dict[str, Any]]:
        listed = _all_collections(session, request)
        return {c.id: _collection_doc(request, session, c, language) for c in listed}

    return data.CACHE.get(key, build)


def _feature_docs(
    request: Request, session: Session, language: str, sources: str | None = None
) -> dict[str, dict[str, Any]]:
    """The registered sources' documents (plans, centres), under the sources' digests."""
    sources = sources or feature_collections.fingerprint(session)
    key = ("ogc-feature-docs", language, _base(request), sources)

    def build() -> dict[str, dict[str, Any]]:
        listed = feature_collections.collections(session, set())
        return {c.id: _collection_doc(request, session, c, language) for c in listed}

    return data.CACHE.get(key, build)


def collection_docs(request: Request, session: Session, language: str) -> CollectionDocs:
    """The collection documents, built once per publish, language and public URL.

    Extents come from every layer's geometries and titles from specs and analysis layers:
    about 140 statements on the medium demo. They change only when a publication, a name, the
    units or a registered source's rows do, which the keys' digests (one statement for the
    layers, one per registered source) see on the next request in every worker. A source's
    collection whose id a layer has taken is not listed (the layer is served under it).
    """
    sources = feature_collections.fingerprint(session)
    key = (
        "ogc-collections-body",
        language,
        _base(request),
        id(context(request).specs),
        _publication(session, request),
        sources,
    )

    def build() -> CollectionDocs:
        layers = _layer_docs(request, session, language)
        features = _feature_docs(request, session, language, sources)
        docs = {**layers, **{k: v for k, v in features.items() if k not in layers}}
        body = {
            "links": [
                {
                    "href": _base(request) + "/collections",
                    "rel": "self",
                    "type": "application/json",
                }
            ],
            "collections": list(docs.values()),
        }
        return CollectionDocs(docs, data.dumps(body))

    return data.CACHE.get(key, build)


@router.get("/collections", summary="Published layers")
def collections(request: Request, session: DB) -> Response:
    return Response(
        collection_docs(request, session, language_of(request)).body,
        media_type="application/json",
    )


def warm(app: Any) -> int:
    """Build the collection documents in every language once the server has started, so the
    first client of each worker gets the list at a request's cost instead of its build (1.35 s
    of CPU on the medium demo). Only with a public URL configured: otherwise the links carry
    the host each request names, which a start cannot know. Returns the languages built;
    errors are logged, never raised (the first request would build the same documents)."""
    from starlette.requests import Request as StarletteRequest

    web = app.state.web
    if not web.site.public_url:
        return 0
    built = 0
    try:
        with data.engine_session(web.engine) as session:
            for language in SUPPORTED_LANGUAGES:
                use_language(language)  # this thread's language: titles and descriptions
                request = StarletteRequest(
                    {"type": "http", "app": app, "headers": [], "state": {"language": language}}
                )
                collection_docs(request, session, language)
                built += 1
    except Exception:  # a failed warm-up only means a slower first list
        log.warning("Building the OGC collection documents after start-up failed", exc_info=True)
    return built


def cluster_title(layer: LayerInfo, language: str) -> str:
    """What a cluster layer shows, by name: "Clusters — Urban Inclusion Marker (index), by
    block" (older layers without recorded names: their source code)."""
    return _("Clusters — {source}, by {level}", language).format(
        source=source_name(layer.parameters, layer.source, language),
        level=_in_sentence(layer.level_name(language)),
    )


def _in_sentence(name: str) -> str:
    """A level's name inside a sentence ("por manzana", "by block"); acronyms stay (UPZ)."""
    if len(name) > 1 and name[0].isupper() and name[1].islower():
        return name[0].lower() + name[1:]
    return name


def cluster_direction(session: Session, layer: LayerInfo) -> str | None:
    """The direction a cluster layer's colours and words follow (None: not recorded). A layer
    of an indicator that is neutral now is neutral, whatever it recorded: layers made before
    'neutral' existed called the share of Venezuelans higher-is-better."""
    recorded = source_direction(layer.parameters)
    row = _indicator_rows(session, [layer.source]).get(layer.source)
    if row is not None and row.direction in ("neutral", "unknown"):  # never judged
        return "neutral"
    return recorded


def _cluster_about(layer: LayerInfo, direction: str | None) -> str:
    """The method, what was analysed and which clusters are the clusters of exclusion (for a
    neutral source: of high and low concentration, never of exclusion)."""
    parameters = layer.parameters
    language = current_language()
    name = source_name(parameters, layer.source, language)
    spec = parameters.get("spec_name")
    if isinstance(spec, dict) and spec.get(language):
        name = spec[language] if parameters.get("index") else f"{name} ({spec[language]})"
    parts = []
    if direction == "neutral":
        parts.append(
            _(
                "{source} is descriptive, neither better nor worse when higher: high-high "
                "clusters and hot spots are areas of high concentration; low-low clusters and "
                "cold spots, areas of low concentration. They are not clusters of exclusion."
            ).format(source=name)
        )
    elif direction == "higher_is_better":
        parts.append(
            _(
                "In {source}, higher values are better: low-low clusters and cold spots are "
                "clusters of exclusion; high-high clusters and hot spots, clusters of inclusion."
            ).format(source=name)
        )
    elif direction == "lower_is_better":
        parts.append(
            _(
                "In {source}, higher values are worse: high-high clusters and hot spots are "
                "clusters of exclusion; low-low clusters and cold spots, clusters of inclusion."
            ).format(source=name)
        )
    parts.append(
        _(
            "Local Moran's I and Getis-Ord Gi* with {permutations} permutations, "
            "{k} nearest neighbours, p-values FDR-adjusted, significant at {alpha}."
        ).format(
            permutations=parameters.get("permutations"),
            k=parameters.get("k"),
            alpha=_decimal(parameters.get("alpha")),
        )
    )
    parts.append(  # docs/disclosure-derived.md: Gi* and Moran's I give the values back
        _(
            "Each unit carries its classes and the band of its p-values (p ≤ 0.001, 0.01, "
            "0.05 or 1); the statistics are not published, since the analysed values could be "
            "solved back from them."
        )
    )
    return " ".join(parts)


def _indicator_rows(session: Session, codes: list[str]) -> dict[str, models.Indicator]:
    rows = session.scalars(select(models.Indicator).where(models.Indicator.code.in_(codes)))
    return {row.code: row for row in rows}


def _grid_name(layer: LayerInfo, language: str) -> str:
    """ "H3 grid (resolution 8)", or the target geography's code."""
    resolution = layer.parameters.get("h3_resolution")
    if resolution is not None:
        return _("H3 grid (resolution {resolution})", language).format(resolution=resolution)
    return _("grid {target}", language).format(target=layer.target)


def _weighting(session: Session, layer: LayerInfo, language: str) -> str:
    """ "population-weighted" (by the weight indicator's name) or "area-weighted"."""
    weight = str(layer.parameters.get("weight") or "area")
    if weight == "area":
        return _("area-weighted", language)
    row = _indicator_rows(session, [weight]).get(weight)
    name = (row.name_es if language == "es" else row.name_en) if row is not None else weight
    return _("{weight}-weighted", language).format(weight=_in_sentence(name))


def interpolation_indicators(
    session: Session, layer: LayerInfo, language: str
) -> list[dict[str, Any]]:
    """One entry per interpolated indicator: its column, name from the catalogue, unit,
    direction and the label the map explorer lists it under."""
    codes = [c for c in layer.source.split(",") if c]
    rows = _indicator_rows(session, codes)
    grid = _grid_name(layer, language)
    weighting = _weighting(session, layer, language)
    out = []
    for code in codes:
        row = rows.get(code)
        name = (row.name_es if language == "es" else row.name_en) if row is not None else code
        out.append(
            {
                "column": code,
                "name": name,
                "unit": row.unit if row is not None else "",
                "direction": row.direction if row is not None else "higher_is_better",
                "label": _("{indicator} — {grid}, {weighting}", language).format(
                    indicator=name, grid=grid, weighting=weighting
                ),
            }
        )
    return out


def interpolation_note(session: Session, layer: LayerInfo, language: str) -> str:
    """What a reader must know: the figures were moved from the units to the grid."""
    return _(
        "Figures computed by {level} and moved to the grid ({weighting}); "
        "the city's totals are kept.",
        language,
    ).format(
        level=_in_sentence(layer.level_name(language)),
        weighting=_weighting(session, layer, language),
    )


def _analysis_member(session: Session, collection: data.Collection, language: str) -> Any:
    """What the map explorer needs of a cluster collection beyond OGC's members: its short
    title, its source's direction (neutral: high and low concentration, not exclusion) and
    whether high values are good (null: neutral, or not recorded and drawn as higher-is-worse)."""
    from inclusive_cities.spatial.layers import layer_info

    assert collection.run_id is not None
    layer = layer_info(session, collection.run_id)
    if layer.kind == "interpolation":
        return {
            "kind": "interpolation",
            "note": interpolation_note(session, layer, language),
            "indicators": interpolation_indicators(session, layer, language),
        }
    if layer.kind != "clusters":
        return {"kind": layer.kind}
    direction = cluster_direction(session, layer)
    return {
        "kind": "clusters",
        "source": layer.source,
        "name": cluster_title(layer, language),
        "direction": direction,
        "higher_is_better": {"higher_is_better": True, "lower_is_better": False}.get(
            direction or ""
        ),
    }


def _analysis_collections(session: Session, taken: set[str]) -> list[data.Collection]:
    """Published analysis layers (clusters, interpolations): aggregate statistics and classes
    per unit or cell — never the analysed values or any record below them."""
    from inclusive_cities.spatial.layers import layers_in

    out = []
    for layer in layers_in(session, published_only=True):
        cid = data.slug(f"{layer.city}-{layer.name}-{layer.period}")
        if cid in taken:
            continue
        taken.add(cid)
        if layer.kind == "clusters":
            title = cluster_title(layer, current_language())
            about = _cluster_about(layer, cluster_direction(session, layer))
        else:
            language = current_language()
            names = ", ".join(i["name"] for i in interpolation_indicators(session, layer, language))
            title = _("{indicators} — {grid}, {weighting}").format(
                indicators=names,
                grid=_grid_name(layer, language),
                weighting=_weighting(session, layer, language),
            )
            about = interpolation_note(session, layer, language)
        out.append(
            data.Collection(
                id=cid,
                kind="analysis",
                city_id=0,
                city_code=layer.city,
                city_name=layer.city_name,
                synthetic=layer.synthetic,
                period_id=0,
                period_code=layer.period,
                period_label=layer.period_label,
                level_id=None,
                run_id=layer.id,
                spec_code=f"{layer.created_at.isoformat()}",
                indicator_name_es=title,
                indicator_name_en=title,
                source=about,
            )
        )
    return out


def _publication(session: Session, request: Request | None = None) -> str:
    """The publication digest (one statement), read once per request however many lookups
    of the request need it."""
    if request is not None:
        cached = getattr(request.state, "ogc_publication", None)
        if isinstance(cached, str):
            return cached
    fingerprint = data.publication_fingerprint(session)
    if request is not None:
        request.state.ogc_publication = fingerprint
    return fingerprint


def _all_collections(session: Session, request: Request | None = None) -> list[data.Collection]:
    """Every published collection, built once per publish (and language), not per request."""
    key = ("ogc-collections", current_language(), _publication(session, request))

    def build() -> list[data.Collection]:
        published = data.published_collections(session)
        return published + _analysis_collections(session, {c.id for c in published})

    return list(data.CACHE.get(key, build))


def _table(request: Request, session: Session, collection: data.Collection) -> exports.FeatureTable:
    if collection.kind == feature_collections.KIND:
        return feature_collections.feature_table(session, collection)
    if collection.kind != "analysis":
        # under the request's publication digest (it covers the observations, the units and
        # the store), so a page needs no statement beyond it; disclosure's switch is in the key
        # because the served scores depend on it
        specs = context(request).specs
        key: tuple[object, ...] = (
            "ogc-table",
            _publication(session, request),
            id(specs),
            control_enabled(),
            collection.id,
        )
        return data.CACHE.get(key, lambda: exports.feature_table(session, specs, collection))
    assert collection.run_id is not None
    layer_id = collection.run_id
    key = ("analysis-table", data.store_key(session), collection.id, layer_id, collection.spec_code)
    return data.CACHE.get(key, lambda: _analysis_table(session, collection, layer_id))


def _analysis_table(
    session: Session, collection: data.Collection, layer_id: int
) -> exports.FeatureTable:
    from inclusive_cities.spatial.layers import layer_frame

    frame = layer_frame(session, layer_id, public=True)
    values = [c for c in frame.columns if c not in ("code", "geometry")]
    columns = ["code", "period", *values]
    numeric = {c for c in values if frame[c].dtype.kind in "fi"}
    geoms = frame.geometry.to_numpy()
    geometry_json = [str(g) for g in shapely.to_geojson(geoms)]
    fids: list[str] = []
    props: list[dict[str, Any]] = []
    features: list[str] = []
    # whole columns as Python values, not frame[c].iat[i] per cell (a pandas lookup each:
    # ≈ 60 % of the first /ogc/collections' build on the medium demo, issue #21)
    cells: dict[str, list[Any]] = {}
    for c in values:
        if c in numeric:
            floats = frame[c].to_numpy(dtype=float).tolist()
            cells[c] = [None if math.isnan(v) else round(v, 6) for v in floats]
        else:
            cells[c] = [None if v is None else str(v) for v in frame[c].tolist()]
    for i, code in enumerate(frame["code"].astype(str)):
        row: dict[str, Any] = {"code": code, "period": collection.period_code}
        for c in values:
            row[c] = cells[c][i]
        fids.append(code)
        props.append(row)
        features.append(
            '{"type":"Feature","id":'
            + data.dumps(code)
            + ',"geometry":'
            + geometry_json[i]
            + ',"properties":'
            + data.dumps(row)
            + "}"
        )
    return exports.FeatureTable(
        collection=collection,
        columns=columns,
        fids=fids,
        unit_ids=np.zeros(len(fids), dtype=np.int64),
        props=props,
        geometry_json=geometry_json,
        geoms=geoms,
        bounds=shapely.bounds(geoms) if len(geoms) else np.zeros((0, 4)),
        feature_json=features,
        spec=None,
        numeric=numeric,
    )


def _find(session: Session, collection_id: str, request: Request | None = None) -> data.Collection:
    listed = _all_collections(session, request)
    found = next((c for c in listed if c.id == collection_id), None)
    if found is None:  # not a layer: a registered source's collection (plans, centres, ...)
        found = feature_collections.find(session, collection_id)
    if found is None:
        raise NotFound(_("There is no published collection {id}.").format(id=collection_id[:80]))
    return found


@router.get("/collections/{collection_id}", summary="One published layer")
def collection(request: Request, session: DB, collection_id: str) -> Response:
    language = language_of(request)
    doc = _layer_docs(request, session, language).get(collection_id)
    if doc is None:  # not a layer: a registered source's collection (plans, centres, ...)
        doc = _feature_docs(request, session, language).get(collection_id)
    if doc is None:
        raise NotFound(_("There is no published collection {id}.").format(id=collection_id[:80]))
    return _json(doc)


@router.get("/collections/{collection_id}/schema", summary="JSON Schema of the features")
def schema(request: Request, session: DB, collection_id: str) -> Response:
    """Property types, so clients (GDAL, QGIS) need not guess them from the first page."""
    found = _find(session, collection_id, request)
    table = _table(request, session, found)
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
    unit, direction = _indicator_measure(session, found)
    if "value" in properties and unit:  # OGC API - Features - Part 5 (schemas): x-ogc-unit
        properties["value"]["x-ogc-unit"] = unit
    if "value" in properties and _direction_text(direction):
        properties["value"]["description"] = _direction_text(direction)
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
    found = _find(session, collection_id, request)
    table = _table(request, session, found)
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
    found = _find(session, collection_id, request)
    table = _table(request, session, found)
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


def _decimal(value: Any) -> str:
    """0.05 in English, 0,05 in Spanish."""
    if not isinstance(value, int | float):
        return str(value)
    text = f"{value:g}"
    return text.replace(".", ",") if current_language() == "es" else text


def interpolation_map_json(
    request: Request, session: Session, city: str, key: str, method: str, k: int
) -> str:
    """A published interpolation's indicator as the map explorer draws it: the grid's cells
    classed like any indicator (quantiles or natural breaks), with legend and note. Only the
    interpolated aggregates of the OGC collection are read — never microdata."""
    from inclusive_cities.spatial.layers import layer_info
    from inclusive_cities.web import services

    collection_id, _sep, column = key.removeprefix("ogc:").rpartition(":")
    found = _find(session, collection_id)
    if found.kind != "analysis" or found.run_id is None or found.city_code != city:
        raise NotFound(_("There is no published collection {id}.").format(id=collection_id[:80]))
    layer = layer_info(session, found.run_id)
    language = language_of(request)
    indicator = next(
        (i for i in interpolation_indicators(session, layer, language) if i["column"] == column),
        None,
    )
    if layer.kind != "interpolation" or indicator is None:
        raise NotFound(_("The layer {layer} is not published.").format(layer=key[:80]))
    table = _table(request, session, found)
    values = np.array(
        [np.nan if p.get(column) is None else float(p[column]) for p in table.props], dtype=float
    )
    chosen = "quantiles" if method == "levels" else method
    classes = services.classify(values, chosen, k, language, direction=indicator["direction"])
    no_data = _("No data")
    parts = []
    for i, code in enumerate(table.fids):
        cls = int(classes.index[i])
        props = {
            "code": code,
            "name": code,
            "loc": "",
            "loc_name": "",
            "value": None if np.isnan(values[i]) else round(float(values[i]), 2),
            "cls": classes.codes[cls] if cls >= 0 else "na",
            "colour": classes.colours[cls] if cls >= 0 else services.NO_DATA_COLOUR,
            "label": classes.labels[cls] if cls >= 0 else no_data,
        }
        parts.append(
            '{"type":"Feature","id":'
            + str(i + 1)
            + ',"geometry":'
            + table.geometry_json[i]
            + ',"properties":'
            + data.dumps(props)
            + "}"
        )
    bounds = table.bounds
    meta = {
        "layer": key,
        "kind": "interpolation",
        "title": indicator["label"],
        "valueName": indicator["name"],
        "period": found.period_code,
        "compare": None,
        "classification": chosen,
        "unit": indicator["unit"],
        "digits": 0 if column in layer.parameters.get("extensive", []) else 1,
        "source": interpolation_note(session, layer, language),
        "legend": [item for item in classes.legend if item["code"] != "na" or item["count"]],
        "bbox": [
            float(np.nanmin(bounds[:, 0])),
            float(np.nanmin(bounds[:, 1])),
            float(np.nanmax(bounds[:, 2])),
            float(np.nanmax(bounds[:, 3])),
        ]
        if len(bounds)
        else None,
        "synthetic": found.synthetic,
    }
    head = data.dumps({"type": "FeatureCollection", **meta})[:-1]
    return head + ',"features":[' + ",".join(parts) + "]}"
