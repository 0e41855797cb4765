"""The web domain's error type: a one-line message a person can act on."""

from __future__ import annotations

from inclusive_cities.errors import InclusiveCitiesError


class WebError(InclusiveCitiesError):
    """A request or command of the web app cannot be served as asked."""


class NotFound(WebError):
    """The city, unit, layer or file asked for is not published."""


class BadRequest(WebError):
    """A parameter has a value the app cannot use."""
