"""Store writes on a real observatory: ``marker build`` and ``indicators compute`` beside
their floor (engine time + a raw bulk write of the same rows), optionally beside an older
checkout of the code ("before").

Each measurement runs in a fresh process on a fresh copy of the database, so that caches,
peak memory and the file's state are its own; the versions run in turn in every round, so
the shared machine's changing load hits them alike. Times: wall and CPU (user + system of
the process, DuckDB's threads included); the tables give medians.

- marker build: ``build_run`` at one level (reads observations, computes, stores the run
  and a score row per unit and node/indicator).
- marker floor: ``marker.compute`` on the same wide table + the same rows written with
  Python's ``sqlite3`` ``executemany`` in one transaction (the store's PRAGMAs).
- indicators compute: ``compute_city`` for the whole city (computed values removed first,
  so it is a first computation).
- indicators replace: the same on the store as it is (its 432,000 computed values are
  replaced: the usual re-run, what ``indicators compute`` on the demo store does).
- indicators floor: ``compute_city(dry_run=True)`` (the engine and its reads) + the same
  observation rows written with ``sqlite3`` ``executemany`` in one transaction.
- ``--only indicators-cli`` / ``indicators-cli-replace``: the whole command a user types,
  ``inclusive-cities -d sqlite:///copy indicators compute --city DEMO --period 2024`` (start-up
  and imports included), first computation / replacing; wall, and CPU as user + system of
  the child process (``getrusage(RUSAGE_CHILDREN)``); the load average is printed with each run.
  ``--pycache-prefix DIR`` lets that child write and read its bytecode under DIR (after one
  unmeasured warm-up run of each version): with ``PYTHONDONTWRITEBYTECODE=1`` in the
  environment, as on the team's machine, the project's modules are compiled from source in
  every run (≈0.2-0.3 s CPU), which a user's installed copy does not do after its first run.

Usage (the medium demo city, built with scripts/build-demo.sh up to ``marker build``):
    .venv/bin/python benchmarks/bench_store_writes.py /tmp/h8demo/o.base.db \\
        --data-dir /tmp/h8demo/observatory-data --before /tmp/h8/before/src --repeats 3
``--before`` is the ``src`` folder of an older version (``git archive <commit> src``);
``--after`` that of the version measured as "after" (default: the installed one).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STORE_PRAGMAS = ("PRAGMA foreign_keys=ON", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")
COMPUTED = "status IN ('computed', 'suppressed')"


class Clock:
    """Wall and CPU seconds of a block."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def _raw_write(path: Path, table: str, columns: list[str], rows: list[tuple]) -> Clock:
    """The floor of a write: one prepared INSERT, ``executemany``, one transaction."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in STORE_PRAGMAS:
        connection.execute(pragma)
    statement = "INSERT INTO {t} ({c}) VALUES ({m})".format(
        t=table, c=", ".join(columns), m=", ".join("?" * len(columns))
    )
    with Clock() as clock:
        connection.execute("BEGIN")
        connection.executemany(statement, rows)
        connection.execute("COMMIT")
    connection.close()
    return clock


def _worker(kind: str, db: Path, args: argparse.Namespace) -> dict[str, float]:
    os.environ["INCLUSIVE_CITIES_DATA_DIR"] = args.data_dir
    from inclusive_cities import store

    url = f"sqlite:///{db}"
    if kind.startswith("indicators") and kind != "indicators-replace":
        plain = sqlite3.connect(db)
        plain.execute(f"DELETE FROM observations WHERE {COMPUTED}")
        plain.commit()
        plain.close()
    engine = store.connect(url)
    out: dict[str, float] = {}
    if kind == "marker-build":
        from inclusive_cities.marker import load_spec
        from inclusive_cities.marker.build import build_run

        spec = load_spec(args.spec)
        with Clock() as clock:
            summary = build_run(engine, args.city, args.period, spec, level=args.level)
        out = {"wall": clock.wall, "cpu": clock.cpu, "rows": summary.scores_written}
    elif kind == "marker-floor":
        from inclusive_cities.marker import compute, load_spec
        from inclusive_cities.marker.build import build_run

        spec = load_spec(args.spec)
        summary = build_run(engine, args.city, args.period, spec, level=args.level)
        wide = summary.result._data
        population = summary.result._recipe["population_column"]
        with Clock() as engine_clock:
            compute(spec, wide, "unit_code", population, missing_columns="ignore")
        columns = ["run_id", "unit_id", "node_code", "score", "level", "rank", "coverage"]
        columns.append("imputed")
        engine.dispose()
        plain = sqlite3.connect(db)
        rows = plain.execute(
            f"SELECT {', '.join(columns)} FROM marker_scores WHERE run_id = ?", (summary.run_id,)
        ).fetchall()
        plain.execute("DELETE FROM marker_scores WHERE run_id = ?", (summary.run_id,))
        plain.commit()
        plain.close()
        write = _raw_write(db, "marker_scores", columns, rows)
        out = {
            "wall": engine_clock.wall + write.wall,
            "cpu": engine_clock.cpu + write.cpu,
            "engine_wall": engine_clock.wall,
            "write_wall": write.wall,
            "rows": len(rows),
        }
    elif kind in ("indicators-compute", "indicators-replace"):
        from inclusive_cities.indicators.pipeline import compute_city

        with Clock() as clock:
            compute_city(engine, args.city, args.period, data_dir=args.data_dir)
        plain = sqlite3.connect(db)
        rows = plain.execute(f"SELECT count(*) FROM observations WHERE {COMPUTED}").fetchone()
        plain.close()
        out = {"wall": clock.wall, "cpu": clock.cpu, "rows": rows[0]}
    elif kind == "indicators-floor":
        from inclusive_cities.indicators.pipeline import compute_city

        compute_city(engine, args.city, args.period, data_dir=args.data_dir)
        engine.dispose()
        columns = [
            "indicator_id", "unit_id", "period_id", "sex", "age_group", "nationality",
            "value", "n", "status", "source", "batch_id",
        ]  # fmt: skip
        plain = sqlite3.connect(db)
        rows = plain.execute(
            f"SELECT {', '.join(columns)} FROM observations WHERE {COMPUTED}"
        ).fetchall()
        plain.execute(f"DELETE FROM observations WHERE {COMPUTED}")
        plain.commit()
        plain.close()
        engine = store.connect(url)
        with Clock() as engine_clock:
            compute_city(engine, args.city, args.period, data_dir=args.data_dir, dry_run=True)
        write = _raw_write(db, "observations", columns, rows)
        out = {
            "wall": engine_clock.wall + write.wall,
            "cpu": engine_clock.cpu + write.cpu,
            "engine_wall": engine_clock.wall,
            "write_wall": write.wall,
            "rows": len(rows),
        }
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _cli(kind: str, db: Path, args: argparse.Namespace, env: dict[str, str]) -> dict[str, float]:
    """``inclusive-cities … indicators compute`` as a user runs it, in a child process."""
    if kind == "indicators-cli":
        plain = sqlite3.connect(db)
        plain.execute(f"DELETE FROM observations WHERE {COMPUTED}")
        plain.commit()
        plain.close()
    env["INCLUSIVE_CITIES_DATA_DIR"] = args.data_dir
    command = [
        sys.executable, "-c",
        "import sys; from inclusive_cities.cli import main; sys.argv[0] = 'inclusive-cities'; "
        "sys.exit(main())",
        "-d", f"sqlite:///{db}", "indicators", "compute", "--city", args.city,
        "--period", args.period,
    ]  # fmt: skip
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    plain = sqlite3.connect(db)
    rows = plain.execute(f"SELECT count(*) FROM observations WHERE {COMPUTED}").fetchone()
    plain.close()
    return {
        "wall": wall,
        "cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
        "rows": rows[0],
        "peak_mib": after.ru_maxrss / 1024,  # the largest child so far
        "load": load,
    }


def _run(kind: str, args: argparse.Namespace, source: str | None) -> dict[str, float]:
    """One measurement in a fresh process on a fresh copy of the database."""
    with tempfile.TemporaryDirectory(prefix="bench-writes-") as folder:
        db = Path(folder) / "observatory.db"
        shutil.copy(args.database, db)
        env = dict(os.environ)
        if source:
            env["PYTHONPATH"] = source
        if args.pycache_prefix:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = args.pycache_prefix
        if kind.startswith("indicators-cli"):
            return _cli(kind, db, args, env)
        return run_worker(__file__, kind, db, args, env)


def run_worker(
    script: str, kind: str, db: Path, args: argparse.Namespace, env: dict[str, str]
) -> dict[str, float]:
    """Run ``script --worker kind`` on ``db`` in a child process (the same city, period, level,
    spec and data folder as this run) and return the JSON of its last line."""
    command = [sys.executable, script, str(args.database), "--worker", kind, "--db", str(db)]
    for option in ("city", "period", "level", "spec", "data_dir"):
        command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--city", default="DEMO")
    parser.add_argument("--period", default="2024")
    parser.add_argument("--level", default="manzana")
    parser.add_argument("--spec", default="uim-basic")
    parser.add_argument("--data-dir", default="observatory-data")
    parser.add_argument("--before", default=None, help="src folder of an older version")
    parser.add_argument(
        "--after",
        default=None,
        help="src folder of the version measured as 'after' (default: the installed one; a "
        "worktree keeps the measured code fixed while the tree is edited)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=("marker", "indicators", "indicators-replace", "indicators-cli"),
        default=None,
        help="indicators-cli: the CLI command, first computation and replacing",
    )
    parser.add_argument(
        "--pycache-prefix",
        default=None,
        help="the CLI child writes and reads bytecode under this folder (a warm-up run of each "
        "version first), as an installed copy does; default: the environment's setting",
    )
    parser.add_argument("--worker", default=None)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.db, args)))
        return
    groups = [g for g in ("marker", "indicators", "indicators-replace") if args.only in (None, g)]
    if args.only == "indicators-cli":
        groups = ["indicators-cli", "indicators-cli-replace"]
    for group in groups:
        main_kind = {"marker": "marker-build", "indicators": "indicators-compute"}.get(group, group)
        versions = [("after", main_kind, args.after)]
        if args.before:
            versions.append(("before", versions[0][1], args.before))
        # the floor of a replacement is that of a first computation (the delete is extra)
        versions.append(("floor", f"{group.split('-')[0]}-floor", None))
        if group.startswith("indicators-cli"):
            versions = [(name, group, source) for name, _k, source in versions if name != "floor"]
        runs: dict[str, list[dict[str, float]]] = {name: [] for name, _k, _s in versions}
        if args.pycache_prefix:
            if group == groups[0]:
                for name, kind, source in versions:  # compiles the version's modules once
                    warm = _run(kind, args, source)
                    print(group, name, "warm-up", json.dumps(warm), flush=True)
        elif os.environ.get("PYTHONDONTWRITEBYTECODE") and group.startswith("indicators-cli"):
            print(f"{group}: PYTHONDONTWRITEBYTECODE is set: modules are compiled in every run")
        for _round in range(args.repeats):
            for name, kind, source in versions:
                runs[name].append(_run(kind, args, source))
                print(group, name, json.dumps(runs[name][-1]), flush=True)
        if "floor" not in runs:  # the CLI: after against before
            _ratios(group, runs)
            continue
        floor = statistics.median(r["wall"] for r in runs["floor"])
        floor_cpu = statistics.median(r["cpu"] for r in runs["floor"])
        print(f"\n{group}: median of {args.repeats} (wall s, CPU s, peak MiB, wall / floor)")
        for name, found in runs.items():
            wall = statistics.median(r["wall"] for r in found)
            cpu = statistics.median(r["cpu"] for r in found)
            peak = max(r["peak_mib"] for r in found)
            print(
                f"  {name:7s} {wall:7.2f} {cpu:7.2f} {peak:7.0f}  {wall / floor:5.2f}× "
                f"(CPU {cpu / floor_cpu:4.2f}×), rows {int(found[0]['rows'])}"
            )


def _ratios(group: str, runs: dict[str, list[dict[str, float]]]) -> None:
    """Medians of the CLI runs, before / after."""
    medians = {
        name: {key: statistics.median(r[key] for r in found) for key in ("wall", "cpu")}
        for name, found in runs.items()
    }
    loads = [r["load"] for found in runs.values() for r in found]
    print(f"\n{group}: medians of {len(runs['after'])}, load {min(loads):.1f}-{max(loads):.1f}")
    for name, found in runs.items():
        print(
            f"  {name:7s} wall {medians[name]['wall']:6.2f} s  CPU {medians[name]['cpu']:6.2f} s"
            f"  peak {max(r['peak_mib'] for r in found):5.0f} MiB  rows {int(found[0]['rows'])}"
        )
    if "before" in medians:
        print(
            f"  before / after: wall {medians['before']['wall'] / medians['after']['wall']:.2f}×"
            f", CPU {medians['before']['cpu'] / medians['after']['cpu']:.2f}×"
        )


if __name__ == "__main__":
    main()
