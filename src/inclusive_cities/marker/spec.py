"""Marker specs: the recipe of a composite index, validated with pydantic.

A spec is a tree (root index -> areas -> dimensions -> optional sub-dimensions ->
indicators) plus spec-level defaults for every step of the JRC/OECD construction
(denomination, imputation, screening, outlier treatment, normalisation, weighting,
aggregation, classification, city aggregation). Specs are immutable; variants are
made with :meth:`MarkerSpec.with_overrides`, which re-validates the result.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker._yaml import format_path, line_for, load_with_lines
from inclusive_cities.marker.errors import MarkerSpecError

Direction = Literal["higher_is_better", "lower_is_better"]
AggregationMethod = Literal["arithmetic", "geometric", "harmonic", "power_mean", "copeland"]
ImputationMethod = Literal["none", "mean", "median", "group_mean", "group_median", "locf"]
TreatmentMethod = Literal["none", "winsorise", "log"]
NORMALISATION_METHODS = (
    "goalposts",
    "minmax",
    "zscore",
    "distance_to_target",
    "rank",
    "percentile_rank",
    "categorical",
)
AGGREGATION_METHODS = ("arithmetic", "geometric", "harmonic", "power_mean", "copeland")
IMPUTATION_METHODS = ("none", "mean", "median", "group_mean", "group_median", "locf")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Model):
    """A name in both shipped languages."""

    es: str
    en: str

    def text(self, language: str) -> str:
        return self.es if language == "es" else self.en


def _method_shorthand(value: Any) -> Any:
    """Accept ``minmax`` for ``{method: minmax}`` in YAML and in overrides."""
    if isinstance(value, str):
        return {"method": value}
    return value


def _goalposts_shorthand(value: Any) -> Any:
    """``{lower, upper, source}`` without a method means goalposts (the default method)."""
    value = _method_shorthand(value)
    if isinstance(value, dict) and "method" not in value:
        return {**value, "method": "goalposts"}
    return value


class Goalposts(_Model):
    """Fixed benchmarks: ``100·(x−L)/(U−L)``, reversed when lower is better, cut to [0, 100].

    ``lower`` < ``upper`` always; ``direction`` says which end is good.
    """

    method: Literal["goalposts"] = "goalposts"
    lower: float
    upper: float
    source: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Goalposts:
        if self.lower == self.upper:
            raise ValueError(
                _(
                    "goalposts lower and upper are both {value}: they must differ (lower is the "
                    "bottom of the scale, upper the top)"
                ).format(value=self.lower)
            )
        if self.lower > self.upper:
            raise ValueError(
                _(
                    "goalposts lower ({lower}) is above upper ({upper}): swap them; 'direction' "
                    "says which end is good"
                ).format(lower=self.lower, upper=self.upper)
            )
        return self


class MinMax(_Model):
    """Min-max over the observed units, or over given reference bounds (e.g. a base period)."""

    method: Literal["minmax"] = "minmax"
    lower: float | None = None
    upper: float | None = None

    @model_validator(mode="after")
    def _both(self) -> MinMax:
        if (self.lower is None) != (self.upper is None):
            raise ValueError(_("give both lower and upper reference bounds, or neither"))
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError(_("minmax lower must be below upper"))
        return self


class ZScore(_Model):
    """``(x − mean)/sd`` (sample sd), shown on the 0–100 scale as ``centre + spread·z``, cut."""

    method: Literal["zscore"] = "zscore"
    mean: float | None = None
    sd: float | None = Field(default=None, gt=0)
    centre: float = 50.0
    spread: float = Field(default=10.0, gt=0)


class DistanceToTarget(_Model):
    """``x / target`` (or ``target / x`` when lower is better), times 100, capped at 100."""

    method: Literal["distance_to_target"] = "distance_to_target"
    target: float
    cap: bool = True
    source: str = ""

    @model_validator(mode="after")
    def _nonzero(self) -> DistanceToTarget:
        if self.target <= 0:
            raise ValueError(_("distance_to_target needs a target above 0"))
        return self


class Rank(_Model):
    """Ordinal rank among units (ties share the lowest), scaled to 0–100."""

    method: Literal["rank"] = "rank"


class PercentileRank(_Model):
    """Mid-rank percentile among units (ties share their average rank), scaled to 0–100."""

    method: Literal["percentile_rank"] = "percentile_rank"


class Categorical(_Model):
    """Classes from cut points (values, or percentiles of the data) mapped to fixed scores."""

    method: Literal["categorical"] = "categorical"
    cuts: list[float] = Field(min_length=1)
    scores: list[float] | None = None
    percentiles: bool = False

    @model_validator(mode="after")
    def _cuts(self) -> Categorical:
        if any(b <= a for a, b in zip(self.cuts, self.cuts[1:], strict=False)):
            raise ValueError(_("categorical cuts must be strictly increasing"))
        if self.scores is not None and len(self.scores) != len(self.cuts) + 1:
            raise ValueError(
                _("categorical needs one score per class: {n} cuts make {k} classes").format(
                    n=len(self.cuts), k=len(self.cuts) + 1
                )
            )
        if self.percentiles and not all(0 <= c <= 100 for c in self.cuts):
            raise ValueError(_("percentile cuts must lie between 0 and 100"))
        return self


Normalisation = Annotated[
    Goalposts | MinMax | ZScore | DistanceToTarget | Rank | PercentileRank | Categorical,
    Field(discriminator="method"),
    BeforeValidator(_goalposts_shorthand),
]


class Aggregation(_Model):
    """How a node combines its components' scores."""

    method: AggregationMethod = "arithmetic"
    p: float | None = None

    @model_validator(mode="after")
    def _power(self) -> Aggregation:
        if self.method == "power_mean" and self.p is None:
            raise ValueError(_("power_mean needs the exponent p (e.g. p: 0.5)"))
        return self


AggregationField = Annotated[Aggregation, BeforeValidator(_method_shorthand)]


class Imputation(_Model):
    """How missing indicator values are filled; every filled value is flagged."""

    method: ImputationMethod = "none"
    group_column: str | None = None

    @model_validator(mode="after")
    def _group(self) -> Imputation:
        if self.method in ("group_mean", "group_median") and not self.group_column:
            raise ValueError(
                _(
                    "{method} needs group_column (the column that holds each unit's group, e.g. "
                    "its neighbourhood)"
                ).format(method=self.method)
            )
        return self


ImputationField = Annotated[Imputation, BeforeValidator(_method_shorthand)]


class Treatment(_Model):
    """Outlier treatment with the JRC COINr rules.

    Winsorise one end at a time (the end the skew points to; tied extremes together) until
    ``|skew| < skew_max`` or ``kurtosis < kurt_max`` (type-2 sample statistics, as Excel's
    SKEW and KURT), while fewer than ``winmax`` points are winsorised. If it still fails,
    ``fallback: log`` applies ``log(x − min + 0.01·(max − min))`` to the original series.
    """

    method: TreatmentMethod = "none"
    winmax: int = Field(default=5, ge=1)
    skew_max: float = Field(default=2.0, gt=0)
    kurt_max: float = 3.5
    fallback: Literal["log", "none"] = "log"


TreatmentField = Annotated[Treatment, BeforeValidator(_method_shorthand)]


class Denominator(_Model):
    """Turn a count into a rate: ``value / data[column] * scale``."""

    column: str
    scale: float = Field(default=1.0, gt=0)


class Indicator(_Model):
    """A leaf of the tree: one column of the data."""

    code: str = Field(min_length=1, max_length=64)
    name: Label
    weight: float = Field(default=1.0, gt=0)
    direction: Direction
    unit: str = ""
    source: str = ""
    normalisation: Normalisation | None = None
    denominator: Denominator | None = None
    treatment: TreatmentField | None = None
    imputation: ImputationField | None = None

    @field_validator("direction", mode="before")
    @classmethod
    def _ranked(cls, value: Any) -> Any:
        # the catalogue's 'neutral' (population, share of Venezuelans) cannot be scored
        if value == "neutral":
            raise ValueError(
                _(
                    "a marker indicator needs a direction: 'neutral' is for descriptive figures "
                    "outside the marker; write higher_is_better or lower_is_better, or leave "
                    "the indicator out of the marker"
                )
            )
        # an imported column nobody declared: scoring it would guess which end is good
        if value == "unknown":
            raise ValueError(
                _(
                    "the direction of this indicator is unknown: declare it (higher_is_better or "
                    "lower_is_better) in a data dictionary (import table --dictionary) or in "
                    "the spec"
                )
            )
        return value


class FixedWeights(_Model):
    """The components' own ``weight`` fields (the default)."""

    method: Literal["fixed"]  # no default: YAML written without defaults keeps it


class PCAWeights(_Model):
    """Weights from the data: the loadings of the first principal component of the node's
    components (centred and scaled, units with every component present), as COINr's
    ``get_PCA(weights_to = ...)``. A loading can be negative; the sign of the component is
    chosen so that the loadings sum to a positive number."""

    method: Literal["pca"]  # no default: YAML written without defaults keeps it


class OptimisedWeights(_Model):
    """Weights searched so that each component's correlation with the index, as a share of
    their sum, matches ``targets`` (relative importances; equal when absent), as COINr's
    ``get_opt_weights(optype = "balance")``: R's Nelder-Mead from the targets, minimising
    ``log(mean((target share − correlation share)²))``, stopping at relative tolerance
    ``tolerance`` or after ``max_iterations`` evaluations."""

    method: Literal["optimised"]  # no default: YAML written without defaults keeps it
    targets: dict[str, float] | None = None
    correlation: Literal["pearson", "spearman"] = "pearson"
    tolerance: float = Field(default=0.1, gt=0)
    max_iterations: int = Field(default=500, ge=1)

    @field_validator("targets")
    @classmethod
    def _positive(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and (not value or any(v <= 0 for v in value.values())):
            raise ValueError(_("targets must give every component an importance above 0"))
        return value


Weighting = Annotated[
    FixedWeights | PCAWeights | OptimisedWeights,
    Field(discriminator="method"),
    BeforeValidator(_method_shorthand),
]
WEIGHTING_METHODS = ("fixed", "pca", "optimised")


class Node(_Model):
    """An aggregate of the tree (index, area, dimension, sub-dimension).

    ``weighting`` says where the components' weights come from: their ``weight`` fields
    (``fixed``), or the data (``pca``, ``optimised``)."""

    code: str = Field(min_length=1, max_length=64)
    name: Label
    weight: float = Field(default=1.0, gt=0)
    weighting: Weighting | None = None
    aggregation: AggregationField | None = None
    min_coverage: float | None = Field(default=None, ge=0, le=1)
    description: Label | None = None
    children: list[Node] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)

    def components(self) -> list[Node | Indicator]:
        return [*self.children, *self.indicators]


class Scale(_Model):
    lower: float = 0.0
    upper: float = 100.0

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.lower >= self.upper or self.lower < 0:
            raise ValueError(_("the scale needs 0 <= lower < upper"))
        return self


class MissingData(_Model):
    """Coverage rules: a node needs ``min_coverage`` of its components; a unit with fewer
    than ``unit_min_coverage`` of all indicators present is screened out (no scores).
    ``screen_on: raw`` counts the values observed; ``imputed`` counts them after
    imputation, as COINr's ``Screen(dset = "Imputed")`` does in its default pipeline."""

    min_coverage: float = Field(default=0.5, ge=0, le=1)
    unit_min_coverage: float = Field(default=0.0, ge=0, le=1)
    screen_on: Literal["raw", "imputed"] = "raw"
    imputation: ImputationField = Imputation()


class Level(_Model):
    """A performance level: scores >= ``min`` (and below the next level) fall in it."""

    code: str
    min: float
    label: Label
    colour: str = Field(pattern=r"^#[0-9A-Fa-f]{6}$")


def un_habitat_levels() -> list[Level]:
    """The six levels of UN-Habitat's City Prosperity Index (METHODOLOGY §2.8)."""
    rows = [
        ("very_solid", 80, "Muy sólido", "Very solid", "#1a9641"),
        ("solid", 70, "Sólido", "Solid", "#73c374"),
        ("moderately_solid", 60, "Moderadamente sólido", "Moderately solid", "#c4e687"),
        ("moderately_weak", 50, "Moderadamente débil", "Moderately weak", "#fec981"),
        ("weak", 40, "Débil", "Weak", "#f07c4a"),
        ("very_weak", 0, "Muy débil", "Very weak", "#d7191c"),
    ]
    return [
        Level(code=c, min=m, label=Label(es=es, en=en), colour=col) for c, m, es, en, col in rows
    ]


class CityAggregation(_Model):
    """City figure: population-weighted mean of unit scores (plain mean without population)."""

    method: Literal["population_weighted_mean", "mean"] = "population_weighted_mean"


class Defaults(_Model):
    scale: Scale = Scale()
    normalisation: Normalisation | None = None
    aggregation: AggregationField = Aggregation()
    aggregation_by_depth: dict[int, AggregationField] = Field(default_factory=dict)
    missing: MissingData = MissingData()
    treatment: TreatmentField = Treatment()


class MarkerSpec(_Model):
    """A complete marker recipe. ``tree`` is the root node (the index)."""

    code: str = Field(min_length=1, max_length=64)
    name: Label
    version: str = "1"
    description: Label | None = None
    defaults: Defaults = Defaults()
    levels: list[Level] = Field(default_factory=un_habitat_levels)
    city: CityAggregation = CityAggregation()
    tree: Node

    @model_validator(mode="after")
    def _check(self) -> MarkerSpec:
        problem = _tree_problem(self)
        if problem:
            raise SpecProblem(*problem)
        return self

    # -- walking the tree ---------------------------------------------------------
    def walk(self) -> Iterator[tuple[Node | Indicator, int, Node | None]]:
        """Every node and indicator in pre-order, with its depth and parent."""
        stack: list[tuple[Node | Indicator, int, Node | None]] = [(self.tree, 0, None)]
        while stack:
            item, depth, parent = stack.pop()
            yield item, depth, parent
            if isinstance(item, Node):
                stack.extend((c, depth + 1, item) for c in reversed(item.components()))

    def nodes(self) -> list[Node]:
        """Aggregate nodes in pre-order (the root first)."""
        return [item for item, _d, _p in self.walk() if isinstance(item, Node)]

    def indicators(self) -> list[Indicator]:
        """Indicators in tree order."""
        return [item for item, _d, _p in self.walk() if isinstance(item, Indicator)]

    @property
    def node_codes(self) -> list[str]:
        return [node.code for node in self.nodes()]

    @property
    def indicator_codes(self) -> list[str]:
        return [indicator.code for indicator in self.indicators()]

    def find(self, code: str) -> Node | Indicator:
        for item, _d, _p in self.walk():
            if item.code == code:
                return item
        raise MarkerSpecError(
            _("The spec {spec} has no node or indicator '{code}'.").format(
                spec=self.code, code=code
            )
        )

    def parents(self) -> dict[str, str | None]:
        """code -> parent code (None for the root)."""
        return {item.code: (parent.code if parent else None) for item, _d, parent in self.walk()}

    def depths(self) -> dict[str, int]:
        return {item.code: depth for item, depth, _p in self.walk()}

    # -- effective choices ----------------------------------------------------------
    def aggregation_for(self, node: Node, depth: int) -> Aggregation:
        return node.aggregation or self.defaults.aggregation_by_depth.get(
            depth, self.defaults.aggregation
        )

    def normalisation_for(self, indicator: Indicator) -> Any:
        chosen = indicator.normalisation or self.defaults.normalisation
        if chosen is None:
            raise MarkerSpecError(
                _(
                    "Indicator {code} of spec {spec} has no normalisation: give goalposts "
                    "(lower, upper, source) or set defaults.normalisation."
                ).format(code=indicator.code, spec=self.code)
            )
        return chosen

    def treatment_for(self, indicator: Indicator) -> Treatment:
        return indicator.treatment or self.defaults.treatment

    def imputation_for(self, indicator: Indicator) -> Imputation:
        return indicator.imputation or self.defaults.missing.imputation

    def data_weighted_nodes(self) -> list[Node]:
        """Nodes whose components' weights come from the data, children before parents."""
        return [
            node
            for node in reversed(self.nodes())
            if node.weighting is not None and node.weighting.method != "fixed"
        ]

    def min_coverage_for(self, node: Node) -> float:
        if node.min_coverage is not None:
            return node.min_coverage
        return self.defaults.missing.min_coverage

    # -- identity ---------------------------------------------------------------------
    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON form: equal recipes have equal hashes."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def to_yaml(self) -> str:
        return yaml.safe_dump(
            self.model_dump(mode="json", exclude_defaults=True), allow_unicode=True, sort_keys=False
        )

    # -- variants ----------------------------------------------------------------------
    def with_weights_fixed(self, weights: Mapping[str, float]) -> MarkerSpec:
        """This spec with ``weights`` ({code: weight > 0}) written into the tree and every
        node's weighting ``fixed``: weights the data chose, frozen for an analysis that
        varies them."""
        data = self.model_dump(mode="python")
        for item in _walk_dicts(data["tree"]):
            if item["code"] in weights:
                item["weight"] = weights[item["code"]]
            if "direction" not in item:
                item["weighting"] = None
        try:
            return MarkerSpec.model_validate(data)
        except ValidationError as error:
            raise MarkerSpecError(_describe_validation(error, None, {}, self.code)) from error

    def with_overrides(
        self,
        *,
        weights: Mapping[str, float] | None = None,
        normalisation: Any = None,
        aggregation: Any = None,
        imputation: Any = None,
        treatment: Any = None,
        drop: Iterable[str] | str | None = None,
        min_coverage: float | None = None,
    ) -> MarkerSpec:
        """A validated copy of this spec with some choices changed (see module docs).

        - ``weights``: ``{code: weight}`` for any node or indicator.
        - ``normalisation``: a method name or dict applied to every indicator (e.g.
          ``"minmax"``, ``{"method": "zscore"}``), or ``{indicator_code: method-or-dict}``.
          ``"goalposts"`` keeps each indicator's own goalposts.
        - ``aggregation``: a method name/dict for every node, or ``{node_code: ...}``.
        - ``imputation`` / ``treatment``: a method name/dict used for every indicator.
        - ``drop``: codes of indicators or nodes to remove (nodes left empty go too).
        - ``min_coverage``: the default minimum share of components per node.
        """
        data = self.model_dump(mode="python")
        items = {item["code"]: item for item in _walk_dicts(data["tree"])}
        for code in [*(weights or {}), *_codes(drop)]:
            if code not in items:
                raise MarkerSpecError(
                    _(
                        "Cannot override '{code}': spec {spec} has no such node or indicator."
                    ).format(code=code, spec=self.code)
                )
        for code, weight in (weights or {}).items():
            items[code]["weight"] = weight
        indicator_items = [item for item in items.values() if "direction" in item]
        node_items = [item for item in items.values() if "direction" not in item]
        if normalisation is not None:
            per_code = _per_code(normalisation, {i["code"] for i in indicator_items})
            for item in indicator_items:
                if per_code is None:
                    item["normalisation"] = _new_normalisation(item, normalisation)
                elif item["code"] in per_code:
                    item["normalisation"] = _new_normalisation(item, per_code[item["code"]])
        if aggregation is not None:
            per_code = _per_code(aggregation, {n["code"] for n in node_items})
            if per_code is None:
                data["defaults"]["aggregation"] = _method_shorthand(aggregation)
                data["defaults"]["aggregation_by_depth"] = {}
                for item in node_items:
                    item["aggregation"] = None
            else:
                for code, value in per_code.items():
                    items[code]["aggregation"] = _method_shorthand(value)
        if imputation is not None:
            data["defaults"]["missing"]["imputation"] = _method_shorthand(imputation)
            for item in indicator_items:
                item["imputation"] = None
        if treatment is not None:
            data["defaults"]["treatment"] = _method_shorthand(treatment)
            for item in indicator_items:
                item["treatment"] = None
        if min_coverage is not None:
            data["defaults"]["missing"]["min_coverage"] = min_coverage
        dropped = set(_codes(drop))
        if dropped:
            if data["tree"]["code"] in dropped:
                raise MarkerSpecError(_("Cannot drop the root of the tree."))
            if not _prune(data["tree"], dropped):
                raise MarkerSpecError(
                    _("Dropping {codes} would leave the index with no indicators.").format(
                        codes=", ".join(sorted(dropped))
                    )
                )
        try:
            return MarkerSpec.model_validate(data)
        except ValidationError as error:
            raise MarkerSpecError(_describe_validation(error, None, {}, self.code)) from error


class SpecProblem(MarkerSpecError):
    """A whole-tree problem found after field validation (carries the path, not yet a line)."""

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message, format_path(path))
        self.loc = path


def _codes(drop: Iterable[str] | str | None) -> list[str]:
    if drop is None:
        return []
    if isinstance(drop, str):
        return [drop]
    return list(drop)


def _per_code(value: Any, codes: set[str]) -> dict[str, Any] | None:
    """A mapping keyed by codes means per-item values; anything else applies to all."""
    if isinstance(value, Mapping) and value and set(value) <= codes and "method" not in value:
        return dict(value)
    if isinstance(value, Mapping) and "method" not in value and value:
        unknown = sorted(set(value) - codes)
        raise MarkerSpecError(
            _("Cannot override '{code}': there is no such node or indicator.").format(
                code=unknown[0]
            )
        )
    return None


def _new_normalisation(item: dict[str, Any], value: Any) -> Any:
    value = _method_shorthand(value)
    if isinstance(value, BaseModel):
        return value.model_dump()
    if value.get("method") == "goalposts" and set(value) == {"method"}:
        current = item.get("normalisation")
        if not current or current.get("method") != "goalposts":
            raise MarkerSpecError(
                _(
                    "Indicator {code} has no goalposts to fall back on; give lower and upper."
                ).format(code=item["code"])
            )
        return current
    return value


def _walk_dicts(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children") or []:
        yield from _walk_dicts(child)
    yield from node.get("indicators") or []


def _prune(node: dict[str, Any], dropped: set[str]) -> bool:
    """Remove dropped codes below ``node``; False when ``node`` ends up empty."""
    node["indicators"] = [i for i in node.get("indicators") or [] if i["code"] not in dropped]
    node["children"] = [
        c for c in node.get("children") or [] if c["code"] not in dropped and _prune(c, dropped)
    ]
    return bool(node["indicators"] or node["children"])


def _tree_problem(spec: MarkerSpec) -> tuple[str, tuple[str | int, ...]] | None:
    """The first structural problem of the tree, with its path (duplicates, empty nodes…)."""
    seen: dict[str, str] = {}
    stack: list[tuple[Node | Indicator, tuple[str | int, ...]]] = [(spec.tree, ("tree",))]
    while stack:
        item, path = stack.pop(0)
        if item.code in seen:
            return (
                _(
                    "the code '{code}' is used twice (also at {other}); every node and indicator "
                    "needs its own code"
                ).format(code=item.code, other=seen[item.code]),
                (*path, "code"),
            )
        seen[item.code] = format_path(path)
        if isinstance(item, Node):
            if not item.components():
                return (
                    _(
                        "node {code} has no children and no indicators; add some or remove it"
                    ).format(code=item.code),
                    path,
                )
            problem = _weighting_problem(item)
            if problem:
                return problem, (*path, "weighting")
            stack.extend((c, (*path, "children", i)) for i, c in enumerate(item.children))
            stack.extend((c, (*path, "indicators", i)) for i, c in enumerate(item.indicators))
        elif item.normalisation is None and spec.defaults.normalisation is None:
            return (
                _(
                    "indicator {code} has no normalisation: give goalposts (lower, upper, source) "
                    "or set defaults.normalisation"
                ).format(code=item.code),
                path,
            )
    mins = [level.min for level in spec.levels]
    if not mins or any(b >= a for a, b in itertools.pairwise(mins)):
        return (_("levels must be listed from the highest 'min' to the lowest"), ("levels",))
    return None


def _weighting_problem(node: Node) -> str | None:
    """Data-driven weights need two components; targets must name exactly the components."""
    if node.weighting is None or node.weighting.method == "fixed":
        return None
    codes = [c.code for c in node.components()]
    if len(codes) < 2:
        return _("node {code} has one component: {method} weights need at least two").format(
            code=node.code, method=node.weighting.method
        )
    if isinstance(node.weighting, OptimisedWeights) and node.weighting.targets is not None:
        targets = node.weighting.targets
        unknown = sorted(set(targets) - set(codes))
        if unknown:
            return _(
                "targets name '{target}', which is not a component of {code} ({codes})"
            ).format(target=unknown[0], code=node.code, codes=", ".join(codes))
        absent = [c for c in codes if c not in targets]
        if absent:
            return _(
                "targets give no importance for '{target}': give one for every component of "
                "{code}, or leave targets out for equal importance"
            ).format(target=absent[0], code=node.code)
    return None


# -- loading -----------------------------------------------------------------------------


def builtin_specs() -> dict[str, Path]:
    """Names of the specs shipped with the package -> their files."""
    folder = resources.files("inclusive_cities.marker") / "specs"
    return {
        Path(str(entry)).stem: Path(str(entry))
        for entry in folder.iterdir()
        if str(entry).endswith(".yaml")
    }


def _nested_from_flat(
    data: dict[str, Any], source: str, lines: dict[Any, int] | None = None
) -> dict[str, Any]:
    """Accept COINr-style flat ``nodes:`` lists (each with a ``parent`` code) as a tree."""
    items = data.pop("nodes")
    lines = lines or {}

    def where(*path: str | int) -> str:
        line = lines.get(("nodes", *path)) or lines.get(("nodes",))
        return f"{source}:{line}" if line else source

    by_code: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "code" not in item:
            raise MarkerSpecError(
                _("{where}: nodes[{index}] needs a code.").format(where=where(index), index=index),
                f"nodes[{index}]",
            )
        if item["code"] in by_code:
            raise MarkerSpecError(
                _(
                    "{where}: nodes[{index}].code: the code '{code}' is used twice (also at "
                    "nodes[{other}]); every node and indicator needs its own code"
                ).format(
                    where=where(index, "code"),
                    index=index,
                    code=item["code"],
                    other=by_code[item["code"]]["_index"],
                ),
                f"nodes[{index}].code",
            )
        by_code[item["code"]] = {**item, "_index": index}
    roots = [item for item in by_code.values() if not item.get("parent")]
    if len(roots) != 1:
        raise MarkerSpecError(
            _(
                "{where}: nodes: exactly one entry must have no parent (the index); found {n}."
            ).format(where=where(), n=len(roots))
        )
    for item in by_code.values():
        parent = item.get("parent")
        index = item["_index"]
        if parent and parent not in by_code:
            raise MarkerSpecError(
                _(
                    "{where}: nodes[{index}].parent: {code} has parent '{parent}', which is not "
                    "in the list."
                ).format(
                    where=where(index, "parent"), index=index, code=item["code"], parent=parent
                ),
                f"nodes[{index}].parent",
            )
        seen = {item["code"]}
        cursor = parent
        while cursor:
            if cursor in seen:
                raise MarkerSpecError(
                    _(
                        "{where}: nodes[{index}].parent: {code} is its own ancestor: the parents "
                        "form a cycle through {cycle}."
                    ).format(
                        where=where(index, "parent"),
                        index=index,
                        code=item["code"],
                        cycle=" -> ".join(sorted(seen)),
                    ),
                    f"nodes[{index}].parent",
                )
            seen.add(cursor)
            cursor = by_code[cursor].get("parent")

    placed: dict[int, tuple[str | int, ...]] = {}  # original index -> path in the tree

    def build(code: str, path: tuple[str | int, ...]) -> dict[str, Any]:
        placed[by_code[code]["_index"]] = path
        entry = {k: v for k, v in by_code[code].items() if k not in ("parent", "_index")}
        kids = [i for i in by_code.values() if i.get("parent") == code]
        kids.sort(key=lambda i: i["_index"])
        nodes = [k for k in kids if "direction" not in k]
        leaves = [k for k in kids if "direction" in k]
        entry["children"] = [build(k["code"], (*path, "children", i)) for i, k in enumerate(nodes)]
        entry["indicators"] = []
        for i, leaf in enumerate(leaves):
            placed[leaf["_index"]] = (*path, "indicators", i)
            entry["indicators"].append(
                {k: v for k, v in leaf.items() if k not in ("parent", "_index")}
            )
        return entry

    data["tree"] = build(roots[0]["code"], ("tree",))
    # later errors name paths in the tree: give those paths the lines of the flat entries
    for path, line in list(lines.items()):
        if len(path) >= 2 and path[0] == "nodes" and isinstance(path[1], int):
            lines[(*placed[path[1]], *path[2:])] = line
    return data


def _friendly(kind: str) -> str | None:
    """Plain-language problems for pydantic's error types (translated at run time)."""
    return {
        "greater_than": _("must be greater than {gt}"),
        "greater_than_equal": _("must be at least {ge}"),
        "less_than_equal": _("must be at most {le}"),
        "missing": _("is required but missing"),
        "extra_forbidden": _("is not a known field (check its spelling)"),
        "literal_error": _("must be one of {expected}"),
        "union_tag_invalid": _("unknown method '{tag}': use one of {expected_tags}"),
        "union_tag_not_found": _("needs a 'method'"),
        "float_parsing": _("must be a number"),
        "float_type": _("must be a number"),
        "string_type": _("must be text"),
        "model_type": _("must be a mapping of fields"),
        "list_type": _("must be a list"),
    }.get(kind)


def _describe_validation(
    error: ValidationError, data: Any, lines: dict[Any, int], source: str
) -> str:
    first = error.errors()[0]
    path, line = line_for(lines, data, tuple(first["loc"])) if data is not None else ((), None)
    if data is None:
        path = tuple(p for p in first["loc"] if isinstance(p, int | str))
    template = _friendly(first["type"])
    ctx = first.get("ctx") or {}
    if template:
        problem = template.format(**ctx) if ctx else template
    else:
        problem = str(ctx.get("error") or first["msg"]).removeprefix("Value error, ")
    field = format_path(path)
    if first["type"] in ("missing", "extra_forbidden"):
        field = format_path(tuple(p for p in first["loc"] if not _is_tag(p)))
    got = first.get("input")
    shown = (
        ""
        if isinstance(got, dict | list) or got is None
        else _(" (got {value!r})").format(value=got)
    )
    more = len(error.errors()) - 1
    tail = _(" (and {n} more problems)").format(n=more) if more > 0 else ""
    where = f"{source}:{line}" if line else source
    return f"{where}: {field}: {problem}{shown}{tail}"


def _is_tag(part: Any) -> bool:
    return isinstance(part, str) and (part in NORMALISATION_METHODS or "[" in part)


def parse_spec(text: str, source: str = "<spec>") -> MarkerSpec:
    """Validate YAML text as a spec; errors name ``source:line: path: problem``."""
    data, lines = load_with_lines(text, source)
    if not isinstance(data, dict):
        raise MarkerSpecError(
            _("{source}: a spec must be a mapping with code, name and tree.").format(source=source)
        )
    if "nodes" in data and "tree" not in data:
        data = _nested_from_flat(data, source, lines)
    try:
        return MarkerSpec.model_validate(data)
    except ValidationError as error:
        raise MarkerSpecError(_describe_validation(error, data, lines, source)) from error
    except SpecProblem as problem:
        path, line = line_for(lines, data, problem.loc)
        where = f"{source}:{line}" if line else source
        raise MarkerSpecError(
            f"{where}: {format_path(problem.loc)}: {problem}", format_path(path), line
        ) from problem


def load_spec(path_or_name: str | Path | MarkerSpec) -> MarkerSpec:
    """A spec from a YAML file, or a built-in one by name (``uim-basic``, ``uim-extended``)."""
    if isinstance(path_or_name, MarkerSpec):
        return path_or_name
    builtins = builtin_specs()
    name = str(path_or_name)
    if name in builtins:
        return parse_spec(builtins[name].read_text(encoding="utf-8"), f"{name}.yaml")
    path = Path(name)
    if not path.is_file():
        raise MarkerSpecError(
            _(
                "There is no spec file {path} and no built-in spec of that name (built-in: "
                "{names})."
            ).format(path=name, names=", ".join(sorted(builtins)))
        )
    return parse_spec(path.read_text(encoding="utf-8"), str(path))
