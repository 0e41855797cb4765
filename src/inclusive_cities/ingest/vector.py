"""Reading vector files (GeoPackage, Shapefile plain or zipped, GeoJSON, GeoParquet).

Pure functions: no store. A file without a CRS is refused unless the caller says which
CRS it is in, because guessing would silently put a city in the wrong place.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError

from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest.common import IngestError, Problem, require_file

PARQUET_SUFFIXES = (".parquet", ".geoparquet")
JSON_SUFFIXES = (".geojson", ".json")


def _ogr_path(path: Path) -> str:
    if path.suffix.lower() == ".zip":
        return f"/vsizip/{path.resolve()}"
    return str(path)


def list_layers(path: Path | str) -> list[str]:
    """Layer names of a vector file (one for Shapefile/GeoJSON/GeoParquet)."""
    path = require_file(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return [path.stem]
    try:
        return [str(name) for name, _geometry in pyogrio.list_layers(_ogr_path(path))]
    except Exception as error:
        raise IngestError(
            _(
                "{file} cannot be read as a vector file ({reason}): check the format "
                "(GeoPackage, Shapefile, zipped Shapefile, GeoJSON or GeoParquet)."
            ).format(file=path.name, reason=str(error).splitlines()[0])
        ) from error


def parse_crs(value: str, file: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as error:
        raise IngestError(
            _(
                "{file}: '{crs}' is not a coordinate reference system: give it as EPSG:CODE "
                "(e.g. --crs EPSG:32618)."
            ).format(file=file, crs=value)
        ) from error


def read_vector(
    path: Path | str, layer: str | None = None, crs: str | None = None
) -> gpd.GeoDataFrame:
    """A vector layer as a GeoDataFrame with its CRS set (``crs`` fills a missing one)."""
    path = require_file(path)
    name = path.name if layer is None else f"{path.name}:{layer}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if path.suffix.lower() in PARQUET_SUFFIXES:
                frame = gpd.read_parquet(path)
            else:
                if layer is not None and layer not in list_layers(path):
                    raise IngestError(
                        _(
                            "{file} has no layer '{layer}' (layers: {layers}): choose one of them."
                        ).format(file=path.name, layer=layer, layers=", ".join(list_layers(path)))
                    )
                frame = pyogrio.read_dataframe(_ogr_path(path), layer=layer)
    except IngestError:
        raise
    except Exception as error:
        raise IngestError(
            _(
                "{file} cannot be read ({reason}): the file may be truncated or not a vector "
                "file; export it again."
            ).format(file=name, reason=str(error).splitlines()[0])
        ) from error
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry is None:
        raise IngestError(
            _("{file} has no geometry column: it is not a vector layer.").format(file=name)
        )
    if frame.crs is None:
        if crs is None:
            raise IngestError(
                _(
                    "{file} has no coordinate reference system (a Shapefile without its .prj?): "
                    "add the .prj file or give the CRS with --crs EPSG:CODE."
                ).format(file=name)
            )
        frame = frame.set_crs(parse_crs(crs, name))
    return frame


def json_duplicate_keys(path: Path, limit_bytes: int = 300_000_000) -> list[Problem]:
    """Duplicate keys inside GeoJSON feature properties (GDAL keeps only the last value).

    JSON allows them syntactically, but every reader keeps just one value, so data is
    lost silently; we say which feature and property, and which value survives.
    """
    if path.suffix.lower() not in JSON_SUFFIXES or path.stat().st_size > limit_bytes:
        return []
    problems: list[Problem] = []
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"), object_pairs_hook=_PairKeeper)
    except (ValueError, UnicodeDecodeError):
        return []
    for number, feature in enumerate(_features(raw), start=1):
        properties = _get(feature, "properties")
        if not isinstance(properties, _PairKeeper):
            continue
        for column, value in properties.pairs:
            inner = value.duplicates() if isinstance(value, _PairKeeper) else []
            for key, count, last in inner:
                problems.append(
                    Problem(
                        file=path.name,
                        row=number,
                        column=column,
                        value=last,
                        reason=_(
                            "key '{key}' appears {count} times in this property; only the last "
                            "value is kept. Give each value its own property or a list."
                        ).format(key=key, count=count),
                        unit="feature",
                    )
                )
        for key, count, last in properties.duplicates():
            problems.append(
                Problem(
                    file=path.name,
                    row=number,
                    column=key,
                    value=last,
                    reason=_(
                        "property '{key}' appears {count} times in this feature; only the last "
                        "value is kept."
                    ).format(key=key, count=count),
                    unit="feature",
                )
            )
    return problems


class _PairKeeper:
    """A JSON object that remembers every key, duplicates included."""

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        self.pairs = pairs

    def duplicates(self) -> list[tuple[str, int, object]]:
        keys = [key for key, _value in self.pairs]
        result = []
        for key in dict.fromkeys(keys):
            count = keys.count(key)
            if count > 1:
                last = [value for k, value in self.pairs if k == key][-1]
                result.append((key, count, last))
        return result


def _get(obj: object, key: str) -> object:
    if isinstance(obj, _PairKeeper):
        for k, value in reversed(obj.pairs):
            if k == key:
                return value
    return None


def _features(raw: object) -> list[object]:
    features = _get(raw, "features")
    return features if isinstance(features, list) else []
