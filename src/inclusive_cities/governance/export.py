"""An assessment's results as an XLSX workbook (summary, domains, questions, and optionally
the comparison with the country or with an earlier assessment), in Spanish or English."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from inclusive_cities.governance.assess import AssessmentResult
from inclusive_cities.governance.compare import Comparison
from inclusive_cities.governance.templates import check_language
from inclusive_cities.i18n import gettext as _


def _band(band: str | None, lang: str) -> str:
    return {
        "strength": _("strength", lang),
        "middle": _("middle", lang),
        "gap": _("gap", lang),
    }.get(band or "", "-")


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def export_xlsx(
    result: AssessmentResult,
    path: Path | str,
    lang: str = "es",
    comparisons: list[Comparison] | None = None,
) -> Path:
    """Write ``result`` (and each comparison that involves it) to ``path``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    check_language(lang)
    book = Workbook()
    summary = book.active
    summary.title = _("Summary", lang)[:31]
    info = result.info
    summary.append([_("Place", lang), info.place_label(lang)])
    summary.append([_("Date", lang), info.assessed_on.isoformat()])
    summary.append([_("Framework", lang), f"{info.framework_code}@{info.framework_version}"])
    summary.append([_("Respondent", lang), info.respondent])
    summary.append([_("Overall score (0-100)", lang), _round(result.overall)])
    summary.append([])
    summary.append([_("Strengths", lang)])
    for line in result.strengths(lang) or ["-"]:
        summary.append(["", line])
    summary.append([_("Gaps", lang)])
    for line in result.gaps(lang) or ["-"]:
        summary.append(["", line])
    summary.column_dimensions["A"].width = 26
    summary.column_dimensions["B"].width = 100

    domains = book.create_sheet(_("Domains", lang)[:31])
    domains.append(
        [
            _("Code", lang),
            _("Domain", lang),
            _("Score (0-100)", lang),
            _("Band", lang),
            _("Questions", lang),
            _("Answered", lang),
            _("Not applicable", lang),
        ]
    )
    for d in result.domains:
        domains.append(
            [
                d.code,
                d.name.text(lang),
                _round(d.score),
                _band(d.band, lang),
                d.questions,
                d.answered,
                d.not_applicable,
            ]
        )

    questions = book.create_sheet(_("Questions", lang)[:31])
    questions.append(
        [
            _("Code", lang),
            _("Domain", lang),
            _("Question", lang),
            _("Answer", lang),
            _("Score (0-100)", lang),
            _("Evidence", lang),
            _("Document", lang),
            _("Link", lang),
        ]
    )
    for q in result.questions:
        questions.append(
            [
                q.code,
                q.domain,
                q.text.text(lang),
                result.answer_label(q, lang),
                _round(None if q.value is None else 100 * q.value),
                q.evidence_text,
                q.evidence_document,
                q.evidence_link,
            ]
        )

    for comparison in comparisons or []:
        title = _("Local vs national", lang) if comparison.kind == "levels" else _("Changes", lang)
        sheet = book.create_sheet(title[:31])
        left, right = (
            (_("Local", lang), _("National", lang))
            if comparison.kind == "levels"
            else (_("After", lang), _("Before", lang))
        )
        for line in comparison.summary(lang):
            sheet.append([line])
        sheet.append([])
        sheet.append(
            [
                _("Code", lang),
                _("Domain", lang),
                left,
                right,
                _("Difference", lang),
                _("Status", lang),
            ]
        )
        for dc in comparison.domains:
            sheet.append(
                [
                    dc.code,
                    dc.name.text(lang),
                    _round(dc.left),
                    _round(dc.right),
                    _round(dc.difference),
                    comparison.status_label(dc.status, lang),
                ]
            )
        sheet.append([])
        sheet.append([_("Code", lang), _("Question", lang), left, right, _("Status", lang)])
        for qc in comparison.questions:
            left_answer, right_answer = comparison.answer_labels(qc, lang)
            sheet.append(
                [
                    qc.code,
                    qc.text.text(lang),
                    left_answer,
                    right_answer,
                    comparison.status_label(qc.status, lang),
                ]
            )
    for sheet in book.worksheets[1:]:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    target = Path(path)
    book.save(target)
    return target


def export_assessment(
    engine: Engine, assessment_id: int, path: Path | str, lang: str = "es"
) -> Path:
    """Export a stored assessment; a local one carries the comparison with the latest
    national assessment of its country when there is one."""
    from inclusive_cities.governance.assess import assessment_result, latest_assessment
    from inclusive_cities.governance.compare import compare_levels

    result = assessment_result(engine, assessment_id)
    comparisons = []
    if result.info.level == "local" and latest_assessment(engine, country=result.info.country):
        comparisons.append(compare_levels(engine, local_id=assessment_id))
    return export_xlsx(result, path, lang, comparisons)
