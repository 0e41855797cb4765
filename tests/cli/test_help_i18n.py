"""The command line's help reads in Spanish and in English."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from inclusive_cities.cli import app
from inclusive_cities.cli.help_i18n import help_messages, language_from_argv
from inclusive_cities.i18n import catalogue

EXECUTABLE = str(Path(sys.executable).with_name("inclusive-cities"))


def test_every_help_text_has_a_spanish_translation() -> None:
    messages = help_messages(typer.main.get_command(app))
    spanish = catalogue("es")
    assert len(messages) > 50
    missing = sorted(message for message in messages if message not in spanish)
    assert missing == []


def test_help_follows_the_language_option() -> None:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("INCLUSIVE_CITIES_LANG", None)
    spanish = subprocess.run(
        [EXECUTABLE, "--lang", "es", "--help"], capture_output=True, text=True, env=env
    ).stdout
    english = subprocess.run(
        [EXECUTABLE, "--lang", "en", "--help"], capture_output=True, text=True, env=env
    ).stdout
    assert "Show what the observatory holds" in english
    assert "Show what the observatory holds" not in spanish
    assert (
        catalogue("es")[
            "Show what the observatory holds: cities, levels, units, periods, indicators, runs."
        ][:10]
        in spanish
    )


def test_language_option_is_read_before_parsing() -> None:
    assert language_from_argv(["--lang", "en", "info"]) == "en"
    assert language_from_argv(["--lang=es", "info"]) == "es"
    assert language_from_argv(["info"]) is None
