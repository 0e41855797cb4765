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
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inclusive_cities.cache import CACHE, observations_fingerprint, units_fingerprint
from inclusive_cities.disclosure.attacks import differencing
from inclusive_cities.disclosure.derived import (
    DerivedIndex,
    combined_differencing,
    derived_dependants,
)
from inclusive_cities.disclosure.model import (
    Cell,
    Key,
    Relation,
    always_hidden,
    build_relations,
)
from inclusive_cities.disclosure.rules import BASE_COUNTS, TOTAL, Rules, control_enabled
from inclusive_cities.disclosure.secondary import protect_verified, published_view
from inclusive_cities.specview import stored_spec
from inclusive_cities.store import models

MAX_PASSES = 4
FORMAT = 4
"""Version of the stored protection's layout (part of its key: an older file is not read)."""


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
    scores: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """(indicator, period) -> (units with a total figure, units whose figure is hidden):
    what :func:`hidden_scores` reads, kept apart so the web never needs ``truth``."""
    city_id: int | None = None
    stored_ids: dict[str, np.ndarray] | None = None
    """Read from the data folder: the key sets as observation ids, until :meth:`complete`."""
    verified: frozenset[Key] = frozenset()
    """Protected cells this process's solve attacked with the LP and found protected, each
    against a subset of ``hidden`` over the same relations: hiding more only widens an LP
    interval, so the audit of the same pattern need not attack them again. Never stored (an
    audit in another process attacks everything)."""

    def complete(self, session: Session, rules: Rules | None = None) -> Protection:
        """Fill ``truth``, ``relations`` and the key sets of a protection read from disk (the
        audit needs them; the web's reads do not, so loading the file stays cheap)."""
        if self.stored_ids is None or self.city_id is None:
            return self
        truth, parents, codes = load_truth(session, self.city_id)
        # first: it adds the combined cells, stored under their own (negative) ids
        self.relations = build_relations(truth, parents, rules or Rules())
        key_of = {int(c.id): k for k, c in truth.items() if c.id is not None}
        sets = {
            name: {key_of[int(i)] for i in ids if int(i) in key_of}
            for name, ids in self.stored_ids.items()
        }
        self.truth, self.parents, self.unit_codes = truth, parents, codes
        self.baseline, self.primary = sets["baseline"], sets["primary"]
        self.protected, self.hidden = sets["protected"], sets["hidden"]
        self.stored_ids = None
        return self

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
    o, i = models.Observation, models.Indicator
    indicators = {
        int(r[0]): (str(r[1]), str(r[2] or ""))
        for r in session.execute(select(i.id, i.code, i.unit))
    }
    periods = {
        int(r[0]): str(r[1]) for r in session.execute(select(models.Period.id, models.Period.code))
    }
    # Core rows, the codes looked up above: joining them into 470,000 rows of the medium
    # demo doubled the read. The join on the units stays: it sets the order of ``truth``,
    # and with it the order of the relations the solver is given
    rows = session.connection().execute(
        select(
            o.id,
            o.indicator_id,
            o.unit_id,
            o.period_id,
            o.sex,
            o.age_group,
            o.nationality,
            o.value,
            o.n,
            o.status,
            o.standard_error,
        )
        .join(models.SpatialUnit, models.SpatialUnit.id == o.unit_id)
        .where(models.SpatialUnit.city_id == city_id)
    )
    truth: dict[Key, Cell] = {}
    for row_id, indicator, unit_id, period, sex, age, nationality, value, n, status, error in rows:
        code, unit = indicators[indicator]
        key: Key = (code, unit_id, periods[period], sex, age, nationality)
        # estimated from the survey, or suppressed upstream: sensitive either way
        survey = status == "estimated" or error is not None or status == "suppressed"
        truth[key] = Cell(key, value, n, unit, survey, row_id)
    return truth, parents, codes


def web_rule(cell: Cell, threshold: int) -> bool:
    """What the web withholds on its own: suppressed, empty, or n below the threshold."""
    return cell.value is None or (cell.n is not None and cell.n < threshold)


def primary_cells(truth: dict[Key, Cell], rules: Rules) -> tuple[set[Key], set[Key], set[Key]]:
    """(withheld by the web's own rule, primary under the rule set, counts needing range).

    An empty cell discloses no one (and cannot be protected by suppression when its margins
    are empty too): ranges are owed to counts of 1 .. threshold - 1."""
    baseline: set[Key] = set()
    primary: set[Key] = set()
    protected: set[Key] = set()
    threshold = rules.threshold
    counting: dict[tuple[str, str], bool] = {}
    sensitive: dict[tuple[str, str, bool], bool] = {}
    for key, cell in truth.items():
        kind = (key[0], cell.unit)
        count = counting.get(kind)
        if count is None:
            count = counting[kind] = rules.is_count(*kind)
        value = cell.value
        if web_rule(cell, threshold):
            baseline.add(key)
        elif not count or value is None or value >= threshold:
            continue
        else:
            group = (key[0], key[5], cell.survey)
            small = sensitive.get(group)
            if small is None:
                small = sensitive[group] = rules.is_sensitive(*group)
            if not small:
                continue
        primary.add(key)
        if count and (value or 0) >= 1:
            protected.add(key)
    return baseline, primary, protected


def dependants(
    truth: dict[Key, Cell], hidden: set[Key], rules: Rules, index: DependencyIndex | None = None
) -> set[Key]:
    """Figures computed from hidden quantities: shares of them, rates whose n is one
    (``index``: :class:`DependencyIndex` of this very ``truth``, shared by repeated calls)."""
    index = index or DependencyIndex(truth, rules)
    shares = index.shares
    if len(hidden) > len(shares):  # from the smaller side: the same shares either way
        out = {share for key, made in shares.items() if key in hidden for share in made}
    else:
        out = {share for key in hidden for share in shares.get(key, ())}
    out.difference_update(hidden)
    counts: dict[tuple[Any, ...], set[int]] = {}
    for key in hidden:  # a rate's n is the number of people of its group in its unit
        if key[0] in BASE_COUNTS:
            value = truth[key].value
            if value is not None:
                counts.setdefault(key[1:], set()).add(round(value))
    for group, values in counts.items():
        for key, n in index.rates.get(group, ()):
            if n in values and key not in hidden:
                out.add(key)
    # entropy of hidden counts
    return out | derived_dependants(truth, hidden | out, rules, index=index.derived)


class DependencyIndex:
    """Which figure depends on which, read once per ``truth`` (``dependants`` runs a dozen
    times per solve and walked all 470,000 figures twice each time on the medium demo)."""

    def __init__(self, truth: dict[Key, Cell], rules: Rules) -> None:
        self.shares: dict[Key, list[Key]] = {}
        """count or total -> the shares computed from it (looked up per hidden cell)."""
        self.rates: dict[tuple[Any, ...], list[tuple[Key, int]]] = {}
        kinds: dict[tuple[str, str], bool] = {}
        for key, cell in truth.items():
            pair = rules.shares.get(key[0])
            if pair is not None:
                rest = key[1:]
                count: Key = (pair[0], *rest)
                total: Key = (pair[1], *rest)
                self.shares.setdefault(count, []).append(key)
                if total != count:
                    self.shares.setdefault(total, []).append(key)
            if cell.n is not None:
                kind = (key[0], cell.unit)
                is_count = kinds.get(kind)
                if is_count is None:
                    is_count = kinds[kind] = rules.is_count(*kind)
                if not is_count:
                    self.rates.setdefault(key[1:], []).append((key, cell.n))
        self.derived = DerivedIndex(truth)


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
        result.scores = score_index(truth, result.hidden)
        return result
    index = DependencyIndex(truth, rules)
    hidden = set(primary) | dependants(truth, primary, rules, index)
    changed: set[Key] | None = None
    verified: set[Key] = set()
    for _pass in range(MAX_PASSES):
        hidden, proven = protect_verified(
            truth, relations, hidden, protected, rules, changed, verified
        )
        verified |= proven
        more = dependants(truth, hidden, rules, index) - hidden
        if not more:
            break
        hidden |= more
        changed = more
    result.hidden = close(truth, relations, hidden, rules, index)
    result.verified = frozenset(verified)
    # what the closure added is withheld too (it was computed, then left out of the ids)
    result.hidden_ids = frozenset(
        int(truth[k].id or 0) for k in result.hidden - baseline if truth[k].id is not None
    )
    result.scores = score_index(truth, result.hidden)
    return result


def score_index(
    truth: dict[Key, Cell], hidden: set[Key]
) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Per (indicator, period): the units holding a total figure and those hidden among them."""
    present: dict[tuple[str, str], list[int]] = {}
    withheld: dict[tuple[str, str], list[int]] = {}
    totals = (TOTAL, TOTAL, TOTAL)
    for key, cell in truth.items():
        if key[3] != TOTAL or key[3:] != totals:
            continue
        group = (key[0], key[2])
        present.setdefault(group, []).append(key[1])
        if cell.value is not None and key in hidden:
            withheld.setdefault(group, []).append(key[1])
    return {
        group: (
            np.unique(np.array(units, dtype=np.int64)),
            np.unique(np.array(withheld.get(group, []), dtype=np.int64)),
        )
        for group, units in present.items()
    }


def close(
    truth: dict[Key, Cell],
    relations: list[Relation],
    hidden: set[Key],
    rules: Rules,
    index: DependencyIndex | None = None,
) -> set[Key]:
    """Hide more until no figure computed from a hidden one is shown and no relation holds a
    single hidden member.

    The passes above can end with cells added last (dependants of the final pattern) that no
    solve has seen; on the medium demo 2,634 rates came back by subtraction that way. Hiding
    more never helps the attacker, so this monotone closure keeps what the solver proved and
    ends (the set only grows). For each relation that still gives a member away, the visible
    member with the smallest value is withheld with it (for a part alone beside its total,
    the total).

    Incremental: after the first pass only the relations holding a newly hidden cell are
    looked at again for sums of hidden groups (an untouched relation gives what it gave
    before, whose visible member is hidden by then), and the public view loses the new cells
    instead of being rebuilt; the result is the same set as full passes give.
    """
    hidden = set(hidden)
    index = index or DependencyIndex(truth, rules)
    view = published_view(truth, hidden)
    holding: Memberships | None = None  # built on the second pass
    among: list[int] | None = None  # every relation on the first pass
    new = hidden
    while True:
        # what depends on hidden figures is the union of what depends on each one: only the
        # cells hidden by the last pass can add to it (the full rule checks the end)
        more = dependants(truth, new, rules, index) - hidden
        batch = relations if among is None else [relations[i] for i in among]
        # the sum of hidden groups too (across blocks: the combined cells cover the groups)
        for finding in differencing(truth, view, relations, rules, among) + combined_differencing(
            truth, view, batch, rules
        ):
            if truth[finding.key].of is not None and not always_hidden(truth[finding.key], rules):
                continue  # the n of a hidden rate, given by public counts: nothing secret
            visible = [
                k for k in finding.via if isinstance(k, tuple) and k not in hidden and k in truth
            ]
            if visible:
                more.add(min(visible, key=lambda k: abs(truth[k].value or 0.0)))
        if not more and new is not hidden:
            more = dependants(truth, hidden, rules, index) - hidden
        if not more:
            return hidden
        hidden |= more
        new = more
        for key in more:
            view.values.pop(key, None)
            view.counts.pop(key, None)
        if holding is None:
            holding = Memberships(truth, relations)
        among = holding.among(more)


class Memberships:
    """Which relations hold which cells, as arrays sorted by cell (1.9 million memberships on
    the medium demo: a Python list per cell took seconds to build, numpy sorts them in a
    fraction of one)."""

    def __init__(self, truth: dict[Key, Cell], relations: list[Relation]) -> None:
        self.position = {key: number for number, key in enumerate(truth)}
        members = list(chain.from_iterable(r.members for r in relations))
        try:
            numbered = itemgetter(*members)(self.position) if members else ()
        except KeyError:  # relations name cells of ``truth`` only; any other is numbered too
            for key in members:
                self.position.setdefault(key, len(self.position))
            numbered = itemgetter(*members)(self.position)
        cells = np.atleast_1d(np.array(numbered, dtype=np.int64))
        sizes = np.fromiter((len(r.parts) + 1 for r in relations), np.int64, len(relations))
        order = np.argsort(cells, kind="stable")
        self.cells = cells[order]
        self.numbers = np.repeat(np.arange(len(relations), dtype=np.int64), sizes)[order]

    def among(self, keys: set[Key]) -> list[int]:
        """The numbers of the relations holding any of ``keys``, in order."""
        wanted = np.array([self.position[k] for k in keys if k in self.position], dtype=np.int64)
        low = np.searchsorted(self.cells, wanted, side="left")
        high = np.searchsorted(self.cells, wanted, side="right")
        found = [self.numbers[a:b] for a, b in zip(low.tolist(), high.tolist(), strict=True)]
        if not found:
            return []
        return [int(i) for i in np.unique(np.concatenate(found))]


def protection(session: Session, city_id: int, rules: Rules | None = None) -> Protection:
    """The city's protection under the current store contents (cached in memory and on disk).

    Solving it takes seconds on a small city and minutes on a medium one, so the result is
    also kept in the data folder under a key of the store's contents (not its address: a
    copied store reads it too), the software version and the file layout: ``publish``
    computes it once (its audit needs it) and every web worker started later reads the
    hidden ids from it instead of solving again on its first request.
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
        stored = _stored_path(city_id, contents_key(session, city_id, rules, enabled))
        loaded = _load(stored)
        if loaded is not None:
            return loaded
        truth, parents, codes = load_truth(session, city_id)
        result = compute(truth, parents, codes, rules, enabled)
        result.city_id = city_id
        _store(stored, city_id, result)
        return result

    return CACHE.get(key, build)


def contents_key(session: Session, city_id: int, rules: Rules, enabled: bool) -> tuple[Any, ...]:
    """What the protection depends on, read from the store's contents in one pass each:
    the city's observations (ids, values, n, groups, statuses), its units and the indicators."""
    from inclusive_cities import __version__

    o, u, i = models.Observation, models.SpatialUnit, models.Indicator
    observations = session.execute(
        select(
            func.count(),
            func.max(o.id),
            func.sum(o.id),
            func.sum(o.value),
            func.sum(o.n),
            func.sum(o.standard_error),
            func.sum(o.indicator_id * 7 + o.period_id * 13 + o.unit_id),
            func.sum(
                func.length(o.status)
                + func.length(o.sex) * 3
                + func.length(o.age_group) * 5
                + func.length(o.nationality) * 11
            ),
        )
        .join(u, u.id == o.unit_id)
        .where(u.city_id == city_id)
    ).one()
    units = session.execute(
        select(func.count(), func.sum(u.id), func.sum(u.parent_id), func.max(u.id)).where(
            u.city_id == city_id
        )
    ).one()
    indicators = session.execute(
        select(func.count(), func.max(i.id), func.sum(func.length(i.code) + func.length(i.unit)))
    ).one()
    digest = tuple(
        None if v is None else f"{float(v):.12g}" for v in (*observations, *units, *indicators)
    )
    return ("disclosure", FORMAT, __version__, city_id, enabled, repr(rules), digest)


def _stored_path(city_id: int, key: tuple[Any, ...]) -> Path | None:
    from inclusive_cities.config import get_settings

    folder = Path(get_settings().data_dir) / "disclosure"
    digest = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:32]
    return folder / f"protection-{city_id}-{digest}.pickle"


def _ids(truth: dict[Key, Cell], keys: set[Key]) -> np.ndarray:
    ids = (truth[k].id for k in keys)
    return np.array(sorted(int(i) for i in ids if i is not None), dtype=np.int64)


def _store(path: Path | None, city_id: int, result: Protection) -> None:
    """Write atomically; a read-only data folder only costs the next process a new solve.

    Only what the web reads is kept (ids and the score index as arrays, no ``truth``): the
    medium demo's file went from 56 MB of objects to a few MB that load in milliseconds.
    """
    if path is None:
        return
    stored = {
        "format": FORMAT,
        "enabled": result.enabled,
        "city_id": city_id,
        "hidden_ids": np.array(sorted(result.hidden_ids), dtype=np.int64),
        "scores": result.scores,
        "ids": {
            name: _ids(result.truth, getattr(result, name))
            for name in ("baseline", "primary", "protected", "hidden")
        },
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(f"protection-{city_id}-*.pickle"):
            old.unlink(missing_ok=True)  # earlier states of this city's data
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            pickle.dump(stored, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)
    except OSError:
        return


def _load(path: Path | None) -> Protection | None:
    """The stored protection, or None when missing, damaged or of another layout."""
    if path is None or not path.exists():
        return None
    try:
        with path.open("rb") as handle:
            # written by this software in its own data folder (see _store)
            stored = pickle.load(handle)
        if not isinstance(stored, dict) or stored.get("format") != FORMAT:
            return None
        return Protection(
            bool(stored["enabled"]),
            {},
            [],
            {},
            {},
            hidden_ids=frozenset(int(i) for i in stored["hidden_ids"]),
            scores=stored["scores"],
            city_id=int(stored["city_id"]),
            stored_ids=dict(stored["ids"]),
        )
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, KeyError, TypeError):
        return None  # a damaged file: solve again and replace it


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
    units = np.asarray(unit_ids, dtype=np.int64)
    mask = np.zeros((len(units), len(nodes)), dtype=bool)
    column = {n: j for j, n in enumerate(nodes)}
    empty = np.zeros(0, dtype=np.int64)
    for node in nodes:
        rows = np.isin(units, protection_.scores.get((node, period), (empty, empty))[1])
        if not rows.any():
            continue
        current: str | None = node
        while current is not None and current in column:
            mask[rows, column[current]] = True
            current = parent_of.get(current)
        if node not in parent_of:  # no tree known: every aggregate node goes too
            for other, j in column.items():
                present = protection_.scores.get((other, period), (empty, empty))[0]
                mask[rows & ~np.isin(units, present), j] = True
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
