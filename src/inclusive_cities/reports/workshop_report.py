"""The record of a co-creation workshop (issue #17 §1): PDF (same SVG tree as the web) and XLSX.

Built from the store through the planning domain's public functions: participant counts only
as :func:`~inclusive_cities.planning.workshops.published_participants` publishes them, and
the evidence beside each claim as the web shows it (disclosure control applied).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from inclusive_cities.i18n import current_language, format_number, use_language
from inclusive_cities.i18n import gettext as _
from inclusive_cities.i18n.units import unit_label
from inclusive_cities.planning.problem_tree import tree_svg
from inclusive_cities.planning.workshop_evidence import Evidence, claim_evidence
from inclusive_cities.planning.workshop_templates import kind_names, nationality_names
from inclusive_cities.planning.workshops import (
    WorkshopData,
    load_workshop,
    published_participants,
    role_label,
)
from inclusive_cities.reports.document import Document, Figure, KeyFigure, Section, Table
from inclusive_cities.reports.errors import ReportError
from inclusive_cities.reports.labels import labels
from inclusive_cities.store import models, transaction

SUFFIXES = (".pdf", ".html", ".htm", ".xlsx")


@dataclass(frozen=True)
class WorkshopRecord:
    """What was written: the file, its pages (PDF only)."""

    path: Path
    pages: int | None


@dataclass
class _View:
    workshop: WorkshopData
    city_name: str
    synthetic: bool
    participants: pd.DataFrame
    evidence: list[Evidence]
    svg: str


def _view(engine: Engine, workshop_id: int, language: str, protect: bool) -> _View:
    with transaction(engine) as session:
        workshop = load_workshop(session, workshop_id)
        city = session.scalar(select(models.City).where(models.City.code == workshop.city_code))
        return _View(
            workshop=workshop,
            city_name=city.name if city else workshop.city_code,
            synthetic=bool(city.is_synthetic) if city else False,
            participants=published_participants(session, workshop_id),
            evidence=claim_evidence(
                session, workshop_id, lang=language, protect=protect, workshop=workshop
            ),
            svg=tree_svg(workshop, language),
        )


def _number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else format_number(value, digits)


def _interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "—"
    return f"[{format_number(low, 1)}; {format_number(high, 1)}]"


def _category(dimension: str, category: str, language: str) -> str:
    if category == "_T":
        return _("All participants")
    if category == "unknown":
        return _("not recorded")
    if dimension == "nationality":
        return nationality_names(language).get(category, category)
    if dimension == "sex":
        return {"F": _("Female"), "M": _("Male"), "other": _("Other")}.get(category, category)
    if dimension == "role":
        return role_label(category)
    return category


def participant_rows(frame: pd.DataFrame, language: str) -> list[list[str]]:
    """Published participant counts as table rows ('withheld' where suppressed).

    A hidden count is not labelled "fewer than 10": disclosure control also hides counts of
    10 or more so that a small one cannot be worked out, and telling the two apart would say
    which hidden counts are the small ones. The table's caption explains both."""
    dimensions = {
        "total": _("Total"),
        "sex": _("Sex"),
        "age_group": _("Age group"),
        "nationality": _("Nationality group"),
        "role": _("Role"),
    }
    return [
        [
            dimensions.get(row.dimension, row.dimension),
            _category(row.dimension, row.category, language),
            _("withheld") if row.status == "suppressed" else format_number(int(row.count), 0),
        ]
        for row in frame.itertuples()
    ]


def _with_unit(name: str, measure: str | None) -> str:
    """The indicator with its unit as every page writes it ('por 100.000 hab.', not the
    catalogue's 'per 100k'); a plain ratio has no unit to show."""
    if not measure or measure == "ratio":
        return name
    return f"{name} ({unit_label(measure)})"


def evidence_rows(evidence: list[Evidence]) -> list[list[str]]:
    """One row per claim × indicator: the neighbourhood, the city, the differential."""
    sources = {"census": _("census"), "survey": _("survey"), "": "—"}
    return [
        [
            f"{e.claim_code}: {e.claim_text}",
            _with_unit(e.indicator_name, e.unit_of_measure),
            f"{e.unit_code} {e.unit_name}".strip() or "—",
            _("withheld") if e.withheld else _number(e.unit_value),
            _number(e.city_value),
            _("withheld") if e.gap_withheld else _number(e.gap),
            _interval(e.gap_ci_low, e.gap_ci_high),
            sources.get(e.gap_source, e.gap_source),
        ]
        for e in evidence
    ]


def evidence_columns() -> list[str]:
    return [
        _("Claim"),
        _("Indicator"),
        _("Unit"),
        _("Neighbourhood value"),
        _("City value"),
        _("Gap (refugees and migrants − hosts)"),
        _("95% CI of the gap"),
        _("Source of the gap"),
    ]


def build_document(view: _View, language: str, today: date | None = None) -> Document:
    """The workshop record as report sections (header, tree, matrix, evidence)."""
    t = labels()
    w = view.workshop
    kinds = kind_names(language)
    doc = Document(
        kind="workshop",
        language=language,
        title=_("Co-creation workshop record"),
        subtitle=f"{w.title} · {view.city_name}",
        city_name=view.city_name,
        period_label=w.held_on.isoformat() if w.held_on else "—",
        generated=(today or date.today()).isoformat(),
        synthetic=view.synthetic,
        labels=t,
        cover_lines=[_("Workshop code") + ": " + w.code],
    )
    source = _("Workshop {code}, file {file}").format(code=w.code, file=w.source_file or "—")
    summary = Section("workshop", _("The workshop"), new_page=True)
    if view.synthetic:
        summary.note(t["synthetic_note"])
    place = ", ".join(p for p in (w.place_name, w.unit_code) if p) or "—"
    summary.key_figures(
        [
            KeyFigure(_("Date"), w.held_on.isoformat() if w.held_on else "—"),
            KeyFigure(_("Place"), place),
            KeyFigure(_("Thematic areas"), ", ".join(w.areas) or "—"),
            KeyFigure(_("Facilitators"), w.facilitators or "—"),
        ]
    )
    if w.notes:
        summary.p(w.notes)
    summary.table(
        Table(
            columns=[_("Split by"), _("Group"), _("Participants")],
            rows=participant_rows(view.participants, language),
            caption=_(
                "Participants (counts of fewer than 10 people, and any count that would let "
                "them be worked out, are withheld)"
            ),
            source=source,
            numeric=[False, False, True],
            small=True,
        )
    )
    doc.sections.append(summary)
    tree = Section("tree", _("Problem tree"), new_page=True)
    uri = "data:image/svg+xml;base64," + base64.b64encode(view.svg.encode("utf-8")).decode()
    tree.figure(Figure(uri=uri, caption=_("Problem tree"), source=source, wide=True))
    by_code = {n.code: n for n in w.nodes}
    tree.table(
        Table(
            columns=[_("Code"), _("Kind"), _("Hangs from"), _("Text"), _("Linked to")],
            rows=[
                [
                    n.code,
                    kinds[n.kind],
                    n.parent or "—",
                    n.text,
                    ", ".join([*n.indicators, *n.units, *n.areas, *n.dimensions]) or "—",
                ]
                for n in sorted(w.nodes, key=lambda n: (n.kind != "central", n.position))
                if n.code in by_code
            ],
            caption=_("Nodes of the problem tree"),
            source=source,
            small=True,
        )
    )
    doc.sections.append(tree)
    matrix = Section("matrix", _("Systematisation matrix"), new_page=True)
    for area in dict.fromkeys(r.area for r in w.matrix):
        rows = [r for r in w.matrix if r.area == area]
        rows.sort(key=lambda r: (list(kinds).index(r.kind), r.position))
        matrix.table(
            Table(
                columns=[
                    _("Matrix column"),
                    _("Code"),
                    _("Text"),
                    _("Evidence"),
                    _("Solutions proposed"),
                ],
                rows=[
                    [
                        kinds[r.kind],
                        r.code,
                        r.text,
                        ", ".join([*r.indicators, *r.units]) or "—",
                        ", ".join(r.solutions) or "—",
                    ]
                    for r in rows
                ],
                caption=_("Thematic area {area}").format(area=area),
                source=source,
                small=True,
            )
        )
    if not w.matrix:
        matrix.missing(_("This workshop has no systematisation matrix."))
    doc.sections.append(matrix)
    evidence = Section("evidence", _("Evidence beside each claim"), new_page=True)
    evidence.p(
        _(
            "For each cause or demand linked to an indicator: the value in the workshop's "
            "neighbourhood against the city (units of the coarsest level pooled by their "
            "denominators), and the gap between refugees and migrants and the host "
            "population. A census gap has no sampling error; a survey gap carries the "
            "survey's 95% confidence interval."
        )
    )
    if view.evidence:
        evidence.table(
            Table(
                columns=evidence_columns(),
                rows=evidence_rows(view.evidence),
                caption=_("Evidence beside each claim"),
                source=_("Observatory store, latest period with data"),
                numeric=[False, False, False, True, True, True, False, False],
                small=True,
            )
        )
    else:
        evidence.missing(_("No cause or demand of this workshop is linked to an indicator."))
    doc.sections.append(evidence)
    return doc


def record_tables(view: _View, language: str) -> dict[str, pd.DataFrame]:
    """The record's tables for the XLSX (column headers in the language)."""
    w = view.workshop
    kinds = kind_names(language)
    return {
        _("Participants"): pd.DataFrame(
            participant_rows(view.participants, language),
            columns=[_("Split by"), _("Group"), _("Participants")],
        ),
        _("Problem tree"): pd.DataFrame(
            [
                [
                    n.code,
                    kinds[n.kind],
                    n.parent or "",
                    n.text,
                    ", ".join(n.indicators),
                    ", ".join(n.units),
                    ", ".join(n.areas),
                    ", ".join(n.dimensions),
                ]
                for n in w.nodes
            ],
            columns=[
                _("Code"),
                _("Kind"),
                _("Hangs from"),
                _("Text"),
                _("Indicators"),
                _("Units"),
                _("Areas"),
                _("Dimensions"),
            ],
        ),
        _("Matrix"): pd.DataFrame(
            [
                [
                    r.area,
                    kinds[r.kind],
                    r.code,
                    r.text,
                    ", ".join(r.indicators),
                    ", ".join(r.units),
                    ", ".join(r.solutions),
                ]
                for r in w.matrix
            ],
            columns=[
                _("Area"),
                _("Matrix column"),
                _("Code"),
                _("Text"),
                _("Indicators"),
                _("Units"),
                _("Solutions proposed"),
            ],
        ),
        _("Evidence"): pd.DataFrame(evidence_rows(view.evidence), columns=evidence_columns()),
    }


def render_workshop_html(
    engine: Engine, workshop_id: int, language: str = "es", protect: bool = True
) -> str:
    """The record as one self-contained HTML page."""
    from inclusive_cities.reports.render import to_html

    previous = current_language()
    chosen = use_language(language)
    try:
        return to_html(build_document(_view(engine, workshop_id, chosen, protect), chosen))
    finally:
        use_language(previous)


def workshop_record(
    engine: Engine,
    workshop_id: int,
    out: str | Path,
    language: str = "es",
    protect: bool = True,
) -> WorkshopRecord:
    """Write the workshop record to ``out``: PDF, HTML or XLSX by its extension."""
    from inclusive_cities.reports.render import to_pdf, write_annex

    out = Path(out)
    if out.suffix.lower() not in SUFFIXES:
        raise ReportError(
            _("The output file must end in .pdf, .html or .xlsx, not '{name}'.").format(
                name=out.name
            )
        )
    if out.suffix.lower() == ".xlsx":
        previous = current_language()
        chosen = use_language(language)
        try:
            view = _view(engine, workshop_id, chosen, protect)
            w = view.workshop
            about = {
                _("Workshop code"): w.code,
                _("Title"): w.title,
                _("Date"): w.held_on.isoformat() if w.held_on else "",
                _("Place"): ", ".join(p for p in (w.place_name, w.unit_code) if p),
                _("Thematic areas"): ", ".join(w.areas),
                _("Facilitators"): w.facilitators,
                _("Source"): w.source_file,
            }
            write_annex(record_tables(view, chosen), out, about)
        finally:
            use_language(previous)
        return WorkshopRecord(out, None)
    page = render_workshop_html(engine, workshop_id, language, protect)
    if out.suffix.lower() == ".pdf":
        return WorkshopRecord(out, to_pdf(page, out))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        raise ReportError(str(error)) from None
    return WorkshopRecord(out, None)
