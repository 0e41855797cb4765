"""Disclosure control for anything that leaves the analyst role.

Primary suppression hides every cell estimated from fewer than ``min_n`` respondents.
Secondary suppression then hides more cells until no line of the table (the cells that
add up to a margin, the margin included) has exactly one hidden cell — otherwise the
hidden one could be recovered by subtraction. Hidden cells keep their row with status
``suppressed`` and empty values: never zero, which would be a false figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.store.models import TOTAL
from inclusive_cities.surveys.errors import SurveyError

DEFAULT_MIN_N = 10
VALUE_COLUMNS = ("estimate", "value", "se", "ci_low", "ci_high", "cv", "deff", "mse")
MICRODATA_MARKERS = ("_index", "_parent_index", "_uuid", "_submission_time", "KEY", "PARENT_KEY")


def suppress(
    table: pd.DataFrame,
    dims: Sequence[str],
    *,
    n: str = "n",
    min_n: int = DEFAULT_MIN_N,
    total: str = TOTAL,
    hide_zero: bool = True,
) -> pd.DataFrame:
    """Primary and secondary suppression of a long table with margins.

    ``table`` has one row per cell; ``dims`` are its classification columns, where margin
    rows carry ``total`` (``"_T"``). Returns a copy with a ``status`` column
    (``estimated``/``suppressed``), a ``suppression`` column (primary/secondary/"") and
    value columns emptied where suppressed. ``hide_zero=False`` publishes cells whose ``n``
    is 0: right where ``n`` is itself the figure (0 people trained names nobody), not for
    estimates, which have no value without respondents.
    """
    dims = list(dims)
    missing = [c for c in [*dims, n] if c not in table.columns]
    if missing:
        raise SurveyError(
            _("Cannot apply disclosure control: the table has no column {columns}.").format(
                columns=", ".join(missing)
            )
        )
    out = table.reset_index(drop=True).copy()
    counts = pd.to_numeric(out[n], errors="coerce").fillna(0).to_numpy()
    hidden = (counts < min_n) if hide_zero else ((counts > 0) & (counts < min_n))
    reason = np.where(hidden, "primary", "").astype(object)
    lines = _lines(out, dims, total)
    changed = True
    while changed:
        changed = False
        for members in lines:
            flags = hidden[members]
            if flags.sum() != 1:
                continue
            candidates = [i for i in members if not hidden[i]]
            if not candidates:
                continue
            interior = [i for i in candidates if not _is_margin(out, i, dims, total)]
            pool = interior or candidates
            choice = min(pool, key=lambda i: (counts[i], i))
            hidden[choice] = True
            reason[choice] = "secondary"
            changed = True
    margins = [_margin_of(out, members, dims, total) for members in lines]
    for row in _protected_ranges(counts, lines, margins, hidden, min_n):
        hidden[row] = True
        reason[row] = "secondary"
    out["suppression"] = reason
    out["status"] = np.where(hidden, "suppressed", out.get("status", "estimated"))
    for column in VALUE_COLUMNS:
        if column in out.columns:
            out[column] = out[column].astype(float).where(~hidden)
    return out


def _margin_of(table: pd.DataFrame, members: list[int], dims: list[str], total: str) -> int:
    """The row of a line that is the sum of the others (``total`` in the varying dimension)."""
    for d in dims:
        values = {table.at[r, d] for r in members}
        if len(values) > 1:
            return next(r for r in members if table.at[r, d] == total)
    return members[0]


def _protected_ranges(
    counts: np.ndarray,
    lines: list[list[int]],
    margins: list[int],
    hidden: np.ndarray,
    min_n: int,
) -> list[int]:
    """Rows to hide so that no primary count comes back to within ``± max(min_n, 10 %)``.

    The lines alone only stop exact subtraction; the attacker's LP over all of them can
    still pin a small count down. The disclosure domain's MILP (HiGHS) and LP attacker
    settle it, with each line as a relation ``margin = sum of its cells``.
    """
    from inclusive_cities.disclosure.model import Cell, Key, Relation
    from inclusive_cities.disclosure.rules import Rules
    from inclusive_cities.disclosure.secondary import protect

    def key(row: int) -> Key:
        return ("survey_n", int(row), "", "", "", "")

    truth = {key(r): Cell(key(r), float(c), int(c), "count") for r, c in enumerate(counts)}
    relations = [
        Relation(key(margin), tuple(key(r) for r in members if r != margin), "survey", "count")
        for members, margin in zip(lines, margins, strict=True)
    ]
    primary = {key(r) for r in range(len(counts)) if hidden[r]}
    protected = {key(r) for r in range(len(counts)) if hidden[r] and 1 <= counts[r] < min_n}
    if not protected:
        return []
    # the sum of a line's small hidden cells (its margin minus the published rest: "7 of the
    # respondents are migrants") is a count of its own, kept to its range like a cell
    from itertools import count

    from inclusive_cities.disclosure.model import combined_cells

    made = count(1)
    rules = Rules(threshold=min_n)
    sums = combined_cells(truth, relations, rules, lambda _r, _g: key(-next(made)))
    virtual = {k for k, c in truth.items() if c.virtual}
    chosen = protect(truth, relations + sums, primary | virtual, protected | virtual, rules)
    return sorted(k[1] for k in chosen - primary - virtual)


def _is_margin(table: pd.DataFrame, row: int, dims: list[str], total: str) -> bool:
    return any(table.at[row, d] == total for d in dims)


def _lines(table: pd.DataFrame, dims: list[str], total: str) -> list[list[int]]:
    """Groups of rows that must add up: vary one dimension, fix the others."""
    lines: list[list[int]] = []
    for d in dims:
        others = [o for o in dims if o != d]
        groups = table.groupby(others, dropna=False).indices if others else {(): table.index}
        for _key, rows in groups.items():
            rows = list(rows)
            has_total = any(table.at[r, d] == total for r in rows)
            if has_total and len(rows) > 1:
                lines.append(rows)
    return lines


def publishable(
    table: pd.DataFrame,
    dims: Sequence[str] | None = None,
    *,
    n: str = "n",
    min_n: int = DEFAULT_MIN_N,
) -> pd.DataFrame:
    """The only gate through which survey results leave the analyst role.

    Refuses anything that looks like microdata (row identifiers of KoBo/ODK exports, or
    a table without unweighted counts), then suppresses small cells (with secondary
    suppression across ``dims`` margins when given). Suppressed cells lose their values
    and their count.
    """
    leaked = [c for c in table.columns if str(c) in MICRODATA_MARKERS]
    if leaked:
        raise SurveyError(
            _(
                "Refusing to publish a table with respondent identifiers ({columns}): only "
                "aggregated estimates may leave the analyst role."
            ).format(columns=", ".join(map(str, leaked)))
        )
    if n not in table.columns:
        raise SurveyError(
            _(
                "Refusing to publish survey figures without their unweighted counts (column "
                "'{column}'): small cells could not be suppressed."
            ).format(column=n)
        )
    if dims:
        out = suppress(table, dims, n=n, min_n=min_n)
    else:
        out = table.reset_index(drop=True).copy()
        hidden = pd.to_numeric(out[n], errors="coerce").fillna(0).to_numpy() < min_n
        out["suppression"] = np.where(hidden, "primary", "").astype(object)
        out["status"] = np.where(hidden, "suppressed", out.get("status", "estimated"))
        for column in VALUE_COLUMNS:
            if column in out.columns:
                out[column] = out[column].astype(float).where(~hidden)
    # the count of a hidden cell is itself disclosive: it leaves empty too
    out[n] = out[n].astype("Int64").where(out["status"] != "suppressed")
    return out
