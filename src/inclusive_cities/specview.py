"""What readers of a marker run need to know about its spec: the tree's names, weights and levels.

The web (and disclosure control, which masks scores and audits their goalposts) reads specs
through :class:`SpecView`, a plain snapshot, so pages work with any object that walks like the
marker engine's ``MarkerSpec`` and tests can build one in code. It imports the marker engine
only when asked for a built-in spec (the engine is heavy; web start-up does not need it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from inclusive_cities.cache import CACHE

if TYPE_CHECKING:
    from inclusive_cities.store import models


@dataclass(frozen=True)
class NodeView:
    code: str
    name_es: str
    name_en: str
    depth: int
    parent: str | None
    weight: float = 1.0
    is_indicator: bool = False
    direction: str = ""
    unit: str = ""
    benchmark_lower: float | None = None
    benchmark_upper: float | None = None
    benchmark_source: str = ""
    normalisation: str = ""

    def name(self, language: str) -> str:
        return self.name_es if language == "es" else self.name_en


@dataclass(frozen=True)
class LevelView:
    code: str
    min: float
    label_es: str
    label_en: str
    colour: str

    def label(self, language: str) -> str:
        return self.label_es if language == "es" else self.label_en


def default_levels() -> list[LevelView]:
    """UN-Habitat City Prosperity Index levels (METHODOLOGY §2.8), used when a run's spec
    cannot be read; the marker engine's own spec levels take precedence."""
    rows = [
        ("very_solid", 80, "Muy sólido", "Very solid", "#1a9641"),
        ("solid", 70, "Sólido", "Solid", "#73c374"),
        ("moderately_solid", 60, "Moderadamente sólido", "Moderately solid", "#c4e687"),
        ("moderately_weak", 50, "Moderadamente débil", "Moderately weak", "#fec981"),
        ("weak", 40, "Débil", "Weak", "#f07c4a"),
        ("very_weak", 0, "Muy débil", "Very weak", "#d7191c"),
    ]
    return [LevelView(c, float(m), es, en, col) for c, m, es, en, col in rows]


@dataclass(frozen=True)
class SpecView:
    code: str
    name_es: str
    name_en: str
    version: str = "1"
    description_es: str = ""
    description_en: str = ""
    nodes: list[NodeView] = field(default_factory=list)
    levels: list[LevelView] = field(default_factory=default_levels)
    aggregation: str = "arithmetic"
    scale_lower: float = 0.0
    scale_upper: float = 100.0

    def name(self, language: str) -> str:
        return self.name_es if language == "es" else self.name_en

    @property
    def scale(self) -> str:
        """The score range as people write it: "0–100", or "0–1" for a 0–1 spec."""
        return f"{self.scale_lower:g}–{self.scale_upper:g}"

    def areas(self) -> list[NodeView]:
        """The index's components (the root's children), however many the spec has."""
        root = self.root
        if root is None:
            return self.at_depth(1)
        return [n for n in self.nodes if n.parent == root.code]

    def node(self, code: str) -> NodeView | None:
        return next((n for n in self.nodes if n.code == code), None)

    @property
    def root(self) -> NodeView | None:
        return next((n for n in self.nodes if n.depth == 0), None)

    def at_depth(self, depth: int) -> list[NodeView]:
        return [n for n in self.nodes if n.depth == depth and not n.is_indicator]

    def indicators(self) -> list[NodeView]:
        return [n for n in self.nodes if n.is_indicator]

    def children(self, code: str) -> list[NodeView]:
        return [n for n in self.nodes if n.parent == code]

    def level(self, code: str | None) -> LevelView | None:
        return next((lv for lv in self.levels if lv.code == code), None)

    def level_for(self, score: float | None) -> LevelView | None:
        if score is None:
            return None
        for level in sorted(self.levels, key=lambda lv: -lv.min):
            if score >= level.min:
                return level
        return None


def fallback_spec(code: str, node_codes: list[str]) -> SpecView:
    """A spec view from the node codes a run stored, when the spec itself is unknown."""
    return SpecView(
        code=code,
        name_es=code,
        name_en=code,
        nodes=[NodeView(c, c, c, 1, None) for c in node_codes],
    )


def from_marker_spec(spec: Any, weights: dict[str, float] | None = None) -> SpecView:
    """Snapshot a marker engine ``MarkerSpec`` (duck-typed: ``walk()``, ``levels``);
    ``weights``: those the data chose for a run (pca/optimised nodes), shown instead."""
    chosen = weights or {}
    nodes = []
    for item, depth, parent in spec.walk():
        is_indicator = not hasattr(item, "children")
        norm = getattr(item, "normalisation", None)
        nodes.append(
            NodeView(
                code=item.code,
                name_es=item.name.es,
                name_en=item.name.en,
                depth=depth,
                parent=parent.code if parent is not None else None,
                weight=float(chosen.get(item.code, getattr(item, "weight", 1.0))),
                is_indicator=is_indicator,
                direction=getattr(item, "direction", "") or "",
                unit=getattr(item, "unit", "") or "",
                benchmark_lower=getattr(norm, "lower", None),
                benchmark_upper=getattr(norm, "upper", None),
                benchmark_source=getattr(norm, "source", "") or getattr(item, "source", ""),
                normalisation=getattr(norm, "method", "") if norm is not None else "",
            )
        )
    levels = [
        LevelView(lv.code, float(lv.min), lv.label.es, lv.label.en, lv.colour)
        for lv in getattr(spec, "levels", [])
    ] or default_levels()
    description = getattr(spec, "description", None)
    defaults = getattr(spec, "defaults", None)
    aggregation = getattr(getattr(defaults, "aggregation", None), "method", "arithmetic")
    scale = getattr(defaults, "scale", None)
    return SpecView(
        code=spec.code,
        name_es=spec.name.es,
        name_en=spec.name.en,
        version=str(getattr(spec, "version", "1")),
        description_es=description.es if description else "",
        description_en=description.en if description else "",
        nodes=nodes,
        levels=levels,
        aggregation=str(aggregation),
        scale_lower=float(getattr(scale, "lower", 0.0)),
        scale_upper=float(getattr(scale, "upper", 100.0)),
    )


SpecProvider = Callable[[str], "SpecView | None"]


@lru_cache(maxsize=32)
def marker_engine_specs(code: str) -> SpecView | None:
    """The marker engine's built-in spec ``code``, or None when it has none by that name
    (cached: built-in specs ship with the software and do not change while it runs)."""
    try:
        from inclusive_cities.marker import load_spec  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        return from_marker_spec(load_spec(code))
    except Exception:  # an unknown or broken spec: the pages fall back to node codes
        return None


def stored_spec(run: models.MarkerRun) -> SpecView | None:
    """The spec saved in the run's parameters by the marker engine (the exact recipe)."""
    recipe = (run.parameters or {}).get("spec")
    if not isinstance(recipe, dict):
        return None

    def build() -> SpecView | None:
        try:
            from inclusive_cities.marker import MarkerSpec  # type: ignore[attr-defined]

            derived = (run.parameters or {}).get("derived_weights")
            return from_marker_spec(
                MarkerSpec.model_validate(recipe), derived if isinstance(derived, dict) else None
            )
        except Exception:  # an older or foreign recipe: fall back to the spec by name
            return None

    return CACHE.get(("stored-spec", run.id, run.spec_hash), build)
