"""Results against targets per target city, country and for the whole programme.

Computed indicators are queried live; typed ones come from the values staff entered. The
"n of m target cities have ..." lines are generated here from the same rows, and counts of
people pass disclosure control (:mod:`inclusive_cities.monitoring.protect`) before they are
returned, so every page, report and export that uses this module publishes protected figures.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _
from inclusive_cities.monitoring.errors import MonitoringError
from inclusive_cities.monitoring.framework import DEFAULT_PROGRAMME
from inclusive_cities.monitoring.periods import Window, enclosing, rolled_up, window
from inclusive_cities.monitoring.protect import (
    ALL_PERIODS,
    PeopleTable,
    is_people,
    read_breakdowns,
    withheld_cells,
    withheld_programme_cells,
)
from inclusive_cities.monitoring.registry import (
    computed_indicator,
    is_registered,
    programme_level,
)
from inclusive_cities.monitoring.trainings import KnowledgeEstimate, improved_knowledge
from inclusive_cities.monitoring.values import get_programme, typed_actual_allowed
from inclusive_cities.store import models, transaction
from inclusive_cities.store.models import TOTAL
from inclusive_cities.store.monitoring_models import (
    IndicatorValue,
    ProgrammeIndicator,
    ResultNode,
    TargetCity,
)


@dataclass(frozen=True)
class ProgrammeInfo:
    code: str
    name: str
    reporting_org: str
    start_date: str
    end_date: str
    iati_identifier: str = ""
    reporting_org_ref: str = ""


@dataclass(frozen=True)
class IndicatorInfo:
    code: str
    name: str
    unit: str
    measure: str
    aggregation: str
    result_code: str
    result_name: str
    outcome_code: str
    outcome_name: str
    computed: bool
    verification: str
    disaggregations: tuple[str, ...]
    sector: str


@dataclass(frozen=True)
class CityInfo:
    code: str
    name: str
    country: str
    adm1: str
    store_city: str | None
    longitude: float | None
    latitude: float | None


@dataclass(frozen=True)
class ResultRow:
    """One indicator for one city (or country, or the programme when both are empty)."""

    indicator: str
    city: str
    country: str
    period: str
    baseline: float | None
    target: float | None
    actual: float | None
    computed: bool
    """The figure is computed from the store's records: for a country or the programme, every
    city figure behind it is (``live`` and ``reported`` say how many of each there are)."""
    withheld: bool = False
    live: int = 0
    """City figures behind this one that were computed from the store's records."""
    reported: int = 0
    """City figures behind this one that the programme's teams typed in."""

    @property
    def progress(self) -> float | None:
        """Actual over target (1.0 = reached), None without both."""
        if self.actual is None or not self.target:
            return None
        return self.actual / self.target


class CoverageLine(str):
    """An "n of m target cities have ..." line: the text, with its indicator and numbers."""

    code: str
    n: int
    m: int

    def __new__(cls, text: str, code: str, n: int, m: int) -> CoverageLine:
        line = super().__new__(cls, text)
        line.code, line.n, line.m = code, n, m
        return line


@dataclass
class ProgrammeResults:
    programme: ProgrammeInfo
    period: str
    periods: list[str]
    indicators: list[IndicatorInfo]
    cities: list[CityInfo]
    city_rows: list[ResultRow] = field(default_factory=list)
    by_country: list[ResultRow] = field(default_factory=list)
    headline: list[ResultRow] = field(default_factory=list)
    lines: list[CoverageLine] = field(default_factory=list)
    all_periods: list[ResultRow] = field(default_factory=list)
    """Each city's flows of people over every period (period ``_T``), disclosure-controlled
    together with the periods (the city pages' "all periods" lines)."""
    protection: tuple[set[tuple[str, str, str, str]], list[PeopleTable]] | None = field(
        default=None, repr=False
    )

    def indicator(self, code: str) -> IndicatorInfo:
        return next(i for i in self.indicators if i.code == code)

    def row(self, indicator: str, city: str = "", country: str = "") -> ResultRow:
        rows = self.city_rows if city else self.by_country if country else self.headline
        return next(
            r for r in rows if r.indicator == indicator and r.city == city and r.country == country
        )


def _lang_name(obj: object, lang: str) -> str:
    es, en = getattr(obj, "name_es", ""), getattr(obj, "name_en", "")
    return (es or en) if lang == "es" else (en or es)


@dataclass
class _Loaded:
    indicators: list[ProgrammeIndicator]
    cities: list[TargetCity]
    values: dict[tuple[int, int, str, str], float]
    periods: list[str]
    series: dict[tuple[int, int, str], dict[str, float]] = field(default_factory=dict)
    """(indicator, city, kind) -> period -> value: what :func:`rolled_up` reads."""


def _load(session: Session, programme_id: int) -> _Loaded:
    indicators = list(
        session.scalars(
            select(ProgrammeIndicator)
            .where(ProgrammeIndicator.programme_id == programme_id)
            .order_by(ProgrammeIndicator.position)
        )
    )
    cities = list(
        session.scalars(
            select(TargetCity)
            .where(TargetCity.programme_id == programme_id)
            .order_by(TargetCity.country, TargetCity.name)
        )
    )
    values: dict[tuple[int, int, str, str], float] = {}
    ids = [i.id for i in indicators]
    for row in session.scalars(
        select(IndicatorValue).where(
            IndicatorValue.indicator_id.in_(ids),
            IndicatorValue.sex == TOTAL,
            IndicatorValue.age_group == TOTAL,
            IndicatorValue.nationality == TOTAL,
            IndicatorValue.topic == TOTAL,
        )
    ):
        values[(row.indicator_id, row.target_city_id, row.kind, row.period)] = row.value
    series: dict[tuple[int, int, str], dict[str, float]] = {}
    for (ind, city, kind, period), value in values.items():
        series.setdefault((ind, city, kind), {})[period] = value
    codes = {key[3] for key in values}
    # the quarters, semesters and years a declared indicator's figures roll up to are periods
    # of their own (in the pages' choice and in the protection, which covers every period
    # at once, so a semester's sum is protected together with its months)
    declared = {i.id: i.accumulation for i in indicators if i.accumulation}
    for (ind, _city, _kind), figures in series.items():
        if ind not in declared:
            continue
        for outer in {o for code in figures for o in enclosing(code)} - codes:
            if rolled_up(figures, window(outer), declared[ind]) is not None:
                codes.add(outer)
    periods = sorted(codes, key=lambda p: (window(p).end, p))
    return _Loaded(indicators, cities, values, periods, series)


def _latest(
    values: dict[tuple[int, int, str, str], float], ind: int, city: int, kind: str, end: date
) -> float | None:
    found = [
        (window(p).end, v)
        for (i, c, k, p), v in values.items()
        if i == ind and c == city and k == kind and window(p).end <= end
    ]
    return max(found)[1] if found else None


def _target(
    values: dict[tuple[int, int, str, str], float],
    ind: int,
    city: int,
    period: str,
    loaded: _Loaded | None = None,
    accumulation: str = "",
) -> float | None:
    """The period's own target. Else, for an indicator counted per period, the sum of the
    targets that make it up (a year's is its semesters'), never a longer period's (a year's
    target against a semester's actual reads as a shortfall); for a cumulative one, the
    target of a period containing it that ends when it ends (the year's for its second
    semester); for an undeclared one, the target of the shortest period containing it."""
    exact = values.get((ind, city, "target", period))
    if exact is not None:
        return exact
    span = window(period)
    if accumulation == "per_period" and loaded is not None:
        return rolled_up(loaded.series.get((ind, city, "target"), {}), span, accumulation)
    enclosing = [
        (window(p).end - window(p).start, v)
        for (i, c, k, p), v in values.items()
        if i == ind
        and c == city
        and k == "target"
        and window(p).start <= span.start
        and window(p).end >= span.end
        and (accumulation != "cumulative" or window(p).end == span.end)
    ]
    return min(enclosing)[1] if enclosing else None


def _actual(
    session: Session,
    indicator: ProgrammeIndicator,
    city: TargetCity,
    span: Window,
    values: dict[tuple[int, int, str, str], float],
    series: dict[tuple[int, int, str], dict[str, float]] | None = None,
) -> tuple[float | None, bool]:
    if indicator.computed and is_registered(indicator.computed):
        value = computed_indicator(indicator.computed).function(session, city, span)
        if value is not None:
            return float(value), True
    if typed_actual_allowed(indicator, city):
        figures = series.get((indicator.id, city.id, "actual"), {}) if series else {}
        if not figures:
            return values.get((indicator.id, city.id, "actual", span.code)), False
        return rolled_up(figures, span, indicator.accumulation), False
    return None, bool(indicator.computed)


def _combine(aggregation: str, numbers: list[float | None]) -> float | None:
    known = [n for n in numbers if n is not None]
    if aggregation == "count_cities":
        return float(sum(1 for n in known if n >= 1)) if known else None
    if not known:
        return None
    if aggregation == "mean":
        return sum(known) / len(known)
    if aggregation == "max":
        return max(known)
    return float(sum(known))


def _aggregate(
    indicator: ProgrammeIndicator, rows: list[ResultRow], city: str, country: str
) -> ResultRow:
    agg = indicator.aggregation
    live = sum(r.live for r in rows)
    reported = sum(r.reported for r in rows)
    return ResultRow(
        indicator=indicator.code,
        city=city,
        country=country,
        period=rows[0].period if rows else "",
        baseline=_combine(agg, [r.baseline for r in rows]),
        target=_combine(agg, [r.target for r in rows]),
        actual=_combine(agg, [r.actual for r in rows]),
        computed=live > 0 and reported == 0,
        live=live,
        reported=reported,
    )


def _pooled_country(
    session: Session, span: Window, row: ResultRow, loaded: _Loaded, country: str
) -> ResultRow:
    """A country's improved-knowledge share pooled over its cities' assessed public servants,
    as the programme's is; withheld when the cities whose own share is not shown (fewer than
    the threshold assessed) hold fewer than the threshold together, since the country's
    figure less the shown cities' would then give their small group away."""
    from inclusive_cities.monitoring.delivery_indicators import improved_knowledge_share_among

    ids = [c.id for c in loaded.cities if c.country == country]
    value = improved_knowledge_share_among(session, span, ids)
    if value is not None and _few_hidden(session, span, ids):
        return replace(row, actual=None, withheld=True)
    found = value is not None
    return replace(row, actual=value, computed=found, live=int(found), reported=0)


def _few_hidden(session: Session, span: Window, ids: list[int]) -> bool:
    """Whether the cities whose own share is not shown (1-9 assessed) hold fewer than the
    threshold assessed together (a pooled share over these cities would give them away)."""
    from inclusive_cities.disclosure import Rules, control_enabled
    from inclusive_cities.monitoring.delivery_indicators import assessed_public_servants

    threshold = Rules().threshold
    small = [
        n for n in (assessed_public_servants(session, span, [i]) for i in ids) if 0 < n < threshold
    ]
    return control_enabled() and bool(small) and sum(small) < threshold


def _whole_per_cent(row: ResultRow) -> ResultRow:
    """A share of people in whole per cent, as the pages print it, for every output: with more
    digits it names its fraction (95.5556 % is 43 of 45, trial #3 F5), and its ``progress``
    against the target would carry the digits the share no longer has."""
    if row.indicator not in SHARE_OF or row.actual is None:
        return row
    return replace(row, actual=float(math.floor(row.actual + 0.5)))


def _small_share_withheld(
    session: Session, span: Window, row: ResultRow, loaded: _Loaded
) -> ResultRow:
    """A city's share over 1-9 assessed people is withheld ("reservado"), not "no result
    yet": the result exists (trial F13)."""
    from inclusive_cities.disclosure import Rules, control_enabled
    from inclusive_cities.monitoring.delivery_indicators import assessed_public_servants

    pooled = {i.code for i in loaded.indicators if i.computed == "improved_knowledge_share"}
    if row.indicator not in pooled or row.actual is not None or row.withheld:
        return row
    if not control_enabled():
        return row
    ids = [c.id for c in loaded.cities if c.code == row.city]
    if 0 < assessed_public_servants(session, span, ids) < Rules().threshold:
        return replace(row, withheld=True)
    return row


#: Shares whose denominator is (part of) a count of people: withheld wherever that count is.
SHARE_OF: dict[str, tuple[str, ...]] = {
    "improved_knowledge_share": ("public_servants_trained", "people_trained"),
}

ASSESSED = "assessed"
"""The code of the all-periods knowledge lines in :attr:`ProgrammeResults.all_periods` (the
public servants assessed before and after a training over every period, per city and for the
programme, ``actual`` None where the line is withheld)."""


def _protect(
    city_rows: list[ResultRow],
    countries: list[ResultRow],
    headline: list[ResultRow],
    withheld: set[tuple[str, str, str, str]],
    period: str,
) -> tuple[list[ResultRow], list[ResultRow], list[ResultRow]]:
    """Withhold the counts of people the programme-wide protection chose (``withheld``:
    indicator, country, city, period, see :func:`_withheld`), and the shares taken over them."""
    hidden = {(code, country, city) for code, country, city, span in withheld if span == period}

    # A share is a quantity too: where the count of the people it is taken over is withheld,
    # the share is withheld with it (8 of 9 shown as 88.9 % would give the hidden count away).
    for share, counts in SHARE_OF.items():
        for code, country, city in list(hidden):
            if code in counts:
                hidden.add((share, country, city))
        # A country's share is the mean of its cities': with one city withheld, the others
        # and the mean would give it back, so the country's share goes too.
        for code, country, city in list(hidden):
            if code == share and city != TOTAL and country != TOTAL:
                hidden.add((share, country, TOTAL))

    def mark(row: ResultRow) -> ResultRow:
        key = (row.indicator, row.country or TOTAL, row.city or TOTAL)
        return replace(row, actual=None, withheld=True) if key in hidden else row

    return [mark(r) for r in city_rows], [mark(r) for r in countries], [mark(r) for r in headline]


FLOW_RULES = frozenset({"people_trained", "public_servants_trained", "community_trained"})
"""Computed counts of people over the period's own sessions (flows: a period is the sum of its
parts); the other computed counts stand at the period's end (stocks: a later period is an
earlier one plus the people added in between)."""

_DAY = timedelta(days=1)


def _pieces(spans: dict[str, Window]) -> list[Window]:
    """The smallest stretches of time the periods are made of, with what lies before and after
    them (a flow's "all periods" also counts sessions outside every reporting period)."""
    if not spans:
        return [Window(date.min, date.max, "piece:all")]
    cuts = sorted({s.start for s in spans.values()} | {s.end + _DAY for s in spans.values()})
    named = {(s.start, s.end): code for code, s in spans.items()}
    pieces = [Window(date.min, cuts[0] - _DAY, "piece:before")]
    for start, stop in itertools.pairwise(cuts):
        end = stop - _DAY
        pieces.append(Window(start, end, named.get((start, end), f"piece:{start}/{end}")))
    pieces.append(Window(cuts[-1], date.max, "piece:after"))
    return pieces


def _flow_city(
    session: Session,
    indicator: ProgrammeIndicator,
    place: tuple[str, str],
    city: TargetCity,
    real: dict[str, float],
    spans: dict[str, Window],
    table: PeopleTable,
) -> None:
    """A flow's periods as sums of pieces of time (the pieces counted from the records)."""
    function = computed_indicator(str(indicator.computed)).function
    pieces = _pieces(spans)
    counts = {piece.code: function(session, city, piece) for piece in pieces}
    if any(v is None for v in counts.values()):
        return  # no records for this city: nothing is published for it
    for code, value in counts.items():
        table.model[(place, code)] = float(value or 0)
        if code.startswith("piece:"):
            table.virtual.add(code)
    sums = table.time.setdefault(place, [])
    for code, span in spans.items():
        if code in real:
            table.real[(place, code)] = real[code]
        inside = [p.code for p in pieces if span.start <= p.start and p.end <= span.end]
        if inside != [code]:
            table.model[(place, code)] = sum(table.model[(place, p)] for p in inside)
            sums.append((code, tuple(inside)))
    everything = function(session, city, Window(date.min, date.max, ALL_PERIODS))
    table.real[(place, ALL_PERIODS)] = float(everything or 0)
    table.model[(place, ALL_PERIODS)] = sum(table.model[(place, p.code)] for p in pieces)
    sums.append((ALL_PERIODS, tuple(p.code for p in pieces)))


def _stock_city(
    place: tuple[str, str], real: dict[str, float], spans: dict[str, Window], table: PeopleTable
) -> None:
    """A stock at each period's end: equal at equal ends, and a later end is an earlier one
    plus the people added in between (a count of its own, never published)."""
    ordered = sorted(real, key=lambda p: (spans[p].end, p))
    sums = table.time.setdefault(place, [])
    for code in ordered:
        table.real[(place, code)] = table.model[(place, code)] = real[code]
    for earlier, later in itertools.pairwise(ordered):
        if spans[earlier].end == spans[later].end:
            sums.append((later, (earlier,)))
            continue
        added = real[later] - real[earlier]
        if added < 0:
            continue
        piece = f"piece:{earlier}/{later}"
        table.model[(place, piece)] = added
        table.virtual.add(piece)
        sums.append((later, (earlier, piece)))


def _typed_city(
    place: tuple[str, str], real: dict[str, float], spans: dict[str, Window], table: PeopleTable
) -> None:
    """Typed counts: a period holding shorter ones is their sum plus the rest (a count of its
    own, never published); figures that do not add up (the rest below 0) tie nothing."""
    sums = table.time.setdefault(place, [])
    for code in real:
        table.real[(place, code)] = table.model[(place, code)] = real[code]

    def within(inner: str, outer: str) -> bool:
        a, b = spans[inner], spans[outer]
        return inner != outer and b.start <= a.start and a.end <= b.end

    for code in real:
        inside = [q for q in real if within(q, code)]
        children = [q for q in inside if not any(within(q, other) for other in inside)]
        if not children:
            continue
        rest = real[code] - sum(real[q] for q in children)
        if rest < 0:
            continue
        parts = tuple(children)
        if rest > 0:
            piece = f"piece:{code}-rest"
            table.model[(place, piece)] = rest
            table.virtual.add(piece)
            parts = (*parts, piece)
        sums.append((code, parts))


def _margins(table: PeopleTable) -> None:
    """Countries and the programme as the sums of their cities, in every span."""
    for source in (table.model, table.real):
        cities = [(place, span, v) for (place, span), v in source.items() if place[1] != TOTAL]
        for (country, _city), span, value in cities:
            for margin in ((country, TOTAL), (TOTAL, TOTAL)):
                source[(margin, span)] = source.get((margin, span), 0.0) + value


def _people_tables(session: Session, loaded: _Loaded, periods: list[str]) -> list[PeopleTable]:
    """Every count of people the pages, reports and exports may print, for every place and
    period (and a flow's all-periods total), with how they add up."""
    spans = {p: window(p) for p in periods}
    tables = []
    for ind in loaded.indicators:
        if not is_people(ind.unit):
            continue
        table = PeopleTable(ind.code)
        live = bool(ind.computed) and is_registered(str(ind.computed))
        for city in loaded.cities:
            place = (city.country, city.code)
            real = {}
            for code, span in spans.items():
                value, _computed = _actual(session, ind, city, span, loaded.values, loaded.series)
                if value is not None:
                    real[code] = float(value)
            if live and ind.computed in FLOW_RULES:
                _flow_city(session, ind, place, city, real, spans, table)
            elif live:
                _stock_city(place, real, spans, table)
            else:
                _typed_city(place, real, spans, table)
                # its breakdowns are published too (IATI, HXL): protected with the totals
                table.breakdowns.update(read_breakdowns(session, ind.id, city.id, place, spans))
        _margins(table)
        tables.append(table)
    return tables


def _coverage_lines(
    indicators: list[IndicatorInfo], headline: list[ResultRow], cities: int, lang: str
) -> list[CoverageLine]:
    lines = []
    for info in indicators:
        if info.aggregation != "count_cities":
            continue
        row = next(r for r in headline if r.indicator == info.code)
        have = int(row.actual or 0)
        text = _("{name}: {n} of {m}", lang).format(
            name=info.name,
            n=format_number(have, language=lang),
            m=format_number(cities, language=lang),
        )
        lines.append(CoverageLine(text, info.code, have, cities))
    return lines


def _withheld(
    session: Session, loaded: _Loaded, periods: list[str]
) -> tuple[set[tuple[str, str, str, str]], list[PeopleTable]]:
    """The counts of people to withhold across every period at once (a period's table alone
    leaves its count to be recovered from the all-periods total or another period)."""
    tables = _people_tables(session, loaded, periods)
    withheld = withheld_programme_cells(tables)
    knowledge, lines = _knowledge_withheld(session, loaded, periods, withheld)
    return withheld | knowledge, [*tables, *([lines] if lines else [])]


def _knowledge_withheld(
    session: Session,
    loaded: _Loaded,
    periods: list[str],
    withheld: set[tuple[str, str, str, str]],
) -> tuple[set[tuple[str, str, str, str]], PeopleTable | None]:
    """The improved-knowledge shares to withhold beyond a period's own 1-9 assessed, and the
    all-periods knowledge lines (the :data:`ASSESSED` table: per city and the programme).

    A share over a span is the pooled improved and assessed people of its pieces of time; a
    piece whose own share is not shown (1-9 assessed, or withheld with its trained count) comes
    back from a longer span's share less its other pieces (trial #3 F5: "all periods 93 %, 29
    assessed" less 2025-S1's 90 % of at most 21 trained gave 2025-S2's withheld 9 of 9). So
    a city's share over a span of several pieces (a year of two semesters, all periods) is
    withheld when any of its pieces is such; and the programme's all-periods line, which
    less the cities shown gives the cities withheld, when they are fewer than two or hold
    fewer than the threshold assessed in such pieces together."""
    from inclusive_cities.disclosure import Rules, control_enabled
    from inclusive_cities.monitoring.delivery_indicators import assessed_public_servants

    shares = [i.code for i in loaded.indicators if i.computed == "improved_knowledge_share"]
    if not shares:
        return set(), None
    threshold = Rules().threshold if control_enabled() else 0
    spans = {p: window(p) for p in periods}
    pieces = _pieces(spans)
    every = [*spans.items(), (ALL_PERIODS, Window(date.min, date.max, ALL_PERIODS))]
    counts_of = {c for share in shares for c in (share, *SHARE_OF.get(share, ()))}
    table = PeopleTable(ASSESSED)
    out: set[tuple[str, str, str, str]] = set()
    gone, small = 0, 0
    for city in loaded.cities:
        counts = {p.code: assessed_public_servants(session, p, [city.id]) for p in pieces}
        if not sum(counts.values()):
            continue
        table.real[((city.country, city.code), ALL_PERIODS)] = float(sum(counts.values()))

        # pieces whose own share is not shown: 1-9 assessed, or withheld with its count
        bad = {
            code
            for code, count in counts.items()
            if count
            and (
                count < threshold
                or any((c, city.country, city.code, code) in withheld for c in counts_of)
            )
        }
        for code, span in every:
            inside = {p.code for p in pieces if span.start <= p.start and p.end <= span.end}
            if not (bad & inside) or inside == {code} or not threshold:
                continue
            if code == ALL_PERIODS:
                out.add((ASSESSED, city.country, city.code, ALL_PERIODS))
                gone += 1
                small += sum(counts[p] for p in bad)
            else:
                out.update((share, city.country, city.code, code) for share in shares)
    if table.real:
        table.real[((TOTAL, TOTAL), ALL_PERIODS)] = sum(table.real.values())
        if gone and (gone < 2 or small < threshold):
            out.add((ASSESSED, TOTAL, TOTAL, ALL_PERIODS))
    return out, table


def _all_periods_rows(
    tables: list[PeopleTable], withheld: set[tuple[str, str, str, str]]
) -> list[ResultRow]:
    """Each city's flows over all periods (the "all periods" delivery lines), protected."""
    rows = []
    for table in tables:
        for (place, span), value in table.real.items():
            if table.code == ASSESSED:
                # the people assessed over all periods behind a city's (and the programme's)
                # knowledge line: that line is printed only where this count is not withheld
                hidden = (ASSESSED, place[0], place[1], ALL_PERIODS) in withheld
                whole = place == (TOTAL, TOTAL)
                where = ("", "") if whole else (place[0], place[1])
                rows.append(_all_periods_row(ASSESSED, *where, value, hidden))
                continue
            if span != ALL_PERIODS or place[1] == TOTAL:
                continue
            hidden = (table.code, place[0], place[1], span) in withheld
            rows.append(_all_periods_row(table.code, place[0], place[1], value, hidden))
    return rows


def _all_periods_row(
    indicator: str, country: str, city: str, value: float, hidden: bool
) -> ResultRow:
    """A computed count over every period, empty where the protection withholds it."""
    return ResultRow(
        indicator=indicator,
        city=city,
        country=country,
        period=ALL_PERIODS,
        baseline=None,
        target=None,
        actual=None if hidden else value,
        computed=True,
        withheld=hidden,
        live=1,
    )


def _compute(
    session: Session,
    programme_code: str,
    period: str | None,
    lang: str,
    cities: str | None,
    protection: tuple[set[tuple[str, str, str, str]], list[PeopleTable]] | None = None,
) -> ProgrammeResults:
    programme = get_programme(session, programme_code)
    loaded = _load(session, programme.id)
    nodes = {
        n.id: n
        for n in session.scalars(select(ResultNode).where(ResultNode.programme_id == programme.id))
    }
    by_code = {n.code: n for n in nodes.values()}
    infos = []
    for ind in loaded.indicators:
        node = nodes[ind.result_id]
        outcome = by_code.get(node.parent_code, node)
        infos.append(
            IndicatorInfo(
                code=ind.code,
                name=_lang_name(ind, lang),
                unit=ind.unit,
                measure=ind.measure,
                aggregation=ind.aggregation,
                result_code=node.code,
                result_name=_lang_name(node, lang),
                outcome_code=outcome.code,
                outcome_name=_lang_name(outcome, lang),
                computed=bool(ind.computed),
                verification=ind.verification_es if lang == "es" else ind.verification_en,
                disaggregations=tuple(ind.disaggregations or ()),
                sector=ind.sector,
            )
        )
    store_codes = {
        row[0]: row[1] for row in session.execute(select(models.City.id, models.City.code))
    }
    city_infos = [
        CityInfo(
            c.code,
            c.name,
            c.country,
            c.adm1,
            store_codes.get(c.city_id) if c.city_id else None,
            c.longitude,
            c.latitude,
        )
        for c in loaded.cities
    ]
    periods = list(loaded.periods)
    chosen = window(period).code if period else None
    if chosen is None:
        chosen = headline_period(loaded.values, periods) or str(date.today().year)
    if chosen not in periods:
        periods = sorted({*periods, chosen}, key=lambda p: (window(p).end, p))
    span = window(chosen)
    city_rows: list[ResultRow] = []
    for ind in loaded.indicators:
        for city in loaded.cities:
            actual, is_computed = _actual(session, ind, city, span, loaded.values, loaded.series)
            # "live" is said of a figure computed from the records, not of an indicator that
            # has a rule: a typed figure, or no figure at all, is not live (trial F3)
            live = is_computed and actual is not None
            city_rows.append(
                ResultRow(
                    indicator=ind.code,
                    city=city.code,
                    country=city.country,
                    period=chosen,
                    baseline=_latest(loaded.values, ind.id, city.id, "baseline", span.end),
                    target=_target(
                        loaded.values, ind.id, city.id, chosen, loaded, ind.accumulation
                    ),
                    actual=actual,
                    computed=live,
                    live=int(live),
                    reported=int(actual is not None and not is_computed),
                )
            )
    countries = sorted({c.country for c in loaded.cities})
    by_country = []
    headline = []
    for ind in loaded.indicators:
        rows = [r for r in city_rows if r.indicator == ind.code]
        for country in countries:
            row = _aggregate(ind, [r for r in rows if r.country == country], "", country)
            if ind.computed == "improved_knowledge_share":
                row = _pooled_country(session, span, row, loaded, country)
            by_country.append(row)
        head = _aggregate(ind, rows, "", "")
        whole = programme_level(ind.computed) if ind.computed else None
        if whole is not None:
            value = whole(session, span)
            found = value is not None
            head = replace(head, actual=value, computed=found, live=int(found), reported=0)
            # the programme's pooled share less the cities shown, as a country's
            pooled = found and ind.computed == "improved_knowledge_share"
            if pooled and _few_hidden(session, span, [c.id for c in loaded.cities]):
                head = replace(head, actual=None, withheld=True)
        headline.append(head)
    if protection is None:
        protection = _withheld(session, loaded, periods)
    withheld, tables = protection
    city_rows, by_country, headline = _protect(city_rows, by_country, headline, withheld, chosen)
    city_rows = [_small_share_withheld(session, span, r, loaded) for r in city_rows]
    city_rows, by_country, headline = (
        [_whole_per_cent(r) for r in rows] for rows in (city_rows, by_country, headline)
    )
    totals = _all_periods_rows(tables, withheld)
    if cities is not None:
        city_rows = [r for r in city_rows if r.city == cities]
        totals = [r for r in totals if r.city == cities]
    return ProgrammeResults(
        programme=ProgrammeInfo(
            programme.code,
            _lang_name(programme, lang),
            programme.reporting_org,
            programme.start_date,
            programme.end_date,
            programme.iati_identifier,
            programme.reporting_org_ref,
        ),
        period=chosen,
        periods=periods,
        indicators=infos,
        cities=city_infos,
        city_rows=city_rows,
        by_country=by_country,
        headline=headline,
        lines=_coverage_lines(infos, headline, len(loaded.cities), lang),
        all_periods=totals,
        protection=protection,
    )


def headline_period(
    values: dict[tuple[int, int, str, str], float], periods: list[str]
) -> str | None:
    """The period results show when none is asked for: the latest one whose actuals cover at
    least half as many (indicator, city) pairs as the best-covered period. The latest period
    with any actual made one monthly 5W of one indicator for two cities the programme's
    headline ("1/9 cities with a marker" instead of 6/9, trial #5 T12)."""
    covered: dict[str, set[tuple[int, int]]] = {}
    for indicator, city, kind, period in values:
        if kind == "actual":
            covered.setdefault(period, set()).add((indicator, city))
    if not covered:
        return periods[-1] if periods else None
    best = max(len(pairs) for pairs in covered.values())
    return [p for p in periods if 2 * len(covered.get(p, ())) >= best][-1]


def results(
    engine: Engine,
    programme: str = DEFAULT_PROGRAMME,
    period: str | None = None,
    lang: str = "es",
) -> ProgrammeResults:
    """Results against targets for one period (the latest with actuals when None)."""
    with transaction(engine) as session:
        return _compute(session, programme, period, lang, None)


def history(
    engine: Engine,
    programme: str,
    city_code: str,
    lang: str = "es",
    protection: tuple[set[tuple[str, str, str, str]], list[PeopleTable]] | None = None,
) -> list[ResultRow]:
    """One city's results in every period that has values (for charts over time);
    ``protection``: that of a :func:`results` just read (it covers every period)."""
    with transaction(engine) as session:
        first = _compute(session, programme, None, lang, city_code, protection)
        if not any(c.code == city_code for c in first.cities):
            from inclusive_cities.monitoring.values import find_target_city

            find_target_city(session, get_programme(session, programme), city_code)
        rows: list[ResultRow] = []
        for period in first.periods:
            rows.extend(
                _compute(session, programme, period, lang, city_code, first.protection).city_rows
            )
        return rows


def disaggregated(
    engine: Engine,
    programme: str,
    indicator: str,
    period: str,
    dimension: str,
) -> pd.DataFrame:
    """A typed indicator's actuals by one disaggregation (sex, age_group, nationality, topic)
    per target city, with the cities' totals and the programme's margins (city ``_T``).

    Columns: city, category, value, withheld. Counts of people are disclosure-controlled as a
    two-way table with margins (city x category), so no withheld cell can be recovered by
    subtraction; other units are returned as they are.
    """
    from inclusive_cities.monitoring.framework import DISAGGREGATIONS
    from inclusive_cities.monitoring.values import get_indicator

    if dimension not in DISAGGREGATIONS:
        raise MonitoringError(
            _("Disaggregation {value} is not known: use {allowed}.").format(
                value=dimension, allowed=", ".join(DISAGGREGATIONS)
            )
        )
    code = window(period).code
    with transaction(engine) as session:
        prog = get_programme(session, programme)
        ind = get_indicator(session, prog, indicator)
        cities = {
            c.id: c.code
            for c in session.scalars(select(TargetCity).where(TargetCity.programme_id == prog.id))
        }
        others = [d for d in DISAGGREGATIONS if d != dimension]
        rows = session.scalars(
            select(IndicatorValue).where(
                IndicatorValue.indicator_id == ind.id,
                IndicatorValue.period == code,
                IndicatorValue.kind == "actual",
                *(getattr(IndicatorValue, d) == TOTAL for d in others),
            )
        ).all()
        records = [(cities[r.target_city_id], getattr(r, dimension), r.value) for r in rows]
        people = is_people(ind.unit)
        joint = (
            _breakdown_protection(session, prog.id, ind.code, code, dimension) if people else None
        )
    frame = pd.DataFrame(records, columns=["city", "category", "value"])
    if frame.empty:
        return frame.assign(withheld=pd.Series(dtype=bool))
    categories = frame[frame["category"] != TOTAL]
    margins = categories.groupby("category", as_index=False)["value"].sum().assign(city=TOTAL)
    totals = frame[frame["category"] == TOTAL]
    grand = (
        pd.DataFrame([{"city": TOTAL, "category": TOTAL, "value": float(totals["value"].sum())}])
        if not totals.empty
        else pd.DataFrame(columns=["city", "category", "value"])
    )
    table = pd.concat([frame, margins, grand], ignore_index=True)
    table["withheld"] = (
        withheld_cells(table, ["city", "category"]) if people and joint is None else False
    )
    if joint is not None:
        # a typed breakdown is solved with the pages' totals (a city total withheld there as
        # a partner must not come back as the sum of its published split)
        withheld, split = joint
        table["withheld"] = [
            (dimension, city, code, category) in split
            if category != TOTAL
            else any(w[2] == city and w[3] == code for w in withheld)
            for city, category in zip(table["city"], table["category"], strict=True)
        ]
    table.loc[table["withheld"], "value"] = None
    return table.sort_values(["city", "category"]).reset_index(drop=True)


def _breakdown_protection(
    session: Session, programme_id: int, indicator: str, period: str, dimension: str
) -> tuple[set[tuple[str, str, str, str]], set[tuple[str, str, str, str]]] | None:
    """(withheld totals, withheld breakdown cells) of one indicator's joint protection; None
    where its breakdowns by ``dimension`` are not part of it (a live indicator's)."""
    loaded = _load(session, programme_id)
    loaded = replace(loaded, indicators=[i for i in loaded.indicators if i.code == indicator])
    periods = sorted({*loaded.periods, period}, key=lambda p: (window(p).end, p))
    withheld, tables = _withheld(session, loaded, periods)
    found = next((t for t in tables if t.code == indicator), None)
    if found is None or not any(k[0] == dimension for k in found.breakdowns):
        return None
    return withheld, found.withheld_breakdowns


def results_frame(report: ProgrammeResults) -> pd.DataFrame:
    """The city, country and programme rows as one table (for exports and the terminal)."""
    names = {c.code: c.name for c in report.cities}
    info = {i.code: i for i in report.indicators}
    records = []
    for row in [*report.city_rows, *report.by_country, *report.headline]:
        ind = info[row.indicator]
        records.append(
            {
                "outcome": ind.outcome_code,
                "output": ind.result_code,
                "indicator": row.indicator,
                "indicator_name": ind.name,
                "unit": ind.unit,
                "country": row.country,
                "city": row.city,
                "city_name": names.get(row.city, ""),
                "period": row.period,
                "baseline": row.baseline,
                "target": row.target,
                "actual": row.actual,
                "progress": row.progress,
                "computed": row.computed,
                "live_cities": row.live,
                "reported_cities": row.reported,
                "withheld": row.withheld,
            }
        )
    return pd.DataFrame.from_records(records)


__all__ = [
    "CityInfo",
    "CoverageLine",
    "IndicatorInfo",
    "ProgrammeInfo",
    "ProgrammeResults",
    "ResultRow",
    "disaggregated",
    "history",
    "results",
    "results_frame",
]


def published_knowledge(
    engine: Engine, report: ProgrammeResults | None = None
) -> dict[int | None, KnowledgeEstimate]:
    """:func:`improved_knowledge` of public servants over all periods per target city (by id)
    and for the programme (``None``, its target cities pooled), as the public pages may print
    them: only where the programme's protection (``report``, else the latest results)
    publishes the people assessed over all periods. That count is protected with every
    period's, country's and the programme's (trial #3 F5: a city's "93 %, 29 assessed" beside
    its first semester's 90 % gave its withheld second semester back, 9 of 9)."""
    from inclusive_cities.store.monitoring_models import Programme

    rep = report if report is not None else results(engine)
    shown = {
        r.city or None: r.actual
        for r in rep.all_periods
        if r.indicator == ASSESSED and not r.withheld and r.actual
    }
    with engine.connect() as connection:
        ids = dict(
            connection.execute(
                select(TargetCity.code, TargetCity.id)
                .join(Programme, Programme.id == TargetCity.programme_id)
                .where(Programme.code == rep.programme.code)
            ).all()
        )
    found: dict[int | None, KnowledgeEstimate] = {}
    for code in shown:
        key = None if code is None else ids.get(code)
        if code is not None and key is None:
            continue
        among = list(ids.values()) if key is None else [key]
        estimate = improved_knowledge(engine, target_city_ids=among)
        if estimate.share is not None and estimate.assessed == shown[code]:
            found[key] = estimate
    return found
