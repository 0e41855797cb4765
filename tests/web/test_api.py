"""JSON API and page figures, checked against values worked out by hand from the fixture."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import City, block_score


def test_cities_lists_only_published_ones(client: TestClient) -> None:
    body = client.get("/api/cities").json()
    assert body == [
        {
            "code": "TST",
            "name": "Ciudad Prueba",
            "country": "COL",
            "synthetic": True,
            "periods": ["2020", "2024"],
        }
    ]


def test_units_are_paged_with_parents(client: TestClient) -> None:
    body = client.get("/api/cities/TST/units", params={"level": "manzana", "limit": 4}).json()
    assert body["total"] == 6
    assert [u["code"] for u in body["units"]] == ["01001", "01002", "01003", "02001"]
    assert body["units"][3]["parent"] == "02"
    assert body["units"][0]["bbox"] == pytest.approx([-72.5, 7.9, -72.49, 7.91])
    second = client.get(
        "/api/cities/TST/units", params={"level": "manzana", "limit": 4, "offset": 4}
    ).json()
    assert [u["code"] for u in second["units"]] == ["02002", "02003"]


def test_runs_exclude_the_unpublished_draft(client: TestClient, city: City) -> None:
    ids = [r["id"] for r in client.get("/api/runs").json()]
    assert sorted(ids) == sorted([city.run_2020, city.run_2024])
    assert client.get(f"/api/runs/{city.draft_run}").status_code == 404
    assert client.get(f"/api/runs/{city.draft_run}/scores").status_code == 404


def test_run_scores_match_the_store(client: TestClient, city: City) -> None:
    rows = client.get(f"/api/runs/{city.run_2024}/scores", params={"node": "UIM"}).json()
    assert {r["unit"]: r["score"] for r in rows} == {
        code: block_score(i, "2024") for i, code in enumerate(city.blocks)
    }
    assert {r["unit"]: r["rank"] for r in rows}["02003"] == 1
    assert {r["unit"]: r["level"] for r in rows}["01001"] == "very_weak"


def test_observations_are_published_and_disclosure_safe(client: TestClient) -> None:
    rows = client.get("/api/cities/TST/observations").json()
    # published layers: piped_water (6 units) and the survey (4 safe cells of 6)
    assert sorted({r["indicator"] for r in rows}) == ["piped_water", "school_attendance_srv"]
    survey = [r for r in rows if r["indicator"] == "school_attendance_srv"]
    assert sorted(r["unit"] for r in survey) == ["01003", "02001", "02002", "02003"]
    assert all(r["status"] != "suppressed" for r in rows)
    assert all(r["n"] is None or r["n"] >= 10 for r in rows)
    water = {r["unit"]: r["value"] for r in rows if r["indicator"] == "piped_water"}
    assert water == {
        "01001": 60.0,
        "01002": 65.0,
        "01003": 70.0,
        "02001": 75.0,
        "02002": 80.0,
        "02003": 85.0,
    }


def test_unpublished_indicators_are_not_in_the_api(client: TestClient) -> None:
    rows = client.get("/api/cities/TST/observations", params={"indicator": "population"}).json()
    assert rows == []


def test_map_layer_colours_units_by_their_level(client: TestClient) -> None:
    body = client.get(
        "/api/cities/TST/map", params={"layer": "node:UIM", "period": "2024", "zoom": 14}
    ).json()
    by_code = {f["properties"]["code"]: f["properties"] for f in body["features"]}
    assert by_code["01001"]["value"] == 35.0
    assert by_code["01001"]["cls"] == "very_weak"
    assert by_code["01001"]["colour"] == "#d7191c"
    assert by_code["02003"]["cls"] == "very_solid"
    assert by_code["02003"]["loc"] == "02"
    legend = {item["code"]: item["count"] for item in body["legend"]}
    assert legend == {
        "very_solid": 1,
        "solid": 1,
        "moderately_solid": 1,
        "moderately_weak": 1,
        "weak": 1,
        "very_weak": 1,
        "na": 0,
    }
    assert body["bbox"] == pytest.approx([-72.5, 7.9, -72.47, 7.92])


def test_change_map_is_the_difference_between_periods(client: TestClient) -> None:
    body = client.get(
        "/api/cities/TST/map", params={"layer": "node:UIM", "period": "2024", "compare": "2020"}
    ).json()
    # every block gained exactly 5 points: the "improved by 2 to 10" class
    assert {f["properties"]["value"] for f in body["features"]} == {5.0}
    assert {f["properties"]["cls"] for f in body["features"]} == {"ch3"}
    assert body["classification"] == "change"


def test_quantile_classes_split_units_evenly(client: TestClient) -> None:
    body = client.get(
        "/api/cities/TST/map",
        params={"layer": "ind:piped_water", "classification": "quantiles", "k": 3},
    ).json()
    counts = [item["count"] for item in body["legend"] if item["code"] != "na"]
    assert counts == [2, 2, 2]


def test_survey_layer_hides_small_cells(client: TestClient) -> None:
    body = client.get("/api/cities/TST/map", params={"layer": "ind:school_attendance_srv"}).json()
    values = {f["properties"]["code"]: f["properties"]["value"] for f in body["features"]}
    assert values["01001"] is None and values["01002"] is None
    assert values["01003"] == 82.0


def test_simplified_geometry_is_cached_per_zoom(client: TestClient) -> None:
    low = client.get("/api/cities/TST/map", params={"layer": "node:UIM", "zoom": 8}).json()
    high = client.get("/api/cities/TST/map", params={"layer": "node:UIM", "zoom": 16}).json()
    assert len(low["features"]) == len(high["features"]) == 6
    assert high["features"][0]["geometry"]["type"] == "Polygon"


def test_overview_figures(client: TestClient) -> None:
    html = client.get("/cities/TST", params={"lang": "en"}).text
    # population-weighted index: (100·35 + 200·45 + 300·55 + 400·65 + 500·75 + 600·85) / 2100
    assert "68.3" in html
    assert "Moderately solid" in html
    assert "2,100" in html  # population
    # refugee and migrant share weighted by population: 28000 / 2100 = 13.3 %
    assert "13.3 %" in html
    assert "Censo de prueba" in html


def test_openapi_describes_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/cities",
        "/api/cities/{city}/observations",
        "/api/runs/{run_id}/scores",
        "/ogc/collections/{collection_id}/items",
    ):
        assert path in spec["paths"]
    assert not any(p.startswith("/admin") for p in spec["paths"])


def test_big_map_layers_are_served_gzipped(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = client.get("/api/cities/TST/map", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in plain.headers  # 3 kB: below the 100 kB threshold
    monkeypatch.setattr("inclusive_cities.web.api.GZIP_MIN_BYTES", 1000)
    packed = client.get("/api/cities/TST/map", headers={"accept-encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.json() == plain.json()  # httpx undoes the compression
