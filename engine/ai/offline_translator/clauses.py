"""Sentences into clauses: sequence, condition and parallel cues, classification of each clause."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.approvals_llm import _AI_SUBJECT, _AI_USE, APPROVAL_ADJ
from engine.ai.offline_translator.builder_base import BuilderBase
from engine.ai.offline_translator.comparisons import _find_cmp
from engine.ai.offline_translator.model import Act, Cond, Decision, Par, Until
from engine.ai.offline_translator.naming import _FILLER, _content, _valid_name, _valid_var
from engine.ai.offline_translator.retries import ON_FAILURE, RETRY
from engine.ai.offline_translator.segmentation import (
    _AFTER_GERUND,
    _AFTER_NOUN,
    _BEFORE,
    _COND_LEAD,
    _CONNECTOR,
    _CONT,
    _DEPENDING,
    _ELSE_LEAD,
    _ELSE_TAIL,
    _META,
    _OTHERS,
    _PAR_LEAD,
    _PAR_WORDS,
    _POSTFIX,
    _SCHEDULE,
    _SO,
)

_EITHER_BY = re.compile(
    r"^(?P<do>.+?)\s+(?P<how>by|via|through|over|on|in|with|using|to)\s+(?:the\s+)?(?P<a>[\w-]+(?:\s+[\w-]+)?)\s+or\s+"
    r"(?:(?:by|via|with|to|in|on|into|through|using|over)\s+)?(?:the\s+)?(?P<b>[\w-]+(?:\s+[\w-]+)?)\s*,?\s+"
    r"(?:depending\s+(?:on|upon)|based\s+on|according\s+to|in\s+line\s+with)\s+"
    r"(?:the\s+|their\s+|its\s+|his\s+|her\s+|our\s+)?(?P<attr>[\w\s'’-]{2,40})$",
    re.I,
)

_EARLIER_STEPS = re.compile(r"^(.+?)(?:,?\s+and\s+then|,\s*then|;\s*then|;|,\s+and)\s+(.+)$", re.I)
_OTHER_SEGMENT = re.compile(
    r"^(?:all\s+)?(?:other|remaining)\s+\w+(?:\s+\w+)?$|^(?:the\s+rest|everyone\s+else|everything\s+else|all\s+others|"
    r"others|anything\s+else|anyone\s+else)$",
    re.I,
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


# a sequence word after the branches of a leading "In parallel, …": what follows runs after the join
_THEN_AFTER_PAR = re.compile(
    r"\s*[,;]\s*(?:and\s+)?(?:then|after\s+that|afterwards|finally|next)\b[\s,]*|\s+and\s+then\b[\s,]*", re.I
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
_COUNT_WORDS = {"both": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_PARALLEL_AFTERWARDS = re.compile(
    r"^(?:(?:all|the|these|those)\s+)?(?:(?P<n>both|two|three|four|five|six)(?:\s+of\s+(?:them|these))?|these(?:\s+\w+)?|they|"
    r"all\s+of\s+(?:them|these|this)|the\s+(?:two|three|four|five)\s+\w+|this)\s+"
    r"(?:steps\s+|tasks\s+)?(?:can|should|will|may|must)?\s*(?:all\s+)?(?:happen|run|be\s+done|go|take\s+place|"
    r"are\s+done|are\s+independent(?:\s+and\s+can\s+run)?)\s+"
    r"(?:in\s+parallel|at\s+the\s+same\s+time|simultaneously|concurrently)$",
    re.I,
)
_CHOICE_OF = {"to": "destination", "in": "location", "on": "location"}
_DETERMINERS = {"the", "a", "an"}
_CHOICE_WORDS = {"preference", "preferences", "choice", "channel", "method", "option", "setting", "settings", "plan"}


class ClauseReader(BuilderBase):
    """Sentences into clauses: sequence, condition and parallel cues, classification of each clause."""

    def sentence(self, s: str, seq: list) -> list | None:
        """Parse one sentence into ``seq``. Returns a hook list for children (dangling 'if …:'), else None."""
        s = s.strip()
        if not s:
            return None
        lead = _PAR_LEAD.match(s)
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
            steps = self.body(body_text) if body_text else []
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

    def _parallel_afterwards(self, s: str, seq: list) -> bool:
        """ "HR schedules the interview, IT revokes the access and payroll calculates the pay. All three happen
        in parallel.": the steps just read become the branches of a fan-out (was a step named three_happen)."""
        m = _PARALLEL_AFTERWARDS.match(s.strip().rstrip("."))
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

    def _rewrite(self, s: str) -> str:
        """Normalise phrasings the clause parser reads better in another form."""
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
            # "get the manager's approval before we order the laptop" -> "…, then order the laptop"
            s = re.sub(
                r"\s+before\s+(?:we|you|they|i|someone)\s+(?:can\s+|may\s+)?(\w+)\b",
                lambda m: f", then {m.group(1)}" if W.is_base_verb(m.group(1).lower()) else m.group(0),
                s,
                count=1,
                flags=re.I,
            )
        return s

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
                if current is not None:
                    current[2] = (current[2] + ", " + body).strip(", ") if current[2] else body
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
            if not head or re.fullmatch(r"(?:if|when|for|with|at|scores?|amounts?|values?|it is|it's)", head, re.I):
                if tail and self._imperative(tail):
                    return "if", s[:end], tail, False
            elif not tail and self.namer.analyse(head)[0] is not None:
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
                if prev in ("to", "is", "are", "was", "will", "can", "does", "do", "should", "not", "the", "a"):
                    continue
                if prev in ("no", "any", "an", "some", "every", "each", "this", "that", "its", "their", "our"):
                    continue  # "if there is still no answer after 3 days": a noun after a determiner
                return " ".join(toks[:i]), " ".join(toks[i:])
        return rest, ""
