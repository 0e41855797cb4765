"""The indicator catalogue: declarative YAML definitions of every indicator and the checked
expression language they are written in.

It sits below ``ingest`` (which checks tables and dictionaries against it) and ``indicators``
(which computes it), so neither has to import the other to know what an indicator means.

>>> from inclusive_cities.catalogue import load_catalogue
>>> "durable_housing" in load_catalogue()
True
"""

from inclusive_cities.catalogue.definitions import (
    Catalogue,
    IndicatorSpec,
    catalogue_from_text,
    load_catalogue,
    plausible_bounds,
)
from inclusive_cities.catalogue.errors import IndicatorError
from inclusive_cities.catalogue.expressions import Expression, compile_expression, parse

__all__ = [
    "Catalogue",
    "Expression",
    "IndicatorError",
    "IndicatorSpec",
    "catalogue_from_text",
    "compile_expression",
    "load_catalogue",
    "parse",
    "plausible_bounds",
]
