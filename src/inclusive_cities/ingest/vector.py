"""Reading vector files (GeoPackage, Shapefile plain or zipped, GeoJSON, GeoParquet).

Pure functions: no store. A file without a CRS is refused unless the caller says which
CRS it is in, because guessing would silently put a city in the wrong place. For the same
reason coordinates that the declared CRS cannot hold (metres declared as degrees, a
longitude of 200) are refused, and ``--crs`` never silently contradicts a file's own CRS.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest.common import IngestError, Problem, require_file

PARQUET_SUFFIXES = (".parquet", ".geoparquet")
JSON_SUFFIXES = (".geojson", ".json")
AREA_MARGIN_DEGREES = 2.0
"""How far outside a projected CRS's published area of use coordinates may still lie:
cities straddle zone edges (Quito is in UTM 17S yet reaches north of the equator)."""
GEOGRAPHIC_LIMITS = (-180.0, -90.0, 180.0, 90.0)
_GEOJSON_CRS = re.compile(rb'"crs"\s*:\s*\{')


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
    path: Path | str,
    layer: str | None = None,
    crs: str | None = None,
    *,
    override_crs: bool = False,
    suggest: str | None = None,
) -> gpd.GeoDataFrame:
    """A vector layer as a GeoDataFrame with its CRS set and its coordinates checked.

    ``crs`` is the CRS the coordinates are in: it is assigned to a file that declares none
    (a GeoJSON without a "crs" member declares none: WGS 84 is only its default); a file
    that declares another CRS is refused unless ``override_crs`` says its declaration is
    wrong. ``suggest`` (e.g. the city's UTM zone) is named in the error for metres.
    """
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
    declared = frame.crs is not None and (
        path.suffix.lower() not in JSON_SUFFIXES or geojson_declares_crs(path)
    )
    if override_crs and crs is None:
        raise IngestError(
            _(
                "{file}: --override-crs needs --crs saying which CRS the coordinates are in "
                "(e.g. --crs EPSG:32717 --override-crs)."
            ).format(file=name)
        )
    if crs is not None:
        wanted = parse_crs(crs, name)
        if declared and not override_crs and not same_crs(frame.crs, wanted):
            raise IngestError(
                _(
                    "{file} declares its coordinates in {declared} but --crs says {crs}: drop "
                    "--crs to use the file's CRS, or add --override-crs if the file's CRS is "
                    "wrong (its coordinates are then read as {crs}, not transformed)."
                ).format(file=name, declared=crs_label(frame.crs), crs=crs_label(wanted))
            )
        if not declared or override_crs:
            frame = frame.set_crs(wanted, allow_override=True)
            declared = False
    if frame.crs is None:
        raise IngestError(
            _(
                "{file} has no coordinate reference system (a Shapefile without its .prj?): "
                "add the .prj file or give the CRS with --crs EPSG:CODE."
            ).format(file=name)
        )
    check_coordinates(
        shapely.bounds(frame.geometry.values),
        CRS.from_user_input(frame.crs),
        name,
        declared=declared,
        suggest=suggest,
    )
    return frame


def geojson_declares_crs(path: Path, head_bytes: int = 1 << 20) -> bool:
    """Whether a GeoJSON names its CRS (the old "crs" member, written before "features")."""
    with path.open("rb") as handle:
        return bool(_GEOJSON_CRS.search(handle.read(head_bytes)))


def same_crs(first: object, second: CRS) -> bool:
    """Two CRSs that place coordinates identically (axis order aside)."""
    return CRS.from_user_input(first).equals(second, ignore_axis_order=True)


def crs_label(crs: object) -> str:
    """EPSG:CODE when the CRS has one, else its name."""
    parsed = CRS.from_user_input(crs)
    found = parsed.to_authority(min_confidence=90)
    return ":".join(found) if found else str(parsed.name)


def crs_limits(crs: CRS) -> tuple[float, float, float, float] | None:
    """The box (in the CRS's own units) that coordinates in ``crs`` must fall in.

    Degrees: the globe. Projected: the area of use, widened by AREA_MARGIN_DEGREES and
    transformed into the CRS. None when the CRS publishes no usable area (then any finite
    coordinate is accepted).
    """
    if crs.is_geographic:
        return GEOGRAPHIC_LIMITS
    area = crs.area_of_use
    if area is None or area.west > area.east:
        return None
    box = (
        max(-180.0, area.west - AREA_MARGIN_DEGREES),
        max(-90.0, area.south - AREA_MARGIN_DEGREES),
        min(180.0, area.east + AREA_MARGIN_DEGREES),
        min(90.0, area.north + AREA_MARGIN_DEGREES),
    )
    try:
        transformer = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        limits = tuple(float(v) for v in transformer.transform_bounds(*box, densify_pts=21))
    except Exception:  # a CRS pyproj cannot transform into: only finiteness is checked
        return None
    if not all(math.isfinite(v) for v in limits):
        return None
    return limits[0], limits[1], limits[2], limits[3]


def _shown_coordinate(value: float) -> str:
    if not math.isfinite(value) or abs(value) >= 1000:
        return f"{value:.0f}"
    return f"{value:.6f}".rstrip("0").rstrip(".")


def check_coordinates(
    bounds: np.ndarray,
    crs: CRS,
    file: str,
    *,
    unit: str = "feature",
    positions: list[int] | None = None,
    declared: bool = True,
    suggest: str | None = None,
    option: bool = True,
) -> None:
    """Refuse a file whose coordinates the CRS cannot hold, naming the first one and the fix.

    ``bounds`` holds one (minx, miny, maxx, maxy) per feature or row (NaN when empty);
    ``declared`` says whether the CRS came from the file itself (then the fix needs
    --override-crs, or a new file when ``option`` is False) or from --crs/the default (then
    --crs alone fixes it).
    """
    bounds = np.asarray(bounds, dtype=float).reshape(-1, 4)
    present = ~np.isnan(bounds).any(axis=1)
    limits = crs_limits(crs)
    bad = present & ~np.isfinite(bounds).all(axis=1)
    if limits is not None:
        x0, y0, x1, y1 = limits
        bad |= present & (
            (bounds[:, 0] < x0) | (bounds[:, 1] < y0) | (bounds[:, 2] > x1) | (bounds[:, 3] > y1)
        )
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    minx, miny, maxx, maxy = bounds[first]
    low_x, low_y, high_x, high_y = limits or (-math.inf, -math.inf, math.inf, math.inf)

    def outside(value: float, low: float, high: float) -> bool:
        return not math.isfinite(value) or value < low or value > high

    x = maxx if outside(maxx, low_x, high_x) and not outside(minx, low_x, high_x) else minx
    y = maxy if outside(maxy, low_y, high_y) and not outside(miny, low_y, high_y) else miny
    number = positions[first] if positions is not None else first + 1
    where = (
        _("feature {n}").format(n=number) if unit == "feature" else _("row {n}").format(n=number)
    )
    if crs.is_geographic:
        message = _(
            "{file}, {where}: coordinate ({x}, {y}) is not a longitude and latitude in {crs} "
            "(longitude -180..180, latitude -90..90)"
        )
    else:
        message = _(
            "{file}, {where}: coordinate ({x}, {y}) lies outside the area {crs} is made for "
            "({area})"
        )
    if unit == "feature":
        share = _("{count} of {total} features are outside")
    else:
        share = _("{count} of {total} rows are outside")
    area = crs.area_of_use
    message = (
        message.format(
            file=file,
            where=where,
            x=_shown_coordinate(x),
            y=_shown_coordinate(y),
            crs=crs_label(crs),
            area=area.name.rstrip(".") if area is not None else "",
        )
        + "; "
        + share.format(count=int(bad.sum()), total=int(present.sum()))
        + ": "
        + _coordinate_hint(bounds[bad], crs, declared, suggest, option)
    )
    raise IngestError(message)


def _coordinate_hint(
    bad: np.ndarray, crs: CRS, declared: bool, suggest: str | None, option: bool
) -> str:
    """What to do, from what the wrong coordinates look like and where the CRS came from."""
    finite = bad[np.isfinite(bad).all(axis=1)]
    looks_like_degrees = bool(len(finite)) and bool(
        (np.abs(finite[:, [0, 2]]) <= 180).all() and (np.abs(finite[:, [1, 3]]) <= 90).all()
    )
    looks_like_metres = bool(len(finite)) and bool((np.abs(finite) > 1000).any())
    utm = "EPSG:CODE"
    if crs.is_geographic and looks_like_metres:
        diagnosis = _("these look like metres of a projected CRS, not degrees")
        target = suggest or utm
    elif crs.is_geographic:
        return _(
            "correct them: longitude -180..180 then latitude -90..90, in degrees (a longitude "
            "written 0..360 needs 360 subtracted)."
        )
    elif looks_like_degrees:
        diagnosis = _("these look like degrees, not metres")
        target = "EPSG:4326"
    else:
        diagnosis = _("these coordinates are not in {crs}").format(crs=crs_label(crs))
        target = suggest if suggest and suggest != crs_label(crs) else utm
    if not declared:
        remedy = _("declare their CRS with --crs {target}.")
    elif option:
        remedy = _(
            "if the file's own CRS is wrong, read them in theirs with --crs {target} "
            "--override-crs."
        )
    else:
        remedy = _("save the file with the CRS they are in ({target}) and import it again.")
    hint = diagnosis + ": " + remedy.format(target=target)
    if target == utm:
        hint += " " + _("(UTM zones are EPSG:326zz north of the equator, EPSG:327zz south.)")
    return hint


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
