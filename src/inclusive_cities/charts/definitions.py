"""The observatory's charts, one small function each; data in, ``altair.Chart`` out.

Shares are expected as fractions (0–1) and shown as percentages; every chart with an
estimate draws its 95% interval when ``low``/``high`` columns are given.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from inclusive_cities.i18n import gettext as _

PALETTE = ["#1f5f8b", "#e07b39", "#4f9d69", "#8e5ea2", "#c0392b", "#7f8c8d"]
FONT = "DejaVu Sans"
WIDTH = 460


def _columns(frame: pd.DataFrame, *names: str | None) -> pd.DataFrame:
    """Only the columns a chart draws (Vega-Lite specs must serialise to JSON)."""
    return frame[[n for n in dict.fromkeys(names) if n and n in frame.columns]].copy()


def _configure(chart: alt.TopLevelMixin, width: int = WIDTH, height: int = 220):
    return (
        chart.properties(width=width, height=height)
        .configure(font=FONT)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=11, gridColor="#e6e6e6")
        .configure_legend(labelFontSize=11, titleFontSize=11, orient="bottom", labelLimit=0)
    )


def bars_with_ci(
    frame: pd.DataFrame,
    category: str,
    value: str = "estimate",
    low: str | None = "ci_low",
    high: str | None = "ci_high",
    value_title: str = "",
    percent: bool = True,
    sort: bool = True,
    width: int = WIDTH,
) -> alt.TopLevelMixin:
    """Horizontal bars with their confidence intervals as whiskers."""
    frame = _columns(frame, category, value, low, high)
    fmt = ".0%" if percent else ",.1f"
    order = list(frame.sort_values(value, ascending=False)[category]) if sort else None
    base = alt.Chart(frame).encode(
        y=alt.Y(f"{category}:N", sort=order, title=None, axis=alt.Axis(labelLimit=220))
    )
    bars = base.mark_bar(color=PALETTE[0], height={"band": 0.7}).encode(
        x=alt.X(f"{value}:Q", title=value_title or _("Estimate"), axis=alt.Axis(format=fmt)),
        tooltip=[category, alt.Tooltip(f"{value}:Q", format=fmt)],
    )
    layers = [bars]
    if low and high and low in frame and high in frame:
        layers.append(base.mark_rule(color="#222").encode(x=f"{low}:Q", x2=f"{high}:Q"))
    labels = base.mark_text(align="left", dx=4, dy=-6, fontSize=10, color="#333").encode(
        x=alt.X(f"{high if high and high in frame else value}:Q"),
        text=alt.Text(f"{value}:Q", format=fmt),
    )
    layers.append(labels)
    height = max(60, 24 * len(frame))
    return _configure(alt.layer(*layers), width=width, height=height)


def trend_lines(
    frame: pd.DataFrame,
    x: str = "round_label",
    value: str = "estimate",
    color: str = "label",
    low: str | None = "ci_low",
    high: str | None = "ci_high",
    value_title: str = "",
    percent: bool = True,
    x_title: str = "",
) -> alt.TopLevelMixin:
    """Estimates over rounds, one line per category, with 95% CI error bars."""
    frame = _columns(frame, x, value, color, low, high)
    fmt = ".0%" if percent else ",.0f"
    order = list(dict.fromkeys(frame[x]))
    base = alt.Chart(frame).encode(
        x=alt.X(f"{x}:N", sort=order, title=x_title or None, axis=alt.Axis(labelAngle=0)),
        color=alt.Color(f"{color}:N", title=None, scale=alt.Scale(range=PALETTE)),
    )
    y_axis = alt.Y(f"{value}:Q", title=value_title or _("Estimate"), axis=alt.Axis(format=fmt))
    lines = base.mark_line(point=True, strokeWidth=2).encode(y=y_axis)
    layers = [lines]
    if low and high and low in frame and high in frame:
        layers.append(
            base.mark_rule(strokeWidth=1.5).encode(y=alt.Y(f"{low}:Q", title=None), y2=f"{high}:Q")
        )
    return _configure(alt.layer(*layers))


def pyramid(
    frame: pd.DataFrame,
    age: str = "age_group",
    sex: str = "sex_label",
    value: str = "estimate",
    left_sex: str = "",
    age_order: list[str] | None = None,
) -> alt.TopLevelMixin:
    """Population pyramid: shares of the total by sex and age group, one sex to the left."""
    data = _columns(frame, age, sex, value)
    data["signed"] = data[value].where(data[sex] != left_sex, -data[value])
    data["shown"] = data[value]
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(f"{age}:N", sort=list(reversed(age_order or [])), title=_("Age group")),
            x=alt.X(
                "signed:Q",
                title=_("Share of the population"),
                axis=alt.Axis(format=".0%", labelExpr="replace(datum.label, '−', '')"),
            ),
            color=alt.Color(f"{sex}:N", title=None, scale=alt.Scale(range=PALETTE[:2])),
            tooltip=[age, sex, alt.Tooltip("shown:Q", format=".1%")],
        )
    )
    return _configure(chart, height=200)


def grouped_bars(
    frame: pd.DataFrame,
    category: str = "label",
    group: str = "group",
    value: str = "value",
    value_title: str = "",
    fmt: str = ",.1f",
) -> alt.TopLevelMixin:
    """Two or more groups side by side per category (e.g. host population vs migrants)."""
    frame = _columns(frame, category, group, value)
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", title=None, axis=alt.Axis(labelLimit=320)),
            yOffset=alt.YOffset(f"{group}:N"),
            x=alt.X(f"{value}:Q", title=value_title or _("Value")),
            color=alt.Color(f"{group}:N", title=None, scale=alt.Scale(range=PALETTE[:3])),
            tooltip=[category, group, alt.Tooltip(f"{value}:Q", format=fmt)],
        )
    )
    text = (
        alt.Chart(frame)
        .mark_text(align="left", dx=3, fontSize=9, color="#333")
        .encode(
            y=alt.Y(f"{category}:N"),
            yOffset=alt.YOffset(f"{group}:N"),
            x=alt.X(f"{value}:Q"),
            text=alt.Text(f"{value}:Q", format=fmt),
        )
    )
    height = max(80, 34 * frame[category].nunique())
    return _configure(alt.layer(chart, text), height=height)


def area_scores(
    frame: pd.DataFrame,
    label: str = "label",
    score: str = "score",
    colour: str = "colour",
    value_title: str = "",
) -> alt.TopLevelMixin:
    """Scores 0–100 per thematic area, each bar coloured by its performance level."""
    frame = _columns(frame, label, score, colour)
    base = alt.Chart(frame).encode(
        y=alt.Y(f"{label}:N", sort=None, title=None, axis=alt.Axis(labelLimit=240))
    )
    bars = base.mark_bar(height={"band": 0.7}).encode(
        x=alt.X(
            f"{score}:Q",
            title=value_title or _("Score (0–100)"),
            scale=alt.Scale(domain=[0, 100]),
        ),
        color=alt.Color(f"{colour}:N", scale=None, legend=None),
    )
    text = base.mark_text(align="left", dx=4, fontSize=10).encode(
        x=f"{score}:Q", text=alt.Text(f"{score}:Q", format=".1f")
    )
    return _configure(alt.layer(bars, text), height=max(60, 26 * len(frame)))


def histogram(
    frame: pd.DataFrame, value: str = "score", value_title: str = "", bins: int = 20
) -> alt.TopLevelMixin:
    """Distribution of unit scores."""
    frame = _columns(frame, value)
    chart = (
        alt.Chart(frame)
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X(f"{value}:Q", bin=alt.Bin(maxbins=bins), title=value_title or _("Score")),
            y=alt.Y(
                "count():Q",
                title=_("Number of units"),
                axis=alt.Axis(format="d", tickMinStep=1),
            ),
        )
    )
    return _configure(chart, height=180)
