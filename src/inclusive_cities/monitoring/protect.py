"""Disclosure control of the programme's counts of people before anything is published.

Counts of people (unit ``people``) are published only through the observatory's suppression
of long tables with margins (:func:`inclusive_cities.surveys.disclosure.suppress`): a cell
of 1 to 9 people (under the disclosure rules' threshold, 10) is withheld (primary; 0 names
nobody and is published), and more cells of the same line are withheld until no hidden cell
can be recovered from its margin or narrowed below its protection range (secondary). Cities
nest in countries, so the country totals and the programme total are the margins. Cities,
centres and policies are not people and are published as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from inclusive_cities.disclosure.rules import Rules, control_enabled
from inclusive_cities.store.models import TOTAL

PEOPLE_UNITS = frozenset({"people", "persons", "personas"})


def is_people(unit: str) -> bool:
    return unit.strip().lower() in PEOPLE_UNITS


def withheld_cells(table: pd.DataFrame, dims: Sequence[str], value: str = "value") -> pd.Series:
    """Which rows of a long table with ``_T`` margins must be withheld (a boolean Series)."""
    if table.empty or not control_enabled():
        return pd.Series(False, index=table.index)
    from inclusive_cities.surveys.disclosure import suppress

    frame = table.reset_index(drop=True)
    counts = frame[[*dims, value]].rename(columns={value: "n"})
    counts["n"] = pd.to_numeric(counts["n"], errors="coerce").round()
    # a count of 0 people names nobody: published, not withheld (nor marked "reserved")
    out = suppress(counts, list(dims), n="n", min_n=Rules().threshold, total=TOTAL, hide_zero=False)
    return pd.Series((out["status"] == "suppressed").to_numpy(), index=table.index)
