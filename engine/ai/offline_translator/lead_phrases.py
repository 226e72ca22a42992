"""Lead phrases that are not steps of their own: "For every damaged box, …" (a subset of items: the step is
what is done to each), "Complete forms: pass them to HR" (a heading naming the items 'them' means), "If they
accept" about one client (singular 'they' is the last person mentioned) and "When the ice has melted, …" at
the start (a thing changing state: a first step waiting for it, not a trigger)."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.builder_base import BuilderBase
from engine.ai.offline_translator.comparisons import _find_cmp
from engine.ai.offline_translator.model import Act
from engine.ai.offline_translator.name_words import _PREPS, _content, _valid_name

# words before a noun that pick a subset of items already in hand ("damaged boxes", "late invoices"), not new ones
SUBSET_ADJ = frozenset(
    "late overdue missing open unpaid outstanding defective faulty expired invalid incomplete complete empty "
    "duplicate broken torn stolen lost dirty wet bad wrong unsigned unread unanswered pending stale inactive "
    "dormant abandoned cracked dented leaking spoiled spoilt blank illegible damaged failed rejected returned "
    "delayed cancelled canceled disputed flagged suspicious".split()
)
# words that make the items new arrivals ("for each new order"): the workflow's trigger, kept as it is
_ARRIVING = frozenset("new incoming inbound fresh arriving latest".split())
# adjectives that are also verbs: "Complete forms:" is a heading of items, not "complete the forms"
_ADJ_VERBS = frozenset("complete open clean empty clear free correct separate close dry secure final due".split())
_FOR_EACH = re.compile(r"^for\s+(?:every|each)\s+([^,:]{2,60}?)\s*,\s*(.+)$", re.I | re.S)
# "For any product below its reorder point, create a purchase order": a comparison with a named value,
# not a number (numbers are read by the comparison patterns): "If the product is below its reorder point, …"
_FOR_ANY_BELOW = re.compile(
    r"^for\s+(?:(?:every|each|any|all)\s+(?:the\s+)?)?(?P<noun>[a-z]+(?:\s+[a-z]+)?)\s+(?:(?:that|which)\s+(?:is|are)\s+)?"
    r"(?P<cmp>(?:at\s+or\s+)?(?:below|above|over|under|beyond)|exceeding|(?:more|less|greater|higher|lower|fewer)\s+than)"
    r"\s+(?P<what>(?:its|their|the|our|his|her)\s+[a-z][^,:]{1,40}?)\s*,\s*(?P<rest>.+)$",
    re.I | re.S,
)
# "Send the draft to the manager. She approves it.": the person just named answers (an approval step)
_PRONOUN_APPROVES = re.compile(
    r"^(?:and\s+)?(?:then\s+)?(?:she|he)\s+(?=(?:(?:can|will|must|should|then|may|has\s+to|needs\s+to)\s+)?"
    r"(?:approves?|accepts?|signs?\s+off)\b)",
    re.I,
)
# "Send the draft to the manager, who approves it": the same, in one sentence
_WHO_APPROVES = re.compile(
    r"\b(to|for|by)\s+(the|our|your|their)\s+([a-z]+(?:\s+[a-z]+)?),?\s+who\s+(?:then\s+)?"
    r"(?=(?:(?:can|will|must|should|may)\s+)?(?:approves?|accepts?|signs?\s+off)\b)",
    re.I,
)
_HEADING = re.compile(r"^([A-Za-z]+\s+[A-Za-z]+)\s*:\s+(\w+\s+them\b.*)$", re.S)
_COND_THEY = re.compile(r"\b(if|when|once|unless|in case|as soon as)\s+they\s+(\w+n't|\w+)", re.I)
# teams and departments are not "they" for one person ("send legal the draft; if they approve" stays as it is)
_NOT_ONE_PERSON = frozenset(
    "finance hr legal marketing ops operations sales security support it_team on_call team staff people".split()
)
_NOT_ACTIVE = frozenset("are were is was be been being".split())
_DETERMINERS = frozenset("the a an all these those this that their our your its his her some any no".split())
# "When the ice has melted", "When the paint is dry": a copula/perfect, then the new state
_STATE_LINK = frozenset("is are has have becomes become turns turn gets get looks look feels feel seems".split())
_STATE_VERBS = {
    "melts": "melted", "dries": "dry", "cools": "cool", "boils": "boiling", "freezes": "frozen",
    "thaws": "thawed", "rises": "risen", "sets": "set", "hardens": "hard", "ripens": "ripe", "settles": "settled",
    "cures": "cured", "evaporates": "evaporated", "warms": "warm", "heats": "hot", "dissolves": "dissolved",
}  # fmt: skip
_TIME_NOUNS = frozenset(
    "time clock date day deadline hour minute month week year weekend morning evening night noon midnight "
    "quarter season".split()
)
_DEFINITE = frozenset("the our your its their my this that".split())


def subset_of_items(text: str) -> list[str] | None:
    """ "damaged box" / "every late invoice in the batch" -> the items' head words (``["box"]``) when the phrase
    is a noun phrase picking a subset by a state word; ``None`` otherwise (a new arrival, a verb, a comparison)."""
    toks = W.tokens(text)
    while toks and toks[0] in ("every", "each", "for"):
        toks = toks[1:]
    if not toks or _find_cmp(text) or any(w in _ARRIVING or w in W.PASSIVE_TRIGGER for w in toks):
        return None
    phrase: list[str] = []
    for w in toks:
        if w in _PREPS or w in ("that", "which", "who", "we", "you", "they"):
            break
        phrase.append(w)
    phrase = [w for w in phrase if w not in _DETERMINERS]
    if len(phrase) < 2 or any(w in W.ARRIVAL_VERBS or w in _NOT_ACTIVE or w in _STATE_LINK for w in toks):
        return None  # "damaged goods are returned": an event with a verb, not a noun phrase
    mods, head = phrase[:-1], phrase[-1]
    if head.endswith(("ed", "ing")) or not any(_subset_word(w) for w in mods):
        return None
    return [w for w in phrase if not _subset_word(w)] or [head]


def _subset_word(word: str) -> bool:
    return (
        word in SUBSET_ADJ
        or (word in W.CATEGORY_ADJ and word not in _ARRIVING and word != "existing")
        or word in W.LEVEL_WORDS
        or (word.startswith("un") and word.endswith("ed"))
    )


def state_change(text: str) -> tuple[list[str], str] | None:
    """ "the ice has melted" -> (["ice"], "melted"), "the paint is dry" -> (["paint"], "dry"): a definite thing
    changing state; ``None`` for arrivals, new items ("a file is uploaded"), times and people's actions."""
    toks = W.tokens(text)
    if len(toks) < 3 or toks[0] not in _DEFINITE or _find_cmp(text):
        return None
    for i in range(2, min(len(toks), 6)):
        w = toks[i]
        subject = [x for x in toks[1:i] if not W.is_noise(x)]
        if not subject or any(x in W.PEOPLE or x in W.GROUPS_OF_PEOPLE or x in _TIME_NOUNS for x in subject):
            if w in _STATE_LINK or w in _STATE_VERBS:
                return None
            continue
        if w in _STATE_VERBS:
            return subject[-2:], _STATE_VERBS[w]
        if w not in _STATE_LINK:
            if W.lemma(w) is not None and W.lemma(w) != w:
                return None  # "the system raises an incident": an event
            continue
        rest = [x for x in toks[i + 1 :] if x not in ("been", "become", "got", "now", "finally", "fully", "not")]
        rest = [x for x in rest if not W.is_noise(x) or x in ("ready", "done")]
        if not rest or rest[0] in W.PASSIVE_TRIGGER or rest[0] in W.ARRIVAL_VERBS or rest[0] in ("come", "arrived"):
            return None
        if rest[0] in ("a", "an", "the") or (w in ("has", "have") and not rest[0].endswith(("ed", "en", "wn", "t"))):
            return None  # "the team has a question": a possession, not a state
        return subject[-2:], rest[0]
    return None


_COND_PERSON = re.compile(r"\b(?:if|when|once|unless|in\s+case|as\s+soon\s+as)\s+(?:the|our|your)\s+([a-z]+)\b", re.I)


def _them_is_the_person(s: str) -> str:
    """ "If the customer complains, call them": 'them' (or 'him') after a condition about a person is that
    person, not the step's topic (it read "call the ticket")."""
    m = _COND_PERSON.search(s)
    if m is None:
        return s
    noun = m.group(1).lower()
    if noun not in W.PEOPLE and noun not in W.GROUPS_OF_PEOPLE or noun in _NOT_ONE_PERSON:
        return s
    head, tail = s[: m.end()], s[m.end() :]
    them = re.search(r"\b(?:them|him)\b", tail)
    if them is None:
        return s
    between = W.tokens(tail[: them.start()])[1:]  # after the condition's verb ("complains")
    if any(
        len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")) and w not in W.PEOPLE for w in between
    ):
        return s  # "If the manager rejects the requests, return them": the requests
    return head + re.sub(r"\b(?:them|him)\b", f"the {noun}", tail)


def _third_person(verb: str) -> str:
    """ "accept" -> "accepts", "reply" -> "replies", "do" -> "does", "have" -> "has" (other forms unchanged)."""
    low = verb.lower()
    if low in ("have", "do", "don't"):
        return {"have": "has", "do": "does", "don't": "doesn't"}[low]
    if not W.is_base_verb(low):
        return verb
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if low.endswith("y") and low[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


class LeadReader(BuilderBase):
    """Rewrites lead phrases before a sentence is read (comes before ClauseReader in Builder's bases)."""

    _items_heading: str | None = None
    _last_person: str | None = None  # the last singular person mentioned, while no plural noun came after it

    def _rewrite(self, s: str) -> str:
        s = self._for_each_subset(s)
        m = _HEADING.match(s.strip())
        self._items_heading = None
        if m and self._is_items_heading(m.group(1)):
            self._items_heading = m.group(1).strip().lower()  # read as a noun phrase, not "complete the forms"
            noun = m.group(1).split()[-1].lower()
            s = f"{m.group(1)}: " + re.sub(r"\bthem\b", f"the {noun}", m.group(2), count=1)  # 'them': those items
        s = self._person_approves(s)
        s = self._singular_they(s)
        return super()._rewrite(s)

    def _person_approves(self, s: str) -> str:
        """ "She can approve it" right after the manager was named -> "the manager can approve it";
        "… to the manager, who approves it" -> "… to the manager, then the manager approves it"."""
        who = _WHO_APPROVES.search(s)
        if who is not None and W.singular(who.group(3).split()[-1].lower()) in W.PEOPLE:
            s = f"{s[: who.start()]}{who.group(1)} {who.group(2)} {who.group(3)}, then the {who.group(3)} {s[who.end() :]}"
        person = self._last_person
        if person is not None:
            s = _PRONOUN_APPROVES.sub(f"the {person} ", s, count=1)
        return s

    def _imperative(self, text: str) -> bool:
        if self._items_heading is not None and text.strip().lower() == self._items_heading:
            return False
        return super()._imperative(text)

    def _for_each_subset(self, s: str) -> str:
        """ "For every damaged box, take a photo" after other steps -> "take a photo" ('it' is then the box);
        "For any product below its reorder point, reorder it" -> "If the product is below its reorder point, …"."""
        below = _FOR_ANY_BELOW.match(s.strip())
        if below is not None and self._imperative(below.group("rest")):
            words = below.group("noun").split()
            noun = " ".join(words[:-1] + [W.singular(words[-1].lower())])
            what = re.sub(r"^their\b", "its", below.group("what"), flags=re.I)
            return f"If the {noun} is {below.group('cmp')} {what}, {below.group('rest')}"
        m = _FOR_EACH.match(s.strip())
        if m is None or _find_cmp(m.group(1)) or not self._imperative(m.group(2)):
            return s
        items = subset_of_items(m.group(1))
        if items is None and not self.ctx.done_names:
            return s
        words = items or [w for w in _content(W.tokens(re.split(r"\b(?:in|on|from|of|at)\b", m.group(1))[0]))]
        words = [w for w in words if w not in W.PRONOUNS]
        if words:
            self.namer.set_topic(words)
        return m.group(2)

    @staticmethod
    def _is_items_heading(head: str) -> bool:
        first, noun = (w.lower() for w in head.split())
        plural = len(noun) > 3 and noun.endswith("s") and not noun.endswith("ss") and W.singular(noun) != noun
        participle = first.endswith(("ed", "en")) and W.lemma(first) not in (None, first)
        return plural and (first in _ADJ_VERBS or first in SUBSET_ADJ or participle)

    def _singular_they(self, s: str) -> str:
        """ "Send the client a quote. If they accept, …": 'they' is the client (the last person mentioned, no
        plural noun since); "if they are paid" (passive) and plural antecedents keep today's reading."""
        person = self._last_person

        def swap(m: re.Match) -> str:
            verb = m.group(2).lower()
            if verb in _NOT_ACTIVE or not (W.lemma(verb) or verb in ("don't", "didn't", "do", "did", "have", "had")):
                return m.group(0)
            return f"{m.group(1)} the {person} {_third_person(m.group(2))}"

        out = _COND_THEY.sub(swap, s) if person else s
        if out != s:  # "If they don't answer, email them": 'them' in the same sentence is that person too
            out = re.sub(r"\bthem\b", f"the {person}", out)
        else:
            out = _them_is_the_person(out)
        self._track_people(out)
        return out

    def _track_people(self, s: str) -> None:
        prev = ""
        for w in W.tokens(s):
            if w in W.PEOPLE and W.singular(w) == w and w not in _NOT_ONE_PERSON:
                self._last_person = w
            elif (
                len(w) > 3
                and w.endswith("s")
                and not w.endswith("ss")
                and W.singular(w) != w
                and (W.lemma(w) is None or prev in _DETERMINERS or prev.isdigit())
            ):
                self._last_person = None  # "send the client the documents. If they arrive": the documents
            prev = w

    def _state_wait(self, text: str) -> Act | None:
        """ "the ice has melted" (a "when" clause opening the text) -> a first step ``wait_ice_melted``."""
        found = state_change(text)
        if found is None:
            return None
        subject, state = found
        self.namer.set_topic(subject)
        self.ctx.prev_action = text
        return Act(text, _valid_name(W.snake(["wait", *subject, state])))
