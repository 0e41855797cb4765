"""The digests asked on every OGC request run SQL compiled once, and say what SQLAlchemy says.

Issue #21: building the publication digest's statement (hundreds of SQL expression objects) and
its cache key cost most of an OGC request's CPU; ``web.data.fixed_query`` compiles it once per
dialect with its constants inlined. These tests check, on SQLite and PostgreSQL, that the
inlined SQL returns the very row the statement returns through SQLAlchemy, that requests send
exactly that SQL with no parameters, and that the list's conditional GET still sees a publish.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select

from inclusive_cities.store import connect, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from inclusive_cities.web import data
from inclusive_cities.web.app import create_app
from tests.web.conftest import City, build_city, specs


@contextmanager
def sent() -> Iterator[list[tuple[str, object]]]:
    """(SQL, parameters) of every statement any engine sends while the block runs."""
    statements: list[tuple[str, object]] = []

    def record(_conn: object, _cursor: object, sql: str, parameters: object, *_a: object) -> None:
        statements.append((sql, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_inlined_digest_sql_returns_the_row_of_the_statement(
    backend: str, request: pytest.FixtureRequest, tmp_path: object
) -> None:
    url = (
        request.getfixturevalue("postgres_url")
        if backend == "postgres"
        else f"sqlite:///{tmp_path}/digest.db"
    )
    build_city(url)
    engine = connect(url)
    with transaction(engine) as s:
        expected = tuple(s.execute(data._publication_statement()).one())
        got = tuple(data.fixed_query(s, "publication", data._publication_statement).one())
        assert got == expected
        # the texts hold every published row: the test city's indicators are in them
        assert any(isinstance(v, str) and "Ciudad Prueba" in v for v in got)
    engine.dispose()


def test_requests_send_the_compiled_sql_without_parameters(fresh_city: City) -> None:
    with TestClient(create_app(fresh_city.url, specs=specs)) as client:
        assert client.get("/ogc/collections").status_code == 200  # builds the caches
        with sent() as statements:
            for path in ("/ogc/collections", "/ogc/collections/tst-uim-test-2024/items?limit=2"):
                assert client.get(path).status_code == 200
    digest_sql = data._FIXED_SQL[("publication", "sqlite")]
    assert [p for sql, p in statements if sql == digest_sql] == [(), ()]  # one per request
    assert "?" not in digest_sql  # constants inlined: nothing to bind


def test_the_list_answers_304_until_a_publish_changes_it(fresh_city: City) -> None:
    with TestClient(create_app(fresh_city.url, specs=specs)) as client:
        first = client.get("/ogc/collections")
        tag = first.headers["etag"]
        again = client.get("/ogc/collections", headers={"if-none-match": tag})
        assert again.status_code == 304 and again.content == b""
        engine = connect(fresh_city.url)
        with transaction(engine) as s:
            city_id = s.scalar(select(models.City.id))
            period = s.scalars(select(models.Period).where(models.Period.code == "2024")).one()
            extra = models.Indicator(code="extra", name_es="Extra", name_en="Extra", unit="%")
            s.add(extra)
            s.flush()
            s.add(PublishedLayer(city_id=city_id, period_id=period.id, indicator_id=extra.id))
        engine.dispose()
        changed = client.get("/ogc/collections", headers={"if-none-match": tag})
        assert changed.status_code == 200 and changed.headers["etag"] != tag
        listed = {c["id"] for c in changed.json()["collections"]}
        before = {c["id"] for c in first.json()["collections"]}
        assert len(listed - before) == 1 and before <= listed


def test_with_a_public_url_the_list_is_built_at_start_up(
    monkeypatch: pytest.MonkeyPatch, fresh_city: City
) -> None:
    monkeypatch.setenv("INCLUSIVE_CITIES_PUBLIC_URL", "https://observatorio.example.org")
    with TestClient(create_app(fresh_city.url, specs=specs)) as client:
        for thread in threading.enumerate():
            if thread.name in ("ogc-warm", "tiles-warm"):
                thread.join(60)
        with sent() as statements:
            english = client.get("/ogc/collections", params={"lang": "en"}).json()
            spanish = client.get("/ogc/collections", params={"lang": "es"}).json()
    assert len(statements) <= 6, statements  # the digests only: no document built
    assert english["links"][0]["href"] == "https://observatorio.example.org/ogc/collections"
    # each language's documents were built in that language by the start-up thread
    english_doc = next(c for c in english["collections"] if c["id"] == "tst-uim-test-2024")
    spanish_doc = next(c for c in spanish["collections"] if c["id"] == "tst-uim-test-2024")
    assert english_doc["description"].startswith("Synthetic demonstration data. Period")
    assert spanish_doc["description"].startswith("Datos sintéticos de demostración.")
