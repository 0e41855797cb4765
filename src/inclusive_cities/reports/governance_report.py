"""The migration-governance assessment of a city, read for people: "Evaluación de la
gobernanza migratoria" as HTML and PDF (es/en), and the same reading the web page shows.

A city's latest local assessment (or one chosen by id) is set beside the latest national
assessment of its country (ahead / behind / same, question by question), beside its own
previous assessment (what changed), and beside the evidence: for each domain, the city's
scores in the published marker run for the areas and indicators the framework links it to.
Scores come from :mod:`inclusive_cities.governance`; nothing is re-scored here::

    from inclusive_cities.reports import governance_report as gr
    view = gr.governance_view(engine, "DEMO", "es")
    view.local.overall, view.comparison.questions, view.evidence
    html = gr.render_governance_html(engine, "DEMO", "en")
    gr.governance_report(engine, "DEMO", "gobernanza.pdf", language="es")
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.i18n import current_language, format_number, use_language
from inclusive_cities.i18n import gettext as _
from inclusive_cities.reports.document import Document, Figure, KeyFigure, Section, Table
from inclusive_cities.reports.errors import ReportError
from inclusive_cities.reports.withheld import withheld_pairs
from inclusive_cities.store import models

if TYPE_CHECKING:
    from inclusive_cities.marker import MarkerSpec

POPULATION_CODES = ("population", "pop_total", "persons", "total_population")
"""Indicators whose values weight the city means of unit scores (as the city page does)."""
LOCAL_COLOUR = "#005a9c"
NATIONAL_COLOUR = "#c05600"
SAFE_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class EvidenceItem:
    """One measured outcome beside a domain: a marker node's city score (0-100)."""

    code: str
    name: str
    kind: str
    """``area`` (a part of the marker's index), ``dimension`` (a part of an area) or
    ``indicator``."""
    score: float | None


@dataclass(frozen=True)
class DomainEvidence:
    domain: str
    name: str
    score: float | None
    """The city's governance score in this domain (0-100)."""
    items: list[EvidenceItem]


@dataclass(frozen=True)
class EvidenceSource:
    """Where the measured outcomes come from: one published marker run."""

    run_id: int
    spec_name: str
    period: str


@dataclass
class GovernanceView:
    """Everything the page and the report show about one city's governance."""

    city_code: str
    city_name: str
    country: str
    synthetic: bool
    local: Any = None
    """``governance.AssessmentResult`` of the city (None: never assessed)."""
    national: Any = None
    comparison: Any = None
    """``governance.Comparison`` of kind ``levels`` (None without a national assessment)."""
    previous: Any = None
    changes: Any = None
    """``governance.Comparison`` of kind ``changes`` against the previous local assessment."""
    history: list[Any] = field(default_factory=list)
    """The city's local assessments (``AssessmentInfo``), oldest first."""
    evidence: list[DomainEvidence] = field(default_factory=list)
    evidence_source: EvidenceSource | None = None
    initiatives: list[Any] = field(default_factory=list)


def country_label(code: str, language: str) -> str:
    """A country's name for readers ("Colombia"), its ISO code when the name is unknown."""
    from inclusive_cities.mobility.schema import country_name

    return country_name(code, language) if code else "—"


def safe_link(link: str) -> str | None:
    """An evidence link that may become an ``href``: only http(s) addresses."""
    text = (link or "").strip()
    return text if text.lower().startswith(SAFE_SCHEMES) else None


def _city(session: Session, code: str) -> models.City:
    row = session.scalar(select(models.City).where(models.City.code == code))
    if row is None:
        raise ReportError(
            _("There is no city with code {code}: see 'inclusive-cities db status'.").format(
                code=code
            )
        )
    return row


NodeNames = Callable[[str, str], dict[str, str]]
"""(spec code, language) -> names of the spec's nodes: how a caller that knows more specs
than the built-in ones (the web app's spec provider) names a run's areas; the entry of the
spec's own code is the spec's name."""


def governance_view(
    engine: Engine,
    city: str,
    language: str,
    assessment_id: int | None = None,
    node_names: NodeNames | None = None,
) -> GovernanceView:
    """The city's assessment (latest local, or ``assessment_id``) with its comparisons."""
    from inclusive_cities import governance

    with Session(engine) as session:
        row = _city(session, city)
        view = GovernanceView(row.code, row.name, row.country or "", bool(row.is_synthetic))
        view.history = governance.list_assessments(engine, city=row.code, level="local")
        if not view.history:
            view.initiatives = _initiatives(engine, row.code, language)
            return view
        chosen = view.history[-1]
        if assessment_id is not None:
            found = [info for info in view.history if info.id == assessment_id]
            if not found:
                raise ReportError(
                    _("Assessment {id} is not a local assessment of {city}.").format(
                        id=assessment_id, city=row.name
                    )
                )
            chosen = found[0]
        view.local = governance.assessment_result(engine, chosen.id)
        country = view.local.info.country or view.country
        national = governance.latest_assessment(engine, country=country) if country else None
        if national is not None:
            view.comparison = governance.compare_levels(
                engine, local_id=chosen.id, national_id=national.id
            )
            view.national = view.comparison.national
        # the previous assessment answered the same framework: another question set would
        # leave every question "not comparable"
        earlier = [
            info
            for info in view.history
            if _before(info, chosen) and info.framework_code == chosen.framework_code
        ]
        if earlier:
            view.changes = governance.compare_changes(engine, earlier[-1].id, chosen.id)
            view.previous = view.changes.before
        view.evidence, view.evidence_source = city_evidence(
            session, row, view.local, language, node_names
        )
        view.initiatives = _initiatives(engine, row.code, language)
    return view


def _before(info: Any, chosen: Any) -> bool:
    return bool((info.assessed_on, info.id) < (chosen.assessed_on, chosen.id))


def _initiatives(engine: Engine, city: str, language: str) -> list[Any]:
    from inclusive_cities.governance import search_initiatives

    return list(search_initiatives(engine, city=city))


# -- beside the evidence ---------------------------------------------------------------------


def _evidence_run(
    session: Session, city_id: int, preferred_spec: str | None
) -> tuple[models.MarkerRun, models.Period] | None:
    """The latest published run of the city: the latest period first, and in it the
    framework's evidence spec when that spec was published, else the newest run."""
    rows = session.execute(
        select(models.MarkerRun, models.Period)
        .join(models.Period, models.Period.id == models.MarkerRun.period_id)
        .where(models.MarkerRun.city_id == city_id, models.MarkerRun.published.is_(True))
        .order_by(models.Period.start_date.desc().nulls_last(), models.Period.code.desc())
        .order_by(models.MarkerRun.id.desc())
    ).all()
    if not rows:
        return None
    latest = [(run, period) for run, period in rows if period.id == rows[0][1].id]
    preferred = [pair for pair in latest if pair[0].spec_code == preferred_spec]
    return (preferred or latest)[0]


def _run_spec(run: models.MarkerRun) -> MarkerSpec | None:
    """The spec of a run: the recipe the run stored, else the built-in spec of that code."""
    from inclusive_cities.marker import MarkerSpec

    recipe = (run.parameters or {}).get("spec")
    if isinstance(recipe, dict):
        try:
            return MarkerSpec.model_validate(recipe)
        except ValueError:
            pass
    return _builtin_spec(run.spec_code)


def _builtin_spec(spec_code: str | None) -> MarkerSpec | None:
    from inclusive_cities.marker import builtin_specs, load_spec

    if not spec_code or spec_code not in builtin_specs():
        return None
    return load_spec(spec_code)


def _node_names(run: models.MarkerRun, language: str) -> tuple[str, dict[str, str]]:
    """The run's spec name and the names of its nodes and indicators."""
    spec = _run_spec(run)
    if spec is None:
        return run.spec_code, {}
    names = {node.code: node.name.text(language) for node, _depth, _parent in spec.walk()}
    return spec.name.text(language), names


def _spec_names(spec_code: str | None, language: str) -> dict[str, str]:
    """Names of a built-in spec's nodes: how a linked area the run did not measure is named."""
    spec = _builtin_spec(spec_code)
    if spec is None:
        return {}
    return {node.code: node.name.text(language) for node, _d, _p in spec.walk()}


def kind_title(kind: str) -> str:
    """An evidence item's kind as a table's cell says it."""
    return {"area": _("Area"), "dimension": _("Dimension")}.get(kind, _("Indicator"))


def _node_kinds(*specs: MarkerSpec | None) -> dict[str, str]:
    """``area`` for the parts of a spec's index, ``dimension`` for the nodes below them
    (S_AMB, "Exposición a factores ambientales", is a dimension of Salud: labelled an area,
    it read as one of the marker's areas on the governance page)."""
    from inclusive_cities.marker.spec import Node

    kinds: dict[str, str] = {}
    for spec in specs:
        if spec is None:
            continue
        for item, depth, _parent in spec.walk():
            if isinstance(item, Node) and depth >= 1:
                kinds.setdefault(item.code, "area" if depth == 1 else "dimension")
    return kinds


def _weights(session: Session, run: models.MarkerRun, unit_ids: list[int]) -> dict[int, float]:
    """Population of the run's units in its period (first population indicator with data)."""
    for code in POPULATION_CODES:
        values = dict(
            session.execute(
                select(models.Observation.unit_id, models.Observation.value)
                .join(models.Indicator, models.Indicator.id == models.Observation.indicator_id)
                .where(
                    models.Indicator.code == code,
                    models.Observation.period_id == run.period_id,
                    models.Observation.unit_id.in_(unit_ids),
                    models.Observation.value.is_not(None),
                    models.Observation.sex == models.TOTAL,
                    models.Observation.age_group == models.TOTAL,
                    models.Observation.nationality == models.TOTAL,
                )
            ).all()
        )
        if values:
            return {int(unit): float(value) for unit, value in values.items() if value is not None}
    return {}


def city_mean(scores: dict[int, float], weights: dict[int, float]) -> float | None:
    """Population-weighted mean of unit scores (plain mean when no unit has a population)."""
    pairs = [(s, weights.get(u)) for u, s in scores.items() if s is not None and not math.isnan(s)]
    if not pairs:
        return None
    weighted = [(s, w) for s, w in pairs if w is not None and w > 0]
    if weights and weighted:
        total = sum(w for _s, w in weighted)
        return sum(s * w for s, w in weighted) / total
    return sum(s for s, _w in pairs) / len(pairs)


def city_evidence(
    session: Session,
    city: models.City,
    result: Any,
    language: str,
    node_names: NodeNames | None = None,
) -> tuple[list[DomainEvidence], EvidenceSource | None]:
    """For each domain of the assessment, the city scores (0-100) of the marker areas and
    indicators the framework links it to, in the latest PUBLISHED marker run only."""
    framework = result.framework
    preferred = getattr(framework, "evidence_spec", None)
    found = _evidence_run(session, city.id, preferred)
    codes = {code for d in result.domains for code in (*d.areas, *d.indicators)}
    by_node: dict[str, dict[int, float]] = {}
    names: dict[str, str] = {}
    source = None
    run_spec = None
    if found is not None and codes:
        run, period = found
        rows = session.execute(
            select(
                models.MarkerScore.node_code, models.MarkerScore.unit_id, models.MarkerScore.score
            ).where(models.MarkerScore.run_id == run.id, models.MarkerScore.node_code.in_(codes))
        ).all()
        # a mean over every unit beside the published scores gives a lone withheld one back
        hidden = withheld_pairs(session, run.id)
        for node, unit, value in rows:
            if value is not None and (str(node), int(unit)) not in hidden:
                by_node.setdefault(node, {})[int(unit)] = float(value)
        units = sorted({unit for values in by_node.values() for unit in values})
        weights = _weights(session, run, units) if units else {}
        spec_name, names = _node_names(run, language)
        run_spec = _run_spec(run)
        if node_names is not None:
            names = {**names, **node_names(run.spec_code, language)}
            spec_name = names.get(run.spec_code, spec_name)
        source = EvidenceSource(run.id, spec_name, period.label or period.code)
    else:
        weights = {}
    fallback = _spec_names(preferred, language)
    kinds = _node_kinds(run_spec, _builtin_spec(preferred))
    indicator_names = {
        ind.code: (ind.name_es if language == "es" else ind.name_en) or ind.code
        for ind in session.scalars(select(models.Indicator).where(models.Indicator.code.in_(codes)))
    }
    out = []
    for domain in result.domains:
        items = []
        for kind, group in (("area", domain.areas), ("indicator", domain.indicators)):
            for code in group:
                values = by_node.get(code)
                items.append(
                    EvidenceItem(
                        code=code,
                        name=names.get(code)
                        or indicator_names.get(code)
                        or fallback.get(code)
                        or code,
                        kind=kinds.get(code, kind) if kind == "area" else kind,
                        score=city_mean(values, weights) if values else None,
                    )
                )
        out.append(DomainEvidence(domain.code, domain.name.text(language), domain.score, items))
    return out, source


# -- chart -----------------------------------------------------------------------------------


def _two_lines(text: str) -> str:
    words = text.split()
    if len(text) <= 18 or len(words) < 2:
        return text
    best = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(text) / 2))
    return " ".join(words[:best]) + "\n" + " ".join(words[best:])


def radar_chart(
    domains: list[tuple[str, float | None, float | None]],
    labels: tuple[str, str],
    title: str,
) -> alt.LayerChart | None:
    """A radar of domain scores (0-100): the city as a solid line, its country dashed.

    ``domains`` holds (name, city score, country score). A domain without a score on one
    side has no point on that side: drawing it at 0 would read "no data" as the worst
    result. Fewer than three domains make no radar (None)."""
    spokes = [d for d in domains if d[1] is not None or d[2] is not None]
    n = len(spokes)
    if n < 3:
        return None
    points: list[dict[str, Any]] = []
    for series, label in ((1, labels[0]), (2, labels[1])):
        first = None
        for i, row in enumerate(spokes):
            score = row[1] if series == 1 else row[2]
            if score is None:
                continue
            angle = 2 * math.pi * i / n
            point = {
                "series": label,
                "order": i,
                "x": score * math.sin(angle),
                "y": score * math.cos(angle),
                "domain": row[0],
                "score": round(float(score), 1),
            }
            points.append(point)
            first = first or point
        if first is not None:
            points.append({**first, "order": n})
    rings = [
        {
            "ring": ring,
            "order": i,
            "x": ring * math.sin(2 * math.pi * i / n),
            "y": ring * math.cos(2 * math.pi * i / n),
        }
        for ring in (20, 40, 60, 80, 100)
        for i in range(n + 1)
    ]
    spoke_rows: list[dict[str, float]] = []
    label_rows: list[dict[str, Any]] = []
    for i, row in enumerate(spokes):
        sx, sy = math.sin(2 * math.pi * i / n), math.cos(2 * math.pi * i / n)
        spoke_rows.append({"x": 0.0, "y": 0.0, "x2": 100 * sx, "y2": 100 * sy})
        side = "left" if sx > 0.2 else "right" if sx < -0.2 else "center"
        label_rows.append(
            {
                "x": 108 * sx,
                "y": 108 * sy + (8 if sy > 0.9 else 0),
                "label": _two_lines(row[0]),
                "side": side,
            }
        )
    x = alt.X("x:Q", scale=alt.Scale(domain=[-230, 230]), axis=None)
    y = alt.Y("y:Q", scale=alt.Scale(domain=[-135, 135]), axis=None)
    grid = (
        alt.Chart(pd.DataFrame(rings))
        .mark_line(color="#c8c8c8", strokeWidth=1)
        .encode(x=x, y=y, detail="ring:N", order="order:Q")
    )
    spoke_chart = (
        alt.Chart(pd.DataFrame(spoke_rows))
        .mark_rule(color="#c8c8c8")
        .encode(x=x, y=y, x2="x2:Q", y2="y2:Q")
    )
    frame = pd.DataFrame(label_rows)
    text_layers = [
        alt.Chart(frame[frame["side"] == side])
        .mark_text(fontSize=12, color="#222", align=side, lineBreak="\n", baseline="middle")
        .encode(x=x, y=y, text="label:N")
        for side in ("left", "right", "center")
        if (frame["side"] == side).any()
    ]
    colour = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=list(labels), range=[LOCAL_COLOUR, NATIONAL_COLOUR]),
        legend=alt.Legend(orient="bottom", labelFontSize=12, symbolStrokeWidth=3),
    )
    dash = alt.StrokeDash(
        "series:N",
        scale=alt.Scale(domain=list(labels), range=[[1, 0], [6, 4]]),
        legend=None,
    )
    shape = (
        alt.Chart(pd.DataFrame(points))
        .mark_line(point=alt.OverlayMarkDef(size=55, filled=True), strokeWidth=2.5)
        .encode(
            x=x,
            y=y,
            order="order:Q",
            color=colour,
            strokeDash=dash,
            detail="series:N",
            tooltip=[
                alt.Tooltip("series:N", title=_("Assessment")),
                alt.Tooltip("domain:N", title=_("Domain")),
                alt.Tooltip("score:Q", title=_("Score (0–100)")),
            ],
        )
    )
    return (
        alt.layer(grid, spoke_chart, shape, *text_layers)
        .properties(width=500, height=320, title=title)
        .configure_view(stroke=None)
    )


def view_radar(view: GovernanceView, language: str) -> alt.LayerChart | None:
    """The radar of a view: the city's domains, and its country's when assessed."""
    if view.local is None:
        return None
    national = {d.code: d.score for d in view.national.domains} if view.national else {}
    rows = [(d.name.text(language), d.score, national.get(d.code)) for d in view.local.domains]
    city_label = view.city_name
    national_label = _("{country} (national)").format(country=country_label(view.country, language))
    return radar_chart(
        rows,
        (city_label, national_label),
        _("Score by domain (0–100)"),
    )


# -- words -----------------------------------------------------------------------------------


def score_text(value: float | None, language: str, digits: int = 1) -> str:
    return "—" if value is None else format_number(value, digits, language)


def status_text(status: str) -> str:
    """What a status means, said to the city (``ahead``: the city does more than the country)."""
    return {
        "ahead": _("City ahead"),
        "behind": _("City behind"),
        "same": _("Same"),
        "not_comparable": _("Cannot be compared"),
        "improved": _("Improved"),
        "worsened": _("Worsened"),
    }.get(status, status)


def band_text(band: str | None) -> str:
    return {
        "strength": _("Strength"),
        "middle": _("In progress"),
        "gap": _("Gap"),
    }.get(band or "", _("No score"))


def status_text_plain(status: str) -> str:
    return {
        "planned": _("Planned"),
        "ongoing": _("Ongoing"),
        "completed": _("Completed"),
        "suspended": _("Suspended"),
    }.get(status, status)


def kind_text(kind: str) -> str:
    return _("Good practice") if kind == "good_practice" else _("Initiative")


def level_text(level: str) -> str:
    return _("Local") if level == "local" else _("National")


def question_rows(view: GovernanceView, language: str) -> list[dict[str, Any]]:
    """One row per question of the city's assessment: its answer, the country's, the status
    (ahead/behind/same) and the previous answer of the city, in the reader's words."""
    if view.local is None:
        return []
    national = {q.code: q for q in view.national.questions} if view.national else {}
    previous = {q.code: q for q in view.previous.questions} if view.previous else {}
    levels = {q.code: q.status for q in view.comparison.questions} if view.comparison else {}
    changes = {q.code: q.status for q in view.changes.questions} if view.changes else {}
    rows = []
    for q in view.local.questions:
        other = national.get(q.code)
        before = previous.get(q.code)
        rows.append(
            {
                "code": q.code,
                "domain": q.domain,
                "text": q.text.text(language),
                "local": view.local.answer_label(q, language),
                "national": view.national.answer_label(other, language) if other else "—",
                "status": levels.get(q.code, "not_comparable"),
                "status_text": status_text(levels.get(q.code, "not_comparable")),
                "previous": view.previous.answer_label(before, language) if before else "—",
                "change": changes.get(q.code, "not_comparable"),
                "evidence_text": q.evidence_text,
                "evidence_document": q.evidence_document,
                "evidence_link": safe_link(q.evidence_link),
                "evidence_missing": q.evidence_missing,
            }
        )
    return rows


# -- the document ----------------------------------------------------------------------------


def build_document(view: GovernanceView, language: str, today: date | None = None) -> Document:
    """The report as sections of blocks (the shared report template lays it out)."""
    from inclusive_cities.charts import to_png_data_uri
    from inclusive_cities.reports.labels import labels

    if view.local is None:
        raise ReportError(
            _(
                "{city} has no governance assessment yet: import one with 'inclusive-cities "
                "governance import FILE --city {code}'."
            ).format(city=view.city_name, code=view.city_code)
        )
    local = view.local
    t = dict(labels())
    t["period"] = _("Assessment date")
    framework = local.framework
    # the respondent is a person's name in the template: it stays in the admin area
    source = _("{framework}, version {version}; assessment of {date}").format(
        framework=framework.name.text(language),
        version=framework.version,
        date=local.info.assessed_on.isoformat(),
    )
    doc = Document(
        kind="governance",
        language=language,
        title=_("Migration governance assessment"),
        subtitle=view.city_name,
        city_name=view.city_name,
        period_label=local.info.assessed_on.isoformat(),
        generated=(today or date.today()).isoformat(),
        synthetic=view.synthetic,
        labels=t,
        cover_lines=[framework.name.text(language)],
    )
    summary = Section("summary", t["summary"], new_page=True)
    if view.synthetic:
        summary.note(t["synthetic_note"])
    summary.p(
        _(
            "This report reads the migration-governance assessment of {city}: how far the city "
            "has the policies, institutions and partnerships to include refugees and migrants, "
            "scored from 0 (nothing in place) to 100 (everything in place), domain by domain."
        ).format(city=view.city_name)
    )
    figures = [KeyFigure(_("City score (0–100)"), score_text(local.overall, language))]
    if view.national is not None:
        figures.append(
            KeyFigure(
                _("{country}: national score (0–100)").format(
                    country=country_label(view.country, language)
                ),
                score_text(view.national.overall, language),
                view.national.info.assessed_on.isoformat(),
            )
        )
    if view.previous is not None:
        figures.append(
            KeyFigure(
                _("Previous city score"),
                score_text(view.previous.overall, language),
                view.previous.info.assessed_on.isoformat(),
            )
        )
    summary.key_figures(figures)
    if view.comparison is not None:
        for line in view.comparison.summary(language):
            summary.p(line)
    doc.sections.append(summary)

    domains = Section("domains", _("Score by domain"), new_page=False)
    chart = view_radar(view, language)
    if chart is not None:
        domains.figure(Figure(to_png_data_uri(chart), _("Score by domain (0–100)"), source))
    columns = [_("Domain"), view.city_name]
    numeric = [False, True]
    if view.national is not None:
        columns += [
            country_label(view.country, language),
            _("Difference"),
            _("City against country"),
        ]
        numeric += [True, True, False]
    columns.append(_("Strength or gap?"))
    numeric.append(False)
    national_domains = {d.code: d for d in view.comparison.domains} if view.comparison else {}
    rows = []
    for d in local.domains:
        row = [d.name.text(language), score_text(d.score, language)]
        if view.national is not None:
            other = national_domains.get(d.code)
            row += [
                score_text(other.right if other else None, language),
                score_text(other.difference if other else None, language),
                status_text(other.status if other else "not_comparable"),
            ]
        row.append(band_text(d.band))
        rows.append(row)
    domains.table(
        Table(
            columns, rows, _("Domain scores (0–100) of the city and its country."), source, numeric
        )
    )
    doc.sections.append(domains)

    plain = Section("strengths-gaps", _("Strengths and gaps"), new_page=False)
    strengths, gaps = local.strengths(language), local.gaps(language)
    plain.h3(_("Strengths"))
    plain.items([("+", line) for line in strengths] or [("·", _("No domain is a strength yet."))])
    plain.h3(_("Gaps"))
    plain.items([("!", line) for line in gaps] or [("·", _("No gap was found."))])
    doc.sections.append(plain)

    questions = question_rows(view, language)
    names = {d.code: d.name.text(language) for d in local.domains}
    detail = Section("questions", _("Question by question"))
    if view.national is not None:
        detail.p(
            _(
                "Each answer of the city beside its country's answer to the same question: "
                "'City ahead' means the city has more in place than the country."
            )
        )
    for code, name in names.items():
        group = [q for q in questions if q["domain"] == code]
        if not group:
            continue
        head = [_("Question"), view.city_name]
        if view.national is not None:
            head += [country_label(view.country, language), _("City against country")]
        body = []
        for q in group:
            cells = [f"{q['code']}. {q['text']}", q["local"]]
            if view.national is not None:
                cells += [q["national"], status_text(q["status"])]
            body.append(cells)
        detail.table(Table(head, body, name, source, small=True))
    doc.sections.append(detail)

    if view.changes is not None:
        changed = Section("changes", _("Changes since the previous assessment"), new_page=False)
        for line in view.changes.summary(language):
            changed.p(line)
        moved = [q for q in questions if q["change"] in ("improved", "worsened")]
        if moved:
            changed.table(
                Table(
                    [
                        _("Question"),
                        view.previous.info.assessed_on.isoformat(),
                        local.info.assessed_on.isoformat(),
                        _("Change"),
                    ],
                    [
                        [
                            f"{q['code']}. {q['text']}",
                            q["previous"],
                            q["local"],
                            status_text(q["change"]),
                        ]
                        for q in moved
                    ],
                    _("Questions whose answer changed."),
                    source,
                    small=True,
                )
            )
        else:
            changed.p(_("No answer changed."))
        doc.sections.append(changed)

    beside = Section("evidence", _("Beside the evidence"))
    if view.evidence_source is None:
        beside.missing(
            _(
                "No marker run is published for this city: the measured outcomes cannot be "
                "shown beside the policies."
            )
        )
    else:
        beside.p(
            _(
                "For each domain, the city's measured outcomes it bears on: scores of 0–100 in "
                "the {spec} ({period}), averaged over the city weighted by population."
            ).format(spec=view.evidence_source.spec_name, period=view.evidence_source.period)
        )
        evidence_rows = []
        for found in view.evidence:
            for item in found.items:
                evidence_rows.append(
                    [
                        found.name,
                        score_text(found.score, language),
                        item.name,
                        kind_title(item.kind),
                        score_text(item.score, language)
                        if item.score is not None
                        else _("not measured"),
                    ]
                )
        beside.table(
            Table(
                [
                    _("Domain"),
                    _("Governance score"),
                    _("Measured outcome"),
                    _("Kind"),
                    _("Score (0–100)"),
                ],
                evidence_rows,
                _("Governance domains beside the city's measured outcomes."),
                _("{spec}, {period} (published run {run})").format(
                    spec=view.evidence_source.spec_name,
                    period=view.evidence_source.period,
                    run=view.evidence_source.run_id,
                ),
                [False, True, False, False, True],
                small=True,
            )
        )
    doc.sections.append(beside)

    if view.initiatives:
        records = Section("initiatives", _("Initiatives and good practices"), new_page=False)
        records.table(
            Table(
                [_("Name"), _("Kind"), _("Domain"), _("Status"), _("Partners")],
                [
                    [
                        r.name.text(language),
                        kind_text(r.kind),
                        names.get(r.domain, r.domain),
                        status_text_plain(r.status),
                        r.partners,
                    ]
                    for r in view.initiatives
                ],
                _("Initiatives and good practices recorded for the city."),
                _("Balance of existing initiatives"),
                small=True,
            )
        )
        doc.sections.append(records)

    method = Section("method", _("How the scores are made"), new_page=False)
    method.p(
        _(
            "Each answer is worth 1 (yes), 0.5 (partly) or 0 (no); a scale answer is placed "
            "between its ends. A domain's score is the weighted mean of its answered questions "
            "times 100; 'not applicable' and unanswered questions are left out. A domain scoring "
            "{strength} or more is a strength, below {gap} a gap."
        ).format(
            strength=format_number(framework.scoring.strength, 0, language),
            gap=format_number(framework.scoring.gap, 0, language),
        )
    )
    method.p(source)
    doc.sections.append(method)
    return doc


@dataclass
class GovernanceReport:
    """What was written and how long each step took (seconds)."""

    path: Path
    pages: int | None
    timings: dict[str, float] = field(default_factory=dict)


def render_governance_html(
    engine: Engine, city: str, language: str = "es", assessment_id: int | None = None
) -> str:
    """The report as one self-contained HTML page (the web app serves it)."""
    from inclusive_cities.reports.render import to_html

    previous = current_language()
    chosen = use_language(language)
    try:
        view = governance_view(engine, city, chosen, assessment_id)
        return to_html(build_document(view, chosen))
    finally:
        use_language(previous)


def governance_report(
    engine: Engine,
    city: str,
    out: str | Path,
    language: str = "es",
    assessment_id: int | None = None,
) -> GovernanceReport:
    """Write the report to ``out`` (PDF or HTML by its extension)."""
    from inclusive_cities.reports.render import to_pdf

    out = Path(out)
    if out.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise ReportError(
            _("The output file must end in .pdf or .html, not '{name}'.").format(name=out.name)
        )
    started = time.perf_counter()
    page = render_governance_html(engine, city, language, assessment_id)
    timings = {"html": time.perf_counter() - started}
    if out.suffix.lower() == ".pdf":
        started = time.perf_counter()
        pages = to_pdf(page, out)
        timings["pdf"] = time.perf_counter() - started
        return GovernanceReport(out, pages, timings)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        raise ReportError(str(error)) from None
    return GovernanceReport(out, None, timings)
