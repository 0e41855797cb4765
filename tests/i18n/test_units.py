"""Every unit the catalogue and the built-in specs use is shown translated (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from inclusive_cities.i18n import use_language
from inclusive_cities.i18n.units import unit_label

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "inclusive_cities"


def _units(node: object) -> set[str]:
    """Every ``unit:`` value anywhere in a YAML document."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "unit" and isinstance(value, str | int | float):
                found.add(str(value))
            else:
                found |= _units(value)
    elif isinstance(node, list):
        for item in node:
            found |= _units(item)
    return found


def shipped_units() -> set[str]:
    files = [
        PACKAGE / "catalogue" / "catalogue.yaml",
        *(PACKAGE / "marker" / "specs").glob("*.yaml"),
    ]
    units: set[str] = set()
    for path in files:
        units |= _units(yaml.safe_load(path.read_text(encoding="utf-8")))
    return units


# what a reader sees for each unit, Spanish and English (written out by hand)
LABELS = {
    "%": ("%", "%"),
    "m": ("m", "m"),
    "COP": ("COP", "COP"),
    "0-1": ("puntaje 0–1", "score 0–1"),
    "0-100": ("puntaje 0–100", "score 0–100"),
    "% of income": ("% del ingreso", "% of income"),
    "years": ("años", "years"),
    "count": ("conteo", "count"),
    "personas": ("personas", "persons"),
    "hogares": ("hogares", "households"),
    "1/km2": ("por km²", "per km²"),
    "per km²": ("por km²", "per km²"),
    "m2/inhab": ("m² por hab.", "m² per inhabitant"),
    "m²/inhab": ("m² por hab.", "m² per inhabitant"),
    "per 100k": ("por 100.000 hab.", "per 100,000 inhabitants"),
    "per 100,000": ("por 100.000 hab.", "per 100,000 inhabitants"),
    "per 1,000 inhabitants": ("por 1.000 hab.", "per 1,000 inhabitants"),
}


def test_every_shipped_unit_has_a_translation() -> None:
    units = shipped_units()
    assert {"%", "m", "years", "per 100k"} <= units  # the scan reads the real files
    assert units <= set(LABELS), sorted(units - set(LABELS))


@pytest.mark.parametrize("unit", sorted(LABELS))
def test_unit_in_spanish_and_english(unit: str) -> None:
    spanish, english = LABELS[unit]
    use_language("es")
    assert unit_label(unit) == spanish
    use_language("en")
    assert unit_label(unit) == english
    use_language("es")


def test_an_unknown_unit_is_shown_as_written() -> None:
    assert unit_label("kWh/mes") == "kWh/mes"
    assert unit_label(None) == "" and unit_label("") == ""


def test_a_number_that_rounds_to_zero_has_no_sign() -> None:
    """Trial #5: an impact page's change of -0.04 printed "-0,0"."""
    from inclusive_cities.i18n import format_number
    from inclusive_cities.web.services import format_number as page_number

    assert format_number(-0.04, 1, "es") == "0,0" and format_number(-0.0, 0, "en") == "0"
    assert format_number(-0.06, 1, "es") == "-0,1" and format_number(-1234.5, 1, "es") == "-1.234,5"
    assert page_number(-0.04, 1, "es") == "0,0" and page_number(1234.5, 1, "en") == "1,234.5"
