"""Chart definitions shared by the web app and the reports (Altair → Vega-Lite).

Each function takes a tidy DataFrame and already-translated labels and returns an
``altair.Chart``; the web embeds ``chart.to_dict()`` with vega-embed, the reports call
:func:`to_png` (vl-convert, no browser) so that both show the same chart.

    from inclusive_cities import charts
    chart = charts.bars_with_ci(frame, category="label", value="estimate",
                                low="ci_low", high="ci_high", value_title="%")
    png = charts.to_png(chart)
"""

from __future__ import annotations

from inclusive_cities.charts.definitions import (
    PALETTE,
    area_scores,
    bars_with_ci,
    grouped_bars,
    histogram,
    pyramid,
    trend_lines,
)
from inclusive_cities.charts.render import to_png, to_png_data_uri, to_svg

__all__ = [
    "PALETTE",
    "area_scores",
    "bars_with_ci",
    "grouped_bars",
    "histogram",
    "pyramid",
    "to_png",
    "to_png_data_uri",
    "to_svg",
    "trend_lines",
]
