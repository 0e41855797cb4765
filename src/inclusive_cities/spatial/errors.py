"""The spatial domain's error: a layer that cannot be used as it is."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class SpatialError(InclusiveCitiesError):
    """A layer has the wrong CRS, geometry or attributes for the analysis asked."""
