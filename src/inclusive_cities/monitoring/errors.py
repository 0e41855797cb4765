"""The error programme monitoring raises: one line naming the file, row, column and value."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class MonitoringError(InclusiveCitiesError):
    """A results framework, a value or an import the programme staff must fix."""
