"""The web app on PostgreSQL, the engine of shared deployments (several stateless workers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from inclusive_cities.i18n import use_language
from inclusive_cities.web import create_app
from tests.web.conftest import build_city, specs
from tests.web.test_security import ADMIN, add_user, log_in, published

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_client(postgres_url: str) -> Iterator[tuple[TestClient, object]]:
    city = build_city(postgres_url)
    with TestClient(create_app(postgres_url, specs=specs)) as client:
        yield client, city
    use_language("es")


def test_public_pages_and_apis_on_postgresql(pg_client) -> None:
    client, _city = pg_client
    html = client.get("/cities/TST", params={"lang": "en"}).text
    assert "68.3" in html and "2,100" in html and "13.3 %" in html
    items = client.get("/ogc/collections/tst-uim-test-2024/items", params={"limit": 4}).json()
    assert items["numberMatched"] == 6
    assert [f["id"] for f in items["features"]] == ["01001", "01002", "01003", "02001"]
    box = client.get(
        "/ogc/collections/tst-uim-test-2024/items", params={"bbox": "-72.5,7.9,-72.485,7.905"}
    ).json()
    assert sorted(f["id"] for f in box["features"]) == ["01001", "01002"]
    assert client.get("/api/cities").json()[0]["code"] == "TST"


def test_publishing_from_the_admin_on_postgresql(pg_client) -> None:
    client, city = pg_client
    add_user(city, *ADMIN, "admin")
    csrf = log_in(client, *ADMIN)
    assert not published(city, city.draft_run)
    response = client.post(
        f"/admin/runs/{city.draft_run}/publish",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert published(city, city.draft_run)
