"""Survey layers: designs, design-based estimates, calibration, small areas, disclosure.

>>> from inclusive_cities.surveys import Design, estimate, read_kobo, publishable
"""

from __future__ import annotations

from inclusive_cities.surveys.calibration import (
    calibrate_persons,
    census_margins,
    census_margins_from_store,
    poststratify,
    rake,
)
from inclusive_cities.surveys.design import Calibration, Design, check_design, load_design
from inclusive_cities.surveys.disclosure import publishable, suppress
from inclusive_cities.surveys.errors import SurveyError
from inclusive_cities.surveys.estimation import RESULT_COLUMNS, STATISTICS, estimate
from inclusive_cities.surveys.kobo import SurveyImport, locate, read_form, read_kobo
from inclusive_cities.surveys.sae import FayHerriot, benchmark, fay_herriot

__all__ = [
    "RESULT_COLUMNS",
    "STATISTICS",
    "Calibration",
    "Design",
    "FayHerriot",
    "SurveyError",
    "SurveyImport",
    "benchmark",
    "calibrate_persons",
    "census_margins",
    "census_margins_from_store",
    "check_design",
    "estimate",
    "fay_herriot",
    "load_design",
    "locate",
    "poststratify",
    "publishable",
    "rake",
    "read_form",
    "read_kobo",
    "suppress",
]
