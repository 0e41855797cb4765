"""Programme monitoring (issue #18): the results framework, computed indicators, entry and
exports.

    from inclusive_cities import monitoring

    with store.transaction(engine) as session:
        programme = monitoring.install_framework(session, monitoring.load_framework())
        monitoring.add_target_city(session, programme, "DEMO", "Ciudad Demo", "COL",
                                   store_city="DEMO")
        monitoring.set_value(session, programme, "people_reached_campaigns", "DEMO",
                             "2025", "target", 1200)
    report = monitoring.results(engine, "inclusive_cities", lang="es")
    report.headline, report.by_country, report.city_rows, report.lines

Computed indicators are functions registered with :func:`register_computed`; typed actuals
for them are refused where the store knows the answer. Errors are :class:`MonitoringError`.
"""

from __future__ import annotations

from inclusive_cities.monitoring import computed_store as _computed_store  # noqa: F401
from inclusive_cities.monitoring import delivery_indicators as _deliveries  # noqa: F401
from inclusive_cities.monitoring import delivery_indicators as _delivery_indicators  # noqa: F401
from inclusive_cities.monitoring.errors import MonitoringError
from inclusive_cities.monitoring.framework import (
    DEFAULT_PROGRAMME,
    Framework,
    IndicatorSpec,
    install_framework,
    load_framework,
)
from inclusive_cities.monitoring.periods import Window, normalise_period, window
from inclusive_cities.monitoring.registry import (
    ComputedFunction,
    computed,
    is_registered,
    register_computed,
    registered_codes,
)
from inclusive_cities.monitoring.results import (
    CityInfo,
    CoverageLine,
    IndicatorInfo,
    ProgrammeInfo,
    ProgrammeResults,
    ResultRow,
    disaggregated,
    history,
    results,
    results_frame,
)
from inclusive_cities.monitoring.values import (
    add_target_city,
    assign_cities,
    editable_cities,
    find_target_city,
    get_indicator,
    get_programme,
    set_value,
    typed_actual_allowed,
)

__all__ = [
    "DEFAULT_PROGRAMME",
    "CityInfo",
    "ComputedFunction",
    "CoverageLine",
    "Framework",
    "IndicatorInfo",
    "IndicatorSpec",
    "MonitoringError",
    "ProgrammeInfo",
    "ProgrammeResults",
    "ResultRow",
    "Window",
    "add_target_city",
    "assign_cities",
    "computed",
    "disaggregated",
    "editable_cities",
    "find_target_city",
    "get_indicator",
    "get_programme",
    "history",
    "install_framework",
    "is_registered",
    "load_framework",
    "normalise_period",
    "register_computed",
    "registered_codes",
    "results",
    "results_frame",
    "set_value",
    "typed_actual_allowed",
    "window",
]
