"""The two Human Mobility Profiles of the demo build, side by side (issue #21).

"before" runs the profile lane as the build of ``--before-code`` runs it: one second process
rendering the Spanish then the English profile (``python -m inclusive_cities.cli.demo_build
DATABASE LINES``, run through that checkout's ``src``); "after" runs it as ``--code`` does:
held, the same process imports first, then (let go at once here) forks one copy per language.
Each side works on its own copy of a built demo (``--demo``, e.g. /tmp/lead/md0; never
written). Rounds alternate the sides; wall and CPU (user + system of the lane and all its
processes, ``os.wait4``) per run, medians, the load printed. ``--single`` also times one
``report profile --lang es`` command line per side.

    .venv/bin/python benchmarks/bench_profile_lane.py --demo /tmp/lead/md0 \\
        --before-code /tmp/base/src --code src --rounds 3 --single
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_demo(demo: Path, into: Path) -> Path:
    """The store, its data folder and the survey rounds of a built demo."""
    into.mkdir(parents=True)
    for name in ("observatory.db", "observatory-data", "hfs"):
        source = demo / name
        if source.is_dir():
            shutil.copytree(source, into / name)
        else:
            shutil.copy2(source, into / name)
    return into


def profile_line(folder: Path, lang: str) -> list[str]:
    return ["report", "profile", "--city", "DEMO", "--period", "2024", "--lang", lang,
            "--hfs", str(folder / "hfs" / "mapping.yaml"),
            "--out", str(folder / "reports" / f"perfil-{lang}.pdf")]  # fmt: skip


def timed(
    command: list[str], env: dict[str, str], stdin: bytes | None = None
) -> tuple[float, float]:
    """Wall and CPU seconds of a command and every process it started."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stderr is not None
    if stdin:
        child.stdin.write(stdin)
    child.stdin.close()
    errors = child.stderr.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(command)} failed:\n{errors.decode()[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, required=True, help="a built demo (not written)")
    parser.add_argument("--before-code", type=Path, required=True, help="src of 'before'")
    parser.add_argument("--code", type=Path, default=ROOT / "src", help="src of 'after'")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--single", action="store_true", help="also one 'report profile' line")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-profile-lane-"))
    sides = {"before": args.before_code.resolve(), "after": args.code.resolve()}
    folders = {side: copy_demo(args.demo, work / side) for side in sides}
    results: dict[str, list[tuple[float, float]]] = {f"{kind} {side}": [] for kind in
               ("lane", "single") for side in sides}  # fmt: skip
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for round_ in range(args.rounds):
        for side in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
            folder = folders[side]
            (folder / "reports").mkdir(exist_ok=True)
            env = {**os.environ, "PYTHONPATH": str(sides[side]),
                   "INCLUSIVE_CITIES_DATA_DIR": str(folder / "observatory-data")}  # fmt: skip
            database = f"sqlite:///{folder / 'observatory.db'}"
            lines = json.dumps([profile_line(folder, lang) for lang in ("es", "en")])
            lane = [sys.executable, "-m", "inclusive_cities.cli.demo_build", database, lines]
            if side == "after":
                wall, cpu = timed([*lane, "--held"], env, stdin=b"go\n")
            else:
                wall, cpu = timed(lane, env)
            results[f"lane {side}"].append((wall, cpu))
            line = (
                f"round {round_ + 1} {side:6} lane (es + en): wall {wall:5.1f} s, CPU {cpu:5.1f} s"
            )
            if args.single:
                command = [sys.executable, "-m", "inclusive_cities.cli.demo_build", database,
                           json.dumps([profile_line(folder, "es")])]  # fmt: skip
                wall, cpu = timed(command, env)
                results[f"single {side}"].append((wall, cpu))
                line += f"; report profile es alone: wall {wall:5.1f} s, CPU {cpu:5.1f} s"
            print(f"{line} (load {os.getloadavg()[0]:.2f})", flush=True)
    print()
    for name, runs in results.items():
        if runs:
            print(f"{name:14} median wall {statistics.median(w for w, _ in runs):5.1f} s, "
                  f"median CPU {statistics.median(c for _, c in runs):5.1f} s")  # fmt: skip
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
