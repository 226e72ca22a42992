"""Conditional clauses into decisions: if / otherwise branches, joins, errors."""

from __future__ import annotations

import re

from engine.ai import _words as W
from engine.ai.offline_translator.approvals_llm import approval_answer, join_condition, join_split
from engine.ai.offline_translator.builder_base import BuilderBase
from engine.ai.offline_translator.comparisons import _find_cmp
from engine.ai.offline_translator.model import Act, Cond, Decision, Par, Stop, _approval_place, _terminal
from engine.ai.offline_translator.name_words import _AUX, _DETERMINERS, _content, _is_plural, _valid_var
from engine.ai.offline_translator.retries import FAIL_COND, is_stand_in
from engine.ai.offline_translator.segmentation import _OTHERS

# a step that puts a question or an offer to someone, and a condition that is their answer to it
_OFFER_ACT = re.compile(r"^(?:offer|propose|suggest|invite|quote|ask)\b", re.I)
_ANSWERS_OFFER = re.compile(
    r"^(?:they|he|she|the\s+\w+)\s+(?:accepts?|agrees?|declines?|refuses?|rejects?|says?\s+(?:yes|no)|"
    r"takes?\s+(?:it|the\s+(?:offer|deal|discount)))\b",
    re.I,
)
# "orders above 1000 euros also / always / additionally need …": the predicate starts after these
_PRED_ADVERBS = frozenset("also always additionally still usually further likewise then all".split())
# the noun a failure is reported under, and the verbs of the step it means
_SAME_STEP = {"payment": ("charge", "pay", "bill"), "reservation": ("reserve", "hold", "book")}


class BranchReader(BuilderBase):
    """Conditional clauses into decisions: if / otherwise branches, joins, errors."""

    def _subject_condition(self, s: str):
        toks = W.tokens(s)
        if self.ctx.categories and toks:
            first = re.sub(r"^(?:the|all|any)\s+", "", s.strip(), flags=re.I)
            lead = W.tokens(first)[:1]
            if lead and (lead[0] in self.ctx.categories or W.singular(lead[0]) in self.ctx.categories):
                value = lead[0] if lead[0] in self.ctx.categories else W.singular(lead[0])
                rest = " ".join(first.split()[1:])
                rest_toks = W.tokens(rest)
                if (  # "Billing emails go to finance": the emails go (was bill_emails_go_finance)
                    len(rest_toks) >= 3
                    and _is_plural(rest_toks[0])
                    and not W.is_base_verb(rest_toks[0])
                    and self.namer.analyse(rest)[0] is not None
                ):
                    first = rest
                gets = re.match(r"^(?:will\s+)?(?:get|gets|receive|receives)\s+(.+)$", rest, re.I)
                if gets:  # "questions get an auto-reply": send it (was get_questions)
                    first = f"send {gets.group(1)}"
                return "if", f"__cat__:{self.ctx.category_var}:{value}", first, False
        var = self.ctx.last_ai_var
        if (
            var
            and not (var == "category" and self.ctx.categories)
            and len(toks) >= 3
            and toks[0] not in _DETERMINERS
            and not W.is_base_verb(toks[0])
        ):
            # after "use the LLM to judge its sentiment": "Negative reviews go to support"
            if (toks[1].endswith("s") or toks[1] in ("one", "ones")) and self.namer.analyse(" ".join(toks[1:]))[0]:
                if toks[0] not in W.PEOPLE and toks[0] not in W.PRONOUNS and not toks[0].isdigit():
                    body = " ".join(s.split()[1:])
                    gets = re.match(r"^\S+\s+(?:will\s+)?(?:get|gets|receive|receives)\s+(.+)$", body, re.I)
                    if gets:  # "weak ones get a polite rejection email": send it (was get_polite_rejection_email)
                        body = f"send {gets.group(1)}"
                    return "if", f"__cat__:{var}:{toks[0]}", body, False
        if len(toks) < 3:
            return None
        # comparative subjects: "smaller ones", "the rest", "everything else", "everything in between"
        m = _OTHERS.match(s)
        if m:
            body = s[m.end() :].strip()
            gets = re.match(r"^(?:will\s+)?(?:get|gets|receive|receives)\s+(.+)$", body, re.I)
            if gets:
                return "else", None, f"send {gets.group(1)}", False
            if body:
                own = [w for w in W.tokens(m.group(0)) if w.endswith("s") and w not in ("ones", "others", "others'")]
                own = [w for w in own if not W.is_noise(w) and w not in ("other", "remaining", "rest")]
                subj = " ".join(own[-1:] or self.ctx.subject_noun or self.namer.topic_words(2) or self.ctx.entity)
                if subj and not _is_plural(subj.split()[-1]) and re.match(r"^go\b", body, re.I):
                    body = "goes" + body[2:]  # "the others go to the inbox" about an email: the email goes
                return "else", None, f"the {subj} {body}" if subj else f"items {body}", False
        # "<noun> [whose …] over 5000 <predicate>": the subject carries a numeric condition
        cmp = _find_cmp(s)
        if cmp is not None:
            head, tail = s[: cmp[2]].strip(), s[cmp[3] :].strip()
            rel = re.match(
                r"^(.*?)\b(?:whose|with|that have|that has|which have|which has|where)\b\s*(.*)$", head, re.I
            )
            noun_text, cond_head = (rel.group(1), rel.group(2)) if rel else (head, head)
            raw_noun = W.tokens(noun_text)
            noun = [w for w in raw_noun if not W.is_noise(w) and w not in ("of",)]
            while len(noun) > 1 and noun[-1].endswith("ing") and W.lemma(noun[-1]):
                noun = noun[:-1]  # "leads scoring 8 or more": the leads (what they score is the condition)
            pred = W.tokens(tail)
            while len(pred) > 1 and pred[0] in _PRED_ADVERBS:  # "invoices over 50000 euros also need …"
                pred = pred[1:]
                tail = re.sub(r"^\W*\w+\s*", "", tail, count=1)
            if (
                (noun or (raw_noun and all(w in W.PRONOUNS or w in W.STOP for w in raw_noun)))
                and len(noun) <= 4
                and pred
                and (
                    pred[0] in _AUX
                    or W.lemma(pred[0])
                    or pred[0] in ("need", "needs", "go", "goes", "require", "requires", "must", "should", "will")
                )
                and (
                    rel
                    or self.namer.analyse(noun_text)[0] is None
                    or all(w in W.PRONOUNS for w in noun)
                    or (len(raw_noun) <= 3 and not any(w in _DETERMINERS for w in raw_noun[1:]))
                )
            ):
                if not all(w in W.PRONOUNS for w in noun):
                    self.namer.set_topic(noun)
                    self.ctx.subject_noun = noun
                cond = f"{cond_head} {s[cmp[2] : cmp[3]]}".strip()
                return "if", cond, f"{' '.join(noun)} {tail}", False
        verb, particle, obj, subject = self.namer.analyse(s)
        if verb is not None and self.namer.last_passive and len(toks) >= 3:
            first_word = toks[0]
            if (first_word in W.CATEGORY_ADJ or first_word in W.LEVEL_WORDS) and toks[1].endswith("s"):
                self.namer.set_topic([toks[1]])
                return "if", first_word, " ".join(s.split()[1:]), False
        if not subject or verb is None or verb == "receive":
            return None
        first = _content(subject)[:1]
        if (
            first
            and first[0] != "new"
            and (first[0] in W.CATEGORY_ADJ or first[0] in W.LEVEL_WORDS)
            and len(_content(subject)) >= 2
        ):
            noun = _content(subject)[1:]
            self.namer.set_topic(noun)
            rest = s.split(None, len(subject))[-1]
            return "if", first[0], " ".join(noun) + " " + rest, False
        return None

    def _conditional(self, seq: list, kind: str, cond_text: str | None, body_text: str, negate: bool) -> list | None:
        def steps_of() -> list:
            return [x[1] if isinstance(x, tuple) else x for x in (self.body(body_text) if body_text else [])]

        if kind in ("if", "postfix") and self._still_fails(cond_text):
            return self._set_fallback(body_text)  # "Cancel the order if it still fails." after a retry
        outcome = self._fallback_to_decision(seq, kind, cond_text)
        if outcome is not None and kind != "else":  # "…; if it works, refresh the dashboard": the success branch
            success = outcome.branches[0][0].negated()
            body = steps_of()
            outcome.branches.append([success, body, _terminal(body)])
            return outcome.branches[-1][1]
        unanswered = self._unanswered_approval(cond_text, seq) if kind in ("if", "postfix") and cond_text else None
        if unanswered is not None:  # "If there is no answer within 2 days, escalate": the approval's @error path
            # "send a reminder" there: "If approved, countersign it" is still about the contract
            topic, topics = self.ctx.topic, list(self.ctx.topics)
            steps = self._fallback_of(unanswered, body_text, cond_text or "")
            self.ctx.topic, self.ctx.topics = topic, topics
            if steps and not _terminal(steps) and not unanswered.awaits_reply:
                # the path ends there: what follows the approval reads its answer, which it never got
                # (after a reply that never came, e.g. "call them", the run goes on as after the reply)
                steps.append(Stop())
            return steps
        branch_failed = self._parallel_branch_failed(seq, cond_text) if kind in ("if", "postfix") else None
        if branch_failed is not None:  # "If both succeed, ship it. If the charge fails, release the stock"
            body = steps_of()
            branch_failed.branches.append([Cond("join", "any_failed"), body, _terminal(body)])
            return branch_failed.branches[-1][1]
        failed = self._failed_step(cond_text, seq) if kind in ("if", "postfix") and cond_text else None
        if failed is not None:  # "Fetch the rates; if that fails, use yesterday's file": its @error path
            return self._fallback_of(failed, body_text, cond_text or "", seq)

        if kind == "else":
            question = self.ctx.question  # read before the body's actions replace it
            body = steps_of()
            dec = seq[-1] if seq and isinstance(seq[-1], Decision) else None
            retried = seq[-1] if seq and isinstance(seq[-1], Act) and seq[-1].retries and seq[-1].on_error else None
            if (
                dec is None
                and retried is not None
                and retried.on_error
                and not _terminal(retried.on_error)
                and not is_stand_in(body_text)  # "…, otherwise use yesterday's file": another fallback
            ):
                # "retry it 3 times, then alert the team. Otherwise, load the report": the alert is what
                # happens instead of the rest, which runs when the step worked
                retried.on_error.append(Stop())
            if dec is None and question is None and body_text and self._failed_step("it fails", seq) is not None:
                # "Download the catalogue; otherwise fall back to the cache": the step's fallback
                return self._fallback_of(seq[-1], body_text, "", seq)
            if dec is None:
                neg = question.negated() if question is not None else None
                if neg is not None and seq and isinstance(seq[-1], Act) and body:
                    # "Check whether the shipment has arrived. If not, wait a day and check again."
                    dec = Decision([[neg, body, _terminal(body)]])
                    self._append(seq, dec)
                    return dec.branches[-1][1]
                for st in body:
                    self._append(seq, st)
                return None
            conds = [b[0] for b in dec.branches if b[0] is not None]
            neg = conds[0].negated() if len(conds) == 1 else None
            if any(b[0] is None for b in dec.branches) or (
                neg is not None and any(b[0] is not None and b[0].text == neg.text for b in dec.branches)
            ):
                neg = None
                if any(b[0] is None for b in dec.branches):
                    for st in body:
                        self._append(seq, st)
                    return None
            branch = [neg, body, _terminal(body)]
            dec.branches.append(branch)
            return branch[1]
        special = self._special_cond(seq, cond_text) if kind in ("if", "postfix") and cond_text else None
        if special is None and kind == "if" and cond_text and body_text:
            whole = join_split(f"{cond_text} {body_text}")  # "either" + "check fails the vendor is told"
            if whole is not None and len(cond_text.split()) <= 4:
                special = self._special_cond(seq, f"{cond_text} {body_text}")
                if special is not None:
                    body_text = whole[1]
        if special is not None:
            if special.kind == "join" and not body_text and kind == "if":
                body_text = (join_split(cond_text or "") or ("", ""))[1]
            cond_text = None
            earlier = self._earlier_join(seq) if special.kind == "join" else None
            if earlier is not None:  # "If either check fails …" a few sentences after the parallel checks
                steps = [x[1] if isinstance(x, tuple) else x for x in (self.body(body_text) if body_text else [])]
                earlier.branches.append([special, steps, True])
                return earlier.branches[-1][1]
        open_dec = seq[-1] if seq and isinstance(seq[-1], Decision) and not seq[-1].closed else None
        siblings = [b[0] for b in open_dec.branches if b[0] is not None] if open_dec else []
        if siblings and any(b[0] is None for b in open_dec.branches):
            siblings, open_dec = [], None
        before_body = self.ctx.prev_action
        early = steps_of() if kind == "postfix" else None
        if special is not None:
            cond = special
        elif cond_text == "__so__":
            cond = self.ctx.question
            approval = self._special_cond(seq, "if approved") if cond is None and self.ctx.approval_seen else None
            if approval is not None and seq and isinstance(seq[-1], Act) and seq[-1].who is not None:
                cond = approval  # "The manager decides whether to approve it; if so, pay it": approved==True
            elif cond is None:
                var = _valid_var((self.ctx.prev_name or "check") + "_ok")
                cond = Cond("bool", f"{var}==True", var, True, ())
        elif early is not None:
            # "Score it. Approve it above 700": the condition is about what came before its own step
            # (application_score, was application_value: the step read first had become the previous one)
            after_body, self.ctx.prev_action = self.ctx.prev_action, before_body
            try:
                cond = self.conds.parse(cond_text or "", siblings)
            finally:
                self.ctx.prev_action = after_body
        else:
            cond = self.conds.parse(cond_text or "", siblings)
        body = early if early is not None else steps_of()
        if negate:
            cond = (
                cond.negated()
                or cond.negated_comparison()
                or Cond("nl", '"not: ' + cond.text.strip('"') + '"', None, None, cond.subject)
                if cond.kind != "nl"
                else Cond("nl", '"' + "it is not the case that " + cond.value + '"', None, None, cond.subject)
            )
        if cond.kind == "error":
            self.ctx.handlers.append(body)
            return body
        ai_var = self.ctx.last_ai_var
        if cond.kind == "num" and ai_var and cond.var and cond.var != ai_var and ai_var in cond.var.split("_"):
            cond = Cond(
                "num",
                re.sub(rf"\b{re.escape(cond.var)}\b", ai_var, cond.text),
                ai_var,
                cond.value,
                cond.subject,
                cond.op,
                cond.threshold,
            )
        if negate and cond.kind == "join":
            cond = Cond("join", "any_failed" if cond.text == "all_ok" else "all_ok")
        answered = open_dec.branches[-1][1] if open_dec is not None and open_dec.branches else None
        if (
            answered
            and isinstance(answered[-1], Act)
            and _OFFER_ACT.match(answered[-1].text.strip())
            and _ANSWERS_OFFER.match((cond_text or "").strip())
        ):  # "If they mention price, offer a discount; if they accept, reactivate": the offer's answer
            inner = Decision([[cond, body, _terminal(body)]])
            answered.append(inner)
            return inner.branches[-1][1]
        compatible = open_dec is not None and self._compatible(cond, siblings)
        if compatible:
            open_dec.branches.append([cond, body, _terminal(body)])
            return open_dec.branches[-1][1]
        dec = Decision([[cond, body, _terminal(body)]], attach_hint=tuple(cond.subject))
        self._append(seq, dec)
        return dec.branches[-1][1]

    def _parallel_branch_failed(self, seq: list, cond_text: str | None) -> Decision | None:
        """The decision on the join right before, when ``cond_text`` is the failure of one of its parallel
        steps and the decision has no failure branch yet ("If the charge fails" after "If both succeed")."""
        if not cond_text or len(seq) < 2 or not isinstance(seq[-1], Decision) or not isinstance(seq[-2], Par):
            return None
        dec = seq[-1]
        kinds = {b[0].text for b in dec.branches if b[0] is not None and b[0].kind == "join"}
        if kinds != {"all_ok"}:
            return None
        m = FAIL_COND.match(cond_text.strip().strip(",.;:"))
        if m is None:
            return None
        branch_acts = [st for br in seq[-2].branches for st in br if isinstance(st, Act)]
        if self._step_named_by(m.group("subj") or "", branch_acts) is not None:
            return dec
        words = {W.lemma(w) or w for w in _content(W.tokens(m.group("subj") or "")) if w not in W.PRONOUNS}
        words |= {v for w in words for v in _SAME_STEP.get(w, ())}  # "the payment" of "charge the card"
        for act in branch_acts:
            if words & ({W.lemma(w) or w for w in W.tokens(act.text)} | set(act.name.split("_"))):
                return dec
        return None

    @staticmethod
    def _earlier_join(seq: list) -> Decision | None:
        """The decision on a join that is not the last step (its own outcome may be missing)."""
        for i in range(len(seq) - 2, -1, -1):
            st = seq[i]
            if isinstance(st, Decision) and any(b[0] is not None and b[0].kind == "join" for b in st.branches):
                kinds = {b[0].text for b in st.branches if b[0] is not None}
                return st if len(kinds) < 2 else None
            if isinstance(st, Par):
                return None
        return None

    def _special_cond(self, seq: list, cond_text: str) -> Cond | None:
        """Join conditions after parallel work ("if both pass") and answers of an approval ("if approved")."""
        if cond_text.startswith("__cat__:"):
            _, var, value = cond_text.split(":", 2)
            return Cond("cat", f"{var}=={value!r}", var, value, (var,))
        m = re.fullmatch(
            r"(?:if\s+)?(?:the\s+)?([a-z_]+)\s+(?:is|equals|says|=|==)\s+['\"]?([\w-]+)['\"]?", cond_text.strip(), re.I
        )
        if m and self.ctx.last_ai_var and m.group(1).lower() in (self.ctx.last_ai_var, "answer", "result", "output"):
            var, value = self.ctx.last_ai_var, m.group(2).lower()
            return Cond("cat", f"{var}=={value!r}", var, value, (var,))
        join = join_condition(cond_text)
        if join is not None:
            last = seq[-1] if seq else None
            if isinstance(last, Decision) and any(b[0] is not None and b[0].kind == "join" for b in last.branches):
                return Cond("join", join)
            if isinstance(last, Par) and len([b for b in last.branches if b]) >= 2:
                if self.ctx.entity:
                    self.ctx.topic = list(self.ctx.entity)
                    self.ctx.topics.append(list(self.ctx.entity))
                return Cond("join", join)
            group = self.ctx.last_group
            if len(group) >= 2 and len(seq) >= len(group) and all(a is b for a, b in zip(seq[-len(group) :], group)):
                del seq[-len(group) :]
                seq.append(Par([[a] for a in group]))
                return Cond("join", join)
            if self._earlier_join(seq) is not None:
                return Cond("join", join)
            if join == "any_failed" and len(seq) >= 2 and isinstance(seq[-2], Par) and isinstance(seq[-1], Act):
                done = seq.pop()  # "Once they have, it is sent to the board; if either declines, …"
                seq.append(Decision([[Cond("join", "all_ok"), [done], False]]))
                return Cond("join", join)
            return None
        answer = approval_answer(cond_text)
        if answer is None or not self.ctx.approval_seen:
            return None
        where = _approval_place(seq)
        if where is None:
            return None
        if where == "branch":  # approval only on some paths: the others count as approved
            return Cond("expr", "approved!=False" if answer else "approved==False", "approved", answer)
        return Cond("bool", f"approved=={answer}", "approved", answer)

    def _compatible(self, cond: Cond, siblings: list[Cond]) -> bool:
        if not siblings:
            return False
        if cond.kind == "join" and all(s.kind == "join" for s in siblings):
            return True
        if any(s.var and s.var == cond.var for s in siblings):
            return True
        if cond.kind == "nl" or any(s.kind == "nl" for s in siblings):
            return True
        kinds = {s.kind for s in siblings}
        if cond.kind in ("cat", "num") and cond.kind in kinds:
            return True
        if cond.kind == "bool" and "bool" in kinds:
            # "if the customer accepts … if they decline" share a subject
            return bool(set(cond.subject) & {w for s in siblings for w in s.subject}) or not cond.subject
        return False
