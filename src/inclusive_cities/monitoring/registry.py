"""Computed indicators: where the store knows the answer, the actual is a query.

A computed indicator is a function ``(session, target_city, window) -> float | None``
registered under a code; the results framework names that code in ``computed:``. ``None``
means the store cannot tell for that city (a results-only city, no records yet). Other
domains register theirs with :func:`register_computed` when their module is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.errors import MonitoringError
from inclusive_cities.monitoring.periods import Window
from inclusive_cities.store.monitoring_models import TargetCity

ComputedFunction = Callable[[Session, TargetCity, Window], float | None]


@dataclass(frozen=True)
class ComputedIndicator:
    code: str
    function: ComputedFunction
    needs_store_city: bool


_REGISTRY: dict[str, ComputedIndicator] = {}


def register_computed(
    code: str, *, needs_store_city: bool = True
) -> Callable[[ComputedFunction], ComputedFunction]:
    """Decorator registering a computed indicator under ``code``.

    ``needs_store_city``: the answer comes from the city's observatory data (marker runs,
    published layers), so a results-only target city may type its actual instead. Set it
    to False when the records are kept per target city (trainings, centres): then typed
    actuals are refused for every city.
    """

    def decorate(function: ComputedFunction) -> ComputedFunction:
        _REGISTRY[code] = ComputedIndicator(code, function, needs_store_city)
        return function

    return decorate


ProgrammeFunction = Callable[[Session, Window], float | None]

_PROGRAMME: dict[str, ProgrammeFunction] = {}


def register_programme_level(code: str) -> Callable[[ProgrammeFunction], ProgrammeFunction]:
    """Decorator: the programme-level value of ``code`` is a query of its own, not an
    aggregate of the target cities (a pooled share, the whole centres network)."""

    def decorate(function: ProgrammeFunction) -> ProgrammeFunction:
        _PROGRAMME[code] = function
        return function

    return decorate


def programme_level(code: str) -> ProgrammeFunction | None:
    """The programme-level function of ``code``, or None when the headline aggregates cities."""
    return _PROGRAMME.get(code)


def computed(code: str) -> ComputedFunction:
    """The function of a computed indicator (raises MonitoringError for an unknown code)."""
    return computed_indicator(code).function


def computed_indicator(code: str) -> ComputedIndicator:
    try:
        return _REGISTRY[code]
    except KeyError:
        raise MonitoringError(
            _("There is no computed indicator {code}: known ones are {known}.").format(
                code=code, known=", ".join(sorted(_REGISTRY)) or "-"
            )
        ) from None


def is_registered(code: str) -> bool:
    return code in _REGISTRY


def registered_codes() -> list[str]:
    return sorted(_REGISTRY)
