"""``publish`` of the medium demo city with a fresh disclosure solve, before against after (#21).

Each round copies the demo store and its data folder (without the stored protection, so the
solve runs), then runs ``publish --city DEMO --period 2024 --layers`` and
``disclosure audit --city DEMO`` as separate processes with ``PYTHONPATH`` set to one side's
``src`` (``--before``: a ``git archive`` of the old commit; after: this checkout). Sides
alternate within a round. CPU is user + system of the child (``os.wait4``); the load average
is printed with each run (the machine is shared: compare CPU, not wall). After each publish it
counts what the public gets: suppressed cells (the stored protection's hidden set) and barrios
with a served ``UIM`` score in the published marker run (the OGC items' ``score_UIM``).

Run: .venv/bin/python benchmarks/bench_disclosure.py --source /tmp/lead/md \
        --before /tmp/h1/before/src --rounds 3 --work /tmp/h1/bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

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
hidden = len(pickle.loads(stored.read_bytes())["ids"]["hidden"])
with Session(engine) as s:
    runs = s.scalars(select(models.MarkerRun).where(models.MarkerRun.published.is_(True))).all()
    out = {"hidden": hidden}
    for run in runs:
        served = run_scores(s, run.id)
        if "UIM" in served.nodes:
            column = served.column("UIM")
            out[f"run {run.id} UIM"] = [int(np.sum(~np.isnan(column))), len(column)]
print(out)
"""


def fresh(source: Path, into: Path) -> tuple[Path, Path]:
    """A copy of the store and its data folder, without the stored protection."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    shutil.copy2(source / "observatory.db", into / "observatory.db")
    shutil.copytree(
        source / "observatory-data",
        into / "observatory-data",
        ignore=shutil.ignore_patterns("protection-*.pickle"),
    )
    return into / "observatory.db", into / "observatory-data"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(CPU s of the child: user + system, wall s, its output's last line)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output[-3000:]}")
    last = [line for line in output.splitlines() if line.strip()][-1:] or [""]
    return usage.ru_utime + usage.ru_stime, wall, last[0]


def one(side: str, src: Path, source: Path, work: Path) -> dict[str, object]:
    db, data = fresh(source, work / side)
    env = dict(os.environ, PYTHONPATH=str(src), INCLUSIVE_CITIES_DATA_DIR=str(data))
    cli = [str(PYTHON), "-c", "import sys; from inclusive_cities.cli import main; sys.exit(main())"]
    load = os.getloadavg()[0]
    store = ["-d", f"sqlite:///{db}"]
    publish_cpu, publish_wall, _line = timed(
        [*cli, *store, "publish", "--city", "DEMO", "--period", "2024", "--layers"], env
    )
    audit_cpu, audit_wall, summary = timed(
        [*cli, *store, "disclosure", "audit", "--city", "DEMO"], env
    )
    counted = subprocess.run(
        [str(PYTHON), "-c", COUNT, str(db), str(data)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {
        "side": side,
        "load": round(load, 1),
        "publish_cpu": round(publish_cpu, 1),
        "publish_wall": round(publish_wall, 1),
        "audit_cpu": round(audit_cpu, 1),
        "audit_wall": round(audit_wall, 1),
        "audit": summary,
        "public": counted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/tmp/lead/md"))
    parser.add_argument("--before", type=Path, help="src of the old commit (git archive)")
    parser.add_argument(
        "--after", type=Path, default=ROOT / "src", help="src of the new code (default: here)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-disclosure"))
    parser.add_argument("--sides", default="before,after")
    args = parser.parse_args()
    sides = {"before": args.before, "after": args.after}
    chosen = [s for s in args.sides.split(",") if s]
    results: list[dict[str, object]] = []
    for round_ in range(args.rounds):
        order = chosen if round_ % 2 == 0 else chosen[::-1]  # alternate who goes first
        for side in order:
            src = sides[side]
            if src is None:
                raise SystemExit("--before is needed for the 'before' side")
            result = one(side, src, args.source, args.work)
            print(json.dumps(result, ensure_ascii=False), flush=True)
            results.append(result)
    for side in chosen:
        mine = [r for r in results if r["side"] == side]
        for figure in ("publish_cpu", "audit_cpu", "publish_wall", "audit_wall"):
            values = [float(r[figure]) for r in mine]  # type: ignore[arg-type]
            print(f"{side} {figure}: median {statistics.median(values):.1f} s of {values}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
