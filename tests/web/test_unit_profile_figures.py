"""The unit profile prints counts as whole numbers and says where figures come from in words
(trial #4 F1, F2: "3.191,00 personas", and "inclusive-cities indicators compute" shown to the
public as a figure's source)."""

from __future__ import annotations

import re

import lxml.html
from fastapi.testclient import TestClient
from sqlalchemy import select

from inclusive_cities.store import connect, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from tests.web.conftest import City


def test_counts_are_whole_and_sources_are_words(fresh_city: City, fresh_client: TestClient) -> None:
    with transaction(connect(fresh_city.url)) as s:  # the population layer is published too
        population = s.scalar(select(models.Indicator).where(models.Indicator.code == "population"))
        period = s.scalar(select(models.Period).where(models.Period.code == "2024"))
        city = s.scalar(select(models.City).where(models.City.code == "TST"))
        assert population is not None and period is not None and city is not None
        s.add(PublishedLayer(city_id=city.id, period_id=period.id, indicator_id=population.id))
    html = fresh_client.get("/cities/TST/units/02003", params={"lang": "es"}).text
    table = lxml.html.fromstring(html).get_element_by_id("indicator-table")
    rows = [
        [cell.text_content().strip() for cell in row]
        for row in table.iter("tr")
        if row.find("th") is not None and row.find("th").get("scope") == "row"
    ]
    assert rows
    for name, value, unit, *_rest, source in rows:
        assert "inclusive-cities" not in source, (name, source)
        if unit in ("personas", "hogares"):
            assert re.fullmatch(r"\d{1,3}(\.\d{3})*", value), (name, value)  # never 300,00
        elif unit == "%" and value[:1].isdigit():
            assert re.fullmatch(r"[\d.]+,\d\d", value), (name, value)
    assert any(unit == "personas" for _n, _v, unit, *_r in rows), rows
