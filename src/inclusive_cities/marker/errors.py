"""The marker domain's errors: one line each, naming the file, place and what to change."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class MarkerError(InclusiveCitiesError):
    """Anything wrong with a marker spec, its data or a marker run."""


class MarkerSpecError(MarkerError):
    """A spec is invalid; ``path`` is the place in the YAML (``tree.children[0].weight``)."""

    def __init__(self, message: str, path: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class MarkerDataError(MarkerError):
    """The data given to ``compute`` cannot be used as it is."""
