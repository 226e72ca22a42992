"""Safe condition evaluation: an allowlist interpreter over the parsed condition AST.

Conditions never reach ``eval``/``exec``/``compile``. Only the node types of
:mod:`engine.dsl.model` exist, so nothing else can run. Evaluation is bounded: the parser caps
nesting depth and node count, and every operation is a comparison of plain values.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from engine.dsl.model import BoolOp, Compare, Condition, Expr, ListLit, Literal_, Name, Not
from engine.dsl.model import variables_of as variables_of  # re-exported: part of this module's API
from engine.dsl.printer import expr_text
from engine.errors import ConditionError


class _Missing:
    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return "<missing>"


MISSING = _Missing()

_ORDERING = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def lookup(context: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    """Resolve a dotted name in nested dicts; :data:`MISSING` when any part is absent."""
    value: Any = context
    for part in parts:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return MISSING
    return value


def _value(node: Expr, context: Mapping[str, Any]) -> Any:
    if isinstance(node, Literal_):
        return node.value
    if isinstance(node, Name):
        return lookup(context, node.parts)
    if isinstance(node, ListLit):
        return [item.value for item in node.items]
    return evaluate(node, context)


def _describe(node: Expr) -> str:
    return expr_text(node)


def _compare(op: str, left: Any, right: Any, lnode: Expr, rnode: Expr) -> bool:
    if op in ("==", "!="):
        lv = None if left is MISSING else left
        rv = None if right is MISSING else right
        return (lv == rv) if op == "==" else (lv != rv)
    if op in ("in", "not in"):
        if right is MISSING:
            raise ConditionError(f"'{_describe(rnode)}' is not in the context (needed by '{op}')")
        if not isinstance(right, (list, tuple, set, frozenset, dict, str)):
            raise ConditionError(f"'{_describe(rnode)}' is a {type(right).__name__}; '{op}' needs a list or a string")
        lv = None if left is MISSING else left
        if isinstance(right, str) and not isinstance(lv, str):
            raise ConditionError(f"'{op}' a string needs a string on the left, got {type(lv).__name__}")
        try:
            found = lv in right
        except TypeError as exc:
            raise ConditionError(f"cannot test '{_describe(lnode)}' {op} '{_describe(rnode)}': {exc}") from None
        return found if op == "in" else not found
    for node, value in ((lnode, left), (rnode, right)):
        if value is MISSING:
            raise ConditionError(f"'{_describe(node)}' is not in the context (needed by '{op}')")
        if value is None:
            raise ConditionError(f"'{_describe(node)}' is None; it cannot be compared with '{op}'")
    try:
        return bool(_ORDERING[op](left, right))
    except TypeError:
        raise ConditionError(
            f"cannot compare {type(left).__name__} {_shown(left)} {op} {type(right).__name__} {_shown(right)}"
        ) from None


def _shown(value: Any, limit: int = 40) -> str:
    """A short repr for messages; never fails (huge ints, deep or cyclic containers)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * limit:
        return f"<int of about {int(value.bit_length() * 0.30103):,} digits>"
    if isinstance(value, (str, bytes)) and len(value) > limit:
        value = value[:limit]
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evaluate(node: Expr, context: Mapping[str, Any]) -> Any:
    """Evaluate a parsed condition against ``context``; raises :class:`ConditionError`."""
    if isinstance(node, Compare):
        left_node, left = node.left, _value(node.left, context)
        for op, right_node in zip(node.ops, node.rights):
            right = _value(right_node, context)
            if not _compare(op, left, right, left_node, right_node):
                return False
            left_node, left = right_node, right
        return True
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(truthy(_value(o, context)) for o in node.operands)
        return any(truthy(_value(o, context)) for o in node.operands)
    if isinstance(node, Not):
        return not truthy(_value(node.operand, context))
    return _value(node, context)


def truthy(value: Any) -> bool:
    """Python truthiness, with a missing name counting as false."""
    return False if value is MISSING else bool(value)


def evaluate_condition(node: Expr | Condition | str, context: Mapping[str, Any]) -> bool:
    """Evaluate to a bool. Raises :class:`ConditionError` with a readable reason.

    ``node`` is a parsed expression, a :class:`Condition` of kind ``expr``, or condition text
    (parsed with :func:`engine.dsl.parser.parse_condition`; a syntax error raises ``DSLError``).
    Natural-language and ``@error`` conditions are not decided here.
    """
    if isinstance(node, str):
        from engine.dsl.parser import parse_condition

        node = parse_condition(node)
    if isinstance(node, Condition):
        if node.kind != "expr" or node.expr is None:
            what = "a natural-language condition" if node.kind == "natural" else "the @error marker"
            raise ConditionError(f"'{node.text}' is {what}; it is decided by the engine, not evaluated")
        node = node.expr
    if not isinstance(node, (Literal_, Name, ListLit, Compare, BoolOp, Not)):
        raise ConditionError(f"not a condition: {type(node).__name__}")
    try:
        return truthy(evaluate(node, context))
    except RecursionError:
        raise ConditionError(
            f"'{_describe(node)[:80]}' compares a context value nested too deeply "
            "(or one that contains itself); compare a plain value instead"
        ) from None
    except (ValueError, OverflowError, MemoryError) as exc:
        raise ConditionError(f"'{_describe(node)[:80]}' could not be evaluated: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "digits" in text and "integer" in text:
        return "a context value is an integer with too many digits (more than 4,300) to compare with a string"
    return f"{type(exc).__name__}: {text[:120]}"


def literals_for(node: Expr) -> dict[str, list[Any]]:
    """For each variable, the constants it is compared with (used to prefill contexts)."""
    found: dict[str, list[Any]] = {}
    stack: list[Expr] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Compare):
            operands = (n.left, *n.rights)
            for a, b in zip(operands, operands[1:]):
                for var, const in ((a, b), (b, a)):
                    if isinstance(var, Name) and isinstance(const, Literal_):
                        found.setdefault(var.dotted, []).append(const.value)
                    if isinstance(var, Name) and isinstance(const, ListLit) and const.items:
                        found.setdefault(var.dotted, []).append(const.items[0].value)
        elif isinstance(n, BoolOp):
            stack.extend(reversed(n.operands))  # source order
        elif isinstance(n, Not):
            stack.append(n.operand)
        elif isinstance(n, Name):
            found.setdefault(n.dotted, []).append(True)
    return found
