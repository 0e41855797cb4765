"""Errors of the planning domain: each one line for the person who must fix the input."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class PlanningError(InclusiveCitiesError):
    """A planning input (run, weights, constraints, projects) cannot be used as given."""


class ProjectsFileError(PlanningError):
    """A candidate-projects file has a bad row: the message names file, row, column and value."""


class InfeasibleError(PlanningError):
    """No selection meets every constraint; ``constraint`` names the group that cannot be met."""

    def __init__(self, message: str, constraint: str) -> None:
        super().__init__(message)
        self.constraint = constraint
