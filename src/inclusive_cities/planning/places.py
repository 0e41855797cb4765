"""Which places are the most excluded, how sure we are, what drives their gap, who lives there.

Everything starts from a stored marker run: its spec (kept in the run's parameters), the
normalised 0-100 score of every indicator for every unit (kept as score rows) and its seed.
The run's Monte Carlo replicates are not stored, so they are regenerated exactly as
``marker build --uncertainty`` draws them (:func:`inclusive_cities.marker.sensitivity.sensitivity`:
same factors, same seed, same Saltelli A and B rows), re-aggregating the stored normalised
scores; the 5-95 % rank interval they give equals the one the run recorded.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import current_language
from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker.engine import aggregate_tree
from inclusive_cities.marker.sensitivity import (
    MarkerModel,
    base_matrices,
    marker_factors,
    rank_descending,
)
from inclusive_cities.marker.spec import MarkerSpec, Node
from inclusive_cities.planning.errors import PlanningError
from inclusive_cities.progress import ProgressCallback, quiet_progress
from inclusive_cities.store import models, transaction

DEFAULT_REPLICATES = 100
"""Base sample size N (2N replicates) when the run recorded no uncertainty analysis."""


@dataclass
class RunData:
    """A stored marker run, read once: what every planning step needs from the store."""

    run_id: int
    city: str
    period: str
    spec: MarkerSpec
    level: str
    units: pd.DataFrame
    normalised: pd.DataFrame
    scores: pd.DataFrame
    seed: int
    replicates: int
    population_indicator: str | None = None

    @property
    def areas(self) -> list[str]:
        """The root's components: the areas a planner weighs."""
        return [child.code for child in self.spec.tree.components()]

    def label(self, code: str) -> str:
        """The name of a node or indicator in the current language."""
        return self.spec.find(code).name.text(current_language())


@dataclass
class PlacesResult:
    """Places ranked from the most excluded, with the probability of being among the k most
    excluded, the drivers of each gap, population split and sensitivity to area weights."""

    run: RunData
    units: pd.DataFrame
    k: int
    weights: dict[str, float]
    spearman: dict[str, float]
    replicates: int
    seed: int
    replicate_scores: np.ndarray
    replicate_nodes: list[str]
    target: float | None = None
    area_labels: dict[str, str] = field(default_factory=dict)

    @property
    def run_id(self) -> int:
        return self.run.run_id


# --------------------------------------------------------------------------------------
# Reading a run
# --------------------------------------------------------------------------------------


def _find_run(session: Session, city: str, run: str | int) -> models.MarkerRun:
    city_row = session.scalar(select(models.City).where(models.City.code == city))
    if city_row is None:
        raise PlanningError(
            _("There is no city '{city}' in the observatory; see 'inclusive-cities info'.").format(
                city=city
            )
        )
    text = str(run).strip()
    query = select(models.MarkerRun).where(models.MarkerRun.city_id == city_row.id)
    if text.isdigit():
        row = session.scalar(query.where(models.MarkerRun.id == int(text)))
    else:
        # a spec code: its published run if there is one, else its latest
        row = session.scalar(
            query.where(models.MarkerRun.spec_code == text).order_by(
                models.MarkerRun.published.desc(), models.MarkerRun.id.desc()
            )
        )
    if row is None:
        known = session.execute(
            query.with_only_columns(models.MarkerRun.id, models.MarkerRun.spec_code).order_by(
                models.MarkerRun.id
            )
        ).all()
        raise PlanningError(
            _(
                "City '{city}' has no marker run '{run}': give a run id or a spec code "
                "({known}), or build one with 'inclusive-cities marker build'."
            ).format(
                city=city,
                run=text,
                known=", ".join(f"{i} {code}" for i, code in known) or "-",
            )
        )
    return row


def _frame(rows: Sequence[Sequence[object]], columns: list[str]) -> pd.DataFrame:
    """A frame from result rows, column by column (building it from Row objects is ~10x
    slower: pandas probes every row's attributes)."""
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(dict(zip(columns, (list(c) for c in zip(*rows, strict=True)), strict=True)))


def _population(
    session: Session, period_id: int, unit_ids: list[int], indicator: str
) -> pd.DataFrame:
    """unit_id -> population, host and refugee-and-migrant residents (NaN when not counted).

    Residents of every nationality but ``host`` are refugees and migrants. Where the store
    has no nationality breakdown, the Venezuelan-origin count stands in for them.
    """
    rows = session.execute(
        select(
            models.Observation.unit_id,
            models.Indicator.code,
            models.Observation.nationality,
            models.Observation.value,
        )
        .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
        .where(
            models.Observation.unit_id.in_(unit_ids),
            models.Observation.period_id == period_id,
            models.Indicator.code.in_([indicator, "venezuelan_population"]),
            models.Observation.sex == models.TOTAL,
            models.Observation.age_group == models.TOTAL,
            models.Observation.status != "suppressed",
            models.Observation.value.is_not(None),
        )
    ).all()
    long = _frame(rows, ["unit_id", "indicator", "nationality", "value"])
    index = pd.Index(unit_ids, name="unit_id")
    own = long[long["indicator"] == indicator]
    total = own[own["nationality"] == models.TOTAL].groupby("unit_id")["value"].sum()
    by_group = own[own["nationality"] != models.TOTAL]
    host = by_group[by_group["nationality"] == "host"].groupby("unit_id")["value"].sum()
    others = by_group[by_group["nationality"] != "host"].groupby("unit_id")["value"].sum()
    venezuelan = long[
        (long["indicator"] == "venezuelan_population") & (long["nationality"] == models.TOTAL)
    ].set_index("unit_id")["value"]
    frame = pd.DataFrame(
        {"population": total, "population_host": host, "population_migrant": others},
        index=index,
    ).reindex(index)
    has_groups = frame["population_host"].notna() | frame["population_migrant"].notna()
    migrant = frame["population_migrant"].where(has_groups, venezuelan.reindex(index))
    frame["population_migrant"] = migrant.where(has_groups | migrant.notna())
    frame.loc[has_groups, "population_migrant"] = frame.loc[
        has_groups, "population_migrant"
    ].fillna(0.0)
    host_fill = frame["population"] - frame["population_migrant"]
    frame["population_host"] = frame["population_host"].fillna(host_fill.clip(lower=0.0))
    frame["population"] = frame["population"].fillna(
        frame["population_host"] + frame["population_migrant"]
    )
    return frame


def _localities(session: Session, city_id: int, unit_ids: list[int]) -> dict[int, str]:
    """unit id -> name (or code) of its top ancestor, the city's coarsest unit holding it."""
    rows = session.execute(
        select(
            models.SpatialUnit.id,
            models.SpatialUnit.parent_id,
            models.SpatialUnit.code,
            models.SpatialUnit.name,
        ).where(models.SpatialUnit.city_id == city_id)
    ).all()
    parent = {row[0]: row[1] for row in rows}
    label = {row[0]: (row[3] or row[2]) for row in rows}
    out: dict[int, str] = {}
    for unit_id in unit_ids:
        current = unit_id
        for _step in range(64):  # a tree is shallow; this bounds a corrupt cycle
            above = parent.get(current)
            if above is None:
                break
            current = above
        out[unit_id] = label[current] if current != unit_id else ""
    return out


def load_run(engine: Engine, city: str, run: str | int) -> RunData:
    """Read a stored run: its spec, unit scores, normalised indicators and population."""
    with transaction(engine) as session:
        row = _find_run(session, city, run)
        parameters: dict[str, Any] = dict(row.parameters or {})
        recipe = parameters.get("spec")
        if not isinstance(recipe, dict):
            raise PlanningError(
                _(
                    "Marker run {run} does not keep its spec, so it cannot be re-aggregated; "
                    "build it again with 'inclusive-cities marker build'."
                ).format(run=row.id)
            )
        spec = MarkerSpec.model_validate(recipe)
        level = session.get(models.UnitLevel, row.level_id) if row.level_id else None
        period = session.get(models.Period, row.period_id)
        long = _frame(
            session.execute(
                select(
                    models.MarkerScore.unit_id,
                    models.MarkerScore.node_code,
                    models.MarkerScore.score,
                ).where(models.MarkerScore.run_id == row.id)
            ).all(),
            ["unit_id", "node", "score"],
        )
        if long.empty:
            raise PlanningError(
                _("Marker run {run} has no scores; build it again.").format(run=row.id)
            )
        named = _frame(
            session.execute(
                select(
                    models.SpatialUnit.id, models.SpatialUnit.code, models.SpatialUnit.name
                ).where(
                    models.SpatialUnit.city_id == row.city_id,
                    models.SpatialUnit.level_id == row.level_id,
                )
            ).all(),
            ["unit_id", "unit_code", "unit_name"],
        )
        named = named[named["unit_id"].isin(set(long["unit_id"]))]
        identity = named.assign(unit_code=named["unit_code"].astype(str)).set_index("unit_code")
        identity = identity.sort_index()
        wide = long.pivot(index="unit_id", columns="node", values="score")
        wide = wide.reindex(identity["unit_id"].to_numpy())
        wide.index = identity.index
        unit_ids = [int(i) for i in identity["unit_id"]]
        population_indicator = str(parameters.get("population_indicator") or "population")
        people = _population(session, row.period_id, unit_ids, population_indicator)
        localities = _localities(session, row.city_id, unit_ids)
        uncertainty = parameters.get("uncertainty") or {}
        units = pd.DataFrame(
            {
                "unit_code": identity.index.astype(str),
                "unit_name": identity["unit_name"].fillna("").astype(str).to_numpy(),
                "locality": [localities[i] for i in unit_ids],
                "population": people["population"].to_numpy(),
                "population_host": people["population_host"].to_numpy(),
                "population_migrant": people["population_migrant"].to_numpy(),
            }
        )
        return RunData(
            run_id=row.id,
            city=city,
            period=period.code if period else "",
            spec=spec,
            level=level.code if level else "",
            units=units,
            normalised=wide.reindex(columns=spec.indicator_codes).astype(float),
            scores=wide.reindex(columns=spec.node_codes).astype(float),
            seed=int(uncertainty.get("seed") or row.seed or 1),
            replicates=int(uncertainty.get("replicates") or DEFAULT_REPLICATES),
            population_indicator=population_indicator,
        )


# --------------------------------------------------------------------------------------
# Re-aggregation and replicates
# --------------------------------------------------------------------------------------


def weighted_spec(spec: MarkerSpec, weights: Mapping[str, float] | None) -> MarkerSpec:
    """The spec with the planner's area weights (areas not given keep the spec's weight)."""
    if not weights:
        return spec
    areas = {child.code for child in spec.tree.components()}
    for code, value in weights.items():
        if code not in areas:
            raise PlanningError(
                _(
                    "'{code}' is not an area of marker {spec}: weigh one of {areas} "
                    "(e.g. --weights VIV=2,SAL=1)."
                ).format(code=code, spec=spec.code, areas=", ".join(sorted(areas)))
            )
        if not np.isfinite(value) or value <= 0:
            raise PlanningError(
                _(
                    "The weight of area {code} must be a number above 0, got {value}; give 0.1 "
                    "to weigh an area very little."
                ).format(code=code, value=value)
            )
    return spec.with_overrides(weights=dict(weights))


def node_scores(run: RunData, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Every node's score per unit, re-aggregated from the stored normalised scores."""
    spec = weighted_spec(run.spec, weights)
    matrix = np.asfortranarray(run.normalised.to_numpy(dtype=float))
    scores, _coverage = aggregate_tree(
        spec, matrix, spec.indicator_codes, spec.defaults.scale.lower, spec.defaults.scale.upper
    )
    return pd.DataFrame(scores, index=run.normalised.index, columns=spec.node_codes)


class _StoredModel(MarkerModel):
    """A MarkerModel whose prepared data are the run's stored normalised scores."""

    def __init__(self, spec: MarkerSpec, run: RunData, nodes: list[str]) -> None:
        data = pd.DataFrame({"unit_code": run.normalised.index})
        super().__init__(
            spec,
            data,
            spec.tree.code,
            id_column="unit_code",
            standard_errors=None,
            error_draws=0,
            seed=run.seed,
            compute_options={},
        )
        self.outputs = nodes
        matrix = np.asfortranarray(run.normalised.to_numpy(dtype=float))
        self._stored = (matrix, np.isnan(matrix).any(axis=0))

    def _prepare(self, scenario: Mapping[str, object]) -> tuple[np.ndarray, np.ndarray]:
        return self._stored


def replicate_scores(
    run: RunData,
    *,
    nodes: list[str] | None = None,
    weights: Mapping[str, float] | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    progress: ProgressCallback = quiet_progress,
) -> tuple[np.ndarray, list[str]]:
    """Scores of ``nodes`` (default: the index and its areas) in each Monte Carlo replicate:
    an array (2N, units, nodes) and the node codes, with N base rows of the run's design.

    The uncertain choices are those of ``marker build --uncertainty``: area and indicator
    weights ±25 %, arithmetic or geometric aggregation, one indicator left out or none.
    """
    spec = weighted_spec(run.spec, weights)
    root = spec.tree.code
    wanted = nodes or [root, *run.areas]
    wanted = [root, *[code for code in wanted if code != root]]
    count = int(replicates or run.replicates)
    if count < 2:
        raise PlanningError(
            _("At least 2 replicates are needed, got {n}; 100 is usual.").format(n=count)
        )
    rng = np.random.default_rng(run.seed if seed is None else seed)
    model = _StoredModel(spec, run, wanted)
    factors = marker_factors(
        spec,
        root,
        weights=0.25,
        normalisation=None,
        aggregation=("arithmetic", "geometric"),
        imputation=None,
        drop_indicator=True,
        error_draws=0,
        has_errors=False,
        pool_size=count,
        rng=rng,
    )
    a, b = base_matrices(count, len(factors), rng, "sobol")
    out = np.empty((2 * count, len(run.normalised), len(wanted)), dtype=np.float32)
    step = _("Scoring the marker's Monte Carlo replicates")
    progress(step, 0, 2 * count)
    for half, design in enumerate((a, b)):
        for row in range(count):
            scenario = {f.name: f.pick(u) for f, u in zip(factors, design[row], strict=True)}
            values = np.asarray(model(scenario), dtype=float)
            out[half * count + row] = values if values.ndim == 2 else values[:, None]
            progress(step, half * count + row + 1, 2 * count)
    return out, wanted


def excluded_ranks(scores: np.ndarray) -> np.ndarray:
    """Ranks along the last axis with 1 = the lowest score (most excluded); ties share the
    lowest rank; a missing score has no rank (NaN)."""
    return rank_descending(-np.asarray(scores, dtype=float))


def top_k_probability(replicate_scores: np.ndarray, k: int) -> np.ndarray:
    """Per unit, the share of replicates (rows) in which it is among the ``k`` lowest scores.

    ``replicate_scores`` is replicates × units. A tie at rank k counts as inside.
    """
    ranks = excluded_ranks(replicate_scores)
    inside = np.where(np.isnan(ranks), 0.0, ranks <= k)
    return inside.mean(axis=0)


# --------------------------------------------------------------------------------------
# Drivers of the gap
# --------------------------------------------------------------------------------------


def _normalised_weights(node: Node, weights: Mapping[str, float]) -> dict[str, float]:
    parts = node.components()
    raw = {part.code: float(weights.get(part.code, part.weight)) for part in parts}
    total = sum(raw.values())
    return {code: value / total for code, value in raw.items()}


def gap_contributions(
    scores: pd.DataFrame,
    spec: MarkerSpec,
    target: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How much each area, and each dimension inside it, adds to a unit's gap.

    The reference is the city's median score of each node (or ``target`` in every node).
    An area's contribution is its share of the root's weight times (reference - unit score),
    renormalised over the areas the unit has, so the areas' contributions add up to the
    unit's gap to the reference profile; a dimension's is its area's share times its own
    share in the area times its own distance. Returns (areas, dimensions) frames.
    """
    reference = (
        scores.median(axis=0, skipna=True)
        if target is None
        else pd.Series(float(target), index=scores.columns)
    )
    root = spec.tree
    weights = {node.code: node.weight for node in spec.nodes()}
    shares = _normalised_weights(root, weights)
    areas = pd.DataFrame(index=scores.index)
    dimensions = pd.DataFrame(index=scores.index)
    present = pd.DataFrame(index=scores.index)
    for part in root.components():
        present[part.code] = scores[part.code].notna() if part.code in scores else False
    weight_present = sum(
        present[code].astype(float) * share for code, share in shares.items()
    ).replace(0.0, np.nan)
    for part in root.components():
        if part.code not in scores:
            continue
        share = shares[part.code] / weight_present
        areas[part.code] = share * (reference[part.code] - scores[part.code])
        if isinstance(part, Node):
            inner = _normalised_weights(part, weights)
            for child in part.components():
                if isinstance(child, Node) and child.code in scores:
                    dimensions[child.code] = (
                        share * inner[child.code] * (reference[child.code] - scores[child.code])
                    )
    return areas, dimensions


def _drivers(areas: pd.DataFrame, dimensions: pd.DataFrame, spec: MarkerSpec) -> list[str]:
    """Per unit: the (up to) two areas adding most to its gap, each with its worst dimension
    (vectorised: a city has thousands of blocks)."""
    language = current_language()
    names = {item.code: item.name.text(language) for item, _d, _p in spec.walk()}
    area_codes = list(areas.columns)
    values = areas.to_numpy(dtype=float)
    positive = np.where(np.isnan(values) | (values <= 0), -np.inf, values)
    order = np.argsort(-positive, axis=1, kind="stable")[:, :2]
    worst: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}
    for area in spec.tree.children:
        inside = [child.code for child in area.children if child.code in dimensions.columns]
        if inside:
            block = dimensions[inside].to_numpy(dtype=float)
            block = np.where(np.isnan(block) | (block <= 0), -np.inf, block)
            worst[area.code] = (np.argmax(block, axis=1), np.max(block, axis=1), inside)
    out: list[str] = []
    for row in range(len(values)):
        parts = []
        for column in order[row]:
            if not np.isfinite(positive[row, column]):
                continue
            code = area_codes[column]
            label = names[code]
            if code in worst:
                position, best, inside = worst[code]
                if np.isfinite(best[row]):
                    label = f"{label}: {names[inside[position[row]]]}"
            parts.append(label)
        out.append("; ".join(parts))
    return out


# --------------------------------------------------------------------------------------
# The ranking and its sensitivity to the planner's weights
# --------------------------------------------------------------------------------------


def weight_sensitivity(
    run: RunData,
    weights: Mapping[str, float] | None,
    spread: float = 0.25,
    draws: int = 200,
    seed: int = 1,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Excluded-rank range of each unit when every area weight moves by up to ±``spread``,
    and the Spearman correlation of each perturbed ranking with the planner's."""
    if not 0 <= spread < 1:
        raise PlanningError(
            _(
                "The weight spread must be at least 0 and below 1 (e.g. 0.25 for ±25 %), got "
                "{value}."
            ).format(value=spread)
        )
    spec = weighted_spec(run.spec, weights)
    root = spec.tree
    base = {part.code: part.weight for part in root.components()}
    matrix = np.asfortranarray(run.normalised.to_numpy(dtype=float))
    codes = spec.indicator_codes
    lo, hi = spec.defaults.scale.lower, spec.defaults.scale.upper
    nominal, _cov = aggregate_tree(spec, matrix, codes, lo, hi)
    base_ranks = excluded_ranks(nominal[:, 0])
    rng = np.random.default_rng(seed)
    factors = rng.uniform(1 - spread, 1 + spread, size=(draws, len(base)))
    all_ranks = np.empty((draws, len(base_ranks)))
    correlations = np.empty(draws)
    for draw in range(draws):
        varied = {code: base[code] * factors[draw, j] for j, code in enumerate(base)}
        tree = root.model_copy(
            update={
                "children": [
                    c.model_copy(update={"weight": varied[c.code]}) for c in root.children
                ],
                "indicators": [
                    i.model_copy(update={"weight": varied[i.code]}) for i in root.indicators
                ],
            }
        )
        values, _cov = aggregate_tree(spec.model_copy(update={"tree": tree}), matrix, codes, lo, hi)
        all_ranks[draw] = excluded_ranks(values[:, 0])
        correlations[draw] = _spearman(base_ranks, all_ranks[draw])
    frame = pd.DataFrame(
        {
            "weight_rank_min": np.nanmin(np.where(np.isnan(all_ranks), np.inf, all_ranks), axis=0),
            "weight_rank_max": np.nanmax(np.where(np.isnan(all_ranks), -np.inf, all_ranks), axis=0),
        },
        index=run.normalised.index,
    ).replace([np.inf, -np.inf], np.nan)
    valid = correlations[~np.isnan(correlations)]
    summary = {
        "median": float(np.median(valid)) if len(valid) else float("nan"),
        "p05": float(np.percentile(valid, 5)) if len(valid) else float("nan"),
        "min": float(valid.min()) if len(valid) else float("nan"),
        "spread": float(spread),
        "draws": float(draws),
    }
    return frame, summary


def _spearman(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman's rho of two rankings (Pearson on ranks; units missing in either dropped)."""
    keep = ~(np.isnan(first) | np.isnan(second))
    if keep.sum() < 3:
        return float("nan")
    a = rank_descending(-first[keep])
    b = rank_descending(-second[keep])
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def prioritise_places(
    engine: Engine,
    city: str,
    run: str | int | RunData,
    *,
    k: int = 10,
    weights: Mapping[str, float] | None = None,
    target: float | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    weight_spread: float = 0.25,
    weight_draws: int = 200,
    progress: ProgressCallback = quiet_progress,
) -> PlacesResult:
    """Rank a run's units from the most excluded, with P(among the k most excluded) over the
    run's Monte Carlo replicates, the drivers of each gap, who lives there, and how much the
    ranking moves when the planner's area weights move by ±``weight_spread``."""
    data = run if isinstance(run, RunData) else load_run(engine, city, run)
    if k < 1:
        raise PlanningError(
            _("k must be at least 1 (how many most-excluded places to count), got {k}.").format(k=k)
        )
    spec = weighted_spec(data.spec, weights)
    root = spec.tree.code
    scores = node_scores(data, weights)
    index_score = scores[root]
    draws, nodes = replicate_scores(
        data, weights=weights, replicates=replicates, seed=seed, progress=progress
    )
    replicate_root = draws[:, :, 0].astype(float)
    replicate_ranks = excluded_ranks(replicate_root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a unit never ranked: NaN
        low, high = np.nanpercentile(replicate_ranks, [5.0, 95.0], axis=0)
    areas, dimensions = gap_contributions(scores, spec, target)
    if weight_draws > 0:
        sensitivity, spearman = weight_sensitivity(
            data, weights, spread=weight_spread, draws=weight_draws, seed=data.seed
        )
    else:  # not asked for (a live re-solve): no ranges
        sensitivity = pd.DataFrame(
            np.nan, index=data.normalised.index, columns=["weight_rank_min", "weight_rank_max"]
        )
        spearman = {
            "median": np.nan,
            "p05": np.nan,
            "min": np.nan,
            "spread": weight_spread,
            "draws": 0.0,
        }
    units = data.units.copy()
    units["score"] = index_score.to_numpy()
    units["excluded_rank"] = excluded_ranks(index_score.to_numpy())
    units["p_top_k"] = top_k_probability(replicate_root, k)
    units["rank_p05"] = np.round(low)
    units["rank_p95"] = np.round(high)
    units["gap"] = areas.sum(axis=1, min_count=1).to_numpy()
    for code in areas.columns:
        units[f"gap_{code}"] = areas[code].to_numpy()
    units["drivers"] = _drivers(areas, dimensions, spec)
    units["need"] = ((spec.defaults.scale.upper - units["score"]) / spec.defaults.scale.upper).clip(
        0.0, 1.0
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        units["migrant_share"] = units["population_migrant"] / units["population"]
    units["weight_rank_min"] = sensitivity["weight_rank_min"].to_numpy()
    units["weight_rank_max"] = sensitivity["weight_rank_max"].to_numpy()
    units = units.sort_values(["excluded_rank", "unit_code"], na_position="last")
    count = int(replicates or data.replicates)
    used = {part.code: float(part.weight) for part in spec.tree.components()}
    return PlacesResult(
        run=data,
        units=units.reset_index(drop=True),
        k=k,
        weights=used,
        spearman=spearman,
        replicates=count,
        seed=data.seed if seed is None else seed,
        replicate_scores=draws,
        replicate_nodes=nodes,
        target=target,
        area_labels={code: data.label(code) for code in data.areas},
    )
