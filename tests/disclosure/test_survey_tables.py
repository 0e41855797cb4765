"""Survey tables: hidden small counts keep a protection range, not just a second hidden cell."""

from __future__ import annotations

from inclusive_cities.surveys.disclosure import suppress
from tests.surveys.test_disclosure import T, _bounds, _table


def test_two_small_cells_in_one_column_are_not_left_to_bound_each_other() -> None:
    # column A: 4 + 3 + 15. Hiding the two small cells alone satisfies "never one hidden
    # cell per line", yet the published 15 and margin 22 give A(F) + A(M) = 7, so A(F) would
    # lie in [0, 7]: narrower than its range 4 +- 10.
    counts = {("F", "A"): 4, ("F", "B"): 30, ("M", "A"): 3, ("M", "B"): 25}
    counts |= {("X", "A"): 15, ("X", "B"): 40}
    original = _table(counts)
    published = suppress(original, ["sex", "nationality"], min_n=10)
    for sex, value in (("F", 4), ("M", 3)):
        row = original[(original["sex"] == sex) & (original["nationality"] == "A")].index[0]
        assert published.at[row, "suppression"] == "primary"
        low, high = _bounds(published, original, row)
        assert low <= 0 + 1e-9
        assert high >= value + 10 - 1e-9
    hidden = published[published["status"] == "suppressed"]
    assert not ((hidden["sex"] == T) & (hidden["nationality"] == T)).any()
