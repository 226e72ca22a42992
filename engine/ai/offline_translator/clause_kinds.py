"""What kind each clause is: a step, a condition with its body, an else branch, a parallel part
(``_clauses``/``_classify`` and the tests they use: imperative, condition-like, categorical...)."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.approvals_llm import APPROVAL_ADJ, approval_of
from engine.ai.offline_translator.builder_base import BuilderBase
from engine.ai.offline_translator.comparisons import _find_cmp
from engine.ai.offline_translator.name_words import _FILLER, _content
from engine.ai.offline_translator.segmentation import (
    _COND_LEAD,
    _ELSE_LEAD,
    _ELSE_TAIL,
    _OTHERS,
    _PAR_WORDS,
    _POSTFIX,
    _SO,
    AMOUNT,
)

_OTHER_SEGMENT = re.compile(
    r"^(?:all\s+)?(?:other|remaining)\s+\w+(?:\s+\w+)?$|^(?:the\s+rest|everyone\s+else|everything\s+else|all\s+others|"
    r"others|anything\s+else|anyone\s+else)$",
    re.I,
)

# words a condition's verb follows, never a body's (apostrophes dropped): "doesn't reply", "has paid",
# "get back", "to approve", "the review"
_NOT_BEFORE_BODY = frozenset(
    "to is are was will can does do should not the a doesnt dont didnt wont cant cannot isnt arent wasnt "
    "werent hasnt havent hadnt shouldnt wouldnt couldnt mustnt did has have had would could must may might "
    "never get gets got".split()
)


def _them_is_segment(head: str, body: str) -> str:
    """ "Legal letters: forward them to counsel" -> "forward the letters to counsel": 'them' right after the
    verb of a segment whose head is a plural noun is that segment's items."""
    items = [w for w in W.tokens(head) if not W.is_noise(w)]
    verb = body.split()[0].lower() if body.split() else ""
    imperative = W.is_base_verb(verb) or (verb.isalpha() and W.lemma(verb) is None and not W.is_noise(verb))
    if items and W.singular(items[-1]) != items[-1] and re.match(r"^\w+\s+them\b", body, re.I) and imperative:
        return re.sub(r"\bthem\b", f"the {items[-1]}", body, count=1, flags=re.I)
    return body


# a bulk action on plural items picked by their age: "delete backups older than 30 days"
_BULK_BY_AGE = re.compile(
    r"\b(?:delete|purge|remove|archive|clean\s+up|clean|expire|prune|drop|trim|rotate|compress|move)\s+"
    r"(?:all\s+|the\s+|any\s+|old\s+)?(?:[a-z]+\s+)?(?P<noun>[a-z]+s)\s*$",
    re.I,
)
_AGE = re.compile(r"\b(?:older|newer|younger)\b|\b(?:days?|weeks?|months?|years?|hours?)\b", re.I)


# a clause led by a range: "Between 1000 and 10000 the department head approves", "for amounts from 1k to
# 10k, …" (the ranged value is the one the sibling conditions compare)
_RANGE_LEAD = re.compile(
    r"^(?:for\s+|with\s+)?(?:(?:the\s+)?(?:amounts?|values?|totals?|anything|everything|requests?|orders?|ones?|those|"
    rf"claims?|invoices?|purchases?|expenses?)\s+)?(?:between|from)\s+(?P<low>{AMOUNT})\s+"
    rf"(?:and|to|&and&)\s+(?P<high>{AMOUNT})\b\s*[,:]?\s*(?P<rest>.*)$",
    re.I,
)


# "flag any transaction" (above 10000 …): a step over each item a comparison picks
_ACT_ON_ANY = re.compile(
    r"^(?P<act>[a-z]+(?:\s+(?:up|out|off|back|down))?)\s+(?:any|every|each)\s+(?P<noun>[a-z]+)$", re.I
)
# "flag any order where the total is", "tag every ticket whose age is": the step and what it compares
_WHERE_THE = re.compile(
    r"^(?P<act>.+?)\s+(?:(?:where\s+(?:the|its|their)|whose)\s+(?P<what>[a-z]+(?:\s+[a-z]+)?\s+(?:is|are|was|were))|"
    r"(?:that|which|with)\s+(?:has\s+|have\s+)?(?:a|an|the)\s+(?P<had>[a-z]+(?:\s+[a-z]+)?))$",
    re.I,
)


class ClauseKinds(BuilderBase):
    """The part of :class:`ClauseReader` that splits a sentence into clauses and classifies each."""

    def _clauses(self, s: str) -> list[tuple[str, str | None, str, bool]]:
        """Split a sentence into (kind, condition text, body text, negate) clauses."""
        protected = re.sub(r"\bbetween\s+(\S+)\s+and\s+", r"between \1 &and& ", s, flags=re.I)
        # "Fetch the rates; if that fails, use the file": a condition after ";" starts a new clause
        protected = re.sub(
            r"\s*;\s*(?=(?:and\s+|but\s+)?(?:if|when|should|in\s+case|unless|otherwise|else|failing\s+that)\b)",
            ", ",
            protected,
            flags=re.I,
        )
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
                if current is not None:  # "then" is kept: a fallback that stands in for a step ends there
                    joint = ", then " if then else ", "
                    current[2] = (current[2] + joint + body).strip(", ") if current[2] else body
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

    def _declarative_steps(self, text: str) -> bool:
        """ "HR exports the hours, finance checks them …": a clause with its own subject, verb and object."""
        verb, _particle, obj, subject = self.namer.analyse(re.split(r",|\band\b", text)[0])
        return verb is not None and bool(_content(subject)) and bool(_content(obj) or obj)

    def _title_noun_phrase(self, left: str) -> bool:
        """ "Vendor payments: export them to the ERP": a noun phrase before a colon at the start of the text,
        with no sibling segment ("VIP customers: … Other customers: …") and no earlier step, is a title; one
        after earlier steps or beside a sibling ("Other customers:", the same head noun) is a segment."""
        left = left.strip()
        toks = W.tokens(left)
        if (
            self.ctx.done_names
            or left.endswith("?")
            or _find_cmp(left)
            or _OTHERS.match(left)
            or any(w in W.PREDICATES for w in toks)
            or not toks
            or self.namer.analyse(left)[0] is not None
        ):
            return False
        head = W.singular(toks[-1])
        for other in self.ctx.colon_heads:
            if other == left.lower():
                continue
            other_toks = W.tokens(other)
            if _OTHERS.match(other) or (other_toks and W.singular(other_toks[-1]) == head):
                return False
        return True

    def _condlike(self, left: str) -> bool:
        """A short phrase that reads as a condition ("high", "amount 5k or more", "Can't reproduce?")."""
        left = left.strip()
        if _PAR_WORDS.search(left):
            return False  # "train three models in parallel: …" introduces the branches
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
        m = _RANGE_LEAD.match(s)
        if m:  # "Between 1000 and 10000 the department head approves" ("Between 1000 and 10000, …": what follows)
            return "if", f"between {m.group('low')} and {m.group('high')}", m.group("rest").strip(), False
        m = re.match(rf"^(\w+)\s+(?:all\s+|the\s+)?({APPROVAL_ADJ})\s+(.+)$", s, re.I)
        if m and W.is_base_verb(m.group(1).lower()) and self.ctx.approval_seen:
            return "if", m.group(2), f"{m.group(1)} {m.group(3)}", False
        m = re.match(
            rf"^(?:the\s+|all\s+)?({APPROVAL_ADJ})\s+(\w+(?:\s+\w+)?)\s+((?:are|is|get|gets|go|goes|will\s+be)\b.*)$",
            s,
            re.I,
        )
        if m and self.ctx.approval_seen:
            return "if", m.group(1), f"{m.group(2)} {m.group(3)}", False
        m = re.match(r"^([^:]{1,60}?)(?::|\s->)\s*(.+)$", s)
        if m and not _COND_LEAD.match(s) and not _ELSE_LEAD.match(s) and _OTHER_SEGMENT.match(m.group(1).strip()):
            items = [w for w in _content(W.tokens(m.group(1))) if w not in ("other", "remaining", "all")]
            if items and W.singular(items[-1]) != items[-1]:
                self.namer.set_topic(items)  # "Other alerts: add them to the digest": them = the other alerts
            body = _them_is_segment(m.group(1), m.group(2).strip())
            return "else", None, body, False  # "Other customers: add to the normal queue"
        if m and not _COND_LEAD.match(s) and not _ELSE_LEAD.match(s) and self._condlike(m.group(1)):
            return "if", m.group(1).strip().rstrip("?"), _them_is_segment(m.group(1), m.group(2)), False
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
                if (
                    kw in ("when", "whenever")
                    and any(w in W.ARRIVAL_VERBS for w in W.tokens(rest.split(",")[0])[1:5])
                    and not _find_cmp(rest.split(",")[0])
                ):  # "When a new file appears in the bucket, validate it": the event, not a condition
                    return "plain", None, rest.split(",", 1)[1].strip() if "," in rest else "", False
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
            every = _ACT_ON_ANY.match(head)
            if every and tail and self.namer.analyse(every.group("act"))[0] is not None:
                # "Flag any transaction above 10000 for review by compliance": flag it when it is above 10000
                noun = every.group("noun")
                return "if", f"the {noun} is {s[start:end]}", f"{every.group('act')} the {noun} {tail}", False
            if not head or re.fullmatch(r"(?:if|when|for|with|at|scores?|amounts?|values?|it is|it's)", head, re.I):
                if tail and (self._imperative(tail) or approval_of(tail) is not None):
                    return "if", s[:end], tail, False  # "above 10000 the CFO signs off": an approval
                if not tail:  # "for amounts over 5000," / "above that,": the clause after it is what happens then
                    return "if", s[:end], "", False
            elif not tail and (bulk := _BULK_BY_AGE.search(head)) and _AGE.search(s[start:end]):
                # "delete backups older than 30 days": which items the step acts on, not a condition
                age = "old" if re.search(r"\bolder\b|\bover\b|\bmore\s+than\b", s[start:end], re.I) else "recent"
                return "plain", None, f"{head[: bulk.start('noun')]}{age} {bulk.group('noun')}", False
            elif not tail and self.namer.analyse(head)[0] is not None:
                rel = _WHERE_THE.match(head)
                act_words = _content(W.tokens(rel.group("act"))) if rel else []
                if rel and act_words and self.namer.analyse(rel.group("act"))[0] is not None:
                    # "Flag any order where the total is over 500": flag the order when the order total is
                    noun = W.singular(act_words[-1])
                    what = rel.group("what") or f"{rel.group('had')} is"
                    return "postfix", f"the {noun} {what} {s[start:]}", rel.group("act"), False
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
        words = [re.sub(r"[^a-z]", "", t.lower()) for t in toks]
        for i in range(3, len(toks) - 2):
            # "if the laptop is over budget the manager has to ok it": a person starts what happens then
            if (
                words[i] in ("the", "a", "an", "our", "your", "their")
                and W.singular(words[i + 1]) in W.PEOPLE
                and any(w in ("is", "are", "was", "were", "has", "have", "gets", "get") for w in words[1:i])
                and words[i - 1] not in ("and", "or", "but", "if", "whether", "when", "unless")
                and words[i + 2] not in ("is", "are", "was", "were")  # "… and the customer is new": a condition
                and (W.lemma(words[i + 2]) or words[i + 2] in ("must", "should", "has", "have", "needs", "will", "can"))
            ):
                return " ".join(toks[:i]), " ".join(toks[i:])
        for i in range(1, len(toks)):
            w = re.sub(r"[^a-z]", "", toks[i].lower())
            if W.is_base_verb(w) and w not in W.COND_VERBS:
                head = [re.sub(r"[^a-z_]", "", t.lower()) for t in toks[:i]]
                if not any(
                    h in W.PREDICATES
                    or (W.lemma(h) and W.lemma(h) != h)
                    or h in W.CATEGORY_ADJ
                    or h in W.LEVEL_WORDS
                    or h.endswith("er")
                    for h in head
                ) and not re.search(r"\d", " ".join(toks[:i])):
                    continue  # "they decline": the condition has no predicate yet
                prev = head[-1]
                if (
                    prev.endswith("s")
                    and W.lemma(prev) not in (None, prev)
                    and prev not in ("is", "was", "has", "does")
                ):
                    continue  # "if the customer mentions price": the word after its verb is the verb's object
                if prev in _NOT_BEFORE_BODY:  # "if the customer doesn't reply within 2 days": a verb after
                    continue  # an auxiliary belongs to the condition ("customer" ends in -er like a comparative)
                if prev in ("no", "any", "an", "some", "every", "each", "this", "that", "its", "their", "our"):
                    continue  # "if there is still no answer after 3 days": a noun after a determiner
                if prev in W.CATEGORY_ADJ and i >= 2 and head[-2] in ("the", "a", "an", "their", "its", "our"):
                    continue  # "if the customer is on the premium plan": a noun after "the premium"
                return " ".join(toks[:i]), " ".join(toks[i:])
        return rest, ""
