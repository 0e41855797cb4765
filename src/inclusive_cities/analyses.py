"""Spatial analyses run on the store: clusters of a stored indicator or marker score, and
indicators moved to another geography — computed, checked and (optionally) kept as layers.

The CLI and the web call these; they read units and values with
:func:`inclusive_cities.indicators.pipeline.unit_layer` and write with
:mod:`inclusive_cities.spatial.layers`. They sit above both ``spatial`` (whose methods they run)
and ``indicators`` (whose stored values they read), which is why they are not in ``spatial``:
``indicators`` computes with ``spatial``'s methods (``.importlinter``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from sqlalchemy import Engine, select

from inclusive_cities import store
from inclusive_cities.i18n import gettext as _
from inclusive_cities.progress import ProgressCallback, quiet_progress
from inclusive_cities.spatial import layers
from inclusive_cities.spatial.clusters import clusters as find_clusters
from inclusive_cities.spatial.errors import SpatialError
from inclusive_cities.spatial.interpolate import h3_grid, interpolate
from inclusive_cities.store import models

EXTENSIVE_AGGREGATIONS = ("count",)
"""Catalogue aggregations whose values are counts: summed when moved, never averaged."""


@dataclass
class ClusterResult:
    name: str
    frame: gpd.GeoDataFrame
    parameters: dict[str, Any]
    layer_id: int | None = None


def _known_indicator(engine: Engine, code: str) -> None:
    """Refuse codes neither stored nor in the catalogue (a catalogue entry not computed yet
    gets the "no values" message, which says how to compute it)."""
    from inclusive_cities.catalogue import load_catalogue

    with store.transaction(engine) as session:
        if session.scalar(select(models.Indicator.id).where(models.Indicator.code == code)):
            return
        known = sorted(session.scalars(select(models.Indicator.code)))
    if code in load_catalogue():
        return
    raise SpatialError(
        _(
            "There is no indicator '{indicator}' in the observatory: the stored ones are {known}."
        ).format(indicator=code, known=", ".join(known) or _("none"))
    )


def _indicator_about(engine: Engine, code: str) -> dict[str, Any]:
    """An indicator's names (es, en) and direction, as a cluster layer records them: the stored
    row's, else (a name left as the code, or no row) the catalogue's."""
    from inclusive_cities.catalogue import load_catalogue

    with store.transaction(engine) as session:
        row = session.scalar(select(models.Indicator).where(models.Indicator.code == code))
        stored = (row.name_es, row.name_en, row.direction) if row is not None else None
    entry = load_catalogue().indicators.get(code)
    names = {"es": code, "en": code}
    direction = entry.direction if entry is not None else "higher_is_better"
    if stored is not None:
        names = {"es": stored[0] or code, "en": stored[1] or stored[0] or code}
        direction = stored[2] or direction
    if entry is not None:
        for language, name in (("es", entry.name_es), ("en", entry.name_en)):
            if names[language] == code and name:
                names[language] = name
    # a neutral figure (share of Venezuelans) has no better end: its clusters are of high and
    # low concentration, never of exclusion, so higher_is_better is left null
    ranked = {"higher_is_better": True, "lower_is_better": False}.get(direction)
    return {"source_name": names, "direction": direction, "higher_is_better": ranked}


def base_level(engine: Engine, city: str) -> str:
    """The city's smallest level (the default of every analysis)."""
    with store.transaction(engine) as session:
        code = session.scalar(
            select(models.UnitLevel.code)
            .join(models.City, models.City.id == models.UnitLevel.city_id)
            .where(models.City.code == city)
            .order_by(models.UnitLevel.depth.desc())
            .limit(1)
        )
    if code is None:
        raise SpatialError(
            _("City '{city}' has no spatial units: import its boundaries first.").format(city=city)
        )
    return str(code)


def _suppressed(
    engine: Engine, city: str, period: str, level: str, codes: Sequence[str]
) -> dict[str, set[str]]:
    """Unit codes whose all-groups value of each indicator the web does not serve: suppressed,
    resting on fewer than 10 people, or withheld by disclosure control. No analysis (and no
    layer published from it) may rest on them: a layer linear in a withheld value gives it
    back (docs/disclosure-derived.md)."""
    from inclusive_cities.disclosure.publication import hidden_observation_ids
    from inclusive_cities.disclosure.served import MIN_CELL

    with store.transaction(engine) as session:
        city_id = session.scalar(select(models.City.id).where(models.City.code == city))
        hidden = hidden_observation_ids(session, city_id) if city_id is not None else frozenset()
        rows = session.execute(
            select(
                models.Indicator.code,
                models.SpatialUnit.code,
                models.Observation.id,
                models.Observation.status,
                models.Observation.value,
                models.Observation.n,
            )
            .join(models.Observation, models.Observation.indicator_id == models.Indicator.id)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
            .join(models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id)
            .join(models.City, models.City.id == models.SpatialUnit.city_id)
            .join(models.Period, models.Period.id == models.Observation.period_id)
            .where(
                models.Indicator.code.in_(list(codes)),
                models.City.code == city,
                models.Period.code == period,
                models.UnitLevel.code == level,
                models.Observation.sex == models.TOTAL,
                models.Observation.age_group == models.TOTAL,
                models.Observation.nationality == models.TOTAL,
            )
        ).all()
    found: dict[str, set[str]] = {}
    for code, unit, observation, status, value, n in rows:
        small = n is not None and n < MIN_CELL
        if status == "suppressed" or value is None or small or observation in hidden:
            found.setdefault(str(code), set()).add(str(unit))
    return found


def _indicator_values(
    engine: Engine, city: str, period: str, level: str, codes: Sequence[str]
) -> gpd.GeoDataFrame:
    """Units of ``level`` with the stored values of ``codes`` (suppressed ones left empty);
    each code must have values."""
    from inclusive_cities.indicators.pipeline import unit_layer

    for code in codes:
        _known_indicator(engine, code)
    frame = unit_layer(engine, city, period, level, list(codes))
    # the census population a layer moves or weights by is withheld where the stored one is
    served = [
        *codes,
        *(["population"] if "population" in frame and "population" not in codes else []),
    ]
    stored = {code: int(frame[code].notna().sum()) for code in codes}
    for code, units in _suppressed(engine, city, period, level, served).items():
        frame.loc[frame.index.isin(units), code] = np.nan
    for code in codes:
        if stored[code] and frame[code].notna().sum() == 0:
            raise SpatialError(
                _(
                    "Every value of '{indicator}' at level '{level}' is withheld (fewer than 10 "
                    "people, or disclosure control): an analysis rests only on what the web "
                    "serves; choose a coarser level."
                ).format(indicator=code, level=level)
            )
        if frame[code].notna().sum() == 0:
            raise SpatialError(
                _(
                    "Indicator '{indicator}' has no values for {city}, period {period} at level "
                    "'{level}': run 'inclusive-cities indicators compute' first, or choose "
                    "another level."
                ).format(indicator=code, city=city, period=period, level=level)
            )
    return frame


def _published_scores(
    engine: Engine, run_id: int, node: str, values: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """``values`` (a run's scores of ``node`` by unit code) with the scores the web withholds
    emptied: clusters rest on what the public may see. A withheld block score (normalised from
    a hidden count) would otherwise colour its block hot or cold (trial finding F4)."""
    from inclusive_cities.disclosure.served import run_scores

    with store.transaction(engine) as session:
        served = run_scores(session, run_id)
        if served.withheld is None or node not in served.nodes:
            return values
        code_of = dict(
            session.execute(
                select(models.SpatialUnit.id, models.SpatialUnit.code).where(
                    models.SpatialUnit.city_id == served.run.city_id
                )
            ).all()
        )
        hidden = {str(code_of[int(i)]) for i in served.unit_ids[served.is_withheld(node)]}
    out = values.copy()
    out.loc[out.index.isin(hidden), node] = np.nan
    return out


def cluster_layer(
    engine: Engine,
    *,
    city: str | None = None,
    period: str | None = None,
    indicator: str | None = None,
    run: int | None = None,
    marker: str | None = None,
    score: str | None = None,
    level: str | None = None,
    permutations: int = 999,
    k: int = 6,
    seed: int = 12345,
    alpha: float = 0.05,
    fdr: bool = True,
    keep: bool = True,
    publish: bool = False,
    created_by: str = "",
    progress: ProgressCallback | None = None,
) -> ClusterResult:
    """Local Moran's I and Gi* of a stored indicator or of a marker run's score (``run``, or
    the newest run of spec ``marker``), stored as layer ``clusters-<source>-<level>``
    (replacing an earlier one) when ``keep``. ``progress(step, done, total)`` hears of
    reading, the permutations and storing."""
    progress = progress or quiet_progress
    progress(_("Reading the values"), 0, 3)
    store.require_current(engine)
    if sum(x is not None for x in (indicator, run, marker)) != 1:
        raise SpatialError(
            _("Give one of --indicator, --marker SPEC or --run ID (a marker run's score).")
        )
    if marker is not None:
        if city is None or period is None:
            raise SpatialError(_("Give --city and --period with --marker."))
        run = layers.newest_run(engine, city, period, marker, level)
    if not 0 < alpha < 1:
        raise SpatialError(
            _("The significance level {alpha} must lie between 0 and 1 (e.g. 0.05).").format(
                alpha=alpha
            )
        )
    if permutations < 99:
        raise SpatialError(
            _("Use at least 99 permutations (999 is usual): {permutations} is too few.").format(
                permutations=permutations
            )
        )
    if k < 1:
        raise SpatialError(_("--k must be at least 1 neighbour (6 is usual)."))
    run_spec = ""
    if run is not None:
        values, about = layers.marker_scores(engine, run, score)
        values = _published_scores(engine, run, about["node"], values)
        for name, given in (("city", city), ("period", period), ("level", level)):
            if given is not None and given != about[name]:
                raise SpatialError(
                    _("Marker run {run} is for {name} '{value}', not '{given}'.").format(
                        run=run, name=name, value=about[name], given=given
                    )
                )
        city, period, level = about["city"], about["period"], about["level"]
        column = about["node"]
        run_spec = about["spec"]
        source = f"{run_spec}:{column}"
        name = f"clusters-{run_spec}-{column}-{level}"
        # marker scores are normalised so that more is always better
        described: dict[str, Any] = {
            "source_name": about["node_name"],
            "spec_name": about["spec_name"],
            "index": about["index"],
            "direction": "higher_is_better",
            "higher_is_better": True,
        }
    else:
        if city is None or period is None:
            raise SpatialError(_("Give --city and --period with --indicator."))
        assert indicator is not None
        level = level or base_level(engine, city)
        values = _indicator_values(engine, city, period, level, [indicator])
        column = indicator
        source = indicator
        name = f"clusters-{indicator}-{level}"
        described = _indicator_about(engine, indicator)
    assert city is not None and period is not None and level is not None
    values = values[values[column].notna()]
    if len(values) == 0:
        # published values only: disclosure control may withhold every block's score (with 1-4
        # left, clusters() says it needs 5)
        raise SpatialError(
            _(
                "Only {count} units of level '{level}' have a published value of '{column}' "
                "(disclosure control withholds the others): clusters need at least 5; use a "
                "coarser level."
            ).format(count=len(values), level=level, column=column)
        )
    if len(values) <= k:
        raise SpatialError(
            _(
                "Only {count} units of level '{level}' have values of '{column}': use --k below "
                "{count}, or a level with more units."
            ).format(count=len(values), level=level, column=column)
        )
    projected = values.to_crs(values.estimate_utm_crs())
    progress(
        _("Finding clusters ({permutations} permutations)").format(permutations=permutations),
        1,
        3,
    )
    found = find_clusters(
        projected, column, permutations=permutations, alpha=alpha, fdr=fdr, k=k, seed=seed
    )
    frame = gpd.GeoDataFrame(
        values[[column]].rename(columns={column: "value"}).join(found),
        geometry=values.geometry,
        crs=values.crs,
    )
    parameters = {
        "source": source,
        "permutations": permutations,
        "neighbours": "knn",
        "k": k,
        "seed": seed,
        "alpha": alpha,
        "fdr": "benjamini_hochberg" if fdr else None,
        "units": len(frame),
        **described,
    }
    if run is not None:
        parameters["marker_run"] = run
    result = ClusterResult(name=name, frame=frame, parameters=parameters)
    progress(_("Storing the layer"), 2, 3)
    if keep:
        result.layer_id = layers.save_layer(
            engine,
            city=city,
            period=period,
            name=name,
            kind="clusters",
            source=source,
            frame=frame,
            parameters=parameters,
            level=level,
            marker_run_id=run,
            published=publish,
            created_by=created_by,
        )
    progress(_("Clusters found"), 3, 3)
    return result


# -- areal interpolation ------------------------------------------------------------------


@dataclass
class InterpolationResult:
    name: str
    frame: gpd.GeoDataFrame
    extensive: list[str]
    intensive: list[str]
    weight: str
    totals: list[tuple[str, str, float, float]] = field(default_factory=list)
    """(variable, how it is totalled, city figure before, after)."""
    layer_id: int | None = None


def variable_kinds(
    codes: Sequence[str],
    extensive: Sequence[str] = (),
    intensive: Sequence[str] = (),
    catalogue_files: Sequence[Path] = (),
) -> tuple[list[str], list[str]]:
    """Split ``codes`` into counts and rates: explicit choices first, else the catalogue's
    aggregation (``count`` is a count; shares, means, medians and ratios are rates)."""
    from inclusive_cities.catalogue import load_catalogue

    both = set(extensive) & set(intensive)
    if both:
        raise SpatialError(
            _("Indicator '{indicator}' cannot be both --extensive and --intensive.").format(
                indicator=sorted(both)[0]
            )
        )
    catalogue = load_catalogue(catalogue_files)
    counts: list[str] = []
    rates: list[str] = []
    for code in codes:
        if code in extensive:
            counts.append(code)
        elif code in intensive:
            rates.append(code)
        elif code in catalogue and catalogue[code].aggregation in EXTENSIVE_AGGREGATIONS:
            counts.append(code)
        else:
            rates.append(code)
    return counts, rates


def read_target(path: Path, layer: str | None, code: str | None) -> gpd.GeoDataFrame:
    """Target polygons from a file, indexed by ``code`` (or the feature id), in EPSG:4326."""
    import pyogrio

    if not path.exists():
        raise SpatialError(_("There is no target file {path}.").format(path=path))
    try:
        names = [str(n) for n, _kind in pyogrio.list_layers(path)]
    except Exception as error:
        raise SpatialError(
            _("Cannot read the target file {path}: {reason}.").format(path=path, reason=error)
        ) from error
    if layer is not None and layer not in names:
        raise SpatialError(
            _("The target file {path} has no layer '{layer}': its layers are {known}.").format(
                path=path, layer=layer, known=", ".join(names)
            )
        )
    if layer is None and len(names) > 1:
        raise SpatialError(
            _(
                "The target file {path} has several layers ({known}): choose one with --to-layer."
            ).format(path=path, known=", ".join(names))
        )
    chosen = layer or names[0]
    target = pyogrio.read_dataframe(path, layer=chosen, fid_as_index=True)
    if target.crs is None:
        raise SpatialError(
            _(
                "Layer '{layer}' of {path} has no CRS: assign its CRS (QGIS: Layer Properties > "
                "Source) and save it in EPSG:4326."
            ).format(layer=chosen, path=path)
        )
    if CRS.from_user_input(target.crs) != CRS.from_epsg(4326):
        # The units are stored in EPSG:4326; a target with a known CRS is simply reprojected.
        target = target.to_crs("EPSG:4326")
    if code is not None:
        if code not in target.columns:
            raise SpatialError(
                _(
                    "Layer '{layer}' of {path} has no column '{column}': its columns are {known}."
                ).format(
                    layer=chosen,
                    path=path,
                    column=code,
                    known=", ".join(c for c in target.columns if c != "geometry"),
                )
            )
        target = target.set_index(target[code].astype(str))
    else:
        target.index = target.index.astype(str)
    if target.index.has_duplicates:
        duplicate = target.index[target.index.duplicated()][0]
        raise SpatialError(
            _(
                "Code '{code}' appears twice in layer '{layer}' of {path}: codes must be unique."
            ).format(code=duplicate, layer=chosen, path=path)
        )
    target.index.name = "code"
    return target[["geometry"]]


def interpolate_layer(
    engine: Engine,
    *,
    city: str,
    period: str,
    indicators: Sequence[str],
    from_level: str | None = None,
    h3: int | None = None,
    target: gpd.GeoDataFrame | None = None,
    target_label: str = "",
    weight: str = "area",
    extensive: Sequence[str] = (),
    intensive: Sequence[str] = (),
    keep: bool = False,
    publish: bool = False,
    created_by: str = "",
    catalogue_files: Sequence[Path] = (),
    progress: ProgressCallback | None = None,
) -> InterpolationResult:
    """Stored indicators of ``from_level`` moved to an H3 grid or ``target`` polygons.

    Counts are split by the share of each source unit's area in each target; rates are
    averaged weighted by area or, with ``weight="population"``, by census population. The
    city totals of counts (and the weighted means of rates) are computed before and after.
    ``progress(step, done, total)`` hears of reading, each indicator moved, and storing.
    """
    progress = progress or quiet_progress
    store.require_current(engine)
    if not indicators:
        raise SpatialError(_("Name at least one --indicator to move."))
    if weight not in ("area", "population"):
        raise SpatialError(
            _("Weight '{weight}' is unknown: use area or population.").format(weight=weight)
        )
    if (h3 is None) == (target is None):
        raise SpatialError(_("Give either --h3 RESOLUTION or --to FILE, not both."))
    if h3 is not None and not 0 <= h3 <= 15:
        raise SpatialError(
            _("H3 resolution {resolution} does not exist: use 0 to 15 (9 ≈ 0.1 km² cells).").format(
                resolution=h3
            )
        )
    codes = list(dict.fromkeys(indicators))
    steps = len(codes) + 2
    progress(_("Reading the indicators"), 0, steps)
    counts, rates = variable_kinds(codes, extensive, intensive, catalogue_files)
    level = from_level or base_level(engine, city)
    source = _indicator_values(engine, city, period, level, codes)
    if weight == "population" and (
        "population" not in source.columns or source["population"].sum() <= 0
    ):
        raise SpatialError(
            _(
                "City '{city}' has no census population for period {period}: use --weight area, "
                "or import the census first."
            ).format(city=city, period=period)
        )
    source = source.to_crs(source.estimate_utm_crs())
    grid = h3_grid(source, h3) if h3 is not None else target.to_crs(source.crs)  # type: ignore[union-attr]
    out = gpd.GeoDataFrame(index=grid.index, geometry=grid.geometry, crs=grid.crs)
    out.index.name = "code"
    totals: list[tuple[str, str, float, float]] = []
    for number, code in enumerate(codes, start=1):
        progress(_("Moving {indicator}").format(indicator=code), number, steps)
        rows = source[source[code].notna()].copy()
        rows["_area"] = rows.geometry.area
        if code in counts:
            moved = interpolate(rows, grid, extensive=[code])
            out[code] = moved[code].to_numpy()
            totals.append((code, _("sum"), float(rows[code].sum()), float(np.nansum(out[code]))))
            continue
        by = "population" if weight == "population" else "_area"
        moved = interpolate(rows, grid, intensive=[code], population=by)
        out[code] = moved[code].to_numpy()
        w_after = moved[by].to_numpy()
        mask = np.isfinite(out[code].to_numpy()) & (w_after > 0)
        before = float(np.average(rows[code], weights=rows[by])) if rows[by].sum() > 0 else np.nan
        after = (
            float(np.average(out[code].to_numpy()[mask], weights=w_after[mask]))
            if mask.any()
            else float("nan")
        )
        label = _("population-weighted mean") if by == "population" else _("area-weighted mean")
        totals.append((code, label, before, after))
    if "population" in source.columns and "population" not in codes:
        moved = interpolate(source, grid, extensive=["population"])
        out["population"] = moved["population"].to_numpy()
        kept = (float(source["population"].sum()), float(np.nansum(out["population"])))
        totals.append(("population", _("sum"), *kept))
    out = out.to_crs("EPSG:4326")
    target_name = f"h3-{h3}" if h3 is not None else (target_label or "target")
    name = f"interpolation-{'-'.join(codes)}-{level}-to-{target_name}"[:120]
    result = InterpolationResult(
        name=name,
        frame=out,
        extensive=list(dict.fromkeys(counts + (["population"] if "population" in out else []))),
        intensive=rates,
        weight=weight,
        totals=totals,
    )
    progress(_("Storing the layer"), steps - 1, steps)
    if keep:
        attributes = [c for c in out.columns if c != "geometry"]
        result.layer_id = layers.save_layer(
            engine,
            city=city,
            period=period,
            name=name,
            kind="interpolation",
            source=",".join(codes),
            target=target_name,
            frame=out,
            parameters={
                "from_level": level,
                "h3_resolution": h3,
                "target": target_name,
                "weight": weight,
                "extensive": result.extensive,
                "intensive": rates,
            },
            attributes=attributes,
            level=level,
            published=publish,
            created_by=created_by,
        )
    progress(_("Layer ready"), steps, steps)
    return result


def frame_for_file(frame: pd.DataFrame) -> pd.DataFrame:
    """A layer's features with the code as a column (GeoPackage and CSV writers)."""
    return frame.reset_index() if frame.index.name == "code" else frame
