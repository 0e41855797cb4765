"""From inputs to indicator values at the base level and every level above it.

The engine needs no store: give it Ibis tables of census records, the base units as a
GeoDataFrame, the hierarchy, facilities and environment layers, and it returns one long
table of values plus, for every catalogue entry it could not compute, the reason.
:mod:`inclusive_cities.indicators.pipeline` reads those inputs from the store.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import shapely

from inclusive_cities.i18n import gettext as _
from inclusive_cities.indicators.catalogue import Catalogue, IndicatorSpec
from inclusive_cities.indicators.errors import IndicatorError
from inclusive_cities.indicators.expressions import compile_expression, parse
from inclusive_cities.indicators.microdata import (
    UNIT,
    areas_of,
    fetch_parts,
    finish_arrays,
    microdata_parts,
    parent_lookup,
    part_arrays,
    part_names,
    sum_parts,
)
from inclusive_cities.indicators.steps import census_step, indicator_step
from inclusive_cities.progress import ProgressCallback, quiet_progress
from inclusive_cities.store.models import TOTAL

POPULATION = "__population"
OUTPUT_COLUMNS = ["indicator", "level", UNIT, "sex", "age_group", "nationality", "value", "n"]


@dataclass
class Level:
    """A tier above the base: its code and the map from base unit code to its unit code."""

    code: str
    parent_of: Mapping[str, str]

    @cached_property
    def parents(self) -> pd.Series:
        """``parent_of`` as :func:`parent_lookup` gives it, made once (read when first
        summed: change ``parent_of`` before, not after)."""
        return parent_lookup(self.parent_of)


@dataclass
class Inputs:
    """Everything the engine may use; absent inputs make their indicators skipped."""

    persons: ir.Table | None = None
    households: ir.Table | None = None
    units: gpd.GeoDataFrame | None = None
    """Base units indexed by code, polygons with a CRS."""
    base_level: str = "base"
    levels: Sequence[Level] = ()
    facilities: gpd.GeoDataFrame | None = None
    """Points with a canonical ``type`` column, same CRS as ``units``."""
    layers: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict)
    crs: str | None = None
    """Projected CRS for distances (default: the units' own or a local UTM zone)."""
    observed: Mapping[str, str] = field(default_factory=dict)
    """Codes of table indicators already in the store as observations → where from."""
    network: str | None = None
    """Name of a line layer in ``layers``: distances to facilities along it, not straight."""
    layer_files: Sequence[Path | str] = ()
    """Vector files whose layers join ``layers`` (read by the spatial thread, while the
    census is aggregated: :func:`read_layers`)."""


@dataclass
class Result:
    values: pd.DataFrame
    computed: list[str]
    skipped: dict[str, str]
    unknown_units: int = 0
    observed: dict[str, str] = field(default_factory=dict)
    """Table indicators already in the store as imported observations → where from."""


def read_layers(paths: Iterable[Path | str]) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the given vector files, by layer name (in EPSG:4326)."""
    from inclusive_cities.ingest.vector import list_layers, read_vector

    layers: dict[str, gpd.GeoDataFrame] = {}
    for path in paths:
        for name in list_layers(path):
            layers[name] = read_vector(path, layer=name).to_crs("EPSG:4326")
    return layers


def _population(persons: ir.Table) -> pd.Series:
    """Residents per base unit: the census person records counted by unit code."""
    counted = persons.group_by(persons[UNIT].name(UNIT)).aggregate(**{POPULATION: persons.count()})
    frame = counted.execute()
    return frame.set_index(frame[UNIT].astype(str))[POPULATION].astype("float64")


def _microdata(
    table: ir.Table,
    specs: list[IndicatorSpec],
    inputs: Inputs,
    catalogue: Catalogue,
    areas: Callable[[], pd.Series | None],
) -> list[_Block]:
    """Long rows for ``specs`` at every level. ``areas()`` gives the base units' km² (it
    may wait for the spatial thread, which projects the units while the census runs)."""
    # records of units the city does not have are left out
    known = inputs.units.index.astype(str) if inputs.units is not None else None
    base = microdata_parts(table, specs, age_groups=catalogue.age_groups)
    frames: dict[str | None, pd.DataFrame] = {None: fetch_parts(base, known)}
    for name in ("sex", "age_group", "nationality"):
        chosen = [s for s in specs if name in s.disaggregations]
        if chosen:
            frames[name] = fetch_parts(
                microdata_parts(
                    table, chosen, disaggregation=name, age_groups=catalogue.age_groups
                ),
                known,
            )
    areas_km2 = areas()
    rows: list[_Block] = []
    medians = [s for s in specs if s.aggregation == "median"]
    for disaggregation, parts in frames.items():
        chosen = [s for s in specs if disaggregation is None or disaggregation in s.disaggregations]
        rows += _long(parts, chosen, inputs.base_level, disaggregation, areas_km2)
        for level in inputs.levels:
            columns = [c for s in chosen for c in part_names(s)]
            summed = sum_parts(parts, level.parents, columns)
            level_medians = [s for s in medians if s in chosen]
            if level_medians:
                mapping = ibis.memtable(
                    pd.DataFrame(
                        {"_child": list(level.parent_of), "_parent": list(level.parent_of.values())}
                    )
                )
                joined = table.join(mapping, table[UNIT] == mapping["_child"])
                recomputed = microdata_parts(
                    joined,
                    level_medians,
                    by="_parent",
                    disaggregation=disaggregation,
                    age_groups=catalogue.age_groups,
                ).execute()
                keys = [UNIT] + (["group"] if disaggregation else [])
                median_columns = [c for s in level_medians for c in part_names(s)]
                summed = summed.drop(
                    columns=[c for c in median_columns if c in summed], errors="ignore"
                )
                summed = summed.merge(recomputed[keys + median_columns], on=keys, how="outer")
            rows += _long(
                summed, chosen, level.code, disaggregation, _level_areas(areas_km2, level)
            )
    return rows


def _level_areas(areas_km2: pd.Series | None, level: Level) -> pd.Series | None:
    if areas_km2 is None:
        return None
    mapped = areas_km2.groupby(areas_km2.index.map(level.parent_of)).sum()
    return mapped


def _long(
    parts: pd.DataFrame,
    specs: Sequence[IndicatorSpec],
    level: str,
    disaggregation: str | None,
    areas_km2: pd.Series | None,
) -> list[_Block]:
    units = parts[UNIT].astype(str).to_numpy(dtype=object)
    groups = parts["group"].astype(str).to_numpy(dtype=object) if disaggregation else None
    columns = part_arrays(parts, [name for spec in specs for name in part_names(spec)])
    area = areas_of(parts, areas_km2) if any(s.aggregation == "per_km2" for s in specs) else None
    out = []
    for spec in specs:
        value, n = finish_arrays(columns, spec, area)
        out.append(_Block(spec.code, level, units, value, n, disaggregation, groups))
    return out


@dataclass
class _Block:
    """Rows of one indicator at one level (and one disaggregation): column arrays, turned
    into the long table once at the end (a DataFrame per block cost seconds of string
    conversion on a city of 5,000 blocks)."""

    indicator: str
    level: str
    units: np.ndarray
    value: np.ndarray
    n: np.ndarray
    disaggregation: str | None = None
    groups: np.ndarray | None = None


def _column(
    pieces: Sequence[np.ndarray | str], lengths: Sequence[int], categorical: bool = False
) -> pd.Series:
    """A string column from one piece per block: an array of strings (one per row) or one
    string repeated over the block's rows. Built as an Arrow dictionary whose values are each
    distinct piece once (the unit codes of one level and group are one array shared by every
    indicator's block): no Python object per row, each string converted once.

    ``categorical``: a pandas categorical with sorted categories (those ``pd.Categorical``
    of the strings gives), made from the dictionary without writing out each row's string:
    the strings of the rows cost ≈0.3 s CPU on the medium demo, and the writer would hash
    them again to group and order its rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    starts: dict[object, int] = {}  # piece (its identity for arrays) -> its first code
    values: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    size = 0
    for piece, length in zip(pieces, lengths, strict=True):
        repeated = isinstance(piece, str)
        key = piece if repeated else id(piece)
        start = starts.get(key)
        if start is None:
            start = starts[key] = size
            values.append(np.array([piece], dtype=object) if repeated else np.asarray(piece))
            size += len(values[-1])
        codes.append(
            np.full(length, start, dtype="int32")
            if repeated
            else np.arange(start, start + length, dtype="int32")
        )
    indices = np.concatenate(codes) if codes else np.zeros(0, dtype="int32")
    dictionary = pa.array(np.concatenate(values) if values else [], pa.large_string())
    if categorical:
        # the dictionary repeats strings (a unit code in each group's piece): its distinct
        # strings, sorted (UTF-8 bytes sort as code points, like Python's str), are the
        # categories; each row's code is its dictionary entry's place among them
        distinct = pc.unique(dictionary)
        categories = distinct.take(pc.sort_indices(distinct))
        place = pc.index_in(dictionary, value_set=categories).to_numpy(zero_copy_only=False)
        return pd.Series(
            pd.Categorical.from_codes(
                place[indices] if len(indices) else indices,
                categories=pd.Index(categories.to_numpy(zero_copy_only=False), dtype=object),
            )
        )
    array = pa.DictionaryArray.from_arrays(pa.array(indices), dictionary)
    return pd.Series(pd.array(array.cast(pa.large_string()), dtype="str"))


def _assemble(blocks: Sequence[_Block], categorical: bool = False) -> pd.DataFrame:
    """The long table (:data:`OUTPUT_COLUMNS`) of all blocks, in their order (its string
    columns categorical if asked: :func:`_column`)."""
    if not blocks:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    lengths = [len(block.value) for block in blocks]
    columns: dict[str, object] = {
        "indicator": _column([b.indicator for b in blocks], lengths, categorical),
        "level": _column([b.level for b in blocks], lengths, categorical),
        UNIT: _column([b.units for b in blocks], lengths, categorical),
    }
    for name in ("sex", "age_group", "nationality"):
        columns[name] = _column(
            [
                b.groups if b.disaggregation == name and b.groups is not None else TOTAL
                for b in blocks
            ],
            lengths,
            categorical,
        )
    columns["value"] = np.concatenate([b.value for b in blocks])
    columns["n"] = np.concatenate([b.n for b in blocks])
    return pd.DataFrame(columns)


def _missing_columns(spec: IndicatorSpec, table: ir.Table) -> list[str]:
    return sorted(spec.columns - set(table.columns))


def _layer_subset(layer: gpd.GeoDataFrame, spec: IndicatorSpec) -> gpd.GeoDataFrame:
    """The layer's features satisfying the entry's condition (checked against its columns)."""
    if spec.condition is None:
        return layer
    attributes = pd.DataFrame(layer.drop(columns=layer.geometry.name)).reset_index(drop=True)
    attributes = attributes.astype(
        {c: "string" for c in attributes.columns if attributes[c].dtype == object}
    )
    expression = parse(
        spec.condition.text,
        set(attributes.columns),
        f"indicator '{spec.code}', layer '{spec.layer}'",
    )
    table = ibis.memtable(attributes.assign(_row=np.arange(len(attributes))))
    compiled = compile_expression(expression, table)
    chosen = table.filter(compiled)["_row"].execute().to_numpy()
    return layer.iloc[np.sort(chosen)]


def _spatial(
    spec: IndicatorSpec,
    inputs: Inputs,
    units: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Numerator, denominator and scale per base unit for a spatial entry. ``origins``: the
    units' points distances are measured from (:func:`unit_points`), else found here."""
    from inclusive_cities import spatial

    pop = units["population"].to_numpy(dtype="float64")
    origins = units if origins is None else origins
    if spec.record == "facility":
        if spec.layer and spec.layer in inputs.layers:
            # the layer's polygons (e.g. parks) are preferred to facility points
            chosen = _layer_subset(inputs.layers[spec.layer], spec)[["geometry"]]
        else:
            facilities = inputs.facilities
            chosen = facilities[facilities["type"].isin(spec.facility_types)]  # type: ignore[index]
        if spec.method in ("reachable_count", "reachable_share"):
            count = spatial.facilities_within(
                origins, chosen, float(spec.threshold_m or 0), types=None, crs=inputs.crs
            ).to_numpy(dtype="float64")
            if spec.method == "reachable_share":
                # a share of the city's facilities: the same scale in a small and a large city
                return pop * count, pop * max(len(chosen), 1), 100.0
            return pop * count, pop, 1.0
        merged = chosen.assign(type="_chosen")
        if inputs.network is not None:
            streets = inputs.layers[inputs.network]
            distance = spatial.network_distances(units, merged, streets, crs=inputs.crs)
        else:
            distance = spatial.nearest_distances(origins, merged, crs=inputs.crs)
        distance = distance["_chosen"].to_numpy()
        if spec.method == "nearest_distance":
            return pop * distance, pop, 1.0
        within = (distance <= float(spec.threshold_m or 0)).astype("float64")
        return pop * within, pop, 100.0
    layer = _layer_subset(inputs.layers[spec.layer], spec)
    if spec.method == "public_space_fca":
        per_inhabitant = spatial.public_space_per_inhabitant(
            units, layer, float(spec.threshold_m or 400), crs=inputs.crs
        ).to_numpy()
        return pop * per_inhabitant, pop, 1.0
    if spec.method == "population_in_zone":
        inside = spatial.population_in_zones(units, layer, crs=inputs.crs).to_numpy()
        return inside, pop, 100.0
    density = spatial.intersection_density(units, layer, crs=inputs.crs)
    return density["intersections"].to_numpy(dtype="float64"), density["area_km2"].to_numpy(), 1.0


def unit_points(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The units as the points straight-line distances start from (``spatial.points_of``:
    the centroid, or a point inside where it falls outside), found once for every facility
    entry: each found them again, ≈0.1 s of GEOS per entry on the medium demo city. The
    distances from these points are those from the polygons."""
    from inclusive_cities.spatial._common import points_of

    points = shapely.points(points_of(units))
    return gpd.GeoDataFrame(geometry=points, index=units.index, crs=units.crs)


def _spatial_rows(
    spec: IndicatorSpec,
    inputs: Inputs,
    units: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame | None = None,
) -> list[_Block]:
    num, den, scale = _spatial(spec, inputs, units, origins)
    parts = pd.DataFrame({UNIT: units.index.astype(str), "num": num, "den": den})
    frames = [(inputs.base_level, parts)]
    for level in inputs.levels:
        frames.append((level.code, sum_parts(parts, level.parents, ["num", "den"])))
    out = []
    for level_code, frame in frames:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = scale * frame["num"] / frame["den"]
        n = frame["num"] if spec.method == "intersection_density" else frame["den"]
        keep = (frame["den"] > 0) & (n >= spec.min_denominator)
        out.append(
            _Block(
                spec.code,
                level_code,
                frame[UNIT].astype(str).to_numpy(dtype=object),
                value.where(keep).to_numpy(dtype="float64"),
                np.round(n.to_numpy(dtype="float64")),
            )
        )
    return out


def _spatial_missing(
    spec: IndicatorSpec, inputs: Inputs, population: pd.Series | None
) -> str | None:
    if inputs.units is None or len(inputs.units) == 0:
        return _("no boundaries of the base level")
    if spec.method != "intersection_density":
        if population is None:
            return _("no census person records to weight by population")
        if population.reindex(inputs.units.index).fillna(0).sum() <= 0:
            return _("the units have no population (no census persons in any unit)")
    if spec.record == "facility":
        if spec.layer and spec.layer in inputs.layers:
            return None
        if (
            inputs.facilities is None
            or not inputs.facilities["type"].isin(spec.facility_types).any()
        ):
            return _("no facilities of type {types}").format(types=", ".join(spec.facility_types))
    elif spec.layer not in inputs.layers:
        return _("no environment layer '{layer}'").format(layer=spec.layer)
    return None


SPATIAL_RECORDS = ("facility", "layer")


def _metric(inputs: Inputs, units_p: gpd.GeoDataFrame, catalogue: Catalogue) -> Inputs:
    """The inputs the spatial indicators use, projected once to the units' metric CRS (each
    indicator projected the units, facilities and its layer again: a third of their time).
    The CRS is the one every spatial function would choose itself (given, or the units'
    UTM zone), so the distances are the same."""
    from inclusive_cities.spatial._common import projected

    target = units_p.crs
    used = {spec.layer for spec in catalogue if spec.record in SPATIAL_RECORDS and spec.layer}
    used.add(inputs.network)
    layers = {
        name: projected(layer, target, name) if name in used else layer
        for name, layer in inputs.layers.items()
    }
    facilities = (
        projected(inputs.facilities, target, "facility") if inputs.facilities is not None else None
    )
    return replace(inputs, units=units_p, facilities=facilities, layers=layers, crs=target)


def step_count(catalogue: Catalogue) -> int:
    """How many steps :func:`compute` reports: the two census records, then each
    facility or layer indicator (the slow ones, measured one by one)."""
    return 2 + sum(1 for spec in catalogue if spec.record in SPATIAL_RECORDS)


def compute(
    inputs: Inputs,
    catalogue: Catalogue,
    progress: ProgressCallback | None = None,
    on_values: Callable[[pd.DataFrame, list[str]], None] | None = None,
    categorical: bool = False,
) -> Result:
    """Every catalogue indicator the inputs allow, at the base level and above.

    ``progress(step, done, total)`` hears of each of :func:`step_count` steps as it starts.
    ``on_values(values, codes)`` receives the values of each part as soon as it is done (the
    person census indicators, the household ones, then the spatial ones), so that a caller
    can store them while the rest is computed; ``Result.values`` is those parts together.
    ``categorical``: the values' string columns are pandas categoricals (sorted categories)
    instead of strings, for a caller that groups or orders by them (the store's writer).
    """
    progress = progress or quiet_progress
    if inputs.network is not None and inputs.network not in inputs.layers:
        raise IndicatorError(
            _(
                "There is no street layer '{layer}' for network distances: the layers are {known}."
            ).format(layer=inputs.network, known=", ".join(inputs.layers) or "-")
        )
    population = _population(inputs.persons) if inputs.persons is not None else None
    # the units' projection and the facility and layer indicators run on a thread of their
    # own while the census is aggregated here (see _SpatialThread)
    spatial = _SpatialThread(inputs, catalogue, population) if inputs.units is not None else None
    try:
        return _compute(inputs, catalogue, progress, on_values, population, spatial, categorical)
    finally:
        if spatial is not None:
            spatial.stop()


def _no_areas() -> None:
    return None


def _compute(
    inputs: Inputs,
    catalogue: Catalogue,
    progress: ProgressCallback,
    on_values: Callable[[pd.DataFrame, list[str]], None] | None,
    population: pd.Series | None,
    spatial: _SpatialThread | None,
    categorical: bool = False,
) -> Result:
    """:func:`compute` once the population is counted and the spatial thread started."""
    total = step_count(catalogue)
    step = 0
    rows: list[_Block] = []
    computed: list[str] = []
    parts: list[pd.DataFrame] = []
    done = first = 0  # rows and codes already handed over as a part
    skipped: dict[str, str] = {}
    observed: dict[str, str] = {}
    areas = spatial.areas if spatial is not None else _no_areas
    unknown = 0
    for record, table in (("person", inputs.persons), ("household", inputs.households)):
        progress(census_step(record), step, total)
        step += 1
        specs = [s for s in catalogue if s.record == record]
        if table is None:
            for spec in specs:
                skipped[spec.code] = _(
                    "no census {record} records for this city and period"
                ).format(record=record)
            continue
        usable = []
        for spec in specs:
            missing = _missing_columns(spec, table)
            if missing:
                skipped[spec.code] = _("the census {record} file has no column {column}").format(
                    record=record, column=missing[0]
                )
            elif spec.aggregation == "per_km2" and spatial is None:
                skipped[spec.code] = _("no boundaries to measure areas")
            else:
                usable.append(spec)
        if inputs.units is not None and record == "person" and population is not None:
            # the unit codes of the records are the population's index (no second scan)
            codes = population.index.to_series()
            unknown = int((~codes.isin(set(inputs.units.index.astype(str)))).sum())
        if not usable:
            continue
        rows += _microdata(table, usable, inputs, catalogue, areas)
        computed += [s.code for s in usable]
        parts.append(_part(rows[done:], computed[first:], on_values, categorical))
        done, first = len(rows), len(computed)
    for spec in catalogue:
        if spec.record in ("table", "survey"):
            if spec.code in inputs.observed:
                observed[spec.code] = inputs.observed[spec.code]
            elif spec.record == "table":
                skipped[spec.code] = _("it comes from an indicator table and none was imported")
            else:
                skipped[spec.code] = _(
                    "it is estimated from a refugee and migrant survey by 'inclusive-cities "
                    "survey layers', which has not been run"
                )
            continue
        if spec.record not in SPATIAL_RECORDS:
            continue
        progress(indicator_step(spec.code), step, total)
        step += 1
        if spatial is None:
            skipped[spec.code] = _("no boundaries of the base level")
            continue
        reason, blocks = spatial.result(spec.code)
        if reason:
            skipped[spec.code] = reason
            continue
        rows += blocks
        computed.append(spec.code)
    if spatial is not None:
        spatial.check()  # a failed projection or layer file is an error even without entries
    parts.append(_part(rows[done:], computed[first:], on_values, categorical))
    present = {block.indicator for block in rows if not np.isnan(block.value).all()}
    for code in list(computed):
        if code not in present:
            computed.remove(code)
            skipped[code] = _("no unit has enough records (all values suppressed)")
    found = [part for part in parts if len(part)]
    if not found:
        values = _assemble([])[OUTPUT_COLUMNS]
    else:
        values = _concat(found) if categorical else pd.concat(found, ignore_index=True)
    return Result(
        values=values,
        computed=computed,
        skipped=skipped,
        unknown_units=unknown,
        observed=observed,
    )


class _SpatialThread:
    """Projects the base units and computes the facility and layer indicators, in catalogue
    order, on a thread of its own: the caller aggregates the census meanwhile, and DuckDB
    releases the GIL while it runs, so the imports, projections and KD-trees of the spatial
    part use the second core (issue #21). Results are taken in catalogue order, so the values,
    the skipped reasons and the first error are the ones a sequential run gives."""

    def __init__(self, inputs: Inputs, catalogue: Catalogue, population: pd.Series | None):
        self.inputs, self.catalogue, self.population = inputs, catalogue, population
        self.projection: Future[tuple[gpd.GeoDataFrame, pd.Series]] = Future()
        self.results: dict[str, Future[tuple[str | None, list[_Block]]]] = {
            spec.code: Future() for spec in catalogue if spec.record in SPATIAL_RECORDS
        }
        self.stopping = threading.Event()
        self.failed: BaseException | None = None
        # the language of the messages (skip reasons) is a context variable: same context
        context = contextvars.copy_context()
        self.thread = threading.Thread(
            target=context.run, args=(self._run,), name="indicators-spatial", daemon=True
        )
        self.thread.start()

    def areas(self) -> pd.Series:
        """The base units' areas in km² (waits for the projection; raises its error)."""
        return self.projection.result()[1]

    def result(self, code: str) -> tuple[str | None, list[_Block]]:
        """Why ``code`` is skipped (or None) and its rows; raises the error it met."""
        self.projection.result()
        return self.results[code].result()

    def check(self) -> None:
        """Raise the error of the units' projection or of reading the layer files."""
        self.projection.result()
        if self.failed is not None:
            raise self.failed

    def stop(self) -> None:
        """Let the thread end after the indicator it is computing, and wait for it."""
        self.stopping.set()
        self.thread.join()

    def _run(self) -> None:
        inputs = self.inputs
        pending = list(self.results.values())
        try:
            from inclusive_cities.spatial._common import projected

            units_p = projected(inputs.units, inputs.crs, "unit")  # type: ignore[arg-type]
            areas = pd.Series(
                units_p.geometry.area.to_numpy() / 1e6,
                index=inputs.units.index.astype(str),  # type: ignore[union-attr]
            )
        except BaseException as error:  # handed to the caller's thread
            self.projection.set_exception(error)
            for future in pending:
                future.cancel()
            return
        self.projection.set_result((units_p, areas))
        try:
            if inputs.layer_files:
                files = read_layers(inputs.layer_files)
                inputs = replace(inputs, layers={**files, **inputs.layers}, layer_files=())
        except BaseException as error:  # raised by the first spatial entry, or by check()
            self.failed = error
            for future in pending:
                future.set_exception(error)
            return
        metric: Inputs | None = None
        origins: gpd.GeoDataFrame | None = None
        for spec in self.catalogue:
            if spec.record not in SPATIAL_RECORDS:
                continue
            future = self.results[spec.code]
            if self.stopping.is_set():
                break
            try:
                reason = _spatial_missing(spec, inputs, self.population)
                if reason:
                    future.set_result((reason, []))
                    continue
                if metric is None:
                    metric = _metric(inputs, units_p, self.catalogue)
                if origins is None and spec.record == "facility":
                    origins = unit_points(metric.units)  # type: ignore[arg-type]
                units = metric.units.copy()  # type: ignore[union-attr]
                units["population"] = (
                    self.population.reindex(units.index.astype(str)).fillna(0.0).to_numpy()
                    if self.population is not None
                    else 0.0
                )
                future.set_result((None, _spatial_rows(spec, metric, units, origins)))
            except BaseException as error:  # the caller raises it where a sequential run would
                future.set_exception(error)
                break
        for future in pending:
            future.cancel()  # those not reached (a no-op for finished ones)


def _part(
    blocks: Sequence[_Block],
    codes: list[str],
    on_values: Callable[[pd.DataFrame, list[str]], None] | None,
    categorical: bool = False,
) -> pd.DataFrame:
    """The long table of one finished part (its indicators with at least one value, in
    their order), handed to ``on_values`` if there is anything to hand."""
    present = {block.indicator for block in blocks if not np.isnan(block.value).all()}
    kept = [code for code in codes if code in present]
    chosen = [block for block in blocks if block.indicator in present]
    values = _assemble(chosen, categorical)[OUTPUT_COLUMNS]
    if on_values is not None and kept:
        on_values(values, kept)
    return values


def _concat(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The parts one under the other. Categorical columns stay categorical, with the union
    of the parts' categories, sorted (``pd.concat`` makes them strings as Python objects when
    the parts' categories differ)."""
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    joined: dict[str, object] = {}
    for name in parts[0].columns:
        if all(isinstance(part[name].dtype, pd.CategoricalDtype) for part in parts):
            joined[name] = pd.api.types.union_categoricals(
                [part[name] for part in parts], sort_categories=True
            )
        else:
            joined[name] = pd.concat([part[name] for part in parts], ignore_index=True)
    return pd.DataFrame(joined)


def require_indicator_inputs(catalogue: Catalogue) -> None:
    if not catalogue.indicators:
        raise IndicatorError(_("The catalogue is empty: nothing to compute."))
