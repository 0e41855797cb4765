"""Charts of the planner and of impact measurement, shared by the web pages and the PDF.

Each function takes plain rows and already-translated labels and returns an ``altair.Chart``
(the web embeds ``chart.to_dict()``, the report draws it with vl-convert), so the page a
planner tunes and the PDF the council reads show the same picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from inclusive_cities.charts.definitions import PALETTE, _configure

EXACT_COLOUR = PALETTE[0]
GREEDY_COLOUR = PALETTE[1]
BUDGET_COLOUR = "#c0392b"
NUMBER_LOCALES = {
    "es": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["$ ", ""]},
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["$ ", ""]},
}
"""How each language writes numbers on axes and tooltips (d3-format locales)."""


def localised(spec: dict[str, Any], language: str) -> dict[str, Any]:
    """A Vega-Lite spec whose axes write numbers as ``language`` does (1.000,5 in Spanish)."""
    config = dict(spec.get("config") or {})
    config["locale"] = {"number": NUMBER_LOCALES.get(language, NUMBER_LOCALES["en"])}
    return {**spec, "config": config}


def budget_curve(
    points: Sequence[dict[str, Any]],
    budget: float | None,
    *,
    budget_title: str,
    benefit_title: str,
    exact_label: str,
    greedy_label: str,
    budget_label: str,
    width: int = 460,
) -> alt.TopLevelMixin:
    """Total benefit as the budget grows: the exact choice as steps, the greedy one dashed,
    and a red rule at the budget being looked at ("what does the next million buy?").

    ``points`` are ``{"budget", "benefit", "greedy_benefit"}`` (greedy optional)."""
    rows = []
    for point in points:
        rows.append({"budget": point["budget"], "benefit": point["benefit"], "how": exact_label})
        if point.get("greedy_benefit") is not None:
            rows.append(
                {"budget": point["budget"], "benefit": point["greedy_benefit"], "how": greedy_label}
            )
    frame = pd.DataFrame(rows or [{"budget": 0.0, "benefit": 0.0, "how": exact_label}])
    colours = alt.Scale(domain=[exact_label, greedy_label], range=[EXACT_COLOUR, GREEDY_COLOUR])
    lines = (
        alt.Chart(frame)
        .mark_line(interpolate="step-after", point=alt.OverlayMarkDef(size=25))
        .encode(
            x=alt.X("budget:Q", title=budget_title, axis=alt.Axis(format="~s")),
            y=alt.Y("benefit:Q", title=benefit_title, axis=alt.Axis(format="~s")),
            color=alt.Color("how:N", title=None, scale=colours),
            strokeDash=alt.StrokeDash(
                "how:N",
                title=None,
                scale=alt.Scale(domain=[exact_label, greedy_label], range=[[1, 0], [5, 4]]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("how:N", title=" "),
                alt.Tooltip("budget:Q", title=budget_title, format=",.0f"),
                alt.Tooltip("benefit:Q", title=benefit_title, format=",.0f"),
            ],
        )
    )
    layers: list[alt.Chart] = [lines]
    if budget is not None:
        rule = pd.DataFrame([{"budget": budget, "label": budget_label}])
        base = alt.Chart(rule).encode(x="budget:Q")
        layers.append(base.mark_rule(color=BUDGET_COLOUR, strokeWidth=2))
        layers.append(
            base.mark_text(align="left", dx=4, dy=-4, color=BUDGET_COLOUR, fontSize=11).encode(
                y=alt.value(8), text="label:N"
            )
        )
    return _configure(alt.layer(*layers), width=width, height=240)


def impact_trend(
    rows: Sequence[dict[str, Any]],
    *,
    start: str | None,
    value_title: str,
    period_title: str,
    start_label: str,
    groups: Sequence[str] = (),
    width: int = 460,
) -> alt.TopLevelMixin:
    """Treated and comparison units' mean outcome over periods, each with its 95 % interval,
    and a dashed rule where the project started, so "before" and "after" read at a glance.

    ``rows`` are ``{"period", "group", "value", "ci_low", "ci_high"}`` (CI optional);
    ``groups`` fixes the colours' order (the project's units first in every language)."""
    frame = pd.DataFrame(rows or [{"period": "", "group": "", "value": None}])
    order = list(dict.fromkeys(frame["period"]))
    base = alt.Chart(frame).encode(
        x=alt.X("period:N", sort=order, title=period_title, axis=alt.Axis(labelAngle=0)),
        color=alt.Color(
            "group:N",
            title=None,
            sort=list(groups) or None,
            scale=alt.Scale(domain=list(groups), range=PALETTE)
            if groups
            else alt.Scale(range=PALETTE),
        ),
    )
    layers: list[alt.Chart] = [
        base.mark_line(point=alt.OverlayMarkDef(size=60), strokeWidth=2.5).encode(
            y=alt.Y("value:Q", title=value_title, scale=alt.Scale(zero=False)),
            tooltip=[
                alt.Tooltip("group:N", title=" "),
                alt.Tooltip("period:N", title=period_title),
                alt.Tooltip("value:Q", title=value_title, format=",.2f"),
            ],
        )
    ]
    if {"ci_low", "ci_high"} <= set(frame.columns):
        layers.append(
            base.mark_rule(strokeWidth=1.5).encode(
                y=alt.Y("ci_low:Q", title=value_title), y2="ci_high:Q"
            )
        )
    if start is not None and start in order:
        mark = pd.DataFrame([{"period": start, "label": start_label}])
        rule = alt.Chart(mark).encode(x=alt.X("period:N", sort=order))
        layers.append(rule.mark_rule(color="#555", strokeDash=[4, 4], strokeWidth=1.5))
        layers.append(
            rule.mark_text(align="left", dx=4, color="#333", fontSize=11).encode(
                y=alt.value(8), text="label:N"
            )
        )
    return _configure(alt.layer(*layers), width=width, height=240)
