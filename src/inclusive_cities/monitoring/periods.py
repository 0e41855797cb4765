"""Reporting periods of a programme: a year, a semester, a quarter or a month, as dates.

Codes are ``2025``, ``2025-S1``, ``2025-Q3`` and ``2025-06``; computed indicators and the
IATI export need the first and last day of each, so they are parsed in one place.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.errors import MonitoringError

_PATTERN = re.compile(r"^(\d{4})(?:-(S[12]|Q[1-4]|\d{2}))?$")


@dataclass(frozen=True, order=True)
class Window:
    """A reporting period: its code and its first and last day (both inclusive)."""

    start: date
    end: date
    code: str


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def window(code: str) -> Window:
    """The dates of a period code (raises MonitoringError for anything else)."""
    text = str(code).strip().upper()
    match = _PATTERN.match(text)
    if match is None:
        raise MonitoringError(
            _(
                "Period {value} is not understood: write a year (2025), a semester (2025-S1), "
                "a quarter (2025-Q3) or a month (2025-06)."
            ).format(value=code)
        )
    year = int(match.group(1))
    part = match.group(2)
    if part is None:
        return Window(date(year, 1, 1), date(year, 12, 31), text)
    if part.startswith("S"):
        first = 1 if part == "S1" else 7
        return Window(date(year, first, 1), _month_end(year, first + 5), text)
    if part.startswith("Q"):
        first = 3 * (int(part[1]) - 1) + 1
        return Window(date(year, first, 1), _month_end(year, first + 2), text)
    month = int(part)
    if not 1 <= month <= 12:
        raise MonitoringError(
            _("Period {value} names month {month}, which does not exist.").format(
                value=code, month=month
            )
        )
    return Window(date(year, month, 1), _month_end(year, month), text)


def normalise_period(value: object) -> str:
    """A period code from a cell (Excel turns 2025 into 2025.0)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return window(str(value)).code
