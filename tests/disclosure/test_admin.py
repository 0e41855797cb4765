"""The admin area shows the disclosure audit of a city, to signed-in users only."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from inclusive_cities.disclosure.rules import ENV_SWITCH
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
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
        assert page.headers["content-type"].startswith("text/html")  # a page, not plain text
        assert "DSC: se revisaron 14 cifras publicadas" in page.text  # Spanish by default
        assert "0 recuperables" in page.text
        summary = re.search(r'id="audit-summary"[^>]*>([^<]*)<', page.text)
        assert summary and re.search(r"\(\d+,\d s\)", summary.group(1))  # 0,4 s, not 0.4
        assert "Nada de lo reservado se puede deducir" in page.text
        assert client.get("/admin/disclosure/NOPE").status_code == 404


def test_admin_publishing_runs_the_audit_first(
    small: SmallCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(connect(small.url)) as session:
        auth.create_user(session, "admin@example.org", "admin", "correct horse battery")
        share = session.scalar(
            select(models.Indicator.id).where(models.Indicator.code == "venezuelan_share")
        )
        session.execute(delete(PublishedLayer).where(PublishedLayer.indicator_id == share))
    form = {"city_id": 1, "period_id": 1, "indicator_id": share}
    with TestClient(create_app(small.url), base_url="http://localhost") as client:
        client.post(
            "/admin/login",
            data={"email": "admin@example.org", "password": "correct horse battery"},
            follow_redirects=False,
        )
        match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin").text)
        assert match
        form["csrf_token"] = match.group(1)  # type: ignore[assignment]
        monkeypatch.setenv(ENV_SWITCH, "off")
        refused = client.post("/admin/layers/publish", data=form, follow_redirects=False)
        assert refused.status_code == 400
        assert "venezuelan_population[B1, 2024]" in refused.text
        assert layers(small.url, share) == 0
        monkeypatch.delenv(ENV_SWITCH)
        done = client.post("/admin/layers/publish", data=form, follow_redirects=False)
        assert done.status_code == 303
        assert layers(small.url, share) == 1


def layers(url: str, indicator_id: int | None) -> int:
    with Session(connect(url)) as session:
        found = session.scalar(
            select(func.count(PublishedLayer.id)).where(PublishedLayer.indicator_id == indicator_id)
        )
    return int(found or 0)
