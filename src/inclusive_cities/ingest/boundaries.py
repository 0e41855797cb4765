"""Spatial units from vector files: several levels in one transaction.

Geometries are stored in EPSG:4326 as WKB with their bounding box; areas are computed in
the city's UTM zone (never in degrees). Codes are kept as text so leading zeros survive.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

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
    open_batch,
    overlapping_batches,
    quiet_progress,
    require_file,
    same_file_batch,
    sha256_file,
    write_rejects,
)
from inclusive_cities.ingest.common import number as format_count
from inclusive_cities.ingest.vector import (
    JSON_SUFFIXES,
    json_duplicate_keys,
    list_layers,
    read_vector,
)
from inclusive_cities.store import models

CODE_COLUMNS = ("code", "codigo", "cod", "id")
NAME_COLUMNS = ("name", "nombre")
PARENT_COLUMNS = ("parent_code", "codigo_padre", "parent")


@dataclass
class LevelSpec:
    """One level to import: where its features are and which columns say what."""

    code: str
    layer: str | None = None
    source: Path | None = None
    code_column: str | None = None
    name_column: str | None = None
    parent_column: str | None = None
    name_es: str = ""
    name_en: str = ""


@dataclass
class UnitRow:
    code: str
    name: str
    parent_code: str | None
    geometry: Any
    feature: int
    attributes: dict[str, object] = field(default_factory=dict)


@dataclass
class LevelResult:
    """A validated level: the units to store and what was wrong or repaired."""

    spec: LevelSpec
    file: str
    units: list[UnitRow]
    problems: list[Problem]
    repairs: list[Problem]
    rows_read: int


def utm_crs(longitude: float, latitude: float) -> str:
    """The UTM zone (WGS 84) containing a point, as EPSG:326zz (north) or EPSG:327zz (south)."""
    zone = min(60, max(1, math.floor((longitude + 180) / 6) + 1))
    return f"EPSG:{(32600 if latitude >= 0 else 32700) + zone}"


def _find_column(
    frame: pd.DataFrame, wanted: str | None, candidates: tuple[str, ...]
) -> str | None:
    columns = {str(c).lower(): str(c) for c in frame.columns if c != frame.geometry.name}
    if wanted is not None:
        return columns.get(wanted.lower())
    for candidate in candidates:
        if candidate in columns:
            return columns[candidate]
    return None


def code_text(value: object) -> str | None:
    """A code as text: integers stay without '.0', blanks become None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = str(value).strip()
    return text or None


def _polygonal(geometry: Any) -> Any:
    """The polygonal part of a repaired geometry (make_valid may add lines or points)."""
    if geometry is None or geometry.is_empty:
        return geometry
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [
        g for g in getattr(geometry, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")
    ]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def validate_level(
    frame: gpd.GeoDataFrame, spec: LevelSpec, file: str, *, check_orientation: bool = False
) -> LevelResult:
    """Check one level's features (codes, geometries); repairs are reported, not hidden."""
    problems: list[Problem] = []
    repairs: list[Problem] = []
    code_col = _find_column(frame, spec.code_column, CODE_COLUMNS)
    if code_col is None:
        raise IngestError(
            _(
                "{file}: no code column '{column}' (columns: {columns}): name it with "
                "--code-column."
            ).format(
                file=file,
                column=spec.code_column or "code/codigo",
                columns=", ".join(str(c) for c in frame.columns if c != frame.geometry.name),
            )
        )
    name_col = _find_column(frame, spec.name_column, NAME_COLUMNS)
    if spec.name_column and name_col is None:
        raise IngestError(
            _("{file}: no name column '{column}': check --name-column.").format(
                file=file, column=spec.name_column
            )
        )
    parent_col = _find_column(frame, spec.parent_column, PARENT_COLUMNS)
    if spec.parent_column and parent_col is None:
        raise IngestError(
            _(
                "{file}: no parent column '{column}': check --parent-column or use --parent-prefix."
            ).format(file=file, column=spec.parent_column)
        )
    geometries = frame.geometry.to_crs("EPSG:4326").values
    attributes = frame.drop(columns=[frame.geometry.name]).to_dict("records")
    seen: dict[str, int] = {}
    units: list[UnitRow] = []
    valid = shapely.is_valid(geometries)
    for index, geometry in enumerate(geometries):
        feature = index + 1
        record = attributes[index]
        code = code_text(record.get(code_col))
        if code is None:
            problems.append(
                Problem(
                    file,
                    feature,
                    code_col,
                    "",
                    _("the code is empty: every unit needs a code."),
                    unit="feature",
                )
            )
            continue
        if code in seen:
            problems.append(
                Problem(
                    file,
                    feature,
                    code_col,
                    code,
                    _(
                        "duplicate code (also feature {first}): codes must be unique within a "
                        "level; correct or remove one of them."
                    ).format(first=seen[code]),
                    unit="feature",
                )
            )
            continue
        seen[code] = feature
        if geometry is None or geometry.is_empty:
            problems.append(
                Problem(
                    file,
                    feature,
                    "geometry",
                    code,
                    _("the geometry is empty: draw the unit's boundary or remove the feature."),
                    unit="feature",
                )
            )
            continue
        if geometry.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(
                Problem(
                    file,
                    feature,
                    "geometry",
                    code,
                    _(
                        "the geometry is a {kind}, not a polygon: spatial units must be areas."
                    ).format(kind=geometry.geom_type),
                    unit="feature",
                )
            )
            continue
        if not valid[index]:
            reason = shapely.is_valid_reason(geometry)
            try:
                geometry = _polygonal(shapely.make_valid(geometry))
            except shapely.errors.GEOSException:  # NaN or infinite coordinates
                geometry = shapely.Polygon()
            if geometry.is_empty:
                problems.append(
                    Problem(
                        file,
                        feature,
                        "geometry",
                        code,
                        _(
                            "the geometry is invalid ({reason}) and cannot be repaired: redraw it."
                        ).format(reason=reason),
                        unit="feature",
                    )
                )
                continue
            repairs.append(
                Problem(
                    file,
                    feature,
                    "geometry",
                    code,
                    _(
                        "invalid geometry ({reason}) repaired "
                        "with make_valid; check the result on a map."
                    ).format(reason=reason),
                    unit="feature",
                )
            )
        if check_orientation and not _counter_clockwise(geometry):
            repairs.append(
                Problem(
                    file,
                    feature,
                    "geometry",
                    code,
                    _(
                        "outer ring is clockwise (GeoJSON "
                        "wants counter-clockwise, RFC 7946); re-oriented."
                    ),
                    unit="feature",
                )
            )
        geometry = shapely.orient_polygons(geometry)
        parent = code_text(record.get(parent_col)) if parent_col else None
        name = "" if name_col is None else (code_text(record.get(name_col)) or "")
        units.append(UnitRow(code, name, parent, geometry, feature, record))
    return LevelResult(spec, file, units, problems, repairs, rows_read=len(geometries))


def overlap_warnings(result: LevelResult, min_m2: float = 1.0) -> list[Problem]:
    """Units of one level that overlap (by at least ``min_m2``): accepted, but reported,
    because anything summed by area would count the shared part twice."""
    geoms = np.array([u.geometry for u in result.units], dtype=object)
    if len(geoms) < 2:
        return []
    left, right = shapely.STRtree(geoms).query(geoms, predicate="overlaps")
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return []
    box = shapely.bounds(shapely.GeometryCollection(list(geoms)))
    crs = utm_crs((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    shared = shapely.intersection(geoms[left], geoms[right])
    areas = gpd.GeoSeries(shared, crs="EPSG:4326").to_crs(crs).area.to_numpy()
    warnings = []
    for i, j, area in zip(left, right, areas, strict=True):
        if area < min_m2:
            continue
        unit, other = result.units[i], result.units[j]
        warnings.append(
            Problem(
                result.file,
                unit.feature,
                "geometry",
                unit.code,
                _(
                    "overlaps unit {other} (feature {feature}) by {area} m²; check the "
                    "boundaries, or sums by area will count the shared part twice."
                ).format(other=other.code, feature=other.feature, area=format_count(round(area))),
                unit="feature",
            )
        )
    return warnings


def _counter_clockwise(geometry: Any) -> bool:
    polygons = list(geometry.geoms) if geometry.geom_type == "MultiPolygon" else [geometry]
    return all(shapely.is_ccw(p.exterior) for p in polygons)


def resolve_parents(
    levels: list[LevelResult], parent_by: str, top_parents: dict[str, int] | None = None
) -> None:
    """Give each unit its parent code (by column or longest code prefix); drop orphans.

    Units whose parent is unknown or was itself rejected become problems, so the
    hierarchy stored is always complete.
    """
    for depth, level in enumerate(levels):
        if depth == 0 and not top_parents:
            for unit in level.units:
                unit.parent_code = None
            continue
        parents = {u.code for u in levels[depth - 1].units} if depth > 0 else set(top_parents or {})
        by_length = sorted({len(c) for c in parents}, reverse=True)
        kept = []
        for unit in level.units:
            if parent_by == "prefix":
                unit.parent_code = next(
                    (
                        unit.code[:n]
                        for n in by_length
                        if n < len(unit.code) and unit.code[:n] in parents
                    ),
                    None,
                )
                if unit.parent_code is None:
                    level.problems.append(
                        Problem(
                            level.file,
                            unit.feature,
                            "code",
                            unit.code,
                            _(
                                "no unit of the level above has a code that starts this code: "
                                "check the code or import the parent level."
                            ),
                            unit="feature",
                        )
                    )
                    continue
            elif unit.parent_code not in parents:
                level.problems.append(
                    Problem(
                        level.file,
                        unit.feature,
                        level.spec.parent_column or "parent",
                        unit.parent_code or "",
                        _(
                            "unknown parent code: it is not a code of the level above (or that "
                            "unit was rejected); correct it."
                        ),
                        unit="feature",
                    )
                )
                continue
            kept.append(unit)
        level.units = kept


def _source_sha(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        sidecars = [path]
        if path.suffix.lower() == ".shp":
            sidecars = sorted(p for p in path.parent.glob(path.stem + ".*") if p.is_file())
        for item in sidecars:
            if item.is_dir():  # a FileGDB or a folder of shapefiles; any other is refused
                require_file(item)
                digest.update(
                    _source_sha(sorted(p for p in item.rglob("*") if p.is_file())).encode()
                )
                continue
            digest.update(item.name.encode())
            digest.update(sha256_file(item).encode())
    return digest.hexdigest()


def read_levels(
    source: Path | str | None,
    levels: list[LevelSpec],
    *,
    crs: str | None = None,
    parent_by: str = "column",
    progress: ProgressCallback = quiet_progress,
    top_parents: dict[str, int] | None = None,
    override_crs: bool = False,
    suggest_crs: str | None = None,
) -> list[LevelResult]:
    """Read and validate every level (no store); parents are checked between levels.

    ``top_parents`` (code -> unit id) are the possible parents of the first level, when it
    hangs below a level already in the store. ``crs``/``override_crs``/``suggest_crs`` are
    passed to :func:`read_vector`, which refuses coordinates the CRS cannot hold.
    """
    results = []
    for number, spec in enumerate(levels, start=1):
        path = Path(spec.source or source or "")
        layer = spec.layer
        if layer is None and path.suffix.lower() == ".gpkg" and path.exists():
            names = list_layers(path)
            layer = spec.code if spec.code in names or len(names) != 1 else None
        file = path.name if layer is None else f"{path.name}:{layer}"
        progress(_("Reading {file}").format(file=file), number - 1, len(levels))
        frame = read_vector(
            path, layer=layer, crs=crs, override_crs=override_crs, suggest=suggest_crs
        )
        result = validate_level(
            frame, spec, file, check_orientation=path.suffix.lower() in JSON_SUFFIXES
        )
        if path.suffix.lower() in JSON_SUFFIXES:
            result.repairs[:0] = json_duplicate_keys(path)
        results.append(result)
    progress(_("Validated"), len(levels), len(levels))
    resolve_parents(results, parent_by, top_parents)
    return results


def _level_rows(
    session: Session, city: models.City, specs: list[LevelSpec]
) -> list[models.UnitLevel]:
    existing = {
        level.code: level
        for level in session.scalars(
            select(models.UnitLevel).where(models.UnitLevel.city_id == city.id)
        )
    }
    used = {level.depth for level in existing.values()}
    result = []
    depth = max(used) + 1 if used else 0
    for spec in specs:
        level = existing.get(spec.code)
        if level is None:
            while depth in used:
                depth += 1
            level = models.UnitLevel(
                city_id=city.id,
                code=spec.code,
                name_es=spec.name_es or spec.code,
                name_en=spec.name_en or spec.code,
                depth=depth,
            )
            session.add(level)
            session.flush()
            used.add(depth)
        depth = level.depth + 1
        result.append(level)
    return result


def import_boundaries(
    engine: Engine,
    source: Path | str | None,
    levels: list[LevelSpec],
    *,
    city: str,
    city_name: str | None = None,
    country: str = "",
    crs: str | None = None,
    override_crs: bool = False,
    projected_crs: str | None = None,
    parent_by: str = "column",
    parent_level: str | None = None,
    synthetic: bool = False,
    accept_valid: bool = False,
    dry_run: bool = False,
    reject_path: Path | str | None = None,
    progress: ProgressCallback | None = None,
    attribution: str | None = None,
    licence: str | None = None,
) -> ImportReport:
    """Import one or more levels of spatial units for ``city`` in one transaction.

    ``crs`` is the CRS of files that declare none; a file declaring another one is refused
    unless ``override_crs`` (its declaration is wrong and ``crs`` replaces it).
    ``attribution`` and ``licence`` are the boundaries' own terms (e.g. "© OpenStreetMap
    contributors", "ODbL-1.0"): every download of the city's layers carries them, since
    the observatory's licence for its figures does not cover someone else's geometry.
    """
    timer = Timer()
    progress = progress or quiet_progress
    if not levels:
        raise IngestError(_("Give at least one level to import (--level)."))
    paths = [Path(spec.source or source or "") for spec in levels]
    for path in paths:
        if not path.exists():
            raise IngestError(_("File {path} does not exist: check the path.").format(path=path))
    unique_paths = list(dict.fromkeys(paths))
    report = ImportReport(kind="boundaries", file=", ".join(p.name for p in unique_paths))
    report.sha256 = _source_sha(unique_paths)
    store.require_current(engine)
    top_parents = _stored_parents(engine, city, parent_level, report.file) if parent_level else None
    results = read_levels(
        source,
        levels,
        crs=crs,
        parent_by=parent_by,
        progress=progress,
        top_parents=top_parents,
        override_crs=override_crs,
        suggest_crs=projected_crs or _stored_projected_crs(engine, city),
    )
    report.rows_read = sum(r.rows_read for r in results)
    report.problems = [p for r in results for p in r.problems]
    report.repairs = [p for r in results for p in r.repairs]
    report.warnings = [w for r in results for w in overlap_warnings(r)]
    report.rows_accepted = sum(len(r.units) for r in results)
    report.rows_rejected = report.rows_read - report.rows_accepted
    report.details["levels"] = {r.spec.code: len(r.units) for r in results}
    enforce(report, accept_valid)
    if accept_valid and report.problems:
        report.reject_path = str(reject_path or default_reject_path(paths[0]))
    if dry_run:
        report.status = "dry_run"
        report.seconds = timer.seconds()
        return report
    all_geoms = [u.geometry for r in results for u in r.units]
    with store.transaction(engine) as session:
        city_row = session.scalars(select(models.City).where(models.City.code == city)).first()
        if city_row is not None:
            previous = same_file_batch(
                session,
                "boundaries",
                city_row.id,
                report.sha256,
                [f"level:{r.spec.code}" for r in results],
            )
            if previous is not None:
                report.status = "unchanged"
                report.batch_id = previous.id
                report.problems, report.repairs, report.warnings = [], [], []
                report.seconds = timer.seconds()
                return report
        if city_row is None:
            city_row = models.City(
                code=city, name=city_name or city, country=country, is_synthetic=synthetic
            )
            session.add(city_row)
            session.flush()
        if not city_row.projected_crs:
            centre = shapely.GeometryCollection(all_geoms).centroid if all_geoms else None
            city_row.projected_crs = projected_crs or (
                utm_crs(centre.x, centre.y) if centre is not None else None
            )
        level_rows = _level_rows(session, city_row, [r.spec for r in results])
        scope = [f"level:{r.spec.code}" for r in results]
        replaced = overlapping_batches(session, "boundaries", city_row.id, scope)
        batch = open_batch(
            session,
            report,
            city_id=city_row.id,
            period_id=None,
            scope=scope,
            replaced=replaced,
            details={
                "levels": report.details["levels"],
                "repairs": len(report.repairs),
                **({"attribution": attribution.strip()} if attribution else {}),
                **({"licence": licence.strip()} if licence else {}),
            },
        )
        parent_ids: dict[str, int] = dict(top_parents or {})
        for number, (result, level) in enumerate(zip(results, level_rows, strict=True), start=1):
            progress(_("Storing level {level}").format(level=level.code), number - 1, len(results))
            parent_ids = _store_level(
                session, city_row, level, result, parent_ids, batch.id, city_row.projected_crs
            )
        progress(_("Stored"), len(results), len(results))
    if report.reject_path:
        write_rejects(Path(report.reject_path), report.problems)
    report.seconds = timer.seconds()
    return report


def _stored_projected_crs(engine: Engine, city: str) -> str | None:
    """The city's projected CRS if it is already stored (named when metres look wrong)."""
    with store.transaction(engine) as session:
        return session.scalars(
            select(models.City.projected_crs).where(models.City.code == city)
        ).first()


def _stored_parents(engine: Engine, city: str, level: str, file: str) -> dict[str, int]:
    """Codes and ids of the units of a stored level, the parents of a new lower level."""
    with store.transaction(engine) as session:
        found = session.execute(
            select(models.SpatialUnit.code, models.SpatialUnit.id)
            .join(models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id)
            .join(models.City, models.City.id == models.UnitLevel.city_id)
            .where(models.City.code == city, models.UnitLevel.code == level)
        ).all()
    if not found:
        raise IngestError(
            _(
                "{file}: parent level '{level}' of city {city} has no units in the observatory: "
                "import it first or check --parent-level."
            ).format(file=file, level=level, city=city)
        )
    return {str(code): int(unit_id) for code, unit_id in found}


def _store_level(
    session: Session,
    city: models.City,
    level: models.UnitLevel,
    result: LevelResult,
    parent_ids: dict[str, int],
    batch_id: int,
    projected: str | None,
) -> dict[str, int]:
    """Upsert one level's units by code; units no longer in the file are removed."""
    existing = dict(
        session.execute(
            select(models.SpatialUnit.code, models.SpatialUnit.id).where(
                models.SpatialUnit.level_id == level.id
            )
        ).all()
    )
    geoms = np.array([u.geometry for u in result.units], dtype=object)
    bounds = shapely.bounds(geoms) if len(geoms) else np.empty((0, 4))
    areas = (
        gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs(projected).area.to_numpy()
        if len(geoms)
        else np.empty(0)
    )
    wkb = shapely.to_wkb(geoms) if len(geoms) else []
    new_rows, changed = [], []
    for index, unit in enumerate(result.units):
        row = {
            "code": unit.code,
            "name": unit.name,
            "parent_id": parent_ids.get(unit.parent_code) if unit.parent_code else None,
            "geometry": wkb[index],
            "min_x": float(bounds[index][0]),
            "min_y": float(bounds[index][1]),
            "max_x": float(bounds[index][2]),
            "max_y": float(bounds[index][3]),
            "area_m2": float(areas[index]),
            "batch_id": batch_id,
        }
        if unit.code in existing:
            changed.append({"id": existing[unit.code], **row})
        else:
            new_rows.append({"city_id": city.id, "level_id": level.id, **row})
    gone = set(existing) - {u.code for u in result.units}
    if gone:
        session.execute(
            delete(models.SpatialUnit).where(models.SpatialUnit.id.in_([existing[c] for c in gone]))
        )
    if changed:
        session.execute(update(models.SpatialUnit), changed)
    for start in range(0, len(new_rows), 5000):
        session.execute(insert(models.SpatialUnit), new_rows[start : start + 5000])
    return dict(
        session.execute(
            select(models.SpatialUnit.code, models.SpatialUnit.id).where(
                models.SpatialUnit.level_id == level.id
            )
        ).all()
    )


def boundary_terms(session: Session, city_id: int) -> list[str]:
    """The attribution and licence of the city's active boundaries, one text per import that
    declared them (``import boundaries --attribution … --licence …``), oldest first."""
    batches = session.scalars(
        select(models.ImportBatch)
        .where(
            models.ImportBatch.city_id == city_id,
            models.ImportBatch.kind == "boundaries",
            models.ImportBatch.status == "active",
        )
        .order_by(models.ImportBatch.id)
    )
    terms: list[str] = []
    for batch in batches:
        details = batch.details or {}
        parts = [str(details[k]) for k in ("attribution", "licence") if details.get(k)]
        if details.get("attribution") and not details.get("licence"):
            # an attribution is not a licence: never let it read as one (trial F10)
            parts.append(_("licence not declared"))
        text = " — ".join(parts)
        if text and text not in terms:
            terms.append(text)
    return terms


def figure_terms(session: Session, indicator_id: int, period_id: int, city_id: int) -> list[str]:
    """The licences declared with the imports of one layer's figures (``import table
    --licence``), each with its source: downloads name them instead of the default."""
    batches = session.scalars(
        select(models.ImportBatch)
        .where(
            models.ImportBatch.id.in_(
                select(models.Observation.batch_id)
                .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
                .where(
                    models.Observation.indicator_id == indicator_id,
                    models.Observation.period_id == period_id,
                    models.SpatialUnit.city_id == city_id,
                )
                .distinct()
            )
        )
        .order_by(models.ImportBatch.id)
    )
    terms: list[str] = []
    for batch in batches:
        details = batch.details or {}
        if not details.get("licence"):
            continue
        text = " — ".join(str(details[k]) for k in ("source", "licence") if details.get(k))
        if text not in terms:
            terms.append(text)
    return terms
