"""``marker build`` at one level beside its floor, with the floor's write done both ways.

Issue #21 asks for ``marker build --level manzana`` within 2× of (engine time + writing its
rows with the driver's bulk path). ``bench_store_writes.py`` writes the floor's rows with a
one-row ``INSERT`` run by ``executemany``; SQLite runs one statement per row there, and our
build writes 1,000 rows a statement (``store.bulk``), so this benchmark also times the floor
written that way (``floor-multi``), the stricter comparison. Sides, each a fresh process on a
fresh copy of the store, alternated in every round:

- ``ours``: ``build_run`` (reads the observations, borrows values from other levels, computes,
  stores the run and a score row per unit and node/indicator), CPU of the call;
- ``before``: the same with an older ``src`` (``--before``);
- ``floor``: ``marker.compute`` on the same wide table (a second call in the process, its
  imports warm; its lazy ranks and levels not asked for) + the run's score rows written with
  ``sqlite3`` ``executemany`` of a one-row ``INSERT`` in one transaction (the store's PRAGMAs);
- ``floor-multi``: the same engine time + the same rows written 1,000 to a statement.

CPU = user + system of the timed step (``time.process_time``); medians; load averages shown.

    .venv/bin/python benchmarks/bench_marker_build.py /tmp/md/observatory.db \\
        --data-dir /tmp/md/observatory-data --repeat 5 --before /tmp/old/src
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from itertools import chain
from pathlib import Path

from bench_store_writes import run_worker  # the same child-process scaffolding

PRAGMAS = ("PRAGMA foreign_keys=ON", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")
COLUMNS = ["run_id", "unit_id", "node_code", "score", "level", "rank", "coverage", "imputed"]
PER_STATEMENT = 1_000


def _write(db: Path, rows: list[tuple], per: int) -> float:
    """CPU seconds of inserting ``rows`` into marker_scores, ``per`` rows a statement."""
    connection = sqlite3.connect(db, isolation_level=None)
    for pragma in PRAGMAS:
        connection.execute(pragma)
    one = "({})".format(", ".join("?" * len(COLUMNS)))
    head = f"INSERT INTO marker_scores ({', '.join(COLUMNS)}) VALUES "
    started = time.process_time()
    connection.execute("BEGIN")
    if per == 1:
        connection.executemany(head + one, rows)
    else:
        whole = len(rows) // per * per
        many = head + ", ".join([one] * per)
        flat = list(chain.from_iterable(rows[:whole]))  # row-major values, flattened in C
        step = per * len(COLUMNS)
        connection.executemany(
            many, [tuple(flat[at : at + step]) for at in range(0, len(flat), step)]
        )
        if whole < len(rows):
            connection.executemany(head + one, rows[whole:])
    connection.execute("COMMIT")
    spent = time.process_time() - started
    connection.close()
    return spent


def _worker(side: str, db: Path, args: argparse.Namespace) -> dict[str, float]:
    os.environ["INCLUSIVE_CITIES_DATA_DIR"] = args.data_dir
    from inclusive_cities import store
    from inclusive_cities.marker import compute, load_spec
    from inclusive_cities.marker.build import build_run

    engine = store.connect(f"sqlite:///{db}")
    spec = load_spec(args.spec)
    if side in ("ours", "before"):
        started = time.process_time()
        summary = build_run(engine, args.city, args.period, spec, level=args.level)
        return {"cpu": time.process_time() - started, "rows": summary.scores_written}
    # the floor: the wide table and the rows come from a build run in this process, then
    # the engine runs again on the table (a fresh spec object)
    summary = build_run(engine, args.city, args.period, spec, level=args.level)
    wide = summary.result._data
    population = summary.result._recipe["population_column"]
    fresh = load_spec(args.spec)
    started = time.process_time()
    compute(fresh, wide, "unit_code", population, missing_columns="ignore")
    engine_cpu = time.process_time() - started
    engine.dispose()
    plain = sqlite3.connect(db)
    rows = plain.execute(
        f"SELECT {', '.join(COLUMNS)} FROM marker_scores WHERE run_id = ? ORDER BY id",
        (summary.run_id,),
    ).fetchall()
    plain.execute("DELETE FROM marker_scores WHERE run_id = ?", (summary.run_id,))
    plain.commit()
    plain.close()
    write_cpu = _write(db, rows, 1 if side == "floor" else PER_STATEMENT)
    return {"cpu": engine_cpu + write_cpu, "engine": engine_cpu, "rows": len(rows)}


def _run(side: str, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-marker-build-") as folder:
        db = Path(folder) / "observatory.db"
        shutil.copy(args.database, db)
        env = dict(os.environ)
        if side == "before":
            env["PYTHONPATH"] = str(args.before)
        return run_worker(__file__, side, db, args, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--city", default="DEMO")
    parser.add_argument("--period", default="2024")
    parser.add_argument("--level", default="manzana")
    parser.add_argument("--spec", default="uim-basic")
    parser.add_argument("--data-dir", default="observatory-data")
    parser.add_argument("--before", type=Path, default=None, help="src folder of an older version")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--worker", default=None)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.db, args)))
        return
    sides = ["ours", *(["before"] if args.before else []), "floor", "floor-multi"]
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for number in range(args.repeat):
        for side in sides:
            runs[side].append(_run(side, args))
            found = runs[side][-1]
            print(
                f"run {number + 1} {side:12s} CPU {found['cpu']:.2f} s, rows {found['rows']:,.0f}"
                f", load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    medians = {side: statistics.median(r["cpu"] for r in found) for side, found in runs.items()}
    print(f"\nmedian CPU of {args.repeat} runs (s):")
    for side, cpu in medians.items():
        print(
            f"  {side:12s} {cpu:6.2f}   ours / it {medians['ours'] / cpu:5.2f}×"
            f"   (min {min(r['cpu'] for r in runs[side]):.2f})"
        )


if __name__ == "__main__":
    main()
