"""Import an assessment from the XLSX template (es or en) or a KoBo export of the XLSForm.

The whole file is read and checked before the store is touched; then one transaction stores
the framework version (once), the assessment and its answers, and, for a city, the marker's
``migration_governance_score`` (:func:`inclusive_cities.governance.marker_link.sync_city`).
Re-importing the same place and date replaces the earlier assessment. Every problem is one line
naming the file, sheet, row, column and value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.governance.errors import GovernanceError
from inclusive_cities.governance.scoring import Answer, score
from inclusive_cities.governance.spec import Framework, builtin_frameworks, load_framework
from inclusive_cities.governance.templates import ANSWER_WORDS, COLUMNS, META, SHEETS
from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _
from inclusive_cities.progress import ProgressCallback, quiet_progress
from inclusive_cities.store import models, transaction

KOBO_DATE = "assessed_on"


@dataclass(frozen=True)
class ParsedAssessment:
    """One assessment as read from a file, checked against its framework."""

    framework: Framework
    assessed_on: date
    respondent: str
    title: str
    answers: list[Answer]
    source: str


@dataclass(frozen=True)
class ImportSummary:
    """What an import did; shaped like the importers' reports (``summary_lines``,
    ``rows_accepted``...) so the CLI and the web's jobs show it the same way."""

    assessment_ids: list[int]
    level: str
    place: str
    answered: int
    questions: int
    overall: float | None
    replaced: int
    marker_values: int
    file: str = ""
    problems: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    """Published layers and marker runs the new score changed or left out of date."""
    periods: tuple[str, ...] = ()
    """The observatory's periods whose migration_governance_score this assessment gives."""
    local: bool = False
    """A city's assessment (a national one gives the marker nothing)."""

    @property
    def rows_read(self) -> int:
        return self.questions

    @property
    def rows_accepted(self) -> int:
        return self.answered

    @property
    def rows_rejected(self) -> int:
        """Always 0: a file with any bad row is refused as a whole."""
        return 0

    def summary_lines(self, lang: str | None = None) -> list[str]:
        """The end-of-import summary, translated."""
        from inclusive_cities.i18n import current_language
        from inclusive_cities.mobility.schema import country_name

        level = _("local", lang) if self.level == "local" else _("national", lang)
        place = (
            self.place
            if self.level == "local"
            else country_name(self.place, lang or current_language())
        )
        lines = [
            _(
                "{file}: {count} assessment(s) of {place} ({level}): {answered} of {questions} "
                "questions answered, overall score {score}; {replaced} replaced.",
                lang,
            ).format(
                file=self.file,
                count=len(self.assessment_ids),
                place=place,
                level=level,
                answered=self.answered,
                questions=self.questions,
                score="-" if self.overall is None else format_number(self.overall, 1, lang),
                replaced=self.replaced,
            )
        ]
        if self.periods:
            lines.append(
                _(
                    "The marker indicator migration_governance_score takes this score in "
                    "{periods}.",
                    lang,
                ).format(periods=", ".join(self.periods))
            )
        elif self.local:
            # dated after every period the observatory holds (or before the first): the
            # marker keeps an earlier assessment's score, and saying "now takes" misled
            lines.append(
                _(
                    "No period of the observatory takes this score yet: a period's score is "
                    "the latest assessment made by its end, and every period ends before this "
                    "one was made. It will apply to the first period that ends after it.",
                    lang,
                )
            )
        return lines + list(self.stale)


def _plain(text: str) -> str:
    """Lower case, no accents, single spaces: how answers and headers are compared."""
    decomposed = unicodedata.normalize("NFKD", str(text).strip().lower())
    return re.sub(r"\s+", " ", "".join(c for c in decomposed if not unicodedata.combining(c)))


_ANSWERS = {
    **{_plain(word): answer for answer, words in ANSWER_WORDS.items() for word in words.values()},
    "si": "yes",
    "parcial": "partly",
    "partially": "partly",
    "n/a": "not_applicable",
    "na": "not_applicable",
    "no aplicable": "not_applicable",
    "not_applicable": "not_applicable",
}
_COLUMNS = {_plain(text): key for key, texts in COLUMNS.items() for text in texts.values()}
_META = {_plain(text): key for key, texts in META.items() for text in texts.values()}


def _where(file: str, sheet: str, row: int, column: str) -> str:
    return _("{file}, sheet '{sheet}', row {row}, column '{column}'").format(
        file=file, sheet=sheet, row=row, column=column
    )


def _locator(file: str, sheet: str, row: int, headers: dict[str, str]) -> Callable[[str], str]:
    """Where a problem in this row is, by column key (for :func:`_parse_answer`)."""

    def where(key: str) -> str:
        return _where(file, sheet, row, headers.get(key, key))

    return where


def _date(text: str) -> date | None:
    text = text.strip()
    for candidate in (text[:10], text):
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            continue
    for pattern in ("%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


FrameworkResolver = Callable[[str], Framework | None]


def resolve_framework(label: str, engine: Engine | None = None) -> Framework | None:
    """The framework named ``code@version``: a built-in file, else the copy in the store."""
    code, _sep, version = label.strip().partition("@")
    builtins = builtin_frameworks()
    for name in (label.strip(), code):
        if name in builtins:
            framework = load_framework(name)
            if framework.code == code and (not version or framework.version == version):
                return framework
    if engine is None:
        return None
    with Session(engine) as session:
        row = session.scalar(
            select(models.GovernanceFramework)
            .where(models.GovernanceFramework.code == code)
            .where(models.GovernanceFramework.version == version)
        )
        return Framework.model_validate(row.spec) if row is not None else None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _parse_answer(
    framework: Framework,
    code: str,
    raw: str,
    evidence: tuple[str, str, str],
    where: Callable[[str], str],
) -> Answer | None:
    """One answer checked against its question; None when left empty. ``where(column)`` says
    where a problem is (``answer`` or ``evidence_text``), for the one-line error."""
    question = framework.question(code)
    if not raw:
        return None
    word = _plain(raw)
    canonical = _ANSWERS.get(word)
    value: float | None = None
    if question.answer == "scale" and canonical != "not_applicable":
        scale = question.scale
        assert scale is not None
        try:
            value = float(word.replace(",", "."))
        except ValueError:
            value = None
        if value is None or not scale.min <= value <= scale.max:
            raise GovernanceError(
                _(
                    "{where}: '{value}' is not an answer to {code}, a scale question: write a "
                    "number from {low:g} to {high:g}{na}."
                ).format(
                    where=where("answer"),
                    value=raw,
                    code=code,
                    low=scale.min,
                    high=scale.max,
                    na=_(" or 'not applicable'") if question.not_applicable else "",
                )
            )
        canonical = "scale"
    elif canonical is None:
        raise GovernanceError(
            _(
                "{where}: '{value}' is not an answer to {code}: write yes, partly, no or not "
                "applicable (sí, parcialmente, no, no aplica), or leave it empty."
            ).format(where=where("answer"), value=raw, code=code)
        )
    if canonical == "not_applicable" and not question.not_applicable:
        raise GovernanceError(
            _(
                "{where}: question {code} must be answered ('not applicable' is not allowed for "
                "it)."
            ).format(where=where("answer"), code=code)
        )
    text, document, link = evidence
    if link and not re.fullmatch(r"https?://\S+", link):
        raise GovernanceError(
            _(
                "{where}: '{value}' is not a web link: write it whole, starting with https:// "
                "(or put a document's name in the document column)."
            ).format(where=where("evidence_link"), value=link)
        )
    claims = canonical in ("yes", "partly") or (
        canonical == "scale" and question.scale is not None and value != question.scale.min
    )
    if question.evidence_required and claims and not (text or document or link):
        raise GovernanceError(
            _(
                "{where}: question {code} requires evidence for the answer '{value}': write a "
                "text, a document name or a link."
            ).format(where=where("evidence_text"), code=code, value=raw)
        )
    return Answer(code, canonical, value, text, document, link)


def _open(path: Path):  # type: ignore[no-untyped-def]
    import openpyxl

    try:
        return openpyxl.load_workbook(path, data_only=True, read_only=True)
    except Exception as error:  # openpyxl raises many kinds (XML ParseError, KeyError...)
        raise GovernanceError(
            _(
                "{file} cannot be opened as an Excel workbook ({reason}): save it again as .xlsx."
            ).format(file=path.name, reason=str(error).splitlines()[0] if str(error) else "?")
        ) from error


def read_assessment_file(
    path: Path | str, resolver: FrameworkResolver, framework: Framework | None = None
) -> list[ParsedAssessment]:
    """Every assessment in a template workbook (one) or a KoBo export (one per row)."""
    path = Path(path)
    if not path.is_file():
        raise GovernanceError(_("File {path} does not exist: check the path.").format(path=path))
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise GovernanceError(
            _(
                "{file} is not an .xlsx workbook: fill in the template from 'inclusive-cities "
                "governance template' or export the KoBo form as XLSX."
            ).format(file=path.name)
        )
    book = _open(path)
    try:
        names = {_plain(name): name for name in book.sheetnames}
        answers_sheet = next(
            (names[_plain(n)] for n in SHEETS["answers"].values() if _plain(n) in names), None
        )
        if answers_sheet is None:
            return _read_kobo(book, path.name, resolver, framework)
        meta_sheet = next(
            (names[_plain(n)] for n in SHEETS["meta"].values() if _plain(n) in names), None
        )
        if meta_sheet is None:
            raise GovernanceError(
                _(
                    "{file} has an answers sheet but no sheet '{es}' or '{en}' with the "
                    "framework and date: start again from the template."
                ).format(file=path.name, es=SHEETS["meta"]["es"], en=SHEETS["meta"]["en"])
            )
        return [_read_template(book, path.name, meta_sheet, answers_sheet, resolver, framework)]
    finally:
        book.close()


def _framework_for(
    label: str,
    where: str,
    resolver: FrameworkResolver,
    framework: Framework | None,
) -> Framework:
    if framework is not None:
        if label and label != framework.label:
            raise GovernanceError(
                _(
                    "{where}: the file answers framework '{label}' but {given} was given: import "
                    "it with the framework it was made from."
                ).format(where=where, label=label, given=framework.label)
            )
        return framework
    found = resolver(label) if label else None
    if found is None:
        raise GovernanceError(
            _(
                "{where}: '{label}' is not a known framework (code@version): keep the cell the "
                "template was made with, or give the framework file with --framework."
            ).format(where=where, label=label)
        )
    return found


def _read_template(
    book,  # type: ignore[no-untyped-def]
    file: str,
    meta_sheet: str,
    answers_sheet: str,
    resolver: FrameworkResolver,
    framework: Framework | None,
) -> ParsedAssessment:
    meta: dict[str, tuple[str, int]] = {}
    for number, row in enumerate(book[meta_sheet].iter_rows(values_only=True), start=1):
        pair = [_cell(v) for v in row] + ["", ""]
        key = _META.get(_plain(pair[0]))
        if key:
            meta[key] = (pair[1], number)
    value_column = {"es": "valor", "en": "value"}
    column_name = (
        value_column["es"]
        if _plain(meta_sheet) == _plain(SHEETS["meta"]["es"])
        else (value_column["en"])
    )
    label, label_row = meta.get("framework", ("", 2))
    chosen = _framework_for(
        label, _where(file, meta_sheet, label_row, column_name), resolver, framework
    )
    raw_date, date_row = meta.get("date", ("", 3))
    assessed_on = _date(raw_date)
    if assessed_on is None:
        raise GovernanceError(
            _(
                "{where}: '{value}' is not a date: write the assessment's date as YYYY-MM-DD."
            ).format(where=_where(file, meta_sheet, date_row, column_name), value=raw_date)
        )
    rows = book[answers_sheet].iter_rows(values_only=True)
    header = [_cell(v) for v in next(rows, ())]
    keys = [_COLUMNS.get(_plain(h), "") for h in header]
    headers = {key: header[i] for i, key in enumerate(keys) if key}
    for needed in ("code", "answer"):
        if needed not in headers:
            raise GovernanceError(
                _(
                    "{file}, sheet '{sheet}', row 1: there is no column '{es}' or '{en}': keep "
                    "the template's header row."
                ).format(
                    file=file,
                    sheet=answers_sheet,
                    es=COLUMNS[needed]["es"],
                    en=COLUMNS[needed]["en"],
                )
            )
    for optional in ("evidence_text", "evidence_document", "evidence_link"):
        headers.setdefault(optional, COLUMNS[optional]["en"])
    known = {q.code for q in chosen.questions()}
    answers: list[Answer] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):
        cells = {key: _cell(v) for key, v in zip(keys, row, strict=False) if key}
        code = cells.get("code", "")
        if not code and not any(cells.get(k) for k in ("answer", "evidence_text")):
            continue
        if code not in known:
            raise GovernanceError(
                _(
                    "{where}: '{value}' is not a question of framework {framework}: keep the "
                    "codes of the template."
                ).format(
                    where=_where(file, answers_sheet, number, headers["code"]),
                    value=code,
                    framework=chosen.label,
                )
            )
        if code in seen:
            raise GovernanceError(
                _(
                    "{where}: question '{value}' is answered twice (also row {other}); keep one."
                ).format(
                    where=_where(file, answers_sheet, number, headers["code"]),
                    value=code,
                    other=seen[code],
                )
            )
        seen[code] = number
        answer = _parse_answer(
            chosen,
            code,
            cells.get("answer", ""),
            (
                cells.get("evidence_text", ""),
                cells.get("evidence_document", ""),
                cells.get("evidence_link", ""),
            ),
            _locator(file, answers_sheet, number, headers),
        )
        if answer is not None:
            answers.append(answer)
    respondent = meta.get("respondent", ("", 0))[0]
    title = meta.get("title", ("", 0))[0]
    return ParsedAssessment(chosen, assessed_on, respondent, title, answers, file)


def _read_kobo(
    book,  # type: ignore[no-untyped-def]
    file: str,
    resolver: FrameworkResolver,
    framework: Framework | None,
) -> list[ParsedAssessment]:
    sheet = book.sheetnames[0]
    rows = book[sheet].iter_rows(values_only=True)
    header = [_cell(v) for v in next(rows, ())]
    # KoBo names grouped fields "GROUP/FIELD"; the field name is what the XLSForm gave
    names = [h.rsplit("/", 1)[-1] for h in header]
    if KOBO_DATE not in names:
        raise GovernanceError(
            _(
                "{file}, sheet '{sheet}': this is neither the governance template (no sheet "
                "'{answers}') nor a KoBo export of the governance form (no column '{column}')."
            ).format(file=file, sheet=sheet, answers=SHEETS["answers"]["en"], column=KOBO_DATE)
        )
    label = ""
    if "framework" in names:
        first = next(book[sheet].iter_rows(min_row=2, max_row=2, values_only=True), ())
        label = _cell(first[names.index("framework")]) if first else ""
    fallback = "" if framework is not None else "mgi-demo"
    chosen = _framework_for(label or fallback, f"{file}, sheet '{sheet}'", resolver, framework)
    parsed: list[ParsedAssessment] = []
    for number, row in enumerate(rows, start=2):
        cells = {name: _cell(v) for name, v in zip(names, row, strict=False)}
        if not any(cells.values()):
            continue
        assessed_on = _date(cells.get(KOBO_DATE, ""))
        if assessed_on is None:
            raise GovernanceError(
                _(
                    "{where}: '{value}' is not a date: write the assessment's date as YYYY-MM-DD."
                ).format(
                    where=_where(file, sheet, number, KOBO_DATE), value=cells.get(KOBO_DATE, "")
                )
            )
        answers: list[Answer] = []
        for question in chosen.questions():
            code = question.code
            headers = {"answer": code, "evidence_text": f"{code}_evidence", "code": code}
            answer = _parse_answer(
                chosen,
                code,
                cells.get(code, ""),
                (
                    cells.get(f"{code}_evidence", ""),
                    cells.get(f"{code}_document", ""),
                    cells.get(f"{code}_link", ""),
                ),
                _locator(file, sheet, number, headers),
            )
            if answer is not None:
                answers.append(answer)
        parsed.append(
            ParsedAssessment(chosen, assessed_on, cells.get("respondent", ""), "", answers, file)
        )
    if not parsed:
        raise GovernanceError(
            _("{file}, sheet '{sheet}': the export has no submissions.").format(
                file=file, sheet=sheet
            )
        )
    return parsed


def _framework_row(session: Session, framework: Framework) -> models.GovernanceFramework:
    """The stored copy of this framework version (created on first use)."""
    row = session.scalar(
        select(models.GovernanceFramework)
        .where(models.GovernanceFramework.code == framework.code)
        .where(models.GovernanceFramework.version == framework.version)
    )
    if row is None:
        row = models.GovernanceFramework(
            code=framework.code,
            version=framework.version,
            name_es=framework.name.es,
            name_en=framework.name.en,
            spec=framework.model_dump(mode="json"),
            spec_hash=framework.hash,
        )
        session.add(row)
        session.flush()
    elif row.spec_hash != framework.hash:
        raise GovernanceError(
            _(
                "Framework {label} is already in the observatory with other questions or "
                "weights: give the changed framework a new 'version' so that earlier "
                "assessments keep theirs."
            ).format(label=framework.label)
        )
    return row


def _place(
    session: Session, city: str | None, country: str | None, file: str
) -> tuple[str, str, models.City | None, str]:
    """(level, place, city row, country) from the --city / --country choice."""
    if bool(city) == bool(country):
        raise GovernanceError(
            _(
                "{file}: say whose assessment this is with --city CODE (local) or --country "
                "ISO3 (national), not both."
            ).format(file=file)
        )
    if city:
        row = session.scalar(select(models.City).where(models.City.code == city))
        if row is None:
            raise GovernanceError(
                _(
                    "{file}: city {city} is not in the observatory: import its boundaries first, "
                    "or check the code ('inclusive-cities info')."
                ).format(file=file, city=city)
            )
        return "local", row.code, row, row.country
    code = str(country).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise GovernanceError(
            _("'{country}' is not an ISO 3166 alpha-3 country code (such as COL or PER).").format(
                country=country
            )
        )
    return "national", code, None, code


def store_assessment(
    session: Session,
    parsed: ParsedAssessment,
    level: str,
    place: str,
    city: models.City | None,
    country: str,
    batch: models.ImportBatch | None,
) -> tuple[models.GovernanceAssessment, bool]:
    """Write one assessment; the same place and date is replaced in place (its id stays, so
    links to it keep working; its answers and import batch are replaced). True when replaced."""
    from sqlalchemy import delete

    framework_row = _framework_row(session, parsed.framework)
    row = session.scalar(
        select(models.GovernanceAssessment)
        .where(models.GovernanceAssessment.level == level)
        .where(models.GovernanceAssessment.place == place)
        .where(models.GovernanceAssessment.assessed_on == parsed.assessed_on)
    )
    replaced = row is not None
    if row is None:
        row = models.GovernanceAssessment(level=level, place=place, assessed_on=parsed.assessed_on)
        session.add(row)
    else:
        session.execute(
            delete(models.GovernanceAnswer).where(models.GovernanceAnswer.assessment_id == row.id)
        )
        previous = session.get(models.ImportBatch, row.batch_id) if row.batch_id else None
        if previous is not None and batch is not None and previous.id != batch.id:
            previous.status = "replaced"
            batch.replaces_id = previous.id
    row.framework_id = framework_row.id
    row.city_id = city.id if city else None
    row.country = country
    row.respondent = parsed.respondent
    row.title = parsed.title
    row.overall_score = score(parsed.framework, parsed.answers).overall
    row.source_file = parsed.source
    row.batch_id = batch.id if batch else None
    session.flush()
    session.add_all(
        models.GovernanceAnswer(
            assessment_id=row.id,
            question_code=answer.question,
            answer=answer.answer,
            value=answer.value,
            evidence_text=answer.evidence_text,
            evidence_document=answer.evidence_document,
            evidence_link=answer.evidence_link,
        )
        for answer in parsed.answers
    )
    session.flush()
    return row, replaced


def import_assessment(
    engine: Engine,
    path: Path | str,
    *,
    city: str | None = None,
    country: str | None = None,
    framework: Framework | str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import the template (or KoBo export) at ``path`` as the assessment of ``city`` (local)
    or ``country`` (national), in one transaction."""
    progress = progress or quiet_progress
    from inclusive_cities.governance.marker_link import stale_notes, sync_city_changes
    from inclusive_cities.ingest.common import sha256_file

    path = Path(path)
    given = load_framework(framework) if framework is not None else None
    progress(_("Reading {file}").format(file=path.name), 0, 2)
    parsed = read_assessment_file(path, lambda label: resolve_framework(label, engine), given)
    progress(_("Storing the assessment"), 1, 2)
    with transaction(engine) as session:
        level, place, city_row, country_code = _place(session, city, country, path.name)
        total = sum(len(p.framework.questions()) for p in parsed)
        answered = sum(len(p.answers) for p in parsed)
        batch = models.ImportBatch(
            kind="governance_assessment",
            file_name=path.name,
            sha256=sha256_file(path),
            city_id=city_row.id if city_row else None,
            rows_read=total,
            rows_accepted=answered,
            rows_rejected=0,
            details={"level": level, "place": place},
        )
        session.add(batch)
        session.flush()
        ids: list[int] = []
        replaced = 0
        overall: float | None = None
        for item in parsed:
            row, was_replaced = store_assessment(
                session, item, level, place, city_row, country_code, batch
            )
            ids.append(row.id)
            replaced += int(was_replaced)
            overall = row.overall_score
        marker_values, notes, periods = 0, [], []
        if city_row is not None:
            marker_values, changed, by_assessment = sync_city_changes(session, city_row)
            notes = stale_notes(session, city_row, changed)
            periods = sorted({p for i in ids for p in by_assessment.get(i, [])})
    progress(_("Storing the assessment"), 2, 2)
    return ImportSummary(
        ids,
        level,
        place,
        answered,
        total,
        overall,
        replaced,
        marker_values,
        path.name,
        stale=tuple(notes),
        periods=tuple(periods),
        local=city_row is not None,
    )


def set_answer(
    engine: Engine,
    assessment_id: int,
    question_code: str,
    answer: str,
    *,
    evidence_text: str | None = None,
    evidence_document: str | None = None,
    evidence_link: str | None = None,
    respondent: str | None = None,
) -> float | None:
    """Change one answer of a stored assessment (the web admin's edit), checked like a
    template row; an empty answer removes it. The overall score and, for a city, the marker's
    value are updated in the same transaction. Returns the new overall score."""
    from inclusive_cities.governance.marker_link import sync_city

    with transaction(engine) as session:
        row = session.get(models.GovernanceAssessment, assessment_id)
        if row is None:
            raise GovernanceError(
                _(
                    "There is no governance assessment {id}: see 'inclusive-cities governance "
                    "list'."
                ).format(id=assessment_id)
            )
        stored = session.get(models.GovernanceFramework, row.framework_id)
        assert stored is not None
        framework = Framework.model_validate(stored.spec)
        if question_code not in {q.code for q in framework.questions()}:
            raise GovernanceError(
                _("The framework {framework} has no question '{code}'.").format(
                    framework=framework.label, code=question_code
                )
            )
        old = session.scalar(
            select(models.GovernanceAnswer).where(
                models.GovernanceAnswer.assessment_id == row.id,
                models.GovernanceAnswer.question_code == question_code,
            )
        )

        def keep(new: str | None, current: str) -> str:
            return (new if new is not None else current).strip()

        evidence = (
            keep(evidence_text, old.evidence_text if old else ""),
            keep(evidence_document, old.evidence_document if old else ""),
            keep(evidence_link, old.evidence_link if old else ""),
        )
        parsed = _parse_answer(
            framework,
            question_code,
            str(answer or "").strip(),
            evidence,
            lambda _key: _("Assessment {id}, question {code}").format(
                id=assessment_id, code=question_code
            ),
        )
        if old is not None:
            session.delete(old)
            session.flush()
        if parsed is not None:
            session.add(
                models.GovernanceAnswer(
                    assessment_id=row.id,
                    question_code=question_code,
                    answer=parsed.answer,
                    value=parsed.value,
                    evidence_text=parsed.evidence_text,
                    evidence_document=parsed.evidence_document,
                    evidence_link=parsed.evidence_link,
                )
            )
        if respondent is not None:
            row.respondent = respondent.strip()
        session.flush()
        answers = [
            Answer(a.question_code, a.answer, a.value)
            for a in session.scalars(
                select(models.GovernanceAnswer).where(
                    models.GovernanceAnswer.assessment_id == row.id
                )
            )
        ]
        row.overall_score = score(framework, answers).overall
        session.flush()
        if row.city_id is not None:
            city = session.get(models.City, row.city_id)
            if city is not None:
                sync_city(session, city)
        return row.overall_score
