"""The survey domain's error type."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class SurveyError(InclusiveCitiesError):
    """A survey file, design or request the analyst must correct."""
