"""Indicators: a declarative catalogue compiled to Ibis, computed from census microdata,
facilities and layers, aggregated up the unit hierarchy from numerators and denominators.

>>> from inclusive_cities.indicators import load_catalogue
>>> "durable_housing" in load_catalogue()
True
"""

from __future__ import annotations

from inclusive_cities.indicators.catalogue import (
    Catalogue,
    IndicatorSpec,
    catalogue_from_text,
    load_catalogue,
)
from inclusive_cities.indicators.engine import Inputs, Level, Result, compute
from inclusive_cities.indicators.errors import IndicatorError
from inclusive_cities.indicators.expressions import compile_expression, parse
from inclusive_cities.indicators.microdata import finish, microdata_parts, part_names, sum_parts
from inclusive_cities.indicators.pipeline import ComputeReport, compute_city, read_layers

__all__ = [
    "Catalogue",
    "ComputeReport",
    "IndicatorError",
    "IndicatorSpec",
    "Inputs",
    "Level",
    "Result",
    "catalogue_from_text",
    "compile_expression",
    "compute",
    "compute_city",
    "finish",
    "load_catalogue",
    "microdata_parts",
    "parse",
    "part_names",
    "read_layers",
    "sum_parts",
]
