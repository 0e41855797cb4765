"""Descriptive (neutral) figures such as the share of Venezuelans are never painted as better or
worse: one hue on the map, no performance levels, clusters of concentration, not of exclusion."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from inclusive_cities.analyses import cluster_layer
from inclusive_cities.store import connect, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from inclusive_cities.web import create_app
from inclusive_cities.web.data import CACHE, MAP_CACHE
from inclusive_cities.web.services import classify
from tests.web import conftest
from tests.web.conftest import City, specs
from tests.web.live import live_server
from tests.web.test_browser import ARGS, CHROMIUM

SHARE = "refugee_migrant_share"
# ColorBrewer Blues, 3 classes (Brewer 2002, colorbrewer2.org): light to dark
BLUES_3 = ["#deebf7", "#9ecae1", "#3182bd"]
RED_TO_GREEN = {"#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641", "#fc8d59", "#91cf60"}
COLLECTION = f"tst-clusters-{SHARE}-manzana-2024".replace("_", "-")


def _neutral_share(city: City, cluster: bool = False) -> dict[str, str]:
    """Publish the conftest's share (10 %, 11 %, ... 15 % by block) as a neutral figure."""
    engine = connect(city.url)
    with transaction(engine) as session:
        share = session.scalar(select(models.Indicator).where(models.Indicator.code == SHARE))
        tst = session.scalar(select(models.City).where(models.City.code == "TST"))
        period = session.scalar(select(models.Period).where(models.Period.code == "2024"))
        assert share is not None and tst is not None and period is not None
        share.direction = "neutral"
        session.add(PublishedLayer(city_id=tst.id, period_id=period.id, indicator_id=share.id))
    classes: dict[str, str] = {}
    if cluster:
        found = cluster_layer(
            engine, city="TST", period="2024", indicator=SHARE, k=2, permutations=99, publish=True
        )
        # six blocks are too few for significance: the two highest are made high-high by hand
        highest = found.frame["value"].nlargest(2).index.tolist()
        with transaction(engine) as session:
            for feature in session.scalars(
                select(models.AnalysisFeature).where(models.AnalysisFeature.code.in_(highest))
            ):
                feature.moran_class = "high_high"
        classes = found.frame["moran_class"].where(~found.frame.index.isin(highest), "high_high")
        classes = classes.to_dict()
    CACHE.clear()
    MAP_CACHE.clear()
    return classes


@pytest.fixture
def neutral_client(fresh_city: City) -> Iterator[TestClient]:
    _neutral_share(fresh_city, cluster=True)
    with TestClient(create_app(fresh_city.url, specs=specs)) as client:
        yield client


@pytest.mark.parametrize("method", ["quantiles", "natural_breaks", "levels"])
def test_map_of_a_neutral_share_is_one_hue(neutral_client: TestClient, method: str) -> None:
    body = neutral_client.get(
        "/api/cities/TST/map",
        params={"layer": f"ind:{SHARE}", "period": "2024", "classification": method, "k": 3},
    ).json()
    legend = [item for item in body["legend"] if item["code"] != "na"]
    assert [item["colour"] for item in legend] == BLUES_3
    assert body["direction"] == "neutral"
    assert body["classification"] == (
        "natural_breaks" if method == "natural_breaks" else "quantiles"
    )
    # blocks 01001..02003 hold 10..15 %: two per class, lightest for the fewest Venezuelans
    by_code = {f["properties"]["code"]: f["properties"]["colour"] for f in body["features"]}
    assert by_code["01001"] == by_code["01002"] == BLUES_3[0]
    assert by_code["02002"] == by_code["02003"] == BLUES_3[2]
    assert not RED_TO_GREEN & set(by_code.values())


def test_ranked_indicators_keep_red_to_green(neutral_client: TestClient) -> None:
    body = neutral_client.get(
        "/api/cities/TST/map", params={"layer": "ind:piped_water", "k": 3}
    ).json()
    assert [i["colour"] for i in body["legend"] if i["code"] != "na"] == [
        "#fc8d59",
        "#ffffbf",
        "#91cf60",
    ]


def test_neutral_change_and_levels_are_not_judged() -> None:
    values = np.array([-12.0, -5.0, 0.0, 5.0, 12.0])
    change = classify(values, "quantiles", 5, "en", direction="neutral", change=True)
    # ColorBrewer PuOr: orange for a fall, purple for a rise, grey-white for no change
    assert change.colours == ["#e66101", "#fdb863", "#f7f7f7", "#b2abd2", "#5e3c99"]
    assert change.labels[0] == "Decreased by more than 10.0"
    assert change.labels[4] == "Increased by more than 10.0"
    assert change.index.tolist() == [0, 1, 2, 3, 4]
    # a spec's performance levels do not apply: quantiles in blues instead
    levels = classify(
        np.array([10.0, 11.0, 12.0, 13.0, 14.0, 15.0]),
        "levels",
        3,
        "en",
        spec=conftest.test_spec(),
        direction="neutral",
    )
    assert levels.colours == BLUES_3 and levels.codes == ["q0", "q1", "q2"]
    assert levels.index.tolist() == [0, 0, 1, 1, 2, 2]


def test_api_documents_the_neutral_direction(neutral_client: TestClient) -> None:
    rows = {r["code"]: r["direction"] for r in neutral_client.get("/api/indicators").json()}
    assert rows[SHARE] == "neutral" and rows["piped_water"] == "higher_is_better"
    schema = neutral_client.get("/openapi.json").json()["components"]["schemas"]["IndicatorOut"]
    direction = schema["properties"]["direction"]
    assert direction["enum"] == ["higher_is_better", "lower_is_better", "neutral", "unknown"]
    assert "neutral for descriptive figures" in direction["description"]


def test_clusters_of_a_neutral_share_are_of_concentration(neutral_client: TestClient) -> None:
    doc = neutral_client.get(f"/ogc/collections/{COLLECTION}", params={"lang": "es"}).json()
    assert doc["analysis"]["direction"] == "neutral"
    assert doc["analysis"]["higher_is_better"] is None
    assert "zonas de concentración alta" in doc["description"]
    assert "No son conglomerados de exclusión" in doc["description"]
    assert "valores más altos son" not in doc["description"]
    doc = neutral_client.get(f"/ogc/collections/{COLLECTION}", params={"lang": "en"}).json()
    assert "areas of high concentration" in doc["description"]
    page = neutral_client.get("/cities/TST/map", params={"lang": "es"}).text
    start = page.index('id="analysis-text">') + len('id="analysis-text">')
    text = json.loads(page[start : page.index("</script>", start)])
    assert text["neutral"]["high_high"] == "Alto-alto: concentración alta"
    assert text["neutral"]["cold"] == "Punto frío: concentración baja"
    assert text["neutral_group"] == "Conglomerados de concentración alta y baja"


def test_an_older_layer_of_a_now_neutral_indicator_is_neutral(fresh_city: City) -> None:
    engine = connect(fresh_city.url)
    found = cluster_layer(
        engine, city="TST", period="2024", indicator=SHARE, k=2, permutations=99, publish=True
    )
    assert found.parameters["higher_is_better"] is True  # ranked when it was made
    _neutral_share(fresh_city)
    with TestClient(create_app(fresh_city.url, specs=specs)) as client:
        doc = client.get(f"/ogc/collections/{COLLECTION}", params={"lang": "en"}).json()
    assert doc["analysis"]["direction"] == "neutral"
    assert doc["analysis"]["higher_is_better"] is None
    assert "higher values are better" not in doc["description"]


def test_map_explorer_draws_neutral_clusters_in_blues(fresh_city: City) -> None:
    classes = _neutral_share(fresh_city, cluster=True)
    with live_server(fresh_city.url) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        moran = f"ogc:{COLLECTION}:moran_class"
        page.goto(base + f"/cities/TST/map?layer={moran}")
        page.wait_for_selector(f"body[data-map-ready='{moran}']")
        group = "#layer optgroup[label='Conglomerados de concentración alta y baja'] option"
        assert page.locator(group).count() == 2
        exclusion = "#layer optgroup[label='Conglomerados de exclusión e inclusión'] option"
        assert page.locator(exclusion).count() == 0
        rows = [" ".join(r.split()) for r in page.locator("#legend li").all_inner_texts()]
        assert rows[0] == "Alto-alto: concentración alta 2"
        assert not any("exclusión" in row or "inclusión" in row for row in rows)
        page.wait_for_function("window.observatoryMap.querySourceFeatures('units').length > 0")
        colours = page.evaluate(
            """() => Object.fromEntries(window.observatoryMap.querySourceFeatures("units")
                .map(f => [f.properties.code, f.properties.colour]))"""
        )
        high = [code for code, cls in classes.items() if cls == "high_high"]
        assert len(high) == 2 and all(colours[code] == "#08519c" for code in high)
        assert "#b2182b" not in colours.values()
        # the share itself: asked for performance levels, the list shows the quantiles drawn
        assert page.locator("#classification").input_value() == "levels"
        page.select_option("#layer", f"ind:{SHARE}")
        page.wait_for_selector(f"body[data-map-ready='ind:{SHARE}']")
        assert page.locator("#classification").input_value() == "quantiles"
        assert page.locator("#classification option[value='levels']").is_disabled()
        browser.close()
    assert errors == []
