"""Two assessments side by side: a city against its country (ahead, behind, same), or the same
place at two dates (improved, worsened, same), question by question and domain by domain.

Questions are matched by code, so two versions of a framework compare on the questions they
share; a question answered "not applicable", unanswered, or absent on either side is
``not_comparable``. Scores are compared as stored (0-1 per question, 0-100 per domain), with a
tolerance of half a point on domains so rounding does not read as a change.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from inclusive_cities.governance.assess import AssessmentResult, answer_text, resolve
from inclusive_cities.governance.errors import GovernanceError
from inclusive_cities.governance.spec import Label
from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _

DOMAIN_TOLERANCE = 0.5
QUESTION_TOLERANCE = 1e-9
LEVEL_WORDS = ("ahead", "behind", "same", "not_comparable")
CHANGE_WORDS = ("improved", "worsened", "same", "not_comparable")


@dataclass(frozen=True)
class QuestionComparison:
    code: str
    domain: str
    text: Label
    left_answer: str
    right_answer: str
    """Canonical answers (``yes``, ``partly``, ``no``, ``not_applicable``, ``scale``, ``""``);
    :meth:`Comparison.answer_labels` gives them as readers see them."""
    left_scale: float | None
    right_scale: float | None
    left_value: float | None
    right_value: float | None
    status: str


@dataclass(frozen=True)
class DomainComparison:
    code: str
    name: Label
    left: float | None
    right: float | None
    difference: float | None
    """left - right for levels (local - national); after - before for changes."""
    status: str


@dataclass(frozen=True)
class Comparison:
    """``kind`` is ``levels`` (left = local, right = national) or ``changes`` (left = the
    later assessment, right = the earlier one)."""

    kind: str
    left: AssessmentResult
    right: AssessmentResult
    domains: list[DomainComparison]
    questions: list[QuestionComparison]

    @property
    def local(self) -> AssessmentResult:
        return self.left

    @property
    def national(self) -> AssessmentResult:
        return self.right

    @property
    def after(self) -> AssessmentResult:
        return self.left

    @property
    def before(self) -> AssessmentResult:
        return self.right

    @property
    def overall_difference(self) -> float | None:
        if self.left.overall is None or self.right.overall is None:
            return None
        return self.left.overall - self.right.overall

    def counts(self) -> dict[str, int]:
        words = LEVEL_WORDS if self.kind == "levels" else CHANGE_WORDS
        return {word: sum(1 for q in self.questions if q.status == word) for word in words}

    def status_label(self, status: str, lang: str = "en") -> str:
        return {
            "ahead": _("ahead", lang),
            "behind": _("behind", lang),
            "same": _("same", lang),
            "not_comparable": _("not comparable", lang),
            "improved": _("improved", lang),
            "worsened": _("worsened", lang),
        }[status]

    def answer_labels(self, question: QuestionComparison, lang: str = "en") -> tuple[str, str]:
        """The two answers as readers see them ("Sí", "Partly", "3 / 4", "-")."""
        left = self.left.scores.question(question.code)
        right = self.right.scores.question(question.code)
        return (
            answer_text(self.left.framework, left, lang) if left else "-",
            answer_text(self.right.framework, right, lang) if right else "-",
        )

    def summary(self, lang: str = "en") -> list[str]:
        """Plain sentences: the overall difference, then each domain that differs."""
        lines: list[str] = []
        counts = self.counts()
        if self.kind == "levels":
            lines.append(
                _(
                    "{city} scores {local} and {country} {national} overall; the city is ahead "
                    "on {ahead} questions, behind on {behind} and the same on {same}.",
                    lang,
                ).format(
                    city=self.left.info.place_label(lang),
                    country=self.right.info.place_label(lang),
                    local=_score(self.left.overall, lang),
                    national=_score(self.right.overall, lang),
                    ahead=counts["ahead"],
                    behind=counts["behind"],
                    same=counts["same"],
                )
            )
            for d in self.domains:
                if d.status in ("ahead", "behind"):
                    template = (
                        _("{domain}: the city is ahead ({local} against {national}).", lang)
                        if d.status == "ahead"
                        else _("{domain}: the city is behind ({local} against {national}).", lang)
                    )
                    lines.append(
                        template.format(
                            domain=d.name.text(lang),
                            local=_score(d.left, lang),
                            national=_score(d.right, lang),
                        )
                    )
            return lines
        lines.append(
            _(
                "From {before} to {after} the overall score went from {old} to {new}; "
                "{improved} questions improved, {worsened} worsened and {same} stayed the same.",
                lang,
            ).format(
                before=self.right.info.assessed_on.isoformat(),
                after=self.left.info.assessed_on.isoformat(),
                old=_score(self.right.overall, lang),
                new=_score(self.left.overall, lang),
                improved=counts["improved"],
                worsened=counts["worsened"],
                same=counts["same"],
            )
        )
        for d in self.domains:
            if d.status in ("improved", "worsened"):
                template = (
                    _("{domain} improved from {old} to {new}.", lang)
                    if d.status == "improved"
                    else _("{domain} worsened from {old} to {new}.", lang)
                )
                lines.append(
                    template.format(
                        domain=d.name.text(lang),
                        old=_score(d.right, lang),
                        new=_score(d.left, lang),
                    )
                )
        return lines


def _score(value: float | None, lang: str) -> str:
    return "-" if value is None else format_number(value, 1, lang)


def _status(left: float | None, right: float | None, tolerance: float, kind: str) -> str:
    if left is None or right is None:
        return "not_comparable"
    up, down = ("ahead", "behind") if kind == "levels" else ("improved", "worsened")
    if left - right > tolerance:
        return up
    if right - left > tolerance:
        return down
    return "same"


def compare_results(left: AssessmentResult, right: AssessmentResult, kind: str) -> Comparison:
    """Compare two scored assessments (``kind``: ``levels`` or ``changes``)."""
    right_questions = {q.code: q for q in right.questions}
    questions = []
    for q in left.questions:
        other = right_questions.get(q.code)
        questions.append(
            QuestionComparison(
                code=q.code,
                domain=q.domain,
                text=q.text,
                left_answer=q.answer,
                right_answer=other.answer if other else "",
                left_scale=q.scale_value,
                right_scale=other.scale_value if other else None,
                left_value=q.value,
                right_value=other.value if other else None,
                status=_status(q.value, other.value if other else None, QUESTION_TOLERANCE, kind),
            )
        )
    right_domains = {d.code: d for d in right.domains}
    domains = []
    for d in left.domains:
        other_domain = right_domains.get(d.code)
        other_score = other_domain.score if other_domain else None
        domains.append(
            DomainComparison(
                code=d.code,
                name=d.name,
                left=d.score,
                right=other_score,
                difference=None
                if d.score is None or other_score is None
                else d.score - other_score,
                status=_status(d.score, other_score, DOMAIN_TOLERANCE, kind),
            )
        )
    return Comparison(kind, left, right, domains, questions)


def compare_levels(
    engine: Engine,
    city: str | None = None,
    *,
    local_id: int | None = None,
    national_id: int | None = None,
) -> Comparison:
    """The city's latest local assessment against the latest national one of its country
    (or the two given by id)."""
    local = resolve(engine, local_id, city=city)
    if local.info.level != "local":
        raise GovernanceError(
            _("Assessment {id} is national; give a local one (of a city).").format(id=local.info.id)
        )
    if national_id is None and not local.info.country:
        raise GovernanceError(
            _(
                "City {city} has no country in the observatory, so no national assessment can be "
                "chosen: give one by id."
            ).format(city=local.info.city)
        )
    national = resolve(engine, national_id, country=local.info.country)
    if national.info.level != "national":
        raise GovernanceError(
            _("Assessment {id} is local; give a national one (of a country).").format(
                id=national.info.id
            )
        )
    return compare_results(local, national, "levels")


def compare_changes(engine: Engine, first_id: int, second_id: int) -> Comparison:
    """Two assessments of the same place, in date order (the later one is ``left``)."""
    first = resolve(engine, first_id)
    second = resolve(engine, second_id)
    if (first.info.level, first.info.place) != (second.info.level, second.info.place):
        raise GovernanceError(
            _(
                "Assessments {first} ({a}) and {second} ({b}) are of different places: changes "
                "are measured between two assessments of the same city or country."
            ).format(
                first=first_id,
                second=second_id,
                a=first.info.place_label(),
                b=second.info.place_label(),
            )
        )
    before, after = sorted((first, second), key=lambda r: (r.info.assessed_on, r.info.id))
    return compare_results(after, before, "changes")


def compare_previous(engine: Engine, assessment_id: int) -> Comparison | None:
    """The assessment against the one before it of the same place (None when it is the
    first): "changes since the previous assessment"."""
    from inclusive_cities.governance.assess import list_assessments

    current = resolve(engine, assessment_id)
    info = current.info
    same_place = [
        a
        for a in list_assessments(engine, level=info.level, country=info.country)
        if a.place == info.place and (a.assessed_on, a.id) < (info.assessed_on, info.id)
    ]
    if not same_place:
        return None
    return compare_results(current, resolve(engine, same_place[-1].id), "changes")
