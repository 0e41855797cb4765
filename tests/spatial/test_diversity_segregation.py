"""Diversity and segregation on a toy city, checked against hand computations."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from inclusive_cities.spatial import SpatialError, diversity, segregation

CRS = "EPSG:32618"


def test_diversity_by_hand() -> None:
    frame = pd.DataFrame({"a": [5, 10, 3, 0], "b": [5, 0, 3, 0], "c": [0, 0, 6, 0]})
    got = diversity(frame, ["a", "b", "c"])
    # row 0: halves → H = ln 2, normalised ln2/ln3, Simpson 1 - 2·¼ = ½
    assert got.loc[0, "entropy"] == pytest.approx(math.log(2))
    assert got.loc[0, "entropy_norm"] == pytest.approx(math.log(2) / math.log(3))
    assert got.loc[0, "simpson"] == pytest.approx(0.5)
    # row 1: one group → 0
    assert got.loc[1, "entropy"] == 0 and got.loc[1, "simpson"] == 0
    # row 2: ¼, ¼, ½ → H = 1.5 ln 2, Simpson 1 - (1/16 + 1/16 + 1/4) = 0.625
    assert got.loc[2, "entropy"] == pytest.approx(1.5 * math.log(2))
    assert got.loc[2, "simpson"] == pytest.approx(0.625)
    # row 3: nobody → undefined, not zero
    assert math.isnan(got.loc[3, "entropy_norm"]) and got.loc[3, "total"] == 0


def test_diversity_refuses_negative_counts() -> None:
    with pytest.raises(SpatialError, match="Row 1 has a missing or negative group count"):
        diversity(pd.DataFrame({"a": [1, -1], "b": [1, 1]}), ["a", "b"])


@pytest.fixture
def toy() -> gpd.GeoDataFrame:
    # four blocks in a row: all-A, all-B, two even mixes
    frame = gpd.GeoDataFrame(
        {"a": [10, 0, 5, 5], "b": [0, 10, 5, 5]},
        geometry=[box(i * 100, 0, i * 100 + 100, 100) for i in range(4)],
        crs=CRS,
    )
    frame["total"] = frame["a"] + frame["b"]
    return frame


def hand_indices(a: list[float], b: list[float]) -> dict[str, float]:
    t = [x + y for x, y in zip(a, b, strict=True)]
    big_a, big_b, big_t = sum(a), sum(b), sum(t)
    dissimilarity = 0.5 * sum(abs(x / big_a - y / big_b) for x, y in zip(a, b, strict=True))
    isolation = sum(x / big_a * x / n for x, n in zip(a, t, strict=True))
    exposure = sum(x / big_a * y / n for x, y, n in zip(a, b, t, strict=True))

    def h(p: float) -> float:
        return -sum(q * math.log(q) for q in (p, 1 - p) if q > 0)

    city_entropy = h(big_a / big_t)
    theil = sum(n * (city_entropy - h(x / n)) for x, n in zip(a, t, strict=True)) / (
        big_t * city_entropy
    )
    return {
        "dissimilarity": dissimilarity,
        "isolation": isolation,
        "exposure": exposure,
        "theil_h": theil,
    }


def test_single_group_indices_match_hand_values(toy) -> None:
    got = segregation(toy, group="a", total="total").set_index("index")["value"]
    expected = hand_indices([10, 0, 5, 5], [0, 10, 5, 5])
    assert expected == pytest.approx(
        {"dissimilarity": 0.5, "isolation": 0.75, "exposure": 0.25, "theil_h": 0.5}
    )
    for name, number in expected.items():
        assert got[name] == pytest.approx(number), name


def test_multigroup_with_two_groups_equals_single_group(toy) -> None:
    got = segregation(toy, groups=["a", "b"]).set_index("index")["value"]
    assert got["multi_dissimilarity"] == pytest.approx(0.5)
    assert got["multi_theil_h"] == pytest.approx(0.5)


def test_uneven_toy_city_and_permutation_inference() -> None:
    a, b = [30, 2, 8, 0, 10], [5, 20, 8, 12, 25]
    frame = gpd.GeoDataFrame(
        {"a": a, "b": b},
        geometry=[box(i * 100, 0, i * 100 + 100, 100) for i in range(5)],
        crs=CRS,
    )
    frame["total"] = frame["a"] + frame["b"]
    got = segregation(frame, group="a", total="total", permutations=19, spatial=True)
    values = got.set_index("index")["value"]
    for name, number in hand_indices(a, b).items():
        assert values[name] == pytest.approx(number), name
    assert got["p_value"].between(0, 1).all()
    # strong segregation of 'a' in block 0: the null never reaches the observed D
    assert got.set_index("index").loc["dissimilarity", "p_value"] < 0.1
    assert "spatial_dissimilarity" in values.index


def test_segregation_input_errors(toy) -> None:
    with pytest.raises(SpatialError, match="exceeds 'a'"):
        segregation(toy, group="total", total="a")
    with pytest.raises(SpatialError, match="no population"):
        segregation(toy.assign(a=0, total=0), group="a", total="total")
    with pytest.raises(SpatialError, match="Say which groups"):
        segregation(toy)
