"""Figures derived from a partition's counts, and cells suppressed before disclosure control.

Two leaks the additive relations of :mod:`model` do not see on their own:

* an index computed from a partition's counts (the Shannon entropy of the host, Venezuelan
  and other-foreign shares) is published with ``n`` = the population: with the published
  counts of the other groups it inverts to the hidden ones. Which indices are built from
  which partition is read from the indicator catalogue (``aggregation: entropy`` and the
  variable its ``groups`` test), so a new diversity index is covered without a code change;
* the SUM of a relation's hidden sensitive members (the Venezuelan and other-foreign rows of
  a block: total - host) is exact when everything else in the relation is published, and a
  count of 1-9 migrants (for a rate, its ``n``) is as disclosive as a cell of 1-9;
* a cell stored 'suppressed' upstream (``indicators compute``'s or the survey's own
  minimum n: value NULL, ``n`` kept or NULL) is as hidden as any other. When it is the only
  hidden member of a relation, the published members give back its ``n`` (and for a mean,
  its value), so the attack reports it, comparing ``n`` when the value is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from inclusive_cities.disclosure.model import (
    COMBINED,
    DIMENSIONS,
    Cell,
    Finding,
    Key,
    Published,
    Relation,
    relabel,
)
from inclusive_cities.disclosure.rules import BASE_COUNTS, TOTAL, Rules

ENTROPY_INVERSION = "entropy of a partition's counts"
UPSTREAM_DIFFERENCE = "n by subtraction (cell suppressed upstream)"
COMBINED_DIFFERENCE = "sum of hidden groups by subtraction"
POSITION = {"sex": 3, "age": 4, "age_group": 4, "nationality": 5}
"""Variable a catalogue entry's groups test -> position of that dimension in a :data:`Key`."""
ROUNDING = 5e-5
"""Half the last published digit of a 0-1 index (downloads print 4 decimals)."""
MAX_ENUMERATION = 200_000
"""Largest remainder the entropy attack enumerates (a split of two unknown counts)."""


@lru_cache(maxsize=1)
def partition_indices() -> dict[str, tuple[int, tuple[str, ...]]]:
    """Indicator code -> (dimension position, group labels) for every catalogue index that is
    computed from the counts of a partition by sex, age group or nationality."""
    from inclusive_cities.catalogue import load_catalogue

    out: dict[str, tuple[int, tuple[str, ...]]] = {}
    for code, spec in load_catalogue().indicators.items():
        if spec.aggregation != "entropy" or not spec.groups:
            continue
        read = set().union(*(expression.columns for _label, expression in spec.groups))
        positions = {POSITION[name] for name in read if name in POSITION}
        if len(positions) == 1:
            out[code] = (positions.pop(), tuple(label for label, _e in spec.groups))
    return out


def _hidden_groups(hidden: Iterable[Key], rules: Rules) -> set[tuple[int, str, int]]:
    """(unit, period, dimension) of every hidden base-count cell of one group of a partition
    (the total's own count too, as position 0: the index's ``n``)."""
    out: set[tuple[int, str, int]] = set()
    linked = {first: nationality for first, _second, nationality in rules.linked}
    for key in hidden:
        if key[0] in BASE_COUNTS:
            groups = [i for i in (3, 4, 5) if key[i] != TOTAL]
            if not groups:
                out.add((key[1], key[2], 0))
            elif len(groups) == 1:
                out.add((key[1], key[2], groups[0]))
        elif key[0] in linked and key[3:] == (TOTAL, TOTAL, TOTAL):
            out.add((key[1], key[2], 5))
    return out


class DerivedIndex:
    """What :func:`derived_dependants` reads of ``truth``, found once: the rates served with
    an ``n`` cell, and the partition indices with the position of the dimension they cover
    (it runs a dozen times per solve; each walked all 470,000 figures of the medium demo)."""

    def __init__(
        self, truth: dict[Key, Cell], indices: dict[str, tuple[int, tuple[str, ...]]] | None = None
    ) -> None:
        indices = partition_indices() if indices is None else indices
        self.rated: list[tuple[Key, Key]] = [
            (key, cell.of) for key, cell in truth.items() if cell.of is not None
        ]
        """(the ``n`` cell, its rate)."""
        self.entropy: list[tuple[Key, int]] = [
            (key, indices[key[0]][0]) for key in truth if key[0] in indices
        ]


def derived_dependants(
    truth: dict[Key, Cell],
    hidden: set[Key],
    rules: Rules,
    indices: dict[str, tuple[int, tuple[str, ...]]] | None = None,
    index: DerivedIndex | None = None,
) -> set[Key]:
    """Partition indices (entropy) of a unit whose group counts are hidden: hide them too;
    and a rate with the cell of its ``n`` (either one hidden hides the other).

    ``index``: a :class:`DerivedIndex` of this very ``truth`` (and ``indices``)."""
    from inclusive_cities.disclosure.bands import synchronised

    if index is None:
        index = DerivedIndex(truth, indices)
    together = synchronised(truth, hidden, index.rated)  # a rate and its n go together
    if not index.entropy:
        return together
    groups = _hidden_groups(hidden, rules)
    return together | {
        key
        for key, position in index.entropy
        if key not in hidden
        and ((key[1], key[2], position) in groups or (key[1], key[2], 0) in groups)
    }


def normalised_entropy(counts: np.ndarray) -> np.ndarray:
    """Shannon entropy of each row's shares / ln(k), as ``indicators compute`` writes it."""
    counts = np.asarray(counts, dtype="float64")
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(total > 0, counts / total, 0.0)
        logs = np.where(shares > 0, np.log(shares), 0.0)
    k = counts.shape[1]
    return -(shares * logs).sum(axis=1) / math.log(k) if k > 1 else np.zeros(len(counts))


def entropy_inversion(
    truth: dict[Key, Cell],
    published: Published,
    rules: Rules,
    indices: dict[str, tuple[int, tuple[str, ...]]] | None = None,
) -> list[Finding]:
    """The attacker's inversion of a published partition index.

    Given the index (to its published 4 decimals), its ``n`` (or the published total count)
    and the published counts of all but two groups, every split of the remainder between
    the two hidden groups is tried; a hidden count left with at most two candidate values
    (or candidates narrower than its protection range) that include the truth is recovered.
    """
    indices = partition_indices() if indices is None else indices
    out: list[Finding] = []
    bases = sorted(BASE_COUNTS)
    for key, index in published.values.items():
        spec = indices.get(key[0])
        if spec is None or key[3:] != (TOTAL, TOTAL, TOTAL):
            continue
        position, labels = spec
        for base in bases:
            total_key: Key = (base, key[1], key[2], TOTAL, TOTAL, TOTAL)
            total = published.counts.get(key, published.values.get(total_key))
            if total is None:
                continue
            cells: list[Key] = []
            for label in labels:
                groups = [TOTAL, TOTAL, TOTAL]
                groups[position - 3] = label
                cells.append((base, key[1], key[2], groups[0], groups[1], groups[2]))
            if not any(c in truth for c in cells):
                continue
            unknown = [i for i, c in enumerate(cells) if not published.has(c)]
            known = sum(published.values[c] for c in cells if published.has(c))
            rest = round(float(total) - known)
            if len(unknown) != 2 or not 0 <= rest <= MAX_ENUMERATION:
                break
            split = np.zeros((rest + 1, len(cells)))
            for i, c in enumerate(cells):
                if published.has(c):
                    split[:, i] = published.values[c]
            split[:, unknown[0]] = np.arange(rest + 1)
            split[:, unknown[1]] = rest - np.arange(rest + 1)
            fits = np.abs(normalised_entropy(split) - index) <= ROUNDING + 1e-9
            for i in unknown:
                target = cells[i]
                cell = truth.get(target)
                if cell is None or cell.value is None or not fits.any():
                    continue
                candidates = np.unique(split[fits, i])
                low, high = float(candidates.min()), float(candidates.max())
                value = float(cell.value)
                near = np.any(np.abs(candidates - value) <= rules.tolerance)
                narrow = len(candidates) <= 2 or high - low < rules.protection_range(value)
                if near and narrow:
                    via = (key, *(c for c in cells if published.has(c)))
                    out.append(Finding(target, ENTROPY_INVERSION, value, low, high, via))
            break
    return out


def upstream_differencing(
    truth: dict[Key, Cell], published: Published, relation: Relation, rules: Rules
) -> list[Finding]:
    """A relation whose only hidden member was suppressed upstream (value NULL) gives its
    ``n`` back (means: ``n`` adds up over the relation; counts: the value itself).

    With the true ``n`` stored, the attacker's figure is checked against it; a survey cell
    stores no ``n``, and then the subtraction is reported as it comes out (the relation
    holds by construction of the estimates' domains)."""
    missing = [k for k in relation.members if upstream_hidden(k, truth, published)]
    if len(missing) != 1 or any(
        k in truth and truth[k].value is not None and not published.has(k) for k in relation.members
    ):
        return []
    target = missing[0]
    others = [k for k in relation.members if k != target]
    sign = {k: (1.0 if k == relation.total else -1.0) for k in relation.members}
    if relation.quantity == "count":
        guess = -sum(sign[k] * published.values.get(k, 0.0) for k in others) / sign[target]
    else:
        if any(k in published.values and k not in published.counts for k in others):
            return []
        guess = -sum(sign[k] * published.counts.get(k, 0) for k in others) / sign[target]
    truth_n = truth[target].n
    if guess <= 0 or (truth_n is not None and not rules.recovered(guess, float(truth_n))):
        return []
    value = float(truth_n) if truth_n is not None else guess
    return [Finding(target, UPSTREAM_DIFFERENCE, value, guess, guess, tuple(others))]


def upstream_hidden(key: Key, truth: dict[Key, Cell], published: Published) -> bool:
    """Suppressed before disclosure control (value NULL) and about someone (``n`` not 0)."""
    cell = truth.get(key)
    return cell is not None and cell.value is None and cell.n != 0 and not published.has(key)


def combined_differencing(
    truth: dict[Key, Cell], published: Published, relations: Iterable[Relation], rules: Rules
) -> list[Finding]:
    """The attacker's total minus the published parts, when two or more parts are hidden.

    What comes out is the sum of the hidden parts: for counts their people, for means their
    ``n`` (the published ``n`` of the total and of the other parts). When every hidden part is
    a sensitive group and the sum is 1 .. threshold - 1 people, the attacker has a small group
    ("5 migrants live in this block", "3 Venezuelans in these two blocks") and it is reported
    as a finding on the combined cell (its ``a+b`` key) or, across units, on the first hidden
    unit, with the published members it came from.
    """
    out: list[Finding] = []
    values = published.values
    known: dict[tuple[str, str, bool], bool] = {}

    def sensitive(key: Key, survey: bool) -> bool:
        group = (key[0], key[5], survey)
        if group not in known:
            known[group] = rules.is_sensitive(*group)
        return known[group]

    for relation in relations:
        if relation.kind in (COMBINED, "linked") or relation.total not in values:
            continue
        # hidden: in the model, not published, and either with a value or suppressed
        # upstream about someone (``n`` not 0); unpublished parts are few, so look at them only
        missing = [k for k in relation.parts if k not in values]
        if len(missing) < 2:
            continue
        hidden = [
            k
            for k in missing
            if (cell := truth.get(k)) is not None and (cell.value is not None or cell.n != 0)
        ]
        if len(hidden) < 2 or not all(sensitive(k, truth[k].survey) for k in hidden):
            continue
        apart = set(hidden)
        # an unpublished part that is not hidden (an empty cell of the model) spoils the sum
        if len(missing) > len(hidden) and any(k in truth for k in missing if k not in apart):
            continue
        shown = [k for k in relation.parts if k not in apart]
        members = [relation.total, *shown]
        if relation.quantity == "count":
            if any(truth[k].value is None for k in hidden):
                continue
            guess = published.values[relation.total] - sum(published.values[k] for k in shown)
            people = sum(float(truth[k].value or 0.0) for k in hidden)
        else:
            if any(k not in published.counts for k in members) or any(
                truth[k].n is None for k in hidden
            ):
                continue
            guess = published.counts[relation.total] - sum(published.counts[k] for k in shown)
            people = sum(float(truth[k].n or 0) for k in hidden)
        if not 1 <= people < rules.threshold or not rules.recovered(guess, people):
            continue
        target = _combined_key(relation, hidden, truth)
        out.append(Finding(target, COMBINED_DIFFERENCE, people, guess, guess, (*hidden, *members)))
    return out


def _combined_key(relation: Relation, hidden: list[Key], truth: dict[Key, Cell]) -> Key:
    """The combined cell of these hidden groups if the model holds one, else the first."""
    if relation.kind in DIMENSIONS:
        position = 3 + DIMENSIONS.index(relation.kind)
        key = relabel(relation.total, position, "+".join(sorted(str(k[position]) for k in hidden)))
        if key in truth:
            return key
    return sorted(hidden)[0]
