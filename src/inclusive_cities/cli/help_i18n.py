"""Translate the command line's help texts (docstrings and ``help=``) at run time.

Help strings stay plain English literals in the command modules; just before the command
runs, every command, group, option and argument of the tree has its help looked up in the
``cli_help`` catalogue of the chosen language. This keeps the command modules simple and
lets ``--lang`` change the help too.

    python -m inclusive_cities.cli.help_i18n update   # refresh locales/*/cli_help.po
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import typer

from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n.catalogues import write_domain

HELP_ATTRIBUTES = ("help", "short_help")


def _walk(command: Any) -> Iterator[Any]:
    yield command
    yield from getattr(command, "params", [])
    for sub in getattr(command, "commands", {}).values():
        yield from _walk(sub)


def help_messages(command: Any) -> set[str]:
    """Every help text of a command tree (what the catalogue must translate)."""
    return {
        text
        for item in _walk(command)
        for attribute in HELP_ATTRIBUTES
        if isinstance(text := getattr(item, attribute, None), str) and text.strip()
    }


def localise(command: Any) -> Any:
    """Replace help texts in place with their translation in the current language."""
    for item in _walk(command):
        for attribute in HELP_ATTRIBUTES:
            text = getattr(item, attribute, None)
            if isinstance(text, str) and text.strip():
                setattr(item, attribute, _(text))
    return command


def language_from_argv(argv: list[str]) -> str | None:
    """The value of ``--lang`` if given, so help can be translated before parsing."""
    for index, argument in enumerate(argv):
        if argument == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith("--lang="):
            return argument.split("=", 1)[1]
    return None


def main(argv: list[str]) -> int:
    if argv[:1] == ["update"]:
        from inclusive_cities.cli import app

        write_domain("cli_help", help_messages(typer.main.get_command(app)))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
