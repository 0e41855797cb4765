"""Disclosure control applied to what the observatory stores, for the web to serve.

:func:`protection` reads every observation of a city, applies the rule set (primary,
dependency, secondary) and returns the cells to withhold; the web's read functions ask it
(through :func:`hidden_observation_ids` and :func:`mask_scores`) before serving anything.
The result is cached under the store's fingerprints, like the web's other derived data.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inclusive_cities.cache import CACHE, observations_fingerprint, units_fingerprint
from inclusive_cities.disclosure.attacks import differencing
from inclusive_cities.disclosure.model import Cell, Key, Relation, build_relations
from inclusive_cities.disclosure.rules import BASE_COUNTS, TOTAL, Rules, control_enabled
from inclusive_cities.disclosure.secondary import protect, published_view
from inclusive_cities.specview import stored_spec
from inclusive_cities.store import models

MAX_PASSES = 4


@dataclass
class Protection:
    """The hidden cells of one city and why each is hidden."""

    enabled: bool
    truth: dict[Key, Cell]
    relations: list[Relation]
    unit_codes: dict[int, str]
    parents: dict[int, int | None]
    baseline: set[Key] = field(default_factory=set)
    primary: set[Key] = field(default_factory=set)
    protected: set[Key] = field(default_factory=set)
    hidden: set[Key] = field(default_factory=set)
    hidden_ids: frozenset[int] = frozenset()

    def reason(self, key: Key) -> str:
        if key in self.baseline:
            return "threshold"
        if key in self.primary:
            return "primary"
        return "secondary" if key in self.hidden else ""


def load_truth(
    session: Session, city_id: int
) -> tuple[dict[Key, Cell], dict[int, int | None], dict[int, str]]:
    """Every stored figure of the city with its true value (the auditor's view)."""
    units = session.execute(
        select(models.SpatialUnit.id, models.SpatialUnit.code, models.SpatialUnit.parent_id).where(
            models.SpatialUnit.city_id == city_id
        )
    ).all()
    parents = {int(u.id): (None if u.parent_id is None else int(u.parent_id)) for u in units}
    codes = {int(u.id): u.code for u in units}
    rows = session.execute(
        select(
            models.Observation.id,
            models.Indicator.code,
            models.Indicator.unit,
            models.Observation.unit_id,
            models.Period.code,
            models.Observation.sex,
            models.Observation.age_group,
            models.Observation.nationality,
            models.Observation.value,
            models.Observation.n,
            models.Observation.status,
            models.Observation.standard_error,
        )
        .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
        .join(models.Period, models.Period.id == models.Observation.period_id)
        .join(models.SpatialUnit, models.SpatialUnit.id == models.Observation.unit_id)
        .where(models.SpatialUnit.city_id == city_id)
    ).all()
    truth: dict[Key, Cell] = {}
    for r in rows:
        key: Key = (r[1], int(r[3]), r[4], r[5], r[6], r[7])
        survey = r[10] == "estimated" or r[11] is not None
        suppressed = r[10] == "suppressed"
        truth[key] = Cell(key, r[8], r[9], r[2] or "", survey or suppressed, int(r[0]))
        if suppressed:
            truth[key].survey = True
    return truth, parents, codes


def web_rule(cell: Cell, threshold: int) -> bool:
    """What the web withholds on its own: suppressed, empty, or n below the threshold."""
    return cell.value is None or (cell.n is not None and cell.n < threshold)


def primary_cells(truth: dict[Key, Cell], rules: Rules) -> tuple[set[Key], set[Key], set[Key]]:
    """(withheld by the web's own rule, primary under the rule set, counts needing range)."""
    baseline = {k for k, c in truth.items() if web_rule(c, rules.threshold)}
    primary = set(baseline)
    for key, cell in truth.items():
        if (
            cell.value is not None
            and rules.is_count(key[0], cell.unit)
            and rules.is_sensitive(key[0], key[5], cell.survey)
            and cell.value < rules.threshold
        ):
            primary.add(key)
    # an empty cell discloses no one (and cannot be protected by suppression when its
    # margins are empty too): ranges are owed to counts of 1 .. threshold - 1
    protected = {
        k for k in primary if (truth[k].value or 0) >= 1 and rules.is_count(k[0], truth[k].unit)
    }
    return baseline, primary, protected


def dependants(truth: dict[Key, Cell], hidden: set[Key], rules: Rules) -> set[Key]:
    """Figures computed from hidden quantities: shares of them, rates whose n is one."""
    out: set[Key] = set()
    for key in truth:
        pair = rules.shares.get(key[0])
        if (
            pair is not None
            and key not in hidden
            and ((pair[0], *key[1:]) in hidden or (pair[1], *key[1:]) in hidden)
        ):
            out.add(key)
    counts: dict[tuple[Any, ...], set[int]] = {}
    for key in hidden:  # a rate's n is the number of people of its group in its unit
        cell = truth[key]
        if cell.value is not None and key[0] in BASE_COUNTS:
            counts.setdefault(key[1:], set()).add(round(cell.value))
    for key, cell in truth.items():
        if key in hidden or cell.n is None or rules.is_count(key[0], cell.unit):
            continue
        if cell.n in counts.get(key[1:], ()):
            out.add(key)
    return out


def compute(
    truth: dict[Key, Cell],
    parents: dict[int, int | None],
    codes: dict[int, str],
    rules: Rules,
    enabled: bool = True,
) -> Protection:
    """Primary, dependency and secondary suppression to a fixed point."""
    relations = build_relations(truth, parents, rules)
    baseline, primary, protected = primary_cells(truth, rules)
    result = Protection(enabled, truth, relations, codes, parents, baseline, primary, protected)
    if not enabled:
        result.hidden = set(baseline)
        return result
    hidden = set(primary) | dependants(truth, primary, rules)
    changed: set[Key] | None = None
    for _pass in range(MAX_PASSES):
        hidden = protect(truth, relations, hidden, protected, rules, changed)
        more = dependants(truth, hidden, rules) - hidden
        if not more:
            break
        hidden |= more
        changed = more
    result.hidden = close(truth, relations, hidden, rules)
    result.hidden_ids = frozenset(
        int(truth[k].id or 0) for k in hidden - baseline if truth[k].id is not None
    )
    return result


def close(
    truth: dict[Key, Cell], relations: list[Relation], hidden: set[Key], rules: Rules
) -> set[Key]:
    """Hide more until no figure computed from a hidden one is shown and no relation holds a
    single hidden member.

    The passes above can end with cells added last (dependants of the final pattern) that no
    solve has seen; on the medium demo 2,634 rates came back by subtraction that way. Hiding
    more never helps the attacker, so this monotone closure keeps what the solver proved and
    ends (the set only grows). For each relation that still gives a member away, the visible
    member with the smallest value is withheld with it (for a part alone beside its total,
    the total).
    """
    hidden = set(hidden)
    while True:
        more = dependants(truth, hidden, rules) - hidden
        for finding in differencing(truth, published_view(truth, hidden), relations, rules):
            visible = [
                k for k in finding.via if isinstance(k, tuple) and k not in hidden and k in truth
            ]
            if visible:
                more.add(min(visible, key=lambda k: abs(truth[k].value or 0.0)))
        if not more:
            return hidden
        hidden |= more


def protection(session: Session, city_id: int, rules: Rules | None = None) -> Protection:
    """The city's protection under the current store contents (cached in memory and on disk).

    Solving it takes seconds on a small city and minutes on a medium one, so the result is
    also kept in the data folder under a key of the store's contents: ``publish`` computes it
    once (its audit needs it) and every web worker started later reads it in a second instead
    of solving again on its first request.
    """
    rules = rules or Rules()
    enabled = control_enabled()
    key = (
        "disclosure",
        city_id,
        enabled,
        repr(rules),
        observations_fingerprint(session),
        units_fingerprint(session, city_id),
        session.scalar(select(func.max(models.MarkerRun.id))),
        str(session.get_bind().engine.url),
    )

    def build() -> Protection:
        stored = _stored_path(key)
        if stored is not None and stored.exists():
            try:
                with stored.open("rb") as handle:
                    # written by this software in its own data folder (see _store)
                    loaded = pickle.load(handle)
                if isinstance(loaded, Protection):
                    return loaded
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
                pass  # a damaged or older file: solve again and replace it
        truth, parents, codes = load_truth(session, city_id)
        result = compute(truth, parents, codes, rules, enabled)
        _store(stored, city_id, result)
        return result

    return CACHE.get(key, build)


def _stored_path(key: tuple[Any, ...]) -> Path | None:
    from inclusive_cities.config import get_settings

    folder = Path(get_settings().data_dir) / "disclosure"
    digest = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:32]
    return folder / f"protection-{key[1]}-{digest}.pickle"


def _store(path: Path | None, city_id: int, result: Protection) -> None:
    """Write atomically; a read-only data folder only costs the next process a new solve."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(f"protection-{city_id}-*.pickle"):
            old.unlink(missing_ok=True)  # earlier states of this city's data
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)
    except OSError:
        return


def hidden_observation_ids(session: Session, city_id: int) -> frozenset[int]:
    """Observation ids the web must withhold beyond its own threshold rule."""
    if not control_enabled():
        return frozenset()
    return protection(session, city_id).hidden_ids


def state_token(session: Session) -> tuple[Any, ...]:
    """Part of every cache key of served figures: the control switch and the data."""
    return (control_enabled(), observations_fingerprint(session))


def hidden_scores(
    protection_: Protection,
    period: str,
    unit_ids: np.ndarray,
    nodes: list[str],
    parent_of: dict[str, str | None],
) -> np.ndarray:
    """Which (unit, node) scores to withhold: those normalised from a hidden cell, and
    every node above them (a mean of children gives a lone hidden child back)."""
    mask = np.zeros((len(unit_ids), len(nodes)), dtype=bool)
    column = {n: j for j, n in enumerate(nodes)}
    for i, unit in enumerate(unit_ids):
        for node in nodes:
            key: Key = (node, int(unit), period, TOTAL, TOTAL, TOTAL)
            cell = protection_.truth.get(key)
            if cell is None or cell.value is None or key not in protection_.hidden:
                continue
            current: str | None = node
            while current is not None and current in column:
                mask[i, column[current]] = True
                current = parent_of.get(current)
            if node not in parent_of:  # no tree known: every aggregate node goes too
                for other, j in column.items():
                    if (other, int(unit), period, TOTAL, TOTAL, TOTAL) not in protection_.truth:
                        mask[i, j] = True
    roots = [j for n, j in column.items() if parent_of.get(n, "") is None]
    for j in roots:  # one hidden root beside a published city score is a lone child
        hidden_rows = np.flatnonzero(mask[:, j])
        if len(hidden_rows) == 1 and len(unit_ids) > 1:
            mask[(hidden_rows[0] + 1) % len(unit_ids), j] = True
    return mask


def mask_scores(session: Session, run: models.MarkerRun, scores: Any) -> None:
    """Withhold, in place, the scores of a run that would disclose a hidden cell."""
    if not control_enabled() or len(scores.unit_ids) == 0:
        return
    period = session.scalar(select(models.Period.code).where(models.Period.id == run.period_id))
    spec = stored_spec(run)
    parent_of: dict[str, str | None] = {}
    if spec is not None:
        parent_of = {n.code: n.parent for n in spec.nodes}
    mask = hidden_scores(
        protection(session, run.city_id), str(period), scores.unit_ids, scores.nodes, parent_of
    )
    scores.scores[mask] = np.nan
    for j, node in enumerate(scores.nodes):
        rows = np.flatnonzero(mask[:, j])
        for i in rows:
            scores.levels[node][i] = None
            scores.ranks[node][i] = None
