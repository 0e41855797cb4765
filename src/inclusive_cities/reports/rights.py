"""Gaps in access to rights: migrants vs host population from census indicators by nationality.

Each right lists the catalogue indicators that measure it; a city value per group pools the
units of the coarsest level that has the indicator, weighted by each unit's denominator
``n`` (so a pooled share equals the share over all persons). Migrants are every
non-host nationality (``venezuelan``, ``other_foreign``).
"""

from __future__ import annotations

import pandas as pd

from inclusive_cities.store.models import TOTAL

RIGHTS: dict[str, tuple[str, ...]] = {
    "documentation": (),
    "health": ("health_insurance",),
    "education": ("school_attendance_5_16", "years_schooling_25plus"),
    "employment": ("employment_rate", "unemployment_rate", "informal_employment", "neet_youth"),
    "housing": ("overcrowding", "durable_housing"),
    "protection": (),
}
HOST = "host"


def _pooled(frame: pd.DataFrame) -> tuple[float, int] | None:
    frame = frame.dropna(subset=["value"])
    if frame.empty:
        return None
    weights = frame["n"].fillna(1).astype(float).clip(lower=0)
    if weights.sum() <= 0:
        return float(frame["value"].mean()), 0
    return float((frame["value"] * weights).sum() / weights.sum()), int(frame["n"].fillna(0).sum())


def gaps(observations: pd.DataFrame, units: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator with host and migrant values and the migrants' disadvantage."""
    columns = [
        "right",
        "indicator",
        "unit",
        "direction",
        "host",
        "migrants",
        "host_n",
        "migrants_n",
        "disadvantage",
        "source",
    ]
    if observations.empty:
        return pd.DataFrame(columns=columns)
    depth = units.set_index("unit_id")["depth"]
    obs = observations[(observations["sex"] == TOTAL) & (observations["age_group"] == TOTAL)]
    obs = obs[obs["status"] != "suppressed"].copy()
    obs["depth"] = obs["unit_id"].map(depth)
    catalogue = indicators.set_index("code")
    rows = []
    for right, codes in RIGHTS.items():
        for code in codes:
            part = obs[obs["indicator"] == code]
            if part.empty or code not in catalogue.index:
                continue
            part = part[part["depth"] == part["depth"].min()]
            host = _pooled(part[part["nationality"] == HOST])
            migrants = _pooled(part[~part["nationality"].isin([HOST, TOTAL])])
            if host is None or migrants is None:
                continue
            direction = catalogue.loc[code, "direction"]
            # a neutral (descriptive) figure has no worse end, so no disadvantage to report
            sign = {"higher_is_better": 1, "lower_is_better": -1}.get(direction)
            if sign is None:
                continue
            source = next((s for s in part["source"] if s), catalogue.loc[code, "source"])
            rows.append(
                {
                    "right": right,
                    "indicator": code,
                    "unit": catalogue.loc[code, "unit"],
                    "direction": direction,
                    "host": host[0],
                    "migrants": migrants[0],
                    "host_n": host[1],
                    "migrants_n": migrants[1],
                    "disadvantage": sign * (host[0] - migrants[0]),
                    "source": source or "",
                }
            )
    return pd.DataFrame(rows, columns=columns)
