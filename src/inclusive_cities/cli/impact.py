"""``plan impact``: did what was built make a difference? And the demo's second period."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from inclusive_cities.cli.app import state
from inclusive_cities.cli.progress import progress_bar
from inclusive_cities.errors import UsageError
from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False, soft_wrap=True)


def _engine():  # type: ignore[no-untyped-def]
    from inclusive_cities import store

    engine = store.connect(state.database_url)
    store.require_current(engine)
    return engine


def impact_command(
    city: str = typer.Option(..., "--city", help="City code in the observatory."),
    outcome: str = typer.Option(
        ..., "--outcome", help="Indicator code, or 'marker' for the marker's index score."
    ),
    project: list[str] = typer.Option(
        [], "--project", help="Project code with a start date (repeatable; default: all)."
    ),
    units: Path = typer.Option(
        None, "--units", help="CSV or XLSX of intervention units: unit, start_period."
    ),
    method: str = typer.Option("did", "--method", help="did, cs (staggered starts) or synth."),
    level: str = typer.Option(None, "--level", help="Level of the units (default: the projects')."),
    spec: str = typer.Option("uim-basic", "--spec", help="Marker spec for --outcome marker."),
    match: str = typer.Option(
        "nearest", "--match", help="Comparison units: nearest, mahalanobis or none (all)."
    ),
    out: Path = typer.Option(None, "--out", help="Workbook to write (.xlsx)."),
) -> None:
    """Measure the impact of projects on an indicator or the marker: estimate, 95 % CI and
    whether it is significant, in plain words.

    Example: inclusive-cities plan impact --city DEMO --outcome marker --out impact.xlsx
    """
    from inclusive_cities.planning.impact import (
        METHODS,
        impact_to_xlsx,
        measure_impact,
        p_value_text,
        read_units_file,
    )

    if method not in METHODS:
        raise UsageError(
            _("--method must be one of {choices} (not {value}).").format(
                choices=", ".join(METHODS), value=method
            )
        )
    if match not in ("nearest", "mahalanobis", "none"):
        raise UsageError(
            _("--match must be nearest, mahalanobis or none (not {value}).").format(value=match)
        )
    if project and units is not None:
        raise UsageError(_("Give --project or --units, not both."))
    if out is not None and out.suffix.lower() != ".xlsx":
        raise UsageError(_("--out must be an .xlsx workbook (not {path}).").format(path=out))
    with progress_bar(_("Measuring the impact")) as progress:
        result = measure_impact(
            _engine(),
            city,
            outcome,
            project=project or None,
            units=read_units_file(units) if units is not None else None,
            method=method,
            level=level,
            spec=spec,
            match=None if match == "none" else match,
            progress=progress,
        )
    table = Table(_("Estimate"), _("Standard error"), _("95 % CI"), _("p-value"), _("Units"))
    table.add_row(
        format_number(result.estimate, 3),
        format_number(result.se, 3),
        _("{low} to {high}").format(
            low=format_number(result.ci_low, 3), high=format_number(result.ci_high, 3)
        ),
        p_value_text(result.p_value),
        result.sizes_text(),
    )
    console.print(table)
    console.print(result.verdict())
    for note in result.caveats():
        console.print(note, style="yellow")
    console.print(result.assumptions(), style="dim")
    if out is not None:
        impact_to_xlsx(result, out)
        console.print(_("Wrote {path}.").format(path=out))


def second_period_command(
    city: str = typer.Option("DEMO", "--city", help="City code in the observatory."),
    out: Path = typer.Option(..., "--out", help="Directory to write the second period into."),
    base_period: str = typer.Option("2024", "--base-period", help="Period the demo was built in."),
    period: list[str] = typer.Option(["2025"], "--period", help="New period (repeatable)."),
    level: str = typer.Option("barrio", "--level", help="Level of the units."),
    seed: int = typer.Option(0, "--seed", help="Seed: the same seed gives the same period."),
) -> None:
    """Add a second period to the demo city in which chosen neighbourhoods received projects
    with a known effect (SYNTHETIC DEMO DATA), and load it."""
    from inclusive_cities.demo.second_period import generate_second_period, load_second_period

    engine = _engine()
    follow = generate_second_period(
        engine,
        out,
        city=city,
        base_period=base_period,
        periods=tuple(period),
        level=level,
        seed=seed,
    )
    truth = load_second_period(engine, follow.directory)
    console.print(
        _(
            "Period {periods}: {n} neighbourhoods received projects; true effects {effects}. "
            "Wrote {path}."
        ).format(
            periods=", ".join(truth["periods"]),
            n=len(truth["treated"]),
            effects=", ".join(
                f"{code} {format_number(value, 2)}" for code, value in truth["effects"].items()
            ),
            path=follow.directory,
        )
    )


def register(plan_app: typer.Typer) -> None:
    """Add the impact commands to the ``plan`` group."""
    plan_app.command("impact")(impact_command)
    plan_app.command("demo-second-period")(second_period_command)
