"""Yes/no and category conditions: "if the order is paid", "if the customer is not a member", "if the
priority is high", and subjective judgements left to a model (``_nl``)."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.model import Cond, Ctx
from engine.ai.offline_translator.name_words import _AUX, _PERSON_CANON, _content, _pronoun_plural, _valid_var
from engine.ai.offline_translator.naming import Namer

_PARTICLES = frozenset("out up off in away down over back through".split())


_PRIORITISED = frozenset(
    "ticket tickets incident incidents alert alerts bug bugs issue issues request requests task tasks case cases "
    "lead leads risk priority severity urgency".split()
)


_IRREGULAR_PARTICIPLES = {"been", "done", "gone", "seen", "taken", "given", "written", "sent", "paid", "made",
                          "found", "left", "put", "set", "shut", "sold", "bought", "signed", "read", "won", "lost"}  # fmt: skip


def _participle(word: str) -> bool:
    """ "paused", "flagged", "sent", "been": the word after "has" makes a perfect tense."""
    if word in _IRREGULAR_PARTICIPLES:
        return True
    lemma = W.lemma(word)
    return word.endswith("ed") and bool(lemma) and lemma != word


class YesNoConditions:
    """The part of :class:`CondParser` that reads yes/no facts, categories and judgements."""

    ctx: Ctx
    namer: Namer

    # --- kinds
    def _nl(self, sentence: str) -> Cond:
        s = re.sub(r"\s+", " ", sentence).strip().replace('"', "'").replace("\\", "/")
        toks = W.tokens(s)
        cut = next((i for i, w in enumerate(toks) if w in W.SUBJECTIVE), len(toks))
        subject = tuple(w for w in _content(toks[:cut]) if w not in W.PRONOUNS)[-3:]
        if subject and cut < len(toks):
            self.namer.set_topic(list(subject))
        return Cond("nl", '"' + s + '"', None, s, subject)

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
        # "the marketing lead has paused it", "the payment has been flagged": a perfect tense, not possession
        words = [
            w
            for i, w in enumerate(words)
            if not (
                (w in ("has", "have", "had") and i + 1 < len(words) and _participle(words[i + 1]))
                or (w == "been" and i > 0 and words[i - 1] in ("has", "have", "had"))
            )
        ]
        # "the employee has unused vacation days" -> has_unused_vacation_days
        for i, w in enumerate(words):
            if w in ("has", "have", "had", "contains", "contain", "includes", "include") and i + 1 < len(words):
                obj = [x for x in _content(words[i + 1 :]) if x not in ("any", "some")][:3]
                subj_c = [x for x in _content(words[:i]) if x not in W.PRONOUNS]
                if (
                    w in ("has", "have", "had")
                    and obj
                    and (obj[0].endswith(("ed", "wn", "en")) or obj[0] in W.IRREGULAR)
                    and subj_c
                    and (
                        (len(obj) <= 2 and all(x in _PARTICLES for x in obj[1:]))
                        or (i + 2 < len(words) and words[i + 2] in ("the", "a", "an", "its", "their", "his", "her"))
                    )
                ):  # "when the ice has melted", "the contractor has broken the seal": a perfect tense (was has_melted)
                    self.namer.set_topic(subj_c)
                    var = _valid_var(W.snake([W.singular(x) for x in subj_c[-2:-1]] + subj_c[-1:] + obj[:2]))
                    return Cond("bool", f"{var}=={not neg}", var, not neg, tuple(subj_c))
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
        pronoun_first = bool(words) and words[0] in ("it", "they", "this", "that")  # "if it bounced"
        if len(content) == 1 and (W.lemma(content[0]) or content[0].endswith("ed")):
            # a lone verb: "reproduced" / "can't reproduce" -> reproduced
            base = W.lemma(content[0]) or content[0]
            if not content[0].endswith(("ed", "en")):
                content = [base + ("d" if base.endswith("e") else "ed")]
        verb_first = bool(W.lemma(content[0]) or content[0].endswith("ed") or content[0] in W.IRREGULAR)
        topic = self.namer.topic_words(1)
        if (subj and len(content) == 1) or (
            pronoun_first and (verb_first or len(content) == 1) and topic and topic[0] not in content
        ):
            content = topic + content  # "if it bounced" (the invoice) -> invoice_bounced; "it went viral"
        content = [W.singular(w) if (i < len(content) - 1 and not W.lemma(w)) else w for i, w in enumerate(content)]
        var = _valid_var(W.snake(content[-4:]))
        if content[:-1] and not (pronoun_first and verb_first):
            cut = next(  # "the ticket is tagged as billing": the ticket is the topic, not "ticket tagged"
                (i for i, w in enumerate(content[:-1]) if i > 0 and (w.endswith("ed") or w in W.IRREGULAR)),
                len(content) - 1,
            )
            self.namer.set_topic(content[:cut])
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
        topic = self.namer.topic_words(1)
        if (
            len(value_words) == 1
            and last in ("high", "low")
            and not self.ctx.attributes
            and topic
            and topic[-1] not in _PRIORITISED
            and topic[-1] not in W.PEOPLE
        ):  # "Check the fuel. If it is low" -> fuel_low (was priority=='low'); a ticket's "high" stays a priority
            var = _valid_var(W.snake(topic + [last]))
            return Cond("bool", f"{var}==True", var, True, tuple(topic))
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
            elif (
                pronoun
                and "they" in subj_words
                and canon in _PERSON_CANON
                and self.ctx.people
                and W.is_base_verb(word)  # "if they accept" (active), not "if they are paid" (the invoices)
            ):
                subj = [self.ctx.people]  # "send the forms to the volunteers; if they respond" -> volunteers_responded
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
