"""``publish`` of the medium demo with a fresh disclosure solve: old code against new (#21).

Each run copies the demo store and its data folder without the stored protection (so the
solve runs), then runs ``publish --city DEMO --period 2024 --layers`` in a child process with
``PYTHONPATH`` set to one side's ``src`` (``--before``: a ``git worktree`` of the old commit;
after: this checkout). Sides alternate within each round. CPU is user + system of the child
(``os.wait4``), printed with the load average (the machine is shared: compare CPU). After each
publish it counts what the public gets: hidden cells (the stored protection) and barrios with
a served ``UIM`` score in the published marker run; ``--audit`` also runs the standalone
``disclosure audit --city DEMO`` on the published copy (its last line: 0 recoverable).

Run: .venv/bin/python benchmarks/bench_publish.py --source /tmp/lead/md2 \\
        --before /tmp/h1/base/src --rounds 3 --work /tmp/h1/s5/bench
"""

from __future__ import annotations

import argparse
import json
import os
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


def one(side: str, src: Path, source: Path, work: Path, audit: bool) -> dict[str, object]:
    db, data = fresh(source, work / side)
    env = dict(os.environ, PYTHONPATH=str(src), INCLUSIVE_CITIES_DATA_DIR=str(data))
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
    parser.add_argument("--source", type=Path, default=Path("/tmp/lead/md2"))
    parser.add_argument("--before", type=Path, help="src of the old commit (git worktree)")
    parser.add_argument("--after", type=Path, default=ROOT / "src", help="src of the new code")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-publish"))
    parser.add_argument("--sides", default="before,after")
    parser.add_argument("--audit", action="store_true", help="also run the standalone audit")
    args = parser.parse_args()
    sides = {"before": args.before, "after": args.after}
    chosen = [s for s in args.sides.split(",") if s]
    results: list[dict[str, object]] = []
    for round_ in range(args.rounds):
        for side in chosen if round_ % 2 == 0 else chosen[::-1]:  # alternate who goes first
            src = sides[side]
            if src is None:
                raise SystemExit("--before is needed for the 'before' side")
            result = one(side, src, args.source, args.work, args.audit)
            print(json.dumps(result, ensure_ascii=False), flush=True)
            results.append(result)
    medians: dict[str, float] = {}
    for side in chosen:
        mine = [r for r in results if r["side"] == side]
        for figure in ("publish_cpu", "publish_wall", "audit_cpu"):
            values = [float(r[figure]) for r in mine if figure in r]  # type: ignore[arg-type]
            if values:
                medians[f"{side} {figure}"] = statistics.median(values)
                print(f"{side} {figure}: median {statistics.median(values):.1f} s of {values}")
    if "before publish_cpu" in medians and "after publish_cpu" in medians:
        ratio = medians["before publish_cpu"] / medians["after publish_cpu"]
        print(f"publish CPU, before / after: {ratio:.2f}x")


if __name__ == "__main__":
    main()
