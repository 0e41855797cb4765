"""CLI start-up (issue #21): wall time, CPU time (user + system) and peak memory of
``inclusive-cities --version``, ``--help`` and a group's and a subcommand's ``--help``, beside a
bare ``python -c pass`` (the floor), plus the heavy packages each one imports. On a loaded
machine the CPU time is the steadier figure: wall time includes waiting for a core.

Every test that spawns the CLI and every step of the demo build pays this start-up, so it is
measured as a whole process (interpreter, imports, parsing, printing), not as an import.

Run: .venv/bin/python benchmarks/bench_cli_startup.py --repeat 10
(an older checkout for "before": ``PYTHONPATH=<exported copy>/src`` in front of the command)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).with_name("inclusive-cities")
HEAVY = (
    "sqlalchemy",
    "pandas",
    "numpy",
    "geopandas",
    "scipy",
    "pyarrow",
    "shapely",
    "duckdb",
    "matplotlib",
    "weasyprint",
    "alembic",
    "pydantic",
)
CASES: dict[str, list[str]] = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "inclusive-cities --version": [str(BIN), "--version"],
    "inclusive-cities --help": [str(BIN), "--help"],
    "inclusive-cities indicators --help": [str(BIN), "indicators", "--help"],
    "inclusive-cities marker build --help": [str(BIN), "marker", "build", "--help"],
}
# a command that opens the store: every one checks the schema version first
DB_URL = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-cli-')) / 'observatory.db'}"
CASES["inclusive-cities db current (a store)"] = [str(BIN), "-d", DB_URL, "db", "current"]


def run_once(command: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one run of ``command``."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(command)} exited with {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def heavy_imports(argv: list[str]) -> list[str]:
    """Heavy top-level packages in ``sys.modules`` after the CLI ran ``argv``."""
    code = (
        "import sys\n"
        "from inclusive_cities.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = next(x for x in done.stderr.splitlines() if x.startswith("HEAVY:"))
    return [m for m in line.removeprefix("HEAVY:").split(",") if m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    subprocess.run([str(BIN), "-d", DB_URL, "init"], check=True, capture_output=True)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{'command':40} {'wall med s':>10} {'CPU med s':>9} {'CPU min s':>9} {'peak MiB':>9}"
        "  heavy imports"
    )
    for name, command in CASES.items():
        run_once(command)  # warm the file cache
        runs = [run_once(command) for _ in range(args.repeat)]
        walls = [wall for wall, _, _ in runs]
        cpus = [cpu for _, cpu, _ in runs]
        heavy = "" if command[0] == sys.executable else ",".join(heavy_imports(command[1:]))
        print(
            f"{name:40} {statistics.median(walls):10.3f} {statistics.median(cpus):9.3f} "
            f"{min(cpus):9.3f} {max(rss for _, _, rss in runs):9.0f}  {heavy or '-'}"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
