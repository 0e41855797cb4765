"""The deployment of docs/deployment.md on this machine: a throwaway PostgreSQL, two web
workers (``serve --workers 2``) and a job worker (``worker``), driven over HTTP.

An upload is imported by the job worker, not by the web process; a job whose worker is
killed with SIGKILL mid-import leaves the store as it was, is run again by the next worker,
and after a second kill is marked failed with the reason, never "importado".
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import func, insert, select

from inclusive_cities.store import connect, init_database, models, transaction
from inclusive_cities.store.scale_models import JobPayload
from inclusive_cities.web import auth
from tests.postgres_cluster import ThrowawayPostgres
from tests.web.conftest import build_city
from tests.web.live import free_port

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
CLI = [str(Path(sys.executable).parent / "inclusive-cities")]
ANALYST = ("ana.analista@example.org", "clave-segura-123")
BIG_ROWS = 12_000
"""Blocks of the slow upload: enough for a few seconds of import, to kill a worker in it."""


@dataclass
class Layout:
    url: str
    base: str
    env: dict[str, str]
    web: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]


def _start_worker(layout: Layout) -> subprocess.Popen[bytes]:
    command = [*CLI, "worker", "--heartbeat", "0.5", "--stalled-after", "2", "--attempts", "2"]
    return subprocess.Popen(
        command, cwd=ROOT, env=layout.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


@pytest.fixture(scope="module")
def layout() -> Iterator[Layout]:
    server = ThrowawayPostgres().start()
    started: list[subprocess.Popen[bytes]] = []  # stopped even when the set-up fails
    try:
        url = server.create_database()
        init_database(url)  # the processes start while the city is written
        port = free_port()
        env = {**os.environ, "INCLUSIVE_CITIES_DATABASE_URL": url}
        web = subprocess.Popen(
            [*CLI, "serve", "--workers", "2", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        layout = Layout(url=url, base=f"http://127.0.0.1:{port}", env=env, web=web, workers=[])
        layout.workers += [_start_worker(layout), _start_worker(layout)]
        started += [web, *layout.workers]
        build_city(url)
        engine = connect(url)
        with transaction(engine) as session:
            city = session.scalar(select(models.City).where(models.City.code == "TST"))
            assert city is not None
            level = session.scalar(
                select(models.UnitLevel.id).where(
                    models.UnitLevel.city_id == city.id, models.UnitLevel.code == "manzana"
                )
            )
            session.execute(
                insert(models.SpatialUnit),
                [
                    {"city_id": city.id, "level_id": level, "code": f"9{i:06d}", "name": ""}
                    for i in range(BIG_ROWS)
                ],
            )
            auth.create_user(session, ANALYST[0], "analyst", ANALYST[1])
        engine.dispose()
        base = layout.base
        deadline = time.monotonic() + 120  # a loaded machine imports slowly
        while True:
            try:
                if httpx.get(base + "/ogc", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert web.poll() is None, web.communicate(timeout=5)[1].decode()
            assert time.monotonic() < deadline, "the web workers did not start"
            time.sleep(0.2)
        yield layout
        started += layout.workers[2:]
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        server.stop()


def _log_in(base: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=30)
    response = client.post("/admin/login", data={"email": ANALYST[0], "password": ANALYST[1]})
    assert response.status_code in (200, 303), response.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin").text)
    assert match
    return client, match.group(1)


def _upload(client: httpx.Client, csrf: str, name: str, table: str) -> int:
    form = {"city": "TST", "period": "2024", "accept_valid": "on", "csrf_token": csrf}
    files = {"file": (name, table.encode(), "text/csv")}
    response = client.post("/admin/uploads", data=form, files=files, follow_redirects=False)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def _job(client: httpx.Client, job_id: int) -> dict[str, object]:
    body: dict[str, object] = client.get(f"/api/admin/jobs/{job_id}").json()
    return body


def _wait(client: httpx.Client, job_id: int, until: object, seconds: float = 40) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        body = _job(client, job_id)
        if until(body):  # type: ignore[operator]
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def _observations(url: str, indicator: str) -> list[float]:
    engine = connect(url)
    try:
        with transaction(engine) as session:
            return sorted(
                session.scalars(
                    select(models.Observation.value)
                    .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
                    .where(models.Indicator.code == indicator)
                )
            )
    finally:
        engine.dispose()


def _count_observations(url: str) -> int:
    engine = connect(url)
    try:
        with transaction(engine) as session:
            return int(session.scalar(select(func.count()).select_from(models.Observation)) or 0)
    finally:
        engine.dispose()


def _attempts(url: str, job_id: int) -> int:
    engine = connect(url)
    try:
        with transaction(engine) as session:
            payload = session.get(JobPayload, job_id)
            return 0 if payload is None else payload.attempts
    finally:
        engine.dispose()


def _importing_worker(url: str) -> int:
    """The process id of the job worker holding a writing transaction (an import): each
    worker names its connections ``inclusive-cities worker HOST PID``."""
    deadline = time.monotonic() + 30
    while True:
        with psycopg.connect(url) as connection:
            row = connection.execute(
                "SELECT application_name FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
                "AND application_name LIKE 'inclusive-cities worker %' "
                "AND query NOT ILIKE '%procrastinate%'"
            ).fetchone()
        if row is not None:
            return int(str(row[0]).rsplit(" ", 1)[1])
        assert time.monotonic() < deadline, "no worker is writing"
        time.sleep(0.05)


def _kill_when_importing(
    layout: Layout, client: httpx.Client, job_id: int, workers: list[subprocess.Popen], attempt: int
) -> subprocess.Popen:
    """SIGKILL the worker running the job once run ``attempt`` of it reports rows read (its
    import transaction is open); returns the killed process."""
    _wait(
        client,
        job_id,
        lambda b: (
            b["status"] == "running"
            and int(b["done"]) > 0  # type: ignore[call-overload]
            and _attempts(layout.url, job_id) == attempt
        ),
    )
    pid = _importing_worker(layout.url)
    (worker,) = [w for w in workers if w.pid == pid]
    os.kill(pid, signal.SIGKILL)
    worker.wait(timeout=10)
    return worker


def test_upload_runs_on_the_job_worker_and_a_killed_worker_changes_nothing(
    layout: Layout,
) -> None:
    client, csrf = _log_in(layout.base)
    workers = layout.workers
    try:
        # 1. a small upload is imported by a job worker, seen through both web workers
        job_id = _upload(client, csrf, "verde.csv", "codigo,green_m2\n01001,3.5\n01002,4\n")
        body = _wait(client, job_id, lambda b: b["status"] in ("done", "failed"))
        assert body["status"] == "done", body
        assert body["report"]["rows_accepted"] == 2  # type: ignore[index]
        assert _observations(layout.url, "green_m2") == [3.5, 4.0]
        before = _count_observations(layout.url)

        # 2. a big upload; its worker is killed mid-import: nothing of it is stored
        rows = "".join(f"9{i:06d},{40 + i % 30}\n" for i in range(BIG_ROWS))
        big = _upload(client, csrf, "ruido.csv", "codigo,noise_db\n" + rows)
        _kill_when_importing(layout, client, big, workers, attempt=1)
        assert _count_observations(layout.url) == before
        assert _job(client, big)["status"] != "done"  # its worker is gone

        # 3. the other worker finds the stalled job and runs it again; killed again …
        workers.append(_start_worker(layout))  # the one left after the next kill
        _kill_when_importing(layout, client, big, workers, attempt=2)
        assert _count_observations(layout.url) == before

        # 4. … the last one marks it failed, with the reason, and the store is still unchanged
        failed = _wait(client, big, lambda b: b["status"] not in ("running", "queued"))
        assert failed["status"] == "failed", failed
        assert "intentos: 2" in str(failed["step"]) and "sin memoria" in str(failed["step"]), failed
        assert _count_observations(layout.url) == before
        assert _observations(layout.url, "noise_db") == []
        page = client.get(f"/admin/jobs/{big}").text
        assert "intentos: 2" in page

        # 5. with every job worker stopped, a queued job says what to start
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
        waiting = _upload(client, csrf, "verde2.csv", "codigo,green_m2\n01003,2\n")
        step = str(_job(client, waiting)["step"])
        assert "ningún trabajador" in step and "inclusive-cities worker" in step, step
    finally:
        client.close()
