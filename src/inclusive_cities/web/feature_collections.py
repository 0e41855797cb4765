"""Feature collections that are not unit layers (plan projects, programme centres, ...),
served by the OGC API next to the published layers.

A domain registers a :class:`FeatureSource`; ``web/ogc.py`` lists its public collections in
``/ogc/collections`` and serves their items with the same paging, bbox and property filters
as every layer. Lists and tables are cached under each source's own fingerprint, so a change in
a source's rows shows at once and nothing is rebuilt per request otherwise.

Register a source with a line in :data:`SOURCE_MODULES` (a module whose import calls
:func:`register`), so the web app never imports domain code at start-up it does not serve.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from inclusive_cities.web import data, exports

KIND = "features"
"""``data.Collection.kind`` of collections served from a registered source."""

SOURCE_MODULES: list[str] = [
    "inclusive_cities.web.plan_features",
    "inclusive_cities.web.programme_features",
]
"""Modules that register a source when imported (one line per source)."""


@dataclass(frozen=True)
class FeatureCollectionInfo:
    """One collection of a source: its id (unique in the OGC API), titles and city."""

    id: str
    title_es: str
    title_en: str
    description_es: str = ""
    description_en: str = ""
    city_code: str = ""
    city_name: str = ""
    period: str = ""
    synthetic: bool = False
    public: bool = True
    """Only public collections are listed or served; a source may still return others."""


@dataclass(frozen=True)
class Feature:
    """One feature: id, geometry in EPSG:4326 (lon/lat) and its public properties."""

    fid: str
    geometry: BaseGeometry
    properties: dict[str, Any] = field(default_factory=dict)


class FeatureSource(Protocol):
    """What the OGC API needs of a source of feature collections."""

    name: str

    def fingerprint(self, session: Session) -> str:
        """A digest of every row the source reads: it changes whenever the features do."""
        ...

    def collections(self, session: Session) -> list[FeatureCollectionInfo]:
        """The source's collections (public or not)."""
        ...

    def features(self, session: Session, collection_id: str) -> list[Feature]:
        """The features of one collection, public properties only."""
        ...


_SOURCES: dict[str, FeatureSource] = {}
_loaded = False


def register(source: FeatureSource) -> None:
    """Serve ``source``'s public collections in the OGC API (re-registering replaces it)."""
    _SOURCES[source.name] = source


def sources() -> list[FeatureSource]:
    """Registered sources, importing :data:`SOURCE_MODULES` the first time."""
    global _loaded
    if not _loaded:
        for module in SOURCE_MODULES:
            if importlib.util.find_spec(module) is not None:  # a source being written may lag
                importlib.import_module(module)
        _loaded = True
    return list(_SOURCES.values())


def fingerprint(session: Session) -> str:
    """One digest of every source's fingerprint, for the OGC collection list's cache key."""
    parts = [data.store_key(session)] + [f"{s.name}={s.fingerprint(session)}" for s in sources()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _title(info: FeatureCollectionInfo, language: str) -> str:
    return info.title_es if language == "es" else info.title_en


def collections(session: Session, taken: set[str]) -> list[data.Collection]:
    """Public collections of every source whose id no layer has taken, as ``data.Collection``
    (kind ``features``; ``source`` holds the source's name), cached under the fingerprints."""
    key = ("feature-collections", fingerprint(session))
    return [c for c in data.CACHE.get(key, lambda: _collections(session)) if c.id not in taken]


def find(session: Session, collection_id: str) -> data.Collection | None:
    """A public collection of a registered source, or None."""
    return next((c for c in collections(session, set()) if c.id == collection_id), None)


def _collections(session: Session) -> list[data.Collection]:
    out = []
    taken: set[str] = set()
    for source in sources():
        for info in source.collections(session):
            if not info.public or info.id in taken:
                continue
            taken.add(info.id)
            out.append(
                data.Collection(
                    id=info.id,
                    kind=KIND,
                    city_id=0,
                    city_code=info.city_code,
                    city_name=info.city_name,
                    synthetic=info.synthetic,
                    period_id=0,
                    period_code=info.period,
                    period_label=info.period,
                    level_id=None,
                    indicator_name_es=info.title_es,
                    indicator_name_en=info.title_en,
                    source=source.name,
                    level_name_es=info.description_es,
                    level_name_en=info.description_en,
                )
            )
    return out


def _source(collection: data.Collection) -> FeatureSource:
    found = next((s for s in sources() if s.name == collection.source), None)
    assert found is not None, collection.source
    return found


def collection_doc(
    session: Session, collection: data.Collection, base: str, language: str
) -> dict[str, Any]:
    """The OGC collection document (``base``: the collection's URL)."""
    table = feature_table(session, collection)
    description = collection.level_name_es if language == "es" else collection.level_name_en
    doc: dict[str, Any] = {
        "id": collection.id,
        "title": collection.indicator_name_es if language == "es" else collection.indicator_name_en,
        "description": description,
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "links": [
            {"href": base, "rel": "self", "type": "application/json"},
            {"href": base + "/items", "rel": "items", "type": "application/geo+json"},
            {"href": base + "/schema", "rel": "describedby", "type": "application/schema+json"},
        ],
    }
    b = table.bounds
    if len(b):
        extent = [
            float(np.nanmin(b[:, 0])),
            float(np.nanmin(b[:, 1])),
            float(np.nanmax(b[:, 2])),
            float(np.nanmax(b[:, 3])),
        ]
        doc["extent"] = {
            "spatial": {"bbox": [extent], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
        }
    return doc


def feature_table(session: Session, collection: data.Collection) -> exports.FeatureTable:
    """A collection's features as the OGC endpoints page and filter them (cached)."""
    source = _source(collection)
    key = (
        "feature-source-table",
        data.store_key(session),
        source.name,
        collection.id,
        source.fingerprint(session),
    )
    return data.CACHE.get(key, lambda: _build_table(session, source, collection))


def _build_table(
    session: Session, source: FeatureSource, collection: data.Collection
) -> exports.FeatureTable:
    features = source.features(session, collection.id)
    columns: list[str] = []
    for feature in features:
        columns.extend(k for k in feature.properties if k not in columns)
    numeric = {
        c
        for c in columns
        if any(isinstance(f.properties.get(c), int | float) for f in features)
        and all(
            f.properties.get(c) is None
            or (
                isinstance(f.properties.get(c), int | float)
                and not isinstance(f.properties.get(c), bool)
            )
            for f in features
        )
    }
    geoms = np.array([f.geometry for f in features], dtype=object)
    geometry_json = [str(g) for g in shapely.to_geojson(geoms)] if len(geoms) else []
    fids = [f.fid for f in features]
    props = [dict(f.properties) for f in features]
    feature_json = [
        '{"type":"Feature","id":'
        + data.dumps(fid)
        + ',"geometry":'
        + geometry_json[i]
        + ',"properties":'
        + data.dumps(props[i])
        + "}"
        for i, fid in enumerate(fids)
    ]
    return exports.FeatureTable(
        collection=collection,
        columns=columns,
        fids=fids,
        unit_ids=np.zeros(len(fids), dtype=np.int64),
        props=props,
        geometry_json=geometry_json,
        geoms=geoms,
        bounds=shapely.bounds(geoms) if len(geoms) else np.zeros((0, 4)),
        feature_json=feature_json,
        spec=None,
        numeric=numeric,
    )
