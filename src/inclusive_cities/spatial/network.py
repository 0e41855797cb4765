"""Street networks: read them (OSM extracts, line files), build a graph, measure along it.

A street network comes from an OpenStreetMap extract (``.osm.pbf`` or ``.osm`` XML, read
through GDAL's OSM driver), from any line vector file (GeoPackage, Shapefile, GeoJSON …) or
from an environment layer already loaded. Distances along it are shortest paths on an
undirected graph whose nodes are the line vertices (rounded to 1 cm) and whose edges are
the straight pieces between them, weighted by their length in metres.

Two engines give the same distances: networkx (one Dijkstra per facility type from all its
facilities at once) and pandana (contraction hierarchies in C++, then a nearest-facility query
from every node). :func:`choose_backend` picks one by the graph's size; see
``benchmarks/README.md`` ("Network accessibility") for the measurements behind the rule.
"""

from __future__ import annotations

import os
import re
import sys
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from scipy.spatial import cKDTree

from inclusive_cities.i18n import gettext as _
from inclusive_cities.spatial._common import (
    facility_types,
    in_metres,
    points_of,
    projected,
    same_crs,
)
from inclusive_cities.spatial.errors import SpatialError

if TYPE_CHECKING:  # networkx (≈0.1 s to import) is loaded where a graph is built
    import networkx as nx

OSM_SUFFIXES = (".pbf", ".osm")

# OpenStreetMap ``highway`` values a pedestrian may use by default (OSM wiki, "OSM tags for
# routing/Access restrictions", worldwide defaults). Left out: motorway, motorway_link and
# trunk_link (grade-separated carriageways and ramps with no footway), and values that are
# not open roads (construction, proposed, abandoned, raceway, bus_guideway, busway, escape).
WALKABLE_HIGHWAYS = frozenset(
    {
        "trunk",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
        "pedestrian",
        "footway",
        "path",
        "steps",
        "track",
        "cycleway",
        "bridleway",
        "corridor",
    }
)
# ``foot=*`` values that open any highway to pedestrians, and ``foot=*``/``access=*`` values
# that close one (an explicit ``foot`` wins over ``access``).
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})
FOOT_FORBIDDEN = frozenset({"no", "private", "use_sidepath"})
ACCESS_FORBIDDEN = frozenset({"no", "private"})

# Names that mark the street layer of a file holding other line layers too (rivers …).
STREET_LAYER_NAMES = frozenset(
    {"vias", "calles", "streets", "roads", "red_vial", "ejes_viales", "street", "lines"}
)

PANDANA_MIN_EDGES: int | None = None
"""From this many edges on, ``backend="auto"`` uses pandana; ``None``: never. Measured on the
medium demo city (14k edges) and a 100k-edge grid, pandana took about 100× and 255× longer
than networkx, and more memory: "nearest facility from every node" is one Dijkstra pass per type,
which contraction hierarchies cannot beat, and building them is already slower than the pass.
Set a size here only if a measurement on a larger graph shows pandana ahead."""

_TAG = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


def _tags(other_tags: object) -> dict[str, str]:
    """GDAL's ``other_tags`` column (``"foot"=>"yes","access"=>"no"``) as a dict."""
    if not isinstance(other_tags, str):
        return {}
    return dict(_TAG.findall(other_tags))


def walkable(frame: pd.DataFrame) -> np.ndarray:
    """Which OSM ways (rows with ``highway`` and GDAL's ``other_tags``) a pedestrian may use.

    Rule: an explicit ``foot=yes|designated|permissive`` keeps any highway; otherwise
    ``foot=no|private|use_sidepath`` or ``access=no|private`` drops it; otherwise the
    highway type must be in :data:`WALKABLE_HIGHWAYS`.
    """
    highway = frame["highway"] if "highway" in frame.columns else pd.Series(index=frame.index)
    other = frame["other_tags"] if "other_tags" in frame.columns else pd.Series(index=frame.index)
    keep = np.zeros(len(frame), dtype=bool)
    for i, (kind, extra) in enumerate(zip(highway.tolist(), other.tolist(), strict=True)):
        if not isinstance(kind, str) or not kind:
            continue
        tags = _tags(extra)
        foot, access = tags.get("foot", ""), tags.get("access", "")
        if foot in FOOT_ALLOWED:
            keep[i] = True
        elif foot in FOOT_FORBIDDEN or access in ACCESS_FORBIDDEN:
            keep[i] = False
        else:
            keep[i] = kind in WALKABLE_HIGHWAYS
    return keep


def _unreadable(path: Path, error: Exception) -> SpatialError:
    return SpatialError(
        _(
            "{file} cannot be read as a street network ({reason}): give an OpenStreetMap "
            "extract (.osm.pbf, .osm) or a vector file of street lines (e.g. GeoPackage)."
        ).format(file=path.name, reason=str(error).splitlines()[0])
    )


def _read(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    try:
        try:
            return pyogrio.read_dataframe(str(path), layer=layer)
        except Exception as error:
            if "Non increasing node id" not in str(error):
                raise
            # hand-edited OSM files may list nodes out of id order: GDAL's slower index copes
            return pyogrio.read_dataframe(str(path), layer=layer, USE_CUSTOM_INDEXING="NO")
    except Exception as error:
        raise _unreadable(path, error) from error


def _line_layer(path: Path) -> str | None:
    try:
        layers = pyogrio.list_layers(str(path))
    except Exception as error:
        raise _unreadable(path, error) from error
    lines = [str(name) for name, geometry in layers if "LineString" in str(geometry)]
    if len(lines) <= 1:
        return lines[0] if lines else None
    streets = [name for name in lines if name.lower() in STREET_LAYER_NAMES]
    if len(streets) == 1:
        return streets[0]
    raise SpatialError(
        _(
            "{file} has {count} line layers ({layers}) and none is named as a street layer "
            "(e.g. vias, streets): keep only the streets in the file, or give the file with "
            "--layers and the layer's name with --network."
        ).format(file=path.name, count=len(lines), layers=", ".join(lines))
    )


def _only_lines(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    kinds = shapely.get_type_id(frame.geometry.values)
    return frame[(kinds == 1) | (kinds == 5)]


def read_street_network(
    path: Path | str, layer: str | None = None, crs: object = None
) -> gpd.GeoDataFrame:
    """The street lines of a file, ready for :func:`network_distances`.

    OpenStreetMap extracts (``.osm.pbf``, ``.osm``) keep the ways a pedestrian may use
    (:func:`walkable`); their junctions are the OSM nodes ways share, so a bridge crossing a
    street without a shared node does not connect to it. Other files are read from ``layer``
    or their only line layer (or the one named as streets, e.g. ``vias``), and lines are
    joined wherever they meet or cross. ``crs``
    reprojects the result (OSM data is always EPSG:4326).
    """
    path = Path(path)
    if not path.is_file():
        raise SpatialError(
            _("The street network file {file} does not exist: check the path.").format(
                file=str(path)
            )
        )
    is_osm = path.suffix.lower() in OSM_SUFFIXES
    if is_osm:
        frame = _read(path, "lines")
        frame = frame.set_crs("EPSG:4326", allow_override=True)
        if "highway" not in frame.columns or frame["highway"].notna().sum() == 0:
            raise SpatialError(
                _(
                    "{file} has no streets (no OpenStreetMap ways tagged highway=*): give an "
                    "extract of the city's street network."
                ).format(file=path.name)
            )
        chosen = walkable(frame)
        if not chosen.any():
            raise SpatialError(
                _(
                    "{file} has {count} roads but none a pedestrian may use (only motorways, "
                    "ramps or roads closed to pedestrians): give an extract with the city's "
                    "streets."
                ).format(file=path.name, count=int(frame["highway"].notna().sum()))
            )
        frame = _only_lines(frame[chosen])
        frame = frame[["osm_id", "highway", "geometry"]].reset_index(drop=True)
        frame.attrs["noded"] = True
    else:
        name = layer or _line_layer(path)
        if name is None:
            raise SpatialError(
                _(
                    "{file} has no line layer: it is not a street network; give a file of "
                    "street centre lines or an OpenStreetMap extract."
                ).format(file=path.name)
            )
        frame = _only_lines(_read(path, name))
        if len(frame) == 0:
            raise SpatialError(
                _(
                    "{file} has no lines in layer '{layer}': it is not a street network; give "
                    "a file of street centre lines or an OpenStreetMap extract."
                ).format(file=path.name, layer=name)
            )
        if frame.crs is None:
            raise SpatialError(
                _(
                    "{file} has no coordinate reference system: save it with one (e.g. "
                    "EPSG:4326 or the city's UTM zone) so it can be placed on the city."
                ).format(file=path.name)
            )
    if crs is not None:
        frame = frame.to_crs(crs)
    return frame


def network_layer(
    network: str, layers: Mapping[str, gpd.GeoDataFrame], crs: object
) -> tuple[str, dict[str, gpd.GeoDataFrame]]:
    """Resolve ``--network``: an existing file is read (in ``crs``) and added to ``layers``
    under its own name; otherwise it must be the name of one of ``layers``."""
    path = Path(network)
    if path.is_file():
        name = f"network:{path.name}"
        return name, {**layers, name: read_street_network(path, crs=crs)}
    if network in layers:
        return network, dict(layers)
    raise SpatialError(
        _(
            "--network '{network}' is neither a file nor an environment layer (layers: "
            "{known}): give the path of an .osm.pbf, .osm or line file, or a layer name."
        ).format(network=network, known=", ".join(layers) or "-")
    )


@dataclass
class StreetGraph:
    """Nodes (row i = node i, metres) and undirected edges ``source``–``target`` of
    ``length`` metres, with the engines' graphs built on first use and kept."""

    nodes: np.ndarray
    source: np.ndarray
    target: np.ndarray
    length: np.ndarray
    _engines: dict[str, Any] = field(default_factory=dict, repr=False)

    def networkx(self) -> nx.Graph:
        if "networkx" not in self._engines:
            import networkx as nx

            graph = nx.Graph()
            graph.add_nodes_from(range(len(self.nodes)))
            graph.add_weighted_edges_from(
                zip(self.source.tolist(), self.target.tolist(), self.length.tolist(), strict=True)
            )
            self._engines["networkx"] = graph
        return self._engines["networkx"]

    def main_nodes(self) -> np.ndarray:
        """The nodes of the largest connected piece of the network, where people and
        facilities join it: a stray fragment (a footpath mapped alone, a lone bridge) would
        leave whoever is snapped to it unable to reach anything."""
        if "main" not in self._engines:
            from scipy.sparse import coo_matrix
            from scipy.sparse.csgraph import connected_components

            size = len(self.nodes)
            matrix = coo_matrix(
                (np.ones(len(self.source)), (self.source, self.target)), (size, size)
            )
            _count, label = connected_components(matrix, directed=False)
            self._engines["main"] = np.flatnonzero(label == np.bincount(label).argmax())
        return self._engines["main"]

    def pandana(self) -> Any:
        if "pandana" not in self._engines:
            import pandana

            with _quiet_stdout():
                self._engines["pandana"] = pandana.Network(
                    pd.Series(self.nodes[:, 0]),
                    pd.Series(self.nodes[:, 1]),
                    pd.Series(self.source),
                    pd.Series(self.target),
                    pd.DataFrame({"length": self.length}),
                    twoway=True,
                )
        return self._engines["pandana"]


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """pandana's C++ core prints progress to the process's stdout; keep the CLI clean."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _lines(streets: gpd.GeoDataFrame) -> np.ndarray:
    if streets.attrs.get("noded"):
        # OSM ways: junctions are the nodes the ways share, already common vertices
        parts = shapely.get_parts(streets.geometry.values)
    else:
        # any line file: join lines wherever they meet or cross
        parts = shapely.get_parts(shapely.line_merge(shapely.union_all(streets.geometry.values)))
    return parts[shapely.get_type_id(parts) == 1]


def build_graph(streets: gpd.GeoDataFrame) -> StreetGraph:
    """The street graph of a projected line layer (see the module docstring)."""
    lines = _lines(streets)
    if len(lines) == 0:
        return StreetGraph(np.empty((0, 2)), *(np.empty(0, dtype="int64"),) * 2, np.empty(0))
    coordinates, index = shapely.get_coordinates(lines, return_index=True)
    nodes, node_of = np.unique(np.round(coordinates, 2), axis=0, return_inverse=True)
    node_of = node_of.ravel()
    same_line = index[1:] == index[:-1]
    a, b = node_of[:-1][same_line], node_of[1:][same_line]
    length = np.hypot(*(coordinates[1:][same_line] - coordinates[:-1][same_line]).T)
    keep = a != b
    edges = pd.DataFrame(
        {"u": np.minimum(a, b)[keep], "v": np.maximum(a, b)[keep], "length": length[keep]}
    )
    # two ways joining the same two vertices: the shorter piece is the walk
    edges = edges.groupby(["u", "v"], sort=True, as_index=False)["length"].min()
    return StreetGraph(
        nodes,
        edges["u"].to_numpy(dtype="int64"),
        edges["v"].to_numpy(dtype="int64"),
        edges["length"].to_numpy(dtype="float64"),
    )


_CACHE: dict[tuple[int, str], tuple[weakref.ref[gpd.GeoDataFrame], int, StreetGraph]] = {}


def _graph_of(streets: gpd.GeoDataFrame, crs: CRS) -> StreetGraph:
    """The graph of ``streets`` in ``crs``, built once per layer: the indicator engine asks
    for distances to several facility types along the same streets."""
    key = (id(streets), crs.to_string())
    cached = _CACHE.get(key)
    if cached is not None and cached[1] == len(streets) and cached[0]() is streets:
        return cached[2]
    graph = build_graph(projected(streets, crs, "street"))
    for stale in [k for k, (ref, _n, _g) in _CACHE.items() if ref() is None]:
        del _CACHE[stale]
    _CACHE[key] = (weakref.ref(streets), len(streets), graph)
    return graph


def street_graph(streets: gpd.GeoDataFrame) -> tuple[nx.Graph, np.ndarray]:
    """An undirected networkx graph of a projected line layer (edge weight = metres) and the
    coordinates of its nodes (node i is row i)."""
    graph = build_graph(streets)
    return graph.networkx(), graph.nodes


def pandana_available() -> bool:
    try:
        import pandana  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(edges: int, pandana_min_edges: int | None = PANDANA_MIN_EDGES) -> str:
    """The engine for a graph of ``edges`` edges: ``"pandana"`` from ``pandana_min_edges``
    edges on when pandana is installed, else ``"networkx"`` (see :data:`PANDANA_MIN_EDGES`)."""
    if pandana_min_edges is not None and edges >= pandana_min_edges and pandana_available():
        return "pandana"
    return "networkx"


def _per_node(targets: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Facilities on the same node: only the one nearest the street matters."""
    frame = pd.DataFrame({"node": targets, "offset": offsets}).groupby("node")["offset"].min()
    return frame.index.to_numpy(dtype="int64"), frame.to_numpy(dtype="float64")


def nearest_networkx(graph: StreetGraph, targets: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per node, metres to the nearest target node plus that target's offset (NaN if none can
    be reached): one Dijkstra from a virtual source tied to every target by its offset."""
    nodes, gaps = _per_node(targets, offsets)
    g = graph.networkx()
    source = ("source",)
    g.add_node(source)
    g.add_weighted_edges_from(
        (source, node, gap) for node, gap in zip(nodes.tolist(), gaps.tolist(), strict=True)
    )
    import networkx as nx

    try:
        lengths = nx.single_source_dijkstra_path_length(g, source, weight="weight")
    finally:
        g.remove_node(source)
    del lengths[source]
    out = np.full(len(graph.nodes), np.nan)
    if lengths:
        out[np.fromiter(lengths.keys(), dtype="int64", count=len(lengths))] = np.fromiter(
            lengths.values(), dtype="float64", count=len(lengths)
        )
    return out


def nearest_pandana(graph: StreetGraph, targets: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Same as :func:`nearest_networkx` with pandana's contraction hierarchies.

    pandana finds the k nearest target nodes without offsets; the best total among them is
    exact once it is no longer than the k-th distance (any other target is at least that far),
    else k doubles. pandana keeps each edge's length in whole millimetres (truncated), so
    its distances are shorter than networkx's by less than 1 mm per street segment walked.
    """
    nodes, gaps = _per_node(targets, offsets)
    net = graph.pandana()
    # farther than every street end to end: nothing reachable is missed. pandana keeps this
    # bound in single precision and aborts if the query's differs, so round it to one.
    reach = float(np.float32(np.ceil(graph.length.sum() + gaps.max() + 1.0)))
    x = pd.Series(graph.nodes[nodes, 0])
    y = pd.Series(graph.nodes[nodes, 1])
    best = np.full(len(graph.nodes), np.nan)
    k = min(len(nodes), 4)
    while True:
        with _quiet_stdout():
            net.set_pois("facilities", reach, k, x, y)
            found = net.nearest_pois(
                reach, "facilities", num_pois=k, max_distance=np.nan, include_poi_ids=True
            )
        distance = found[list(range(1, k + 1))].to_numpy(dtype="float64")
        which = found[[f"poi{i}" for i in range(1, k + 1)]].to_numpy(dtype="float64")
        reached = ~np.isnan(which)
        total = np.where(
            reached, distance + gaps[np.where(reached, which, 0).astype("int64")], np.inf
        )
        best = total.min(axis=1)
        kth = np.where(reached[:, -1], distance[:, -1], np.inf)
        if k == len(nodes) or bool(np.all(best <= kth)):
            break
        k = min(2 * k, len(nodes))
    return np.where(np.isinf(best), np.nan, best)


def network_distances(
    units: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    type_column: str = "type",
    types: Iterable[str] | None = None,
    crs: object = None,
    snap_tolerance_m: float = 250.0,
    backend: str = "auto",
) -> pd.DataFrame:
    """Metres along the streets from each unit to the nearest facility of each type.

    Units and facilities join the network at their nearest street node of its largest
    connected piece (:meth:`StreetGraph.main_nodes`; the straight stretch is added). A unit
    farther than ``snap_tolerance_m`` from every street means the network does not cover the
    city: that is an error, not a silent straight line.
    ``backend`` is ``"networkx"``, ``"pandana"`` or ``"auto"`` (:func:`choose_backend`).
    """
    units_p, facilities_p = in_metres(units, facilities, crs, type_column)
    same_crs(units, streets, "unit", "street")
    graph = _graph_of(streets, CRS.from_user_input(units_p.crs))
    if len(graph.nodes) == 0:
        raise SpatialError(_("The street layer has no lines: give a layer of street centre lines."))
    if backend == "auto":
        backend = choose_backend(len(graph.source))
    if backend not in ("networkx", "pandana"):
        raise SpatialError(
            _("Unknown network backend '{backend}': use auto, networkx or pandana.").format(
                backend=backend
            )
        )
    nearest = nearest_pandana if backend == "pandana" else nearest_networkx
    main = graph.main_nodes()
    tree = cKDTree(graph.nodes[main])
    origin_gap, origin_node = tree.query(points_of(units_p))
    origin_node = main[origin_node]
    far = np.flatnonzero(origin_gap > snap_tolerance_m)
    if len(far):
        raise SpatialError(
            _(
                "The street network does not cover the city: {count} of {total} units are more "
                "than {tolerance:g} m from any street (first: unit '{unit}'); give a network "
                "that covers the whole city."
            ).format(
                count=len(far),
                total=len(units_p),
                tolerance=snap_tolerance_m,
                unit=units.index[far[0]],
            )
        )
    facility_gap, facility_node = (
        tree.query(points_of(facilities_p))
        if len(facilities_p)
        else (np.empty(0), np.empty(0, dtype="int64"))
    )
    facility_node = main[np.asarray(facility_node, dtype="int64")]
    kinds = facilities_p[type_column].astype(str).to_numpy()
    out = {}
    for kind in facility_types(facilities_p, type_column, types):
        chosen = np.flatnonzero(kinds == kind)
        if len(chosen) == 0:
            out[kind] = np.full(len(units_p), np.nan)
            continue
        along = nearest(graph, np.asarray(facility_node)[chosen], np.asarray(facility_gap)[chosen])
        out[kind] = along[origin_node] + origin_gap
    return pd.DataFrame(out, index=units.index)
