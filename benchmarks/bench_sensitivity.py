"""Marker sensitivity: 1,000 replicates × 10,000 units, ours against a naive recompute loop.

The spec has 40 indicators (5 areas × 3 dimensions, goalposts 0–100) and the data 10,000
units with 2 % of values missing. Five uncertain choices: weights ±25 %, normalisation
(goalposts | minmax), aggregation (arithmetic | geometric), imputation (mean | median)
and leaving one indicator out (or none); ``--with-errors`` adds measurement error
(standard errors of 3 points on every value). With N = 1,000 base replicates the
Saltelli design has N·(d + 2) = 7,000 runs.

Ours: ``inclusive_cities.marker.sensitivity.sensitivity`` (data side computed once per
normalisation × imputation × error draw, aggregation redone per run, runs split over the
available cores). Baseline: what one would write first, a loop that for every run
builds the spec with ``with_overrides``, calls the full ``compute`` and ranks with pandas,
then takes per-unit quantiles with pandas. The baseline is timed on the first
``--baseline-replicates`` base rows and scaled to the full design (its cost per run is
flat); its scores are checked against ours on those rows.

    .venv/bin/python benchmarks/bench_sensitivity.py --repeat 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import numpy as np
import pandas as pd

from inclusive_cities.marker import compute
from inclusive_cities.marker.sensitivity import (
    MarkerModel,
    available_cores,
    base_matrices,
    marker_factors,
    saltelli_design,
    sensitivity,
)
from inclusive_cities.marker.spec import MarkerSpec

AREAS, DIMENSIONS, INDICATORS = 5, 3, 40


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the forked workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def make_spec() -> MarkerSpec:
    def label(text: str) -> dict[str, str]:
        return {"es": text, "en": text}

    per_dimension = np.array_split(np.arange(INDICATORS), AREAS * DIMENSIONS)
    areas = []
    for a in range(AREAS):
        dimensions = []
        for d in range(DIMENSIONS):
            codes = per_dimension[a * DIMENSIONS + d]
            dimensions.append(
                {
                    "code": f"D{a}{d}",
                    "name": label(f"D{a}{d}"),
                    "indicators": [
                        {
                            "code": f"i{k}",
                            "name": label(f"i{k}"),
                            "direction": "lower_is_better" if k % 4 == 0 else "higher_is_better",
                            "normalisation": {"lower": 0, "upper": 100, "source": "bench"},
                        }
                        for k in codes
                    ],
                }
            )
        areas.append({"code": f"A{a}", "name": label(f"A{a}"), "children": dimensions})
    tree = {"code": "UIM", "name": label("UIM"), "children": areas}
    return MarkerSpec.model_validate({"code": "bench", "name": label("Bench"), "tree": tree})


def make_data(units: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    latent = rng.normal(0, 1, (units, 1))  # units differ for real, so ranks mean something
    # Indicators differ in level and spread, so observed min-max differs from the goalposts.
    centre = rng.uniform(30, 70, INDICATORS)
    spread = rng.uniform(5, 20, INDICATORS)
    noise = rng.normal(0, 1, (units, INDICATORS))
    values = np.clip(centre + spread * (0.7 * latent + 0.7 * noise), 0, 100)
    values[rng.random(values.shape) < 0.02] = np.nan
    codes = [f"i{k}" for k in range(INDICATORS)]
    data = pd.DataFrame(values, columns=codes)
    data.insert(0, "unit_code", [f"u{i:05d}" for i in range(units)])
    errors = data.copy()
    errors[codes] = 3.0
    return data, errors


OPTIONS = {
    "weights": 0.25,
    "normalisation": ("goalposts", "minmax"),
    "aggregation": ("arithmetic", "geometric"),
    "imputation": ("mean", "median"),
    "drop_indicator": True,
}


def naive(
    spec: MarkerSpec, data: pd.DataFrame, errors: pd.DataFrame | None, replicates: int, rows: int
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Recompute everything for every run of the first ``rows`` base rows (same design)."""
    rng = np.random.default_rng(1)
    model = MarkerModel(
        spec,
        data,
        "UIM",
        id_column="unit_code",
        standard_errors=errors,
        error_draws=32,
        seed=1,
        compute_options={},
    )
    factors = marker_factors(
        spec,
        "UIM",
        **OPTIONS,  # type: ignore[arg-type]
        error_draws=32,
        has_errors=errors is not None,
        pool_size=replicates,
        rng=rng,
    )
    a, b = base_matrices(replicates, len(factors), rng)
    design = saltelli_design(a, b)[:rows]
    nominal = compute(spec, data).score
    nominal_rank = nominal.rank(method="min", ascending=False)
    scores, ranks, shifts = {}, {}, []
    for j in range(rows):
        for k in range(design.shape[1]):
            scenario = {f.name: f.pick(u) for f, u in zip(factors, design[j, k], strict=True)}
            variant_spec, variant_data = model.variant(scenario)
            score = compute(variant_spec, variant_data).score
            rank = score.rank(method="min", ascending=False)
            shifts.append((rank - nominal_rank).abs().mean())
            if k < 2:
                scores[(j, k)] = score
                ranks[(j, k)] = rank
    score_table = pd.DataFrame(scores)
    pd.DataFrame(ranks).quantile([0.05, 0.5, 0.95], axis=1)
    score_table.quantile([0.05, 0.5, 0.95], axis=1)
    return score_table, np.asarray(shifts), rows * design.shape[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-replicates", type=int, default=40)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--with-errors", action="store_true")
    args = parser.parse_args()
    spec = make_spec()
    data, errors = make_data(args.units)
    se = errors if args.with_errors else None
    workers = args.workers or available_cores()
    print(
        f"{args.units:,} units × {INDICATORS} indicators, {args.replicates:,} replicates, "
        f"{workers} worker(s), measurement error: {'yes' if se is not None else 'no'}"
    )

    ours_times, ours_cpu = [], []
    for _ in range(args.repeat):
        start, cpu_start = time.perf_counter(), cpu_seconds()
        result = sensitivity(
            spec,
            data,
            **OPTIONS,  # type: ignore[arg-type]
            standard_errors=se,
            replicates=args.replicates,
            seed=1,
            n_bootstrap=1000,
            workers=workers,
        )
        ours_times.append(time.perf_counter() - start)
        ours_cpu.append(cpu_seconds() - cpu_start)
    runs = len(result.runs)
    ours_peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ours_peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ours = statistics.median(ours_times)

    naive_times, naive_cpu = [], []
    for _ in range(max(1, min(args.repeat, 3))):
        start, cpu_start = time.perf_counter(), cpu_seconds()
        _table, shifts, naive_runs = naive(
            spec, data, se, args.replicates, args.baseline_replicates
        )
        naive_times.append((time.perf_counter() - start) / naive_runs)
        naive_cpu.append((cpu_seconds() - cpu_start) / naive_runs)
    per_run = statistics.median(naive_times)
    naive_total = per_run * runs
    naive_cpu_total = statistics.median(naive_cpu) * runs

    # Same numbers: the baseline's A-run scores and rank shifts match ours on its rows.
    ours_a = sensitivity(
        spec,
        data,
        **OPTIONS,  # type: ignore[arg-type]
        standard_errors=se,
        replicates=args.replicates,
        seed=1,
        n_bootstrap=0,
        workers=workers,
    ).runs
    ours_shift = ours_a["mean_abs_rank_shift"].to_numpy()[: len(shifts)]
    assert np.allclose(ours_shift, shifts, rtol=0, atol=1e-9), "baseline and ours disagree"

    print(f"design: {runs:,} runs ({args.replicates:,} × (d + 2), d = {len(result.factors)})")
    print(
        f"ours:     median wall {ours:6.1f} s, CPU {statistics.median(ours_cpu):6.1f} s "
        f"(walls: {', '.join(f'{t:.1f}' for t in sorted(ours_times))})"
    )
    print(
        f"baseline: median {per_run * 1000:6.2f} ms/run × {runs:,} runs = "
        f"wall {naive_total:6.1f} s, CPU {naive_cpu_total:6.1f} s "
        f"(timed on {args.baseline_replicates} base rows = {len(shifts)} runs)"
    )
    print(
        f"ratio baseline / ours: wall {naive_total / ours:.1f}×, CPU "
        f"{naive_cpu_total / statistics.median(ours_cpu):.1f}×"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print(
        f"peak RSS of ours: parent {ours_peak_self:.0f} MB, "
        f"largest worker {ours_peak_children:.0f} MB"
    )
    print(result.indices.frame.round(3).to_string())


if __name__ == "__main__":
    main()
