"""Benchmark the marker engine: full ``compute`` vs a plain pandas version vs a NumPy floor.

    .venv/bin/python benchmarks/bench_marker.py                  # 1,000,000 units
    .venv/bin/python benchmarks/bench_marker.py --units 100000   # quick run

Synthetic table: N units × 40 indicators in 15 dimensions under 5 areas (goalposts 0–100,
every third indicator lower-is-better, no missing values so that the three versions do the
same arithmetic). All three give the same index (checked before timing).

- engine: ``compute(spec, frame)`` then ``result.to_frame()`` (scores of every node, root
  rank and level: what ``marker compute`` writes).
- pandas: a straightforward tidy implementation: melt to a long table, merge the indicator
  metadata, normalise, then ``groupby`` per tree level for the weighted means.
- numpy floor: the minimum arithmetic on a ready float matrix: normalise + weighted mean
  per node, nothing else (no checks, no coverage, no ranks).

Timings are medians of ``--repeats`` rounds in which the versions run in turn (so that the
load of a shared machine hits them alike); peak memory is measured in separate runs with
``tracemalloc`` (NumPy and pandas buffers are traced) and compared with the input matrix
(N × 40 float64).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pandas as pd

from inclusive_cities.marker import MarkerSpec, compute

AREAS = 5
DIMENSIONS = 15
INDICATORS = 40


def layout() -> list[tuple[str, str, list[str]]]:
    """(area, dimension, indicator codes): 40 indicators over 15 dimensions, 3 per area."""
    sizes = [3] * 10 + [2] * 5  # 40 indicators
    rows, k = [], 0
    for d in range(DIMENSIONS):
        codes = [f"i{k + j:02d}" for j in range(sizes[d])]
        k += sizes[d]
        rows.append((f"A{d // 3}", f"D{d:02d}", codes))
    return rows


def make_spec() -> MarkerSpec:
    areas: dict[str, list[dict]] = {}
    for area, dimension, codes in layout():
        indicators = [
            {
                "code": code,
                "name": {"es": code, "en": code},
                "direction": "lower_is_better" if int(code[1:]) % 3 == 2 else "higher_is_better",
                "weight": 1 + int(code[1:]) % 2,
                "normalisation": {"lower": 0, "upper": 100, "source": "benchmark"},
            }
            for code in codes
        ]
        areas.setdefault(area, []).append(
            {
                "code": dimension,
                "name": {"es": dimension, "en": dimension},
                "indicators": indicators,
            }
        )
    tree = {
        "code": "IDX",
        "name": {"es": "Índice", "en": "Index"},
        "children": [
            {"code": a, "name": {"es": a, "en": a}, "children": dims} for a, dims in areas.items()
        ],
    }
    return MarkerSpec.model_validate(
        {"code": "bench", "name": {"es": "Bench", "en": "Bench"}, "tree": tree}
    )


def make_frame(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    matrix = rng.uniform(-5, 105, size=(n, INDICATORS))
    columns = {"unit_code": np.arange(n, dtype=np.int64)}
    columns.update({f"i{j:02d}": matrix[:, j] for j in range(INDICATORS)})
    return pd.DataFrame(columns)


def engine_version(spec: MarkerSpec, frame: pd.DataFrame) -> pd.Series:
    table = compute(spec, frame).to_frame()
    return pd.Series(table["IDX"].to_numpy(), index=table["unit_code"].to_numpy())


def metadata(spec: MarkerSpec) -> pd.DataFrame:
    parents = spec.parents()
    rows = []
    for indicator in spec.indicators():
        rows.append(
            {
                "indicator": indicator.code,
                "dimension": parents[indicator.code],
                "area": parents[parents[indicator.code]],
                "weight": indicator.weight,
                "lower": indicator.normalisation.lower,
                "upper": indicator.normalisation.upper,
                "reverse": indicator.direction == "lower_is_better",
            }
        )
    return pd.DataFrame(rows)


def pandas_version(spec: MarkerSpec, frame: pd.DataFrame) -> pd.Series:
    """Tidy pandas: long table, merge metadata, normalise, groupby per level."""
    meta = metadata(spec)
    long = frame.melt(id_vars="unit_code", var_name="indicator", value_name="value")
    long = long.merge(meta, on="indicator", how="left")
    scaled = (long["value"] - long["lower"]) / (long["upper"] - long["lower"]) * 100
    long["score"] = scaled.where(~long["reverse"], 100 - scaled).clip(0, 100)
    long["weighted"] = long["score"] * long["weight"]
    dims = long.groupby(["unit_code", "dimension"], sort=False).agg(
        weighted=("weighted", "sum"), weight=("weight", "sum"), area=("area", "first")
    )
    dims["score"] = dims["weighted"] / dims["weight"]
    areas = dims.groupby(["unit_code", "area"], sort=False)["score"].mean()
    return areas.groupby(level="unit_code", sort=False).mean()


def numpy_floor(spec: MarkerSpec, matrix: np.ndarray) -> np.ndarray:
    """Normalise + weighted mean per node on a ready matrix; nothing else."""
    meta = metadata(spec)
    lower = meta["lower"].to_numpy()
    upper = meta["upper"].to_numpy()
    reverse = meta["reverse"].to_numpy()
    scaled = (matrix - lower) * (100 / (upper - lower))
    scaled[:, reverse] = 100 - scaled[:, reverse]
    np.clip(scaled, 0, 100, out=scaled)
    weights = meta["weight"].to_numpy(float)
    dims: dict[str, np.ndarray] = {}
    for dimension, group in meta.groupby("dimension", sort=False):
        idx = group.index.to_numpy()
        dims[dimension] = scaled[:, idx] @ weights[idx] / weights[idx].sum()
    area_of = meta.groupby("dimension", sort=False)["area"].first()
    areas = [
        np.mean([dims[d] for d in group.index], axis=0)
        for _a, group in area_of.groupby(area_of, sort=False)
    ]
    return np.mean(areas, axis=0)


def interleaved_medians(
    runs: dict[str, tuple[Callable[[], object], int]], repeats: int
) -> dict[str, float]:
    """Median time of each version, running the versions in turn in every round, so that a
    shared machine's changing load hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(repeats):
        for name, (function, wanted) in runs.items():
            if round_ >= wanted:
                continue
            gc.collect()
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def peak_memory(function: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    function()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pandas-repeats", type=int, default=3)
    args = parser.parse_args(argv)

    spec = make_spec()
    frame = make_frame(args.units)
    codes = spec.indicator_codes
    matrix = np.asfortranarray(frame[codes].to_numpy())
    input_bytes = args.units * INDICATORS * 8
    print(
        f"units {args.units:,} × indicators {INDICATORS} ({AREAS} areas, {DIMENSIONS} "
        f"dimensions); input matrix {input_bytes / 2**20:,.0f} MiB"
    )

    reference = numpy_floor(spec, matrix)
    engine_scores = engine_version(spec, frame).to_numpy()
    np.testing.assert_allclose(engine_scores, reference, rtol=1e-10)
    pandas_scores = pandas_version(spec, frame).reindex(frame["unit_code"]).to_numpy()
    np.testing.assert_allclose(pandas_scores, reference, rtol=1e-10)
    print("all three versions give the same index")

    runs = {
        "engine compute + to_frame": (lambda: engine_version(spec, frame), args.repeats),
        "engine compute only": (lambda: compute(spec, frame), args.repeats),
        "pandas (melt + groupby)": (lambda: pandas_version(spec, frame), args.pandas_repeats),
        "numpy floor": (lambda: numpy_floor(spec, matrix), args.repeats),
    }
    times = interleaved_medians(runs, max(args.repeats, args.pandas_repeats))
    peaks = {name: peak_memory(fn) for name, (fn, _r) in runs.items()}
    print(f"{'version':28} {'median s':>9} {'peak MiB':>9} {'peak/input':>10}")
    for name in runs:
        print(
            f"{name:28} {times[name]:9.3f} {peaks[name] / 2**20:9.0f} "
            f"{peaks[name] / input_bytes:10.2f}"
        )
    engine = times["engine compute + to_frame"]
    print(f"pandas / engine      = {times['pandas (melt + groupby)'] / engine:6.1f}×  (target ≥ 5)")
    print(f"engine / numpy floor = {engine / times['numpy floor']:6.2f}×  (target ≤ 2)")
    print(
        f"engine peak / input  = {peaks['engine compute + to_frame'] / input_bytes:6.2f}×  "
        "(target ≤ 3)"
    )


if __name__ == "__main__":
    main()
