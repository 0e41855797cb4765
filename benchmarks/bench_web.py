"""Web under load: OGC API items and the map layer endpoint, beside pygeoapi on the same layer.

    .venv/bin/python benchmarks/bench_web.py [--units 20000] [--concurrency 16]
        [--seconds 10] [--workers 2]

Builds a grid city of ``--units`` square blocks with a published five-area marker run in a
temporary SQLite observatory, serves it with ``inclusive-cities``' app under uvicorn, exports
the same layer to a GeoPackage and serves that with pygeoapi (SQLiteGPKG provider, needs
mod_spatialite; skipped with a message when pygeoapi or the extension is missing). Both run
with the same number of uvicorn workers on loopback; an asyncio client keeps
``--concurrency`` requests in flight for ``--seconds`` per case and reports throughput and
p50/p95 latency. Requests: items pages of 100 features at random offsets, and the whole
layer (our map endpoint at zoom 12 vs pygeoapi items with a limit covering every feature).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pyogrio
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inclusive_cities.store import init_database, models, transaction  # noqa: E402

NODES = ["UIM", "VIV", "SAL", "EDU", "EPUB", "OPO"]
LEVELS = (
    (80, "very_solid"),
    (70, "solid"),
    (60, "moderately_solid"),
    (50, "moderately_weak"),
    (40, "weak"),
    (0, "very_weak"),
)


def build(url: str, units: int) -> None:
    """A square grid of blocks 0.001° wide, 100 per locality, with a published run."""
    rng = np.random.default_rng(0)
    side = int(np.ceil(np.sqrt(units)))
    engine = init_database(url)
    with transaction(engine) as s:
        city = models.City(code="BENCH", name="Bench city", is_synthetic=True)
        s.add(city)
        s.flush()
        loc_level = models.UnitLevel(city_id=city.id, code="loc", depth=0)
        block_level = models.UnitLevel(city_id=city.id, code="block", depth=1)
        period = models.Period(code="2024")
        s.add_all([loc_level, block_level, period])
        s.flush()
        localities = []
        for k in range((units + 99) // 100):
            loc = models.SpatialUnit(city_id=city.id, level_id=loc_level.id, code=f"L{k:05d}")
            localities.append(loc)
        s.add_all(localities)
        s.flush()
        rows = []
        for i in range(units):
            x, y = -72.6 + 0.001 * (i % side), 7.8 + 0.001 * (i // side)
            geom = shapely.Polygon(
                [
                    (x, y),
                    (x + 0.001, y),
                    (x + 0.0011, y + 0.0005),
                    (x + 0.001, y + 0.001),
                    (x, y + 0.001),
                ]
            )
            rows.append(
                dict(
                    city_id=city.id,
                    level_id=block_level.id,
                    code=f"{i:09d}",
                    name=f"Block {i}",
                    parent_id=localities[i // 100].id,
                    geometry=shapely.to_wkb(geom),
                    min_x=x,
                    min_y=y,
                    max_x=x + 0.0011,
                    max_y=y + 0.001,
                )
            )
        s.execute(models.SpatialUnit.__table__.insert(), rows)
        run = models.MarkerRun(
            city_id=city.id,
            period_id=period.id,
            level_id=block_level.id,
            spec_code="bench",
            spec_hash="0" * 64,
            input_hash="0" * 64,
            software_version="bench",
            published=True,
        )
        s.add(run)
        s.flush()
        ids = [
            u
            for (u,) in s.execute(
                models.SpatialUnit.__table__.select()
                .with_only_columns(models.SpatialUnit.id)
                .where(models.SpatialUnit.level_id == block_level.id)
            )
        ]
        scores = []
        root = rng.uniform(30, 90, len(ids))
        order = np.argsort(-root)
        rank = np.empty(len(ids), dtype=int)
        rank[order] = np.arange(1, len(ids) + 1)
        for j, unit_id in enumerate(ids):
            for n, node in enumerate(NODES):
                value = float(root[j] if n == 0 else np.clip(root[j] + rng.normal(0, 8), 0, 100))
                level = next(code for low, code in LEVELS if value >= low)
                scores.append(
                    dict(
                        run_id=run.id,
                        unit_id=unit_id,
                        node_code=node,
                        score=value,
                        level=level,
                        rank=int(rank[j]) if n == 0 else None,
                    )
                )
        s.execute(models.MarkerScore.__table__.insert(), scores)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(args: list[str], env: dict[str, str], probe: str, cwd: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            *args,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + probe, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(process.stderr.read().decode()[-2000:] if process.stderr else "")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # still busy with a huge response: stop it hard
            process.kill()
            process.wait(timeout=20)


async def load(urls: list[str], concurrency: int, seconds: float) -> dict[str, float]:
    """Keep ``concurrency`` requests in flight for ``seconds``; throughput and latencies."""
    latencies: list[float] = []
    errors = 0
    stop = 0.0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # identity: compare serving, not compression (pygeoapi does not compress by default)
    headers = {"accept-encoding": "identity"}
    async with httpx.AsyncClient(timeout=120, limits=limits, headers=headers) as client:
        # warm the caches of every worker: concurrent requests spread over the connections
        warm = (urls * concurrency)[: max(concurrency, len(urls[:concurrency]))]
        for _round in range(20):  # until every worker answers quickly (caches built)
            began_round = time.perf_counter()
            answers = await asyncio.gather(
                *(client.get(url) for url in warm), return_exceptions=True
            )
            ok = all(getattr(a, "status_code", 0) == 200 for a in answers)
            if ok and time.perf_counter() - began_round < 5:
                break

        async def worker(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while time.perf_counter() < stop:
                url = rng.choice(urls)
                start = time.perf_counter()
                try:
                    response = await client.get(url)
                    await response.aread()
                except httpx.HTTPError:  # a dropped connection counts as a failed request
                    errors += 1
                    continue
                if response.status_code != 200:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        stop = began + seconds  # the window starts after the warm-up
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - began
    values = np.array(latencies or [float("nan")]) * 1000
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50": float(np.percentile(values, 50)),
        "p95": float(np.percentile(values, 95)),
    }


PATCH = "import sys, pysqlite3\nsys.modules['sqlite3'] = pysqlite3\n"


def pygeoapi_config(folder: Path, gpkg: Path, layer: str, units: int) -> Path:
    config = folder / "pygeoapi.yml"
    config.write_text(
        f"""server:
  bind: {{host: 127.0.0.1, port: 5000}}
  url: http://127.0.0.1:5000
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 10, max_items: {units + 10}}}
  map:
    url: "http://127.0.0.1/{{z}}/{{x}}/{{y}}.png"
    attribution: none
logging: {{level: ERROR}}
metadata:
  identification:
    title: bench
    description: bench
    keywords: [bench]
    keywords_type: theme
    terms_of_service: none
    url: http://example.org
  license: {{name: CC-BY 4.0, url: https://creativecommons.org/licenses/by/4.0/}}
  provider: {{name: bench, url: http://example.org}}
  contact: {{name: bench}}
resources:
  {layer}:
    type: collection
    title: bench
    description: bench
    keywords: [bench]
    extents:
      spatial: {{bbox: [-180, -90, 180, 90], crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84}}
    providers:
      - type: feature
        name: SQLiteGPKG
        data: {gpkg}
        id_field: fid
        table: {layer}
""",
        encoding="utf-8",
    )
    return config


def report(name: str, ours: dict[str, float], theirs: dict[str, float] | None) -> str:
    line = f"| {name} | {ours['rps']:.0f} | {ours['p50']:.0f} | {ours['p95']:.0f} | "
    if theirs is None:
        return line + "– | – | – | – |"
    ratio = ours["rps"] / theirs["rps"] if theirs["rps"] else float("inf")
    return (
        line + f"{theirs['rps']:.0f} | {theirs['p50']:.0f} | {theirs['p95']:.0f} | {ratio:.1f}× |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-web-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    started = time.perf_counter()
    build(url, args.units)
    print(f"built {args.units} units in {time.perf_counter() - started:.1f} s")
    workers = ["--workers", str(args.workers), "--timeout-worker-healthcheck", "300"]
    env = {"INCLUSIVE_CITIES_DATABASE_URL": url}
    layer = "bench-bench-2024"
    gpkg = folder / "layer.gpkg"
    results: dict[str, dict[str, dict[str, float] | None]] = {}
    with serve(
        ["--factory", "inclusive_cities.web.app:create_app", *workers], env, "/ogc", ROOT
    ) as base:
        download = folder / "download.gpkg"
        download.write_bytes(httpx.get(f"{base}/downloads/{layer}.gpkg", timeout=600).content)
        # the same features, under a table name pygeoapi's SQL can use unquoted
        pyogrio.write_dataframe(
            pyogrio.read_dataframe(download, layer=layer), gpkg, layer="bench", driver="GPKG"
        )
        pages = [
            f"{base}/ogc/collections/{layer}/items?limit=100&offset={o}"
            for o in range(0, args.units - 100, max(1, args.units // 200))
        ]
        whole = [f"{base}/api/cities/BENCH/map?layer=node:UIM&zoom=12"]
        results["items"] = {"ours": asyncio.run(load(pages, args.concurrency, args.seconds))}
        print("ours, items:", results["items"]["ours"], flush=True)
        results["layer"] = {
            "ours": asyncio.run(load(whole, min(4, args.concurrency), args.seconds))
        }
        print("ours, whole layer:", results["layer"]["ours"], flush=True)
    try:
        import pygeoapi  # noqa: F401
        import pysqlite3  # noqa: F401

        have_pygeoapi = True
    except ImportError:
        have_pygeoapi = False
    if have_pygeoapi:
        config = pygeoapi_config(folder, gpkg, "bench", args.units)
        openapi = folder / "openapi.yml"
        penv = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
        # pygeoapi's GeoPackage provider loads mod_spatialite; this Python's sqlite3 cannot
        # load extensions, so pygeoapi runs on pysqlite3 (same SQLite API, extensions on).
        (folder / "pygeoapi_app.py").write_text(PATCH + "from pygeoapi.starlette_app import APP\n")
        subprocess.run(
            [
                sys.executable,
                "-c",
                PATCH + "from pygeoapi.__init__ import cli; cli()",
                "openapi",
                "generate",
                str(config),
                "--output-file",
                str(openapi),
            ],
            env={**os.environ, **penv},
            check=True,
            capture_output=True,
        )
        try:
            with serve(
                ["pygeoapi_app:APP", *workers], penv, "/collections/bench/items?limit=1", folder
            ) as base:
                pages = [
                    f"{base}/collections/bench/items?f=json&limit=100&offset={o}"
                    for o in range(0, args.units - 100, max(1, args.units // 200))
                ]
                whole = [f"{base}/collections/bench/items?f=json&limit={args.units}"]
                results["items"]["pygeoapi"] = asyncio.run(
                    load(pages, args.concurrency, args.seconds)
                )
                print("pygeoapi, items:", results["items"]["pygeoapi"], flush=True)
                if args.units <= 20000:  # beyond that pygeoapi cannot answer in the window
                    results["layer"]["pygeoapi"] = asyncio.run(
                        load(whole, min(4, args.concurrency), args.seconds)
                    )
                    print("pygeoapi, whole layer:", results["layer"]["pygeoapi"], flush=True)
        except RuntimeError as error:
            print("pygeoapi did not start:", str(error).strip().splitlines()[-1:])
    else:
        print("pygeoapi or pysqlite3 is not installed in this venv: only our figures are printed")
    print(
        f"\nunits={args.units} workers={args.workers} concurrency={args.concurrency} "
        f"(whole-layer case: {min(4, args.concurrency)}) seconds={args.seconds}"
    )
    print(
        "| case | ours req/s | ours p50 ms | ours p95 ms | pygeoapi req/s | pygeoapi p50 ms "
        "| pygeoapi p95 ms | throughput ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        report(
            "items, 100 features/page", results["items"]["ours"], results["items"].get("pygeoapi")
        )
    )
    print(
        report(
            "whole layer (map endpoint vs items)",
            results["layer"]["ours"],
            results["layer"].get("pygeoapi"),
        )
    )
    for case in results.values():
        for side, figures in case.items():
            if figures and figures["errors"]:
                print(f"warning: {side} returned {figures['errors']} non-200 responses")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
