"""Offline NL -> DSL translator: deterministic, no model, always returns valid DSL.

Understands (in any mix):

- numbered / bulleted lists, "Step 1: …", nested sub-bullets under "if …:" or "in parallel:" items;
- sequence words: then, next, after that, afterwards, finally, first …, "after receiving X, …";
- decisions: "if / when / in case / provided / unless … , … ; otherwise / else / if not …",
  postfix "… if …", multi-way "approve when above 700, review between 600 and 700, decline otherwise",
  yes/no ("if the payment succeeds" -> payment_success==True, its else -> ==False),
  categories ("if severity is critical" -> severity=='critical'), numbers with units and currency,
  subjective judgements ("if the email sounds angry") as natural-language conditions;
- parallel work: "in parallel / at the same time / simultaneously / concurrently / meanwhile";
- arrows "a -> b -> c" (also → and =>); loops "… until it completes", "go back to step 1";
  "stop" / terminal actions (reject, cancel…) end their branch; "if any step fails, …" adds @error paths.

The text is only ever turned into identifiers and condition literals, never executed. The result is
checked with :func:`engine.dsl.validate.check` and repaired structurally if needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine.ai import _words as W
from engine.dsl.model import END, START
from engine.errors import DSLError

# ---------------------------------------------------------------------------------------------
# intermediate representation


@dataclass
class Act:
    text: str
    name: str
    terminal: bool = False
    ai: bool = False


@dataclass
class Stop:
    pass


@dataclass
class Goto:
    target: str  # "step:3" or free text


@dataclass
class Until:
    act: Act
    cond: Cond


@dataclass
class Par:
    branches: list[list]


@dataclass
class Cond:
    kind: str  # bool | num | cat | nl | expr | error
    text: str  # DSL condition text
    var: str | None = None
    value: Any = None
    subject: tuple[str, ...] = ()
    op: str | None = None
    threshold: float | None = None

    def negated(self) -> Cond | None:
        if self.kind == "bool" and self.var:
            return Cond("bool", f"{self.var}=={not self.value}", self.var, not self.value, self.subject)
        return None


@dataclass
class Decision:
    branches: list[list]  # [cond | None, body(list), terminal(bool)]
    force_rejoin: bool = False
    attach_hint: tuple[str, ...] = ()
    closed: bool = False


@dataclass
class Ctx:
    topic: list[str] = field(default_factory=list)
    topics: list[list[str]] = field(default_factory=list)
    entity: list[str] = field(default_factory=list)
    prev_action: str = ""
    attributes: list[str] = field(default_factory=list)
    quantity_var: str | None = None
    question: Any = None
    subject_noun: list[str] = field(default_factory=list)
    person: str | None = None
    prev_name: str = ""
    handlers: list[list] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    state_text: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# text preparation

_PREAMBLE = re.compile(
    r"^\s*(?:please\s+)?(?:(?:create|build|make|design|write|generate|set up|i (?:want|need)|we (?:want|need)|"
    r"give me)\s+(?:me\s+)?(?:a|an|the)?\s*(?:new\s+)?(?:simple\s+)?(?:workflow|process|pipeline|flow|automation)"
    r"(?:\s+(?:that|which|to|for|where|in which))?\s*[:,-]?\s*)",
    re.I,
)
_ARROWS = re.compile(r"\s*->\s*")
_NUM_COMMA = re.compile(r"(?<=\d),(?=\d{3}\b)")


def _prepare(text: str) -> str:
    t = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    t = t.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")
    t = _NUM_COMMA.sub("", t)
    t = re.sub(r"\be\.g\.|\bi\.e\.|\betc\.", lambda m: m.group(0).replace(".", ""), t, flags=re.I)
    t = re.sub(r"(?<=\d)\.(?=\d)", "<DOT>", t)
    t = _PREAMBLE.sub("", t, count=1)
    t = re.sub(r"\s*(?:→|⟶|⇒|➔|➜|—>|-->|=>|->)\s*", " -> ", t)
    t = re.sub(r"\?\s*->\s*", "?: ", t)
    t = re.sub(r"\b((?:the |a |an )?[A-Za-z_]+(?: [A-Za-z_]+)?) then (?=[a-z]+s\b)", r"\1 ", t)
    t = re.sub(r"\bIT\b", "IT_team", t)
    t = re.sub(
        r"\(\s*((?:in parallel|at the same time|simultaneously|concurrently|optional|optionally))\s*\)",
        r"\1",
        t,
        flags=re.I,
    )
    return t.strip()


# ---------------------------------------------------------------------------------------------
# lists

_ITEM = re.compile(
    r"^(?P<indent>\s*)(?:(?P<num>\d{1,3})[.):]|(?P<bul>[-*•+▪◦·])|(?:step|phase|stage)\s+"
    r"(?P<step>\d{1,3})\s*[:.)-]|(?P<let>[a-hA-H])[.)])\s+(?P<text>.+)$",
    re.I,
)


@dataclass
class Item:
    text: str
    indent: int
    number: int | None = None
    children: list[Item] = field(default_factory=list)


def _split_inline_steps(text: str) -> str:
    """'Step 1: a. Step 2: b.' on one line -> one item per line."""
    if len(re.findall(r"\bstep\s+\d+\s*[:.)-]", text, re.I)) >= 2:
        return re.sub(r"\s*\b(step\s+\d+\s*[:.)-])", r"\n\1", text, flags=re.I).strip()
    if len(re.findall(r"(?:^|\s)\(?\d{1,2}[).]\s+[A-Za-z]", text)) >= 3 and "\n" not in text.strip():
        return re.sub(r"\s+\(?(\d{1,2}[).])\s+(?=[A-Za-z])", r"\n\1 ", text).strip()
    return text


def _parse_lines(text: str) -> tuple[list[str], list[Item], list[str]]:
    """(header lines, item tree, trailing lines)."""
    header: list[str] = []
    trailing: list[str] = []
    roots: list[Item] = []
    stack: list[Item] = []
    last: Item | None = None
    for raw in text.split("\n"):
        if not raw.strip():
            continue
        m = _ITEM.match(raw)
        if not m:
            if roots and last is not None:
                if raw.startswith((" ", "\t")) or not raw.strip()[:1].isupper():
                    last.text += " " + raw.strip()  # continuation line
                else:
                    trailing.append(raw.strip())
            else:
                header.append(raw.strip())
            continue
        indent = len(m.group("indent").expandtabs(4))
        if (
            m.group("bul")
            and stack
            and indent == stack[-1].indent
            and stack[-1].number is not None
            and stack[-1].text.rstrip().endswith(":")
        ):
            indent += 1  # "- x" directly under "3. If …:" at the same indent is a child
        num = m.group("num") or m.group("step")
        item = Item(m.group("text").strip(), indent, int(num) if num else None)
        while stack and stack[-1].indent >= indent:
            stack.pop()
        (stack[-1].children if stack else roots).append(item)
        stack.append(item)
        last = item
    return header, roots, trailing


# ---------------------------------------------------------------------------------------------
# sentences and clauses


def _split_sentences(text: str) -> list[str]:
    t = re.sub(r"\s+[—–]\s+|\s+--\s+|\s+-\s+", "; ", text)
    parts = []
    for chunk in re.split(r"(?<=[.!?])\s+|;\s*|\n+", t):
        pieces = re.split(r"(?<=[a-z]):\s+(?=[a-z])", chunk)
        acc = pieces[0]
        for piece in pieces[1:]:
            if not _COLON_SPLIT.match(acc.strip()):
                acc += ": " + piece
            else:
                parts.append(acc)
                acc = piece
        parts.append(acc)
    out = []
    for p in parts:
        p = p.strip().strip(".!?").strip()
        if p:
            out.append(p.replace("<DOT>", "."))
    return out


_COLON_KEEP = re.compile(
    r"^(?:if|when|whenever|unless|in case|provided|otherwise|else|for\s+\S+\s+(?:over|above|under|"
    r"below|between|more|less)|should|once|as long as)\b|^[^:]{0,40}\d",
    re.I,
)
_COLON_SPLIT = re.compile(
    r"^(?:when(?:ever)?|for (?:every|each|all|any)|each time|every time|once|on|upon|as soon as|"
    r"note|here is|here's|steps?|process|workflow|the following|do the following|as follows)\b|"
    r".*\b(?:following|as follows|steps|process|workflow)$",
    re.I,
)
_META = re.compile(
    r"^(?:note|nb|n\.b\.|fyi|remark|ps|p\.s\.)\b\s*:?|^(?:this|it|the (?:whole )?(?:workflow|process|"
    r"pipeline|job|flow|automation))\s+(?:runs|should run|will run|is run|happens|is triggered|executes|"
    r"starts|kicks off|repeats|is scheduled)\b",
    re.I,
)
_SO = re.compile(
    r"^(?:if so|if yes|if it does|if they do|if it is|if they are|if that's the case|if that is the case|"
    r"if this is the case|if true|if that's true|if that is true|if it did|if they did|if it has|"
    r"if they have|when it does|if positive)\s*(?:[,:]|$)\s*(.*)$",
    re.I,
)
_OTHERS = re.compile(
    r"^(?:the\s+)?(?:smaller|larger|bigger|cheaper|lower|higher|other|remaining|rest of the|all other)"
    r"\s+(?:ones?|\w+s)\b|^(?:the rest|the others|everything else|anything else|all others|others|"
    r"(?:everything|anything|all|those|the ones|ones) (?:in between|in the middle|between|left|"
    r"remaining|else))\b",
    re.I,
)
_SCHEDULE = re.compile(
    r"^(?:(?:every|each)\s+(?:\d+\s+)?(?:night|day|morning|evening|afternoon|hour|minute|week|month|"
    r"quarter|year|weekday|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?|"
    r"(?:daily|nightly|hourly|weekly|monthly|quarterly|yearly)|(?:once|twice) (?:a|per) \w+|"
    r"at \d{1,2}(?::\d\d)?\s*(?:am|pm)?|on (?:mondays|tuesdays|wednesdays|thursdays|fridays|"
    r"saturdays|sundays|weekdays|weekends)|at (?:midnight|noon|the end of (?:the|each|every) \w+))"
    r"\b[\s,:]*",
    re.I,
)
_DEPENDING = re.compile(
    r"^(?:depending on|based on|according to|route (?:it |them )?(?:by|based on|according to)|"
    r"branch (?:on|by)|switch on|decide (?:by|based on)|depending upon)\s+(?:the\s+|its\s+|their\s+)?"
    r"([\w\s-]+?)\s*(?:[:,]\s*(.*))?$",
    re.I,
)
_CONNECTOR = re.compile(
    r"^(?:and then|and|then|next|after that|afterwards|afterward|after this|subsequently|finally|lastly|"
    r"last of all|at last|first of all|first|firstly|to start|to begin(?: with)?|initially|second|secondly|"
    r"third|thirdly|also|additionally|plus|now|so|once (?:that's|that is|this is|that has been|it's|it is) "
    r"(?:done|finished|complete|completed)|at the end|in the end|to finish(?: up)?|to wrap up|eventually|"
    r"after (?:both|all|everything|these|those|they|that|this)(?: (?:are|is|have|has|been))*"
    r"(?: (?:done|finished|complete|completed|ready))?|"
    r"(?:when|once|after) (?:both|all|everything|they|these|those|that|this|all of them|both of them|"
    r"each|the (?:tasks|steps|checks|branches))(?: (?:are|is|have|has|been))*"
    r" (?:done|finished|complete|completed|ready|over|through)|"
    r"once (?:done|finished|complete|completed|resolved|approved|ready|fixed|that's done)|"
    r"when (?:done|finished|complete|completed|resolved|ready)|"
    r"once \w+(?:ed|en)|we|you|i|please|the system should|the system will|it should)\b[\s,:]*",
    re.I,
)
_CONT = re.compile(
    r"^(?:in (?:both|either|all|any) cases?|either way|regardless|in any case|no matter what|"
    r"whatever happens|in every case)\b[\s,:]*",
    re.I,
)
_PAR_LEAD = re.compile(
    r"^(?:meanwhile|in the meantime|at the same time|simultaneously|concurrently|in parallel|"
    r"parallel to (?:this|that)|alongside(?: this| that)?|while (?:this|that) (?:is )?happens?)"
    r"\b[\s,:]*",
    re.I,
)
_PAR_WORDS = re.compile(
    r",?\s*\b(?:in parallel|at the same time|simultaneously|concurrently|at once|in tandem|"
    r"side by side|all together|independently(?: and in parallel)?|parallel)\b,?",
    re.I,
)
_AFTER_GERUND = re.compile(r"^(?:after|upon|on)\s+(\w+ing\b[^,]*),\s*(.+)$", re.I)
_BEFORE = re.compile(r"^before\s+[^,]+,\s*(.+)$", re.I)
_AFTER_NOUN = re.compile(r"^(?:after|following)\s+(?:the\s+)?[^,]{1,40},\s*(.+)$", re.I)
_ELSE_LEAD = re.compile(
    r"^(?:otherwise|else|or else|if not|if no|if neither|if none|in (?:all|any|every|each)? ?other cases?|"
    r"in (?:all|any) remaining cases|for (?:everything|anything|all) else|for (?:all )?others|for the rest|failing that|"
    r"if that fails|if this fails|in the other case|when not|for the remaining ones|or)\b(?:\s*[,:]|\s*$|\s+)(.*)$",
    re.I,
)
_ELSE_TAIL = re.compile(
    r"^(.+?)[\s,]+(?:otherwise|else|in all other cases|in any other case|in other cases|"
    r"if not|for (?:everything|all) else|for the rest)$",
    re.I,
)
_COND_LEAD = re.compile(
    r"^(?:if|when|whenever|in case|in the event that|in the event of|provided that|provided|assuming(?: that)?|"
    r"as long as|should|unless|only if|for|where|with|once|given that|whether)\s+(.+)$",
    re.I,
)
_POSTFIX = re.compile(
    r"^(.+?)\s+(if|when|whenever|unless|only if|in case|provided that|provided|as long as|"
    r"once|until|but only if)\s+(.+)$",
    re.I,
)

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


# ---------------------------------------------------------------------------------------------
# naming

_FILLER = re.compile(
    r"^(?:we|you|i|please|then|just|also|and|so|now|should|must|will|can|let's|lets|"
    r"go ahead and|make sure to|make sure we|be sure to|try to|need to|needs to|have to|has to|"
    r"want to|the system (?:should|will|must)?|system|it should|simply|first|finally|next|"
    r"automatically|immediately|manually|we'll|we will|you'll|to)\s+",
    re.I,
)
_EVERY = re.compile(
    r"\b(?:every|each|once an?|once per|per)\s+(?:\d+\s+)?(?:second|minute|hour|day|week|month|"
    r"morning|night|evening)s?\b|\b(?:daily|hourly|weekly|nightly)\b(?!\s+\w+\s+(?:file|report))",
    re.I,
)
_TRAILING = re.compile(
    r"[\s,]+(?:at the end|in the end|at last|again|as well|too|afterwards|afterward|right away|"
    r"asap|as soon as possible|at once|immediately|first|then|now|later|once|only|instead|"
    r"if needed|if necessary|if required|where needed|as needed|manually|automatically)\s*$",
    re.I,
)
_PREPS = {
    "to",
    "for",
    "from",
    "with",
    "by",
    "via",
    "on",
    "in",
    "into",
    "onto",
    "at",
    "about",
    "against",
    "using",
    "through",
    "within",
    "per",
    "after",
    "before",
    "until",
    "over",
    "under",
    "of",
    "across",
    "toward",
    "towards",
    "as",
    "like",
    "inside",
    "around",
    "without",
}
_MEANS = {"with", "using", "via", "by", "through"}
_AUX = {"is", "are", "was", "were", "be", "been", "being", "gets", "get", "got"}


def _content(words: list[str]) -> list[str]:
    return [w for w in words if not W.is_noise(w)]


class Namer:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx

    def topic_words(self, n: int = 2, plural: bool | None = None) -> list[str]:
        """The thing talked about most recently (a plural one for 'them/they', a singular one for 'it')."""
        if plural is not None:
            for t in reversed(self.ctx.topics[-4:]):
                if _is_plural(t[-1]) == plural:
                    return t[-n:]
        return self.ctx.topic[-n:]

    def _resolve(self, words: list[str]) -> list[str]:
        content = _content(words)
        if content:
            return content
        if any(w in W.PRONOUNS for w in words):
            return self.topic_words()
        return []

    def set_topic(self, words: list[str]) -> None:
        content = [w for w in _content(words) if w not in W.PRONOUNS and not w.isdigit()]
        if content and content[-1] in W.PEOPLE:
            self.ctx.person = W.singular(content[-1])
        if (
            content
            and not all(w in W.PEOPLE for w in content)
            and content[-1] not in W.PEOPLE
            and content[-1] not in W.INSTRUMENTS
        ):
            self.ctx.topic = content[-3:]
            self.ctx.topics.append(content[-3:])
            if not self.ctx.entity and content[-1] not in W.QUANTITY and content[-1] not in W.ATTRIBUTES:
                self.ctx.entity = content[-2:]
        for w in content:
            if w in W.ATTRIBUTES and w not in self.ctx.attributes:
                self.ctx.attributes.append(w)
        for i, w in enumerate(content):
            if w in W.QUANTITY:
                self.ctx.quantity_var = W.snake(content[max(0, i - 1) : i + 1])

    def analyse(self, text: str) -> tuple[str | None, list[str], list[str], list[str]]:
        """(verb, particle words, object words, subject words) of an action phrase."""
        t = re.sub(r"\([^)]*\)", " ", text)
        t = _EVERY.sub(" ", t)
        t = re.sub(r"[\"`]", " ", t)
        prev = None
        while prev != t:
            prev = t
            t = _FILLER.sub("", t.strip())
        toks = W.tokens(t)
        if not toks:
            return None, [], [], []
        # causative: "have marketing approve it" -> approve it
        if toks[0] in ("have", "let") and len(toks) > 2:
            for j in range(2, min(len(toks), 5)):
                if W.is_base_verb(toks[j]) and toks[j - 1] not in ("to", "the", "a", "an"):
                    toks = toks[j:]
                    break
        # imperative: verb first
        first = toks[0]
        if W.is_base_verb(first) or (first in ("go", "come") and len(toks) > 1):
            verb = first
            rest = toks[1:]
            particle = []
            if rest and (verb, rest[0]) in W.PHRASAL:
                particle, rest = [rest[0]], rest[1:]
            if not particle and len(rest) >= 2 and rest[0] in W.PRONOUNS and (verb, rest[1]) in W.PHRASAL:
                particle, rest = [rest[1]], [rest[0]] + rest[2:]
            return verb, particle, rest, []
        if first.endswith("ing") and W.lemma(first):  # gerund: "sending the email"
            return W.lemma(first), [], toks[1:], []
        if (
            first.endswith("s")
            and W.lemma(first)
            and first not in W.QUANTITY
            and len(toks) > 1
            and toks[1] in ("the", "a", "an", "their", "its", "his", "her", "our", "them", "it", "all", "any")
        ):
            verb = W.lemma(first)  # "collects the laptop" (subject left out)
            rest = toks[1:]
            particle = []
            if rest and (verb, rest[0]) in W.PHRASAL:
                particle, rest = [rest[0]], rest[1:]
            return verb, particle, rest, []
        # arrival: "an alert fires", "a ticket comes in"
        for i, w in enumerate(toks[1:6], 1):
            if w in W.ARRIVAL_VERBS:
                return "receive", [], [], toks[:i]
        # passive: "the employee is notified", "requests are approved automatically"
        for i, w in enumerate(toks[:-1]):
            if w in _AUX and i > 0:
                nxt = [x for x in toks[i + 1 :] if not W.is_noise(x)]
                if nxt and W.lemma(nxt[0]) and (nxt[0].endswith(("ed", "en")) or nxt[0] in W.IRREGULAR):
                    j = toks.index(nxt[0], i + 1)
                    return W.lemma(nxt[0]), [], toks[:i] + toks[j + 1 :], []
                break
        # declarative: "the manager reviews it", "unit tests and integration tests run"
        for i in range(1, min(len(toks), 8)):
            w = toks[i]
            lem = W.lemma(w)
            if lem is None and w not in ("go", "goes", "need", "needs", "require", "requires"):
                continue
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if (
                w.endswith("s")
                and not w.endswith("ss")
                and (nxt in (None, "and", "or") or (nxt and W.is_base_verb(nxt)))
            ):
                if not (nxt is None and toks[i - 1] in W.PEOPLE | {"team", "system", "it", "he", "she"}):
                    continue
            if w in W.STOP:
                continue
            if (
                _find_cmp(" ".join(toks[i + 1 : i + 5]))
                and _find_cmp(" ".join(toks[i + 1 : i + 5]))[2] == 0
                and any(W.lemma(x) for x in toks[i + 2 :])
            ):
                continue  # "purchase requests over $5000 need …": 'requests' is the subject
            lem = lem or {"goes": "go", "needs": "need", "requires": "require"}.get(w, w)
            if lem in ("be", "have", "do"):
                break
            if lem in ("need", "require", "want"):
                lem = "get"
            if lem == "go":
                lem = "route"
            subject = toks[:i]
            rest = toks[i + 1 :]
            particle = []
            if rest and (lem, rest[0]) in W.PHRASAL:
                particle, rest = [rest[0]], rest[1:]
            return lem, particle, rest, subject
        # noun phrase: "inventory check", "unit tests", "manager approval"
        content = _content(toks)
        if content and content[-1] in W.NOMINALS:
            noun = content[-1]
            verb = W.NOMINALS[noun]
            obj = content[:-1] + ([noun] if noun in W.KEEP_NOUN else [])
            if verb == "back":
                return "back", ["up"], content[:-1], []
            return verb, [], obj, []
        if content and content[0] in W.NOMINALS and len(content) > 1 and content[1] in ("of", "for"):
            return W.NOMINALS[content[0]], [], content[2:], []
        return None, [], toks, []

    def name(self, text: str) -> tuple[str, bool, bool]:
        """(state name, terminal?, uses AI?) for an action phrase."""
        low = text.lower()
        ai = bool(
            re.search(
                r"\b(?:with|using|via|by|through|from)\s+(?:an?\s+|the\s+)?(?:ai|llm|gpt|chatgpt|"
                r"language model|machine learning|ml model|model)\b|\bai[- ](?:powered|based)\b",
                low,
            )
        )
        text = _TRAILING.sub("", re.sub(r"[,;]?\s+\b(?:who|which|whose)\b.*$", "", text.strip()))
        verb, particle, obj, subject = self.analyse(text)
        if (
            obj
            and obj[0] in ("whether", "if", "that")
            and verb in ("check", "verify", "determine", "see", "confirm", "find", "ensure", "test", "ask", "decide")
        ):
            obj = obj[1:]
            cut = next(
                (
                    i
                    for i, w in enumerate(obj)
                    if i > 0 and W.lemma(w) and W.lemma(w) != w and not W.is_noise(w) and w not in W.QUANTITY
                ),
                None,
            )
            if cut is not None:
                obj = obj[:cut]
        # split object into core and tail at the first preposition
        core, tail, tail_prep = [], [], None
        for w in obj:
            if tail_prep is None and w in _PREPS and core:
                tail_prep = w
                continue
            if tail_prep is None and w in _PREPS and not core:
                tail_prep = w
                continue
            (tail if tail_prep else core).append(w)
        if tail_prep is not None and not _content(core) and not core:
            core, tail = tail, []
        core_c = _content(core)
        tail_c = [w for w in _content(tail) if w not in W.AI_WORDS]
        if not core_c and any(w in W.PRONOUNS for w in core):
            if tail_c:
                core_c, tail_c = tail_c, []
            else:
                core_c = self.topic_words(2, _pronoun_plural(core))
        elif not core_c and tail_c:
            core_c, tail_c = tail_c, []
        if tail_prep in _MEANS and core_c:
            tail_c = []
        core_c = [w for w in core_c if w not in W.AI_WORDS]
        if verb is None:
            words = core_c or _content(subject) or ["step"]
            name_words = words[:4]
            self.set_topic(words)
        else:
            vwords = [verb] + particle
            if not core_c:
                if subject and verb in ("receive",):
                    core_c = [w for w in _content(subject) if w not in W.PRONOUNS]
                elif subject and not _content(obj):
                    core_c = [w for w in _content(subject) if w not in W.PRONOUNS]
                    if core_c and all(w in W.PEOPLE for w in core_c) and verb not in ("notify", "email", "call"):
                        core_c = []
                if not core_c and verb in _ENTITY_VERBS:
                    topic = self.topic_words()
                    core_c = self.ctx.entity or ([] if topic and topic[-1] in W.QUANTITY else topic)
                elif not core_c and verb in _TOPIC_VERBS:
                    core_c = self.topic_words()

            room = 4 - len(vwords)
            words = vwords + core_c[:room]
            if tail_c and len(words) + len(tail_c) <= 4:
                words += tail_c
            name_words = words[:4]
            self.set_topic(core if _content(core) else core_c)
        name = _valid_name(W.snake(name_words))
        terminal = verb in W.TERMINAL_VERBS or any(w in W.TERMINAL_NOUNS for w in obj)
        if verb == "stop" and core_c:
            terminal = False
        return name, terminal, ai


_ENTITY_VERBS = {
    "approve",
    "reject",
    "decline",
    "deny",
    "accept",
    "publish",
    "archive",
    "close",
    "cancel",
    "escalate",
    "hide",
    "fund",
    "process",
    "validate",
    "verify",
    "store",
    "save",
    "flag",
    "route",
    "assign",
    "sign",
    "file",
    "hold",
    "release",
    "refund",
    "quarantine",
    "submit",
    "complete",
    "finalize",
    "block",
    "return",
    "discard",
    "delete",
    "resubmit",
}
_TOPIC_VERBS = {
    "retry",
    "review",
    "check",
    "classify",
    "summarize",
    "score",
    "track",
    "monitor",
    "send",
    "pack",
    "ship",
    "enrich",
    "investigate",
    "fix",
    "rerun",
    "restart",
    "analyze",
    "inspect",
    "translate",
    "extract",
    "tag",
    "label",
    "clean",
    "log",
    "record",
    "update",
    "export",
    "upload",
    "download",
}
_INTRANSITIVE = {
    "wait",
    "stop",
    "start",
    "finish",
    "continue",
    "proceed",
    "pause",
    "sleep",
    "retry",
    "escalate",
    "respond",
    "reply",
    "go",
    "come",
    "end",
    "begin",
    "resume",
    "repeat",
    "restart",
    "run",
}
_KEYWORDS = {"in", "not", "and", "or", "true", "false", "none", "start", "end", "if", "else", "is"}


def _valid_name(name: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "", name.lower()).strip("_")
    name = re.sub(r"_+", "_", name)
    if not name:
        name = "step"
    if name[0].isdigit():
        name = "step_" + name
    if name in _KEYWORDS:
        name += "_step"
    return name[:60].rstrip("_")


# ---------------------------------------------------------------------------------------------
# conditions

_ERROR_COND = re.compile(
    r"^(?:(?:any|a|some|one)\s+(?:of\s+(?:the|these|those)\s+)?(?:step|task|stage|part|action|"
    r"check|job|operation)s?(?:\s+of\s+(?:these|them|the steps))?|anything|something|any of "
    r"(?:these|them|the above|those)|there (?:is|are) an? (?:error|failure|problem|exception)s?)"
    r"(?:\s+(?:fails?|failed|errors?|goes wrong|breaks|crashes|times out))?$|"
    r"^(?:an? |any )?(?:error|failure|exception|problem)s?(?: occurs?| happens?| is raised)?$|"
    r"^(?:anything|something) goes wrong$",
    re.I,
)


def _subject_var(words: list[str], n: int = 2) -> list[str]:
    content = [W.singular(w) if i < len(words) - 1 else w for i, w in enumerate(_content(words))]
    content = [w for w in content if w not in W.PRONOUNS]
    return content[-n:]


class CondParser:
    def __init__(self, ctx: Ctx, namer: Namer):
        self.ctx = ctx
        self.namer = namer

    def parse(self, text: str, siblings: list[Cond]) -> Cond:
        t = text.strip().strip(",.:;").strip()
        t = re.sub(r"^(?:that|the case that|it is the case that)\s+", "", t, flags=re.I)
        t = re.sub(r"\s+(?:then|do this|do the following)$", "", t, flags=re.I)
        quoted = re.fullmatch(r'"([^"]+)"|\'([^\']+)\'', t)
        if quoted:
            return self._nl(quoted.group(1) or quoted.group(2))
        if _ERROR_COND.match(t.lower()):
            return Cond("error", "@error")
        direct = self._direct_expr(t)
        if direct is not None:
            return direct
        cmp = _find_cmp(t)
        if cmp is not None:
            return self._numeric(t, cmp, siblings)
        rel = self._relation(t)
        if rel is not None:
            return rel
        toks = W.tokens(t)
        if any(w in W.SUBJECTIVE for w in toks) or re.search(r"\blike (?:a|an)\b", t, re.I):
            return self._nl(t)
        t2 = re.sub(
            r"\b(?:within|in|for|after|before|by)\s+(?:a|an|one|the next|\d+)\s+(?:minute|hour|day|week|month|"
            r"year|business day|working day)s?\b|\b(?:still|yet|already|ever|anymore|any more|by then|in time)\b",
            " ",
            t,
            flags=re.I,
        )
        return self._boolean(W.tokens(t2), siblings, t)

    def _relation(self, t: str) -> Cond | None:
        """ "the repair cost exceeds the car's value" -> repair_cost>car_value (two named values compared)."""
        m = re.match(
            r"^(.+?)\s+(?:is\s+|are\s+)?(exceeds?|exceeding|(?:greater|more|higher|larger|bigger) than|"
            r"(?:less|lower|smaller|fewer) than|(?:is\s+)?(?:above|below|over|under)|equals?|"
            r"is equal to)\s+(.+)$",
            t,
            re.I,
        )
        if not m or re.search(r"\d", m.group(3)):
            return None
        left = _subject_var(W.tokens(m.group(1)), 3)
        right = _subject_var(W.tokens(m.group(3)), 3)
        if not left or not right or len(_content(W.tokens(m.group(3)))) > 4:
            return None
        word = m.group(2).lower()
        op = (
            ">"
            if re.search(r"exceed|greater|more|higher|larger|bigger|above|over", word)
            else "<"
            if re.search(r"less|lower|smaller|fewer|below|under", word)
            else "=="
        )
        a, b = _valid_var(W.snake(left)), _valid_var(W.snake(right))
        if a == b:
            return None
        self.namer.set_topic(left)
        return Cond("expr", f"{a}{op}{b}", a, None, tuple(left))

    # --- kinds
    def _nl(self, sentence: str) -> Cond:
        s = re.sub(r"\s+", " ", sentence).strip().replace('"', "'").replace("\\", "/")
        toks = W.tokens(s)
        cut = next((i for i, w in enumerate(toks) if w in W.SUBJECTIVE), len(toks))
        subject = tuple(w for w in _content(toks[:cut]) if w not in W.PRONOUNS)[-3:]
        if subject and cut < len(toks):
            self.namer.set_topic(list(subject))
        return Cond("nl", '"' + s + '"', None, s, subject)

    def _direct_expr(self, t: str) -> Cond | None:
        if not re.search(r"==|!=|<=|>=|<|>|\bin\s*\[|\bnot in\b", t):
            return None
        from engine.dsl.parser import parse

        cand = t.replace("<DOT>", ".")
        cand = re.sub(r"(?<![=!<>])=(?!=)", "==", cand)
        cand = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", cand))
        cand = re.sub(r"[$€£]", "", cand)
        try:
            model = parse(f"a->b:{cand};")
        except DSLError:
            return None
        cond = model.transitions[0].condition
        if cond is None or cond.kind != "expr":
            return None
        variables = cond.variables
        return Cond("expr", cond.text, variables[0] if variables else None, None, tuple(variables[:1]))

    def _numeric(self, t: str, cmp, siblings: list[Cond]) -> Cond:
        op, m, start, end = cmp
        before = W.tokens(t[:start])
        after = W.tokens(t[end:])
        num, cur, unit = _number(m)
        extra: list[str] = []
        verb_noun = {
            "scores": "score",
            "score": "score",
            "costs": "cost",
            "cost": "cost",
            "weighs": "weight",
            "totals": "total",
            "earns": "earnings",
            "rates": "rating",
            "takes": "duration",
            "lasts": "duration",
            "has": None,
            "have": None,
            "contains": None,
            "includes": None,
        }
        subj: list[str] = []
        for w in before:
            if w in verb_noun:
                if verb_noun[w]:
                    extra = [verb_noun[w]]
                continue
            if w in _AUX or w in (
                "is",
                "are",
                "does",
                "do",
                "reaches",
                "reach",
                "hits",
                "exceed",
                "goes",
                "go",
                "falls",
                "fall",
                "drops",
                "rises",
                "stays",
                "remains",
                "comes",
                "if",
                "when",
            ):
                continue
            subj.append(w)
        subj = _subject_var(subj, 3)
        if any(w in ("has", "have", "contains", "includes") for w in before) and unit and not extra:
            extra = [unit + ("s" if not unit.endswith("s") else "")]
        if not subj and not extra:
            after_c = [w for w in _content(after) if w not in _AUX]
            if unit and after_c and not siblings:
                subj = after_c[:2] + [unit if unit in ("percent", "mb", "gb", "kb") else unit + "s"]
                unit = None
            elif unit is None and after_c and m.group(0).strip()[0].isalpha() and not siblings:
                subj = [w for w in after_c if not W.lemma(w)][:2]
        var_words = subj + extra
        has_qty = any(w in W.QUANTITY for w in var_words)
        if not var_words:
            same = [s for s in siblings if s.kind == "num" and s.var]
            if same:
                return self._num_cond(op, m, same[-1].var, same[-1].subject)
            if self.ctx.quantity_var:
                return self._num_cond(op, m, self.ctx.quantity_var, ())
            topic = self.namer.topic_words(1)
            var_words = topic
            has_qty = False
        if unit == "percent" and has_qty and var_words[-1] != "percent":
            var_words = var_words + ["percent"]
        if not has_qty:
            if _AGE_WORDS.search(t):
                var_words = var_words + ["age"] + ([unit + "s"] if unit in _TIME_UNITS else [])
            elif cur:
                var_words = var_words + ["amount"]
            elif unit in ("mb", "gb", "kb", "tb"):
                var_words = var_words + ["size", unit]
            elif unit == "degree":
                var_words = var_words + ["temperature"] if var_words else ["temperature"]
            elif unit in _TIME_UNITS:
                var_words = var_words + [unit + "s"]
            elif unit == "percent":
                var_words = var_words + ["percent"]
            elif unit:
                var_words = var_words + [unit + "s"]
            elif var_words and (
                var_words[-1] in W.PEOPLE
                or re.search(r"\b(?:scor|grad|rat|rank|mark|evaluat|assess)", self.ctx.prev_action, re.I)
            ):
                var_words = var_words + ["score"]
            elif var_words:
                var_words = var_words + ["value"]
            elif not var_words:
                var_words = ["value"]
        if len(var_words) > len(subj):
            var_words = [W.singular(w) for w in var_words[: len(subj)]] + var_words[len(subj) :]
        var = _valid_var(W.snake(var_words[-3:]))
        if subj and not any(w in W.QUANTITY for w in subj):
            self.namer.set_topic(subj)
        return self._num_cond(op, m, var, tuple(subj))

    def _num_cond(self, op: str, m: re.Match, var: str, subject) -> Cond:
        if op == "between":
            a, _, _ = _number(m)
            b, _, _ = _number(m, "2")
            lo, hi = min(a, b), max(a, b)
            return Cond("num", f"{_fmt(lo)}<={var}<={_fmt(hi)}", var, None, tuple(subject), "between", lo)
        num, _, _ = _number(m)
        return Cond("num", f"{var}{op}{_fmt(num)}", var, None, tuple(subject), op, num)

    def _boolean(self, toks: list[str], siblings: list[Cond], raw: str) -> Cond:
        neg = False
        words = []
        for w in toks:
            if w in ("not", "no", "never", "nothing", "none", "without", "nobody"):
                neg = not neg if w != "without" else True
                continue
            words.append(w)
        joined = " ".join(words)
        for phrase, rep in (
            ("out of stock", "out_of_stock"),
            ("in stock", "in_stock"),
            ("on time", "on_time"),
            ("goes through", "succeeds"),
            ("go through", "succeeds"),
            ("went through", "succeeds"),
            ("goes wrong", "fails"),
            ("signed off", "approved"),
            ("signs off", "approves"),
            ("is ok", "succeeds"),
            ("are ok", "succeeds"),
            ("checks out", "passes"),
            ("check out", "pass"),
            ("turns out", ""),
            ("shows up", "arrives"),
            ("show up", "arrive"),
            ("comes back", "returns"),
            ("come back", "return"),
        ):
            joined = re.sub(rf"\b{phrase}\b", rep, joined)
        words = joined.split()
        # "there are discrepancies" -> has_discrepancies
        if len(words) >= 2 and words[0] == "there" and words[1] in ("is", "are", "was", "were", "exists", "exist"):
            obj = [w for w in _content(words[2:]) if w not in ("any",)][:2]
            if not obj:
                obj = ["issues"]
            self.namer.set_topic(obj)
            var = _valid_var(W.snake(["has"] + obj))
            return Cond("bool", f"{var}=={not neg}", var, not neg, tuple(obj))
        # "the employee has unused vacation days" -> has_unused_vacation_days
        for i, w in enumerate(words):
            if w in ("has", "have", "had", "contains", "contain", "includes", "include") and i + 1 < len(words):
                obj = [x for x in _content(words[i + 1 :]) if x not in ("any", "some")][:3]
                if obj:
                    verb = "has" if w.startswith("ha") else ("contains" if w.startswith("contain") else "includes")
                    subj = [x for x in _content(words[:i]) if x not in W.PRONOUNS]
                    if not subj and verb != "has":
                        subj = self.namer.topic_words(1, _pronoun_plural(words[:i]))
                    if verb == "has":
                        self.namer.set_topic(obj)
                    var = _valid_var(W.snake(([] if verb == "has" else subj[-1:]) + [verb] + obj))
                    return Cond("bool", f"{var}=={not neg}", var, not neg, tuple(obj))
                break
        # "the inspection finds damage" / "a solution is found"
        for i, w in enumerate(words):
            if W.lemma(w) == "find" or w == "found":
                obj = [x for x in _content(words[i + 1 :]) if x not in ("any",)]
                subj = [x for x in _content(words[:i]) if x not in ("any",) and x not in W.PRONOUNS]
                target = obj if obj and w != "found" else (subj or obj)
                if not target:
                    target = self.namer.topic_words(1)
                target = [W.singular(x) if j < len(target) - 1 else x for j, x in enumerate(target)][-2:]
                self.namer.set_topic(target)
                var = _valid_var(W.snake(target + ["found"]))
                return Cond("bool", f"{var}=={not neg}", var, not neg, tuple(target))
        # categories: "severity is critical", "high priority", "the customer is a VIP"
        cat = self._category(words, siblings)
        if cat is not None:
            return cat
        # predicate words: valid, succeeds, fails, approved, matches …
        idx = next((i for i, w in enumerate(words) if w in W.PREDICATES), None)
        if idx is not None:
            canon, truth = W.PREDICATES[words[idx]]
            subj_words = [
                w
                for w in words[:idx]
                if w not in _AUX and w not in ("does", "do", "did", "has", "have", "had", "will", "can", "could")
            ]
            canon = self._pair(canon, words[idx], subj_words, siblings)
            return self._bool_from(subj_words, canon, truth != neg, siblings, words[idx])
        # generic: "the email contains an attachment" -> email_contains_attachment
        content = [w for w in _content(words) if w not in W.PRONOUNS]
        if not content:
            same = [s for s in siblings if s.kind == "bool"]
            if same:
                return Cond("bool", f"{same[-1].var}=={neg}", same[-1].var, neg, same[-1].subject)
            return self._nl(raw)
        if len(content) > 4:
            return self._nl(raw)
        subj = [w for w in _content(words) if w in W.PRONOUNS]
        if len(content) == 1 and (W.lemma(content[0]) or content[0].endswith("ed")):
            # a lone verb: "reproduced" / "can't reproduce" -> reproduced
            base = W.lemma(content[0]) or content[0]
            if not content[0].endswith(("ed", "en")):
                content = [base + ("d" if base.endswith("e") else "ed")]
        if subj and len(content) == 1:
            content = self.namer.topic_words(1) + content
        content = [W.singular(w) if (i < len(content) - 1 and not W.lemma(w)) else w for i, w in enumerate(content)]
        var = _valid_var(W.snake(content[-4:]))
        if content[:-1]:
            self.namer.set_topic(content[:-1])
        return Cond("bool", f"{var}=={not neg}", var, not neg, tuple(content[:-1]))

    def _category(self, words: list[str], siblings: list[Cond]) -> Cond | None:
        content = _content(words)
        if not content:
            return None
        # "<attribute> is <value>"
        for i, w in enumerate(words):
            if w in W.ATTRIBUTES and i + 1 < len(words):
                rest = [
                    x
                    for x in words[i + 1 :]
                    if x not in _AUX and x not in ("a", "an", "the", "set", "to", "marked", "as", "equal")
                ]
                if len(rest) == 1 and rest[0] not in W.PREDICATES:
                    var = w
                    return Cond("cat", f"{var}=='{rest[0]}'", var, rest[0], (w,))
        # "<level> <attribute>" ("high priority", "high_risk")
        for w in content:
            if "_" in w and w.split("_")[0] in W.LEVEL_WORDS and w.split("_")[1] in W.ATTRIBUTES:
                lvl, attr = w.split("_", 1)
                return Cond("cat", f"{attr}=='{lvl}'", attr, lvl, (attr,))
        for a, b in zip(content, content[1:]):
            if a in W.LEVEL_WORDS and b in W.ATTRIBUTES:
                return Cond("cat", f"{b}=='{a}'", b, a, (b,))
        # bare value with a categorical sibling: "if it is low" after "severity is critical"
        cats = [s for s in siblings if s.kind == "cat"]
        value_words = [w for w in content if w not in W.PRONOUNS]
        if cats and len(value_words) == 1:
            var = cats[-1].var
            return Cond("cat", f"{var}=='{value_words[0]}'", var, value_words[0], cats[-1].subject)
        # "<person> is a VIP", bare "urgent" / "high"
        last = value_words[-1] if value_words else None
        if last and (last in W.CATEGORY_ADJ or last in W.LEVEL_WORDS) and last not in ("new", "paid", "free"):
            subj = [w for w in value_words[:-1] if w not in ("a", "an")]
            if len(value_words) == 1 or (subj and subj[-1] in W.PEOPLE):
                dim = W.CATEGORY_ADJ.get(last)
                if dim is None:
                    dim = next((a for a in reversed(self.ctx.attributes)), "priority")
                elif dim in ("urgency", "priority", "severity") and self.ctx.attributes:
                    dim = next(
                        (a for a in reversed(self.ctx.attributes) if a in ("urgency", "priority", "severity", "risk")),
                        dim,
                    )
                var = W.snake(subj[-1:] + [dim]) if subj and dim in ("tier", "type", "size") else dim
                return Cond("cat", f"{var}=='{last}'", var, last, (dim,))
        return None

    def _pair(self, canon: str, word: str, subj: list[str], siblings: list[Cond]) -> str:
        """Pick the variable name shared with the sibling branches (fail <-> pass/success, decline <-> accept)."""
        sib_vars = [s.var or "" for s in siblings if s.kind == "bool"]
        if canon == "success":
            if any(v.endswith("passed") for v in sib_vars):
                return "passed"
            testy = {
                "test",
                "tests",
                "check",
                "checks",
                "scan",
                "inspection",
                "review",
                "validation",
                "audit",
                "lint",
                "quality",
                "build",
                "exam",
                "smoke",
                "both",
                "all",
                "they",
                "suite",
            }
            if any(w in testy for w in subj) or (not _content(subj) and any(w in testy for w in self.ctx.topic)):
                return "passed"
        if canon == "accepted":
            if any(v.endswith("approved") for v in sib_vars):
                return "approved"
            if any(v.endswith("success") for v in sib_vars) or any(
                w in ("card", "payment", "charge", "transaction") for w in subj
            ):
                return "success"
        if canon == "passed" and any(v.endswith("success") for v in sib_vars):
            return "success"
        if canon == "approved" and any(v.endswith("accepted") for v in sib_vars):
            return "accepted"
        return canon

    def _bool_from(self, subj_words: list[str], canon: str, truth: bool, siblings: list[Cond], word: str) -> Cond:
        subj = [w for w in _content(subj_words) if w not in ("any", "all", "every")]
        pronoun = (not subj) or all(w in W.PRONOUNS for w in subj)
        subj = [w for w in subj if w not in W.PRONOUNS]
        if not subj:
            same = [s for s in siblings if s.kind == "bool" and s.var and s.var.endswith(canon)]
            if same:
                var = same[-1].var
                return Cond("bool", f"{var}=={truth}", var, truth, same[-1].subject)
            if (
                pronoun
                and canon in _PERSON_CANON
                and self.ctx.person
                and word not in ("approved", "rejected", "accepted", "declined")
            ):
                subj = [self.ctx.person]
            elif pronoun and self.ctx.topic:
                subj = self.namer.topic_words(
                    2 if canon in ("approved", "complete", "valid") else 1, _pronoun_plural(subj_words)
                )
        subj = [W.singular(w) if i < len(subj) - 1 else w for i, w in enumerate(subj)][-2:]
        if subj and subj[-1] in ("both", "all", "everything"):
            subj = subj[:-1]
        var = _valid_var(W.snake(subj + [canon])) if subj else canon
        if not pronoun and subj:
            self.namer.set_topic(subj)
        return Cond("bool", f"{var}=={truth}", var, truth, tuple(subj))


def _is_plural(word: str) -> bool:
    return word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3


def _pronoun_plural(words: list[str]) -> bool | None:
    for w in words:
        if w in ("them", "they", "these", "those", "their"):
            return True
        if w in ("it", "this", "that", "its"):
            return False
    return None


_DETERMINERS = {
    "the",
    "a",
    "an",
    "this",
    "that",
    "these",
    "those",
    "its",
    "their",
    "his",
    "her",
    "our",
    "your",
    "my",
    "it",
    "them",
}
_PERSON_CANON = {"returned", "responded", "accepted", "approved", "confirmed", "paid", "arrived", "agreed", "signed"}


def _valid_var(name: str) -> str:
    name = _valid_name(name)
    return name if name not in ("step",) else "value"


# ---------------------------------------------------------------------------------------------
# building the step tree


class Builder:
    def __init__(self):
        self.ctx = Ctx()
        self.namer = Namer(self.ctx)
        self.conds = CondParser(self.ctx, self.namer)

    # --- actions
    def act(self, text: str) -> Act:
        name, terminal, ai = self.namer.name(text)
        self.ctx.prev_action = text
        self.ctx.prev_name = name
        m = re.match(
            r"^\s*(?:\w+\s+)?(?:check|verify|determine|see|confirm|find out|test|ask|decide|validate)\s+"
            r"(?:whether|if)\s+(.+)$",
            text,
            re.I,
        )
        self.ctx.question = None
        if m:
            topic = list(self.ctx.topic)
            cond = self.conds.parse(m.group(1), [])
            self.ctx.topic = topic
            self.ctx.question = cond if cond.kind in ("bool", "num", "cat", "expr") else None
        return Act(text.strip(), name, terminal, ai)

    def _split_and(self, text: str) -> list[str]:
        t = re.sub(r"\bbetween\s+(\S+)\s+and\s+", r"between \1 &and& ", text, flags=re.I)
        for phrase in (
            "terms and conditions",
            "profit and loss",
            "research and development",
            "pros and cons",
            "sales and marketing",
            "q and a",
            "rock and roll",
            "black and white",
            "trial and error",
            "search and replace",
            "find and replace",
            "drag and drop",
            "copy and paste",
        ):
            t = re.sub(phrase, phrase.replace(" and ", " &and& "), t, flags=re.I)
        t = re.sub(r"^((?:the |a |an )?\w+(?: \w+)?) then (?=\w+s\b)", r"\1 ", t, flags=re.I)
        t = re.sub(r"\beither\s+(.+?)\s+or\s+", r"either \1 &or& ", t, flags=re.I)
        parts = re.split(
            r"\s*,\s*(?:and|&)?\s*(?:then\s+)?|\s+(?:and|&|\+|as well as|plus|and then|then|along with)\s+", t
        )
        parts = [p.replace("&or&", "or") for p in parts]
        parts = [p.replace("&and&", "and").strip() for p in parts if p and p.strip()]
        return parts

    def _distribute(self, parts: list[str]) -> list[str]:
        """Give verb-less parts the verb of the part before ("search flights and hotels")."""
        out = []
        last_verb = None
        subj_verb = None
        # "unit tests and integration tests run" -> run each
        if len(parts) >= 2:
            v, particle, obj, subject = self.namer.analyse(parts[-1])
            if v and subject and not _content(obj) and all(self.namer.analyse(p)[0] is None for p in parts[:-1]):
                subj_verb = " ".join([v] + particle)
                return [f"{subj_verb} {p}" for p in parts[:-1]] + [f"{subj_verb} {' '.join(subject)}"]
        for p in parts:
            v, particle, obj, subject = self.namer.analyse(p)
            if v is None and last_verb and not subject:
                out.append(f"{last_verb} {p}")
                continue
            if v is not None:
                last_verb = " ".join([v] + particle)
                # "translate the article into French, German …": keep the verb, object and preposition
                ptoks = p.split()
                prep_at = max(
                    (
                        i
                        for i, w in enumerate(ptoks)
                        if w.lower() in ("to", "into", "on", "in", "for", "with") and i > 0
                    ),
                    default=None,
                )
                if prep_at is not None and len(ptoks) - prep_at <= 3:
                    last_verb = " ".join(ptoks[: prep_at + 1])
            out.append(p)
        return out

    def body(self, text: str, allow_par: bool = True) -> list:
        """Steps of a plain clause: actions joined by 'and'/commas, parallel words, until, stop, go back."""
        text = text.strip().strip(",.;:").strip()
        if not text:
            return []
        m = _PAR_WORDS.search(text) if allow_par else None
        if m:
            before, after = text[: m.start()].strip(" ,"), text[m.end() :].strip(" ,")
            lead = (
                not before
                or re.fullmatch(r"(?:run|do|perform|execute|handle|start|and|then|we|please)(?:\s+\w+)?", before, re.I)
                is not None
                and not self.namer.analyse(before)[2]
            )
            if lead:
                scope, rest = (before + " " + after).strip(), ""
            else:
                scope, rest = before, after
            scope = re.sub(
                r"^(?:run|do|perform|execute)\s+(?:these|the following|all of these|them|both|all)\b\s*:?",
                "",
                scope,
                flags=re.I,
            ).strip()
            scope = re.sub(r"^(?:the following|these|both|all of these)\b\s*:?", "", scope, flags=re.I).strip()
            scope = re.sub(r"\b(?:both|all)\b\s*$", "", scope, flags=re.I).strip()
            if not scope:
                return [Par([])] + (self.body(rest, False) if rest else [])
            steps = self._plain_steps(scope)
            acts = [st for st in steps if isinstance(st, (Act, Until))]
            out: list
            if len(acts) >= 2:
                out = [Par([[a] for a in acts])]
            elif len(acts) == 1 and lead:
                out = [("meanwhile", acts[0])]
            else:
                out = steps
            return out + (self.body(rest) if rest else [])
        return self._plain_steps(text)

    def _plain_steps(self, text: str) -> list:
        text = re.sub(
            r"^(.*?)\b(is|are|was|were|gets|get)\s+(\w+(?:ed|en))\s+and\s+(\w+(?:ed|en))\b(.*)$",
            r"\1\2 \3 and \1\2 \4\5",
            text,
            flags=re.I,
        )
        steps: list = []
        for part in self._distribute(self._split_and(text)):
            steps.extend(self._special(part))
        return steps

    def _special(self, part: str) -> list:
        p = part.strip()
        low = p.lower().strip()
        low = re.sub(r"^(?:and|then|we|just|simply)\s+", "", low)
        if re.fullmatch(
            r"(?:stop|end|finish|halt|exit|terminate|quit|done|that's it|that is it|we are done|"
            r"we're done)(?: (?:here|there|now|it|everything|the (?:workflow|process|flow|run|pipeline)))?"
            r"|(?:end|stop|finish|close|terminate) the (?:workflow|process|flow|run|pipeline)"
            r"|the (?:workflow|process|flow|run) (?:ends|stops|is done|finishes)",
            low,
        ):
            return [Stop()]
        m = re.fullmatch(
            r"(?:go back|loop back|jump back|return|go|jump|loop|restart|repeat|start again|continue)"
            r"(?: to| from| at| with)? (?:step|stage|phase) (\d+)(?: again)?",
            low,
        )
        if m:
            return [Goto("step:" + m.group(1))]
        if re.fullmatch(
            r"(?:start over|start again|restart from the (?:beginning|start)|go back to the "
            r"(?:beginning|start)|repeat from the (?:beginning|start)|repeat the (?:whole )?process)",
            low,
        ):
            return [Goto("step:1")]
        m = re.fullmatch(
            r"(?:go back|loop back|jump back|return|jump|loop back) to (?:the )?(.+?)(?: step| again)?", low
        )
        if m:
            return [Goto(m.group(1))]
        m = re.match(r"^(?:who |which |they |then |he |she |the \w+ )?(?:either |can )?(.+?) or (.+)$", p, re.I)
        if (
            m
            and re.search(r"\beither\b", p, re.I)
            and (
                self.namer.analyse(m.group(1))[0] is not None
                or W.lemma(W.tokens(m.group(1))[0] if W.tokens(m.group(1)) else "")
            )
        ):
            first, second = m.group(1), m.group(2)
            if self.namer.analyse(second)[0] is None and not W.lemma(W.tokens(second)[0] if W.tokens(second) else ""):
                second = f"{W.tokens(first)[0]} {second}"
            first = " ".join([W.lemma(W.tokens(first)[0]) or W.tokens(first)[0]] + first.split()[1:])
            second = " ".join([W.lemma(W.tokens(second)[0]) or W.tokens(second)[0]] + second.split()[1:])
            cond = self.conds.parse(m.group(1), [])
            a, b = self.act(first), self.act(second)
            if cond.kind == "bool":
                return [Decision([[cond, [a], a.terminal], [None, [b], b.terminal]])]
            return [Decision([[self.conds._nl(f"choose to {first}"), [a], a.terminal], [None, [b], b.terminal]])]
        m = re.match(r"^(.+?)\s+until\s+(.+)$", p, re.I)
        if m:
            cond_text = m.group(2)
            ctoks = W.tokens(cond_text)
            if _find_cmp(cond_text) or any(w in W.PREDICATES for w in ctoks) or any(W.lemma(w) for w in ctoks[1:]):
                a = self.act(m.group(1))
                c = self.conds.parse(cond_text, [])
                if c.kind in ("bool", "num", "cat", "expr"):
                    return [Until(a, c)]
                return [a]
            p = m.group(1)
        return [self.act(p)]

    # --- sentences
    def sentence(self, s: str, seq: list) -> list | None:
        """Parse one sentence into ``seq``. Returns a hook list for children (dangling 'if …:'), else None."""
        s = s.strip()
        if not s:
            return None
        lead_par = False
        cont = False
        pre_steps: list = []
        changed = True
        while changed:
            changed = False
            m = _CONT.match(s)
            if m:
                cont, s, changed = True, s[m.end() :], True
            m = _PAR_LEAD.match(s)
            if m and m.end() < len(s):
                lead_par, s, changed = True, s[m.end() :], True
            m = _CONNECTOR.match(s)
            if m and m.end() > 0 and m.end() < len(s):
                s, changed = s[m.end() :], True
            m = _AFTER_GERUND.match(s)
            if m:
                pre_steps.extend(self.body(m.group(1)))
                s, changed = m.group(2), True
            m = _BEFORE.match(s)
            if m:
                s, changed = m.group(1), True
            m = _AFTER_NOUN.match(s)
            if m and not _COND_LEAD.match(s):
                s, changed = m.group(1), True
        if cont:
            last_dec = next((x for x in reversed(seq) if isinstance(x, Decision)), None)
            if last_dec is not None:
                last_dec.force_rejoin = True
        for st in pre_steps:
            self._append(seq, st)
        if _META.match(s):
            self.ctx.notes.append(f"read '{s[:80]}' as a remark, not a step")
            return None
        m = _SCHEDULE.match(s)
        if m and m.end() < len(s):
            self.ctx.notes.append(
                f"'{m.group(0).strip(' ,')}' is a schedule: run the workflow on that schedule (it is not a step)"
            )
            s = s[m.end() :]
        m = re.match(r"^(?:while|whilst|as)\s+([^,]+?),\s*(.+)$", s, re.I)
        if m and self.namer.analyse(m.group(1))[0] is not None and not _COND_LEAD.match(m.group(2)):
            first = [x for x in self.body(m.group(1), False) if isinstance(x, (Act, Until))]
            second = [x for x in self.body(m.group(2), False) if isinstance(x, (Act, Until))]
            if first and second:
                self._append(seq, Par([first, second]))
                return None
        m = _DEPENDING.match(s)
        if m:
            words = [w for w in _content(W.tokens(m.group(1))) if w not in W.PRONOUNS]
            attr = next((w for w in reversed(words) if w in W.ATTRIBUTES or w in W.QUANTITY), None)
            if attr is None and words:
                attr = W.snake(words[-2:])
                W_attr = attr
                if W_attr not in self.ctx.attributes:
                    self.ctx.attributes.append(W_attr)
            elif attr and attr not in self.ctx.attributes:
                self.ctx.attributes.append(attr)
            if attr:
                self.ctx.attributes.remove(attr)
                self.ctx.attributes.append(attr)
            s = (m.group(2) or "").strip()
            if not s:
                return None
        # whole sentence is a parallel header: "Do these in parallel:" / "In parallel:"
        stripped = _PAR_WORDS.sub(" ", s).strip().strip(":,").strip()
        if (_PAR_WORDS.search(s) or lead_par) and re.fullmatch(
            r"(?:(?:please )?(?:do|run|perform|execute|handle|start)?\s*(?:the following|these|these steps|these tasks|"
            r"all of these|the following steps|the following tasks|them|both|all)?\s*(?:steps|tasks)?)?",
            stripped,
            re.I,
        ):
            par = Par([])
            self._append(seq, par)
            return par.branches
        clauses = self._clauses(s)
        hook = None
        for kind, cond_text, body_text, negate in clauses:
            if kind != "plain":
                hook = self._conditional(seq, kind, cond_text, body_text, negate)
                continue
            steps = self.body(body_text) if body_text else []
            if kind == "plain":
                if lead_par:
                    acts = [x[1] if isinstance(x, tuple) else x for x in steps]
                    acts = [a for a in acts if isinstance(a, (Act, Until, Par))]
                    if len(acts) == 1:
                        self._meanwhile(seq, acts[0])
                    elif acts:
                        self._append(seq, Par([[a] for a in acts]))
                    continue
                for st in steps:
                    self._append(seq, st)
                continue
        return hook

    def _meanwhile(self, seq: list, act) -> None:
        if seq and isinstance(seq[-1], Par) and seq[-1].branches:
            seq[-1].branches.append([act])
        elif seq and isinstance(seq[-1], (Act, Until)):
            prev = seq.pop()
            seq.append(Par([[prev], [act]]))
        else:
            self._append(seq, act)

    def _append(self, seq: list, st) -> None:
        if isinstance(st, tuple) and st[0] == "meanwhile":
            self._meanwhile(seq, st[1])
            return
        if seq and isinstance(seq[-1], Decision):
            seq[-1].closed = True
        seq.append(st)

    def _clauses(self, s: str) -> list[tuple[str, str | None, str, bool]]:
        """Split a sentence into (kind, condition text, body text, negate) clauses."""
        protected = re.sub(r"\bbetween\s+(\S+)\s+and\s+", r"between \1 &and& ", s, flags=re.I)
        pieces = re.split(r"(,\s*(?:and\s+|but\s+)?(?:then\s+)?|\s+then\s+)", protected)
        segs: list[tuple[str, bool]] = []  # (segment, follows a 'then')
        after_then = False
        for i, piece in enumerate(pieces):
            if i % 2 == 1:
                after_then = "then" in piece.lower()
                continue
            if piece.strip():
                segs.append((piece.strip().replace("&and&", "and"), after_then))
        out: list[list] = []
        current = None
        for seg, then in segs:
            kind, cond, body, neg = self._classify(seg)
            if kind == "plain":
                if not body:
                    continue
                if current is not None:
                    current[2] = (current[2] + ", " + body).strip(", ") if current[2] else body
                elif out and out[-1][0] == "plain" and not then:
                    out[-1][2] += ", " + body
                else:
                    out.append(["plain", None, body, False])
                continue
            entry = [kind, cond, body or "", neg]
            out.append(entry)
            current = entry if kind in ("if", "else") else None
        return [tuple(e) for e in out]

    def _imperative(self, text: str) -> bool:
        """True when ``text`` starts with a verb (after fillers): "send to sales", "we notify the team"."""
        t = text.strip()
        prev = None
        while prev != t:
            prev = t
            t = _FILLER.sub("", t)
        toks = W.tokens(t)
        return bool(toks) and (W.is_base_verb(toks[0]) or toks[0] in ("go", "come"))

    def _condlike(self, left: str) -> bool:
        """A short phrase that reads as a condition ("high", "amount 5k or more", "Can't reproduce?")."""
        left = left.strip()
        if left.endswith("?"):
            return True
        if _find_cmp(left):
            return True
        lt = W.tokens(left)
        if not 0 < len(lt) <= 4:
            return False
        if self._imperative(left):
            return False
        return self.namer.analyse(left)[0] is None or any(w in W.PREDICATES for w in lt)

    def _classify(self, seg: str) -> tuple[str, str | None, str, bool]:
        s = re.sub(
            r"^(?:and|but|or|so)\s+(?=if\b|when\b|otherwise\b|else\b|unless\b|in case\b)", "", seg.strip(), flags=re.I
        )
        m = re.match(r"^([^:]{1,60}?)(?::|\s->)\s*(.+)$", s)
        if m and not _COND_LEAD.match(s) and not _ELSE_LEAD.match(s) and self._condlike(m.group(1)):
            return "if", m.group(1).strip().rstrip("?"), m.group(2), False
        if _SO.match(s):
            m = _SO.match(s)
            return "if", "__so__", m.group(1).strip(), False
        m = _ELSE_LEAD.match(s)
        if m and not re.match(r"^if not\s+\w", s, re.I) and not re.match(r"^or\s+\w", s, re.I):
            return "else", None, m.group(1).strip(), False
        if re.match(r"^if not\s+\w", s, re.I) and re.fullmatch(r"if not\s*(?:,|so)?", s, re.I):
            return "else", None, "", False
        m = _ELSE_TAIL.match(s)
        if m:
            return "else", None, m.group(1), False
        m = _COND_LEAD.match(s)
        if m:
            kw = s[: m.start(1)].strip().lower()
            rest = m.group(1)
            if kw in ("for", "with", "where", "once", "whether") and not (
                _find_cmp(rest) or self._looks_categorical(rest)
            ):
                if kw == "once":
                    return "plain", None, "", False
            else:
                if kw in ("when", "once") and re.fullmatch(
                    r"(?:it is |it's |they are |everything is |that is |this is )?"
                    r"(?:done|finished|complete|completed|ready|over)",
                    rest,
                    re.I,
                ):
                    return "plain", None, "", False
                cond, body = self._split_cond_body(rest)
                if self._is_else_cond(cond):
                    return "else", None, body, False
                return "if", cond, body, kw == "unless"
        if re.match(r"^if\b", s, re.I):
            return "if", s[2:].strip(), "", False
        m = _POSTFIX.match(s)
        if m and self.namer.analyse(m.group(1))[0] is not None and not _find_cmp(m.group(1)):
            kw = m.group(2).lower()
            if kw == "once":
                return "plain", None, m.group(1), False
            if kw == "until":
                return "plain", None, s, False
            return "postfix", m.group(3), m.group(1), kw == "unless"
        cmp = _find_cmp(s)
        if cmp is not None:
            op, mt, start, end = cmp
            head = s[:start].strip()
            tail = s[end:].strip()
            if not head or re.fullmatch(r"(?:if|when|for|with|at|scores?|amounts?|values?|it is|it's)", head, re.I):
                if tail and self._imperative(tail):
                    return "if", s[:end], tail, False
            elif not tail and self.namer.analyse(head)[0] is not None:
                return "postfix", s[start:], head, False
        # "Urgent tickets go to …", "Purchase requests over $5,000 need …", "smaller ones are approved …"
        subj_cond = self._subject_condition(s)
        if subj_cond is not None:
            return subj_cond
        return "plain", None, s, False

    def _looks_categorical(self, text: str) -> bool:
        toks = W.tokens(text)
        return bool(toks) and (
            toks[0] in W.CATEGORY_ADJ or toks[0] in W.LEVEL_WORDS or any(t in W.ATTRIBUTES for t in toks[:3])
        )

    def _is_else_cond(self, cond: str) -> bool:
        toks = W.tokens(cond)
        rest = [
            t
            for t in toks
            if t
            not in (
                "it",
                "they",
                "this",
                "that",
                "so",
                "is",
                "are",
                "does",
                "do",
                "did",
                "was",
                "were",
                "has",
                "have",
                "the",
                "case",
                "not",
                "there",
                "true",
            )
        ]
        return "not" in toks and not rest

    def _split_cond_body(self, rest: str) -> tuple[str, str]:
        m = re.match(r"^(.+?)\s*(?:,|:|\bthen\b|->)\s*(.*)$", rest)
        if m:
            return m.group(1), m.group(2)
        cmp = _find_cmp(rest)
        if cmp is not None:
            tail = rest[cmp[3] :].strip()
            if tail and self._imperative(tail):
                return rest[: cmp[3]], tail
        toks = rest.split()
        for i in range(1, len(toks)):
            w = re.sub(r"[^a-z]", "", toks[i].lower())
            if W.is_base_verb(w) and w not in W.COND_VERBS:
                head = [re.sub(r"[^a-z_]", "", t.lower()) for t in toks[:i]]
                if not any(
                    h in W.PREDICATES or (W.lemma(h) and W.lemma(h) != h) or h in W.CATEGORY_ADJ or h in W.LEVEL_WORDS
                    for h in head
                ):
                    continue  # "they decline": the condition has no predicate yet
                prev = head[-1]
                if prev in ("to", "is", "are", "was", "will", "can", "does", "do", "should", "not", "the", "a"):
                    continue
                return " ".join(toks[:i]), " ".join(toks[i:])
        return rest, ""

    def _subject_condition(self, s: str):
        toks = W.tokens(s)
        if len(toks) < 3:
            return None
        # comparative subjects: "smaller ones", "the rest", "everything else", "everything in between"
        m = _OTHERS.match(s)
        if m:
            body = s[m.end() :].strip()
            if body:
                subj = " ".join(self.ctx.subject_noun or self.namer.topic_words(2) or self.ctx.entity) or "items"
                return "else", None, f"{subj} {body}", False
        # "<noun> [whose …] over 5000 <predicate>": the subject carries a numeric condition
        cmp = _find_cmp(s)
        if cmp is not None:
            head, tail = s[: cmp[2]].strip(), s[cmp[3] :].strip()
            rel = re.match(
                r"^(.*?)\b(?:whose|with|that have|that has|which have|which has|where)\b\s*(.*)$", head, re.I
            )
            noun_text, cond_head = (rel.group(1), rel.group(2)) if rel else (head, head)
            raw_noun = W.tokens(noun_text)
            noun = [w for w in raw_noun if not W.is_noise(w) and w not in ("of",)]
            pred = W.tokens(tail)
            if (
                (noun or (raw_noun and all(w in W.PRONOUNS or w in W.STOP for w in raw_noun)))
                and len(noun) <= 4
                and pred
                and (
                    pred[0] in _AUX
                    or W.lemma(pred[0])
                    or pred[0] in ("need", "needs", "go", "goes", "require", "requires")
                )
                and (
                    rel
                    or self.namer.analyse(noun_text)[0] is None
                    or all(w in W.PRONOUNS for w in noun)
                    or (len(raw_noun) <= 3 and not any(w in _DETERMINERS for w in raw_noun[1:]))
                )
            ):
                if not all(w in W.PRONOUNS for w in noun):
                    self.namer.set_topic(noun)
                    self.ctx.subject_noun = noun
                cond = f"{cond_head} {s[cmp[2] : cmp[3]]}".strip()
                return "if", cond, f"{' '.join(noun)} {tail}", False
        verb, particle, obj, subject = self.namer.analyse(s)
        if not subject or verb is None or verb == "receive":
            return None
        first = _content(subject)[:1]
        if (
            first
            and first[0] != "new"
            and (first[0] in W.CATEGORY_ADJ or first[0] in W.LEVEL_WORDS)
            and len(_content(subject)) >= 2
        ):
            noun = _content(subject)[1:]
            self.namer.set_topic(noun)
            rest = s.split(None, len(subject))[-1]
            return "if", first[0], " ".join(noun) + " " + rest, False
        return None

    def _conditional(self, seq: list, kind: str, cond_text: str | None, body_text: str, negate: bool) -> list | None:
        def steps_of() -> list:
            return [x[1] if isinstance(x, tuple) else x for x in (self.body(body_text) if body_text else [])]

        if kind == "else":
            body = steps_of()
            dec = seq[-1] if seq and isinstance(seq[-1], Decision) else None
            if dec is None:
                for st in body:
                    self._append(seq, st)
                return None
            conds = [b[0] for b in dec.branches if b[0] is not None]
            neg = conds[0].negated() if len(conds) == 1 else None
            if any(b[0] is None for b in dec.branches) or (
                neg is not None and any(b[0] is not None and b[0].text == neg.text for b in dec.branches)
            ):
                neg = None
                if any(b[0] is None for b in dec.branches):
                    for st in body:
                        self._append(seq, st)
                    return None
            branch = [neg, body, _terminal(body)]
            dec.branches.append(branch)
            return branch[1]
        open_dec = seq[-1] if seq and isinstance(seq[-1], Decision) and not seq[-1].closed else None
        siblings = [b[0] for b in open_dec.branches if b[0] is not None] if open_dec else []
        if siblings and any(b[0] is None for b in open_dec.branches):
            siblings, open_dec = [], None
        early = steps_of() if kind == "postfix" else None
        if cond_text == "__so__":
            cond = self.ctx.question
            if cond is None:
                var = _valid_var((self.ctx.prev_name or "check") + "_ok")
                cond = Cond("bool", f"{var}==True", var, True, ())
        else:
            cond = self.conds.parse(cond_text or "", siblings)
        body = early if early is not None else steps_of()
        if negate:
            cond = (
                cond.negated() or Cond("nl", '"not: ' + cond.text.strip('"') + '"', None, None, cond.subject)
                if cond.kind != "nl"
                else Cond("nl", '"' + "it is not the case that " + cond.value + '"', None, None, cond.subject)
            )
        if cond.kind == "error":
            self.ctx.handlers.append(body)
            return body
        compatible = open_dec is not None and self._compatible(cond, siblings)
        if compatible:
            open_dec.branches.append([cond, body, _terminal(body)])
            return open_dec.branches[-1][1]
        dec = Decision([[cond, body, _terminal(body)]], attach_hint=tuple(cond.subject))
        self._append(seq, dec)
        return dec.branches[-1][1]

    def _compatible(self, cond: Cond, siblings: list[Cond]) -> bool:
        if not siblings:
            return False
        if any(s.var and s.var == cond.var for s in siblings):
            return True
        if cond.kind == "nl" or any(s.kind == "nl" for s in siblings):
            return True
        kinds = {s.kind for s in siblings}
        if cond.kind in ("cat", "num") and cond.kind in kinds:
            return True
        if cond.kind == "bool" and "bool" in kinds:
            # "if the customer accepts … if they decline" share a subject
            return bool(set(cond.subject) & {w for s in siblings for w in s.subject}) or not cond.subject
        return False

    # --- whole documents
    def build(self, text: str) -> list:
        seq: list = []
        text = _split_inline_steps(text)
        header, items, trailing = _parse_lines(text)
        if items and (len(items) >= 2 or items[0].children):
            for h in header:
                self._header(h, seq)
            self._items(items, seq)
            for t in trailing:
                self._prose(t, seq)
            return seq
        if _ARROWS.search(text) and not re.search(r"\bif\b[^>]*$", text.split("->")[0], re.I):
            segs = [x for x in _ARROWS.split(text) if x.strip()]
            if len(segs) >= 2:
                for seg in segs:
                    self._prose(seg, seq)
                return seq
        self._prose(text, seq)
        return seq

    def _header(self, line: str, seq: list) -> None:
        """A line above a list: a trigger ("When a customer places an order:") or a description."""
        s = line.strip().rstrip(":").strip()
        m = re.match(
            r"^(?:when(?:ever)?|once|each time|every time|on|upon|after|for (?:every|each|all|any)|"
            r"as soon as)\s+(.+)$",
            s,
            re.I,
        )
        if m:
            trig = self._trigger(m.group(1))
            if trig is not None:
                self._append(seq, trig)
            return
        if re.search(r"\b(?:workflow|process|pipeline|following steps|steps)\b", s, re.I) and len(s.split()) < 14:
            return  # "Here is our onboarding process:" describes, does not act
        self._prose(s, seq)

    def _trigger(self, text: str) -> Act | None:
        toks = W.tokens(text)
        if not toks:
            return None
        content = _content(toks)
        verb_i = next(
            (
                i
                for i, w in enumerate(toks)
                if i > 0
                and w not in _AUX
                and (w in W.PASSIVE_TRIGGER or w in W.ARRIVAL_VERBS or (W.lemma(w) and W.lemma(w) != w))
            ),
            None,
        )
        if verb_i is None:
            verb_i = next((i for i, w in enumerate(toks) if i > 1 and W.lemma(w)), None)
        if verb_i is None:
            noun = [w for w in content if w not in W.PRONOUNS][-3:]
        else:
            subj = [w for w in _content(toks[:verb_i]) if w not in W.PRONOUNS]
            obj_toks = [w for w in toks[verb_i + 1 :] if w not in W.PARTICLES]
            obj = []
            for w in obj_toks:
                if w in _PREPS:
                    break
                if not W.is_noise(w):
                    obj.append(w)
            verb = toks[verb_i]
            if (
                verb in W.PASSIVE_TRIGGER
                or toks[verb_i - 1] in _AUX
                or not obj
                or W.lemma(verb) in ("accept", "sign", "join", "check", "register", "apply", "start", "leave")
            ):
                noun = subj[-3:] or obj[-2:]
            else:
                noun = obj[-3:]
        if not noun:
            return None
        self.namer.set_topic(noun)
        name = _valid_name(W.snake(["receive"] + noun[-3:]))
        self.ctx.prev_action = text
        return Act(text, name)

    def _items(self, items: list[Item], seq: list) -> None:
        for item in items:
            start_len = len(seq)
            marker = ("step_marker", item.number)
            hook = self._prose(item.text, seq, item_mode=True)
            if item.number is not None:
                seq.insert(start_len, marker) if len(seq) > start_len else seq.append(marker)
            if item.children:
                if hook is not None:
                    if isinstance(hook, list) and hook is not seq and _is_par_hook(seq, hook):
                        for child in item.children:
                            branch: list = []
                            self._items([child], branch)
                            if branch:
                                hook.append(branch)
                    else:
                        self._items(item.children, hook)
                else:
                    self._items(item.children, seq)

    def _prose(self, text: str, seq: list, item_mode: bool = False) -> list | None:
        text = text.strip()
        first = True
        hook = None
        sentences = _split_sentences(text)
        for s in sentences:
            if first and not seq:
                m = re.match(
                    r"^(?:when(?:ever)?|each time|every time|as soon as|for (?:every|each|all|any))\s+"
                    r"([^,:]+)[,:]\s*(.*)$",
                    s,
                    re.I,
                )
                if m and not _find_cmp(m.group(1)) and self._is_event(m.group(1)):
                    trig = self._trigger(m.group(1))
                    if trig is not None:
                        self._append(seq, trig)
                    s = m.group(2)
                elif (
                    re.match(
                        r"^(?:when(?:ever)?|each time|every time|as soon as|for (?:every|each|all|any))\s+", s, re.I
                    )
                    and len(sentences) > 1
                    and self._is_event(s.split(None, 1)[1])
                    and not _find_cmp(s)
                ):
                    m2 = re.match(
                        r"^(?:when(?:ever)?|each time|every time|as soon as|for (?:every|each|all|any))\s+"
                        r"(.+)$",
                        s,
                        re.I,
                    )
                    trig = self._trigger(m2.group(1))
                    if trig is not None:
                        self._append(seq, trig)
                        continue
            first = False
            if not s:
                continue
            h = self.sentence(s, seq)
            hook = h
        return hook

    def _is_event(self, text: str) -> bool:
        toks = W.tokens(text)
        if any(w in W.PASSIVE_TRIGGER or w in W.ARRIVAL_VERBS for w in toks):
            return True
        if any(w in ("new", "every", "each") for w in toks[:2]):
            return True
        # "a customer places an order", "a new hire accepts the offer"
        return (
            len(toks) >= 2
            and toks[0] in ("a", "an", "the", "someone", "somebody", "any")
            and any(w.endswith("s") and not w.endswith("ss") and i >= 2 for i, w in enumerate(toks))
        )


def _is_par_hook(seq: list, hook: list) -> bool:
    return any(isinstance(x, Par) and x.branches is hook for x in seq)


def _terminal(body: list) -> bool:
    for st in body:
        if isinstance(st, Stop):
            return True
        if isinstance(st, Act) and st.terminal:
            return True
    return False


# ---------------------------------------------------------------------------------------------
# compiling the step tree into DSL


@dataclass
class Exit:
    src: str
    cond: str | None = None
    fan_in: tuple[str, ...] | None = None
    fork: list | None = None


class Compiler:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.statements: list[tuple] = []  # (sources, targets, cond, src_group, tgt_group)
        self.used = {START, END}
        self.kinds: dict[str, str] = {}
        self.order: list[str] = []
        self.step_first: dict[int, str] = {}
        self.pending_step: int | None = None
        self.branch_depth = 0
        self.branch_states: set[str] = set()
        self.handler_states: set[str] = set()
        self.in_handler = False
        self.text_of: dict[str, str] = {}
        self.ai_states: set[str] = set()

    def new_state(self, base: str, kind: str, text: str = "") -> str:
        name = _valid_name(base)
        if name in self.used:
            i = 2
            while f"{name}_{i}" in self.used:
                i += 1
            name = f"{name}_{i}"
        self.used.add(name)
        self.kinds[name] = kind
        self.order.append(name)
        if self.branch_depth:
            self.branch_states.add(name)
        if self.in_handler:
            self.handler_states.add(name)
        if text:
            self.text_of[name] = text
        if self.pending_step is not None:
            self.step_first.setdefault(self.pending_step, name)
            self.pending_step = None
        return name

    def emit(self, sources, targets, cond=None, src_group=False, tgt_group=False):
        st = (tuple(sources), tuple(targets), cond, src_group, tgt_group)
        if st not in self.statements:
            self.statements.append(st)

    def connect(self, pending: list[Exit], target: str) -> None:
        plain_defaults = {e.src for e in pending if e.fan_in is None and e.fork is None and e.cond is None}
        for e in pending:
            if e.fork is not None:
                e.fork.append(target)
            elif e.fan_in is not None:
                self.emit(e.fan_in, (target,), None, True, False)
            else:
                if e.cond is not None and e.cond != "@error" and e.src in plain_defaults:
                    continue  # the default already goes there
                if e.src == target and e.cond is None:
                    continue
                self.emit((e.src,), (target,), e.cond)

    def _single_source(self, pending: list[Exit]) -> str | None:
        if len(pending) == 1:
            e = pending[0]
            if e.fork is None and e.fan_in is None and e.cond is None and e.src != START:
                return e.src
        return None

    def seq(self, steps: list, pending: list[Exit]) -> list[Exit]:
        for st in steps:
            pending = self.step(st, pending)
        return pending

    def step(self, st, pending: list[Exit]) -> list[Exit]:
        if isinstance(st, tuple) and st[0] == "step_marker":
            self.pending_step = st[1]
            return pending
        if isinstance(st, tuple) and st[0] == "meanwhile":
            st = st[1]
        if isinstance(st, Act):
            name = self.new_state(st.name, "action", st.text)
            if st.ai:
                self.ai_states.add(name)
            self.connect(pending, name)
            return [Exit(name)]
        if isinstance(st, Until):
            name = self.new_state(st.act.name, "action", st.act.text)
            self.connect(pending, name)
            neg = st.cond.negated()
            loop_cond = neg.text if neg is not None else f"not ({st.cond.text})"
            self.emit((name,), (name,), loop_cond)
            return [Exit(name)]
        if isinstance(st, Stop):
            self.connect(pending, END)
            return []
        if isinstance(st, Goto):
            target = self._resolve_goto(st.target)
            if target is None:
                return pending
            self.connect(pending, target)
            return []
        if isinstance(st, Par):
            return self.parallel(st, pending)
        if isinstance(st, Decision):
            return self.decision(st, pending)
        return pending

    def _resolve_goto(self, target: str) -> str | None:
        if target.startswith("step:"):
            return self.step_first.get(int(target[5:]))
        words = set(_content(W.tokens(target)))
        lemmas = {W.lemma(w) or w for w in words}
        best, score = None, 0
        for name in self.order:
            parts = set(name.split("_"))
            s = len(parts & (words | lemmas))
            if s > score:
                best, score = name, s
        return best

    def parallel(self, par: Par, pending: list[Exit]) -> list[Exit]:
        branches = [b for b in par.branches if b]
        if len(branches) < 2:
            for b in branches:
                pending = self.seq(b, pending)
            return pending
        fork = self._single_source(pending)
        if fork is None:
            fork = self.new_state("begin_parallel_work", "fork")
            self.connect(pending, fork)
        firsts: list[str] = []
        ends: list[str] = []
        self.branch_depth += 1
        try:
            for b in branches:
                collector: list[str] = []
                exits = self.seq(b, [Exit("", fork=collector)])
                if not collector:
                    continue
                firsts.append(collector[0])
                single = [e for e in exits if e.fork is None]
                if len(single) == 1 and single[0].fan_in is None and single[0].cond is None:
                    ends.append(single[0].src)
                elif not single:
                    # the branch ended early (stop/terminal): give it an explicit last step
                    done = self.new_state("finish_" + collector[0], "join")
                    ends.append(done)
                else:
                    done = self.new_state("finish_" + collector[0], "join")
                    self.connect(single, done)
                    ends.append(done)
        finally:
            self.branch_depth -= 1
        if len(firsts) < 2:
            if firsts:
                self.emit((fork,), (firsts[0],))
                return [Exit(ends[0])]
            return [Exit(fork)]
        self.emit((fork,), tuple(firsts), None, False, True)
        return [Exit("", fan_in=tuple(ends))]

    @staticmethod
    def _ordered(branches: list[list]) -> list[list]:
        """Thresholds on one variable tried from the most specific: >100 before >80, <10 before <50."""
        conds = [b[0] for b in branches if b[0] is not None]
        if len(conds) < 2 or any(c.kind != "num" or c.op is None for c in conds) or len({c.var for c in conds}) != 1:
            return branches
        ops = {c.op for c in conds}
        if ops <= {">", ">="}:
            key = lambda b: -(b[0].threshold if b[0] is not None else float("-inf"))
        elif ops <= {"<", "<="}:
            key = lambda b: b[0].threshold if b[0] is not None else float("inf")
        else:
            return branches
        conditional = sorted([b for b in branches if b[0] is not None], key=key)
        return conditional + [b for b in branches if b[0] is None]

    def decision(self, d: Decision, pending: list[Exit]) -> list[Exit]:
        d.branches = self._ordered(d.branches)
        src = self._single_source(pending)
        attached = False
        if src is None and d.attach_hint and pending and not any(e.fork for e in pending):
            found = self._attach_target(d.attach_hint)
            if found is not None:
                src, attached = found, True
        if src is None:
            src = self.new_state(self._decision_name(d), "decision")
            self.connect(pending, src)
        out: list[Exit] = []
        has_default = False
        for cond, body, terminal in d.branches:
            ctext = cond.text if cond is not None else None
            if cond is None:
                has_default = True
            exits = self.seq(body, [Exit(src, ctext)])
            if attached or (terminal and not d.force_rejoin):
                self.connect(exits, END)
            else:
                out.extend(exits)
        if attached:
            return pending
        bools = {(b[0].var, b[0].value) for b in d.branches if b[0] is not None and b[0].kind == "bool"}
        complementary = any((v, not val) in bools for v, val in bools)
        if not has_default and not complementary:
            out.append(Exit(src))
        return out

    def _attach_target(self, hint: tuple[str, ...]) -> str | None:
        words = {w for w in hint if w not in W.PRONOUNS}
        words |= {W.singular(w) for w in words}
        words |= {W.NOMINALS.get(w, w) for w in words}
        for name in reversed(self.order):
            if name in self.branch_states or self.kinds.get(name) != "action":
                continue
            parts = set(name.split("_"))
            if parts & words:
                return name
        return None

    def _decision_name(self, d: Decision) -> str:
        cond = next((b[0] for b in d.branches if b[0] is not None), None)
        if cond is None:
            return "decide_next_step"
        if cond.var:
            words = cond.var.split("_")[:3]
        else:
            words = [w for w in cond.subject if w not in W.SUBJECTIVE][:3] or ["condition"]
        return "check_" + "_".join(words)

    def finish(self, pending: list[Exit]) -> None:
        fan_ins = [e for e in pending if e.fan_in is not None]
        if fan_ins:
            join = self.new_state("merge_results", "join")
            self.connect(fan_ins, join)
            pending = [e for e in pending if e.fan_in is None] + [Exit(join)]
        self.connect(pending, END)

    def add_handlers(self, handlers: list[list]) -> None:
        for body in handlers:
            targets = [
                s
                for s in self.order
                if self.kinds.get(s) == "action"
                and s not in self.branch_states
                and s not in self.handler_states
                and not any(st[0] == (s,) and st[2] == "@error" for st in self.statements)
            ]
            if not targets or not body:
                continue
            self.in_handler = True
            try:
                exits = self.seq(body, [Exit(s, "@error") for s in targets])
            finally:
                self.in_handler = False
            self.finish(exits)

    def dsl(self) -> str:
        first_seen: dict[str, int] = {START: -1}
        for i, (srcs, tgts, *_rest) in enumerate(self.statements):
            for s in srcs:
                first_seen.setdefault(s, i)

        def key(item):
            i, st = item
            srcs = st[0]
            return (min(first_seen.get(s, i) for s in srcs), 0 if st[3] else 0, i)

        ordered = [st for _, st in sorted(enumerate(self.statements), key=key)]
        lines = []
        for srcs, tgts, cond, sg, tg in ordered:
            src = "[" + ",".join(srcs) + "]" if sg else srcs[0]
            dst = "[" + ",".join(tgts) + "]" if tg else tgts[0]
            lines.append(f"{src}->{dst}" + (f":{cond}" if cond else "") + ";")
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# repair


def _linear(names: list[str]) -> str:
    names = [n for n in dict.fromkeys(names) if n not in (START, END)] or ["review_request"]
    chain = [START] + names + [END]
    return "\n".join(f"{a}->{b};" for a, b in zip(chain, chain[1:])) + "\n"


def repair(dsl: str, fallback_names: list[str] | None = None) -> tuple[str, list[str]]:
    """Make ``dsl`` valid with structural fixes; returns (dsl, notes about what was changed)."""
    from engine.dsl.validate import check

    notes: list[str] = []
    text = dsl
    for _ in range(4):
        try:
            model, rep = check(text)
        except DSLError:
            break
        if not rep.errors:
            return text, notes
        lines = text.splitlines()
        changed = False
        for issue in rep.errors:
            m = re.search(r"state '(\w+)' has no outgoing", issue.message)
            if issue.code == "dead_end" and m:
                lines.append(f"{m.group(1)}->end;")
                notes.append(f"connected '{m.group(1)}' to end")
                changed = True
            elif issue.code == "end_unreachable":
                last = next((s for s in reversed(model.states) if s not in (START, END)), START)
                lines.append(f"{last}->end;")
                changed = True
            elif issue.code == "unreachable":
                m = re.search(r"state '(\w+)'", issue.message)
                if m:
                    lines = [ln for ln in lines if not re.search(rf"(?<![\w]){m.group(1)}(?![\w])", ln)]
                    notes.append(f"dropped unreachable state '{m.group(1)}'")
                    changed = True
            elif issue.code == "two_defaults" and issue.line:
                del lines[issue.line - 1]
                changed = True
            elif issue.code == "bad_fan_in" and issue.line:
                bad = lines[issue.line - 1]
                mm = re.match(r"\[([^\]]+)\]->(\w+);", bad.strip())
                del lines[issue.line - 1]
                if mm:
                    for s in mm.group(1).split(","):
                        lines.append(f"{s.strip()}->{mm.group(2)};")
                changed = True
        if not changed:
            break
        text = "\n".join(lines) + "\n"
    notes.append("the structure could not be repaired; fell back to a straight sequence of the steps")
    return _linear(fallback_names or []), notes


# ---------------------------------------------------------------------------------------------
# entry point


@dataclass
class OfflineResult:
    dsl: str
    state_text: dict[str, str]
    ai_states: set[str]
    notes: list[str]


def translate_offline(text: str) -> OfflineResult:
    """Translate plain language to valid DSL without a model."""
    from engine.dsl.validate import check

    raw = text or ""
    if not raw.strip():
        return OfflineResult(
            "start->review_request;\nreview_request->end;\n",
            {},
            set(),
            ["the description was empty; here is a one-step workflow to start from"],
        )
    # already DSL? keep it when it is valid
    if "->" in raw and ";" in raw:
        try:
            model, rep = check(raw)
            if not rep.errors:
                from engine.dsl.printer import to_dsl

                return OfflineResult(to_dsl(model), {}, set(), ["the description is already valid DSL"])
        except DSLError:
            pass
    prepared = _prepare(raw[:20_000])
    builder = Builder()
    try:
        steps = builder.build(prepared)
    except RecursionError:  # pragma: no cover - absurdly nested input
        steps = []
    comp = Compiler(builder.ctx)
    pending = comp.seq(steps, [Exit(START)])
    comp.finish(pending)
    comp.add_handlers(builder.ctx.handlers)
    if not comp.statements or not any(s[0] == (START,) for s in comp.statements):
        words = [w for w in _content(W.tokens(prepared)) if w.isalpha()][:3] or ["review", "request"]
        name = _valid_name(W.snake(words))
        dsl = f"start->{name};\n{name}->end;\n"
        return OfflineResult(
            dsl,
            {name: raw.strip()[:200]},
            set(),
            ["no steps were recognised; made a one-step workflow from the description"],
        )
    dsl, notes = repair(comp.dsl(), [s for s in comp.order if comp.kinds.get(s) == "action"])
    return OfflineResult(dsl, comp.text_of, comp.ai_states, builder.ctx.notes + notes)
