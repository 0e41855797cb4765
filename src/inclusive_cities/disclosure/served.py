"""What the public is served: the disclosure-safe read model behind pages, API, maps and downloads.

Only published, disclosure-safe figures leave here: observations that are neither suppressed nor
based on fewer than :data:`MIN_CELL` respondents nor withheld by disclosure control, and marker
scores with those normalised from a withheld cell masked. The web serves exactly these (``web.data``
and ``web.api`` re-export and call them), and :func:`inclusive_cities.disclosure.audit` attacks
exactly these, which is why they live in the disclosure domain and not in the web.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from inclusive_cities.cache import CACHE, Cache
from inclusive_cities.disclosure.publication import hidden_observation_ids, mask_scores, state_token
from inclusive_cities.store import models
from inclusive_cities.store.web_models import PublishedLayer

MIN_CELL = 10
"""Smallest unweighted n a published figure may rest on (METHODOLOGY §3, disclosure control)."""
PAGE_IDS = Cache(size=16)
"""Served ids per city and filter: their own small cache, so a client paging through many
units' filters cannot push the protection or run scores out of the shared one."""


def public_observation_filter() -> Any:
    """SQL condition for disclosure-safe observations: not suppressed, n unknown or >= 10."""
    return and_(
        models.Observation.status != "suppressed",
        models.Observation.value.is_not(None),
        or_(models.Observation.n.is_(None), models.Observation.n >= MIN_CELL),
    )


@dataclass
class RunScores:
    """A marker run's scores as unit rows x node columns, plus the root's level and rank."""

    run: models.MarkerRun
    unit_ids: np.ndarray
    nodes: list[str]
    scores: np.ndarray
    levels: dict[str, list[str | None]]
    ranks: dict[str, list[int | None]]
    withheld: np.ndarray | None = None
    """units x nodes: True where a score exists but disclosure control withholds it (the
    public is told so, not that there is no data)."""

    def column(self, node: str) -> np.ndarray:
        return self.scores[:, self.nodes.index(node)]

    def present(self, node: str) -> np.ndarray:
        """Units with a score at ``node``, published or withheld for confidentiality."""
        known = ~np.isnan(self.column(node))
        if self.withheld is not None:
            known |= self.withheld[:, self.nodes.index(node)]
        return known

    def is_withheld(self, node: str) -> np.ndarray:
        if self.withheld is None or node not in self.nodes:
            return np.zeros(len(self.unit_ids), dtype=bool)
        return self.withheld[:, self.nodes.index(node)]


def run_scores(session: Session, run_id: int) -> RunScores:
    """Scores of a run (cached: a run's scores never change once written)."""
    count = session.scalar(
        select(func.count(models.MarkerScore.id)).where(models.MarkerScore.run_id == run_id)
    )

    def build() -> RunScores:
        run = session.get(models.MarkerRun, run_id)
        assert run is not None
        # column-wise: a 100k-unit run has ~6M score rows, far too many for a Python loop
        result = session.connection().execute(  # Core, not ORM: no per-row entity work
            select(
                models.MarkerScore.unit_id,
                models.MarkerScore.node_code,
                models.MarkerScore.score,
                models.MarkerScore.level,
                models.MarkerScore.rank,
            ).where(models.MarkerScore.run_id == run_id)
        )
        columns = list(zip(*result.fetchall(), strict=True)) or [(), (), (), (), ()]
        unit_col = np.asarray(columns[0], dtype=np.int64)
        node_col = np.asarray(columns[1], dtype=object)
        score_col = np.asarray([np.nan if v is None else v for v in columns[2]], dtype=float)
        level_col = np.asarray(columns[3], dtype=object)
        rank_col = np.asarray(columns[4], dtype=object)
        unit_values, rows_at = np.unique(unit_col, return_inverse=True)
        nodes = sorted(set(node_col.tolist()))
        node_at = np.searchsorted(np.asarray(nodes, dtype=object), node_col)
        scores = np.full((len(unit_values), len(nodes)), np.nan)
        scores[rows_at, node_at] = score_col
        levels: dict[str, list[str | None]] = {}
        ranks: dict[str, list[int | None]] = {}
        for j, node in enumerate(nodes):
            level_grid = np.full(len(unit_values), None, dtype=object)
            rank_grid = np.full(len(unit_values), None, dtype=object)
            mine = node_at == j
            level_grid[rows_at[mine]] = level_col[mine]
            rank_grid[rows_at[mine]] = rank_col[mine]
            levels[node] = level_grid.tolist()
            ranks[node] = rank_grid.tolist()
        unit_ids = unit_values
        served = RunScores(run, unit_ids.astype(np.int64), nodes, scores, levels, ranks)
        stored = ~np.isnan(served.scores)
        mask_scores(session, run, served)  # scores normalised from a withheld cell
        served.withheld = stored & np.isnan(served.scores)
        rank_among_published(served)
        session.expunge(run)
        return served

    return CACHE.get(("scores", run_id, count, state_token(session)), build)


def rank_among_published(scores: RunScores) -> None:
    """Ranks among the units whose score is published, in place.

    A rank among all units, withheld ones included, places each withheld score between its
    visible neighbours (the gaps in 6, 11, 13 …). The stored ranks are "min" ranks (ties
    share the lowest), so a published unit's new rank is 1 + the number of published units
    ranked strictly better."""
    if scores.withheld is None or not scores.withheld.any():
        return
    for j, node in enumerate(scores.nodes):
        if not scores.withheld[:, j].any():
            continue
        ranks = scores.ranks[node]
        shown = sorted(
            r for i, r in enumerate(ranks) if r is not None and not scores.withheld[i, j]
        )
        order = np.asarray(shown, dtype=np.int64)
        scores.ranks[node] = [
            None
            if r is None or scores.withheld[i, j]
            else int(np.searchsorted(order, r, side="left")) + 1
            for i, r in enumerate(ranks)
        ]


@dataclass(frozen=True)
class PublicObservation:
    unit_id: int
    value: float | None
    n: int | None
    standard_error: float | None
    ci_low: float | None
    ci_high: float | None
    status: str
    source: str


def shown(status: str, value: float | None, n: int | None, withheld: bool) -> bool:
    """Whether the web serves an observation's figures: not withheld by disclosure control,
    not suppressed, not empty, and resting on at least :data:`MIN_CELL` respondents."""
    return not (
        withheld or status == "suppressed" or value is None or (n is not None and n < MIN_CELL)
    )


def safe_observation(row: Any, withheld: bool = False) -> PublicObservation:
    """The public face of one observation: a suppressed or small cell shows no figures;
    ``withheld`` is disclosure control's verdict (a cell that would give a small one away)."""
    if not shown(row.status, row.value, row.n, withheld):
        return PublicObservation(
            row.unit_id, None, None, None, None, None, "suppressed", row.source
        )
    return PublicObservation(
        row.unit_id,
        row.value,
        row.n,
        row.standard_error,
        row.ci_low,
        row.ci_high,
        row.status,
        row.source,
    )


def indicator_observations(
    session: Session, indicator_id: int, period_id: int, city_id: int
) -> list[PublicObservation]:
    """Totals (all sexes, ages, nationalities) of one indicator, made disclosure-safe."""
    rows = session.execute(
        select(
            models.Observation.id,
            models.Observation.unit_id,
            models.Observation.value,
            models.Observation.n,
            models.Observation.standard_error,
            models.Observation.ci_low,
            models.Observation.ci_high,
            models.Observation.status,
            models.Observation.source,
        )
        .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
        .where(
            models.Observation.indicator_id == indicator_id,
            models.Observation.period_id == period_id,
            models.SpatialUnit.city_id == city_id,
            models.Observation.sex == models.TOTAL,
            models.Observation.age_group == models.TOTAL,
            models.Observation.nationality == models.TOTAL,
        )
        .order_by(models.Observation.unit_id)
    ).all()
    withheld = hidden_observation_ids(session, city_id)
    return [safe_observation(r, r.id in withheld) for r in rows]


def served_totals(
    session: Session, city_id: int, pairs: set[tuple[int, int]]
) -> list[tuple[int, int, int, float, int | None]]:
    """``(indicator id, period id, unit id, value, n)`` of every total that
    :func:`indicator_observations` serves with a figure, for all ``(indicator id, period id)``
    ``pairs`` in one read (the audit's reader: one query per pair and a
    :class:`PublicObservation` per row took seconds on the medium demo)."""
    o = models.Observation
    rows = session.connection().execute(  # Core: plain tuples
        select(o.indicator_id, o.period_id, o.id, o.unit_id, o.value, o.n, o.status).where(
            o.unit_id.in_(
                select(models.SpatialUnit.id).where(models.SpatialUnit.city_id == city_id)
            ),
            o.sex == models.TOTAL,
            o.age_group == models.TOTAL,
            o.nationality == models.TOTAL,
        )
    )
    withheld = hidden_observation_ids(session, city_id)
    served = [
        (int(indicator), int(period), int(unit), float(value or 0.0), n)  # shown: a value
        for indicator, period, row_id, unit, value, n, status in rows
        if (indicator, period) in pairs and shown(status, value, n, row_id in withheld)
    ]
    served.sort(key=lambda row: row[:3])  # pair by pair, each by unit, as the pages read them
    return served


def _published_rows_query(
    columns: Any,
    city_id: int,
    indicator: str | None,
    period: str | None,
    unit: str | None,
) -> Any:
    """The rows of the city's published layers that pass the web's own rule, filtered as asked
    (``columns`` selected); disclosure control's withheld cells are removed by the caller."""
    query = (
        select(*columns)
        .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
        .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
        .join(models.Period, models.Period.id == models.Observation.period_id)
        .join(
            PublishedLayer,
            (PublishedLayer.indicator_id == models.Observation.indicator_id)
            & (PublishedLayer.period_id == models.Observation.period_id)
            & (PublishedLayer.city_id == city_id),
        )
        .where(models.SpatialUnit.city_id == city_id, public_observation_filter())
    )
    if indicator is not None:
        query = query.where(models.Indicator.code == indicator)
    if period is not None:
        query = query.where(models.Period.code == period)
    if unit is not None:
        query = query.where(models.SpatialUnit.code == unit)
    return query


def _layers_token(session: Session, city_id: int) -> tuple[Any, ...]:
    """Changes whenever a layer of the city is published or withdrawn."""
    return tuple(
        session.execute(
            select(func.count(PublishedLayer.id), func.max(PublishedLayer.id)).where(
                PublishedLayer.city_id == city_id
            )
        ).one()
    )


def published_observation_ids(
    session: Session,
    city_id: int,
    *,
    indicator: str | None = None,
    period: str | None = None,
    unit: str | None = None,
) -> np.ndarray:
    """Ids of every observation the API serves, in id order, disclosure control applied.

    Paging counts these, not stored rows: a page of stored rows from which control then
    withholds some came back short while more followed, and the API's clients (and the
    audit) stopped there. Cached per data, publication and protection state."""
    hidden = hidden_observation_ids(session, city_id)
    key = (
        "published-ids",
        city_id,
        indicator,
        period,
        unit,
        state_token(session),
        _layers_token(session, city_id),
        len(hidden),
        hash(hidden),
    )

    def build() -> np.ndarray:
        query = _published_rows_query(
            [models.Observation.id], city_id, indicator, period, unit
        ).order_by(models.Observation.id)
        ids = np.fromiter(session.execute(query).scalars(), dtype=np.int64)
        if hidden:
            ids = ids[~np.isin(ids, np.fromiter(hidden, dtype=np.int64, count=len(hidden)))]
        ids.setflags(write=False)
        return ids

    return PAGE_IDS.get(key, build)


def published_observation_count(
    session: Session,
    city_id: int,
    *,
    indicator: str | None = None,
    period: str | None = None,
    unit: str | None = None,
) -> int:
    """How many rows :func:`published_observations` serves over all pages (numberMatched)."""
    return len(
        published_observation_ids(session, city_id, indicator=indicator, period=period, unit=unit)
    )


def published_observations(
    session: Session,
    city_id: int,
    *,
    indicator: str | None = None,
    period: str | None = None,
    unit: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[Any]:
    """Rows ``(observation, indicator code, unit code, period, measure)`` of the city's published
    layers that the API serves, ``limit`` from ``offset`` in id order (``/api/observations``).

    ``limit`` and ``offset`` count served rows: every page is full but the last."""
    ids = published_observation_ids(
        session, city_id, indicator=indicator, period=period, unit=unit
    )[offset : offset + limit]
    if not len(ids):
        return []
    # one id range read through the primary key; withheld rows inside it are dropped below.
    # Plain columns, not ORM objects: building 330,000 Observation entities was most of the
    # audit's read of the medium demo (and of every large API page)
    o = models.Observation
    query = _published_rows_query(
        [
            *(getattr(o, name) for name in ServedObservation._fields),
            models.Indicator.code,
            models.SpatialUnit.code,
            models.Period.code,
            models.Indicator.unit,
        ],
        city_id,
        indicator,
        period,
        unit,
    ).where(o.id.between(int(ids[0]), int(ids[-1])))
    rows = session.execute(query.order_by(o.id)).all()
    wanted = set(ids.tolist())
    width = len(ServedObservation._fields)
    return [
        (ServedObservation(*r[:width]), r[width], r[width + 1], ServedPeriod(r[width + 2]), r[-1])
        for r in rows
        if r[0] in wanted
    ]


class ServedObservation(NamedTuple):
    """The columns of one served observation (what the API and the audit read of it)."""

    id: int
    sex: str
    age_group: str
    nationality: str
    value: float | None
    n: int | None
    standard_error: float | None
    ci_low: float | None
    ci_high: float | None
    status: str
    source: str | None


class ServedPeriod(NamedTuple):
    code: str


def published_columns(
    session: Session, city_id: int
) -> list[tuple[int, int, int, str, str, str, float, int | None]]:
    """``(indicator id, unit id, period id, sex, age group, nationality, value, n)`` of every
    row :func:`published_observations` serves, all pages in one read.

    The API's rows are those of the same query less the ids disclosure control withholds
    (:func:`published_observation_ids`), so the audit attacks exactly what its pages serve;
    read as plain tuples, once: paging built 330,000 row objects on the medium demo."""
    hidden = hidden_observation_ids(session, city_id)
    o = models.Observation
    columns = [o.id, o.indicator_id, o.unit_id, o.period_id, o.sex, o.age_group, o.nationality]
    query = _published_rows_query(
        [*columns, o.value, o.n],
        city_id,
        None,
        None,
        None,
    ).order_by(o.id)  # the pages' order
    return [
        (indicator, unit, period, sex, age, nationality, float(value), n)
        for row_id, indicator, unit, period, sex, age, nationality, value, n in (
            session.connection().execute(query)
        )
        if row_id not in hidden
    ]


def every_published_observation(session: Session, city_id: int, page: int = 50000) -> Iterator[Any]:
    """Every row :func:`published_observations` serves, page after page (the audit's reader)."""
    offset = 0
    while True:
        rows = published_observations(session, city_id, limit=page, offset=offset)
        yield from rows
        if len(rows) < page:
            return
        offset += page
