"""Print a :class:`WorkflowModel` back to canonical DSL text (``parse(to_dsl(m)) == m``)."""

from __future__ import annotations

from engine.dsl.model import BoolOp, Compare, Condition, Expr, ListLit, Literal_, Name, Not, Transition, WorkflowModel

_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "atom": 5}


def literal_text(value) -> str:
    """Canonical source text of a constant."""
    if value is True:
        return "True"
    if value is False:
        return "False"
    if value is None:
        return "None"
    if isinstance(value, str):
        escaped = (
            value.replace("\\", "\\\\")
            .replace("'", "\\'")
            .replace("\n", "\\n")
            .replace("\t", "\\t")
            .replace("\r", "\\r")
        )
        return f"'{escaped}'"
    if isinstance(value, float):
        text = repr(value)
        if text in ("inf", "-inf", "nan"):
            raise ValueError(f"{text} has no DSL literal")
        return text
    return str(value)


def _prec(node: Expr) -> int:
    if isinstance(node, BoolOp):
        return _PREC[node.op]
    if isinstance(node, Not):
        return _PREC["not"]
    if isinstance(node, Compare):
        return _PREC["cmp"]
    return _PREC["atom"]


def _wrap(node: Expr, need: int) -> str:
    text = expr_text(node)
    return f"({text})" if _prec(node) < need else text


def expr_text(node: Expr) -> str:
    """Canonical text of a parsed condition expression."""
    if isinstance(node, Literal_):
        return literal_text(node.value)
    if isinstance(node, Name):
        return node.dotted
    if isinstance(node, ListLit):
        return "[" + ",".join(literal_text(i.value) for i in node.items) + "]"
    if isinstance(node, Compare):
        parts = [_wrap(node.left, _PREC["atom"])]
        for op, right in zip(node.ops, node.rights):
            sep = f" {op} " if op in ("in", "not in") else op
            parts.append(sep + _wrap(right, _PREC["atom"]))
        return "".join(parts)
    if isinstance(node, BoolOp):
        # operands of the same op are parenthesised so the tree shape survives a round trip
        return f" {node.op} ".join(_wrap(o, _PREC[node.op] + 1) for o in node.operands)
    if isinstance(node, Not):
        return "not " + _wrap(node.operand, _PREC["not"])
    raise TypeError(f"not a condition node: {node!r}")


def condition_text(cond: Condition) -> str:
    """The condition as written after ``:`` in the DSL."""
    if cond.kind == "error":
        return "@error"
    if cond.kind == "natural":
        escaped = (
            cond.text.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\t", "\\t")
            .replace("\r", "\\r")
        )
        return '"' + escaped + '"'
    return cond.text


def transition_text(t: Transition) -> str:
    """One statement without the trailing ``;``."""
    src = "[" + ",".join(t.sources) + "]" if t.source_is_group else t.sources[0]
    dst = "[" + ",".join(t.targets) + "]" if t.target_is_group else t.targets[0]
    text = f"{src}->{dst}"
    if t.condition is not None:
        text += ":" + condition_text(t.condition)
    return text


def to_dsl(model: WorkflowModel, one_per_line: bool = True) -> str:
    """Canonical DSL: one statement per line, each ending with ``;``."""
    sep = "\n" if one_per_line else " "
    return sep.join(transition_text(t) + ";" for t in model.transitions) + ("\n" if one_per_line else "")
