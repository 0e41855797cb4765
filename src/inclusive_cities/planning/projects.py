"""Candidate projects: read from a workbook or a GeoPackage, beneficiaries computed, stored.

A project has a site (a point or polygon, or a list of unit codes), a type, a cost, the
areas, dimensions or indicators it targets, an expected effect (the share of the need it
closes where it reaches), optional dependencies and exclusions, a funder and a locality.
Its beneficiaries are never typed: they are the residents of the units whose centre lies
within its catchment (straight-line distance, or along the streets when a street network
is given), split host / refugee and migrant from the store's population counts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, delete, select, update

from inclusive_cities.i18n import gettext as _
from inclusive_cities.planning.errors import PlanningError, ProjectsFileError
from inclusive_cities.store import models, transaction

PROJECT_TYPES = ("public_space", "housing", "services", "centre", "economic", "social_cohesion")
"""The kinds of project a city funds; a cap per type is one of the selection's constraints."""

DEFAULT_CATCHMENT_M = 500.0

_TYPE_ALIASES = {
    "espacio_publico": "public_space",
    "vivienda": "housing",
    "servicios": "services",
    "servicio": "services",
    "centro": "centre",
    "center": "centre",
    "economico": "economic",
    "economia": "economic",
    "cohesion_social": "social_cohesion",
    "cohesion": "social_cohesion",
}

_COLUMN_ALIASES = {
    "codigo": "code",
    "id": "code",
    "nombre": "name",
    "tipo": "type",
    "costo": "cost",
    "coste": "cost",
    "presupuesto": "cost",
    "localidad": "locality",
    "financiador": "funder",
    "financiadora": "funder",
    "objetivos": "targets",
    "objetivo": "targets",
    "areas": "targets",
    "efecto": "effect",
    "efecto_esperado": "effect",
    "expected_effect": "effect",
    "depende_de": "depends_on",
    "dependencias": "depends_on",
    "excluye": "excludes",
    "exclusiones": "excludes",
    "unidades": "units",
    "unit_codes": "units",
    "radio_m": "catchment_m",
    "captacion_m": "catchment_m",
    "catchment": "catchment_m",
    "fecha_inicio": "start_date",
    "inicio": "start_date",
    "longitud": "longitude",
    "lon": "longitude",
    "lng": "longitude",
    "latitud": "latitude",
    "lat": "latitude",
}

KNOWN_COLUMNS = (
    "code",
    "name",
    "type",
    "cost",
    "locality",
    "funder",
    "targets",
    "effect",
    "depends_on",
    "excludes",
    "units",
    "catchment_m",
    "start_date",
    "longitude",
    "latitude",
)

STORED_COLUMNS = [
    "code",
    "name",
    "type",
    "cost",
    "locality",
    "funder",
    "targets",
    "effect",
    "depends_on",
    "excludes",
    "unit_codes",
    "geometry",
    "longitude",
    "latitude",
    "catchment_m",
    "start_date",
    "beneficiaries_host",
    "beneficiaries_migrant",
    "beneficiaries",
    "beneficiary_units",
    "level",
]


@dataclass(frozen=True)
class ImportSummary:
    projects: int
    file: str
    level: str
    beneficiaries_host: float
    beneficiaries_migrant: float
    replaced: int
    kept: int = 0
    """Projects already under way (started on or before today) kept from earlier imports."""
    period: str = ""
    """The period whose population counts gave the beneficiaries (said with every count:
    ``plan prioritise`` counts its marker run's period, trial #3 F8)."""


def _plain(text: str) -> str:
    """Lower case, no accents, words joined by underscores: how columns and types match."""
    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", folded.strip().lower()).strip("_")


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


class _Rows:
    """Where a value came from, for one-line messages: file, row number, column."""

    def __init__(self, path: Path, header_rows: int) -> None:
        self.file = path.name
        self.offset = header_rows + 1
        self.headers: dict[str, str] = {}  # our column name -> the file's own header

    def fail(self, position: int, column: str, value: object, what: str) -> ProjectsFileError:
        return ProjectsFileError(
            _("{file}, row {row}, column '{column}': '{value}' {what}").format(
                file=self.file,
                row=position + self.offset,
                column=self.headers.get(column, column),
                value="" if _blank(value) else str(value),
                what=what,
            )
        )


def parse_amount(text: object) -> float | None:
    """An amount as people write it: 2500000, '2.500.000', '2 500 000', '$ 250,5',
    '250.000,50', '1,200,000.50' -> float; None when it is not a number."""
    if _blank(text):
        return None
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float | np.integer | np.floating):
        return float(text)
    cleaned = re.sub(r"[\s$€_]", "", str(text))
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", cleaned):
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
        cleaned = cleaned.replace(",", "")
    elif cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        return None


def parse_degrees(text: object) -> float | None:
    """A coordinate: never read with thousands separators (Quito's latitude is -0.180, not
    -180); a decimal comma is accepted."""
    if _blank(text) or isinstance(text, bool):
        return None
    if isinstance(text, int | float | np.integer | np.floating):
        return float(text)
    try:
        return float(str(text).strip().replace(",", "."))
    except ValueError:
        return None


def _codes(value: object) -> list[str]:
    """'P01; P02', 'P01,P02' or 'P01 P02' -> ['P01', 'P02'] (codes keep leading zeros)."""
    if _blank(value):
        return []
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return [part for part in re.split(r"[;,|\s]+", str(value).strip()) if part]


def _date(value: object) -> date | None:
    if _blank(value):
        return None
    if isinstance(value, datetime | pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return pd.Timestamp(str(value).strip()).date()
    except (ValueError, TypeError):
        raise ValueError(str(value)) from None


def _read_table(path: Path, layer: str | None) -> tuple[pd.DataFrame, Any, int]:
    """(attribute table as objects, geometries in EPSG:4326 or None, header rows)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ProjectsFileError(
            _("The projects file {file} does not exist: check the path.").format(file=str(path))
        )
    try:
        if suffix in (".xlsx", ".xlsm"):
            return pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl"), None, 1
        if suffix == ".csv":
            # the project's CSV reader: ';' from a Spanish Excel, Latin-1, a BOM
            from inclusive_cities.ingest.tabular import read_csv_text

            text = read_csv_text(path)
            return pd.DataFrame(text.rows, columns=text.header, dtype=str), None, 1
        if suffix == ".gpkg":
            import geopandas as gpd

            frame = gpd.read_file(path, layer=layer)
            if frame.crs is None:
                raise ProjectsFileError(
                    _(
                        "{file}: the layer has no coordinate reference system; save it with "
                        "one (e.g. EPSG:4326)."
                    ).format(file=path.name)
                )
            geometry = frame.to_crs("EPSG:4326").geometry
            table = pd.DataFrame(frame.drop(columns=frame.geometry.name)).astype(object)
            return table, geometry.reset_index(drop=True), 0
    except ProjectsFileError:
        raise
    except Exception as error:  # the reader's own message, on one line
        raise ProjectsFileError(
            _("{file} cannot be read ({reason}): save it again as .xlsx or .gpkg.").format(
                file=path.name, reason=str(error).splitlines()[0] if str(error) else error
            )
        ) from error
    raise ProjectsFileError(
        _("{file}: projects are read from .xlsx, .csv or .gpkg files, not '{suffix}'.").format(
            file=path.name, suffix=suffix or "-"
        )
    )


def read_projects(path: Path | str, layer: str | None = None) -> pd.DataFrame:
    """Validated candidate projects: one row per project, the columns of ``STORED_COLUMNS``
    that come from the file (geometry as shapely objects in EPSG:4326, or None)."""
    path = Path(path)
    table, geometry, header = _read_table(path, layer)
    rows = _Rows(path, header)
    renamed: dict[str, str] = {}
    for column in table.columns:
        plain = _plain(str(column))
        renamed[str(column)] = _COLUMN_ALIASES.get(plain, plain)
        rows.headers.setdefault(renamed[str(column)], str(column))
    table = table.rename(columns=renamed)
    table = table.loc[:, ~table.columns.duplicated()]
    for required in ("code", "type", "cost", "effect"):
        if required not in table.columns:
            raise ProjectsFileError(
                _(
                    "{file} has no column '{column}': the columns are {known}; a projects file "
                    "needs code, type, cost and effect."
                ).format(
                    file=path.name,
                    column=required,
                    known=", ".join(map(str, table.columns)) or "-",
                )
            )
    if table.empty:
        raise ProjectsFileError(
            _("{file} has no projects: add one row per candidate project.").format(file=path.name)
        )
    extra = [c for c in table.columns if c not in KNOWN_COLUMNS]
    records: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for position, row in enumerate(table.to_dict("records")):
        site_given = geometry is not None and not _blank_site(geometry.iloc[position])
        if not site_given and all(_blank(value) for value in row.values()):
            continue  # a fully blank spreadsheet row between projects (trial #3 F8)
        code_value = row.get("code")
        if isinstance(code_value, float) and not np.isnan(code_value) and code_value.is_integer():
            code_value = int(code_value)
        code = "" if _blank(code_value) else str(code_value).strip()
        if not code:
            raise rows.fail(position, "code", code_value, _("is empty: give every project a code."))
        if code in seen:
            raise rows.fail(
                position,
                "code",
                code,
                _("is also the code of row {row}: give each project its own code.").format(
                    row=seen[code] + rows.offset
                ),
            )
        seen[code] = position
        kind_text = row.get("type")
        kind = _TYPE_ALIASES.get(_plain(str(kind_text)), _plain(str(kind_text)))
        if kind not in PROJECT_TYPES:
            raise rows.fail(
                position,
                "type",
                kind_text,
                _("is not a project type: use one of {types}.").format(
                    types=", ".join(PROJECT_TYPES)
                ),
            )
        cost = parse_amount(row.get("cost"))
        if cost is None or not np.isfinite(cost) or cost < 0:
            raise rows.fail(
                position,
                "cost",
                row.get("cost"),
                _("is not a cost: write the amount as a number >= 0, e.g. 250000."),
            )
        effect_text = row.get("effect")
        percent = isinstance(effect_text, str) and effect_text.strip().endswith("%")
        effect = parse_amount(str(effect_text).strip().rstrip("%") if percent else effect_text)
        if percent and effect is not None:
            effect /= 100.0
        if effect is None or not 0 <= effect <= 1:
            raise rows.fail(
                position,
                "effect",
                effect_text,
                _(
                    "is not an expected effect: give the share of the need the project closes, "
                    "between 0 and 1 (e.g. 0.15 or 15%)."
                ),
            )
        catchment = parse_amount(row.get("catchment_m"))
        if not _blank(row.get("catchment_m")) and (catchment is None or catchment <= 0):
            raise rows.fail(
                position,
                "catchment_m",
                row.get("catchment_m"),
                _("is not a catchment radius: give metres above 0, e.g. 800."),
            )
        try:
            start = _date(row.get("start_date"))
        except ValueError:
            raise rows.fail(
                position,
                "start_date",
                row.get("start_date"),
                _("is not a date: write it as 2025-03-01."),
            ) from None
        site = geometry.iloc[position] if geometry is not None else None
        if site is not None and (site.is_empty or not shapely.is_valid(site)):
            site = shapely.make_valid(site) if not site.is_empty else None
        longitude = parse_degrees(row.get("longitude"))
        latitude = parse_degrees(row.get("latitude"))
        if site is None and (longitude is not None or latitude is not None):
            for column, value, limit in (("longitude", longitude, 180), ("latitude", latitude, 90)):
                if value is None or not -limit <= value <= limit:
                    raise rows.fail(
                        position,
                        column,
                        row.get(column),
                        _(
                            "is not a {column} in degrees (EPSG:4326); give both coordinates."
                        ).format(column=column),
                    )
            site = shapely.Point(longitude, latitude)
        units = _codes(row.get("units"))
        if site is None and not units:
            raise rows.fail(
                position,
                "units",
                row.get("units"),
                _(
                    "gives no site: give the project's unit codes, its longitude and latitude, "
                    "or a point or polygon in a GeoPackage."
                ),
            )
        if site is not None:
            centre = site if site.geom_type == "Point" else site.representative_point()
            longitude, latitude = float(centre.x), float(centre.y)
        records.append(
            {
                "code": code,
                "name": "" if _blank(row.get("name")) else str(row.get("name")).strip(),
                "type": kind,
                "cost": float(cost),
                "locality": "" if _blank(row.get("locality")) else str(row["locality"]).strip(),
                "funder": "" if _blank(row.get("funder")) else str(row["funder"]).strip(),
                "targets": _codes(row.get("targets")),
                "effect": float(effect),
                "depends_on": _codes(row.get("depends_on")),
                "excludes": _codes(row.get("excludes")),
                "unit_codes": units or None,
                "geometry": site,
                "longitude": longitude,
                "latitude": latitude,
                "catchment_m": catchment,
                "start_date": start,
                "attributes": {
                    column: (None if _blank(row.get(column)) else str(row.get(column)))
                    for column in extra
                }
                or None,
                "_row": position,
            }
        )
    if not records:
        raise ProjectsFileError(
            _("{file} has no projects: add one row per candidate project.").format(file=path.name)
        )
    frame = pd.DataFrame(records)
    for column in ("depends_on", "excludes"):
        for position, code, others in zip(frame["_row"], frame["code"], frame[column], strict=True):
            for other in others:
                if other == code or other not in seen:
                    raise rows.fail(
                        int(position),
                        column,
                        other,
                        _("is not another project of this file: use the codes of column 'code'."),
                    )
    _check_cycles(frame, rows)
    # the file's own headers ('Unidades'), so that later messages name what the user wrote
    frame.attrs["headers"] = dict(rows.headers)
    return frame


def _blank_site(site: object) -> bool:
    """No geometry in a GeoPackage row (None, NaN or an empty shape)."""
    return site is None or _blank(site) or bool(getattr(site, "is_empty", False))


def _check_cycles(frame: pd.DataFrame, rows: _Rows) -> None:
    """Dependencies must not go round in a circle (nothing in the circle could ever start)."""
    needs = dict(zip(frame["code"], frame["depends_on"], strict=True))
    state: dict[str, int] = {}

    def visit(code: str, trail: list[str]) -> None:
        if state.get(code) == 2:
            return
        if state.get(code) == 1:
            position = int(frame.loc[frame["code"] == code, "_row"].iloc[0])
            raise rows.fail(
                position,
                "depends_on",
                ";".join(needs[code]),
                _("makes a circle of dependencies ({cycle}): remove one of them.").format(
                    cycle=" -> ".join([*trail[trail.index(code) :], code])
                ),
            )
        state[code] = 1
        for other in needs[code]:
            visit(other, [*trail, code])
        state[code] = 2

    for code in needs:
        visit(code, [])


# --------------------------------------------------------------------------------------
# Beneficiaries
# --------------------------------------------------------------------------------------


def level_units(engine: Engine, city: str, level: str | None = None) -> tuple[Any, str]:
    """The city's units of ``level`` (default: the finest) as a GeoDataFrame in EPSG:4326,
    with their code as index, and the level code."""
    import geopandas as gpd

    with transaction(engine) as session:
        city_row = session.scalar(select(models.City).where(models.City.code == city))
        if city_row is None:
            raise PlanningError(
                _(
                    "There is no city '{city}' in the observatory; see 'inclusive-cities info'."
                ).format(city=city)
            )
        query = select(models.UnitLevel).where(models.UnitLevel.city_id == city_row.id)
        level_row = session.scalar(
            query.order_by(models.UnitLevel.depth.desc())
            if level is None
            else query.where(models.UnitLevel.code == level)
        )
        if level_row is None:
            raise PlanningError(
                _("City '{city}' has no unit level '{level}'.").format(city=city, level=level)
            )
        rows = session.execute(
            select(models.SpatialUnit.code, models.SpatialUnit.geometry).where(
                models.SpatialUnit.city_id == city_row.id,
                models.SpatialUnit.level_id == level_row.id,
            )
        ).all()
        crs = city_row.projected_crs
        level_code = level_row.code
    frame = gpd.GeoDataFrame(
        {"unit_code": [str(r[0]) for r in rows]},
        geometry=shapely.from_wkb([r[1] for r in rows]),
        crs="EPSG:4326",
    ).set_index("unit_code", drop=False)
    frame.attrs["projected_crs"] = crs
    return frame, level_code


def catchment_units(
    projects: pd.DataFrame,
    units: Any,
    default_catchment_m: float = DEFAULT_CATCHMENT_M,
    streets: Any = None,
) -> list[dict[str, float]]:
    """Per project, {unit code: 1.0} for the units it reaches: its listed units, or those
    whose centre lies within its catchment of its site (straight line, or along ``streets``).
    """
    import geopandas as gpd

    from inclusive_cities.spatial import nearest_distances, network_distances

    known = set(units.index)
    out: list[dict[str, float]] = [{} for _ in range(len(projects))]
    sited: list[int] = []
    for position, (codes, site) in enumerate(
        zip(projects["unit_codes"], projects["geometry"], strict=True)
    ):
        if codes:
            out[position] = {code: 1.0 for code in codes if code in known}
        elif site is not None:
            sited.append(position)
    if not sited:
        return out
    located = units[units.geometry.notna()]
    if located.empty:
        raise PlanningError(
            _(
                "The units have no boundaries, so a project's catchment cannot be measured: "
                "import the boundaries, or list each project's unit codes."
            )
        )
    sites = gpd.GeoDataFrame(
        {"code": projects["code"].iloc[sited].to_numpy()},
        geometry=list(projects["geometry"].iloc[sited]),
        crs="EPSG:4326",
    )
    crs = units.attrs.get("projected_crs") or None
    if streets is not None:
        streets_4326 = streets.to_crs("EPSG:4326") if streets.crs != located.crs else streets
        distances = network_distances(located, sites, streets_4326, type_column="code", crs=crs)
    else:
        distances = nearest_distances(located, sites, type_column="code", crs=crs)
    for position in sited:
        code = projects["code"].iloc[position]
        radius = projects["catchment_m"].iloc[position]
        radius = default_catchment_m if radius is None or pd.isna(radius) else float(radius)
        reached = distances[code] <= radius
        out[position] = {str(unit): 1.0 for unit in distances.index[reached.to_numpy()]}
    return out


def beneficiary_totals(
    reach: list[dict[str, float]], population: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """(host, refugee-and-migrant) residents reached by each project; ``population`` is
    indexed by unit code with population_host and population_migrant."""
    host = population["population_host"].fillna(0.0)
    migrant = population["population_migrant"].fillna(0.0)
    hosts = np.array([sum(host.get(u, 0.0) * f for u, f in r.items()) for r in reach])
    migrants = np.array([sum(migrant.get(u, 0.0) * f for u, f in r.items()) for r in reach])
    return hosts, migrants


def people_reached(
    reach: Iterable[Mapping[str, float]], host: Mapping[str, float], migrant: Mapping[str, float]
) -> tuple[float, float]:
    """(host, refugee-and-migrant) residents of the units any of ``reach`` touches, each unit
    counted once (at the largest share any project reaches of it): a person near two projects
    is one person helped, not two."""
    share: dict[str, float] = {}
    for units in reach:
        for unit, fraction in (units or {}).items():
            share[unit] = max(share.get(unit, 0.0), float(fraction))

    def total(people: Mapping[str, float]) -> float:
        values = (float(people.get(u, 0.0) or 0.0) * f for u, f in share.items())
        return float(sum(v for v in values if v == v))

    return total(host), total(migrant)


def _period_population(engine: Engine, city: str, level: str, period: str | None) -> pd.DataFrame:
    """Population split per unit code of ``level`` in ``period`` (default: the latest period
    with population counts for the city)."""
    from inclusive_cities.planning.places import _population

    with transaction(engine) as session:
        city_row = session.scalar(select(models.City).where(models.City.code == city))
        assert city_row is not None  # level_units checked it
        level_row = session.scalar(
            select(models.UnitLevel).where(
                models.UnitLevel.city_id == city_row.id, models.UnitLevel.code == level
            )
        )
        units = session.execute(
            select(models.SpatialUnit.id, models.SpatialUnit.code).where(
                models.SpatialUnit.city_id == city_row.id,
                models.SpatialUnit.level_id == (level_row.id if level_row else -1),
            )
        ).all()
        if period is None:
            period_row = session.scalar(
                select(models.Period)
                .join(models.Observation, models.Observation.period_id == models.Period.id)
                .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
                .where(
                    models.Indicator.code == "population",
                    models.Observation.unit_id.in_([u[0] for u in units]),
                )
                .order_by(models.Period.code.desc())
                .limit(1)
            )
        else:
            period_row = session.scalar(select(models.Period).where(models.Period.code == period))
        if period_row is None:
            raise PlanningError(
                _(
                    "City '{city}' has no population counts at level '{level}' (period {period}):"
                    " compute the indicators first ('inclusive-cities indicators compute')."
                ).format(city=city, level=level, period=period or "-")
            )
        frame = _population(session, period_row.id, [u[0] for u in units], "population")
        frame.attrs["period"] = str(period_row.code)
    frame.index = [str(code) for _id, code in units]
    return frame


def import_projects(
    engine: Engine,
    city: str,
    path: Path | str,
    *,
    level: str | None = None,
    period: str | None = None,
    layer: str | None = None,
    streets: Path | str | None = None,
    default_catchment_m: float = DEFAULT_CATCHMENT_M,
    imported_by: str = "",
) -> ImportSummary:
    """Read, validate and store a city's candidate projects with their beneficiaries at
    ``level`` in one transaction, replacing the city's previous candidates. Projects already
    under way (a start date on or before today) are kept for impact measurement, unless the
    file holds their code: the same code is the same project, so the file's row replaces it."""
    from inclusive_cities.ingest.common import sha256_file

    path = Path(path)
    frame = read_projects(path, layer)
    units, level_code = level_units(engine, city, level)
    from inclusive_cities.ingest.tabular import lost_leading_zeros, zero_stripped

    rows = _Rows(path, 0 if path.suffix.lower() == ".gpkg" else 1)
    rows.headers.update(frame.attrs.get("headers", {}))
    known = set(units.index)
    stripped = zero_stripped(known)
    for position, codes in enumerate(frame["unit_codes"]):
        for code in codes or []:
            if code not in known:
                padded = lost_leading_zeros(code, stripped)
                raise rows.fail(
                    int(frame["_row"].iloc[position]),
                    "units",
                    code,
                    _(
                        "is not a unit of level '{level}' in {city}: the city has {padded}, the "
                        "file lost the code's leading zeros (keep the column as text in Excel)."
                    ).format(level=level_code, city=city, padded=padded)
                    if padded
                    else _(
                        "is not a unit of level '{level}' in {city}: use codes such as {examples}."
                    ).format(level=level_code, city=city, examples=", ".join(sorted(known)[:3])),
                )
    network = None
    if streets is not None:
        from inclusive_cities.spatial import read_street_network

        network = read_street_network(streets)
    reach = catchment_units(frame, units, default_catchment_m, network)
    population = _period_population(engine, city, level_code, period)
    hosts, migrants = beneficiary_totals(reach, population)
    host_total, migrant_total = people_reached(
        reach,
        population["population_host"].to_dict(),
        population["population_migrant"].to_dict(),
    )
    records = []
    for position, row in enumerate(frame.to_dict("records")):
        site = row["geometry"]
        records.append(
            {
                "code": row["code"],
                "name": row["name"],
                "type": row["type"],
                "cost": row["cost"],
                "locality": row["locality"],
                "funder": row["funder"],
                "targets": row["targets"],
                "effect": row["effect"],
                "depends_on": row["depends_on"],
                "excludes": row["excludes"],
                "unit_codes": row["unit_codes"],
                "geometry": None if site is None else shapely.to_wkb(site),
                "longitude": row["longitude"],
                "latitude": row["latitude"],
                "catchment_m": (
                    None
                    if row["unit_codes"]
                    else (row["catchment_m"] if row["catchment_m"] else default_catchment_m)
                ),
                "start_date": row["start_date"],
                "beneficiaries_host": float(hosts[position]),
                "beneficiaries_migrant": float(migrants[position]),
                "beneficiary_units": reach[position],
                "attributes": {
                    **(row["attributes"] or {}),
                    "level": level_code,
                    "network": streets is not None,
                },
                "source_file": path.name,
            }
        )
    with transaction(engine) as session:
        city_row = session.scalar(select(models.City).where(models.City.code == city))
        assert city_row is not None
        previous = session.scalars(
            select(models.ImportBatch.id).where(
                models.ImportBatch.city_id == city_row.id,
                models.ImportBatch.kind == "planning_projects",
                models.ImportBatch.status == "active",
            )
        ).all()
        started = models.PlanningProject.start_date
        under_way = started.is_not(None) & (started <= date.today())
        stale = (models.PlanningProject.city_id == city_row.id) & (
            ~under_way | models.PlanningProject.code.in_([str(c) for c in frame["code"]])
        )
        replaced = len(session.scalars(select(models.PlanningProject.id).where(stale)).all())
        session.execute(delete(models.PlanningProject).where(stale))
        kept = len(
            session.scalars(
                select(models.PlanningProject.id).where(
                    models.PlanningProject.city_id == city_row.id
                )
            ).all()
        )
        batch = models.ImportBatch(
            kind="planning_projects",
            file_name=path.name,
            sha256=sha256_file(path),
            city_id=city_row.id,
            rows_read=len(frame),
            rows_accepted=len(frame),
            imported_by=imported_by,
            replaces_id=previous[-1] if previous else None,
            details={"level": level_code, "network": streets is not None},
        )
        session.add(batch)
        session.flush()
        if previous:
            session.execute(
                update(models.ImportBatch)
                .where(models.ImportBatch.id.in_(previous))
                .values(status="replaced")
            )
        session.add_all(
            models.PlanningProject(city_id=city_row.id, batch_id=batch.id, **record)
            for record in records
        )
    return ImportSummary(
        projects=len(records),
        file=path.name,
        level=level_code,
        beneficiaries_host=host_total,
        beneficiaries_migrant=migrant_total,
        replaced=int(replaced or 0),
        kept=kept,
        period=str(population.attrs.get("period", period or "")),
    )


def load_projects(engine: Engine, city: str, candidates_only: bool = False) -> pd.DataFrame:
    """A city's stored projects (columns of ``STORED_COLUMNS``; geometry as shapely objects
    in EPSG:4326 or None), ordered by code.

    ``candidates_only`` leaves out projects that have already started (a start date on or
    before today): they are evaluated for impact, not chosen again with the budget.
    """
    with transaction(engine) as session:
        city_row = session.scalar(select(models.City).where(models.City.code == city))
        if city_row is None:
            raise PlanningError(
                _(
                    "There is no city '{city}' in the observatory; see 'inclusive-cities info'."
                ).format(city=city)
            )
        query = select(models.PlanningProject).where(models.PlanningProject.city_id == city_row.id)
        if candidates_only:
            started = models.PlanningProject.start_date
            query = query.where(started.is_(None) | (started > date.today()))
        rows = session.scalars(query.order_by(models.PlanningProject.code)).all()
        records = [
            {
                "code": row.code,
                "name": row.name,
                "type": row.type,
                "cost": row.cost,
                "locality": row.locality,
                "funder": row.funder,
                "targets": list(row.targets or []),
                "effect": row.effect,
                "depends_on": list(row.depends_on or []),
                "excludes": list(row.excludes or []),
                "unit_codes": list(row.unit_codes) if row.unit_codes else None,
                "geometry": None if row.geometry is None else shapely.from_wkb(row.geometry),
                "longitude": row.longitude,
                "latitude": row.latitude,
                "catchment_m": row.catchment_m,
                "start_date": row.start_date,
                "beneficiaries_host": row.beneficiaries_host or 0.0,
                "beneficiaries_migrant": row.beneficiaries_migrant or 0.0,
                "beneficiaries": (row.beneficiaries_host or 0.0)
                + (row.beneficiaries_migrant or 0.0),
                "beneficiary_units": dict(row.beneficiary_units or {}),
                "level": (row.attributes or {}).get("level", ""),
            }
            for row in rows
        ]
    return pd.DataFrame(records, columns=STORED_COLUMNS)
