"""Boundaries nest, tile and do not overlap; river, hills and streets are where they belong."""

from __future__ import annotations

import numpy as np
import pyogrio
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from inclusive_cities.demo import GeneratedCity

LEVEL_DIGITS = {"localidad": 2, "barrio": 5, "manzana": 9}


def test_codes_are_digit_text_of_the_level_width(boundaries: dict) -> None:
    for layer, frame in boundaries.items():
        codes = frame["codigo"]
        assert codes.is_unique, layer
        assert codes.str.fullmatch(rf"\d{{{LEVEL_DIGITS[layer]}}}").all(), layer
    assert boundaries["localidad"]["codigo"].str.startswith("0").any()


def test_every_unit_has_its_parent_and_its_code_starts_with_it(boundaries: dict) -> None:
    assert (boundaries["localidad"]["codigo_padre"].fillna("") == "").all()
    for child, parent in (("barrio", "localidad"), ("manzana", "barrio")):
        frame = boundaries[child]
        parents = set(boundaries[parent]["codigo"])
        assert frame["codigo_padre"].isin(parents).all(), child
        assert (frame.apply(lambda row: row.codigo.startswith(row.codigo_padre), axis=1)).all()
        # Every parent has at least one child.
        assert set(frame["codigo_padre"]) == parents, child


def test_counts_match_the_generated_city(boundaries: dict, small_city: GeneratedCity) -> None:
    assert len(boundaries["localidad"]) == small_city.localidades
    assert len(boundaries["barrio"]) == small_city.barrios
    assert len(boundaries["manzana"]) == small_city.blocks
    assert set(boundaries["manzana"]["codigo"]) == set(small_city.persons_by_block)
    assert small_city.localidades >= 2 and small_city.barrios > small_city.localidades


def test_geometries_are_valid_and_non_empty(boundaries: dict) -> None:
    for layer, frame in boundaries.items():
        assert shapely.is_valid(frame.geometry.values).all(), layer
        assert (~frame.geometry.is_empty).all(), layer
        assert (frame.geometry.area > 0).all(), layer


def test_units_of_a_level_do_not_overlap(boundaries: dict) -> None:
    for layer, frame in boundaries.items():
        union = shapely.union_all(frame.geometry.values)
        assert frame.geometry.area.sum() == _approx(union.area), layer


def test_blocks_tile_their_barrio_and_barrios_their_localidad(boundaries: dict) -> None:
    for child, parent in (("manzana", "barrio"), ("barrio", "localidad")):
        children = boundaries[child]
        parents = boundaries[parent].set_index("codigo")
        sums = children.geometry.area.groupby(children["codigo_padre"]).sum()
        for code, area in sums.items():
            shape = parents.geometry[code]
            assert area == _approx(shape.area), (child, code)
            pieces = shapely.union_all(children.geometry[children["codigo_padre"] == code].values)
            assert shapely.symmetric_difference(pieces, shape).area < 1e-6 * shape.area


def test_neighbouring_blocks_share_parents_so_units_are_one_piece(boundaries: dict) -> None:
    for layer in ("barrio", "localidad"):
        parts = shapely.get_num_geometries(boundaries[layer].geometry.values)
        assert (parts == 1).all(), layer


def test_the_centre_has_smaller_blocks_than_the_formal_edge(boundaries: dict) -> None:
    blocks = boundaries["manzana"]
    barrios = boundaries["barrio"]
    settlements = barrios.loc[barrios["nombre"].str.startswith("Asentamiento"), "codigo"]
    formal = ~blocks["codigo_padre"].isin(set(settlements))
    centre = shapely.union_all(blocks.geometry.values).centroid
    distance = blocks.geometry.centroid.distance(centre)
    inner = blocks.geometry.area[distance < distance.quantile(0.15)].median()
    outer = blocks.geometry.area[(distance > distance.quantile(0.75)) & formal].median()
    assert inner < 0.8 * outer


def test_river_crosses_the_city_between_blocks(small_city: GeneratedCity, boundaries: dict) -> None:
    river = pyogrio.read_dataframe(small_city.files["environment"], layer="rio").geometry[0]
    city = shapely.union_all(boundaries["localidad"].geometry.values)
    hull = city.convex_hull
    inside = shapely.intersection(river, hull).length
    # It runs right across the city, not along a corner of it.
    span = np.sqrt(hull.area)
    assert inside > 0.8 * span
    # No block lies on the river itself.
    assert not shapely.intersects(boundaries["manzana"].geometry.values, river).any()


def test_risk_zones_follow_the_river_and_the_hills(small_city: GeneratedCity) -> None:
    path = small_city.files["environment"]
    river = pyogrio.read_dataframe(path, layer="rio").geometry[0]
    zones = pyogrio.read_dataframe(path, layer="zonas_riesgo")
    flood = zones[zones["tipo"] == "inundacion"]
    slides = zones[zones["tipo"] == "remocion_masa"]
    assert len(flood) > 0 and len(slides) > 0
    assert (flood.geometry.distance(river) < 50).all()
    assert (slides.geometry.distance(river) > flood.geometry.distance(river).max()).all()
    assert shapely.is_valid(zones.geometry.values).all()
    assert zones.geometry.area.sum() == _approx(shapely.union_all(zones.geometry.values).area)


def test_streets_are_block_edges_meeting_at_intersections(
    small_city: GeneratedCity, boundaries: dict
) -> None:
    streets = pyogrio.read_dataframe(small_city.files["environment"], layer="vias")
    ends = shapely.get_coordinates(streets.geometry.values).round(2)
    _, degree = np.unique(ends, axis=0, return_counts=True)
    assert (degree >= 3).sum() > len(boundaries["manzana"]) / 2  # many real intersections
    river = pyogrio.read_dataframe(small_city.files["environment"], layer="rio").geometry[0]
    on_land = streets.geometry[~shapely.intersects(streets.geometry.values, river)]
    edges = shapely.union_all(shapely.boundary(boundaries["manzana"].geometry.values))
    assert shapely.intersection(shapely.union_all(on_land.values), edges).length == (
        _approx(on_land.length.sum())
    )


def test_parks_are_blocks_more_often_in_the_centre(
    small_city: GeneratedCity, boundaries: dict
) -> None:
    public = pyogrio.read_dataframe(small_city.files["environment"], layer="espacio_publico")
    blocks = boundaries["manzana"]
    centre = shapely.union_all(blocks.geometry.values).centroid
    distance = blocks.geometry.centroid.distance(centre)
    is_park = shapely.contains(
        shapely.union_all(public.geometry.values), blocks.geometry.representative_point().values
    )
    inner = distance < distance.quantile(0.3)
    assert is_park[inner].mean() > is_park[~inner].mean()
    # Nobody lives in a park.
    park_codes = blocks["codigo"][is_park]
    assert all(small_city.persons_by_block[code] == 0 for code in park_codes)


def _approx(value: float) -> object:
    import pytest

    return pytest.approx(value, rel=1e-6)


def test_bridges_join_the_banks_into_one_street_network(small_city: GeneratedCity) -> None:
    path = small_city.files["environment"]
    streets = pyogrio.read_dataframe(path, layer="vias")
    river = pyogrio.read_dataframe(path, layer="rio").geometry[0]
    crossing = shapely.intersects(streets.geometry.values, river)
    assert crossing.sum() >= 2
    assert (streets["tipo"][crossing] == "principal").all()
    ends = shapely.get_coordinates(streets.geometry.values).round(2)
    nodes, index = np.unique(ends, axis=0, return_inverse=True)
    index = index.ravel()
    graph = coo_matrix(
        (np.ones(len(streets)), (index[0::2], index[1::2])), shape=(len(nodes), len(nodes))
    )
    _, component = connected_components(graph, directed=False)
    assert np.bincount(component).max() > 0.99 * len(nodes)
