"""The Python around publish's solver and its audit, function by function, before against after.

Each function of the protection's setup and closure (``load_truth``, ``build_relations``,
``primary_cells``, ``DependencyIndex``, ``dependants``, ``close``, ``score_index``,
``combined_differencing``) and the audit's read of the published figures
(``published_figures``) runs on the medium demo in a child process whose ``PYTHONPATH`` is one
side's ``src`` (``--before``: a worktree of the old commit; after: this checkout). Sides
alternate within a round; each function's CPU time (``time.process_time`` in the child) is
the median over the rounds, and each result is hashed so the table says whether both sides
computed the same thing. The catalogue, the marker package and the stored protection are read
before the clock starts, as ``publish`` has them by its audit (both sides read the same ones).

Inputs: a published copy of the medium demo (``--store``: folder with ``observatory.db`` and
``observatory-data``, its stored protection kept, read only) and the hidden set ``close``
starts from (``--closing``: the pattern ``compute`` hands to ``close``, a pickled sorted list).

``--audit`` times ``disclosure audit --city DEMO`` on the store instead (the stored
protection is read, so this is the audit's own work: reading, model, attacks).

Run: .venv/bin/python benchmarks/bench_publish_setup.py --store /tmp/h2/md \\
        --closing /tmp/h2/preclose.pickle --before /tmp/h2/base/src --rounds 3
     .venv/bin/python benchmarks/bench_publish_setup.py --store /tmp/h2/md \\
        --closing /tmp/h2/preclose.pickle --before /tmp/h2/base/src --rounds 3 --audit
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench_disclosure import timed  # CPU of the child through os.wait4

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
CHILD = r"""
import hashlib, json, pickle, sys, time
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from inclusive_cities.disclosure import publication as pub
from inclusive_cities.disclosure.audit import published_figures
from inclusive_cities.disclosure.bands import rate_bands
from inclusive_cities.disclosure.derived import combined_differencing, partition_indices
from inclusive_cities.disclosure.model import build_relations
from inclusive_cities.disclosure.rules import Rules
from inclusive_cities.disclosure.secondary import published_view
from inclusive_cities.store import models

db, closing = sys.argv[1], sys.argv[2]
rules = Rules()
times, digests = {}, {}

def timed(name, function):
    started = time.process_time()
    result = function()
    times[name] = time.process_time() - started
    return result

def digest(name, value):  # of the text: a pickle differs with how strings are shared
    digests[name] = hashlib.sha256(repr(value).encode()).hexdigest()[:16]

rate_bands(), partition_indices()  # the catalogue, read once by either side
import inclusive_cities.marker  # what stored_spec imports (publish has it loaded)
engine = create_engine("sqlite:///" + db)
with Session(engine) as session:
    city = session.scalar(select(models.City).where(models.City.code == "DEMO"))
    pub.protection(session, city.id)  # the stored one, cached as publish has it after its solve
    truth, parents, codes = timed("load_truth", lambda: pub.load_truth(session, city.id))
    read = sorted((k, c.value, c.n, c.unit, c.survey, c.id) for k, c in truth.items())
    digest("load_truth", read)
    published = timed("published_figures", lambda: published_figures(session, city))
    figures = (sorted(published.values.items()), sorted(published.counts.items()))
    digest("published_figures", figures)
relations = timed("build_relations", lambda: build_relations(truth, parents, rules))
virtual = sorted((k, c.value, c.n, c.id, c.of) for k, c in truth.items() if c.virtual)
digest("build_relations", (relations, virtual))
cells = timed("primary_cells", lambda: pub.primary_cells(truth, rules))
digest("primary_cells", [sorted(s) for s in cells])
index = timed("DependencyIndex", lambda: pub.DependencyIndex(truth, rules))
more = timed("dependants(primary)", lambda: pub.dependants(truth, cells[1], rules, index))
digest("dependants(primary)", sorted(more))
start = set(pickle.load(open(closing, "rb")))
more = timed("dependants(closing)", lambda: pub.dependants(truth, start, rules, index))
digest("dependants(closing)", sorted(more))
view = published_view(truth, start)
found = timed("combined_differencing", lambda: combined_differencing(truth, view, relations, rules))
digest("combined_differencing", found)
hidden = timed("close", lambda: pub.close(truth, relations, start, rules, index))
digest("close", sorted(hidden))
scores = timed("score_index", lambda: pub.score_index(truth, hidden))
digest("score_index", sorted((g, a.tolist(), b.tolist()) for g, (a, b) in scores.items()))
print(json.dumps({"times": times, "digests": digests}))
"""


def one(src: Path, store: Path, closing: Path) -> dict[str, dict[str, object]]:
    """One side's run: CPU seconds and result hash of each function."""
    env = dict(os.environ, PYTHONPATH=str(src))
    env["INCLUSIVE_CITIES_DATA_DIR"] = str(store / "observatory-data")
    out = subprocess.run(
        [str(PYTHON), "-c", CHILD, str(store / "observatory.db"), str(closing)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd="/tmp",
    )
    if out.returncode != 0:
        raise SystemExit(f"{src} failed:\n{out.stderr[-3000:]}")
    result: dict[str, dict[str, object]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def audit(src: Path, store: Path) -> tuple[float, float, str]:
    """``disclosure audit --city DEMO`` on the store with one side's code: (CPU s, wall s,
    its summary line). The stored protection is read, not solved: the audit's own work."""
    env = dict(os.environ, PYTHONPATH=str(src))
    env["INCLUSIVE_CITIES_DATA_DIR"] = str(store / "observatory-data")
    cli = [str(PYTHON), "-c", "import sys; from inclusive_cities.cli import main; sys.exit(main())"]
    database = ["-d", f"sqlite:///{store / 'observatory.db'}"]
    return timed([*cli, *database, "disclosure", "audit", "--city", "DEMO"], env)


def compare_audits(sides: dict[str, Path], store: Path, rounds: int) -> None:
    """Medians of the standalone audit's CPU and wall time, sides alternated."""
    seen: dict[str, list[tuple[float, float, str]]] = {side: [] for side in sides}
    for number in range(rounds):
        order = list(sides) if number % 2 == 0 else list(reversed(sides))
        for side in order:
            seen[side].append(audit(sides[side], store))
            cpu, wall, line = seen[side][-1]
            load = os.getloadavg()[0]
            print(f"audit {side}: cpu {cpu:.1f} s wall {wall:.1f} s load {load:.2f}: {line}")
    for side, runs in seen.items():
        cpu = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        print(f"audit {side}: median cpu {cpu:.1f} s, wall {wall:.1f} s over {len(runs)} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--closing", type=Path, required=True)
    parser.add_argument("--before", type=Path, required=True, help="src of the old commit")
    parser.add_argument("--after", type=Path, default=ROOT / "src")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--audit", action="store_true", help="time the standalone audit command instead"
    )
    args = parser.parse_args()
    sides = {"before": args.before, "after": args.after}
    if args.audit:
        compare_audits(sides, args.store, args.rounds)
        return
    runs: dict[str, list[dict[str, dict[str, object]]]] = {side: [] for side in sides}
    for number in range(args.rounds):
        order = list(sides) if number % 2 == 0 else list(reversed(sides))
        for side in order:
            runs[side].append(one(sides[side], args.store, args.closing))
            print(f"round {number + 1} {side} done, load {os.getloadavg()[0]:.2f}", flush=True)
    names = list(runs["before"][0]["times"])
    print(f"{'function':24} {'before s':>9} {'after s':>9} {'ratio':>6}  same result")
    for name in names:
        before = statistics.median(float(r["times"][name]) for r in runs["before"])  # type: ignore[arg-type]
        after = statistics.median(float(r["times"][name]) for r in runs["after"])  # type: ignore[arg-type]
        same = {r["digests"].get(name) for r in runs["before"] + runs["after"]}
        ratio = before / after if after else float("inf")
        checked = "-" if same == {None} else str(len(same) == 1)
        print(f"{name:24} {before:9.2f} {after:9.2f} {ratio:6.1f}  {checked}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
