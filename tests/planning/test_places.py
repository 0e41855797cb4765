"""Prioritising places: ranks, P(top-k) from the run's replicates, drivers, people, weights."""

from __future__ import annotations

import numpy as np
import pytest

from inclusive_cities.marker.sensitivity import rank_descending
from inclusive_cities.planning import (
    PlanningError,
    load_run,
    prioritise_places,
    replicate_scores,
    top_k_probability,
)
from inclusive_cities.store import models, transaction
from tests.planning.city import PEOPLE, VALUES, TinyCity, build_city


@pytest.fixture(scope="module")
def city() -> TinyCity:
    return build_city("sqlite://")


def _area_scores() -> dict[str, tuple[float, float]]:
    """Housing (AA) and health (BB) of each barrio, by hand from the indicator values."""
    return {code: ((a1 + a2) / 2, (b1 + b2) / 2) for code, (a1, a2, b1, b2) in VALUES.items()}


def test_top_k_probability_on_a_hand_built_case() -> None:
    # 4 replicates x 3 units; lower score = more excluded
    scores = np.array(
        [
            [10.0, 20.0, 30.0],  # excluded ranks 1, 2, 3
            [25.0, 20.0, 30.0],  # 2, 1, 3
            [40.0, 35.0, 30.0],  # 3, 2, 1
            [10.0, 10.0, 30.0],  # tie: 1, 1, 3
        ]
    )
    assert top_k_probability(scores, 1).tolist() == [0.5, 0.5, 0.25]
    assert top_k_probability(scores, 2).tolist() == [0.75, 1.0, 0.25]
    assert top_k_probability(scores, 3).tolist() == [1.0, 1.0, 1.0]
    with_missing = np.array([[np.nan, 1.0], [2.0, 1.0]])
    assert top_k_probability(with_missing, 1).tolist() == [0.0, 1.0]


def test_regenerated_replicates_give_the_run_s_stored_rank_intervals(city: TinyCity) -> None:
    """marker build --uncertainty kept each unit's 5-95 % rank; the regenerated replicates
    (same design, same seed) must give exactly those numbers."""
    run = load_run(city.engine, "TINY", city.run_id)
    assert run.replicates == 16 and run.seed == 3
    draws, nodes = replicate_scores(run)
    assert nodes == ["IDX", "AA", "BB"]
    assert draws.shape == (32, 8, 3)
    best = rank_descending(draws[:, :, 0].astype(float))
    low, high = np.percentile(best, [5, 95], axis=0)
    with transaction(city.engine) as session:
        stored = session.get(models.MarkerRun, city.run_id).parameters["rank_intervals"]  # type: ignore[union-attr]
    regenerated = {
        code: [round(float(a)), round(float(b))]
        for code, a, b in zip(run.normalised.index, low, high, strict=True)
    }
    assert regenerated == stored


def test_ranks_gaps_and_people_by_hand(city: TinyCity) -> None:
    places = prioritise_places(city.engine, "TINY", str(city.run_id), k=2)
    units = places.units.set_index("unit_code")
    areas = _area_scores()
    index = {code: (h + s) / 2 for code, (h, s) in areas.items()}
    order = sorted(index, key=index.get)  # type: ignore[arg-type]
    assert list(units.index) == order  # most excluded first
    assert units.loc["0203", "excluded_rank"] == 1 and units.loc["0204", "excluded_rank"] == 8
    for code, value in index.items():
        assert units.loc[code, "score"] == pytest.approx(value)
        assert units.loc[code, "need"] == pytest.approx((100 - value) / 100)
    # reference profile: the city's median of each area (housing 50, health 57.5)
    housing_median = float(np.median([h for h, _s in areas.values()]))
    health_median = float(np.median([s for _h, s in areas.values()]))
    assert (housing_median, health_median) == (50.0, 57.5)
    for code, (housing, health) in areas.items():
        assert units.loc[code, "gap_AA"] == pytest.approx(0.5 * (housing_median - housing))
        assert units.loc[code, "gap_BB"] == pytest.approx(0.5 * (health_median - health))
        assert units.loc[code, "gap"] == pytest.approx(
            (housing_median + health_median) / 2 - index[code]
        )
        host, venezuelan, other = PEOPLE[code]
        assert units.loc[code, "population_host"] == host
        assert units.loc[code, "population_migrant"] == venezuelan + other
        assert units.loc[code, "population"] == host + venezuelan + other
    # 0201: housing 15 drives its gap (health is above the median), through its only dimension
    assert units.loc["0201", "drivers"] == "Housing: Services"
    assert units.loc["0203", "drivers"] == "Health; Housing: Services"
    assert units.loc["0101", "locality"] == "Norte" and units.loc["0203", "locality"] == "Sur"
    # 0203 scores 30 whatever the choices (all its values are 30) and 0101 at most ~40 (its
    # best case leaves a1 out); 0102 and 0204 never drop below 60: they are never in the top 2
    assert units.loc["0102", "p_top_k"] == 0.0 and units.loc["0204", "p_top_k"] == 0.0
    assert units.loc["0203", "p_top_k"] > 0.5 and units.loc["0101", "p_top_k"] > 0.5
    assert units["p_top_k"].sum() == pytest.approx(2.0)  # two places per replicate (no ties)


def test_planner_weights_re_aggregate_and_target_level(city: TinyCity) -> None:
    places = prioritise_places(
        city.engine, "TINY", city.run_id, k=3, weights={"AA": 4.0}, target=60.0, weight_draws=20
    )
    units = places.units.set_index("unit_code")
    for code, (housing, health) in _area_scores().items():
        assert units.loc[code, "score"] == pytest.approx((4 * housing + health) / 5)
        assert units.loc[code, "gap_AA"] == pytest.approx(0.8 * (60 - housing))
        assert units.loc[code, "gap_BB"] == pytest.approx(0.2 * (60 - health))
    assert places.weights == {"AA": 4.0, "BB": 1.0}
    # with housing weighing 4, 0201 (28) passes 0101 (29) and 0203 (30): the most excluded
    assert units["excluded_rank"].idxmin() == "0201"


def test_weight_sensitivity_is_shown(city: TinyCity) -> None:
    fixed = prioritise_places(city.engine, "TINY", city.run_id, weight_spread=0.0, weight_draws=5)
    assert fixed.spearman["min"] == pytest.approx(1.0)
    assert (fixed.units["weight_rank_min"] == fixed.units["excluded_rank"]).all()
    assert (fixed.units["weight_rank_max"] == fixed.units["excluded_rank"]).all()
    moved = prioritise_places(city.engine, "TINY", city.run_id, weight_spread=0.9, weight_draws=50)
    units = moved.units.set_index("unit_code")
    # 0202 (housing 90, health 20) and 0201 (15, 80) swing with the balance of the two areas
    assert units.loc["0202", "weight_rank_max"] - units.loc["0202", "weight_rank_min"] >= 2
    assert moved.spearman["min"] < 1.0
    # 0203 scores 30 in both areas; only 0101 (25, 45), 0201 (15, 80) and 0202 (90, 20) have
    # an area below 30 and can pass below it: 0203 ranks 1 to 4, and 1 near equal weights
    assert units.loc["0203", "weight_rank_min"] == 1
    assert units.loc["0203", "weight_rank_max"] <= 4
    assert units.loc["0104", "weight_rank_min"] >= 4  # (50, 80): never below those four


def test_run_by_spec_code_and_errors(city: TinyCity) -> None:
    assert load_run(city.engine, "TINY", "tiny-plan").run_id == city.run_id
    with pytest.raises(PlanningError, match="has no marker run '999'"):
        load_run(city.engine, "TINY", 999)
    with pytest.raises(PlanningError, match="no city 'NOPE'"):
        load_run(city.engine, "NOPE", 1)
    with pytest.raises(PlanningError, match="'VIV' is not an area of marker tiny-plan"):
        prioritise_places(city.engine, "TINY", city.run_id, weights={"VIV": 2.0})
    with pytest.raises(PlanningError, match="must be a number above 0"):
        prioritise_places(city.engine, "TINY", city.run_id, weights={"AA": -1.0})
