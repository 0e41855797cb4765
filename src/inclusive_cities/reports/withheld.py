"""What a report may print: the same withheld set the web serves.

A report (PDF, HTML, XLSX annex) is a publication like a web page. It used to read marker
scores and observations straight from the store, so the Human Mobility Profile printed the
82 barrio scores the web shows as "Withheld for confidentiality", their area scores and
ranks among all 162 units (trial finding F2). These functions apply disclosure control's
verdict to the frames :func:`inclusive_cities.reports.data.load_city_data` reads: scores
through :func:`inclusive_cities.disclosure.served.run_scores` (withheld scores masked,
ranks among published units), observations through the hidden observation ids.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from inclusive_cities.disclosure.publication import hidden_observation_ids
from inclusive_cities.disclosure.served import MIN_CELL, run_scores

WITHHELD = "withheld"
"""Column of the scores frame: True where a score exists but is withheld for confidentiality."""


def withhold_scores(session: Session, run_id: int, scores: pd.DataFrame) -> pd.DataFrame:
    """``scores`` (unit_id, node_code, score, level, rank, ...) as the public sees them.

    A withheld score loses its score, level and rank (and is flagged in :data:`WITHHELD`);
    every rank becomes a rank among the units whose score is published, as on the web."""
    out = scores.copy()
    out[WITHHELD] = False
    if out.empty:
        return out
    served = run_scores(session, run_id)
    if not len(served.unit_ids):
        return out
    row_of = {int(u): i for i, u in enumerate(served.unit_ids)}
    col_of = {n: j for j, n in enumerate(served.nodes)}
    rows = np.array([row_of.get(int(u), -1) for u in out["unit_id"]], dtype=np.int64)
    cols = np.array([col_of.get(str(n), -1) for n in out["node_code"]], dtype=np.int64)
    known = (rows >= 0) & (cols >= 0)
    withheld = np.zeros(len(out), dtype=bool)
    if served.withheld is not None:
        withheld[known] = served.withheld[rows[known], cols[known]]
    ranks = np.full(len(out), None, dtype=object)
    for k in np.flatnonzero(known):
        ranks[k] = served.ranks[served.nodes[cols[k]]][rows[k]]
    out["rank"] = np.where(known, ranks, out["rank"].to_numpy(dtype=object))
    out[WITHHELD] = withheld
    out["score"] = out["score"].astype("float64").where(~withheld)
    out["level"] = out["level"].astype(object).where(~withheld, None)
    out["rank"] = out["rank"].astype(object).where(~withheld, None)
    return out


def withheld_pairs(session: Session, run_id: int) -> set[tuple[str, int]]:
    """(node, unit id) of every score of a run the web withholds (means leave them out)."""
    served = run_scores(session, run_id)
    if served.withheld is None:
        return set()
    rows, cols = np.nonzero(served.withheld)
    return {(served.nodes[j], int(served.unit_ids[i])) for i, j in zip(rows, cols, strict=True)}


def withhold_observations(
    session: Session, city_id: int, ids: Sequence[int], observations: pd.DataFrame
) -> pd.DataFrame:
    """``observations`` (one row per id in ``ids``) with the cells the web withholds emptied
    and marked ``suppressed``: disclosure control's hidden cells and those resting on fewer
    than :data:`~inclusive_cities.disclosure.served.MIN_CELL` people."""
    if observations.empty:
        return observations
    hidden = hidden_observation_ids(session, city_id)
    n = pd.to_numeric(observations["n"], errors="coerce").to_numpy(dtype="float64")
    mask = np.nan_to_num(n, nan=MIN_CELL) < MIN_CELL
    if hidden:
        mask |= np.isin(
            np.asarray(ids, dtype=np.int64),
            np.fromiter(hidden, dtype=np.int64, count=len(hidden)),
        )
    if not mask.any():
        return observations
    out = observations.copy()
    out["value"] = out["value"].astype("float64").where(~mask)
    out["status"] = out["status"].where(~mask, "suppressed")
    for column in ("n", "se"):
        if column in out:
            out[column] = out[column].astype("float64").where(~mask)
    return out
