"""Parse DSL text into a :class:`WorkflowModel`: the public entry points :func:`parse` and :func:`parse_condition`.

Every failure raises :class:`engine.errors.DSLError` carrying line:column, an excerpt with a
caret and a hint. The work is split over four modules of ``engine/dsl/``:

* ``parser`` (this one) — size limits, the entry points, and building the model from statements
  (empty groups, duplicates, reserved names);
* ``lalr`` — the lark LALR parser and its inline transformer (conditions, their depth and size limits,
  hostile constructs refused at parse time);
* ``fast_path`` — the transition structure of well-formed text scanned without lark; lark takes over
  from the last ';' it read whenever something is unusual, so results and errors are lark's;
* ``parse_errors`` — lark errors turned into issues with an excerpt and a hint, :class:`IssueCollector`.

The limits and :func:`excerpt`, :class:`IssueCollector`, :func:`names_text` stay importable from here.
"""

from __future__ import annotations

import os
import re

from lark import Token
from lark.exceptions import UnexpectedInput

from engine.dsl.fast_path import _cached_guard as _cached_guard  # for tests and benchmarks
from engine.dsl.fast_path import _fast_statements, _NotFast
from engine.dsl.lalr import _KEYWORDS, MAX_CONDITION_NODES, MAX_DEPTH, MAX_NAME, _parser, _Refused, _Stmt
from engine.dsl.model import (
    END,
    START,
    Condition,
    Position,
    Transition,
    WorkflowModel,
)
from engine.dsl.parse_errors import (
    MAX_ISSUES_PER_CODE,
    IssueCollector,
    _issue,
    _line_col,
    _syntax_issue,
    excerpt,
    names_text,
)
from engine.errors import DSLError, Issue

__all__ = [
    "parse",
    "parse_condition",
    "MAX_BYTES",
    "MAX_TRANSITIONS",
    "MAX_DEPTH",
    "MAX_CONDITION_NODES",
    "MAX_NAME",
    "MAX_ISSUES_PER_CODE",
    "IssueCollector",
    "excerpt",
    "names_text",
]


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


MAX_BYTES = _env_int("WORKBENCH_DSL_MAX_BYTES", 1_000_000)
MAX_TRANSITIONS = _env_int("WORKBENCH_DSL_MAX_TRANSITIONS", 10_000)


# what the lexer treats as a comment, a string or an arrow (used to count statements before parsing)
_ARROW_SCAN = re.compile(r"#[^\n]*|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|->")


def _check_size(text, max_bytes: int | None, max_transitions: int | None) -> int:
    if not isinstance(text, str):
        raise DSLError(Issue("error", "type", f"DSL must be text, got {type(text).__name__}"))
    limit = max_bytes or MAX_BYTES
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise DSLError(
            Issue(
                "error",
                "too_large",
                f"DSL is {size:,} bytes; the limit is {limit:,} bytes",
                hint="split the workflow into sub-workflows, or raise WORKBENCH_DSL_MAX_BYTES",
            )
        )
    tmax = max_transitions or MAX_TRANSITIONS
    if text.count("->") > tmax:  # cheap test first; then count arrows outside strings and comments
        arrows = sum(1 for m in _ARROW_SCAN.finditer(text) if m.group() == "->")
        if arrows > tmax:
            raise DSLError(
                Issue(
                    "error",
                    "too_large",
                    f"{arrows:,} transitions; the limit is {tmax:,}",
                    hint="split the workflow into sub-workflows, or raise WORKBENCH_DSL_MAX_TRANSITIONS",
                )
            )
    if "\x00" in text:
        line, col = _line_col(text, text.index("\x00"))
        raise DSLError(_issue(text, "syntax", "NUL character in input", line, col, "remove it"))
    return tmax


_NOT_NEWLINE = re.compile(r"[^\n]+")


def _run_parser(text: str) -> list[_Stmt]:
    """Statements of ``text``: the fast path, then lark from the last ';' the fast path reached.

    The part before that ';' was scanned without a problem, so lark parses a copy of the text where
    it is blanked out (offsets, lines and columns unchanged): the work is proportional to what is
    left, and the statements and errors are those of a full lark parse.
    """
    try:
        return _fast_statements(text)
    except _NotFast as exc:
        done, boundary = exc.done, exc.boundary
    lex_text = text
    if boundary > 0:
        lex_text = _NOT_NEWLINE.sub(lambda m: " " * len(m.group()), text[:boundary]) + text[boundary:]
    try:
        return done + _parser().parse(lex_text)
    except _Refused as exc:
        raise DSLError(_issue(text, exc.code, exc.message, exc.line, exc.column, exc.hint)) from None
    except UnexpectedInput as exc:
        raise DSLError(_syntax_issue(text, exc, lex_text)) from None
    except RecursionError:  # pragma: no cover - nothing recurses over the input; kept as a last guard
        raise DSLError(Issue("error", "too_deep", "input nested too deeply")) from None


def parse(text: str, *, max_bytes: int | None = None, max_transitions: int | None = None) -> WorkflowModel:
    """Parse DSL text. Raises :class:`DSLError` (syntax, refused constructs, limits)."""
    tmax = _check_size(text, max_bytes, max_transitions)
    stmts = _run_parser(text)
    if len(stmts) > tmax:
        raise DSLError(
            Issue(
                "error",
                "too_large",
                f"{len(stmts):,} transitions; the limit is {tmax:,}",
                hint="split the workflow into sub-workflows, or raise WORKBENCH_DSL_MAX_TRANSITIONS",
            )
        )
    return _build_model(text, stmts)


def parse_condition(text: str) -> Condition:
    """Parse one condition as written after ``:`` (an expression, a "sentence" or ``@error``).

    Positions in errors refer to ``text`` itself (line 1, column 1 is its first character).
    """
    _check_size(text, None, None)
    prefix = "a->b:"
    try:
        stmts = _parser().parse(prefix + text)
    except _Refused as exc:
        col = exc.column - len(prefix) if exc.line == 1 and exc.column else exc.column
        raise DSLError(_issue(text, exc.code, exc.message, exc.line, col, exc.hint)) from None
    except UnexpectedInput as exc:
        issue = _syntax_issue(prefix + text, exc)
        col = issue.column - len(prefix) if issue.line == 1 and issue.column else issue.column
        if issue.line == 1 and col is not None and col < 1:
            col = 1
        raise DSLError(_issue(text, issue.code, issue.message, issue.line, col, issue.hint)) from None
    if len(stmts) != 1 or stmts[0].cond is None:
        raise DSLError(
            _issue(text, "syntax", "expected exactly one condition", 1, 1, "write e.g. order.total > 100 (no ';')")
        )
    return stmts[0].cond


def _build_model(text: str, stmts: list[_Stmt]) -> WorkflowModel:
    found = IssueCollector(text)

    def issue(code: str, message: str, line, column, hint: str = "") -> None:
        found.add("error", code, message, line, column, hint)

    transitions: list[Transition] = []
    states: dict[str, Position] = {}
    for st in stmts:
        for ep in (st.src, st.dst):
            if ep.is_group and not ep.names and not ep.empties:
                anchor = ep.first
                issue(
                    "empty_member",
                    "empty state group '[]'",
                    getattr(anchor, "line", st.pos.line),
                    getattr(anchor, "column", st.pos.column),
                    "name the parallel states: a->[b,c]; or [b,c]->d;",
                )
            if ep.empties:  # one finding per group, however many empty slots it has
                anchor = ep.empties[0]
                many = f" ({len(ep.empties):,} empty members)" if len(ep.empties) > 1 else ""
                issue(
                    "empty_member",
                    "empty member in a state group" + many,
                    getattr(anchor, "line", st.pos.line),
                    getattr(anchor, "column", st.pos.column),
                    "remove the extra ',' or name the missing state: [a,b,c]",
                )
            if ep.is_group and len(set(ep.names)) < len(ep.names):
                first_dup: dict[str, Token] = {}
                times: dict[str, int] = {}
                for tok in ep.tokens:
                    times[tok.value] = times.get(tok.value, 0) + 1
                    if times[tok.value] == 2:
                        first_dup[tok.value] = tok
                for name, tok in first_dup.items():  # one finding per repeated name, saying how often
                    what = "twice" if times[name] == 2 else f"{times[name]:,} times"
                    issue(
                        "duplicate_member",
                        f"state '{name[:MAX_NAME]}' appears {what} in one group",
                        tok.line,
                        tok.column,
                        "each parallel branch must be a different state",
                    )
        if st.src.is_group and st.dst.is_group:
            issue(
                "group_to_group",
                "a transition cannot be both a fan-in and a fan-out",
                st.pos.line,
                st.pos.column,
                "join into one state first: [a,b]->merge; merge->[c,d];",
            )
        for tok in st.dst.tokens:
            if tok.value == START:
                issue(
                    "reserved",
                    "'start' cannot be a target: it is where every run begins",
                    tok.line,
                    tok.column,
                    "give the state another name",
                )
        for tok in st.src.tokens:
            if tok.value == END:
                issue(
                    "reserved",
                    "'end' cannot have outgoing transitions: it finishes the run",
                    tok.line,
                    tok.column,
                    "give the state another name, or remove the transition",
                )
        for tok in (*st.src.tokens, *st.dst.tokens):
            if len(tok.value) > MAX_NAME:
                issue(
                    "too_large",
                    f"state name too long ({len(tok.value):,} characters; the limit is {MAX_NAME})",
                    tok.line,
                    tok.column,
                    "use a shorter name",
                )
            elif tok.value in _KEYWORDS:
                issue(
                    "reserved",
                    f"'{tok.value}' is a keyword and cannot be a state name",
                    tok.line,
                    tok.column,
                    "state names are identifiers other than True, False, None, in, not, and, or",
                )
            elif tok.value.startswith("__"):
                issue(
                    "refused",
                    f"state name '{tok.value}' is not allowed (dunder)",
                    tok.line,
                    tok.column,
                    "use a plain snake_case name",
                )
            if tok.value not in states:
                states[tok.value] = Position(tok.line, tok.column)
        if not st.src.names or not st.dst.names:
            continue
        transitions.append(Transition(st.src.names, st.dst.names, st.cond, st.src.is_group, st.dst.is_group, st.pos))
    errors = found.issues("error", sort=False)
    if errors:
        raise DSLError(errors)
    return WorkflowModel(tuple(transitions), tuple(states), states)
