"""The disclosure domain's error type."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class DisclosureError(InclusiveCitiesError):
    """A publication the disclosure audit refuses, or an audit that cannot run."""
