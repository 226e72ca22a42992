"""Numbers, units, currencies and comparison phrases ("above 10000", "more than 3 days")."""

from __future__ import annotations

import re

_NUM = r"(?P<cur>[$€£])?\s*(?P<num>-?\d+(?:\.\d+)?)(?:\s*(?P<mult>k|m|bn|thousand|million|billion)(?![a-z]))?\s*(?P<pct>%|percent)?"
_UNITS = (
    r"(?:\s*(?P<unit>days?|hours?|minutes?|mins?|seconds?|secs?|weeks?|months?|years?|degrees?|items?|points?|"
    r"units?|users?|employees?|people|orders?|times?|percent|mb|gb|kb|kg|km|miles?|pages?|requests?|"
    r"tickets?|attempts?|stars?|reviews?|votes?|words?|characters?|lines?|files?|rows?|records?|dollars?|"
    r"euros?|usd|eur|gbp)(?![a-z]))?"
)
_CMP_PATTERNS = [
    (
        "between",
        re.compile(
            r"\bbetween\s+" + _NUM + r"\s*(?:and|to|-|&and&)\s*(?P<cur2>[$€£])?\s*(?P<num2>-?\d+(?:\.\d+)?)"
            r"(?:\s*(?P<mult2>k|m|thousand|million)(?![a-z]))?" + _UNITS.replace("unit>", "unit2>"),
            re.I,
        ),
    ),
    (
        ">=",
        re.compile(
            r"(?:\bat least|\bno less than|\bnot less than|\ba minimum of|\bminimum of|\bmin\.?|>=|≥)\s*"
            + _NUM
            + _UNITS,
            re.I,
        ),
    ),
    (
        "<=",
        re.compile(
            r"(?:\bat most|\bno more than|\bnot more than|\bup to|\ba maximum of|\bmaximum of|\bmax\.?|<=|≤)\s*"
            + _NUM
            + _UNITS,
            re.I,
        ),
    ),
    (
        ">=",
        re.compile(
            _NUM + _UNITS + r"\s+(?:or more|or higher|or above|or greater|and above|and up|or over|or later)\b", re.I
        ),
    ),
    (
        "<=",
        re.compile(_NUM + _UNITS + r"\s+(?:or less|or fewer|or lower|or below|and below|or under|or earlier)\b", re.I),
    ),
    (
        ">",
        re.compile(
            r"(?:\babove|\bover|\bmore than|\bgreater than|\bhigher than|\blarger than|\bbigger than|"
            r"\blonger than|\bolder than|\bexceeds?|\bexceeding|\bexceeded|\bbeyond|\bpast|>)\s*" + _NUM + _UNITS,
            re.I,
        ),
    ),
    (
        "<",
        re.compile(
            r"(?:\bbelow|\bunder|\bless than|\bfewer than|\blower than|\bsmaller than|\bshorter than|"
            r"\byounger than|\bnewer than|\bwithin|<)\s*" + _NUM + _UNITS,
            re.I,
        ),
    ),
    ("==", re.compile(r"(?:\bequals?|\bequal to|\bis exactly|\bexactly|==|=)\s*" + _NUM + _UNITS, re.I)),
]
_AGE_WORDS = re.compile(r"\b(older|younger|newer)\b", re.I)
_TIME_UNITS = {"day", "hour", "minute", "min", "second", "sec", "week", "month", "year"}


def _number(m: re.Match, suffix: str = "") -> tuple[float, bool, str | None]:
    num = float(m.group("num" + suffix))
    mult = (m.groupdict().get("mult" + suffix) or "").lower()
    num *= {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "bn": 1e9, "billion": 1e9}.get(mult, 1)
    cur = bool(m.groupdict().get("cur") or m.groupdict().get("cur2"))
    unit = (m.groupdict().get("unit") or m.groupdict().get("unit2") or "").lower() or None
    if m.groupdict().get("pct"):
        unit = "percent"
    if unit in ("dollars", "dollar", "euros", "euro", "usd", "eur", "gbp"):
        cur, unit = True, None
    if unit:
        unit = {"mins": "minute", "min": "minute", "secs": "second", "sec": "second", "people": "person"}.get(
            unit, unit
        )
        if unit.endswith("s") and unit not in ("percent",):
            unit = unit[:-1]
    return num, cur, unit


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else repr(float(n))


def _find_cmp(text: str):
    """The first comparator phrase with a number: (op, match, start, end)."""
    best = None
    for op, rx in _CMP_PATTERNS:
        m = rx.search(text)
        if m and (best is None or m.start() < best[2]):
            best = (op, m, m.start(), m.end())
    return best
