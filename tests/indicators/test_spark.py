"""The catalogue on Spark (local mode, a real JVM) gives DuckDB's values, end to end.

A national office aggregates its census on Spark with ``indicators compute --engine spark``;
these tests run the same command on the test town twice, once per engine, and compare every
stored observation, then check one value against a plain-Python reference.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inclusive_cities.cli import main
from inclusive_cities.indicators.backends import spark_session
from tests.indicators import city
from tests.indicators.test_pipeline import build, compute, observations


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[list, list]:
    results = []
    for engine in ("spark", "duckdb"):
        folder = tmp_path_factory.mktemp(engine)
        url, layers = build(f"sqlite:///{folder / 'observatory.db'}", folder)
        compute(url, "--layers", str(layers), "--engine", engine)
        if engine == "spark":  # the census really went through Spark's jobs
            tracker = spark_session().sparkContext.statusTracker()
            assert len(tracker.getJobIdsForGroup()) > 0
            spark_session().stop()  # free the JVM's memory for the rest of the suite
        results.append(sorted(observations(url), key=lambda row: tuple(map(str, row[:5]))))
    return results[0], results[1]


def test_spark_stores_the_values_duckdb_stores(both_engines) -> None:
    on_spark, on_duckdb = both_engines
    assert len(on_spark) == len(on_duckdb) > 300
    for spark_row, duck_row in zip(on_spark, on_duckdb, strict=True):
        # indicator, unit, sex, age group, nationality, status, source and batch are identical
        assert spark_row[:5] == duck_row[:5]
        assert spark_row[7:] == duck_row[7:]
        for got, expected in ((spark_row[5], duck_row[5]), (spark_row[6], duck_row[6])):
            if expected is None or (isinstance(expected, float) and math.isnan(expected)):
                assert got is None or math.isnan(got)
            else:
                assert got == pytest.approx(expected, rel=1e-9)


def test_spark_value_matches_a_hand_computed_median(both_engines) -> None:
    on_spark, _ = both_engines
    expected, n = city.household_reference(
        "rent_burden", [r for r in city.households() if r["unit_code"].startswith("02")]
    )
    got = [row for row in on_spark if row[0] == "rent_burden" and row[1] == "02" and row[2] == "_T"]
    assert len(got) == 1
    assert got[0][5] == pytest.approx(expected)
    assert got[0][6] == n


def test_unknown_engine_is_one_line_and_writes_nothing(tmp_path: Path, capsys) -> None:
    url, _layers = build(f"sqlite:///{tmp_path / 'observatory.db'}", tmp_path)
    with pytest.raises(SystemExit) as stop:
        command = ["indicators", "compute", "--city", "TST", "--period", "2024"]
        main(["--database", url, *command, "--engine", "oracle"])
    assert stop.value.code == 1
    error = capsys.readouterr().err.strip()
    assert "oracle" in error and "spark" in error and len(error.splitlines()) == 1
    assert observations(url) == []


def test_without_java_spark_says_so_in_one_line(tmp_path: Path) -> None:
    url, _layers = build(f"sqlite:///{tmp_path / 'observatory.db'}", tmp_path)
    environment = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java"), "PATH": "/usr/bin:/bin"}
    environment.pop("PYSPARK_PYTHON", None)
    command = ["indicators", "compute", "--city", "TST", "--period", "2024", "--engine", "spark"]
    done = subprocess.run(
        [str(Path(sys.executable).parent / "inclusive-cities"), "--database", url, *command],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "Java 17" in last and "JAVA_HOME" in last
    assert observations(url) == []
