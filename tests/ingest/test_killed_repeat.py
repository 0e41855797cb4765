"""Census imports killed (SIGKILL) at 20 random moments: the store and the files agree.

A kill between the rename of the new Parquet and the commit used to leave the new file in
place while the store still recorded the old batch, so ``indicators compute`` read data
that had been rolled back. Now every import writes a file of its own and the committed
batch names it. Each run here imports a file with a different income, kills the process
at a random delay, then checks that the active batch's file exists and holds exactly the
data of that batch (its source hash, row count and income total), and that a file no
batch names is never the one behind the fixed name.

The imports run in processes forked from one helper that has already imported the
package, so 20 kills take seconds, not the 20 interpreter start-ups.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
from sqlalchemy import Engine, select

from inclusive_cities.ingest import import_census, microdata_path
from inclusive_cities.ingest.common import sha256_file
from inclusive_cities.store import models, transaction
from inclusive_cities.surveys import load_design
from inclusive_cities.surveys.demo_survey import generate_demo_survey
from inclusive_cities.surveys.kobo import locate, read_kobo
from inclusive_cities.surveys.storage import load_survey, store_survey
from tests.ingest.conftest import household, households_file, snapshot
from tests.ingest.test_killed import run_and_kill
from tests.surveys.helpers import tiny_boundaries, tiny_store

RUNS = 20
ROWS = 3000
UNITS = ("01001", "01002", "02001")

FORKER = textwrap.dedent(
    """
    import os, sys
    from inclusive_cities.store import connect
    from inclusive_cities.ingest import import_census
    print("READY", flush=True)
    for line in sys.stdin:
        database, source, data = line.rstrip("\\n").split("\\t")
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                import_census(connect(database), source, record="households", city="TST",
                              period="2024", data_dir=data)
                code = 0
            finally:
                os._exit(code)
        print(pid, flush=True)
        sys.stdin.readline()  # the test has sent its kill: reap the child now
        _pid, status = os.waitpid(pid, 0)
        print(status, flush=True)
    """
)


def version_file(folder: Path, index: int) -> tuple[Path, int]:
    """A households file whose every income is 1,000,000 + index (its total is known)."""
    income = 1_000_000 + index
    rows = [
        household(UNITS[i % 3], f"H{i}", H_INGRESO=income, H_PERSONAS=1 + i % 5)
        for i in range(ROWS)
    ]
    return households_file(folder / f"v{index}.csv", rows), income * ROWS


def active_batch(engine: Engine) -> models.ImportBatch:
    with transaction(engine) as session:
        batches = session.scalars(
            select(models.ImportBatch).where(
                models.ImportBatch.kind == "census_households",
                models.ImportBatch.status == "active",
            )
        ).all()
        assert len(batches) == 1, [b.id for b in batches]
        session.expunge(batches[0])
        return batches[0]


def contents(path: Path) -> tuple[str, int, float]:
    """(source sha256 in the Parquet metadata, rows, income total) of a canonical file."""
    con = duckdb.connect()
    meta = dict(con.execute(f"SELECT key, value FROM parquet_kv_metadata('{path}')").fetchall())
    rows, total = con.execute(f"SELECT count(*), sum(monthly_income) FROM '{path}'").fetchone()  # type: ignore[misc]
    return meta[b"source_sha256"].decode(), int(rows), float(total)


def assert_agree(engine: Engine, data: Path, totals: dict[str, int]) -> str:
    """The active batch's file holds that batch's data; returns the batch's sha256."""
    batch = active_batch(engine)
    path = Path(batch.details["parquet"])
    assert path.exists(), f"batch {batch.id} names {path}, which is missing"
    sha, rows, total = contents(path)
    assert (sha, rows, total) == (batch.sha256, batch.rows_accepted, totals[batch.sha256])
    fixed = microdata_path(data, "TST", "2024", "households")
    if fixed.exists() and not fixed.samefile(path):
        # only between a commit and the relinking just after it: then the fixed name still
        # holds the batch that was replaced, never a rolled-back one
        assert contents(fixed)[0] in totals
    return batch.sha256


def test_twenty_random_kills_leave_store_and_files_in_agreement(
    city: Engine, tmp_path: Path, sqlite_url: str
) -> None:
    data = tmp_path / "data"
    sources = [version_file(tmp_path, index) for index in range(RUNS + 1)]
    totals = {sha256_file(p): total for p, total in sources}
    first = import_census(
        city, sources[0][0], record="households", city="TST", period="2024", data_dir=data
    )
    assert first.rows_accepted == ROWS
    forker = subprocess.Popen(
        [sys.executable, "-c", FORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    chance = random.Random(15)
    outcomes = {"killed before commit": 0, "killed after commit": 0, "finished": 0}
    try:
        assert forker.stdout is not None and forker.stdin is not None
        assert forker.stdout.readline().strip() == "READY"
        # one import left to finish, timed, so that the kills spread over a whole import
        started = time.perf_counter()
        forker.stdin.write(f"{sqlite_url}\t{sources[RUNS][0]}\t{data}\nreap\n")
        forker.stdin.flush()
        forker.stdout.readline()
        assert forker.stdout.readline().strip() == "0"
        duration = time.perf_counter() - started
        assert_agree(city, data, totals)
        print(f"one forked import: {duration:.2f} s")
        for index in range(1, RUNS + 1):
            before = assert_agree(city, data, totals)
            forker.stdin.write(f"{sqlite_url}\t{sources[index][0]}\t{data}\n")
            forker.stdin.flush()
            pid = int(forker.stdout.readline())
            time.sleep(chance.uniform(0.0, 1.3 * duration))
            os.kill(pid, signal.SIGKILL)  # a zombie until the forker reaps it: harmless
            forker.stdin.write("reap\n")
            forker.stdin.flush()
            status = int(forker.stdout.readline())
            after = assert_agree(city, data, totals)
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
                outcomes["finished"] += 1
                assert after == sha256_file(sources[index][0])
            else:
                assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
                outcomes["killed before commit" if after == before else "killed after commit"] += 1
    finally:
        forker.kill()
        forker.wait(timeout=30)
    # every outcome happened at least once over the 20 runs, so the kills did land in the
    # import and not only before or after it
    print(f"kill outcomes over {RUNS} runs: {outcomes}")
    assert sum(outcomes.values()) == RUNS
    assert outcomes["killed before commit"] > 0 and outcomes["finished"] > 0, outcomes
    # the next import settles the folder: the committed file and its fixed name, nothing else
    again = import_census(
        city, sources[RUNS][0], record="households", city="TST", period="2024", data_dir=data
    )
    committed = Path(active_batch(city).details["parquet"])
    assert again.status in ("imported", "unchanged")
    assert sorted(p.name for p in (data / "microdata/TST/2024").iterdir()) == sorted(
        [committed.name, "households.parquet"]
    )
    assert microdata_path(data, "TST", "2024", "households").samefile(committed)
    assert contents(committed)[2] == totals[active_batch(city).sha256]


SURVEY = """
    import sys, time
    from pathlib import Path
    from inclusive_cities.store import connect
    from inclusive_cities.surveys import load_design
    from inclusive_cities.surveys.kobo import locate, read_kobo
    from inclusive_cities.surveys.storage import store_survey
    form, data, design_path, folder = (Path(a) for a in sys.argv[2:6])
    design = load_design(design_path)
    result = locate(read_kobo(form, data), unit_column=design.unit_column)
    def stop():  # the new folder is in place, the batch flushed, the commit not yet done
        print("READY", flush=True)
        time.sleep(120)
    store_survey(connect(sys.argv[1]), result, design, city="DEMO", period="2024",
                 sources=[form, data], data_dir=folder, before_commit=stop)
"""


def test_killed_survey_import_is_never_read(tmp_path: Path) -> None:
    """The same for survey microdata: the committed folder stays the one read."""
    boundaries = tiny_boundaries(tmp_path / "b.gpkg")
    old = generate_demo_survey(boundaries, tmp_path / "old", households=30, take=8)
    new = generate_demo_survey(boundaries, tmp_path / "new", households=50, take=8, seed=7)
    url = f"sqlite:///{tmp_path / 'obs.db'}"
    engine = tiny_store(url, boundaries)
    data = tmp_path / "data"
    design = load_design(old.design)
    result = locate(read_kobo(old.form, old.data), unit_column=design.unit_column)
    stored = store_survey(
        engine, result, design, city="DEMO", period="2024",
        sources=[old.form, old.data], data_dir=data,
    )  # fmt: skip
    before = snapshot(engine)
    args = (str(new.form), str(new.data), str(new.design), str(data))
    run_and_kill(SURVEY, url, *args)
    assert snapshot(engine) == before
    folder = stored.directory.parent
    leftovers = [
        p.name for p in folder.iterdir() if p.name not in (stored.directory.name, "current")
    ]
    assert len(leftovers) == 1  # the killed import's folder, which no batch names
    for tables, _design in (
        load_survey("DEMO", "2024", "encuesta_migrantes_demo", data, engine=engine),
        load_survey("DEMO", "2024", "encuesta_migrantes_demo", data),
    ):
        assert len(tables["main"]) == old.households  # never the rolled-back 50
    again = store_survey(
        engine, result, design, city="DEMO", period="2024",
        sources=[old.form, old.data], data_dir=data,
    )  # fmt: skip
    assert not again.created
    assert sorted(p.name for p in folder.iterdir()) == sorted([stored.directory.name, "current"])
