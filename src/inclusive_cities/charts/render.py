"""Static images of charts through vl-convert (the Vega-Lite compiler, without a browser)."""

from __future__ import annotations

import base64

import altair as alt
import vl_convert as vlc

from inclusive_cities.charts.errors import ChartError
from inclusive_cities.i18n import gettext as _


def _spec(chart: alt.TopLevelMixin) -> dict:
    return chart.to_dict()


def to_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """PNG bytes of a chart (``scale`` 2 gives crisp print at the chart's CSS width)."""
    try:
        return vlc.vegalite_to_png(_spec(chart), scale=scale)
    except ValueError as error:
        raise ChartError(
            _("The chart could not be drawn ({reason}).").format(reason=str(error).splitlines()[0])
        ) from None


def to_svg(chart: alt.TopLevelMixin) -> str:
    """SVG text of a chart."""
    try:
        return vlc.vegalite_to_svg(_spec(chart))
    except ValueError as error:
        raise ChartError(
            _("The chart could not be drawn ({reason}).").format(reason=str(error).splitlines()[0])
        ) from None


def to_png_data_uri(chart: alt.TopLevelMixin, scale: float = 2.0) -> str:
    """A ``data:image/png;base64,…`` URI, for self-contained HTML."""
    return "data:image/png;base64," + base64.b64encode(to_png(chart, scale)).decode("ascii")
