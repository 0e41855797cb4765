"""Analysis layers in the store: clusters and interpolations kept with their parameters.

A layer is named by what it analyses (``clusters-internet-manzana``), so that running the
same analysis again replaces it — in one transaction, so readers never see half a layer.
Cluster features point at stored units (their geometry is the unit's); interpolation
features carry their own polygons (H3 cells or another geography), as WKB in EPSG:4326.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session

from inclusive_cities import store
from inclusive_cities.i18n import gettext as _
from inclusive_cities.spatial.errors import SpatialError
from inclusive_cities.store import models

CLUSTER_COLUMNS = ("moran_i", "moran_p", "moran_class", "gi_z", "gi_p", "gi_class")
"""What a clusters layer stores per unit: statistics and classes, never the input value."""
PUBLIC_CLUSTER_COLUMNS = ("moran_p", "moran_class", "gi_p", "gi_class")
"""What a published clusters layer serves: classes and p-value bands.

``gi_z`` and ``moran_i`` are not served: Gi* with row-standardised weights is linear in the
analysed values (``gi_z = a + b·W*y``), so solving that system from the published geometry
gave back every block's UIM score, published nowhere (trial finding F4: correlation 0.9997);
the local Moran's I of a unit is the product of its deviation and its neighbours'. Exact
pseudo p-values with the published seed bound each statistic between two permutation
order statistics, so they are served as bands (:data:`P_BANDS`)."""
P_BANDS = (0.001, 0.01, 0.05, 1.0)
"""A served p-value is the smallest of these at or above the computed one (p ≤ band)."""


def p_band(values: Sequence[float | None]) -> list[float | None]:
    """Each p-value replaced by the upper end of its band (:data:`P_BANDS`)."""
    bands = np.asarray(P_BANDS)
    out: list[float | None] = []
    for value in values:
        number = _number(value)
        out.append(None if number is None else float(bands[np.searchsorted(bands, number - 1e-12)]))
    return out


def _software_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("inclusive-cities")
    except PackageNotFoundError:
        return "0"


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if np.isnan(number) else number


@dataclass(frozen=True)
class LayerInfo:
    """One stored layer as listed by ``spatial layers`` and the OGC API."""

    id: int
    city: str
    city_name: str
    synthetic: bool
    period: str
    period_label: str
    level: str
    name: str
    kind: str
    source: str
    target: str
    parameters: dict[str, Any]
    created_at: datetime
    published: bool
    features: int
    level_name_es: str = ""
    level_name_en: str = ""

    def level_name(self, language: str) -> str:
        """The level's name in ``language`` (its code when the level has no name)."""
        name = self.level_name_es if language == "es" else self.level_name_en
        return name or self.level


def source_name(parameters: dict[str, Any], source: str, language: str) -> str:
    """The human name of what a cluster layer analysed, in ``language``: the indicator's or
    marker score's name recorded when it was made (older layers: the source code)."""
    names = parameters.get("source_name")
    name = (names.get(language) or names.get("en")) if isinstance(names, dict) else None
    if not name:
        return source
    if parameters.get("index"):
        return _("{name} (index)", language).format(name=name)
    return str(name)


def higher_is_better(parameters: dict[str, Any]) -> bool | None:
    """Whether high values of a cluster layer's source are good (None: not recorded, or a
    neutral source that has no better end)."""
    value = parameters.get("higher_is_better")
    return value if isinstance(value, bool) else None


def source_direction(parameters: dict[str, Any]) -> str | None:
    """A cluster layer's source direction: higher_is_better, lower_is_better or neutral (a
    descriptive figure: its clusters are of high and low concentration, not of exclusion);
    None when the layer did not record it."""
    value = parameters.get("direction")
    if value == "unknown":  # an undeclared column is never judged, like a neutral one
        return "neutral"
    if value in ("higher_is_better", "lower_is_better", "neutral"):
        return str(value)
    ranked = higher_is_better(parameters)
    if ranked is None:
        return None
    return "higher_is_better" if ranked else "lower_is_better"


def input_hash(frame: pd.DataFrame, columns: Sequence[str]) -> str:
    """SHA-256 of the analysed values by feature code: equal inputs give equal hashes."""
    rows = frame[list(columns)].sort_index()
    text = rows.to_csv(float_format="%.12g", lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _city_period(session: Session, city: str, period: str) -> tuple[models.City, models.Period]:
    city_row = session.scalar(select(models.City).where(models.City.code == city))
    if city_row is None:
        raise SpatialError(
            _("There is no city '{city}' in the observatory: import it first.").format(city=city)
        )
    period_row = session.scalar(select(models.Period).where(models.Period.code == period))
    if period_row is None:
        raise SpatialError(
            _("There is no period '{period}' in the observatory.").format(period=period)
        )
    return city_row, period_row


def save_layer(
    engine: Engine,
    *,
    city: str,
    period: str,
    name: str,
    kind: str,
    source: str,
    frame: gpd.GeoDataFrame,
    parameters: dict[str, Any],
    level: str | None = None,
    target: str = "",
    attributes: Sequence[str] = (),
    marker_run_id: int | None = None,
    published: bool = False,
    created_by: str = "",
) -> int:
    """Store ``frame`` (indexed by feature code) as layer ``name``, replacing one of that name.

    Cluster layers take the columns ``value`` and :data:`CLUSTER_COLUMNS` and link features
    to the units of ``level`` by code; other layers (whose ``level`` is where their values
    came from) keep ``attributes`` as JSON and their own geometry, in EPSG:4326.
    """
    store.require_current(engine)
    geometry = None
    if kind != "clusters":
        geometry = shapely.to_wkb(frame.to_crs("EPSG:4326").geometry.to_numpy())
    with store.transaction(engine) as session:
        city_row, period_row = _city_period(session, city, period)
        level_row = None
        unit_ids: dict[str, int] = {}
        if level is not None:
            level_row = session.scalar(
                select(models.UnitLevel).where(
                    models.UnitLevel.city_id == city_row.id, models.UnitLevel.code == level
                )
            )
            if level_row is None:
                raise SpatialError(
                    _("City '{city}' has no level '{level}'.").format(city=city, level=level)
                )
            unit_ids = {
                code: unit_id
                for unit_id, code in session.execute(
                    select(models.SpatialUnit.id, models.SpatialUnit.code).where(
                        models.SpatialUnit.level_id == level_row.id
                    )
                )
            }
        old = session.scalar(
            select(models.AnalysisLayer.id).where(
                models.AnalysisLayer.city_id == city_row.id,
                models.AnalysisLayer.period_id == period_row.id,
                models.AnalysisLayer.name == name,
            )
        )
        if old is not None:
            session.execute(
                delete(models.AnalysisFeature).where(models.AnalysisFeature.layer_id == old)
            )
            session.execute(delete(models.AnalysisLayer).where(models.AnalysisLayer.id == old))
        hashed = ["value", *CLUSTER_COLUMNS] if kind == "clusters" else list(attributes)
        layer = models.AnalysisLayer(
            city_id=city_row.id,
            period_id=period_row.id,
            level_id=level_row.id if level_row is not None else None,
            name=name,
            kind=kind,
            source=source,
            target=target,
            parameters=parameters,
            marker_run_id=marker_run_id,
            input_hash=input_hash(frame, hashed),
            software_version=_software_version(),
            created_by=created_by,
            published=published,
        )
        session.add(layer)
        session.flush()
        rows: list[dict[str, Any]] = []
        for i, code in enumerate(map(str, frame.index)):
            record = frame.iloc[i]
            row: dict[str, Any] = {"layer_id": layer.id, "code": code}
            if kind == "clusters":
                if code not in unit_ids:
                    raise SpatialError(
                        _("Unit '{code}' is not a stored unit of level '{level}'.").format(
                            code=code, level=level
                        )
                    )
                row["unit_id"] = unit_ids[code]
                row["value"] = _number(record.get("value"))
                for column in CLUSTER_COLUMNS:
                    value = record[column]
                    row[column] = str(value) if column.endswith("class") else _number(value)
            else:
                assert geometry is not None
                row["unit_id"] = None  # target polygons are not stored units
                row["geometry"] = geometry[i]
                row["attributes"] = {c: _number(record[c]) for c in attributes}
            rows.append(row)
        if rows:
            session.execute(insert(models.AnalysisFeature), rows)
        return int(layer.id)


def _info(session: Session, layer: models.AnalysisLayer) -> LayerInfo:
    from sqlalchemy import func

    city = session.get(models.City, layer.city_id)
    period = session.get(models.Period, layer.period_id)
    level = session.get(models.UnitLevel, layer.level_id) if layer.level_id else None
    assert city is not None and period is not None
    count = session.scalar(
        select(func.count(models.AnalysisFeature.id)).where(
            models.AnalysisFeature.layer_id == layer.id
        )
    )
    return LayerInfo(
        id=layer.id,
        city=city.code,
        city_name=city.name,
        synthetic=city.is_synthetic,
        period=period.code,
        period_label=period.label or period.code,
        level=level.code if level is not None else "",
        name=layer.name,
        kind=layer.kind,
        source=layer.source,
        target=layer.target,
        parameters=dict(layer.parameters or {}),
        created_at=layer.created_at,
        published=layer.published,
        features=int(count or 0),
        level_name_es=level.name_es if level is not None else "",
        level_name_en=level.name_en if level is not None else "",
    )


def layer_info(session: Session, layer_id: int) -> LayerInfo:
    """One stored layer by id, as listed."""
    layer = session.get(models.AnalysisLayer, layer_id)
    if layer is None:
        raise SpatialError(_("There is no stored layer '{layer}'.").format(layer=layer_id))
    return _info(session, layer)


def layers_in(
    session: Session, city: str | None = None, published_only: bool = False
) -> list[LayerInfo]:
    """Stored layers (of one city), by city, period and name."""
    query = (
        select(models.AnalysisLayer)
        .join(models.City, models.City.id == models.AnalysisLayer.city_id)
        .join(models.Period, models.Period.id == models.AnalysisLayer.period_id)
        .order_by(models.City.code, models.Period.code, models.AnalysisLayer.name)
    )
    if city is not None:
        query = query.where(models.City.code == city)
    if published_only:
        query = query.where(models.AnalysisLayer.published.is_(True))
    return [_info(session, layer) for layer in session.scalars(query)]


def list_layers(engine: Engine, city: str | None = None) -> list[LayerInfo]:
    store.require_current(engine)
    with store.transaction(engine) as session:
        return layers_in(session, city)


def _find(session: Session, ref: str, city: str | None = None) -> models.AnalysisLayer:
    """A layer by id, or by name when one layer of (``city``) has it."""
    query = select(models.AnalysisLayer)
    if city is not None:
        query = query.join(models.City, models.City.id == models.AnalysisLayer.city_id).where(
            models.City.code == city
        )
    if ref.isdigit():
        found = list(session.scalars(query.where(models.AnalysisLayer.id == int(ref))))
    else:
        found = list(session.scalars(query.where(models.AnalysisLayer.name == ref)))
    if not found:
        known = sorted({layer.name for layer in session.scalars(query)})
        raise SpatialError(
            _("There is no stored layer '{layer}': the stored layers are {known}.").format(
                layer=ref, known=", ".join(known) or _("none")
            )
        )
    if len(found) > 1:
        raise SpatialError(
            _(
                "Layer name '{layer}' is stored for several cities or periods (ids {ids}): "
                "give the id instead, or --city."
            ).format(layer=ref, ids=", ".join(str(layer.id) for layer in found))
        )
    return found[0]


def _frame(session: Session, layer: models.AnalysisLayer, public: bool) -> gpd.GeoDataFrame:
    features = list(
        session.scalars(
            select(models.AnalysisFeature)
            .where(models.AnalysisFeature.layer_id == layer.id)
            .order_by(models.AnalysisFeature.code)
        )
    )
    data: dict[str, list[Any]] = {"code": [f.code for f in features]}
    if layer.kind == "clusters":
        wkb = dict(
            session.execute(
                select(models.SpatialUnit.id, models.SpatialUnit.geometry).where(
                    models.SpatialUnit.id.in_([f.unit_id for f in features])
                )
            ).all()
        )
        geometry = [wkb.get(f.unit_id or -1) for f in features]
        if not public:
            data["value"] = [f.value for f in features]
            for column in CLUSTER_COLUMNS:
                data[column] = [getattr(f, column) for f in features]
        else:
            for column in PUBLIC_CLUSTER_COLUMNS:
                stored = [getattr(f, column) for f in features]
                data[column] = p_band(stored) if column.endswith("_p") else stored
    else:
        geometry = [f.geometry for f in features]
        names = list(dict.fromkeys(k for f in features for k in (f.attributes or {})))
        for name in names:
            data[name] = [
                np.nan if (v := (f.attributes or {}).get(name)) is None else v for f in features
            ]
    return gpd.GeoDataFrame(
        pd.DataFrame(data), geometry=shapely.from_wkb(geometry), crs="EPSG:4326"
    )


def layer_frame(session: Session, layer_id: int, public: bool = True) -> gpd.GeoDataFrame:
    """The features of a layer in EPSG:4326; ``public`` leaves out the analysed values and,
    for clusters, the statistics they can be solved back from (:data:`PUBLIC_CLUSTER_COLUMNS`)."""
    layer = session.get(models.AnalysisLayer, layer_id)
    if layer is None:
        raise SpatialError(_("There is no stored layer '{layer}'.").format(layer=layer_id))
    return _frame(session, layer, public)


def read_layer(
    engine: Engine, ref: str, city: str | None = None
) -> tuple[LayerInfo, gpd.GeoDataFrame]:
    """A layer by id or name, with every stored column (for the analyst's exports)."""
    store.require_current(engine)
    with store.transaction(engine) as session:
        layer = _find(session, ref, city)
        return _info(session, layer), _frame(session, layer, public=False)


def publish_layer(engine: Engine, ref: str, published: bool = True, city: str | None = None) -> str:
    store.require_current(engine)
    with store.transaction(engine) as session:
        layer = _find(session, ref, city)
        layer.published = published
        return layer.name


def marker_scores(
    engine: Engine, run_id: int, node: str | None = None
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """A marker run's score of ``node`` (default: the index) per unit, with the run's city,
    period, level and spec: clusters can then be found on any score, not only indicators."""
    store.require_current(engine)
    with store.transaction(engine) as session:
        run = session.get(models.MarkerRun, run_id)
        if run is None:
            known = sorted(session.scalars(select(models.MarkerRun.id)))
            raise SpatialError(
                _("There is no marker run {run}: the stored runs are {known}.").format(
                    run=run_id, known=", ".join(map(str, known)) or _("none")
                )
            )
        nodes = list(
            session.scalars(
                select(models.MarkerScore.node_code)
                .where(models.MarkerScore.run_id == run_id)
                .distinct()
            )
        )
        chosen = node or _root_node(run, nodes)
        if chosen not in nodes:
            raise SpatialError(
                _("Marker run {run} has no score '{node}': its scores are {known}.").format(
                    run=run_id, node=chosen, known=", ".join(sorted(nodes))
                )
            )
        rows = session.execute(
            select(models.SpatialUnit.code, models.SpatialUnit.geometry, models.MarkerScore.score)
            .join(models.SpatialUnit, models.SpatialUnit.id == models.MarkerScore.unit_id)
            .where(models.MarkerScore.run_id == run_id, models.MarkerScore.node_code == chosen)
        ).all()
        city = session.get(models.City, run.city_id)
        period = session.get(models.Period, run.period_id)
        level = session.get(models.UnitLevel, run.level_id) if run.level_id else None
        if level is None:
            level = session.scalar(
                select(models.UnitLevel)
                .join(models.SpatialUnit, models.SpatialUnit.level_id == models.UnitLevel.id)
                .where(
                    models.SpatialUnit.code == rows[0][0], models.UnitLevel.city_id == run.city_id
                )
            )
        assert city is not None and period is not None and level is not None
        about = {
            "city": city.code,
            "period": period.code,
            "level": level.code,
            "spec": run.spec_code,
            "node": chosen,
            **_recipe_names(run, chosen),
        }
    frame = gpd.GeoDataFrame(
        {"code": [str(r[0]) for r in rows], chosen: [_number(r[2]) for r in rows]},
        geometry=shapely.from_wkb([r[1] for r in rows]),
        crs="EPSG:4326",
    ).set_index("code")
    frame[chosen] = frame[chosen].astype("float64")
    return frame, about


def newest_run(engine: Engine, city: str, period: str, spec: str, level: str | None) -> int:
    """The id of the newest run of marker ``spec`` for a city and period (and level)."""
    store.require_current(engine)
    with store.transaction(engine) as session:
        city_row, period_row = _city_period(session, city, period)
        query = (
            select(models.MarkerRun.id)
            .where(
                models.MarkerRun.city_id == city_row.id,
                models.MarkerRun.period_id == period_row.id,
                models.MarkerRun.spec_code == spec,
            )
            .order_by(models.MarkerRun.id.desc())
            .limit(1)
        )
        if level is not None:
            query = query.join(
                models.UnitLevel, models.UnitLevel.id == models.MarkerRun.level_id
            ).where(models.UnitLevel.code == level)
        found = session.scalar(query)
    if found is None:
        raise SpatialError(
            _(
                "City '{city}' has no run of marker '{spec}' for period {period}{level}: run "
                "'inclusive-cities marker build' first."
            ).format(
                city=city,
                spec=spec,
                period=period,
                level=_(" at level '{level}'").format(level=level) if level else "",
            )
        )
    return int(found)


def _names(value: Any) -> dict[str, str] | None:
    """``{"es": ..., "en": ...}`` from a recipe's name (None when it has none)."""
    if isinstance(value, dict):
        names = {k: str(value[k]) for k in ("es", "en") if value.get(k)}
        return names or None
    if isinstance(value, str) and value:
        return {"es": value, "en": value}
    return None


def _recipe_names(run: models.MarkerRun, node: str) -> dict[str, Any]:
    """The spec's and the node's names from the recipe stored with the run, and whether the
    node is the index (the tree's root); names are None when the recipe has none."""
    stored = (run.parameters or {}).get("spec")
    recipe: dict[str, Any] = stored if isinstance(stored, dict) else {}
    tree: dict[str, Any] = recipe["tree"] if isinstance(recipe.get("tree"), dict) else {}
    found: dict[str, Any] | None = None
    stack: list[Any] = [tree]
    while stack and found is None:
        item = stack.pop()
        if not isinstance(item, dict):
            continue
        if item.get("code") == node:
            found = item
        stack.extend(item.get("children") or [])
        stack.extend(item.get("indicators") or [])
    root = tree.get("code") or "UIM"
    return {
        "spec_name": _names(recipe.get("name")),
        "node_name": _names(found.get("name")) if found else None,
        "index": node in (root, run.spec_code),
    }


def _root_node(run: models.MarkerRun, nodes: list[str]) -> str:
    """The index node: the root of the recipe stored with the run (runs keep scores of the
    index, its areas, dimensions and indicators), else a node named like the index."""
    recipe = (run.parameters or {}).get("spec")
    tree = recipe.get("tree") if isinstance(recipe, dict) else None
    if isinstance(tree, dict) and tree.get("code") in nodes:
        return str(tree["code"])
    for candidate in ("UIM", run.spec_code):
        if candidate in nodes:
            return candidate
    raise SpatialError(
        _("Marker run {run} has several scores ({known}): choose one with --score.").format(
            run=run.id, known=", ".join(sorted(nodes))
        )
    )


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
