"""Entry forms for an assessment: an XLSX template (es or en) and an XLSForm for KoBo.

Both are generated from the framework, so a new framework version gives new forms. The words
of the format (sheet names, column headers, answers) are fixed pairs in Spanish and English, not
catalogue messages: the importer accepts either language whatever the user's language is.
"""

from __future__ import annotations

from pathlib import Path

from inclusive_cities.governance.errors import GovernanceError
from inclusive_cities.governance.spec import Framework, Question
from inclusive_cities.i18n import gettext as _

LANGUAGES = ("es", "en")

SHEETS = {
    "meta": {"es": "Evaluación", "en": "Assessment"},
    "answers": {"es": "Respuestas", "en": "Answers"},
    "help": {"es": "Instrucciones", "en": "Instructions"},
}
META = {
    "framework": {"es": "marco", "en": "framework"},
    "date": {"es": "fecha", "en": "date"},
    "respondent": {"es": "persona que responde", "en": "respondent"},
    "title": {"es": "título", "en": "title"},
}
COLUMNS = {
    "code": {"es": "código", "en": "code"},
    "domain": {"es": "dominio", "en": "domain"},
    "subdomain": {"es": "subdominio", "en": "sub-domain"},
    "question": {"es": "pregunta", "en": "question"},
    "answer_type": {"es": "tipo de respuesta", "en": "answer type"},
    "evidence_required": {"es": "evidencia requerida", "en": "evidence required"},
    "answer": {"es": "respuesta", "en": "answer"},
    "evidence_text": {"es": "evidencia (texto)", "en": "evidence (text)"},
    "evidence_document": {"es": "documento", "en": "document"},
    "evidence_link": {"es": "enlace", "en": "link"},
}
ANSWER_WORDS = {
    "yes": {"es": "sí", "en": "yes"},
    "partly": {"es": "parcialmente", "en": "partly"},
    "no": {"es": "no", "en": "no"},
    "not_applicable": {"es": "no aplica", "en": "not applicable"},
}
YES_NO = {True: {"es": "sí", "en": "yes"}, False: {"es": "no", "en": "no"}}


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise GovernanceError(
            _("'{lang}' is not a template language: use es or en.").format(lang=lang)
        )
    return lang


def answer_word(answer: str, lang: str) -> str:
    """How ``answer`` (a canonical answer) is written in ``lang``."""
    return ANSWER_WORDS[answer][lang] if answer in ANSWER_WORDS else answer


def answer_type_text(question: Question, lang: str) -> str:
    if question.answer == "scale" and question.scale is not None:
        low, high = _number(question.scale.min), _number(question.scale.max)
        return {"es": f"escala {low}-{high}", "en": f"scale {low}-{high}"}[lang]
    words = [ANSWER_WORDS[a][lang] for a in ANSWER_WORDS]
    if not question.not_applicable:
        words = words[:-1]
    return " / ".join(words)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def write_template(framework: Framework, lang: str, path: Path | str) -> Path:
    """An XLSX workbook to fill in: the assessment's details, one row per question (with a
    drop-down of answers) and instructions, all in ``lang``."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    check_language(lang)
    book = Workbook()
    meta = book.active
    meta.title = SHEETS["meta"][lang]
    meta.append([{"es": "campo", "en": "field"}[lang], {"es": "valor", "en": "value"}[lang]])
    meta.append([META["framework"][lang], framework.label])
    meta.append([META["date"][lang], ""])
    meta.append([META["respondent"][lang], ""])
    meta.append([META["title"][lang], ""])
    meta.column_dimensions["A"].width = 26
    meta.column_dimensions["B"].width = 40

    sheet = book.create_sheet(SHEETS["answers"][lang])
    keys = list(COLUMNS)
    sheet.append([COLUMNS[key][lang] for key in keys])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    choice = DataValidation(
        type="list",
        formula1='"' + ",".join(ANSWER_WORDS[a][lang] for a in ANSWER_WORDS) + '"',
        allow_blank=True,
    )
    sheet.add_data_validation(choice)
    for row, (domain, sub, question) in enumerate(framework.walk(), start=2):
        values = {
            "code": question.code,
            "domain": domain.name.text(lang),
            "subdomain": sub.name.text(lang),
            "question": question.text.text(lang),
            "answer_type": answer_type_text(question, lang),
            "evidence_required": YES_NO[question.evidence_required][lang],
        }
        sheet.append([values.get(key, "") for key in keys])
        if question.answer != "scale":
            choice.add(f"G{row}")
    widths = {"A": 8, "B": 28, "C": 24, "D": 70, "E": 30, "F": 12, "G": 16, "H": 40}
    for column, width in widths.items():
        sheet.column_dimensions[column].width = width
    for cells in sheet.iter_rows(min_row=2, min_col=4, max_col=4):
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True)
    sheet.freeze_panes = "A2"

    notes = book.create_sheet(SHEETS["help"][lang])
    for line in _instructions(framework, lang):
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    book.active = 1
    target = Path(path)
    book.save(target)
    return target


def _instructions(framework: Framework, lang: str) -> list[str]:
    answers = ", ".join(ANSWER_WORDS[a][lang] for a in ANSWER_WORDS)
    return [
        framework.name.text(lang),
        _(
            "Fill in the date (YYYY-MM-DD) and who answered on the first sheet; keep the "
            "framework cell as it is.",
            lang,
        ),
        _(
            "On the answers sheet write one answer per question: {answers}, or a number for a "
            "scale question; leave it empty if it has not been answered yet.",
            lang,
        ).format(answers=answers),
        _(
            "Where evidence is required, a yes, partly or scale answer needs a text, a document "
            "or a link.",
            lang,
        ),
        _(
            "Import it with: inclusive-cities governance import FILE --city CODE (a city) or "
            "--country ISO3 (a country).",
            lang,
        ),
    ]


def xlsform_id(framework: Framework) -> str:
    """The form id of the framework's XLSForm (KoBo keeps it with every submission)."""
    return "governance_" + "".join(c if c.isalnum() else "_" for c in framework.label)


def _claims(question: Question) -> str:
    """An XLSForm expression: the answer claims something is in place (evidence needed)."""
    field = "${" + question.code + "}"
    if question.answer == "scale" and question.scale is not None:
        low = _number(question.scale.min)
        return f"{field} != '' and {field} != 'not_applicable' and {field} != '{low}'"
    return f"{field} = 'yes' or {field} = 'partly'"


def write_xlsform(framework: Framework, path: Path | str, default_lang: str = "es") -> Path:
    """An XLSForm (survey, choices, settings) with Spanish and English labels, for KoBo or ODK.

    Field names are the question codes (``R01``) with ``_evidence``, ``_document`` and
    ``_link`` for the evidence, plus ``framework``, ``assessed_on`` and ``respondent``: a KoBo
    export of it (XLSX, one row per submission) imports with ``governance import``.
    """
    from openpyxl import Workbook

    check_language(default_lang)
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    header = ["type", "name", "label::Español (es)", "label::English (en)", "required"]
    survey.append([*header, "calculation"])
    # kept with every submission, so an export names the framework version it answered
    survey.append(["calculate", "framework", "", "", "", f"'{framework.label}'"])
    survey.append(
        ["date", "assessed_on", "Fecha de la evaluación", "Date of the assessment", "yes"]
    )
    survey.append(["text", "respondent", "Persona que responde", "Respondent", "yes"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::Español (es)", "label::English (en)"])
    for answer, words in ANSWER_WORDS.items():
        choices.append(["answer", answer, words["es"], words["en"]])
    for domain in framework.domains:
        survey.append(["begin_group", domain.code, domain.name.es, domain.name.en, ""])
        for sub in domain.subdomains:
            for question in sub.questions:
                kind = "select_one answer"
                if question.answer == "scale" and question.scale is not None:
                    kind = f"select_one scale_{question.code}"
                    low, high = int(question.scale.min), int(question.scale.max)
                    for step in range(low, high + 1):
                        label = question.scale.labels.get(step)
                        choices.append(
                            [
                                f"scale_{question.code}",
                                str(step),
                                f"{step} {label.es}" if label else str(step),
                                f"{step} {label.en}" if label else str(step),
                            ]
                        )
                    if question.not_applicable:
                        choices.append(
                            [
                                f"scale_{question.code}",
                                "not_applicable",
                                "no aplica",
                                "not applicable",
                            ]
                        )
                survey.append([kind, question.code, question.text.es, question.text.en, "yes"])
                survey.append(
                    [
                        "text",
                        f"{question.code}_evidence",
                        "Evidencia (texto)",
                        "Evidence (text)",
                        _claims(question) if question.evidence_required else "",
                        "",
                    ]
                )
                survey.append(
                    ["text", f"{question.code}_document", "Documento", "Document", "", ""]
                )
                survey.append(["text", f"{question.code}_link", "Enlace", "Link", "", ""])
        survey.append(["end_group", "", "", "", ""])
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(
        [
            framework.name.text(default_lang),
            xlsform_id(framework),
            framework.version,
            "Español (es)" if default_lang == "es" else "English (en)",
        ]
    )
    target = Path(path)
    book.save(target)
    return target
