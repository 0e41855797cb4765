"""The network of Social Integration and Habitat Co-creation Centres: registry, map and exchange.

Each centre is a point (WGS 84) with its services, opening hours, public contact and status,
and its self-assessment against each principle of the network's principles declaration (1 = not
started ... 4 = consolidated). Centres come from a CSV/XLSX sheet (lon/lat columns) or a
GeoPackage (point geometry, any CRS: it is transformed to EPSG:4326), in Spanish or English
headers, in one transaction keyed by code; they leave as a GeoPackage or GeoJSON, and the web
serves them as an OGC API Features collection. Centres are organisations, not people, so the
registry is public as it stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.delivery_import import (
    DeliveryError,
    Field,
    ImportResult,
    Rows,
    Sheet,
    new_batch,
    parse_rows,
    problem,
    read_rows,
    unique_codes,
    upsert_by_code,
)
from inclusive_cities.store import transaction
from inclusive_cities.store.delivery_models import PRINCIPLES, DeliveryCentre
from inclusive_cities.store.models import utcnow
from inclusive_cities.store.monitoring_models import TargetCity

CENTRES_SHEET = Sheet(en="centres", es="centros")
COLLECTION_ID = "centres"
"""The OGC API Features collection the web serves the network as."""
PRINCIPLE_HEADERS: dict[str, str] = {
    "inclusion_diversity": "inclusión_diversidad",
    "inclusive_governance": "gobernanza_inclusiva",
    "intercultural_dialogue": "diálogo_intercultural",
    "no_one_left_behind": "nadie_atrás",
    "civic_solidarity": "solidaridad_cívica",
    "empowerment_equity": "empoderamiento_equidad",
    "action_nexus": "nexo_acción",
}
"""Spanish column of each principle's self-assessment (the English column is the code)."""
STATUS_NAMES: dict[str, tuple[str, ...]] = {
    "active": ("activo", "abierto", "active", "open"),
    "in_preparation": ("en preparación", "in preparation"),
    "closed": ("cerrado", "closed"),
}


def centre_fields() -> tuple[Field, ...]:
    """The columns of the centres sheet: identity, place, services, and one per principle."""
    base = (
        Field("code", "code", "código", required=True),
        Field("name", "name", "nombre", required=True),
        Field("target_city", "target_city", "ciudad_objetivo", "city"),
        Field("city", "city", "ciudad"),
        Field("country", "country", "país"),
        Field("lon", "lon", "longitud", "number", required=True),
        Field("lat", "lat", "latitud", "number", required=True),
        Field("services", "services", "servicios", "list"),
        Field("opening_hours", "opening_hours", "horario"),
        Field("contact", "contact", "contacto"),
        Field("status", "status", "estado", "choice", False, STATUS_NAMES),
    )
    return base + tuple(
        Field(f"p_{code}", code, PRINCIPLE_HEADERS[code], "number") for code in PRINCIPLES
    )


def principle_label(code: str, lang: str = "en") -> str:
    """A principle of the declaration as readers see it."""
    return {
        "inclusion_diversity": _("Inclusion and integration that respect diversity", lang),
        "inclusive_governance": _(
            "Inclusive governance and co-creation from the neighbourhood", lang
        ),
        "intercultural_dialogue": _("Engine of transformation and intercultural dialogue", lang),
        "no_one_left_behind": _("No one left behind", lang),
        "civic_solidarity": _("Solidarity with civic sense", lang),
        "empowerment_equity": _("Empowerment and equal opportunities", lang),
        "action_nexus": _("Transforming engine of the action nexus", lang),
    }.get(code, code)


def status_label(status: str, lang: str = "en") -> str:
    """A centre's status as readers see it."""
    return {
        "active": _("active (centre)", lang),
        "in_preparation": _("in preparation", lang),
        "closed": _("closed", lang),
    }.get(status, status)


def _geopackage_rows(path: Path, session: Session) -> Rows:
    """A GeoPackage's first layer as rows, its point geometry as lon/lat in EPSG:4326."""
    import pyogrio

    try:
        layers = pyogrio.list_layers(path)
        frame = pyogrio.read_dataframe(path, layer=str(layers[0][0]))
    except Exception as error:  # GDAL raises DataSourceError, DataLayerError...
        raise DeliveryError(
            _("{file} cannot be read as a GeoPackage ({reason}): export it again.").format(
                file=path.name, reason=str(error).splitlines()[0]
            )
        ) from error
    if frame.crs is None:
        raise DeliveryError(
            _(
                "{file} has no coordinate reference system: set one (EPSG:4326) and export again."
            ).format(file=path.name)
        )
    frame = frame.to_crs(4326)
    header = [str(c) for c in frame.columns if c != frame.geometry.name]
    header = [h for h in header if h.lower() not in ("lon", "lat", "longitud", "latitud")]
    cells: list[list[str]] = []
    numbers: list[int] = []
    for index, (_i, row) in enumerate(frame.iterrows(), start=1):
        geometry = row[frame.geometry.name]
        if geometry is None or geometry.is_empty or geometry.geom_type != "Point":
            raise problem(
                path.name,
                index,
                "geometry",
                "" if geometry is None else geometry.geom_type,
                _("is not a point: give each centre one point where it stands."),
            )
        values = ["" if _missing(row[h]) else _text(row[h]) for h in header]
        cells.append([*values, repr(geometry.x), repr(geometry.y)])
        numbers.append(index)
    return parse_rows(path.name, [*header, "lon", "lat"], cells, numbers, centre_fields(), session)


def _missing(value: object) -> bool:
    try:
        return value is None or value != value  # NaN
    except (TypeError, ValueError):
        return False


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def import_centres(engine: Engine, path: Path | str) -> ImportResult:
    """Import centres from CSV, XLSX or GeoPackage in one transaction, keyed by code."""
    with transaction(engine) as session:
        return import_centres_in(session, path)


def import_centres_in(session: Session, path: Path | str) -> ImportResult:
    """The same import inside the caller's transaction (a whole workbook is one)."""
    path = Path(path)
    created = updated = 0
    if path.suffix.lower() == ".gpkg":
        if not path.is_file():
            raise DeliveryError(_("{file} does not exist: check the path.").format(file=path))
        rows = _geopackage_rows(path, session)
    else:
        rows = read_rows(path, centre_fields(), CENTRES_SHEET, session)
    batch = new_batch(session, "delivery_centres", path, rows)
    cities = {c.id: c for c in session.scalars(select(TargetCity))}
    for record, number, code in unique_codes(rows):
        lon, lat = float(record["lon"]), float(record["lat"])  # type: ignore[arg-type]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (lon == 0 and lat == 0):
            raise problem(
                rows.file,
                number,
                rows.column("lon") + "/" + rows.column("lat"),
                f"{lon}, {lat}",
                _(
                    "is not a place in degrees (WGS 84): check the coordinates are lon/lat, "
                    "not metres or swapped."
                ),
            )
        principles: dict[str, int] = {}
        for principle in PRINCIPLES:
            score = record[f"p_{principle}"]
            if score is None:
                continue
            if score not in (1.0, 2.0, 3.0, 4.0):
                raise problem(
                    rows.file,
                    number,
                    rows.column(f"p_{principle}"),
                    str(score),
                    _(
                        "is not a self-assessment score: use 1 (not started) to 4 "
                        "(consolidated), or leave it empty."
                    ),
                )
            principles[principle] = int(score)  # type: ignore[call-overload]
        city = cities.get(record["target_city"]) if record["target_city"] else None  # type: ignore[call-overload]
        country = str(record["country"] or (city.country if city else "")).upper()
        if len(country) != 3 or not country.isalpha():
            raise problem(
                rows.file,
                number,
                rows.column("country"),
                str(record["country"] or ""),
                _("is not an ISO 3166 alpha-3 code (such as PER): give the country."),
            )
        values: dict[str, Any] = {
            "name": record["name"],
            "target_city_id": city.id if city else None,
            "city": record["city"] or (city.name if city else ""),
            "country": country,
            "lon": lon,
            "lat": lat,
            "services": record["services"] or [],
            "opening_hours": record["opening_hours"] or "",
            "contact": record["contact"] or "",
            "status": record["status"] or "active",
            "principles": principles,
            "batch_id": batch.id,
            "updated_at": utcnow(),
        }
        if upsert_by_code(session, DeliveryCentre, code, values):
            created += 1
        else:
            updated += 1
        session.flush()
    return ImportResult("centres", created, updated, batch.id)


@dataclass(frozen=True)
class CentreRecord:
    """A centre of the network as the map and the list show it."""

    code: str
    name: str
    target_city: str
    city: str
    country: str
    lon: float
    lat: float
    services: list[str]
    opening_hours: str
    contact: str
    status: str
    principles: dict[str, int]

    @property
    def self_assessment(self) -> float | None:
        """The mean of the principles it scored (1-4), None when it scored none."""
        scores = list(self.principles.values())
        return sum(scores) / len(scores) if scores else None


def list_centres(
    engine: Engine, *, country: str | None = None, status: str | None = None
) -> list[CentreRecord]:
    """The centres of the network by country, city and name."""
    query = select(DeliveryCentre, TargetCity).outerjoin(
        TargetCity, DeliveryCentre.target_city_id == TargetCity.id
    )
    if country:
        query = query.where(DeliveryCentre.country == country.upper())
    if status:
        query = query.where(DeliveryCentre.status == status)
    query = query.order_by(DeliveryCentre.country, DeliveryCentre.city, DeliveryCentre.name)
    with Session(engine) as session:
        return [
            CentreRecord(
                code=c.code,
                name=c.name,
                target_city=city.code if city else "",
                city=c.city,
                country=c.country,
                lon=c.lon,
                lat=c.lat,
                services=list(c.services or []),
                opening_hours=c.opening_hours,
                contact=c.contact,
                status=c.status,
                principles={k: int(v) for k, v in (c.principles or {}).items()},
            )
            for c, city in session.execute(query).all()
        ]


def centres_in_network(engine: Engine, *, status: str = "active") -> int:
    """How many centres the network counts (active ones by default)."""
    return len(list_centres(engine, status=status))


def centre_properties(centre: CentreRecord, lang: str = "en") -> dict[str, Any]:
    """A centre's public attributes (the GeoJSON/OGC feature properties)."""
    properties: dict[str, Any] = {
        "code": centre.code,
        "name": centre.name,
        "city": centre.city,
        "country": centre.country,
        "services": "; ".join(centre.services),
        "opening_hours": centre.opening_hours,
        "contact": centre.contact,
        "status": centre.status,
        "status_label": status_label(centre.status, lang),
        "self_assessment": centre.self_assessment,
    }
    for principle in PRINCIPLES:
        properties[principle] = centre.principles.get(principle)
    return properties


def centres_geojson(engine: Engine, lang: str = "en", **filters: str) -> dict[str, Any]:
    """The network as a GeoJSON FeatureCollection (EPSG:4326, lon/lat order)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": centre.code,
                "geometry": {"type": "Point", "coordinates": [centre.lon, centre.lat]},
                "properties": centre_properties(centre, lang),
            }
            for centre in list_centres(engine, **filters)
        ],
    }


def export_centres(engine: Engine, path: Path | str, lang: str = "es") -> int:
    """Write the network to a GeoPackage (one point layer, headers in ``lang``) that
    :func:`import_centres` reads back; returns how many centres it wrote."""
    import geopandas as gpd
    from shapely.geometry import Point

    centres = list_centres(engine)
    if not centres:
        raise DeliveryError(
            _(
                "There are no centres to export: import them first "
                "('inclusive-cities programme centres import')."
            )
        )
    header = {f.key: (f.es if lang == "es" else f.en) for f in centre_fields()}
    records = []
    for centre in centres:
        record: dict[str, Any] = {
            header["code"]: centre.code,
            header["name"]: centre.name,
            header["target_city"]: centre.target_city,
            header["city"]: centre.city,
            header["country"]: centre.country,
            header["services"]: "; ".join(centre.services),
            header["opening_hours"]: centre.opening_hours,
            header["contact"]: centre.contact,
            header["status"]: centre.status,
        }
        for principle in PRINCIPLES:
            record[header[f"p_{principle}"]] = centre.principles.get(principle)
        records.append(record)
    frame = gpd.GeoDataFrame(
        records, geometry=[Point(c.lon, c.lat) for c in centres], crs="EPSG:4326"
    )
    target = Path(path)
    if target.exists():
        target.unlink()
    frame.to_file(
        target, layer=CENTRES_SHEET.es if lang == "es" else CENTRES_SHEET.en, driver="GPKG"
    )
    return len(centres)
