"""Download a PDF report as a browser does since issue #20: its URL answers with the file
when already made, else with the page of the job making it; poll the job, then fetch."""

from __future__ import annotations

import re
import time
from typing import Any

JOB_URL = re.compile(r"/reports/(\d+)(/file)?")


def report_job(location: str) -> int:
    """The job id in a report redirect (``/reports/7?lang=es`` or ``/reports/7/file``)."""
    match = JOB_URL.search(location)
    assert match, location
    return int(match.group(1))


def wait_report(client: Any, job_id: int, seconds: float = 180) -> dict[str, Any]:
    """Poll a report job until it ends (WeasyPrint on a loaded machine takes a while)."""
    deadline = time.monotonic() + seconds
    while True:
        state: dict[str, Any] = client.get(f"/reports/{job_id}/status.json").json()
        if state["status"] in ("done", "failed"):
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.2)


def fetch_report(client: Any, url: str) -> Any:
    """The response with a report's bytes (a TestClient or an httpx.Client on a server)."""
    answer = client.get(url, follow_redirects=False)
    assert answer.status_code == 303, (answer.status_code, answer.text[:300])
    state = wait_report(client, report_job(answer.headers["location"]))
    assert state["status"] == "done", state
    return client.get(state["file"])


def fetch_report_bytes(request: Any, base: str, url: str) -> bytes:
    """The same through Playwright's ``page.request`` (it shares the page's login)."""
    answer = request.get(base + url, max_redirects=0)
    assert answer.status == 303, answer.status
    job_id = report_job(answer.headers["location"])
    deadline = time.monotonic() + 180
    while True:
        state = request.get(f"{base}/reports/{job_id}/status.json").json()
        if state["status"] in ("done", "failed"):
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    assert state["status"] == "done", state
    body: bytes = request.get(base + state["file"]).body()
    return body
