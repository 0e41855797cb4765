"""The public city headline adds up published figures only, and says so when they are partial.

The conftest city TST: locality 01 holds blocks 01001-01003 (100, 200, 300 people), locality
02 holds 02001-02003 (400, 500, 600); the localities store 600 and 1,500; refugee and migrant
shares 10-15 % per block. Here two blocks of 02 are withheld (stored suppressed): the city
total must still be the localities' 2,100; then locality 02 is withheld too, and the page must
say its figure covers the published units only. Expected figures come from the cells the
public is served (disclosure control may hide more), added up by hand here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inclusive_cities.disclosure.served import indicator_observations
from inclusive_cities.i18n import use_language
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.web import create_app
from inclusive_cities.web.data import CACHE, MAP_CACHE
from tests.web.conftest import build_city, specs

BLOCKS = {"01001": 100, "01002": 200, "01003": 300, "02001": 400, "02002": 500, "02003": 600}
SHARES = {code: 10.0 + i for i, code in enumerate(BLOCKS)}
LOCALITIES = {"01": 600, "02": 1500}


def _withhold(url: str, unit_code: str) -> None:
    """Store the population of one unit as suppressed (value withheld from every page)."""
    engine = connect(url)
    with transaction(engine) as s:
        unit = s.scalar(select(models.SpatialUnit.id).where(models.SpatialUnit.code == unit_code))
        pop = s.scalar(select(models.Indicator.id).where(models.Indicator.code == "population"))
        s.execute(
            update(models.Observation)
            .where(models.Observation.unit_id == unit, models.Observation.indicator_id == pop)
            .values(status="suppressed", value=None)
        )
    CACHE.clear()
    MAP_CACHE.clear()


def _add_counts(url: str) -> None:
    """Venezuelans per block, share × population: 10, 22, 36, 52, 70, 90."""
    with transaction(connect(url)) as s:
        indicator = models.Indicator(
            code="venezuelan_population", name_es="Población venezolana",
            name_en="Venezuelan population", unit="personas", source="Censo de prueba",
        )  # fmt: skip
        s.add(indicator)
        s.flush()
        period = s.scalar(select(models.Period.id).where(models.Period.code == "2024"))
        for code, people in BLOCKS.items():
            unit = s.scalar(select(models.SpatialUnit.id).where(models.SpatialUnit.code == code))
            value = round(people * SHARES[code] / 100)
            s.add(models.Observation(indicator_id=indicator.id, unit_id=unit,
                                     period_id=period, value=float(value)))  # fmt: skip


def _served(url: str, code: str = "population") -> dict[str, float]:
    """unit code -> the indicator's values as the public is served them (after disclosure
    control)."""
    with Session(connect(url)) as s:
        pop = s.scalar(select(models.Indicator.id).where(models.Indicator.code == code))
        period = s.scalar(select(models.Period.id).where(models.Period.code == "2024"))
        codes = dict(s.execute(select(models.SpatialUnit.id, models.SpatialUnit.code)).all())
        assert pop is not None and period is not None
        rows = indicator_observations(s, pop, period, 1)
    return {codes[o.unit_id]: o.value for o in rows if o.value is not None}


def _figures(client: TestClient, language: str) -> dict[str, str]:
    html = client.get(f"/cities/TST?period=2024&lang={language}").text
    figures: dict[str, str] = {}
    for part in html.split("<dt>")[1:]:
        label, rest = part.split("</dt>", 1)
        figures[label] = rest.split("<dd>", 1)[1].split("</dd>", 1)[0]
    return figures


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    built = build_city(f"sqlite:///{Path(tmp_path_factory.mktemp('headline')) / 'h.db'}")
    _add_counts(built.url)
    _withhold(built.url, "02002")
    _withhold(built.url, "02003")
    return built.url


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[TestClient]:
    with TestClient(create_app(url, specs=specs)) as test_client:
        yield test_client
    use_language("es")


def test_withheld_blocks_do_not_shrink_the_city_population(client: TestClient, url: str) -> None:
    """Blocks 02002 and 02003 are withheld but both localities are published: the city has
    600 + 1,500 = 2,100 people (the blocks' sum would say 1,000), labelled plainly; the
    share rests on the blocks whose population is published, and says so."""
    served = _served(url)
    assert served.get("01") == 600 and served.get("02") == 1500
    visible = {c: v for c, v in served.items() if c in BLOCKS}
    assert set(visible) == {"01001", "01002", "01003", "02001"}
    counts = _served(url, "venezuelan_population")
    es = _figures(client, "es")
    assert es["Población"] == "2.100"
    if set(counts) == set(BLOCKS):  # every block's count published: the city's own share
        share = 100 * sum(counts.values()) / 2100
        label = "Población refugiada y migrante"
    else:  # else the share of the blocks whose figures are published, and it says so
        share = sum(SHARES[c] * v for c, v in visible.items()) / sum(visible.values())
        label = "Población refugiada y migrante en las unidades publicadas"
    assert es[label] == f"{share:.1f}".replace(".", ",") + " %"
    en = _figures(client, "en")
    assert en["Population"] == "2,100"
    page = client.get("/cities/TST?period=2024&lang=en").text
    assert "2 of 6 units are left out because their population is withheld" in page


def test_partial_headline_says_it_covers_published_units(client: TestClient, url: str) -> None:
    """With locality 02 withheld too, its population is only the part its published blocks
    show: the figure is that sum, and its label says it covers the published units."""
    _withhold(url, "02")
    served = _served(url)
    assert "02" not in served
    expected = sum(
        served[loc]
        if loc in served
        else sum(v for c, v in served.items() if c in BLOCKS and c.startswith(loc))
        for loc in LOCALITIES
    )
    assert expected < sum(LOCALITIES.values())
    es = _figures(client, "es")
    assert "Población" not in es
    assert es["Población de las unidades publicadas"] == f"{expected:,.0f}".replace(",", ".")
    en = _figures(client, "en")
    assert en["Population of the published units"] == f"{expected:,.0f}"
