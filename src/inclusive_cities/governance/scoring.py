"""Scores of an assessment: per question (0-1), sub-domain, domain and overall (0-100).

The rule is the framework's (``scoring`` in its YAML): a yes/partly/no answer is worth the
framework's value for it (by default 1, 0.5, 0); a scale answer is placed linearly between the
scale's ends. A sub-domain is the weighted mean of its answered, applicable questions; a domain
the weighted mean of its sub-domains that have a score; the overall score combines the domains
that have one (weighted arithmetic mean, or weighted geometric mean when the framework says so).
"Not applicable" and unanswered questions are left out of every denominator, and reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from inclusive_cities.governance.spec import Domain, Framework, Label, Question
from inclusive_cities.i18n import format_number
from inclusive_cities.i18n import gettext as _


@dataclass(frozen=True)
class Answer:
    """What an assessment says about one question; ``value`` holds a scale's number."""

    question: str
    answer: str
    value: float | None = None
    evidence_text: str = ""
    evidence_document: str = ""
    evidence_link: str = ""

    @property
    def has_evidence(self) -> bool:
        return bool(self.evidence_text or self.evidence_document or self.evidence_link)


@dataclass(frozen=True)
class QuestionResult:
    code: str
    domain: str
    subdomain: str
    text: Label
    answer: str
    """``yes``, ``partly``, ``no``, ``not_applicable``, ``scale`` or ``""`` (unanswered)."""
    scale_value: float | None
    value: float | None
    """0-1, or None when not applicable or unanswered."""
    weight: float
    evidence_text: str = ""
    evidence_document: str = ""
    evidence_link: str = ""
    evidence_required: bool = False

    @property
    def evidence_missing(self) -> bool:
        """Evidence is required and an answer that claims something is in place (yes, partly,
        a scale above its bottom) gives none: the rule the importer enforces."""
        given = self.evidence_text or self.evidence_document or self.evidence_link
        claims = self.answer in ("yes", "partly") or (
            self.answer == "scale" and (self.value or 0) > 0
        )
        return self.evidence_required and claims and not given


@dataclass(frozen=True)
class DomainResult:
    code: str
    name: Label
    score: float | None
    """0-100, or None when no question of the domain is applicable and answered."""
    weight: float
    questions: int
    answered: int
    not_applicable: int
    band: str | None
    """``strength``, ``middle`` or ``gap`` (from the framework's bands), None without a score."""
    subdomains: dict[str, float | None] = field(default_factory=dict)
    areas: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()

    @property
    def applicable(self) -> int:
        return self.answered - self.not_applicable


@dataclass(frozen=True)
class Scores:
    """Every score of one assessment, computed from its answers and framework."""

    framework: Framework
    overall: float | None
    domains: list[DomainResult]
    questions: list[QuestionResult]

    def question(self, code: str) -> QuestionResult | None:
        return next((q for q in self.questions if q.code == code), None)

    def domain(self, code: str) -> DomainResult | None:
        return next((d for d in self.domains if d.code == code), None)

    def strengths(self, lang: str = "en") -> list[str]:
        """Plain sentences: the domains in the strength band, then what is fully in place."""
        lines = [
            _(
                "{domain} scores {score} of 100: a strength ({met} of {applicable} applicable "
                "questions fully met).",
                lang,
            ).format(
                domain=d.name.text(lang),
                score=format_number(d.score or 0, 0, lang),
                met=self._met(d.code),
                applicable=d.applicable,
            )
            for d in self.domains
            if d.band == "strength"
        ]
        return lines

    def gaps(self, lang: str = "en") -> list[str]:
        """Plain sentences: the domains in the gap band, each question not (fully) in place,
        and required evidence that is missing."""
        lines = [
            _(
                "{domain} scores {score} of 100: a gap ({short} of {applicable} applicable "
                "questions not or only partly met).",
                lang,
            ).format(
                domain=d.name.text(lang),
                score=format_number(d.score or 0, 0, lang),
                short=d.applicable - self._met(d.code),
                applicable=d.applicable,
            )
            for d in self.domains
            if d.band == "gap"
        ]
        for q in self.questions:
            if q.value is not None and q.value < 0.5:
                lines.append(_("Not in place: {question}", lang).format(question=q.text.text(lang)))
            elif q.value is not None and q.value < 1:
                lines.append(
                    _("Only partly in place: {question}", lang).format(question=q.text.text(lang))
                )
        for q in self.questions:
            if q.evidence_missing:
                lines.append(
                    _("Evidence is required but missing for {code}: {question}", lang).format(
                        code=q.code, question=q.text.text(lang)
                    )
                )
        return lines

    def _met(self, domain: str) -> int:
        return sum(1 for q in self.questions if q.domain == domain and q.value == 1)


def question_value(question: Question, answer: Answer | None, framework: Framework) -> float | None:
    """0-1 for an applicable answer; None for not applicable or unanswered."""
    if answer is None or answer.answer in ("", "not_applicable"):
        return None
    if answer.answer == "scale":
        scale = question.scale
        if scale is None or answer.value is None:
            return None
        return (answer.value - scale.min) / (scale.max - scale.min)
    values = framework.scoring.values
    return float(values[answer.answer])  # type: ignore[index]


def weighted_mean(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    """Σ w·x / Σ w over the pairs whose x is not None; None when there is none."""
    kept = [(x, w) for x, w in pairs if x is not None]
    total = sum(w for _x, w in kept)
    if not kept or total <= 0:
        return None
    return sum(x * w for x, w in kept) / total


def weighted_geometric_mean(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    """exp(Σ w·ln x / Σ w) over the pairs whose x is not None; 0 if any kept x is 0."""
    kept = [(x, w) for x, w in pairs if x is not None]
    total = sum(w for _x, w in kept)
    if not kept or total <= 0:
        return None
    if any(x <= 0 for x, _w in kept):
        return 0.0
    return math.exp(sum(w * math.log(x) for x, w in kept) / total)


def _band(framework: Framework, score: float | None) -> str | None:
    if score is None:
        return None
    if score >= framework.scoring.strength:
        return "strength"
    if score < framework.scoring.gap:
        return "gap"
    return "middle"


def _domain_result(
    framework: Framework, domain: Domain, answers: Mapping[str, Answer]
) -> tuple[DomainResult, list[QuestionResult]]:
    results: list[QuestionResult] = []
    subscores: dict[str, float | None] = {}
    for sub in domain.subdomains:
        pairs = []
        for question in sub.questions:
            answer = answers.get(question.code)
            value = question_value(question, answer, framework)
            pairs.append((value, question.weight))
            results.append(
                QuestionResult(
                    code=question.code,
                    domain=domain.code,
                    subdomain=sub.code,
                    text=question.text,
                    answer=answer.answer if answer else "",
                    scale_value=answer.value if answer else None,
                    value=value,
                    weight=question.weight,
                    evidence_text=answer.evidence_text if answer else "",
                    evidence_document=answer.evidence_document if answer else "",
                    evidence_link=answer.evidence_link if answer else "",
                    evidence_required=question.evidence_required,
                )
            )
        subscores[sub.code] = weighted_mean(pairs)
    mean = weighted_mean((subscores[sub.code], sub.weight) for sub in domain.subdomains)
    score = None if mean is None else 100 * mean
    domain_result = DomainResult(
        code=domain.code,
        name=domain.name,
        score=score,
        weight=domain.weight,
        questions=len(results),
        answered=sum(1 for r in results if r.answer),
        not_applicable=sum(1 for r in results if r.answer == "not_applicable"),
        band=_band(framework, score),
        subdomains={code: None if s is None else 100 * s for code, s in subscores.items()},
        areas=tuple(domain.links.areas),
        indicators=tuple(domain.links.indicators),
    )
    return domain_result, results


def score(framework: Framework, answers: Iterable[Answer]) -> Scores:
    """Score ``answers`` with ``framework``'s rule (see the module docstring)."""
    by_code = {answer.question: answer for answer in answers}
    domains: list[DomainResult] = []
    questions: list[QuestionResult] = []
    for domain in framework.domains:
        result, rows = _domain_result(framework, domain, by_code)
        domains.append(result)
        questions.extend(rows)
    combine = (
        weighted_geometric_mean if framework.scoring.aggregation == "geometric" else weighted_mean
    )
    overall = combine((d.score, d.weight) for d in domains)
    return Scores(framework=framework, overall=overall, domains=domains, questions=questions)
