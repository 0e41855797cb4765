"""The Urban Inclusion Marker engine: composite-index specs, scoring, levels, analysis.

Public API (stable; the sensitivity and monitoring modules build on it)::

    from inclusive_cities.marker import load_spec, compute

    spec = load_spec("uim-basic")            # a built-in spec, or a path to a YAML file
    result = compute(spec, data, id_column="unit_code", population_column="population")
    result.scores          # DataFrame unit × node (root first), 0–100
    result.score           # Series: the root (index) score per unit
    result.rank            # Series: root rank, 1 = best, ties share the lowest rank (Int64)
    result.level           # Series: root performance-level code ("very_solid" … "very_weak")
    result.ranks, result.levels        # the same for every node
    result.to_frame()      # id column, one column per node, "rank" and "level"
    result.normalised, result.treated, result.raw, result.imputed, result.coverage
    result.city, result.city_score, result.level_shares, result.effective_weights
    result.provenance      # spec_hash, input_hash, software_version, seed, parameters
    result.recompute(other_spec)       # same data and arguments, another recipe

``compute(spec, data, id_column="unit_code", population_column=None, groups=None, *,
previous=None, reference=None, missing_columns="error", seed=None)`` is pure and
deterministic: the same spec and data (in any row order) give identical numbers.

Varying a recipe (for uncertainty and sensitivity analysis). Specs are frozen pydantic
models; :meth:`MarkerSpec.with_overrides` returns a validated copy::

    spec.with_overrides(weights={"VIV": 2.0, "piped_water": 0.5})
    spec.with_overrides(normalisation="minmax")                 # every indicator
    spec.with_overrides(normalisation={"overcrowding": {"method": "zscore"}})
    spec.with_overrides(aggregation="geometric")                # every node
    spec.with_overrides(aggregation={"UIM": {"method": "power_mean", "p": 0.5}})
    spec.with_overrides(imputation="mean")                      # or {"method": "group_mean",
                                                                #     "group_column": "nbhd"}
    spec.with_overrides(treatment="winsorise")
    spec.with_overrides(drop=["internet"])                      # leave one indicator out
    spec.model_copy(update={...})    # pydantic's own copy, without re-validation

Method names: normalisation ``goalposts`` (default; fixed benchmarks), ``minmax``,
``zscore``, ``distance_to_target``, ``rank``, ``percentile_rank``, ``categorical``;
aggregation ``arithmetic``, ``geometric``, ``harmonic``, ``power_mean`` (with ``p``),
``copeland``; imputation ``none``, ``mean``, ``median``, ``group_mean``, ``group_median``,
``locf``; treatment ``none``, ``winsorise`` (COINr rules, log fallback), ``log``.

A spec in YAML (``load_spec("my-spec.yaml")``; every error names file, line and path)::

    code: my-marker
    name: {es: Mi marcador, en: My marker}
    defaults:                      # all optional; these are the defaults
      scale: {lower: 0, upper: 100}
      aggregation: arithmetic      # or {method: power_mean, p: 0.5}; per depth:
      aggregation_by_depth: {}     #   {0: geometric} = how the root combines its areas
      missing: {min_coverage: 0.5, unit_min_coverage: 0, screen_on: raw,
                imputation: none}  # or {method: group_mean, group_column: barrio}
      treatment: none              # or {method: winsorise, winmax: 5, skew_max: 2,
                                   #     kurt_max: 3.5, fallback: log}
    tree:
      code: IDX
      name: {es: Índice, en: Index}
      children:
        - code: HOUSING
          name: {es: Vivienda, en: Housing}
          weight: 2
          indicators:
            - code: piped_water
              name: {es: Agua por tubería, en: Piped water}
              direction: higher_is_better
              unit: "%"
              normalisation: {lower: 0, upper: 100, source: "SDG 6.1.1"}   # goalposts
            - code: crimes
              name: {es: Delitos, en: Crimes}
              direction: lower_is_better
              denominator: {column: population, scale: 100000}
              normalisation: minmax

A COINr-style flat list (``nodes:`` entries with a ``parent`` code) is accepted too.
Levels default to UN-Habitat's six (``levels:`` to change them).

Analysis helpers: :func:`correlations`, :func:`cronbach_alpha`,
:func:`strengths_and_weaknesses`, :func:`rank_shift_on_removal`.
Errors are :class:`MarkerError` (spec problems: :class:`MarkerSpecError`, naming the YAML
path and line; data problems: :class:`MarkerDataError`, naming file, row and column).
"""

from __future__ import annotations

from inclusive_cities.marker.analysis import (
    correlations,
    cronbach_alpha,
    rank_shift_on_removal,
    strengths_and_weaknesses,
)
from inclusive_cities.marker.engine import MarkerResult, Provenance, compute, effective_weights
from inclusive_cities.marker.errors import MarkerDataError, MarkerError, MarkerSpecError
from inclusive_cities.marker.monitoring import (
    Comparison,
    MarkerComparisonError,
    compare,
    compare_periods,
    compare_series,
)
from inclusive_cities.marker.sensitivity import UncertaintyResult, sensitivity
from inclusive_cities.marker.spec import (
    AGGREGATION_METHODS,
    IMPUTATION_METHODS,
    NORMALISATION_METHODS,
    Aggregation,
    Categorical,
    DistanceToTarget,
    Goalposts,
    Imputation,
    Indicator,
    Label,
    Level,
    MarkerSpec,
    MinMax,
    Node,
    PercentileRank,
    Rank,
    Treatment,
    ZScore,
    builtin_specs,
    load_spec,
    parse_spec,
)

__all__ = [
    "AGGREGATION_METHODS",
    "IMPUTATION_METHODS",
    "NORMALISATION_METHODS",
    "Aggregation",
    "Categorical",
    "Comparison",
    "DistanceToTarget",
    "Goalposts",
    "Imputation",
    "Indicator",
    "Label",
    "Level",
    "MarkerComparisonError",
    "MarkerDataError",
    "MarkerError",
    "MarkerResult",
    "MarkerSpec",
    "MarkerSpecError",
    "MinMax",
    "Node",
    "PercentileRank",
    "Provenance",
    "Rank",
    "Treatment",
    "UncertaintyResult",
    "ZScore",
    "builtin_specs",
    "compare",
    "compare_periods",
    "compare_series",
    "compute",
    "correlations",
    "cronbach_alpha",
    "effective_weights",
    "load_spec",
    "parse_spec",
    "rank_shift_on_removal",
    "sensitivity",
    "strengths_and_weaknesses",
]
