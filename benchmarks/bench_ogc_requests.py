"""Per-request cost of the OGC API on a store with many published layers (issue #21).

    .venv/bin/python benchmarks/bench_ogc_requests.py \
        --database sqlite:///demo-data/observatory.db [--requests 300] [--rounds 3] \
        [--collection ID] [--data-dir DIR] [--before OLD/src --before-data-dir DIR2]

A page of items is an array slice once the layer is cached, so what is left per request is
finding the collection, and for the collection list its documents (titles, links, extents).
This counts the SQL statements one request sends and times requests in-process (no network,
one thread): wall time and CPU time (user+system of the process), for the collection list, one
collection and a 100-feature page of the largest layer (``--collection`` names it and skips the
search, which reads every layer once). ``--before`` runs the same measurement with another
checkout's code; each side runs in its own process, and ``--rounds`` alternates them (after
first in odd rounds, before first in even ones); medians over rounds are printed. Give each
side its own ``--data-dir`` copy: disclosure control's stored protection is keyed by the code's
fingerprints, and one side's file would otherwise replace the other's (a solve per start).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("collections", "one collection", "items, 100 features")


def measure(database: str, requests: int, collection: str | None) -> dict[str, object]:
    """Statement count and median/p95 wall time and CPU per request, after one warm-up each."""
    from fastapi.testclient import TestClient
    from sqlalchemy import Engine, event

    from inclusive_cities.web.app import create_app

    statements = [0]

    def count(*_args: object, **_kwargs: object) -> None:
        statements[0] += 1

    event.listen(Engine, "before_cursor_execute", count)
    out: dict[str, object] = {}
    with TestClient(create_app(database)) as client:
        listing = client.get("/ogc/collections").json()["collections"]
        ids = [c["id"] for c in listing]
        out["count"] = len(ids)
        if collection is None:
            sizes = {}
            for cid in ids:
                page = client.get(f"/ogc/collections/{cid}/items?limit=1").json()
                sizes[cid] = page["numberMatched"]
            collection = max(sizes, key=lambda c: sizes[c])
        matched = client.get(f"/ogc/collections/{collection}/items?limit=1").json()
        out["largest"] = f"{collection} ({matched['numberMatched']} features)"
        paths = {
            "collections": "/ogc/collections",
            "one collection": f"/ogc/collections/{collection}",
            "items, 100 features": f"/ogc/collections/{collection}/items?limit=100&offset=100",
        }
        for name, path in paths.items():
            client.get(path).raise_for_status()
            statements[0] = 0
            client.get(path)
            queries = statements[0]
            times, cpu = [], []
            for _ in range(requests):
                start, start_cpu = time.perf_counter(), time.process_time()
                client.get(path)
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            times.sort()
            out[name] = {
                "queries": queries,
                "median_ms": round(statistics.median(times) * 1000, 2),
                "p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 2),
                "cpu_ms": round(statistics.median(cpu) * 1000, 2),
                "req_per_s": round(1 / statistics.median(times), 1),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--collection", help="the layer whose items are paged (default: largest)")
    parser.add_argument("--data-dir", help="data folder of this side (INCLUSIVE_CITIES_DATA_DIR)")
    parser.add_argument("--before", help="src folder of another checkout to compare with")
    parser.add_argument("--before-data-dir", help="data folder of the before side")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.database, args.requests, args.collection)))
        return
    sides = {"after": (str(ROOT / "src"), args.data_dir)}
    if args.before:
        sides = {"before": (args.before, args.before_data_dir), **sides}
    results: dict[str, list[dict[str, object]]] = {side: [] for side in sides}
    for round_ in range(args.rounds):
        order = list(sides) if round_ % 2 else list(reversed(sides))
        for side in order:
            src, data_dir = sides[side]
            env = {**os.environ, "PYTHONPATH": src}
            if data_dir:
                env["INCLUSIVE_CITIES_DATA_DIR"] = data_dir
            command = [sys.executable, __file__, "--json", "--database", args.database]
            command += ["--requests", str(args.requests)]
            if args.collection:
                command += ["--collection", args.collection]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            results[side].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"round {round_ + 1}, {side}: {results[side][-1]}", file=sys.stderr, flush=True)
    first = results["after"][0]
    print(f"{first['count']} published collections; paged: {first['largest']}")
    print(f"rounds={args.rounds} requests={args.requests} load average={os.getloadavg()[0]:.1f}")
    header = " | ".join(f"{side}: queries, median / p95 ms, CPU ms, req/s" for side in results)
    print(f"| request | {header} |" + (" speed-up (wall, CPU) |" if "before" in results else ""))

    def med(side: str, name: str, key: str) -> float:
        return statistics.median(float(r[name][key]) for r in results[side])  # type: ignore[index]

    for name in CASES:
        cells = []
        for side in results:
            queries = results[side][-1][name]["queries"]  # type: ignore[index]
            cells.append(
                f"{queries}, {med(side, name, 'median_ms'):.1f} / {med(side, name, 'p95_ms'):.1f}, "
                f"{med(side, name, 'cpu_ms'):.1f}, {1000 / med(side, name, 'median_ms'):.1f}"
            )
        ratio = ""
        if "before" in results:
            wall = med("before", name, "median_ms") / med("after", name, "median_ms")
            cpu = med("before", name, "cpu_ms") / max(0.01, med("after", name, "cpu_ms"))
            ratio = f" {wall:.1f}×, {cpu:.1f}× |"
        print(f"| {name} | " + " | ".join(cells) + " |" + ratio)


if __name__ == "__main__":
    main()
