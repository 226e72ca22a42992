"""The lark LALR parser of ``grammar.lark`` and the inline transformer that builds statements as it reduces.

Used by :mod:`engine.dsl.parser` (whole texts, and the rest of a text after the fast path), by
:mod:`engine.dsl.fast_path` (one guard at a time) and by :mod:`engine.dsl.parse_errors` (re-lexing a
prefix for a hint). lark calls the callbacks of :class:`_ToModel` while it reduces, so no parse tree is
built and nothing here recurses over the input. Nesting depth and size of each condition are tracked
bottom-up and refused (:class:`_Refused`) as soon as they pass the limits below, so deeply nested input
(10,000 parentheses or ``not``) ends in a clean error, never a RecursionError. Hostile conditions
(calls, subscripts, dunders, arithmetic, f-strings, lambdas) are refused by construction of the grammar
plus the checks here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer

from engine.dsl.model import (
    BoolOp,
    Compare,
    Condition,
    ListLit,
    Literal_,
    Name,
    Not,
    Position,
)
from engine.dsl.printer import expr_text

MAX_DEPTH = 64  # nesting of parentheses / not / and / or / comparisons inside one condition
MAX_CONDITION_NODES = 2_000  # names, literals and operators in one condition
MAX_NAME = 100  # characters in a state name or in one part of a dotted context name


_GRAMMAR = (Path(__file__).with_name("grammar.lark")).read_text()


_KEYWORDS = frozenset({"True", "False", "None", "in", "not", "and", "or"})


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
