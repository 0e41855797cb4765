"""The indicators domain's error: a catalogue or input problem the user can fix (defined with
the catalogue, which raises it too)."""

from inclusive_cities.catalogue.errors import IndicatorError

__all__ = ["IndicatorError"]
