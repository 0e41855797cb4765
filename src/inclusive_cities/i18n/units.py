"""Units of measure as readers see them: "m", "%", "por 1.000 hab." in the page's language.

The catalogue and the data dictionaries store units as short English (or legacy Spanish)
codes; every page, map, download and API label shows them through :func:`unit_label`.
"""

from __future__ import annotations

from collections.abc import Callable

from inclusive_cities.i18n import gettext as _


def _table() -> dict[str, Callable[[], str]]:
    """Known spellings -> translated label (called at run time, so _() sees the language)."""
    per_1000 = lambda: _("per 1,000 inhabitants")  # noqa: E731
    per_100k = lambda: _("per 100,000 inhabitants")  # noqa: E731
    per_km2 = lambda: _("per km²")  # noqa: E731
    m2 = lambda: _("m² per inhabitant")  # noqa: E731
    return {
        "%": lambda: "%",
        "m": lambda: "m",
        "km": lambda: "km",
        "cop": lambda: "COP",
        "0-1": lambda: _("score 0–1"),
        "0-100": lambda: _("score 0–100"),
        "% of income": lambda: _("% of income"),
        "years": lambda: _("years"),
        "count": lambda: _("count"),
        "persons": lambda: _("persons"),
        "personas": lambda: _("persons"),
        "households": lambda: _("households"),
        "hogares": lambda: _("households"),
        "1/km2": per_km2,
        "per km2": per_km2,
        "per km²": per_km2,
        "m2/inhab": m2,
        "m²/inhab": m2,
        "per 100k": per_100k,
        "per 100,000": per_100k,
        "per 100,000 inhabitants": per_100k,
        "per 1000": per_1000,
        "per 1,000": per_1000,
        "per 1k": per_1000,
        "per 1,000 inhabitants": per_1000,
        "por 1.000 hab.": per_1000,
    }


def unit_label(unit: str | None) -> str:
    """The unit in the current language; an unknown unit is shown as it was written."""
    text = (unit or "").strip()
    found = _table().get(text.lower().replace("–", "-"))
    return found() if found is not None else text


COUNT_UNITS = frozenset(
    {"count", "persons", "personas", "people", "households", "hogares", "dwellings", "viviendas"}
)


def unit_digits(unit: str | None, default: int = 2) -> int:
    """Decimals a figure in this unit is printed with: none for counts of people, households
    or things ("3.191 personas", not "3.191,00": trial #4 F1), else ``default``."""
    return 0 if (unit or "").strip().lower() in COUNT_UNITS else default
