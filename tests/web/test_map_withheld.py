"""On the map, a withheld score is its own class, never "No data" (trial F15: 82 of 162
barrios were grey "Sin datos" while the unit page said "Reservado por confidencialidad")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from inclusive_cities.store import init_database, models, transaction
from inclusive_cities.web import create_app
from inclusive_cities.web.data import CACHE, MAP_CACHE
from inclusive_cities.web.services import NO_DATA_COLOUR, WITHHELD_COLOUR, classify
from tests.disclosure.test_served_rank_intervals import SMALL, VALUES, build


def _mapped_city(tmp_path: Path) -> tuple[Any, Engine]:
    """The rank-interval city with a square for each unit (so maps can draw it)."""
    city = build(tmp_path, VALUES, SMALL)
    engine = init_database(city.url)
    with transaction(engine) as s:
        for position, unit in enumerate(
            s.scalars(select(models.SpatialUnit).order_by(models.SpatialUnit.code))
        ):
            square = shapely.box(-74 + position * 0.01, 4.6, -73.99 + position * 0.01, 4.61)
            unit.geometry = shapely.to_wkb(square)
            unit.min_x, unit.min_y, unit.max_x, unit.max_y = square.bounds
    CACHE.clear()
    MAP_CACHE.clear()
    return city, engine


def test_classify_counts_withheld_apart_from_no_data() -> None:
    values = np.array([10.0, np.nan, 30.0, np.nan, 50.0])
    withheld = np.array([False, True, False, False, False])
    classes = classify(values, "quantiles", 3, "en", withheld=withheld)
    legend = {item["code"]: (item["label"], item["count"]) for item in classes.legend}
    assert legend["na"] == ("No data", 1)
    assert legend["withheld"] == ("Withheld for confidentiality", 1)
    assert (classes.index < 0).tolist() == [False, True, False, True, False]


def test_the_map_of_the_index_says_withheld_in_both_languages(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INCLUSIVE_CITIES_DATA_DIR", str(tmp_path / "data"))
    city, _engine = _mapped_city(tmp_path)
    with TestClient(create_app(city.url), base_url="http://localhost") as client:
        for language, label in (("es", "Reservado por confidencialidad"),
                                ("en", "Withheld for confidentiality")):  # fmt: skip
            reply = client.get(
                "/api/cities/RKI/map", params={"layer": "node:IDX", "period": "2024",
                                               "lang": language},
            )  # fmt: skip
            assert reply.status_code == 200, reply.text
            body = reply.json()
            by_code = {f["properties"]["code"]: f["properties"] for f in body["features"]}
            assert {c for c, p in by_code.items() if p["cls"] == "withheld"} == SMALL
            for code in SMALL:
                assert by_code[code]["value"] is None
                assert by_code[code]["label"] == label
                assert by_code[code]["colour"] == WITHHELD_COLOUR != NO_DATA_COLOUR
            legend = {item["code"]: item for item in body["legend"]}
            assert legend["withheld"]["count"] == 2 and legend["withheld"]["label"] == label
            assert legend["na"]["count"] == 0


def test_breakdowns_read_as_words_in_the_page_language() -> None:
    """Trial F11: the unit page printed 'Tasa de desempleo other_foreign'."""
    from inclusive_cities.i18n import use_language
    from inclusive_cities.web.services import group_label

    use_language("es")
    spanish = [group_label(c) for c in ("other_foreign", "venezuelan", "female", "25-64", "65+")]
    assert spanish == [
        "Otras nacionalidades", "Venezolanos", "Mujeres", "de 25 a 64 años", "de 65 años y más"
    ]  # fmt: skip
    use_language("en")
    assert group_label("other_foreign") == "Other nationalities"
    assert group_label("15-24") == "aged 15 to 24"


def test_workshop_evidence_writes_units_as_every_page_does() -> None:
    """Trial F11: a Spanish workshop page read '0,0 m2/inhab' and '2.007,4 per 100k'."""
    from types import SimpleNamespace

    from inclusive_cities.i18n import use_language
    from inclusive_cities.web.workshops import evidence_view

    item = SimpleNamespace(
        unit_code="01001", indicator="crime_rate_per_100k", indicator_name="Delitos",
        unit_of_measure="per 100k", withheld=False, unit_value=2007.4, city_value=1500.0,
        gap=None, gap_withheld=False, period="2024",
    )  # fmt: skip
    use_language("es")
    summary = evidence_view(item, "es", {"01001": "Santa Mónica"})["summary"]
    assert summary == (
        "Santa Mónica: 2.007,4 por 100.000 hab. · toda la ciudad: 1.500,0 por 100.000 hab."
    )


def test_the_plan_maps_say_withheld_too(tmp_path: Path, monkeypatch) -> None:
    """The planner's and the plans' maps colour units by the same served scores: a withheld
    one is "Reservado por confidencialidad" there too, not "Sin datos" (trial #4 F18)."""
    from starlette.requests import Request

    from inclusive_cities.web.planning import units_layer

    monkeypatch.setenv("INCLUSIVE_CITIES_DATA_DIR", str(tmp_path / "data"))
    city, engine = _mapped_city(tmp_path)
    with TestClient(create_app(city.url)) as client:
        request = Request({"type": "http", "app": client.app, "state": {"language": "es"}})
        with transaction(engine) as s:
            town = s.scalar(select(models.City).where(models.City.code == "RKI"))
            run = s.scalar(select(models.MarkerRun).where(models.MarkerRun.published.is_(True)))
            assert town is not None and run is not None
            layer = units_layer(request, s, town, run)
    by_code = {f["properties"]["code"]: f["properties"] for f in layer["features"]}
    assert {c for c, p in by_code.items() if p["withheld"]} == SMALL
    for code in SMALL:
        assert by_code[code]["level"] == "Reservado por confidencialidad"
        assert by_code[code]["colour"] == WITHHELD_COLOUR
    assert all(p["level"] != "Sin datos" for p in by_code.values())
