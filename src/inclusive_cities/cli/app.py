"""The Typer application and the options shared by every command."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from inclusive_cities import __version__
from inclusive_cities.config import get_settings
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n import use_language


@dataclass
class CliState:
    database_url: str = ""
    verbose: bool = False
    language: str = "es"
    quiet: bool = False


state = CliState()

app = typer.Typer(
    name="inclusive-cities",
    help="Inclusive Cities Observatory: Urban Inclusion Marker, surveys and reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"inclusive-cities {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    database: str = typer.Option(
        None,
        "--database",
        "-d",
        envvar="INCLUSIVE_CITIES_DATABASE_URL",
        help="Observatory database URL (sqlite:///PATH or postgresql://USER@HOST/DB).",
        show_default="sqlite:///./observatory.db",
    ),
    lang: str = typer.Option(
        None,
        "--lang",
        envvar="INCLUSIVE_CITIES_LANG",
        help="Language of messages: es or en (default: from the locale, else es).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks on errors."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Show no progress bars."),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Inclusive Cities Observatory: Urban Inclusion Marker, surveys and reports."""
    settings = get_settings()
    state.database_url = database or settings.database_url
    state.verbose = verbose
    state.quiet = quiet
    state.language = use_language(lang or settings.lang)


def translated(message: str) -> str:
    return _(message)
