"""``publish`` of the medium demo with a fresh disclosure solve: old code against new (#21).

Each run copies the demo store and its data folder without the stored protection (so the
solve runs), then runs ``publish --city DEMO --period 2024 --layers`` in a child process with
``PYTHONPATH`` set to one side's ``src`` (``--before``: a ``git worktree`` of the old commit;
after: this checkout). Sides alternate within each round. CPU is user + system of the child
(``os.wait4``), printed with the load average (the machine is shared: compare CPU). After each
publish it counts what the public gets: hidden cells (the stored protection) and barrios with
a served ``UIM`` score in the published marker run; ``--audit`` also runs the standalone
``disclosure audit --city DEMO`` on the published copy (its last line: 0 recoverable).

A side ``after:N`` runs this checkout with ``INCLUSIVE_CITIES_SOLVER_WORKERS=N`` (the
processes ``publish`` shares the secondary suppression's components among; ``after`` is
``after:<--workers>``). ``--truth`` times ``publication.compute`` alone on a pickled truth
(``(truth, parents, codes)``) instead of ``publish`` and checks that every side hides the
same set (and the set of ``--expect``, a pickled sorted list of keys, when given).

Run: .venv/bin/python benchmarks/bench_publish.py --source /tmp/lead/md0 \\
        --before /tmp/h1/base/src --rounds 3 --work /tmp/h1/bench --workers 2
     .venv/bin/python benchmarks/bench_publish.py --truth /tmp/lead/drv/truth.pickle \\
        --expect /tmp/lead/drv/hidden0.pickle --before /tmp/h1/base/src \\
        --sides before,after:1,after:2 --rounds 3 --work /tmp/h1/bench
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import statistics
import subprocess
from pathlib import Path

from bench_disclosure import fresh, timed  # the same copy-without-protection and timer

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
COUNT = """
import pickle, sys
from pathlib import Path
import numpy as np
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from inclusive_cities.disclosure.served import run_scores
from inclusive_cities.store import models
engine = create_engine("sqlite:///" + sys.argv[1])
(stored,) = (Path(sys.argv[2]) / "disclosure").glob("protection-*.pickle")
ids = pickle.loads(stored.read_bytes())["ids"]
out = {"hidden": len(ids["hidden"]), "protected": len(ids["protected"])}
with Session(engine) as s:
    runs = s.scalars(select(models.MarkerRun).where(models.MarkerRun.published.is_(True))).all()
    for run in runs:
        served = run_scores(s, run.id)
        if "UIM" in served.nodes:
            column = served.column("UIM")
            out[f"run {run.id} UIM"] = [int(np.sum(~np.isnan(column))), len(column)]
print(out)
"""


COMPUTE = """
import contextlib, pickle, sys
from inclusive_cities.disclosure.publication import compute
from inclusive_cities.disclosure.rules import Rules
try:
    from inclusive_cities.disclosure.secondary import parallel_solves
except ImportError:  # the old code: one process
    parallel_solves = contextlib.nullcontext
truth, parents, codes = pickle.load(open(sys.argv[1], "rb"))
with parallel_solves():
    result = compute(truth, parents, codes, Rules())
pickle.dump(sorted(result.hidden), open(sys.argv[2], "wb"))
print(len(result.hidden))
"""


def environment(side: str, src: Path, workers: int) -> dict[str, str]:
    """The side's ``PYTHONPATH`` and, for ``after:N``, its number of solver processes."""
    env = dict(os.environ, PYTHONPATH=str(src))
    env.pop("INCLUSIVE_CITIES_SOLVER_WORKERS", None)
    if side.startswith("after"):
        env["INCLUSIVE_CITIES_SOLVER_WORKERS"] = side.partition(":")[2] or str(workers)
    return env


def digest(path: Path) -> str:
    """A short fingerprint of a pickled sorted list of keys (the same set, the same text)."""
    keys = pickle.loads(path.read_bytes())
    return hashlib.sha256(repr(sorted(keys)).encode()).hexdigest()[:12]


def one_compute(
    side: str, env: dict[str, str], truth: Path, work: Path, expect: Path | None
) -> dict[str, object]:
    """``compute`` on the pickled truth in a child process: its CPU (with its workers'),
    wall, and the fingerprint of the hidden set it found."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / f"hidden-{side.replace(':', '-')}.pickle"
    load = os.getloadavg()[0]
    cpu, wall, count = timed([str(PYTHON), "-c", COMPUTE, str(truth), str(out)], env)
    result: dict[str, object] = {
        "side": side,
        "load": round(load, 1),
        "load_after": round(os.getloadavg()[0], 1),
        "compute_cpu": round(cpu, 1),
        "compute_wall": round(wall, 1),
        "hidden": int(count),
        "set": digest(out),
    }
    if expect is not None:
        result["same_as_expected"] = result["set"] == digest(expect)
    return result


def one(side: str, env: dict[str, str], source: Path, work: Path, audit: bool) -> dict[str, object]:
    db, data = fresh(source, work / side.replace(":", "-"))
    env = dict(env, INCLUSIVE_CITIES_DATA_DIR=str(data))
    cli = [str(PYTHON), "-c", "import sys; from inclusive_cities.cli import main; sys.exit(main())"]
    store = ["-d", f"sqlite:///{db}", "--lang", "en"]
    load = os.getloadavg()[0]
    cpu, wall, _line = timed(
        [*cli, *store, "publish", "--city", "DEMO", "--period", "2024", "--layers"], env
    )
    result: dict[str, object] = {
        "side": side,
        "load": round(load, 1),
        "load_after": round(os.getloadavg()[0], 1),
        "publish_cpu": round(cpu, 1),
        "publish_wall": round(wall, 1),
    }
    if audit:
        audit_cpu, audit_wall, summary = timed(
            [*cli, *store, "disclosure", "audit", "--city", "DEMO"], env
        )
        result |= {"audit_cpu": round(audit_cpu, 1), "audit_wall": round(audit_wall, 1)}
        result["audit"] = summary
    result["public"] = subprocess.run(
        [str(PYTHON), "-c", COUNT, str(db), str(data)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/tmp/lead/md0"))
    parser.add_argument("--before", type=Path, help="src of the old commit (git worktree)")
    parser.add_argument("--after", type=Path, default=ROOT / "src", help="src of the new code")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-publish"))
    parser.add_argument("--sides", default="before,after", help="before, after, after:N")
    parser.add_argument("--workers", type=int, default=2, help="processes of the 'after' side")
    parser.add_argument("--audit", action="store_true", help="also run the standalone audit")
    parser.add_argument("--truth", type=Path, help="time compute() on this pickled truth")
    parser.add_argument("--expect", type=Path, help="the hidden set every side must find")
    args = parser.parse_args()
    chosen = [s for s in args.sides.split(",") if s]
    results: list[dict[str, object]] = []
    for round_ in range(args.rounds):
        for side in chosen if round_ % 2 == 0 else chosen[::-1]:  # alternate who goes first
            src = args.before if side == "before" else args.after
            if src is None:
                raise SystemExit("--before is needed for the 'before' side")
            env = environment(side, src, args.workers)
            if args.truth is not None:
                result = one_compute(side, env, args.truth, args.work, args.expect)
            else:
                result = one(side, env, args.source, args.work, args.audit)
            print(json.dumps(result, ensure_ascii=False), flush=True)
            results.append(result)
    summarise(results, chosen, "compute" if args.truth is not None else "publish")


def summarise(results: list[dict[str, object]], chosen: list[str], what: str) -> None:
    """Medians per side, and before / each other side for CPU and wall."""
    medians: dict[str, float] = {}
    for side in chosen:
        mine = [r for r in results if r["side"] == side]
        for figure in (f"{what}_cpu", f"{what}_wall", "audit_cpu"):
            values = [float(r[figure]) for r in mine if figure in r]  # type: ignore[arg-type]
            if values:
                medians[f"{side} {figure}"] = statistics.median(values)
                print(f"{side} {figure}: median {statistics.median(values):.1f} s of {values}")
    sets = {str(r["set"]) for r in results if "set" in r}
    if sets:
        print(f"hidden sets: {len(sets)} distinct ({', '.join(sorted(sets))})")
    for side in chosen:
        if side == "before" or f"before {what}_cpu" not in medians:
            continue
        for figure in ("cpu", "wall"):
            ratio = medians[f"before {what}_{figure}"] / medians[f"{side} {what}_{figure}"]
            print(f"{what} {figure.upper()}, before / {side}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
