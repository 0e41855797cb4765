"""Project selection: re-solve time of 500 candidate projects over 5,000 units (issue #16),
against the greedy benefit/cost rule on the large case and brute force on small ones.

A re-solve is what the planner page does when a slider moves: re-aggregate the index with new
area weights, price every project's benefit (need × beneficiaries × effect), solve the integer
program (HiGHS) and the greedy beside it. The instance is synthetic and seeded: 5,000 units
with host and refugee-and-migrant residents and four indicators in two areas, 500 projects in
20 localities, each reaching 10-120 units, 6 types, a few dependencies and exclusions, a
minimum per locality, minimum shares of benefit and caps per type.

Run: .venv/bin/python benchmarks/bench_planning.py --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from inclusive_cities.marker import parse_spec
from inclusive_cities.planning import (
    BenefitModel,
    Constraints,
    RunData,
    budget_curve,
    greedy,
    node_scores,
    select_projects,
)
from inclusive_cities.planning.projects import PROJECT_TYPES

SPEC = """
code: bench
name: {es: Banco, en: Bench}
tree:
  code: IDX
  name: {es: Índice, en: Index}
  children:
    - code: AA
      name: {es: A, en: A}
      indicators:
        - {code: a1, name: {es: a1, en: a1}, direction: higher_is_better,
           normalisation: {lower: 0, upper: 100}}
        - {code: a2, name: {es: a2, en: a2}, direction: higher_is_better,
           normalisation: {lower: 0, upper: 100}}
    - code: BB
      name: {es: B, en: B}
      indicators:
        - {code: b1, name: {es: b1, en: b1}, direction: higher_is_better,
           normalisation: {lower: 0, upper: 100}}
        - {code: b2, name: {es: b2, en: b2}, direction: higher_is_better,
           normalisation: {lower: 0, upper: 100}}
"""


def synthetic_run(units: int, rng: np.random.Generator) -> RunData:
    spec = parse_spec(SPEC)
    codes = [f"U{i:05d}" for i in range(units)]
    normalised = pd.DataFrame(
        rng.uniform(10, 95, size=(units, 4)), index=pd.Index(codes), columns=spec.indicator_codes
    )
    host = rng.integers(200, 3000, units).astype(float)
    migrant = np.round(host * rng.uniform(0.02, 0.6, units))
    frame = pd.DataFrame(
        {
            "unit_code": codes,
            "unit_name": codes,
            "locality": [f"L{i % 20:02d}" for i in range(units)],
            "population": host + migrant,
            "population_host": host,
            "population_migrant": migrant,
        }
    )
    run = RunData(
        run_id=1, city="BENCH", period="2024", spec=spec, level="unit", units=frame,
        normalised=normalised, scores=pd.DataFrame(), seed=1, replicates=50,
    )  # fmt: skip
    run.scores = node_scores(run)
    return run


def synthetic_projects(count: int, units: int, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for i in range(count):
        first = int(rng.integers(0, units - 120))
        reach = {f"U{j:05d}": 1.0 for j in range(first, first + int(rng.integers(10, 120)))}
        rows.append(
            {
                "code": f"P{i:03d}",
                "name": f"Project {i}",
                "type": PROJECT_TYPES[i % len(PROJECT_TYPES)],
                "cost": float(rng.integers(50, 900) * 1000),
                "locality": f"L{int(first / units * 20):02d}",
                "funder": "",
                "targets": [["AA"], ["BB"], ["a1"], []][i % 4],
                "effect": float(rng.uniform(0.05, 0.25)),
                "depends_on": [f"P{i - 1:03d}"] if i % 50 == 1 else [],
                "excludes": [f"P{i + 1:03d}"] if i % 70 == 3 else [],
                "beneficiary_units": reach,
                "level": "unit",
            }
        )
    return pd.DataFrame(rows)


def benefits_frame(model: BenefitModel, run: RunData, weights: dict[str, float]) -> pd.DataFrame:
    scores = node_scores(run, weights)
    host, migrant = model.benefits({c: scores[c].to_numpy() for c in scores.columns})
    frame = model.projects[
        ["code", "name", "type", "locality", "funder", "cost", "effect", "depends_on", "excludes"]
    ].copy()
    frame["benefit_host"] = host
    frame["benefit_migrant"] = migrant
    frame["benefit"] = host + migrant
    frame["benefit_per_million"] = frame["benefit"] / frame["cost"] * 1e6
    return frame


def brute_force(frame: pd.DataFrame, budget: float) -> float:
    """Best benefit over all subsets within the budget (n <= 20), in chunks of subsets."""
    n = len(frame)
    cost = frame["cost"].to_numpy()
    benefit = frame["benefit"].to_numpy()
    best = 0.0
    for start in range(0, 2**n, 1 << 16):
        ids = np.arange(start, min(start + (1 << 16), 2**n))
        masks = ((ids[:, None] >> np.arange(n)) & 1).astype(float)
        ok = masks @ cost <= budget
        if ok.any():
            best = max(best, float((masks[ok] @ benefit).max()))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--units", type=int, default=5000)
    args = parser.parse_args()
    rng = np.random.default_rng(16)
    run = synthetic_run(args.units, rng)
    projects = synthetic_projects(args.projects, args.units, rng)
    started = time.perf_counter()
    model = BenefitModel(projects, run)
    took = time.perf_counter() - started
    print(f"benefit model (reach matrix), once per projects file: {took:.3f} s")
    constraints = Constraints(
        budget=25_000_000,
        min_per_locality={"*": 300_000},
        min_migrant_share=0.2,
        min_host_share=0.5,
        max_per_type={"housing": 20, "centre": 10},
    )
    resolve, ilp, greedy_times, gaps = [], [], [], []
    for r in range(args.repeat):
        weights = {"AA": float(rng.uniform(0.5, 2)), "BB": float(rng.uniform(0.5, 2))}
        budget = float(rng.uniform(15e6, 35e6))
        varied = Constraints(**{**constraints.as_dict(), "budget": budget})
        started = time.perf_counter()
        frame = benefits_frame(model, run, weights)
        selection = select_projects(frame, varied)
        resolve.append(time.perf_counter() - started)
        ilp.append(selection.seconds)
        started = time.perf_counter()
        greedy(frame, varied)
        greedy_times.append(time.perf_counter() - started)
        gaps.append(selection.gap)
        misses = "; ".join(selection.greedy_violations)
        print(
            f"run {r}: re-solve {resolve[-1]:.3f} s (program {selection.seconds:.3f} s), greedy "
            f"{greedy_times[-1]:.4f} s, {len(selection.chosen)} projects, gap {selection.gap:.2%}"
            + (f" (greedy misses: {misses})" if misses else "")
        )
    median = statistics.median
    print(
        f"{args.projects} projects x {args.units} units: re-solve median {median(resolve):.3f} s "
        f"(max {max(resolve):.3f} s), integer program median {median(ilp):.3f} s, "
        f"greedy median {median(greedy_times):.4f} s, gap median {median(gaps):.2%}"
    )
    frame = benefits_frame(model, run, {"AA": 1.0, "BB": 1.0})
    started = time.perf_counter()
    budget_curve(frame, constraints)
    print(f"budget curve (11 budgets): {time.perf_counter() - started:.3f} s")
    for n in (12, 16, 20):
        small = benefits_frame(model, run, {"AA": 1.0, "BB": 1.0}).head(n).copy()
        small["depends_on"] = [[] for _ in range(n)]
        small["excludes"] = [[] for _ in range(n)]
        small["locality"] = ""
        budget = float(small["cost"].sum() / 3)
        started = time.perf_counter()
        exact = select_projects(small, Constraints(budget=budget))
        ours = time.perf_counter() - started
        started = time.perf_counter()
        best = brute_force(small, budget)
        brute = time.perf_counter() - started
        assert abs(best - exact.benefit) <= 1e-6 * max(best, 1.0), (best, exact.benefit)
        print(
            f"n={n}: integer program {ours:.3f} s, brute force over {2**n:,} subsets "
            f"{brute:.3f} s, same optimum {exact.benefit:.1f}, greedy gap {exact.gap:.2%}"
        )


if __name__ == "__main__":
    main()
