"""The observatory on the web: public pages, JSON API, OGC API – Features and admin area.

>>> from inclusive_cities.web import create_app
>>> app = create_app("sqlite:///observatory.db")  # doctest: +SKIP

Run it with ``inclusive-cities serve``.
"""

from __future__ import annotations

from inclusive_cities.web.app import WebSettings, create_app
from inclusive_cities.web.errors import WebError
from inclusive_cities.web.specview import LevelView, NodeView, SpecView, default_levels

__all__ = [
    "LevelView",
    "NodeView",
    "SpecView",
    "WebError",
    "WebSettings",
    "create_app",
    "default_levels",
]
