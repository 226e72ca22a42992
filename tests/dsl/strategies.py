"""Hypothesis strategies for DSL models and text (shared by the property tests)."""

from __future__ import annotations

import keyword

from hypothesis import strategies as st

from engine.dsl.model import BoolOp, Compare, Condition, ListLit, Literal_, Name, Not, Transition, WorkflowModel
from engine.dsl.printer import expr_text

_DSL_KEYWORDS = {"True", "False", "None", "in", "not", "and", "or"}

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True).filter(
    lambda s: s not in _DSL_KEYWORDS and not s.startswith("__") and not keyword.iskeyword(s)
)
state_names = identifiers.filter(lambda s: s not in ("start", "end"))

# any character but NUL (refused anywhere) and lone surrogates
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
strings = st.text(_chars, max_size=12) | st.sampled_from(
    ["", "'", '"', "\\", "\\n", "it's", 'say "hi"', "a\\'b", "\n", "\t", "\r\n", "#", "->", ";"]
)
ints = st.integers(min_value=-(10**39), max_value=10**39)
floats = st.floats(allow_nan=False, allow_infinity=False)
constants = st.one_of(st.booleans(), st.none(), ints, floats, strings).map(Literal_)

names = st.lists(identifiers, min_size=1, max_size=3).map(lambda parts: Name(tuple(parts)))
list_literals = st.lists(constants, max_size=4).map(lambda items: ListLit(tuple(items)))
leaves = st.one_of(constants, names, list_literals)

OPS = ["==", "!=", "<", "<=", ">", ">=", "in", "not in"]


def _valid_compare(left, ops, rights) -> bool:
    # the parser refuses 'x in 5': the right side of in / not in must not be a non-string constant
    return all(
        not (op in ("in", "not in") and isinstance(r, Literal_) and not isinstance(r.value, str))
        for op, r in zip(ops, rights)
    )


def _extend(children):
    compare = (
        st.tuples(children, st.lists(st.tuples(st.sampled_from(OPS), children), min_size=1, max_size=3))
        .map(lambda t: (t[0], tuple(o for o, _ in t[1]), tuple(r for _, r in t[1])))
        .filter(lambda t: _valid_compare(*t))
        .map(lambda t: Compare(*t))
    )
    boolop = st.tuples(st.sampled_from(["and", "or"]), st.lists(children, min_size=2, max_size=3)).map(
        lambda t: BoolOp(t[0], tuple(t[1]))
    )
    return st.one_of(compare, boolop, children.map(Not))


expressions = st.recursive(leaves, _extend, max_leaves=12)

natural_texts = st.text(_chars, min_size=1, max_size=30).map(str.strip).filter(bool)

conditions = st.one_of(
    st.none(),
    st.just(Condition("error", "@error")),
    natural_texts.map(lambda t: Condition("natural", t)),
    expressions.map(lambda e: Condition("expr", expr_text(e), e)),
)


@st.composite
def transitions(draw) -> Transition:
    kind = draw(st.sampled_from(["single", "fan_out", "fan_in"]))
    cond = draw(conditions)
    if kind == "single":
        src = draw(st.one_of(st.just("start"), state_names))
        dst = draw(st.one_of(st.just("end"), state_names))
        return Transition((src,), (dst,), cond)
    if kind == "fan_out":
        src = draw(st.one_of(st.just("start"), state_names))
        dsts = draw(st.lists(st.one_of(st.just("end"), state_names), min_size=1, max_size=4, unique=True))
        return Transition((src,), tuple(dsts), cond, target_is_group=True)
    srcs = draw(st.lists(st.one_of(st.just("start"), state_names), min_size=1, max_size=4, unique=True))
    dst = draw(st.one_of(st.just("end"), state_names))
    return Transition(tuple(srcs), (dst,), cond, source_is_group=True)


def model_of(ts) -> WorkflowModel:
    states: dict[str, None] = {}
    for t in ts:
        for s in (*t.sources, *t.targets):
            states.setdefault(s, None)
    return WorkflowModel(tuple(ts), tuple(states))


models = st.lists(transitions(), min_size=1, max_size=12).map(model_of)

# token soup: DSL tokens (and hostile Python ones) glued together at random
TOKENS = [
    "start",
    "end",
    "a",
    "b",
    "c",
    "x.y",
    "->",
    ";",
    ":",
    "[",
    "]",
    ",",
    "(",
    ")",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "not",
    "and",
    "or",
    "True",
    "False",
    "None",
    "'s'",
    '"nl text"',
    "1",
    "-2.5",
    "1e3",
    ".",
    "@error",
    "@",
    "# c\n",
    "\n",
    " ",
    "\t",
    "__x",
    "x(",
    "*",
    "**",
    "lambda",
    "for",
    "if",
    "import",
    "f'x'",
    "'",
    '"',
    "\\",
    "=",
    "!",
    "{",
    "}",
    "$",
    "é",
    "->[",
    "]->",
    "\r\n",
]
token_soup = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)
spaced_token_soup = st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join)
