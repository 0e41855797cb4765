"""PDF reports made by a job, not inside the request (issue #20).

SQLite: the web process's job thread renders the governance report with real WeasyPrint;
the old URL answers with the job's page, which refreshes itself and then offers the file;
a repeat request is the same job, then the stored file; a change of the store makes it
afresh; a failure shows its one-line reason. PostgreSQL: a real ``inclusive-cities worker``
renders it; a worker killed with SIGKILL mid-report leaves the job failed with the reason,
and asking again gets a new job that another worker completes.

The figure checked in the PDF is the city's overall governance score, worked out by hand
from ``tests/reports/governance_city.py``: (87.5 + 62.5 + 50) / 3 = 66.7.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from inclusive_cities.store import connect, init_database, transaction
from inclusive_cities.store.report_models import ReportFile
from inclusive_cities.store.scale_models import JobPayload
from inclusive_cities.store.web_models import AuditEntry, Job
from inclusive_cities.web import create_app
from inclusive_cities.web.queue import RUNNER_SETTING
from tests.postgres_cluster import ThrowawayPostgres
from tests.reports.governance_city import add_governance
from tests.web.conftest import build_city, specs
from tests.web.live import ROOT
from tests.web.reports import report_job, wait_report

REPORT = "/cities/TST/governance/report.pdf"
OVERALL = (87.5 + 62.5 + 50) / 3
CLI = [str(Path(sys.executable).parent / "inclusive-cities")]


def pdf_text(body: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=body, capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def report_rows(url: str) -> list[tuple[int, str | None, bool]]:
    with transaction(connect(url)) as session:
        rows = session.execute(
            select(ReportFile.job_id, ReportFile.key, ReportFile.content.is_not(None)).order_by(
                ReportFile.job_id
            )
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    folder = tmp_path_factory.mktemp("report-jobs")
    city = build_city(f"sqlite:///{folder / 'reports.db'}")
    add_governance(init_database(city.url), folder)
    with TestClient(create_app(city.url, specs=specs)) as client:
        yield client, city.url


def test_the_old_url_starts_one_job_whose_page_offers_the_pdf(
    site: tuple[TestClient, str],
) -> None:
    client, url = site
    first = client.get(REPORT + "?lang=es", follow_redirects=False)
    assert first.status_code == 303
    job_id = report_job(first.headers["location"])
    assert first.headers["location"] in (f"/reports/{job_id}?lang=es", f"/reports/{job_id}/file")
    # a second click while it is made joins the same job
    again = client.get(REPORT + "?lang=es", follow_redirects=False)
    assert report_job(again.headers["location"]) == job_id
    page = client.get(f"/reports/{job_id}?lang=es").text
    assert "Informe de evaluación de la gobernanza" in page
    assert 'http-equiv="refresh"' in page  # refreshes itself (no script needed)
    state = wait_report(client, job_id)
    assert state["status"] == "done", state
    # done: the page says so in the visitor's language and sends the browser to the file
    page = client.get(f"/reports/{job_id}?lang=en").text
    assert "The report is ready." in page
    assert f'content="0;url=/reports/{job_id}/file?lang=en"' in page
    pdf = client.get(f"/reports/{job_id}/file")
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) == state["bytes"]
    assert "evaluacion-gobernanza-TST-es.pdf" in pdf.headers["content-disposition"]
    text = pdf_text(pdf.content)
    assert "Evaluación de la gobernanza migratoria" in text
    assert f"{OVERALL:.1f}".replace(".", ",") in text  # 66,7
    # asked again: the stored file at once, no new job
    third = client.get(REPORT + "?lang=es", follow_redirects=False)
    assert third.headers["location"] == f"/reports/{job_id}/file?lang=es"
    assert report_rows(url) == [(job_id, report_rows(url)[0][1], True)]
    with transaction(connect(url)) as session:
        assert session.scalar(select(func.count()).where(Job.kind == "report")) == 1
        payload = session.get(JobPayload, job_id)
        assert payload is not None and payload.attempts == 1


def test_a_change_of_the_store_makes_the_report_afresh(site: tuple[TestClient, str]) -> None:
    client, url = site
    (old_id, _key, _ready), *_rest = report_rows(url)
    with transaction(connect(url)) as session:  # every web edit of the store is audited
        session.add(AuditEntry(user_email="ana@example.org", action="governance_answer"))
    answer = client.get(REPORT + "?lang=es", follow_redirects=False)
    new_id = report_job(answer.headers["location"])
    assert new_id != old_id and answer.headers["location"] == f"/reports/{new_id}?lang=es"
    assert [row[0] for row in report_rows(url)] == [new_id]  # the stale file is gone
    assert client.get(f"/reports/{old_id}").status_code == 404
    assert wait_report(client, new_id)["status"] == "done"


def test_a_failed_report_shows_its_reason_and_asking_again_retries(
    site: tuple[TestClient, str],
) -> None:
    client, _url = site
    answer = client.get(REPORT + "?assessment=987654&lang=en", follow_redirects=False)
    job_id = report_job(answer.headers["location"])
    state = wait_report(client, job_id)
    reason = "Assessment 987654 is not a local assessment of Ciudad Prueba."
    assert (state["status"], state["step"]) == ("failed", reason)
    page = client.get(f"/reports/{job_id}?lang=en").text
    assert "The report could not be made." in page and reason in page
    assert 'http-equiv="refresh"' not in page
    assert client.get(f"/reports/{job_id}/file", follow_redirects=False).status_code == 303
    retry = client.get(REPORT + "?assessment=987654&lang=en", follow_redirects=False)
    assert report_job(retry.headers["location"]) != job_id  # the failed job gave its key up
    assert wait_report(client, report_job(retry.headers["location"]))["status"] == "failed"
    assert client.get("/reports/999999?lang=en").status_code == 404


def _worker(url: str, attempts: int) -> subprocess.Popen[bytes]:
    command = [*CLI, "worker", "--heartbeat", "0.5", "--stalled-after", "2"]
    return subprocess.Popen(
        [*command, "--attempts", str(attempts)],
        cwd=ROOT,
        env={**os.environ, "INCLUSIVE_CITIES_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.postgres
def test_a_job_worker_makes_it_on_postgresql_and_a_killed_one_leaves_a_reason(
    tmp_path: Path,
) -> None:
    server = ThrowawayPostgres().start()
    workers: list[subprocess.Popen[bytes]] = []
    os.environ[RUNNER_SETTING] = "queue"  # as 'serve' on PostgreSQL: jobs go to the workers
    try:
        url = server.create_database()
        city = build_city(url)
        add_governance(init_database(city.url), tmp_path)
        workers.append(_worker(url, attempts=1))
        with TestClient(create_app(url, specs=specs)) as client:
            answer = client.get(REPORT + "?lang=es", follow_redirects=False)
            job_id = report_job(answer.headers["location"])
            deadline = time.monotonic() + 120
            while client.get(f"/reports/{job_id}/status.json").json()["status"] != "running":
                assert workers[0].poll() is None, workers[0].communicate()[1].decode()
                assert time.monotonic() < deadline, "no job worker took the report"
                time.sleep(0.05)
            workers[0].send_signal(signal.SIGKILL)  # mid-report
            workers[0].wait(timeout=10)
            workers.append(_worker(url, attempts=1))  # it finds the stalled job
            state = wait_report(client, job_id)
            assert state["status"] == "failed", state
            assert "se detuvo durante este trabajo 1 veces" in state["step"], state  # its language
            # asking again: a new job, made by the live worker; any web worker serves it
            retry = client.get(REPORT + "?lang=es", follow_redirects=False)
            new_id = report_job(retry.headers["location"])
            assert new_id != job_id
            assert wait_report(client, new_id)["status"] == "done"
            pdf = client.get(f"/reports/{new_id}/file")
            (old, _k, old_file), (new, new_key, new_file) = report_rows(url)
            assert (old, old_file, new, new_file) == (job_id, False, new_id, True)
            assert new_key is not None and _k is None  # the failed one gave its key up
        with TestClient(create_app(url, specs=specs)) as other:
            assert other.get(f"/reports/{new_id}/file").content == pdf.content
        assert f"{OVERALL:.1f}".replace(".", ",") in pdf_text(pdf.content)
        with transaction(connect(url)) as session:
            payload = session.get(JobPayload, new_id)
            assert payload is not None and payload.queue_job_id is not None  # the queue ran it
    finally:
        os.environ.pop(RUNNER_SETTING, None)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        server.stop()
