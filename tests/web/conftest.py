"""A tiny published city built directly in the store, and the web app serving it.

City TST: two localities (01, 02), each with three square blocks 0.01° wide near 7.9°N,
72.5°W. Two published runs of a five-area marker (2020 and 2024) and one unpublished draft
run for 2024 whose scores (all 12.345) must never appear in a public response. A survey
indicator has one suppressed cell and one cell with n = 7 (below the disclosure minimum).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

from inclusive_cities.i18n import use_language
from inclusive_cities.store import init_database, models, transaction
from inclusive_cities.store.web_models import PublishedLayer
from inclusive_cities.web import NodeView, SpecView, create_app
from inclusive_cities.web.data import CACHE, MAP_CACHE

AREAS = ["VIV", "SAL", "EDU", "EPUB", "OPO"]
AREA_NAMES = {
    "VIV": ("Vivienda asequible y con servicios", "Affordable housing with services"),
    "SAL": ("Salud y bienestar", "Health and wellness"),
    "EDU": ("Educación, cultura y diversidad", "Education, culture and diversity"),
    "EPUB": ("Espacio público y seguridad", "Public space and safety"),
    "OPO": ("Oportunidades económicas", "Economic opportunities"),
}
DIMENSIONS = {
    "VIV": ["V_CAL", "V_SER"],
    "SAL": ["S_PRO"],
    "EDU": ["E_PRO"],
    "EPUB": ["EP_PRO"],
    "OPO": ["O_BIE"],
}
XSS_NAME = "<script>alert('x')</script>Manzana"
DRAFT_SCORE = 12.345
SUPPRESSED_N = 4
SMALL_N_VALUE = 55.5


def test_spec() -> SpecView:
    nodes = [NodeView("UIM", "Marcador de Inclusión Urbana", "Urban Inclusion Marker", 0, None)]
    for area in AREAS:
        es, en = AREA_NAMES[area]
        nodes.append(NodeView(area, es, en, 1, "UIM"))
        for dim in DIMENSIONS[area]:
            nodes.append(NodeView(dim, f"Dimensión {dim}", f"Dimension {dim}", 2, area))
    nodes.append(
        NodeView(
            "piped_water",
            "Acueducto",
            "Piped water",
            3,
            "V_SER",
            is_indicator=True,
            direction="higher_is_better",
            unit="%",
            benchmark_lower=50.0,
            benchmark_upper=100.0,
            benchmark_source="SDG 6.1",
            normalisation="goalposts",
        )
    )
    return SpecView(code="uim-test", name_es="UIM de prueba", name_en="Test UIM", nodes=nodes)


def specs(code: str) -> SpecView | None:
    return test_spec() if code == "uim-test" else None


def block_score(i: int, period: str) -> float:
    """Index score of block i (0..5): 35, 45, ..., 85 in 2024; five points less in 2020."""
    return 35.0 + 10 * i - (5.0 if period == "2020" else 0.0)


def level_code(score: float) -> str:
    for minimum, code in (
        (80, "very_solid"),
        (70, "solid"),
        (60, "moderately_solid"),
        (50, "moderately_weak"),
        (40, "weak"),
    ):
        if score >= minimum:
            return code
    return "very_weak"


@dataclass
class City:
    url: str
    blocks: list[str]
    block_ids: list[int]
    run_2024: int
    run_2020: int
    draft_run: int
    geometries: dict[str, shapely.Geometry]


def square(x: float, y: float, size: float = 0.01) -> shapely.Geometry:
    return shapely.box(x, y, x + size, y + size)


def build_city(url: str) -> City:
    engine = init_database(url)
    CACHE.clear()
    MAP_CACHE.clear()
    geometries: dict[str, shapely.Geometry] = {}
    with transaction(engine) as s:
        city = models.City(code="TST", name="Ciudad Prueba", country="COL", is_synthetic=True)
        s.add(city)
        s.flush()
        loc_level = models.UnitLevel(
            city_id=city.id, code="localidad", name_es="Localidad", name_en="Locality", depth=0
        )
        block_level = models.UnitLevel(
            city_id=city.id, code="manzana", name_es="Manzana", name_en="Block", depth=1
        )
        s.add_all([loc_level, block_level])
        s.flush()
        blocks: list[models.SpatialUnit] = []
        for li, loc in enumerate(["01", "02"]):
            loc_geom = square(-72.5, 7.9 + 0.01 * li, 0.01)
            loc_geom = shapely.box(-72.5, 7.9 + 0.01 * li, -72.47, 7.91 + 0.01 * li)
            locality = models.SpatialUnit(
                city_id=city.id,
                level_id=loc_level.id,
                code=loc,
                name=f"Localidad {loc}",
                geometry=shapely.to_wkb(loc_geom),
            )
            s.add(locality)
            s.flush()
            for bi in range(3):
                code = f"{loc}00{bi + 1}"
                geom = square(-72.5 + 0.01 * bi, 7.9 + 0.01 * li)
                geometries[code] = geom
                minx, miny, maxx, maxy = geom.bounds
                name = XSS_NAME if code == "01002" else f"Manzana {code}"
                unit = models.SpatialUnit(
                    city_id=city.id,
                    level_id=block_level.id,
                    code=code,
                    name=name,
                    parent_id=locality.id,
                    geometry=shapely.to_wkb(geom),
                    min_x=minx,
                    min_y=miny,
                    max_x=maxx,
                    max_y=maxy,
                )
                s.add(unit)
                blocks.append(unit)
        s.flush()
        p2020 = models.Period(
            code="2020",
            label="Censo 2020",
            start_date=date(2020, 1, 1),
            end_date=date(2020, 12, 31),
        )
        p2024 = models.Period(
            code="2024",
            label="Censo 2024",
            start_date=date(2024, 1, 1),
            end_date=date(2024, 12, 31),
        )
        s.add_all([p2020, p2024])
        pop = models.Indicator(
            code="population",
            name_es="Población",
            name_en="Population",
            unit="personas",
            source="Censo de prueba",
        )
        share = models.Indicator(
            code="refugee_migrant_share",
            name_es="Población refugiada y migrante",
            name_en="Refugee and migrant population",
            unit="%",
            source="Censo de prueba",
        )
        water = models.Indicator(
            code="piped_water",
            name_es="Acueducto",
            name_en="Piped water",
            area="VIV",
            dimension="V_SER",
            unit="%",
            source="Censo de prueba",
            benchmark_lower=50.0,
            benchmark_upper=100.0,
            benchmark_source="ODS 6.1",
        )
        school = models.Indicator(
            code="school_attendance_srv",
            name_es="Asistencia escolar (encuesta)",
            name_en="School attendance (survey)",
            unit="%",
            source="Encuesta de prueba",
        )
        s.add_all([pop, share, water, school])
        s.flush()
        for li, locality_id in enumerate(sorted({unit.parent_id for unit in blocks})):
            # counts are also stored for localities (600 and 1,500): the overview must not
            # add them to the blocks' population
            s.add(
                models.Observation(
                    indicator_id=pop.id,
                    unit_id=locality_id,
                    period_id=p2024.id,
                    value=(600.0, 1500.0)[li],
                )
            )
        for i, unit in enumerate(blocks):
            s.add(
                models.Observation(
                    indicator_id=pop.id, unit_id=unit.id, period_id=p2024.id, value=100.0 * (i + 1)
                )
            )
            s.add(
                models.Observation(
                    indicator_id=share.id, unit_id=unit.id, period_id=p2024.id, value=10.0 + i
                )
            )
            s.add(
                models.Observation(
                    indicator_id=water.id,
                    unit_id=unit.id,
                    period_id=p2024.id,
                    value=60.0 + 5 * i,
                    status="computed",
                )
            )
            if i == 0:
                school_obs = dict(status="suppressed", value=None, n=SUPPRESSED_N)
            elif i == 1:
                school_obs = dict(
                    status="estimated",
                    value=SMALL_N_VALUE,
                    n=7,
                    standard_error=9.0,
                    ci_low=37.9,
                    ci_high=73.1,
                )
            else:
                school_obs = dict(
                    status="estimated",
                    value=80.0 + i,
                    n=40 + i,
                    standard_error=2.0,
                    ci_low=76.0 + i,
                    ci_high=84.0 + i,
                )
            s.add(
                models.Observation(
                    indicator_id=school.id, unit_id=unit.id, period_id=p2024.id, **school_obs
                )
            )
        runs = {}
        for period, published, label in (
            (p2020, True, "2020"),
            (p2024, True, "2024"),
            (p2024, False, "draft"),
        ):
            run = models.MarkerRun(
                city_id=city.id,
                period_id=period.id,
                level_id=block_level.id,
                spec_code="uim-test",
                spec_hash="s" * 64,
                input_hash="i" * 64,
                software_version="test",
                published=published,
            )
            s.add(run)
            s.flush()
            runs[label] = run.id
            for i, unit in enumerate(blocks):
                root = DRAFT_SCORE if label == "draft" else block_score(i, label)
                nodes = {"UIM": root}
                for a, area in enumerate(AREAS):
                    nodes[area] = DRAFT_SCORE if label == "draft" else root + 2 * a - 4
                    for d, dim in enumerate(DIMENSIONS[area]):
                        nodes[dim] = DRAFT_SCORE if label == "draft" else nodes[area] + d
                nodes["piped_water"] = DRAFT_SCORE if label == "draft" else 20.0 + 10 * i
                for node, value in nodes.items():
                    s.add(
                        models.MarkerScore(
                            run_id=run.id,
                            unit_id=unit.id,
                            node_code=node,
                            score=value,
                            level=level_code(value),
                            rank=(6 - i) if node == "UIM" else None,
                        )
                    )
        for indicator in (water, school):
            s.add(PublishedLayer(city_id=city.id, period_id=p2024.id, indicator_id=indicator.id))
        block_codes = [b.code for b in blocks]
        block_ids = [b.id for b in blocks]
    return City(url, block_codes, block_ids, runs["2024"], runs["2020"], runs["draft"], geometries)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    """A city shared by the read-only tests of one module."""
    return build_city(f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}")


@pytest.fixture
def client(city: City) -> Iterator[TestClient]:
    app = create_app(city.url, specs=specs)
    with TestClient(app) as test_client:
        yield test_client
    use_language("es")


@pytest.fixture
def fresh_city(tmp_path: Path) -> City:
    """A city of its own, for tests that change data (publishing, accounts)."""
    return build_city(f"sqlite:///{tmp_path / 'web.db'}")


@pytest.fixture
def fresh_client(fresh_city: City) -> Iterator[TestClient]:
    app = create_app(fresh_city.url, specs=specs)
    with TestClient(app) as test_client:
        yield test_client
    use_language("es")
