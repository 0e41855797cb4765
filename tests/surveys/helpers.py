"""A tiny demo-city boundaries GeoPackage built in code (2 localidades × 2 barrios × 4 blocks)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import box

ORIGIN_X, ORIGIN_Y = 700000.0, 873000.0  # UTM 18N, near 7.9°N 72.5°W
BLOCK = 100.0


def tiny_boundaries(path: Path) -> Path:
    localidades, barrios, manzanas = [], [], []
    for li in range(2):
        loc = f"{li + 1:02d}"
        x0 = ORIGIN_X + li * 4 * BLOCK
        localidades.append(
            {
                "codigo": loc,
                "nombre": f"Localidad {loc}",
                "codigo_padre": "",
                "geometry": box(x0, ORIGIN_Y, x0 + 4 * BLOCK, ORIGIN_Y + 2 * BLOCK),
            }
        )
        for bi in range(2):
            bar = f"{loc}{bi + 1:03d}"
            bx = x0 + bi * 2 * BLOCK
            barrios.append(
                {
                    "codigo": bar,
                    "nombre": f"Barrio {bar}",
                    "codigo_padre": loc,
                    "geometry": box(bx, ORIGIN_Y, bx + 2 * BLOCK, ORIGIN_Y + 2 * BLOCK),
                }
            )
            for mi in range(4):
                mx, my = bx + (mi % 2) * BLOCK, ORIGIN_Y + (mi // 2) * BLOCK
                manzanas.append(
                    {
                        "codigo": f"{bar}{mi + 1:04d}",
                        "nombre": "",
                        "codigo_padre": bar,
                        "geometry": box(mx, my, mx + BLOCK, my + BLOCK),
                    }
                )
    for layer, rows in (("localidad", localidades), ("barrio", barrios), ("manzana", manzanas)):
        gpd.GeoDataFrame(rows, crs="EPSG:32618").to_file(path, layer=layer, driver="GPKG")
    return path


def tiny_store(url: str, boundaries: Path):
    """An observatory with the tiny city's three levels, written through the models."""
    from inclusive_cities.store import init_database, models, transaction

    engine = init_database(url)
    with transaction(engine) as session:
        city = models.City(
            code="DEMO", name="Ciudad Demo (sintética)", country="COL", is_synthetic=True
        )
        session.add(city)
        session.flush()
        parents: dict[str, int] = {}
        for depth, layer in enumerate(("localidad", "barrio", "manzana")):
            level = models.UnitLevel(city_id=city.id, code=layer, depth=depth)
            session.add(level)
            session.flush()
            frame = gpd.read_file(boundaries, layer=layer)
            wgs84 = frame.geometry.to_crs(4326)
            for row in frame.itertuples():
                unit = models.SpatialUnit(
                    city_id=city.id,
                    level_id=level.id,
                    code=row.codigo,
                    name=row.nombre,
                    parent_id=parents.get(row.codigo_padre),
                    geometry=shapely.to_wkb(wgs84.iloc[row.Index]),
                )
                session.add(unit)
                session.flush()
                parents[row.codigo] = unit.id
    return engine


def run(*argv: str) -> int:
    """The CLI in-process; its exit code (0 when it returns)."""
    from inclusive_cities.cli import main

    try:
        main(list(argv))
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0
