"""The vocabulary of step naming: filler and preposition words, verb classes (judge, label, entity,
aggregate, topic, intransitive verbs...), and the word helpers (``_content``, ``_valid_name``, ``_valid_var``,
plural and pronoun tests, unknown-verb tests) that naming, conditions and clauses share."""

from __future__ import annotations

import re

from engine.ai import _words as W

_FILLER = re.compile(
    r"^(?:we|you|i|please|then|just|also|and|so|now|should|must|will|can|let's|lets|"
    r"go ahead and|make sure to|make sure we|be sure to|try to|need to|needs to|have to|has to|"
    r"want to|the system (?:should|will|must)?|system|it should|simply|first|finally|next|"
    r"automatically|immediately|manually|we'll|we will|you'll|to|basically|actually|ideally|essentially|really)\s+",
    re.I,
)


_EVERY = re.compile(
    r"\b(?:every|each|once an?|once per|per)\s+(?:\d+\s+)?(?:second|minute|hour|day|week|month|"
    r"morning|night|evening)s?\b|(?<!the )(?<!a )(?<!our )(?<!your )(?<!their )"
    r"\b(?:daily|hourly|weekly|nightly)\b(?!\s+\w+\s+(?:file|report))",
    re.I,
)


_TRAILING = re.compile(
    r"[\s,]+(?:at the end|in the end|at last|again|as well|too|afterwards|afterward|right away|"
    r"asap|as soon as possible|at once|immediately|first|then|now|later|once|only|instead|anyway|anyhow|"
    r"if needed|if necessary|if required|where needed|as needed|manually|automatically|"
    r"without (?:any )?(?:approval|review|sign-?off|waiting))\s*$",
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


_OBJECT_AI_WORDS = {"model", "ml"}


_JUDGE_VERBS = {
    "judge",
    "assess",
    "determine",
    "detect",
    "estimate",
    "evaluate",
    "identify",
    "analyse",
    "analyze",
    "rate",
    "check",
    "gauge",
    "infer",
    "guess",
    "predict",
    "work",
}


_LABEL_VERBS = {
    "label",
    "tag",
    "score",
    "rate",
    "grade",
    "classify",
    "categorize",
    "categorise",
    "judge",
    "screen",
    "triage",
}  # "deploy the best model": an object, not the LLM doing the work
# what a label verb's step outputs, read by the decision after it: "Classify the ticket. Urgent tickets go
# to …" -> category=='urgent' (was classify=='urgent')
_LABEL_OUTPUT = {
    "classify": "category",
    "categorize": "category",
    "categorise": "category",
    "rate": "rating",
    "screen": "rating",  # "screen the CV with the LLM. Strong candidates get …": rating=='strong'
    "triage": "priority",
}


_AUX = {"is", "are", "was", "were", "be", "been", "being", "gets", "get", "got"}


def _content(words: list[str]) -> list[str]:
    return [w for w in words if not W.is_noise(w)]


# verbs whose object is a person: 'them' after one of these is the last people mentioned, not a thing
_PERSON_OBJECT_VERBS = {
    "thank",
    "pay",
    "remind",
    "invite",
    "welcome",
    "contact",
    "interview",
    "congratulate",
    "reward",
    "greet",
    "notify",
    "inform",
    "call",
    "phone",
    "reimburse",
    "compensate",
    "onboard",
    "hire",
    "brief",
    "survey",
    "reassure",
    "apologise",
    "apologize",
    "chase",
    "nudge",
    "ping",
    "text",
    "alert",
}


# things one pays ('collect the invoices from the vendors and pay them' pays the invoices)
_PAYABLE = frozenset("invoices bills fees salaries claims expenses wages debts dues taxes payments".split())


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


# "mark it as spam", "tag the claim as incomplete", "flag the file as quarantined"
_TAG_AS = re.compile(
    r"^\s*(mark|marks|tag|tags|flag|flags|label|labels)\s+(.{1,40}?)\s+as\s+(?:an?\s+|the\s+)?([\w -]{1,30}?)\s*$",
    re.I,
)


# verbs that, alone right after parallel work, act on all the branches' results ("then merge")
_AGGREGATE_VERBS = {
    "merge",
    "combine",
    "report",
    "summarise",
    "summarize",
    "compare",
    "consolidate",
    "aggregate",
    "reconcile",
    "collate",
    "compile",
    "join",
    "rank",
    "analyse",
    "analyze",
    "review",
    "total",
    "tally",
}


# words that are nouns elsewhere but verbs at a clause start after a fan-in ("then sum them")
_SUM_WORDS = {"sum", "average", "total", "tally", "count", "add", "net", "max", "concatenate", "stack", "union"}


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


# time adverbs after a pronoun object ("send it tomorrow"): when the step runs, not its object
_WHEN_WORDS = frozenset(
    "today tonight tomorrow overnight later now immediately again first afterwards soon asap weekly daily monthly "
    "nightly hourly yearly quarterly instead too".split()
)


_VERB_PARTICLES = frozenset("back up out off over down away".split())


_DAY_PARTS = frozenset("morning afternoon evening night".split())


_NP_START = frozenset("the a an their its his her our your all each every any these those this that".split())


_NOT_A_VERB_FIRST = frozenset(
    "then next first second third last finally later afterwards meanwhile otherwise now here today tonight "
    "tomorrow yesterday also only just once after before until unless since when whenever while where if "
    "both either neither not never always sometimes usually often please across regardless nevertheless less "
    "being doing".split()
)


def _inflected(word: str) -> bool:
    """An inflected or adverb ending ("reviewed", "pending", "weekly", "towards", "stores"); not the base verbs
    that merely look like one ("pass", "bring")."""
    if word.endswith("ss") or (word.endswith("ing") and len(word) <= 5):
        return False
    return word.endswith(("ed", "ing", "ly", "wards", "s"))


def _unknown_verb_first(toks: list[str]) -> bool:
    """A clause starting with a word the verb list does not know, straight followed by a determiner or
    possessive ("revalue the positions", "reconfirm their slots"): that word is the clause's verb."""
    pronoun_object = (
        len(toks) >= 2
        and toks[1] in ("it", "them")
        and (len(toks) == 2 or toks[2] in _PREPS or toks[2] in _WHEN_WORDS or toks[2] in _VERB_PARTICLES)
    )
    if not pronoun_object and (len(toks) < 3 or toks[1] not in _NP_START):
        return False  # "boost it", "thank them" (a pronoun object) or "revalue the positions"
    first = toks[0]
    if first in _SUM_WORDS and first in W.QUANTITY:
        return True  # "count them by category", "total the amounts": a quantity noun used as the verb
    return (
        first.isalpha()
        and len(first) >= 3
        and first not in _NOT_A_VERB_FIRST
        and not W.is_noise(first)
        and first not in W.QUANTITY
        and W.lemma(first) is None
        and not _inflected(first)
        and (pronoun_object or _content(toks[2:]) != [])
    )


_HANDOFF_PARTICLES = frozenset("on over back along out up off down".split())


def _unknown_phrasal_first(toks: list[str]) -> bool:
    """An unknown verb with its particle, then a noun phrase handed on to someone ("pass on the request
    to legal", "bounce back the form to the requester"): the first word is the verb, the second its
    particle. Only with a later "to", so a noun followed by "on the …" stays a noun."""
    return (
        len(toks) >= 5
        and toks[1] in _HANDOFF_PARTICLES
        and toks[2] in _NP_START
        and "to" in toks[4:]
        and _unknown_verb_first([toks[0], *toks[2:]])
    )


def _unknown_declarative_verb(toks: list[str]) -> tuple[int, str] | None:
    """(index, base form) of an unknown third-person verb after a short subject and before a determiner
    ("IT wipes the laptop", "procurement closes the PO" when 'wipe' is not in the verb list), else None."""
    for i in range(1, min(len(toks) - 1, 4)):
        w = toks[i]
        if not (w.endswith("s") and not w.endswith("ss") and w.isalpha() and len(w) >= 4):
            continue
        if toks[i + 1] not in _NP_START or W.lemma(w) is not None or W.is_noise(w) or w in W.QUANTITY:
            return None
        if any(W.is_noise(t) and t not in ("it", "the") for t in toks[:i]) or W.is_base_verb(toks[0]):
            return None
        base = w[:-2] if w.endswith(("shes", "ches", "xes", "sses", "zes")) else w[:-1]
        return i, base
    return None


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


def _is_plural(word: str) -> bool:
    """ "orders", "statuses", "people", "children": a plural noun ("news", "status", "analysis" are not)."""
    if word in W.IRREGULAR_PLURALS:
        return True
    if word in W.SAME_IN_THE_SINGULAR:
        return False
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
