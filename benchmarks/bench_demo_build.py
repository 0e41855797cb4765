"""The whole demo build (issue #21): one process per command line (before) against
``demo build`` (one process, two lines beside the writer), per step and in total.

"Before" is ``scripts/build-demo.sh`` of an older commit (``--before REV``) run from an
exported copy of that commit; "after" is the current script. Both run against the code of
``--code`` (default: this checkout), so only the way the steps are run differs, not the
engines other people are speeding up. Rounds alternate the two sides (interleaved on a
shared machine); each round starts from a generated city copied in (generation is timed
once, it is the same code on both sides). CPU time is user + system of the build and every
process it started. ``--check`` compares the row count of every table of the two stores.

Run: .venv/bin/python benchmarks/bench_demo_build.py --size small --rounds 2 --check

``--before-code SRC`` compares two schedules of ``demo build`` instead: "before" runs the
current script against the ``src`` of another checkout (e.g. ``git archive`` of an older
commit), "after" against ``--code``; each side's per-step table is printed, the steps
beside the writer marked ‖.

    .venv/bin/python benchmarks/bench_demo_build.py --size medium --rounds 2 \
        --before-code /tmp/base/src --code /tmp/after/src
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMED = (
    'ic() { local TIMEFORMAT="%R %U %S $*"; '
    '{ time .venv/bin/inclusive-cities --database "$db" "$@" 2>&3; } 3>&2 2>>"$STEP_LOG"; }'
)


def export(revision: str, into: Path) -> Path:
    """The ``src`` and ``scripts`` of a commit, written out (``git archive``)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src", "scripts"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def old_script(before: Path) -> Path:
    """The old script, its ``ic`` wrapped to log each line's wall, user and system time."""
    script = before / "scripts" / "build-demo.sh"
    text = script.read_text()
    text, count = re.subn(r"^ic\(\) \{.*\}$", TIMED, text, count=1, flags=re.MULTILINE)
    if count != 1:
        raise SystemExit(f"{script}: no 'ic() {{ … }}' line to time")
    timed = before / "build-demo-timed.sh"
    timed.write_text(text)
    return timed


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (the process and all its children) and the output of one build."""
    start = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(command)} failed:\n{output[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, output


def row_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", default="ec7ca5f", help="commit of the old build script")
    parser.add_argument("--code", type=Path, default=ROOT / "src", help="the src both sides run")
    parser.add_argument("--check", action="store_true", help="compare the stores' row counts")
    parser.add_argument(
        "--before-code", type=Path, help="src of the 'before' side (current script on both)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-demo-build-"))
    env = {**os.environ, "PYTHONPATH": str(args.code.resolve())}
    if args.before_code is None:
        before = old_script(export(args.before, work / "before"))
    else:
        before = ROOT / "scripts" / "build-demo.sh"
        print(f"before: demo build of {args.before_code}; after: demo build of {args.code}")
    env.pop("INCLUSIVE_CITIES_DATABASE_URL", None)
    city = work / "city"
    wall, cpu, _ = run(
        [".venv/bin/inclusive-cities", "demo", "generate", "--out", str(city), "--size", args.size],
        env,
    )
    (city / f"{args.size}.done").touch()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"demo generate ({args.size}): wall {wall:.1f} s, CPU {cpu:.1f} s (same on both sides)")
    totals: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    steps: dict[str, list[str]] = {}
    for round_ in range(args.rounds):
        for side in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
            target = work / f"{side}-{round_}"
            shutil.copytree(city, target / "city")
            log = work / f"{side}-{round_}.steps"
            script = before if side == "before" else ROOT / "scripts" / "build-demo.sh"
            side_env = {**env, "STEP_LOG": str(log)}
            if side == "before" and args.before_code is not None:
                side_env["PYTHONPATH"] = str(args.before_code.resolve())
            load = os.getloadavg()[0]
            wall, cpu, output = run(["bash", str(script), str(target), args.size], side_env)
            totals[side].append((wall, cpu))
            print(f"round {round_ + 1} {side:6}: wall {wall:6.1f} s, CPU {cpu:6.1f} s "
                  f"(load {load:.2f} at start)", flush=True)  # fmt: skip
            if side == "before" and args.before_code is None:
                steps[side] = log.read_text().splitlines()
            else:
                steps[side] = [
                    line for line in output.splitlines() if re.match(r" *\d+\.\d ", line)
                ]
    for side in ("before", "after"):
        print(f"\n{side}: per step of the last round (wall s, CPU s, line)")
        for line in steps[side]:
            print("  " + line)
    print()
    for side, runs in totals.items():
        print(
            f"{side:6} median wall {statistics.median(w for w, _ in runs):6.1f} s, "
            f"median CPU {statistics.median(c for _, c in runs):6.1f} s"
        )
    ratio = statistics.median(c for _, c in totals["before"]) / statistics.median(
        c for _, c in totals["after"]
    )
    print(f"CPU before / after: {ratio:.2f}x")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.check:
        old = row_counts(work / "before-0" / "observatory.db")
        new = row_counts(work / "after-0" / "observatory.db")
        differ = {
            t: (old.get(t), new.get(t)) for t in old.keys() | new.keys() if old.get(t) != new.get(t)
        }
        print(f"row counts: {len(old)} tables, {sum(old.values())} rows before, "
              f"{sum(new.values())} after; differing: {differ or 'none'}")  # fmt: skip
        if differ:
            raise SystemExit(1)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
