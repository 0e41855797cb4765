"""Which figures are sensitive, how small is too small, and how wide a hidden cell must stay.

The rule set is the one in ``docs/disclosure.md``: refugee and migrant counts and anything
estimated from the survey are sensitive; a cell below ``threshold`` is hidden (primary);
every published figure computed from a hidden quantity is hidden with it (dependency);
more cells are hidden until an attacker solving every published additive relation as a
linear program cannot narrow a primary cell to less than ``± max(threshold,
relative x value)`` (secondary).
"""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

TOTAL = "_T"
HOST_GROUPS = frozenset({TOTAL, "host"})
COUNT_UNITS = frozenset({"personas", "persons", "people", "hogares", "households", "count"})
COUNT_CODES = frozenset(
    {
        "population",
        "pop_total",
        "persons",
        "total_population",
        "households",
        "venezuelan_population",
    }
)
BASE_COUNTS = frozenset({"population", "pop_total", "persons", "total_population"})
"""Counts of people that rates and means are taken over: a rate's ``n`` is one of them."""
MEAN_UNITS = frozenset({"%", "years", "años"})
"""Units of group means and rates: ``value x n`` adds up over a partition of the group."""

SENSITIVE_PATTERN = re.compile(
    r"venezuel|venezolan|migra|migrant|refug|asylum|asilo|displaced|desplazad|foreign|extranjer"
    r"|apatrid|stateless|retornad|returnee",
    re.IGNORECASE,
)
"""Refugee and migrant quantities by their code, in English and Spanish stems (``Población
venezolana`` imports as ``poblacion_venezolana``; ``inmigrante`` matches ``migra``)."""

SHARES: dict[str, tuple[str, str]] = {
    "venezuelan_share": ("venezuelan_population", "population"),
    "refugee_migrant_share": ("venezuelan_population", "population"),
    "migrant_share": ("venezuelan_population", "population"),
    "share_venezuelan": ("venezuelan_population", "population"),
    "pct_venezuelan": ("venezuelan_population", "population"),
}
"""share code -> (count it is the percentage of, count it is a percentage over)."""

LINKED: tuple[tuple[str, str, str], ...] = (("venezuelan_population", "population", "venezuelan"),)
"""(count A, count B, nationality): A's total cell is B's cell for that nationality."""

_ENABLED: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "disclosure_control", default=None
)
ENV_SWITCH = "INCLUSIVE_CITIES_DISCLOSURE_CONTROL"


def control_enabled() -> bool:
    """Disclosure control is on unless switched off for an audit that proves the attacker."""
    value = _ENABLED.get()
    if value is not None:
        return value
    return os.environ.get(ENV_SWITCH, "on").strip().lower() not in ("off", "0", "false", "no")


@contextmanager
def control(enabled: bool) -> Iterator[None]:
    """Run a block with disclosure control on or off (the audit's ``--without-control``)."""
    token = _ENABLED.set(enabled)
    try:
        yield
    finally:
        _ENABLED.reset(token)


@dataclass(frozen=True)
class Rules:
    """Threshold, protection range and the sensitive-quantity vocabulary."""

    threshold: int = 10
    relative_range: float = 0.10
    tolerance: float = 0.01
    shares: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(SHARES))
    linked: tuple[tuple[str, str, str], ...] = LINKED

    def protection_range(self, value: float) -> float:
        """How far either side of its value a hidden primary cell must stay uncertain."""
        return max(float(self.threshold), self.relative_range * abs(value))

    def is_count(self, code: str, unit: str) -> bool:
        return code in COUNT_CODES or unit.strip().lower() in COUNT_UNITS

    def is_mean(self, code: str, unit: str) -> bool:
        return unit.strip() in MEAN_UNITS and "gap" not in code and code not in self.shares

    def is_sensitive(self, code: str, nationality: str, survey: bool) -> bool:
        """Refugee/migrant quantities and anything estimated from the survey."""
        return survey or nationality not in HOST_GROUPS or bool(SENSITIVE_PATTERN.search(code))

    def recovered(self, guess: float, truth: float) -> bool:
        """An attacker's figure is a recovery when it lands on the true value."""
        return abs(guess - truth) <= max(self.tolerance, 1e-9 * abs(truth))
