"""Rank intervals and unit counts the public sees are among published units only.

City RKI, one level of six blocks scored by ``marker build --uncertainty 16`` with the spec
of tests/marker/test_cli.py (index IDX of area A = a1 (0-100, higher is better) and a2 (0-50,
lower is better), area B = b1 (0-10, higher is better)). Every block's three normalised scores
are equal (U1: a1 90, a2 5, b1 9 -> 90, 90, 90; U2 80 ... U6 40), so whatever weights,
aggregation or left-out indicator a Monte Carlo run draws, each block's index is that value
and the order never changes: every interval is one rank wide, [r, r], worked out by hand.

U2's and U4's a1 rest on 5 people each: disclosure control withholds those scores and the
index above them. Among all six the stored intervals are U1 [1, 1] ... U6 [6, 6]; the public
ranks U1 1, U3 2, U5 3, U6 4, so the stored U3 (3-3) would sit beside rank 2 and the gaps
would say where the withheld blocks are. Among published blocks: [1, 1], [2, 2], [3, 3], [4, 4].
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from inclusive_cities.disclosure.rank_intervals import (
    PENDING,
    compute_in_background,
    public_rank_intervals,
    rank_intervals_among,
    store_city_rank_intervals,
)
from inclusive_cities.disclosure.served import run_scores
from inclusive_cities.marker import load_spec
from inclusive_cities.marker.build import build_run
from inclusive_cities.store import init_database, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from inclusive_cities.web import create_app
from inclusive_cities.web.data import CACHE, MAP_CACHE
from tests.marker.test_cli import SPEC

VALUES = {  # unit: (a1, a2, b1); all three normalise to the same score
    "U1": (90, 5, 9),
    "U2": (80, 10, 8),
    "U3": (70, 15, 7),
    "U4": (60, 20, 6),
    "U5": (50, 25, 5),
    "U6": (40, 30, 4),
}
SMALL = {"U2", "U4"}  # a1 rests on 5 people
PUBLIC = {"U1": (1, (1, 1)), "U3": (2, (2, 2)), "U5": (3, (3, 3)), "U6": (4, (4, 4))}


@dataclass
class City:
    url: str
    run: int
    units: dict[str, int]


def build(tmp: Path, values: dict[str, tuple[int, int, int]], small: set[str]) -> City:
    url = f"sqlite:///{tmp / 'rki.db'}"
    engine = init_database(url)
    CACHE.clear()
    MAP_CACHE.clear()
    with transaction(engine) as s:
        city = models.City(code="RKI", name="Ciudad RKI", country="COL", is_synthetic=True)
        s.add(city)
        s.flush()
        level = models.UnitLevel(
            city_id=city.id, code="block", name_es="Manzana", name_en="Block", depth=0
        )
        period = models.Period(code="2024")
        s.add_all([level, period])
        s.flush()
        units = {
            code: models.SpatialUnit(city_id=city.id, level_id=level.id, code=code, name=code)
            for code in values
        }
        indicators = {
            code: models.Indicator(code=code, name_es=code, name_en=code, unit="%", source="t")
            for code in ("a1", "a2", "b1")
        }
        s.add_all([*units.values(), *indicators.values()])
        s.flush()
        for unit, row in values.items():
            for code, value in zip(("a1", "a2", "b1"), row, strict=True):
                n = 5 if code == "a1" and unit in small else 200
                s.add(
                    models.Observation(
                        indicator_id=indicators[code].id,
                        unit_id=units[unit].id,
                        period_id=period.id,
                        value=value,
                        n=n,
                        status="computed",
                    )
                )
        s.add_all(
            PublishedLayer(city_id=city.id, period_id=period.id, indicator_id=i.id)
            for i in indicators.values()
        )
        ids = {code: u.id for code, u in units.items()}
    spec_file = tmp / "tiny.yaml"
    spec_file.write_text(SPEC, encoding="utf-8")
    summary = build_run(
        engine, "RKI", "2024", load_spec(spec_file), uncertainty_replicates=16, seed=3
    )
    with transaction(engine) as s:
        run = s.get(models.MarkerRun, summary.run_id)
        assert run is not None
        run.published = True
    CACHE.clear()
    return City(url, summary.run_id, ids)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INCLUSIVE_CITIES_DATA_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> City:
    return build(tmp_path_factory.mktemp("rki"), VALUES, SMALL)


def public_view(city: City) -> dict[str, tuple[int, tuple[int, int] | None]]:
    """unit code -> (public rank, public interval) for every ranked unit."""
    with transaction(init_database(city.url)) as s:
        run = s.get(models.MarkerRun, city.run)
        scores = run_scores(s, city.run)
        found = public_rank_intervals(s, run, scores)
        codes = {uid: code for code, uid in city.units.items()}
        return {
            codes[int(u)]: (rank, found.intervals.get(int(u)))
            for u, rank in zip(scores.unit_ids, scores.ranks["IDX"], strict=True)
            if rank is not None
        }


def test_stored_intervals_count_withheld_units_and_are_not_served(city: City) -> None:
    with transaction(init_database(city.url)) as s:
        run = s.get(models.MarkerRun, city.run)
        assert run is not None
        stored = run.parameters["rank_intervals"]
        scores = run_scores(s, city.run)
        withheld = {
            code
            for code, uid in city.units.items()
            if scores.is_withheld("IDX")[list(scores.unit_ids).index(uid)]
        }
        found = public_rank_intervals(s, run, scores)
    assert stored == {f"U{i}": [i, i] for i in range(1, 7)}  # among all six, by hand
    assert withheld == SMALL
    assert found.reason == PENDING and found.withheld == 2
    assert found.intervals == {}
    assert "2 of them withheld" in found.note()


def test_a_page_that_finds_them_pending_has_them_computed(city: City) -> None:
    """A run published on the web (or new data) leaves them pending: the first page that
    notices starts one background computation, and later pages serve its result."""
    engine = init_database(city.url)
    with transaction(engine) as s:
        found = public_rank_intervals(s, s.get(models.MarkerRun, city.run))
    assert found.reason == PENDING
    compute_in_background(engine, city.run, found)
    compute_in_background(engine, city.run, found)  # the second page joins the first
    workers = [t for t in threading.enumerate() if t.name == f"rank-intervals-{city.run}"]
    assert len(workers) == 1
    workers[0].join(timeout=60)
    assert public_view(city) == PUBLIC


def test_publish_computes_intervals_among_published_units(city: City) -> None:
    assert store_city_rank_intervals(init_database(city.url), "RKI") == []
    assert public_view(city) == PUBLIC
    with TestClient(create_app(city.url), base_url="http://localhost") as client:
        spanish = client.get("/cities/RKI/rankings?period=2024&lang=es").text
        english = client.get("/cities/RKI/units/U3?period=2024&lang=en").text
        card = client.get("/cities/RKI?period=2024&lang=es").text
        card_en = client.get("/cities/RKI?period=2024&lang=en").text
    assert "(2–2)" in spanish and "(4–4)" in spanish
    assert "(5–5)" not in spanish and "(6–6)" not in spanish
    assert "6 unidades · 4 con índice publicado" in spanish
    assert "rank between 2 and 2 in 90 % of the Monte Carlo runs" in english
    assert "Rank 2 of 4 units" in english
    # the city card counts the units whose index is public, of those scored
    assert "Unidades espaciales con índice publicado</dt><dd>4 de 6</dd>" in card
    assert "Spatial units with a published index</dt><dd>4 of 6</dd>" in card_en


def test_the_rerun_reproduces_marker_builds_own_intervals(tmp_path: Path, data_dir: Path) -> None:
    """Where scores trade off, the intervals are not one rank wide: rerun with nobody left out,
    the seeded Monte Carlo gives exactly what marker build stored (the published reference)."""
    mixed = {
        "U1": (90, 40, 2),
        "U2": (20, 5, 9),
        "U3": (60, 20, 5),
        "U4": (55, 22, 6),
        "U5": (40, 10, 3),
        "U6": (75, 35, 8),
    }
    other = build(tmp_path, mixed, set())
    with transaction(init_database(other.url)) as s:
        run = s.get(models.MarkerRun, other.run)
        assert run is not None
        stored = run.parameters["rank_intervals"]
        again = rank_intervals_among(s, run, set())
        without = rank_intervals_among(s, run, {"U2"})
        units = s.scalars(select(models.SpatialUnit.code)).all()
    assert any(low < high for low, high in stored.values())  # the draws do move ranks
    assert again == stored
    assert without is not None and "U2" not in without
    assert all(1 <= low <= high <= len(units) - 1 for low, high in without.values())
