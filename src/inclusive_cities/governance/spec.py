"""Governance frameworks: domains, sub-domains and questions as a versioned YAML spec.

A framework is data, not code (like a marker spec): the same line-numbered YAML loader
(:mod:`inclusive_cities.marker._yaml`) and the same validation messages, frozen pydantic
models, a ``version`` and a content hash. An assessment records the framework code and
version it answered; the store keeps a copy of every version used, so old assessments are
scored with the questions they were asked.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from inclusive_cities.governance.errors import FrameworkError
from inclusive_cities.i18n import gettext as _
from inclusive_cities.marker._yaml import format_path, line_for, load_with_lines
from inclusive_cities.marker.errors import MarkerSpecError
from inclusive_cities.marker.spec import Label, _describe_validation

AnswerType = Literal["yes_partly_no", "scale"]
ANSWERS = ("yes", "partly", "no", "not_applicable")
"""The canonical answers of a yes/partly/no question (``not_applicable`` also for scales)."""

__all__ = [
    "ANSWERS",
    "Domain",
    "Framework",
    "Label",
    "Links",
    "Question",
    "Scale",
    "Scoring",
    "SubDomain",
    "builtin_frameworks",
    "load_framework",
    "parse_framework",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scale(_Model):
    """A numeric answer from ``min`` (worst) to ``max`` (best), scored linearly to 0-1."""

    min: float = 0
    max: float = 4
    labels: dict[int, Label] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.min >= self.max:
            raise ValueError(_("the scale's min must be below its max"))
        return self


class Question(_Model):
    """One question of a sub-domain; its weight counts within the sub-domain."""

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    text: Label
    answer: AnswerType = "yes_partly_no"
    scale: Scale | None = None
    evidence_required: bool = False
    not_applicable: bool = True
    weight: float = Field(default=1.0, gt=0)
    guidance: Label | None = None

    @model_validator(mode="after")
    def _scale(self) -> Question:
        if self.answer == "scale" and self.scale is None:
            raise ValueError(_("a scale question needs 'scale: {min: .., max: ..}'"))
        if self.answer != "scale" and self.scale is not None:
            raise ValueError(_("'scale' is only for questions with 'answer: scale'"))
        return self


class SubDomain(_Model):
    code: str = Field(min_length=1, max_length=64)
    name: Label
    weight: float = Field(default=1.0, gt=0)
    questions: list[Question] = Field(min_length=1)


class Links(_Model):
    """What a domain bears on in the marker: node codes (areas, dimensions) and indicators."""

    areas: list[str] = Field(default_factory=list)
    indicators: list[str] = Field(default_factory=list)


class Domain(_Model):
    code: str = Field(min_length=1, max_length=64)
    name: Label
    weight: float = Field(default=1.0, gt=0)
    description: Label | None = None
    links: Links = Links()
    subdomains: list[SubDomain] = Field(min_length=1)

    def questions(self) -> list[Question]:
        return [question for sub in self.subdomains for question in sub.questions]


class Scoring(_Model):
    """How answers become a score: the value of each answer (0-1), how levels combine,
    and the bands that name a domain a strength or a gap."""

    values: dict[str, float] = Field(default_factory=lambda: {"yes": 1.0, "partly": 0.5, "no": 0.0})
    aggregation: Literal["arithmetic", "geometric"] = "arithmetic"
    strength: float = Field(default=75.0, ge=0, le=100)
    gap: float = Field(default=50.0, ge=0, le=100)

    @model_validator(mode="after")
    def _check(self) -> Scoring:
        if set(self.values) != {"yes", "partly", "no"}:
            raise ValueError(_("'values' needs a value for each of yes, partly and no"))
        if any(not 0 <= value <= 1 for value in self.values.values()):
            raise ValueError(_("answer values must be between 0 and 1"))
        if self.gap > self.strength:
            raise ValueError(_("'gap' must not be above 'strength'"))
        return self


class Framework(_Model):
    """A complete governance framework (an MGI-style question set)."""

    code: str = Field(min_length=1, max_length=64)
    version: str = Field(default="1", min_length=1, max_length=20)
    name: Label
    description: Label | None = None
    source: str = ""
    evidence_spec: str = "uim-extended"
    scoring: Scoring = Scoring()
    domains: list[Domain] = Field(min_length=1)

    def questions(self) -> list[Question]:
        return [question for domain in self.domains for question in domain.questions()]

    def walk(self) -> Iterator[tuple[Domain, SubDomain, Question]]:
        for domain in self.domains:
            for sub in domain.subdomains:
                for question in sub.questions:
                    yield domain, sub, question

    def question(self, code: str) -> Question:
        for question in self.questions():
            if question.code == code:
                return question
        raise FrameworkError(
            _("The framework {framework} has no question '{code}'.").format(
                framework=self.label, code=code
            )
        )

    def domain(self, code: str) -> Domain:
        for domain in self.domains:
            if domain.code == code:
                return domain
        raise FrameworkError(
            _("The framework {framework} has no domain '{code}'.").format(
                framework=self.label, code=code
            )
        )

    @property
    def label(self) -> str:
        """``code@version``, how assessments and messages name it."""
        return f"{self.code}@{self.version}"

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON form: equal frameworks have equal hashes."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def _structure_problem(framework: Framework) -> tuple[str, tuple[str | int, ...]] | None:
    """The first duplicate code or unknown link, with its path in the YAML."""
    seen: dict[str, str] = {}
    for d, domain in enumerate(framework.domains):
        places: list[tuple[str, tuple[str | int, ...]]] = [(domain.code, ("domains", d, "code"))]
        for s, sub in enumerate(domain.subdomains):
            places.append((sub.code, ("domains", d, "subdomains", s, "code")))
            places.extend(
                (question.code, ("domains", d, "subdomains", s, "questions", q, "code"))
                for q, question in enumerate(sub.questions)
            )
        for code, path in places:
            if code in seen:
                return (
                    _(
                        "the code '{code}' is used twice (also at {other}); every domain, "
                        "sub-domain and question needs its own code"
                    ).format(code=code, other=seen[code]),
                    path,
                )
            seen[code] = format_path(path)
    return _link_problem(framework)


def _link_problem(framework: Framework) -> tuple[str, tuple[str | int, ...]] | None:
    from inclusive_cities.marker.spec import load_spec

    try:
        marker = load_spec(framework.evidence_spec)
    except MarkerSpecError as error:
        return str(error), ("evidence_spec",)
    nodes, indicators = set(marker.node_codes), set(marker.indicator_codes)
    for d, domain in enumerate(framework.domains):
        for i, code in enumerate(domain.links.areas):
            if code not in nodes:
                return (
                    _("'{code}' is not an area or dimension of the marker {spec}").format(
                        code=code, spec=marker.code
                    ),
                    ("domains", d, "links", "areas", i),
                )
        for i, code in enumerate(domain.links.indicators):
            if code not in indicators:
                return (
                    _("'{code}' is not an indicator of the marker {spec}").format(
                        code=code, spec=marker.code
                    ),
                    ("domains", d, "links", "indicators", i),
                )
    return None


def parse_framework(text: str, source: str = "<framework>") -> Framework:
    """Validate YAML text as a framework; errors name ``source:line: path: problem``."""
    try:
        data, lines = load_with_lines(text, source)
    except MarkerSpecError as error:
        raise FrameworkError(str(error), error.path, error.line) from error
    if not isinstance(data, dict):
        raise FrameworkError(
            _("{source}: a framework must be a mapping with code, name and domains.").format(
                source=source
            )
        )
    try:
        framework = Framework.model_validate(data)
    except ValidationError as error:
        raise FrameworkError(_describe_validation(error, data, lines, source)) from error
    problem = _structure_problem(framework)
    if problem:
        message, loc = problem
        path, line = line_for(lines, data, loc)
        where = f"{source}:{line}" if line else source
        raise FrameworkError(f"{where}: {format_path(loc)}: {message}", format_path(path), line)
    return framework


def builtin_frameworks() -> dict[str, Path]:
    """Names of the frameworks shipped with the package -> their files.

    ``mgi-demo.yaml`` is the current version; an older version, when one is kept, is
    ``mgi-demo@1.yaml`` (its name is ``mgi-demo@1``).
    """
    folder = resources.files("inclusive_cities.governance") / "frameworks"
    return {
        Path(str(entry)).stem: Path(str(entry))
        for entry in folder.iterdir()
        if str(entry).endswith(".yaml")
    }


@functools.lru_cache(maxsize=16)
def _builtin(name: str, path: str) -> Framework:
    """A shipped framework, parsed once per process (frameworks are immutable)."""
    return parse_framework(Path(path).read_text(encoding="utf-8"), f"{name}.yaml")


def load_framework(path_or_name: str | Path | Framework) -> Framework:
    """A framework from a YAML file, or a built-in one by name (``mgi-demo``)."""
    if isinstance(path_or_name, Framework):
        return path_or_name
    builtins = builtin_frameworks()
    name = str(path_or_name)
    if name in builtins:
        return _builtin(name, str(builtins[name]))
    path = Path(name)
    if not path.is_file():
        raise FrameworkError(
            _(
                "There is no framework file {path} and no built-in framework of that name "
                "(built-in: {names})."
            ).format(path=name, names=", ".join(sorted(builtins)))
        )
    return parse_framework(path.read_text(encoding="utf-8"), str(path))
