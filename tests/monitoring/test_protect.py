"""The programme's counts of people: what the donor report and the pages may show."""

from __future__ import annotations

import pandas as pd
from scipy.optimize import linprog

from inclusive_cities.monitoring.protect import withheld_cells

T = "_T"


def _table(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["country", "city", "value"])


def test_a_city_with_nobody_trained_is_shown_as_zero_not_reserved() -> None:
    """The medium demo's Colombia: Cúcuta trained 0 public servants, Bucaramanga 10. Nobody is
    under the threshold, so nothing is withheld (both were "reservado", which read as 1-9)."""
    table = _table(
        [
            ("COL", "BAQ", 18),
            ("COL", "BGA", 10),
            ("COL", "DEMO", 19),
            ("COL", "CUC", 0),
            ("COL", "VDR", 10),
            ("COL", T, 57),
            ("PER", "LIM", 24),
            ("PER", T, 24),
            (T, T, 81),
        ]
    )
    assert not withheld_cells(table, ["country", "city"]).any()


def test_a_small_count_is_withheld_with_enough_of_its_line() -> None:
    """Cúcuta's 4 is withheld, and enough of its lines with it that an attacker solving the
    published sums as a linear program (scipy here, independent of the HiGHS model used by
    the suppression) cannot narrow it to less than 0 .. 4 + 10."""
    table = _table(
        [
            ("COL", "BAQ", 18),
            ("COL", "CUC", 4),
            ("COL", "BGA", 0),
            ("COL", "VDR", 30),
            ("COL", T, 52),
            ("PER", "LIM", 24),
            ("PER", T, 24),
            (T, T, 76),
        ]
    )
    hidden = withheld_cells(table, ["country", "city"]).to_numpy()
    assert hidden[1]  # Cúcuta
    unknown = [i for i in range(len(table)) if hidden[i]]
    column = {row: j for j, row in enumerate(unknown)}
    lines = [[4, 0, 1, 2, 3], [6, 5], [7, 4, 6]]  # total first, then its parts
    a_eq, b_eq = [], []
    for total, *parts in lines:
        row = [0.0] * len(unknown)
        rest = 0.0
        for index, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
            if hidden[index]:
                row[column[index]] += sign
            else:
                rest -= sign * float(table.at[index, "value"])
        if any(row):
            a_eq.append(row)
            b_eq.append(rest)
    objective = [0.0] * len(unknown)
    objective[column[1]] = 1.0
    low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
    high = linprog([-c for c in objective], A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
    assert low.status == 0 and high.status in (0, 3)  # 3: unbounded above, fully protected
    assert low.fun <= 0.0 + 1e-9
    assert high.status == 3 or -high.fun >= 4 + 10 - 1e-9
