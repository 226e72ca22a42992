"""Nested retries: "retry up to 3 times, and if it still fails, <fallback>" — also inside a branch.

The step that is retried keeps its name and gets a retry count (proposed as its binding's ``retry``);
the fallback becomes that step's ``@error`` path (taken once the retries are used up). A fallback that
ends the workflow (cancel, reject…) ends there; any other rejoins the flow after the step.
"""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.builder_base import BuilderBase
from engine.ai.offline_translator.model import Act, Cond, Decision, Par, Stop, Until, _terminal
from engine.ai.offline_translator.name_words import _content, _valid_name
from engine.ai.offline_translator.segmentation import _WORD_NUMBERS

_FAILS = (
    r"(?:fails?|failed|errors?|times?\s+out|is\s+declined|gets\s+declined|bounces?|"
    r"(?:does\s+not|doesn't)\s+(?:respond|work|succeed|go\s+through))"
)
_COUNT = (
    r"(?P<n>\d+|once|twice|one|two|three|four|five|six|seven|eight|nine|ten)"
    r"(?!\s+(?:days?|hours?|minutes?|mins?|seconds?|secs?|weeks?|months?|business)\b)"  # "retry 2 days later": a delay
)
# a wait: "an hour", "10 minutes", "half an hour"
_DURATION = (
    r"(?:half\s+an\s+hour|(?:an?|one|two|three|four|five|ten|fifteen|twenty|thirty|sixty|\d+)\s+"
    r"(?:seconds?|secs?|minutes?|mins?|hours?|hrs?))"
)
# "[if the charge fails,] [wait an hour and] retry [the upload] [every 5 minutes,] up to 3 times
# [, an hour apart] [if it fails]"
RETRY = re.compile(
    r"(?:^|(?<=[,;:—–])|\s)\s*(?:and\s+|then\s+|but\s+)?"
    rf"(?P<lead>(?:if|when|should)\s+(?P<subj>[^,;]{{1,40}}?)\s+{_FAILS}\s*,?\s*|"
    r"(?:on|upon|after\s+an?|in\s+case\s+of\s+an?)\s+(?:failure|error)\s*,?\s*)?"
    rf"(?:wait(?:ing)?\s+(?:for\s+)?(?P<wait>{_DURATION})\s*,?\s*(?:and\s+)?(?:then\s+)?)?"
    r"(?:retry(?:ing)?|re-?try(?:ing)?|try(?:ing)?\s+(?:it\s+|that\s+|this\s+)?again|re-?run(?:ning)?|"
    r"attempt(?:ing)?\s+(?:it\s+)?again)"
    r"(?:\s+(?P<obj>it|that|this|them|the\s+(?!next\b|following\b)[a-z]+(?:\s+[a-z]+)?))?"
    rf"(?:\s+every\s+(?P<every>{_DURATION})|\s+(?:after|in)\s+(?P<after>{_DURATION})|\s+(?P<later>{_DURATION})\s+later|"
    r"\s+(?P<nextday>(?:the\s+)?(?:next|following)\s+day|tomorrow|(?:the\s+)?next\s+morning))?"
    r"\s*,?\s+(?:up\s+to\s+|at\s+most\s+|a\s+maximum\s+of\s+|max(?:imum)?\s+|another\s+)?"
    rf"{_COUNT}(?:\s+more)?(?:\s+(?:more\s+)?(?:times?|attempts?|tries))?"
    rf"(?:\s*,?\s*(?:waiting\s+|with\s+|leaving\s+|allowing\s+)?(?P<gap>{_DURATION})\s+"
    r"(?:between\s+(?:attempts|tries|retries|them|each(?:\s+(?:attempt|try|retry))?)|apart|in\s+between))?"
    rf"(?:\s*,?\s*every\s+(?P<every2>{_DURATION}))?"
    rf"(?:\s+(?:if|when)\s+(?:it|that|this|they)\s+{_FAILS})?",
    re.I,
)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, "mo": 30 * 86_400}
MAX_APPROVAL_WAIT_S = 30 * 86_400.0  # the longest an approval waits for its answer (StateBinding.timeout_s)
MAX_RETRY_WAIT_S = 3600.0  # the longest wait between tries a binding's retry policy takes (RetryPolicy.backoff_s)


def duration_seconds(text: str | None) -> float | None:
    """ "an hour" / "10 minutes" / "half an hour" / "2 days" / "a month" -> 3600 / 600 / 1800 / 172800 /
    2592000 (a month is 30 days; None for None or what is no duration)."""
    if not text:
        return None
    words = text.lower().split()
    if words[:3] == ["half", "an", "hour"]:
        return 1800.0
    n = _WORD_NUMBERS.get(words[0]) or (int(words[0]) if words[0].isdigit() else None)
    unit = "mo" if words[-1].startswith("mon") else "m" if words[-1][:2] == "mi" else words[-1][0]
    if n is None or unit not in _UNIT_S:
        return None
    return float(n * _UNIT_S[unit])


# a wait as a step of its own ("wait 30 days", "pause for two hours") and a poll's interval
WAIT_DURATION = (
    r"(?:half\s+an\s+hour|(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|"
    r"forty|sixty|ninety|\d+)\s+(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?))"
)
POLL_EVERY = re.compile(rf"\bevery\s+({WAIT_DURATION}|(?:second|minute|hour|day|week|month)\b)", re.I)  # "every minute"
WAIT_STEP = re.compile(
    rf"^\s*(?:wait|pause|sleep|hold(?:\s+off)?)(?:\s+for)?\s+(?:another\s+)?({WAIT_DURATION})\s*\.?\s*$", re.I
)


# a poll's limit in its own sentence: "give up after 2 hours [and tell support]", "stop checking after 3 hours",
# "…, for up to an hour"
GIVE_UP = re.compile(
    r"(?:^|\s*[,;:—–]\s*|\s+)(?:(?:and|but)\s+)?(?:then\s+)?(?:give\s+up|giving\s+up|stop(?:\s+(?:checking|"
    rf"polling|trying|waiting|looking))?|time\s+out)\s+(?:after|at)\s+(?P<dur>{WAIT_DURATION})"
    r"(?:\s*,?\s*(?:and\s+)?(?:then\s+)?(?P<rest>[^.;]*?))?\s*[.;]?\s*$"
    rf"|(?:^|\s*,\s*|\s+)for\s+(?:up\s+to|at\s+most|a\s+maximum\s+of|no\s+more\s+than)\s+(?P<dur2>{WAIT_DURATION})"
    r"\s*[.;]?\s*$",
    re.I,
)
# the limit as the next sentence: "If it has not cleared after 2 hours, cancel the order", "If the file still
# hasn't arrived within 3 hours, alert the team"
NOT_YET = re.compile(
    r"^(?:and\s+|but\s+)?(?:if|when|should)\s+(?:it|that|this|they|the\s+\w+(?:\s+\w+)?)\s+(?:still\s+)?"
    r"(?:(?:has|have|is|are|does|do)(?:n't|\s+not)|(?:isn't|aren't|hasn't|haven't|doesn't|don't))(?:\s+(?:yet|still))?"
    rf"(?:\s+\w+){{0,3}}?\s+(?:after|within|in|by)\s+(?P<dur>{WAIT_DURATION})\s*,?\s*(?:then\s+)?(?P<rest>.+?)\s*\.?\s*$",
    re.I,
)


_POLL_VERB = r"(?:poll|check|re-?check|ping|query)"
# "Every 10 minutes, check whether the export has finished, until it has": the pace of a poll, not a schedule
_POLL_LEAD = re.compile(
    rf"(^|[.!?;]\s+|\n\s*)(every\s+(?:{WAIT_DURATION}|(?:second|minute|hour|day|week)\b))\s*,\s*"
    rf"({_POLL_VERB}\b[^.;\n]*?)\s*,?\s+(until\b)",
    re.I,
)


def poll_phrasing(text: str) -> str:
    """A poll said in other words, as the poll reading expects it: "Every 10 minutes, check X, until …" →
    "check X every 10 minutes until …", "keep checking" → "check", "…, until it has" → "… until it has"."""
    text = re.sub(rf"\bkeep(?:\s+on)?\s+({_POLL_VERB})(?:ing)\b", r"\1", text, flags=re.I)
    text = re.sub(r"\bkeep(?:\s+on)?\s+checking\b", "check", text, flags=re.I)
    text = _POLL_LEAD.sub(
        lambda m: f"{m.group(1)}{m.group(3)[0].upper()}{m.group(3)[1:]} {m.group(2).lower()} until", text
    )
    return re.sub(rf"(\b{_POLL_VERB}\b[^.;\n]*?\w)\s*,\s+(until\b)", r"\1 \2", text, flags=re.I)


def wait_step_seconds(text: str | None) -> float | None:
    """How long a step that only waits ("wait 30 days", "pause for two hours") waits (None for any other step)."""
    m = WAIT_STEP.match(text or "")
    return duration_seconds(m.group(1)) if m else None


# "if it still fails [after that]," / "if it keeps failing" / "should that fail again"
STILL_FAILS = re.compile(
    r"^(?:and\s+|but\s+)?(?:if|when|should|once)\s+(?:(?:all|every|each)\s+(?:of\s+)?(?:the\s+)?(?:retries|attempts|tries)\s+"
    r"(?:fail|failed|are\s+(?:exhausted|used\s+up)|run\s+out)|(?:the\s+)?(?:retries|attempts|tries)\s+(?:are\s+"
    r"(?:exhausted|used\s+up)|run\s+out|all\s+fail)|"
    r"(?:it|that|this|they|the\s+\w+(?:\s+\w+)?)\s+"
    r"(?:still\s+(?:fails?|errors?|times?\s+out|does(?:n't|\s+not)\s+\w+)|keeps?\s+failing|"
    r"continues?\s+to\s+fail|fails?\s+again|fails?\s+(?:too|as\s+well)|also\s+fails?|(?:is|are)\s+still\s+failing)"
    r"(?:\s+after\s+(?:that|those|these|all\s+\w+|\w+\s+\w+))?)\s*,?\s*(?P<rest>.*)$",
    re.I,
)
STILL_COND = re.compile(
    STILL_FAILS.pattern.replace(r"(?:if|when|should|once)\s+", r"(?:(?:if|when|should|once)\s+)?").replace(
        r"\s*,?\s*(?P<rest>.*)$", r"\s*$"
    ),
    re.I,
)
_NUMBERS = {"once": 1, "twice": 2, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_NUMBERS |= {"six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}


def retry_count(word: str) -> int:
    """ "3" / "three" / "twice" -> 3 / 3 / 2."""
    return int(word) if word.isdigit() else _NUMBERS.get(word.lower(), 1)


def _acts(seq: list, main_only: bool = False) -> list[Act]:
    """The actions of ``seq`` in reading order (into branches and parallel work unless ``main_only``)."""
    out: list[Act] = []
    for st in seq:
        st = st[1] if isinstance(st, tuple) else st
        if isinstance(st, Act):
            out.append(st)
        elif isinstance(st, Until):
            out.append(st.act)
        elif not main_only and isinstance(st, Decision):
            for b in st.branches:
                out.extend(_acts(b[1]))
        elif not main_only and isinstance(st, Par):
            for br in st.branches:
                out.extend(_acts(br))
    return out


class RetryReader(BuilderBase):
    """Reads "retry … N times" and its "if it still fails" fallback onto the step they are about."""

    def _retry_sentence(self, s: str, seq: list) -> tuple[bool, list | None]:
        """(handled, hook): split ``s`` around its retry phrases; the parts between them are read as usual.

        A sentence with several retry phrases ("load A, retry it twice, then load B, retry it 3 times, …")
        is read phrase by phrase in one pass: the rest after a phrase is only read as a whole sentence once
        no retry phrase is left in it, so the time grows with the sentence's length, not its square."""
        gave_up = self._give_up_sentence(s, seq)
        if gave_up[0]:
            return gave_up
        still = STILL_FAILS.match(s.strip())
        if still is not None and self.ctx.retry_target is not None:  # "If that fails too, use the cached rates."
            return True, self._set_fallback(still.group("rest"))
        m = RETRY.search(s)
        if m is None:
            return False, None
        hook = None
        while True:
            after, hook = self._one_retry(s, m, seq, hook)
            if not after.strip(" .;,"):
                return True, hook
            still = STILL_FAILS.match(after.strip())
            m = RETRY.search(after) if still is None or self.ctx.retry_target is None else None
            if m is None:
                return True, self.sentence(after, seq) or hook
            s = after

    def _one_retry(self, s: str, m: re.Match, seq: list, hook: list | None) -> tuple[str, list | None]:
        """Read the part of ``s`` before the retry phrase ``m``, set the retry (and the fallback that follows
        it) on its step; the rest of ``s`` to read and the hook so far."""
        before = s[: m.start()].strip(" ,;:—–-")
        after = s[m.end() :].strip()
        hook = (self.sentence(before, seq) if before else None) or hook
        about = m.group("subj") or m.group("obj") or ""
        target = self._retry_target(seq, about, same_sentence=bool(before))
        if target is None:
            self.ctx.notes.append(f"'{m.group(0).strip()}': no step before it to retry; left out")
        else:
            target.retries = retry_count(m.group("n"))
            wait_text = (
                m.group("wait") or m.group("gap") or m.group("every") or m.group("every2") or m.group("after")
            ) or m.group("later")
            if m.group("nextday"):
                wait_text = "a day"  # "retry the next day": a day between tries (capped below, with a note)
            target.retry_wait_s = duration_seconds(wait_text)
            if target.retry_wait_s and target.retry_wait_s > MAX_RETRY_WAIT_S:
                self.ctx.notes.append(
                    f"'{wait_text}' between retries is longer than a retry setting takes ({MAX_RETRY_WAIT_S:g} s): "
                    "the retries wait 1 hour; for longer waits add a wait step and a loop"
                )
                target.retry_wait_s = MAX_RETRY_WAIT_S
            self.ctx.retry_target = target
        after = re.sub(r"^[\s,;:—–-]+", "", after)
        still = STILL_FAILS.match(after)
        gerund = re.match(r"^before\s+(?:giving\s+up\s+(?:and\s+)?)?(\w+ing)\b(.*)$", after, re.I)
        if gerund is not None and W.lemma(gerund.group(1).lower()):  # "… 3 times before alerting the manager"
            after = f"if it still fails, {W.lemma(gerund.group(1).lower())}{gerund.group(2)}"
            still = STILL_FAILS.match(after)
        other = re.match(r"^(?:(?:and|but)\s+)?(?:otherwise|else|failing\s+that|if\s+not)\s*,?\s*(.+)$", after, re.I)
        if other is None and m.group("lead"):  # "On failure, retry twice and then roll back"
            other = re.match(r"^(?:and\s+)?then\s+(?!continue|carry\s+on|proceed)(.+)$", after, re.I)
        if still is None and other is not None:
            after = f"if it still fails, {other.group(1)}"
            still = STILL_FAILS.match(after)
        if still is not None and self.ctx.retry_target is not None:
            rest = still.group("rest")
            cut = re.search(r"\s*;\s*|\.\s+|,\s*(?=(?:then|otherwise|else|and then)\b)", rest)
            fallback, after = (rest[: cut.start()], rest[cut.end() :]) if cut else (rest, "")
            self._set_fallback(fallback)
        after = re.sub(r"^(?:and\s+)?then\s+", "", after.strip(" ,;"), flags=re.I)
        return after, hook

    def _give_up_sentence(self, s: str, seq: list) -> tuple[bool, list | None]:
        """(handled, hook): a poll's limit — "give up after 2 hours and tell support" in the poll's sentence,
        or "If it has not cleared after 2 hours, cancel the order" right after it — set on the poll (its wait
        gives up then; what follows is the wait's @error path)."""
        m = NOT_YET.match(s.strip())
        before = ""
        if m is None:
            m = GIVE_UP.search(s)
            if m is None:
                return False, None
            before = s[: m.start()].strip(" ,;:—–-")
        elif not seq or not isinstance(seq[-1][1] if isinstance(seq[-1], tuple) else seq[-1], Until):
            return False, None  # "if the manager has not answered within 2 days": not a poll's limit
        hook = self.sentence(before, seq) if before else None
        last = seq[-1][1] if seq and isinstance(seq[-1], tuple) else (seq[-1] if seq else None)
        if not before and m.re is GIVE_UP:  # "… until it is delivered, then email the customer. Give up after 2
            polls = [x for x in (y[1] if isinstance(y, tuple) else y for y in seq) if isinstance(x, Until)]
            last = next((u for u in reversed(polls) if POLL_EVERY.search(u.act.text)), last)  # hours …": the poll
        if not isinstance(last, Until) or not POLL_EVERY.search(last.act.text):
            if not before and m.re is not GIVE_UP:
                return False, None  # "if it has not …": some other condition
            self.ctx.notes.append(
                f"'{(m.group(0).strip(' ,;.'))[:80]}': a limit for a poll that says how often it checks ('every 30 "
                "minutes'); left out"
            )
            rest = (m.groupdict().get("rest") or "").strip(" ,;.")
            return True, (self.sentence(rest, seq) if rest else None) or hook
        last.give_up_s = duration_seconds(m.group("dur") or m.groupdict().get("dur2"))
        rest = (m.groupdict().get("rest") or "").strip(" ,;.")
        if rest:
            last.on_give_up = [x[1] if isinstance(x, tuple) else x for x in self.body(rest)]
        return True, hook

    def _set_fallback(self, text: str) -> list:
        """The steps of ``text`` become the @error path of the step being retried."""
        target = self.ctx.retry_target
        steps = [x[1] if isinstance(x, tuple) else x for x in (self.body(text) if text.strip() else [])]
        self.ctx.retry_target = None
        if target is None or not steps:
            return steps
        if target.on_error is None:
            target.on_error = steps
        else:
            target.on_error.extend(steps)
        return target.on_error

    def _still_fails(self, cond_text: str | None) -> bool:
        """ "if it still fails" right after a retry: the fallback of the retried step."""
        return bool(cond_text and self.ctx.retry_target is not None and STILL_COND.match(cond_text.strip()))

    def _retry_target(self, seq: list, about: str, same_sentence: bool) -> Act | None:
        """The step "retry" is about: the latest one named like ``about`` ("the charge" -> charge_card),
        else the latest step of this sentence, else the latest step of the main path."""
        acts = _acts(seq)
        words = [W.lemma(w) or w for w in _content(W.tokens(about)) if w not in W.PRONOUNS]
        for act in reversed(acts if words else []):
            text_words = {W.lemma(w) or w for w in W.tokens(act.text)} | set(act.name.split("_"))
            if words and any(w in text_words or any(t.startswith(w[:5]) for t in text_words) for w in words):
                return act
        if same_sentence and acts:
            return acts[-1]
        main = _acts(seq, main_only=True)
        return main[-1] if main else (acts[-1] if acts else None)


# A failure without a retry phrase: "Fetch the rates from the API; if that fails, use yesterday's file",
# "Download the catalogue; otherwise fall back to the cache", "Should the upload fail, e-mail the admin".
_FAILS_PLAIN = (
    r"(?:fail(?:s|ed)?|errors?(?:\s+out)?|throws\s+an?\s+error|times?\s+out|crash(?:es)?|breaks|bounces?|"
    r"(?:is|are|goes|go)\s+(?:down|unavailable|unreachable|offline|not\s+(?:available|reachable|responding))|"
    r"(?:can(?:no|')t|could\s?n[o']t|cannot)\s+be\s+(?:reached|loaded|downloaded|fetched|read|found|opened|sent|"
    r"uploaded|contacted|created|generated|delivered|processed|charged|printed|parsed|saved|stored|written|"
    r"booked|placed|completed|imported|exported|synced|published|posted|scheduled|reserved|shipped)|"
    r"(?:does\s+not|doesn't|did\s+not|didn't)\s+(?:respond|work|succeed|go\s+through|answer)|"
    r"(?:is|are)\s+(?:not\s+)?(?:missing|not\s+there))"
)
FAIL_COND = re.compile(
    rf"^(?:(?P<subj>[^,;]{{1,50}}?)\s+{_FAILS_PLAIN}(?:\s+(?:for\s+any\s+reason|again|too|as\s+well|for\s+some\s+reason))?"
    r"|(?:of\s+)?(?:an?\s+|any\s+)?(?:error|failure|outage|timeout)(?:\s+(?:with|in|of|on)\s+(?P<subj2>[^,;]{1,40}))?)$",
    re.I,
)
SUCCEEDS = re.compile(
    r"^(?:it|that|this|they|the\s+\w+(?:\s+\w+)?)\s+(?:succeeds?|works?|goes\s+through|is\s+successful|passes|"
    r"(?:does\s+not|doesn't)\s+fail)$",
    re.I,
)
# "on failure, X" / "in case of an error, X" -> "if it fails, X" (at the start of a sentence or a clause)
ON_FAILURE = re.compile(r"(^|[;,]\s*)(?:on|upon)\s+(?:an?\s+)?(?:failure|error)\s*,\s*", re.I)
# "fall back to the cache" / "falling back on yesterday's file" -> "use the cache"
_FALL_BACK = re.compile(r"^(?:and\s+)?(?:fall(?:ing)?|go(?:ing)?)\s+back\s+(?:to|on|onto)\s+", re.I)
# steps whose outcome is a verdict: "if the check fails" after them is a decision, not an error
_VERDICT_VERBS = {
    "check", "validate", "verify", "test", "screen", "review", "inspect", "audit", "compare", "evaluate", "assess",
    "score", "approve", "confirm", "scan", "lint", "judge", "classify", "match", "reconcile", "grade",
}  # fmt: skip
# technical subjects that name the call a step makes ("the API", "the request") rather than a new fact
_CALL_WORDS = {
    "api", "service", "server", "system", "call", "request", "connection", "endpoint", "database", "db", "source",
    "site", "website", "portal", "job", "step", "operation", "attempt", "transfer", "sync", "feed", "gateway",
    "provider", "vendor", "supplier", "network", "host", "ftp", "sftp", "bucket", "link", "query", "script",
}  # fmt: skip


# a fallback that stands in for what failed: another source of the same thing
_SUBSTITUTE = re.compile(
    r"^(?:use|take|read|load|fetch|pull|get|download|restore|query|switch\s+to|try)\s+(?:it\s+)?(?:from\s+)?"
    r"(?:the\s+|a\s+|an\s+|our\s+|their\s+|its\s+)?(?:\w+'s\s+|last\s+\w+'s\s+)?"
    r"(?:cached|cache|backup|back-up|fallback|previous|yesterday|yesterday's|last|old|older|local|default|spare|"
    r"secondary|mirror|standby|stored|saved|archived|offline|manual)\b",
    re.I,
)
_THEN_AFTER_FALLBACK = re.compile(r"\s*,\s*(?:and\s+)?then\b[\s,]*|\s+and\s+then\b[\s,]*", re.I)


def is_stand_in(text: str) -> bool:
    """ "use yesterday's file" / "fall back to the cache": a fallback that stands in for what failed."""
    return _SUBSTITUTE.match(fallback_text(text)) is not None


def fallback_text(text: str) -> str:
    """ "falling back to yesterday's file" -> "use yesterday's file"; other text unchanged."""
    t = text.strip()
    t = re.sub(r"^(?:then\s+|and\s+)?(?:instead\s*,?\s*)", "", t, flags=re.I)
    return _FALL_BACK.sub("use ", t)


def _verb_is(noun: str, verb: str) -> bool:
    """ "import"/"import", "migration"/"migrate", "upload"/"upload": the noun names doing the verb."""
    if verb in _VERDICT_VERBS or len(verb) < 4:
        return False
    return noun == verb or (noun.startswith(verb[:-1]) and noun.endswith(("ion", "ment", "ing")))


def named_by_verb(m: re.Match, act: Act) -> bool:
    """True when the failing noun of ``m`` (a FAIL_COND match) is ``act``'s verb."""
    words = [w for w in _content(W.tokens(m.group("subj") or "")) if w not in W.PRONOUNS]
    return len(words) == 1 and _verb_is(words[0], act.name.split("_")[0])


_ASKS_APPROVAL = re.compile(
    r"\b(?:for\s+(?:(?:his|her|their|an?)\s+)?(?:approval|sign[- ]?off|consent)|to\s+approve)\b", re.I
)
_ANSWER_VERBS = (
    r"(?:answer(?:s|ed)?|respond(?:s|ed)?|repl(?:y|ies|ied)|approve[sd]?|decide[sd]?|react(?:s|ed)?|"
    r"sign(?:s|ed)?\s+off|gets?\s+back|got\s+back)"
)
_NUMBER = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fourteen|twenty|thirty|forty|fifty|sixty|ninety)"
# "if there is no answer within 2 days" / "if nobody responds in 48 hours" / "if she hasn't approved it after a week"
NO_ANSWER = re.compile(
    r"^(?:there\s+(?:is|was|'s)\s+(?:still\s+)?no\s+(?:answer|response|reply|decision|approval|sign[- ]?off|reaction)"
    r"(?:\s+(?:from\s+(?:him|her|them|the\s+\w+)|yet))?"
    r"|no\s+(?:answer|response|reply|decision|approval|sign[- ]?off|reaction)\s*(?:comes?\s*(?:back|in)?|arrives?|"
    r"(?:is|has\s+been)\s+(?:given|received|made))?"
    r"|(?:nobody|no\s+one|no-one)\s+(?:has\s+)?"
    + _ANSWER_VERBS
    + r"|(?:he|she|they|it|the\s+\w+(?:\s+\w+)?)\s+(?:does(?:n't|\s+not)|do(?:n't|\s+not)|did(?:n't|\s+not)|"
    r"has(?:n't|\s+not)|have(?:n't|\s+not)|fails?\s+to|never)\s+"
    + _ANSWER_VERBS
    + r"|(?:it|that|this|the\s+\w+(?:\s+\w+)?)\s+(?:is|was|has)(?:n't|\s+not)\s+(?:been\s+)?(?:approved|answered|signed\s+off)"
    r"|not\s+(?:approved|answered|signed\s+off))"
    r"(?:\s+(?:to|on)?\s*(?:it|that|this|them|us|me|you|the\s+\w+))?\s*,?\s*(?:within|in|after|for|by)\s+(?:the\s+next\s+)?"
    r"(?P<dur>" + _NUMBER + r"\s+(?:business\s+|working\s+)?(?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?))\s*$",
    re.I,
)


# a step that contacts someone whose reply may then be waited for: "Email the customer …", "Ask the supplier …"
_CONTACTS = re.compile(
    r"^(?:e-?mail|mail|send|ask|message|text|sms|call|phone|ring|contact|write\s+to|notify|remind|ping|invite|"
    r"chase|follow\s+up\s+with|reach\s+out\s+to|request)\b",
    re.I,
)


def _contacted_person(text: str, subject: str) -> str | None:
    """Who a contact step reached: the no-answer clause's own noun ("if the supplier doesn't reply"),
    else the first person the step names ("Email the customer asking for confirmation")."""
    for words in (W.tokens(subject), W.tokens(text)):
        person = next((w for w in words if w in W.PEOPLE or w in W.GROUPS_OF_PEOPLE), None)
        if person is not None:
            return W.singular(person) if person not in W.GROUPS_OF_PEOPLE else person
    return None


def _reply_verb(cond_text: str) -> str:
    """The verb a no-answer clause uses, for the question asked: "answer", "respond", else "reply"."""
    said = re.search(r"\b(answer|respond|react)", cond_text, re.I)
    return said.group(1).lower() if said else "reply"


class FallbackReader(BuilderBase):
    """A step's fallback without a retry: its ``@error`` path, after which the flow goes on."""

    def _unanswered_approval(self, cond_text: str, seq: list) -> Act | None:
        """ "If there is no answer within 2 days, escalate to the director" after an approval: the
        approval waits that long (its ``timeout_s``) and the steps become its ``@error`` path (the
        engine fails an unanswered approval with ``ApprovalTimeout``). Right after a step that contacts a
        person, a step waiting for their reply is that approval (:meth:`_reply_wait`). ``None`` without
        either before it or a time limit it can read."""
        m = NO_ANSWER.match(cond_text.strip().strip(",.;:"))
        if m is None:
            return None
        acts = [st for st in reversed(seq) if isinstance(st, Act)]
        approval = next((st for st in acts if st.who is not None), None)
        if approval is None and acts and _ASKS_APPROVAL.search(acts[0].text):
            # "Send the contract to the client for approval": the step that asks is the approval
            approval = acts[0]
            who = re.search(r"\b(?:to|from|by)\s+(?:the\s+|our\s+|your\s+)?([a-z]+)", approval.text, re.I)
            approval.who = who.group(1).lower() if who else "a person"
            self.ctx.approval_seen = True  # "If approved, …" now reads its answer
        seconds = duration_seconds(re.sub(r"\b(?:business|working)\s+", "", m.group("dur")))
        if approval is None and seconds:
            approval = self._reply_wait(cond_text, seq)
        if approval is not None and approval.on_error and seconds:
            return self._wait_again(approval, seconds)
        if approval is None or approval.on_error or not seconds:
            return None
        approval.answer_within_s = min(seconds, MAX_APPROVAL_WAIT_S)
        if seconds > MAX_APPROVAL_WAIT_S:
            self.ctx.notes.append(f"'{m.group('dur')}' is longer than an approval can wait (30 days): it waits 30 days")
        return approval

    @staticmethod
    def _wait_again(approval: Act, seconds: float) -> Act | None:
        """ "If they don't respond within 3 days, send a reminder; if there is still no answer after 5
        days, escalate": after the reminder (the approval's @error path) the run waits for the answer
        again, until 5 days from the request; that wait is the approval whose @error path the caller
        fills. ``None`` when the first no-answer path ends the run or has a wait already."""
        path = approval.on_error or []
        ended = bool(path) and isinstance(path[-1], Stop)  # the no-answer path ended: nothing read an answer
        if _terminal(path[:-1] if ended else path) or any(isinstance(st, Act) and st.who is not None for st in path):
            return None
        if ended:
            path.pop()  # the run now waits for the answer again after the reminder
        first = approval.answer_within_s or 0.0
        left = seconds - first if seconds > first else seconds  # "after 5 days": from the request
        again = Act(
            f"Did the {approval.who} answer '{approval.text.strip().rstrip('.')[:150]}' after the reminder?",
            _valid_name(f"wait_{approval.name.removeprefix('approve_').removeprefix('get_')}_answer"),
            who=approval.who,
            awaits_reply=True,
        )
        again.answer_within_s = min(left, MAX_APPROVAL_WAIT_S)
        path.append(again)
        return again

    def _reply_wait(self, cond_text: str, seq: list) -> Act | None:
        """ "Email the customer asking for confirmation. If they don't reply within 2 days, call them": right
        after a step that contacts a person, a step that waits for their reply (an approval someone answers
        when the reply comes), appended to ``seq``; ``None`` when the step before contacts nobody."""
        if not seq or not isinstance(seq[-1], Act) or not _CONTACTS.match(seq[-1].text.strip()):
            return None
        contact = seq[-1].text.strip().rstrip(".")
        person = _contacted_person(contact, cond_text.split(" within ")[0])
        if person is None:
            return None
        wait = Act(
            f"Did the {person} {_reply_verb(cond_text)} after '{contact[:150]}'?",
            W.snake(["wait", *person.split(), "reply"]),
            who="a person",
            awaits_reply=True,
        )
        self._append(seq, wait)
        return wait

    def _failed_step(self, cond_text: str, seq: list) -> Act | None:
        """The step just before a "if that fails" / "should the upload fail" condition, when it is about it, or
        an earlier step the failing noun names by its verb ("Export the ledger, then archive the batch. If the
        export fails, …": export_ledger)."""
        m = FAIL_COND.match(cond_text.strip().strip(",.;:"))
        named = self._step_named_by(m.group("subj") or "", seq[:-1]) if m is not None and seq else None
        if named is not None and not (isinstance(seq[-1], Act) and named_by_verb(m, seq[-1])):
            return named
        if not seq or not isinstance(seq[-1], Act) or seq[-1].who is not None or seq[-1].on_error:
            return None
        act = seq[-1]
        if m is None:
            return None
        verb = act.name.split("_")[0]
        if verb in _VERDICT_VERBS or act.terminal:
            return None  # "Validate the file. If validation fails, …": a verdict, read as a decision
        subj = m.group("subj") or m.group("subj2") or ""
        if re.match(r"^(?:any|every|all|each|either|both|one|some|none|anything|something)\b", subj, re.I):
            return None  # "if any step fails": every step's @error path (a handler), or a join's outcome
        words = [W.lemma(w) or w for w in _content(W.tokens(subj))]
        if not words or all(w in W.PRONOUNS or w in ("that", "this", "it", "they", "them") for w in words):
            return act
        parts = act.name.split("_")
        act_words = {W.lemma(w) or w for w in W.tokens(act.text)} | set(parts)
        act_words |= {a + b for a, b in zip(parts, parts[1:])}  # "back up" -> "the backup", "roll out" -> rollout
        if any(w in act_words or any(t.startswith(w[:5]) for t in act_words if len(w) >= 4) for w in words):
            return act
        if any(w in _CALL_WORDS for w in words):
            return act
        return None

    @staticmethod
    def _step_named_by(subject: str, earlier: list) -> Act | None:
        """The last earlier step whose verb the failing noun is ("the import" -> import_data), if any."""
        words = [w for w in _content(W.tokens(subject)) if w not in W.PRONOUNS]
        if len(words) != 1:
            return None
        for st in reversed(earlier):
            if isinstance(st, Act) and st.who is None and not st.on_error and not st.terminal:
                if _verb_is(words[0], st.name.split("_")[0]):
                    return st
        return None

    def _fallback_of(self, act: Act, text: str, cond_text: str = "", seq: list | None = None) -> list | None:
        """The steps of ``text`` become ``act``'s @error path (the flow goes on after ``act``).

        With ``seq`` (``act`` being its last step), a fallback that stands in for what failed ("use
        yesterday's file", "fall back to the cache") ends at a sequence word: "…, then compute the prices"
        happens after ``act`` either way and is appended to ``seq`` (the hook is then ``None``)."""
        rest = ""
        then = _THEN_AFTER_FALLBACK.search(text) if seq is not None and seq and seq[-1] is act else None
        if then is not None and is_stand_in(text[: then.start()]):
            text, rest = text[: then.start()], text[then.end() :]
        steps = [x[1] if isinstance(x, tuple) else x for x in (self.body(fallback_text(text)) if text.strip() else [])]
        if steps:
            act.on_error = steps
            self.ctx.fallback_of = (act, cond_text)
        if not rest.strip(" .;,") or _terminal(steps) or seq is None:
            return steps
        for st in self.body(rest):
            self._append(seq, st)
        return None  # nothing dangles: the flow went on

    def _fallback_to_decision(self, seq: list, kind: str, cond_text: str | None) -> Decision | None:
        """ "If the charge fails, cancel the order; otherwise ship it": a success path next to the fallback
        makes the two a decision on the step's outcome (the fallback is then a branch, not an @error path)."""
        held = self.ctx.fallback_of
        if held is None or not seq or seq[-1] is not held[0] or not held[0].on_error:
            return None
        if kind != "else" and not (kind in ("if", "postfix") and cond_text and SUCCEEDS.match(cond_text.strip())):
            return None
        act, fail_text = held
        said = FAIL_COND.match((fail_text or "").strip().strip(",.;:"))
        if said is not None and (said.group("subj") or "").strip().lower() in ("it", "that", "this", "they"):
            fail_text = ""  # "Should it fail": the step's own outcome, not the last words read (whoever_success)
        steps, act.on_error = act.on_error, None
        self.ctx.fallback_of = None
        cond = self.conds.parse(fail_text or f"the {act.name.split('_')[-1]} fails", [])
        if cond.kind != "bool":
            var = re.sub(r"[^a-z0-9_]", "", "_".join(act.name.split("_")[:2])) + "_ok"
            cond = Cond("bool", f"{var}==False", var, False, ())
        dec = Decision([[cond, steps, _terminal(steps)]], attach_hint=tuple(cond.subject))
        self._append(seq, dec)
        return dec
