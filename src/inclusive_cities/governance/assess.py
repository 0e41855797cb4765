"""Read assessments from the store and score them with the framework version they answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from inclusive_cities.governance.errors import GovernanceError
from inclusive_cities.governance.scoring import Answer, DomainResult, QuestionResult, Scores, score
from inclusive_cities.governance.spec import Framework
from inclusive_cities.governance.templates import answer_word
from inclusive_cities.i18n import current_language, format_number
from inclusive_cities.i18n import gettext as _
from inclusive_cities.store import models


@dataclass(frozen=True)
class AssessmentInfo:
    id: int
    framework_code: str
    framework_version: str
    level: str
    """``local`` (a city) or ``national`` (a country)."""
    city: str | None
    city_name: str
    country: str
    assessed_on: date
    respondent: str
    title: str
    overall: float | None

    @property
    def place(self) -> str:
        return self.city or self.country

    def place_label(self, lang: str | None = None) -> str:
        """ "Ciudad Demo (local)" / "Colombia (national)" (default: the current language)."""
        from inclusive_cities.mobility.schema import country_name

        level = _("local", lang) if self.level == "local" else _("national", lang)
        if self.level == "local":
            name = self.city_name or self.place
        else:
            name = country_name(self.country, lang or current_language())
        return f"{name} ({level})"


@dataclass(frozen=True)
class AssessmentResult:
    """An assessment with every score (see :mod:`inclusive_cities.governance.scoring`)."""

    info: AssessmentInfo
    scores: Scores

    @property
    def framework(self) -> Framework:
        return self.scores.framework

    @property
    def overall(self) -> float | None:
        return self.scores.overall

    @property
    def domains(self) -> list[DomainResult]:
        return self.scores.domains

    @property
    def questions(self) -> list[QuestionResult]:
        return self.scores.questions

    def strengths(self, lang: str = "en") -> list[str]:
        return self.scores.strengths(lang)

    def gaps(self, lang: str = "en") -> list[str]:
        return self.scores.gaps(lang)

    def answer_label(self, question: QuestionResult, lang: str = "en") -> str:
        """The answer as a reader sees it: "Sí", "Parcialmente", "3 / 4", "-"."""
        return answer_text(self.framework, question, lang)


def answer_text(framework: Framework, question: QuestionResult, lang: str) -> str:
    if question.answer == "scale" and question.scale_value is not None:
        scale = framework.question(question.code).scale
        high = format_number(scale.max, 0, lang) if scale else "?"
        value = float(question.scale_value)
        # a half point (3,5 between 3 and 4) is an answer too: never round it to 4
        digits = 0 if value.is_integer() else 2 if (value * 10) % 1 else 1
        return f"{format_number(value, digits, lang)} / {high}"
    if not question.answer:
        return "-"
    word = answer_word(question.answer, lang)
    return word[:1].upper() + word[1:]


def _info(row: models.GovernanceAssessment, fw: models.GovernanceFramework, city: str, name: str):  # type: ignore[no-untyped-def]
    return AssessmentInfo(
        id=row.id,
        framework_code=fw.code,
        framework_version=fw.version,
        level=row.level,
        city=city or None,
        city_name=name,
        country=row.country,
        assessed_on=row.assessed_on,
        respondent=row.respondent,
        title=row.title,
        overall=row.overall_score,
    )


def _query():  # type: ignore[no-untyped-def]
    return (
        select(
            models.GovernanceAssessment,
            models.GovernanceFramework,
            models.City.code,
            models.City.name,
        )
        .join(
            models.GovernanceFramework,
            models.GovernanceFramework.id == models.GovernanceAssessment.framework_id,
        )
        .outerjoin(models.City, models.City.id == models.GovernanceAssessment.city_id)
    )


def list_assessments(
    engine: Engine,
    *,
    city: str | None = None,
    country: str | None = None,
    level: str | None = None,
) -> list[AssessmentInfo]:
    """Assessments, oldest first; ``country`` matches national ones and its cities' local ones."""
    query = _query()
    if city:
        query = query.where(models.City.code == city)
    if country:
        query = query.where(models.GovernanceAssessment.country == country.upper())
    if level:
        query = query.where(models.GovernanceAssessment.level == level)
    query = query.order_by(models.GovernanceAssessment.assessed_on, models.GovernanceAssessment.id)
    with Session(engine) as session:
        return [
            _info(row, fw, code or "", name or "")
            for row, fw, code, name in session.execute(query).all()
        ]


def latest_assessment(
    engine: Engine, *, city: str | None = None, country: str | None = None
) -> AssessmentInfo | None:
    """The latest local assessment of ``city`` or national assessment of ``country``."""
    if not city and not country:
        return None
    if city:
        found = list_assessments(engine, city=city, level="local")
    else:
        found = list_assessments(engine, country=country, level="national")
    return found[-1] if found else None


def assessment_result(engine: Engine, assessment_id: int) -> AssessmentResult:
    """One assessment scored with the framework version it answered."""
    with Session(engine) as session:
        found = session.execute(
            _query().where(models.GovernanceAssessment.id == assessment_id)
        ).first()
        if found is None:
            raise GovernanceError(
                _(
                    "There is no governance assessment {id}: see 'inclusive-cities governance "
                    "list'."
                ).format(id=assessment_id)
            )
        row, fw, code, name = found
        framework = Framework.model_validate(fw.spec)
        answers = [
            Answer(
                a.question_code,
                a.answer,
                a.value,
                a.evidence_text,
                a.evidence_document,
                a.evidence_link,
            )
            for a in session.scalars(
                select(models.GovernanceAnswer).where(
                    models.GovernanceAnswer.assessment_id == row.id
                )
            )
        ]
        info = _info(row, fw, code or "", name or "")
    return AssessmentResult(info, score(framework, answers))


def _country_name(code: str) -> str:
    from inclusive_cities.mobility.schema import country_name

    return country_name(code.upper(), current_language())


def resolve(
    engine: Engine,
    reference: str | int | None,
    *,
    city: str | None = None,
    country: str | None = None,
) -> AssessmentResult:
    """An assessment by id, or the latest of a city (local) or country (national)."""
    if reference not in (None, ""):
        try:
            return assessment_result(engine, int(str(reference)))
        except ValueError as error:
            raise GovernanceError(
                _("'{value}' is not an assessment id (a number, see 'governance list').").format(
                    value=reference
                )
            ) from error
    latest = latest_assessment(engine, city=city, country=country)
    if latest is None:
        raise GovernanceError(
            _(
                "There is no governance assessment of {place}: import one with 'inclusive-cities "
                "governance import FILE --city CODE' or '--country ISO3'."
            ).format(place=city or (_country_name(country) if country else "-"))
        )
    return assessment_result(engine, latest.id)
