"""``init``, ``info`` and ``db …``: create, upgrade and describe the observatory database."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities.cli.app import state
from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False)
db_app = typer.Typer(help="Manage the observatory database schema.", no_args_is_help=True)


def init() -> None:
    """Create the observatory database, or upgrade it to this version of the software."""
    from inclusive_cities import store

    engine = store.init_database(state.database_url)
    console.print(
        _("Observatory database is ready at {url} (schema version {revision})").format(
            url=engine.url.render_as_string(hide_password=True),
            revision=store.current_revision(engine),
        )
    )


def info(
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Show what the observatory holds: cities, levels, units, periods, indicators, runs."""
    from inclusive_cities import store

    summary = store.summary(store.connect(state.database_url))
    if as_json:
        typer.echo(json.dumps(summary.__dict__, ensure_ascii=False, indent=2))
        return
    console.print(
        _("Observatory: {url} (schema version {revision})").format(
            url=summary.url, revision=summary.revision
        ),
        markup=False,
    )
    labels = {
        "cities": _("Cities"),
        "unit_levels": _("Spatial-unit levels"),
        "spatial_units": _("Spatial units"),
        "periods": _("Periods"),
        "indicators": _("Indicators"),
        "observations": _("Observations"),
        "facilities": _("Facilities"),
        "marker_runs": _("Marker runs"),
        "analysis_layers": _("Analysis layers (clusters, interpolations)"),
        "import_batches": _("Import batches"),
    }
    table = Table(_("Contents"), _("Count"), show_header=True)
    for key, label in labels.items():
        table.add_row(label, format_number(summary.counts[key]))
    console.print(table)
    for city in summary.cities:
        counts = city["levels"].items()  # type: ignore[attr-defined]
        levels = ", ".join(f"{code}: {format_number(count)}" for code, count in counts)
        line = _("City {name} ({code}): {levels}").format(
            name=city["name"], code=city["code"], levels=levels or _("no units yet")
        )
        if city["synthetic"]:
            line += " — " + _("synthetic demo data")
        console.print(line, markup=False)
    if summary.periods:
        console.print(_("Periods: {periods}").format(periods=", ".join(summary.periods)))


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Option("head", help="Target schema revision."),
) -> None:
    """Upgrade the database schema (safe to repeat)."""
    from inclusive_cities import store

    engine = store.connect(state.database_url)
    store.upgrade(engine, revision)
    console.print(
        _("Schema is at version {revision}").format(revision=store.current_revision(engine))
    )


@db_app.command("downgrade")
def db_downgrade(
    revision: str = typer.Option(..., help="Target revision ('base' removes every table)."),
    yes: bool = typer.Option(False, "--yes", help="Confirm: downgrading can delete data."),
) -> None:
    """Downgrade the database schema (can delete data)."""
    from inclusive_cities import store

    if not yes:
        from inclusive_cities.errors import UsageError

        raise UsageError(
            _("Downgrading can delete data: repeat the command with --yes to confirm.")
        )
    engine = store.connect(state.database_url)
    store.downgrade(engine, revision)
    console.print(
        _("Schema is at version {revision}").format(
            revision=store.current_revision(engine) or "base"
        )
    )


@db_app.command("current")
def db_current() -> None:
    """Print the schema version of the database and of this software."""
    from inclusive_cities import store

    engine = store.connect(state.database_url)
    console.print(
        _("Database schema: {current}; this software's schema: {head}").format(
            current=store.current_revision(engine) or "-", head=store.head_revision()
        )
    )


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("info")(info)
    app.add_typer(db_app, name="db")
