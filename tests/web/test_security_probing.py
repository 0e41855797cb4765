"""Faults found by probing the site as an attacker (issue 15, section 2, web), one test each.

The login tests run the real server the way users run it (``inclusive-cities serve``, one
worker on SQLite, two on PostgreSQL) and guess with real threads, because the faults lived
in the interleaving of requests and in the server's handling of forwarded headers.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from inclusive_cities.i18n import use_language
from inclusive_cities.store import connect, init_database, models, transaction
from inclusive_cities.store.web_models import ApiToken, AuditEntry, Job
from inclusive_cities.web import WebError, auth, create_app
from inclusive_cities.web.app import Site, forwarded_client, parse_networks
from tests.web.conftest import City, specs
from tests.web.live import ROOT, free_port
from tests.web.test_security import ADMIN, ANALYST, add_user, log_in, wait_for_job

GUESSES = 40
LOGIN = "/admin/login"


@contextmanager
def served(database_url: str, workers: int = 1, **env: str) -> Iterator[str]:
    """``inclusive-cities serve`` in a child process, as a deployment starts it."""
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "inclusive-cities"),
        "--database",
        database_url,
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    environment = {**os.environ, **env}
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base + "/ogc", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()  # reading the pipe of a live server would wait for ever
                _, stderr = process.communicate(timeout=20)
                raise RuntimeError(f"the server did not start: {stderr.decode()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def with_admin(url: str) -> str:
    init_database(url)
    with transaction(connect(url)) as session:
        auth.create_user(session, ADMIN[0], "admin", ADMIN[1])
    return url


def guess(base: str, password: str, forwarded_for: str | None = None, email: str = ADMIN[0]):
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    return httpx.post(
        base + LOGIN,
        data={"email": email, "password": password},
        headers=headers,
        timeout=120,
        follow_redirects=False,
    )


def parallel_guesses(base: str) -> list[int]:
    """GUESSES wrong passwords sent at once from as many threads; their status codes."""
    with ThreadPoolExecutor(GUESSES) as pool:
        return list(pool.map(lambda i: guess(base, f"wrong {i}").status_code, range(GUESSES)))


def checked_in_window(base: str, statuses: list[int]) -> int:
    """Wrong passwords checked (401) in the burst plus those checked one by one after it
    until the server refuses: the total a client gets per window."""
    checked = statuses.count(401)
    for _ in range(auth.LOGIN_MAX_FAILURES + 1):
        status = guess(base, "one more").status_code
        if status == 429:
            return checked
        assert status == 401
        checked += 1
    raise AssertionError("the server never refused")


def assert_limit_holds(base: str) -> None:
    statuses = parallel_guesses(base)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= auth.LOGIN_MAX_FAILURES, statuses
    # after the burst the window still allows exactly the limit, no more
    assert checked_in_window(base, statuses) == auth.LOGIN_MAX_FAILURES


def test_parallel_guesses_on_sqlite_stop_at_the_limit(sqlite_url: str) -> None:
    with served(with_admin(sqlite_url)) as base:
        assert_limit_holds(base)


@pytest.mark.postgres
def test_parallel_guesses_on_postgresql_with_two_workers_stop_at_the_limit(
    postgres_url: str,
) -> None:
    with served(with_admin(postgres_url), workers=2) as base:
        assert_limit_holds(base)


def audit_clients(url: str, action: str) -> list[str]:
    with transaction(connect(url)) as session:
        return list(session.scalars(select(AuditEntry.client).where(AuditEntry.action == action)))


def test_rotating_forwarded_for_from_an_untrusted_peer_is_one_client(sqlite_url: str) -> None:
    """No proxy is configured (the default): X-Forwarded-For is the client's own claim."""
    url = with_admin(sqlite_url)
    with served(url) as base:
        statuses = [guess(base, "wrong", f"198.51.100.{i}").status_code for i in range(20)]
    assert statuses == [401] * auth.LOGIN_MAX_FAILURES + [429] * (20 - auth.LOGIN_MAX_FAILURES)
    # the audit log records the real peer, not the forged addresses
    assert audit_clients(url, "login_failed") == ["127.0.0.1"] * auth.LOGIN_MAX_FAILURES
    assert set(audit_clients(url, "login_blocked")) == {"127.0.0.1"}


def test_known_and_unknown_accounts_take_as_long_to_refuse(sqlite_url: str) -> None:
    """Behind a trusted proxy each forwarded address is its own client, so the rate limit
    does not interfere; an unknown e-mail must cost a password hash like a known one."""
    url = with_admin(sqlite_url)
    known: list[float] = []
    unknown: list[float] = []
    with served(url, INCLUSIVE_CITIES_TRUSTED_PROXIES="127.0.0.1") as base:
        guess(base, "warm up", "192.0.2.250")
        for i in range(8):
            for email, times in ((ADMIN[0], known), ("nobody@example.org", unknown)):
                start = time.perf_counter()
                # one address per round: two failures each, under the limit
                response = guess(base, "wrong", f"192.0.2.{i}", email)
                times.append(time.perf_counter() - start)
                assert response.status_code == 401
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2.0, (known, unknown)
    # and the trusted proxy's X-Forwarded-For is what the audit log records
    assert "192.0.2.0" in audit_clients(url, "login_failed")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", "198.51.100.7", "127.0.0.1"),  # no proxy trusted: header ignored
        ("10.0.0.5", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.5", "203.0.113.1, 198.51.100.7", "198.51.100.7"),  # left part is the client's
        ("10.0.0.5", "198.51.100.7, 10.0.0.9", "198.51.100.7"),  # a chain of trusted proxies
        ("10.0.0.5", "not-an-ip", "10.0.0.5"),
        ("192.0.2.1", "198.51.100.7", "192.0.2.1"),  # a peer outside the trusted network
    ],
)
def test_forwarded_for_is_believed_only_from_trusted_proxies(
    peer: str, forwarded: str, expected: str
) -> None:
    site = Site(trusted_proxies=parse_networks("10.0.0.0/8" if peer != "127.0.0.1" else ""))
    assert forwarded_client(site, peer, forwarded) == expected


def test_a_bad_trusted_proxies_setting_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, city: City
) -> None:
    monkeypatch.setenv("INCLUSIVE_CITIES_TRUSTED_PROXIES", "10.0.0.1, proxy.local")
    with pytest.raises(WebError, match=r"'proxy\.local' is not an IP address or network"):
        create_app(city.url, specs=specs)


# --- stored HTML injection -------------------------------------------------------------

BREAKOUT = "</script><img src=x onerror=alert(1)>"


def json_block(html: str, block_id: str) -> object:
    match = re.search(
        rf'<script type="application/json" id="{block_id}">(.*?)</script>', html, re.S
    )
    assert match, block_id
    return json.loads(match.group(1))


def test_names_and_codes_cannot_break_out_of_the_json_blocks(
    fresh_city: City, fresh_client: TestClient
) -> None:
    """Values stored before codes were validated (or a city name, which is free text) must
    stay text inside the map, overview and trend pages' JSON."""
    name = "Ciudad " + BREAKOUT
    period = "2020" + BREAKOUT
    label = "Censo 2020" + BREAKOUT
    with transaction(connect(fresh_city.url)) as session:
        session.execute(update(models.City).values(name=name))
        session.execute(
            update(models.Period)
            .where(models.Period.code == "2020")
            .values(code=period, label=label)
        )
    map_page = fresh_client.get("/cities/TST/map").text
    unit_page = fresh_client.get("/cities/TST/units/01001").text
    for html in (map_page, unit_page, fresh_client.get("/cities/TST").text):
        assert "<img src=x" not in html
    config = json_block(map_page, "map-config")
    assert isinstance(config, dict)
    assert config["cityName"] == name and period in config["periods"]
    trend = json_block(unit_page, "trend")
    assert isinstance(trend, dict)
    periods = {row["period"] for rows in trend["datasets"].values() for row in rows}
    assert periods == {label, "Censo 2024"}


# --- integers of 2^63 and more ---------------------------------------------------------

HUGE = str(2**63)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/runs/{HUGE}",
        f"/api/runs/{HUGE}/scores",
        "/api/runs/2147483648",  # beyond PostgreSQL's integer ids
        f"/api/cities/TST/observations?offset={HUGE}",
        f"/api/cities/TST/units?offset={HUGE}",
        f"/api/admin/jobs/{HUGE}",
        f"/admin/jobs/{HUGE}",
    ],
)
def test_huge_integers_are_refused_not_a_server_error(client: TestClient, path: str) -> None:
    response = TestClient(client.app, raise_server_exceptions=False).get(path)
    assert response.status_code == 422, (path, response.status_code)


@pytest.mark.postgres
def test_huge_ids_on_postgresql_are_refused(postgres_url: str) -> None:
    init_database(postgres_url)
    app = create_app(postgres_url, specs=specs)
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/api/runs/2147483648", f"/api/runs/{HUGE}", "/api/runs/7"):
            assert client.get(path).status_code == (404 if path.endswith("/7") else 422)
    use_language("en")


# --- API tokens can be revoked -----------------------------------------------------------


def new_token(client: TestClient, csrf: str, label: str) -> str:
    page = client.post("/admin/tokens", data={"csrf_token": csrf, "label": label}).text
    match = re.search(r'id="new-token">([^<]+)<', page)
    assert match
    return match.group(1)


def token_id(city: City, label: str) -> int:
    with transaction(connect(city.url)) as session:
        found = session.scalar(select(ApiToken.id).where(ApiToken.label == label))
    assert found is not None
    return found


def test_an_api_token_can_be_revoked_from_the_admin(
    fresh_client: TestClient, fresh_city: City
) -> None:
    add_user(fresh_city, *ANALYST, "analyst")
    csrf = log_in(fresh_client, *ANALYST)
    token = new_token(fresh_client, csrf, "nightly script")
    path = f"/api/admin/runs/{fresh_city.draft_run}/unpublish"
    bearer = {"authorization": f"Bearer {token}"}
    assert fresh_client.post(path, headers=bearer).status_code == 200
    revoke = f"/admin/tokens/{token_id(fresh_city, 'nightly script')}/revoke"
    assert fresh_client.post(revoke, data={"csrf_token": "forged"}).status_code == 403
    assert fresh_client.post(path, headers=bearer).status_code == 200  # still valid
    page = fresh_client.post(revoke, data={"csrf_token": csrf})
    assert page.status_code == 200 and "nightly script" in page.text
    assert fresh_client.post(path, headers=bearer).status_code == 401
    assert "revoke_token" in [a for a in audit_actions(fresh_city)]


def test_an_analyst_cannot_revoke_someone_elses_token(
    fresh_client: TestClient, fresh_city: City
) -> None:
    add_user(fresh_city, *ADMIN, "admin")
    add_user(fresh_city, *ANALYST, "analyst")
    admin_token = new_token(fresh_client, log_in(fresh_client, *ADMIN), "admin's")
    fresh_client.cookies.clear()
    csrf = log_in(fresh_client, *ANALYST)
    tokens = re.search(
        r'<table class="data" id="tokens">.*?</table>', fresh_client.get("/admin").text, re.S
    )
    assert tokens is None or "admin&#39;s" not in tokens.group(0)  # not even listed
    page = fresh_client.post(
        f"/admin/tokens/{token_id(fresh_city, 'admin' + chr(39) + 's')}/revoke",
        data={"csrf_token": csrf},
        params={"lang": "en"},
    )
    assert "There is no API token" in page.text and "that you may revoke" in page.text
    fresh_client.cookies.clear()
    path = f"/api/admin/runs/{fresh_city.draft_run}/publish"
    response = fresh_client.post(path, headers={"authorization": f"Bearer {admin_token}"})
    assert response.status_code == 200


def audit_actions(city: City) -> list[str]:
    with transaction(connect(city.url)) as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# --- a failed upload says so -------------------------------------------------------------


def test_a_rejected_upload_does_not_report_imported(
    fresh_client: TestClient, fresh_city: City
) -> None:
    add_user(fresh_city, *ANALYST, "analyst")
    csrf = log_in(fresh_client, *ANALYST)
    # 99999 is no unit of the city and partial imports were not accepted: nothing is written
    files = {"file": ("verde.csv", b"codigo,green_m2\n01001,3.5\n99999,5\n", "text/csv")}
    form = {"city": "TST", "period": "2024", "csrf_token": csrf}
    response = fresh_client.post(
        "/admin/uploads", data=form, files=files, params={"lang": "es"}, follow_redirects=False
    )
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    body = wait_for_job(fresh_client, job_id)
    assert body["status"] == "failed"
    summary = body["report"]["summary"]
    assert isinstance(summary, list)
    assert summary[0] == "verde.csv: rechazado, no se importó nada"
    assert not any("importado" in line for line in summary)
    page = fresh_client.get(f"/admin/jobs/{job_id}", params={"lang": "es"}).text
    assert "importado" not in page and "Fallida" in page
    dashboard = fresh_client.get("/admin", params={"lang": "es"}).text
    row = re.search(rf'<a href="/admin/jobs/{job_id}">.*?</tr>', dashboard, re.S)
    assert row and "Fallida" in row.group(0)
    with transaction(connect(fresh_city.url)) as session:
        assert session.get(Job, job_id).status == "failed"  # type: ignore[union-attr]


# --- links and cookies do not trust the request's Host or scheme --------------------------


def hrefs(body: object) -> list[str]:
    return re.findall(r'"href":\s*"([^"]+)"', json.dumps(body))


def test_ogc_links_never_echo_a_forged_host(client: TestClient) -> None:
    forged = {"host": "evil.example"}
    for path in ("/ogc", "/ogc/collections", "/ogc/collections/tst-uim-test-2024/items?limit=2"):
        body = client.get(path, headers=forged).json()
        links = hrefs(body)
        assert links and all(link.startswith("/") for link in links), links
        assert "evil.example" not in json.dumps(body)
    # an allowed host (loopback) still gets absolute links, as GDAL expects
    local = client.get("/ogc", headers={"host": "127.0.0.1:8000"}).json()
    assert all(link.startswith("http://127.0.0.1:8000/") for link in hrefs(local))


def test_ogc_links_use_the_configured_public_url(
    monkeypatch: pytest.MonkeyPatch, city: City
) -> None:
    monkeypatch.setenv("INCLUSIVE_CITIES_PUBLIC_URL", "https://observatorio.example.org/")
    with TestClient(create_app(city.url, specs=specs)) as client:
        body = client.get(
            "/ogc/collections/tst-uim-test-2024/items",
            params={"limit": 2},
            headers={"host": "evil.example"},
        ).json()
    links = hrefs(body)
    next_page = "https://observatorio.example.org/ogc/collections/tst-uim-test-2024/items?"
    assert next_page + "limit=2&offset=2" in links
    assert all(link.startswith("https://observatorio.example.org/ogc/") for link in links)


def login_cookie(client: TestClient, **headers: str) -> str:
    response = client.post(
        LOGIN,
        data={"email": ADMIN[0], "password": ADMIN[1]},
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 303
    return response.headers["set-cookie"]


@pytest.mark.parametrize(
    ("env", "peer", "headers", "secure"),
    [
        ({}, "198.51.100.7", {}, False),  # plain http, nothing configured
        ({}, "198.51.100.7", {"x-forwarded-proto": "https"}, False),  # claim from a client
        (
            {"INCLUSIVE_CITIES_TRUSTED_PROXIES": "10.0.0.5"},
            "10.0.0.5",
            {"x-forwarded-proto": "https", "x-forwarded-for": "198.51.100.7"},
            True,
        ),
        (
            {"INCLUSIVE_CITIES_PUBLIC_URL": "https://observatorio.example.org"},
            "198.51.100.7",
            {},
            True,
        ),
    ],
)
def test_session_cookie_is_secure_behind_https(
    monkeypatch: pytest.MonkeyPatch,
    fresh_city: City,
    env: dict[str, str],
    peer: str,
    headers: dict[str, str],
    secure: bool,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    add_user(fresh_city, *ADMIN, "admin")
    app = create_app(fresh_city.url, specs=specs)
    with TestClient(app, client=(peer, 50000)) as client:
        cookie = login_cookie(client, **headers)
    assert ("; secure" in cookie.lower()) is secure, cookie
    use_language("en")


# --- the API docs load under the site's own CSP ------------------------------------------


def test_docs_page_scripts_load_under_the_csp_in_chromium(city: City) -> None:
    from playwright.sync_api import sync_playwright

    from tests.web.live import live_server
    from tests.web.test_browser import ARGS, CHROMIUM

    with live_server(city.url) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        problems: list[str] = []
        outside: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console",
            lambda message: problems.append(message.text) if message.type == "error" else None,
        )
        page.on(
            "request",
            lambda request: (
                outside.append(request.url) if not request.url.startswith((base, "data:")) else None
            ),
        )
        page.goto(base + "/docs")
        page.wait_for_selector("body[data-docs-ready='true']", timeout=30000)
        operations = page.locator(".opblock-summary-path").all_inner_texts()
        browser.close()
    assert outside == []
    assert problems == []
    assert "/api/cities" in [text.replace("\u200b", "") for text in operations]


SHORT_BREAKOUT = "</script><b>"
"""Fits the forms' 40-character limit, so the code check (not the length) must refuse it."""


@pytest.mark.parametrize(
    ("route", "form"),
    [
        ("/admin/uploads", {"city": "TST", "period": "2024" + SHORT_BREAKOUT}),
        ("/admin/uploads", {"city": "TST/../x", "period": "2024"}),
        ("/admin/builds", {"city": "TST", "period": "2024" + SHORT_BREAKOUT}),
        ("/admin/builds", {"city": "..", "period": "2024"}),
    ],
)
def test_uploads_and_builds_refuse_codes_that_are_not_identifiers(
    fresh_client: TestClient, fresh_city: City, route: str, form: dict[str, str]
) -> None:
    add_user(fresh_city, *ANALYST, "analyst")
    csrf = log_in(fresh_client, *ANALYST)
    files = {"file": ("verde.csv", b"codigo,green_m2\n01001,3.5\n", "text/csv")}
    response = fresh_client.post(
        route,
        data={**form, "csrf_token": csrf},
        files=files if route == "/admin/uploads" else None,
        params={"lang": "en"},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert (
        "is not a valid code" in response.text
        or "is empty" in response.text
        or ("is not a period" in response.text)
    )
    assert "<img src=x" not in response.text
    with transaction(connect(fresh_city.url)) as session:
        assert session.scalar(select(Job.id)) is None  # no job was started
        assert sorted(session.scalars(select(models.Period.code))) == ["2020", "2024"]


def test_serve_refuses_a_bad_public_url_in_one_line(sqlite_url: str) -> None:
    init_database(sqlite_url)
    program = str(Path(sys.executable).parent / "inclusive-cities")
    result = subprocess.run(
        [program, "--database", sqlite_url, "serve", "--port", str(free_port())],
        env={**os.environ, "INCLUSIVE_CITIES_PUBLIC_URL": "observatorio.example.org"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines() + result.stdout.strip().splitlines()
    assert len(lines) == 1 and "is not a web address" in lines[0], lines
