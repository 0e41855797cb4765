"""Accessibility: 100k block polygons × 10k facilities of 5 types, KD-tree vs sjoin_nearest.

Ours: ``inclusive_cities.spatial.accessibility`` (population-weighted centroids, one
``cKDTree`` per facility type, thresholds and population-weighted summary). Baseline:
GeoPandas ``sjoin_nearest`` per type (an STRtree nearest join, what one would write with
GeoPandas alone) on the same centroids. Distances are checked equal. Usage:
    .venv/bin/python benchmarks/bench_accessibility.py [--units 100000] [--facilities 10000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import geopandas as gpd
import numpy as np
import shapely

from inclusive_cities.spatial import accessibility

TYPES = ("health", "education", "commerce", "transport", "public_space")
CRS = "EPSG:32618"


def city(units: int, facilities: int, seed: int = 0) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(units)))
    i = np.arange(units)
    x0, y0 = 500_000 + (i % side) * 100.0, 870_000 + (i // side) * 100.0
    blocks = shapely.box(x0, y0, x0 + 90, y0 + 90)
    frame = gpd.GeoDataFrame({"population": rng.integers(0, 400, units)}, geometry=blocks, crs=CRS)
    extent = side * 100.0
    points = shapely.points(
        500_000 + rng.random(facilities) * extent, 870_000 + rng.random(facilities) * extent
    )
    kinds = rng.choice(TYPES, facilities)
    return frame, gpd.GeoDataFrame({"type": kinds}, geometry=points, crs=CRS)


def ours(units: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame):
    thresholds = {kind: [500, 1000] for kind in TYPES}
    return accessibility(units, facilities, thresholds=thresholds)


def baseline(units: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame):
    centroids = gpd.GeoDataFrame(geometry=units.geometry.centroid, crs=CRS)
    out = {}
    for kind in TYPES:
        chosen = facilities[facilities["type"] == kind]
        joined = gpd.sjoin_nearest(centroids, chosen, distance_col="d")
        out[kind] = joined.groupby(level=0)["d"].min().reindex(units.index).to_numpy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--facilities", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    units, facilities = city(args.units, args.facilities)
    times: dict[str, list[float]] = {"ours": [], "sjoin_nearest": []}
    for _ in range(args.repeat):
        start = time.perf_counter()
        mine = ours(units, facilities)
        times["ours"].append(time.perf_counter() - start)
        start = time.perf_counter()
        theirs = baseline(units, facilities)
        times["sjoin_nearest"].append(time.perf_counter() - start)
    for kind in TYPES:
        assert np.allclose(mine[f"dist_m_{kind}"].to_numpy(), theirs[kind]), kind
    print(
        f"{args.units:,} units × {args.facilities:,} facilities ({len(TYPES)} types), "
        f"{args.repeat} runs; distances identical"
    )
    for name, values in times.items():
        print(f"{name:14} median {statistics.median(values):.3f} s (min {min(values):.3f})")
    ratio = statistics.median(times["sjoin_nearest"]) / statistics.median(times["ours"])
    print(f"sjoin_nearest / ours = {ratio:.1f}x; target ours < 5 s")


if __name__ == "__main__":
    main()
