"""Numbers as each language writes them (es: 1.234,5 and 41,8 %; en: 1,234.5 and 41.8%)."""

from __future__ import annotations

import math

from inclusive_cities.i18n import format_number


def number(value: float | None, language: str, decimals: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format_number(value, decimals, language)


def percent(fraction: float | None, language: str, decimals: int = 1) -> str:
    """A share given as a fraction (0.418 → 41.8%)."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return "–"
    text = number(100 * fraction, language, decimals)
    return f"{text} %" if language == "es" else f"{text}%"


def interval(
    low: float | None, high: float | None, language: str, decimals: int = 1, as_percent: bool = True
) -> str:
    if low is None or high is None:
        return "–"
    if as_percent:
        return f"{percent(low, language, decimals)} – {percent(high, language, decimals)}"
    return f"{number(low, language, decimals)} – {number(high, language, decimals)}"
