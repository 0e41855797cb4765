"""The web's view of a marker spec; it lives in :mod:`inclusive_cities.specview`, below the web,
because disclosure control reads run specs too (and never imports the web)."""

from inclusive_cities.specview import (
    LevelView,
    NodeView,
    SpecProvider,
    SpecView,
    default_levels,
    fallback_spec,
    from_marker_spec,
    marker_engine_specs,
)

__all__ = [
    "LevelView",
    "NodeView",
    "SpecProvider",
    "SpecView",
    "default_levels",
    "fallback_spec",
    "from_marker_spec",
    "marker_engine_specs",
]
