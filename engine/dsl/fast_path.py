"""The parser's fast path: the transition structure of well-formed DSL scanned without lark's per-token cost.

For :func:`engine.dsl.parser._run_parser`. Endpoints, arrows and separators are scanned with one
regular expression and each guard is parsed by lark on its own (cached, for the editor's re-validation
as you type). Anything unusual raises :class:`_NotFast` and lark parses the rest of the text, so
results and errors are always those of a full lark parse (``tests/dsl/test_fast_path.py`` checks it).
"""

from __future__ import annotations

import re
from functools import lru_cache

from lark.exceptions import UnexpectedInput

from engine.dsl.lalr import _KEYWORDS, _Endpoint, _parser, _Refused, _Stmt
from engine.dsl.model import Condition, Position


class _Tok:
    """A state-name or bracket token of the fast path (what :func:`engine.dsl.parser._build_model` reads of a lark Token)."""

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
