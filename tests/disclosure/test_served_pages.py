"""Pages of published observations count served rows, not stored ones.

The small city DSC (tests/disclosure/conftest.py) publishes every layer; the web's own rule
drops B1's Venezuelan counts (n = 1) and B2's employment rate (n = 6), and disclosure control
withholds more cells beside them (the complements that would give the 1 away). When control
withheld rows after ``limit``/``offset`` were applied, a page came back short while more
followed: a client stopping at the first short page missed the rest.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from inclusive_cities.disclosure.publication import hidden_observation_ids
from inclusive_cities.disclosure.served import (
    MIN_CELL,
    every_published_observation,
    published_observation_count,
    published_observations,
)
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.web import create_app
from tests.disclosure.conftest import SmallCity, build


def expected_ids(small: SmallCity) -> tuple[list[int], frozenset[int]]:
    """Served ids worked out from the table: every row (all layers are published) with a value
    and n >= 10 or unknown, minus what disclosure control withholds."""
    with transaction(connect(small.url)) as s:
        city_id = s.scalar(select(models.City.id).where(models.City.code == "DSC"))
        assert city_id is not None
        hidden = hidden_observation_ids(s, city_id)
        stored = s.execute(
            select(models.Observation.id, models.Observation.value, models.Observation.n)
        ).all()
    by_rule = [i for i, value, n in stored if value is not None and (n is None or n >= MIN_CELL)]
    # control withholds rows the rule alone would serve, or these tests prove nothing
    assert set(by_rule) & hidden
    return sorted(i for i in by_rule if i not in hidden), hidden


def test_every_page_is_full_but_the_last_and_their_union_is_what_is_published(
    db_url: str,
) -> None:
    """On SQLite and PostgreSQL."""
    small = build(db_url)
    expected, hidden = expected_ids(small)
    with transaction(connect(small.url)) as s:
        city_id = s.scalar(select(models.City.id).where(models.City.code == "DSC"))
        assert city_id is not None
        for size in (2, 3, 5):
            pages: list[list[int]] = []
            offset = 0
            while True:
                rows = published_observations(s, city_id, limit=size, offset=offset)
                pages.append([r[0].id for r in rows])
                if len(rows) < size:
                    break
                offset += size
            assert all(len(page) == size for page in pages[:-1])
            assert len(pages[-1]) < size
            union = [i for page in pages for i in page]
            assert union == expected
            assert not set(union) & hidden
        assert published_observation_count(s, city_id) == len(expected)
        assert [r[0].id for r in every_published_observation(s, city_id, page=2)] == expected
        # a filter pages the same way: B3's rows only
        b3 = [r[0].id for r in published_observations(s, city_id, unit="B3", limit=2, offset=2)]
        assert len(b3) == 2
        assert published_observation_count(s, city_id, unit="B3") == len(
            published_observations(s, city_id, unit="B3", limit=100)
        )


def test_the_api_pages_follow_next_links_to_the_last_row(small: SmallCity) -> None:
    expected, hidden = expected_ids(small)
    seen: list[int] = []
    with TestClient(create_app(small.url), base_url="http://localhost") as client:
        with transaction(connect(small.url)) as s:
            keys = {
                (indicator, unit, o.nationality): o.id
                for o, indicator, unit in s.execute(
                    select(models.Observation, models.Indicator.code, models.SpatialUnit.code)
                    .join(models.Indicator)
                    .join(models.SpatialUnit)
                ).all()
            }
        url: str | None = "/api/cities/DSC/observations?limit=4"
        sizes = []
        while url is not None:
            response = client.get(url)
            assert response.status_code == 200
            assert response.headers["X-Total-Count"] == str(len(expected))
            body = response.json()
            sizes.append(len(body))
            seen += [keys[(o["indicator"], o["unit"], o["nationality"])] for o in body]
            link = response.headers.get("Link")
            url = link.split(";")[0].strip("<>") if link else None
    assert sizes[:-1] == [4] * (len(sizes) - 1)
    assert 0 < sizes[-1] <= 4
    assert seen == expected
    assert not set(seen) & hidden
