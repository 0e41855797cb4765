"""Vega-Lite specs built with Altair: the radar of the five areas, trends, level shares."""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd

from inclusive_cities.i18n import gettext as _


def radar_spec(areas: list[dict[str, Any]], title: str) -> dict[str, Any]:
    """A radar (spider) chart on 0–100 rings, drawn as a closed line in Cartesian space."""
    n = max(len(areas), 1)
    axes = []
    points = []
    for i, area in enumerate(areas):
        angle = 2 * math.pi * i / n
        sx, sy = math.sin(angle), math.cos(angle)
        score = area["score"] if area["score"] is not None else 0.0
        points.append(
            {
                "order": i,
                "x": score * sx,
                "y": score * sy,
                "area": area["name"],
                "score": None if area["score"] is None else round(area["score"], 1),
            }
        )
        axes.append({"x": 0.0, "y": 0.0, "x2": 100 * sx, "y2": 100 * sy})
        axes.append({"x": 118 * sx, "y": 112 * sy, "label": area["name"], "x2": None, "y2": None})
    if points:
        points.append({**points[0], "order": n})
    rings = []
    for ring in (20, 40, 60, 80, 100):
        for i in range(n + 1):
            angle = 2 * math.pi * i / n
            rings.append(
                {"ring": ring, "order": i, "x": ring * math.sin(angle), "y": ring * math.cos(angle)}
            )
    scale = alt.Scale(domain=[-150, 150])
    x = alt.X("x:Q", scale=scale, axis=None)
    y = alt.Y("y:Q", scale=scale, axis=None)
    grid = (
        alt.Chart(pd.DataFrame(rings))
        .mark_line(color="#c8c8c8", strokeWidth=1)
        .encode(x=x, y=y, detail="ring:N", order="order:Q")
    )
    spokes = (
        alt.Chart(pd.DataFrame([a for a in axes if "x2" in a and a.get("x2") is not None]))
        .mark_rule(color="#c8c8c8")
        .encode(x=x, y=y, x2="x2:Q", y2="y2:Q")
    )
    labels = (
        alt.Chart(pd.DataFrame([a for a in axes if a.get("label")]))
        .mark_text(fontSize=12, color="#222")
        .encode(x=x, y=y, text="label:N")
    )
    shape = (
        alt.Chart(pd.DataFrame(points))
        .mark_line(point=alt.OverlayMarkDef(size=60, filled=True), color="#005a9c", strokeWidth=2.5)
        .encode(
            x=x,
            y=y,
            order="order:Q",
            tooltip=[
                alt.Tooltip("area:N", title=_("Area")),
                alt.Tooltip("score:Q", title=_("Score")),
            ],
        )
    )
    chart = (
        alt.layer(grid, spokes, shape, labels)
        .properties(width=340, height=340, title=title)
        .configure_view(stroke=None)
    )
    return chart.to_dict()


def trend_spec(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Scores over periods, one line per node (index and areas)."""
    frame = pd.DataFrame(rows or [{"period": "", "node": "", "score": None}])
    chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title=_("Period")),
            y=alt.Y("score:Q", title=_("Score (0–100)"), scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("node:N", title=_("Component")),
            tooltip=["period:O", "node:N", "score:Q"],
        )
        .properties(width="container", height=240)
    )
    return chart.to_dict()


def distribution_spec(rows: list[dict[str, Any]], measure: str) -> dict[str, Any]:
    """Share of the population (or of units) in each performance level, as one stacked bar."""
    frame = pd.DataFrame(rows)
    order = list(frame["label"]) if len(frame) else []
    colours = list(frame["colour"]) if len(frame) else []
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=None),
            x=alt.X("share:Q", title=measure, scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("label:N", scale=alt.Scale(domain=order, range=colours), legend=None),
            tooltip=[
                alt.Tooltip("label:N", title=_("Level")),
                alt.Tooltip("share:Q", title="%", format=".1f"),
            ],
        )
        .properties(width="container", height=200)
    )
    return chart.to_dict()
