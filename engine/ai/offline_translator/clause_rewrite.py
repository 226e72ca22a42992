"""Rewriting a sentence into the plain form the clause reader expects (``_rewrite``)."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.approvals_llm import APPROVAL_ADJ
from engine.ai.offline_translator.clause_kinds import ClauseKinds
from engine.ai.offline_translator.name_words import _content
from engine.ai.offline_translator.retries import RETRY, retry_count
from engine.ai.offline_translator.segmentation import (
    _COND_LEAD,
    _ELSE_LEAD,
)

# "tickets tagged billing go to the finance team", "orders marked as fragile are sent to packing"
_TAGGED_GO = re.compile(
    r"^(?:the\s+|all\s+|any\s+)?(?P<noun>[a-z]{3,}s)\s+(?:that\s+are\s+)?(?P<tag>tagged|labell?ed|marked|flagged)\s+"
    r"(?:as\s+|with\s+)?(?:an?\s+|the\s+)?(?P<value>[\w-]{2,30}(?:\s+[\w-]{2,30})?)\s+"
    r"(?P<verb>go|goes|(?:are|get)\s+(?:\w+ed|sent|given|taken)|should\s+go|must\s+go)\s+(?P<where>(?:to|into|in)\s+[^,;]+)",
    re.I,
)


def _tagged_go_as_condition(m: re.Match) -> str:
    """ "tickets tagged billing go to X" -> "if the ticket is tagged as billing, route the ticket to X"."""
    noun = W.singular(m.group("noun").lower())
    verb_words = m.group("verb").lower().split()
    verb = "route" if verb_words[-1] in ("go", "goes") else (W.lemma(verb_words[-1]) or "route")
    value = re.sub(r"\s+(?:tag|label|flag)s?$", "", m.group("value"))
    return f"if the {noun} is {m.group('tag').lower()} as {value}, {verb} the {noun} {m.group('where')}"


_TIME_LIMIT = re.compile(
    r"(?:^|\s+)(within\s+(?:\d+|an?|the|one|two|three|four|five|six|seven|ten|24|48)\s+(?:business\s+|working\s+)?"
    r"(?:minute|hour|day|week|month)s?)(?:\s*,\s*|(?=\s+(?:unless|if|and|then|with|by|via|using|through)\b|\s*[;.]?\s*$))",
    re.I,
)


# "ship it in parallel with sending a receipt", "… while emailing the customer": the gerund's step runs
# "… needs the CFO's approval before payment": what happens to the item next, named by its noun
_NEEDS_APPROVAL = re.compile(
    r"^\s*\S.*\b(?:needs?|requires?|must\s+(?:get|have))\b.*\b(?:approval|sign-?off|ok|okay|go-ahead|consent)\b",
    re.I,
)
_BEFORE_EVENT = {
    "payment": "pay",
    "payout": "pay",
    "shipment": "ship",
    "delivery": "deliver",
    "release": "release",
    "publication": "publish",
    "dispatch": "dispatch",
    "submission": "submit",
    "deployment": "deploy",
    "signature": "sign",
    "signing": "sign",
    "launch": "launch",
    "transfer": "transfer",
}

# beside the step before it
_BESIDE_GERUND = re.compile(
    r"\s*,?\s+(?:in\s+parallel\s+(?:with|to)|at\s+the\s+same\s+time\s+as|(?:concurrently|simultaneously)\s+with|"
    r"alongside|while|whilst)\s+(?P<ger>[a-z]+ing)\b(?P<obj>[^,;:()]*)",
    re.I,
)
# "ship the order and, at the same time, send a receipt": the step after the words runs beside the one before
_AND_MEANWHILE = re.compile(
    r"\s*,?\s+and\s*,?\s+(?:at\s+the\s+same\s+time|simultaneously|concurrently|in\s+parallel|meanwhile)\s*,?\s+"
    r"(?P<rest>[^,;:()]+)",
    re.I,
)
_SEQUENCE_CUT = re.compile(r"\s*(?:,\s*(?:and\s+)?then|\band\s+then|\bthen|,|;|:)\s+", re.I)


# "try to charge the card up to 3 times", "attempt to reach the API five times": the step, then retries
_TRY_N_TIMES = re.compile(
    r"\b(?:try|attempt)(?P<to>\s+to)?\s+(?P<what>[a-z][^,;:()]*?)\s+(?:up\s+to\s+|at\s+most\s+|a\s+maximum\s+of\s+|"
    r"max(?:imum)?\s+)?(?P<n>\d+|twice|two|three|four|five|six|seven|eight|nine|ten)\s+times\b",
    re.I,
)


_WHEN_DONE_TAIL = re.compile(
    r"\s*,?\s+(?:when|once|after|as\s+soon\s+as)\s+(?:it|that|this|everything|all(?:\s+of\s+(?:it|this|that))?|both|"
    r"they|these|those)(?:'s|'re|\s+is|\s+are|\s+was|\s+were|\s+has\s+been|\s+have\s+been)?\s+"
    r"(?:(?:all|both)\s+)?(?:done|finished|complete|completed|over)\s*$",
    re.I,
)


def _tries_as_retries(m: re.Match) -> str:
    """ "try to charge the card up to 3 times" -> "charge the card, retrying up to 2 times": N tries are the
    first one and N - 1 retries (left as written when what is tried is not a step)."""
    words = m.group("what").split()
    first = words[0].lower()
    verb = W.lemma(first) or (first if W.is_base_verb(first) else None)
    if verb is None and m.group("to") and first.isalpha() and first not in W.PRONOUNS:
        verb = first  # "try to reach the API": after "to" comes a verb, known or not
    elif verb is None and first.endswith("ing") and len(first) > 5:
        verb = first[:-3]  # "try reaching the API": a verb the word lists do not conjugate
    if first == "again" or verb is None:
        return m.group(0)
    step = " ".join([verb] + words[1:])
    tries = retry_count(m.group("n"))
    return step if tries <= 1 else f"{step}, retrying up to {tries - 1} times"


# "Billing tickets go to the finance queue, technical ones to engineering": the second route's verb is left out
_ROUTE_VERB = re.compile(
    r"\b(?P<verb>go|goes|are\s+(?:sent|routed|forwarded|assigned|passed|escalated)|"
    r"get\s+(?:sent|routed|forwarded|assigned|passed|escalated))\s+to\s+[^,;]+?"
    r"(?P<sep>\s*[,;]\s*(?:and\s+|while\s+)?|\s+(?:and|while)\s+)"
    r"(?P<subj>everything\s+else|anything\s+else|all\s+others|the\s+rest|others|"
    r"(?:the\s+)?(?:[a-z][\w-]*\s+)?(?:ones|[a-z]+s))\s+to\s+",
    re.I,
)


def _ungapped_routes(s: str) -> str:
    """ "A tickets go to X, B ones to Y" -> "A tickets go to X, B ones go to Y" (each route a clause of its own)."""
    for _ in range(8):  # "…, B ones to Y, C ones to Z": one at a time
        m = _ROUTE_VERB.search(s)
        if m is None:
            return s
        verb = m.group("verb")
        if re.match(r"(?:everything|anything)\b", m.group("subj"), re.I):
            verb = {"go": "goes", "are": "is"}.get(verb.split()[0].lower(), verb.split()[0]) + verb[
                len(verb.split()[0]) :
            ]
        elif verb.lower() == "goes":
            verb = "go"
        sep = m.group("sep") if "," in m.group("sep") or ";" in m.group("sep") else ", "  # "… and B ones to Y"
        s = s[: m.start("sep")] + sep + m.group("subj") + f" {verb}" + s[m.end("subj") :]
    return s


# "store the rates and notify the team if the rate moved more than 2%": the condition is the alert's
_ALERT_IF = re.compile(
    r"(?P<sep>,\s*and\s+|,\s*|\s+and\s+)(?P<last>(?:also\s+)?(?:alert|notify|email|e-mail|page|ping|warn|"
    r"message|text|sms|inform|tell|escalate\s+to|flag\s+it\s+to)\b[^,;]*?)\s+(?P<kw>if|unless)\s+"
    r"(?P<cond>[^,;]+?)\s*(?P<end>[.!]?)\s*$",
    re.I,
)


class SentenceRewrite(ClauseKinds):
    """The part of :class:`ClauseReader` that rewrites a sentence before it is split into clauses."""

    def _alert_if(self, s: str) -> str:
        """ "Save the file and email the manager if it is larger than 10 MB" -> "Save the file, then if it is
        larger than 10 MB, email the manager": a trailing condition on an alert is the alert's alone; the
        steps before it are done either way (they were all under the condition)."""
        m = _ALERT_IF.search(s)
        if m is None:
            return s
        before = s[: m.start()]
        if (
            not before.strip()
            or re.search(r"\b(?:if|unless|when|whenever|once|otherwise|else)\b", before, re.I)
            or not self._imperative(re.split(r",\s*|\s+and\s+", before)[-1])
            or len(re.split(r",\s*|\s+and\s+", before)[-1].split()) < 2  # "approve and notify …": one step
        ):
            return s
        return f"{before}, then {m.group('kw')} {m.group('cond')}, {m.group('last')}{m.group('end')}"

    def _rewrite(self, s: str) -> str:
        """Normalise phrasings the clause parser reads better in another form."""
        s = _ungapped_routes(s)
        s = self._alert_if(s)
        # "Onboarding: order the laptop …", "Month-end close: reconcile …": a title, not part of the first step
        m = re.match(r"^([A-Za-z][\w' -]{1,40}):\s+(.+)$", s)
        if (
            m
            and not _COND_LEAD.match(s)
            and not _ELSE_LEAD.match(s)
            and len(m.group(1).split()) <= 4
            and (not self._condlike(m.group(1)) or self._title_noun_phrase(m.group(1)))
            and not self._imperative(m.group(1))
            and (
                self._imperative(m.group(2))
                or self._declarative_steps(m.group(2))
                or (_TAGGED_GO.match(m.group(2)) is not None and not self.ctx.done_names)
                or (  # "Support: if the ticket is tagged billing, …": a department names the process
                    _COND_LEAD.match(m.group(2)) is not None
                    and not self.ctx.done_names
                    and (m.group(1).strip().lower() in W.PEOPLE or self._title_noun_phrase(m.group(1)))
                )
            )
        ):
            self.ctx.notes.append(f"read '{m.group(1)}' as a title, not a step")
            title_words = [w for w in _content(W.tokens(m.group(1))) if w not in W.PRONOUNS]
            if title_words and self._title_noun_phrase(m.group(1)):
                self.namer.set_topic(title_words)  # "Vendor payments: export them …": them = the vendor payments
            s = m.group(2)
        s = _TRY_N_TIMES.sub(_tries_as_retries, s)
        # "Notify finance when it's done": after the steps before, not a condition on something being done
        s = _WHEN_DONE_TAIL.sub("", s)
        # "for any mismatch, open a ticket": a condition on there being one, not a step named mismatch_step
        s = re.sub(
            r"(^|,\s*(?:and\s*,?\s*)?|\s+and\s*,?\s*)for\s+any\s+([a-z]+(?:\s+[a-z]+)?)\s*,\s*",
            lambda m: f"{', and if' if m.group(1) else 'If'} there is a {m.group(2)}, ",
            s,
            flags=re.I,
        )
        # "run the backup and if it fails, page the admin": the condition starts a new clause after the step
        m = re.search(r"(?<=\w)\s+(?:and|but)\s+(?=(?:if|when|unless|once|in case)\s)", s, re.I)
        if m:
            prefix = re.split(r"[,;:]", s[: m.start()])[-1]
            if self._imperative(prefix) and not _COND_LEAD.match(prefix.strip()):
                s = s[: m.start()] + ", and " + s[m.end() :]
        # "Tickets tagged billing go to the finance team": a condition on the tickets, then where they go
        s = _TAGGED_GO.sub(_tagged_go_as_condition, s)
        # "open a ticket, tagged urgent, and assign it": the tag describes the ticket, it is not a step
        s = re.sub(
            r",\s*((?:tagged|labell?ed|marked|flagged)\s+(?:as\s+|with\s+)?[^,;.()]{1,40}?)(?=\s*(?:[,;.]|$|\bthen\b))",
            r" (\1)",
            s,
            flags=re.I,
        )
        # "The day before the visit, send a reminder" / "Two days later, …": timing, not a step
        s = re.sub(
            r"^(?:the\s+)?(?:(?:next|following|same)\s+)?(?:day|week|hour|night|morning|evening|month)s?\s+"
            r"(?:before|after|later|prior to)\b[^,]*,\s*|^(?:\w+\s+)?(?:days?|weeks?|hours?|minutes?)\s+"
            r"(?:later|after(?:wards)?|before)\s*,\s*",
            "",
            s,
            flags=re.I,
        )
        # "day 7: if not converted, …", "after 2 days: …": timing of a later step, not a step
        s = re.sub(r"^(?:on\s+)?(?:day|week)\s+\d+\s*[:,]\s*", "", s, flags=re.I)
        # "the finance lead reviews them and approves" -> "the finance lead approves them"
        s = re.sub(
            r"\b(?:reviews?|checks?|reads?|looks?\s+at)\s+(it|them|the\s+\w+)\s+and\s+(approves?|signs?\s+off(?:\s+on)?)\b",
            r"\2 \1",
            s,
            flags=re.I,
        )
        # "With both in hand, …", "Once we have both, …"
        s = re.sub(
            r"^(?:with\s+(?:both|all|everything|them|these|those|the results?)\s+(?:in hand|ready|done|available|back)|"
            r"once\s+(?:we|you)\s+have\s+(?:both|all|everything|them|the results?))\s*,\s*",
            "",
            s,
            flags=re.I,
        )
        # "pay approved invoices and reject the rest" -> "…, otherwise reject them"
        s = re.sub(
            r"(?:,\s*(?:and\s+|but\s+)?|\s+(?:and|but)\s+)(\w+)\s+(?:the\s+rest|the\s+others|all\s+(?:the\s+)?others|everything\s+else|"
            r"the\s+remaining\s+(?:ones|\w+))\b",
            lambda m: f", otherwise {m.group(1)} them" if W.is_base_verb(m.group(1).lower()) else m.group(0),
            s,
            flags=re.I,
        )
        # "approved claims are paid and denied claims are closed": two clauses
        s = re.sub(
            rf"\s+and\s+(?=(?:the\s+)?(?:{APPROVAL_ADJ}|other|remaining)\s+\w+(?:\s+\w+)?\s+(?:are|is|get|gets|go|goes)\b)",
            ", ",
            s,
            flags=re.I,
        )
        # "send a reminder 3 days before the due date": timing of the step, not part of its name
        timing = re.search(
            r"\s+(?:\d+|an?|one|two|three|four|five|six|seven|ten|fourteen|thirty)\s+(?:business\s+|working\s+)?"
            r"(?:minute|hour|day|week|month)s?\s+(?:before|after|prior\s+to|ahead\s+of)\s+(?:the\s+|their\s+|its\s+)?"
            r"[\w-]+(?:\s+(?!to\b|and\b|then\b)[\w-]+)?(?=\s*$|\s*[,;]|\s+(?:to|and|then)\b)",
            s,
            re.I,
        )
        if timing is not None:
            self.ctx.notes.append(f"'{timing.group(0).strip()}' is when the step runs: a delay or schedule, not a step")
            s = s[: timing.start()] + s[timing.end() :]
        # "refund the customer within 5 days unless …", "Within 2 hours, call the client": a time limit of the step
        limit = _TIME_LIMIT.search(s)
        if limit is not None and not re.search(
            r"\b(?:if|when|unless|no|not|until|without|once)\b", s[: limit.start()], re.I
        ):
            self.ctx.notes.append(f"'{limit.group(1)}' is a time limit: set it as the step's timeout (not a step)")
            s = (s[: limit.start()] + " " + s[limit.end() :]).strip()
        s = self._beside(s)
        # "check the totals before sending the invoice" -> "check the totals, then send the invoice"
        if not RETRY.search(s) and not re.match(r"^\s*before\b", s, re.I):
            s = re.sub(
                r"\s+before\s+(?!giving\s+up)(\w+ing)\b",
                lambda m: (
                    f", then {W.lemma(m.group(1).lower())}"
                    if W.lemma(m.group(1).lower()) and W.lemma(m.group(1).lower()) != m.group(1).lower()
                    else m.group(0)
                ),
                s,
                count=1,
                flags=re.I,
            )
            # "… a second approval from the CFO before it is released" -> "…, then release it"
            s = re.sub(
                r"\s+before\s+(it|they|this|that|the\s+\w+(?:\s+\w+)?)\s+(?:is|are|gets?|can\s+be|may\s+be)\s+"
                r"(\w+)\s*(?=$|[,;.])",
                lambda m: (
                    f", then {W.lemma(m.group(2).lower())} {'them' if m.group(1).lower() == 'they' else m.group(1)}"
                    if W.lemma(m.group(2).lower()) and W.lemma(m.group(2).lower()) != m.group(2).lower()
                    else m.group(0)
                ),
                s,
                count=1,
                flags=re.I,
            )
            # "invoices over 50000 euros need the CFO's approval before payment" -> "…, then pay it"
            s = re.sub(
                rf"\s+before\s+(?:the\s+|its\s+|their\s+)?({'|'.join(_BEFORE_EVENT)})\s*(?=$|[,;.])",
                lambda m: (
                    f", then {_BEFORE_EVENT[m.group(1).lower()]} it"
                    if _NEEDS_APPROVAL.search(m.string[: m.start()])
                    else m.group(0)
                ),
                s,
                count=1,
                flags=re.I,
            )
            # "get the manager's approval before we order the laptop" -> "…, then order the laptop"
            s = re.sub(
                r"\s+before\s+(?:we|you|they|i|someone)\s+(?:can\s+|may\s+)?(\w+)\b",
                lambda m: f", then {m.group(1)}" if W.is_base_verb(m.group(1).lower()) else m.group(0),
                s,
                count=1,
                flags=re.I,
            )
        return s

    def _beside(self, s: str) -> str:
        """ "charge the card and ship it in parallel with sending a receipt" -> "charge the card, then ship it
        and send a receipt in parallel": the step named after the words runs beside the step right before
        them (not beside every step of the clause, which run first, in order)."""
        m = _BESIDE_GERUND.search(s)
        if m is not None:
            verb = W.lemma(m.group("ger").lower())
            if not verb or verb == m.group("ger").lower() or verb in ("wait", "be", "have", "keep", "continue"):
                m = None
            else:
                added = f"{verb}{m.group('obj').rstrip()}"
        if m is None:
            m = _AND_MEANWHILE.search(s)
            if m is None:
                return s
            added = m.group("rest").strip()
            if not self._imperative(added):
                return s
        before = s[: m.start()]
        cuts = list(_SEQUENCE_CUT.finditer(before))
        start = cuts[-1].end() if cuts else 0
        clause = before[start:]
        if not self._imperative(clause) or _COND_LEAD.match(clause.strip()):
            return s
        ands = [a for a in re.finditer(r"\s+and\s+(?=(\w+))", clause) if W.is_base_verb(a.group(1).lower())]
        if ands:  # "charge the card and ship it …": the charge comes first
            a = ands[-1]
            clause = f"{clause[: a.start()]}, then {clause[a.end() :]}"
        return f"{before[:start]}{clause} and {added} in parallel{s[m.end() :]}"
