"""Plans in and out of files: import a plan's projects from a GeoPackage or a workbook with
Spanish or English headers; export them as GeoPackage (any GIS) or XLSX (one sheet per table).

Imports run in one transaction (the plan is as it was when a row is wrong), and are safe to
re-run: a project is identified by its code, so importing the same file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
from sqlalchemy import Engine, delete

from inclusive_cities.i18n import gettext as _
from inclusive_cities.planning.output import type_label
from inclusive_cities.planning.projects import _blank, _plain
from inclusive_cities.planning.territorial_plan import (
    ITEM_COLUMNS,
    PlanError,
    budget_by,
    check_units,
    clean_item,
    load_plan,
    plan_row,
    status_label,
    store_item,
    units_at_sites,
)
from inclusive_cities.store import transaction
from inclusive_cities.store.plan_models import TerritorialPlanItem

ITEM_ALIASES = {
    "codigo": "code",
    "id": "code",
    "proyecto": "project_code",
    "codigo_proyecto": "project_code",
    "project": "project_code",
    "candidate": "project_code",
    "nombre": "name",
    "tipo": "type",
    "descripcion": "description",
    "estado": "status",
    "costo": "cost",
    "coste": "cost",
    "presupuesto": "cost",
    "budget": "cost",
    "fuente_de_financiacion": "funding_source",
    "fuente_financiacion": "funding_source",
    "financiacion": "funding_source",
    "financiador": "funding_source",
    "funder": "funding_source",
    "funding": "funding_source",
    "fecha_inicio": "start_date",
    "fecha_de_inicio": "start_date",
    "inicio": "start_date",
    "start": "start_date",
    "fecha_fin": "end_date",
    "fecha_de_fin": "end_date",
    "fecha_final": "end_date",
    "fin": "end_date",
    "end": "end_date",
    "unidades": "unit_codes",
    "units": "unit_codes",
    "unit": "unit_codes",
    "unidad": "unit_codes",
    "objetivos": "targets",
    "areas": "targets",
    "soluciones": "solution_codes",
    "solutions": "solution_codes",
    "solucion": "solution_codes",
    "longitud": "longitude",
    "lon": "longitude",
    "lng": "longitude",
    "latitud": "latitude",
    "lat": "latitude",
    "geometria": "geometry",
    "wkt": "geometry",
}

SPANISH_HEADERS = {
    "code": "codigo",
    "project_code": "codigo_proyecto",
    "name": "nombre",
    "type": "tipo",
    "description": "descripcion",
    "status": "estado",
    "cost": "costo",
    "funding_source": "fuente_financiacion",
    "start_date": "fecha_inicio",
    "end_date": "fecha_fin",
    "unit_codes": "unidades",
    "targets": "objetivos",
    "solution_codes": "soluciones",
    "geometry": "geometria",
}
"""Headers of an exported plan in Spanish; the import reads these and the English ones."""


@dataclass(frozen=True)
class Rows:
    """A file's rows with canonical column names, and where each came from (for errors)."""

    file: str
    records: list[dict[str, Any]]
    first_row: int
    """The row number of the first record as the user sees it (2 in a workbook: after the
    header; 1 in a GeoPackage: its first feature)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Canonical column name → the header as the file spells it (errors name the latter)."""

    def fail(self, position: int) -> Callable[[str, object, str], PlanError]:
        def build(column: str, value: object, what: str) -> PlanError:
            return PlanError(
                _("{file}, row {row}, column '{column}': '{value}' {what}").format(
                    file=self.file,
                    row=position + self.first_row,
                    column=self.headers.get(column, column),
                    value="" if _blank(value) else str(value),
                    what=what,
                )
            )

        return build


def read_rows(
    path: Path | str,
    aliases: Mapping[str, str],
    required: tuple[str, ...],
    *,
    sheets: tuple[str, ...] = (),
    layer: str | None = None,
) -> Rows:
    """Rows of a workbook (the first sheet named in ``sheets``, or the first sheet) or of a
    GeoPackage layer (geometry reprojected to EPSG:4326), headers folded to canonical names."""
    path = Path(path)
    if not path.is_file():
        raise PlanError(_("The file {file} does not exist: check the path.").format(file=path))
    suffix = path.suffix.lower()
    geometry = None
    try:
        if suffix in (".xlsx", ".xlsm"):
            import openpyxl

            workbook = openpyxl.load_workbook(path, read_only=True)
            names = {_plain(n): n for n in workbook.sheetnames}
            workbook.close()
            sheet = next((names[s] for s in sheets if s in names), 0)
            table = pd.read_excel(path, sheet_name=sheet, dtype=object, engine="openpyxl")
            first = 2
        elif suffix == ".gpkg":
            import geopandas as gpd

            frame = gpd.read_file(path, layer=layer)
            if frame.crs is None:
                raise PlanError(
                    _(
                        "{file}: the layer has no coordinate reference system; save it with "
                        "one (e.g. EPSG:4326)."
                    ).format(file=path.name)
                )
            geometry = list(frame.to_crs("EPSG:4326").geometry)
            table = pd.DataFrame(frame.drop(columns=frame.geometry.name)).astype(object)
            first = 1
        else:
            raise PlanError(
                _("{file}: plans are read from .xlsx or .gpkg files, not '{suffix}'.").format(
                    file=path.name, suffix=suffix or "-"
                )
            )
    except PlanError:
        raise
    except Exception as error:  # the reader's own message, on one line
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PlanError(
            _("{file} cannot be read ({reason}): save it again as .xlsx or .gpkg.").format(
                file=path.name, reason=reason
            )
        ) from error
    renamed = {}
    for column in table.columns:
        key = _plain(str(column))
        renamed[column] = aliases.get(key, key)
    table = table.rename(columns=renamed)
    for column in required:
        if column not in table.columns:
            raise PlanError(
                _("{file}: there is no column '{column}' (headers found: {found}).").format(
                    file=path.name, column=column, found=", ".join(map(str, renamed)) or "-"
                )
            )
    records = []
    for i, record in enumerate(table.to_dict("records")):
        if all(_blank(v) for v in record.values()) and (geometry is None or geometry[i] is None):
            continue
        if geometry is not None and geometry[i] is not None and not geometry[i].is_empty:
            record["geometry"] = geometry[i]
        record["_row"] = i
        records.append(record)
    spelled = {canonical: str(original) for original, canonical in renamed.items()}
    return Rows(file=path.name, records=records, first_row=first, headers=spelled)


def import_plan(
    engine: Engine,
    city: str,
    plan: str,
    path: Path | str,
    *,
    layer: str | None = None,
    replace: bool = False,
) -> int:
    """Store a file's projects in ``plan`` (by code: added or updated); with ``replace`` the
    plan's projects missing from the file are removed. Returns how many rows were read."""
    rows = read_rows(
        path, ITEM_ALIASES, ("code", "type"), sheets=("proyectos", "projects"), layer=layer
    )
    items = []
    seen: dict[str, int] = {}
    for record in rows.records:
        fail = rows.fail(record["_row"])
        item = clean_item(record, fail)
        if item["code"] in seen:
            raise fail(
                "code",
                item["code"],
                _("is repeated (also on row {row}): give each project its own code.").format(
                    row=seen[item["code"]] + rows.first_row
                ),
            )
        seen[item["code"]] = record["_row"]
        items.append((record["_row"], item))
    if not items:
        raise PlanError(
            _("{file} has no projects: fill one row per project.").format(file=rows.file)
        )
    with transaction(engine) as session:
        row = plan_row(session, city, plan)
        for position, item in items:
            check_units(session, row.city_id, item["unit_codes"], rows.fail(position))
            store_item(session, row, item, rows.file)
        if replace:
            session.execute(
                delete(TerritorialPlanItem).where(
                    TerritorialPlanItem.plan_id == row.id,
                    TerritorialPlanItem.code.not_in(list(seen)),
                )
            )
    return len(items)


def _flat(items: pd.DataFrame, language: str) -> pd.DataFrame:
    """Items as a flat table: lists joined with '; ', dates ISO, headers, types and statuses
    in ``language`` (``import_plan`` reads the words back as the codes)."""
    table = items.drop(columns=["geometry"]).copy()
    table["type"] = [type_label(str(t), language) for t in table["type"]]
    table["status"] = [status_label(str(s), language) for s in table["status"]]
    for column in ("unit_codes", "targets", "solution_codes"):
        table[column] = ["; ".join(v) for v in table[column]]
    for column in ("start_date", "end_date"):
        table[column] = [d.isoformat() if d else "" for d in table[column]]
    if language == "es":
        table = table.rename(columns=SPANISH_HEADERS)
    return table


def _budget_sheet(items: pd.DataFrame, by: str, language: str) -> pd.DataFrame:
    """``budget_by`` as a reader sees it: statuses or types and headers in ``language``."""
    table = budget_by(items, by)
    label = status_label if by == "status" else type_label
    table["key"] = [label(str(k), language) for k in table["key"]]
    headers = {
        "key": _("Status", language) if by == "status" else _("Type", language),
        "projects": _("Projects", language),
        "cost": _("Cost", language),
        "share": _("Share", language),
    }
    return table.rename(columns=headers)


def _with_site_units(engine: Engine, city: str, plan: str, items: pd.DataFrame) -> pd.DataFrame:
    """Items placed by their site alone (a polygon or point, no unit codes) with the units
    the planner places them in: an export's ``unidades`` column was empty for them (trial #4
    F19), though the project's page names its neighbourhoods."""
    pairs = zip(items["unit_codes"], items["geometry"], strict=True)
    sited = [i for i, (codes, site) in enumerate(pairs) if not codes and site is not None]
    if not sited:
        return items
    with transaction(engine) as session:
        city_id = plan_row(session, city, plan).city_id
        found = units_at_sites(session, city_id, [items["geometry"].iloc[i] for i in sited])
    filled = items.copy()
    codes = list(filled["unit_codes"])
    for position, units in zip(sited, found, strict=True):
        codes[position] = units
    filled["unit_codes"] = codes
    return filled


def export_plan(
    engine: Engine, city: str, plan: str, out: Path | str, *, language: str = "es"
) -> Path:
    """Write a plan as ``.gpkg`` (one layer of projects, EPSG:4326; projects without a site
    keep an empty geometry) or ``.xlsx`` (projects with WKT sites, budget by status and type)."""
    out = Path(out)
    loaded = load_plan(engine, city, plan)
    items = _with_site_units(engine, city, plan, loaded.items)
    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gpkg":
        import geopandas as gpd

        frame = gpd.GeoDataFrame(
            _flat(items, language), geometry=list(items["geometry"]), crs="EPSG:4326"
        )
        layer = "proyectos" if language == "es" else "projects"
        out.unlink(missing_ok=True)
        frame.to_file(out, layer=layer, driver="GPKG")
        return out
    if suffix == ".xlsx":
        table = _flat(items, language)
        wkt = [
            None if g is None else shapely.to_wkt(g, rounding_precision=7)
            for g in items["geometry"]
        ]
        table[SPANISH_HEADERS["geometry"] if language == "es" else "geometry"] = wkt
        sheets = {
            ("proyectos" if language == "es" else "projects"): table,
            (_("budget by status", language)): _budget_sheet(items, "status", language),
            (_("budget by type", language)): _budget_sheet(items, "type", language),
        }
        with pd.ExcelWriter(out, engine="openpyxl") as writer:
            for name, frame in sheets.items():
                frame.to_excel(writer, sheet_name=name[:31], index=False)
        return out
    raise PlanError(
        _("{file}: a plan is exported as .gpkg or .xlsx, not '{suffix}'.").format(
            file=out.name, suffix=suffix or "-"
        )
    )


__all__ = [
    "ITEM_ALIASES",
    "ITEM_COLUMNS",
    "Rows",
    "export_plan",
    "import_plan",
    "read_rows",
    "write_template",
]


PROPOSAL_HEADERS = {
    "es": [
        "codigo",
        "barrio",
        "titulo",
        "descripcion",
        "proponente",
        "fecha",
        "apoyos",
        "resultado",
        "motivo",
        "plan",
        "proyecto",
    ],
    "en": [
        "code",
        "neighbourhood",
        "title",
        "description",
        "proposed_by",
        "submitted_on",
        "supporters",
        "outcome",
        "reason",
        "plan",
        "item",
    ],
}


def write_template(out: Path | str, language: str = "es") -> Path:
    """An empty workbook to fill: a sheet of projects and one of proposals with the headers
    ``plan import`` and ``plan proposals import`` read, and a sheet saying what goes where."""
    import openpyxl
    from openpyxl.styles import Font

    out = Path(out)
    canonical = [c for c in ITEM_COLUMNS if c != "geometry"] + ["longitude", "latitude"]
    spanish = {**SPANISH_HEADERS, "longitude": "longitud", "latitude": "latitud"}
    headers = [spanish[c] for c in canonical] if language == "es" else canonical
    workbook = openpyxl.Workbook()
    projects = workbook.active
    assert projects is not None
    projects.title = "proyectos" if language == "es" else "projects"
    projects.append(headers)
    proposals = workbook.create_sheet("propuestas" if language == "es" else "proposals")
    proposals.append(PROPOSAL_HEADERS["es" if language == "es" else "en"])
    notes = workbook.create_sheet(_("instructions", language)[:31])
    for line in (
        _("One row per project; the code identifies it (re-importing updates it).", language),
        _(
            "type: public_space, housing, services, centre, economic or social_cohesion.",
            language,
        ),
        _("status: proposed, approved, under_way or done.", language),
        _("Dates as 2026-03-31; lists (units, targets, solutions) separated by ';'.", language),
        _(
            "A solution is written WORKSHOP:S-01 (the workshop's code and the solution's).",
            language,
        ),
        _(
            "outcome of a proposal: adopted (name the plan project), not_adopted (say why) or "
            "pending.",
            language,
        ),
    ):
        notes.append([line])
    for sheet in (projects, proposals):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(out)
    return out
