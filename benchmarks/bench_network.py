"""Network accessibility: distances along the streets to 5 facility types, pandana vs networkx.

Two networks: the medium demo city's streets (``inclusive_cities.demo`` geography, ~14k
edges; units are its ~4,500 blocks) and a synthetic jittered street grid of ~100k edges
(20,000 unit points). Each case times, per backend of
``inclusive_cities.spatial.network``: preparing the engine's graph once (networkx graph;
pandana contraction hierarchies) and answering the 5 facility types (one
``nearest_networkx`` / ``nearest_pandana`` call each). Distances are checked equal up to
pandana's millimetre truncation of each edge. The process's resident memory growth while
preparing is reported too. Usage:
    .venv/bin/python benchmarks/bench_network.py [--cases demo,grid] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from inclusive_cities.demo.geography import build_geography
from inclusive_cities.demo.sizes import size_spec
from inclusive_cities.spatial.network import (
    StreetGraph,
    build_graph,
    nearest_networkx,
    nearest_pandana,
)

CRS = "EPSG:32618"
TYPES = 5
PER_TYPE = 60


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def demo_case() -> tuple[gpd.GeoDataFrame, np.ndarray]:
    geo = build_geography(
        size_spec("medium"), np.random.default_rng(np.random.SeedSequence([0, 1]))
    )
    streets = gpd.GeoDataFrame(geometry=gpd.GeoSeries(geo.street_geoms, crs=CRS))
    return streets, np.c_[geo.block_x, geo.block_y]


def grid_case(side: int = 224, units: int = 20_000) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    xs, ys = np.meshgrid(np.arange(side) * 90.0, np.arange(side) * 90.0)
    points = np.c_[xs.ravel(), ys.ravel()] + rng.normal(0, 12, (side * side, 2))
    index = np.arange(side * side).reshape(side, side)
    pairs = np.r_[
        np.c_[index[:, :-1].ravel(), index[:, 1:].ravel()],
        np.c_[index[:-1, :].ravel(), index[1:, :].ravel()],
    ]
    lines = shapely.linestrings(points[pairs])
    streets = gpd.GeoDataFrame(geometry=gpd.GeoSeries(lines, crs=CRS))
    streets.attrs["noded"] = True  # the grid shares its vertices, like OSM ways
    origins = rng.random((units, 2)) * (side - 1) * 90.0
    return streets, origins


def facilities(graph: StreetGraph, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    tree = cKDTree(graph.nodes)
    low, high = graph.nodes.min(axis=0), graph.nodes.max(axis=0)
    out = []
    for _kind in range(TYPES):
        points = low + rng.random((PER_TYPE, 2)) * (high - low)
        gap, node = tree.query(points)
        out.append((node, gap))
    return out


def run(
    graph: StreetGraph, kinds, origins: np.ndarray, backend: str
) -> tuple[float, float, float, list]:
    graph._engines.clear()
    before = rss_mb()
    started = time.perf_counter()
    graph.networkx() if backend == "networkx" else graph.pandana()
    prepared = time.perf_counter()
    nearest = nearest_networkx if backend == "networkx" else nearest_pandana
    results = [nearest(graph, node, gap)[origins] for node, gap in kinds]
    done = time.perf_counter()
    return prepared - started, done - prepared, rss_mb() - before, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="demo,grid")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = {"demo": demo_case, "grid": grid_case}
    for name in args.cases.split(","):
        streets, points = cases[name]()
        graph = build_graph(streets)
        origins = cKDTree(graph.nodes).query(points)[1]
        kinds = facilities(graph, 11)
        print(
            f"{name}: {len(graph.nodes):,} nodes, {len(graph.source):,} edges, "
            f"{len(points):,} units, {TYPES} types × {PER_TYPE} facilities"
        )
        timings: dict[str, list[tuple[float, float, float]]] = {"networkx": [], "pandana": []}
        answers = {}
        for _ in range(args.repeat):
            for backend in timings:
                prepare, query, memory, answers[backend] = run(graph, kinds, origins, backend)
                timings[backend].append((prepare, query, memory))
        worst = 0.0
        for a, b in zip(answers["networkx"], answers["pandana"], strict=True):
            # pandana truncates each edge to whole millimetres: never longer, barely shorter
            assert np.array_equal(np.isnan(a), np.isnan(b))
            assert np.nanmax(b - a) < 1e-3
            worst = max(worst, float(np.nanmax(a - b)))
        medians = {}
        for backend, rows in timings.items():
            prepare, query, memory = (statistics.median(col) for col in zip(*rows, strict=True))
            medians[backend] = prepare + query
            print(
                f"  {backend:8s} prepare {prepare:7.2f} s  {TYPES} types {query:6.2f} s  "
                f"total {prepare + query:7.2f} s  memory +{memory:5.0f} MB"
            )
        print(f"  pandana / networkx total: {medians['pandana'] / medians['networkx']:.1f}×")
        print(f"  largest difference: pandana {100 * worst:.1f} cm shorter")


if __name__ == "__main__":
    main()
