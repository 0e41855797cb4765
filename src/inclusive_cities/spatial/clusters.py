"""Clusters of exclusion: Local Moran's I and Getis–Ord Gi* with permutation inference.

The statistics come from PySAL ``esda``. Their pseudo p-values come from conditional
permutations (each unit keeps its value, its neighbours' values are drawn at random from the
other units), computed here in vectorised NumPy with esda's scheme — esda's own routine is
compiled by numba on every new process, which costs a minute on a busy machine. P-values
are adjusted for the number of units with the Benjamini–Hochberg false discovery rate
before classifying.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.spatial._common import require_columns, require_crs
from inclusive_cities.spatial.errors import SpatialError

MORAN_CLASSES = {1: "high_high", 2: "low_high", 3: "low_low", 4: "high_low"}


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """FDR-adjusted p-values (Benjamini & Hochberg 1995), monotone and capped at 1."""
    p = np.asarray(p_values, dtype="float64")
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(p)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def _conditional_lags(
    values: np.ndarray, w: object, permutations: int, seed: int, star: bool = False
) -> np.ndarray:
    """Spatial lags (n × permutations) with each unit's neighbours drawn at random from the
    other units. As in esda, one set of draws is shared by all units and shifted past the
    unit itself; with ``star``, the unit's own value keeps its (row-standardised) weight."""
    n = len(values)
    rng = np.random.default_rng(seed)
    neighbours, weights = w.neighbors, w.weights  # type: ignore[attr-defined]
    ids = list(w.id_order)  # type: ignore[attr-defined]
    cardinality = np.array([len(neighbours[i]) for i in ids])
    k_max = int(cardinality.max()) + (1 if star else 0)
    draws = np.stack([rng.permutation(n - 1)[:k_max] for _ in range(permutations)])
    lags = np.zeros((n, permutations))
    for k in np.unique(cardinality):
        members = np.flatnonzero(cardinality == k)
        if k == 0:
            continue
        rows = np.array([weights[ids[i]] for i in members], dtype="float64")  # m × k
        if star:
            own = 1.0 / (k + 1)
            rows = rows * k / (k + 1)  # row-standardised with the unit itself included
        for start in range(0, len(members), 512):
            chunk = members[start : start + 512]
            picked = draws[None, :, :k] + (draws[None, :, :k] >= chunk[:, None, None])
            lag = np.einsum("mpk,mk->mp", values[picked], rows[start : start + len(chunk)])
            if star:
                lag = lag + own * values[chunk, None]
            lags[chunk] = lag
    return lags


def _pseudo_p(observed: np.ndarray, simulated: np.ndarray) -> np.ndarray:
    """esda's folded pseudo p-value: (extremes as large as observed + 1) / (draws + 1)."""
    permutations = simulated.shape[1]
    larger = (simulated >= observed[:, None]).sum(axis=1)
    low = (permutations - larger) < larger
    larger = np.where(low, permutations - larger, larger)
    return (larger + 1.0) / (permutations + 1.0)


def _weights(units: gpd.GeoDataFrame, k: int | None) -> object:
    from libpysal.weights import KNN, Queen

    if k is not None:
        return KNN.from_dataframe(units, k=k, use_index=False)
    w = Queen.from_dataframe(units, use_index=False, silence_warnings=True)
    if w.islands:
        raise SpatialError(
            _(
                "{count} units touch no other unit (first: row {row}): use k nearest neighbours "
                "instead (k=...)."
            ).format(count=len(w.islands), row=w.islands[0])
        )
    return w


def clusters(
    units: gpd.GeoDataFrame | pd.DataFrame,
    column: str,
    permutations: int = 999,
    alpha: float = 0.05,
    fdr: bool = True,
    k: int | None = None,
    seed: int = 12345,
    w: object | None = None,
) -> pd.DataFrame:
    """Per unit: Local Moran's I (``moran_i``, ``moran_p``, ``moran_class``: high_high hot
    spot, low_low cold spot, high_low / low_high outliers, ``not_significant``) and Gi*
    (``gi_z``, ``gi_p``, ``gi_class``: hot / cold / ``not_significant``).

    Neighbours are queen contiguity, ``k`` nearest neighbours, or a PySAL weights object
    ``w`` (then ``units`` may be a plain DataFrame in the weights' order). ``moran_p``/``gi_p`` are
    pseudo p-values from ``permutations``, FDR-adjusted when ``fdr`` (the default).
    """
    import esda

    if w is None:
        require_crs(units, "unit")
    require_columns(units, [column], "unit")
    y = pd.to_numeric(units[column], errors="coerce").to_numpy(dtype="float64")
    if np.isnan(y).any():
        row = int(np.flatnonzero(np.isnan(y))[0])
        raise SpatialError(
            _(
                "Column '{column}' is empty in unit {unit}: fill or drop missing values before "
                "looking for clusters."
            ).format(column=column, unit=units.index[row])
        )
    if len(y) < 5 or np.all(y == y[0]):
        raise SpatialError(
            _(
                "Column '{column}' needs at least 5 units with differing values to find clusters."
            ).format(column=column)
        )
    if w is None:
        w = _weights(units, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        moran = esda.Moran_Local(y, w, transformation="r", permutations=0)
        gi = esda.G_Local(y, w, transform="R", star=True, permutations=0)
    w.transform = "r"  # type: ignore[attr-defined]
    z = y - y.mean()
    n = len(y)
    moran_scale = (n - 1) * z / (z**2).sum()  # esda's Is = (n-1)·zᵢ·Σⱼ wᵢⱼ zⱼ / Σ z²
    moran_sim = _conditional_lags(z, w, permutations, seed) * moran_scale[:, None]
    moran_raw = _pseudo_p(np.asarray(moran.Is), moran_sim)
    gi_sim = _conditional_lags(y, w, permutations, seed, star=True) / y.sum()
    gi_raw = _pseudo_p(np.asarray(gi.Gs), gi_sim)
    moran_p = benjamini_hochberg(moran_raw) if fdr else moran_raw
    gi_p = benjamini_hochberg(gi_raw) if fdr else gi_raw
    moran_class = np.where(
        moran_p <= alpha, pd.Series(moran.q).map(MORAN_CLASSES).to_numpy(), "not_significant"
    )
    gi_z = np.asarray(gi.Zs, dtype="float64")
    gi_class = np.where(gi_p <= alpha, np.where(gi_z > 0, "hot", "cold"), "not_significant")
    return pd.DataFrame(
        {
            "moran_i": moran.Is,
            "moran_p": moran_p,
            "moran_class": moran_class,
            "gi_z": gi_z,
            "gi_p": gi_p,
            "gi_class": gi_class,
        },
        index=units.index,
    )
