"""The marker's results for a report: labels and levels from the spec, scores per unit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from inclusive_cities.reports.data import CityData

DEFAULT_LEVELS = [
    ("very_solid", 80.0, "Muy sólido", "Very solid", "#1a9641"),
    ("solid", 70.0, "Sólido", "Solid", "#73c374"),
    ("moderately_solid", 60.0, "Moderadamente sólido", "Moderately solid", "#c4e687"),
    ("moderately_weak", 50.0, "Moderadamente débil", "Moderately weak", "#fec981"),
    ("weak", 40.0, "Débil", "Weak", "#f07c4a"),
    ("very_weak", 0.0, "Muy débil", "Very weak", "#d7191c"),
]
WEAK_LEVELS = ("weak", "very_weak")


@dataclass
class MarkerView:
    run: dict
    root: str
    areas: list[str]
    names: dict[str, str]  # node code -> name in the report's language
    levels: list[tuple[str, str, str]]  # code, label, colour (best first)
    level_min: dict[str, float]
    units: gpd.GeoDataFrame  # units of the run with root score/level/rank + area scores
    rank_low: pd.Series | None
    rank_high: pd.Series | None
    population: pd.Series | None = None  # unit_id -> population, weights the city means
    indicators: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> name, unit

    def level_label(self, code: str | None) -> str:
        for level, label, _colour in self.levels:
            if level == code:
                return label
        return code or "–"

    def level_colour(self, code: str | None) -> str:
        for level, _label, colour in self.levels:
            if level == code:
                return colour
        return "#d9d9d9"

    def level_of(self, score: float | None) -> str | None:
        if score is None or np.isnan(score):
            return None
        for code, minimum in self.level_min.items():
            if score >= minimum:
                return code
        return None

    def area_means(self) -> pd.DataFrame:
        rows = []
        for node in self.areas:
            mean = self.city_mean(node)
            rows.append(
                {
                    "code": node,
                    "label": self.names.get(node, node),
                    "score": mean,
                    "level": self.level_of(mean),
                }
            )
        return pd.DataFrame(rows)

    def city_mean(self, node: str) -> float | None:
        """Population-weighted mean of a node over units (plain mean without population)."""
        if node not in self.units:
            return None
        frame = pd.DataFrame({"x": self.units[node].to_numpy(dtype=float)})
        if self.population is not None:
            frame["w"] = self.units["unit_id"].map(self.population).to_numpy(dtype=float)
        frame = frame.dropna()
        if frame.empty:
            return None
        if "w" in frame and frame["w"].sum() > 0:
            return float((frame["x"] * frame["w"]).sum() / frame["w"].sum())
        return float(frame["x"].mean())

    @property
    def city_score(self) -> float | None:
        score = self.run.get("city_score")
        if score is not None:
            return float(score)
        values = self.units[self.root].dropna()
        return float(values.mean()) if len(values) else None

    def weak_share(self) -> float | None:
        levels = self.units["level"].dropna()
        return float(levels.isin(WEAK_LEVELS).mean()) if len(levels) else None


def marker_view(
    data: CityData, language: str, rank_intervals: pd.DataFrame | None = None
) -> MarkerView | None:
    """None when the city has no marker run for the period or the run has no scores."""
    if data.run is None or data.scores.empty:
        return None
    names: dict[str, str] = {}
    areas: list[str] = []
    root = None
    levels = [
        (c, es if language == "es" else en, colour) for c, _m, es, en, colour in DEFAULT_LEVELS
    ]
    level_min = {c: m for c, m, *_ in DEFAULT_LEVELS}
    indicators: dict[str, tuple[str, str]] = {}
    try:
        spec = _run_spec(data.run)
        root = spec.tree.code
        names[root] = spec.tree.name.text(language)
        for child in spec.tree.children:
            areas.append(child.code)
            names[child.code] = child.name.text(language)
            for grandchild in child.children:
                names[grandchild.code] = grandchild.name.text(language)
        for item in spec.indicators():
            indicators[item.code] = (item.name.text(language), item.unit or "")
        levels = [(lv.code, lv.label.text(language), lv.colour or "#999999") for lv in spec.levels]
        level_min = {lv.code: lv.min for lv in spec.levels}
    except Exception:  # a run of a spec this installation does not ship: use the scores
        root = None
    scores = data.scores
    nodes = list(dict.fromkeys(scores["node_code"]))
    if root is None or root not in nodes:
        # the root is the node every unit has with the most units ranked
        root = (
            scores.dropna(subset=["rank"]).groupby("node_code").size().idxmax()
            if scores["rank"].notna().any()
            else nodes[0]
        )
    areas = [a for a in areas if a in nodes] or [n for n in nodes if n != root][:6]
    wide = scores.pivot_table(index="unit_id", columns="node_code", values="score", aggfunc="first")
    root_rows = scores[scores["node_code"] == root].set_index("unit_id")
    units = data.units[data.units["unit_id"].isin(wide.index)].copy()
    units = units.join(wide[[c for c in [root, *areas] if c in wide]], on="unit_id")
    units = units.join(root_rows[["level", "rank"]], on="unit_id")
    units["score"] = units[root]
    # coverage from what is stored: an area with no score is missing for the unit
    present = pd.DataFrame(
        {a: units[a].notna() if a in units else False for a in areas}, index=units.index
    )
    units["coverage"] = present.mean(axis=1) if areas else 1.0
    units["missing_areas"] = [
        "; ".join(a for a in areas if not row[a]) for row in present.to_dict("records")
    ]
    units = units.sort_values(["rank", "code"], na_position="last")
    rank_low = rank_high = None
    source = rank_intervals
    if source is None and data.run["parameters"].get("rank_intervals"):
        raw = data.run["parameters"]["rank_intervals"]
        source = pd.DataFrame(
            [(code, bounds[0], bounds[1]) for code, bounds in raw.items()],
            columns=["code", "rank_p05", "rank_p95"],
        )
    if source is not None and not source.empty:
        bounds = source.set_index("code")
        rank_low = units["code"].map(bounds["rank_p05"])
        rank_high = units["code"].map(bounds["rank_p95"])
        # never an interval that leaves out the rank printed beside it (intervals ranked among
        # other units than the report's ranks: withheld ones, or an older run)
        rank = pd.to_numeric(units["rank"], errors="coerce")
        outside = (rank < rank_low) | (rank > rank_high)
        rank_low, rank_high = rank_low.mask(outside), rank_high.mask(outside)
    return MarkerView(
        data.run,
        root,
        areas,
        names,
        levels,
        level_min,
        units,
        rank_low,
        rank_high,
        _population(data),
        indicators,
    )


def _run_spec(run: dict) -> Any:
    """The spec the run stored (a city's own spec too), else the built-in one of its code."""
    from inclusive_cities.marker import MarkerSpec, load_spec

    recipe = (run.get("parameters") or {}).get("spec")
    if isinstance(recipe, dict):
        try:
            return MarkerSpec.model_validate(recipe)
        except ValueError:
            pass
    return load_spec(run["spec_code"])


def _population(data: CityData) -> pd.Series | None:
    """Population per unit from the ``population`` indicator, when the store has it."""
    obs = data.observations
    if obs.empty:
        return None
    rows = obs[(obs["indicator"] == "population") & (obs["nationality"] == "_T")]
    rows = rows.dropna(subset=["value"])
    return rows.groupby("unit_id")["value"].first() if len(rows) else None
