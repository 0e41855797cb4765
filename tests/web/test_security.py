"""Security: login, CSRF, roles, tokens, rate limits, audit, disclosure, XSS, SQL, traversal."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from inclusive_cities.store import connect, models, transaction
from inclusive_cities.store.web_models import AuditEntry
from inclusive_cities.web import auth
from tests.web.conftest import DRAFT_SCORE, SMALL_N_VALUE, XSS_NAME, City

ADMIN = ("admin@example.org", "correct horse battery")
ANALYST = ("analyst@example.org", "analyst password 1")


def add_user(city: City, email: str, password: str, role: str) -> None:
    with transaction(connect(city.url)) as session:
        auth.create_user(session, email, role, password)


def log_in(client: TestClient, email: str, password: str) -> str:
    response = client.post(
        "/admin/login", data={"email": email, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    page = client.get("/admin").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def published(city: City, run_id: int) -> bool:
    with transaction(connect(city.url)) as session:
        run = session.get(models.MarkerRun, run_id)
        assert run is not None
        return run.published


ADMIN_POSTS = [
    "/admin/runs/{run}/publish",
    "/admin/runs/{run}/unpublish",
    "/admin/layers/publish",
    "/admin/tokens",
    "/admin/users",
    "/admin/users/1/deactivate",
    "/admin/logout",
    "/api/admin/runs/{run}/publish",
]


@pytest.mark.parametrize("path", ADMIN_POSTS)
def test_no_change_without_login(client: TestClient, city: City, path: str) -> None:
    response = client.post(
        path.format(run=city.draft_run),
        data={
            "city_id": 1,
            "period_id": 1,
            "indicator_id": 1,
            "email": "x@y.z",
            "role": "admin",
            "password": "0123456789",
        },
        follow_redirects=False,
    )
    assert response.status_code in (401, 422)
    assert not published(city, city.draft_run)


def test_admin_page_redirects_to_login(fresh_client: TestClient) -> None:
    response = fresh_client.get("/admin", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"


def test_publish_needs_the_csrf_token(fresh_client: TestClient, fresh_city: City) -> None:
    add_user(fresh_city, *ANALYST, "analyst")
    token = log_in(fresh_client, *ANALYST)
    path = f"/admin/runs/{fresh_city.draft_run}/publish"
    for bad in ("", "forged-token"):
        response = fresh_client.post(path, data={"csrf_token": bad}, follow_redirects=False)
        assert response.status_code == 403
        assert not published(fresh_city, fresh_city.draft_run)
    response = fresh_client.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert published(fresh_city, fresh_city.draft_run)
    with transaction(connect(fresh_city.url)) as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        target = session.scalar(select(AuditEntry.target).where(AuditEntry.action == "publish_run"))
    assert actions == ["login", "publish_run"]
    assert target == f"marker_run:{fresh_city.draft_run}"


def test_unpublishing_removes_a_run_from_every_public_response(
    fresh_client: TestClient, fresh_city: City
) -> None:
    add_user(fresh_city, *ANALYST, "analyst")
    token = log_in(fresh_client, *ANALYST)
    response = fresh_client.post(
        f"/admin/runs/{fresh_city.run_2024}/unpublish",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert fresh_city.run_2024 not in [r["id"] for r in fresh_client.get("/api/runs").json()]
    ids = [c["id"] for c in fresh_client.get("/ogc/collections").json()["collections"]]
    assert "tst-uim-test-2024" not in ids
    assert "tst-uim-test-2020" in ids


def test_analysts_cannot_manage_users(fresh_client: TestClient, fresh_city: City) -> None:
    add_user(fresh_city, *ANALYST, "analyst")
    token = log_in(fresh_client, *ANALYST)
    response = fresh_client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": "new@example.org",
            "role": "admin",
            "password": "0123456789ab",
        },
    )
    assert response.status_code == 403


def test_admin_creates_a_user_whose_name_is_escaped(
    fresh_client: TestClient, fresh_city: City
) -> None:
    add_user(fresh_city, *ADMIN, "admin")
    token = log_in(fresh_client, *ADMIN)
    evil = '<img src=x onerror="alert(1)">'
    response = fresh_client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": "new@example.org",
            "role": "analyst",
            "password": "0123456789ab",
            "name": evil,
        },
    )
    assert response.status_code == 200
    assert evil not in response.text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in response.text


def test_api_token_publishes_without_cookie(fresh_client: TestClient, fresh_city: City) -> None:
    add_user(fresh_city, *ANALYST, "analyst")
    csrf = log_in(fresh_client, *ANALYST)
    page = fresh_client.post("/admin/tokens", data={"csrf_token": csrf, "label": "script"}).text
    token = re.search(r'id="new-token">([^<]+)<', page)
    assert token
    fresh_client.cookies.clear()
    path = f"/api/admin/runs/{fresh_city.draft_run}/publish"
    assert fresh_client.post(path, headers={"authorization": "Bearer nope"}).status_code == 401
    response = fresh_client.post(path, headers={"authorization": f"Bearer {token.group(1)}"})
    assert response.status_code == 200
    assert response.json() == {"id": fresh_city.draft_run, "published": True}


def test_passwords_are_stored_as_argon2_hashes(fresh_city: City) -> None:
    add_user(fresh_city, *ADMIN, "admin")
    with transaction(connect(fresh_city.url)) as session:
        stored = session.scalar(select(auth.User.password_hash))
    assert stored is not None and stored.startswith("$argon2id$")
    assert ADMIN[1] not in stored


def test_login_is_rate_limited(fresh_client: TestClient, fresh_city: City) -> None:
    add_user(fresh_city, *ADMIN, "admin")
    for _ in range(auth.LOGIN_MAX_FAILURES):
        bad = fresh_client.post("/admin/login", data={"email": ADMIN[0], "password": "wrong"})
        assert bad.status_code == 401
    # even the right password is refused while the window lasts
    blocked = fresh_client.post(
        "/admin/login", data={"email": ADMIN[0], "password": ADMIN[1]}, follow_redirects=False
    )
    assert blocked.status_code == 429
    assert "ic_session" not in blocked.cookies


PUBLIC_PATHS = [
    "/",
    "/cities/TST",
    "/cities/TST/map",
    "/cities/TST/units/01001",
    "/cities/TST/units/01002",
    "/cities/TST/rankings",
    "/cities/TST/rankings?format=csv",
    "/downloads",
    "/methodology",
    "/api/cities/TST/observations?limit=50000",
    "/api/runs",
    "/api/cities/TST/map?layer=ind:school_attendance_srv",
    "/api/cities/TST/map?layer=node:UIM",
    "/ogc/collections",
    "/ogc/collections/tst-school-attendance-srv-2024/items?limit=100",
    "/ogc/collections/tst-uim-test-2024/items?limit=100",
    "/downloads/tst-school-attendance-srv-2024.csv",
    "/downloads/tst-school-attendance-srv-2024.hxl.csv",
    "/downloads/tst-school-attendance-srv-2024.geojson",
    "/downloads/tst-uim-test-2024.geojson",
]


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_no_suppressed_or_unpublished_value_is_public(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    text = response.text
    assert str(DRAFT_SCORE) not in text and "12,345" not in text and "12,3" not in text
    assert str(SMALL_N_VALUE) not in text and "55,5" not in text
    assert "37.9" not in text and "73.1" not in text  # CI of the n = 7 cell


@pytest.mark.parametrize(
    "path",
    ["/cities/TST/rankings", "/cities/TST/units/01002", "/cities/TST/map", "/cities/TST"],
)
def test_unit_names_are_escaped(client: TestClient, path: str) -> None:
    text = client.get(path).text
    assert "<script>alert(" not in text


def test_rankings_page_shows_the_escaped_name(client: TestClient) -> None:
    text = client.get("/cities/TST/rankings").text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;Manzana" in text
    assert XSS_NAME not in text


INJECTIONS = ["' OR '1'='1", "1; DROP TABLE cities; --", '" OR 1=1 --', "%27%20OR%201=1"]


@pytest.mark.parametrize("attack", INJECTIONS)
def test_sql_injection_attempts_fail_cleanly(client: TestClient, city: City, attack: str) -> None:
    responses = [
        client.get(f"/api/cities/{attack}"),
        client.get("/api/cities/TST/observations", params={"indicator": attack}),
        client.get("/api/cities/TST/observations", params={"unit": attack, "period": attack}),
        client.get("/api/cities/TST/units", params={"level": attack}),
        client.get(f"/api/runs/{city.run_2024}/scores", params={"node": attack}),
        client.get("/api/cities/TST/map", params={"layer": attack}),
        client.get("/api/cities/TST/map", params={"layer": "node:" + attack}),
        client.get("/api/cities/TST/map", params={"period": attack}),
        client.get("/cities/TST/rankings", params={"sort": attack}),
        client.get("/cities/TST/rankings", params={"q": attack}),
        client.get(f"/cities/TST/units/{attack}"),
        client.get(f"/ogc/collections/{attack}/items"),
        client.get("/ogc/collections/tst-uim-test-2024/items", params={"level": attack}),
        client.get("/ogc/collections/tst-uim-test-2024/items", params={"bbox": attack}),
        client.get("/methodology", params={"spec": attack}),
        client.post("/admin/login", data={"email": attack, "password": attack}),
    ]
    assert all(r.status_code in (200, 400, 401, 404, 422) for r in responses), [
        (r.url, r.status_code) for r in responses
    ]
    # the query returned nothing extra and the tables survived
    assert responses[1].json() == []
    assert client.get("/api/cities").json()[0]["code"] == "TST"


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "../../etc/passwd",
        "..%2Fweb.db",
        "%2e%2e%2f%2e%2e%2fpyproject.toml",
        "tst-uim-test-2024.csv%00.txt",
        "tst-uim-test-2024.exe",
    ],
)
def test_path_traversal_in_downloads_fails(client: TestClient, name: str) -> None:
    response = client.get("/downloads/" + name)
    assert response.status_code == 404
    assert "root:" not in response.text and "[project]" not in response.text


def test_security_headers(client: TestClient) -> None:
    headers = client.get("/").headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_session_cookie_is_http_only(fresh_client: TestClient, fresh_city: City) -> None:
    add_user(fresh_city, *ADMIN, "admin")
    response = fresh_client.post(
        "/admin/login", data={"email": ADMIN[0], "password": ADMIN[1]}, follow_redirects=False
    )
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie


def wait_for_job(client: TestClient, job_id: int) -> dict[str, object]:
    import time

    for _ in range(200):
        body = client.get(f"/api/admin/jobs/{job_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError("the import job did not finish")


def test_upload_needs_login_and_csrf(fresh_client: TestClient) -> None:
    files = {"file": ("t.csv", b"codigo,green_m2\n01001,3\n", "text/csv")}
    response = fresh_client.post("/admin/uploads", data={"city": "TST"}, files=files)
    assert response.status_code == 401


def test_upload_imports_in_the_background_with_a_report(
    fresh_client: TestClient, fresh_city: City
) -> None:
    add_user(fresh_city, *ANALYST, "analyst")
    csrf = log_in(fresh_client, *ANALYST)
    table = "codigo,green_m2\n01001,3.5\n01002,4\n99999,5\n"
    files = {"file": ("green.csv", table.encode(), "text/csv")}
    form = {"city": "TST", "period": "2024", "accept_valid": "on", "csrf_token": "forged"}
    assert fresh_client.post("/admin/uploads", data=form, files=files).status_code == 403
    form["csrf_token"] = csrf
    response = fresh_client.post("/admin/uploads", data=form, files=files, follow_redirects=False)
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    body = wait_for_job(fresh_client, job_id)
    assert body["status"] == "done", body
    assert body["report"]["rows_accepted"] == 2 and body["report"]["rows_rejected"] == 1
    page = fresh_client.get(f"/admin/jobs/{job_id}").text
    assert "99999" in page  # the rejected row is listed with its reason
    with transaction(connect(fresh_city.url)) as session:
        values = sorted(
            session.scalars(
                select(models.Observation.value)
                .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
                .where(models.Indicator.code == "green_m2")
            )
        )
        actions = list(session.scalars(select(AuditEntry.action)))
    assert values == [3.5, 4.0]
    assert "upload" in actions


def test_upload_refuses_other_file_types(fresh_client: TestClient, fresh_city: City) -> None:
    add_user(fresh_city, *ANALYST, "analyst")
    csrf = log_in(fresh_client, *ANALYST)
    files = {"file": ("../../evil.sh", b"rm -rf /", "text/plain")}
    response = fresh_client.post(
        "/admin/uploads", data={"city": "TST", "csrf_token": csrf}, files=files
    )
    assert response.status_code == 400


def test_build_needs_login_and_csrf(fresh_client: TestClient) -> None:
    form = {"city": "TST", "period": "2024"}
    assert fresh_client.post("/admin/builds", data=form).status_code == 401


def _observe_enough_for_uim_basic(city: City) -> None:
    """Add to piped_water what uim-basic needs for an index (half of each node's parts):
    V_SER 3 of 5, V_CAL 1 of 2, S_PRO and S_AMB 1 of 2 each, O_PRO 1 of 2. A run without
    any index is refused (issue 14, item 6)."""
    values = {
        "sewerage": 80.0,
        "electricity": 95.0,
        "overcrowding": 10.0,
        "dist_health_m": 700.0,
        "pop_in_risk_zone": 5.0,
        "dist_commerce_m": 900.0,
    }
    with transaction(connect(city.url)) as session:
        period = session.scalar(select(models.Period).where(models.Period.code == "2024"))
        for code, value in values.items():
            indicator = models.Indicator(code=code, name_es=code, name_en=code)
            session.add(indicator)
            session.flush()
            session.add_all(
                models.Observation(
                    indicator_id=indicator.id, unit_id=unit_id, period_id=period.id, value=value
                )
                for unit_id in city.block_ids
            )


def test_build_runs_the_marker_in_the_background_unpublished(
    fresh_client: TestClient, fresh_city: City
) -> None:
    _observe_enough_for_uim_basic(fresh_city)
    add_user(fresh_city, *ANALYST, "analyst")
    csrf = log_in(fresh_client, *ANALYST)
    form = {"city": "TST", "period": "2024", "spec": "uim-basic", "level": "manzana"}
    assert fresh_client.post("/admin/builds", data={**form, "csrf_token": "x"}).status_code == 403
    bad = fresh_client.post("/admin/builds", data={**form, "spec": "../x", "csrf_token": csrf})
    assert bad.status_code == 400
    response = fresh_client.post(
        "/admin/builds", data={**form, "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    body = wait_for_job(fresh_client, job_id)
    assert body["status"] == "done", body
    with transaction(connect(fresh_city.url)) as session:
        newest = session.scalars(
            select(models.MarkerRun).order_by(models.MarkerRun.id.desc())
        ).first()
        actions = list(session.scalars(select(AuditEntry.action)))
        scored = session.scalars(
            select(models.MarkerScore.unit_id).where(
                models.MarkerScore.run_id == newest.id,
                models.MarkerScore.node_code == "UIM",
                models.MarkerScore.score.is_not(None),
            )
        ).all()
    assert newest.spec_code == "uim-basic" and not newest.published
    assert sorted(scored) == sorted(fresh_city.block_ids)  # the six blocks
    # the job speaks the language of the page that started it (Spanish by default)
    assert f"Cálculo del marcador {newest.id} guardado" in " ".join(body["report"]["summary"])
    assert "build" in actions
    page = fresh_client.get(f"/admin/jobs/{job_id}", params={"lang": "es"}).text
    assert f"Cálculo {job_id}" in page
