"""Big-city map: a 50,000-block city in the map explorer, GeoJSON against vector tiles.

Builds a synthetic city in a fresh SQLite store (50,000 irregular 8-vertex blocks in 20
localities over about 22 x 20 km, one published indicator with 2 % suppressed cells) and serves
it with two uvicorn servers at once, tiles switched off on one and on on the other
(``INCLUSIVE_CITIES_WEB_TILE_THRESHOLD``). Debian's Chromium (Playwright) opens the map explorer
on each in turn (interleaved rounds: GeoJSON, tiles, GeoJSON, ...), each load in a fresh browser
context (no HTTP cache).

"Opens": the first ``idle`` event of MapLibre (a frame drawn, every tile of the view loaded, no
animation under way) once the explorer has drawn the layer (``data-map-ready``) and with the
layer's features rendered at the map's centre, timed by the page's own clock from the start of
navigation. The page is not polled meanwhile (a polling ``queryRenderedFeatures`` over tens of
thousands of rings would itself hold the page's main thread); an init script listens to the
map's events. Measured per load as well: bytes received (encoded body sizes of every response)
and the CPU time (user + system) of the browser and both servers during the load. The first
round after the servers start (``--settle`` seconds after them, 30 by default: each server
warms its big layers at start-up, ``web/tiles.py``) is reported apart ("cold"); medians are
over the following rounds. A last load in the same context shows what a repeated visit costs
(304s). ``--ab FOLDER`` adds an A/B of the page's code on the tiles server, interleaved with
the others: the explorer's scripts (``map.js``, ``map_tiles.js``) of the package against those
in FOLDER, both served through Playwright routes (which turn the HTTP cache off).

Command: ``.venv/bin/python benchmarks/bench_big_city_map.py --blocks 50000 --repeat 7``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inclusive_cities.store import init_database, models, transaction  # noqa: E402
from inclusive_cities.store.web_models import PublishedLayer  # noqa: E402
from tests.web.live import live_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAYER = "ind:piped_water"
OPENED = """(() => {
  // the map explorer is open at the first idle frame with the layer drawn at the map's centre
  const centre = (m) => {
    const c = m.getCanvas(), x = c.clientWidth / 2, y = c.clientHeight / 2;
    return m.queryRenderedFeatures([[x - 20, y - 20], [x + 20, y + 20]],
                                   { layers: ['units-fill'] });
  };
  const hook = () => {
    const m = window.observatoryMap;
    if (!m) { requestAnimationFrame(hook); return; }
    m.on('idle', () => {
      if (window.openedAt || !document.body.dataset.mapReady || !m.getLayer('units-fill') ||
          !m.areTilesLoaded()) { return; }
      const at = performance.now();
      if (centre(m).length) { window.openedAt = at; }
    });
  };
  hook();
})();"""


def blocks(count: int, seed: int = 0) -> list[shapely.Geometry]:
    """``count`` irregular blocks on a grid of ~100 m cells with streets between them."""
    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(count * 1.25)))
    rows = int(np.ceil(count / cols))
    cell_x, cell_y = 0.2 / cols, 0.18 / rows
    angles = np.linspace(0, 2 * np.pi, 9)[:-1] + np.pi / 8
    out = []
    for i in range(count):
        cx = -74.2 + (i % cols + 0.5) * cell_x
        cy = 4.5 + (i // cols + 0.5) * cell_y
        radius = 0.42 * (1 + 0.15 * rng.uniform(-1, 1, 8))
        xs = cx + np.cos(angles) * radius * cell_x * 1.3
        ys = cy + np.sin(angles) * radius * cell_y * 1.3
        xs = np.clip(xs, cx - 0.45 * cell_x, cx + 0.45 * cell_x)
        ys = np.clip(ys, cy - 0.45 * cell_y, cy + 0.45 * cell_y)
        out.append(shapely.Polygon(np.column_stack([xs, ys])))
    return out


def build_store(path: Path, count: int) -> str:
    url = f"sqlite:///{path}"
    engine = init_database(url)
    geoms = blocks(count)
    rng = np.random.default_rng(1)
    with transaction(engine) as s:
        city = models.City(code="BIG", name="Ciudad Grande", country="COL", is_synthetic=True)
        s.add(city)
        s.flush()
        loc_level = models.UnitLevel(
            city_id=city.id, code="localidad", name_es="Localidad", name_en="Locality", depth=0
        )
        block_level = models.UnitLevel(
            city_id=city.id, code="manzana", name_es="Manzana", name_en="Block", depth=1
        )
        period = models.Period(code="2024", label="Censo 2024")
        water = models.Indicator(
            code="piped_water",
            name_es="Acueducto",
            name_en="Piped water",
            unit="%",
            direction="higher_is_better",
            source="Censo sintético",
        )
        s.add_all([loc_level, block_level, period, water])
        s.flush()
        localities = []
        for j in range(20):
            x0, y0 = -74.2 + 0.04 * (j % 5), 4.5 + 0.045 * (j // 5)
            unit = models.SpatialUnit(
                city_id=city.id,
                level_id=loc_level.id,
                code=f"{j + 1:02d}",
                name=f"Localidad {j + 1}",
                geometry=shapely.to_wkb(shapely.box(x0, y0, x0 + 0.04, y0 + 0.045)),
            )
            s.add(unit)
            localities.append(unit)
        s.flush()
        rows = []
        for i, geom in enumerate(geoms):
            minx, miny, maxx, maxy = geom.bounds
            j = min(4, int((minx + 74.2) / 0.04)) + 5 * min(3, int((miny - 4.5) / 0.045))
            rows.append(
                {
                    "city_id": city.id,
                    "level_id": block_level.id,
                    "code": f"{j + 1:02d}{i:06d}",
                    "name": f"Manzana {i + 1}",
                    "parent_id": localities[j].id,
                    "geometry": shapely.to_wkb(geom),
                    "min_x": minx,
                    "min_y": miny,
                    "max_x": maxx,
                    "max_y": maxy,
                }
            )
        s.execute(insert(models.SpatialUnit), rows)
        ids = s.scalars(
            select(models.SpatialUnit.id).where(models.SpatialUnit.level_id == block_level.id)
        ).all()
        values = rng.uniform(40, 100, len(ids)).round(1)
        suppressed = rng.uniform(size=len(ids)) < 0.02
        s.execute(
            insert(models.Observation),
            [
                {
                    "indicator_id": water.id,
                    "unit_id": unit_id,
                    "period_id": period.id,
                    "value": None if off else float(value),
                    "status": "suppressed" if off else "computed",
                }
                for unit_id, value, off in zip(ids, values, suppressed, strict=True)
            ],
        )
        s.add(PublishedLayer(city_id=city.id, period_id=period.id, indicator_id=water.id))
    return url


def body(request: object) -> int:
    """Encoded body bytes received for a request; 0 when answered from the browser's cache
    (Chromium reports a negative size then: the explorer asks for the opening tiles itself
    and MapLibre's requests for them are cache hits)."""
    return max(0, int(request.sizes()["responseBodySize"]))  # type: ignore[attr-defined]


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of the processes under ``root``: the browser, the
    Playwright driver and the servers, with their ended children (a closed context's
    renderer); read from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[tuple[int, float]]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        own = sum(int(f) for f in fields[11:15]) / tick  # utime stime cutime cstime
        children.setdefault(int(fields[1]), []).append((int(name), own))
    total, stack = 0.0, [root]
    while stack:
        for pid, own in children.get(stack.pop(), []):
            total += own
            stack.append(pid)
    return total


def _serve(path: Path) -> Any:
    """A route handler answering with the file at ``path``."""
    return lambda route: route.fulfill(path=path, content_type="text/javascript")


def open_map(browser: Any, url: str, js: Path | None, last: bool) -> dict[str, float]:
    """One load in a fresh context: time to open, bytes, CPU; ``last``: then a reload."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(OPENED)
    if js is not None:
        for name in ("map.js", "map_tiles.js"):
            context.route(f"**/static/{name}", _serve(js / name))
    page = context.new_page()
    finished: list[Any] = []
    context.on("requestfinished", lambda request: finished.append(request))
    cpu = tree_cpu(os.getpid())
    start = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=300_000)
    page.wait_for_function("window.openedAt", polling=250, timeout=300_000)
    cpu = tree_cpu(os.getpid()) - cpu
    elapsed = page.evaluate("window.openedAt") / 1000  # from the start of navigation
    assert elapsed <= time.perf_counter() - start
    layer = [r for r in finished if "/tiles/" in r.url or "/api/cities/" in r.url]
    out = {
        "time": elapsed,
        "cpu": cpu,
        "bytes": sum(body(r) for r in finished),
        "layer_bytes": sum(body(r) for r in layer),
        "tiles": len({r.url for r in layer if ".mvt" in r.url}),
        "repeat_bytes": 0.0,
    }
    if last:  # the same visitor again: the browser revalidates (304)
        finished.clear()
        page.evaluate("window.openedAt = 0")
        page.reload(wait_until="commit")
        page.wait_for_function("window.openedAt", polling=250, timeout=300_000)
        out["repeat_bytes"] = sum(body(r) for r in finished)
    context.close()
    return out


def measure(paths: dict[str, tuple[str, Path | None]], repeat: int) -> dict[str, dict[str, Any]]:
    """``repeat`` + 1 interleaved rounds over ``paths`` (name: server URL, scripts folder)."""
    from playwright.sync_api import sync_playwright

    loads: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for run in range(repeat + 1):
            for name, (base, js) in paths.items():
                url = f"{base}/cities/BIG/map?layer={LAYER}&period=2024&lang=en"
                got = open_map(browser, url, js, last=run == repeat)
                loads[name].append(got)
                print(
                    f"  round {run}, {name}: opened at {got['time']:.2f} s, "
                    f"CPU {got['cpu']:.2f} s, "
                    f"{got['bytes'] / 1e6:.2f} MB in all, {got['layer_bytes'] / 1e6:.2f} MB of "
                    f"layer data ({got['tiles']:.0f} tiles)",
                    flush=True,
                )
        browser.close()
    out = {}
    for name, runs in loads.items():
        warm = runs[1:]
        out[name] = {
            "cold": runs[0]["time"],
            "median": statistics.median(r["time"] for r in warm),
            "low": min(r["time"] for r in warm),
            "high": max(r["time"] for r in warm),
            "cpu": statistics.median(r["cpu"] for r in warm),
            "bytes": statistics.median(r["bytes"] for r in warm),
            "layer_bytes": statistics.median(r["layer_bytes"] for r in warm),
            "repeat_bytes": runs[-1]["repeat_bytes"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=7, help="rounds after the cold one")
    parser.add_argument(
        "--settle",
        type=float,
        default=30.0,
        help="seconds between the servers' start and the first load (their start-up warm-up)",
    )
    parser.add_argument(
        "--paths", default="GeoJSON,vector tiles", help="comma-separated: GeoJSON, vector tiles"
    )
    parser.add_argument(
        "--ab",
        type=Path,
        default=None,
        help="also open the tiles with map.js and map_tiles.js from this folder (A/B of the "
        "page's code against the same server, interleaved)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_big_city_"))
    started = time.perf_counter()
    url = build_store(folder / "observatory.db", args.blocks)
    print(f"store of {args.blocks:,} blocks built in {time.perf_counter() - started:.1f} s")
    os.environ["INCLUSIVE_CITIES_BASEMAP_URL"] = "none"  # no outside tile host in the timing
    wanted = args.paths.split(",")
    with contextlib.ExitStack() as servers:
        bases = {}
        for name, threshold in (("GeoJSON", str(10**9)), ("vector tiles", "5000")):
            if name in wanted:  # each server reads the threshold from its environment
                os.environ["INCLUSIVE_CITIES_WEB_TILE_THRESHOLD"] = threshold
                bases[name] = servers.enter_context(
                    live_server(url, factory="inclusive_cities.web:create_app")
                )
        time.sleep(args.settle)  # a server is started before its first visitor comes
        before = os.getloadavg()
        paths: dict[str, tuple[str, Path | None]] = {k: (v, None) for k, v in bases.items()}
        if args.ab is not None and "vector tiles" in bases:
            # routed scripts turn the browser's HTTP cache off (Playwright): both sides routed
            static = ROOT / "src" / "inclusive_cities" / "web" / "static"
            for label, folder in (("the package", static), (str(args.ab), args.ab)):
                paths[f"vector tiles, scripts of {label}, no HTTP cache"] = (
                    bases["vector tiles"],
                    folder,
                )
        results = measure(paths, args.repeat)
        after = os.getloadavg()
    print(f"\nload average (1, 5, 15 min) before {before}, after {after}")
    print(
        "| path | first load, cold server | median load (range) | median CPU per load "
        "| median bytes (layer data) | repeat visit bytes |"
    )
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['cold']:.2f} s | {r['median']:.2f} s ({r['low']:.2f}–{r['high']:.2f}) "
            f"| {r['cpu']:.2f} s | {r['bytes'] / 1e6:.2f} MB ({r['layer_bytes'] / 1e6:.2f} MB) "
            f"| {r['repeat_bytes'] / 1e3:.1f} kB |"
        )
    if "GeoJSON" not in results or "vector tiles" not in results:
        return
    g, t = results["GeoJSON"], results["vector tiles"]
    print(
        f"\nGeoJSON / tiles: time {g['median'] / t['median']:.1f}x, "
        f"CPU {g['cpu'] / t['cpu']:.1f}x, bytes {g['bytes'] / t['bytes']:.1f}x, "
        f"layer bytes {g['layer_bytes'] / t['layer_bytes']:.1f}x"
    )


if __name__ == "__main__":
    main()
