"""A tiny city built directly in the store: 2 localidades, 6 barrios (squares), indicators by
nationality, a marker run with scores, and the three synthetic survey rounds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine

from inclusive_cities.mobility import generate_rounds, harmonise, load_mapping, write_rounds
from inclusive_cities.store import init_database, models, transaction

AREAS = ("VIV", "SAL", "EDU", "EPUB", "OPO")
# barrio code -> (name, localidad, UIM score, level, rank, area scores)
BARRIOS = {
    "B1": ("La Esperanza", "L1", 72.4, "solid", 1, (70, 75, 71, 74, 72)),
    "B2": ("San José", "L1", 64.0, "moderately_solid", 2, (60, 66, 65, 63, 66)),
    "B3": ("El Progreso", "L1", 55.5, "moderately_weak", 3, (52, 58, 57, 54, 56)),
    "B4": ("Villa Nueva", "L2", 47.2, "weak", 4, (45, 50, 46, 48, 47)),
    "B5": ("Los Pinos", "L2", 38.9, "very_weak", 5, (35, 40, 41, 37, 41)),
    "B6": ("Brisas del Río", "L2", 36.1, "very_weak", 6, (33, 38, 37, 35, 37)),
}
# indicator -> {barrio: (host value, host n, migrant value, migrant n)}
GAPS = {
    "health_insurance": {b: (90.0 - i, 200, 60.0 - i, 50) for i, b in enumerate(BARRIOS)},
    "unemployment_rate": {b: (10.0, 100 + 10 * i, 18.0 + i, 40) for i, b in enumerate(BARRIOS)},
}
CITY_SCORE = 52.3


def square(x: float, y: float, size: float = 0.01) -> bytes:
    return shapely.to_wkb(shapely.box(x, y, x + size, y + size))


def build_city(
    url: str,
    with_marker: bool = True,
    synthetic: bool = True,
    population: dict[str, float] | None = None,
) -> Engine:
    engine = init_database(url)
    with transaction(engine) as session:
        city = models.City(code="TST", name="Villa Prueba", country="COL", is_synthetic=synthetic)
        session.add(city)
        session.flush()
        localidad = models.UnitLevel(
            city_id=city.id, code="localidad", name_es="Localidad", name_en="Locality", depth=0
        )
        barrio = models.UnitLevel(
            city_id=city.id, code="barrio", name_es="Barrio", name_en="Neighbourhood", depth=1
        )
        period = models.Period(code="2024", label="2024")
        empty = models.Period(code="2019", label="2019")
        session.add_all([localidad, barrio, period, empty])
        session.flush()
        parents = {}
        for i, code in enumerate(("L1", "L2")):
            unit = models.SpatialUnit(
                city_id=city.id,
                level_id=localidad.id,
                code=code,
                name=f"Localidad {i + 1}",
                geometry=shapely.to_wkb(
                    shapely.box(-74.1, 4.6 + 0.01 * i, -74.07, 4.61 + 0.01 * i)
                ),
            )
            session.add(unit)
            session.flush()
            parents[code] = unit.id
        units = {}
        for i, (code, (name, parent, *_rest)) in enumerate(BARRIOS.items()):
            unit = models.SpatialUnit(
                city_id=city.id,
                level_id=barrio.id,
                code=code,
                name=name,
                parent_id=parents[parent],
                geometry=square(-74.1 + 0.01 * (i % 3), 4.6 + 0.01 * (i // 3)),
            )
            session.add(unit)
            session.flush()
            units[code] = unit.id
        indicators = {
            "health_insurance": models.Indicator(
                code="health_insurance",
                name_es="Personas afiliadas a salud",
                name_en="Persons with health insurance",
                area="SAL",
                unit="%",
                direction="higher_is_better",
                source="Censo sintético",
            ),
            "unemployment_rate": models.Indicator(
                code="unemployment_rate",
                name_es="Tasa de desempleo",
                name_en="Unemployment rate",
                area="OPO",
                unit="%",
                direction="lower_is_better",
                source="Censo sintético",
            ),
        }
        if population:
            indicators["population"] = models.Indicator(
                code="population", name_es="Población", name_en="Population", unit="persons"
            )
        session.add_all(indicators.values())
        session.flush()
        for b, persons in (population or {}).items():
            session.add(
                models.Observation(
                    indicator_id=indicators["population"].id,
                    unit_id=units[b],
                    period_id=period.id,
                    value=persons,
                    n=int(persons),
                )
            )
        for code, values in GAPS.items():
            for b, (host, host_n, migrant, migrant_n) in values.items():
                for nationality, value, n in (
                    ("host", host, host_n),
                    ("venezuelan", migrant, migrant_n),
                ):
                    session.add(
                        models.Observation(
                            indicator_id=indicators[code].id,
                            unit_id=units[b],
                            period_id=period.id,
                            nationality=nationality,
                            value=value,
                            n=n,
                            source="Censo sintético 2024",
                        )
                    )
                session.add(
                    models.Observation(
                        indicator_id=indicators[code].id,
                        unit_id=units[b],
                        period_id=period.id,
                        value=(host * host_n + migrant * migrant_n) / (host_n + migrant_n),
                        n=host_n + migrant_n,
                        source="Censo sintético 2024",
                    )
                )
        if with_marker:
            run = models.MarkerRun(
                city_id=city.id,
                period_id=period.id,
                level_id=barrio.id,
                spec_code="uim-basic",
                spec_hash="a" * 64,
                input_hash="b" * 64,
                software_version="0.1",
                seed=1,
                parameters={
                    "rank_intervals": {
                        code: [max(1, rank - 1), min(6, rank + 1)]
                        for code, (*_x, rank, _a) in BARRIOS.items()
                    }
                },
                city_score=CITY_SCORE,
            )
            session.add(run)
            session.flush()
            for code, (_name, _parent, score, level, rank, areas) in BARRIOS.items():
                session.add(
                    models.MarkerScore(
                        run_id=run.id,
                        unit_id=units[code],
                        node_code="UIM",
                        score=score,
                        level=level,
                        rank=rank,
                        coverage=1.0,
                    )
                )
                for area, value in zip(AREAS, areas, strict=True):
                    session.add(
                        models.MarkerScore(
                            run_id=run.id, unit_id=units[code], node_code=area, score=float(value)
                        )
                    )
    return engine


@pytest.fixture(scope="session")
def hfs_rounds(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The synthetic rounds, with the demo city's respondents placed in the test city."""
    out = tmp_path_factory.mktemp("hfs")
    mapping = load_mapping(write_rounds(out, seed=5, fmt="csv"))
    frames = {
        code: frame.replace({"city": {"DEMO": "TST"}, "destination": {"DEMO": "TST"}})
        for code, frame in generate_rounds(5).items()
    }
    return harmonise(mapping, frames=frames)


@pytest.fixture(scope="session")
def city_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    path: Path = tmp_path_factory.mktemp("db") / "observatory.db"
    return build_city(f"sqlite:///{path}")
