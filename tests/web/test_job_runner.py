"""The embedded default keeps its in-process job runner; the multi-worker layout refuses
SQLite in one line (issue #20). The PostgreSQL layout is tests/web/test_deployment_layout.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from inclusive_cities.store import connect, init_database, transaction
from inclusive_cities.store.scale_models import JobPayload
from inclusive_cities.store.web_models import Job
from tests.web.conftest import City
from tests.web.test_security import ANALYST, add_user, log_in, wait_for_job

EXECUTABLE = str(Path(sys.executable).with_name("inclusive-cities"))


def _run(*args: str, lang: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INCLUSIVE_CITIES_LANG": lang, "COLUMNS": "200"}
    env.pop("INCLUSIVE_CITIES_DATABASE_URL", None)
    return subprocess.run([EXECUTABLE, *args], capture_output=True, text=True, env=env, timeout=120)


def test_many_web_workers_and_the_job_worker_refuse_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'obs.db'}"
    init_database(url)
    serve = _run("--database", url, "serve", "--workers", "2", lang="es")
    assert serve.returncode != 0
    lines = [line for line in (serve.stdout + serve.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "--workers 2 necesita PostgreSQL" in lines[0]
    worker = _run("--database", url, "worker", lang="en")
    assert worker.returncode != 0
    assert "The job queue needs PostgreSQL, not sqlite" in worker.stdout + worker.stderr
    assert "Traceback" not in worker.stdout + worker.stderr


def test_sqlite_upload_runs_in_process_and_drops_the_file_when_done(
    fresh_client: TestClient, fresh_city: City
) -> None:
    add_user(fresh_city, *ANALYST, "analyst")
    csrf = log_in(fresh_client, *ANALYST)
    table = "codigo;green_m2\n01001;-999\n01002;7,5\n"
    form = {"city": "TST", "period": "2024", "accept_valid": "on", "csrf_token": csrf}
    files = {"file": ("verde.csv", table.encode(), "text/csv")}
    response = fresh_client.post("/admin/uploads", data=form, files=files, follow_redirects=False)
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    body = wait_for_job(fresh_client, job_id)
    assert body["status"] == "done", body
    with transaction(connect(fresh_city.url)) as session:
        payload = session.get(JobPayload, job_id)
        job = session.get(Job, job_id)
        assert payload is not None and job is not None
        # one run, in this process; the upload is not kept once the job has ended
        assert (payload.attempts, payload.content, payload.queue_job_id) == (1, None, None)
        assert payload.options == {
            "city": "TST",
            "period": "2024",
            "source": "",
            "accept_valid": True,
            "accept_units": False,
        }
        assert job.kind == "table" and job.file_name == "verde.csv"
