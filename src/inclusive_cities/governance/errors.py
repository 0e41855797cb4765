"""The governance domain's errors: one line each, naming the file, place and what to change."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class GovernanceError(InclusiveCitiesError):
    """Anything wrong with a governance framework, an assessment file or a request about them."""


class FrameworkError(GovernanceError):
    """A framework spec is invalid; ``path`` is the place in the YAML, ``line`` its line."""

    def __init__(self, message: str, path: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
