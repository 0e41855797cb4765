"""``import boundaries|table|census|facilities``: bring real files into the observatory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from inclusive_cities.cli.app import state
from inclusive_cities.cli.progress import progress_bar
from inclusive_cities.errors import UsageError
from inclusive_cities.i18n import gettext as _

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from inclusive_cities.ingest.common import ImportReport

console = Console(highlight=False)
import_app = typer.Typer(
    help="Import boundaries, indicator tables, census microdata and facilities.",
    no_args_is_help=True,
)
SHOWN_PROBLEMS = 20

ACCEPT_VALID = typer.Option(
    False,
    "--accept-valid",
    help="Import the valid rows and write the rejected ones to a reject CSV (default: reject the "
    "whole file if any row is bad).",
)
REJECT_FILE = typer.Option(None, "--reject-file", help="Where to write rejected rows (CSV).")
DRY_RUN = typer.Option(False, "--dry-run", help="Validate and report without writing anything.")
CITY = typer.Option(..., "--city", help="City code (e.g. DEMO).")
MISSING = typer.Option(
    [],
    "--missing",
    help="A cell value that means 'no data' (e.g. 999, -999); repeat for several codes.",
)


def missing_codes(values: list[str]) -> tuple[float, ...]:
    """The --missing codes as numbers (an option value that is not a number is refused)."""
    from inclusive_cities.ingest.dictionary import parse_missing_codes

    return parse_missing_codes(values, "--missing")


def missing_texts(codes: tuple[float, ...]) -> list[str]:
    """Codes as a census file writes them: 999, and 999.0 as Stata exports floats."""
    texts: list[str] = []
    for code in codes:
        if code.is_integer():
            texts += [str(int(code)), f"{int(code)}.0"]
        else:
            texts.append(repr(code))
    return texts


def _engine() -> Engine:
    from inclusive_cities import store

    return store.connect(state.database_url)


def _print(report: ImportReport) -> None:
    console.print("\n".join(report.summary_lines()))
    for title, items in (
        (_("Repairs"), report.repairs),
        (_("Warnings"), report.warnings),
        (_("Rejected rows"), report.problems),
    ):
        if not items:
            continue
        console.print(f"[bold]{title}[/]:")
        for item in items[:SHOWN_PROBLEMS]:
            console.print(f"  {item}", markup=False, soft_wrap=True)  # one line each
        if len(items) > SHOWN_PROBLEMS:
            console.print("  " + _("… and {count} more").format(count=len(items) - SHOWN_PROBLEMS))


def parse_level(text: str) -> tuple[str, str | None]:
    code, _sep, where = text.partition("=")
    if not code.strip():
        raise UsageError(
            _(
                "--level '{value}' needs a level code, e.g. --level barrio or "
                "--level barrio=barrios.shp."
            ).format(value=text)
        )
    from inclusive_cities.ingest.identifiers import validate_identifier

    return validate_identifier("level", code.strip()), where.strip() or None


def parse_pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, target = value.partition("=")
        if not sep or not key.strip() or not target.strip():
            raise UsageError(
                _("{option} '{value}' must be KEY=VALUE.").format(option=option, value=value)
            )
        pairs[key.strip()] = target.strip()
    return pairs


OVERRIDE_CRS = typer.Option(
    False, "--override-crs", help="The file's own CRS is wrong: read its coordinates in --crs."
)


@import_app.command("boundaries")
def boundaries(
    source: Path = typer.Argument(
        None, help="GeoPackage, Shapefile (.shp or .zip), GeoJSON or GeoParquet file."
    ),
    city: str = CITY,
    level: list[str] = typer.Option(
        ...,
        "--level",
        help="Level code, top first; CODE=LAYER picks a layer of SOURCE, "
        "CODE=FILE reads another file. Repeat for several levels.",
    ),
    city_name: str = typer.Option(None, "--city-name", help="City name (when it is new)."),
    country: str = typer.Option("", "--country", help="ISO 3166 alpha-3 country code."),
    code_column: str = typer.Option(None, "--code-column", help="Column with unit codes."),
    name_column: str = typer.Option(None, "--name-column", help="Column with unit names."),
    parent_column: str = typer.Option(
        None, "--parent-column", help="Column with the parent unit's code."
    ),
    parent_level: str = typer.Option(
        None, "--parent-level", help="Stored level holding the parents of the first --level."
    ),
    parent_prefix: bool = typer.Option(
        False, "--parent-prefix", help="Find parents by code prefix instead of a column."
    ),
    crs: str = typer.Option(None, "--crs", help="CRS of files that lack one (EPSG:CODE)."),
    override_crs: bool = OVERRIDE_CRS,
    synthetic: bool = typer.Option(False, "--synthetic", help="Mark the city as synthetic data."),
    attribution: str = typer.Option(
        None, "--attribution", help="Who made the boundaries, as downloads must credit them."
    ),
    licence: str = typer.Option(
        None, "--licence", help="Licence of the boundaries (e.g. ODbL-1.0), shown on downloads."
    ),
    accept_valid: bool = ACCEPT_VALID,
    reject_file: Path = REJECT_FILE,
    dry_run: bool = DRY_RUN,
) -> None:
    """Import spatial units (one or several levels in one go)."""
    from inclusive_cities.ingest import LevelSpec, import_boundaries
    from inclusive_cities.ingest.identifiers import validate_identifier

    validate_identifier("city", city)
    specs = []
    for text in level:
        code, where = parse_level(text)
        file = Path(where) if where and Path(where).exists() else None
        specs.append(
            LevelSpec(
                code,
                layer=None if file else where,
                source=file,
                code_column=code_column,
                name_column=name_column,
                parent_column=parent_column,
            )
        )
    if source is None and any(spec.source is None for spec in specs):
        raise UsageError(_("Give the boundary file, or a file for every --level (CODE=FILE)."))
    with progress_bar() as progress:
        report = import_boundaries(
            _engine(),
            source,
            specs,
            city=city,
            city_name=city_name,
            country=country,
            crs=crs,
            override_crs=override_crs,
            parent_by="prefix" if parent_prefix else "column",
            parent_level=parent_level,
            synthetic=synthetic,
            accept_valid=accept_valid,
            dry_run=dry_run,
            reject_path=reject_file,
            progress=progress,
            attribution=attribution,
            licence=licence,
        )
    _print(report)


@import_app.command("table")
def table(
    path: Path = typer.Argument(..., help="CSV or XLSX indicator table (long or wide)."),
    city: str = CITY,
    level: str = typer.Option(None, "--level", help="Level of the units (default: best match)."),
    sheet: str = typer.Option(None, "--sheet", help="XLSX sheet (default: the first)."),
    encoding: str = typer.Option(None, "--encoding", help="Text encoding (default: detected)."),
    decimal: str = typer.Option(None, "--decimal", help="Decimal mark of the numbers: . or ,"),
    locale: str = typer.Option(None, "--locale", help="Number locale, e.g. es (1.234,5)."),
    period: str = typer.Option(None, "--period", help="Period of every row (no period column)."),
    unit_column: str = typer.Option(None, "--unit-column", help="Column with unit codes."),
    period_column: str = typer.Option(None, "--period-column", help="Column with periods."),
    column: list[str] = typer.Option([], "--column", help="COLUMN=INDICATOR (wide tables)."),
    hxl_map: list[str] = typer.Option([], "--hxl-map", help="HXL TAG=INDICATOR."),
    missing: list[str] = MISSING,
    dictionary: Path = typer.Option(
        None,
        "--dictionary",
        help="Data dictionary (.csv or .yaml): code, name_es, name_en, unit, direction, min, "
        "max, missing.",
    ),
    source: str = typer.Option("", "--source", help="Source to record with each value."),
    licence: str = typer.Option(
        "", "--licence", help="Licence of the figures (e.g. CC-BY-4.0), shown on downloads."
    ),
    accept_valid: bool = ACCEPT_VALID,
    accept_units: bool = typer.Option(
        False,
        "--accept-units",
        help="Import a column whose values look on the wrong scale for its unit (kilometres in a "
        "metres column, 0-1 shares in a % column) as it is (default: refuse the file).",
    ),
    reject_file: Path = REJECT_FILE,
    dry_run: bool = DRY_RUN,
) -> None:
    """Import an indicator table as observed values.

    Columns in the indicator catalogue keep its names, unit and direction; describe the
    others with --dictionary, or their direction stays unknown (never judged good or bad)."""
    from inclusive_cities.ingest import import_table
    from inclusive_cities.ingest.dictionary import split_missing_codes
    from inclusive_cities.ingest.identifiers import validate_identifier

    validate_identifier("city", city)
    if period is not None:
        validate_identifier("period", period)

    if decimal not in (None, ".", ","):
        raise UsageError(_("--decimal must be . or , (not {value}).").format(value=decimal))
    numbers, texts = split_missing_codes(missing, "--missing")
    with progress_bar() as progress:
        report = import_table(
            _engine(),
            path,
            city=city,
            level=level,
            sheet=sheet,
            encoding=encoding,
            decimal=decimal,
            locale=locale,
            period=period,
            unit_column=unit_column,
            period_column=period_column,
            indicator_columns=parse_pairs(column, "--column") or None,
            hxl_map=parse_pairs(hxl_map, "--hxl-map"),
            missing=numbers,
            dictionary=dictionary,
            missing_text=texts,
            source=source,
            licence=licence,
            accept_valid=accept_valid,
            accept_units=accept_units,
            dry_run=dry_run,
            reject_path=reject_file,
            progress=progress,
        )
    _print(report)


@import_app.command("census")
def census(
    path: Path = typer.Argument(..., help="CSV, Parquet, Stata (.dta) or SPSS (.sav) file."),
    record: str = typer.Option(..., "--record", help="households or persons."),
    city: str = CITY,
    period: str = typer.Option(..., "--period", help="Census period, e.g. 2018."),
    profile: str = typer.Option("demo", "--profile", help="Profile name or YAML file."),
    data_dir: Path = typer.Option(
        None,
        "--data-dir",
        envvar="INCLUSIVE_CITIES_DATA_DIR",
        help="Where microdata Parquet files are kept.",
    ),
    memory_limit: str = typer.Option("1GB", "--memory-limit", help="DuckDB memory limit."),
    missing: list[str] = MISSING,
    accept_valid: bool = ACCEPT_VALID,
    reject_file: Path = REJECT_FILE,
    dry_run: bool = DRY_RUN,
) -> None:
    """Import census microdata (households first, then persons) as canonical Parquet."""
    from inclusive_cities.ingest import import_census

    with progress_bar() as progress:
        report = import_census(
            _engine(),
            path,
            record=record,
            city=city,
            period=period,
            profile=profile,
            data_dir=data_dir,
            accept_valid=accept_valid,
            dry_run=dry_run,
            reject_path=reject_file,
            progress=progress,
            memory_limit=memory_limit,
            missing=missing_texts(missing_codes(missing)),
        )
    _print(report)
    if report.status == "imported":
        console.print(_("Microdata stored in {path}").format(path=report.details.get("parquet")))


@import_app.command("facilities")
def facilities(
    path: Path = typer.Argument(..., help="CSV/XLSX with lat/lon, or a point vector file."),
    city: str = CITY,
    types: Path = typer.Option(None, "--types", help="YAML type mapping (default: built in)."),
    layer: str = typer.Option(None, "--layer", help="Layer of a GeoPackage."),
    crs: str = typer.Option(
        None, "--crs", help="CRS of the x/y columns (default EPSG:4326) or of a file without one."
    ),
    override_crs: bool = OVERRIDE_CRS,
    encoding: str = typer.Option(None, "--encoding", help="Text encoding (default: detected)."),
    sheet: str = typer.Option(None, "--sheet", help="XLSX sheet."),
    code_column: str = typer.Option(None, "--code-column", help="Identifier column."),
    type_column: str = typer.Option(None, "--type-column", help="Type column."),
    name_column: str = typer.Option(None, "--name-column", help="Name column."),
    lat_column: str = typer.Option(None, "--lat-column", help="Latitude column."),
    lon_column: str = typer.Option(None, "--lon-column", help="Longitude column."),
    capacity_column: str = typer.Option(None, "--capacity-column", help="Capacity column."),
    accept_valid: bool = ACCEPT_VALID,
    reject_file: Path = REJECT_FILE,
    dry_run: bool = DRY_RUN,
) -> None:
    """Import facilities (health, education, public space, transport …) as typed points."""
    from inclusive_cities.ingest import import_facilities

    with progress_bar() as progress:
        report = import_facilities(
            _engine(),
            path,
            city=city,
            types=types,
            layer=layer,
            crs=crs,
            override_crs=override_crs,
            encoding=encoding,
            sheet=sheet,
            code_column=code_column,
            type_column=type_column,
            name_column=name_column,
            lat_column=lat_column,
            lon_column=lon_column,
            capacity_column=capacity_column,
            accept_valid=accept_valid,
            dry_run=dry_run,
            reject_path=reject_file,
            progress=progress,
        )
    _print(report)


@import_app.command("layers")
def layers(
    path: Path = typer.Argument(..., help="Vector file of environment layers (GeoPackage)."),
    city: str = typer.Option(..., "--city", help="City code (e.g. DEMO)."),
    data_dir: Path = typer.Option(
        None,
        "--data-dir",
        envvar="INCLUSIVE_CITIES_DATA_DIR",
        help="Where the observatory keeps large files (default: settings).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file without keeping it."),
) -> None:
    """Keep environment layers (risk zones, public space, streets) for the indicators."""
    from inclusive_cities.ingest import import_layers

    _print(import_layers(_engine(), path, city=city, data_dir=data_dir, dry_run=dry_run))


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
