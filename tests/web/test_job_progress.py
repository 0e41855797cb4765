"""The web's job page shows the steps of a build, as the command line's bar does."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from inclusive_cities.store import connect, transaction
from inclusive_cities.store.models import utcnow
from inclusive_cities.store.web_models import Job
from tests.web.conftest import City
from tests.web.test_security import (
    ANALYST,
    _observe_enough_for_uim_basic,
    add_user,
    log_in,
    wait_for_job,
)


def test_build_job_page_lists_the_marker_steps_in_spanish(
    fresh_client: TestClient, fresh_city: City
) -> None:
    _observe_enough_for_uim_basic(fresh_city)
    add_user(fresh_city, *ANALYST, "analyst")
    csrf = log_in(fresh_client, *ANALYST)
    form = {"city": "TST", "period": "2024", "spec": "uim-basic", "level": "manzana"}
    response = fresh_client.post(
        "/admin/builds", data={**form, "csrf_token": csrf}, follow_redirects=False
    )
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    body = wait_for_job(fresh_client, job_id)
    assert body["status"] == "done", body
    # the domain's own steps, in the language of the page that started the job
    steps = [item["step"] for item in body["report"]["steps"]]  # type: ignore[index]
    assert steps == [
        "Leyendo las observaciones",
        "Calculando el marcador",
        "Guardando los puntajes",
        "Cálculo del marcador guardado",
    ]
    page = fresh_client.get(f"/admin/jobs/{job_id}", params={"lang": "es"}).text
    listed = re.search(r'<ol id="job-steps"[^>]*>(.*?)</ol>', page, re.DOTALL)
    assert listed is not None
    items = re.findall(r"<li>(.*?) — (\d+,\d) s</li>", listed.group(1))
    assert [step for step, _seconds in items] == steps
    seconds = [float(value.replace(",", ".")) for _step, value in items]
    assert seconds == sorted(seconds)  # time since the job started, as each step began


def test_running_job_page_shows_step_count_and_elapsed(
    fresh_client: TestClient, fresh_city: City
) -> None:
    """A job another worker is running: its row holds the step it reached (PostgreSQL)."""
    add_user(fresh_city, *ANALYST, "analyst")
    log_in(fresh_client, *ANALYST)
    with transaction(connect(fresh_city.url)) as session:
        job = Job(
            kind="build",
            file_name="uim-basic TST 2024",
            created_by=ANALYST[0],
            status="running",
            step="Calculando dist_health_m",
            done=3,
            total=17,
            created_at=utcnow() - timedelta(seconds=75),
        )
        session.add(job)
        session.flush()
        job_id = job.id
    page = fresh_client.get(f"/admin/jobs/{job_id}", params={"lang": "es"}).text
    assert "Calculando dist_health_m" in page
    assert '<progress max="17" value="3"' in page
    shown = re.search(r'<p id="job-elapsed">3/17 · (\d+) s desde que empezó el trabajo</p>', page)
    assert shown is not None and 75 <= int(shown.group(1)) < 600
