"""Parse DSL text into a :class:`WorkflowModel` with lark's LALR parser.

Every failure raises :class:`engine.errors.DSLError` carrying line:column, an excerpt with a
caret and a hint. Hostile conditions (calls, subscripts, dunders, arithmetic, f-strings, lambdas)
are refused here, at parse time, by construction of the grammar plus the checks below.

The model is built by an *inline* transformer: lark calls the callbacks below while it reduces,
so no parse tree is built and nothing here recurses over the input. Nesting depth and size of each
condition are tracked bottom-up and refused as soon as they pass the limits, so deeply nested
input (10,000 parentheses or ``not``) ends in a clean :class:`DSLError`, never a RecursionError.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

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
    Position,
    Transition,
    WorkflowModel,
)
from engine.dsl.printer import expr_text
from engine.errors import DSLError, Issue


def _env_int(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


MAX_BYTES = _env_int("WORKBENCH_DSL_MAX_BYTES", 1_000_000)
MAX_TRANSITIONS = _env_int("WORKBENCH_DSL_MAX_TRANSITIONS", 10_000)
MAX_DEPTH = 64  # nesting of parentheses / not / and / or / comparisons inside one condition
MAX_CONDITION_NODES = 2_000  # names, literals and operators in one condition
MAX_NAME = 100  # characters in a state name or in one part of a dotted context name
MAX_ISSUES_PER_CODE = 20  # findings listed per kind; the rest are counted in one summary issue

_GRAMMAR = (Path(__file__).with_name("grammar.lark")).read_text()

_TOKEN_NAMES = {
    "ARROW": "'->'",
    "SEMI": "';'",
    "COLON": "':'",
    "COMMA": "','",
    "DOT": "'.'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LPAR": "'('",
    "RPAR": "')'",
    "ERROR_MARK": "'@error'",
    "EQ": "'=='",
    "NE": "'!='",
    "LE": "'<='",
    "GE": "'>='",
    "LT": "'<'",
    "GT": "'>'",
    "IN": "'in'",
    "_NOT": "'not'",
    "_AND": "'and'",
    "_OR": "'or'",
    "NOT": "'not'",
    "AND": "'and'",
    "OR": "'or'",
    "TRUE": "True",
    "FALSE": "False",
    "NONE": "None",
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "$END": "end of input",
}
_KEYWORDS = frozenset({"True", "False", "None", "in", "not", "and", "or"})
_LITERAL_TOKENS = frozenset({"NUMBER", "STRING", "TRUE", "FALSE", "NONE"})
_PY_KEYWORDS = frozenset(
    {
        "if",
        "else",
        "elif",
        "for",
        "while",
        "is",
        "import",
        "from",
        "yield",
        "await",
        "async",
        "def",
        "class",
        "return",
        "with",
        "as",
        "global",
        "nonlocal",
        "del",
        "pass",
        "raise",
        "try",
        "except",
        "finally",
        "assert",
        "exec",
        "eval",
        "print",
    }
)
# what the lexer treats as a comment, a string or an arrow (used to count statements before parsing)
_ARROW_SCAN = re.compile(r"#[^\n]*|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|->")


# --- intermediate values built while parsing -------------------------------------------------


class _E:
    """A condition node while parsing: the model node plus its nesting depth, size and first token."""

    __slots__ = ("node", "depth", "size", "tok", "double")

    def __init__(self, node, depth: int, size: int, tok, double: bool = False):
        self.node, self.depth, self.size, self.tok, self.double = node, depth, size, tok, double


class _Endpoint:
    __slots__ = ("names", "is_group", "tokens", "empties", "first")

    def __init__(self, names, is_group, tokens, empties, first):
        self.names, self.is_group, self.tokens, self.empties, self.first = names, is_group, tokens, empties, first


class _Stmt:
    __slots__ = ("src", "dst", "cond", "pos")

    def __init__(self, src: _Endpoint, dst: _Endpoint, cond, pos: Position):
        self.src, self.dst, self.cond, self.pos = src, dst, cond, pos


class _Refused(Exception):
    def __init__(self, message: str, token=None, hint: str = "", code: str = "refused"):
        super().__init__(message)
        self.message, self.hint, self.code = message, hint, code
        self.line = getattr(token, "line", None)
        self.column = getattr(token, "column", None)


def _combine(node, parts: list[_E], tok, extra_size: int = 1) -> _E:
    depth = 1 + max(p.depth for p in parts)
    size = extra_size + sum(p.size for p in parts)
    if depth > MAX_DEPTH:
        raise _Refused(
            f"condition nested too deeply (more than {MAX_DEPTH} levels)",
            tok,
            "split it into simpler conditions",
            code="too_deep",
        )
    if size > MAX_CONDITION_NODES:
        raise _Refused(
            f"condition too large (more than {MAX_CONDITION_NODES:,} names, values and operators)",
            tok,
            "split it into simpler conditions",
            code="too_large",
        )
    return _E(node, depth, size, tok)


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


class _ToModel(Transformer):
    """Builds model objects while lark reduces (used as the parser's inline transformer)."""

    # --- conditions
    def number(self, children):
        (tok,) = children
        text = tok.value
        if any(c in text for c in ".eE"):
            value = float(text)
            if value in (float("inf"), float("-inf")):
                raise _Refused(f"number {text[:20]} is out of range", tok)
            return _E(Literal_(value), 1, 1, tok)
        if len(text.lstrip("-")) > 40:
            raise _Refused("integer literal too long (max 40 digits)", tok)
        return _E(Literal_(int(text)), 1, 1, tok)

    def string(self, children):
        tok = children[0]
        return _E(Literal_(_unquote(tok.value)), 1, 1, tok, double=tok.value.startswith('"'))

    def true(self, children):
        return _E(Literal_(True), 1, 1, children[0])

    def false(self, children):
        return _E(Literal_(False), 1, 1, children[0])

    def none(self, children):
        return _E(Literal_(None), 1, 1, children[0])

    def name(self, children):
        parts = []
        for tok in children:
            if tok.type == "NAME":
                if tok.value.startswith("__"):
                    raise _Refused(
                        f"name '{tok.value[:40]}' is not allowed: dunder names are refused",
                        tok,
                        "context names are plain identifiers such as order.total",
                    )
                if len(tok.value) > MAX_NAME:
                    raise _Refused(f"name too long ({len(tok.value):,} characters; the limit is {MAX_NAME})", tok)
                parts.append(tok.value)
        if len(parts) > MAX_DEPTH:
            raise _Refused(f"dotted name too long (more than {MAX_DEPTH} parts)", children[0])
        return _E(Name(tuple(parts)), 1, 1, children[0])

    def list_lit(self, children):
        items = [c for c in children if isinstance(c, _E)]
        node = ListLit(tuple(i.node for i in items))
        if len(items) > MAX_CONDITION_NODES:
            raise _Refused(
                f"list literal too long (more than {MAX_CONDITION_NODES:,} items)", children[0], code="too_large"
            )
        return _E(node, 2 if items else 1, 1 + len(items), children[0])

    def paren(self, children):
        inner: _E = children[1]
        out = _combine(inner.node, [inner], children[0], extra_size=0)
        return out

    def comp_op(self, children):
        return children[0]

    def not_in(self, children):
        return Token("IN", "not in", children[0].start_pos, children[0].line, children[0].column)

    def comparison(self, children):
        left: _E = children[0]
        ops = children[1::2]
        rights: list[_E] = children[2::2]
        for op, right in zip(ops, rights):
            if (
                op.value in ("in", "not in")
                and isinstance(right.node, Literal_)
                and not isinstance(right.node.value, str)
            ):
                raise _Refused(
                    f"'{op.value}' needs a list like [1, 2], a string or a context name on its right",
                    right.tok,
                    "e.g. status in ['new', 'open']",
                )
        node = Compare(left.node, tuple(str(op.value) for op in ops), tuple(r.node for r in rights))
        return _combine(node, [left, *rights], left.tok, extra_size=len(ops))

    def and_test(self, children):
        return _combine(
            BoolOp("and", tuple(c.node for c in children)), children, children[0].tok, extra_size=len(children) - 1
        )

    def or_test(self, children):
        return _combine(
            BoolOp("or", tuple(c.node for c in children)), children, children[0].tok, extra_size=len(children) - 1
        )

    def not_(self, children):
        inner: _E = children[0]
        return _combine(Not(inner.node), [inner], inner.tok)

    def error_guard(self, _children):
        return Condition("error", "@error")

    # --- statements
    def single(self, children):
        tok = children[0]
        return _Endpoint((tok.value,), False, [tok], [], tok)

    def group(self, children):
        members: _Endpoint = children[1]
        members.first = children[0]
        return members

    def members(self, children):
        names, toks, empties = [], [], []
        commas = [c for c in children if isinstance(c, Token) and c.type == "COMMA"]
        slots = [c for c in children if not (isinstance(c, Token) and c.type == "COMMA")]
        if not commas and slots == [None]:
            return _Endpoint((), True, [], [], None)  # '[]': reported by _build_model
        for i, slot in enumerate(slots):
            if slot is None:
                anchor = commas[i] if i < len(commas) else commas[-1]
                empties.append(anchor)
            else:
                names.append(slot.value)
                toks.append(slot)
        return _Endpoint(tuple(names), True, toks, empties, None)

    def statement(self, children):
        src, dst = children[0], children[2]
        cond = _to_condition(children[4]) if len(children) > 4 and children[4] is not None else None
        first = src.first
        return _Stmt(src, dst, cond, Position(first.line, first.column))

    def workflow(self, children):
        return [c for c in children if isinstance(c, _Stmt)]


def _to_condition(value) -> Condition:
    if isinstance(value, Condition):
        return value
    e: _E = value
    if isinstance(e.node, Literal_) and e.double and e.depth == 1:
        sentence = e.node.value.strip()
        if not sentence:
            raise _Refused(
                "empty natural-language condition",
                e.tok,
                'write the question to decide, e.g. "the customer sounds angry"',
            )
        return Condition("natural", sentence)
    return Condition("expr", expr_text(e.node), e.node)


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_GRAMMAR, start="workflow", parser="lalr", maybe_placeholders=True, transformer=_ToModel())


# --- error reporting ---------------------------------------------------------------------

_line_cache: tuple[str, list[int]] | None = None


def _line_starts(text: str) -> list[int]:
    """Offsets where each line of ``text`` starts; computed once per text (the last text is cached)."""
    global _line_cache
    cached = _line_cache
    if cached is not None and cached[0] is text:
        return cached[1]
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))
    _line_cache = (text, starts)
    return starts


def excerpt(text: str, line: int | None, column: int | None) -> str:
    """The source line with a caret under ``column`` (both 1-based; lines split on '\\n' as lark counts).

    Costs the width of the excerpt, not the size of the text: line offsets are computed once per text
    and only the shown window of the line is copied.
    """
    if not line or not column:
        return ""
    starts = _line_starts(text)
    if not 1 <= line <= len(starts):
        return ""
    begin = starts[line - 1]
    stop = starts[line] - 1 if line < len(starts) else len(text)
    while stop > begin and text[stop - 1] == "\r":
        stop -= 1
    length = stop - begin
    column = max(1, min(column, length + 1))
    start = max(0, column - 60)
    shown = text[begin + start : begin + min(start + 120, length)].replace("\t", " ")
    shown = "".join(ch if ch.isprintable() else " " for ch in shown)
    prefix = "…" if start else ""
    suffix = "…" if start + 120 < length else ""
    return f"  {prefix}{shown}{suffix}\n  {' ' * (len(prefix) + column - 1 - start)}^"


def _issue(
    text: str, code: str, message: str, line: int | None, column: int | None, hint: str = "", severity: str = "error"
) -> Issue:
    ex = excerpt(text, line, column) if line is not None and column is not None else ""
    return Issue(severity, code, message, line, column, hint, ex)


class IssueCollector:
    """Collects findings, keeping the first ``limit`` of each (severity, code) and counting the rest.

    Excerpts are computed only for the issues kept, so a text with 60,000 dead ends costs 20
    excerpts, not 60,000; each code that overflowed ends with one summary issue saying how many more
    there are.
    """

    def __init__(self, text: str, limit: int | None = None):
        self.text = text
        self.limit = limit or MAX_ISSUES_PER_CODE
        self.kept: list[Issue] = []
        self.omitted: dict[tuple[str, str], int] = {}
        self._counts: dict[tuple[str, str], int] = {}

    def add(self, severity: str, code: str, message: str, line: int | None, column: int | None, hint: str = "") -> None:
        """Record one finding (its excerpt is computed only if it is kept)."""
        key = (severity, code)
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        if n > self.limit:
            self.omitted[key] = self.omitted.get(key, 0) + 1
            return
        ex = excerpt(self.text, line, column) if self.text and line is not None and column is not None else ""
        self.kept.append(Issue(severity, code, message, line, column, hint, ex))

    def issues(self, severity: str, sort: bool = True) -> list[Issue]:
        """Kept issues of ``severity`` (in source order when ``sort``), then one summary per code that overflowed."""
        out = [i for i in self.kept if i.severity == severity]
        if sort:
            out.sort(key=lambda i: (i.line or 0, i.column or 0))
        for (sev, code), n in self.omitted.items():
            if sev == severity:
                out.append(
                    Issue(
                        sev,
                        code,
                        f"{n:,} more '{code}' {sev}s like the above are not listed "
                        f"(only the first {self.limit} of each kind are shown)",
                        hint="fix the ones listed and validate again",
                    )
                )
        return out


def names_text(names, limit: int = 8) -> str:
    """``a,b,c`` — or the first ``limit`` names and how many more, for messages about huge groups."""
    names = list(names) if not isinstance(names, (list, tuple)) else names
    if len(names) <= limit:
        return ",".join(names)
    return ",".join(names[:limit]) + f",… ({len(names) - limit:,} more)"


def _expected_text(expected) -> str:
    names = sorted({_TOKEN_NAMES.get(e, e) for e in expected})
    if len(names) > 6:
        names = names[:6] + ["…"]
    return ", ".join(names)


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _end_position(text: str) -> tuple[int, int]:
    """Line:column just after the last character that is not whitespace or a comment."""
    stripped = re.sub(r"#[^\n]*", lambda m: " " * len(m.group()), text).rstrip()
    return _line_col(text, len(stripped))


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


def _char_issue(text: str, exc: UnexpectedCharacters, line: int, col: int) -> Issue:
    ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
    hint = ""
    if ch == "*":
        msg = (
            "operator '*' is not allowed: conditions compare values, they do not compute (no **, no string repetition)"
        )
        hint = "use ==, !=, <, <=, >, >=, in, not in, and, or, not"
    elif ch in "+/%-^~@":
        if ch == "@":
            msg, hint = "'@' is only allowed in '@error'", "a fallback transition is written 'state->fallback:@error;'"
        elif ch == "-" and text.startswith("->", exc.pos_in_stream):
            msg, hint = "unexpected '->'", "write one transition per statement: a->b; b->c;"
        else:
            msg = f"operator '{ch}' is not allowed: conditions compare values, they do not compute"
            hint = "use ==, !=, <, <=, >, >=, in, not in, and, or, not"
    elif ch == "=":
        msg, hint = "'=' is not a comparison (and assignment is not allowed)", "write '==' to compare"
    elif ch in "&|":
        msg, hint = f"'{ch}' is not an operator here", "write 'and' / 'or'"
    elif ch == "!":
        msg, hint = "'!' is not an operator here", "write 'not', or '!=' for 'not equal'"
    elif ch in "{}":
        msg, hint = "braces are not part of the DSL", "list literals use [a, b]"
    elif ch in "\"'":
        msg, hint = "unterminated string", "close the string with the same quote on the same line"
    elif ch == "\\":
        msg, hint = "'\\' is only allowed inside strings", "remove it"
    elif ch == "`":
        msg, hint = "backquotes are not part of the DSL", "strings use '…' or \"…\""
    else:
        shown = repr(ch) if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}" if ch else "end of input"
        msg = f"unexpected character {shown}"
        hint = "state and context names are ASCII identifiers (letters, digits, _); '#' starts a comment"
        allowed = getattr(exc, "allowed", None)
        if allowed:
            msg += f"; expected {_expected_text(allowed)}"
    return _issue(text, "syntax", msg, line, col, hint)


def _token_issue(text: str, exc: UnexpectedToken, line: int, col: int, lex_text: str | None = None) -> Issue:
    tok: Token = exc.token
    expected = _expected_text(exc.expected)
    prev = _previous_token(lex_text or text, tok) if tok.type != "$END" else None
    hint = ""
    if tok.type == "$END":
        line, col = _end_position(text)
        msg = f"unexpected end of input; expected {expected}"
        hint = "a statement looks like 'a->b;' or 'a->b:condition;'"
    elif tok.type == "LPAR" and prev is not None and prev.type in ("NAME", "RPAR", "RSQB", "STRING"):
        msg, hint = "function calls are not allowed in conditions", "compare context values instead: total > 100"
    elif tok.type == "LSQB" and prev is not None and prev.type in ("NAME", "RSQB", "STRING", "RPAR"):
        msg, hint = "subscripts are not allowed in conditions", "use dotted names for nested values: order.total"
    elif (
        tok.type == "STRING"
        and prev is not None
        and prev.type == "NAME"
        and prev.value.lower() in ("f", "rf", "fr", "b", "rb", "br", "r", "u")
    ):
        msg, hint = "prefixed strings (f-strings, bytes, raw) are not allowed", "write a plain '…' or \"…\" string"
    elif (tok.type == "NAME" and tok.value == "lambda") or (prev is not None and prev.value == "lambda"):
        msg, hint = "lambda is not allowed in conditions", "conditions are comparisons of context values"
    elif (
        tok.type == "NAME"
        and tok.value in _PY_KEYWORDS
        or (prev is not None and prev.type == "NAME" and prev.value in _PY_KEYWORDS)
    ):
        word = tok.value if tok.value in _PY_KEYWORDS else prev.value
        msg = f"'{word}' is not part of the DSL"
        hint = "conditions use ==, !=, <, <=, >, >=, in, not in, and, or, not" + (
            "; write '== None' instead of 'is None'" if word == "is" else ""
        )
    elif tok.type == "NAME" and set(exc.expected) <= (_LITERAL_TOKENS | {"RSQB", "COMMA"}):
        msg = f"unexpected name '{tok.value}': list literals hold constants only (no names, no comprehensions)"
        hint = "write the values out: status in ['new', 'open']"
    elif (
        tok.type == "NUMBER"
        and tok.value.startswith("-")
        and prev is not None
        and prev.type in ("NAME", "NUMBER", "RPAR", "STRING", "RSQB")
    ):
        msg = "operator '-' is not allowed: conditions compare values, they do not compute"
        hint = "use ==, !=, <, <=, >, >=, in, not in, and, or, not"
        col = tok.column
    elif tok.type == "COLON" and prev is not None and prev.type != "NAME":
        msg, hint = "unexpected ':'", "a transition has at most one condition: a->b:cond;"
    elif tok.type == "NAME" and prev is not None and prev.type in ("NAME", "RSQB") and "SEMI" in exc.expected:
        msg = f"unexpected name '{tok.value}'; expected {expected}"
        hint = "did you forget ';' between two statements?"
    elif tok.type == "ARROW" and "SEMI" in exc.expected:
        msg = "unexpected '->'"
        hint = "write one transition per statement: a->b; b->c;"
    elif tok.type == "DOT" and prev is not None and prev.type != "NAME":
        msg, hint = "attribute access is only allowed on context names", "use dotted names such as order.total"
    elif (
        tok.type in ("TRUE", "FALSE", "NONE", "IN")
        and "ARROW" in exc.expected
        or (tok.type in ("TRUE", "FALSE", "NONE", "IN") and set(exc.expected) <= {"NAME", "LSQB"})
    ):
        msg = f"'{tok.value}' is a keyword and cannot be a state name"
        hint = "state names are identifiers other than True, False, None, in, not, and, or"
    else:
        shown = tok.value if len(tok.value) <= 30 else tok.value[:27] + "..."
        what = _TOKEN_NAMES.get(tok.type, tok.type)
        msg = (
            f"unexpected {shown!r}; expected {expected}"
            if what.startswith("'")
            else f"unexpected {what.removeprefix('a ')} {shown!r}; expected {expected}"
        )
    return _issue(text, "syntax", msg, line, col, hint)


def _syntax_issue(text: str, exc: UnexpectedInput, lex_text: str | None = None) -> Issue:
    """The issue for a lark error; ``lex_text`` (same offsets as ``text``) is what lark parsed, if different."""
    line, col = getattr(exc, "line", None), getattr(exc, "column", None)
    if line is None or line < 0 or col is None or col < 0:
        line, col = _end_position(text)
    if isinstance(exc, UnexpectedCharacters):
        return _char_issue(text, exc, line, col)
    if isinstance(exc, UnexpectedToken):
        return _token_issue(text, exc, line, col, lex_text)
    if isinstance(exc, UnexpectedEOF):
        line, col = _end_position(text)
        return _issue(
            text,
            "syntax",
            f"unexpected end of input; expected {_expected_text(exc.expected)}",
            line,
            col,
            "a statement looks like 'a->b;' or 'a->b:condition;'",
        )
    return _issue(text, "syntax", str(exc).splitlines()[0], line, col)  # pragma: no cover


# --- entry points ------------------------------------------------------------------------


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


class _Tok:
    """A state-name or bracket token of the fast path (what :func:`_build_model` reads of a lark Token)."""

    __slots__ = ("value", "line", "column")

    def __init__(self, value: str, line: int, column: int):
        self.value, self.line, self.column = value, line, column


_FAST_TOKENS = re.compile(
    r"(?P<ws>[ \t\f\r\n]+)|(?P<comment>#[^\n]*)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<arrow>->)"
    r"|(?P<semi>;)|(?P<colon>:)|(?P<comma>,)|(?P<lsqb>\[)|(?P<rsqb>\])|(?P<other>.)",
    re.S,
)
# the end of a guard: the first ';' outside strings and comments (a lone quote is an unterminated string)
_GUARD_END = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|#[^\n]*|(?P<semi>;)|(?P<quote>[\"'])")


class _NotFast(Exception):
    """The fast path met something it leaves to lark (any error, keywords, empty group members).

    ``done`` holds the statements read before ``boundary``, the offset of the last ';' read (-1: none).
    """

    def __init__(self):
        super().__init__()
        self.done: list[_Stmt] = []
        self.boundary = -1


def _fast_statements(text: str) -> list[_Stmt]:
    """Statements of well-formed DSL without lark's per-token cost for the transition structure.

    Transition endpoints (names, ``[groups]``), arrows and separators are scanned with one regular
    expression; each guard is parsed by lark on its own. Anything unusual — an error, a keyword used
    as a state name, an empty group member, an unexpected character — raises :class:`_NotFast`, and
    the caller has lark parse the rest of the text (from the last ';' read), which gives the exact
    error. For text that lark accepts, the result equals lark's.
    """
    stmts: list[_Stmt] = []
    line, line_start = 1, 0
    tokens = _FAST_TOKENS.finditer(text)
    pos = 0

    def next_token():
        nonlocal line, line_start, pos
        for m in tokens:
            kind = m.lastgroup
            if kind == "ws":
                value = m.group()
                newlines = value.count("\n")
                if newlines:
                    line += newlines
                    line_start = m.start() + value.rfind("\n") + 1
                continue
            if kind == "comment":
                continue
            pos = m.end()
            return kind, m
        return None, None

    def endpoint(kind, m) -> _Endpoint:
        if kind == "name":
            value = m.group()
            if value in _KEYWORDS:
                raise _NotFast()
            tok = _Tok(value, line, m.start() - line_start + 1)
            return _Endpoint((value,), False, [tok], [], tok)
        if kind != "lsqb":
            raise _NotFast()
        first = _Tok("[", line, m.start() - line_start + 1)
        names, toks = [], []
        while True:
            kind, m = next_token()
            if kind != "name":
                raise _NotFast()  # '[]', '[,a]', '[a,,b]', '[a,]' and errors: lark reports them
            value = m.group()
            if value in _KEYWORDS:
                raise _NotFast()
            names.append(value)
            toks.append(_Tok(value, line, m.start() - line_start + 1))
            kind, m = next_token()
            if kind == "rsqb":
                return _Endpoint(tuple(names), True, toks, [], first)
            if kind != "comma":
                raise _NotFast()

    boundary, complete = -1, 0  # the last ';' read, and how many statements came before it
    try:
        kind, m = next_token()
        while kind is not None:
            if kind == "semi":
                boundary, complete = m.start(), len(stmts)
                kind, m = next_token()
                continue
            src = endpoint(kind, m)
            kind, m = next_token()
            if kind != "arrow":
                raise _NotFast()
            kind, m = next_token()
            dst = endpoint(kind, m)
            kind, m = next_token()
            cond = None
            if kind == "colon":
                cond, end = _fast_guard(text, pos)
                tokens = _FAST_TOKENS.finditer(text, end)
                line += text.count("\n", pos, end)
                if "\n" in text[pos:end]:
                    line_start = text.rfind("\n", pos, end) + 1
                pos = end
                kind, m = next_token()
            stmts.append(_Stmt(src, dst, cond, Position(src.first.line, src.first.column)))
            if kind is None:
                break
            if kind != "semi":
                raise _NotFast()
    except _NotFast as exc:
        exc.done, exc.boundary = stmts[:complete], boundary
        raise
    return stmts


def _fast_guard(text: str, start: int) -> tuple[Condition, int]:
    """The guard starting at ``start`` (just after ':') and the offset of the ';' (or end) closing it."""
    end = len(text)
    for m in _GUARD_END.finditer(text, start):
        if m.lastgroup == "quote":
            raise _NotFast()
        if m.lastgroup == "semi":
            end = m.start()
            break
    guard = text[start:end]
    if guard.strip() == "@error":
        return Condition("error", "@error"), end
    if len(guard) <= _GUARD_CACHE_MAX_CHARS:
        return _cached_guard(guard), end
    return _parse_guard(guard), end


_GUARD_CACHE_MAX_CHARS = 2_000


def _parse_guard(guard: str) -> Condition:
    try:
        (stmt,) = _parser().parse("a->b:" + guard)
    except (UnexpectedInput, _Refused, ValueError, RecursionError):
        raise _NotFast() from None
    if stmt.cond is None:
        raise _NotFast()
    return stmt.cond


# the editor re-validates the whole text as you type: unchanged guards are not parsed again
# (conditions are immutable; a guard that fails raises, and failures are not cached)
_cached_guard = lru_cache(maxsize=16_384)(_parse_guard)


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
