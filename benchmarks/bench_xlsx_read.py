"""Reading KoBo-style XLSX exports: pandas with calamine (ours) against pandas with openpyxl.

The survey import reads every sheet of the survey export as text, and the Human Mobility
Profile reads each HFS round the same way. Both sides run in this process, alternated, on the
same files; CPU time (user + system) is compared, and the frames both sides read are checked
to be identical cell by cell (the change must not alter one value).

    .venv/bin/python benchmarks/bench_xlsx_read.py DEMO_DIR --repeat 5

``DEMO_DIR`` is a built demo (``inclusive-cities demo build DIR --size medium``): its
``survey/data.xlsx`` and ``hfs/hfs_round1.xlsx`` are read.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import warnings
from pathlib import Path

import pandas as pd


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _read(path: Path, engine: str) -> dict[str, pd.DataFrame]:
    return pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False, engine=engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    warnings.simplefilter("ignore")  # pandas 3 announces calamine as its next default
    files = [options.demo / "survey" / "data.xlsx", options.demo / "hfs" / "hfs_round1.xlsx"]
    print(f"{'file':<18} {'rows':>7} {'openpyxl s':>11} {'calamine s':>11} {'ratio':>6} same")
    for path in files:
        times: dict[str, list[float]] = {"openpyxl": [], "calamine": []}
        frames: dict[str, dict[str, pd.DataFrame]] = {}
        for _round in range(options.repeat):
            for engine in times:  # alternated, so a busy moment hits both sides
                start = _cpu()
                frames[engine] = _read(path, engine)
                times[engine].append(_cpu() - start)
        same = frames["openpyxl"].keys() == frames["calamine"].keys() and all(
            frames["openpyxl"][name].equals(frames["calamine"][name]) for name in frames["openpyxl"]
        )
        rows = sum(len(frame) for frame in frames["calamine"].values())
        slow, fast = statistics.median(times["openpyxl"]), statistics.median(times["calamine"])
        print(f"{path.name:<18} {rows:>7} {slow:>11.2f} {fast:>11.2f} {slow / fast:>5.1f}× {same}")


if __name__ == "__main__":
    main()
