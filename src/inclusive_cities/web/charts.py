"""Vega-Lite specs built with Altair: the radar of the index's areas, trends, level shares."""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd

from inclusive_cities.i18n import gettext as _


def _two_lines(text: str) -> str:
    """Break a long label near its middle so radar labels do not run into each other."""
    words = text.split()
    if len(text) <= 16 or len(words) < 2:
        return text
    best = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(text) / 2))
    return " ".join(words[:best]) + "\n" + " ".join(words[best:])


def radar_spec(areas: list[dict[str, Any]], title: str, top: float = 100.0) -> dict[str, Any]:
    """A radar (spider) chart on rings at fifths of the scale's ``top`` (100, or 1 for a 0–1
    spec), drawn as a closed line in Cartesian space.

    An area without a score has no spoke: drawing it at 0 would show "no data" as the
    worst possible result."""
    areas = [area for area in areas if area["score"] is not None]
    n = max(len(areas), 1)
    spokes_rows = []
    labels_rows = []
    points = []
    for i, area in enumerate(areas):
        angle = 2 * math.pi * i / n
        sx, sy = math.sin(angle), math.cos(angle)
        score = area["score"]
        reach = 100 * score / top  # drawn on 0-100 rings whatever the spec's scale
        points.append(
            {
                "order": i,
                "x": reach * sx,
                "y": reach * sy,
                "area": area["name"],
                "score": round(score, 1 if top > 10 else 3),
            }
        )
        spokes_rows.append({"x": 0.0, "y": 0.0, "x2": 100 * sx, "y2": 100 * sy})
        side = "left" if sx > 0.2 else "right" if sx < -0.2 else "center"
        labels_rows.append(
            {
                "x": 108 * sx,
                "y": 108 * sy + (8 if sy > 0.9 else 0),
                "label": _two_lines(area["name"]),
                "side": side,
            }
        )
    if points:
        points.append({**points[0], "order": n})
    rings = []
    for ring in (20, 40, 60, 80, 100):
        for i in range(n + 1):
            angle = 2 * math.pi * i / n
            rings.append(
                {"ring": ring, "order": i, "x": ring * math.sin(angle), "y": ring * math.cos(angle)}
            )
    x = alt.X("x:Q", scale=alt.Scale(domain=[-210, 210]), axis=None)
    y = alt.Y("y:Q", scale=alt.Scale(domain=[-135, 135]), axis=None)
    grid = (
        alt.Chart(pd.DataFrame(rings))
        .mark_line(color="#c8c8c8", strokeWidth=1)
        .encode(x=x, y=y, detail="ring:N", order="order:Q")
    )
    spokes = (
        alt.Chart(pd.DataFrame(spokes_rows))
        .mark_rule(color="#c8c8c8")
        .encode(x=x, y=y, x2="x2:Q", y2="y2:Q")
    )
    label_frame = pd.DataFrame(labels_rows)
    labels = [
        alt.Chart(label_frame[label_frame["side"] == side])
        .mark_text(fontSize=12, color="#222", align=side, lineBreak="\n", baseline="middle")
        .encode(x=x, y=y, text="label:N")
        for side in ("left", "right", "center")
        if (label_frame["side"] == side).any()
    ]
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
        alt.layer(grid, spokes, shape, *labels)
        .properties(width=460, height=300, title=title)
        .configure_view(stroke=None)
    )
    return chart.to_dict()


def trend_spec(
    rows: list[dict[str, Any]], lower: float = 0.0, upper: float = 100.0
) -> dict[str, Any]:
    """Scores over periods, one line per node (index and areas), on the spec's scale."""
    scale = f"{lower:g}–{upper:g}"
    frame = pd.DataFrame(rows or [{"period": "", "node": "", "score": None}])
    chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("period:O", title=_("Period"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                "score:Q",
                title=_("Score ({scale})").format(scale=scale),
                scale=alt.Scale(domain=[lower, upper]),
            ),
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
