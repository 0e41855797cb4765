"""Census import: our streamed importer against the pyarrow floor (and pandas + to_sql).

Every side loads the demo city's persons file (≈5M rows for --size large). Ours maps codes,
validates every value, checks units and households, and writes canonical Parquet. The floor
(issue #21's fair baseline) is what any import must at least do: ``pyarrow.csv.read_csv`` (all
cores; the three identifier columns read as text, as our canonical file keeps them) and
``pyarrow.parquet.write_table`` with the same compression as ours (zstd), validating nothing.
The older baseline, ``pandas.read_csv`` + ``DataFrame.to_sql`` into SQLite (``--sides
ours,floor,pandas``), parses with pandas defaults and inserts rows one by one. ``duckdb`` is our
import through its DuckDB reader (``arrow=False``), the path of CSV files before issue #21.
CPU time (user + system, all threads) is the figure to compare on a shared machine.
Boundaries and households are imported once beforehand (not timed); each timed run is a fresh
process on a copy of that database, so that its peak memory (max RSS) is its own.

    .venv/bin/python benchmarks/bench_census_import.py --size large --repeat 3
    .venv/bin/python benchmarks/bench_census_import.py --size medium --sides ours,floor,pandas
    .venv/bin/python benchmarks/bench_census_import.py --city DIR --repeat 5 \
        --sides ours,before,floor --before /tmp/old/src
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SETUP = """
import sys
from pathlib import Path
from inclusive_cities.store import init_database
from inclusive_cities.ingest import LevelSpec, import_boundaries, import_census
city, work = Path(sys.argv[1]), Path(sys.argv[2])
engine = init_database(f"sqlite:///{work / 'setup.db'}")
levels = [LevelSpec(c, layer=c, code_column="codigo", parent_column="codigo_padre")
          for c in ("localidad", "barrio", "manzana")]
import_boundaries(engine, city / "boundaries.gpkg", levels, city="DEMO")
import_census(engine, city / "census_households.csv", record="households", city="DEMO",
              period="2024", data_dir=work / "households")
"""

OURS = """
import json, resource, shutil, sys, time
from pathlib import Path
from inclusive_cities.store import connect
from inclusive_cities.ingest import import_census
city, work = Path(sys.argv[1]), Path(sys.argv[2])
shutil.copy(work / "setup.db", work / "run.db")
engine = connect(f"sqlite:///{work / 'run.db'}")
started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
report = import_census(engine, city / "census_persons.csv", record="persons", city="DEMO",
                       period="2024", data_dir=work / "run", arrow=ARROW)
seconds = time.perf_counter() - started
end = resource.getrusage(resource.RUSAGE_SELF)
cpu_s = end.ru_utime + end.ru_stime - cpu.ru_utime - cpu.ru_stime
peak = end.ru_maxrss / 1024
shutil.rmtree(work / "run")
print(json.dumps({"rows": report.rows_accepted, "seconds": seconds, "cpu_s": cpu_s,
                  "peak_mb": peak}))
"""

FLOOR = """
import json, resource, sys, time
from pathlib import Path
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
city, work = Path(sys.argv[1]), Path(sys.argv[2])
started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
# the identifiers stay text, as in our canonical file (leading zeros are part of a code)
text = {name: pa.string() for name in ("COD_MANZANA", "ID_HOGAR", "ID_PERSONA")}
table = pacsv.read_csv(city / "census_persons.csv",
                       convert_options=pacsv.ConvertOptions(column_types=text))
pq.write_table(table, work / "floor.parquet", compression="zstd")
seconds = time.perf_counter() - started
end = resource.getrusage(resource.RUSAGE_SELF)
cpu_s = end.ru_utime + end.ru_stime - cpu.ru_utime - cpu.ru_stime
peak = end.ru_maxrss / 1024
(work / "floor.parquet").unlink()
print(json.dumps({"rows": table.num_rows, "seconds": seconds, "cpu_s": cpu_s, "peak_mb": peak}))
"""

BASELINE = """
import json, resource, sys, time
from pathlib import Path
import pandas as pd
from sqlalchemy import create_engine
city, work = Path(sys.argv[1]), Path(sys.argv[2])
engine = create_engine(f"sqlite:///{work / 'baseline.db'}")
started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
frame = pd.read_csv(city / "census_persons.csv")
frame.to_sql("persons", engine, index=False)
seconds = time.perf_counter() - started
end = resource.getrusage(resource.RUSAGE_SELF)
cpu_s = end.ru_utime + end.ru_stime - cpu.ru_utime - cpu.ru_stime
peak = end.ru_maxrss / 1024
print(json.dumps({"rows": len(frame), "seconds": seconds, "cpu_s": cpu_s, "peak_mb": peak}))
"""


def run(script: str, city: Path, work: Path, source: Path | None = None) -> dict[str, float]:
    env = dict(os.environ)
    if source is not None:  # an older version's src folder (side "before")
        env["PYTHONPATH"] = str(source)
    done = subprocess.run(
        [sys.executable, "-c", script, str(city), str(work)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--city", type=Path, help="an existing 'demo generate' directory")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--sides",
        default="ours,floor",
        help="comma-separated: ours, duckdb, floor, pandas, before (needs --before)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="src folder of an older version (git worktree add DIR <commit>; DIR/src): "
        "side 'before' runs our import with it",
    )
    args = parser.parse_args()
    scripts = {
        "ours": OURS.replace("arrow=ARROW", "arrow=True"),
        "duckdb": OURS.replace("arrow=ARROW", "arrow=False"),
        "floor": FLOOR,
        "pandas": BASELINE,
        "before": OURS.replace("arrow=ARROW", "arrow=True"),
    }
    sides = [side.strip() for side in args.sides.split(",")]
    city = args.city
    if city is None:
        from inclusive_cities.demo.generate import generate_city

        city = Path(tempfile.gettempdir()) / f"bench-demo-{args.size}-{args.seed}"
        if not (city / "census_persons.csv").exists():
            print(f"generating the {args.size} demo city in {city} …", flush=True)
            generate_city(city, size=args.size, seed=args.seed)
    results: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    work = Path(tempfile.mkdtemp(prefix="bench-census-"))
    print("importing boundaries and households (not timed) …", flush=True)
    run(SETUP, city, work)
    for number in range(args.repeat):
        for name in sides:  # alternated, so that a change of load hits every side alike
            script = scripts[name]
            for stale in work.glob("baseline.db*"):
                stale.unlink()
            result = run(script, city, work, args.before if name == "before" else None)
            results[name].append(result)
            print(
                f"run {number + 1} {name:8}: {result['rows']:,.0f} rows in "
                f"{result['seconds']:.2f} s (CPU {result['cpu_s']:.2f} s), "
                f"peak {result['peak_mb']:.0f} MB, load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    shutil.rmtree(work, ignore_errors=True)
    summary = {}
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        cpu = statistics.median(r["cpu_s"] for r in runs)
        summary[name] = {
            "rows": runs[0]["rows"],
            "seconds": seconds,
            "cpu_s": cpu,
            "rows_per_s": runs[0]["rows"] / seconds,
            "rows_per_cpu_s": runs[0]["rows"] / cpu,
            "peak_mb": statistics.median(r["peak_mb"] for r in runs),
        }
    print(
        f"\n{'':10}{'rows':>12}{'median s':>10}{'CPU s':>8}{'rows/s':>12}{'rows/CPU s':>12}"
        f"{'peak MB':>10}"
    )
    for name, item in summary.items():
        print(
            f"{name:10}{item['rows']:>12,.0f}{item['seconds']:>10.2f}{item['cpu_s']:>8.2f}"
            f"{item['rows_per_s']:>12,.0f}{item['rows_per_cpu_s']:>12,.0f}"
            f"{item['peak_mb']:>10.0f}"
        )
    if "ours" not in summary:
        return
    ours = summary["ours"]
    for name, other in summary.items():
        if name != "ours":
            print(
                f"ours / {name}: CPU {ours['cpu_s'] / other['cpu_s']:.2f}x (goal vs floor: "
                f"≤ 1.5x), wall {ours['seconds'] / other['seconds']:.2f}x, "
                f"peak memory {ours['peak_mb'] / other['peak_mb']:.2f}x"
            )


if __name__ == "__main__":
    main()
