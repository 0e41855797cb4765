"""Who may open what: every route of the app, for each role (trial F16).

The classes below cover the app's routes exactly: a new route fails ``test_every_route_is_
classified`` until someone decides who may use it. Each route is then called as anonymous,
as a ``programme`` account linked only to BAQ, as an analyst and as an admin (API tokens,
so POSTs reach the role check without a CSRF form), with real-shaped parameters of a small
planning city that has a published plan. A ``programme`` account is refused (403) by the
whole staff area; on public pages it gets exactly what an anonymous visitor gets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from inclusive_cities.store import connect, transaction
from inclusive_cities.store.monitoring_models import UserCity
from inclusive_cities.store.web_models import ApiToken, User
from inclusive_cities.web import auth
from inclusive_cities.web.app import create_app
from tests.web.workshop_city import PLAN, build_workshop_city

PUBLIC = "public"
STAFF = "staff"  # analysts and admins
ADMIN = "admin"  # admins only
PROGRAMME = "programme"  # programme accounts, analysts and admins
OWN = "own"  # any signed-in account, for itself (logout, its API tokens)

ROUTES: dict[str, str] = {
    "GET /openapi.json": PUBLIC,
    "GET /favicon.ico": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /": PUBLIC,
    "GET /cities/{city}": PUBLIC,
    "GET /cities/{city}/map": PUBLIC,
    "GET /cities/{city}/units/{code}": PUBLIC,
    "GET /cities/{city}/rankings": PUBLIC,
    "GET /downloads": PUBLIC,
    "GET /downloads/{filename}": PUBLIC,
    "GET /methodology": PUBLIC,
    "GET /cities": PUBLIC,
    "GET /api/cities": PUBLIC,
    "GET /api/cities/{city}": PUBLIC,
    "GET /api/cities/{city}/units": PUBLIC,
    "GET /api/indicators": PUBLIC,
    "GET /api/cities/{city}/observations": PUBLIC,
    "GET /api/runs": PUBLIC,
    "GET /api/runs/{run_id}": PUBLIC,
    "GET /api/runs/{run_id}/scores": PUBLIC,
    "GET /api/runs/{run_id}/coverage": PUBLIC,
    "GET /api/cities/{city}/map": PUBLIC,
    "GET /ogc": PUBLIC,
    "GET /ogc/conformance": PUBLIC,
    "GET /ogc/collections": PUBLIC,
    "GET /ogc/collections/{collection_id}": PUBLIC,
    "GET /ogc/collections/{collection_id}/schema": PUBLIC,
    "GET /ogc/collections/{collection_id}/items": PUBLIC,
    "GET /ogc/collections/{collection_id}/items/{fid}": PUBLIC,
    "GET /admin/login": PUBLIC,
    "POST /admin/login": PUBLIC,
    "POST /admin/logout": OWN,
    "GET /admin": STAFF,
    "POST /admin/runs/{run_id}/{action}": STAFF,
    "POST /admin/layers/{action}": STAFF,
    "POST /admin/tokens": OWN,
    "POST /admin/tokens/{token_id}/revoke": OWN,
    "POST /admin/users": ADMIN,
    "POST /admin/users/{user_id}/{action}": ADMIN,
    "POST /admin/uploads": STAFF,
    "POST /admin/builds": STAFF,
    "GET /admin/jobs/{job_id}": STAFF,
    "GET /admin/disclosure/{city}": STAFF,
    "GET /api/admin/jobs/{job_id}": STAFF,
    "POST /api/admin/runs/{run_id}/publish": STAFF,
    "POST /api/admin/runs/{run_id}/unpublish": STAFF,
    "POST /admin/uploads/preview": STAFF,
    "GET /admin/uploads/{token}": STAFF,
    "POST /admin/uploads/{token}/dictionary": STAFF,
    "POST /admin/uploads/{token}/import": STAFF,
    "GET /cities/{city}/planner": STAFF,
    "GET /api/planning/{city}/solve": STAFF,
    "GET /api/planning/{city}/curve": STAFF,
    "GET /api/planning/{city}/robust": STAFF,
    "GET /cities/{city}/planner/selection.xlsx": STAFF,
    "GET /cities/{city}/planner/selection.pdf": STAFF,
    "GET /cities/{city}/planner/places": STAFF,
    "GET /cities/{city}/impact": PUBLIC,
    "GET /cities/{city}/impact/{project}": PUBLIC,
    "GET /cities/{city}/impact/{project}/impact.xlsx": PUBLIC,
    "GET /cities/{city}/impact/{project}/impact.pdf": PUBLIC,
    "GET /cities/{city}/governance": PUBLIC,
    "GET /governance/practices": PUBLIC,
    "GET /governance/initiatives": PUBLIC,
    "GET /cities/{city}/governance/report.{fmt}": PUBLIC,
    "GET /governance/assessments/{assessment_id}.xlsx": PUBLIC,
    "GET /governance/template.xlsx": PUBLIC,
    "GET /admin/governance": STAFF,
    "POST /admin/governance/uploads": STAFF,
    "GET /admin/governance/assessments/{assessment_id}": STAFF,
    "POST /admin/governance/assessments/{assessment_id}/answers": STAFF,
    "GET /cities/{city}/workshops": PUBLIC,
    "GET /cities/{city}/workshops/{code}": PUBLIC,
    "GET /cities/{city}/workshops/{code}/record.{fmt}": PUBLIC,
    "GET /workshops/template.xlsx": PUBLIC,
    "GET /admin/cities/{city}/workshops": STAFF,
    "POST /admin/cities/{city}/workshops/upload": STAFF,
    "POST /admin/cities/{city}/workshops": STAFF,
    "GET /admin/cities/{city}/workshops/{code}": STAFF,
    "POST /admin/cities/{city}/workshops/{code}": STAFF,
    "POST /admin/cities/{city}/workshops/{code}/nodes": STAFF,
    "POST /admin/cities/{city}/workshops/{code}/nodes/{node}/delete": STAFF,
    "POST /admin/cities/{city}/workshops/{code}/rows": STAFF,
    "POST /admin/cities/{city}/workshops/{code}/rows/{row_code}/delete": STAFF,
    "GET /cities/{city}/plan": PUBLIC,
    "GET /cities/{city}/plan/proposals": PUBLIC,
    "GET /cities/{city}/plan/projects/{code}": PUBLIC,
    "GET /cities/{city}/plan/photos/{photo_id}": PUBLIC,
    "GET /cities/{city}/plan/{plan}/{name}": PUBLIC,
    "GET /admin/cities/{city}/plan": STAFF,
    "POST /admin/cities/{city}/plan": STAFF,
    "GET /admin/cities/{city}/plan/{plan}": STAFF,
    "POST /admin/cities/{city}/plan/{plan}/publish": STAFF,
    "POST /admin/cities/{city}/plan/{plan}/add-project": STAFF,
    "POST /admin/cities/{city}/plan/{plan}/items": STAFF,
    "POST /admin/cities/{city}/plan/{plan}/items/{code}/delete": STAFF,
    "POST /admin/cities/{city}/plan/{plan}/upload": STAFF,
    "POST /admin/cities/{city}/plan/{plan}/proposals": STAFF,
    "GET /tiles/ogc/{collection_id}/{z}/{x}/{y}.mvt": PUBLIC,
    "GET /tiles/ogc/{collection_id}/tiles.json": PUBLIC,
    "GET /tiles/map/{city}/layer.json": PUBLIC,
    "GET /tiles/map/{city}/{z}/{x}/{y}.mvt": PUBLIC,
    "GET /programme": PUBLIC,
    "GET /programme/cities/{key}": PUBLIC,
    "GET /programme/centres": PUBLIC,
    "GET /programme/report.{fmt}": PUBLIC,
    "GET /admin/programme": PROGRAMME,
    "GET /admin/programme/template.xlsx": PROGRAMME,
    "POST /admin/programme/results": PROGRAMME,
    "POST /admin/programme/uploads": PROGRAMME,
    "GET /reports/{job_id}": STAFF,  # of a staff report (the planner's selection PDF)
    "GET /reports/{job_id}/status.json": STAFF,
    "GET /reports/{job_id}/file": STAFF,
}

PARAMETERS = {
    "city": "PLN",
    "code": "B1",
    "filename": "PLN.gpkg",
    "run_id": "1",
    "action": "publish",
    "token_id": "999",
    "user_id": "1",
    "job_id": "1",
    "token": "x" * 43,
    "project": "P1",
    "fmt": "xlsx",
    "assessment_id": "1",
    "node": "1",
    "row_code": "1",
    "plan": PLAN,
    "name": "plan.xlsx",
    "photo_id": "1",
    "collection_id": "PLN-units",
    "fid": "1",
    "z": "0",
    "x": "0",
    "y": "0",
    "key": "BAQ",
}
STAFF_KEY = "Bearer ict_staff-key-of-the-analyst-for-reports"
ROLES = ("anonymous", "programme", "analyst", "admin")
SKIPPED_MOUNTS = ("/static", "/assets")


def _flat(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's included router
            yield from _flat(route.original_router.routes)
        else:
            yield route


def app_routes(app: Any) -> dict[str, Any]:
    """'METHOD path' -> route, for every endpoint (mounted static folders aside)."""
    found = {}
    for route in _flat(app.routes):
        if route.path in SKIPPED_MOUNTS:
            continue
        for method in sorted(set(route.methods) - {"HEAD"}):
            found[f"{method} {route.path}"] = route
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("roles")
    city = build_workshop_city(folder)
    engine = connect(city.url)
    tokens = {}
    with transaction(engine) as session:
        for role in ROLES[1:]:
            user = auth.create_user(session, f"{role}@example.org", role, "a long password")
            if role == "programme":
                session.add(UserCity(user_id=user.id, city_code="BAQ"))
            tokens[role] = auth.new_api_token(session, user.id, role)
            if role == "analyst":  # a known key of its own, to ask for staff reports
                session.add(
                    ApiToken(token_hash=auth.hash_token(STAFF_KEY[7:]), user_id=user.id, label="r")
                )
    with TestClient(create_app(city.url), follow_redirects=False) as client:
        yield client, tokens


def _call(client: TestClient, key: str, route: Any, token: str | None) -> int:
    """The status of one call; a redirect of a ``programme`` account to its own page counts
    as a refusal (403), one to the login page as 303."""
    method, path = key.split(" ", 1)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    values = dict(PARAMETERS)
    if path.startswith("/reports/"):  # a staff-only report, asked for just now (a change
        # of the store by an earlier call may have dropped an older one)
        pdf = client.get("/cities/PLN/planner/selection.pdf", headers={"authorization": STAFF_KEY})
        values["job_id"] = re.findall(r"^/reports/(\d+)\?", pdf.headers["location"])[0]
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    if method == "GET":
        response = client.get(url, headers=headers)
        if response.headers.get("location") == "/admin/programme":
            return 403
        return response.status_code
    data: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for field in route.dependant.body_params:
        if "UploadFile" in str(field.field_info.annotation):
            files[field.alias] = ("table.csv", b"code,value\nB1,999\n", "text/csv")
        else:
            data[field.alias] = "1"
    return client.post(url, headers=headers, data=data, files=files or None).status_code


def test_every_route_is_classified(site: tuple[TestClient, dict[str, str]]) -> None:
    client, _tokens = site
    assert sorted(app_routes(client.app)) == sorted(ROUTES)


def test_each_role_gets_what_its_class_allows(site: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = site
    routes = app_routes(client.app)
    wrong = []
    for key, kind in ROUTES.items():
        # public answers: anonymous and programme must match; staff ones are not refused
        # there (checked once, as analyst, to keep the test short)
        roles = ROLES[:3] if kind == PUBLIC else ROLES
        if key == "POST /admin/login":  # a wrong password, whoever sends it (argon2 is slow)
            roles = ROLES[:2]
        got = {role: _call(client, key, routes[key], tokens.get(role)) for role in roles}
        method = key.split(" ", 1)[0]
        refused_anonymous = {303} if method == "GET" and "/api/" not in key else {401}
        if key == "POST /admin/login":
            ok = got["programme"] == got["anonymous"] == 401  # the form's "wrong password"
        elif kind == PUBLIC:
            ok = got["programme"] == got["anonymous"] and not {401, 403} & set(got.values())
        elif kind == OWN:
            ok = got["anonymous"] in (401, 303) and all(got[r] not in (401, 403) for r in ROLES[1:])
        else:
            allowed = {STAFF: ROLES[2:], ADMIN: ROLES[3:], PROGRAMME: ROLES[1:]}[kind]
            ok = got["anonymous"] in refused_anonymous | {401} and all(
                (got[r] not in (401, 403)) if r in allowed else got[r] == 403 for r in ROLES[1:]
            )
        ok = ok and all(status < 500 for status in got.values())
        if not ok:
            wrong.append((key, kind, got))
    assert wrong == []


def test_programme_account_sees_the_public_impact_page(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    """A public page with staff extras: the programme account gets the anonymous page,
    the analyst the staff one (byte for byte apart from the signed-in header)."""
    client, tokens = site
    anonymous = client.get("/cities/PLN/impact?lang=en").text
    programme = client.get(
        "/cities/PLN/impact?lang=en", headers={"authorization": f"Bearer {tokens['programme']}"}
    ).text
    assert programme == anonymous


def test_programme_account_is_linked_only_to_baq(site: tuple[TestClient, dict[str, str]]) -> None:
    client, _tokens = site
    url = str(client.app.state.web.engine.url)
    with transaction(connect(url)) as session:
        user = session.scalar(select(User).where(User.email == "programme@example.org"))
        assert user is not None
        links = session.scalars(select(UserCity.city_code).where(UserCity.user_id == user.id))
        assert list(links) == ["BAQ"]
