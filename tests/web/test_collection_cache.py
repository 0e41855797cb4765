"""Collection metadata is built once per publish, not per request, yet never goes stale.

Listing the collections once cost dozens of queries per OGC request; now it is cached under a
digest of the rows it is read from. These tests count the SQL statements a request sends, then
change those rows the ways analysts do (publish, withdraw, rename, re-import) and check the very
next request sees the change, with no restart and no cache clearing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select, update

from inclusive_cities.store import connect, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from inclusive_cities.web.app import create_app
from tests.web.conftest import City, specs


@contextmanager
def counted() -> Iterator[list[str]]:
    """Every SQL statement sent by any engine while the block runs."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def ids(client: TestClient) -> set[str]:
    return {c["id"] for c in client.get("/ogc/collections").json()["collections"]}


@pytest.fixture
def app_client(fresh_city: City) -> Iterator[TestClient]:
    with TestClient(create_app(fresh_city.url, specs=specs)) as client:
        yield client


def test_an_items_page_costs_the_same_few_queries_however_many_layers(
    app_client: TestClient, fresh_city: City
) -> None:
    path = "/ogc/collections/tst-uim-test-2024/items?limit=100"
    assert app_client.get(path).status_code == 200  # builds the caches
    with counted() as before:
        assert app_client.get(path).json()["numberReturned"] == 6
    # publish ten more layers: each first listing builds once, later requests stay as cheap
    engine = connect(fresh_city.url)
    with transaction(engine) as s:
        city_id = s.scalar(select(models.City.id))
        period = s.scalars(select(models.Period).where(models.Period.code == "2024")).one()
        for i in range(10):
            extra = models.Indicator(
                code=f"extra_{i}", name_es=f"Extra {i}", name_en=f"Extra {i}", unit="%"
            )
            s.add(extra)
            s.flush()
            s.add(PublishedLayer(city_id=city_id, period_id=period.id, indicator_id=extra.id))
    engine.dispose()
    assert len(ids(app_client)) == 14
    app_client.get(path)
    with counted() as after:
        assert app_client.get(path).json()["numberReturned"] == 6
    assert len(after) == len(before) <= 3, after


def test_publishing_withdrawing_and_renaming_show_on_the_next_request(
    app_client: TestClient, fresh_city: City
) -> None:
    assert ids(app_client) == {
        "tst-uim-test-2020",
        "tst-uim-test-2024",
        "tst-piped-water-2024",
        "tst-school-attendance-srv-2024",
    }
    engine = connect(fresh_city.url)
    with transaction(engine) as s:  # withdraw the 2020 run, as `publish --withdraw` does
        s.execute(
            update(models.MarkerRun)
            .where(models.MarkerRun.id == fresh_city.run_2020)
            .values(published=False)
        )
    assert "tst-uim-test-2020" not in ids(app_client)
    assert app_client.get("/ogc/collections/tst-uim-test-2020").status_code == 404

    with transaction(engine) as s:  # publish the draft instead: a new collection appears
        s.execute(
            update(models.MarkerRun)
            .where(models.MarkerRun.id == fresh_city.draft_run)
            .values(published=True)
        )
    listed = ids(app_client)
    assert len(listed) == 4 and "tst-uim-test-2020" not in listed

    with transaction(engine) as s:  # a catalogue re-import renames an indicator in place
        s.execute(
            update(models.Indicator)
            .where(models.Indicator.code == "piped_water")
            .values(name_en="Homes with running water")
        )
    one = app_client.get("/ogc/collections/tst-piped-water-2024?lang=en").json()
    assert one["title"].startswith("Homes with running water")

    with transaction(engine) as s:  # withdraw an indicator layer
        layer = s.scalars(select(PublishedLayer)).first()
        assert layer is not None
        s.delete(layer)
    assert len(ids(app_client)) == 3
    engine.dispose()


@pytest.mark.postgres
def test_the_digest_reads_every_kind_of_published_row_on_postgres(postgres_url: str) -> None:
    """One statement on both engines (string_agg here, group_concat on SQLite)."""
    from inclusive_cities.web.data import publication_fingerprint
    from tests.web.conftest import build_city

    city = build_city(postgres_url)
    engine = connect(city.url)
    with transaction(engine) as s:
        first = publication_fingerprint(s)
        assert publication_fingerprint(s) == first
        city_id = s.scalar(select(models.City.id))
        period_id = s.scalar(select(models.Period.id).where(models.Period.code == "2024"))
        s.add(
            models.AnalysisLayer(
                city_id=city_id,
                period_id=period_id,
                name="clusters-uim",
                kind="clusters",
                source="uim-test",
                parameters={"permutations": 99, "alpha": 0.05},
                published=True,
            )
        )
        s.flush()
        second = publication_fingerprint(s)
        assert second != first
        s.execute(update(models.AnalysisLayer).values(parameters={"permutations": 999}))
        assert publication_fingerprint(s) not in (first, second)
    engine.dispose()
