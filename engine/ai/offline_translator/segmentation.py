"""Text preparation and segmentation: list items, sentences and the clause patterns (sequence words, conditions, parallel cues)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------------
# text preparation

_PREAMBLE = re.compile(
    r"^\s*(?:please\s+)?(?:(?:create|build|make|design|write|generate|set up|i (?:want|need)|we (?:want|need)|"
    r"give me)\s+(?:me\s+)?(?:a|an|the)?\s*(?:new\s+)?(?:simple\s+)?(?:\w+\s+)?(?:\([^)]*\)\s+)?"
    r"(?:workflow|process|pipeline|flow|automation|job|script|bot)"
    r"(?:\s*\([^)]*\))?(?:\s+(?:that|which|to|for|where|in which))?\s*[:,-]?\s*)",
    re.I,
)
_ARROWS = re.compile(r"\s*->\s*")
_NUM_COMMA = re.compile(r"(?<=\d),(?=\d{3}\b)")


# "<step>; skip it if <condition>", "<step>. Skip this step if …", "<step>, but don't do it when …"
# the step is at most 200 characters: unbounded, the lazy scan from every position of a long sentence
# without punctuation made this quadratic (50,000 characters took 10 s)
_SKIP_VERB = r"(?:skip|omit|don'?t\s+do|do\s+not\s+do)"
_SKIP_IF = re.compile(
    r"(?P<step>[A-Za-z][^.;!?\n:]{0,200}?)\s*(?:[;,.]\s*|\s+)(?:but\s+|and\s+)?" + _SKIP_VERB + r"\s+"
    r"(?:it|this|that|this\s+step|that\s+step)\s+(?:if|when|whenever|on\s+days\s+when)\s+(?P<cond>[^.;!?\n]+)",
    re.I,
)
_SKIP_WORD = re.compile(r"\b" + _SKIP_VERB + r"\s", re.I)  # no match of _SKIP_IF without one


_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "ninety": 90, "hundred": 100, "a": 1, "an": 1,
}  # fmt: skip
# a number word after a comparison ("delayed by more than two days"): a number the comparisons read (was
# the value two_days, which no run sets); never after "within" (a deadline: "if they reply within a week")
_WORD_NUMBER_IN_CMP = re.compile(
    r"\b(more than|less than|fewer than|over|under|above|below|at least|at most|no more than|no less than|"
    r"longer than|shorter than|older than|newer than|exceeds?|exceeding|beyond)\s+("
    + "|".join(_WORD_NUMBERS)
    + r")\b(?=\s+(?:days?|hours?|minutes?|weeks?|months?|years?|times?|attempts?|items?|people|users?|tickets?|"
    r"orders?|percent|points?|stars?|dollars?|euros?|errors?|failures?)\b)",
    re.I,
)


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
    if _SKIP_WORD.search(t):  # "run the job; skip it if X" -> "run the job unless X"
        t = _SKIP_IF.sub(r"\g<step> unless \g<cond>", t)
    t = _WORD_NUMBER_IN_CMP.sub(lambda m: f"{m.group(1)} {_WORD_NUMBERS[m.group(2).lower()]}", t)
    t = re.sub(r"\bIT\b", "IT_team", t)
    t = re.sub(r"(?<=\bthe )US\b|\bUS(?= (?:and|or) (?:the )?[A-Z]{2}\b)", "USA", t)  # "the US totals", not "us"
    t = re.sub(
        r"\(\s*([^()]*?,[^()]*?)\s*(?:[—–-]+|,|;)?\s*(?:all\s+)?(in parallel|at the same time|at once|simultaneously|"
        r"concurrently)\s*\)",
        r" in parallel: \1 ",
        t,
        flags=re.I,
    )
    t = re.sub(
        r"\(\s*((?:in parallel|parallel|at the same time|at once|simultaneously|concurrently|optional|optionally))\s*\)",
        r"\1",
        t,
        flags=re.I,
    )
    t = _PAREN_FALLBACK.sub(_unbracket_fallback, t)
    t = re.sub(r"\(([^()]*)\)", lambda m: "(" + re.sub(r"\s*,\s*", " / ", m.group(1)) + ")", t)  # "(google, slack)"
    t = re.sub(
        r"(^|(?<=[.!?]\s))(?:(?:ok(?:ay)?\s*,?\s*)?so\s*,?\s+basically|basically|ok(?:ay)?\s*,?\s*so)\s*,?\s+",
        r"\1",
        t,
        flags=re.I,
    )
    t = _WHEN_WE_NEED.sub(r"\1, ", t)
    # "… go to enterprise sales, the rest to the SMB team": the rest *go* there (the else of the routing)
    t = _REST_TO.sub(
        lambda m: f"; {m.group(1)} go {m.group(2)} " if _ROUTED.search(t[: m.start()].split(".")[-1]) else m.group(0), t
    )
    # "legal can approve or reject it", "she approves or declines the draft": one approval, its two answers
    t = re.sub(
        r"\b(approve[sd]?|accept[sd]?)\s+or\s+(?:reject|decline|den(?:y|ie)|refuse)[sd]?\b", r"\1", t, flags=re.I
    )
    t = re.sub(r"\b(?:reject|decline|den(?:y|ie)|refuse)([sd]?)\s+or\s+(approve|accept)[sd]?\b", r"\2\1", t, flags=re.I)
    # "ship the order and, at the same time, send a receipt": one clause (clause_rewrite reads it)
    t = re.sub(
        r"\s+and\s*,\s*(at the same time|simultaneously|concurrently|in parallel|meanwhile)\s*,\s*(?=[a-z])",
        r" and \1 ",
        t,
        flags=re.I,
    )
    t = re.sub(r"\b(over|under)\s+budget\b", r"\1-budget", t, flags=re.I)  # a state ("is over budget"), no comparison
    t = _RANGE_COLON.sub(r"between \g<low> and \g<high>:", t)
    t = _than_that(t)
    return t.strip()


_REST_TO = re.compile(
    r",\s*(?:and\s+)?(the\s+rest|all\s+(?:the\s+)?others|the\s+others|everything\s+else|everyone\s+else|"
    r"the\s+remaining\s+(?:ones|[a-z]+s))\s+(to|into)\s+(?=(?:the|our|a|an|their)?\s*[a-z])",
    re.I,
)
_ROUTED = re.compile(r"\b(?:go|goes|are\s+(?:sent|routed|passed|assigned)|is\s+(?:sent|routed))\s+(?:to|into)\b", re.I)
# "when someone submits the form we need to create …": the event ends where "we need to" starts
_WHEN_WE_NEED = re.compile(
    r"((?:^|(?<=[.!?]\s))(?:so\s+)?(?:basically\s+)?(?:when(?:ever)?|once|as soon as)\s+[^,.;:]+?)\s+"
    r"(?=(?:we|you|i)\s+(?:need|have|must|should|want|'d\s+like)\b)",
    re.I,
)
# an amount as written in a range: "1000", "$5k", "2.5 m"
AMOUNT = r"[$€£]?\d[\d.]*\s*[kKmM]?"
# "1000 to 10000: the department head approves" / "1k-10k:" -> "between 1000 and 10000:"
_RANGE_COLON = re.compile(rf"(?<![\w.])(?P<low>{AMOUNT})\s*(?:to|-|–|—)\s*(?P<high>{AMOUNT})\s*:", re.I)
# "above that", "over that", "below that": the last number before it ("Between 1000 and 10000 the head
# approves; above that, the CFO signs off" -> "above 10000")
_THAN_THAT = re.compile(
    r"\b(?P<cmp>above|over|beyond|more\s+than|higher\s+than|below|under|less\s+than)\s+that\b", re.I
)
_A_NUMBER = re.compile(r"[$€£]?\d[\d.]*(?:\s*[kKmM]\b|%)?")


def _than_that(t: str) -> str:
    out, last = [], 0
    for m in _THAN_THAT.finditer(t):
        numbers = _A_NUMBER.findall(t[max(0, m.start() - 200) : m.start()])
        if not numbers:
            continue
        out.append(t[last : m.start()] + f"{m.group('cmp')} {numbers[-1].strip()}")
        last = m.end()
    return "".join(out) + t[last:] if out else t


# A step's fallback in brackets: "Load the orders (if that fails, use yesterday's export), then …",
# "(otherwise use the cache)", "(falling back to the cache if that fails)": read as its own clause.
_PAREN_FALLBACK = re.compile(
    r"\s*\(\s*(?:(?P<cond>(?:if|should|in\s+case)\s+[^(),]+,\s*[^()]+?)|"
    r"(?P<other>(?:otherwise|else|or\s+else|failing\s+that)\s*,?\s*[^()]+?)|"
    r"(?:and\s+|or\s+)?(?:fall(?:ing)?|go(?:ing)?)\s+back\s+(?:to|on|onto)\s+(?P<back>[^()]+?)"
    r"(?:\s+(?:if|when|should)\s+(?:that|it|this|they)\s+(?:fails?|is\s+down|errors?))?)\s*\)(?P<end>\s*[.!?]|\s*$)?",
    re.I,
)


def _unbracket_fallback(m: re.Match) -> str:
    clause = m.group("cond") or m.group("other") or f"otherwise fall back to {m.group('back')}"
    return f"; {clause}" + (m.group("end") or ";")


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
    for chunk in re.split(r"(?<=[.!?])\s+|(?<=[.!?]\))\s+(?=[A-Z])|;\s*|\n+", t):  # also "(Do both.) Then"
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
    r"^.{0,80}\b(?:like this|as follows|this way|the following way|goes like this|works like this)\s*:?\s*$|"
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
_COUNT_WORD_RE = r"(?:two|three|four|five|six|seven|eight|nine|ten|\d{1,2})"
# "all three", "all 3 of them", "the four checks", "these two steps": a join that counts its branches
_COUNTED_GROUP = (
    r"(?:all (?:the )?|the |these |those |both )?" + _COUNT_WORD_RE + r"(?: of (?:them|these|those))?"
    r"(?: (?:tasks|steps|checks|branches|jobs|things|parts|of them))?"
)
_CONNECTOR = re.compile(
    r"^(?:and then|and|then|next|after that|afterwards|afterward|after this|subsequently|finally|lastly|"
    r"last of all|at last|first of all|first|firstly|to start|to begin(?: with)?|initially|second|secondly|"
    r"third|thirdly|also|additionally|plus|now|so|once (?:that's|that is|this is|that has been|it's|it is) "
    r"(?:done|finished|complete|completed)|at the end|in the end|to finish(?: up)?|to wrap up|eventually|"
    r"after (?:both|all|everything|these|those|they|that|this)(?: (?:are|is|have|has|been))*"
    r"(?: (?:done|finished|complete|completed|ready))?|"
    r"(?:when|once|after) (?:both|all|everything|they|these|those|that|this|all of them|both of them|"
    r"each|the (?:tasks|steps|checks|branches)|" + _COUNTED_GROUP + r")(?: (?:are|is|have|has|been))*"
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
