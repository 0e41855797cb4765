"""Load on the deployment layout of docs/deployment.md: 200 clients for 60 s (issue #20).

    .venv/bin/python benchmarks/bench_load.py [--clients 200] [--seconds 60] [--web-workers 2]
        [--demo DIR]

Starts a throwaway PostgreSQL (tests/postgres_cluster.py), loads the small synthetic demo city
into it with the public CLI (``demo load``, ``indicators compute``, ``marker build`` at barrio
level, ``publish --layers``), then ``serve --workers N`` and one ``worker`` — the layout a
public site runs. After warming every URL on every web worker, ``--clients`` asyncio httpx
clients (one connection each) loop for ``--seconds`` over a fixed mix: public pages (home,
city, rankings, map page, methodology), the JSON API (cities, city, units pages, runs) and OGC
API – Features (collections, items pages at random offsets of every published collection).
Any status other than 200, or a transport error, is an error; the run must end with 0 errors.
Prints throughput and p50/p95/p99 latency overall and per group as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.postgres_cluster import ThrowawayPostgres  # noqa: E402

CLI = str(Path(sys.executable).parent / "inclusive-cities")


def cli(url: str, *args: str) -> None:
    subprocess.run([CLI, "--lang", "en", "--database", url, *args], check=True, cwd=ROOT)


def prepare(url: str, demo: Path) -> None:
    """The small demo city, published, through the same commands an analyst runs."""
    if not (demo / "census_persons.csv").exists():
        cli(url, "demo", "generate", "--out", str(demo), "--size", "small")
    cli(url, "demo", "load", str(demo))
    cli(url, "indicators", "compute", "--city", "DEMO", "--period", "2024")
    cli(url, "marker", "build", "--city", "DEMO", "--period", "2024", "--spec", "uim-basic")
    cli(url, "publish", "--city", "DEMO", "--period", "2024", "--layers")


def wait_ready(base: str, process: subprocess.Popen[bytes], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(base + "/ogc", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the web workers did not start")
        time.sleep(0.5)


def url_mix(base: str) -> dict[str, list[str]]:
    """The requests of each group, found from the API as a client would."""
    with httpx.Client(base_url=base, timeout=120) as client:
        units = client.get("/api/cities/DEMO/units", params={"limit": 1}).json()
        total_units = int(units.get("total", units.get("numberMatched", 100)) or 100)
        listed = [c["id"] for c in client.get("/ogc/collections").json()["collections"]]
        collections = listed[:: max(1, len(listed) // 8)][:8]  # 8 layers across the list
        sizes = {
            c: int(
                client.get(f"/ogc/collections/{c}/items", params={"limit": 1})
                .json()
                .get("numberMatched", 0)
            )
            for c in collections
        }
    pages = [
        "/",
        "/cities/DEMO",
        "/cities/DEMO/rankings",
        "/cities/DEMO/map",
        "/methodology",
    ]
    api = ["/api/cities", "/api/cities/DEMO", "/api/runs", "/api/indicators"]
    api += [
        f"/api/cities/DEMO/units?limit=100&offset={offset}"
        for offset in range(0, max(total_units - 100, 1), max(total_units // 10, 100))
    ]
    ogc = ["/ogc/collections"]
    for collection, size in sizes.items():
        step = max(size // 5, 50)
        ogc += [
            f"/ogc/collections/{collection}/items?limit=50&offset={offset}"
            for offset in range(0, max(size - 50, 1), step)
        ]
    return {"pages": pages, "api": api, "ogc": ogc}


async def load(base: str, mix: dict[str, list[str]], clients: int, seconds: float) -> dict:
    groups = [g for g in mix for _ in mix[g]]
    paths = [p for g in mix for p in mix[g]]
    latencies: dict[str, list[float]] = {g: [] for g in mix}
    errors: list[str] = []
    stop = time.monotonic() + seconds

    async def one(seed: int) -> None:
        rng = random.Random(seed)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            while time.monotonic() < stop:
                i = rng.randrange(len(paths))
                started = time.perf_counter()
                try:
                    response = await client.get(paths[i])
                    await response.aread()
                    if response.status_code != 200:
                        errors.append(f"{response.status_code} {paths[i]}")
                        continue
                except httpx.HTTPError as error:
                    errors.append(f"{type(error).__name__} {paths[i]}")
                    continue
                latencies[groups[i]].append(time.perf_counter() - started)

    began = time.monotonic()
    await asyncio.gather(*(one(seed) for seed in range(clients)))
    wall = time.monotonic() - began

    def stats(values: list[float]) -> dict[str, float]:
        values = sorted(values)
        if not values:
            return {"requests": 0}
        pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)  # noqa: E731
        return {
            "requests": len(values),
            "req_per_s": round(len(values) / wall, 1),
            "p50_ms": pick(0.50),
            "p95_ms": pick(0.95),
            "p99_ms": pick(0.99),
        }

    every = [v for values in latencies.values() for v in values]
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "errors": len(errors),
        "first_errors": errors[:10],
        "all": stats(every),
        **{group: stats(values) for group, values in latencies.items()},
        "urls": {group: len(values) for group, values in mix.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--demo", type=Path, help="a 'demo generate --size small' folder")
    parser.add_argument(
        "--database", help="a PostgreSQL already holding the published demo (skips loading it)"
    )
    args = parser.parse_args()
    server = None if args.database else ThrowawayPostgres().start()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if server is None:
            url = args.database
        else:
            url = server.create_database()
            demo = args.demo or Path(tempfile.mkdtemp(prefix="ic-load-demo-"))
            started = time.monotonic()
            prepare(url, demo)
            print(f"demo city loaded and published in {time.monotonic() - started:.0f} s")
        port = 18000 + os.getpid() % 1000
        env = {**os.environ, "INCLUSIVE_CITIES_DATABASE_URL": url}
        web = subprocess.Popen(
            [CLI, "serve", "--workers", str(args.web_workers), "--port", str(port)],
            cwd=ROOT,
            env=env,
        )
        processes.append(web)
        processes.append(subprocess.Popen([CLI, "worker"], cwd=ROOT, env=env))
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, web)
        mix = url_mix(base)
        # every worker builds its caches before the clock starts (as after a deploy's warm-up)
        with httpx.Client(base_url=base, timeout=300) as client:
            for _ in range(args.web_workers * 2):
                for paths in mix.values():
                    for path in paths:
                        client.get(path, headers={"connection": "close"}).raise_for_status()
        result = asyncio.run(load(base, mix, args.clients, args.seconds))
        result["web_workers"] = args.web_workers
        result["job_workers"] = 1
        print(json.dumps(result, indent=2))
        if result["errors"]:
            raise SystemExit(f"{result['errors']} errors under load")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
