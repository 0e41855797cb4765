"""Page-level answers built from published data: overview, map layers, profiles, rankings."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from inclusive_cities.cache import Cache
from inclusive_cities.disclosure.rank_intervals import (
    PublicRankIntervals,
    compute_in_background,
    public_rank_intervals,
)
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n.units import unit_digits, unit_label
from inclusive_cities.store import models
from inclusive_cities.store.web_models import PublishedLayer
from inclusive_cities.web import data
from inclusive_cities.web.errors import BadRequest, NotFound
from inclusive_cities.web.specview import SpecProvider, SpecView

NO_DATA_COLOUR = "#bdbdbd"
WITHHELD_COLOUR = "#6b6b8a"
"""A withheld figure is not a missing one: its own class, darker than "no data" and off
every data palette, so a planner never reads half the city as without data."""
RDYLGN = {
    3: ["#fc8d59", "#ffffbf", "#91cf60"],
    4: ["#d7191c", "#fdae61", "#a6d96a", "#1a9641"],
    5: ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"],
    6: ["#d73027", "#fc8d59", "#fee08b", "#d9ef8b", "#91cf60", "#1a9850"],
    7: ["#d73027", "#fc8d59", "#fee08b", "#ffffbf", "#d9ef8b", "#91cf60", "#1a9850"],
}
"""ColorBrewer RdYlGn (Brewer 2002), red = worse, green = better, as the UIM viewers use."""
BLUES = {
    1: ["#6baed6"],
    2: ["#9ecae1", "#3182bd"],
    3: ["#deebf7", "#9ecae1", "#3182bd"],
    4: ["#eff3ff", "#bdd7e7", "#6baed6", "#2171b5"],
    5: ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
    6: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"],
    7: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"],
}
"""ColorBrewer Blues (sequential, one hue) for neutral figures such as the share of Venezuelans:
darker is more, never better or worse, so no place is painted as failing for who lives there."""
PUOR = ["#e66101", "#fdb863", "#f7f7f7", "#b2abd2", "#5e3c99"]
"""ColorBrewer PuOr: the change of a neutral figure, decrease to increase, with no red or green."""
CATEGORY_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"]
CHANGE_BREAKS = (-10.0, -2.0, 2.0, 10.0)
CLASSIFICATIONS = ("levels", "quantiles", "natural_breaks")


def city_by_code(session: Session, code: str) -> models.City:
    city = session.scalar(select(models.City).where(models.City.code == code))
    if city is None:
        raise NotFound(_("There is no city with code {code}.").format(code=code))
    return city


def published_periods(session: Session, city_id: int) -> list[models.Period]:
    """Periods with a published run or layer for the city, oldest first."""
    run_periods = select(models.MarkerRun.period_id).where(
        models.MarkerRun.city_id == city_id, models.MarkerRun.published.is_(True)
    )
    layer_periods = select(PublishedLayer.period_id).where(PublishedLayer.city_id == city_id)
    return list(
        session.scalars(
            select(models.Period)
            .where(models.Period.id.in_(run_periods.union(layer_periods)))
            .order_by(models.Period.start_date, models.Period.code)
        )
    )


def pick_period(session: Session, city_id: int, code: str | None) -> models.Period:
    periods = published_periods(session, city_id)
    if not periods:
        raise NotFound(_("Nothing has been published for this city yet."))
    if code is None:
        return periods[-1]
    for period in periods:
        if period.code == code:
            return period
    raise NotFound(_("Period {code} has no published data for this city.").format(code=code))


def published_run(session: Session, city_id: int, period_id: int) -> models.MarkerRun | None:
    return session.scalar(
        select(models.MarkerRun)
        .where(
            models.MarkerRun.city_id == city_id,
            models.MarkerRun.period_id == period_id,
            models.MarkerRun.published.is_(True),
        )
        .order_by(models.MarkerRun.id.desc())
        .limit(1)
    )


# -- coverage, levels, specs -----------------------------------------------------------------


@dataclass
class Coverage:
    """Which of the index's areas each unit of a run has a score for.

    Derived from the stored scores (an area with no score is missing), so every page,
    download and API answer tells a four-of-five-areas index from a whole one."""

    areas: list[Any]
    share: np.ndarray
    missing: list[list[str]]

    def at(self, i: int, language: str) -> tuple[float, list[str]]:
        """Unit ``i``'s share of areas with data and the names of those without."""
        names = {a.code: a.name(language) for a in self.areas}
        return float(self.share[i]), [names[c] for c in self.missing[i]]


def run_coverage(scores: data.RunScores, spec: SpecView) -> Coverage:
    """Coverage of every unit of a run, over the spec's areas (the root's children)."""
    areas = spec.areas()
    n = len(scores.unit_ids)
    if not areas:
        return Coverage([], np.ones(n), [[] for _i in range(n)])
    present = np.column_stack(
        [
            scores.present(a.code) if a.code in scores.nodes else np.zeros(n, bool)
            for a in areas  # a score withheld for confidentiality is not missing data
        ]
    )
    codes = np.asarray([a.code for a in areas], dtype=object)
    missing = [codes[~row].tolist() for row in present]
    return Coverage(areas, present.mean(axis=1), missing)


def source_text(text: str | None) -> str:
    """A goalpost's source in the reader's language: the built-in specs' sources are in the
    catalogue (realdata_commands.po); a city's own text is shown as its author wrote it."""
    return _(text) if text else ""


def partial_text(missing: list[str]) -> str:
    """ "partial: housing without data" for a unit whose index lacks some areas."""
    return _("partial: {areas} without data").format(areas=", ".join(missing))


def has_parent_level(units: data.UnitTable, unit_ids: Any = None) -> bool:
    """True when some unit (of ``unit_ids``, else of the city) belongs to a larger one; with
    one level only, a unit's "locality" is itself, and a Locality filter or column would
    only repeat its code."""
    rows = range(len(units.codes)) if unit_ids is None else [units.row(int(u)) for u in unit_ids]
    return any(units.locality_code[r] != units.codes[r] for r in rows)


def collection_spec(
    session: Session, provider: SpecProvider, collection: data.Collection
) -> SpecView | None:
    """The spec a published marker collection was computed with: the recipe its run
    stored (a city's own spec too), else the provider's spec of that code."""
    if collection.kind != "marker" or collection.run_id is None:
        return None
    run = session.get(models.MarkerRun, collection.run_id)
    stored = data.stored_spec(run) if run is not None else None
    return stored or provider(collection.spec_code)


# -- layers ----------------------------------------------------------------------------------


@dataclass
class LayerOption:
    key: str
    kind: str
    label: str
    group: str
    depth: int = 0


def layer_options(
    session: Session, provider: SpecProvider, city_id: int, period_id: int, language: str
) -> list[LayerOption]:
    """Every layer the map can draw for a city and period, index first."""
    options: list[LayerOption] = []
    run = published_run(session, city_id, period_id)
    if run is not None:
        scores = data.run_scores(session, run.id)
        spec = data.spec_for(provider, scores)
        groups = {0: _("Index"), 1: _("Areas"), 2: _("Dimensions")}
        kinds = {0: "index", 1: "area", 2: "dimension"}
        for node in spec.nodes:
            if node.code in scores.nodes:
                depth = min(node.depth, 3)
                options.append(
                    LayerOption(
                        key=f"node:{node.code}",
                        kind="indicator" if node.is_indicator else kinds.get(depth, "dimension"),
                        label=node.name(language),
                        group=_("Indicators")
                        if node.is_indicator
                        else groups.get(depth, _("Dimensions")),
                        depth=depth,
                    )
                )
    rows = session.execute(
        select(models.Indicator)
        .join(PublishedLayer, PublishedLayer.indicator_id == models.Indicator.id)
        .where(PublishedLayer.city_id == city_id, PublishedLayer.period_id == period_id)
        .order_by(models.Indicator.code)
    ).scalars()
    for indicator in rows:
        kind = indicator_kind(session, indicator, period_id)
        group = {
            "survey": _("Survey layers"),
            "cluster": _("Cluster layers"),
        }.get(kind, _("Indicators"))
        options.append(
            LayerOption(
                key=f"ind:{indicator.code}",
                kind=kind,
                label=indicator.name_es if language == "es" else indicator.name_en,
                group=group,
            )
        )
    return options


def indicator_kind(session: Session, indicator: models.Indicator, period_id: int) -> str:
    """'cluster' for cluster labels, 'survey' for design-based estimates, else 'indicator'.

    Only an estimate makes a survey layer: a census layer with cells withheld for disclosure
    (status 'suppressed') is still a census layer (trial #4 F8: filed under "survey layers",
    it told a planner that unemployment came from the survey of migrants)."""
    if "cluster" in indicator.code.lower() or indicator.area.lower() == "cluster":
        return "cluster"
    estimated = session.scalar(
        select(models.Observation.id)
        .where(
            models.Observation.indicator_id == indicator.id,
            models.Observation.period_id == period_id,
            (models.Observation.status == "estimated")
            | models.Observation.standard_error.is_not(None),
        )
        .limit(1)
    )
    return "survey" if estimated is not None else "indicator"


@dataclass
class LayerValues:
    key: str
    kind: str
    title: str
    level_id: int | None
    unit_ids: np.ndarray
    values: np.ndarray
    level_codes: list[str | None] | None
    spec: SpecView | None
    direction: str = "higher_is_better"
    unit: str = ""
    source: str = ""
    partial: list[str] | None = None  # per unit: "partial: housing without data", or ""
    withheld: np.ndarray | None = None  # per unit: disclosure control withheld the figure


def layer_values(
    session: Session,
    provider: SpecProvider,
    city_id: int,
    period_id: int,
    key: str,
    language: str,
) -> LayerValues:
    kind, _sep, code = key.partition(":")
    if kind == "node":
        run = published_run(session, city_id, period_id)
        if run is None:
            raise NotFound(_("No marker run is published for this period."))
        scores = data.run_scores(session, run.id)
        if code not in scores.nodes:
            raise NotFound(_("The layer {layer} is not published.").format(layer=code))
        spec = data.spec_for(provider, scores)
        node = spec.node(code)
        coverage = run_coverage(scores, spec)
        partial = [coverage.at(i, language)[1] for i in range(len(scores.unit_ids))]
        return LayerValues(
            key=key,
            kind="node",
            title=node.name(language) if node else code,
            level_id=run.level_id,
            unit_ids=scores.unit_ids,
            values=scores.column(code),
            level_codes=scores.levels[code],
            spec=spec,
            unit=f"/ {spec.scale_upper:g}",  # a score, not the raw value: "80 / 100", not "80 m"
            source=spec.name(language),
            partial=[partial_text(names) if names else "" for names in partial],
            withheld=scores.is_withheld(code),
        )
    if kind == "ind":
        row = session.execute(
            select(models.Indicator)
            .join(PublishedLayer, PublishedLayer.indicator_id == models.Indicator.id)
            .where(
                PublishedLayer.city_id == city_id,
                PublishedLayer.period_id == period_id,
                models.Indicator.code == code,
            )
        ).scalar()
        if row is None:
            raise NotFound(_("The layer {layer} is not published.").format(layer=code))
        observations = data.indicator_observations(session, row.id, period_id, city_id)
        level_id = None
        if observations:
            level_id = session.scalar(
                select(models.SpatialUnit.level_id).where(
                    models.SpatialUnit.id == observations[0].unit_id
                )
            )
        return LayerValues(
            key=key,
            kind=indicator_kind(session, row, period_id),
            title=row.name_es if language == "es" else row.name_en,
            level_id=level_id,
            unit_ids=np.array([o.unit_id for o in observations], dtype=np.int64),
            values=np.array(
                [np.nan if o.value is None else o.value for o in observations], dtype=float
            ),
            level_codes=None,
            spec=None,
            direction=row.direction,
            unit=unit_label(row.unit),
            source=human_source(session, row, session.get(models.Period, period_id), city_id),
            withheld=np.array([o.status == "suppressed" for o in observations], dtype=bool),
        )
    raise BadRequest(_("Layer {layer} is not valid: use node:CODE or ind:CODE.").format(layer=key))


@dataclass
class Classes:
    """Each unit's class, colour and label, and the legend that explains them."""

    index: np.ndarray
    colours: list[str]
    labels: list[str]
    codes: list[str]
    legend: list[dict[str, Any]] = field(default_factory=list)


def _fmt(value: float, language: str = "en") -> str:
    """A class boundary: one decimal below 1,000, in the page language's number format."""
    return format_number(value, 1 if abs(value) < 1000 else 0, language)


def classify(
    values: np.ndarray,
    method: str,
    k: int,
    language: str,
    *,
    spec: SpecView | None = None,
    level_codes: list[str | None] | None = None,
    direction: str = "higher_is_better",
    change: bool = False,
    categorical: bool = False,
    withheld: np.ndarray | None = None,
) -> Classes:
    """Classes for a choropleth: performance levels, quantiles, natural breaks or change.

    ``direction`` picks the colours: red to green for a ranked indicator (reversed when lower
    is better); one hue (blues) for a ``neutral`` figure, which has no performance levels."""
    n = len(values)
    present = ~np.isnan(values)
    index = np.full(n, -1, dtype=np.int64)
    colours: list[str]
    labels: list[str]
    codes: list[str]
    if categorical:
        cats = sorted({float(v) for v in values[present]})
        colours = [CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(cats))]
        labels = [_("Class {value}").format(value=_fmt(c, language)) for c in cats]
        codes = [f"c{i}" for i in range(len(cats))]
        lookup = {c: i for i, c in enumerate(cats)}
        for i in np.flatnonzero(present):
            index[i] = lookup[float(values[i])]
    elif change:
        breaks = list(CHANGE_BREAKS)
        if direction in ("neutral", "unknown"):
            palette = PUOR
        elif direction == "lower_is_better":
            palette = RDYLGN[5][::-1]
        else:
            palette = RDYLGN[5]
        colours = palette
        labels = [
            _("Worsened by more than {x} points").format(x=_fmt(-breaks[0], language)),
            _("Worsened by {a} to {b} points").format(
                a=_fmt(-breaks[1], language), b=_fmt(-breaks[0], language)
            ),
            _("No notable change (±{x})").format(x=_fmt(breaks[2], language)),
            _("Improved by {a} to {b} points").format(
                a=_fmt(breaks[2], language), b=_fmt(breaks[3], language)
            ),
            _("Improved by more than {x} points").format(x=_fmt(breaks[3], language)),
        ]
        if direction in ("lower_is_better", "neutral", "unknown"):  # more is not better
            labels = [
                _("Decreased by more than {x}").format(x=_fmt(-breaks[0], language)),
                _("Decreased by {a} to {b}").format(
                    a=_fmt(-breaks[1], language), b=_fmt(-breaks[0], language)
                ),
                _("No notable change (±{x})").format(x=_fmt(breaks[2], language)),
                _("Increased by {a} to {b}").format(
                    a=_fmt(breaks[2], language), b=_fmt(breaks[3], language)
                ),
                _("Increased by more than {x}").format(x=_fmt(breaks[3], language)),
            ]
        codes = ["ch0", "ch1", "ch2", "ch3", "ch4"]
        index[present] = np.searchsorted(breaks, values[present], side="right")
    elif method == "levels" and spec is not None and direction not in ("neutral", "unknown"):
        # performance levels rank; a neutral (or undeclared) figure falls back to quantiles,
        # as grid layers do
        ordered = sorted(spec.levels, key=lambda lv: -lv.min)
        colours = [lv.colour for lv in ordered]
        labels = [lv.label(language) for lv in ordered]
        codes = [lv.code for lv in ordered]
        position = {lv.code: i for i, lv in enumerate(ordered)}
        for i in np.flatnonzero(present):
            code = level_codes[i] if level_codes else None
            if code not in position:
                found = spec.level_for(float(values[i]))
                code = found.code if found else None
            if code in position:
                index[i] = position[code]  # type: ignore[index]
    else:
        data_values = values[present]
        distinct = len(np.unique(data_values))
        k = max(1, min(k, distinct, 7))
        if method == "natural_breaks" and k >= 2:
            import mapclassify  # slow to import; only Jenks needs it

            bins = mapclassify.NaturalBreaks(data_values, k=k).bins
        elif k >= 2:
            # upper bounds at the i/k percentiles, as mapclassify.Quantiles defines them
            bins = np.unique(np.percentile(data_values, [100 * i / k for i in range(1, k + 1)]))
        else:
            bins = np.array([data_values.max()]) if distinct else np.array([])
        k = len(bins)
        if direction in ("neutral", "unknown"):
            palette = BLUES.get(k, BLUES[7][:k])
        else:
            palette = RDYLGN.get(k, RDYLGN[5][:k]) if k >= 3 else ["#fdae61", "#a6d96a"][:k]
            if direction == "lower_is_better":
                palette = palette[::-1]
        colours = list(palette)
        low = float(data_values.min()) if distinct else 0.0
        labels = []
        for band, top in enumerate(bins.tolist()):
            bottom = low if band == 0 else float(bins[band - 1])
            labels.append(
                _("{low} to {high}").format(
                    low=_fmt(bottom, language), high=_fmt(float(top), language)
                )
            )
        codes = [f"q{i}" for i in range(k)]
        if k:
            index[present] = np.minimum(
                np.searchsorted(np.asarray(bins, dtype=float), values[present], side="left"),
                k - 1,
            )
    counts: Any = np.bincount(index[index >= 0], minlength=len(colours)) if len(colours) else []
    legend = [
        {"code": codes[i], "colour": colours[i], "label": labels[i], "count": int(counts[i])}
        for i in range(len(colours))
    ]
    hidden = np.zeros(n, dtype=bool) if withheld is None else (withheld & ~present)
    missing = int(((index < 0) & ~hidden).sum())
    legend.append({"code": "na", "colour": NO_DATA_COLOUR, "label": _("No data"), "count": missing})
    if hidden.any():
        legend.append(
            {
                "code": "withheld",
                "colour": WITHHELD_COLOUR,
                "label": _("Withheld for confidentiality"),
                "count": int(hidden.sum()),
            }
        )
    return Classes(index=index, colours=colours, labels=labels, codes=codes, legend=legend)


def map_layer_json(
    session: Session,
    provider: SpecProvider,
    city: models.City,
    period: models.Period,
    key: str,
    *,
    zoom: int | None,
    method: str,
    k: int,
    compare: models.Period | None,
    language: str,
) -> str:
    """A GeoJSON FeatureCollection ready to draw, with the legend as a foreign member.

    Cached under the inputs and a stamp of the data (published runs, layer observations,
    units), so repeated map views cost one or two small queries.
    """
    if method not in CLASSIFICATIONS:
        raise BadRequest(
            _(
                "Classification {method} is not known: use levels, quantiles or natural_breaks."
            ).format(method=method)
        )
    periods = [period.id] + ([compare.id] if compare is not None else [])
    stamp = (
        tuple(
            session.execute(
                select(models.MarkerRun.id)
                .where(
                    models.MarkerRun.city_id == city.id,
                    models.MarkerRun.period_id.in_(periods),
                    models.MarkerRun.published.is_(True),
                )
                .order_by(models.MarkerRun.id)
            ).scalars()
        ),
        tuple(
            session.execute(
                select(func.count(PublishedLayer.id), func.max(PublishedLayer.id)).where(
                    PublishedLayer.city_id == city.id
                )
            ).one()
        ),
        data.observations_fingerprint(session),
        data.units_fingerprint(session, city.id),
    )
    cache_key = ("map", city.id, period.id, key, zoom, method, k, tuple(periods), language, stamp)
    return data.MAP_CACHE.get(
        cache_key,
        lambda: _map_layer_json(
            session, provider, city, period, key, zoom, method, k, compare, language
        ),
    )


def _map_layer_json(
    session: Session,
    provider: SpecProvider,
    city: models.City,
    period: models.Period,
    key: str,
    zoom: int | None,
    method: str,
    k: int,
    compare: models.Period | None,
    language: str,
) -> str:
    layer = layer_values(session, provider, city.id, period.id, key, language)
    geoms = data.level_geometries(session, city.id, layer.level_id)
    units = data.unit_table(session, city.id)
    position = {int(u): i for i, u in enumerate(layer.unit_ids)}
    values = np.array(
        [layer.values[position[int(u)]] if int(u) in position else np.nan for u in geoms.unit_ids],
        dtype=float,
    )
    level_codes = (
        [
            layer.level_codes[position[int(u)]] if int(u) in position else None
            for u in geoms.unit_ids
        ]
        if layer.level_codes is not None
        else None
    )
    withheld = np.array(
        [
            bool(layer.withheld[position[int(u)]])
            if layer.withheld is not None and int(u) in position
            else False
            for u in geoms.unit_ids
        ],
        dtype=bool,
    )
    change = compare is not None
    if change:
        assert compare is not None
        before = layer_values(session, provider, city.id, compare.id, key, language)
        if before.withheld is not None:  # a change from a withheld figure is withheld too
            was = {int(u): bool(w) for u, w in zip(before.unit_ids, before.withheld, strict=True)}
            withheld |= np.array([was.get(int(u), False) for u in geoms.unit_ids], dtype=bool)
        before_at = {int(u): v for u, v in zip(before.unit_ids, before.values, strict=True)}
        values = values - np.array(
            [before_at.get(int(u), np.nan) for u in geoms.unit_ids], dtype=float
        )
    if change:
        effective_method = "change"
    elif layer.kind == "cluster":
        effective_method = "categories"
    elif layer.kind == "node":
        effective_method = method
    else:
        effective_method = "quantiles" if method == "levels" else method
    classes = classify(
        values,
        effective_method,
        k,
        language,
        spec=layer.spec,
        level_codes=level_codes,
        direction=layer.direction,
        change=change,
        categorical=layer.kind == "cluster" and not change,
        withheld=withheld,
    )
    geometry = geoms.json_at(zoom)
    parts = []
    with_locality = has_parent_level(units, geoms.unit_ids)  # else a unit's "locality" is itself
    for i, unit_id in enumerate(geoms.unit_ids):
        row = units.row(int(unit_id))
        cls = int(classes.index[i])
        value = values[i]
        props = {
            "code": units.codes[row],
            "name": units.names[row],
            "loc": units.locality_code[row] if with_locality else "",
            "loc_name": units.locality_name[row] if with_locality else "",
            "value": None if np.isnan(value) else round(float(value), 2),
            "cls": classes.codes[cls] if cls >= 0 else "na",
            "colour": classes.colours[cls] if cls >= 0 else NO_DATA_COLOUR,
            "label": classes.labels[cls] if cls >= 0 else _("No data"),
        }
        if cls < 0 and withheld[i]:
            props["cls"], props["colour"] = "withheld", WITHHELD_COLOUR
            props["label"] = _("Withheld for confidentiality")
        note = (
            layer.partial[position[int(unit_id)]]
            if layer.partial and int(unit_id) in position
            else ""
        )
        if note and cls >= 0 and not change:  # the popup says the index is partial
            props["label"] = f"{props['label']} ({note})"
        parts.append(
            '{"type":"Feature","id":'
            + str(int(unit_id))
            + ',"geometry":'
            + geometry[i]
            + ',"properties":'
            + data.dumps(props)
            + "}"
        )
    bounds = geoms.bounds
    bbox = (
        [
            float(np.nanmin(bounds[:, 0])),
            float(np.nanmin(bounds[:, 1])),
            float(np.nanmax(bounds[:, 2])),
            float(np.nanmax(bounds[:, 3])),
        ]
        if len(bounds)
        else None
    )
    meta = {
        "layer": key,
        "title": layer.title,
        "period": period.code,
        "compare": compare.code if compare else None,
        "classification": effective_method,
        "direction": layer.direction,
        "unit": layer.unit,
        "source": layer.source,
        "legend": classes.legend,
        "bbox": bbox,
        "synthetic": city.is_synthetic,
    }
    head = data.dumps({"type": "FeatureCollection", **meta})[:-1]
    return head + ',"features":[' + ",".join(parts) + "]}"


# -- overview, profile, rankings ------------------------------------------------------------


@dataclass
class Figure:
    label: str
    value: str
    source: str = ""
    date: str = ""


@dataclass
class Overview:
    city: models.City
    period: models.Period
    periods: list[models.Period]
    run: models.MarkerRun | None
    spec: SpecView | None
    score: float | None
    level: Any
    areas: list[dict[str, Any]]
    distribution: list[dict[str, Any]]
    figures: list[Figure]
    population: float | None
    migrant_share: float | None
    unit_count: int
    """Units whose index the public sees (withheld ones are not counted)."""
    partial_units: int = 0
    missing_areas: list[str] = field(default_factory=list)
    distribution_note: str = ""
    scored_count: int = 0
    """Units with an index, published or withheld for confidentiality."""


def format_number(value: float, digits: int, language: str) -> str:
    """1,234.5 in English, 1.234,5 in Spanish (:func:`inclusive_cities.i18n.format_number`)."""
    from inclusive_cities import i18n

    return i18n.format_number(value, digits, language)


def _period_date(period: models.Period) -> str:
    if period.end_date:
        return period.end_date.isoformat()
    if period.start_date:
        return period.start_date.isoformat()
    return period.label or period.code


def _one_level(
    session: Session, values: dict[int, float], run: models.MarkerRun | None
) -> dict[int, float]:
    """The values of the run's units, or else of the coarsest level that has values."""
    if not values:
        return values
    levels = dict(
        session.execute(
            select(models.SpatialUnit.id, models.SpatialUnit.level_id).where(
                models.SpatialUnit.id.in_(list(values))
            )
        ).all()
    )
    if run is not None and run.level_id is not None and run.level_id in levels.values():
        chosen = run.level_id
    else:
        depth = dict(session.execute(select(models.UnitLevel.id, models.UnitLevel.depth)).all())
        chosen = min(set(levels.values()), key=lambda level: depth.get(level, 0))
    return {unit: value for unit, value in values.items() if levels.get(unit) == chosen}


@dataclass(frozen=True)
class PublishedTotal:
    """A city-wide sum made only of published figures, and whether it covers the whole city."""

    value: float
    complete: bool


class UnitCover:
    """Sums of published unit figures over the unit tree, so a headline is never a silent part.

    A unit whose own figure is withheld is covered by its children when all of them are
    (recursively); every sum is then of published figures only, so it gives nothing away
    that the public pages do not already show."""

    def __init__(self, session: Session, city_id: int, values: dict[int, float]) -> None:
        rows = session.execute(
            select(models.SpatialUnit.id, models.SpatialUnit.parent_id).where(
                models.SpatialUnit.city_id == city_id
            )
        ).all()
        ids = {unit for unit, _parent in rows}
        self.children: dict[int, list[int]] = {}
        self.tops: list[int] = []
        for unit, parent in rows:
            if parent is None or parent not in ids:
                self.tops.append(unit)
            else:
                self.children.setdefault(parent, []).append(unit)
        self.values = values
        self._memo: dict[int, tuple[float, bool]] = {}

    def unit(self, unit_id: int) -> tuple[float, bool]:
        """(sum of the published figures under the unit, True when they cover all of it)."""
        if unit_id in self._memo:
            return self._memo[unit_id]
        if unit_id in self.values:
            found = (float(self.values[unit_id]), True)
        else:
            total, complete = 0.0, bool(self.children.get(unit_id))
            for child in self.children.get(unit_id, []):
                value, whole = self.unit(child)
                total += value
                complete = complete and whole
            found = (total, complete)
        self._memo[unit_id] = found
        return found

    def city(self) -> PublishedTotal | None:
        """The city's total, or None when no figure is published at all."""
        if not self.values:
            return None
        parts = [self.unit(top) for top in self.tops]
        return PublishedTotal(sum(v for v, _w in parts), all(w for _v, w in parts))

    def complete_value(self, unit_id: int) -> float:
        """The unit's published total, NaN when part of it is withheld."""
        value, whole = self.unit(unit_id)
        return value if whole else float("nan")


SOURCES = Cache(size=4096)
"""Each indicator's source in words (:func:`human_source`), per period, city, language and
state of the observations: one query per indicator made a unit page 0.6 s slower."""


def _named_source(source: object, file_name: str) -> bool:
    """A source a person wrote at import, rather than the file name or our own provenance."""
    text = str(source or "").strip()
    return bool(text) and text != file_name and "inclusive-cities" not in text


def human_source(
    session: Session,
    indicator: models.Indicator | None,
    period: models.Period | None,
    city_id: int,
) -> str:
    """Where a figure comes from, in words a planner reads: "2024 census, computed by the
    observatory", the imported file, the survey. The technical provenance (batches, commands)
    stays in the downloads and the API."""
    if indicator is None or period is None:
        return ""
    # DISTINCT on plain columns only: PostgreSQL has no equality for the JSON details
    rows = session.execute(
        select(models.Observation.status, models.Observation.source, models.Observation.batch_id)
        .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
        .where(
            models.Observation.indicator_id == indicator.id,
            models.Observation.period_id == period.id,
            models.SpatialUnit.city_id == city_id,
            models.Observation.status != "suppressed",
        )
        .distinct()
        .limit(20)
    ).all()
    batch_ids = {batch_id for _s, _source, batch_id in rows if batch_id is not None}
    batches = {
        batch.id: batch
        for batch in session.scalars(
            select(models.ImportBatch).where(models.ImportBatch.id.in_(batch_ids))
        )
    }
    parts: list[str] = []
    for status, source, batch_id in rows:
        batch = batches.get(batch_id) if batch_id is not None else None
        kind = batch.kind if batch is not None else ""
        file_name = batch.file_name if batch is not None else ""
        details = batch.details if batch is not None else None
        if kind.startswith("census"):
            text = (
                _("{period} census, computed by the observatory")
                if status == "computed"
                else _("{period} census")
            ).format(period=period.code)
        elif kind == "survey" or str(source).startswith("survey:"):
            name = (details or {}).get("survey") or str(source).partition(":")[2] or file_name
            text = _("Survey {name}").format(name=name)
        elif kind and status != "computed" and _named_source(source, file_name):
            # the source the analyst declared (--source "INEC, censo 2010"), not the file
            text = _("{source} (file {file})").format(source=source, file=file_name)
        elif kind:
            text = (
                _("{file}, computed by the observatory")
                if status == "computed"
                else _("Imported file {file}")
            ).format(file=file_name)
        elif source:
            text = str(source)
        else:
            continue
        if text not in parts:
            parts.append(text)
    if not parts and indicator.source and "inclusive-cities" not in indicator.source:
        parts.append(indicator.source)
    return "; ".join(parts[:3])


def overview(
    session: Session,
    provider: SpecProvider,
    city: models.City,
    period_code: str | None,
    language: str,
) -> Overview:
    period = pick_period(session, city.id, period_code)
    periods = published_periods(session, city.id)
    run = published_run(session, city.id, period.id)
    figures: list[Figure] = []
    pop_codes = data.POPULATION_CODES
    if run is not None and (run.parameters or {}).get("population_indicator"):
        pop_codes = (str(run.parameters["population_indicator"]), *pop_codes)  # type: ignore[index,assignment]
    population, pop_indicator = data.unit_values_by_code(session, pop_codes, period.id, city.id)
    shares, share_indicator = data.unit_values_by_code(
        session, data.MIGRANT_SHARE_CODES, period.id, city.id
    )
    spec = None
    score = None
    level = None
    areas: list[dict[str, Any]] = []
    distribution: list[dict[str, Any]] = []
    unit_count = 0
    scored_count = 0
    partial_units = 0
    missing_areas: list[str] = []
    total_population = None
    distribution_note = ""
    # a withheld figure is replaced by its published children, never silently dropped
    pop_cover = UnitCover(session, city.id, population) if population else None
    # counts are stored at every level (blocks, neighbourhoods, localities): add up one level
    population = _one_level(session, population, run)
    shares = _one_level(session, shares, run)
    if run is not None:
        scores = data.run_scores(session, run.id)
        spec = data.spec_for(provider, scores)
        root = spec.root
        root_code = root.code if root else scores.nodes[0]
        # the headline counts what the public sees: units whose index is published, not
        # every unit scored (on the medium demo 80 of 162; the rest are withheld)
        shown = (
            ~np.isnan(scores.column(root_code))
            if root_code in scores.nodes
            else np.zeros(len(scores.unit_ids), bool)
        )
        unit_count = int(shown.sum())
        scored_count = int(scores.present(root_code).sum()) if root_code in scores.nodes else 0
        coverage = run_coverage(scores, spec)
        partial_units = int((coverage.share[shown] < 1).sum())
        missing_codes = {code for i in np.flatnonzero(shown) for code in coverage.missing[i]}
        missing_areas = [a.name(language) for a in coverage.areas if a.code in missing_codes]
        weights = np.array(
            [
                pop_cover.complete_value(int(u)) if pop_cover is not None else np.nan
                for u in scores.unit_ids
            ]
        )
        use_weights = weights if population and not np.isnan(weights).all() else None
        score = run.city_score
        if score is None and root_code in scores.nodes:
            score = data.weighted_mean(scores.column(root_code), use_weights)
        level = spec.level_for(score)
        for node in spec.areas():
            if node.code in scores.nodes:
                value = data.weighted_mean(scores.column(node.code), use_weights)
                found = spec.level_for(value)
                areas.append(
                    {
                        "code": node.code,
                        "name": node.name(language),
                        "score": value,
                        "level": found.label(language) if found else "",
                        "colour": found.colour if found else NO_DATA_COLOUR,
                    }
                )
        if root_code in scores.nodes:
            root_scores = scores.column(root_code)
            codes = scores.levels[root_code]
            total = 0.0
            unweighted = 0
            counts: dict[str, float] = {}
            for i, value in enumerate(root_scores):
                code = codes[i]
                if code is None and not np.isnan(value):
                    found = spec.level_for(float(value))
                    code = found.code if found else None
                if code is None:
                    continue
                if use_weights is not None and np.isnan(use_weights[i]):
                    unweighted += 1
                    continue
                w = 1.0 if use_weights is None else float(use_weights[i])
                counts[code] = counts.get(code, 0.0) + w
                total += w
            for lv in sorted(spec.levels, key=lambda x: -x.min) if total else []:
                amount = counts.get(lv.code, 0.0)
                distribution.append(
                    {
                        "code": lv.code,
                        "label": lv.label(language),
                        "colour": lv.colour,
                        "amount": amount,
                        "share": (100 * amount / total) if total else 0.0,
                    }
                )
            if unweighted:
                distribution_note = _(
                    "Population of the units whose population is published: {count} of {total}"
                    " units are left out because their population is withheld."
                ).format(count=unweighted, total=unit_count)
        figures.append(
            Figure(
                _("Spatial units with a published index"),
                (
                    _("{count} of {total}").format(
                        count=format_number(unit_count, 0, language),
                        total=format_number(scored_count, 0, language),
                    )
                    if scored_count > unit_count
                    else format_number(unit_count, 0, language)
                ),
                spec.name(language),
                run.created_at.date().isoformat(),
            )
        )
    city_population = pop_cover.city() if pop_cover is not None else None
    if city_population is not None:
        total_population = city_population.value
        figures.insert(
            0,
            Figure(
                _("Population")
                if city_population.complete
                else _("Population of the published units"),
                format_number(total_population, 0, language),
                human_source(session, pop_indicator, period, city.id),
                _period_date(period),
            ),
        )
    share = None
    share_complete = False
    share_source = share_indicator
    if city_population is not None and city_population.complete and city_population.value > 0:
        count_total, count_indicator = _published_count_total(
            session, share_indicator, period.id, city.id
        )
        if count_total is not None and count_total.complete:
            share = 100 * count_total.value / city_population.value
            share_complete = True
            share_source = share_indicator or count_indicator
    if shares and share is None:
        if population:
            common = [u for u in shares if u in population]
            weight = sum(population[u] for u in common)
            share = sum(shares[u] * population[u] for u in common) / weight if weight else None
            share_complete = bool(
                city_population is not None
                and city_population.complete
                and set(common) == _level_units(session, city.id, next(iter(shares)))
            )
        else:
            share = float(np.mean(list(shares.values())))
    if share is not None:
        figures.insert(
            1 if city_population is not None else 0,
            Figure(
                _("Refugee and migrant population")
                if share_complete
                else _("Refugee and migrant population in the published units"),
                format_number(share, 1, language) + " %",
                human_source(session, share_source, period, city.id),
                _period_date(period),
            ),
        )
    return Overview(
        city=city,
        period=period,
        periods=periods,
        run=run,
        spec=spec,
        score=score,
        level=level,
        areas=areas,
        distribution=distribution,
        figures=figures,
        population=total_population,
        migrant_share=share,
        unit_count=unit_count,
        partial_units=partial_units,
        missing_areas=missing_areas,
        distribution_note=distribution_note,
        scored_count=scored_count,
    )


def _level_units(session: Session, city_id: int, unit_id: int) -> set[int]:
    """Every unit of the city at the level of ``unit_id``."""
    level = select(models.SpatialUnit.level_id).where(models.SpatialUnit.id == unit_id)
    return set(
        session.scalars(
            select(models.SpatialUnit.id).where(
                models.SpatialUnit.city_id == city_id,
                models.SpatialUnit.level_id == level.scalar_subquery(),
            )
        )
    )


def _published_count_total(
    session: Session, share: models.Indicator | None, period_id: int, city_id: int
) -> tuple[PublishedTotal | None, models.Indicator | None]:
    """The city total of the count a share is a percentage of (venezuelan_population for
    venezuelan_share, also when no share is published), from published figures only."""
    from inclusive_cities.disclosure.rules import SHARES

    if share is not None and share.code not in SHARES:
        return None, None
    code = SHARES[share.code if share is not None else data.MIGRANT_SHARE_CODES[0]][0]
    counts, indicator = data.unit_values_by_code(session, (code,), period_id, city_id)
    return (UnitCover(session, city_id, counts).city() if counts else None), indicator


def find_unit(session: Session, city_id: int, code: str) -> models.SpatialUnit:
    unit = session.scalar(
        select(models.SpatialUnit)
        .join(models.UnitLevel, models.UnitLevel.id == models.SpatialUnit.level_id)
        .where(models.SpatialUnit.city_id == city_id, models.SpatialUnit.code == code)
        .order_by(models.UnitLevel.depth.desc())
        .limit(1)
    )
    if unit is None:
        raise NotFound(
            _("There is no spatial unit with code {code} in this city.").format(code=code)
        )
    return unit


@dataclass
class Profile:
    unit: models.SpatialUnit
    level_name: str
    locality: str
    period: models.Period
    spec: SpecView | None
    score: float | None
    level: Any
    rank: int | None
    rank_of: int
    rank_interval: tuple[int, int] | None
    areas: list[dict[str, Any]]
    dimensions: list[dict[str, Any]]
    strengths: list[dict[str, Any]]
    weaknesses: list[dict[str, Any]]
    indicators: list[dict[str, Any]]
    survey: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    coverage: float | None = None
    missing_areas: list[str] = field(default_factory=list)
    withheld: bool = False
    """The unit's index exists but is withheld for confidentiality (not "no data")."""
    rank_interval_note: str = ""
    """Why no rank interval is shown beside a published rank ("" when one is, or none exists)."""

    @property
    def partial(self) -> str:
        """The headline's warning when the index lacks some areas, else ""."""
        return partial_text(self.missing_areas) if self.missing_areas else ""

    @property
    def scored_areas(self) -> list[dict[str, Any]]:
        """Areas with a score: the radar draws these and leaves a missing one out."""
        return [a for a in self.areas if a["score"] is not None]


def unit_profile(
    session: Session,
    provider: SpecProvider,
    city: models.City,
    code: str,
    period_code: str | None,
    language: str,
) -> Profile:
    period = pick_period(session, city.id, period_code)
    unit = find_unit(session, city.id, code)
    level_row = session.get(models.UnitLevel, unit.level_id)
    level_name = ""
    if level_row is not None:
        level_name = (level_row.name_es if language == "es" else level_row.name_en) or (
            level_row.code
        )
    units = data.unit_table(session, city.id)
    # with one level only a unit is its own "locality": nothing to show
    locality = units.locality_name[units.row(unit.id)] if has_parent_level(units, [unit.id]) else ""
    run = published_run(session, city.id, period.id)
    spec = None
    score = None
    level = None
    rank = None
    rank_of = 0
    areas: list[dict[str, Any]] = []
    dimensions: list[dict[str, Any]] = []
    node_scores: dict[str, float] = {}
    coverage: float | None = None
    missing_areas: list[str] = []
    withheld: set[str] = set()
    public_intervals = PublicRankIntervals()
    if run is not None:
        scores = data.run_scores(session, run.id)
        spec = data.spec_for(provider, scores)
        public_intervals = public_rank_intervals(
            session, run, scores, spec.root.code if spec.root else None
        )
        compute_in_background(session.get_bind().engine, run.id, public_intervals)
        where = np.flatnonzero(scores.unit_ids == unit.id)
        if len(where):
            i = int(where[0])
            coverage, missing_areas = run_coverage(scores, spec).at(i, language)
            for j, node in enumerate(scores.nodes):
                if not np.isnan(scores.scores[i, j]):
                    node_scores[node] = float(scores.scores[i, j])
                elif scores.is_withheld(node)[i]:
                    withheld.add(node)
            root = spec.root
            if root is not None and root.code in scores.nodes:
                score = node_scores.get(root.code)
                level = spec.level(scores.levels[root.code][i]) or spec.level_for(score)
                rank = scores.ranks[root.code][i]
                rank_of = int((~np.isnan(scores.column(root.code))).sum())

        def describe(node: Any) -> dict[str, Any]:
            value = node_scores.get(node.code)
            found = spec.level_for(value) if spec else None
            return {
                "code": node.code,
                "name": node.name(language),
                "score": value,
                "level": (
                    _("Withheld for confidentiality")
                    if node.code in withheld
                    else (found.label(language) if found else _("No data"))
                ),
                "colour": found.colour if found else NO_DATA_COLOUR,
                "parent": node.parent,
                "withheld": node.code in withheld,
            }

        areas = [describe(n) for n in spec.areas()]
        dimensions = [describe(n) for n in spec.at_depth(2)]
    # strengths and weaknesses among dimensions, or among areas when the spec has none
    parts = dimensions or areas
    ranked = sorted((d for d in parts if d["score"] is not None), key=lambda d: -d["score"])
    strengths = ranked[:3]
    weaknesses = list(reversed(ranked[-3:])) if len(ranked) > 3 else []
    indicators, survey = _unit_observations(session, unit, period, spec, node_scores, language)
    trend = _trend(session, provider, city.id, unit.id, language)
    root_withheld = bool(spec and spec.root and spec.root.code in withheld)
    interval = None if root_withheld else public_intervals.intervals.get(unit.id)
    interval_note = ""
    if interval is None and rank is not None and run is not None:
        interval_note = public_intervals.note() if public_intervals.reason else ""
        if unit.id in public_intervals.outside:
            interval_note = _(
                "No rank interval: this unit's rank lies outside the range of 90 % of the Monte "
                "Carlo runs."
            )
    return Profile(
        unit=unit,
        level_name=level_name,
        locality=locality,
        period=period,
        spec=spec,
        score=score,
        level=level,
        rank=rank,
        rank_of=rank_of,
        rank_interval=interval,
        areas=areas,
        dimensions=dimensions,
        strengths=strengths,
        weaknesses=weaknesses,
        indicators=indicators,
        survey=survey,
        trend=trend,
        coverage=coverage,
        missing_areas=missing_areas,
        withheld=root_withheld,
        rank_interval_note=interval_note,
    )


def group_label(code: str) -> str:
    """A breakdown's code (``other_foreign``, ``female``, ``25-64``) in the page's language."""
    words = {
        "female": _("Women"),
        "F": _("Women"),
        "male": _("Men"),
        "M": _("Men"),
        "host": _("Host population"),
        "venezuelan": _("Venezuelans"),
        "other_foreign": _("Other nationalities"),
    }
    if code in words:
        return words[code]
    if code.endswith("+"):
        return _("aged {low} and over").format(low=code[:-1])
    low, dash, high = code.partition("-")
    if dash and low.isdigit() and high.isdigit():
        return _("aged {low} to {high}").format(low=low, high=high)
    return code


def _unit_observations(
    session: Session,
    unit: models.SpatialUnit,
    period: models.Period,
    spec: SpecView | None,
    node_scores: dict[str, float],
    language: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Indicator rows (census-type) and survey rows (estimates with CIs) of one unit."""
    stamp = data.observations_fingerprint(session)  # sources change only with the data
    published_ids = select(PublishedLayer.indicator_id).where(
        PublishedLayer.city_id == unit.city_id, PublishedLayer.period_id == period.id
    )
    spec_codes = [n.code for n in spec.indicators()] if spec else []
    rows = session.execute(
        select(models.Observation, models.Indicator)
        .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
        .where(
            models.Observation.unit_id == unit.id,
            models.Observation.period_id == period.id,
            or_(
                models.Indicator.id.in_(published_ids),
                models.Indicator.code.in_(spec_codes) if spec_codes else false(),
            ),
        )
        .order_by(models.Indicator.area, models.Indicator.code, models.Observation.id)
    ).all()
    indicators: list[dict[str, Any]] = []
    survey: list[dict[str, Any]] = []
    from inclusive_cities.disclosure import hidden_observation_ids

    withheld = hidden_observation_ids(session, unit.city_id)
    for observation, indicator in rows:
        safe = data.safe_observation(observation, observation.id in withheld)
        name = indicator.name_es if language == "es" else indicator.name_en
        groups = [
            group_label(g)
            for g in (observation.sex, observation.age_group, observation.nationality)
            if g != models.TOTAL
        ]
        is_survey = observation.status in ("estimated", "suppressed") or (
            observation.standard_error is not None or observation.ci_low is not None
        )
        if is_survey:
            cv = None
            if safe.value and safe.standard_error is not None:
                cv = 100 * safe.standard_error / abs(safe.value)
            survey.append(
                {
                    "code": indicator.code,
                    "name": name,
                    "group": ", ".join(groups) or _("All"),
                    "value": safe.value,
                    "ci_low": safe.ci_low,
                    "ci_high": safe.ci_high,
                    "n": safe.n,
                    "cv": cv,
                    "unreliable": cv is not None and cv > 30,
                    "suppressed": safe.status == "suppressed",
                    "unit": indicator.unit,
                    "unit_label": unit_label(indicator.unit),
                }
            )
            continue
        if groups:
            continue
        normalised = node_scores.get(indicator.code)
        found = spec.level_for(normalised) if spec and normalised is not None else None
        node = spec.node(indicator.code) if spec else None
        lower = indicator.benchmark_lower
        upper = indicator.benchmark_upper
        if node is not None and lower is None:
            lower, upper = node.benchmark_lower, node.benchmark_upper
        indicators.append(
            {
                "code": indicator.code,
                "name": name,
                "value": safe.value,
                "unit": indicator.unit,
                "unit_label": unit_label(indicator.unit),
                "direction": indicator.direction,
                "lower": lower,
                "upper": upper,
                "benchmark_source": source_text(
                    indicator.benchmark_source or (node.benchmark_source if node else "")
                ),
                "normalised": normalised,
                "level": found.label(language) if found else "",
                "colour": found.colour if found else NO_DATA_COLOUR,
                "digits": unit_digits(indicator.unit),
                "source": SOURCES.get(
                    (indicator.id, period.id, unit.city_id, language, stamp),
                    functools.partial(human_source, session, indicator, period, unit.city_id),
                ),
                "suppressed": safe.status == "suppressed",
                "missing": safe.value is None and safe.status != "suppressed",
            }
        )
    return indicators + _missing_indicators(spec, indicators, language), survey


def _missing_indicators(
    spec: SpecView | None, listed: list[dict[str, Any]], language: str
) -> list[dict[str, Any]]:
    """The spec's indicators the unit has no value for, listed as "no data" rather than
    left out, so a reader sees what the index could not use."""
    if spec is None:
        return []
    shown = {row["code"] for row in listed}
    return [
        {
            "code": node.code,
            "name": node.name(language),
            "value": None,
            "unit": node.unit,
            "unit_label": unit_label(node.unit),
            "direction": node.direction,
            "lower": node.benchmark_lower,
            "upper": node.benchmark_upper,
            "benchmark_source": source_text(node.benchmark_source),
            "normalised": None,
            "level": "",
            "colour": NO_DATA_COLOUR,
            "source": "",
            "suppressed": False,
            "missing": True,
        }
        for node in spec.indicators()
        if node.code not in shown
    ]


def _trend(
    session: Session, provider: SpecProvider, city_id: int, unit_id: int, language: str
) -> list[dict[str, Any]]:
    """Index and area scores of the unit in every published run of the city, by period."""
    runs = session.execute(
        select(models.MarkerRun, models.Period)
        .join(models.Period, models.Period.id == models.MarkerRun.period_id)
        .where(models.MarkerRun.city_id == city_id, models.MarkerRun.published.is_(True))
        .order_by(models.Period.start_date, models.Period.code, models.MarkerRun.id.desc())
    ).all()
    seen: set[int] = set()
    out: list[dict[str, Any]] = []
    for run, period in runs:
        if period.id in seen:
            continue
        seen.add(period.id)
        scores = data.run_scores(session, run.id)
        spec = data.spec_for(provider, scores)
        where = np.flatnonzero(scores.unit_ids == unit_id)
        if not len(where):
            continue
        i = int(where[0])
        for node in [n for n in spec.nodes if n.depth <= 1 and not n.is_indicator]:
            if node.code in scores.nodes and not np.isnan(scores.column(node.code)[i]):
                out.append(
                    {
                        "period": period.label or period.code,
                        "node": node.name(language),
                        "score": round(float(scores.column(node.code)[i]), 2),
                    }
                )
    return out


RANK_SORTS = ("rank", "score", "name", "code", "locality")


@dataclass
class Rankings:
    run: models.MarkerRun | None
    spec: SpecView | None
    period: models.Period
    columns: list[dict[str, str]]
    rows: list[dict[str, Any]]
    total: int
    localities: list[tuple[str, str]]
    has_locality: bool = True
    interval_note: str = ""
    """Why rank intervals are missing (withheld units not yet left out of them), else ""."""
    published: int = 0
    """Units with a published index among ``total``."""


def rankings(
    session: Session,
    provider: SpecProvider,
    city: models.City,
    period_code: str | None,
    language: str,
    *,
    sort: str = "rank",
    descending: bool = False,
    level: str | None = None,
    locality: str | None = None,
    search: str | None = None,
) -> Rankings:
    """Units of the published run with index and area scores, filtered and sorted."""
    period = pick_period(session, city.id, period_code)
    run = published_run(session, city.id, period.id)
    if run is None:
        return Rankings(None, None, period, [], [], 0, [], False)
    scores = data.run_scores(session, run.id)
    spec = data.spec_for(provider, scores)
    units = data.unit_table(session, city.id)
    with_locality = has_parent_level(units, scores.unit_ids)
    root = spec.root.code if spec.root else scores.nodes[0]
    areas = [n for n in spec.areas() if n.code in scores.nodes]
    coverage = run_coverage(scores, spec)
    valid = {"rank", "score", "name", "code", "coverage", *[a.code for a in areas]}
    if with_locality:
        valid.add("locality")
    if sort not in valid:
        raise BadRequest(
            _("Cannot sort by {sort}: use one of {choices}.").format(
                sort=sort, choices=", ".join(sorted(valid))
            )
        )
    rows = []
    locs: dict[str, str] = {}
    public_intervals = public_rank_intervals(session, run, scores, root)
    compute_in_background(session.get_bind().engine, run.id, public_intervals)
    intervals = public_intervals.intervals
    for i, unit_id in enumerate(scores.unit_ids):
        r = units.row(int(unit_id))
        locs[units.locality_code[r]] = units.locality_name[r]
        value = scores.column(root)[i]
        code = scores.levels[root][i]
        found = spec.level(code) or spec.level_for(None if np.isnan(value) else float(value))
        withheld = bool(scores.is_withheld(root)[i])
        row = {
            "code": units.codes[r],
            "name": units.names[r],
            "locality": units.locality_name[r],
            "locality_code": units.locality_code[r],
            "score": None if np.isnan(value) else round(float(value), 2),
            "rank": scores.ranks[root][i],
            "rank_interval": None if withheld else intervals.get(int(unit_id)),
            "withheld": withheld,
            "level": (
                _("Withheld for confidentiality")
                if withheld
                else (found.label(language) if found else _("No data"))
            ),
            "level_code": found.code if found else "",
            "colour": found.colour if found else NO_DATA_COLOUR,
            "coverage": round(float(coverage.share[i]), 4),
            "missing_areas": coverage.at(i, language)[1],
        }
        for area in areas:
            v = scores.column(area.code)[i]
            row[area.code] = None if np.isnan(v) else round(float(v), 2)
        rows.append(row)
    if level:
        rows = [r for r in rows if r["level_code"] == level]
    if locality:
        rows = [r for r in rows if r["locality_code"] == locality]
    if search:
        needle = search.lower()
        rows = [
            r for r in rows if needle in str(r["name"]).lower() or needle in str(r["code"]).lower()
        ]

    def key(row: dict[str, Any]) -> tuple[int, Any]:
        value = row[sort]
        return (1, 0) if value is None else (0, value)

    rows.sort(key=key, reverse=descending)
    if descending:  # keep units without data at the end either way
        rows.sort(key=lambda r: r[sort] is None)
    columns = [{"code": a.code, "name": a.name(language)} for a in areas]
    localities = sorted(locs.items(), key=lambda x: x[1]) if with_locality else []
    return Rankings(
        run,
        spec,
        period,
        columns,
        rows,
        len(rows),
        localities,
        with_locality,
        public_intervals.note(),
        sum(1 for r in rows if r["score"] is not None),
    )
