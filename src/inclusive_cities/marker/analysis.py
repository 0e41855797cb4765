"""Analysis helpers on a marker result (Handbook 2008 §§1.4, 1.9; COINr ``get_corr``,
``get_cronbach``, ``get_str_weak``, ``remove_elements``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker.engine import MarkerResult
from inclusive_cities.marker.errors import MarkerError, MarkerSpecError
from inclusive_cities.marker.spec import Node


def component_scores(result: MarkerResult, node: Node) -> pd.DataFrame:
    """unit × component scores of one node (child nodes' scores, indicators' normalised)."""
    columns = {}
    for child in node.components():
        frame = result.scores if isinstance(child, Node) else result.normalised
        columns[child.code] = frame[child.code]
    return pd.DataFrame(columns)


def correlations(result: MarkerResult, method: str = "pearson") -> pd.DataFrame:
    """Correlation of every component with its parent and with the index (pairwise complete)."""
    spec = result.spec
    index = result.score
    rows = []
    for item, depth, parent in spec.walk():
        if parent is None:
            continue
        values = (result.scores if isinstance(item, Node) else result.normalised)[item.code]
        rows.append(
            {
                "code": item.code,
                "parent": parent.code,
                "depth": depth,
                "kind": "node" if isinstance(item, Node) else "indicator",
                "r_parent": values.corr(result.scores[parent.code], method=method),
                "r_index": values.corr(index, method=method),
            }
        )
    return pd.DataFrame(rows).set_index("code")


def cronbach_alpha(result: MarkerResult) -> pd.Series:
    """Cronbach's alpha of each node's components over units with all of them present:
    ``α = k/(k−1)·(1 − Σ var(xᵢ)/var(Σ xᵢ))`` (sample variances). NaN with one component."""
    values = {}
    for node in result.spec.nodes():
        frame = component_scores(result, node).dropna()
        k = frame.shape[1]
        if k < 2 or len(frame) < 2:
            values[node.code] = np.nan
            continue
        total = frame.sum(axis=1).var(ddof=1)
        parts = frame.var(ddof=1).sum()
        values[node.code] = k / (k - 1) * (1 - parts / total) if total > 0 else np.nan
    return pd.Series(values, name="cronbach_alpha")


def strengths_and_weaknesses(
    result: MarkerResult, unit: object, n: int = 3, language: str = "en"
) -> pd.DataFrame:
    """A unit's best and worst indicators by its rank among units (1 = best).

    Ranks use the normalised scores, so direction is already accounted for; ties share the
    lowest rank. Strengths are the ``n`` best-ranked indicators, weaknesses the ``n`` worst.
    """
    if unit not in result.ids:
        raise MarkerError(_("Unit {unit} is not in this marker result.").format(unit=unit))
    ranks = result.normalised.rank(method="min", ascending=False)
    own = ranks.loc[unit].dropna().sort_values(kind="stable")
    names = {i.code: i.name.text(language) for i in result.spec.indicators()}

    def rows(codes: list[str], kind: str) -> list[dict[str, object]]:
        return [
            {
                "kind": kind,
                "code": code,
                "name": names[code],
                "rank": int(own[code]),
                "score": float(result.normalised.loc[unit, code]),
                "raw": float(result.raw.loc[unit, code]),
            }
            for code in codes
        ]

    best = list(own.index[:n])
    worst = list(own.index[::-1][:n])
    return pd.DataFrame(rows(best, "strength") + rows(worst, "weakness"))


def rank_shift_on_removal(result: MarkerResult, codes: list[str] | None = None) -> pd.DataFrame:
    """For each component removed in turn, how the index ranks move (|new − nominal|)."""
    spec = result.spec
    candidates = codes or [item.code for item, _d, parent in spec.walk() if parent is not None]
    nominal = result.rank.astype("float")
    rows = []
    for code in candidates:
        try:
            variant = spec.with_overrides(drop=[code])
        except MarkerSpecError:
            continue  # removing it would empty the index
        ranks = result.recompute(variant).rank.astype("float")
        shift = (ranks - nominal).abs()
        rows.append(
            {
                "removed": code,
                "mean_abs_rank_shift": float(shift.mean()),
                "max_abs_rank_shift": float(shift.max()) if shift.notna().any() else np.nan,
                "units_moved": int((shift > 0).sum()),
            }
        )
    return pd.DataFrame(rows).set_index("removed")
