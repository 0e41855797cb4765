"""Facilities (health centres, schools, parks, integration centres…) as typed points.

Source type names are mapped to the canonical types with a YAML mapping (accents, case
and spaces ignored), so that an analyst extends a list instead of editing code.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import yaml
from pyproj import CRS, Transformer
from sqlalchemy import Engine, delete, func, insert, select, update

from inclusive_cities import store
from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest.common import (
    ImportReport,
    IngestError,
    Problem,
    ProgressCallback,
    Timer,
    default_reject_path,
    enforce,
    find_city,
    open_batch,
    overlapping_batches,
    quiet_progress,
    require_file,
    same_file_batch,
    sha256_file,
    write_rejects,
)
from inclusive_cities.ingest.tabular import EXCEL_SUFFIXES, parse_number, read_text_table
from inclusive_cities.ingest.vector import check_coordinates, parse_crs, read_vector
from inclusive_cities.store import models

DEFAULT_TYPES = Path(__file__).with_name("facility_types.yaml")
TABLE_SUFFIXES = (".csv", ".txt", ".tsv", *EXCEL_SUFFIXES)
CITY_MARGIN_DEGREES = 0.05


def normalise_name(value: str) -> str:
    """'Centro de Salud' and 'centro_de_salud' and 'CENTRO DE SALUD' are one name."""
    text = unicodedata.normalize("NFKD", value.strip().lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return "_".join(text.replace("-", " ").replace("_", " ").split())


@dataclass
class TypeMapping:
    types: dict[str, dict[str, str]]
    mapping: dict[str, str]
    source: str

    def canonical(self, value: str) -> str | None:
        return self.mapping.get(normalise_name(value))


@cache
def _load_types(path: str, stamp: float = 0.0) -> TypeMapping:
    """The mapping in ``path`` (cached; ``stamp`` is the file's mtime so edits are seen)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise IngestError(
            _("Facility type mapping {file} cannot be read ({reason}).").format(
                file=path, reason=str(error).splitlines()[0]
            )
        ) from error
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key) or {}, dict) for key in ("types", "map")
    ):
        raise IngestError(
            _(
                "Facility type mapping {file} must be a YAML mapping with 'types' and 'map' "
                "sections (NAME: TYPE), not a list: see the built-in facility_types.yaml."
            ).format(file=Path(path).name)
        )
    default = load_type_mapping() if Path(path) != DEFAULT_TYPES else None
    types = {**(default.types if default else {}), **(data.get("types") or {})}
    mapping = dict(default.mapping) if default else {}
    for name, target in (data.get("map") or {}).items():
        if target not in types:
            raise IngestError(
                _(
                    "Facility type mapping {file}: '{name}' maps to '{target}', which is not a "
                    "canonical type ({types})."
                ).format(file=Path(path).name, name=name, target=target, types=", ".join(types))
            )
        mapping[normalise_name(str(name))] = str(target)
    return TypeMapping(types, mapping, Path(path).name)


def load_type_mapping(path: Path | str | None = None) -> TypeMapping:
    """The built-in facility type mapping, extended (and overridden) by ``path`` if given."""
    target = Path(path or DEFAULT_TYPES)
    stamp = target.stat().st_mtime if target.exists() else 0.0
    return _load_types(str(target), stamp)


def _pick(
    columns: list[str],
    wanted: str | None,
    candidates: tuple[str, ...],
    file: str,
    option: str,
    required: bool = True,
) -> str | None:
    lower = {c.lower(): c for c in columns}
    if wanted:
        if wanted.lower() in lower:
            return lower[wanted.lower()]
        raise IngestError(
            _("{file}: no column '{column}' (columns: {columns}): check {option}.").format(
                file=file, column=wanted, columns=", ".join(columns), option=option
            )
        )
    for candidate in candidates:
        if candidate in lower:
            return lower[candidate]
    if required:
        raise IngestError(
            _("{file}: no column for {what} (columns: {columns}): name it with {option}.").format(
                file=file, what=candidates[0], columns=", ".join(columns), option=option
            )
        )
    return None


@dataclass
class FacilityRow:
    code: str
    type: str
    name: str
    longitude: float
    latitude: float
    capacity: float | None
    row: int


def read_facility_records(
    path: Path,
    *,
    layer: str | None,
    crs: str | None,
    encoding: str | None,
    sheet: str | None,
    columns: dict[str, str | None],
    override_crs: bool = False,
    suggest_crs: str | None = None,
) -> tuple[str, str, list[tuple[int, dict[str, str]]]]:
    """(file label, position unit, [(row, fields as text incl. lon/lat)]) from any source.

    A table's coordinate columns are in ``crs`` (default EPSG:4326 degrees; e.g. EPSG:32717
    for x/y in metres): checked against it, then turned into longitude and latitude.
    """
    if path.suffix.lower() in TABLE_SUFFIXES:
        table = read_text_table(path, encoding=encoding, sheet=sheet)
        for number, count in table.short_rows[:1]:
            raise IngestError(
                _(
                    "{file}, row {row}: {count} fields where the header has {width}; the file may "
                    "be truncated or use another delimiter."
                ).format(file=table.file, row=number, count=count, width=len(table.header))
            )
        lat = _pick(
            table.header,
            columns.get("lat"),
            ("lat", "latitude", "latitud", "y", "northing", "norte"),
            table.file,
            "--lat-column",
        )
        lon = _pick(
            table.header,
            columns.get("lon"),
            ("lon", "lng", "longitude", "longitud", "x", "easting", "este"),
            table.file,
            "--lon-column",
        )
        records = []
        for number, cells in zip(table.row_numbers, table.rows, strict=True):
            fields = dict(zip(table.header, cells, strict=True))
            fields["_lon"], fields["_lat"] = fields[lon or ""], fields[lat or ""]
            records.append((number, fields))
        _table_coordinates(
            table.file, records, parse_crs(crs or "EPSG:4326", table.file), suggest_crs
        )
        return table.file, "row", records
    frame = read_vector(path, layer=layer, crs=crs, override_crs=override_crs, suggest=suggest_crs)
    file = path.name if layer is None else f"{path.name}:{layer}"
    frame = frame.to_crs("EPSG:4326")
    points = [
        g if g is None or g.is_empty or g.geom_type == "Point" else g.representative_point()
        for g in frame.geometry.values
    ]
    attributes = frame.drop(columns=[frame.geometry.name]).to_dict("records")
    records = []
    for number, (point, fields) in enumerate(zip(points, attributes, strict=True), start=1):
        text = {str(k): "" if v is None else str(v) for k, v in fields.items()}
        empty = point is None or point.is_empty
        text["_lon"] = "" if empty else repr(point.x)
        text["_lat"] = "" if empty else repr(point.y)
        records.append((number, text))
    return file, "feature", records


def _table_coordinates(
    file: str, records: list[tuple[int, dict[str, str]]], crs: CRS, suggest: str | None
) -> None:
    """Check a table's coordinates against their CRS and rewrite them as lon/lat degrees.

    Unreadable numbers are left for :func:`validate_facilities` to report by row.
    """
    xy = np.array(
        [
            [
                np.nan if (v := parse_number(fields["_lon"])) is None else v,
                np.nan if (w := parse_number(fields["_lat"])) is None else w,
            ]
            for _number, fields in records
        ],
        dtype=float,
    ).reshape(-1, 2)
    check_coordinates(
        np.hstack([xy, xy]),
        crs,
        file,
        unit="row",
        positions=[number for number, _fields in records],
        declared=False,
        suggest=suggest,
    )
    if crs.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xy[:, 0], xy[:, 1])
    for (_number, fields), x, y in zip(records, lon, lat, strict=True):
        if np.isfinite(x) and np.isfinite(y):
            fields["_lon"], fields["_lat"] = repr(float(x)), repr(float(y))


def validate_facilities(
    file: str,
    unit: str,
    records: list[tuple[int, dict[str, str]]],
    mapping: TypeMapping,
    columns: dict[str, str | None],
    bbox: tuple[float, float, float, float] | None = None,
) -> tuple[list[FacilityRow], list[Problem]]:
    """Check codes, types, coordinates and capacities; no store needed."""
    names = [k for k in (records[0][1] if records else {}) if not k.startswith("_")]
    code_col = _pick(
        names, columns.get("code"), ("id", "codigo", "code", "cod"), file, "--code-column"
    )
    type_col = _pick(
        names, columns.get("type"), ("tipo", "type", "category", "categoria"), file, "--type-column"
    )
    name_col = _pick(names, columns.get("name"), ("nombre", "name"), file, "--name-column", False)
    cap_col = _pick(
        names, columns.get("capacity"), ("capacidad", "capacity"), file, "--capacity-column", False
    )
    rows: list[FacilityRow] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}

    def bad(row: int, column: str, value: object, reason: str) -> None:
        problems.append(Problem(file, row, column, value, reason, unit=unit))

    for number, fields in records:
        code = (fields.get(code_col or "") or "").strip()
        kind = (fields.get(type_col or "") or "").strip()
        if not code:
            bad(number, code_col or "", "", _("the identifier is empty: give each facility one."))
            continue
        if code in seen:
            bad(
                number,
                code_col or "",
                code,
                _(
                    "duplicate identifier (also {where} {first}): identifiers must be unique."
                ).format(where=unit, first=seen[code]),
            )
            continue
        seen[code] = number
        canonical = mapping.canonical(kind) if kind else None
        if canonical is None:
            bad(
                number,
                type_col or "",
                kind,
                _(
                    "unknown facility type: add it to the type "
                    "mapping ({mapping}) or correct it. Known types: {types}."
                ).format(mapping=mapping.source, types=", ".join(mapping.types)),
            )
            continue
        lon = parse_number(fields["_lon"])
        lat = parse_number(fields["_lat"])
        if lon is None or lat is None:
            column = columns.get("lon") or "lon" if lon is None else columns.get("lat") or "lat"
            value = fields["_lon"] if lon is None else fields["_lat"]
            bad(
                number,
                column,
                value,
                _(
                    "not a number: coordinates must be decimal degrees "
                    "with a point (e.g. -72.5071)."
                ),
            )
            continue
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            bad(
                number,
                "lon/lat",
                f"{lon}, {lat}",
                _(
                    "out of range for degrees (lon -180..180, "
                    "lat -90..90): check the coordinates are WGS84 degrees."
                ),
            )
            continue
        if bbox is not None and not (
            bbox[0] - CITY_MARGIN_DEGREES <= lon <= bbox[2] + CITY_MARGIN_DEGREES
            and bbox[1] - CITY_MARGIN_DEGREES <= lat <= bbox[3] + CITY_MARGIN_DEGREES
        ):
            bad(
                number,
                "lon/lat",
                f"{lon}, {lat}",
                _(
                    "outside the city's boundaries: check "
                    "that latitude and longitude are not swapped."
                ),
            )
            continue
        capacity = None
        raw_capacity = (fields.get(cap_col or "") or "").strip() if cap_col else ""
        if raw_capacity:
            capacity = parse_number(raw_capacity)
            if capacity is None or capacity < 0:
                bad(
                    number,
                    cap_col or "",
                    raw_capacity,
                    _("capacity must be a number of 0 or more; leave it empty if unknown."),
                )
                continue
        name = (fields.get(name_col or "") or "").strip() if name_col else ""
        rows.append(FacilityRow(code, canonical, name, lon, lat, capacity, number))
    return rows, problems


def import_facilities(
    engine: Engine,
    path: Path | str,
    *,
    city: str,
    types: Path | str | None = None,
    layer: str | None = None,
    crs: str | None = None,
    override_crs: bool = False,
    encoding: str | None = None,
    sheet: str | None = None,
    code_column: str | None = None,
    type_column: str | None = None,
    name_column: str | None = None,
    lat_column: str | None = None,
    lon_column: str | None = None,
    capacity_column: str | None = None,
    accept_valid: bool = False,
    dry_run: bool = False,
    reject_path: Path | str | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import facilities of ``city`` from a CSV/XLSX with lat/lon or a point vector file.

    ``crs``: the CRS of a table's coordinate columns (default EPSG:4326) or of a vector file
    that declares none; ``override_crs`` replaces a vector file's own, wrong, CRS.
    """
    timer = Timer()
    progress = progress or quiet_progress
    path = require_file(path)
    store.require_current(engine)
    columns = {
        "code": code_column,
        "type": type_column,
        "name": name_column,
        "lat": lat_column,
        "lon": lon_column,
        "capacity": capacity_column,
    }
    mapping = load_type_mapping(types)
    report = ImportReport(kind="facilities", file=path.name, sha256=sha256_file(path))
    with store.transaction(engine) as session:
        city_row = find_city(session, city, path.name)
        bbox_row = session.execute(
            select(
                func.min(models.SpatialUnit.min_x),
                func.min(models.SpatialUnit.min_y),
                func.max(models.SpatialUnit.max_x),
                func.max(models.SpatialUnit.max_y),
            ).where(models.SpatialUnit.city_id == city_row.id)
        ).one()
        city_id = city_row.id
        city_crs = city_row.projected_crs
        previous = same_file_batch(session, "facilities", city_id, report.sha256)
    if previous is not None and not dry_run:
        report.status, report.batch_id = "unchanged", previous.id
        report.seconds = timer.seconds()
        return report
    bbox = None if bbox_row[0] is None else tuple(float(v) for v in bbox_row)
    progress(_("Reading {file}").format(file=path.name), 0, None)
    file, unit, records = read_facility_records(
        path,
        layer=layer,
        crs=crs,
        encoding=encoding,
        sheet=sheet,
        columns=columns,
        override_crs=override_crs,
        suggest_crs=city_crs,
    )
    rows, problems = validate_facilities(file, unit, records, mapping, columns, bbox)  # type: ignore[arg-type]
    report.file = file
    report.rows_read = len(records)
    report.rows_accepted = len(rows)
    report.rows_rejected = len(records) - len(rows)
    report.problems = problems
    report.details["types"] = {
        t: sum(r.type == t for r in rows) for t in sorted({r.type for r in rows})
    }
    enforce(report, accept_valid)
    if not records:
        raise IngestError(
            _("{file} has a header but no rows: nothing to import.").format(file=file)
        )
    if accept_valid and problems:
        report.reject_path = str(reject_path or default_reject_path(path))
    if dry_run:
        report.status = "dry_run"
        report.seconds = timer.seconds()
        return report
    with store.transaction(engine) as session:
        scope = [f"type:{t}" for t in report.details["types"]]
        replaced = overlapping_batches(session, "facilities", city_id, scope)
        batch = open_batch(
            session,
            report,
            city_id=city_id,
            period_id=None,
            scope=scope,
            replaced=replaced,
            details={"types": report.details["types"]},
        )
        _store(session, city_id, rows, batch.id, [b.id for b in replaced], progress)
    if report.reject_path:
        by_row = {number: fields for number, fields in records}
        write_rejects(
            Path(report.reject_path),
            problems,
            {k: {c: v for c, v in f.items() if not c.startswith("_")} for k, f in by_row.items()},
        )
    report.seconds = timer.seconds()
    return report


def _store(
    session: Any,
    city_id: int,
    rows: list[FacilityRow],
    batch_id: int,
    replaced_ids: list[int],
    progress: ProgressCallback,
) -> None:
    existing = dict(
        session.execute(
            select(models.Facility.code, models.Facility.id).where(
                models.Facility.city_id == city_id
            )
        ).all()
    )
    codes = {r.code for r in rows}
    if replaced_ids:
        session.execute(
            delete(models.Facility).where(
                models.Facility.batch_id.in_(replaced_ids), models.Facility.code.not_in(codes)
            )
        )
    points = shapely.to_wkb(shapely.points([[r.longitude, r.latitude] for r in rows]))
    new, changed = [], []
    for row, wkb in zip(rows, points, strict=True):
        values = {
            "code": row.code,
            "type": row.type,
            "name": row.name,
            "longitude": row.longitude,
            "latitude": row.latitude,
            "geometry": wkb,
            "capacity": row.capacity,
            "batch_id": batch_id,
        }
        if row.code in existing:
            changed.append({"id": existing[row.code], **values})
        else:
            new.append({"city_id": city_id, **values})
    if changed:
        session.execute(update(models.Facility), changed)
    for start in range(0, len(new), 5000):
        session.execute(insert(models.Facility), new[start : start + 5000])
        progress(_("Storing facilities"), min(start + 5000, len(new)), len(new))
