"""Parse DSL text into a :class:`WorkflowModel` with lark's LALR parser.

Every failure raises :class:`engine.errors.DSLError` carrying line:column, an excerpt with a
caret and a hint. Hostile conditions (calls, subscripts, dunders, arithmetic, f-strings, lambdas)
are refused here, at parse time, by construction of the grammar plus the checks below.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from engine.dsl.model import (BoolOp, Compare, Condition, ListLit, Literal_, Name, Not, Position, Transition,
                              WorkflowModel)
from engine.dsl.printer import expr_text
from engine.errors import DSLError, Issue

MAX_BYTES = int(os.environ.get("WORKBENCH_DSL_MAX_BYTES", 1_000_000))
MAX_TRANSITIONS = int(os.environ.get("WORKBENCH_DSL_MAX_TRANSITIONS", 10_000))
MAX_DEPTH = 64          # nesting of parentheses / not / brackets inside one condition
MAX_CONDITION_NODES = 2_000

_GRAMMAR = (Path(__file__).with_name("grammar.lark")).read_text()

_TOKEN_NAMES = {
    "ARROW": "'->'", "SEMI": "';'", "COLON": "':'", "COMMA": "','", "DOT": "'.'", "LSQB": "'['",
    "RSQB": "']'", "LPAR": "'('", "RPAR": "')'", "ERROR_MARK": "'@error'", "EQ": "'=='", "NE": "'!='",
    "LE": "'<='", "GE": "'>='", "LT": "'<'", "GT": "'>'", "IN": "'in'", "_NOT": "'not'", "_AND": "'and'",
    "_OR": "'or'", "TRUE": "True", "FALSE": "False", "NONE": "None", "NAME": "a name",
    "NUMBER": "a number", "STRING": "a string", "$END": "end of input",
}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_GRAMMAR, start="workflow", parser="lalr", propagate_positions=True,
                maybe_placeholders=True)


def excerpt(text: str, line: int, column: int) -> str:
    """The source line with a caret under ``column`` (both 1-based)."""
    lines = text.splitlines() or [""]
    if not 1 <= line <= len(lines):
        return ""
    src = lines[line - 1]
    start = max(0, column - 60)
    shown = src[start:start + 120]
    return f"  {shown}\n  {' ' * (column - 1 - start)}^"


def _issue(text: str, code: str, message: str, line: int | None, column: int | None, hint: str = "",
           severity: str = "error") -> Issue:
    ex = excerpt(text, line, column) if line is not None and column is not None else ""
    return Issue(severity, code, message, line, column, hint, ex)


def _expected_text(expected) -> str:
    names = sorted({_TOKEN_NAMES.get(e, e) for e in expected})
    if len(names) > 6:
        names = names[:6] + ["…"]
    return ", ".join(names)


def _syntax_issue(text: str, exc: UnexpectedInput) -> Issue:
    line, col = getattr(exc, "line", None), getattr(exc, "column", None)
    if line is None or line < 0:
        lines = text.splitlines() or [""]
        line, col = len(lines), len(lines[-1]) + 1
    if isinstance(exc, UnexpectedCharacters):
        ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        hint = ""
        if ch in "*+/%-":
            msg = f"operator '{ch}' is not allowed: conditions compare values, they do not compute"
            hint = "use ==, !=, <, <=, >, >=, in, not in, and, or, not"
        elif ch == "=":
            msg, hint = "'=' is not a comparison", "write '==' to compare"
        elif ch in "&|":
            msg, hint = f"'{ch}' is not an operator here", "write 'and' / 'or'"
        elif ch == "!":
            msg, hint = "'!' is not an operator here", "write 'not', or '!=' for 'not equal'"
        elif ch in "{}":
            msg, hint = "braces are not part of the DSL", "list literals use [a, b]"
        elif ch in "\"'":
            msg, hint = "unterminated string", "close the string with the same quote on the same line"
        else:
            msg = f"unexpected character {ch!r}"
            hint = "state names are identifiers (letters, digits, _); '#' starts a comment"
        allowed = getattr(exc, "allowed", None)
        if allowed and ch not in "*+/%-=&|!{}\"'":
            msg += f"; expected {_expected_text(allowed)}"
        return _issue(text, "syntax", msg, line, col, hint)
    if isinstance(exc, UnexpectedToken):
        tok: Token = exc.token
        expected = _expected_text(exc.expected)
        prev = _previous_token(text, tok)
        hint = ""
        if tok.type == "$END":
            msg = f"unexpected end of input; expected {expected}"
            hint = "a statement looks like 'a->b;' or 'a->b:condition;'"
        elif tok.type == "LPAR" and prev is not None and prev.type == "NAME":
            msg, hint = "function calls are not allowed in conditions", "compare context values instead: total > 100"
        elif tok.type == "LSQB" and prev is not None and prev.type in ("NAME", "RSQB", "STRING"):
            msg, hint = "subscripts are not allowed in conditions", "use dotted names for nested values: order.total"
        elif tok.type == "STRING" and prev is not None and prev.type == "NAME" and prev.value.lower() in (
                "f", "rf", "fr", "b", "rb", "br", "r", "u"):
            msg, hint = "prefixed strings (f-strings, bytes, raw) are not allowed", "write a plain '…' or \"…\" string"
        elif (tok.type == "NAME" and tok.value == "lambda") or (prev is not None and prev.value == "lambda"):
            msg, hint = "lambda is not allowed in conditions", "conditions are comparisons of context values"
        elif tok.type == "NAME" and tok.value in ("if", "else", "for", "is", "import", "yield", "await"):
            msg = f"'{tok.value}' is not allowed in conditions"
            hint = "conditions use ==, !=, <, <=, >, >=, in, not in, and, or, not" + (
                "; write '== None' instead of 'is None'" if tok.value == "is" else "")
        elif tok.type == "COLON" and prev is not None and prev.type != "NAME":
            msg, hint = "unexpected ':'", "a transition has at most one condition: a->b:cond;"
        elif tok.type == "NAME" and prev is not None and prev.type in ("NAME", "RSQB") and "SEMI" in exc.expected:
            msg = f"unexpected name '{tok.value}'; expected {expected}"
            hint = "did you forget ';' between two statements?"
        elif tok.type == "ARROW" and "SEMI" in exc.expected:
            msg = "unexpected '->'"
            hint = "write one transition per statement: a->b; b->c;"
        else:
            shown = tok.value if len(tok.value) <= 30 else tok.value[:27] + "..."
            msg = f"unexpected {_TOKEN_NAMES.get(tok.type, tok.type)} {shown!r}; expected {expected}"
        return _issue(text, "syntax", msg, line, col, hint)
    if isinstance(exc, UnexpectedEOF):
        return _issue(text, "syntax", f"unexpected end of input; expected {_expected_text(exc.expected)}",
                      line, col)
    return _issue(text, "syntax", str(exc).splitlines()[0], line, col)  # pragma: no cover


def _previous_token(text: str, tok: Token) -> Token | None:
    """The token just before ``tok`` (re-lexes the prefix; only used on the error path)."""
    start = getattr(tok, "start_pos", None)
    if not start:
        return None
    prev = None
    try:
        for t in _parser().lex(text[:start]):
            prev = t
    except UnexpectedInput:
        return None
    return prev


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    mapping = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(mapping.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _Refused(Exception):
    def __init__(self, message: str, token_or_meta, hint: str = ""):
        self.message, self.hint = message, hint
        self.line = getattr(token_or_meta, "line", None)
        self.column = getattr(token_or_meta, "column", None)


class _ToModel(Transformer):
    """Builds model objects from the lark tree (bottom-up)."""

    # --- conditions
    def number(self, children):
        (tok,) = children
        text = tok.value
        if any(c in text for c in ".eE"):
            value = float(text)
            if value in (float("inf"), float("-inf")):
                raise _Refused(f"number {text[:20]} is out of range", tok)
            return Literal_(value)
        if len(text) > 40:
            raise _Refused("integer literal too long (max 40 digits)", tok)
        return Literal_(int(text))

    def string(self, children):
        return _StrLit(_unquote(children[0].value), children[0].value.startswith('"'), children[0])

    def true(self, _):
        return Literal_(True)

    def false(self, _):
        return Literal_(False)

    def none(self, _):
        return Literal_(None)

    def name(self, children):
        parts = tuple(t.value for t in children if t.type == "NAME")
        for tok in children:
            if tok.type == "NAME" and tok.value.startswith("__"):
                raise _Refused(f"name '{tok.value}' is not allowed: dunder names are refused", tok,
                               "context names are plain identifiers such as order.total")
        return Name(parts)

    def list_lit(self, children):
        items = []
        for c in children:
            if c is None or isinstance(c, Token):
                continue
            items.append(_plain(c))
        return ListLit(tuple(items))

    def paren(self, children):
        return _plain(children[1])

    def comp_op(self, children):
        return children[0].value

    def not_in(self, _children):
        return "not in"

    def comparison(self, children):
        left = _plain(children[0])
        ops = tuple(children[1::2])
        rights = tuple(_plain(c) for c in children[2::2])
        for op, right in zip(ops, rights):
            if op in ("in", "not in") and isinstance(right, Literal_) and not isinstance(right.value, str):
                raise _Refused(f"'{op}' needs a list like [1, 2] or a string on its right", None)
        return Compare(left, ops, rights)

    def and_test(self, children):
        return BoolOp("and", tuple(_plain(c) for c in children))

    def or_test(self, children):
        return BoolOp("or", tuple(_plain(c) for c in children))

    def not_(self, children):
        return Not(_plain(children[0]))

    def error_guard(self, _):
        return Condition("error", "@error")

    # --- statements
    def single(self, children):
        tok = children[0]
        return _Endpoint((tok.value,), False, [tok], [])

    def group(self, children):
        members_tree: Tree = children[1]
        return members_tree

    def members(self, children):
        names, toks, empties = [], [], []
        commas = [c for c in children if isinstance(c, Token) and c.type == "COMMA"]
        slots = [c for c in children if not (isinstance(c, Token) and c.type == "COMMA")]
        for i, slot in enumerate(slots):
            if slot is None:
                anchor = commas[i] if i < len(commas) else (commas[i - 1] if commas else None)
                empties.append(anchor)
            else:
                names.append(slot.value)
                toks.append(slot)
        return _Endpoint(tuple(names), True, toks, empties)

    @v_args(meta=True)
    def statement(self, meta, children):
        src, dst = children[0], children[2]
        cond = None
        if len(children) > 3 and children[3] is not None:
            cond = _to_condition(children[4])
        return _Stmt(src, dst, cond, Position(meta.line, meta.column))

    def workflow(self, children):
        return [c for c in children if isinstance(c, _Stmt)]


class _StrLit(Literal_):
    """A string literal that remembers its quote style (double-quoted alone = natural language)."""

    def __init__(self, value, double, token):
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "_double", double)
        object.__setattr__(self, "_token", token)


def _plain(node):
    if isinstance(node, _StrLit):
        return Literal_(node.value)
    return node


def _to_condition(node) -> Condition:
    if isinstance(node, Condition):
        return node
    if isinstance(node, _StrLit) and node._double:
        sentence = node.value.strip()
        if not sentence:
            raise _Refused("empty natural-language condition", node._token,
                           'write the question to decide, e.g. "the customer sounds angry"')
        return Condition("natural", sentence)
    expr = _plain(node)
    return Condition("expr", expr_text(expr), expr)


class _Endpoint:
    def __init__(self, names, is_group, tokens, empties):
        self.names, self.is_group, self.tokens, self.empties = names, is_group, tokens, empties


class _Stmt:
    def __init__(self, src: _Endpoint, dst: _Endpoint, cond, pos: Position):
        self.src, self.dst, self.cond, self.pos = src, dst, cond, pos


def _check_depth(tree: Tree, text: str) -> None:
    """Refuse deeply nested conditions before any recursive processing."""
    stack = [(tree, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            meta = node.meta if isinstance(node, Tree) else node
            raise DSLError(_issue(text, "too_deep", f"condition nested too deeply (more than {MAX_DEPTH} levels)",
                                  getattr(meta, "line", None), getattr(meta, "column", None),
                                  "split it into simpler conditions"))
        if isinstance(node, Tree):
            inc = 1 if node.data not in ("workflow", "statement") else 0
            for child in node.children:
                if isinstance(child, Tree):
                    stack.append((child, depth + inc))
    if count > MAX_CONDITION_NODES * 50:
        raise DSLError(_issue(text, "too_large", "workflow too large to parse", None, None))


def parse(text: str, *, max_bytes: int | None = None, max_transitions: int | None = None) -> WorkflowModel:
    """Parse DSL text. Raises :class:`DSLError` (syntax, refused constructs, limits)."""
    if not isinstance(text, str):
        raise DSLError(Issue("error", "type", f"DSL must be text, got {type(text).__name__}"))
    limit = max_bytes or MAX_BYTES
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise DSLError(Issue("error", "too_large", f"DSL is {size:,} bytes; the limit is {limit:,} bytes",
                             hint="split the workflow into sub-workflows, or raise WORKBENCH_DSL_MAX_BYTES"))
    if "\x00" in text:
        pos = text.index("\x00")
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        raise DSLError(_issue(text, "syntax", "NUL character in input", line, col))
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise DSLError(_syntax_issue(text, exc)) from None
    _check_depth(tree, text)
    try:
        stmts = _ToModel().transform(tree)
    except VisitError as exc:
        orig = exc.orig_exc
        if isinstance(orig, _Refused):
            line, col = orig.line, orig.column
            if line is None and isinstance(exc.obj, Tree) and getattr(exc.obj.meta, "line", None):
                line, col = exc.obj.meta.line, exc.obj.meta.column
            raise DSLError(_issue(text, "refused", orig.message, line, col, orig.hint)) from None
        if isinstance(orig, RecursionError):
            raise DSLError(_issue(text, "too_deep", "input nested too deeply", None, None)) from None
        raise DSLError(_issue(text, "syntax", f"could not read the DSL: {orig}", None, None)) from None
    tmax = max_transitions or MAX_TRANSITIONS
    if len(stmts) > tmax:
        raise DSLError(Issue("error", "too_large", f"{len(stmts):,} transitions; the limit is {tmax:,}",
                             hint="split the workflow into sub-workflows, or raise WORKBENCH_DSL_MAX_TRANSITIONS"))
    return _build_model(text, stmts)


def _build_model(text: str, stmts: list[_Stmt]) -> WorkflowModel:
    issues: list[Issue] = []
    transitions: list[Transition] = []
    states: dict[str, None] = {}
    for st in stmts:
        for ep in (st.src, st.dst):
            for anchor in ep.empties:
                line = getattr(anchor, "line", st.pos.line)
                col = getattr(anchor, "column", st.pos.column)
                issues.append(_issue(text, "empty_member", "empty member in a state group", line, col,
                                     "remove the extra ',' or name the missing state: [a,b,c]"))
            if ep.is_group and not ep.names and not ep.empties:
                issues.append(_issue(text, "empty_member", "empty state group '[]'", st.pos.line, st.pos.column,
                                     "name the parallel states: a->[b,c];"))
            seen: set[str] = set()
            for tok in ep.tokens:
                if tok.value in seen:
                    issues.append(_issue(text, "duplicate_member", f"state '{tok.value}' appears twice in one group",
                                         tok.line, tok.column, "each parallel branch must be a different state"))
                seen.add(tok.value)
        if st.src.is_group and st.dst.is_group:
            issues.append(_issue(text, "group_to_group", "a transition cannot be both a fan-in and a fan-out",
                                 st.pos.line, st.pos.column,
                                 "join into one state first: [a,b]->merge; merge->[c,d];"))
        for tok in st.dst.tokens:
            if tok.value == "start":
                issues.append(_issue(text, "reserved", "'start' cannot be a target: it is where every run begins",
                                     tok.line, tok.column, "give the state another name"))
        for tok in st.src.tokens:
            if tok.value == "end":
                issues.append(_issue(text, "reserved", "'end' cannot have outgoing transitions: it finishes the run",
                                     tok.line, tok.column, "give the state another name, or remove the transition"))
        for tok in (*st.src.tokens, *st.dst.tokens):
            if tok.value.startswith("__"):
                issues.append(_issue(text, "refused", f"state name '{tok.value}' is not allowed (dunder)",
                                     tok.line, tok.column, "use a plain snake_case name"))
            states.setdefault(tok.value, None)
        if not st.src.names or not st.dst.names:
            continue
        transitions.append(Transition(st.src.names, st.dst.names, st.cond, st.src.is_group, st.dst.is_group,
                                      st.pos))
    if issues:
        raise DSLError(issues)
    return WorkflowModel(tuple(transitions), tuple(states))
