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

    .venv/bin/python benchmarks/bench_web.py --demo /tmp/dv3/demo [--work /tmp/bench-web-demo]
        [--rounds 3] [--seconds 10] [--concurrency 16] [--workers 2] [--cases items,collections]

The fair mode (issue #21): a COPY of a demo store (every published layer, 135 collections on
the medium demo) served by our app, and the very same collections (their OGC items, written
one GeoPackage per collection, with the extents we publish) served by pygeoapi, both
running at once with the same number of workers. Rounds alternate the two servers (ours first
in odd rounds, pygeoapi first in even ones) under the same client and concurrency, for two
cases: 100-feature pages of the largest block layer, and ``/collections``. Each side's medians
over rounds are printed with the ratio, and the servers' CPU time (user+system of every worker
process) per request, which a shared machine disturbs less than throughput.

pygeoapi never enters the project's environment: the script creates its own venv
(``benchmarks/.venv-pygeoapi``: pygeoapi 0.21, starlette, uvicorn, pysqlite3-binary) on first
use. The GeoPackage provider needs mod_spatialite (Debian: ``apt-get install
libsqlite3-mod-spatialite``). ``--work`` keeps the copy between runs: disclosure control's
protection of the city, solved on the first request (minutes on the medium demo), is stored
in the copy's data folder under the store's URL and read back by later runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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
def serve(
    args: list[str], env: dict[str, str], probe: str, cwd: Path, python: str = sys.executable
) -> Iterator[str]:
    with serve_process(args, env, probe, cwd, python) as (base, _process):
        yield base


@contextmanager
def serve_process(
    args: list[str], env: dict[str, str], probe: str, cwd: Path, python: str = sys.executable
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A uvicorn server on a free loopback port, once ``probe`` answers 200."""
    port = free_port()
    process = subprocess.Popen(
        [
            python,
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
        deadline = time.monotonic() + 1800  # a first request may solve disclosure control
        while True:
            try:
                if httpx.get(base + probe, timeout=1800).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(process.stderr.read().decode()[-2000:] if process.stderr else "")
            time.sleep(0.2)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # still busy with a huge response: stop it hard
            process.kill()
            process.wait(timeout=20)


async def load(
    urls: list[str], concurrency: int, seconds: float, on_start: Callable[[], None] | None = None
) -> dict[str, float]:
    """Keep ``concurrency`` requests in flight for ``seconds``; throughput and latencies.
    ``on_start`` is called when the window begins, after the warm-up."""
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

        if on_start is not None:
            on_start()
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
PYGEOAPI_VENV = ROOT / "benchmarks" / ".venv-pygeoapi"
PYGEOAPI_PACKAGES = ["pygeoapi==0.21.0", "starlette", "uvicorn", "pysqlite3-binary"]


def pygeoapi_python() -> str | None:
    """The benchmark's own Python with pygeoapi (created with pip on first use), or None."""
    python = PYGEOAPI_VENV / "bin" / "python"
    check = [str(python), "-c", PATCH + "import pygeoapi, starlette, uvicorn"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python)
    print(f"creating {PYGEOAPI_VENV} with {' '.join(PYGEOAPI_PACKAGES)} ...", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(PYGEOAPI_VENV)], check=True)
    (PYGEOAPI_VENV / ".gitignore").write_text("*\n", encoding="utf-8")  # never committed
    pip = [str(python), "-m", "pip", "install", "-q", *PYGEOAPI_PACKAGES]
    if subprocess.run(pip).returncode != 0 or subprocess.run(check).returncode != 0:
        return None
    return str(python)


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and all its descendants (uvicorn's workers), from /proc."""
    total = 0.0
    pending = [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


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


def demo_pygeoapi_config(
    folder: Path, layers: Path, tables: dict[str, tuple[str, list[float]]], max_items: int
) -> Path:
    """One pygeoapi resource per collection (table name -> (our id, our published bbox)), each
    in its own GeoPackage: with all tables in one file, the provider's AutoGPKGStart writes a
    virtual table for every table of the file on every connection (minutes per request)."""
    resources = []
    for table, (cid, bbox) in tables.items():
        resources.append(
            f"""  {table}:
    type: collection
    title: {cid}
    description: {cid}
    keywords: [demo]
    extents:
      spatial: {{bbox: {list(bbox)}, crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84}}
    providers:
      - type: feature
        name: SQLiteGPKG
        data: {layers / f"{table}.gpkg"}
        id_field: fid
        table: {table}
"""
        )
    config = pygeoapi_config(folder, layers, "unused", max_items)
    text = config.read_text(encoding="utf-8")
    text = text[: text.index("resources:")] + "resources:\n" + "".join(resources)
    config.write_text(text, encoding="utf-8")
    return config


def export_collections(base: str, layers: Path) -> tuple[dict[str, tuple[str, list[float]]], str]:
    """Every collection we serve, written as one GeoPackage each (c000.gpkg, ...) from our own
    OGC items; returns the tables and the id of the largest layer."""
    import geopandas as gpd

    listing = httpx.get(f"{base}/ogc/collections", timeout=1800).json()["collections"]
    tables: dict[str, tuple[str, list[float]]] = {}
    sizes: dict[str, int] = {}
    for i, doc in enumerate(listing):
        cid = doc["id"]
        body = httpx.get(f"{base}/ogc/collections/{cid}/items?limit=10000", timeout=1800).json()
        features = body["features"]
        sizes[cid] = len(features)
        if not features:
            continue
        frame = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
        frame.insert(0, "feature_id", [str(f["id"]) for f in features])
        frame = frame.rename(columns=lambda c: c if c == "geometry" else c.replace("-", "_"))
        table = f"c{i:03d}"
        layers.mkdir(parents=True, exist_ok=True)
        pyogrio.write_dataframe(frame, layers / f"{table}.gpkg", layer=table, driver="GPKG")
        bbox = doc.get("extent", {}).get("spatial", {}).get("bbox", [[-180, -90, 180, 90]])[0]
        tables[table] = (cid, bbox)
    return tables, max(sizes, key=lambda c: sizes[c])


def demo_mode(args: argparse.Namespace) -> None:
    """Our server and pygeoapi on every published layer of a demo store, alternated."""
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench-web-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    source = Path(args.demo)
    if not (work / "observatory.db").exists():
        shutil.copyfile(source / "observatory.db", work / "observatory.db")
        if (source / "observatory-data").exists():
            shutil.copytree(source / "observatory-data", work / "observatory-data")
    url = f"sqlite:///{work / 'observatory.db'}"
    init_database(url).dispose()  # a demo built by an older version: its schema upgraded
    env = {
        "INCLUSIVE_CITIES_DATABASE_URL": url,
        "INCLUSIVE_CITIES_DATA_DIR": str(work / "observatory-data"),
    }
    workers = ["--workers", str(args.workers), "--timeout-worker-healthcheck", "1800"]
    python = pygeoapi_python()
    if python is None:
        raise SystemExit("pygeoapi could not be installed in its own venv: see the pip output")
    layers = work / "layers"
    started = time.perf_counter()
    with serve_process(
        ["--factory", "inclusive_cities.web.app:create_app", *workers], env, "/ogc", ROOT
    ) as (ours, our_process):
        if not (work / "tables.json").exists():
            shutil.rmtree(layers, ignore_errors=True)
            tables, largest = export_collections(ours, layers)
            (work / "tables.json").write_text(json.dumps([tables, largest]), encoding="utf-8")
        else:
            tables, largest = json.loads((work / "tables.json").read_text(encoding="utf-8"))
        print(
            f"{len(tables)} collections with features; largest {largest}; "
            f"ready in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        table_of = {cid: table for table, (cid, _bbox) in tables.items()}
        size = httpx.get(f"{ours}/ogc/collections/{largest}/items?limit=1", timeout=1800).json()[
            "numberMatched"
        ]
        config = demo_pygeoapi_config(work, layers, tables, size + 10)
        openapi = work / "openapi.yml"
        penv = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
        (work / "pygeoapi_app.py").write_text(PATCH + "from pygeoapi.starlette_app import APP\n")
        subprocess.run(
            [
                python,
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
        theirs_table = table_of[largest]
        with serve_process(
            ["pygeoapi_app:APP", *workers],
            penv,
            f"/collections/{theirs_table}/items?f=json&limit=1",
            work,
            python,
        ) as (theirs, their_process):
            offsets = range(0, max(1, size - 100), max(1, size // 200))
            cases = {
                "items, 100 features/page": {
                    "ours": [
                        f"{ours}/ogc/collections/{largest}/items?limit=100&offset={o}"
                        for o in offsets
                    ],
                    "pygeoapi": [
                        f"{theirs}/collections/{theirs_table}/items?f=json&limit=100&offset={o}"
                        for o in offsets
                    ],
                },
                "/collections": {
                    "ours": [f"{ours}/ogc/collections"],
                    "pygeoapi": [f"{theirs}/collections?f=json"],
                },
            }
            wanted = {"items": "items, 100 features/page", "collections": "/collections"}
            chosen = {wanted[c.strip()] for c in args.cases.split(",")}
            cases = {case: urls for case, urls in cases.items() if case in chosen}
            processes = {"ours": our_process, "pygeoapi": their_process}
            runs: dict[str, dict[str, list[dict[str, float]]]] = {
                case: {"ours": [], "pygeoapi": []} for case in cases
            }
            for round_ in range(args.rounds):
                order = ["ours", "pygeoapi"] if round_ % 2 == 0 else ["pygeoapi", "ours"]
                for case, urls in cases.items():
                    for side in order:
                        pid = processes[side].pid
                        before = [cpu_seconds(pid)]
                        figures = asyncio.run(
                            load(
                                urls[side],
                                args.concurrency,
                                args.seconds,
                                lambda pid=pid, before=before: before.append(cpu_seconds(pid)),
                            )
                        )
                        spent = cpu_seconds(pid) - before[-1]
                        # the window's CPU only (a worker's first build of its caches falls in
                        # the warm-up when every worker gets a warm-up request); the requests
                        # still in flight when the window closes make it an upper bound
                        figures["cpu_ms"] = 1000 * spent / max(1, figures["requests"])
                        figures["warm_cpu_s"] = before[-1] - before[0]
                        runs[case][side].append(figures)
                        print(f"round {round_ + 1}, {case}, {side}: {figures}", flush=True)
    load_average = os.getloadavg()
    print(
        f"\ndemo={args.demo} collections={len(tables)} largest={largest} ({size} features) "
        f"workers={args.workers} concurrency={args.concurrency} seconds={args.seconds} "
        f"rounds={args.rounds} load average={load_average[0]:.1f}"
    )
    print(
        "| case | ours req/s | ours p50 / p95 ms | ours CPU ms/req | pygeoapi req/s "
        "| pygeoapi p50 / p95 ms | pygeoapi CPU ms/req | throughput ratio | CPU ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for case, sides in runs.items():
        med = {
            side: {k: statistics.median(r[k] for r in sides[side]) for k in sides[side][0]}
            for side in sides
        }
        o, t = med["ours"], med["pygeoapi"]
        print(
            f"| {case} | {o['rps']:.1f} | {o['p50']:.0f} / {o['p95']:.0f} | {o['cpu_ms']:.1f} "
            f"| {t['rps']:.1f} | {t['p50']:.0f} / {t['p95']:.0f} | {t['cpu_ms']:.1f} "
            f"| {o['rps'] / t['rps']:.1f}× | {t['cpu_ms'] / o['cpu_ms']:.1f}× |"
        )
        errors = {side: sum(r["errors"] for r in sides[side]) for side in sides}
        if any(errors.values()):
            print(f"warning: non-200 responses in {case}: {errors}")


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
    parser.add_argument("--demo", help="a demo folder (observatory.db): the fair mode")
    parser.add_argument("--work", help="folder for the demo's copy, kept between runs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--cases",
        default="items,collections",
        help="fair mode's cases, comma-separated: items, collections (pygeoapi's failing items "
        "case can leave it unable to answer the next one)",
    )
    args = parser.parse_args()
    if args.demo:
        demo_mode(args)
        return
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
    python = pygeoapi_python()  # pygeoapi runs from its own venv, never the project's
    if python is not None:
        config = pygeoapi_config(folder, gpkg, "bench", args.units)
        openapi = folder / "openapi.yml"
        penv = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
        # pygeoapi's GeoPackage provider loads mod_spatialite; this Python's sqlite3 cannot
        # load extensions, so pygeoapi runs on pysqlite3 (same SQLite API, extensions on).
        (folder / "pygeoapi_app.py").write_text(PATCH + "from pygeoapi.starlette_app import APP\n")
        subprocess.run(
            [
                python,
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
                ["pygeoapi_app:APP", *workers],
                penv,
                "/collections/bench/items?limit=1",
                folder,
                python,
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
        print("pygeoapi could not be installed in its own venv: only our figures are printed")
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
