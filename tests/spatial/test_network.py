"""Street networks read from OSM extracts (.osm XML, .osm.pbf) and line files, measured by hand.

The grid below is written in UTM 18N metres (EPSG:32618) and stored in the OSM file as
latitude/longitude with OSM's 7 decimals (about 1 cm), so expected distances are whole
blocks of 100 m, counted by hand along the streets.

    y=200  N02 ---- N12 ---- N22 ---- N32        row ways run through every node, so the
            |                 ‖        |         junctions N10, N11, N21 … are OSM nodes
    y=100  N01 ---- N11 ---- N21 ---- N32        shared in the middle of a way (N11 is a T)
            |        |        ‖        |
    y=0    N00 ---- N10 ---- N20 ---- N30        ‖ = footbridge N20–N22 over N21 (no node)
          x=0      100      200      300         a motorway N00–N22 must not be walked
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pytest
from pyproj import Transformer
from shapely.geometry import LineString, Point

from inclusive_cities.spatial import SpatialError
from inclusive_cities.spatial.network import (
    build_graph,
    choose_backend,
    nearest_networkx,
    nearest_pandana,
    network_distances,
    read_street_network,
    walkable,
)

CRS = "EPSG:32618"
X0, Y0 = 500_000.0, 510_000.0  # about 4.6°N on UTM 18N's central meridian


def node_id(i: int, j: int) -> int:
    return 1 + i + 10 * j


def grid_ways() -> list[tuple[int, list[int], dict[str, str]]]:
    rows = [
        (100 + j, [node_id(i, j) for i in range(4)], {"highway": "residential"}) for j in (0, 1, 2)
    ]
    columns = [
        (200, [node_id(0, j) for j in range(3)], {"highway": "residential"}),
        (203, [node_id(3, j) for j in range(3)], {"highway": "tertiary"}),
        (201, [node_id(1, 0), node_id(1, 1)], {"highway": "footway"}),
    ]
    bridge = [(300, [node_id(2, 0), node_id(2, 2)], {"highway": "footway", "bridge": "yes"})]
    motorway = [(400, [node_id(0, 0), node_id(2, 2)], {"highway": "motorway"})]
    return rows + columns + bridge + motorway


def osm_xml(
    nodes: dict[int, tuple[float, float]], ways: list[tuple[int, list[int], dict[str, str]]]
) -> str:
    to_degrees = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for ident, (x, y) in nodes.items():
        lon, lat = to_degrees.transform(x, y)
        lines.append(f'  <node id="{ident}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for ident, refs, tags in ways:
        lines.append(f'  <way id="{ident}" version="1">')
        lines += [f'    <nd ref="{ref}"/>' for ref in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def grid_nodes() -> dict[int, tuple[float, float]]:
    return {node_id(i, j): (X0 + 100 * i, Y0 + 100 * j) for i in range(4) for j in range(3)}


def write_osm(path: Path, ways=None, nodes=None) -> Path:
    path.write_text(osm_xml(nodes or grid_nodes(), ways if ways is not None else grid_ways()))
    return path


def write_pbf(source: Path, target: Path) -> Path:
    # seen while writing this: GDAL failed to parse osmium's PBF of a perfectly regular
    # 300 × 300 grid (it compresses over 100:1) but read it once coordinates were jittered;
    # this small grid reads fine
    with osmium.SimpleWriter(str(target)) as writer:
        for item in osmium.FileProcessor(str(source)):
            writer.add(item)
    return target


def at(x: float, y: float) -> Point:
    return Point(X0 + x, Y0 + y)


@pytest.fixture
def units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"population": [1, 1, 1]},
        index=["u1", "u2", "u3"],
        geometry=[at(0, 0), at(200, 100), at(100, 210)],
        crs=CRS,
    )


@pytest.fixture
def facilities() -> gpd.GeoDataFrame:
    # health exactly at N22; the school 20 m east of N30, off the street
    return gpd.GeoDataFrame(
        {"type": ["health", "school"]}, geometry=[at(200, 200), at(320, 0)], crs=CRS
    )


# By hand, along the grid (the motorway would make u1→health 282.8 m; the footbridge
# would make u2→health 100 m if it joined the street it passes over):
#   u1 at N00: health N00-N10-N20=bridge=N22 400; school N00…N30 300 + 20 off the street
#   u2 at N21: health N21-N31-N32-N22 300;       school N21-N31-N30 200 + 20
#   u3 10 m north of N12: health N12-N22 100 + 10; school N12-N22-N32-N31-N30 400 + 20 + 10
BY_HAND = {"health": [400.0, 300.0, 110.0], "school": [320.0, 220.0, 430.0]}


@pytest.mark.parametrize("suffix", [".osm", ".osm.pbf"])
def test_osm_distances_follow_the_streets(tmp_path, units, facilities, suffix) -> None:
    path = write_osm(tmp_path / "city.osm")
    if suffix == ".osm.pbf":
        path = write_pbf(path, tmp_path / "city.osm.pbf")
    streets = read_street_network(path, crs=CRS)
    assert sorted(streets["highway"].unique()) == ["footway", "residential", "tertiary"]
    for backend in ("networkx", "pandana"):
        got = network_distances(units, facilities, streets, backend=backend)
        for kind, expected in BY_HAND.items():
            assert got[kind].tolist() == pytest.approx(expected, abs=0.05), (backend, kind)


def test_line_file_is_noded_where_lines_cross(tmp_path, units, facilities) -> None:
    streets = read_street_network(write_osm(tmp_path / "city.osm"), crs=CRS)
    path = tmp_path / "streets.gpkg"
    streets.to_file(path, layer="calles", driver="GPKG")
    lines = read_street_network(path)
    assert str(lines.crs) == CRS
    got = network_distances(units, facilities, lines)
    # a plain line file has no OSM nodes: the footbridge now meets the street at N21
    assert got["health"].tolist() == pytest.approx([400.0, 100.0, 110.0], abs=0.05)
    assert got["school"].tolist() == pytest.approx(BY_HAND["school"], abs=0.05)


def test_walkable_rule() -> None:
    frame = gpd.GeoDataFrame(
        {
            "highway": ["motorway", "trunk_link", "trunk", "residential", "residential",
                        "motorway", "service", "construction", None],
            "other_tags": [None, None, None, '"access"=>"private"',
                           '"access"=>"no","foot"=>"yes"', '"foot"=>"designated"',
                           '"foot"=>"no"', None, None],
        }
    )  # fmt: skip
    assert walkable(frame).tolist() == [False, False, True, False, True, True, False, False, False]


def test_pandana_and_networkx_give_the_same_distances() -> None:
    rng = np.random.default_rng(7)
    size = 25
    xs, ys = np.meshgrid(np.arange(size) * 80.0, np.arange(size) * 80.0)
    points = np.c_[xs.ravel(), ys.ravel()] + rng.normal(0, 15, (size * size, 2))
    index = np.arange(size * size).reshape(size, size)
    pairs = np.r_[
        np.c_[index[:, :-1].ravel(), index[:, 1:].ravel()],
        np.c_[index[:-1, :].ravel(), index[1:, :].ravel()],
    ]
    pairs = pairs[rng.random(len(pairs)) > 0.15]  # some streets missing, maybe islands too
    island = [LineString([(5000, 5000), (5100, 5000), (5100, 5150)])]  # no facility reaches it
    streets = gpd.GeoDataFrame(
        geometry=[LineString([points[a], points[b]]) for a, b in pairs] + island, crs=CRS
    )
    graph = build_graph(streets)
    targets = rng.choice(len(graph.nodes) - 3, 30, replace=False)  # the island's 3 are last
    offsets = rng.uniform(0, 60, 30)
    by_networkx = nearest_networkx(graph, targets, offsets)
    by_pandana = nearest_pandana(graph, targets, offsets)
    assert np.flatnonzero(np.isnan(by_networkx)).tolist() == [
        len(graph.nodes) - 3 + i for i in range(3)
    ]
    assert np.array_equal(np.isnan(by_networkx), np.isnan(by_pandana))
    # pandana keeps edge lengths in whole millimetres: under 1 mm less per segment walked
    np.testing.assert_allclose(by_pandana, by_networkx, rtol=0, atol=0.01)
    assert np.nanmax(by_networkx) > 500


def test_backend_is_chosen_by_size() -> None:
    # pandana lost at every size measured (benchmarks/README.md): auto keeps networkx
    assert choose_backend(10_000) == "networkx"
    assert choose_backend(5_000_000) == "networkx"
    assert choose_backend(999_999, pandana_min_edges=1_000_000) == "networkx"
    assert choose_backend(1_000_000, pandana_min_edges=1_000_000) == "pandana"


def test_network_that_does_not_cover_the_city(tmp_path, facilities) -> None:
    streets = read_street_network(write_osm(tmp_path / "city.osm"), crs=CRS)
    units = gpd.GeoDataFrame(
        {"population": [1, 1, 1]},
        index=["near", "far", "farther"],
        geometry=[at(0, 0), at(2000, 0), at(0, 3000)],
        crs=CRS,
    )
    with pytest.raises(SpatialError) as error:
        network_distances(units, facilities, streets)
    message = str(error.value)
    assert message.startswith(
        "The street network does not cover the city: 2 of 3 units are more than 250 m from any "
        "street (first: unit 'far')"
    )
    assert "\n" not in message


def test_osm_file_without_streets(tmp_path) -> None:
    nodes = grid_nodes()
    building = [
        (1, [node_id(0, 0), node_id(1, 0), node_id(1, 1), node_id(0, 0)], {"building": "yes"}),
        (2, [node_id(2, 0), node_id(3, 0)], {"waterway": "canal"}),
    ]
    with pytest.raises(SpatialError, match=r"^city.osm has no streets \(no OpenStreetMap ways"):
        read_street_network(write_osm(tmp_path / "city.osm", building, nodes))
    motorway = [(1, [node_id(0, 0), node_id(3, 0)], {"highway": "motorway"})]
    with pytest.raises(SpatialError, match="has 1 roads but none a pedestrian may use"):
        read_street_network(write_osm(tmp_path / "city.osm", motorway, nodes))


def test_file_that_is_not_a_network(tmp_path) -> None:
    path = tmp_path / "points.gpkg"
    gpd.GeoDataFrame(geometry=[at(0, 0)], crs=CRS).to_file(path, driver="GPKG")
    with pytest.raises(SpatialError, match=r"^points.gpkg has no line layer: it is not a street"):
        read_street_network(path)
    with pytest.raises(SpatialError, match=r"street network file .*missing.pbf does not exist"):
        read_street_network(tmp_path / "missing.pbf")
    broken = tmp_path / "broken.gpkg"
    broken.write_text("not a database")
    with pytest.raises(SpatialError, match=r"^broken.gpkg cannot be read as a street network"):
        read_street_network(broken)


def test_line_file_without_crs(tmp_path) -> None:
    path = tmp_path / "streets.shp"
    gpd.GeoDataFrame(geometry=[LineString([(0, 0), (100, 0)])]).to_file(path)
    with pytest.raises(SpatialError, match=r"^streets.shp has no coordinate reference system"):
        read_street_network(path)


def test_file_with_several_line_layers(tmp_path) -> None:
    path = tmp_path / "environment.gpkg"
    river = gpd.GeoDataFrame(geometry=[LineString([at(0, 50), at(300, 50)])], crs=CRS)
    river.to_file(path, layer="rio", driver="GPKG")
    river.to_file(path, layer="canal", driver="GPKG")
    with pytest.raises(SpatialError, match=r"has 2 line layers \(rio, canal\) and none is named"):
        read_street_network(path)
    streets = gpd.GeoDataFrame(geometry=[LineString([at(0, 0), at(100, 0)])], crs=CRS)
    streets.to_file(path, layer="vias", driver="GPKG")
    assert read_street_network(path).geometry.length.tolist() == pytest.approx([100.0])


def test_stray_fragment_is_not_where_people_join(tmp_path, units, facilities) -> None:
    # a lone 10 m footway 5 m from u3, closer than the grid's N12 (10 m) but joined to nothing
    nodes = {**grid_nodes(), 90: (X0 + 100, Y0 + 215), 91: (X0 + 110, Y0 + 215)}
    ways = [*grid_ways(), (500, [90, 91], {"highway": "footway"})]
    streets = read_street_network(write_osm(tmp_path / "city.osm", ways, nodes), crs=CRS)
    assert len(streets) == len(grid_ways())  # the fragment is read (the motorway is not)
    got = network_distances(units, facilities, streets)
    for kind, expected in BY_HAND.items():
        assert got[kind].tolist() == pytest.approx(expected, abs=0.05)
