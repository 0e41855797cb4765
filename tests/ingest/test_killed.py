"""A process killed in the middle of an import leaves the store (and the data dir) as it was."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import Engine

from inclusive_cities.ingest import import_boundaries, import_census, microdata_path
from inclusive_cities.store import init_database
from tests.ingest.conftest import (
    DEMO_LEVELS,
    files_under,
    households_file,
    snapshot,
    write_levels,
)

BOUNDARIES = """
    from inclusive_cities.ingest import LevelSpec, import_boundaries
    levels = [LevelSpec("localidad", layer="localidad"), LevelSpec("barrio", layer="barrio")]
    def stop(step, done, total):
        if step.startswith("Storing level") and done == 1:  # level 1 is written, not committed
            print("READY", flush=True)
            time.sleep(120)
    import_boundaries(engine, sys.argv[2], levels, city="NEW", progress=stop)
"""

CENSUS = """
    from inclusive_cities.ingest import import_census
    def stop():  # the new Parquet is in place, the batch flushed, the commit not yet done
        print("READY", flush=True)
        time.sleep(120)
    import_census(engine, sys.argv[2], record="households", city="TST", period="2024",
                  data_dir=sys.argv[3], before_commit=stop)
"""


def run_and_kill(script: str, *args: str) -> None:
    code = "import sys, time\nfrom inclusive_cities.store import connect\n"
    code += "engine = connect(sys.argv[1])\n" + textwrap.dedent(script)
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == "READY", process.stderr.read() if process.stderr else line
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()


def test_killed_import_on_both_engines(db_url: str, tmp_path: Path) -> None:
    engine = init_database(db_url)
    import_boundaries(engine, write_levels(tmp_path / "old.gpkg"), DEMO_LEVELS, city="TST")
    before = snapshot(engine)
    run_and_kill(BOUNDARIES, db_url, str(write_levels(tmp_path / "new.gpkg")))
    assert snapshot(engine) == before


def test_killed_census_import_leaves_store_and_file_unchanged(
    city: Engine, tmp_path: Path, sqlite_url: str
) -> None:
    data = tmp_path / "data"
    first = households_file(tmp_path / "v1.csv")
    old = import_census(city, first, record="households", city="TST", period="2024", data_dir=data)
    before, files = snapshot(city), files_under(data)
    second = households_file(tmp_path / "v2.csv", [])
    second.write_text(
        first.read_text(encoding="utf-8").replace("1500000", "1600000"), encoding="utf-8"
    )
    run_and_kill(CENSUS, sqlite_url, str(second), str(data))
    assert snapshot(city) == before
    # the next import notices the interrupted swap and puts the committed file back
    again = import_census(
        city, first, record="households", city="TST", period="2024", data_dir=data
    )
    assert again.status == "unchanged"
    assert files_under(data) == files
    path = microdata_path(data, "TST", "2024", "households")
    meta = dict(
        duckdb.connect().execute(f"SELECT key, value FROM parquet_kv_metadata('{path}')").fetchall()
    )
    assert meta[b"source_sha256"].decode() == old.sha256
    assert duckdb.connect().execute(f"SELECT sum(monthly_income) FROM '{path}'").fetchone() == (
        pytest.approx(4_500_000),
    )
