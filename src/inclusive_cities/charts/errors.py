"""The charts domain's error."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class ChartError(InclusiveCitiesError):
    """A chart that cannot be built or drawn from the data given."""
