"""The indicators' error: a catalogue or input problem the user can fix (re-exported there)."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class IndicatorError(InclusiveCitiesError):
    """A catalogue entry, an expression or an input table cannot be used as it is."""
