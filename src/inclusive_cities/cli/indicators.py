"""``indicators …``: list and check the catalogue, compute a city's indicators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities.cli.app import state
from inclusive_cities.cli.progress import progress_bar
from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False)
indicators_app = typer.Typer(
    help="Indicator catalogue and computation from census, facilities and layers.",
    no_args_is_help=True,
)


def list_indicators(
    catalogue: list[Path] = typer.Option(
        [], "--catalogue", "-c", help="Extra catalogue YAML file(s) (add or replace entries)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """List the catalogue's indicators and how each is computed."""
    from inclusive_cities.indicators import load_catalogue

    entries = load_catalogue(catalogue)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "code": s.code,
                        "dimension": s.dimension,
                        "record": s.record,
                        "direction": s.direction,
                        "unit": s.unit,
                        "formula": s.formula(),
                    }
                    for s in entries
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table(_("Indicator"), _("Dimension"), _("Record"), _("How"), show_header=True)
    for spec in entries:
        table.add_row(spec.code, spec.dimension, spec.record, spec.formula())
    console.print(table)


def check(
    catalogue: list[Path] = typer.Argument(..., help="Catalogue YAML file(s) to check."),
) -> None:
    """Check catalogue files: keys, expressions, columns and functions."""
    from inclusive_cities.indicators import load_catalogue

    entries = load_catalogue(catalogue)
    console.print(
        _("The catalogue is valid: {count} indicators.").format(count=len(entries.indicators))
    )


def compute(
    city: str = typer.Option(..., "--city", help="City code."),
    period: str = typer.Option(..., "--period", help="Period code (e.g. the census year)."),
    level: str = typer.Option(
        None, "--level", help="Base level (default: the smallest); levels above are aggregated."
    ),
    catalogue: list[Path] = typer.Option(
        [], "--catalogue", "-c", help="Extra catalogue YAML file(s) (add or replace entries)."
    ),
    only: list[str] = typer.Option([], "--only", help="Compute only these indicator codes."),
    layers: list[Path] = typer.Option(
        [],
        "--layers",
        help="Vector file(s) with environment layers (espacio_publico, zonas_riesgo, vias).",
    ),
    data_dir: Path = typer.Option(
        None, "--data-dir", help="Where census Parquet files live (default: settings)."
    ),
    network: str = typer.Option(
        None,
        "--network",
        help=(
            "Measure distances to facilities along streets, not straight: an OpenStreetMap "
            "extract (.osm.pbf, .osm), a street line file (.gpkg …) or an environment layer "
            "(e.g. vias)."
        ),
    ),
    backend: str = typer.Option(
        "duckdb",
        "--engine",
        help=(
            "Where the census is aggregated: duckdb (this machine), spark (local Spark), or a "
            "Spark master URL such as spark://host:7077 for a national census."
        ),
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Compute and report; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Compute every catalogue indicator whose inputs exist and store the observations."""
    from inclusive_cities import store
    from inclusive_cities.indicators import compute_city, load_catalogue

    engine = store.connect(state.database_url)
    with progress_bar(_("Computing indicators")) as progress:
        report = compute_city(
            engine,
            city,
            period,
            level=level,
            catalogue=load_catalogue(catalogue),
            codes=only or None,
            layers=layers,
            data_dir=data_dir,
            dry_run=dry_run,
            network=network,
            progress=progress,
            backend=backend,
        )
    if as_json:
        typer.echo(json.dumps(report.__dict__, ensure_ascii=False, indent=2))
        _refuse_if_nothing_computed(engine, report, city, period)
        return
    table = Table(_("Indicator"), _("Values"), _("Suppressed"), show_header=True)
    for code, count in report.written.items():
        table.add_row(code, format_number(count), format_number(report.suppressed.get(code, 0)))
    console.print(table)
    console.print(
        _("Indicators computed for {city}, period {period}, levels {levels}: {count}{dry}.").format(
            count=len(report.written),
            city=city,
            period=period,
            levels=", ".join(report.levels),
            dry=_(" (dry run: nothing written)") if dry_run else "",
        ),
        markup=False,
    )
    if report.unknown_units:
        console.print(
            _(
                "{count} unit codes in the census are not among the city's units: their records "
                "were left out."
            ).format(count=report.unknown_units),
            markup=False,
            soft_wrap=True,
        )
    for code, source in report.observed.items():
        console.print(
            _("Imported, kept as observed: {code} (from {source}).").format(
                code=code, source=source
            ),
            markup=False,
            soft_wrap=True,
        )
    for code, reason in report.skipped.items():
        console.print(
            _("Not computed: {code}: {reason}.").format(code=code, reason=reason),
            markup=False,
            soft_wrap=True,
        )
    _refuse_if_nothing_computed(engine, report, city, period)


def _refuse_if_nothing_computed(engine: Any, report: Any, city: str, period: str) -> None:
    """A run that computed no indicator did nothing useful: exit 1 with the reason and the
    command to run next (imported tables need no computing: they are published as they are)."""
    if report.written:
        return
    from collections import Counter

    from inclusive_cities.indicators.errors import IndicatorError

    reasons = Counter(report.skipped.values()).most_common(1)
    reason = reasons[0][0] if reasons else _("no indicator asked for")
    if report.observed or _imported_values(engine, city, period):
        step = _(
            "imported indicators need no computing: publish them with "
            "inclusive-cities publish --city {city} --layers"
        ).format(city=city)
    else:
        step = _(
            "import the census first (inclusive-cities import census FILE --record persons "
            "--city {city} --period {period}) or give the layers it needs (--layers)"
        ).format(city=city, period=period)
    raise IndicatorError(
        _(
            "No indicator was computed for {city}, period {period} (most often: {reason}); {step}."
        ).format(city=city, period=period, reason=reason, step=step)
    )


def _imported_values(engine: Any, city: str, period: str) -> bool:
    """Whether the city holds values for the period (imported tables), computed or not."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from inclusive_cities.store import models

    with Session(engine) as session:
        found = session.scalar(
            select(models.Observation.id)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .join(models.City, models.City.id == models.SpatialUnit.city_id)
            .join(models.Period, models.Period.id == models.Observation.period_id)
            .where(models.City.code == city, models.Period.code == period)
            .limit(1)
        )
    return found is not None


def register(app: typer.Typer) -> None:
    indicators_app.command("list")(list_indicators)
    indicators_app.command("check")(check)
    indicators_app.command("compute")(compute)
    app.add_typer(indicators_app, name="indicators")
