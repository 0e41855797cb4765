"""Catalogue expressions: a tiny, checked language over canonical census variables.

Expressions are parsed with :mod:`ast`, checked against a whitelist of node types,
known columns and allowed functions, and compiled to Ibis expressions, so that the
same text runs on DuckDB or PostgreSQL without ever being evaluated by Python.

Grammar (Python syntax): column names, numbers, strings, ``True``/``False``/``None``,
``+ - * /``, comparisons (also chained and ``in [...]``/``not in [...]``), ``and``,
``or``, ``not`` and the functions in :data:`FUNCTIONS`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from inclusive_cities.catalogue.errors import IndicatorError
from inclusive_cities.i18n import gettext as _

FUNCTIONS: dict[str, int] = {
    "is_null": 1,
    "not_null": 1,
    "between": 3,
    "coalesce": 2,
    "abs": 1,
    "least": 2,
    "greatest": 2,
}
"""Allowed functions and their number of arguments."""

_ALLOWED_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
)


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, its tree and the columns it reads."""

    text: str
    tree: ast.Expression
    columns: frozenset[str]


def _fail(where: str, text: str, reason: str) -> IndicatorError:
    return IndicatorError(
        _("{where}: expression '{text}' {reason}").format(where=where, text=text, reason=reason)
    )


def parse(text: str, columns: Mapping[str, Any] | set[str], where: str) -> Expression:
    """Parse and check ``text``; ``where`` names the catalogue entry for messages."""
    source = str(text).strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        raise _fail(
            where, source, _("is not valid ({reason}): fix its syntax.").format(reason=error.msg)
        ) from None
    used: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise _fail(
                where,
                source,
                _(
                    "uses '{construct}', which is not allowed: use columns, numbers, comparisons, "
                    "and/or/not, + - * / and the functions {functions}."
                ).format(construct=type(node).__name__, functions=", ".join(FUNCTIONS)),
            )
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name not in FUNCTIONS:
                raise _fail(
                    where,
                    source,
                    _("calls an unknown function: the allowed functions are {functions}.").format(
                        functions=", ".join(FUNCTIONS)
                    ),
                )
            if node.keywords or len(node.args) != FUNCTIONS[name]:
                raise _fail(
                    where,
                    source,
                    _("calls {function} with the wrong arguments: it takes {count}.").format(
                        function=name, count=FUNCTIONS[name]
                    ),
                )
        elif isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.In | ast.NotIn) and not isinstance(
                    right, ast.List | ast.Tuple
                ):
                    raise _fail(
                        where, source, _("uses 'in' without a literal list: write x in [a, b].")
                    )
        elif isinstance(node, ast.List | ast.Tuple) and not all(
            isinstance(item, ast.Constant) for item in node.elts
        ):
            raise _fail(where, source, _("has a list with non-literal items."))
    function_names = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    unknown = sorted(used - function_names - set(columns))
    if unknown:
        raise _fail(
            where,
            source,
            _("uses the unknown column '{column}': the known columns are {known}.").format(
                column=unknown[0], known=", ".join(sorted(columns))
            ),
        )
    return Expression(text=source, tree=tree, columns=frozenset(used - function_names))


_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a.isnull() if _is_none(b) else a == b,
    ast.NotEq: lambda a, b: a.notnull() if _is_none(b) else a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def _is_none(value: Any) -> bool:
    return value is None


def _literal(value: Any) -> Any:
    return ibis.literal(value) if not isinstance(value, ir.Expr) and value is not None else value


def compile_expression(expression: Expression, table: ir.Table) -> ir.Value:
    """The Ibis value of ``expression`` over ``table`` (columns must exist in it)."""
    return _as_ibis(_compile(expression.tree.body, table))


def _as_ibis(value: Any) -> Any:
    if isinstance(value, ir.Expr):
        return value
    return ibis.literal(value)


def _compile(node: ast.AST, table: ir.Table) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return table[node.id]
    if isinstance(node, ast.List | ast.Tuple):
        return [_compile(item, table) for item in node.elts]
    if isinstance(node, ast.BoolOp):
        values = [_as_ibis(_compile(item, table)) for item in node.values]
        result = values[0]
        for value in values[1:]:
            result = (result & value) if isinstance(node.op, ast.And) else (result | value)
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand, table)
        if isinstance(node.op, ast.Not):
            return ~_as_ibis(operand)
        return -operand
    if isinstance(node, ast.BinOp):
        left, right = _compile(node.left, table), _compile(node.right, table)
        if isinstance(node.op, ast.Div):
            right = _as_ibis(right)
            right = right.nullif(0) if isinstance(right, ir.NumericValue) else right
            return _as_ibis(left).cast("float64") / right
        return _ARITHMETIC[type(node.op)](_as_ibis(left), right)
    if isinstance(node, ast.Compare):
        result = None
        left = _compile(node.left, table)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _compile(right_node, table)
            if isinstance(op, ast.In):
                part = _as_ibis(left).isin(right)
            elif isinstance(op, ast.NotIn):
                part = ~_as_ibis(left).isin(right)
            elif _is_none(left) and isinstance(op, ast.Eq | ast.NotEq):
                part = _COMPARE[type(op)](_as_ibis(right), None)
            else:
                part = _COMPARE[type(op)](_as_ibis(left), right)
            result = part if result is None else result & part
            left = right
        return result
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]
        args = [_compile(item, table) for item in node.args]
        if name == "is_null":
            return _as_ibis(args[0]).isnull()
        if name == "not_null":
            return _as_ibis(args[0]).notnull()
        if name == "between":
            return _as_ibis(args[0]).between(args[1], args[2])
        if name == "coalesce":
            return ibis.coalesce(_as_ibis(args[0]), _as_ibis(args[1]))
        if name == "abs":
            return _as_ibis(args[0]).abs()
        if name == "least":
            return ibis.least(_as_ibis(args[0]), _as_ibis(args[1]))
        return ibis.greatest(_as_ibis(args[0]), _as_ibis(args[1]))
    raise IndicatorError(_("Unsupported expression node {kind}.").format(kind=type(node).__name__))
