"""Survey layers: designs, design-based estimates, calibration, small areas, disclosure.

>>> from inclusive_cities.surveys import Design, estimate
"""

from __future__ import annotations

from inclusive_cities.surveys.design import Calibration, Design, check_design, load_design
from inclusive_cities.surveys.errors import SurveyError
from inclusive_cities.surveys.estimation import RESULT_COLUMNS, STATISTICS, estimate

__all__ = [
    "RESULT_COLUMNS",
    "STATISTICS",
    "Calibration",
    "Design",
    "SurveyError",
    "check_design",
    "estimate",
    "load_design",
]
