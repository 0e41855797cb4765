"""Importers for the files observatories really have: boundaries, tables, census, facilities.

Every importer runs in one transaction, refuses a file with bad rows unless asked to keep
the good ones (``accept_valid``), treats a re-import of the same file as a no-op, replaces
the rows of a corrected file for the same scope, and returns an :class:`ImportReport`.
The readers and validators below them work without a store.

    >>> from inclusive_cities.ingest import parse_number
    >>> parse_number("1.234,5", decimal=",")
    1234.5
"""

from __future__ import annotations

from inclusive_cities.ingest.boundaries import LevelSpec, import_boundaries, read_levels, utm_crs
from inclusive_cities.ingest.census import CensusReader, import_census, microdata_path
from inclusive_cities.ingest.common import (
    ImportRejected,
    ImportReport,
    IngestError,
    Problem,
    ProgressCallback,
    UnitsRefused,
)
from inclusive_cities.ingest.facilities import (
    import_facilities,
    load_type_mapping,
    validate_facilities,
)
from inclusive_cities.ingest.layers import import_layers
from inclusive_cities.ingest.tables import import_table, read_indicator_table
from inclusive_cities.ingest.tabular import parse_number, read_text_table
from inclusive_cities.ingest.variables import canonical_variables, load_profile
from inclusive_cities.ingest.vector import list_layers, read_vector

__all__ = [
    "CensusReader",
    "ImportRejected",
    "ImportReport",
    "IngestError",
    "LevelSpec",
    "Problem",
    "ProgressCallback",
    "UnitsRefused",
    "canonical_variables",
    "import_boundaries",
    "import_census",
    "import_facilities",
    "import_layers",
    "import_table",
    "list_layers",
    "load_profile",
    "load_type_mapping",
    "microdata_path",
    "parse_number",
    "read_indicator_table",
    "read_levels",
    "read_text_table",
    "read_vector",
    "utm_crs",
    "validate_facilities",
]
