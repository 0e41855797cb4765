"""The demo city's land: outline, river, hills, risk zones, blocks, barrios, localidades, streets.

Blocks are Voronoi cells of a radially warped, jittered grid (a regular damero in the centre,
irregular at the edge, denser and smaller in informal settlements) clipped to an irregular
outline minus the river channel. Barrios are spatial clusters of blocks and localidades
clusters of barrios, each kept on one bank of the river and repaired so that every unit is
one connected piece where the blocks allow it. Everything is vectorised: the large city has
tens of thousands of blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import Transformer
from scipy.cluster.vq import kmeans2
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely import affinity
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from inclusive_cities.demo.names import barrio_names, localidad_names
from inclusive_cities.demo.sizes import SizeSpec

CRS = "EPSG:32618"
CENTRE_LONLAT = (-72.5, 7.9)
MEAN_CELL_AREA_M2 = 13_000.0
PARK_TYPES = ("parque", "plaza", "zona_verde")
_WARP_PEAK = 2.0
_WARP_WIDTH = 0.3


@dataclass
class RiskZone:
    geometry: Polygon
    kind: str  # inundacion | remocion_masa
    mitigable: bool


@dataclass
class Geography:
    """Everything spatial about the city; block arrays share one index (sorted by code)."""

    centre: tuple[float, float]
    radius_m: float
    outline: Polygon
    river: shapely.Geometry
    channel: shapely.Geometry
    risk_zones: list[RiskZone]
    block_geoms: np.ndarray
    block_codes: list[str]
    block_x: np.ndarray
    block_y: np.ndarray
    block_area: np.ndarray
    r_rel: np.ndarray  # distance to centre relative to the outline's radius in that direction
    slope: np.ndarray  # 0 flat .. 1 steep hillside
    flood: np.ndarray  # 0 none, 1 mitigable, 2 non-mitigable
    landslide: np.ndarray  # 0 none, 1 mitigable, 2 non-mitigable
    informal: np.ndarray  # bool
    park: np.ndarray  # -1 none, else index into PARK_TYPES
    wedge: np.ndarray  # 0..1, closeness to the high-income corridor
    block_barrio: np.ndarray
    barrio_codes: list[str]
    barrio_names: list[str]
    barrio_geoms: np.ndarray
    barrio_localidad: np.ndarray
    localidad_codes: list[str]
    localidad_names: list[str]
    localidad_geoms: np.ndarray
    street_geoms: np.ndarray
    street_main: np.ndarray  # bool: segment separates two barrios (an avenue)
    park_names: list[str] = field(default_factory=list)


def utm_centre() -> tuple[float, float]:
    x, y = Transformer.from_crs("EPSG:4326", CRS, always_xy=True).transform(*CENTRE_LONLAT)
    return float(x), float(y)


def _outline_radius(theta: np.ndarray, amps: np.ndarray, phases: np.ndarray) -> np.ndarray:
    k = np.arange(2, 2 + len(amps))
    return 1.0 + (amps[:, None] * np.cos(k[:, None] * theta[None, :] + phases[:, None])).sum(0)


def _warp_table() -> tuple[np.ndarray, np.ndarray]:
    """|u| -> r for a radial map that makes points denser in the centre."""
    r = np.linspace(0.0, 2.5, 2001)
    mass = r**2 + _WARP_PEAK * _WARP_WIDTH**2 * (1 - np.exp(-((r / _WARP_WIDTH) ** 2)))
    return np.sqrt(mass / mass[r.searchsorted(1.0)]), r


def _density(r: np.ndarray) -> np.ndarray:
    return 1.0 + _WARP_PEAK * np.exp(-((r / _WARP_WIDTH) ** 2))


def _seed_points(
    spec: SizeSpec,
    rng: np.random.Generator,
    amps: np.ndarray,
    phases: np.ndarray,
    informal_centres: np.ndarray,
    informal_radii: np.ndarray,
) -> np.ndarray:
    """Generator points in normalised coordinates (the outline has mean radius about 1)."""
    h = np.sqrt(np.pi / spec.blocks)
    u_tab, r_tab = _warp_table()
    ticks = np.arange(-1.6, 1.6 + h, h)
    gx, gy = np.meshgrid(ticks, ticks)
    angle = rng.uniform(0, np.pi / 2)
    ux = gx.ravel() * np.cos(angle) - gy.ravel() * np.sin(angle)
    uy = gx.ravel() * np.sin(angle) + gy.ravel() * np.cos(angle)
    u = np.hypot(ux, uy)
    r = np.interp(u, u_tab, r_tab)
    theta = np.arctan2(uy, ux) + 0.10 * np.sin(3.0 * r + rng.uniform(0, 2 * np.pi))
    spacing = h / np.sqrt(_density(r))
    jitter = spacing * (0.05 + 0.3 * np.clip(r, 0, 1.2) ** 1.5)
    px = r * np.cos(theta) + rng.normal(0, 1, r.size) * jitter
    py = r * np.sin(theta) + rng.normal(0, 1, r.size) * jitter
    extra = []
    for (cx, cy), radius in zip(informal_centres, informal_radii, strict=True):
        local = h / np.sqrt(_density(np.hypot(cx, cy)))
        count = int(3.0 * radius**2 / local**2) + 1
        rho = radius * np.sqrt(rng.uniform(0, 1, count))
        phi = rng.uniform(0, 2 * np.pi, count)
        extra.append(np.column_stack([cx + rho * np.cos(phi), cy + rho * np.sin(phi)]))
    points = np.vstack([np.column_stack([px, py]), *extra])
    limit = _outline_radius(np.arctan2(points[:, 1], points[:, 0]), amps, phases) + 2.5 * h
    return points[np.hypot(points[:, 0], points[:, 1]) < limit]


def _river_offset(t: np.ndarray, params: dict[str, float]) -> np.ndarray:
    return (
        params["d"]
        + params["a1"] * np.sin(2 * np.pi * t / params["l1"] + params["p1"])
        + params["a2"] * np.sin(2 * np.pi * t / params["l2"] + params["p2"])
    )


def _strip(t0: float, t1: float, along: np.ndarray, across: np.ndarray) -> Polygon:
    corners = [
        t0 * along - 3 * across,
        t1 * along - 3 * across,
        t1 * along + 3 * across,
        t0 * along + 3 * across,
    ]
    return Polygon(corners)


def _fix_fragments(labels: np.ndarray, a: np.ndarray, b: np.ndarray, rounds: int = 6) -> None:
    """Give blocks cut off from the main piece of their cluster to a neighbouring cluster."""
    n = labels.size
    for _ in range(rounds):
        same = labels[a] == labels[b]
        graph = coo_matrix((np.ones(same.sum()), (a[same], b[same])), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        comp_size = np.bincount(comp)
        order = np.lexsort((-comp_size[comp], labels))
        main = np.full(labels.max() + 1, -1)
        first = np.ones(n, dtype=bool)
        first[1:] = labels[order][1:] != labels[order][:-1]
        main[labels[order][first]] = comp[order][first]
        stray = comp != main[labels]
        if not stray.any():
            return
        changed = False
        for node in np.flatnonzero(stray):
            neighbours = np.concatenate([b[a == node], a[b == node]])
            others = labels[neighbours][labels[neighbours] != labels[node]]
            if others.size:
                labels[node] = np.bincount(others).argmax()
                changed = True
        if not changed:
            return


def _relabel_dense(labels: np.ndarray) -> np.ndarray:
    return np.unique(labels, return_inverse=True)[1]


def _cluster(
    xy: np.ndarray, side: np.ndarray, per_cluster: int, rng: np.random.Generator
) -> np.ndarray:
    """k-means on each river bank separately, so no cluster straddles the river."""
    labels = np.zeros(len(xy), dtype=np.int64)
    offset = 0
    for bank in (-1, 1):
        idx = np.flatnonzero(side == bank)
        if idx.size == 0:
            continue
        k = max(1, round(idx.size / per_cluster))
        if k == 1:
            labels[idx] = offset
        else:
            _, lab = kmeans2(xy[idx], k, minit="points", seed=rng)
            labels[idx] = offset + _relabel_dense(lab)
        offset = labels[idx].max() + 1
    return labels


def _edges(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shared block edges: segment coordinates (x0, y0, x1, y1) and the two blocks of each."""
    coords, owner = shapely.get_coordinates(shapely.get_exterior_ring(geoms), return_index=True)
    keep = owner[:-1] == owner[1:]
    start, end, who = coords[:-1][keep], coords[1:][keep], owner[:-1][keep]
    key_a = np.round(start * 100).astype(np.int64)
    key_b = np.round(end * 100).astype(np.int64)
    same_x = key_a[:, 0] == key_b[:, 0]
    swap = (key_a[:, 0] > key_b[:, 0]) | (same_x & (key_a[:, 1] > key_b[:, 1]))
    lo = np.where(swap[:, None], key_b, key_a)
    hi = np.where(swap[:, None], key_a, key_b)
    keys = np.hstack([lo, hi])
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    shared = counts[inverse] == 2
    order = np.argsort(inverse[shared], kind="stable")
    seg_owner = who[shared][order]
    seg_keys = keys[shared][order]
    first, second = seg_owner[0::2], seg_owner[1::2]
    segments = seg_keys[0::2].astype(np.float64) / 100.0
    return segments, first, second


def build_geography(spec: SizeSpec, rng: np.random.Generator) -> Geography:
    """Lay out the whole city for one size; deterministic for the generator's state."""
    cx, cy = utm_centre()
    amps = rng.uniform(0.03, 0.09, 4) / np.sqrt(np.arange(1, 5))
    phases = rng.uniform(0, 2 * np.pi, 4)

    # River: roughly north-south, passing beside (not through) the centre.
    alpha = rng.uniform(np.radians(65), np.radians(115))
    along = np.array([np.cos(alpha), np.sin(alpha)])
    across = np.array([-along[1], along[0]])
    river_side_of_centre = rng.choice([-1.0, 1.0])
    params = {
        "d": river_side_of_centre * rng.uniform(0.17, 0.27),
        "a1": 0.05,
        "l1": 0.75,
        "p1": rng.uniform(0, 2 * np.pi),
        "a2": 0.018,
        "l2": 0.23,
        "p2": rng.uniform(0, 2 * np.pi),
    }
    # Hills rise on the side of the city away from the river.
    hill_dir = -river_side_of_centre * across

    # Informal settlements: on the hills, by the river at the edge, elsewhere on the periphery.
    theta_hill = np.arctan2(hill_dir[1], hill_dir[0])
    centres, radii = [], []
    for j in range(spec.informal_settlements):
        if j == 0:
            theta = theta_hill + rng.uniform(-0.5, 0.5)
        elif j == 1:
            theta = np.arctan2(*(along * rng.choice([-1, 1]) + across * params["d"])[::-1])
        else:
            theta = rng.uniform(0, 2 * np.pi)
        rad = _outline_radius(np.array([theta]), amps, phases)[0] * rng.uniform(0.78, 0.88)
        centres.append([rad * np.cos(theta), rad * np.sin(theta)])
        # About 25-70 blocks' worth of land (more in a bigger city), before densification.
        blocks_covered = rng.uniform(25, 70) * (spec.blocks / 4_500) ** 0.3
        radii.append(float(np.clip(np.sqrt(blocks_covered / spec.blocks), 0.03, 0.3)))
    informal_centres = np.array(centres).reshape(-1, 2)
    informal_radii = np.array(radii)

    points = _seed_points(spec, rng, amps, phases, informal_centres, informal_radii)
    theta_ring = np.linspace(0, 2 * np.pi, 361)[:-1]
    ring_r = _outline_radius(theta_ring, amps, phases)
    outline_norm = Polygon(
        np.column_stack([ring_r * np.cos(theta_ring), ring_r * np.sin(theta_ring)])
    )
    radius_m = float(np.sqrt(spec.blocks * MEAN_CELL_AREA_M2 / outline_norm.area))

    def to_m(geom: shapely.Geometry) -> shapely.Geometry:
        return affinity.affine_transform(geom, [radius_m, 0, 0, radius_m, cx, cy])

    outline = to_m(outline_norm)
    t = np.linspace(-2.0, 2.0, 1601)
    offs = _river_offset(t, params)
    river_pts = t[:, None] * along + offs[:, None] * across
    river_full = to_m(LineString(river_pts))
    half_width = float(np.clip(0.005 * radius_m, 12.0, 60.0))
    channel = river_full.buffer(half_width, quad_segs=4)
    river = shapely.intersection(river_full, outline.buffer(0.12 * radius_m))

    zones = _risk_zones(
        rng, radius_m, along, across, hill_dir, amps, phases, river_full, channel, outline, to_m
    )

    # Blocks.
    pts_m = points * radius_m + np.array([cx, cy])
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            MultiPoint(pts_m), extend_to=outline.buffer(radius_m), ordered=True
        )
    )
    land = outline.difference(channel)
    shapely.prepare(land)
    inside = shapely.within(cells, land)
    clipped = cells.copy()
    clipped[~inside] = shapely.intersection(cells[~inside], land)
    clipped = shapely.set_precision(clipped, 0.01)
    blocks = shapely.get_parts(clipped[~shapely.is_empty(clipped)])
    blocks = blocks[shapely.get_type_id(blocks) == 3]
    blocks = blocks[shapely.area(blocks) > 0.03 * MEAN_CELL_AREA_M2]

    cent = shapely.get_coordinates(shapely.centroid(blocks))
    p = (cent - np.array([cx, cy])) / radius_m
    r = np.hypot(p[:, 0], p[:, 1])
    r_rel = r / _outline_radius(np.arctan2(p[:, 1], p[:, 0]), amps, phases)
    q = p @ hill_dir
    slope = np.clip((q - 0.45) / 0.5, 0, 1)
    side = np.where(p @ across - _river_offset(p @ along, params) > 0, 1, -1)
    flood = _zone_level(zones, "inundacion", cent)
    landslide = _zone_level(zones, "remocion_masa", cent)
    noise = rng.random(len(blocks))
    in_settlement = np.zeros(len(blocks), dtype=bool)
    for (sx, sy), radius in zip(informal_centres, informal_radii, strict=True):
        in_settlement |= np.hypot(p[:, 0] - sx, p[:, 1] - sy) < radius
    informal = (
        in_settlement
        | ((slope > 0.5) & (r_rel > 0.72) & (noise < 0.55))
        | ((flood == 2) & (r_rel > 0.55) & (noise < 0.6))
    )
    wedge_angle = np.arctan2(-hill_dir[1], -hill_dir[0]) + rng.choice([-1, 1]) * np.pi / 2
    dtheta = np.angle(np.exp(1j * (np.arctan2(p[:, 1], p[:, 0]) - wedge_angle)))
    on_centre_bank = side == -river_side_of_centre
    wedge = np.exp(-((dtheta / 0.45) ** 2)) * np.clip(r / 0.15, 0, 1) * on_centre_bank

    segments, seg_a, seg_b = _edges(blocks)

    block_barrio = _cluster(p, side, spec.blocks_per_barrio, rng)
    _fix_fragments(block_barrio, seg_a, seg_b)
    block_barrio = _relabel_dense(block_barrio)
    n_barrios = int(block_barrio.max()) + 1
    area = shapely.area(blocks)
    weights = np.bincount(block_barrio, weights=area)
    bxy = np.column_stack(
        [
            np.bincount(block_barrio, weights=p[:, 0] * area) / weights,
            np.bincount(block_barrio, weights=p[:, 1] * area) / weights,
        ]
    )
    barrio_side = np.sign(np.bincount(block_barrio, weights=side)).astype(int)
    barrio_side[barrio_side == 0] = 1
    barrio_loc = _cluster(bxy, barrio_side, spec.barrios_per_localidad, rng)
    ba, bb = block_barrio[seg_a], block_barrio[seg_b]
    cross = ba != bb
    _fix_fragments(barrio_loc, ba[cross], bb[cross])
    barrio_loc = _relabel_dense(barrio_loc)

    # Codes: localidades by distance to the centre, barrios likewise, blocks row by row.
    n_loc = int(barrio_loc.max()) + 1
    loc_dist = np.array([np.hypot(*bxy[barrio_loc == k].mean(0)) for k in range(n_loc)])
    loc_rank = np.empty(n_loc, dtype=np.int64)
    loc_rank[np.argsort(loc_dist, kind="stable")] = np.arange(n_loc)
    barrio_order = np.lexsort((np.hypot(bxy[:, 0], bxy[:, 1]), loc_rank[barrio_loc]))
    barrio_rank = np.empty(n_barrios, dtype=np.int64)
    barrio_rank[barrio_order] = np.arange(n_barrios)
    row = np.floor(-cent[:, 1] / 120.0)
    block_order = np.lexsort((cent[:, 0], row, barrio_rank[block_barrio]))

    # Apply the order to every block array.
    blocks, cent, area = blocks[block_order], cent[block_order], area[block_order]
    r_rel, slope, r = r_rel[block_order], slope[block_order], r[block_order]
    flood, landslide = flood[block_order], landslide[block_order]
    informal, wedge = informal[block_order], wedge[block_order]
    new_index = np.empty(len(block_order), dtype=np.int64)
    new_index[block_order] = np.arange(len(block_order))
    seg_a, seg_b = new_index[seg_a], new_index[seg_b]
    block_barrio = barrio_rank[block_barrio[block_order]]
    barrio_loc_sorted = loc_rank[barrio_loc[barrio_order]]

    loc_codes = [f"{k + 1:02d}" for k in range(n_loc)]
    barrio_codes = []
    seen_in_loc = np.zeros(n_loc, dtype=np.int64)
    for loc in barrio_loc_sorted:
        seen_in_loc[loc] += 1
        barrio_codes.append(f"{loc_codes[loc]}{seen_in_loc[loc]:03d}")
    block_codes = []
    seen_in_barrio = np.zeros(n_barrios, dtype=np.int64)
    for barrio in block_barrio:
        seen_in_barrio[barrio] += 1
        block_codes.append(f"{barrio_codes[barrio]}{seen_in_barrio[barrio]:04d}")

    informal_share = np.bincount(block_barrio, weights=informal.astype(float)) / np.bincount(
        block_barrio
    )
    barrio_informal = informal_share > 0.5
    b_names = barrio_names(barrio_informal, rng)
    barrio_geoms = np.array([_merge(blocks[block_barrio == k]) for k in range(n_barrios)])
    loc_geoms = np.array([_merge(barrio_geoms[barrio_loc_sorted == k]) for k in range(n_loc)])

    park, park_names = _parks(rng, r, area, informal, flood, slope, b_names, block_barrio)
    bridges = _bridges(segments, river, radius_m, (cx, cy), along, across, params)
    street_geoms = np.concatenate([shapely.linestrings(segments.reshape(-1, 2, 2)), bridges])
    street_main = np.concatenate(
        [block_barrio[seg_a] != block_barrio[seg_b], np.ones(bridges.size, dtype=bool)]
    )
    return Geography(
        centre=(cx, cy),
        radius_m=radius_m,
        outline=outline,
        river=river,
        channel=channel,
        risk_zones=zones,
        block_geoms=blocks,
        block_codes=block_codes,
        block_x=cent[:, 0],
        block_y=cent[:, 1],
        block_area=area,
        r_rel=r_rel,
        slope=slope,
        flood=flood,
        landslide=landslide,
        informal=informal,
        park=park,
        wedge=wedge,
        block_barrio=block_barrio,
        barrio_codes=barrio_codes,
        barrio_names=b_names,
        barrio_geoms=barrio_geoms,
        barrio_localidad=barrio_loc_sorted,
        localidad_codes=loc_codes,
        localidad_names=localidad_names(n_loc),
        localidad_geoms=loc_geoms,
        street_geoms=street_geoms,
        street_main=street_main,
        park_names=park_names,
    )


def _merge(parts: np.ndarray) -> shapely.Geometry:
    """Union of units that share edges exactly (a coverage), with a general union as fallback."""
    merged = shapely.coverage_union_all(parts)
    return merged if shapely.is_valid(merged) else shapely.union_all(parts)


def _bridges(
    segments: np.ndarray,
    river: shapely.Geometry,
    radius_m: float,
    centre: tuple[float, float],
    along: np.ndarray,
    across: np.ndarray,
    params: dict[str, float],
) -> np.ndarray:
    """Streets across the river about every 900 m, joining the nearest corners on each bank."""
    nodes = np.unique(segments.reshape(-1, 2), axis=0)
    p = (nodes - np.array(centre)) / radius_m
    side = p @ across - _river_offset(p @ along, params) > 0
    trees = {bank: cKDTree(nodes[side == bank]) for bank in (False, True) if (side == bank).any()}
    if len(trees) < 2:
        return np.array([], dtype=object)
    length = shapely.length(river)
    bridges = []
    for distance in np.arange(0.5 * 900.0, length, 900.0):
        point = shapely.get_coordinates(shapely.line_interpolate_point(river, distance))[0]
        ends = [trees[bank].data[trees[bank].query(point)[1]] for bank in (False, True)]
        gap = float(np.hypot(*(ends[0] - ends[1])))
        if gap < 0.05 * radius_m + 400.0:
            bridges.append(shapely.linestrings(np.array(ends)))
    return np.array(bridges, dtype=object)


def _zone_level(zones: list[RiskZone], kind: str, xy: np.ndarray) -> np.ndarray:
    """0 outside zones of this kind, 1 in a mitigable one, 2 in a non-mitigable one."""
    level = np.zeros(len(xy), dtype=np.int8)
    for zone in zones:
        if zone.kind != kind:
            continue
        inside = shapely.contains_xy(zone.geometry, xy[:, 0], xy[:, 1])
        level = np.maximum(level, np.where(inside, 1 if zone.mitigable else 2, 0).astype(np.int8))
    return level


def _risk_zones(
    rng: np.random.Generator,
    radius_m: float,
    along: np.ndarray,
    across: np.ndarray,
    hill_dir: np.ndarray,
    amps: np.ndarray,
    phases: np.ndarray,
    river_full: shapely.Geometry,
    channel: shapely.Geometry,
    outline: Polygon,
    to_m: Callable[[shapely.Geometry], shapely.Geometry],
) -> list[RiskZone]:
    zones: list[RiskZone] = []
    narrow = float(np.clip(0.035 * radius_m, 50.0, 400.0))
    narrow_buffer = river_full.buffer(narrow, quad_segs=4)
    wide_buffer = river_full.buffer(2.3 * narrow, quad_segs=4)
    step = 0.25
    for t0 in np.arange(-1.5, 1.5, step):
        strip = to_m(_strip(t0, t0 + step, along, across))
        band = wide_buffer if rng.random() < 0.35 else narrow_buffer
        wet = shapely.difference(shapely.intersection(band, strip), channel)
        area = shapely.intersection(wet, outline)
        mitigable = bool(rng.random() < 0.55)
        for piece in shapely.get_parts(area):
            if shapely.get_type_id(piece) == 3 and piece.area > 2_000:
                zones.append(RiskZone(piece, "inundacion", mitigable))
    flood_union = shapely.union_all([z.geometry for z in zones]) if zones else Polygon()
    blobs = []
    for _ in range(3 + int(rng.integers(0, 4))):
        for _attempt in range(20):
            lateral = rng.uniform(-0.75, 0.75)
            depth = rng.uniform(0.55, 1.0)
            centre = depth * hill_dir + lateral * np.array([-hill_dir[1], hill_dir[0]])
            limit = _outline_radius(np.array([np.arctan2(centre[1], centre[0])]), amps, phases)[0]
            if np.hypot(*centre) < 0.97 * limit:
                break
        ellipse = affinity.rotate(
            affinity.scale(
                Point(centre).buffer(1.0, quad_segs=8),
                rng.uniform(0.05, 0.11),
                rng.uniform(0.03, 0.07),
            ),
            rng.uniform(0, 180),
        )
        blobs.append(to_m(ellipse))
    hills = shapely.difference(shapely.intersection(shapely.union_all(blobs), outline), flood_union)
    hills = shapely.difference(hills, channel)
    for piece in shapely.get_parts(hills):
        if shapely.get_type_id(piece) == 3 and piece.area > 2_000:
            zones.append(RiskZone(piece, "remocion_masa", bool(rng.random() < 0.4)))
    return zones


def _parks(
    rng: np.random.Generator,
    r: np.ndarray,
    area: np.ndarray,
    informal: np.ndarray,
    flood: np.ndarray,
    slope: np.ndarray,
    b_names: list[str],
    block_barrio: np.ndarray,
) -> tuple[np.ndarray, list[str]]:
    """Which blocks are public space: parks and plazas mostly central, green strips by the river."""
    n = len(r)
    centrality = np.exp(-((r / 0.35) ** 2))
    park = np.full(n, -1, dtype=np.int8)
    u = rng.random(n)
    p_park = (0.025 + 0.07 * centrality) * np.where(informal, 0.25, 1.0)
    park[u < p_park] = 0
    small = area < np.median(area)
    park[(r < 0.3) & small & (rng.random(n) < 0.06) & ~informal] = 1
    park[(flood > 0) & ~informal & (rng.random(n) < 0.18) & (slope < 0.5)] = 2
    park[int(np.argmin(r))] = 1  # the main square, in the middle of the centre
    names = []
    labels = {0: "Parque", 1: "Plaza", 2: "Zona Verde"}
    seen: dict[str, int] = {}
    main_square = int(np.argmin(r))
    for index in np.flatnonzero(park >= 0):
        if index == main_square:
            names.append("Plaza Principal")
            continue
        base = f"{labels[int(park[index])]} {b_names[block_barrio[index]]}"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base} {seen[base]}")
    return park, names
