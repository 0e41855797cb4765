"""Per-round figures of the high-frequency survey, nationally and per city, and their trends.

Everything returns tidy DataFrames (one row per figure) so that the CLI, the reports, the
web and notebooks share them. The estimates, SEs and CIs come from the observatory's one
survey engine, :func:`inclusive_cities.surveys.estimate` (Taylor linearisation on the
stratified design, domains on the full design, Student-t intervals on the design's degrees
of freedom). Figures resting on fewer than ``min_n`` respondents are suppressed; when a
single category of a distribution is suppressed the next smallest is suppressed too, so
that it cannot be recovered as 100% minus the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from inclusive_cities import surveys
from inclusive_cities.i18n import gettext as _
from inclusive_cities.mobility.errors import MobilityError
from inclusive_cities.mobility.schema import AGE_GROUPS, ARRIVAL_BANDS, CHOICES
from inclusive_cities.surveys.estimation import Statistic

NATIONAL = "_national"
MIN_N = 10
VALUES = ("estimate", "se", "ci_low", "ci_high", "cv", "deff")
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


def design_for(data: pd.DataFrame, min_n: int = MIN_N) -> surveys.Design:
    """Use PSUs when the rounds recorded them, else each respondent is its own PSU.

    A stratum with a single PSU adds no variance (R's ``survey.lonely.psu = "remove"``).
    """
    has_psu = "psu" in data.columns and data["psu"].notna().all()
    return surveys.Design(
        weight="weight",
        strata="stratum",
        psu="psu" if has_psu else None,
        lonely_psu="remove",
        min_n=min_n,
    )


def _empty(n: int) -> dict:
    """A suppressed figure: its count stays, its values go."""
    return {**dict.fromkeys(VALUES), "n": n, "suppressed": True}


class _Estimator:
    """Every HFS figure of one table, from :func:`inclusive_cities.surveys.estimate`.

    Each variable is estimated in one call for every round (the nation) and one for every
    round × city, on the full design (domains, never subsets). A figure is suppressed when
    it rests on fewer than ``min_n`` respondents (the engine's ``low_n``) or, for a share,
    when the respondents who gave the answer number 1 to ``min_n - 1``: a share reveals
    its cell. Shares' CIs are truncated to [0, 1].
    """

    def __init__(self, data: pd.DataFrame, geographies: list[str], min_n: int) -> None:
        self.design = design_for(data, min_n)
        self.min_n = min_n
        self.frame = data[[c for c in self.design.columns() if c]].copy()
        rounds, cities = data["round"].astype(str), data["city"].astype(str)
        # each split (the nation, the cities) is one integer domain code per respondent
        self.splits: dict[str, list[tuple[str, str]]] = {}
        if NATIONAL in geographies:
            codes, labels = pd.factorize(rounds)
            self.frame["_national"] = codes
            self.splits["_national"] = [(str(r), NATIONAL) for r in labels]
        if set(geographies) - {NATIONAL}:
            codes, pairs = pd.factorize(pd.MultiIndex.from_arrays([rounds, cities]))
            self.frame["_cities"] = codes
            self.splits["_cities"] = [(str(r), str(c)) for r, c in pairs]

    def _call(
        self, values: pd.Series, statistic: Statistic
    ) -> tuple[dict[tuple, dict], dict[tuple[str, str], int]]:
        """The engine's rows by (round, geography, category), and each domain's respondents
        (those who answered)."""
        out: dict[tuple, dict] = {}
        n: dict[tuple[str, str], int] = {}
        if not values.notna().any():  # a question this survey does not ask: nothing to show
            return out, n
        frame = self.frame.assign(_value=values.to_numpy())
        for split, labels in self.splits.items():
            table = surveys.estimate(
                frame, self.design, "_value", statistic, by=split, interval="t"
            )
            for row in table.to_dict("records"):
                domain = labels[int(row[split])]
                out[(*domain, row.get("category"))] = row
                n[domain] = int(row["n"])
        return out, n

    def _cells(self, values: pd.Series) -> dict[tuple, int]:
        """Respondents per (round, geography, answer)."""
        answered = values.notna().to_numpy()
        names, codes = np.unique(values[answered].astype(str).to_numpy(), return_inverse=True)
        out: dict[tuple, int] = {}
        for split, labels in self.splits.items():
            key = self.frame[split].to_numpy()[answered] * len(names) + codes
            counts = np.bincount(key, minlength=len(labels) * len(names))
            for k in np.flatnonzero(counts):
                out[(*labels[k // len(names)], str(names[k % len(names)]))] = int(counts[k])
        return out

    def _figure(self, row: dict | None, n: int, share: bool) -> dict:
        if row is None:  # an answer nobody gave anywhere: a share of zero
            row = {"estimate": 0.0, "se": 0.0, "ci_low": 0.0, "ci_high": 0.0, "n": n}
        if n < self.min_n or row.get("low_n", False):
            return _empty(n)
        figure = {v: _number(row.get(v)) for v in VALUES}
        if share:
            figure["ci_low"] = max(figure["ci_low"], 0.0)  # type: ignore[type-var]
            figure["ci_high"] = min(figure["ci_high"], 1.0)  # type: ignore[type-var]
        return {**figure, "n": n, "suppressed": False}

    def totals(self, values: pd.Series) -> Callable[[str, str], dict]:
        """Population totals; every respondent of the domain counts in ``n``. No design
        effect: against simple random sampling a count of households has none (infinite)."""
        rows, n = self._call(values.fillna(0).astype(float), "total")

        def figure(r: str, g: str) -> dict:
            return {**self._figure(rows.get((r, g, None)), n.get((r, g), 0), False), "deff": None}

        return figure

    def means(self, values: pd.Series) -> Callable[[str, str], dict]:
        """Means over the domain's non-missing answers."""
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        rows, n = self._call(numbers, "mean")
        return lambda r, g: self._figure(rows.get((r, g, None)), n.get((r, g), 0), False)

    def shares(self, values: pd.Series) -> Callable[[str, str, str], dict]:
        """Share of each answer among the domain's answers (missing answers left out)."""
        values = values.astype("string")  # True/False too, as the categories' names
        (rows, n), cells = self._call(values, "proportion"), self._cells(values)

        def figure(r: str, g: str, category: str) -> dict:
            count = n.get((r, g), 0)
            if 0 < cells.get((r, g, category), 0) < self.min_n:
                return _empty(count)
            return self._figure(rows.get((r, g, category)), count, True)

        return figure


def _number(value: object) -> float | None:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    return float(value)  # type: ignore[arg-type]


def _row(round_code: str, round_date: object, geography: str, topic: str, category: str) -> dict:
    return {
        "round": round_code,
        "round_date": round_date,
        "geography": geography,
        "topic": topic,
        "category": category,
    }


def _secondary_suppression(rows: list[dict]) -> None:
    hidden = [r for r in rows if r["suppressed"]]
    shown = [r for r in rows if not r["suppressed"] and r["estimate"]]
    if len(hidden) == 1 and shown:
        victim = min(shown, key=lambda r: r["estimate"])
        victim.update(dict.fromkeys(VALUES), suppressed=True)


def summarise(
    data: pd.DataFrame, min_n: int = MIN_N, geographies: list[str] | None = None
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
    cities = sorted(data["city"].astype(str).unique())
    wanted = geographies if geographies is not None else [NATIONAL, *cities]
    figures = _Figures(data, _Estimator(data, wanted, min_n))
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
            rows.extend(figures.rows(domain, str(round_code), round_date, geography))
    return pd.DataFrame(rows, columns=COLUMNS)


class _Figures:
    """The topics of :func:`summarise`, each estimated once for all rounds and places."""

    def __init__(self, data: pd.DataFrame, engine: _Estimator) -> None:
        self.data = data
        self.stock_households = engine.totals(pd.Series(np.ones(len(data))))
        self.stock_persons = engine.totals(data["household_size"])
        self.means = {t: engine.means(data[t]) for t in ("household_size", "months_since_arrival")}
        self.single = {t: engine.shares(data[t].astype("string")) for t in SINGLE_CHOICE_TOPICS}
        self.origin = {
            t: engine.shares(data[t].astype("string").replace("", pd.NA))
            for t in ("origin_country", "origin_state")
        }
        sexes, ages = data["sex"].astype(str), data["age_group"].astype(str)
        self.pyramid = engine.shares(sexes + "|" + ages)
        self.transit = data["transit_countries"].fillna("").astype(str).str.split()
        self.transit_any = engine.shares(self.transit.map(bool))
        self.transit_by = {
            c: engine.shares(self.transit.map(lambda items, c=c: c in items))
            for c in sorted({c for items in self.transit for c in items})
        }
        self.needs = {n: engine.shares(data[f"need_{n}"]) for n in CHOICES["needs"]}

    def rows(
        self, domain: np.ndarray, round_code: str, round_date: object, geography: str
    ) -> list[dict]:
        data = self.data
        rows: list[dict] = []

        def add(topic: str, category: str, figure: dict) -> dict:
            row = {**_row(round_code, round_date, geography, topic, category), **figure}
            rows.append(row)
            return row

        key = (round_code, geography)
        add("stock_households", "total", self.stock_households(*key))
        add("stock_persons", "total", self.stock_persons(*key))
        for topic, mean in self.means.items():
            add(topic, "mean", mean(*key))
        for topic, categories in SINGLE_CHOICE_TOPICS.items():
            share = self.single[topic]
            _secondary_suppression([add(topic, c, share(*key, c)) for c in categories])
        for topic, share in self.origin.items():
            values = data[topic].astype("string").replace("", pd.NA)
            present = values[domain & values.notna().to_numpy()].value_counts()
            _secondary_suppression([add(topic, str(c), share(*key, str(c))) for c in present.index])
        pyramid = [
            add("pyramid", f"{sex}|{age}", self.pyramid(*key, f"{sex}|{age}"))
            for sex in CHOICES["sex"]
            for age, _low, _high in AGE_GROUPS
        ]
        _secondary_suppression(pyramid)
        add("transit", "any", self.transit_any(*key, "True"))
        for country in sorted({c for items in self.transit[domain] for c in items}):
            add("transit", country, self.transit_by[country](*key, "True"))
        for need, share in self.needs.items():
            add("need", need, share(*key, "True"))
        return rows


@dataclass(frozen=True)
class Change:
    """Difference between two independent rounds' estimates and its two-sided test."""

    difference: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    z: float | None
    p_value: float | None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < 0.05


def change(
    before: tuple[float | None, float | None],
    after: tuple[float | None, float | None],
    level: float = 0.95,
) -> Change:
    """Test ``after - before`` (each an ``(estimate, se)`` pair) for rounds drawn as
    independent samples: SEs add in quadrature. A suppressed figure gives no change."""
    values = [_number(v) for v in (*before, *after)]
    if any(v is None for v in values):
        return Change(None, None, None, None, None, None)
    b, b_se, a, a_se = (float(v) for v in values)  # type: ignore[arg-type]
    difference = a - b
    se = float(np.hypot(b_se, a_se))
    quantile = float(stats.norm.ppf(0.5 + level / 2))
    z = difference / se if se > 0 else None
    p = float(2 * stats.norm.sf(abs(z))) if z is not None else None
    return Change(difference, se, difference - quantile * se, difference + quantile * se, z, p)


def trends(summary: pd.DataFrame, geography: str = NATIONAL) -> pd.DataFrame:
    """Each figure over rounds, with the change from the previous round and its test.

    Rounds are independent samples, so the SE of a difference is the root of the summed
    squared SEs; ``p_value`` is the two-sided normal test of no change.
    """
    part = summary[summary["geography"] == geography].sort_values("round_date")
    out = []
    for (topic, category), group in part.groupby(["topic", "category"], sort=False):
        previous: tuple[float | None, float | None] | None = None
        for row in group.itertuples(index=False):
            current = (None, None) if row.suppressed else (row.estimate, row.se)
            delta = change(previous, current) if previous is not None else None
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


def hide_a_second(table: pd.DataFrame) -> pd.DataFrame:
    """A table with one hidden cell gives it back as the domain's total less the others:
    hide the smallest other cell too (its estimate and n). ``n`` becomes a nullable int."""
    out = table.copy()
    if len(out) > 1 and int(out["suppressed"].sum()) == 1:
        second = out.loc[~out["suppressed"], "n"].astype(float).idxmin()
        out.loc[second, [*VALUES, "n"]] = None
        out.loc[second, "suppressed"] = True
    out["n"] = out["n"].astype("Int64")
    return out


def flows(
    data: pd.DataFrame,
    round_code: str | None = None,
    city: str | None = None,
    min_n: int = MIN_N,
) -> pd.DataFrame:
    """Origin country → intended destination: estimated households with CIs, per round.

    Destination is the city itself for those who intend to stay and the country of origin
    for those who intend to return. Cells under ``min_n`` respondents are suppressed. Each
    cell is a domain of the full design (one call of the survey engine for all of them).
    """
    data = data.reset_index(drop=True)
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
    if pairs.empty:
        return pd.DataFrame()
    design = design_for(data, min_n)
    frame = data[design.columns()].assign(
        _one=1.0,
        _origin=pd.Series(origin).where(domain),
        _destination=pd.Series(destination).where(domain),
    )
    table = surveys.estimate(
        frame, design, "_one", "total", by=["_origin", "_destination"], interval="t"
    ).set_index(["_origin", "_destination"])
    rows = []
    for o, d in pairs.index:
        cell = table.loc[(o, d)]
        hidden = bool(cell["low_n"])
        rows.append(
            {
                "round": round_code or "all",
                "geography": city or NATIONAL,
                "origin": o,
                "destination": d,
                **{v: None if hidden else _number(cell[v]) for v in VALUES},
                # a total of households has no design effect (against simple random sampling
                # its variance is infinite), as the totals of summarise() say: not "inf" (F19)
                "deff": None,
                # a hidden cell's n is the small count suppression hides (one household going
                # home), and with estimate / n of the others it gives the estimate back
                "n": None if hidden else int(cell["n"]),
                "suppressed": hidden,
            }
        )
    out = hide_a_second(pd.DataFrame(rows))
    return out.sort_values(["suppressed", "estimate"], ascending=[True, False], ignore_index=True)
