"""The indicator catalogue on DuckDB and on Spark (local mode) over the same census Parquet.

Both run the project's own path (``indicators.backends.read_census`` + ``microdata_parts`` +
``finish``) on a synthetic census written exactly as the importer writes it (the generator of
``bench_indicators.py``), and the script checks they give the same value for every block before
printing. Spark's JVM start is timed apart: a cluster pays it once per session, not per query.

Usage:
    .venv/bin/python benchmarks/bench_spark.py [--persons 5000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_indicators import finish_all, generate, specs


def run(engine: str, persons: Path, households: Path) -> dict:
    from inclusive_cities.indicators import microdata_parts
    from inclusive_cities.indicators.backends import read_census

    tables = read_census(engine, {"person": persons, "household": households})
    return {
        record: finish_all(microdata_parts(table, specs(record)).execute(), record)
        for record, table in tables.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spark", default="spark", help="spark (local[*]) or a master URL")
    args = parser.parse_args()
    import ibis.backends.duckdb  # noqa: F401  (imports before the clock, for both)

    from inclusive_cities.indicators.backends import spark_session

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        generate(folder, args.persons)
        print(f"generated {args.persons:,} persons in {time.perf_counter() - start:.1f} s")
        persons, households = (
            folder / "census_persons.parquet",
            folder / "census_households.parquet",
        )
        start = time.perf_counter()
        spark_session(args.spark)
        jvm = time.perf_counter() - start
        print(f"Spark session (JVM) started in {jvm:.1f} s")
        times: dict[str, list[float]] = {"duckdb": [], args.spark: []}
        results = {}
        for i in range(args.repeat):
            for engine in times:
                start = time.perf_counter()
                results[engine] = run(engine, persons, households)
                times[engine].append(time.perf_counter() - start)
                print(f"run {i + 1} {engine:8} {times[engine][-1]:7.2f} s", flush=True)
        duck, spark = results["duckdb"], results[args.spark]
        for record, frame in duck.items():
            other = spark[record]
            assert frame["unit_code"].tolist() == other["unit_code"].tolist(), record
            for column in frame.columns[1:]:
                assert np.allclose(frame[column], other[column], equal_nan=True, rtol=1e-9), column
        print("identical values on both engines")
        medians = {engine: statistics.median(runs) for engine, runs in times.items()}
        for engine, median in medians.items():
            print(f"{engine:8} median {median:7.2f} s")
        print(f"spark / duckdb = {medians[args.spark] / medians['duckdb']:.1f}x")


if __name__ == "__main__":
    main()
