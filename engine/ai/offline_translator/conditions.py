"""Conditions: the condition part of a clause turned into DSL expressions (yes/no, numbers, categories, subjective judgements)."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.comparisons import _find_cmp
from engine.ai.offline_translator.conditions_numeric import NumericConditions, _subject_var
from engine.ai.offline_translator.conditions_yesno import YesNoConditions
from engine.ai.offline_translator.model import Cond, Ctx
from engine.ai.offline_translator.name_words import _content, _valid_var
from engine.ai.offline_translator.naming import Namer
from engine.errors import DSLError

# ---------------------------------------------------------------------------------------------
# conditions

_ERROR_COND = re.compile(
    r"^(?:(?:any|a|some|one)\s+(?:of\s+(?:the|these|those)\s+)?(?:step|task|stage|part|action|"
    r"check|job|operation)s?(?:\s+of\s+(?:these|them|the steps))?|anything|something|any of "
    r"(?:these|them|the above|those)|there (?:is|are) an? (?:error|failure|problem|exception)s?)"
    r"(?:\s+(?:fails?|failed|errors?|goes wrong|breaks|crashes|times out))?$|"
    r"^(?:an? |any )?(?:error|failure|exception|problem)s?(?: occurs?| happens?| is raised)?$|"
    r"^(?:anything|something) goes wrong$",
    re.I,
)


_COMPOUND = re.compile(
    r"\s+(and|or)\s+(?=(?:the|a|an|all|any|every|it|they|there|its|their|his|her|this|that|we|no)\b)", re.I
)
_COMBINABLE = ("bool", "num", "cat", "expr")
_NEGATED = re.compile(r"\b(?:no|not|nobody|nothing|never|none|without)\b|n't\b", re.I)
_DEADLINE = re.compile(
    r"\s*\b(?:within|after|in|by|for)\s+(?:(?:the\s+)?(?:next|first)\s+)?(?:\d+|a|an|one|two|three|four|five|six|seven|"
    r"ten|fourteen|thirty|24|48|72)\s+(?:business\s+|working\s+)?(?:minute|hour|day|week|month|year)s?\b|"
    r"\s*\bby\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|noon|midnight|"
    r"the\s+(?:end|close)\s+of\s+(?:the\s+)?(?:day|week|month|quarter))\b",
    re.I,
)


_VAGUE_AMOUNTS = frozenset(
    "few several couple some many lot lots bit little while day days hour hours minute minutes week weeks month "
    "months year years second seconds time times".split()
)
_METRICS = frozenset("sales revenue conversions signups orders visits views clicks bookings nps churn".split())
# the baseline of a change without a number: "(it dropped) compared with last week" names no variable
_CHANGE_BASELINE = re.compile(
    r"\b(?P<change>dropped|fell|rose|increased|decreased|declined|grew|changed|improved|worsened|up|down)"
    r"\s+(?:compared\s+(?:with|to)|versus|vs\.?|relative\s+to|from|since|against)\s+"
    r"(?:last|the\s+(?:previous|prior|last|same)|yesterday|the\s+day\s+before|a\s+\w+\s+ago)\b.*$",
    re.I,
)
# "<subject> is <a.dotted.name>": the event names of webhooks (invoice.paid, customer.subscription.deleted)
_DOTTED = re.compile(
    r"(?P<subject>(?:(?:the|its|their|this|that)\s+)?[A-Za-z][\w\s-]{0,40}?|it|they|this)\s+"
    r"(?:is|was|equals|==|is\s+equal\s+to|matches|reads)\s+(?P<neg>not\s+)?[\"'`]?"
    r"(?P<value>[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)+)[\"'`]?",
    re.I,
)


class CondParser(NumericConditions, YesNoConditions):
    def __init__(self, ctx: Ctx, namer: Namer):
        self.ctx = ctx
        self.namer = namer

    def parse(self, text: str, siblings: list[Cond]) -> Cond:
        """The condition of ``text``; "it" right after another condition and its one-step branch (two steps in
        its sentence) is that condition's subject ("if the invoice is overdue, send a reminder; if it is disputed,
        …": the invoice)."""
        pronoun = bool(re.match(r"^\s*(?:it|they|this)\b", text, re.I))
        done = len(self.ctx.done_names)
        if pronoun and self.ctx.last_cond:
            since = done - self.ctx.last_cond[1]
            in_branch = all(n == self.ctx.last_cond[2] for n in self.ctx.action_sentence[self.ctx.last_cond[1] :])
            if since <= 1 or (since == 2 and in_branch):  # a two-step branch in the condition's own sentence
                self.namer.set_topic(list(self.ctx.last_cond[0]))
        cond = self._parse(text, siblings)
        if cond.subject and cond.kind in ("bool", "cat", "num"):
            self.ctx.last_cond = (tuple(cond.subject), done, self.ctx.sentence_no)
        return cond

    def _parse(self, text: str, siblings: list[Cond]) -> Cond:
        t = text.strip().strip(",.:;").strip()
        t = re.sub(r"^(?:that|the case that|it is the case that)\s+", "", t, flags=re.I)
        t = re.sub(r"\s+(?:then|do this|do the following)$", "", t, flags=re.I)
        quoted = re.fullmatch(r'"([^"]+)"|\'([^\']+)\'', t)
        if quoted:
            return self._nl(quoted.group(1) or quoted.group(2))
        if _ERROR_COND.match(t.lower()):
            return Cond("error", "@error")
        toks_t = W.tokens(t)
        if any(w in W.QUANTITY or w in _METRICS for w in toks_t):  # "sales went down": a drop, not an outage
            t = re.sub(r"\bwent\s+down\b", "dropped", re.sub(r"\bwent\s+up\b", "rose", t, flags=re.I), flags=re.I)
        if _CHANGE_BASELINE.search(t) and _find_cmp(t) is None:  # "it dropped compared with last week"
            t = _CHANGE_BASELINE.sub(r"\g<change>", t).strip()
        dotted = self._dotted_value(t, siblings)
        if dotted is not None:
            return dotted
        compound = self._compound(t, siblings)
        if compound is not None:
            return compound
        deadline = _DEADLINE.search(t)
        if deadline is not None and _NEGATED.search(t):  # "no reply within 2 days": a deadline, not a number
            when = deadline.group(0).strip()
            self.ctx.notes.append(f"'{when}' is a deadline: set it as the waiting step's timeout (not a condition)")
            t = _DEADLINE.sub(" ", t).strip()
        direct = self._direct_expr(t)
        if direct is not None:
            return direct
        cmp = _find_cmp(t)
        if cmp is not None:
            return self._numeric(t, cmp, siblings)
        rel = self._relation(t)
        if rel is not None:
            return rel
        toks = W.tokens(t)
        if any(w in W.SUBJECTIVE for w in toks) or re.search(r"\blike (?:a|an)\b", t, re.I):
            return self._nl(t)
        t2 = re.sub(
            r"\b(?:within|in|for|after|before|by)\s+(?:a|an|one|the next|\d+)\s+(?:minute|hour|day|week|month|"
            r"year|business day|working day)s?\b|\b(?:still|yet|already|ever|anymore|any more|by then|in time)\b",
            " ",
            t,
            flags=re.I,
        )
        return self._boolean(W.tokens(t2), siblings, t)

    def _dotted_value(self, t: str, siblings: list[Cond]) -> Cond | None:
        """ "the event type is invoice.paid": a dotted name (a webhook's event, a feature flag) is one
        value compared as text (was a flag named type_invoice_paid). "it is …" after such a condition
        compares the same variable."""
        m = _DOTTED.fullmatch(t)
        if m is None:
            return None
        value = m.group("value")  # an identifier: compared exactly as written
        words = [w for w in _content(W.tokens(m.group("subject"))) if w not in W.PRONOUNS]
        if words:
            var = _valid_var(W.snake(words[-2:]))
            subject: tuple = tuple(words[-2:])
        else:
            cats = [c for c in siblings if c.kind == "cat" and c.var]
            if not cats:
                return None
            var, subject = cats[-1].var or "", cats[-1].subject
        negate = bool(m.group("neg"))
        op = "!=" if negate else "=="
        return Cond("cat", f"{var}{op}{value!r}", var, value, subject)

    def _compound(self, t: str, siblings: list[Cond]) -> Cond | None:
        """ "all tests pass and the release manager has approved", "the total exceeds 500 dollars or the customer
        is new": two conditions joined by and / or (each side read on its own)."""
        parts = _COMPOUND.split(t, maxsplit=1)
        if len(parts) != 3 or len(W.tokens(parts[0])) < 2 or len(W.tokens(parts[2])) < 2:
            return None
        left, op, right = parts
        a = self.parse(left, siblings)
        b = self.parse(right, [])
        if a.kind not in _COMBINABLE or b.kind not in _COMBINABLE or a.text == b.text:
            return None
        text = f"{a.text} {op.lower()} {b.text}"
        from engine.dsl.parser import parse

        try:
            parse(f"a->b:{text};")
        except DSLError:
            return None
        return Cond("expr", text, a.var, None, a.subject)

    def _relation(self, t: str) -> Cond | None:
        """ "the repair cost exceeds the car's value" -> repair_cost>car_value (two named values compared)."""
        m = re.match(
            r"^(.+?)\s+(?:is\s+|are\s+)?(exceeds?|exceeding|(?:greater|more|higher|larger|bigger) than|"
            r"(?:less|lower|smaller|fewer) than|(?:is\s+)?(?:above|below|over|under)|equals?|"
            r"is equal to)\s+(.+)$",
            t,
            re.I,
        )
        if not m or re.search(r"\d", m.group(3)):
            return None
        if all(w in _VAGUE_AMOUNTS for w in _content(W.tokens(m.group(3)))):
            return self._nl(t)  # "the delay is more than a few days": a judgement, no value (was delay>few_days)
        left = _subject_var(W.tokens(m.group(1)), 3)
        right = _subject_var(W.tokens(m.group(3)), 3)
        if not left or not right or len(_content(W.tokens(m.group(3)))) > 4:
            return None
        word = m.group(2).lower()
        op = (
            ">"
            if re.search(r"exceed|greater|more|higher|larger|bigger|above|over", word)
            else "<"
            if re.search(r"less|lower|smaller|fewer|below|under", word)
            else "=="
        )
        a, b = _valid_var(W.snake(left)), _valid_var(W.snake(right))
        if a == b:
            return None
        self.namer.set_topic(left)
        return Cond("expr", f"{a}{op}{b}", a, None, tuple(left))

    def _direct_expr(self, t: str) -> Cond | None:
        if not re.search(r"==|!=|<=|>=|<|>|\bin\s*\[|\bnot in\b", t):
            return None
        from engine.dsl.parser import parse

        cand = t.replace("<DOT>", ".")
        cand = re.sub(r"(?<![=!<>])=(?!=)", "==", cand)
        cand = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", cand))
        cand = re.sub(r"[$€£]", "", cand)
        try:
            model = parse(f"a->b:{cand};")
        except DSLError:
            return None
        cond = model.transitions[0].condition
        if cond is None or cond.kind != "expr":
            return None
        variables = cond.variables
        return Cond("expr", cond.text, variables[0] if variables else None, None, tuple(variables[:1]))
