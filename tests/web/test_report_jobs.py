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
from sqlalchemy import Engine, func, select

from inclusive_cities.store import connect, init_database, models, transaction
from inclusive_cities.store.report_models import ReportFile
from inclusive_cities.store.scale_models import JobPayload
from inclusive_cities.store.web_models import AuditEntry, Job
from inclusive_cities.web import create_app
from inclusive_cities.web.queue import RUNNER_SETTING, install_schema
from tests.postgres_cluster import ThrowawayPostgres
from tests.reports.governance_city import add_governance
from tests.web.conftest import specs
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


def add_city(engine: Engine, folder: Path) -> None:
    """The city TST with the governance assessments of tests/reports/governance_city.py and
    nothing else: the governance report needs no units or marker runs."""
    with transaction(engine) as session:
        session.add(models.City(code="TST", name="Ciudad Prueba", country="COL"))
    add_governance(engine, folder)


def governed_city(url: str, folder: Path) -> str:
    add_city(init_database(url), folder)
    return url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    folder = tmp_path_factory.mktemp("report-jobs")
    url = governed_city(f"sqlite:///{folder / 'reports.db'}", folder)
    with TestClient(create_app(url, specs=specs)) as client:
        yield client, url


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
    # done: the page says so and sends the browser to the file
    page = client.get(f"/reports/{job_id}?lang=es").text
    assert "El informe está listo." in page
    assert f'content="0;url=/reports/{job_id}/file?lang=es"' in page
    # in the other language (its language switch) it says which language the file is in and
    # does not download it again
    page = client.get(f"/reports/{job_id}?lang=en").text
    assert "The report is ready." in page and "This report is in Spanish." in page
    assert 'http-equiv="refresh"' not in page
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
    assert "The report could not be prepared." in page and reason in page
    assert 'http-equiv="refresh"' not in page
    assert client.get(f"/reports/{job_id}/file", follow_redirects=False).status_code == 303
    retry = client.get(REPORT + "?assessment=987654&lang=en", follow_redirects=False)
    assert report_job(retry.headers["location"]) != job_id  # the failed job gave its key up
    assert wait_report(client, report_job(retry.headers["location"]))["status"] == "failed"
    assert client.get("/reports/999999?lang=en").status_code == 404


def _worker(url: str, *options: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "worker", *options],
        cwd=ROOT,
        env={**os.environ, "INCLUSIVE_CITIES_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    """Kill the test's workers (a graceful stop would first finish the report in hand)."""
    for worker in workers:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)


@pytest.mark.postgres
def test_a_job_worker_makes_it_on_postgresql_and_a_killed_one_leaves_a_reason(
    postgres_server: ThrowawayPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workers: list[subprocess.Popen[bytes]] = []
    monkeypatch.setenv(RUNNER_SETTING, "queue")  # as 'serve' on PostgreSQL: to the workers
    try:
        url = postgres_server.create_database()
        engine = init_database(url)
        install_schema(url)  # as 'serve' does before the web workers queue anything
        # the worker starts (imports, connects) while the city's governance is imported
        workers.append(_worker(url, "--heartbeat", "1"))
        add_city(engine, tmp_path)
        with TestClient(create_app(url, specs=specs)) as client:
            # 1. the job worker makes the report; any web worker serves the stored bytes
            answer = client.get(REPORT + "?lang=es", follow_redirects=False)
            done_id = report_job(answer.headers["location"])
            assert wait_report(client, done_id)["status"] == "done"
            pdf = client.get(f"/reports/{done_id}/file").content
            assert f"{OVERALL:.1f}".replace(".", ",") in pdf_text(pdf)  # 66,7
            # 2. its worker is killed mid-report: another worker marks the job failed with
            # the reason, in the language of who asked
            answer = client.get(REPORT + "?lang=en", follow_redirects=False)
            job_id = report_job(answer.headers["location"])
            deadline = time.monotonic() + 120
            while client.get(f"/reports/{job_id}/status.json").json()["status"] != "running":
                assert time.monotonic() < deadline, "the job worker did not take the report"
                time.sleep(0.05)
            # the job is taken: the second worker starts during the first one's silence
            workers.append(
                _worker(url, "--heartbeat", "0.5", "--stalled-after", "2", "--attempts", "1")
            )
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=10)
            state = wait_report(client, job_id)
            assert state["status"] == "failed", state
            assert "The server stopped while doing this (attempts: 1;" in state["step"], state
            page = client.get(f"/reports/{job_id}?lang=en").text
            assert "The report could not be prepared." in page
            _stop(workers)  # the retry below only needs its job queued, not rendered
            # 3. asking again makes a new job (the failed one gives its key up)
            retry = client.get(REPORT + "?lang=en", follow_redirects=False)
            assert report_job(retry.headers["location"]) not in (job_id, done_id)
        with TestClient(create_app(url, specs=specs)) as other:
            assert other.get(f"/reports/{done_id}/file").content == pdf
        with transaction(connect(url)) as session:
            payload = session.get(JobPayload, done_id)
            assert payload is not None and payload.queue_job_id is not None  # the queue ran it
            assert session.get(ReportFile, job_id).key is None  # type: ignore[union-attr]
    finally:
        _stop(workers)
