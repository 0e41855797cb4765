"""Catalogue expressions live in :mod:`inclusive_cities.catalogue.expressions`; these names stay
importable from here."""

from inclusive_cities.catalogue.expressions import (
    FUNCTIONS,
    Expression,
    compile_expression,
    parse,
)

__all__ = [
    "FUNCTIONS",
    "Expression",
    "compile_expression",
    "parse",
]
