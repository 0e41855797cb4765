"""The mobility domain's error: bad survey rounds, mapping files and requests."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class MobilityError(InclusiveCitiesError):
    """A high-frequency survey round, mapping file or request the user must fix."""
