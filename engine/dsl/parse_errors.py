"""Error reporting for the DSL: lark errors turned into FILE:LINE:COL issues with an excerpt and a hint.

For :mod:`engine.dsl.parser` (syntax errors and refused constructs), :mod:`engine.dsl.validate`
(:class:`IssueCollector`, :func:`names_text`) and the CLI (:func:`excerpt`). Apart from the collector and
:func:`excerpt` (which costs the width of the excerpt, not the size of the text), only failing input runs it.
"""

from __future__ import annotations

import re

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from engine.dsl.lalr import _parser
from engine.errors import Issue

MAX_ISSUES_PER_CODE = 20  # findings listed per kind; the rest are counted in one summary issue


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
    elif ch == "=" and text.startswith("=>", exc.pos_in_stream) and "ARROW" in (getattr(exc, "allowed", None) or ()):
        msg, hint = "'=>' is not an arrow", "did you mean '->'? A transition is written 'a->b;'"
    elif ch == "=" and text.startswith("=>", exc.pos_in_stream):
        msg, hint = "'=>' is not an operator", "did you mean '>='?"
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
