"""Published interpolations in the map explorer's options and layers, and the overview's
sources in words a planner reads (census, imported file, survey)."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from inclusive_cities.analyses import interpolate_layer
from inclusive_cities.i18n import use_language
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.web import create_app, services
from inclusive_cities.web.data import CACHE, MAP_CACHE
from tests.web.conftest import City, specs

COLLECTION = "tst-interpolation-population-refugee-migrant-share-manzana-to-h3-8-2024"
SHARE_KEY = f"ogc:{COLLECTION}:refugee_migrant_share"


def publish_interpolation(city: City) -> None:
    """The six blocks' population and migrant share moved to H3 cells of resolution 8."""
    interpolate_layer(
        connect(city.url),
        city="TST",
        period="2024",
        indicators=["population", "refugee_migrant_share"],
        from_level="manzana",
        h3=8,
        weight="population",
        keep=True,
        publish=True,
    )
    CACHE.clear()
    MAP_CACHE.clear()


@pytest.fixture
def client(fresh_city: City) -> Iterator[TestClient]:
    publish_interpolation(fresh_city)
    with TestClient(create_app(fresh_city.url, specs=specs)) as test_client:
        yield test_client


def test_one_option_per_interpolated_indicator(client: TestClient) -> None:
    doc = client.get(f"/ogc/collections/{COLLECTION}?lang=es").json()
    assert doc["analysis"]["kind"] == "interpolation"
    assert [i["label"] for i in doc["analysis"]["indicators"]] == [
        "Población — cuadrícula H3 (resolución 8), ponderado por población",
        "Población refugiada y migrante — cuadrícula H3 (resolución 8), ponderado por población",
    ]
    assert doc["analysis"]["note"] == (
        "Cifras calculadas por manzana y trasladadas a la cuadrícula (ponderado por población); "
        "se conservan los totales de la ciudad."
    )
    english = client.get(f"/ogc/collections/{COLLECTION}?lang=en").json()["analysis"]
    assert english["indicators"][1]["label"] == (
        "Refugee and migrant population — H3 grid (resolution 8), population-weighted"
    )
    assert english["indicators"][1]["unit"] == "%"
    assert "by block" in english["note"] and "totals are kept" in english["note"]


def test_an_interpolated_indicator_is_a_choropleth(client: TestClient) -> None:
    items = client.get(f"/ogc/collections/{COLLECTION}/items?limit=1000").json()["features"]
    values = [f["properties"]["refugee_migrant_share"] for f in items]
    shares = [v for v in values if v is not None]
    body = client.get(
        "/api/cities/TST/map",
        params={"layer": SHARE_KEY, "classification": "quantiles", "k": 2, "lang": "en"},
    ).json()
    assert body["title"] == (
        "Refugee and migrant population — H3 grid (resolution 8), population-weighted"
    )
    assert body["classification"] == "quantiles"
    assert body["digits"] == 1  # a share keeps one decimal; counts moved to cells, none
    population = client.get("/api/cities/TST/map", params={"layer": f"ogc:{COLLECTION}:population"})
    assert population.json()["digits"] == 0
    assert len(body["features"]) == len(items) >= 2
    assert {f["geometry"]["type"] for f in body["features"]} == {"Polygon"}
    # two quantile classes: the cells up to the median share, and the cells above it
    counts = {item["code"]: item["count"] for item in body["legend"]}
    middle = statistics.median(shares)
    assert counts["q0"] == sum(1 for s in shares if s <= middle)
    assert counts["q1"] == sum(1 for s in shares if s > middle)
    assert counts.get("na", 0) == len(values) - len(shares)
    assert "population" not in body["features"][0]["properties"]  # only the chosen figure
    spanish = client.get(
        "/api/cities/TST/map",
        params={"layer": SHARE_KEY, "classification": "quantiles", "k": 2, "lang": "es"},
    ).json()
    low = f"{min(shares):.1f}".replace(".", ",")
    assert spanish["legend"][0]["label"] == f"{low} a {middle:.1f}".replace(".", ",")
    # performance levels do not apply to a grid: the explorer's default falls back to quantiles
    levels = client.get("/api/cities/TST/map", params={"layer": SHARE_KEY}).json()
    assert levels["classification"] == "quantiles"
    missing = client.get("/api/cities/TST/map", params={"layer": f"ogc:{COLLECTION}:water"})
    assert missing.status_code == 404


def test_overview_sources_in_plain_words(fresh_city: City) -> None:
    engine = connect(fresh_city.url)
    with transaction(engine) as s:
        city = s.scalar(select(models.City).where(models.City.code == "TST"))
        period = s.scalar(select(models.Period).where(models.Period.code == "2024"))
        assert city is not None and period is not None
        census = models.ImportBatch(
            kind="census_persons",
            file_name="personas.csv",
            sha256="0" * 64,
            city_id=city.id,
            period_id=period.id,
            rows_read=1,
            rows_accepted=1,
            rows_rejected=0,
            imported_by="test",
            imported_at=datetime(2025, 1, 1),
            status="active",
            details={},
        )
        survey = models.ImportBatch(
            kind="survey",
            file_name="form.xlsx, data.xlsx",
            sha256="1" * 64,
            city_id=city.id,
            period_id=period.id,
            rows_read=1,
            rows_accepted=1,
            rows_rejected=0,
            imported_by="test",
            imported_at=datetime(2025, 1, 1),
            status="active",
            details={"survey": "encuesta_hogares"},
        )
        table = models.ImportBatch(
            kind="table",
            file_name="indicadores_barrio.csv",
            sha256="2" * 64,
            city_id=city.id,
            period_id=period.id,
            rows_read=1,
            rows_accepted=1,
            rows_rejected=0,
            imported_by="test",
            imported_at=datetime(2025, 1, 1),
            status="active",
            details={},
        )
        s.add_all([census, survey, table])
        s.flush()
        codes = {"population": census, "refugee_migrant_share": survey, "piped_water": table}
        for code, batch in codes.items():
            indicator = s.scalar(select(models.Indicator).where(models.Indicator.code == code))
            assert indicator is not None
            indicator.source = "inclusive-cities indicators compute"
            status = {"census_persons": "computed", "survey": "estimated"}.get(batch.kind)
            for o in s.scalars(
                select(models.Observation).where(models.Observation.indicator_id == indicator.id)
            ):
                o.batch_id = batch.id
                o.status = status or "observed"
                o.source = f"calculado por inclusive-cities indicators a partir de lote {batch.id}"
        water = s.scalar(select(models.Indicator).where(models.Indicator.code == "piped_water"))
        assert water is not None
        use_language("es")
        assert services.human_source(s, water, period, city.id) == (
            "archivo importado indicadores_barrio.csv"
        )
        use_language("en")
        assert services.human_source(s, water, period, city.id) == (
            "Imported file indicadores_barrio.csv"
        )
        # the source the analyst declared with --source is what a planner reads (trial F10)
        for o in s.scalars(
            select(models.Observation).where(models.Observation.indicator_id == water.id)
        ):
            o.source = "INEC, censo 2010"
        use_language("es")
        assert services.human_source(s, water, period, city.id) == (
            "INEC, censo 2010 (archivo indicadores_barrio.csv)"
        )
    CACHE.clear()
    MAP_CACHE.clear()
    with TestClient(create_app(fresh_city.url, specs=specs)) as client:
        spanish = client.get("/cities/TST?lang=es").text
        english = client.get("/cities/TST?lang=en").text
    assert "Fuente: censo 2024, calculado por el observatorio · 2024-12-31</dd>" in spanish
    assert "Fuente: encuesta encuesta_hogares · 2024-12-31</dd>" in spanish
    assert "Source: 2024 census, computed by the observatory · 2024-12-31</dd>" in english
    assert "Source: Survey encuesta_hogares · 2024-12-31</dd>" in english
    for page in (spanish, english):
        assert "indicators compute" not in page and "lote" not in page
