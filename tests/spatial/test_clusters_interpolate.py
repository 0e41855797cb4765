"""Clusters against esda's documented example; interpolation keeps totals."""

from __future__ import annotations

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from inclusive_cities.spatial import SpatialError, benjamini_hochberg, clusters, interpolate

CRS = "EPSG:32618"


def test_local_moran_quadrants_match_esda_documentation() -> None:
    # esda.Moran_Local docstring: desmith data, row-standardised, q = [4,4,4,2,3,3,1,4,3,3]
    w = libpysal.io.open(libpysal.examples.get_path("desmith.gal")).read()
    z = np.array(libpysal.io.open(libpysal.examples.get_path("desmith.txt")).by_col["z"])
    got = clusters(pd.DataFrame({"z": z}), "z", permutations=99, w=w, alpha=1.0, fdr=False)
    assert got["moran_i"].tolist() == pytest.approx(
        esda.Moran_Local(z, w, permutations=0).Is.tolist()
    )
    names = {1: "high_high", 2: "low_high", 3: "low_low", 4: "high_low"}
    assert got["moran_class"].tolist() == [names[q] for q in [4, 4, 4, 2, 3, 3, 1, 4, 3, 3]]


def test_permutation_p_value_matches_exact_enumeration() -> None:
    # desmith unit 7 (row 6) has neighbours 3 and 8; of the 36 pairs of other units only
    # its own neighbours give a lag as large: exact one-sided p = 1/36
    w = libpysal.io.open(libpysal.examples.get_path("desmith.gal")).read()
    z = np.array(libpysal.io.open(libpysal.examples.get_path("desmith.txt")).by_col["z"])
    got = clusters(pd.DataFrame({"z": z}), "z", permutations=9999, w=w, fdr=False)
    assert got.loc[6, "moran_p"] == pytest.approx(1 / 36, abs=0.006)
    assert got.loc[6, "gi_p"] == pytest.approx(1 / 36, abs=0.006)
    assert got.loc[6, "moran_class"] == "high_high" and got.loc[6, "gi_class"] == "hot"


def test_benjamini_hochberg_by_hand() -> None:
    # p = .01, .04, .03, .20 → sorted .01 .03 .04 .20 × 4/rank → .04 .06 .0533 .20,
    # made monotone from the top → .04, .0533, .0533, .20
    got = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.20]))
    assert got.tolist() == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])


@pytest.fixture
def grid() -> gpd.GeoDataFrame:
    cells, values = [], []
    for x in range(8):
        for y in range(8):
            cells.append(box(x * 100, y * 100, x * 100 + 100, y * 100 + 100))
            values.append(
                10.0 + x * 0.1 + y * 0.05 if x < 3 and y < 3 else (x * 7 + y * 3) % 5 * 0.1
            )
    return gpd.GeoDataFrame({"score": values, "pop": np.arange(64) + 1.0}, geometry=cells, crs=CRS)


def test_hot_spot_found_where_it_was_planted(grid) -> None:
    got = clusters(grid, "score", permutations=199, fdr=False)
    adjusted = clusters(grid, "score", permutations=199)
    assert (adjusted["gi_p"] >= got["gi_p"]).all()
    assert set(adjusted.index[adjusted["gi_class"] == "hot"]) <= set(
        got.index[got["gi_class"] == "hot"]
    )
    planted = {x * 8 + y for x in range(3) for y in range(3)}
    ring = {x * 8 + y for x in range(4) for y in range(4)} - planted
    hot = set(got.index[got["gi_class"] == "hot"])
    # Gi* flags the planted block and, through their high neighbourhoods, cells touching it
    assert planted <= hot <= planted | ring
    assert set(got.index[got["moran_class"] == "high_high"]) == planted
    # low cells next to the block are low-high outliers; after the FDR adjustment nothing
    # far from the block is significant
    assert set(got.index[got["moran_class"] == "low_high"]) <= ring
    far = ~adjusted.index.isin(planted | ring)
    assert (adjusted.loc[far, "moran_class"] == "not_significant").all()
    assert (adjusted.loc[far, "gi_class"] == "not_significant").all()


def test_clusters_refuse_missing_values(grid) -> None:
    with pytest.raises(SpatialError, match="empty in unit 3"):
        clusters(grid.assign(score=[np.nan if i == 3 else 1.0 + i for i in range(64)]), "score")


def test_interpolation_keeps_totals_and_population_weighted_rates(grid) -> None:
    target = gpd.GeoDataFrame(
        {"name": ["west", "east"]}, geometry=[box(0, 0, 400, 800), box(400, 0, 800, 800)], crs=CRS
    )
    got = interpolate(grid, target, extensive=["pop"], intensive=["score"], population="pop")
    assert got["pop"].sum() == pytest.approx(grid["pop"].sum())
    west = grid.geometry.centroid.x < 400
    expected_west = (grid.loc[west, "score"] * grid.loc[west, "pop"]).sum() / grid.loc[
        west, "pop"
    ].sum()
    assert got.loc[0, "score"] == pytest.approx(expected_west)
    assert got.loc[0, "pop"] == pytest.approx(grid.loc[west, "pop"].sum())


def test_interpolation_to_h3_keeps_totals(grid) -> None:
    moved = grid.set_geometry(grid.translate(500_000, 870_000))
    got = interpolate(moved, extensive=["pop"], h3_resolution=9)
    assert got.index.name == "hex_id"
    assert got["pop"].sum() == pytest.approx(grid["pop"].sum(), rel=1e-6)


def test_interpolation_needs_one_target(grid) -> None:
    with pytest.raises(SpatialError, match="either a target layer or an H3 resolution"):
        interpolate(grid, extensive=["pop"])
