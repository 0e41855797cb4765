"""Big-city map: a 50,000-block city in the map explorer, GeoJSON against vector tiles.

Builds a synthetic city in a fresh SQLite store (50,000 irregular 8-vertex blocks in 20
localities over about 22 x 20 km, one published indicator with 2 % suppressed cells), serves
it with uvicorn twice (tiles switched off, then on: ``INCLUSIVE_CITIES_WEB_TILE_THRESHOLD``)
and opens the map explorer in Debian's Chromium (Playwright), each load in a fresh browser
context (no HTTP cache). Measured per load: time from navigation until the units are drawn
(``data-map-ready``, the map idle with its tiles loaded, and units rendered at the map's
centre; by the page's own clock from the start of navigation) and
bytes received (encoded body sizes of every response). The first load after the server starts
(``--settle`` seconds after it, 30 by default: the server warms the big layers at start-up,
``web/tiles.py``; ``--settle 0`` shows a visitor arriving during the warm-up) is reported
apart ("cold"); the median is over the following loads. A last load in the same context
shows what a repeated visit costs (304s).

Command: ``.venv/bin/python benchmarks/bench_big_city_map.py --blocks 50000 --repeat 5``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

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
READY = """() => {
  const m = window.observatoryMap;
  if (!(document.body.dataset.mapReady && m && m.loaded() && m.areTilesLoaded() &&
        m.getLayer('units-fill'))) { return false; }
  const c = m.getCanvas(), x = c.clientWidth / 2, y = c.clientHeight / 2;
  // a few pixels at the centre: asking for all 50,000 drawn units would itself take seconds
  if (!m.queryRenderedFeatures([[x - 20, y - 20], [x + 20, y + 20]], { layers: ['units-fill'] })
      .length) { return false; }
  window.drawnAt = window.drawnAt || performance.now();
  return true;
}"""


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


def measure(base: str, repeat: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    url = f"{base}/cities/BIG/map?layer={LAYER}&period=2024&lang=en"
    times, sizes, layer_sizes = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        repeat_bytes = 0
        for run in range(repeat + 1):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            finished: list[object] = []
            context.on("requestfinished", lambda request, into=finished: into.append(request))
            start = time.perf_counter()
            page.goto(url)
            page.wait_for_function(READY, polling=50, timeout=300_000)
            # from the start of navigation to the frame with units, by the page's own clock
            elapsed = page.evaluate("window.drawnAt") / 1000
            assert elapsed <= time.perf_counter() - start
            received = sum(body(r) for r in finished)
            times.append(elapsed)
            sizes.append(received)
            layer = [r for r in finished if "/tiles/" in r.url or "/api/cities/" in r.url]  # type: ignore[attr-defined]
            layer_sizes.append(sum(body(r) for r in layer))
            tiles = len({r.url for r in layer if ".mvt" in r.url})  # type: ignore[attr-defined]
            print(
                f"  load {run}: {elapsed:.2f} s, {received / 1e6:.2f} MB in all, "
                f"{layer_sizes[-1] / 1e6:.2f} MB of layer data ({tiles} tiles)",
                flush=True,
            )
            if run == repeat:  # the same visitor again: the browser revalidates (304)
                finished.clear()
                page.reload()
                page.wait_for_function(READY, polling=50, timeout=300_000)
                repeat_bytes = sum(body(r) for r in finished)
            context.close()
        browser.close()
    return {
        "cold": times[0],
        "median": statistics.median(times[1:]),
        "bytes": statistics.median(sizes[1:]),
        "layer_bytes": statistics.median(layer_sizes[1:]),
        "repeat_bytes": repeat_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--settle",
        type=float,
        default=30.0,
        help="seconds between the server's start and the first load (its start-up warm-up)",
    )
    parser.add_argument(
        "--paths", default="GeoJSON,vector tiles", help="comma-separated: GeoJSON, vector tiles"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_big_city_"))
    started = time.perf_counter()
    url = build_store(folder / "observatory.db", args.blocks)
    print(f"store of {args.blocks:,} blocks built in {time.perf_counter() - started:.1f} s")
    os.environ["INCLUSIVE_CITIES_BASEMAP_URL"] = "none"  # no outside tile host in the timing
    results = {}
    for name, threshold in (("GeoJSON", str(10**9)), ("vector tiles", "5000")):
        if name not in args.paths.split(","):
            continue
        os.environ["INCLUSIVE_CITIES_WEB_TILE_THRESHOLD"] = threshold
        print(name, flush=True)
        with live_server(url, factory="inclusive_cities.web:create_app") as base:
            time.sleep(args.settle)  # a server is started before its first visitor comes
            results[name] = measure(base, args.repeat)
    print()
    print(
        "| path | first load, cold server | median load | median bytes (layer data) "
        "| repeat visit bytes |"
    )
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['cold']:.2f} s | {r['median']:.2f} s | "
            f"{r['bytes'] / 1e6:.2f} MB ({r['layer_bytes'] / 1e6:.2f} MB) | "
            f"{r['repeat_bytes'] / 1e3:.1f} kB |"
        )
    if len(results) < 2:
        return
    g, t = results["GeoJSON"], results["vector tiles"]
    print(
        f"\nGeoJSON / tiles: time {g['median'] / t['median']:.1f}x, "  # type: ignore[operator]
        f"bytes {g['bytes'] / t['bytes']:.1f}x, "  # type: ignore[operator]
        f"layer bytes {g['layer_bytes'] / t['layer_bytes']:.1f}x"  # type: ignore[operator]
    )


if __name__ == "__main__":
    main()
