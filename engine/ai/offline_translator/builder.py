"""Builder: reads a description into the step tree (lists, arrows, prose) using its parts."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.approvals_llm import approval_of
from engine.ai.offline_translator.branches import BranchReader
from engine.ai.offline_translator.builder_base import BuilderBase
from engine.ai.offline_translator.clauses import ClauseReader
from engine.ai.offline_translator.comparisons import _find_cmp
from engine.ai.offline_translator.conditions import CondParser
from engine.ai.offline_translator.lead_phrases import LeadReader, subset_of_items
from engine.ai.offline_translator.model import Act, Ctx, _is_par_hook
from engine.ai.offline_translator.name_words import (
    _AUX,
    _JUDGE_VERBS,
    _LABEL_OUTPUT,
    _LABEL_VERBS,
    _PREPS,
    _content,
    _is_plural,
    _valid_name,
)
from engine.ai.offline_translator.naming import Namer
from engine.ai.offline_translator.retries import FallbackReader, RetryReader
from engine.ai.offline_translator.segmentation import (
    _ARROWS,
    _COND_LEAD,
    _PAR_LEAD,
    _PAR_WORDS,
    Item,
    _parse_lines,
    _split_inline_steps,
    _split_sentences,
)
from engine.ai.offline_translator.structure import StructureReader

_SUBJECT_PRONOUNS = frozenset("i we you they he she it".split())  # "each CV we receive": a verb after them

# what an active event verb without an object names: "a customer pays" is a payment
_EVENT_NOUNS = {"pay": "payment", "ship": "shipment", "register": "registration", "submit": "submission"}
_EVENT_NOUNS |= {"confirm": "confirmation", "deliver": "delivery", "cancel": "cancellation", "book": "booking"}
_EVENT_NOUNS |= {"apply": "application", "subscribe": "subscription", "complain": "complaint", "order": "order"}
_EVENT_NOUNS |= {"sign_up": "signup", "signup": "signup", "enrol": "enrolment", "enroll": "enrollment"}


# people of the team running the workflow: what they do is a step, not an event from outside
_STAFF = {
    "manager", "director", "reviewer", "analyst", "admin", "administrator", "editor", "supervisor", "approver",
    "accountant", "clerk", "auditor", "engineer", "developer", "officer", "head", "team", "agent", "operator",
    "owner", "assistant", "coordinator", "specialist", "technician", "recruiter", "planner",
}  # fmt: skip


class Builder(LeadReader, StructureReader, ClauseReader, BranchReader, RetryReader, FallbackReader, BuilderBase):
    """Reads a prepared description into a tree of steps (Act, Par, Decision, …)."""

    def __init__(self):
        self.ctx = Ctx()
        self.namer = Namer(self.ctx)
        self.conds = CondParser(self.ctx, self.namer)

    def act(self, text: str) -> Act:
        appr = approval_of(text)
        if appr is not None:
            who, obj = appr
            obj_text = re.split(r"\b(?:before|after|so that|because|within|by)\b", obj)[0]
            obj_text = re.split(
                r"\b(?:above|over|under|below|more than|less than|exceeding|of more|worth)\b", obj_text
            )[0]
            obj_text = re.sub(
                r"^\s*(?:to\s+)?(?:go(?:ing)?\s+ahead|proceed(?:ing)?|mov(?:e|ing)\s+forward)\s+(?:with\s+)?",
                "",
                obj_text,
                flags=re.I,
            )
            obj_words = [
                w
                for w in _content(W.tokens(obj_text))
                if w not in W.PRONOUNS and w not in ("on", "for", "of", "it", "them")
            ]
            verb = "confirm" if re.search(r"\bconfirm", text, re.I) else "approve"
            if len(obj_words) > 1 and obj_words[0] in ("make", "give", "send", "do", "go", "proceed", "extend"):
                obj_words = obj_words[1:]  # "decides whether to make an offer" -> approve_offer
            if obj_words:  # "have the editor approve the draft" -> approve_draft (who: the editor)
                name = _valid_name(W.snake([verb] + obj_words[-2:]))
                self.namer.set_topic(obj_words)
            else:
                name = _valid_name(W.snake(["get"] + who.split()[-2:] + ["approval"]))
                subj = re.match(r"^(.{1,60}?)\s+(?:needs?|requires?|must\s+(?:get|have))\b", text.strip(), re.I)
                subj_words = [w for w in _content(W.tokens(subj.group(1))) if w not in W.PRONOUNS] if subj else []
                if (
                    subj_words
                ):  # "The contract needs approval from legal before we countersign it": "it" is the contract
                    self.namer.set_topic(subj_words)
            self.ctx.prev_action, self.ctx.prev_name, self.ctx.question = text, name, None
            self.ctx.approval_seen = True
            return Act(text.strip(), name, False, False, who)
        name, terminal, ai = self.namer.name(text)
        self.ctx.done_names.append(name)
        self.ctx.action_sentence.append(self.ctx.sentence_no)
        low = re.sub(r"\s+", " ", text.lower().strip())
        tail2 = " ".join(low.split()[-2:])
        ai = ai or bool(
            self.ctx.ai_span
            and low
            and (low in self.ctx.ai_span or (len(low.split()) >= 3 and tail2 in self.ctx.ai_span))
        )
        if ai:
            verb, obj_words = name.split("_")[0], name.split("_")[1:]
            if self.ctx.categories:
                self.ctx.last_ai_var = "category"
            elif verb in _LABEL_VERBS and obj_words and obj_words[-1] in W.ATTRIBUTES:
                self.ctx.last_ai_var = obj_words[-1]  # "classify its urgency" -> urgency (was classify)
            elif verb in _LABEL_VERBS and verb not in _JUDGE_VERBS:
                self.ctx.last_ai_var = _LABEL_OUTPUT.get(verb, verb)
            elif verb in _JUDGE_VERBS and obj_words:
                self.ctx.last_ai_var = obj_words[-1]  # "judge its sentiment" -> sentiment
            else:
                self.ctx.last_ai_var = None
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

    def build(self, text: str) -> list:
        seq: list = []
        text = _split_inline_steps(text)
        self.ctx.colon_heads = [
            h.strip().lower() for h in re.findall(r"(?:^|[.;\n]\s*|^\s*[-*\d.)]+\s*)([A-Za-z][\w' -]{1,40}):\s", text)
        ]
        header, items, trailing = _parse_lines(text)
        if items and (len(items) >= 2 or items[0].children):
            last = header[-1] if header else ""
            if last.rstrip().endswith(":") and (_PAR_WORDS.search(last) or _PAR_LEAD.search(last)):
                for h in header[:-1]:
                    self._header(h, seq)
                # "Then, in parallel:" above a list: the list's items are its branches (were run in sequence)
                self._items([Item(last, -1, None, list(items))], seq)
            else:
                for h in header:
                    self._header(h, seq)
                self._items(items, seq)
            for t in trailing:
                self._prose(t, seq)
            return seq
        if _ARROWS.search(text) and not re.search(r"\bif\b[^>]*$", text.split("->")[0], re.I):
            segs = [x for x in _ARROWS.split(text) if x.strip()]
            # "check depth; >1000 -> scale out; else nothing": the arrows are inside clauses
            clause_arrows = ";" in text and all(";" in seg for seg in segs[:-1])
            if len(segs) >= 2 and not clause_arrows:
                for i, seg in enumerate(segs):
                    if i == 0 and self._is_event(seg) and not self._imperative(seg) and not _COND_LEAD.match(seg):
                        trig = self._trigger(seg)  # "Customer asks for a refund -> …"
                        if trig is not None:
                            self._append(seq, trig)
                            continue
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

    def _outside_event(self, sentence: str) -> bool:
        """ "A lead fills in the demo form", "A new order is placed": something that happens to the
        workflow from outside (someone who is not staff acts, or a thing arrives); "A manager reviews the
        report" is a step a person of the team does."""
        verb, _particle, _obj, subject = self.namer.analyse(sentence)
        if verb is None or not (subject or self.namer.last_passive) or not self._is_event(sentence):
            return False
        return not any(W.singular(w) in _STAFF for w in subject)

    def _trigger(self, text: str) -> Act | None:
        toks = W.tokens(text)
        if not toks:
            return None
        items = subset_of_items(text)
        if items is not None:  # "For every damaged box, take a photo": the step is take_photo (no trigger)
            self.namer.set_topic(items)
            return None
        wait = self._state_wait(text)  # "When the ice has melted, …": a first step waiting for it
        if wait is not None:
            return wait
        content = _content(toks)
        # "a sensor reading arrives": the arrival verb, not "reading" (a noun that looks like a verb form)
        verb_i = next(
            (i for i, w in enumerate(toks) if i > 0 and (w in W.PASSIVE_TRIGGER or w in W.ARRIVAL_VERBS)), None
        )
        if verb_i is None:
            verb_i = next(
                (i for i, w in enumerate(toks) if i > 0 and w not in _AUX and W.lemma(w) and W.lemma(w) != w),
                None,
            )
        if verb_i is None:  # "users register"; but "each incoming support email" ends in its head noun
            verb_i = next(
                (
                    i
                    for i, w in enumerate(toks)
                    if i > 1
                    and W.lemma(w)
                    and not (
                        i == len(toks) - 1 and not _is_plural(toks[i - 1]) and toks[i - 1] not in _SUBJECT_PRONOUNS
                    )
                ),
                None,
            )
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
            event = _EVENT_NOUNS.get(W.lemma(verb) or verb)
            if (
                event
                and not obj
                and subj
                and verb not in W.PASSIVE_TRIGGER
                and toks[verb_i - 1] not in _AUX
                and subj[-1] not in W.PRONOUNS
            ):
                noun = [subj[-1], event]  # "when a customer pays" -> receive_customer_payment (was receive_customer)
            elif (
                verb in W.PASSIVE_TRIGGER
                or toks[verb_i - 1] in _AUX
                or not obj
                or W.lemma(verb) in ("accept", "sign", "join", "check", "register", "apply", "start", "leave")
            ):
                noun = subj[-3:] or obj[-2:]
            else:
                noun = obj[-3:]
        m = re.search(
            r"\b(?:webhook|request|event|notification|message|call|asks?)\s+(?:for|about|on)\s+(?:an?\s+|the\s+)?(?:new\s+)?"
            r"([\w-]+(?:\s+[\w-]+)?)",
            text,
            re.I,
        )
        if m:
            noun = [w for w in _content(W.tokens(m.group(1))) if w not in W.PRONOUNS] or noun
        if not noun:
            return None
        head = []  # "each file in the inbox": "it" later is the file, not the inbox
        for w in toks if verb_i is None else []:
            if w in _PREPS and head:
                break
            if w in noun:
                head.append(w)
        self.namer.set_topic(head or noun)
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
        for i, s in enumerate(sentences):
            self.ctx.next_sentence = sentences[i + 1] if i + 1 < len(sentences) else ""
            if first and not seq:
                m = re.match(
                    r"^(?:when(?:ever)?|each time|every time|as soon as|for (?:every|each|all|any))\s+"
                    r"([^,:]+)[,:]\s*(.*)$",
                    s,
                    re.I,
                )
                lead_each = re.match(r"^for (?:every|each|all|any)\s", s, re.I) is not None
                if lead_each and m:
                    words = m.group(1).split()
                    cut = next((i for i in range(1, min(len(words), 7)) if W.is_base_verb(words[i].lower())), None)
                    if cut is not None:  # "For each incoming lead use an LLM to …, then …"
                        m = None
                if m and not _find_cmp(m.group(1)) and (lead_each or self._is_event(m.group(1))):
                    self._track_people(m.group(1))  # "When a customer cancels, …; if they …": they = the customer
                    trig = self._trigger(m.group(1))
                    if trig is not None:
                        self._append(seq, trig)
                    s = m.group(2)
                elif lead_each and not m:
                    words = s.split()
                    cut = next((i for i in range(3, min(len(words), 9)) if W.is_base_verb(words[i].lower())), None)
                    if cut is not None:  # "For each incoming lead use an LLM to score it"
                        trig = self._trigger(" ".join(words[2:cut]))
                        if trig is not None:
                            self._append(seq, trig)
                        s = " ".join(words[cut:])
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
                elif (
                    len(sentences) > 1
                    and re.match(r"^an?\s+\w", s, re.I)
                    and "," not in s
                    and not _find_cmp(s)
                    and self._outside_event(s)
                ):  # "A lead fills in the demo form. Enrich it …": the event that starts a run, not a step
                    trig = self._trigger(s)
                    if trig is not None:
                        self._track_people(s)
                        self._append(seq, trig)
                        continue
            if first and not seq:
                m = re.fullmatch(
                    r"(?:(?:on|upon)\s+(?:an?\s+|each\s+|every\s+)?)?(?:an?\s+)?new\s+([a-z][\w-]*(?:\s+[a-z][\w-]*)?)"
                    r"(?:\s+(?:comes in|arrives|received))?",
                    s,
                    re.I,
                )
                if m:  # terse notes: "new order; check fraud score; …"
                    trig = self._trigger(m.group(1))
                    if trig is not None:
                        self._append(seq, trig)
                        first = False
                        continue
            first = False
            if not s:
                continue
            self.ctx.sentence_no += 1
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
        if len(toks) >= 2 and toks[0] in W.PEOPLE and toks[1].endswith("s") and W.lemma(toks[1]):
            return True  # "Customer asks for a refund"
        if any(w in ("receive", "receives", "received", "get", "gets") for w in toks[:4]):
            return True  # "each CV we receive", "an order is received"
        if (
            len(toks) >= 2
            and text.strip()[:1].isupper()
            and toks[1] in ("sends", "posts", "calls", "pushes", "emits", "publishes", "reports", "raises")
        ):
            return True  # "GitHub sends a webhook", "Stripe posts an event"
        return (
            len(toks) >= 2
            and toks[0] in ("a", "an", "the", "someone", "somebody", "any", "somebody")
            and any(
                w.endswith("s") and not w.endswith("ss") and i >= (1 if toks[0] in ("someone", "somebody") else 2)
                for i, w in enumerate(toks)
            )
        )
