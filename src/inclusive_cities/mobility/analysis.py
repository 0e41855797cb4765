"""Per-round figures of the high-frequency survey, nationally and per city, and their trends.

Everything returns tidy DataFrames (one row per figure) so that the CLI, the reports, the
web and notebooks share them. Figures resting on fewer than ``min_n`` respondents are
suppressed; when a single category of a distribution is suppressed the next smallest is
suppressed too, so that it cannot be recovered as 100% minus the others.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from inclusive_cities.i18n import gettext as _
from inclusive_cities.mobility import estimate as est
from inclusive_cities.mobility.errors import MobilityError
from inclusive_cities.mobility.schema import AGE_GROUPS, ARRIVAL_BANDS, CHOICES

NATIONAL = "_national"
COLUMNS = [
    "round",
    "round_date",
    "geography",
    "topic",
    "category",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "cv",
    "deff",
    "n",
    "suppressed",
]
SINGLE_CHOICE_TOPICS = {
    "sex": CHOICES["sex"],
    "age_group": tuple(g[0] for g in AGE_GROUPS),
    "arrival_band": tuple(b[0] for b in ARRIVAL_BANDS),
    "intention": CHOICES["intention"],
    "regular_status": CHOICES["regular_status"],
    "documentation": CHOICES["documentation"],
    "route": CHOICES["route"],
}


def design_for(data: pd.DataFrame) -> est.Design:
    """Use PSUs when the rounds recorded them, else each respondent is its own PSU."""
    has_psu = "psu" in data.columns and data["psu"].notna().all()
    return est.Design(weight="weight", strata="stratum", psu="psu" if has_psu else None)


def _row(
    round_code: str,
    round_date: object,
    geography: str,
    topic: str,
    category: str,
    value: est.Estimate,
) -> dict:
    return {
        "round": round_code,
        "round_date": round_date,
        "geography": geography,
        "topic": topic,
        "category": category,
        **asdict(value),
    }


def _secondary_suppression(rows: list[dict]) -> None:
    hidden = [r for r in rows if r["suppressed"]]
    shown = [r for r in rows if not r["suppressed"] and r["estimate"]]
    if len(hidden) == 1 and shown:
        victim = min(shown, key=lambda r: r["estimate"])
        victim.update(
            estimate=None, se=None, ci_low=None, ci_high=None, cv=None, deff=None, suppressed=True
        )


def summarise(
    data: pd.DataFrame, min_n: int = est.MIN_N, geographies: list[str] | None = None
) -> pd.DataFrame:
    """Every figure of every round, for the nation (all cities) and each city.

    Topics: ``stock_persons`` and ``stock_households`` (totals), ``household_size`` and
    ``months_since_arrival`` (means), shares for ``sex``, ``age_group``, ``pyramid``
    (``sex|age_group`` of all respondents), ``arrival_band``, ``origin_country``,
    ``origin_state``, ``route``, ``transit`` (passed through each country), ``intention``,
    ``regular_status``, ``documentation`` and ``need`` (each need; several per person).
    """
    if data.empty:
        raise MobilityError(_("The survey has no responses to summarise."))
    data = data.reset_index(drop=True)
    sample = est.prepare(data, design_for(data))
    cities = sorted(data["city"].astype(str).unique())
    wanted = geographies if geographies is not None else [NATIONAL, *cities]
    rows: list[dict] = []
    rounds = data.drop_duplicates("round")[["round", "round_date"]].itertuples(index=False)
    for round_code, round_date in rounds:
        in_round = (data["round"] == round_code).to_numpy()
        for geography in wanted:
            domain = in_round & (
                np.ones(len(data), bool)
                if geography == NATIONAL
                else (data["city"].astype(str) == geography).to_numpy()
            )
            rows.extend(_figures(data, sample, domain, round_code, round_date, geography, min_n))
    return pd.DataFrame(rows, columns=COLUMNS)


def _figures(
    data: pd.DataFrame,
    sample: est.Sample,
    domain: np.ndarray,
    round_code: str,
    round_date: object,
    geography: str,
    min_n: int,
) -> list[dict]:
    def add(topic: str, category: str, value: est.Estimate) -> dict:
        row = _row(round_code, round_date, geography, topic, category, value)
        rows.append(row)
        return row

    rows: list[dict] = []
    ones = np.ones(len(data))
    add("stock_households", "total", est.total(sample, ones, domain, min_n=min_n))
    add(
        "stock_persons",
        "total",
        est.total(sample, data["household_size"].to_numpy(float), domain, min_n=min_n),
    )
    add("household_size", "mean", est.mean(sample, data["household_size"], domain, min_n=min_n))
    add(
        "months_since_arrival",
        "mean",
        est.mean(sample, data["months_since_arrival"], domain, min_n=min_n),
    )
    for topic, categories in SINGLE_CHOICE_TOPICS.items():
        values = data[topic].astype("string")
        answered = values.notna().to_numpy()
        group = [
            add(
                topic,
                category,
                est.proportion(
                    sample, np.where(answered, values == category, None), domain, min_n=min_n
                ),
            )
            for category in categories
        ]
        _secondary_suppression(group)
    for topic in ("origin_country", "origin_state"):
        values = data[topic].astype("string").replace("", pd.NA)
        answered = values.notna().to_numpy()
        present = values[domain & answered].value_counts()
        group = [
            add(
                topic,
                str(category),
                est.proportion(
                    sample, np.where(answered, values == category, None), domain, min_n=min_n
                ),
            )
            for category in present.index
        ]
        _secondary_suppression(group)
    sexes = data["sex"].to_numpy()
    ages = data["age_group"].to_numpy()
    pyramid = [
        add(
            "pyramid",
            f"{sex}|{age}",
            est.proportion(sample, (sexes == sex) & (ages == age), domain, min_n=min_n),
        )
        for sex in CHOICES["sex"]
        for age, _low, _high in AGE_GROUPS
    ]
    _secondary_suppression(pyramid)
    transit = data["transit_countries"].fillna("").astype(str).str.split()
    add("transit", "any", est.proportion(sample, transit.map(bool).to_numpy(), domain, min_n=min_n))
    countries = sorted({c for items in transit[domain] for c in items})
    for country in countries:
        add(
            "transit",
            country,
            est.proportion(
                sample,
                transit.map(lambda items, c=country: c in items).to_numpy(),
                domain,
                min_n=min_n,
            ),
        )
    for need in CHOICES["needs"]:
        add(
            "need",
            need,
            est.proportion(sample, data[f"need_{need}"].to_numpy(), domain, min_n=min_n),
        )
    return rows


def trends(summary: pd.DataFrame, geography: str = NATIONAL) -> pd.DataFrame:
    """Each figure over rounds, with the change from the previous round and its test.

    Rounds are independent samples, so the SE of a difference is the root of the summed
    squared SEs; ``p_value`` is the two-sided normal test of no change.
    """
    part = summary[summary["geography"] == geography].sort_values("round_date")
    out = []
    for (topic, category), group in part.groupby(["topic", "category"], sort=False):
        previous: est.Estimate | None = None
        for row in group.itertuples(index=False):
            current = est.Estimate(
                row.estimate,
                row.se,
                row.ci_low,
                row.ci_high,
                row.cv,
                row.deff,
                int(row.n),
                bool(row.suppressed),
            )
            delta = est.change(previous, current) if previous is not None else None
            out.append(
                {
                    "geography": geography,
                    "topic": topic,
                    "category": category,
                    "round": row.round,
                    "round_date": row.round_date,
                    "estimate": row.estimate,
                    "ci_low": row.ci_low,
                    "ci_high": row.ci_high,
                    "n": row.n,
                    "suppressed": row.suppressed,
                    "change": delta.difference if delta else None,
                    "change_ci_low": delta.ci_low if delta else None,
                    "change_ci_high": delta.ci_high if delta else None,
                    "p_value": delta.p_value if delta else None,
                    "significant": bool(delta.significant) if delta else False,
                }
            )
            previous = current
    return pd.DataFrame(out)


def flows(
    data: pd.DataFrame,
    round_code: str | None = None,
    city: str | None = None,
    min_n: int = est.MIN_N,
) -> pd.DataFrame:
    """Origin country → intended destination: estimated households with CIs, per round.

    Destination is the city itself for those who intend to stay and the country of origin
    for those who intend to return. Cells under ``min_n`` respondents are suppressed.
    """
    data = data.reset_index(drop=True)
    sample = est.prepare(data, design_for(data))
    domain = np.ones(len(data), bool)
    if round_code is not None:
        if round_code not in set(data["round"]):
            raise MobilityError(
                _("There is no round '{round}' in the survey; rounds are {rounds}.").format(
                    round=round_code, rounds=", ".join(sorted(set(data["round"])))
                )
            )
        domain &= (data["round"] == round_code).to_numpy()
    if city is not None:
        domain &= (data["city"].astype(str) == city).to_numpy()
    origin = data["origin_country"].astype(str).to_numpy()
    destination = data["destination"].fillna("").astype(str).to_numpy()
    pairs = pd.DataFrame({"o": origin[domain], "d": destination[domain]}).value_counts()
    rows = []
    for (o, d), _count in pairs.items():
        cell = domain & (origin == o) & (destination == d)
        value = est.total(sample, np.ones(len(data)), cell, min_n=min_n)
        rows.append(
            {
                "round": round_code or "all",
                "geography": city or NATIONAL,
                "origin": o,
                "destination": d,
                **asdict(value),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["suppressed", "estimate"], ascending=[True, False], ignore_index=True)
