"""Sentences into clauses: sequence, condition and parallel cues, classification of each clause."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.approvals_llm import _AI_SUBJECT, _AI_USE
from engine.ai.offline_translator.clause_rewrite import SentenceRewrite
from engine.ai.offline_translator.model import Act, Cond, Decision, Par, Until
from engine.ai.offline_translator.name_words import _SUM_WORDS, _content, _valid_name, _valid_var
from engine.ai.offline_translator.retries import ON_FAILURE
from engine.ai.offline_translator.segmentation import (
    _AFTER_GERUND,
    _AFTER_NOUN,
    _BEFORE,
    _COND_LEAD,
    _CONNECTOR,
    _CONT,
    _DEPENDING,
    _ELSE_LEAD,
    _META,
    _PAR_LEAD,
    _PAR_WORDS,
    _SCHEDULE,
    _WORD_NUMBERS,
)

_EITHER_BY = re.compile(
    r"^(?P<do>.+?)\s+(?P<how>by|via|through|over|on|in|with|using|to)\s+(?:the\s+)?(?P<a>[\w-]+(?:\s+[\w-]+)?)\s+or\s+"
    r"(?:(?:by|via|with|to|in|on|into|through|using|over)\s+)?(?:the\s+)?(?P<b>[\w-]+(?:\s+[\w-]+)?)\s*,?\s+"
    r"(?:depending\s+(?:on|upon)|based\s+on|according\s+to|in\s+line\s+with)\s+"
    r"(?:the\s+|their\s+|its\s+|his\s+|her\s+|our\s+)?(?P<attr>[\w\s'’-]{2,40})$",
    re.I,
)

_EARLIER_STEPS = re.compile(r"^(.+?)(?:,?\s+and\s+then|,\s*then|;\s*then|;|,\s+and)\s+(.+)$", re.I)

# "Fetch the rates, then in parallel, notify sales and update the CRM": the parallel work starts a new
# sentence of its own after the steps before it (read as "In parallel, …")
_THEN_IN_PARALLEL = re.compile(
    r"(?:\s*[,;]\s*(?:and\s+)?|\s+and\s+)(?:then|after\s+that|afterwards|next)\s*,?\s*"
    r"(?=(?:in\s+parallel|at\s+the\s+same\s+time|simultaneously|concurrently)\b)",
    re.I,
)

# "After 30 days, …", "Two hours later, …": a wait, then the rest of the sentence
_DELAY = (
    r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fourteen|fifteen|twenty|thirty|forty|"
    r"forty-eight|sixty|ninety|\d+)\s+(?:more\s+)?(?:business\s+|working\s+|calendar\s+)?"
    r"(?:minutes?|hours?|days?|weeks?|months?)"
)
_AFTER_DELAY = re.compile(
    rf"^(?:(?:after|following)\s+(?P<d1>{_DELAY})|(?P<d2>{_DELAY})\s+later)\s*,\s*(?P<rest>.+)$", re.I
)


# a sequence word after the branches of a leading "In parallel, …": what follows runs after the join
_THEN_AFTER_PAR = re.compile(
    r"\s*[,;]\s*(?:and\s+)?(?:then|after\s+that|afterwards|finally|next)\b[\s,]*|\s+and\s+then\b[\s,]*", re.I
)


# "pull A and B in parallel, join them, and build …": what follows the parallel words runs after the join
_PAR_THEN_MORE = re.compile(
    r"^(?P<par>.+?\b(?:in\s+parallel|at\s+the\s+same\s+time|simultaneously|concurrently))\s*,\s*(?:and\s+)?(?P<rest>.+)$",
    re.I,
)
_COUNT_WORDS = {"both": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_PARALLEL_AFTERWARDS = re.compile(
    r"^(?:(?:all|the|these|those)\s+)?(?:(?P<n>both|two|three|four|five|six)(?:\s+of\s+(?:them|these))?|these(?:\s+\w+)?|they|"
    r"all\s+of\s+(?:them|these|this)|the\s+(?:two|three|four|five)\s+\w+|this)\s+"
    r"(?:steps\s+|tasks\s+)?(?:can|should|will|may|must)?\s*(?:all\s+)?(?:happen|run|be\s+done|go|take\s+place|"
    r"are\s+done|are\s+independent(?:\s+and\s+can\s+run)?)\s+"
    r"(?:in\s+parallel|at\s+the\s+same\s+time|simultaneously|concurrently)$",
    re.I,
)
# "…; do all three in parallel", "Run both at the same time.", "Do these steps concurrently.": the same, as an order
_PARALLEL_AFTERWARDS_DO = re.compile(
    r"^(?:please\s+)?(?:do|run|perform|execute|handle|carry\s+out)\s+(?:(?:all|the|these|those)\s+)?"
    r"(?:(?P<n>both|two|three|four|five|six)(?:\s+of\s+(?:them|these))?|them(?:\s+all)?|these|those|"
    r"all\s+of\s+(?:them|these))(?:\s+(?!in\b|at\b|all\b)[a-z]+)?\s+(?:all\s+)?"
    r"(?:in\s+parallel|at\s+the\s+same\s+time|simultaneously|concurrently|at\s+once)$",
    re.I,
)
# "Two reviewers score each application independently and in parallel": one branch per person
_COUNTED_PEOPLE = re.compile(
    r"^(?P<n>two|three|four|five|2|3|4|5)\s+(?:different\s+|separate\s+|independent\s+)?(?P<who>[a-z]+)\s+"
    r"(?P<body>.+?)\s*,?\s+(?:(?:each\s+)?(?:independently|separately)\b(?:\s*,?\s*(?:and\s+)?"
    r"(?:in\s+parallel|at\s+the\s+same\s+time|simultaneously|concurrently))?|in\s+parallel|at\s+the\s+same\s+time|"
    r"simultaneously|concurrently)(?P<rest>(?:\s*[,;]\s*|\s+)(?:and\s+)?(?:then|after\s+that|afterwards|next)\b.*)?$",
    re.I,
)
# "if …, <steps> before <gerund> [object]": the gerund's step follows the decision on every path
_COND_BEFORE_GERUND = re.compile(
    r"^(?P<head>[^,]+,[^;]+?)\s+before\s+(?!giving\s+up)(?P<ger>[a-z]+ing)\b(?P<rest>[^,;]*)$", re.I
)
_RETRY_WORDS = re.compile(r"\b(?:retry|re-?try|try\s+again)\b", re.I)
_PERSON_ENDINGS = ("ers", "ors", "ists", "ants", "ents", "ians")
_CHOICE_OF = {"to": "destination", "in": "location", "on": "location"}
_DETERMINERS = {"the", "a", "an"}
_CHOICE_WORDS = {"preference", "preferences", "choice", "channel", "method", "option", "setting", "settings", "plan"}


class ClauseReader(SentenceRewrite):
    """Sentences into clauses: sequence, condition and parallel cues, classification of each clause."""

    def sentence(self, s: str, seq: list) -> list | None:
        """Parse one sentence into ``seq``. Returns a hook list for children (dangling 'if …:'), else None."""
        s = s.strip()
        if not s:
            return None
        if self._counted_people(s, seq):
            return None
        if self._conditional_before(s, seq):
            return None
        then_par = _THEN_IN_PARALLEL.search(s) if not _COND_LEAD.match(s) else None
        if then_par is not None and then_par.start() > 0:
            self.sentence(s[: then_par.start()], seq)
            return self.sentence(s[then_par.end() :], seq)
        lead = _PAR_LEAD.match(s)
        more = _PAR_THEN_MORE.match(s) if lead is None else None
        if (
            more is not None
            and not _COND_LEAD.match(s)
            and self._imperative(more.group("par"))
            and (self._imperative(more.group("rest")) or W.tokens(more.group("rest"))[0] in _SUM_WORDS)
        ):
            self.sentence(more.group("par"), seq)  # the fan-out first: a pronoun after it names the join's results
            return self.sentence(more.group("rest"), seq)
        after_par = _THEN_AFTER_PAR.search(s, lead.end()) if lead and lead.end() < len(s) else None
        if lead and after_par and after_par.start() > lead.end() and after_par.end() < len(s):
            self.sentence(s[: after_par.start()], seq)  # "In parallel, A and B, then C": C runs after the join
            return self.sentence(s[after_par.end() :], seq)
        lead_par = False
        cont = False
        pre_steps: list = []
        changed = True
        while changed:
            changed = False
            m = _CONT.match(s)
            if m:
                cont, s, changed = True, s[m.end() :], True
            m = _PAR_LEAD.match(s)
            if m and m.end() < len(s):
                lead_par, s, changed = True, s[m.end() :], True
            m = _CONNECTOR.match(s)
            if m and m.end() > 0 and m.end() < len(s):
                s, changed = s[m.end() :], True
            m = _AFTER_GERUND.match(s)
            if m:
                pre_steps.extend(self.body(m.group(1)))
                s, changed = m.group(2), True
            m = _BEFORE.match(s)
            if m:
                s, changed = m.group(1), True
            m = _AFTER_DELAY.match(s)
            if m:  # "After 30 days, send a reminder" / "Two hours later, …": a wait before it
                pre_steps.extend(self.body(f"wait {m.group('d1') or m.group('d2')}"))
                s, changed = m.group("rest"), True
                continue
            m = _AFTER_NOUN.match(s)
            if m and not _COND_LEAD.match(s):
                s, changed = m.group(1), True
        if cont:
            last_dec = next((x for x in reversed(seq) if isinstance(x, Decision)), None)
            if last_dec is not None:
                last_dec.force_rejoin = True
        for st in pre_steps:
            self._append(seq, st)
        s = self._rewrite(s)
        s = self._categories(s)
        self.ctx.ai_span = ""
        m = _AI_USE.search(s)
        if m:
            s = (s[: m.start()] + s[m.end() :]).strip()
            span = re.split(r"\s*(?:;|\bthen\b|\bbefore\b|\bafter\b)\s*", s[m.start() :], maxsplit=1)[0]
            pieces = re.split(r"\s*,\s*", span)
            kept = [pieces[0]]
            for piece in pieces[1:]:  # "extract the supplier, amount and due date": nouns continue the span
                lead_word = (W.tokens(re.sub(r"^(?:and|or)\s+", "", piece)) or [""])[0]
                if self._imperative(re.sub(r"^(?:and|or)\s+", "", piece)) or W.lemma(lead_word):
                    break
                kept.append(piece)
            self.ctx.ai_span = re.sub(r"\s+", " ", ", ".join(kept).lower().strip())
        else:
            m = _AI_SUBJECT.match(s)
            if m:
                s = s[m.end() :]
                self.ctx.ai_span = re.sub(r"\s+", " ", re.split(r"\s*[,;]\s*", s, maxsplit=1)[0].lower())
        if _META.match(s):
            self.ctx.notes.append(f"read '{s[:80]}' as a remark, not a step")
            return None
        m = _SCHEDULE.match(s)
        if m and m.end() < len(s):
            self.ctx.notes.append(
                f"'{m.group(0).strip(' ,')}' is a schedule: run the workflow on that schedule (it is not a step)"
            )
            s = s[m.end() :]
        m = re.match(r"^(?:while|whilst|as)\s+([^,]+?),\s*(.+)$", s, re.I)
        if m and self.namer.analyse(m.group(1))[0] is not None and not _COND_LEAD.match(m.group(2)):
            first = [x for x in self.body(m.group(1), False) if isinstance(x, (Act, Until))]
            second = [x for x in self.body(m.group(2), False) if isinstance(x, (Act, Until))]
            if first and second:
                self._append(seq, Par([first, second]))
                return None
        m = _DEPENDING.match(s)
        if m:
            words = [w for w in _content(W.tokens(m.group(1))) if w not in W.PRONOUNS]
            attr = next((w for w in reversed(words) if w in W.ATTRIBUTES or w in W.QUANTITY), None)
            if attr is None and words:
                attr = W.snake(words[-2:])
                W_attr = attr
                if W_attr not in self.ctx.attributes:
                    self.ctx.attributes.append(W_attr)
            elif attr and attr not in self.ctx.attributes:
                self.ctx.attributes.append(attr)
            if attr:
                self.ctx.attributes.remove(attr)
                self.ctx.attributes.append(attr)
            s = (m.group(2) or "").strip()
            if not s:
                return None
        counted = _PARALLEL_AFTERWARDS_DO.match(_unwrapped(s))
        if counted and counted.group("n") and self._parallel_afterwards(s, seq):
            return None  # "Email the customer and update the CRM. Do both in parallel.": not a header
        # whole sentence is a parallel header: "Do these in parallel:" / "In parallel:"
        stripped = _PAR_WORDS.sub(" ", s).strip().strip(":,").strip()
        if (_PAR_WORDS.search(s) or lead_par) and re.fullmatch(
            r"(?:(?:please )?(?:do|run|perform|execute|handle|start)?\s*(?:the following|these|these steps|these tasks|"
            r"all of these|the following steps|the following tasks|them|both|all)?\s*(?:steps|tasks)?)?",
            stripped,
            re.I,
        ):
            par = Par([])
            self._append(seq, par)
            return par.branches
        handled, hook = self._retry_sentence(s, seq)
        if handled:
            return hook
        if self._parallel_afterwards(s, seq):
            return None
        if self._either_by(s, seq):
            return None
        s = ON_FAILURE.sub(r"\1if it fails, ", s)  # "…; on failure, load the backup" -> "if it fails, …"
        clauses = self._clauses(s)
        hook = None
        for kind, cond_text, body_text, negate in clauses:
            if kind != "plain":
                hook = self._conditional(seq, kind, cond_text, body_text, negate)
                continue
            steps = self.body(body_text, parallel=lead_par) if body_text else []
            if kind == "plain":
                if lead_par:
                    acts = [x[1] if isinstance(x, tuple) else x for x in steps]
                    acts = [a for a in acts if isinstance(a, (Act, Until, Par))]
                    if len(acts) == 1:
                        self._meanwhile(seq, acts[0])
                    elif acts:
                        self._append(seq, Par([[a] for a in acts]))
                    continue
                for st in steps:
                    self._append(seq, st)
                continue
        return hook

    def _conditional_before(self, s: str, seq: list) -> bool:
        """ "If the total exceeds 1000 euros, require a manager's approval before shipping": shipping
        happens either way, after the decision (it was inside the branch, so a small order never
        shipped)."""
        m = _COND_BEFORE_GERUND.match(s.strip().rstrip("."))
        if m is None or not _COND_LEAD.match(s) or re.search(r"\b(?:otherwise|else|unless)\b", s, re.I):
            return False
        if _ELSE_LEAD.match(self.ctx.next_sentence.strip()):  # "…; otherwise send it directly": per branch
            return False
        if _RETRY_WORDS.search(s):
            return False
        gerund = m.group("ger").lower()
        verb = W.lemma(gerund)
        if not verb or verb == gerund:
            return False
        self.sentence(m.group("head"), seq)
        self.sentence(f"{verb}{m.group('rest')}", seq)
        return True

    def _counted_people(self, s: str, seq: list) -> bool:
        """ "Two reviewers score each application independently and in parallel" (", then …"): one
        branch per person doing the same work (score_application_1, score_application_2; was a single
        step), then what follows the sequence word, after the join."""
        m = _COUNTED_PEOPLE.match(s.strip().rstrip("."))
        if m is None:
            return False
        who = m.group("who").lower()
        person = W.singular(who)
        if not (person in W.PEOPLE or who in W.PEOPLE or (who.endswith(_PERSON_ENDINGS) and _is_person_noun(who))):
            return False
        if not W.is_base_verb(W.tokens(m.group("body"))[0]):
            return False
        n = _WORD_NUMBERS.get(m.group("n").lower()) or int(m.group("n"))
        first = self.act(f"the {who} {m.group('body')}")
        branches = [first] + [Act(first.text, first.name, first.terminal, first.ai, first.who) for _ in range(n - 1)]
        base = first.name
        for i, act in enumerate(branches, start=1):
            act.name = _valid_name(f"{base}_{i}")
            act.text = f"{person} {i} of {n}: {m.group('body')}"
            if i > 1:
                self.ctx.done_names.append(act.name)
        self._append(seq, Par([[a] for a in branches]))
        rest = (m.group("rest") or "").strip(" ,;")
        rest = re.sub(r"^(?:and\s+)?(?:then|after\s+that|afterwards|next)\b[\s,]*", "", rest, flags=re.I)
        if rest:
            self.sentence(rest, seq)
        return True

    def _parallel_afterwards(self, s: str, seq: list) -> bool:
        """ "HR schedules the interview, IT revokes the access and payroll calculates the pay. All three happen
        in parallel." (or "…; do all three in parallel"): the steps just read become the branches of a fan-out
        (was a step named three_happen, or three_step)."""
        text = _unwrapped(s)
        m = _PARALLEL_AFTERWARDS.match(text) or _PARALLEL_AFTERWARDS_DO.match(text)
        if m is None:
            return False
        tail: list = []
        for st in reversed(seq):
            if not isinstance(st, Act):
                break
            tail.insert(0, st)
        count = _COUNT_WORDS.get((m.group("n") or "").lower())
        if count is None:
            group = [a for a in self.ctx.last_group if isinstance(a, Act)]
            count = len(group) if len(group) >= 2 and all(a in tail for a in group) else len(tail)
        if count < 2 or len(tail) < count:
            return False
        branches = tail[-count:]
        del seq[len(seq) - count :]
        self._append(seq, Par([[a] for a in branches]))
        self.ctx.notes.append(f"ran the {count} steps before '{s.strip()}' in parallel")
        return True

    def _either_by_parts(self, s: str) -> tuple[re.Match, list[str], list[str]] | None:
        """The match, criterion words and option names of "<do> by A or B, depending on <criterion>", or None."""
        m = _EITHER_BY.match(s)
        if m is None or _EARLIER_STEPS.match(m.group("do")) or not self._imperative(m.group("do")):
            return None
        attr_words = [w for w in _content(W.tokens(m.group("attr"))) if w not in W.PRONOUNS]
        option_words = [[w for w in W.tokens(m.group(k)) if w not in _DETERMINERS] for k in ("a", "b")]
        if len(option_words[0]) == 1 and len(option_words[1]) == 2 and m.group("a")[:1].isupper():
            option_words[0] = option_words[0] + option_words[1][-1:]  # "the EU or US team": the EU team
        options = [W.snake(words) for words in option_words]
        if not attr_words or not all(options) or options[0] == options[1] or len(attr_words) > 4:
            return None
        return m, attr_words, options

    def _either_by(self, s: str, seq: list) -> bool:
        """ "Notify the customer by SMS or email, depending on their preference", "ship with DHL or UPS based on
        the destination country": a decision with one step per option (notify_customer_sms / …_email). A
        choice word (preference, channel…) is the decision's variable; another criterion (the country) is what
        the choice is read from, and the variable names the choice itself (``ship_method=='dhl'``)."""
        s = s.strip().rstrip(".")
        parts = self._either_by_parts(s)
        lead = _EARLIER_STEPS.match(s)
        if parts is None and lead is not None and self._either_by_parts(lead.group(2)) is not None:
            self.sentence(lead.group(1), seq)  # "review the draft, then publish it on the blog or the wiki …"
            s, parts = lead.group(2), self._either_by_parts(lead.group(2))
        if parts is None:
            return False
        m, attr_words, options = parts
        base = self.act(m.group("do"))
        how = m.group("how").lower()
        if attr_words[-1] in _CHOICE_WORDS:
            var = _valid_var(W.snake(attr_words[-2:]))
        else:  # the options are not the criterion's values: the variable is the choice made from it
            verb = base.name.split("_")[0]
            var = _valid_var(W.snake([verb, _CHOICE_OF.get(how, "method")]))  # ship_method, route_destination
        for tail in ("_" + how, "_step"):  # "pay by …" alone is pay_card / pay_invoice, not pay_step_card
            if base.name.endswith(tail) and base.name.count("_") > 0:
                base = Act(base.text, base.name[: -len(tail)])
        branches = []
        for text_key, option in zip(("a", "b"), options):
            text = f"{m.group('do')} {m.group('how')} {m.group(text_key)}"
            act = Act(text, _valid_name(f"{base.name}_{option}"))
            cond = Cond("cat", f"{var}=='{option}'", var, option, tuple(attr_words[-2:]))
            branches.append([cond if text_key == "a" else None, [act], False])  # the other option: otherwise
        self._append(seq, Decision(branches, attach_hint=tuple(attr_words[-2:])))
        return True

    def _categories(self, s: str) -> str:
        """ "classify each chat as question, complaint or cancellation": remember the categories (later
        subjects "Questions are answered …" become branches on ``category``) and keep one step."""
        m = re.search(
            r"\b(classify|classifies|categori[sz]e|categori[sz]es|sort|sorts|label|labels|tag|tags|triage|triages|"
            r"group|groups|bucket)\s+(.{1,60}?)\s+(?:as|into)\s+(?:either\s+)?(?:an?\s+)?"
            r"([\w-]+(?:\s*,\s*(?:an?\s+)?[\w-]+)*\s*,?\s+(?:or|and)\s+(?:an?\s+)?[\w-]+)\b",
            s,
            re.I,
        )
        if not m:
            return s
        values = [v.strip().lower() for v in re.split(r"\s*,\s*(?:or\s+|and\s+)?|\s+(?:or|and)\s+", m.group(3))]
        values = [re.sub(r"^(?:an?|the)\s+", "", v) for v in values if v]
        if not 2 <= len(values) <= 8 or any(len(v.split()) > 2 for v in values):
            return s
        if any(W.is_base_verb(v.split()[0]) and W.lemma(v.split()[0]) == v.split()[0] for v in values[1:]):
            return s  # "tag it as incomplete and send it back": the last "value" starts the next step
        self.ctx.categories = [v.replace(" ", "_") for v in values]
        self.ctx.category_var = "category"
        return s[: m.start()] + f"{m.group(1)} {m.group(2)}" + s[m.end() :]

    def _meanwhile(self, seq: list, act) -> None:
        if seq and isinstance(seq[-1], Par) and seq[-1].branches:
            seq[-1].branches.append([act])
        elif seq and isinstance(seq[-1], (Act, Until)):
            prev = seq.pop()
            seq.append(Par([[prev], [act]]))
        else:
            self._append(seq, act)

    def _append(self, seq: list, st) -> None:
        if isinstance(st, tuple) and st[0] == "meanwhile":
            self._meanwhile(seq, st[1])
            return
        if seq and isinstance(seq[-1], Decision):
            seq[-1].closed = True
        seq.append(st)
        self.ctx.after_join = isinstance(st, Par) and len([b for b in st.branches if b]) >= 2
        if self.ctx.after_join:
            self.ctx.join_heads = [
                re.sub(r"(?:_\d+)+$", "", b[-1].name).split("_")[-1] if b and isinstance(b[-1], Act) else ""
                for b in st.branches
                if b
            ]


def _is_person_noun(word: str) -> bool:
    """A plural agent noun that is not a thing ("reviewers", "analysts"; not "servers", "orders")."""
    return W.singular(word) not in _THING_AGENTS and not W.is_base_verb(W.singular(word))


_THING_AGENTS = {"server", "order", "folder", "container", "worker", "filter", "counter", "parameter", "number"}


def _unwrapped(s: str) -> str:
    """A sentence without its end stop and the parentheses around it ("(do both exports in parallel)")."""
    text = s.strip().rstrip(".").strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip().rstrip(".").strip()
    if text.startswith("(") and ")" not in text:
        text = text[1:].strip()
    return text
