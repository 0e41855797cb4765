"""Per-request cost of the OGC API on a store with many published layers (issue #21).

    .venv/bin/python benchmarks/bench_ogc_requests.py \
        --database sqlite:///demo-data/observatory.db [--requests 300] [--before OLD/src]

A page of items is an array slice once the layer is cached, so what is left per request is
finding the collection: listing every published collection (marker runs, indicator layers at
each level, analysis layers). This counts the SQL statements one request sends and times
requests in-process (no network, one thread), for the collection list, one collection and a
100-feature page of the largest layer. ``--before`` runs the same measurement with another
checkout's code in a child process, so both sides run on the same store in one go.
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


def measure(database: str, requests: int) -> dict[str, object]:
    """Statement count and median/p95 wall time per request, after one warm-up each."""
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
        sizes = {}
        for cid in ids:
            sizes[cid] = client.get(f"/ogc/collections/{cid}/items?limit=1").json()["numberMatched"]
        largest = max(sizes, key=lambda c: sizes[c])
        out["largest"] = f"{largest} ({sizes[largest]} features)"
        paths = {
            "collections": "/ogc/collections",
            "one collection": f"/ogc/collections/{largest}",
            "items, 100 features": f"/ogc/collections/{largest}/items?limit=100&offset=100",
        }
        for name, path in paths.items():
            client.get(path).raise_for_status()
            statements[0] = 0
            client.get(path)
            queries = statements[0]
            times = []
            for _ in range(requests):
                start = time.perf_counter()
                client.get(path)
                times.append(time.perf_counter() - start)
            times.sort()
            out[name] = {
                "queries": queries,
                "median_ms": round(statistics.median(times) * 1000, 2),
                "p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 2),
                "req_per_s": round(1 / statistics.median(times), 1),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--before", help="src folder of another checkout to compare with")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.database, args.requests)))
        return
    sides = {"after": str(ROOT / "src")}
    if args.before:
        sides = {"before": args.before, **sides}
    results = {}
    for side, src in sides.items():
        env = {**os.environ, "PYTHONPATH": src}
        command = [sys.executable, __file__, "--json", "--database", args.database]
        command += ["--requests", str(args.requests)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        results[side] = json.loads(done.stdout.strip().splitlines()[-1])
    first = next(iter(results.values()))
    print(f"{first['count']} published collections; largest: {first['largest']}")
    header = " | ".join(f"{side}: queries, median / p95 ms, req/s" for side in results)
    print(f"| request | {header} |")
    for name in ("collections", "one collection", "items, 100 features"):
        cells = []
        for side in results:
            r = results[side][name]
            cells.append(f"{r['queries']}, {r['median_ms']} / {r['p95_ms']}, {r['req_per_s']}")
        ratio = ""
        if "before" in results:
            before = results["before"][name]["median_ms"]
            ratio = f" | {before / results['after'][name]['median_ms']:.1f}×"
        print(f"| {name} | " + " | ".join(cells) + ratio + " |")


if __name__ == "__main__":
    main()
