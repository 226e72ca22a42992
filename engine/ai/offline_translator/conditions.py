"""Conditions: the condition part of a clause turned into DSL expressions (yes/no, numbers, categories, subjective judgements)."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.comparisons import _AGE_WORDS, _TIME_UNITS, _find_cmp, _fmt, _number
from engine.ai.offline_translator.model import Cond, Ctx
from engine.ai.offline_translator.naming import _AUX, _PERSON_CANON, Namer, _content, _pronoun_plural, _valid_var
from engine.errors import DSLError

_PARTICLES = frozenset("out up off in away down over back through".split())

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


_PRIORITISED = frozenset(
    "ticket tickets incident incidents alert alerts bug bugs issue issues request requests task tasks case cases "
    "lead leads risk priority severity urgency".split()
)


def _subject_var(words: list[str], n: int = 2) -> list[str]:
    content = [W.singular(w) if i < len(words) - 1 else w for i, w in enumerate(_content(words))]
    content = [w for w in content if w not in W.PRONOUNS]
    return content[-n:]


_MEASURE_UNITS = {"mb", "gb", "kb", "tb", "percent", "degree", "km", "kg", "mile", "meter", "metre", "point"}
_HAVE = {"has", "have", "had", "contains", "contain", "includes", "include", "holds", "hold", "lists", "list"}


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
_IRREGULAR_PARTICIPLES = {"been", "done", "gone", "seen", "taken", "given", "written", "sent", "paid", "made",
                          "found", "left", "put", "set", "shut", "sold", "bought", "signed", "read", "won", "lost"}  # fmt: skip


def _participle(word: str) -> bool:
    """ "paused", "flagged", "sent", "been": the word after "has" makes a perfect tense."""
    if word in _IRREGULAR_PARTICIPLES:
        return True
    lemma = W.lemma(word)
    return word.endswith("ed") and bool(lemma) and lemma != word


class CondParser:
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

    # --- kinds
    def _nl(self, sentence: str) -> Cond:
        s = re.sub(r"\s+", " ", sentence).strip().replace('"', "'").replace("\\", "/")
        toks = W.tokens(s)
        cut = next((i for i, w in enumerate(toks) if w in W.SUBJECTIVE), len(toks))
        subject = tuple(w for w in _content(toks[:cut]) if w not in W.PRONOUNS)[-3:]
        if subject and cut < len(toks):
            self.namer.set_topic(list(subject))
        return Cond("nl", '"' + s + '"', None, s, subject)

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

    def _numeric(self, t: str, cmp, siblings: list[Cond]) -> Cond:
        op, m, start, end = cmp
        before = W.tokens(t[:start])
        after = W.tokens(t[end:])
        num, cur, unit = _number(m)
        counted = self._counted(before, after, unit, cur)
        if counted is not None:  # "there are at least 3 items" -> item_count>=3
            return self._num_cond(op, m, _valid_var(f"{counted}_count"), ())
        extra: list[str] = []
        verb_noun = {
            "scores": "score",
            "score": "score",
            "costs": "cost",
            "cost": "cost",
            "weighs": "weight",
            "totals": "total",
            "earns": "earnings",
            "rates": "rating",
            "takes": "duration",
            "lasts": "duration",
            "has": None,
            "have": None,
            "contains": None,
            "includes": None,
        }
        subj: list[str] = []
        for w in before:
            if w in verb_noun:
                if verb_noun[w]:
                    extra = [verb_noun[w]]
                continue
            if w in _AUX or w in (
                "is",
                "are",
                "does",
                "do",
                "reaches",
                "reach",
                "hits",
                "exceed",
                "goes",
                "go",
                "falls",
                "fall",
                "drops",
                "rises",
                "stays",
                "remains",
                "comes",
                "if",
                "when",
            ):
                continue
            subj.append(w)
        subj = _subject_var(subj, 3)
        if any(w in ("has", "have", "contains", "includes") for w in before) and unit and not extra:
            extra = [unit + ("s" if not unit.endswith("s") else "")]
        if not subj and not extra:
            after_c = [w for w in _content(after) if w not in _AUX]
            if unit and after_c and not siblings:
                subj = after_c[:2] + [unit if unit in ("percent", "mb", "gb", "kb") else unit + "s"]
                unit = None
            elif unit is None and after_c and m.group(0).strip()[0].isalpha() and not siblings:
                subj = [w for w in after_c if not W.lemma(w)][:2]
        var_words = subj + extra
        has_qty = any(w in W.QUANTITY for w in var_words)
        if not var_words:
            same = [s for s in siblings if s.kind == "num" and s.var]
            if same:
                return self._num_cond(op, m, same[-1].var, same[-1].subject)
            if self.ctx.quantity_var:
                return self._num_cond(op, m, self.ctx.quantity_var, ())
            topic = self.namer.topic_words(1)
            var_words = topic
            has_qty = False
        if unit == "percent" and has_qty and var_words[-1] != "percent":
            var_words = var_words + ["percent"]
        if not has_qty:
            if _AGE_WORDS.search(t):
                var_words = var_words + ["age"] + ([unit + "s"] if unit in _TIME_UNITS else [])
            elif cur:
                var_words = var_words + ["amount"]
            elif unit in ("mb", "gb", "kb", "tb"):
                var_words = var_words + ["size", unit]
            elif unit == "degree":
                var_words = var_words + ["temperature"] if var_words else ["temperature"]
            elif unit in _TIME_UNITS:
                var_words = var_words + [unit + "s"]
            elif unit == "percent":
                var_words = var_words + ["percent"]
            elif unit:
                var_words = var_words + [unit + "s"]
            elif var_words and (
                var_words[-1] in W.PEOPLE
                or re.search(r"\b(?:scor|grad|rat|rank|mark|evaluat|assess)", self.ctx.prev_action, re.I)
            ):
                var_words = var_words + ["score"]
            elif var_words:
                var_words = var_words + ["value"]
            elif not var_words:
                var_words = ["value"]
        if len(var_words) > len(subj):
            var_words = [W.singular(w) for w in var_words[: len(subj)]] + var_words[len(subj) :]
        var = _valid_var(W.snake(var_words[-3:]))
        if subj and not any(w in W.QUANTITY for w in subj):
            self.namer.set_topic(subj)
        return self._num_cond(op, m, var, tuple(subj))

    @staticmethod
    def _counted(before: list[str], after: list[str], unit: str | None, cur: bool) -> str | None:
        """The thing counted in "there are at least 3 items", "it has more than 10 lines", "fewer than 3
        reviewers have signed off" (the noun after the number, with no other subject to measure)."""
        if cur or unit in _MEASURE_UNITS or unit in _TIME_UNITS:
            return None
        noun = unit
        if noun is None and after:
            w = after[0]
            if len(w) > 3 and w.endswith("s") and not w.endswith("ss") and W.singular(w) != w and w not in W.QUANTITY:
                noun = W.singular(w)
        if noun is None or noun in W.QUANTITY or not noun.isalpha():
            return None
        lead = [w for w in before if w not in ("if", "when", "whenever", "only", "once", "and", "but")]
        if lead and not any(w in _HAVE or w == "there" for w in lead):
            return None  # "the score is above 3 points": a measured value, not a count
        owner = [w for w in _content(lead) if w not in _AUX and w not in _HAVE and w != "there"]
        owner = [w for w in owner if w not in W.PRONOUNS]
        if owner and W.singular(owner[-1]) != noun:
            return f"{W.singular(owner[-1])}_{noun}"  # "the basket contains at least 5 items" -> basket_item
        return noun

    def _num_cond(self, op: str, m: re.Match, var: str, subject) -> Cond:
        if op == "between":
            a, _, _ = _number(m)
            b, _, _ = _number(m, "2")
            lo, hi = min(a, b), max(a, b)
            return Cond("num", f"{_fmt(lo)}<={var}<={_fmt(hi)}", var, None, tuple(subject), "between", lo)
        num, _, _ = _number(m)
        return Cond("num", f"{var}{op}{_fmt(num)}", var, None, tuple(subject), op, num)

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
