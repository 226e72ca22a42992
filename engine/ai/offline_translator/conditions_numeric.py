"""Number conditions: comparisons of amounts, counts, ages and durations ("more than 3 items", "older than 18")."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.comparisons import _AGE_WORDS, _TIME_UNITS, _fmt, _number
from engine.ai.offline_translator.model import Cond, Ctx
from engine.ai.offline_translator.name_words import _AUX, _content, _valid_var
from engine.ai.offline_translator.naming import Namer


def _subject_var(words: list[str], n: int = 2) -> list[str]:
    content = [W.singular(w) if i < len(words) - 1 else w for i, w in enumerate(_content(words))]
    content = [w for w in content if w not in W.PRONOUNS]
    return content[-n:]


_MEASURE_UNITS = {"mb", "gb", "kb", "tb", "percent", "degree", "km", "kg", "mile", "meter", "metre", "point"}


_HAVE = {"has", "have", "had", "contains", "contain", "includes", "include", "holds", "hold", "lists", "list"}


class NumericConditions:
    """The part of :class:`CondParser` that reads number comparisons."""

    ctx: Ctx
    namer: Namer

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
            # "leads scoring 8 or more", "orders totaling over 500": the measure the participle names
            "scoring": "score",
            "totaling": "total",
            "totalling": "total",
            "costing": "cost",
            "weighing": "weight",
            "earning": "earnings",
            "lasting": "duration",
            "taking": "duration",
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
        acted = next(
            (
                i
                for i, w in enumerate(subj)
                if 0 < i < len(subj) - 1 and subj[i - 1] in W.PEOPLE and w.endswith("s") and W.lemma(w) not in (None, w)
            ),
            None,
        )
        if acted is not None:  # "a customer places an order over 1000 euros": the order's amount
            subj = subj[acted + 1 :]
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
        if unit in _TIME_UNITS and has_qty and W.singular(var_words[-1]) not in _TIME_UNITS:
            # "takes more than 30 minutes" -> export_duration_minutes>30 (was export_duration>30: in what?)
            var_words = var_words + [{"min": "minute", "sec": "second"}.get(unit, unit) + "s"]
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
