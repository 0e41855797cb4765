"""A 10 × 10 grid city in the store, with values whose clusters and totals are known by hand.

City GRD: blocks (level ``manzana``) are 100 m squares in UTM 18N (stored in EPSG:4326),
numbered ``r{row}c{col}`` from the south-west; two barrios ``W`` (columns 0-4) and ``E``
(columns 5-9). Indicators for period 2024:

- ``internet`` (a share in the catalogue): 10 in the 5 × 5 south-west corner, 0 elsewhere;
- ``households`` (a count in the catalogue): ``row * 10 + col + 1`` (1 … 100, total 5050);
- ``school_attendance_5_16``: stored for the barrios only (none for blocks).

The census has ``1 + (row + col) % 3`` persons in each block (total 199), so population
weights differ from area weights.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from inclusive_cities.store import init_database, models, transaction

SIZE = 10
CELL = 100.0
X0, Y0 = 500_000.0, 900_000.0
UTM = "EPSG:32618"


def code(row: int, col: int) -> str:
    return f"r{row}c{col}"


def cells() -> list[tuple[int, int]]:
    return [(row, col) for row in range(SIZE) for col in range(SIZE)]


def internet(row: int, col: int) -> float:
    return 10.0 if row < 5 and col < 5 else 0.0


def households(row: int, col: int) -> float:
    return float(row * SIZE + col + 1)


def persons(row: int, col: int) -> int:
    return 1 + (row + col) % 3


def blocks_utm() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [code(r, c) for r, c in cells()]},
        geometry=[
            shapely.box(X0 + c * CELL, Y0 + r * CELL, X0 + (c + 1) * CELL, Y0 + (r + 1) * CELL)
            for r, c in cells()
        ],
        crs=UTM,
    )


def build(url: str, folder: Path) -> str:
    """Create the city in a fresh database at ``url``; census files go to ``folder``."""
    engine = init_database(url)
    census = folder / "persons.parquet"
    pd.DataFrame(
        [
            {"person_id": f"{code(r, c)}-{i}", "unit_code": code(r, c), "nationality": "host"}
            for r, c in cells()
            for i in range(persons(r, c))
        ]
    ).to_parquet(census)
    blocks = blocks_utm().to_crs("EPSG:4326")
    with transaction(engine) as session:
        city = models.City(code="GRD", name="Grid town", is_synthetic=True)
        period = models.Period(code="2024", label="2024")
        session.add_all([city, period])
        session.flush()
        session.add(
            models.ImportBatch(
                kind="census_persons",
                file_name=census.name,
                sha256="0" * 64,
                city_id=city.id,
                period_id=period.id,
                details={"parquet": str(census)},
            )
        )
        barrio = models.UnitLevel(city_id=city.id, code="barrio", depth=0)
        manzana = models.UnitLevel(city_id=city.id, code="manzana", depth=1)
        session.add_all([barrio, manzana])
        session.flush()
        parents = {}
        for side, columns in (("W", range(0, 5)), ("E", range(5, 10))):
            mine = blocks[[int(c.split("c")[1]) in columns for c in blocks["code"]]]
            unit = models.SpatialUnit(
                city_id=city.id,
                level_id=barrio.id,
                code=side,
                geometry=shapely.to_wkb(shapely.union_all(mine.geometry.to_numpy())),
            )
            session.add(unit)
            session.flush()
            parents[side] = unit.id
        units = {}
        for name, geometry in zip(blocks["code"], blocks.geometry, strict=True):
            col = int(name.split("c")[1])
            unit = models.SpatialUnit(
                city_id=city.id,
                level_id=manzana.id,
                code=name,
                parent_id=parents["W" if col < 5 else "E"],
                geometry=shapely.to_wkb(geometry),
            )
            session.add(unit)
            session.flush()
            units[name] = unit.id
        indicators = {}
        for code_, unit in (
            ("internet", "%"),
            ("households", "hogares"),
            ("school_attendance_5_16", "%"),
        ):
            indicator = models.Indicator(code=code_, name_es=code_, name_en=code_, unit=unit)
            session.add(indicator)
            session.flush()
            indicators[code_] = indicator.id
        for r, c in cells():
            for name, value in (("internet", internet(r, c)), ("households", households(r, c))):
                session.add(
                    models.Observation(
                        indicator_id=indicators[name],
                        unit_id=units[code(r, c)],
                        period_id=period.id,
                        value=value,
                        status="computed",
                    )
                )
        for side, value in (("W", 90.0), ("E", 80.0)):
            session.add(
                models.Observation(
                    indicator_id=indicators["school_attendance_5_16"],
                    unit_id=parents[side],
                    period_id=period.id,
                    value=value,
                    status="computed",
                )
            )
    return url


def add_marker_run(url: str, spec_tree_code: str = "UIM") -> int:
    """A marker run whose index equals ``internet`` and whose area VIV equals ``households``."""
    engine = init_database(url)
    with transaction(engine) as session:
        city = session.query(models.City).filter_by(code="GRD").one()
        period = session.query(models.Period).filter_by(code="2024").one()
        level = session.query(models.UnitLevel).filter_by(city_id=city.id, code="manzana").one()
        run = models.MarkerRun(
            city_id=city.id,
            period_id=period.id,
            level_id=level.id,
            spec_code="uim-test",
            spec_hash="0" * 64,
            input_hash="0" * 64,
            software_version="0",
            parameters={"spec": {"code": "uim-test", "tree": {"code": spec_tree_code}}},
        )
        session.add(run)
        session.flush()
        units = dict(
            session.query(models.SpatialUnit.code, models.SpatialUnit.id).filter_by(
                level_id=level.id
            )
        )
        for r, c in cells():
            for node, value in ((spec_tree_code, internet(r, c)), ("VIV", households(r, c))):
                session.add(
                    models.MarkerScore(
                        run_id=run.id, unit_id=units[code(r, c)], node_code=node, score=value
                    )
                )
        return int(run.id)


def expected_core_moran() -> float:
    """Local Moran's I of a block inside the high corner whose 4 nearest neighbours are high.

    n = 100, 25 blocks of 10: mean 2.5, z = 7.5 (high) or -2.5 (low), Σz² = 25·56.25 +
    75·6.25 = 1875; Iᵢ = (n − 1)·zᵢ·lagᵢ / Σz² = 99 · 7.5 · 7.5 / 1875 = 2.97.
    """
    return 99 * 7.5 * 7.5 / 1875


CORE = [code(r, c) for r in range(1, 4) for c in range(1, 4)]
"""Blocks whose four nearest neighbours (at 100 m, none tied) are all in the high corner."""


def population_weighted(values: dict[str, float], members: list[str]) -> float:
    by_code = {code(r, c): persons(r, c) for r, c in cells()}
    weights = np.array([by_code[m] for m in members], dtype=float)
    return float(np.average([values[m] for m in members], weights=weights))
