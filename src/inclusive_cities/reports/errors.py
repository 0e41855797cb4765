"""The reports domain's error."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class ReportError(InclusiveCitiesError):
    """A report that cannot be built: unknown city or period, bad recommendations file."""
