"""An OGC indicator collection is one indicator at one level, and its title says which.

Before, a collection took the level of whichever observation came first (``limit(1)`` with no
order): the demo's Venezuelan population served its 5 localidades while blocks existed. The
test city stores population for its 6 blocks (100..600) and its 2 localities (600, 1,500).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from inclusive_cities.store import connect, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from inclusive_cities.web.data import CACHE
from tests.web.conftest import City, build_city


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    """The test city with its population layer published too."""
    built = build_city(f"sqlite:///{tmp_path_factory.mktemp('levels') / 'web.db'}")
    with transaction(connect(built.url)) as s:
        city_id = s.scalar(select(models.City.id).where(models.City.code == "TST"))
        period_id = s.scalar(select(models.Period.id).where(models.Period.code == "2024"))
        indicator_id = s.scalar(
            select(models.Indicator.id).where(models.Indicator.code == "population")
        )
        s.add(PublishedLayer(city_id=city_id, period_id=period_id, indicator_id=indicator_id))
    CACHE.clear()
    return built


def test_each_level_with_values_is_its_own_collection(client: TestClient) -> None:
    ids = {
        c["id"]: c["title"] for c in client.get("/ogc/collections?lang=en").json()["collections"]
    }
    assert "tst-population-2024" in ids and "tst-population-2024-localidad" in ids
    assert "Block" in ids["tst-population-2024"]
    assert "Locality" in ids["tst-population-2024-localidad"]
    # piped water exists for blocks only: one collection, no level suffix
    assert "tst-piped-water-2024" in ids
    assert not any(i.startswith("tst-piped-water-2024-") for i in ids)


def test_the_plain_collection_serves_the_finest_level(client: TestClient) -> None:
    blocks = client.get("/ogc/collections/tst-population-2024/items?limit=50").json()
    values = sorted(f["properties"]["value"] for f in blocks["features"])
    assert values == [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]
    localities = client.get("/ogc/collections/tst-population-2024-localidad/items").json()
    assert sorted(f["properties"]["value"] for f in localities["features"]) == [600.0, 1500.0]


def test_titles_name_the_level_in_spanish(client: TestClient) -> None:
    one = client.get("/ogc/collections/tst-population-2024-localidad?lang=es").json()
    assert one["title"].startswith("Población — Localidad — ")
