"""HEAD answers as GET without a body: caches, link checkers and GIS clients send it first."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

PATHS = [
    "/",
    "/cities/TST?lang=es",
    "/api/cities",
    "/ogc",
    "/ogc/collections",
    "/ogc/collections/tst-uim-test-2024/items?limit=2",
    "/methodology",
]


@pytest.mark.parametrize("path", PATHS)
def test_head_answers_like_get_without_a_body(client: TestClient, path: str) -> None:
    got = client.get(path)
    head = client.head(path)
    assert got.status_code == 200
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def test_head_of_a_missing_page_is_404(client: TestClient) -> None:
    assert client.head("/cities/NOWHERE").status_code == 404
