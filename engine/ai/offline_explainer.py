"""Offline explanation of a workflow in plain language (seed §8.2 explain_workflow, no model needed).

Covers: purpose, the steps in order, each decision point and what decides it (conditions rendered
in words: ``credit_score>700`` -> "when credit score is above 700"), parallel work, loops, error
paths and how the workflow ends.
"""

from __future__ import annotations

from engine.dsl.model import (
    END,
    START,
    BoolOp,
    Compare,
    Condition,
    ListLit,
    Literal_,
    Name,
    Not,
    Transition,
    WorkflowModel,
)
from engine.dsl.printer import literal_text
from engine.durations import duration_text
from engine.errors import DSLError

_ADJ_ENDINGS = {
    "valid",
    "approved",
    "passed",
    "found",
    "complete",
    "completed",
    "eligible",
    "active",
    "available",
    "accepted",
    "paid",
    "verified",
    "authorized",
    "confirmed",
    "correct",
    "resolved",
    "healthy",
    "clean",
    "safe",
    "compliant",
    "duplicate",
    "signed",
    "ready",
    "urgent",
    "late",
    "returned",
    "responded",
    "arrived",
    "reproduced",
    "fraudulent",
    "suspicious",
    "spam",
    "empty",
    "overdue",
    "present",
    "ok",
    "in_stock",
    "match",
}
_OPS = {
    ">": "is above",
    ">=": "is at least",
    "<": "is below",
    "<=": "is at most",
    "==": "is",
    "!=": "is not",
    "in": "is one of",
    "not in": "is not one of",
}


def words(name: str) -> str:
    """``credit_score`` -> "credit score"."""
    return name.replace(".", " ").replace("_", " ").strip()


def step_phrase(state: str) -> str:
    """``send_welcome_email`` -> "send welcome email"."""
    if state == START:
        return "start"
    if state == END:
        return "finish"
    return words(state)


def _value(node) -> str:
    if isinstance(node, Literal_):
        if isinstance(node.value, str):
            return node.value
        if node.value is True:
            return "true"
        if node.value is False:
            return "false"
        if node.value is None:
            return "empty"
        return literal_text(node.value)
    if isinstance(node, Name):
        return words(node.dotted)
    if isinstance(node, ListLit):
        vals = [_value(i) for i in node.items]
        return ", ".join(vals[:-1]) + (" or " + vals[-1] if len(vals) > 1 else (vals[0] if vals else "nothing"))
    return expr_words(node)


def _bool_phrase(name: Name, truth: bool) -> str:
    parts = name.dotted.replace(".", "_").split("_")
    if parts[0] in ("has", "have") and len(parts) > 1:
        obj = " ".join(parts[1:])
        return f"there {'are' if obj.endswith('s') else 'is'} {'' if truth else 'no '}{obj}".replace("  ", " ")
    if parts[-1] == "success" and len(parts) > 1:
        return f"{' '.join(parts[:-1])} {'succeeded' if truth else 'failed'}"
    if parts[-1] in _ADJ_ENDINGS and len(parts) > 1:
        adj = {"match": "matching", "ok": "OK"}.get(parts[-1], parts[-1].replace("_", " "))
        subject = " ".join(parts[:-1])
        verb = "are" if subject.endswith("s") and not subject.endswith("ss") else "is"
        return f"{subject} {verb} {'' if truth else 'not '}{adj}"
    return f"{words(name.dotted)} is {'true' if truth else 'false'}"


def expr_words(node) -> str:
    """A condition expression in words, without the leading "when"."""
    if isinstance(node, Compare):
        # chains like 600<=score<=700
        if (
            len(node.ops) == 2
            and isinstance(node.rights[0], Name)
            and node.ops[0] in ("<", "<=")
            and node.ops[1] in ("<", "<=")
        ):
            return f"{_value(node.rights[0])} is between {_value(node.left)} and {_value(node.rights[1])}"
        if (
            len(node.ops) == 1
            and isinstance(node.left, Name)
            and isinstance(node.rights[0], Literal_)
            and isinstance(node.rights[0].value, bool)
            and node.ops[0] in ("==", "!=")
        ):
            truth = node.rights[0].value if node.ops[0] == "==" else not node.rights[0].value
            return _bool_phrase(node.left, truth)
        parts = [_value(node.left)]
        for op, right in zip(node.ops, node.rights):
            parts.append(f"{_OPS.get(op, op)} {_value(right)}")
        return " and ".join(parts[0] + " " + p if i == 0 else f"that {p}" for i, p in enumerate(parts[1:]))
    if isinstance(node, BoolOp):
        joiner = " and " if node.op == "and" else " or "
        return joiner.join(expr_words(o) for o in node.operands)
    if isinstance(node, Not):
        return f"it is not the case that {expr_words(node.operand)}"
    if isinstance(node, Name):
        return _bool_phrase(node, True)
    if isinstance(node, Literal_):
        return "always" if node.value else "never"
    return str(node)


def condition_words(cond: Condition | None) -> str:
    """ "when credit score is above 700" / "otherwise" / "if it fails" / "when the decision engine judges …"."""
    if cond is None:
        return "otherwise"
    if cond.kind == "error":
        return "if it fails"
    if cond.kind == "natural":
        return f'when the decision engine judges that "{cond.text}" (a person decides when it is unsure)'
    return "when " + expr_words(cond.expr)


def _target_text(t: Transition) -> str:
    if t.target_is_group:
        return "run " + _and([step_phrase(s) for s in t.targets]) + " in parallel"
    if t.target == END:
        return "finish"
    return step_phrase(t.target)


def _and(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _order(model: WorkflowModel) -> list[str]:
    """States in reading order: depth-first from start following transitions as written."""
    seen: list[str] = []
    visited: set[str] = set()
    fan_in_target: dict[frozenset, str] = {}
    for t in model.transitions:
        if t.is_fan_in:
            fan_in_target.setdefault(frozenset(t.sources), t.target)
    fan_ins_of: dict[str, list[tuple[frozenset, str]]] = {}  # a state -> the fan-ins it is a source of
    for key, tgt in fan_in_target.items():
        for x in key:
            fan_ins_of.setdefault(x, []).append((key, tgt))
    waiting = {key: len(key) for key in fan_in_target}  # sources of each fan-in not visited yet
    stack = [START]
    while stack:
        s = stack.pop()
        if s in visited or s == END:
            continue
        seen.append(s)
        visited.add(s)
        nxt: list[str] = []
        for t in model.outgoing(s):
            nxt.extend(t.targets)
        for key, tgt in fan_ins_of.get(s, ()):
            waiting[key] -= 1
            if waiting[key] == 0:  # its last source is visited
                nxt.append(tgt)
        for n in reversed(nxt):
            if n not in visited:
                stack.append(n)
    for s in model.states:
        if s not in visited and s not in (START, END):
            seen.append(s)
    return [s for s in seen if s != START]


def _error_path_text(binding: dict, t: Transition) -> str:
    """The sentence for a step's ``@error`` path; an approval with a time limit takes it when nobody answers."""
    limit = binding.get("timeout_s") if binding.get("action") == "approval" else None
    if limit:
        return f" If nobody answers within {duration_text(limit)}, it goes to {_target_text(t)}."
    return f" If this step fails, it goes to {_target_text(t)}."


def explain_model(model: WorkflowModel, name: str | None = None, bindings: dict[str, dict] | None = None) -> str:
    """Plain-language explanation of ``model``; ``bindings`` (state -> binding as a dict) add what the
    graph alone does not say (an approval's time limit)."""
    bindings = bindings or {}
    order = _order(model)
    position = {s: i for i, s in enumerate(order)}
    steps = [s for s in order if s != END]
    decisions = [s for s in steps if any(t.is_conditional for t in model.outgoing(s))]
    forks = [t for t in model.transitions if t.is_fan_out]
    errors = [t for t in model.transitions if t.is_error]
    first = model.outgoing(START)
    first_steps = [x for t in first for x in t.targets if x != END]
    enders = sorted(
        {s for t in model.transitions if END in t.targets for s in t.sources if s != START},
        key=lambda s: position.get(s, 0),
    )
    lines: list[str] = []
    title = f"“{name}” " if name else "This workflow "
    purpose = (
        f"{title}{'starts with' if name else 'starts with'} {_and([step_phrase(s) for s in first_steps]) or 'nothing'}"
        f" and ends after {_and([step_phrase(s) for s in enders]) or 'its last step'}."
    )
    facts = [f"{len(steps)} step{'s' if len(steps) != 1 else ''}"]
    if decisions:
        facts.append(f"{len(decisions)} decision point{'s' if len(decisions) != 1 else ''}")
    if forks:
        facts.append(
            f"{len(forks)} part{'s' if len(forks) != 1 else ''} that run{'' if len(forks) != 1 else 's'} in parallel"
        )
    if errors:
        facts.append(f"{len(errors)} error path{'s' if len(errors) != 1 else ''}")
    lines.append(purpose + " It has " + _and(facts) + ".")
    lines.append("")
    lines.append("Steps in order:")
    index = {s: i + 1 for i, s in enumerate(steps)}
    successors = _successors(model)
    fan_ins_closed_by: dict[str, list] = {}  # a fan-in, under the last of its sources
    for t in model.transitions:
        if t.is_fan_in:
            fan_ins_closed_by.setdefault(t.sources[-1], []).append(t)
    for i, s in enumerate(steps, 1):
        outs = model.outgoing(s)
        conditional = [t for t in outs if t.is_conditional]
        plain = [t for t in outs if t.condition is None]
        err = [t for t in outs if t.is_error]
        text = f"{i}. {step_phrase(s).capitalize()}."
        if conditional:
            choices = [f"{condition_words(t.condition)} → {_target_text(t)}" for t in conditional]
            if plain:
                choices.append(f"otherwise → {_target_text(plain[0])}")
            else:
                choices.append("if none of these holds, the run stops with an error")
            text += " Decision: " + "; ".join(choices) + "."
        elif plain:
            t = plain[0]
            if t.target_is_group:
                text += f" Then these run at the same time: {_and([step_phrase(x) for x in t.targets])}."
            elif t.target == END:
                text += " Then the workflow finishes."
            elif index.get(t.target, 0) <= i and s in _reach(successors, t.target):
                text += f" Then it goes back to step {index.get(t.target, '?')} ({step_phrase(t.target)})."
            elif index.get(t.target) != i + 1:
                text += f" Then it continues with {step_phrase(t.target)} (step {index.get(t.target, '?')})."
        for t in fan_ins_closed_by.get(s, ()):
            text += (
                f" When {_and([step_phrase(x) for x in t.sources])} have all finished, it continues with "
                f"{_target_text(t)}."
            )
        for t in err:
            text += _error_path_text(bindings.get(s) or {}, t)
        lines.append(text)
    natural = [t for t in model.transitions if t.condition is not None and t.condition.kind == "natural"]
    if decisions:
        lines.append("")
        lines.append("What decides the path: " + _decides(model, decisions) + ".")
    if natural:
        lines.append(
            "Judgement calls (" + _and([f"“{t.condition.text}”" for t in natural]) + ") are made by the "
            "decision engine, which shows its reasoning and confidence; when it is not confident enough, "
            "the run waits for a person."
        )
    if forks:
        for t in forks:
            lines.append(
                f"After {step_phrase(t.source)}, {_and([step_phrase(x) for x in t.targets])} happen in "
                "parallel; the workflow waits for all of them before going on."
            )
    lines.append("")
    lines.append(f"The workflow is complete after {_and([step_phrase(s) for s in enders]) or 'its last step'}.")
    return "\n".join(lines).strip() + "\n"


def _successors(model: WorkflowModel) -> dict[str, list[str]]:
    """Every state's next states: the targets of its own transitions and of the fan-ins it is a source of."""
    successors: dict[str, list[str]] = {}
    for t in model.transitions:
        for source in t.sources if t.is_fan_in else t.sources[:1]:
            successors.setdefault(source, []).extend(t.targets)
    return successors


def _reach(successors: dict[str, list[str]], start: str) -> set[str]:
    """The states reachable from ``start`` (itself included)."""
    seen, stack = {start}, [start]
    while stack:
        for n in successors.get(stack.pop(), ()):
            if n not in seen:
                seen.add(n)
                stack.append(n)
    return seen


def _decides(model: WorkflowModel, decisions: list[str]) -> str:
    out = []
    for s in decisions:
        variables: list[str] = []
        for t in model.outgoing(s):
            if t.condition is not None and t.condition.kind == "expr":
                for v in t.condition.variables:
                    if words(v) not in variables:
                        variables.append(words(v))
            elif t.condition is not None and t.condition.kind == "natural":
                variables.append("a judgement call")
        out.append(f"at {step_phrase(s)}, {_and(variables) or 'the conditions'}")
    return "; ".join(out)


def explain_offline(dsl: str, name: str | None = None, bindings: dict[str, dict] | None = None) -> str:
    """Plain-language explanation of ``dsl`` (for invalid DSL, what is wrong with it); ``bindings`` as
    in :func:`explain_model`."""
    from engine.dsl.validate import check

    try:
        model, rep = check(dsl)
    except DSLError as exc:
        return f"This workflow cannot be read yet: {exc.issues[0].message}."
    text = explain_model(model, name, bindings)
    if rep.errors:
        text += "\nNote: the workflow is not valid yet: " + "; ".join(i.message for i in rep.errors[:3]) + ".\n"
    return text
