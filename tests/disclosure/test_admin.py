"""The admin area shows the disclosure audit of a city, to signed-in users only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from inclusive_cities.store import connect, transaction
from inclusive_cities.web import auth, create_app
from tests.disclosure.conftest import SmallCity


def test_admin_page_shows_the_audit_after_login(small: SmallCity) -> None:
    with transaction(connect(small.url)) as session:
        auth.create_user(session, "admin@example.org", "admin", "correct horse battery")
    with TestClient(create_app(small.url), base_url="http://localhost") as client:
        anonymous = client.get("/admin/disclosure/DSC", follow_redirects=False)
        assert anonymous.status_code == 303
        client.post(
            "/admin/login",
            data={"email": "admin@example.org", "password": "correct horse battery"},
            follow_redirects=False,
        )
        page = client.get("/admin/disclosure/DSC")
        assert page.status_code == 200
        assert "DSC: se revisaron 14 cifras publicadas" in page.text  # Spanish by default
        assert "0 recuperables" in page.text
        assert client.get("/admin/disclosure/NOPE").status_code == 404
