"""Rank intervals among the published units only.

``marker build --uncertainty N`` keeps each unit's 5-95 % rank interval over its Monte Carlo
runs, ranked among every scored unit. Once disclosure control withholds some units' index,
the public ranks count published units only (:func:`~.served.rank_among_published`), and the
stored intervals no longer fit them: on the medium demo the 2nd barrio read "(5–11)", and the
gaps between intervals gave away where withheld units sit. The Monte Carlo is seeded, so it
can be run again with the withheld units left out of every run's ranking: the draws are the
same, only who is ranked changes. :func:`store_public_rank_intervals` does that when a run is
published and keeps the result in the data folder (next to the protection it depends on);
:func:`public_rank_intervals` serves it, or nothing with the reason why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from inclusive_cities.disclosure.served import RunScores, run_scores
from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models

FORMAT = 1
LOG = logging.getLogger(__name__)
_RUNNING: set[tuple[int, str]] = set()
_FAILED: dict[tuple[int, str], str] = {}
"""(run id, withheld digest) being computed in the background, or found impossible, in this
process (runs published on the web, or withheld units changed by new data)."""
_LOCK = threading.Lock()
PENDING = "pending"
"""Some units are withheld and the intervals among the published ones were not computed for
this state of the data (publishing the run computes them)."""
CHANGED = "changed"
"""The observations changed since the run was built: its Monte Carlo cannot be rerun."""


@dataclass(frozen=True)
class PublicRankIntervals:
    """unit id -> (5th, 95th percentile rank) among published units; ``reason`` says why
    there are none ("" when shown or when the run kept no uncertainty analysis);
    ``outside`` holds the units whose interval was left out because it does not contain the
    rank shown beside it."""

    intervals: dict[int, tuple[int, int]] = field(default_factory=dict)
    reason: str = ""
    withheld: int = 0
    outside: frozenset[int] = frozenset()

    def note(self) -> str:
        """The sentence a page shows where intervals are missing, in the reader's language."""
        if self.reason == PENDING:
            return _(
                "Rank intervals are not shown yet: they were computed among every scored unit, "
                "{count} of them withheld for confidentiality, and are being computed again "
                "among the published units only (reload the page in a minute)."
            ).format(count=self.withheld)
        if self.reason == CHANGED:
            return _(
                "Rank intervals are not shown: the observations changed since this marker run "
                "was built, so its uncertainty analysis cannot be repeated among the published "
                "units. Build and publish the run again."
            )
        if self.outside:
            return _(
                "Units without a rank interval: {count} (their rank lies outside the range "
                "of 90 % of the Monte Carlo runs)."
            ).format(count=len(self.outside))
        return ""


def root_node(run: models.MarkerRun, scores: RunScores) -> str:
    """The index node: the stored recipe's root, else the first node."""
    recipe = (run.parameters or {}).get("spec")
    if isinstance(recipe, dict):
        code = (recipe.get("tree") or {}).get("code")
        if code in scores.nodes:
            return str(code)
    return scores.nodes[0]


def _digest(run: models.MarkerRun, withheld_ids: np.ndarray) -> str:
    text = repr((FORMAT, run.id, run.input_hash, sorted(int(i) for i in withheld_ids)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _path(run_id: int, digest: str) -> Path:
    from inclusive_cities.config import get_settings

    return Path(get_settings().data_dir) / "disclosure" / f"rank-intervals-{run_id}-{digest}.json"


def _unit_codes(session: Session, run: models.MarkerRun, unit_ids: np.ndarray) -> dict[str, int]:
    """code -> id of the run's units (read by level, not by a list of ids: a national run's
    100,000 ids are more than SQLite takes as parameters)."""
    query = select(models.SpatialUnit.code, models.SpatialUnit.id)
    if run.level_id is not None:
        query = query.where(
            models.SpatialUnit.city_id == run.city_id,
            models.SpatialUnit.level_id == run.level_id,
        )
    else:  # a run that kept no level: its units by id
        query = query.where(models.SpatialUnit.id.in_([int(u) for u in unit_ids]))
    rows = session.execute(query).all()
    wanted = set(unit_ids.tolist())
    return {str(code): int(uid) for code, uid in rows if int(uid) in wanted}


def public_rank_intervals(
    session: Session,
    run: models.MarkerRun | None,
    scores: RunScores | None = None,
    root: str | None = None,
) -> PublicRankIntervals:
    """The rank intervals the public may see beside the public ranks of ``run``.

    All units published: the run's own intervals. Some withheld: those recomputed among the
    published units for exactly this set of withheld units, else none and the reason. Either
    way an interval that does not contain the rank shown beside it is left out. ``root`` is
    the index node when the caller knows it (the site's spec), else the run's own recipe's."""
    raw = (run.parameters or {}).get("rank_intervals") if run is not None else None
    if run is None or not isinstance(raw, dict) or not raw:
        return PublicRankIntervals()
    scores = scores if scores is not None else run_scores(session, run.id)
    if not len(scores.unit_ids):
        return PublicRankIntervals()
    root = root if root in scores.nodes else root_node(run, scores)
    withheld = scores.is_withheld(root)
    if withheld.any():
        digest = _digest(run, scores.unit_ids[withheld])
        stored = _load(_path(run.id, digest))
        if stored is None:
            reason = _FAILED.get((run.id, digest), PENDING)
            return PublicRankIntervals(reason=reason, withheld=int(withheld.sum()))
        raw = stored
    ids = _unit_codes(session, run, scores.unit_ids)
    rank_of = {
        int(u): r for u, r in zip(scores.unit_ids, scores.ranks[root], strict=True) if r is not None
    }
    intervals: dict[int, tuple[int, int]] = {}
    outside: set[int] = set()
    for code, bounds in raw.items():
        unit = ids.get(str(code))
        rank = rank_of.get(unit) if unit is not None else None
        if unit is None or rank is None:
            continue  # withheld or without an index: nothing is shown beside it
        low, high = int(bounds[0]), int(bounds[1])
        if low <= rank <= high:
            intervals[unit] = (low, high)
        else:
            outside.add(unit)
    return PublicRankIntervals(intervals, "", int(withheld.sum()), frozenset(outside))


def _load(path: Path) -> dict[str, list[int]] | None:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("format") != FORMAT:
        return None
    intervals = stored.get("intervals")
    return intervals if isinstance(intervals, dict) else None


def _save(path: Path, run_id: int, intervals: dict[str, list[int]]) -> None:
    """Atomically; older states of the run's withheld units are removed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(f"rank-intervals-{run_id}-*.json"):
            old.unlink(missing_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(
            json.dumps({"format": FORMAT, "run": run_id, "intervals": intervals}),
            encoding="utf-8",
        )
        os.replace(partial, path)
    except OSError:
        return  # a read-only data folder: the pages say the intervals are pending


def compute_in_background(engine: Any, run_id: int, found: PublicRankIntervals) -> None:
    """Start computing a run's public intervals in a thread when ``found`` says they are
    pending (a run published on the web, or new data that changed the withheld units); one
    thread per run and state in this process, and the pages say so meanwhile."""
    if found.reason != PENDING:
        return
    from inclusive_cities.store import transaction

    with transaction(engine) as session:
        run = session.get(models.MarkerRun, run_id)
        scores = run_scores(session, run_id)
        if run is None:
            return
        root = root_node(run, scores)
        key = (run_id, _digest(run, scores.unit_ids[scores.is_withheld(root)]))
    with _LOCK:
        if key in _RUNNING or key in _FAILED:
            return
        _RUNNING.add(key)

    def work() -> None:
        try:
            with transaction(engine) as session:
                reason = store_public_rank_intervals(session, run_id)
            if reason:
                _FAILED[key] = reason
        except Exception:  # a background thread has nobody to tell but the log
            LOG.exception("rank intervals of marker run %s", run_id)
            _FAILED[key] = CHANGED
        finally:
            with _LOCK:
                _RUNNING.discard(key)

    threading.Thread(target=work, name=f"rank-intervals-{run_id}", daemon=True).start()


def store_public_rank_intervals(session: Session, run_id: int) -> str:
    """Compute and keep the rank intervals among the published units of a run.

    Returns "" when they are stored or not needed (no uncertainty analysis, nothing
    withheld), else the reason code (:data:`CHANGED`). Seconds on the medium demo's 162
    barrios (256 replicates); it only reads the store."""
    run = session.get(models.MarkerRun, run_id)
    if run is None:
        return ""
    parameters = run.parameters or {}
    uncertainty = parameters.get("uncertainty")
    if not parameters.get("rank_intervals") or not isinstance(uncertainty, dict):
        return ""
    scores = run_scores(session, run_id)
    root = root_node(run, scores)
    withheld = scores.is_withheld(root)
    if not withheld.any():
        return ""
    path = _path(run.id, _digest(run, scores.unit_ids[withheld]))
    if _load(path) is not None:
        return ""  # already computed for these withheld units
    codes = {uid: code for code, uid in _unit_codes(session, run, scores.unit_ids).items()}
    hidden_codes = {codes[int(u)] for u in scores.unit_ids[withheld]}
    intervals = rank_intervals_among(session, run, hidden_codes)
    if intervals is None:
        return CHANGED
    _save(path, run.id, intervals)
    return ""


def rank_intervals_among(
    session: Session, run: models.MarkerRun, left_out: set[str]
) -> dict[str, list[int]] | None:
    """unit code -> [5th, 95th percentile rank] of the run's own Monte Carlo, each run ranking
    every unit but ``left_out``; None when the store no longer holds the run's input.

    The same seed, replicates, uncertain choices and input as ``marker build`` give the same
    draws (the input is checked against the run's input hash); a left-out unit's score is
    set to missing in every run, and missing scores are not ranked."""
    from inclusive_cities.marker.build import _uncertainty_spec as uncertainty_spec
    from inclusive_cities.marker.engine import compute
    from inclusive_cities.marker.sensitivity import MarkerModel, marker_factors, monte_carlo
    from inclusive_cities.marker.spec import MarkerSpec

    parameters = run.parameters or {}
    uncertainty = parameters["uncertainty"]
    replicates, seed = int(uncertainty["replicates"]), int(uncertainty["seed"])
    spec = MarkerSpec.model_validate(parameters["spec"])
    wide, population = run_input(session, run, spec)
    options: dict[str, Any] = {"population_column": population, "missing_columns": "ignore"}
    nominal = compute(spec, wide, id_column="unit_code", **options)
    if nominal.provenance.input_hash != run.input_hash:
        return None
    spec = uncertainty_spec(spec, nominal.derived_weights)
    # from here on, what marker.sensitivity.sensitivity does for marker build's call, with
    # the left-out units' scores made missing before the ranking
    nominal = compute(spec, wide, "unit_code", **options)
    node = spec.tree.code
    rng = np.random.default_rng(seed)
    model = MarkerModel(
        spec,
        wide,
        node,
        id_column="unit_code",
        standard_errors=None,
        error_draws=32,
        seed=seed,
        compute_options=options,
    )
    factors = marker_factors(
        spec,
        node,
        weights=0.25,
        normalisation=None,
        aggregation=("arithmetic", "geometric"),
        imputation=None,
        drop_indicator=True,
        error_draws=32,
        has_errors=model.has_errors,
        pool_size=replicates,
        rng=rng,
    )
    ids = np.asarray(nominal.ids).astype(str)
    out = np.isin(ids, list(left_out))

    def evaluate(scenario: dict[str, object]) -> np.ndarray:
        scores = np.array(model(scenario), dtype=float)
        scores[out] = np.nan
        return scores

    nominal_scores = nominal.scores[node].to_numpy(dtype=float).copy()
    nominal_scores[out] = np.nan
    result = monte_carlo(
        evaluate,
        factors,
        nominal_scores,
        nominal.ids,
        replicates=replicates,
        seed=seed,
        n_bootstrap=100,
        rng=rng,
        workers=1,
        output_names=model.outputs,
    )
    units = result.units
    return {
        str(code): [round(float(low)), round(float(high))]
        for code, low, high in zip(units.index, units["rank_p05"], units["rank_p95"], strict=True)
        if not (np.isnan(low) or np.isnan(high))
    }


def run_input(session: Session, run: models.MarkerRun, spec: Any) -> tuple[Any, str | None]:
    """The wide table (unit_code + one column per indicator) and population column that
    ``marker build`` read for ``run``, from the same store queries (its private readers: the
    input hash checks that they still agree)."""
    import pandas as pd

    from inclusive_cities.marker import build

    city = session.get(models.City, run.city_id)
    period = session.get(models.Period, run.period_id)
    level = session.get(models.UnitLevel, run.level_id)
    assert city is not None and period is not None and level is not None
    population = (run.parameters or {}).get("population_indicator") or "population"
    units = session.execute(
        select(models.SpatialUnit.id, models.SpatialUnit.code).where(
            models.SpatialUnit.city_id == city.id, models.SpatialUnit.level_id == level.id
        )
    ).all()
    codes = spec.indicator_codes
    long = build._level_values(session, city, period, level, [*codes, population], units)
    lacking = [c for c in codes if c not in set(long["indicator"].unique())]
    if lacking:
        extra, inherited = build._inherit(session, city, period, level, lacking)
        lacking = [c for c in lacking if c not in inherited]
        finer, _aggregated = build._aggregate_up(session, city, period, level, lacking, population)
        borrowed = [frame for frame in (extra, finer) if len(frame)]
        long = pd.concat([long, *borrowed], ignore_index=True) if borrowed else long
    wide = long.pivot(index="unit_code", columns="indicator", values="value")
    wide = wide.reindex(sorted(str(code) for _id, code in units))
    wide = wide.rename_axis("unit_code").reset_index()
    return wide, (population if population in wide.columns else None)


def store_city_rank_intervals(engine: Any, city: str) -> list[str]:
    """:func:`store_public_rank_intervals` for each published run of ``city`` that kept an
    uncertainty analysis (``publish`` calls it after its transaction: it only reads, so it
    holds no write lock). Returns the notes of runs whose intervals stay hidden."""
    from inclusive_cities.store import transaction

    notes: list[str] = []
    with transaction(engine) as session:
        runs = session.scalars(
            select(models.MarkerRun.id)
            .join(models.City, models.City.id == models.MarkerRun.city_id)
            .where(models.City.code == city, models.MarkerRun.published.is_(True))
        ).all()
        for run_id in runs:
            if store_public_rank_intervals(session, run_id) == CHANGED:
                notes.append(PublicRankIntervals(reason=CHANGED).note())
    return notes
