"""The Human Mobility Profile of a city: sections built from the store and the survey rounds.

Every section states what is missing instead of drawing an empty chart, and every figure
carries its source and date.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from inclusive_cities import charts
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n.units import unit_label
from inclusive_cities.mobility import NATIONAL, flows, summarise, trends
from inclusive_cities.mobility.schema import AGE_GROUPS, choice_label, country_name
from inclusive_cities.reports import fmt
from inclusive_cities.reports.data import CityData
from inclusive_cities.reports.document import Document, Figure, KeyFigure, Section, Table
from inclusive_cities.reports.labels import labels, right_label
from inclusive_cities.reports.maps import level_map
from inclusive_cities.reports.markerdata import MarkerView, marker_view
from inclusive_cities.reports.recommendations import Recommendation, recommend
from inclusive_cities.reports.rights import RIGHTS, gaps
from inclusive_cities.reports.withheld import WITHHELD
from inclusive_cities.store.models import TOTAL

WITHHELD_LEVEL = "withheld"
"""Level code a report's maps give a unit whose score is withheld for confidentiality."""
WITHHELD_COLOUR = "#bdbdbd"


def withheld_text() -> str:
    """What a report prints in place of a score withheld for confidentiality (as the web)."""
    return _("Withheld for confidentiality")


def mark_withheld(view: MarkerView, scores: pd.DataFrame, units: pd.DataFrame) -> bool:
    """Flag, in place, the units whose score of each node is withheld (``withheld_<node>``
    columns and ``withheld`` for the index) and drop rank intervals that do not fit ranks
    among the published units.

    Stored intervals are ranks among every scored unit: beside ranks among the published
    ones they place each withheld unit between its neighbours, so a report shows none when
    any index is withheld (the web serves intervals recomputed among published units)."""
    flags = scores[scores[WITHHELD]] if WITHHELD in scores else scores.iloc[0:0]
    # a unit whose every score is withheld has none left to pivot: it is still scored
    absent = units[units["unit_id"].isin(set(flags["unit_id"]) - set(view.units["unit_id"]))].copy()
    if len(absent):
        view.units = pd.concat([view.units, absent], ignore_index=False)
        view.units = view.units.sort_values(["rank", "code"], na_position="last")
    for node in [view.root, *view.areas]:
        hidden = set(flags.loc[flags["node_code"] == node, "unit_id"])
        view.units[f"withheld_{node}"] = view.units["unit_id"].isin(hidden)
    view.units["withheld"] = view.units[f"withheld_{view.root}"]
    if view.areas:  # a withheld area has data: it is not what makes an index partial
        present = pd.DataFrame(
            {
                a: (view.units[a].notna() if a in view.units else False)
                | view.units[f"withheld_{a}"]
                for a in view.areas
            },
            index=view.units.index,
        )
        view.units["coverage"] = present.mean(axis=1)
        view.units["missing_areas"] = [
            "; ".join(a for a in view.areas if not row[a]) for row in present.to_dict("records")
        ]
    dropped = bool(view.units["withheld"].any() and view.rank_low is not None)
    if view.units["withheld"].any():
        view.rank_low = view.rank_high = None
    return dropped


def published_count(view: MarkerView) -> int:
    """Units whose index is published (ranks and "of N" count these only)."""
    if "withheld" not in view.units:
        return int(view.units["score"].notna().sum())
    return int((~view.units["withheld"] & view.units["score"].notna()).sum())


@dataclass
class Built:
    """A document plus the tables of its data annex and the time each section took."""

    document: Document
    annex: dict[str, pd.DataFrame]
    recommendations: list[Recommendation] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Survey:
    """The survey figures of one city, ready for the sections."""

    data: pd.DataFrame
    summary: pd.DataFrame
    city: str
    rounds: list[tuple[str, str, object]]  # code, label, date

    _trends: pd.DataFrame | None = None

    def trends(self) -> pd.DataFrame:
        if self._trends is None:
            self._trends = trends(self.summary, self.city)
        return self._trends

    @property
    def latest(self) -> str:
        return self.rounds[-1][0]

    def figure(
        self, topic: str, category: str, round_code: str | None = None, geography: str | None = None
    ) -> pd.Series | None:
        part = self.summary[
            (self.summary["round"] == (round_code or self.latest))
            & (self.summary["geography"] == (geography or self.city))
            & (self.summary["topic"] == topic)
            & (self.summary["category"] == category)
        ]
        return None if part.empty else part.iloc[0]

    def topic(self, topic: str, round_code: str | None = None) -> pd.DataFrame:
        return self.summary[
            (self.summary["round"] == (round_code or self.latest))
            & (self.summary["geography"] == self.city)
            & (self.summary["topic"] == topic)
        ].copy()


def _survey(hfs: pd.DataFrame | None, city_code: str) -> Survey | None:
    if hfs is None or hfs.empty or city_code not in set(hfs["city"].astype(str)):
        return None
    national = hfs["city"].astype(str).nunique() > 1
    summary = summarise(hfs, geographies=[NATIONAL, city_code] if national else [city_code])
    rounds = [
        (r.round, r.round_label, r.round_date)
        for r in hfs.drop_duplicates("round").sort_values("round_date").itertuples()
    ]
    return Survey(hfs, summary, city_code, rounds)


def _value(row: pd.Series | None) -> float | None:
    if row is None or bool(row["suppressed"]) or pd.isna(row["estimate"]):
        return None
    return float(row["estimate"])


def census_total(data: CityData, indicator: str) -> float | None:
    """A census count for the whole city: its all-groups values summed over the coarsest level
    that has them (None when the store has no such figure)."""
    obs = data.observations
    if obs.empty:
        return None
    rows = obs[
        (obs["indicator"] == indicator)
        & (obs["sex"] == TOTAL)
        & (obs["age_group"] == TOTAL)
        & (obs["nationality"] == TOTAL)
        & obs["value"].notna()
    ]
    if rows.empty:
        return None
    depth = rows["unit_id"].map(data.units.set_index("unit_id")["depth"])
    return float(rows.loc[depth == depth.min(), "value"].sum())


class ProfileBuilder:
    """Builds the sections one by one (so that the benchmark can time each)."""

    def __init__(
        self,
        data: CityData,
        language: str,
        hfs: pd.DataFrame | None = None,
        recommendations: str | None = None,
        governance: pd.DataFrame | None = None,
        rank_intervals: pd.DataFrame | None = None,
    ) -> None:
        self.data = data
        self.lang = language
        self.t = labels()
        self.survey = _survey(hfs, data.city_code)
        self.marker: MarkerView | None = marker_view(data, language, rank_intervals)
        self.intervals_withheld = False
        if self.marker is not None:
            self.intervals_withheld = mark_withheld(self.marker, data.scores, data.units)
        self.gaps = gaps(data.observations, data.units, data.indicators)
        self.governance = governance
        self.recommendations_path = recommendations
        self.figures: dict[str, float] = {}
        self.annex: dict[str, pd.DataFrame] = {}
        self.recommendations: list[Recommendation] = []
        self.unjudged: list[str] = []

    # --- helpers ---------------------------------------------------------------------
    def _hfs_source(self) -> str:
        assert self.survey is not None
        first, last = self.survey.rounds[0], self.survey.rounds[-1]
        return _(
            "High-frequency survey of refugees and migrants, rounds {first} to {last} "
            "(fieldwork {start} to {end}); 95% confidence intervals; figures from fewer "
            "than 10 respondents suppressed."
        ).format(first=first[0], last=last[0], start=first[2], end=last[2])

    def _round_source(self, round_code: str | None = None) -> str:
        assert self.survey is not None
        code = round_code or self.survey.latest
        when = next(r[2] for r in self.survey.rounds if r[0] == code)
        return _("High-frequency survey of refugees and migrants, round {round} ({date}).").format(
            round=code, date=when
        )

    def _census_source(self) -> str:
        return _(
            "Observatory indicators for period {period} (census and administrative records)."
        ).format(period=self.data.period_label)

    def _marker_source(self) -> str:
        assert self.marker is not None
        run = self.marker.run
        return _("Urban Inclusion Marker, run {id} of spec {spec}, period {period}.").format(
            id=run["id"], spec=run["spec_code"], period=self.data.period_label
        )

    def _shares_table(self, frame: pd.DataFrame, label: str, caption: str, source: str) -> Table:
        rows = []
        for row in frame.itertuples():
            rows.append(
                [
                    row.label,
                    self.t["suppressed"]
                    if row.suppressed
                    else fmt.percent(row.estimate, self.lang),
                    "" if row.suppressed else fmt.interval(row.ci_low, row.ci_high, self.lang),
                    fmt.number(row.n, self.lang),
                ]
            )
        return Table(
            [label, self.t["estimate"], self.t["ci95"], self.t["respondents"]],
            rows,
            caption,
            source,
            numeric=[False, True, True, True],
            small=True,
        )

    def _shares_chart(
        self, frame: pd.DataFrame, caption: str, source: str, sort: bool = True
    ) -> Figure | None:
        shown = frame[~frame["suppressed"].astype(bool)]
        if shown.empty:
            return None
        chart = charts.bars_with_ci(
            shown[["label", "estimate", "ci_low", "ci_high"]],
            "label",
            value_title=self.t["share_of_respondents"],
            sort=sort,
        )
        return Figure(charts.to_png_data_uri(chart), caption, source)

    # --- sections --------------------------------------------------------------------
    def summary(self) -> Section:
        t = self.t
        section = Section("summary", t["summary"])
        figures: list[KeyFigure] = []
        if self.survey is not None:
            stock = self.survey.figure("stock_persons", "total")
            if stock is not None and _value(stock) is not None:
                figures.append(
                    KeyFigure(
                        t["kf_stock"],
                        fmt.number(stock["estimate"], self.lang),
                        t["ci95"]
                        + ": "
                        + fmt.interval(
                            stock["ci_low"], stock["ci_high"], self.lang, 0, as_percent=False
                        ),
                    )
                )
            for topic, category, label in (
                ("regular_status", "regular", t["kf_regular"]),
                ("intention", "stay", t["kf_stay"]),
            ):
                value = _value(self.survey.figure(topic, category))
                if value is not None:
                    figures.append(
                        KeyFigure(
                            label,
                            fmt.percent(value, self.lang, 0),
                            t["round"] + " " + self.survey.latest,
                        )
                    )
        if self.marker is not None and self.marker.city_score is not None:
            score = self.marker.city_score
            figures.append(
                KeyFigure(
                    t["kf_uim"],
                    fmt.number(score, self.lang, 1),
                    self.marker.level_label(self.marker.level_of(score)),
                )
            )
        if not self.gaps.empty:
            worst = self.gaps.sort_values("disadvantage", ascending=False).iloc[0]
            figures.append(
                KeyFigure(
                    t["kf_largest_gap"],
                    fmt.number(worst["disadvantage"], self.lang, 1),
                    self._indicator_name(worst["indicator"]),
                )
            )
        if figures:
            section.key_figures(figures)
        section.p(
            _(
                "This profile brings together what the observatory knows about refugees and "
                "migrants in {city}: how many they are and how this changes between survey "
                "rounds, who they are, the gaps in their access to rights compared with the host "
                "population, the city's Urban Inclusion Marker and recommendations to close the "
                "gaps."
            ).format(city=self.data.city_name)
        )
        if self.data.is_synthetic:
            section.note(t["synthetic_note"])
        return section

    def context(self) -> Section:
        t = self.t
        section = Section("context", t["context"])
        if self.survey is None:
            section.missing(
                _(
                    "No high-frequency survey rounds cover {city}: the stock of refugees and "
                    "migrants, its trend, origins, routes and intentions cannot be shown. Import "
                    "the survey rounds (inclusive-cities mobility ...) and build the profile again."
                ).format(city=self.data.city_name)
            )
            return section
        survey = self.survey
        stock = survey.summary[
            (survey.summary["geography"] == survey.city)
            & (survey.summary["topic"] == "stock_persons")
        ].copy()
        stock["round_label"] = stock["round"]
        latest = survey.figure("stock_persons", "total")
        first = survey.figure("stock_persons", "total", survey.rounds[0][0])
        households = survey.figure("stock_households", "total")
        population = census_total(self.data, "population")
        if (
            latest is not None
            and _value(latest) is not None
            and population is not None
            and float(latest["estimate"]) > population
        ):
            # an expansion that does not fit the city: never print it as a stock
            section.missing(
                _(
                    "The survey's round {round} estimates {persons} refugees and migrants in "
                    "{city}, more than the {population} people the census counts in the whole "
                    "city: its expansion weights do not describe this city. Check the rounds' "
                    "weights against the census and build the profile again."
                ).format(
                    round=survey.latest,
                    persons=fmt.number(latest["estimate"], self.lang),
                    city=self.data.city_name,
                    population=fmt.number(population, self.lang),
                )
            )
            self.figures["hfs.stock_exceeds_population"] = float(latest["estimate"])
        elif latest is not None and _value(latest) is not None:
            section.p(
                _(
                    "In round {round} the survey estimates {persons} refugees and migrants "
                    "(95% CI {low} to {high}) living in {city}, in {households} households."
                ).format(
                    round=survey.latest,
                    persons=fmt.number(latest["estimate"], self.lang),
                    low=fmt.number(latest["ci_low"], self.lang),
                    high=fmt.number(latest["ci_high"], self.lang),
                    city=self.data.city_name,
                    households=fmt.number(_value(households), self.lang),
                )
            )
            self.figures["hfs.stock_persons"] = float(latest["estimate"])
            if first is not None and _value(first) is not None and len(survey.rounds) > 1:
                change = float(latest["estimate"]) / float(first["estimate"]) - 1
                self.figures["hfs.stock_change"] = 100 * change
                trend = survey.trends()
                tested = trend[
                    (trend["topic"] == "stock_persons") & (trend["round"] == survey.latest)
                ]
                p_value = tested["p_value"].iloc[0] if not tested.empty else None
                section.p(
                    _(
                        "Compared with round {first} the estimate changed by {change}; the change "
                        "since the previous round is {verdict} (p = {p})."
                    ).format(
                        first=survey.rounds[0][0],
                        change=fmt.percent(change, self.lang),
                        verdict=t["significant"]
                        if p_value is not None and p_value < 0.05
                        else t["not_significant"],
                        p=fmt.number(p_value, self.lang, 3),
                    )
                )
        shown = stock[~stock["suppressed"].astype(bool)]
        if len(shown) > 1:
            shown = shown.assign(label=t["refugees_migrants"])
            chart = charts.trend_lines(
                shown, x="round_label", percent=False, value_title=t["persons"]
            )
            section.figure(
                Figure(charts.to_png_data_uri(chart), t["fig_stock"], self._hfs_source())
            )
        # intentions over rounds
        intent = survey.summary[
            (survey.summary["geography"] == survey.city)
            & (survey.summary["topic"] == "intention")
            & ~survey.summary["suppressed"].astype(bool)
        ].copy()
        if not intent.empty:
            intent["label"] = intent["category"].map(lambda c: choice_label("intention", c))
            intent["round_label"] = intent["round"]
            chart = charts.trend_lines(intent, value_title=t["share_of_respondents"])
            section.figure(
                Figure(charts.to_png_data_uri(chart), t["fig_intentions"], self._hfs_source())
            )
            for category in ("stay", "move_on", "return"):
                value = _value(survey.figure("intention", category))
                if value is not None:
                    self.figures[f"hfs.{category}"] = 100 * value
        trend = survey.trends()
        significant = trend[
            trend["significant"]
            & (trend["round"] == survey.latest)
            & trend["topic"].isin(["intention", "regular_status", "need"])
        ]
        if not significant.empty:
            rows = [
                [
                    self._topic_label(r.topic, r.category),
                    fmt.percent(r.estimate, self.lang),
                    fmt.percent(r.change, self.lang),
                    fmt.interval(r.change_ci_low, r.change_ci_high, self.lang),
                    fmt.number(r.p_value, self.lang, 3),
                ]
                for r in significant.itertuples()
            ]
            section.table(
                Table(
                    [t["figure"], t["round"] + " " + survey.latest, t["change"], t["ci95"], "p"],
                    rows,
                    t["tab_changes"],
                    self._hfs_source(),
                    numeric=[False, True, True, True, True],
                    small=True,
                )
            )
        # time since arrival, origin, routes
        arrival = survey.topic("arrival_band")
        arrival["label"] = arrival["category"].map(lambda c: choice_label("arrival_band", c))
        figure = self._shares_chart(arrival, t["fig_arrival"], self._round_source(), sort=False)
        section.h3(t["arrival_origin"])
        months = _value(survey.figure("months_since_arrival", "mean"))
        if months is not None:
            section.p(
                _("On average respondents arrived {months} months before the interview.").format(
                    months=fmt.number(months, self.lang, 1)
                )
            )
        if figure:
            section.figure(figure)
        origin = survey.topic("origin_country").sort_values("estimate", ascending=False)
        origin["label"] = origin["category"].map(lambda c: country_name(c, self.lang))
        figure = self._shares_chart(origin, t["fig_origin"], self._round_source())
        if figure:
            section.figure(figure)
        states = survey.topic("origin_state").sort_values("estimate", ascending=False)
        if not states.empty:
            states["label"] = states["category"]
            section.table(
                self._shares_table(
                    states.head(8), t["origin_state"], t["tab_states"], self._round_source()
                )
            )
        routes = survey.topic("route")
        routes["label"] = routes["category"].map(lambda c: choice_label("route", c))
        transit = survey.topic("transit")
        transit["label"] = transit["category"].map(
            lambda c: (
                t["transit_any"]
                if c == "any"
                else t["transit_through"].format(country=country_name(c, self.lang))
            )
        )
        combined = pd.concat([routes, transit], ignore_index=True)
        section.h3(t["routes"])
        section.table(
            self._shares_table(combined, t["route"], t["tab_routes"], self._round_source())
        )
        self._national_comparison(section)
        table = flows(survey.data, round_code=survey.latest, city=survey.city)
        self.annex["flows"] = table
        if not table.empty:
            shown = table[~table["suppressed"].astype(bool)].head(10)
            rows = [
                [
                    country_name(r.origin, self.lang),
                    self.data.city_name
                    if r.destination == survey.city
                    else country_name(r.destination, self.lang),
                    fmt.number(r.estimate, self.lang),
                    fmt.interval(r.ci_low, r.ci_high, self.lang, 0, as_percent=False),
                    fmt.number(r.n, self.lang),
                ]
                for r in shown.itertuples()
            ]
            hidden = int(table["suppressed"].sum())
            caption = t["tab_flows"]
            if hidden:
                caption += " " + _(
                    "{count} smaller flows are suppressed (fewer than 10 respondents)."
                ).format(count=hidden)
            section.table(
                Table(
                    [t["origin"], t["destination"], t["households"], t["ci95"], t["respondents"]],
                    rows,
                    caption,
                    self._round_source(),
                    numeric=[False, False, True, True, True],
                    small=True,
                )
            )
        return section

    def _national_comparison(self, section: Section) -> None:
        """Key shares of the city beside all surveyed cities, when the survey has several."""
        assert self.survey is not None
        survey = self.survey
        if survey.figure("regular_status", "regular", geography=NATIONAL) is None:
            return
        t = self.t
        rows = []
        for topic, category in (
            ("regular_status", "regular"),
            ("regular_status", "irregular"),
            ("documentation", "none"),
            ("intention", "stay"),
            ("intention", "move_on"),
            ("need", "food"),
            ("need", "shelter"),
            ("need", "protection"),
        ):
            city = survey.figure(topic, category)
            nation = survey.figure(topic, category, geography=NATIONAL)
            cells = []
            for row in (city, nation):
                value = _value(row)
                cells += [
                    t["suppressed"] if value is None else fmt.percent(value, self.lang),
                    ""
                    if value is None or row is None
                    else fmt.interval(row["ci_low"], row["ci_high"], self.lang),
                ]
            rows.append([self._topic_label(topic, category), *cells])
        section.table(
            Table(
                [t["figure"], self.data.city_name, t["ci95"], t["all_cities"], t["ci95"]],
                rows,
                t["tab_national"],
                self._round_source(),
                numeric=[False, True, True, True, True],
                small=True,
            )
        )

    def demographics(self) -> Section:
        t = self.t
        section = Section("demographics", t["demographics"])
        if self.survey is None:
            section.missing(
                _(
                    "No survey rounds cover this city, so the sex and age composition and the "
                    "household size of refugees and migrants are not known."
                )
            )
            return section
        survey = self.survey
        women = _value(survey.figure("sex", "female"))
        size = survey.figure("household_size", "mean")
        if women is not None and size is not None and _value(size) is not None:
            section.p(
                _(
                    "Women are {women} of respondents; households have {size} members on average "
                    "(95% CI {low} to {high})."
                ).format(
                    women=fmt.percent(women, self.lang),
                    size=fmt.number(size["estimate"], self.lang, 2),
                    low=fmt.number(size["ci_low"], self.lang, 2),
                    high=fmt.number(size["ci_high"], self.lang, 2),
                )
            )
        pyramid = survey.topic("pyramid")
        pyramid = pyramid[~pyramid["suppressed"].astype(bool)].copy()
        if pyramid.empty:
            section.missing(
                _("Every cell of the age pyramid has fewer than 10 respondents; it is not shown.")
            )
        else:
            pyramid["sex"] = pyramid["category"].str.split("|").str[0]
            pyramid["age_group"] = pyramid["category"].str.split("|").str[1]
            pyramid["sex_label"] = pyramid["sex"].map(lambda c: choice_label("sex", c))
            chart = charts.pyramid(
                pyramid, left_sex=choice_label("sex", "male"), age_order=[g[0] for g in AGE_GROUPS]
            )
            section.figure(
                Figure(charts.to_png_data_uri(chart), t["fig_pyramid"], self._round_source())
            )
        ages = survey.topic("age_group")
        ages["label"] = ages["category"]
        section.table(self._shares_table(ages, t["age_group"], t["tab_ages"], self._round_source()))
        return section

    def _indicator_name(self, code: str) -> str:
        catalogue = self.data.indicators.set_index("code")
        if code in catalogue.index:
            return str(catalogue.loc[code, "name_es" if self.lang == "es" else "name_en"])
        return code

    def _topic_label(self, topic: str, category: str) -> str:
        if topic == "need":
            return self.t["need_of"].format(need=choice_label("needs", category))
        return choice_label(topic, category)

    def rights(self) -> Section:
        t = self.t
        section = Section("rights", t["rights"])
        section.p(
            _(
                "Each right is measured where the observatory has the same indicator for refugees "
                "and migrants and for the host population; the survey adds documentation and "
                "declared needs. A positive gap means that refugees and migrants are worse off."
            )
        )
        if not self.gaps.empty:
            rows = []
            for row in self.gaps.itertuples():
                decimals = 1
                self.figures[f"gap.{row.indicator}"] = float(row.disadvantage)
                rows.append(
                    [
                        right_label(row.right),
                        self._indicator_name(row.indicator),
                        fmt.number(row.host, self.lang, decimals),
                        fmt.number(row.migrants, self.lang, decimals),
                        fmt.number(row.disadvantage, self.lang, decimals),
                        unit_label(row.unit),
                    ]
                )
            section.table(
                Table(
                    [
                        t["right"],
                        t["indicator"],
                        t["host_population"],
                        t["refugees_migrants"],
                        t["gap"],
                        t["unit"],
                    ],
                    rows,
                    t["tab_gaps"],
                    self._census_source(),
                    numeric=[False, False, True, True, True, False],
                )
            )
            shares = self.gaps[self.gaps["unit"] == "%"]
            if not shares.empty:
                long = pd.concat(
                    [
                        pd.DataFrame(
                            {
                                "label": shares["indicator"].map(self._indicator_name),
                                "group": t["host_population"],
                                "value": shares["host"],
                            }
                        ),
                        pd.DataFrame(
                            {
                                "label": shares["indicator"].map(self._indicator_name),
                                "group": t["refugees_migrants"],
                                "value": shares["migrants"],
                            }
                        ),
                    ]
                )
                chart = charts.grouped_bars(long, value_title="%")
                section.figure(
                    Figure(charts.to_png_data_uri(chart), t["fig_gaps"], self._census_source())
                )
        covered = set(self.gaps["right"]) if not self.gaps.empty else set()
        missing = [right_label(r) for r, codes in RIGHTS.items() if codes and r not in covered]
        if missing:
            section.missing(
                _(
                    "No indicators by nationality for period {period} measure: {rights}. Compute "
                    "the census indicators with the nationality disaggregation to compare migrants "
                    "and the host population."
                ).format(period=self.data.period_label, rights=", ".join(missing))
            )
        section.h3(t["documentation"])
        if self.survey is None:
            section.missing(
                _(
                    "Without survey rounds, regular status, documentation and needs "
                    "of refugees and migrants are not known."
                )
            )
            return section
        status = self.survey.topic("regular_status")
        status["label"] = status["category"].map(lambda c: choice_label("regular_status", c))
        for row in status.itertuples():
            if not row.suppressed:
                self.figures[f"hfs.{row.category}"] = 100 * float(row.estimate)
        documents = self.survey.topic("documentation")
        documents["label"] = documents["category"].map(lambda c: choice_label("documentation", c))
        none = documents[documents["category"] == "none"]
        if not none.empty and not bool(none["suppressed"].iloc[0]):
            self.figures["hfs.no_document"] = 100 * float(none["estimate"].iloc[0])
        section.table(
            self._shares_table(
                pd.concat([status, documents]),
                t["status_document"],
                t["tab_status"],
                self._round_source(),
            )
        )
        section.h3(t["needs"])
        needs = self.survey.topic("need")
        needs["label"] = needs["category"].map(lambda c: choice_label("needs", c))
        for row in needs.itertuples():
            if not row.suppressed:
                self.figures[f"hfs.need_{row.category}"] = 100 * float(row.estimate)
        figure = self._shares_chart(needs, t["fig_needs"], self._round_source())
        if figure:
            section.figure(figure)
        return section

    def marker_section(self) -> Section:
        section = Section("marker", self.t["marker"])
        add_marker_blocks(section, self)
        return section

    def governance_section(self) -> Section:
        t = self.t
        section = Section("governance", t["governance"], new_page=False)
        if self.governance is None or self.governance.empty:
            section.p(
                _(
                    "No migration governance assessment is recorded for {city}; this section "
                    "will show its strengths and gaps once one is entered."
                ).format(city=self.data.city_name)
            )
            return section
        rows = [
            [
                str(r.get("domain", "")),
                fmt.number(r.get("score"), self.lang, 0),
                str(r.get("strengths", "")),
                str(r.get("gaps", "")),
            ]
            for r in self.governance.to_dict("records")
        ]
        section.table(
            Table(
                [t["domain"], t["score"], t["strengths"], t["gaps"]],
                rows,
                t["tab_governance"],
                t["governance_source"],
                numeric=[False, True, False, False],
            )
        )
        return section

    def recommendations_section(self) -> Section:
        t = self.t
        section = Section("recommendations", t["recommendations"])
        self.recommendations, self.unjudged = recommend(self.figures, self.recommendations_path)
        if not self.recommendations:
            section.missing(
                _(
                    "No recommendation rule applies to the figures of this city; "
                    "review the rule catalogue or write recommendations by hand."
                )
            )
            return section
        section.p(
            _(
                "Recommendations follow from the figures above through the observatory's "
                "rule catalogue, reviewed by the analyst before publication."
            )
        )
        section.items(
            [(t["priority_" + r.priority], r.text(self.lang)) for r in self.recommendations]
        )
        return section

    def methods(self, annex_name: str) -> Section:
        t = self.t
        section = Section("methods", t["methods"])
        if self.survey is not None:
            section.p(
                _(
                    "Survey figures are design-based estimates with the rounds' expansion weights "
                    "and strata; standard errors use Taylor linearisation and intervals are 95%. "
                    "Changes between rounds are tested as differences of independent estimates. "
                    "Any figure resting on fewer than 10 respondents is suppressed, together with "
                    "a second cell when one alone would reveal it."
                )
            )
        if self.marker is not None:
            run = self.marker.run
            section.p(
                _(
                    "Urban Inclusion Marker run {id}: spec {spec} (hash {hash}), software "
                    "{version}, seed {seed}. Area scores are means over the units of the run, "
                    "weighted by population where it is recorded."
                ).format(
                    id=run["id"],
                    spec=run["spec_code"],
                    hash=str(run["spec_hash"])[:12],
                    version=run["software_version"],
                    seed="–" if run["seed"] is None else run["seed"],
                )
            )
        if self.unjudged:
            section.note(
                _("Recommendation rules not evaluated for lack of data: {rules}.").format(
                    rules=", ".join(self.unjudged)
                )
            )
        section.p(
            _("Every figure of this report is in the data annex {file}.").format(file=annex_name)
        )
        return section

    def annex_tables(self) -> dict[str, pd.DataFrame]:
        annex = dict(self.annex)
        if self.survey is not None:
            annex["hfs_figures"] = self.survey.summary
            annex["hfs_trends"] = self.survey.trends()
        annex["rights_gaps"] = self.gaps
        if self.marker is not None:
            columns = ["code", "name", "score", "level", "rank", *self.marker.areas]
            units = pd.DataFrame(self.marker.units[columns])
            # withheld scores are already empty; the note says why, not "no data"
            withheld = [
                [a for a in [self.marker.root, *self.marker.areas] if row[f"withheld_{a}"]]
                for row in self.marker.units.to_dict("records")
            ]
            units["note"] = [f"{withheld_text()}: {', '.join(w)}" if w else "" for w in withheld]
            annex["marker_units"] = units
        annex["recommendations"] = pd.DataFrame(
            [(r.id, r.topic, r.priority, r.text_es, r.text_en) for r in self.recommendations],
            columns=["id", "topic", "priority", "text_es", "text_en"],
        )
        return annex


def add_marker_blocks(section: Section, builder: ProfileBuilder, weakest: int = 10) -> None:
    """City score, level map, area scores and the weakest units (shared with other reports)."""
    t = builder.t
    view = builder.marker
    lang = builder.lang
    if view is None:
        section.missing(
            _(
                "The Urban Inclusion Marker has not been computed for {city} in period {period}: "
                "there is no map, no area scores and no ranking. Run the marker for this period "
                "and build the report again."
            ).format(city=builder.data.city_name, period=builder.data.period_label)
        )
        return
    score = view.city_score
    level = view.level_of(score)
    weak = view.weak_share()
    if score is not None:
        builder.figures["marker.city_score"] = score
    if weak is not None:
        builder.figures["marker.weak_share"] = 100 * weak
    level_name = builder.data.units.loc[
        builder.data.units["unit_id"].isin(view.units["unit_id"]),
        "level_name_es" if lang == "es" else "level_name_en",
    ]
    unit_word = level_name.iloc[0] if len(level_name) and level_name.iloc[0] else t["units"]
    shown = int(view.units["level"].notna().sum())
    sentence = (
        _(
            "The city scores {score} out of 100 ({level}). The marker covers {count} units "
            "({unit_word}); {weak} of them perform at a weak or very weak level."
        )
        if shown == len(view.units)
        else _(  # the share is of the units whose level is published (trial #4 F19)
            "The city scores {score} out of 100 ({level}). The marker covers {count} units "
            "({unit_word}), {shown} of them with a published level; {weak} of those perform "
            "at a weak or very weak level."
        )
    )
    section.p(
        sentence.format(
            score=fmt.number(score, lang, 1),
            level=view.level_label(level),
            count=fmt.number(len(view.units), lang),
            shown=fmt.number(shown, lang),
            unit_word=unit_word.lower(),
            weak=fmt.percent(weak, lang, 0),
        )
    )
    outline = None
    parents = builder.data.units[builder.data.units["unit_id"].isin(view.units["parent_id"])]
    if 0 < len(parents) < len(view.units):
        outline = parents
    shown_levels = view.units["level"].where(~view.units["withheld"], WITHHELD_LEVEL)
    section.figure(
        Figure(
            level_map(
                view.units.assign(level=shown_levels),
                "level",
                [*view.levels, (WITHHELD_LEVEL, withheld_text(), WITHHELD_COLOUR)],
                t["no_data"],
                outline=outline,
            ),
            t["fig_map"].format(index=view.names.get(view.root, view.root)),
            builder._marker_source(),
            wide=True,
        )
    )
    areas = view.area_means()
    for row in areas.itertuples():
        if row.score is not None:
            builder.figures[f"marker.{row.code}"] = row.score
    shown = areas.dropna(subset=["score"]).copy()
    if not shown.empty:
        shown["colour"] = shown["level"].map(view.level_colour)
        chart = charts.area_scores(shown)
        section.figure(
            Figure(charts.to_png_data_uri(chart), t["fig_areas"], builder._marker_source())
        )
    ranked = view.units.dropna(subset=["score"]).sort_values("score").head(weakest)
    has_interval = view.rank_low is not None
    columns = [t["rank"], t["unit"], t["score"], t["level"]]
    if has_interval:
        columns.append(t["rank_interval"])
    rows = []
    for row in ranked.itertuples():
        cells = [
            fmt.number(row.rank, lang),
            f"{row.name} ({row.code})",
            fmt.number(row.score, lang, 1),
            view.level_label(row.level),
        ]
        if view.rank_low is not None and view.rank_high is not None:
            low = view.rank_low.get(row.Index)
            high = view.rank_high.get(row.Index)
            cells.append(
                "–" if pd.isna(low) else f"{fmt.number(low, lang)}–{fmt.number(high, lang)}"
            )
        rows.append(cells)
    published = published_count(view)
    caption = t["tab_weakest"].format(count=len(ranked), total=fmt.number(published, lang))
    withheld = int(view.units["withheld"].sum())
    if not has_interval and not builder.intervals_withheld:
        caption += " " + t["no_rank_interval"]
    if withheld:
        caption += " " + withheld_note(withheld, lang, builder.intervals_withheld)
    section.table(
        Table(
            columns,
            rows,
            caption,
            builder._marker_source(),
            numeric=[True, False, True, False, True][: len(columns)],
        )
    )


def withheld_note(count: int, lang: str, intervals: bool = False) -> str:
    """The sentence under a ranking when some units' index is withheld (and why the run's
    rank intervals, computed among every unit, are not shown)."""
    note = _(
        "Units whose index is withheld for confidentiality (it would reveal small groups of "
        "people): {count}. They are not ranked, and ranks count published units only."
    ).format(count=fmt.number(count, lang))
    if intervals:
        note += " " + _(
            "Rank intervals are not shown: the run computed them among every unit, "
            "withheld ones included."
        )
    return note


def build_profile(
    data: CityData,
    language: str,
    hfs: pd.DataFrame | None = None,
    recommendations: str | None = None,
    governance: pd.DataFrame | None = None,
    rank_intervals: pd.DataFrame | None = None,
    annex_name: str = "annex.xlsx",
    today: date | None = None,
) -> Built:
    """The Human Mobility Profile as a document, its annex tables and section timings."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    builder = ProfileBuilder(data, language, hfs, recommendations, governance, rank_intervals)
    timings["data"] = time.perf_counter() - started
    t = builder.t
    sections = []
    order = [
        ("context", builder.context),
        ("demographics", builder.demographics),
        ("rights", builder.rights),
        ("marker", builder.marker_section),
        ("governance", builder.governance_section),
    ]
    for name, make in order:
        started = time.perf_counter()
        sections.append(make())
        timings[name] = time.perf_counter() - started
    started = time.perf_counter()
    summary = builder.summary()  # after the others: it reads their figures
    timings["summary"] = time.perf_counter() - started
    started = time.perf_counter()
    sections.append(builder.recommendations_section())
    sections.append(builder.methods(annex_name))
    timings["recommendations"] = time.perf_counter() - started
    document = Document(
        kind="profile",
        language=language,
        title=t["profile_title"],
        subtitle=data.city_name,
        city_name=data.city_name,
        period_label=data.period_label,
        generated=(today or date.today()).isoformat(),
        synthetic=data.is_synthetic,
        labels=t,
        sections=[summary, *sections],
    )
    if builder.survey is not None:
        document.cover_lines.append(
            t["cover_rounds"].format(rounds=", ".join(r[0] for r in builder.survey.rounds))
        )
    return Built(document, builder.annex_tables(), builder.recommendations, timings)
