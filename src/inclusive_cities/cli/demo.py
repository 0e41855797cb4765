"""``demo generate`` and ``demo load``: the synthetic demo city from the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from inclusive_cities.cli.app import state
from inclusive_cities.cli.progress import progress_bar
from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _

console = Console(highlight=False, soft_wrap=True)
demo_app = typer.Typer(
    help="Generate and load the synthetic demo city (SYNTHETIC DEMO DATA).", no_args_is_help=True
)


@demo_app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="Directory to write the demo city into."),
    size: str = typer.Option(
        "medium", "--size", help="small (~20k people), medium (~500k) or large (~5M)."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed writes the same files."),
) -> None:
    """Write a synthetic demo city (boundaries, census, facilities, indicators) into a directory."""
    from inclusive_cities.demo import PUBLIC_SIZES, DemoError, generate_city

    if size not in PUBLIC_SIZES:
        raise DemoError(
            _("Unknown demo city size '{size}': use one of {choices}.").format(
                size=size, choices=", ".join(PUBLIC_SIZES)
            )
        )
    with progress_bar(_("Generating the demo city")) as progress:

        def report(stage: str, fraction: float) -> None:
            progress(stage, round(fraction * 100), 100)

        city = generate_city(out, size=size, seed=seed, progress=report)
    console.print(
        _(
            "Wrote the synthetic demo city '{name}' ({size}, seed {seed}) to {path} in {seconds} s."
        ).format(
            name=city.name,
            size=city.size,
            seed=city.seed,
            path=city.directory,
            seconds=format_number(city.seconds, 1),
        )
    )
    console.print(
        _(
            "{localidades} localidades, {barrios} barrios, {blocks} blocks; "
            "{households} households, {persons} persons ({share:.1%} Venezuelan); "
            "{facilities} facilities."
        ).format(
            localidades=city.localidades,
            barrios=city.barrios,
            blocks=city.blocks,
            households=format_number(city.households),
            persons=format_number(city.persons),
            share=city.venezuelan_share,
            facilities=format_number(city.facilities),
        )
    )
    for path in city.files.values():
        console.print(f"  {path}")


@demo_app.command("load")
def load(
    directory: Path = typer.Argument(..., help="A directory written by 'demo generate'."),
) -> None:
    """Import a generated demo city into the observatory database through the usual importers."""
    import time

    from inclusive_cities.demo.load import load_demo
    from inclusive_cities.store import init_database

    started = time.perf_counter()
    engine = init_database(state.database_url)
    with progress_bar(_("Loading the demo city")) as progress:
        reports = load_demo(directory, engine, progress)
    for item in reports:
        console.print("\n".join(item.summary_lines()))
    console.print(
        _("Loaded the synthetic demo city from {path} into {url} in {seconds} s.").format(
            path=directory,
            url=engine.url.render_as_string(hide_password=True),
            seconds=format_number(time.perf_counter() - started, 1),
        )
    )


@demo_app.command("build")
def build(
    directory: Path = typer.Argument(
        ..., help="Directory of the demo observatory (made if missing)."
    ),
    size: str = typer.Option(
        "medium", "--size", help="small (~20k people), medium (~500k) or large (~5M)."
    ),
) -> None:
    """Build the whole demo observatory in one process: city, store, markers, reports."""
    import os

    from inclusive_cities.cli.demo_build import build_demo
    from inclusive_cities.demo import PUBLIC_SIZES, DemoError

    if size not in PUBLIC_SIZES:
        raise DemoError(
            _("Unknown demo city size '{size}': use one of {choices}.").format(
                size=size, choices=", ".join(PUBLIC_SIZES)
            )
        )
    os.environ["INCLUSIVE_CITIES_DATA_DIR"] = str(directory.resolve() / "observatory-data")
    database = state.database or f"sqlite:///{directory.resolve() / 'observatory.db'}"
    report = build_demo(directory, size, database, language=state.language, quiet=state.quiet)
    console.print(report.table(), markup=False)
    console.print(
        _("Built the demo observatory in {directory} in {seconds} s.").format(
            directory=directory, seconds=format_number(report.wall, 1)
        )
    )


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
