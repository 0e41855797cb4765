"""Tiny specs and tables built in code, so every test shows its data."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from inclusive_cities.marker import MarkerSpec


def label(text: str) -> dict[str, str]:
    return {"es": text, "en": text}


def indicator(code: str, lower: float = 0, upper: float = 100, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "code": code,
        "name": label(code),
        "direction": "higher_is_better",
        "normalisation": {"lower": lower, "upper": upper, "source": "test"},
    }
    entry.update(extra)
    return entry


def make_spec(tree: dict[str, Any], **top: Any) -> MarkerSpec:
    return MarkerSpec.model_validate({"code": "test", "name": label("Test"), "tree": tree, **top})


@pytest.fixture
def two_area_spec() -> MarkerSpec:
    """IDX -> A (a1, a2), B (b1 lower-is-better); goalposts 0-100."""
    return make_spec(
        {
            "code": "IDX",
            "name": label("Index"),
            "children": [
                {
                    "code": "A",
                    "name": label("A"),
                    "indicators": [indicator("a1"), indicator("a2")],
                },
                {
                    "code": "B",
                    "name": label("B"),
                    "indicators": [indicator("b1", direction="lower_is_better")],
                },
            ],
        }
    )


@pytest.fixture
def small_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_code": ["u1", "u2", "u3", "u4"],
            "a1": [10.0, 50.0, 90.0, 70.0],
            "a2": [30.0, 50.0, 100.0, 10.0],
            "b1": [20.0, 60.0, 0.0, 40.0],
            "population": [100.0, 300.0, 200.0, 400.0],
        }
    )
