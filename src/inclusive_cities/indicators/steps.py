"""The progress steps of indicator computation, as ``progress(step, done, total)`` shows them.

Kept apart from the engine so that their messages live in the ``progress`` catalogue.
"""

from __future__ import annotations

from inclusive_cities.i18n import gettext as _


def census_step(record: str) -> str:
    """The step of the census indicators of one record (persons or households)."""
    if record == "person":
        return _("Computing census indicators of persons")
    return _("Computing census indicators of households")


def indicator_step(code: str) -> str:
    """The step of one facility or layer indicator (each is measured on its own)."""
    return _("Computing {indicator}").format(indicator=code)
