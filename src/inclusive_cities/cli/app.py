"""The Typer application and the options shared by every command."""

from __future__ import annotations

import os
from dataclasses import dataclass

import typer

from inclusive_cities import __version__
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n import use_language


def environment_setting(name: str) -> str | None:
    """``INCLUSIVE_CITIES_<NAME>`` as :class:`inclusive_cities.config.Settings` reads it (any
    case), without importing pydantic: ``--version`` and ``--help`` need nothing more."""
    key = f"inclusive_cities_{name}"
    return next((value for variable, value in os.environ.items() if variable.lower() == key), None)


@dataclass
class CliState:
    database: str | None = ""
    """The --database option; None means "the configured one" (read when first needed)."""
    verbose: bool = False
    language: str = "es"
    quiet: bool = False

    @property
    def database_url(self) -> str:
        """The database the command works on; the settings (pydantic) are loaded only by
        commands that use a database, never by ``--help``."""
        if self.database is None:
            from inclusive_cities.config import get_settings

            self.database = get_settings().database_url
        return self.database

    @database_url.setter
    def database_url(self, value: str) -> None:
        self.database = value


state = CliState()

app = typer.Typer(
    name="inclusive-cities",
    help="Inclusive Cities Observatory: Urban Inclusion Marker, surveys and reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def version_line() -> str:
    return f"inclusive-cities {__version__}"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_line())
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
    state.database = database or None
    state.verbose = verbose
    state.quiet = quiet
    state.language = use_language(lang or environment_setting("lang"))


def translated(message: str) -> str:
    return _(message)
