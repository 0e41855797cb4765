"""Recommendations from an editable rule catalogue: a condition on figures → text in es/en.

A catalogue (``recommendations.yaml`` ships one; an analyst can pass their own)::

    rules:
      - id: regularisation
        topic: documentation
        priority: high            # high | medium | low
        when: hfs.irregular >= 20 and hfs.regular < 60
        text:
          es: "El {hfs.irregular:.0f} % ... "
          en: "{hfs.irregular:.0f}% ..."

``when`` is a small expression: figures by dotted name (``hfs.*``, ``gap.*``,
``marker.*``), numbers, comparisons, ``and``/``or``/``not`` and + - * /. A rule whose
figures are missing does not fire. Texts use Python format fields on the same names.

A *draft* (``recommendations:`` list, written by ``report profile --edit``) holds the
resolved texts; the analyst edits or deletes items and passes it back: it is used as is.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import yaml

from inclusive_cities.i18n import gettext as _
from inclusive_cities.reports.errors import ReportError

DEFAULT_CATALOGUE = Path(__file__).with_name("recommendations.yaml")
PRIORITIES = ("high", "medium", "low")
_COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_ARITH = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class _Missing(Exception):
    """A figure the condition needs is not available."""


@dataclass(frozen=True)
class Recommendation:
    id: str
    topic: str
    priority: str
    text_es: str
    text_en: str

    def text(self, language: str) -> str:
        return self.text_es if language == "es" else self.text_en


def _lookup(figures: dict[str, float], node: ast.AST) -> float:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise ValueError("names must be dotted identifiers")
    name = ".".join([node.id, *reversed(parts)])
    value = figures.get(name)
    if value is None:
        raise _Missing(name)
    return value


def evaluate(expression: str, figures: dict[str, float]) -> bool:
    """True when the condition holds; raises _Missing when a figure is absent."""
    tree = ast.parse(expression, mode="eval")

    def walk(node: ast.AST) -> float | bool:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.BoolOp):
            values = [walk(v) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not walk(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.Compare):
            left = walk(node.left)
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = walk(right_node)
                if type(op) not in _COMPARE or not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            return _ARITH[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.Name | ast.Attribute):
            return _lookup(figures, node)
        raise ValueError(type(node).__name__)

    return bool(walk(tree))


def _namespace(figures: dict[str, float]) -> dict[str, SimpleNamespace]:
    tree: dict = {}
    for name, value in figures.items():
        head, *rest = name.split(".")
        node = tree.setdefault(head, {})
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        if rest:
            node[rest[-1]] = value

    def build(node: dict) -> SimpleNamespace:
        return SimpleNamespace(
            **{k: build(v) if isinstance(v, dict) else v for k, v in node.items()}
        )

    return {k: build(v) for k, v in tree.items() if isinstance(v, dict)}


def _read(path: Path) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(
            _("Recommendations file {path} does not exist.").format(path=path)
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ReportError(
            _("Recommendations file {path} is not valid YAML (line {line}).").format(
                path=path, line=mark.line + 1 if mark else "?"
            )
        ) from None
    if not isinstance(raw, dict) or not ({"rules", "recommendations"} & set(raw)):
        raise ReportError(
            _(
                "Recommendations file {path} needs a 'rules:' catalogue or a "
                "'recommendations:' draft."
            ).format(path=path)
        )
    return raw


def _texts(entry: dict, path: Path, position: int) -> tuple[str, str]:
    text = entry.get("text")
    if not isinstance(text, dict) or not text.get("es") or not text.get("en"):
        raise ReportError(
            _(
                "Recommendations file {path}, item {position} ({id}): 'text' needs both "
                "'es' and 'en'."
            ).format(path=path, position=position, id=entry.get("id", "?"))
        )
    return str(text["es"]).strip(), str(text["en"]).strip()


def recommend(
    figures: dict[str, float], path: str | Path | None = None
) -> tuple[list[Recommendation], list[str]]:
    """Recommendations that apply, most urgent first, and the rules that could not be judged."""
    source = Path(path) if path else DEFAULT_CATALOGUE
    raw = _read(source)
    out: list[Recommendation] = []
    unjudged: list[str] = []
    if "recommendations" in raw:
        for position, entry in enumerate(raw["recommendations"] or [], start=1):
            es, en = _texts(entry, source, position)
            out.append(
                Recommendation(
                    str(entry.get("id", position)),
                    str(entry.get("topic", "")),
                    str(entry.get("priority", "medium")),
                    es,
                    en,
                )
            )
        return out, unjudged
    names = _namespace(figures)
    for position, entry in enumerate(raw["rules"] or [], start=1):
        rule_id = str(entry.get("id", position))
        es, en = _texts(entry, source, position)
        priority = str(entry.get("priority", "medium"))
        if priority not in PRIORITIES:
            raise ReportError(
                _(
                    "Recommendations file {path}, rule {id}: priority '{value}' is not one of "
                    "{choices}."
                ).format(path=source, id=rule_id, value=priority, choices=", ".join(PRIORITIES))
            )
        try:
            fires = evaluate(str(entry.get("when", "True")), figures)
        except _Missing:
            unjudged.append(rule_id)
            continue
        except (SyntaxError, ValueError, TypeError, ZeroDivisionError):
            raise ReportError(
                _(
                    "Recommendations file {path}, rule {id}: the condition '{when}' cannot be "
                    "read; use figure names, numbers, comparisons, and/or/not."
                ).format(path=source, id=rule_id, when=entry.get("when"))
            ) from None
        if not fires:
            continue
        try:
            out.append(
                Recommendation(
                    rule_id,
                    str(entry.get("topic", "")),
                    priority,
                    es.format(**names),
                    en.format(**names),
                )
            )
        except (AttributeError, KeyError, ValueError, IndexError):
            raise ReportError(
                _(
                    "Recommendations file {path}, rule {id}: the text names a figure that does "
                    "not exist or a wrong format."
                ).format(path=source, id=rule_id)
            ) from None
    out.sort(key=lambda r: PRIORITIES.index(r.priority))
    return out, unjudged


def write_draft(recommendations: list[Recommendation], path: str | Path, title: str) -> Path:
    """Write the recommendations as an editable draft for ``--recommendations``."""
    path = Path(path)
    body = {
        "recommendations": [
            {
                "id": r.id,
                "topic": r.topic,
                "priority": r.priority,
                "text": {"es": r.text_es, "en": r.text_en},
            }
            for r in recommendations
        ]
    }
    header = "# " + title + "\n"
    try:
        path.write_text(
            header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=90),
            encoding="utf-8",
        )
    except OSError as error:
        raise ReportError(
            _("Cannot write {path} ({reason}).").format(path=path, reason=error.strerror)
        ) from None
    return path
