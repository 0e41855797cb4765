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


def enclosing(code: str) -> list[str]:
    """The quarter, semester and year holding a period (a month has all three, a quarter the
    last two, a semester its year, a year none): the spans its figures can roll up to."""
    span = window(code)
    year = span.start.year
    candidates = [
        f"{year}-Q{(span.start.month - 1) // 3 + 1}",
        f"{year}-S{1 if span.start.month <= 6 else 2}",
        str(year),
    ]
    out = []
    for candidate in candidates:
        outer = window(candidate)
        if candidate != span.code and outer.start <= span.start and span.end <= outer.end:
            out.append(candidate)
    return out


def rolled_up(figures: dict[str, float], span: Window, accumulation: str) -> float | None:
    """One indicator's figure for ``span`` from the figures of the periods entered (period code
    -> value, one city and kind), when the span itself was not entered.

    ``per_period``: the sum of the longest entered periods inside the span, when they cover it
    day for day (six months, or two quarters, make a semester; five months make nothing: an
    incomplete sum would read as a shortfall). ``cumulative``: the figure of a period inside
    the span that ends on its last day (the running total then). Anything else: None (an
    undeclared indicator is never rolled up: summing running totals counts people twice).
    """
    exact = figures.get(span.code)
    if exact is not None or accumulation not in ("per_period", "cumulative"):
        return exact
    inside = {
        code: window(code)
        for code in figures
        if code != span.code and span.start <= window(code).start and window(code).end <= span.end
    }
    if accumulation == "cumulative":
        at_end = sorted((w.start, code) for code, w in inside.items() if w.end == span.end)
        return figures[at_end[-1][1]] if at_end else None
    longest = sorted(
        (w.start, w.end, code)
        for code, w in inside.items()
        if not any(o != w and o.start <= w.start and w.end <= o.end for o in inside.values())
    )
    day = span.start
    for start, end, _code in longest:
        if start != day:
            return None
        day = date.fromordinal(end.toordinal() + 1)
    if not longest or day != date.fromordinal(span.end.toordinal() + 1):
        return None
    return float(sum(figures[code] for _s, _e, code in longest))
