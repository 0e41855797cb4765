"""The programme's results read for donors and the public: the public programme pages and
the donor report "Programme results" (PDF/HTML, es/en) share one reading of the store.

Figures come from :mod:`inclusive_cities.monitoring` (results against targets, computed
indicators live from the store, disclosure control already applied); nothing is recomputed
here, only laid out::

    from inclusive_cities.reports import programme_report as pr
    view = pr.programme_view(engine, "es")
    view.headline[0].actual, view.have_lines[0].text
    pr.programme_report(engine, "programa.pdf", language="es")
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from inclusive_cities.i18n import current_language, format_number, use_language
from inclusive_cities.i18n import gettext as _
from inclusive_cities.reports.document import Document, Figure, KeyFigure, Section, Table
from inclusive_cities.reports.errors import ReportError

MET_COLOUR = "#1a7f5a"
TRACK_COLOUR = "#2f7fc1"
BEHIND_COLOUR = "#d08a1e"
ON_TRACK_SHARE = 0.5
"""A result at half its target or more is "on track"; below, "behind" (the colour of its bar)."""


def number_text(value: float | None, unit: str, language: str) -> str:
    """A figure in the reader's language, with its percent sign when it is a share."""
    if value is None:
        return "—"
    digits = 0 if float(value).is_integer() else 1
    text = format_number(value, digits, language)
    return f"{text} %" if unit in ("%", "percentage") else text


@dataclass(frozen=True)
class ResultRow:
    """One indicator's baseline, target and actual for a place and period."""

    code: str
    name: str
    unit: str
    computed: bool
    period: str
    baseline: float | None
    target: float | None
    actual: float | None
    suppressed: bool = False
    language: str = "es"
    live: int = 0
    """Cities whose figure behind this one is computed from the store (the rest typed in)."""
    reported: int = 0

    @property
    def live_text(self) -> str:
        """ "live" when every figure behind this one is computed from the store, the split
        when only some are ("1 live + 5 reported"), else nothing."""
        if self.computed:
            return _("live", self.language)
        if not self.live:
            return ""
        return _("{live} live + {reported} reported", self.language).format(
            live=format_number(self.live, 0, self.language),
            reported=format_number(self.reported, 0, self.language),
        )

    @property
    def live_title(self) -> str:
        """What the split says, for the badge's tooltip."""
        return _(
            "Some cities' figures are computed from the observatory's own records; the others "
            "are reported by the programme's teams",
            self.language,
        )

    @property
    def progress(self) -> float | None:
        """Share of the target reached (actual / target), None without both."""
        if self.actual is None or not self.target:
            return None
        return self.actual / self.target

    @property
    def percent_shown(self) -> int:
        """Width of the bar: the share of the target reached, 0-100 (a bar never overflows)."""
        share = self.progress
        return 0 if share is None else max(0, min(100, round(100 * share)))

    @property
    def status(self) -> str:
        share = self.progress
        if share is None:
            return "none"
        if share >= 1:
            return "met"
        return "on-track" if share >= ON_TRACK_SHARE else "behind"

    @property
    def actual_text(self) -> str:
        return number_text(self.actual, self.unit, self.language)

    @property
    def target_text(self) -> str:
        return number_text(self.target, self.unit, self.language)

    @property
    def baseline_text(self) -> str:
        return number_text(self.baseline, self.unit, self.language)

    @property
    def progress_text(self) -> str:
        share = self.progress
        if self.actual is None:
            return _("no result yet", self.language)
        if share is None:
            return _("no target set", self.language)
        return _("{percent} % of the target", self.language).format(
            percent=format_number(100 * share, 0, self.language)
        )


@dataclass(frozen=True)
class HaveLine:
    """ "n of m target cities have a …", generated from the store."""

    code: str
    text: str
    n: int
    m: int


@dataclass
class TargetCityView:
    key: str
    name: str
    country: str
    country_name: str
    longitude: float | None
    latitude: float | None
    city_code: str | None
    results: list[ResultRow] = field(default_factory=list)


@dataclass
class CountryView:
    code: str
    name: str
    cities: list[TargetCityView]
    results: list[ResultRow]


@dataclass(frozen=True)
class Knowledge:
    """The share of trained people reporting improved knowledge, with its 95 % interval."""

    share: float
    low: float
    high: float
    n: int
    method: str
    language: str = "es"

    @property
    def share_text(self) -> str:
        return f"{format_number(100 * self.share, 0, self.language)} %"

    @property
    def ci_text(self) -> str:
        return _(
            "95 % interval {low}–{high} %, {n} people assessed ({method})", self.language
        ).format(
            low=format_number(100 * self.low, 0, self.language),
            high=format_number(100 * self.high, 0, self.language),
            n=format_number(self.n, 0, self.language),
            method=self.method,
        )


@dataclass(frozen=True)
class StageCount:
    stage: str
    label: str
    count: int


@dataclass
class ProgrammeView:
    """Everything the public programme page and the donor report show."""

    code: str
    name: str
    period: str
    cities: list[TargetCityView]
    headline: list[ResultRow]
    countries: list[CountryView]
    have_lines: list[HaveLine]
    knowledge: Knowledge | None = None
    policies: list[StageCount] = field(default_factory=list)
    centres: int | None = None
    synthetic: bool = False
    network: Any = None
    """The centres network (:class:`CentresView`) for the report's tables."""
    periods: list[str] = field(default_factory=list)
    """Every period with values, for the page's chooser."""


@dataclass
class CityView:
    """One target city's page: latest results, results by period, what was delivered."""

    programme_name: str
    target: TargetCityView
    latest: list[ResultRow]
    history: list[ResultRow]
    deliveries: list[dict[str, Any]] = field(default_factory=list)


def _progress_frame(rows: list[ResultRow]) -> list[dict[str, Any]]:
    return [
        {
            "indicator": r.name,
            "period": r.period,
            "percent": round(100 * r.progress, 1),
            "actual": r.actual_text,
            "target": r.target_text,
        }
        for r in rows
        if r.progress is not None and not r.suppressed
    ]


def trend_chart(history: list[ResultRow], language: str) -> Any:
    """Each indicator's result as a share of its target, period by period (indicators have
    different units, so the share of the target is what can share one axis)."""
    import altair as alt
    import pandas as pd

    points = _progress_frame(history)
    periods: dict[str, set[str]] = {}
    for point in points:
        periods.setdefault(point["indicator"], set()).add(point["period"])
    # a line needs two periods: an indicator measured once has no course to show
    points = [p for p in points if len(periods[p["indicator"]]) >= 2]
    if not points:
        return None
    frame = pd.DataFrame(points)
    top = max(110.0, float(frame["percent"].max()) + 10)
    lines = (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=70), strokeWidth=2.5)
        .encode(
            x=alt.X("period:O", title=_("Period"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                "percent:Q",
                title=_("% of the target reached"),
                scale=alt.Scale(domain=[0, top]),
            ),
            color=alt.Color(
                "indicator:N",
                title=_("Indicator"),
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=360),
            ),
            tooltip=[
                alt.Tooltip("indicator:N", title=_("Indicator")),
                alt.Tooltip("period:O", title=_("Period")),
                alt.Tooltip("actual:N", title=_("Result")),
                alt.Tooltip("target:N", title=_("Target value")),
                alt.Tooltip("percent:Q", title="%", format=".0f"),
            ],
        )
    )
    goal = (
        alt.Chart(pd.DataFrame({"y": [100]}))
        .mark_rule(strokeDash=[6, 4], color="#1a7f5a")
        .encode(y="y:Q")
    )
    return alt.layer(goal, lines).properties(width="container", height=280)


def progress_chart(rows: list[ResultRow], language: str) -> Any:
    """Results against targets as horizontal bars (a full bar: target met), for the PDF."""
    import altair as alt
    import pandas as pd

    data = [
        {
            "indicator": r.name if len(r.name) <= 60 else r.name[:57] + "…",
            "percent": min(100.0, 100 * (r.progress or 0)),
            "label": f"{r.actual_text} / {r.target_text}",
            "colour": {"met": MET_COLOUR, "on-track": TRACK_COLOUR}.get(r.status, BEHIND_COLOUR),
        }
        for r in rows
        if r.progress is not None and not r.suppressed
    ]
    if not data:
        return None
    frame = pd.DataFrame(data)
    order = list(frame["indicator"])
    base = alt.Chart(frame).encode(
        y=alt.Y("indicator:N", sort=order, title=None, axis=alt.Axis(labelLimit=330))
    )
    back = (
        base.mark_bar(color="#e7ebef", size=16)
        .encode(x=alt.X("full:Q"))
        .transform_calculate(full="100")
    )
    bars = base.mark_bar(size=16).encode(
        x=alt.X("percent:Q", title=_("% of the target reached"), scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("colour:N", scale=None),
    )
    text = base.mark_text(align="left", dx=4, fontSize=11).encode(x=alt.value(505), text="label:N")
    return alt.layer(back, bars, text).properties(width=500, height=26 * len(data))


def _result_table(rows: list[ResultRow], caption: str, source: str) -> Table:
    return Table(
        [_("Indicator"), _("Baseline"), _("Target value"), _("Result"), _("Progress")],
        [
            [
                r.name + (" ●" if r.computed else f" (● {r.live_text})" if r.live else ""),
                r.baseline_text,
                r.target_text,
                _("withheld") if r.suppressed else r.actual_text,
                "" if r.suppressed else r.progress_text,
            ]
            for r in rows
        ],
        caption,
        source,
        [False, True, True, True, True],
    )


def build_document(view: ProgrammeView, language: str, today: date | None = None) -> Document:
    """The donor report as sections of blocks (the shared report template lays it out)."""
    from inclusive_cities.charts import to_png_data_uri
    from inclusive_cities.reports.labels import labels

    t = dict(labels())
    t["period"] = _("Period")
    source = _("{programme}, results reported up to {period}; ● computed from the store").format(
        programme=view.name, period=view.period or "—"
    )
    doc = Document(
        kind="programme",
        language=language,
        title=_("Programme results"),
        subtitle=view.name,
        city_name=view.name,
        period_label=view.period or "—",
        generated=(today or date.today()).isoformat(),
        synthetic=view.synthetic,
        labels=t,
        cover_lines=[
            _("{m} target cities in {c} countries").format(
                m=len(view.cities), c=len(view.countries)
            )
        ],
    )
    summary = Section("summary", t["summary"], new_page=True)
    if view.synthetic:
        summary.note(t["synthetic_note"])
    summary.p(
        _(
            "This report sets the results of {programme} against the targets agreed with its "
            "donors, for the programme as a whole, by country and by city. Figures marked ● are "
            "computed from the observatory's own records (published marker runs and profiles, "
            "workshops, trainings, policies, centres) at the time of writing; the others are "
            "reported by the programme's teams."
        ).format(programme=view.name)
    )
    met = sum(1 for r in view.headline if r.status == "met")
    figures = [
        KeyFigure(_("Target cities"), str(len(view.cities))),
        KeyFigure(_("Countries"), str(len(view.countries))),
        KeyFigure(
            _("Targets met"),
            _("{met} of {total}").format(met=met, total=sum(1 for r in view.headline if r.target)),
        ),
    ]
    if view.knowledge is not None:
        figures.append(
            KeyFigure(
                _("Improved knowledge after training"),
                view.knowledge.share_text,
                view.knowledge.ci_text,
            )
        )
    if view.centres is not None:
        figures.append(KeyFigure(_("Centres in the network"), str(view.centres)))
    summary.key_figures(figures)
    if view.have_lines:
        live = {r.code: r for r in view.headline}
        summary.items(
            [
                (
                    "●" if live[line.code].computed else "–",
                    f"{line.n} / {line.m} — {line.text}"
                    + (
                        f" ({live[line.code].live_text})"
                        if live[line.code].live and not live[line.code].computed
                        else ""
                    ),
                )
                for line in view.have_lines
            ]
        )
    doc.sections.append(summary)

    results = Section("results", _("Results against targets"), new_page=True)
    chart = progress_chart(view.headline, language)
    if chart is not None:
        results.figure(
            Figure(to_png_data_uri(chart), _("Share of each target reached"), source, wide=True)
        )
    if view.headline:
        results.table(_result_table(view.headline, _("The whole programme."), source))
    else:
        results.missing(_("No results have been recorded yet."))
    doc.sections.append(results)

    countries = Section("countries", _("By country"), new_page=True)
    for country in view.countries:
        countries.h3(country.name)
        if country.results:
            countries.table(
                _result_table(
                    country.results,
                    _("Cities: {names}.").format(names=", ".join(c.name for c in country.cities)),
                    source,
                )
            )
        else:
            countries.p(_("No results recorded for this country yet."))
    doc.sections.append(countries)

    cities = Section("cities", _("By city"), new_page=True)
    for city in view.cities:
        cities.h3(f"{city.name} ({city.country_name})")
        if city.results:
            cities.table(_result_table(city.results, city.name, source))
        else:
            cities.p(_("No results have been recorded for this city yet."))
    doc.sections.append(cities)

    deliveries = Section("deliveries", _("What the programme delivers"), new_page=True)
    if view.knowledge is not None:
        deliveries.h3(_("Trainings"))
        deliveries.p(
            _(
                "{share} of the trained people assessed before and after reported improved "
                "knowledge: {ci}. The interval says how far the share could be from the one "
                "of everybody trained, given how many were assessed."
            ).format(share=view.knowledge.share_text, ci=view.knowledge.ci_text)
        )
    if view.policies:
        deliveries.h3(_("Policies and local instruments supported"))
        deliveries.table(
            Table(
                [_("Stage"), _("Policies and instruments")],
                [[p.label, str(p.count)] for p in view.policies],
                _("Policies and local instruments supported, by stage."),
                source,
                [False, True],
            )
        )
    if view.centres is not None:
        deliveries.h3(_("The centres network"))
        deliveries.p(
            _(
                "{count} Social Integration and Habitat Co-creation Centres are active in the "
                "network and share its principles declaration."
            ).format(count=view.centres)
        )
        network = view.network
        if network is not None and network.centres:
            by_country: dict[str, list[dict[str, str]]] = {}
            for centre in network.centres:
                by_country.setdefault(centre["country"], []).append(centre)
            deliveries.table(
                Table(
                    [_("Country"), _("Centres"), _("Cities")],
                    [
                        [
                            country,
                            str(len(rows)),
                            ", ".join(sorted({r["city"] for r in rows if r["city"]})),
                        ]
                        for country, rows in sorted(by_country.items())
                    ],
                    _("Centres of the network by country (all statuses)."),
                    source,
                    [False, True, False],
                )
            )
        if network is not None and network.principles:
            deliveries.table(
                Table(
                    [_("Principle"), _("Centres scoring 3 or 4 of 4"), _("Share of centres")],
                    [
                        [
                            p.name,
                            _("{met} of {total}").format(met=p.met, total=p.total),
                            p.percent_text,
                        ]
                        for p in network.principles
                    ],
                    _("The principles declaration: the centres' own self-assessment."),
                    source,
                    [False, True, True],
                )
            )
    if view.knowledge is None and not view.policies and view.centres is None:
        deliveries.missing(_("No trainings, policies or centres have been recorded yet."))
    doc.sections.append(deliveries)

    method = Section("method", _("How the figures are made"), new_page=False)
    method.p(
        _(
            "Progress is the result divided by the target. A country's and the programme's "
            "figures come from their cities' figures as each indicator says (a sum, a count of "
            "cities, a mean). Counts of people pass disclosure control before publication: a "
            "count below 10 is hidden, with whatever would give it back."
        )
    )
    method.p(source)
    doc.sections.append(method)
    return doc


@dataclass
class ProgrammeReport:
    """What was written and how long each step took (seconds)."""

    path: Path
    pages: int | None
    timings: dict[str, float] = field(default_factory=dict)


def render_programme_html(engine: Engine, language: str = "es") -> str:
    """The report as one self-contained HTML page (the web app serves it)."""
    from inclusive_cities.reports.render import to_html

    previous = current_language()
    chosen = use_language(language)
    try:
        return to_html(build_document(programme_view(engine, chosen), chosen))
    finally:
        use_language(previous)


def programme_report(engine: Engine, out: str | Path, language: str = "es") -> ProgrammeReport:
    """Write the donor report to ``out`` (PDF or HTML by its extension)."""
    from inclusive_cities.reports.render import to_pdf

    out = Path(out)
    if out.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise ReportError(
            _("The output file must end in .pdf or .html, not '{name}'.").format(name=out.name)
        )
    started = time.perf_counter()
    page = render_programme_html(engine, language)
    timings = {"html": time.perf_counter() - started}
    if out.suffix.lower() == ".pdf":
        started = time.perf_counter()
        pages = to_pdf(page, out)
        timings["pdf"] = time.perf_counter() - started
        return ProgrammeReport(out, pages, timings)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        raise ReportError(str(error)) from None
    return ProgrammeReport(out, None, timings)


# -- reading the monitoring domain -----------------------------------------------------------

PROGRAMME = "inclusive_cities"
"""The programme the pages and the report show (the store holds one in practice)."""


AMERICAS_ALPHA2 = {
    "ARG": "AR",
    "BOL": "BO",
    "BRA": "BR",
    "CHL": "CL",
    "COL": "CO",
    "CRI": "CR",
    "CUB": "CU",
    "DOM": "DO",
    "ECU": "EC",
    "GTM": "GT",
    "GUY": "GY",
    "HND": "HN",
    "HTI": "HT",
    "JAM": "JM",
    "MEX": "MX",
    "NIC": "NI",
    "PAN": "PA",
    "PER": "PE",
    "PRY": "PY",
    "SLV": "SV",
    "SUR": "SR",
    "TTO": "TT",
    "URY": "UY",
    "VEN": "VE",
    "USA": "US",
    "CAN": "CA",
    "BLZ": "BZ",
    "ABW": "AW",
    "CUW": "CW",
}
"""ISO 3166 alpha-3 to alpha-2 for the region the programme works in (Babel names countries
by alpha-2), so a country the observatory's own table lacks still reads as a name."""


def country_name(code: str, language: str) -> str:
    """A country's name in the reader's language (ISO 3166 alpha-3 code in, name out)."""
    from babel import Locale

    from inclusive_cities.reports.governance_report import country_label

    if not code:
        return "—"
    name = country_label(code, language)
    if name == code and code.upper() in AMERICAS_ALPHA2:
        found = Locale(language).territories.get(AMERICAS_ALPHA2[code.upper()])
        return str(found) if found else code
    return name


def _have_lines(rep: Any, headline: list[ResultRow]) -> list[HaveLine]:
    """ "n of m target cities have …": the indicators that count cities, with the programme's
    figure (computed from the store where the indicator is live) over its target cities."""
    counted = {i.code for i in rep.indicators if i.aggregation == "count_cities"}
    return [
        HaveLine(r.code, r.name, int(r.actual), len(rep.cities))
        for r in headline
        if r.code in counted and r.actual is not None
    ]


def _rows(rows: list[Any], names: dict[str, Any], language: str) -> list[ResultRow]:
    """The monitoring domain's rows with names, leaving out indicators with nothing to show
    yet (no target, no result) for that place and period."""
    out = []
    for row in rows:
        empty = row.actual is None and row.target is None and row.baseline is None
        if empty and not row.withheld:
            continue
        info = names.get(row.indicator)
        out.append(
            ResultRow(
                code=row.indicator,
                name=info.name if info is not None else row.indicator,
                unit=(info.unit if info is not None else "")
                or ("%" if info is not None and info.measure == "percentage" else ""),
                computed=bool(row.computed),
                period=row.period,
                baseline=row.baseline,
                target=row.target,
                actual=None if row.withheld else row.actual,
                suppressed=bool(row.withheld),
                language=language,
                live=int(getattr(row, "live", 0)),
                reported=int(getattr(row, "reported", 0)),
            )
        )
    return out


def _results(engine: Engine, language: str, period: str | None = None) -> Any:
    from inclusive_cities import monitoring

    try:
        return monitoring.results(engine, programme=PROGRAMME, period=period, lang=language)
    except monitoring.MonitoringError as error:
        raise ReportError(str(error)) from None


def _small_count_hidden(count: int | None) -> bool:
    """A count of people below the disclosure threshold is not published (0 names nobody)."""
    from inclusive_cities.disclosure import Rules, control_enabled

    return count is not None and 0 < count < Rules().threshold and control_enabled()


def _knowledge(
    engine: Engine, language: str, rep: Any, target_city_id: int | None = None
) -> Knowledge | None:
    from inclusive_cities.monitoring.results import published_knowledge

    # published only where the people assessed over all periods are (protected with every
    # period, country and the programme, trial #3 F5): never read raw here
    found = published_knowledge(engine, rep).get(target_city_id)
    if found is None or found.share is None or found.low is None or found.high is None:
        return None
    return Knowledge(
        found.share, found.low, found.high, found.assessed, _method(found, language), language
    )


def _method(found: Any, language: str) -> str:
    """How the interval was made, in words a donor reads."""
    if found.method == "wilson-design-effect":
        return _(
            "Wilson interval widened for {sessions} sessions (design effect {deff})", language
        ).format(sessions=found.sessions, deff=format_number(found.design_effect, 2, language))
    return str(found.method)


def _policies(engine: Engine, language: str) -> list[StageCount]:
    from inclusive_cities.monitoring import policies

    counts = policies.policies_by_stage(engine)
    order = ["proposed", "drafted", "adopted"]
    stages = sorted(counts, key=lambda s: (order.index(s) if s in order else len(order), s))
    return [
        StageCount(s, policies.stage_label(s, language), int(counts[s]))
        for s in stages
        if counts[s]
    ]


def _target(city: Any, language: str) -> TargetCityView:
    return TargetCityView(
        key=city.code,
        name=city.name,
        country=city.country,
        country_name=country_name(city.country, language),
        longitude=city.longitude,
        latitude=city.latitude,
        city_code=city.store_city,
    )


def _latest(rows: list[ResultRow]) -> list[ResultRow]:
    """Each indicator's row of its latest period with a figure."""
    latest: dict[str, ResultRow] = {}
    for row in sorted(rows, key=lambda r: r.period):
        if row.actual is not None or row.target is not None or row.suppressed:
            latest[row.code] = row
    order = {r.code: i for i, r in enumerate(rows)}
    return sorted(latest.values(), key=lambda r: order[r.code])


def programme_view(engine: Engine, language: str, period: str | None = None) -> ProgrammeView:
    """The programme across its target cities, as the page and report show it: in ``period``,
    else in the period most of its indicators and cities last reported for."""
    from inclusive_cities.monitoring import centres as centre_records

    rep = _results(engine, language, period)
    names = {i.code: i for i in rep.indicators}
    cities = [_target(c, language) for c in rep.cities]
    by_city: dict[str, list[Any]] = {}
    for row in rep.city_rows:
        by_city.setdefault(row.city, []).append(row)
    for city in cities:
        city.results = _rows(by_city.get(city.key, []), names, language)
    countries = []
    for code in sorted({c.country for c in cities}, key=lambda c: country_name(c, language)):
        countries.append(
            CountryView(
                code=code,
                name=country_name(code, language),
                cities=sorted([c for c in cities if c.country == code], key=lambda c: c.name),
                results=_rows([r for r in rep.by_country if r.country == code], names, language),
            )
        )
    synthetic = _synthetic(engine, [c.city_code for c in cities if c.city_code])
    headline = _rows(rep.headline, names, language)
    return ProgrammeView(
        code=rep.programme.code,
        name=rep.programme.name,
        period=rep.period,
        periods=list(rep.periods),
        cities=cities,
        headline=headline,
        countries=countries,
        have_lines=_have_lines(rep, headline),
        knowledge=_knowledge(engine, language, rep),
        policies=_policies(engine, language),
        centres=centre_records.centres_in_network(engine),
        synthetic=synthetic,
        network=centres_view(engine, language, rep.programme.name),
    )


def _synthetic(engine: Engine, codes: list[str]) -> bool:
    """Whether any store city of the programme is synthetic (the report then says so)."""
    from sqlalchemy import select

    from inclusive_cities.store import models

    if not codes:
        return False
    with engine.connect() as connection:
        flags = connection.execute(
            select(models.City.is_synthetic).where(models.City.code.in_(codes))
        ).scalars()
        return any(flags)


def _target_city_id(engine: Engine, code: str) -> int | None:
    from sqlalchemy import select

    from inclusive_cities.store.monitoring_models import Programme, TargetCity

    with engine.connect() as connection:
        return connection.execute(
            select(TargetCity.id)
            .join(Programme, Programme.id == TargetCity.programme_id)
            .where(Programme.code == PROGRAMME, TargetCity.code == code)
        ).scalar()


def city_view(engine: Engine, key: str, language: str) -> CityView:
    """One target city's latest results, its results over time and what was delivered there."""
    from inclusive_cities import monitoring
    from inclusive_cities.monitoring.results import ASSESSED

    rep = _results(engine, language)
    city = next((c for c in rep.cities if c.code == key), None)
    if city is None:
        raise ReportError(_("{name} is not a target city of the programme.").format(name=key[:64]))
    names = {i.code: i for i in rep.indicators}
    try:
        history = monitoring.history(engine, PROGRAMME, key, language, rep.protection)
    except monitoring.MonitoringError as error:
        raise ReportError(str(error)) from None
    rows = _rows(history, names, language)
    position = {code: i for i, code in enumerate(names)}
    deliveries: list[dict[str, Any]] = []
    target_id = _target_city_id(engine, key)
    if target_id is not None:
        for code, label in (
            ("public_servants_trained", _("Public servants trained, all periods")),
            ("community_trained", _("Community members trained, all periods")),
        ):
            # protected with the periods it sums (issue F5): never read raw here
            total = next(
                (r for r in rep.all_periods if r.indicator == code and r.city == key), None
            )
            if total is not None and (total.withheld or total.actual):
                deliveries.append(
                    {
                        "code": code,
                        "label": label,
                        "value": format_number(total.actual or 0, 0, language),
                        "suppressed": total.withheld,
                        "note": "",
                    }
                )
        knowledge = _knowledge(engine, language, rep, target_id)
        assessed = next(
            (r for r in rep.all_periods if r.indicator == ASSESSED and r.city == key), None
        )
        if knowledge is not None or (assessed is not None and assessed.withheld):
            deliveries.append(
                {
                    "code": "improved_knowledge",
                    "label": _("Trained people reporting improved knowledge"),
                    "value": knowledge.share_text if knowledge else "",
                    "suppressed": knowledge is None,
                    "note": knowledge.ci_text if knowledge else "",
                }
            )
    return CityView(
        programme_name=rep.programme.name,
        target=_target(city, language),
        latest=_latest(rows),
        history=sorted(rows, key=lambda r: (position.get(r.code, len(position)), r.period)),
        deliveries=deliveries,
    )


@dataclass(frozen=True)
class PrincipleShare:
    code: str
    name: str
    met: int
    total: int
    language: str = "es"

    @property
    def percent(self) -> int:
        return round(100 * self.met / self.total) if self.total else 0

    @property
    def percent_text(self) -> str:
        return f"{format_number(self.percent, 0, self.language)} %"


@dataclass
class CentresView:
    programme_name: str
    centres: list[dict[str, str]]
    principles: list[PrincipleShare]
    countries: int


ADVANCED = 3
"""A principle scored 3 or 4 (of 1-4) in a centre's self-assessment counts as in place."""


def centres_view(engine: Engine, language: str, name: str | None = None) -> CentresView:
    """The centres network for the public: every centre (a public place, no people) and, per
    principle of the declaration, how many centres score it 3 or 4 of 4 in their own
    self-assessment."""
    from inclusive_cities.monitoring import centres as centre_records
    from inclusive_cities.store.delivery_models import PRINCIPLES

    records = centre_records.list_centres(engine)
    if name is None:
        try:
            name = _results(engine, language).programme.name
        except ReportError:
            name = _("Programme")
    rows = [
        {
            "code": r.code,
            "name": r.name,
            "city": r.city,
            "country": country_name(r.country, language),
            "services": ", ".join(r.services),
            "status": centre_records.status_label(r.status, language),
            "status_code": r.status,
        }
        for r in records
    ]
    principles = []
    for code in PRINCIPLES:
        scores = [r.principles[code] for r in records if code in r.principles]
        if scores:
            principles.append(
                PrincipleShare(
                    code,
                    centre_records.principle_label(code, language),
                    sum(1 for score in scores if score >= ADVANCED),
                    len(scores),
                    language,
                )
            )
    return CentresView(
        programme_name=name,
        centres=sorted(rows, key=lambda r: (r["country"], r["city"], r["name"])),
        principles=principles,
        countries=len({r.country for r in records}),
    )
