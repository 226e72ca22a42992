"""Step names: verb_object names from a clause's own verb and head noun, kept stable and unique."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.comparisons import _find_cmp
from engine.ai.offline_translator.model import Ctx

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
    r"morning|night|evening)s?\b|(?<!the )(?<!a )(?<!our )(?<!your )(?<!their )"
    r"\b(?:daily|hourly|weekly|nightly)\b(?!\s+\w+\s+(?:file|report))",
    re.I,
)
_TRAILING = re.compile(
    r"[\s,]+(?:at the end|in the end|at last|again|as well|too|afterwards|afterward|right away|"
    r"asap|as soon as possible|at once|immediately|first|then|now|later|once|only|instead|anyway|anyhow|"
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
}  # "deploy the best model": an object, not the LLM doing the work
_AUX = {"is", "are", "was", "were", "be", "been", "being", "gets", "get", "got"}


def _content(words: list[str]) -> list[str]:
    return [w for w in words if not W.is_noise(w)]


class Namer:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.last_passive = False
        self.causer: list[str] = []  # "let the recruiter decide": who is asked to act

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

    def _causer_is_person(self) -> None:
        """ "ask the landlord to fix the heating": the landlord is who a later 'he/she' means."""
        if self.causer and self.causer[-1] in W.PEOPLE:
            self.ctx.person = W.singular(self.causer[-1])

    def analyse(self, text: str) -> tuple[str | None, list[str], list[str], list[str]]:
        """(verb, particle words, object words, subject words) of an action phrase."""
        self.last_passive = False
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
        # causative: "have marketing approve it" -> approve it; "ask the front desk to call the patient"
        self.causer = []
        if toks[0] in ("have", "let") and len(toks) > 2:
            for j in range(2, min(len(toks), 5)):
                if W.is_base_verb(toks[j]) and toks[j - 1] not in ("to", "the", "a", "an"):
                    self.causer = [w for w in _content(toks[1:j]) if w not in W.PRONOUNS]
                    self._causer_is_person()
                    toks = toks[j:]
                    break
        elif toks[0] in ("ask", "tell", "get", "instruct", "remind") and len(toks) > 3:
            for j in range(2, min(len(toks), 6)):
                if toks[j - 1] == "to" and W.is_base_verb(toks[j]) and j >= 3:
                    self.causer = [w for w in _content(toks[1 : j - 1]) if w not in W.PRONOUNS]
                    self._causer_is_person()
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
            if (
                not particle
                and len(rest) >= 2
                and rest[0] in W.PRONOUNS
                and ((verb, rest[1]) in W.PHRASAL or (rest[0] in ("it", "them") and rest[1] in _VERB_PARTICLES))
                and not (  # "log it in Zendesk", "put it on the shelf": a place, not a particle ("log it in")
                    rest[1] in ("in", "on", "into", "onto", "to", "at") and _content(rest[2:])
                )
            ):  # "hand them out at the gate": the particle belongs to the verb, 'them' is the object
                particle, rest = [rest[1]], [rest[0]] + rest[2:]
            return verb, particle, rest, []
        if _unknown_verb_first(toks):  # "revalue the positions": a word the list does not know, then "the"
            if len(toks) > 2 and toks[1] in ("it", "them") and toks[2] in _VERB_PARTICLES:
                return first, [toks[2]], [toks[1]] + toks[3:], []  # "bounce it back to the requester"
            return first, [], toks[1:], []
        if first.endswith("ing") and W.lemma(first):  # gerund: "sending the email"
            return W.lemma(first), [], toks[1:], []
        if (
            first.endswith("s")
            and W.lemma(first)
            and first not in W.QUANTITY
            and len(toks) > 1
            and toks[1]
            in (
                "the",
                "a",
                "an",
                "their",
                "its",
                "his",
                "her",
                "our",
                "them",
                "it",
                "all",
                "any",
                "last",
                "this",
                "next",
                "each",
                "every",
                "new",
                "yesterday's",
                "today's",
            )
        ):
            verb = W.lemma(first)  # "collects the laptop" (subject left out)
            if verb in ("get", "receive"):
                verb = "send"  # "… and gets a welcome email": the workflow sends it
            rest = toks[1:]
            particle = []
            if rest and (verb, rest[0]) in W.PHRASAL:
                particle, rest = [rest[0]], rest[1:]
            return verb, particle, rest, []
        declared = _unknown_declarative_verb(toks)
        if declared is not None:  # "IT wipes the laptop": a subject, a verb the list does not know, its object
            i, verb = declared
            return verb, [], toks[i + 1 :], toks[:i]
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
                    self.last_passive = True
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
            if (
                i + 1 < len(toks)
                and toks[i + 1] in ("go", "goes")
                and toks[i - 1] in ("the", "a", "an", "each", "every", "this", "that", "these", "those", "all")
            ):
                continue  # "the email goes to the inbox": 'email' is the subject, 'goes' the verb
            lem = lem or {"goes": "go", "needs": "need", "requires": "require"}.get(w, w)
            if lem in ("be", "have", "do"):
                break
            if lem in ("need", "require", "want"):
                lem = "get"
            elif (
                lem in ("get", "receive")
                and (set(toks[:i]) & W.PEOPLE or toks[i - 1] in W.PEOPLE)
                and i + 1 < len(toks)
            ):
                lem = "send"  # "the vendor gets a welcome email": the workflow sends it
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

    def _tag_step(self, text: str) -> str | None:
        """ "mark it as spam" -> mark_as_spam, "flag the file as quarantined" -> flag_file_as_quarantined:
        the label is a value, not the thing talked about, so "it" later still means the email / file."""
        m = _TAG_AS.match(text)
        if m is None:
            return None
        obj = [w for w in _content(W.tokens(m.group(2))) if w not in W.PRONOUNS]
        label = _content(W.tokens(m.group(3)))[:2]
        if not label or len(obj) > 3:
            return None
        if obj:
            self.set_topic(obj)
        self.ctx.after_join = False
        verb = W.lemma(m.group(1).lower()) or m.group(1).lower()
        return _valid_name(W.snake([verb] + obj[-1:] + ["as"] + label))

    def _after_join_pronoun(self, text: str) -> str | None:
        """ "… in parallel, then sum them": 'them' right after a fan-in is the branches' outputs, named by
        their shared head noun ("compute the EU totals and the US totals …" -> sum_totals), else results."""
        if not self.ctx.after_join:
            return None
        toks = W.tokens(text)
        if len(toks) < 2 or toks[1] not in ("them", "these", "those", "both", "all", "everything"):
            return None
        rest = [w for w in toks[2:] if w not in ("up", "together")]
        verb = toks[0]
        if rest or not (W.is_base_verb(verb) or verb in _AGGREGATE_VERBS or verb in _SUM_WORDS):
            return None
        heads = {h for h in self.ctx.join_heads if h}
        head = next(iter(heads)) if len(heads) == 1 and len(self.ctx.join_heads) >= 2 else "results"
        if not _is_plural(head) and head != "results":
            head = "results"
        self.ctx.after_join = False
        self.set_topic([head])
        return _valid_name(W.snake([verb, head]))

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
        tagged = self._tag_step(text)
        if tagged is not None:
            return tagged, False, ai
        joined = self._after_join_pronoun(text)
        if joined is not None:
            return joined, False, ai
        purpose = re.match(r"^\s*use\s+.{1,40}?\s+to\s+(\w+\b.*)$", text, re.I)
        if purpose and W.is_base_verb(purpose.group(1).split()[0].lower()):
            name, terminal, ai2 = self.name(purpose.group(1))  # "use the template to draft the contract"
            return name, terminal, ai or ai2
        verb, particle, obj, subject = self.analyse(text)
        passive, causer = self.last_passive, list(self.causer)
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
        cut = next(  # "new tweets mentioning our brand": a participle with its own object ends the noun
            (
                i
                for i, w in enumerate(core[:-1])
                if i >= 1
                and w.endswith("ing")
                and W.lemma(w)
                and _content(core[:i])
                and core[i + 1] in _DETERMINERS | {"our", "their", "its", "his", "her", "any", "all", "this", "that"}
            ),
            None,
        )
        if cut is not None:
            core = core[:cut]
        if (
            len(core) >= 2
            and core[0] in ("it", "them")
            and core[1] in _WHEN_WORDS
            and all(w in _WHEN_WORDS or w in _DAY_PARTS or W.is_noise(w) for w in core[2:])
        ):
            core = core[:1]  # "send it tomorrow", "leave it overnight": when, not what (was send_tomorrow)
        core_c = _content(core)
        tail_c = [
            w for w in _content(tail) if w not in W.AI_WORDS or (w in _OBJECT_AI_WORDS and tail_prep not in _MEANS)
        ]
        people = self.ctx.people
        for w in list(subject) + list(obj):
            if (w in W.PEOPLE or w in W.GROUPS_OF_PEOPLE) and _is_plural(w) and w not in ("sales", "operations", "ops"):
                self.ctx.people = w  # "send the survey to the attendees": who a later 'them' may be
        person_them = (
            people
            and core
            and core[0] == "them"
            and verb in _PERSON_OBJECT_VERBS
            and not (verb in ("pay", "reimburse") and set(self.topic_words(1, True)) & _PAYABLE)
        )
        if person_them:
            core_c = [people]  # "… to the attendees and thank them" -> thank_attendees (people, not the survey)
        elif not core_c and any(w in W.PRONOUNS for w in core):
            topic = [w for w in self.topic_words(1, _pronoun_plural(core)) if w not in W.PEOPLE]
            if (
                tail_c
                and topic
                and tail_prep != "with"  # "share it with the team": the team names it (as before)
                and not passive  # "it is sent to the board": send_board (the passive reads its own way)
                and (  # "to the customer", "for gaps", "by email" — not "to PDF", "to legal" (as before)
                    tail_prep in ("by", "via", "using", "through")
                    or (tail_prep in ("in", "into") and len(tail_c) == 1)  # "log it in Zendesk", "store it in S3"
                    or (tail_prep == "for" and len(tail_c) == 1)  # "check it for gaps", not "for legal review"
                    or (bool(tail) and tail[0] in _DETERMINERS | {"our", "their", "your", "his", "her"})
                )
                and not set(topic) & set(tail_c)
                and len(particle) + len(tail_c) <= 2
            ):
                core_c = topic  # "send it to the customer" -> send_contract_customer: what "it" is, then where
                if tail_prep in ("by", "via", "using", "through"):
                    tail_c = []  # "confirm it by email" -> confirm_booking
            elif tail_c:
                core_c, tail_c = tail_c, []
            else:
                core_c = self.topic_words(2, _pronoun_plural(core))
        elif not core_c and tail_c:
            core_c, tail_c = tail_c, []
        if tail_prep in _MEANS and core_c:
            tail_c = []
        core_c = [w for w in core_c if w not in W.AI_WORDS or w in _OBJECT_AI_WORDS]
        if verb == "use" and core_c:  # "use yesterday's prices" (the LLM ones are read earlier): a switch
            verb, particle = "switch", ["to"]
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
                if not core_c and self.ctx.after_join and verb in _AGGREGATE_VERBS:
                    core_c = ["results"]  # "… in parallel, then merge": the join's results, not the last branch
                if not core_c and verb in _ENTITY_VERBS:
                    topic = self.topic_words()
                    core_c = self.ctx.entity or ([] if topic and topic[-1] in W.QUANTITY else topic)
                elif not core_c and verb in _TOPIC_VERBS:
                    core_c = self.topic_words()

            if not core_c and causer and verb not in _ENTITY_VERBS and verb not in _TOPIC_VERBS:
                vwords = ["ask"] + causer[-2:] + vwords[:1]  # "let the recruiter decide" -> ask_recruiter_decide
            room = max(4 - len(vwords), min(3, len(core_c)))
            words = vwords + core_c[-room:]  # the head noun ends the phrase: keep it ("last known status")
            if passive and tail_prep in ("to", "into", "onto") and tail_c:
                words = vwords + [tail_prep] + tail_c[-(room - 1) :]  # "alerts are added to the digest"
            elif tail_c and len(words) + len(tail_c) <= 4:
                words += tail_c
            name_words = words[: max(4, len(vwords) + room)]
            self.set_topic(core if _content(core) else core_c)
        if len(name_words) == 1:
            extra = [w for w in (self.ctx.topic or self.ctx.entity) if w not in name_words][-2:]
            name_words = name_words + (extra or [w for w in particle if w not in _PREPS] or ["step"])
        self.ctx.after_join = False
        name = _valid_name(W.snake(name_words))
        terminal = verb in W.TERMINAL_VERBS or any(w in W.TERMINAL_NOUNS for w in obj)
        if verb == "stop" and core_c:
            terminal = False
        return name, terminal, ai


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
    "both either neither not never always sometimes usually often please".split()
)


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
        and not first.endswith(("ed", "ing", "ly", "wards", "s"))
        and (pronoun_object or _content(toks[2:]) != [])
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
