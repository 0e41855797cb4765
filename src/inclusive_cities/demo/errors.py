"""The demo domain's error type."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class DemoError(InclusiveCitiesError):
    """The demo city cannot be generated as asked (bad size, seed or output directory)."""
