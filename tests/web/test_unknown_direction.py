"""An imported column whose direction nobody declared ('unknown') is drawn like a descriptive
figure: one hue, no performance levels, changes said as increases and decreases."""

from __future__ import annotations

import numpy as np

from inclusive_cities.web.services import BLUES, PUOR, RDYLGN, classify

VALUES = np.array([120.0, 480.0, 950.0, 1600.0, 2400.0, 3100.0, np.nan])
"""Distances in metres to a health centre, one block without data."""


def test_unknown_is_mapped_in_one_hue_like_neutral() -> None:
    unknown = classify(VALUES, "quantiles", 5, "en", direction="unknown")
    neutral = classify(VALUES, "quantiles", 5, "en", direction="neutral")
    assert unknown.colours == neutral.colours == BLUES[5]
    assert not set(unknown.colours) & set(RDYLGN[5])
    assert unknown.index.tolist() == neutral.index.tolist()
    assert unknown.index[-1] == -1  # no data stays unclassified


def test_change_of_an_unknown_figure_is_never_better_or_worse() -> None:
    change = np.array([-12.0, -3.0, 0.0, 4.0, 15.0])
    classes = classify(change, "quantiles", 5, "en", direction="unknown", change=True)
    assert classes.colours == PUOR
    assert not any("Improved" in label or "Worsened" in label for label in classes.labels)
    assert classes.labels[0].startswith("Decreased")
