"""Identifiers that become folder names or codes: city, period, survey, layer.

A city code, a period, a survey name or a layer name ends up in a path under the data
folder (``microdata/<city>/<period>/``, ``surveys/<city>/<period>/<survey>/``) and in pages
and URLs. A value such as ``../../tmp/x`` would write microdata outside the data folder,
so every such value is checked against one strict pattern before it is used, at the CLI
and again in the functions that build paths.

    >>> validate_identifier("period", "2024")
    '2024'
"""

from __future__ import annotations

import re
from typing import Literal

from inclusive_cities.i18n import gettext as _
from inclusive_cities.ingest.common import IngestError

IdentifierKind = Literal["city", "period", "survey", "layer", "level"]

IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""Letters, digits, ``_ . -``; starts with a letter or digit; at most 64 characters."""

PERIOD = re.compile(
    r"^(?:\d{4}(?:[-_.]?[A-Za-z0-9]{1,12})?|[A-Za-z]{1,12}[-_]?\d{1,4})$",
)
"""A year (``2024``), a year with a round or part (``2024-Q1``, ``2024r2``, ``2018_censo``)
or a round code (``R1``, ``ronda-2``): periods are compared and sorted as years."""

OPTIONS = {
    "city": "--city",
    "period": "--period",
    "survey": "--survey",
    "layer": "--layer",
    "level": "--level",
}


class IdentifierError(IngestError):
    """A code given for a city, period, survey or layer cannot be used as a name."""


def validate_identifier(kind: IdentifierKind, value: object) -> str:
    """``value`` unchanged when it is a safe ``kind`` identifier, else a one-line error.

    Refuses empty values, ``..``, path separators, spaces and control characters; a period
    must also be a year or a round code (``2024``, ``2024-Q1``, ``R2``).
    """
    option = OPTIONS.get(kind, kind)
    text = "" if value is None else str(value)
    if not text.strip():
        raise IdentifierError(
            _("{option} is empty: give a code such as {example}.").format(
                option=option, example=_example(kind)
            )
        )
    shown = text.encode("unicode_escape").decode("ascii")[:80]
    if ".." in text or "/" in text or "\\" in text or not IDENTIFIER.match(text):
        raise IdentifierError(
            _(
                "{option} '{value}' is not a valid code: use 1 to 64 letters, digits, '_', '.' "
                "or '-', starting with a letter or digit (no spaces, '/' or '..'), e.g. "
                "{example}."
            ).format(option=option, value=shown, example=_example(kind))
        )
    if kind == "period" and not PERIOD.match(text):
        raise IdentifierError(
            _(
                "--period '{value}' is not a period: give a year (2024), a year with a round "
                "or part (2024-Q1, 2024-r2) or a round code (R1)."
            ).format(value=shown)
        )
    return text


def _example(kind: str) -> str:
    return {"city": "DEMO", "period": "2024", "survey": "encuesta_2024", "level": "barrio"}.get(
        kind, "manzana"
    )
