"""Step names: verb_object names from a clause's own verb and head noun, kept stable and unique."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.model import Ctx
from engine.ai.offline_translator.name_analysis import ClauseAnalysis
from engine.ai.offline_translator.name_words import (
    _AGGREGATE_VERBS,
    _DAY_PARTS,
    _DETERMINERS,
    _ENTITY_VERBS,
    _MEANS,
    _OBJECT_AI_WORDS,
    _PAYABLE,
    _PERSON_OBJECT_VERBS,
    _PREPS,
    _SUM_WORDS,
    _TAG_AS,
    _TOPIC_VERBS,
    _TRAILING,
    _WHEN_WORDS,
    _content,
    _is_plural,
    _pronoun_plural,
    _valid_name,
)
from engine.ai.offline_translator.recipient_words import handoff_adverb_out, is_recipient, recipient_core

# ---------------------------------------------------------------------------------------------
# naming


_POSSESSIVE_PRONOUNS = frozenset("ours yours theirs mine hers".split())
# adjectives a topic may hold that never stand for "the … ones"
_NOT_HEAD_NOUNS = frozenset(
    "better worse best worst current new old same other previous next higher lower larger smaller bigger "
    "cheaper faster slower first last latest".split()
)
# verbs whose "with …" names the other thing ("merge it with the CRM record"), not a tool
_WITH_PARTNER_VERBS = {
    "share",
    "discuss",
    "meet",
    "sync",
    "merge",
    "combine",
    "compare",
    "match",
    "reconcile",
    "join",
    "replace",
    "pair",
    "link",
    "associate",
    "cross",
    "correlate",
    "swap",
    "bundle",
    "consolidate",
}


# participles that say what a message to a person is about: "email the customer asking for confirmation"
_MESSAGE_PARTICIPLES = frozenset(
    "asking requesting seeking inviting reminding telling urging demanding announcing explaining informing "
    "offering proposing saying".split()
)


def _what_the_message_is(core: list[str], tail: list[str], tail_prep: str | None):
    """ "the customer asking for confirmation of the order" -> (customer, confirmation): who the message goes
    to, then what it is about (the participle's object, up to its next preposition); other objects as given."""
    at = next((i for i, w in enumerate(core) if i >= 1 and w in _MESSAGE_PARTICIPLES and _content(core[:i])), None)
    if at is None or (at + 1 < len(core) and core[at + 1] in W.PRONOUNS):  # "asking them to review": as before
        return core, tail, tail_prep
    about = core[at + 1 :] or tail
    end = next((i for i, w in enumerate(about) if w in _PREPS), len(about))
    about = _content(about[:end])
    return core[:at], about, (tail_prep if about and not core[at + 1 :] else None)


_COUNT_WORDS = frozenset("a an one two three four five six seven eight nine ten twelve few couple several".split())
_TIME_UNITS = frozenset(
    "second seconds minute minutes hour hours day days week weeks fortnight month months year years".split()
)


def _a_duration(words: list[str], content: list[str]) -> bool:
    """ "a week", "two weeks", "30 days": a length of time (not "the hours" or "vacation days")."""
    counted = any(w.isdigit() or w.lower() in _COUNT_WORDS for w in words)
    return counted and all(w in _TIME_UNITS or w in _COUNT_WORDS for w in content)


_BY_AI_AT_END = re.compile(
    r"\s+(?:using|via|with|through|by)\s+(?:an?\s+|the\s+)?(?:ai|llm|gpt|chatgpt|language\s+model|ml\s+model|model)\s*$",
    re.I,
)
# verbs whose object is who or what pays ("charge the card", "bill the client"), not the thing worked on
_PAYER_VERBS = frozenset({"charge", "bill", "debit"})


class Namer(ClauseAnalysis):
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
            and not _a_duration(words, content)  # "wait a week, then remind them": not the week
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
        head = self._joined_topic()[0]
        self.ctx.after_join = False
        self.set_topic([head])
        return _valid_name(W.snake([verb, head]))

    def _entity(self) -> list[str]:
        """What the workflow is about ("the loan application"), unless, right after a fan-in, that is
        only one branch's object (read from the first branch: "verify income and employment")."""
        entity = self.ctx.entity
        if entity and self.ctx.after_join and entity[-1] in self.ctx.join_heads:
            return []
        return entity

    def _joined_topic(self) -> list[str]:
        """Right after a fan-in, what an action without an object acts on: the branches' shared plural
        head noun, else their results (never the last branch's object: "verify income and employment
        in parallel, then decide" is decide_results, was decide_employment). Empty elsewhere."""
        if not self.ctx.after_join:
            return []
        heads = {h for h in self.ctx.join_heads if h}
        head = next(iter(heads)) if len(heads) == 1 and len(self.ctx.join_heads) >= 2 else "results"
        return [head if _is_plural(head) else "results"]

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
        if ai:  # "score it against the job description using the LLM": how, not what (was …_description_using)
            bare = _BY_AI_AT_END.sub("", text)
            text = bare if len(bare.split()) >= 2 else text
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
        if not passive:  # "send the form back to HR": 'back' is no object word (a passive reads its own way)
            obj, particle = handoff_adverb_out(obj, particle)
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
        core, tail, tail_prep = _what_the_message_is(core, tail, tail_prep)
        if (
            len(core) >= 2
            and core[0] in ("it", "them")
            and core[1] in _WHEN_WORDS
            and all(w in _WHEN_WORDS or w in _DAY_PARTS or W.is_noise(w) for w in core[2:])
        ):
            core = core[:1]  # "send it tomorrow", "leave it overnight": when, not what (was send_tomorrow)
        core_c = _content(core)
        if len(core) >= 2 and core[-1] == "ones" and core_c and core_c[-1] != "ones":
            head = next(  # "send the negative ones": the negative tweets, the latest plural noun (was send_negative)
                (
                    w
                    for t in reversed(self.ctx.topics)
                    for w in reversed(t)
                    if _is_plural(w)
                    and w not in W.ATTRIBUTES
                    and w not in core_c
                    and (w == t[-1] or not W.is_base_verb(w))
                    and w not in _NOT_HEAD_NOUNS
                ),
                None,
            )
            if head:
                core_c = core_c + [head]
        tail_c = [
            w
            for w in _content(tail)
            if (w not in W.AI_WORDS or (w in _OBJECT_AI_WORDS and tail_prep not in _MEANS))
            and w not in _POSSESSIVE_PRONOUNS  # "compare them with ours": what "them" is, not "ours"
        ]
        people = self.ctx.people
        for w in list(subject) + list(obj):
            if (w in W.PEOPLE or w in W.GROUPS_OF_PEOPLE) and _is_plural(w) and w not in ("sales", "operations", "ops"):
                self.ctx.people = w  # "send the survey to the attendees": who a later 'them' may be
        person_them = (
            people
            and core
            and core[0] in ("them", "those")  # "remind those who have not answered": the attendees
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
                and (  # "to the customer", "to HR", "for gaps", "by email" — not "to PDF", "to Spanish"
                    tail_prep in ("by", "via", "using", "through")
                    or (tail_prep in ("in", "into") and len(tail_c) == 1)  # "log it in Zendesk", "store it in S3"
                    or (tail_prep == "for" and len(tail_c) == 1)  # "check it for gaps", not "for legal review"
                    or (tail_prep == "to" and is_recipient(tail_c))  # "send them to HR", "escalate it to tier 2"
                    or (bool(tail) and tail[0] in _DETERMINERS | {"our", "their", "your", "his", "her"})
                )
                and not set(topic) & set(tail_c)
                and len(particle) + len(tail_c) <= 2
            ):
                core_c = topic  # "send it to the customer" -> send_contract_customer: what "it" is, then where
                if tail_prep in ("by", "via", "using", "through"):
                    tail_c = []  # "confirm it by email" -> confirm_booking
            elif (
                tail_c
                and topic
                and tail_prep == "with"
                and verb not in _WITH_PARTNER_VERBS
                and not any(w in W.PEOPLE or w in W.GROUPS_OF_PEOPLE or w in ("team", "teams") for w in tail_c)
            ):
                core_c, tail_c = topic, []  # "enrich it with Clearbit" -> enrich_lead: the tool is how, not what
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
                    topic = self._joined_topic() or self.topic_words()
                    core_c = self._entity() or ([] if topic and topic[-1] in W.QUANTITY else topic)
                elif not core_c and verb in _TOPIC_VERBS:
                    core_c = self._joined_topic() or self.topic_words()

            if not core_c and causer and verb not in _ENTITY_VERBS and verb not in _TOPIC_VERBS:
                vwords = ["ask"] + causer[-2:] + vwords[:1]  # "let the recruiter decide" -> ask_recruiter_decide
            room = max(4 - len(vwords), min(3, len(core_c)))
            words = vwords + core_c[-room:]  # the head noun ends the phrase: keep it ("last known status")
            if passive and tail_prep in ("to", "into", "onto") and tail_c:
                words = vwords + [tail_prep] + tail_c[-(room - 1) :]  # "alerts are added to the digest"
            elif tail_c and len(words) + len(tail_c) <= 4:
                words += tail_c
            elif tail_prep == "to" and 0 < len(who := recipient_core(tail_c)) <= 4 - len(words) and is_recipient(who):
                words += who  # "hand over the keys to the new tenant": who, not which one
            name_words = words[: max(4, len(vwords) + room)]
            it_still = bool(self.ctx.topic) and (
                (not _content(core) and any(w in W.PRONOUNS for w in core) and not set(core_c) <= set(self.ctx.topic))
                or (len(core) >= 2 and core[0] in ("its", "their"))  # "detect its language": the email's
            )
            if not (verb in _PAYER_VERBS and self.ctx.topic) and not it_still:
                # "validate the order, charge the card and ship it": who pays is not what "it" means next;
                # "translate it to English, then classify it": "it" is still the email, not English
                self.set_topic(core if _content(core) else core_c)
        if len(name_words) == 1:
            topic = self.ctx.topic
            if self.ctx.after_join and topic and topic[-1] in self.ctx.join_heads:
                topic = self._entity() or self._joined_topic()  # a branch's object is not what follows the join
            extra = [w for w in (topic or self.ctx.entity) if w not in name_words][-2:]
            name_words = name_words + (extra or [w for w in particle if w not in _PREPS] or ["step"])
        self.ctx.after_join = False
        name = _valid_name(W.snake(name_words))
        terminal = verb in W.TERMINAL_VERBS or any(w in W.TERMINAL_NOUNS for w in obj)
        if verb == "stop" and core_c:
            terminal = False
        return name, terminal, ai
