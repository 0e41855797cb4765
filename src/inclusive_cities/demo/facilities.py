"""Facilities of the demo city: placed unevenly, so the centre is better served than the edge."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from inclusive_cities.demo.geography import CRS, Geography

# type -> (persons per facility, minimum count, centre pull, capacity range or None, label)
FACILITY_TYPES: dict[str, tuple[int, int, float, tuple[int, int] | None, str]] = {
    "centro_salud": (15_000, 2, 1.0, (20, 120), "Centro de Salud"),
    "hospital": (120_000, 1, 3.0, (80, 450), "Hospital"),
    "colegio": (2_500, 4, 0.6, (250, 2_200), "Colegio"),
    "biblioteca": (60_000, 1, 2.5, (40, 400), "Biblioteca"),
    "centro_cultural": (70_000, 1, 3.0, (100, 600), "Centro Cultural"),
    "paradero": (700, 10, 1.0, None, "Paradero"),
    "comercio": (250, 20, 2.0, None, "Comercio"),
    "centro_integracion": (200_000, 1, 1.0, (30, 200), "Centro de Integración"),
    "servicio_empleo": (150_000, 1, 2.5, (20, 150), "Servicio de Empleo"),
}


@dataclass
class Facilities:
    table: pd.DataFrame
    counts: dict[str, int]


def _points_in_blocks(geo: Geography, blocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random point inside each given block (between its centroid and a vertex, else inside)."""
    geoms = geo.block_geoms[blocks]
    coords, owner = shapely.get_coordinates(shapely.get_exterior_ring(geoms), return_index=True)
    first = np.searchsorted(owner, np.arange(len(blocks)))
    last = np.searchsorted(owner, np.arange(len(blocks)), side="right") - 1
    pick = first + np.floor(rng.random(len(blocks)) * (last - first)).astype(np.int64)
    centre = np.column_stack([geo.block_x[blocks], geo.block_y[blocks]])
    t = rng.uniform(0.1, 0.8, len(blocks))[:, None]
    xy = centre + t * (coords[pick] - centre)
    outside = ~shapely.contains_xy(geoms, xy[:, 0], xy[:, 1])
    if outside.any():
        xy[outside] = shapely.get_coordinates(shapely.point_on_surface(geoms[outside]))
    return xy


def place_facilities(
    geo: Geography,
    persons_per_block: np.ndarray,
    venezuelans_share: np.ndarray,
    rng: np.random.Generator,
) -> Facilities:
    """Facilities per type, in blocks weighted by people, centrality and (for some) need."""
    total = int(persons_per_block.sum())
    px = (geo.block_x - geo.centre[0]) / geo.radius_m
    py = (geo.block_y - geo.centre[1]) / geo.radius_m
    centrality = np.exp(-((np.hypot(px, py) / 0.35) ** 2))
    usable = geo.park < 0
    base = (persons_per_block + persons_per_block.mean() * 0.3) * usable
    to_wgs = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    frames = []
    counts: dict[str, int] = {}
    for kind, (per, minimum, pull, capacity, label) in FACILITY_TYPES.items():
        count = max(minimum, round(total / per))
        weight = base * (1 + 4 * centrality) ** pull * np.where(geo.informal, 0.35, 1.0)
        if kind == "centro_integracion":
            weight = base * venezuelans_share * (1 + 2 * centrality)
        weight = np.where(weight > 0, weight, 0)
        if weight.sum() <= 0:
            weight = usable.astype(float)
        blocks = rng.choice(len(weight), size=count, p=weight / weight.sum())
        xy = _points_in_blocks(geo, blocks, rng)
        lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
        cap = (
            rng.integers(capacity[0], capacity[1] + 1, count).astype(float)
            if capacity
            else np.full(count, np.nan)
        )
        barrio = np.array(geo.barrio_names, dtype=object)[geo.block_barrio[blocks]]
        frames.append(
            pd.DataFrame(
                {
                    "nombre": [f"{label} {name} {i + 1}" for i, name in enumerate(barrio)],
                    "tipo": kind,
                    "lat": np.round(lat, 6),
                    "lon": np.round(lon, 6),
                    "capacidad": pd.array(cap, dtype="Int64"),
                }
            )
        )
        counts[kind] = count
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "id", [f"F{i + 1:06d}" for i in range(len(table))])
    return Facilities(table, counts)
