"""Real-shaped data on the site: coverage is visible, the web follows the city's own spec.

Issue 14 items 4 and 7. The city (tests/web/realcity.py) has one level only, a 4-area spec
the installation does not ship, and block B1 with its whole housing area missing: B1's
index is (80 + 90 + 85) / 3 = 85 from three areas of four, coverage 3/4.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from inclusive_cities import reports
from inclusive_cities.cli import main
from inclusive_cities.i18n import use_language
from inclusive_cities.store import connect
from inclusive_cities.web import create_app
from tests.reports.test_profile import pdf_pages, squash
from tests.web.realcity import AREAS, INDEX, SPEC_CODE, VALUES, RealCity, build_real_city

COLLECTION = "rdc-mi-marcador-2024"


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> RealCity:
    return build_real_city(f"sqlite:///{tmp_path_factory.mktemp('real') / 'real.db'}")


@pytest.fixture
def client(real: RealCity) -> Iterator[TestClient]:
    with TestClient(create_app(real.url)) as test_client:  # built-in specs only
        yield test_client
    use_language("es")


def test_api_gives_each_units_coverage_and_missing_areas(
    client: TestClient, real: RealCity
) -> None:
    rows = client.get(f"/api/runs/{real.run_id}/coverage", params={"lang": "en"}).json()
    by_unit = {r["unit"]: r for r in rows}
    assert by_unit["B1"]["coverage"] == 0.75  # 3 of 4 areas
    assert by_unit["B1"]["missing_areas"] == ["VIV"]
    assert by_unit["B1"]["missing_area_names"] == ["Housing"]
    assert by_unit["B1"]["label"] == "partial: Housing without data"
    assert {r["unit"]: r["coverage"] for r in rows if r["unit"] != "B1"} == {
        "B2": 1.0,
        "B3": 1.0,
        "B4": 1.0,
    }
    assert all(by_unit[u]["missing_areas"] == [] for u in ("B2", "B3", "B4"))
    es = client.get(f"/api/runs/{real.run_id}/coverage", params={"unit": "B1", "lang": "es"})
    assert es.json()[0]["label"] == "parcial: Vivienda sin datos"
    run = client.get(f"/api/runs/{real.run_id}", params={"lang": "es"}).json()
    assert run["spec"] == SPEC_CODE and run["spec_name"] == "Marcador propio"
    assert run["areas"] == list(AREAS)  # four, from the run's own spec
    scores = client.get(f"/api/runs/{real.run_id}/scores", params={"unit": "B1"}).json()
    root = next(r for r in scores if r["node"] == "IDX")
    assert root["score"] == pytest.approx(INDEX["B1"])
    assert root["coverage"] == 0.75 and root["missing_areas"] == ["VIV"]
    viv = next(r for r in scores if r["node"] == "VIV")
    assert viv["score"] is None  # missing, never 0


def test_api_labels_units_in_the_language_asked(client: TestClient) -> None:
    es = {i["code"]: i for i in client.get("/api/indicators", params={"lang": "es"}).json()}
    assert es["crime_rate"]["unit"] == "per 1,000 inhabitants"  # as stored
    assert es["crime_rate"]["unit_label"] == "por 1.000 hab."
    assert es["dist_health_m"]["unit_label"] == "m"
    observations = client.get(
        "/api/cities/RDC/observations", params={"indicator": "crime_rate", "lang": "es"}
    ).json()
    assert {(o["measure"], o["measure_label"]) for o in observations} == {
        ("per 1,000 inhabitants", "por 1.000 hab.")
    }
    en = {i["code"]: i for i in client.get("/api/indicators", params={"lang": "en"}).json()}
    assert en["crime_rate"]["unit_label"] == "per 1,000 inhabitants"
    layer = client.get(
        "/api/cities/RDC/map", params={"layer": "ind:crime_rate", "lang": "es"}
    ).json()
    assert layer["unit"] == "por 1.000 hab."
    score_layer = client.get(
        "/api/cities/RDC/map", params={"layer": "node:dist_health_m", "lang": "es"}
    ).json()
    assert score_layer["unit"] == "/ 100"  # a score, not metres
    # one level only: no locality repeating the block's own code
    assert {f["properties"]["loc_name"] for f in score_layer["features"]} == {""}
    index = client.get("/api/cities/RDC/map", params={"layer": "node:IDX", "lang": "es"}).json()
    labels = {f["properties"]["code"]: f["properties"]["label"] for f in index["features"]}
    assert labels["B1"] == "Muy sólido (parcial: Vivienda sin datos)"  # 85: level from 80
    assert labels["B2"] == "Moderadamente sólido"  # 67.5, whole


def test_ogc_collection_titled_by_the_specs_name_and_items_carry_coverage(
    client: TestClient,
) -> None:
    docs = client.get("/ogc/collections", params={"lang": "es"}).json()["collections"]
    titles = {d["id"]: d["title"] for d in docs}
    assert titles[COLLECTION].startswith("Marcador propio — Ciudad Real")
    assert SPEC_CODE not in titles[COLLECTION]
    item = client.get(f"/ogc/collections/{COLLECTION}/items/B1").json()["properties"]
    assert item["coverage"] == 0.75 and item["missing_areas"] == "VIV"
    assert item["score_IDX"] == pytest.approx(INDEX["B1"])
    assert item["score_dist_health_m"] == pytest.approx(100 * (1 - 400 / 2000))
    assert item["score_VIV"] is None
    assert "locality" not in item and "dist_health_m" not in item
    full = client.get(f"/ogc/collections/{COLLECTION}/items/B2").json()["properties"]
    assert full["coverage"] == 1.0 and full["missing_areas"] == ""
    schema = client.get(f"/ogc/collections/{COLLECTION}/schema").json()["properties"]
    assert schema["properties"]["properties"]["coverage"] == {"type": "number"}


def test_downloads_name_scores_and_carry_coverage(client: TestClient, tmp_path: Path) -> None:
    base = f"/downloads/{COLLECTION}"
    rows = list(csv.DictReader(io.StringIO(client.get(base + ".csv").text)))
    header = list(rows[0])
    assert header[:3] == ["code", "name", "period"]  # no locality with one level
    assert "dist_health_m" not in header and "score_dist_health_m" in header
    by_code = {r["code"]: r for r in rows}
    assert by_code["B1"]["coverage"] == "0.75" and by_code["B1"]["missing_areas"] == "VIV"
    assert by_code["B1"]["score_VIV"] == ""
    assert float(by_code["B3"]["score_IDX"]) == pytest.approx(INDEX["B3"])
    assert by_code["B3"]["coverage"] == "1.0" and by_code["B3"]["missing_areas"] == ""

    hxl = list(csv.reader(io.StringIO(client.get(base + ".hxl.csv").text)))
    tags = dict(zip(hxl[0], hxl[1], strict=True))
    assert tags["coverage"] == "#indicator+coverage+num"
    assert tags["missing_areas"] == "#indicator+missing_areas"  # text, not a number
    assert tags["score_dist_health_m"] == "#indicator+score_dist_health_m+num"

    book = load_workbook(io.BytesIO(client.get(base + ".xlsx", params={"lang": "en"}).content))
    sheet = book.worksheets[0]
    head = [c.value for c in sheet[1]]
    data = {r[0]: dict(zip(head, r, strict=True)) for r in sheet.iter_rows(2, values_only=True)}
    assert data["B1"]["coverage"] == 0.75 and data["B1"]["missing_areas"] == "VIV"
    note = sheet.cell(1, head.index("score_dist_health_m") + 1).comment.text
    assert "score 0–100" in note and "not the raw value in m" in note
    meta = {r[0]: r[1] for r in book.worksheets[1].iter_rows(2, values_only=True)}
    assert "VIV = Housing" in meta["missing_areas"]
    assert "locality" not in meta

    crime = load_workbook(
        io.BytesIO(client.get("/downloads/rdc-crime-rate-2024.xlsx", params={"lang": "es"}).content)
    )
    value_cell = next(c for c in crime.worksheets[0][1] if c.value == "value")
    assert value_cell.comment.text == "unidad: por 1.000 hab."
    crime_meta = {r[0]: r[1] for r in crime.worksheets[1].iter_rows(2, values_only=True)}
    assert "(unidad: por 1.000 hab.)" in crime_meta["value"]

    gpkg = tmp_path / "layer.gpkg"
    gpkg.write_bytes(client.get(base + ".gpkg").content)
    frame = pyogrio.read_dataframe(gpkg, layer=COLLECTION)
    assert dict(zip(frame["code"], frame["coverage"], strict=True)) == {
        "B1": 0.75,
        "B2": 1.0,
        "B3": 1.0,
        "B4": 1.0,
    }
    assert dict(zip(frame["code"], frame["missing_areas"], strict=True))["B1"] == "VIV"
    # an imported table has no n, SE or CI on any unit: the fields stay numbers, not text
    # (trial #3 F9: a QGIS join or style on n broke between downloads)
    crime_gpkg = tmp_path / "crime.gpkg"
    crime_gpkg.write_bytes(client.get("/downloads/rdc-crime-rate-2024.gpkg").content)
    info = pyogrio.read_info(crime_gpkg, layer="rdc-crime-rate-2024")
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert types["n"] == "int64" and types["value"] == "float64"
    assert types["standard_error"] == types["ci_low"] == types["ci_high"] == "float64"
    # GeoPackage 1.2, which GDAL 3.6 (QGIS LTR) opens without a version warning
    import sqlite3

    with sqlite3.connect(crime_gpkg) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 10200


def test_unit_page_says_partial_and_lists_missing_indicators(client: TestClient) -> None:
    html = client.get("/cities/RDC/units/B1", params={"lang": "es"}).text
    assert "parcial: Vivienda sin datos" in html
    assert "el índice usa el 75 % de sus áreas" in html
    assert "sin dato" in html  # overcrowding, B1's housing indicator, is listed
    assert "overcrowding (es)" in html
    assert "por 1.000 hab." in html  # the crime rate's unit, translated
    assert "cinco" not in html
    english = client.get("/cities/RDC/units/B1", params={"lang": "en"}).text
    assert "partial: Housing without data" in english and "no data" in english
    whole = client.get("/cities/RDC/units/B2", params={"lang": "es"}).text
    assert "parcial" not in whole


def test_pages_follow_the_specs_areas_and_levels(client: TestClient) -> None:
    overview = client.get("/cities/RDC", params={"lang": "es"}).text
    assert "Las 4 áreas del índice" in overview and "cinco" not in overview
    assert "1 de 4 unidades tienen un índice parcial: Vivienda sin datos" in overview
    assert "Marcador propio" in overview
    method = client.get("/methodology", params={"lang": "es"}).text
    assert "El índice tiene 4 áreas: Vivienda; Salud; Educación; Oportunidades." in method
    assert "no está disponible" not in method and "cinco" not in method
    assert "por 1.000 hab." in method
    english = client.get("/methodology", params={"lang": "en"}).text
    assert "The index has 4 areas: Housing; Health; Education; Opportunities." in english
    assert "is not available" not in english
    downloads = client.get("/downloads", params={"lang": "es"}).text
    assert "Marcador propio — Ciudad Real" in downloads
    home = client.get("/", params={"lang": "es"}).text
    assert "cinco" not in home
    map_page = client.get("/cities/RDC/map", params={"lang": "es"}).text
    assert '<select id="locality" hidden>' in map_page


def test_rankings_have_no_locality_with_one_level(client: TestClient) -> None:
    html = client.get("/cities/RDC/rankings", params={"lang": "es"}).text
    assert 'id="locality"' not in html and ">Localidad<" not in html
    assert "parcial: Vivienda sin datos" in html
    assert "cinco" not in html
    text = client.get("/cities/RDC/rankings", params={"format": "csv", "lang": "es"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert "locality" not in rows[0]
    assert [r["code"] for r in rows] == ["B4", "B1", "B2", "B3"]  # 91.9, 85, 67.5, 42.5
    first = {r["code"]: r for r in rows}
    assert first["B1"]["coverage"] == "0.75" and first["B1"]["missing_areas"] == "Vivienda"
    assert first["B1"]["score_VIV"] == "" and float(first["B1"]["score_SAL"]) == 80.0


def test_fact_sheet_says_partial_and_lists_missing_indicators(
    real: RealCity, tmp_path: Path
) -> None:
    result = reports.factsheets(
        connect(real.url), "RDC", "2024", tmp_path / "fichas.pdf", language="es"
    )
    sheet = next(text for text in pdf_pages(result.pdf) if "Manzana B1" in text)
    text = squash(sheet)
    assert "parcial: Vivienda sin datos" in text
    assert "overcrowding (es) sin dato" in text
    assert "85,0" in text
    other = next(text for text in pdf_pages(result.pdf) if "Manzana B2" in text)
    assert "parcial" not in squash(other)


def test_city_report_counts_partial_units_and_names_the_own_areas(
    real: RealCity, tmp_path: Path
) -> None:
    result = reports.marker_report(
        connect(real.url), "RDC", "2024", tmp_path / "uim.pdf", language="en"
    )
    text = squash(" ".join(pdf_pages(result.pdf)))
    assert "1 of 4 units have a partial index: Housing without data for some of them." in text
    assert "VIV: Housing" in text  # names from the run's own spec, not a built-in one


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".gpkg"])
def test_marker_compute_outputs_carry_coverage(tmp_path: Path, real: RealCity, suffix: str) -> None:
    import geopandas as gpd
    import pandas as pd
    import shapely
    import yaml

    from tests.web.realcity import own_spec

    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(own_spec().model_dump(mode="json"), allow_unicode=True))
    table = tmp_path / "blocks.csv"
    pd.DataFrame(
        {
            "unit_code": list(INDEX),
            **{
                code: ["" if v is None else v for v in by_unit.values()]
                for code, by_unit in VALUES.items()
            },
        }
    ).to_csv(table, index=False)
    boundaries = tmp_path / "blocks.gpkg"
    gpd.GeoDataFrame(
        {"unit_code": list(INDEX)},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(len(INDEX))],
        crs="EPSG:3116",
    ).to_file(boundaries)
    out = tmp_path / f"scores{suffix}"
    args = ["marker", "compute", "--spec", str(spec), "--data", str(table), "--out", str(out)]
    main([*args, "--units", str(boundaries)] if suffix == ".gpkg" else args)  # exits on error
    if suffix == ".csv":
        frame = pd.read_csv(out, dtype={"missing_areas": str}, keep_default_na=False)
    elif suffix == ".xlsx":
        frame = pd.read_excel(out, keep_default_na=False)
    else:
        frame = gpd.read_file(out)
    rows = frame.set_index("unit_code")
    assert rows.loc["B1", "IDX"] == pytest.approx(INDEX["B1"])
    assert float(rows.loc["B1", "coverage"]) == 0.75
    assert rows.loc["B1", "missing_areas"] == "VIV"
    assert [float(rows.loc[u, "coverage"]) for u in ("B2", "B3", "B4")] == [1.0, 1.0, 1.0]
    assert [rows.loc[u, "missing_areas"] or "" for u in ("B2", "B3", "B4")] == ["", "", ""]
    assert set(AREAS) <= set(frame.columns)


def test_score_headers_follow_the_specs_scale() -> None:
    """A 0–1 spec's score columns say 0–1, not 0–100, beside the raw value's unit."""
    from inclusive_cities.marker import MarkerSpec
    from inclusive_cities.web.exports import node_description
    from inclusive_cities.web.specview import from_marker_spec
    from tests.web.realcity import own_spec

    recipe = own_spec().model_dump(mode="json")
    recipe["defaults"]["scale"] = {"lower": 0, "upper": 1}
    view = from_marker_spec(MarkerSpec.model_validate(recipe))
    assert view.scale == "0–1" and view.scale_upper == 1.0
    use_language("en")
    text = node_description(view, "dist_health_m", "en")
    assert text.startswith("dist_health_m (en) — score 0–1, not the raw value in m")
    use_language("es")
    assert "puntaje 0–1, no el valor original en por 1.000 hab." in node_description(
        view, "crime_rate", "es"
    )
    assert [a.code for a in view.areas()] == list(AREAS)


def test_radar_has_no_spoke_for_a_missing_area_and_follows_the_scale() -> None:
    """Three scored areas of four -> three spokes; a 0–1 score of 0.5 reaches the middle ring."""
    from inclusive_cities.web.charts import radar_spec

    areas = [
        {"name": "Vivienda", "score": None},
        {"name": "Salud", "score": 0.5},
        {"name": "Educación", "score": 0.9},
        {"name": "Oportunidades", "score": 0.85},
    ]
    spec = radar_spec(areas, "t", top=1.0)
    datasets = list(spec["datasets"].values())
    spokes = next(d for d in datasets if d and "x2" in d[0])
    points = next(d for d in datasets if d and "area" in d[0])
    assert len(spokes) == 3
    assert [p["area"] for p in points] == ["Salud", "Educación", "Oportunidades", "Salud"]
    health = points[0]  # first spoke points straight up: (0, 100 * 0.5)
    assert health["x"] == pytest.approx(0.0) and health["y"] == pytest.approx(50.0)
    assert health["score"] == 0.5


def test_trend_axis_follows_the_specs_scale() -> None:
    from inclusive_cities.web.charts import trend_spec

    use_language("en")
    spec = trend_spec([{"period": "2024", "node": "Health", "score": 0.5}], 0.0, 1.0)
    use_language("es")
    assert spec["encoding"]["y"]["scale"]["domain"] == [0.0, 1.0]
    assert spec["encoding"]["y"]["title"] == "Score (0–1)"


def test_a_unit_with_no_value_keeps_its_boundary_in_downloads_and_ogc(real: RealCity) -> None:
    """Trial #3 F9: block B1's overcrowding was never stored (a missing-value code in the
    source). Its layer left B1 out, so a GIS user lost the polygon; it is now there, empty."""
    from sqlalchemy import delete, select

    from inclusive_cities.store import models, transaction
    from inclusive_cities.store.web_models import PublishedLayer
    from inclusive_cities.web.data import CACHE, MAP_CACHE

    engine = connect(real.url)
    with transaction(engine) as s:
        indicator = s.scalar(
            select(models.Indicator.id).where(models.Indicator.code == "overcrowding")
        )
        layer = PublishedLayer(
            city_id=s.scalar(select(models.City.id)),
            period_id=s.scalar(select(models.Period.id)),
            indicator_id=indicator,
        )
        s.add(layer)
    CACHE.clear()
    MAP_CACHE.clear()
    try:
        with TestClient(create_app(real.url)) as web:
            geo = web.get("/downloads/rdc-overcrowding-2024.geojson").json()
            by_code = {f["properties"]["code"]: f["properties"] for f in geo["features"]}
            assert set(by_code) == {"B1", "B2", "B3", "B4"}
            assert by_code["B1"]["value"] is None and by_code["B1"]["status"] == "missing"
            assert by_code["B2"]["value"] == VALUES["overcrowding"]["B2"]
            items = web.get("/ogc/collections/rdc-overcrowding-2024/items").json()
            assert items["numberMatched"] == 4
    finally:
        with transaction(engine) as s:
            s.execute(delete(PublishedLayer).where(PublishedLayer.indicator_id == indicator))
        CACHE.clear()
        MAP_CACHE.clear()
