"""A protected count whose siblings are all zero is protected by its total, not by hiding all.

The medium demo's barrio marker was blank to the public: such a row of zeros made the whole
linked component infeasible, and the fallback hid every population count of the city (and so
every rate whose n is a population), down to a barrio of 3,339 people.
"""

from inclusive_cities.disclosure.model import Cell, Relation
from inclusive_cities.disclosure.rules import TOTAL, Rules
from inclusive_cities.disclosure.secondary import _solve


def test_zero_siblings_hide_the_total_not_the_component() -> None:
    def key(unit: int, nationality: str) -> tuple[str, int, str, str, str, str]:
        return ("population", unit, "2024", TOTAL, TOTAL, nationality)

    # block 7: 2 other_foreign, 0 venezuelan, 0 host (a total of 2); block 8 is large
    values = {
        key(7, TOTAL): 2.0,
        key(7, "other_foreign"): 2.0,
        key(7, "venezuelan"): 0.0,
        key(7, "host"): 0.0,
        key(8, TOTAL): 3339.0,
        key(8, "other_foreign"): 40.0,
        key(8, "venezuelan"): 1200.0,
        key(8, "host"): 2099.0,
    }
    truth = {k: Cell(k, v, None, "personas", False, i) for i, (k, v) in enumerate(values.items())}
    rows = []
    for unit in (7, 8):
        parts = tuple(key(unit, n) for n in ("other_foreign", "venezuelan", "host"))
        relation = Relation(key(unit, TOTAL), parts, "nationality", "count")
        rows.append((relation, (relation.total, *parts)))
    small = key(7, "other_foreign")
    chosen = _solve(frozenset(truth), rows, truth, {small}, {small}, [], Rules())
    # only block 7's total goes with its cell (the zeros absorb nothing; hiding them too is
    # allowed but never needed); block 8 stays published
    assert small in chosen and key(7, TOTAL) in chosen
    assert not any(k[1] == 8 for k in chosen)
