"""Emitting DSL: compiles the step tree into DSL statements (fan-out/fan-in, decisions, handlers)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.ai import _words as W
from engine.ai.offline_translator.model import (
    APPROVAL_AGAIN,
    Act,
    Ctx,
    Decision,
    Goto,
    Par,
    Stop,
    Until,
    _join_as_bool,
    _terminal,
)
from engine.ai.offline_translator.name_words import _content, _valid_name
from engine.ai.offline_translator.retries import POLL_EVERY, duration_seconds
from engine.dsl.model import END, START

# ---------------------------------------------------------------------------------------------
# compiling the step tree into DSL


@dataclass
class Exit:
    src: str
    cond: str | None = None
    fan_in: tuple[str, ...] | None = None
    fork: list | None = None


class Compiler:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.statements: list[tuple] = []  # (sources, targets, cond, src_group, tgt_group)
        self._emitted: set[tuple] = set()  # the statements, for a constant-time "already there?"
        self._next_suffix: dict[str, int] = {}  # name -> the suffix to try next (names are never freed)
        self.used = {START, END}
        self.kinds: dict[str, str] = {}
        self.order: list[str] = []
        self.step_first: dict[int, str] = {}
        self.pending_step: int | None = None
        self.branch_depth = 0
        self.branch_states: set[str] = set()
        self.handler_states: set[str] = set()
        self.in_handler = False
        self.text_of: dict[str, str] = {}
        self.ai_states: set[str] = set()
        self.approvals: dict[str, str] = {}  # approval state -> who approves
        self.retries: dict[str, int] = {}  # state -> retries after the first attempt ("retry up to 3 times")
        self.retry_waits: dict[str, float] = {}  # state -> seconds between its tries ("an hour apart")
        self.answer_within: dict[str, float] = {}  # approval state -> how long it waits for an answer
        self.give_ups: dict[str, float] = {}  # a poll's wait state -> its give_up_after_s

    def new_state(self, base: str, kind: str, text: str = "") -> str:
        name = _valid_name(base)
        if name in self.used:  # the smallest free name_2, name_3, … (a count per name: 3,000 steps of one
            i = self._next_suffix.get(name, 2)  # name were quadratic)
            while f"{name}_{i}" in self.used:
                i += 1
            self._next_suffix[name] = i + 1
            name = f"{name}_{i}"
        self.used.add(name)
        self.kinds[name] = kind
        self.order.append(name)
        if self.branch_depth:
            self.branch_states.add(name)
        if self.in_handler:
            self.handler_states.add(name)
        if text:
            self.text_of[name] = text
        if self.pending_step is not None:
            self.step_first.setdefault(self.pending_step, name)
            self.pending_step = None
        return name

    def emit(self, sources, targets, cond=None, src_group=False, tgt_group=False):
        st = (tuple(sources), tuple(targets), cond, src_group, tgt_group)
        if st not in self._emitted:
            self._emitted.add(st)
            self.statements.append(st)

    def connect(self, pending: list[Exit], target: str) -> None:
        plain_defaults = {e.src for e in pending if e.fan_in is None and e.fork is None and e.cond is None}
        for e in pending:
            if e.fork is not None:
                e.fork.append(target)
            elif e.fan_in is not None:
                self.emit(e.fan_in, (target,), e.cond, True, False)
            else:
                if e.cond is not None and e.cond != "@error" and e.src in plain_defaults:
                    continue  # the default already goes there
                if e.src == target and e.cond is None:
                    continue
                self.emit((e.src,), (target,), e.cond)

    def _single_source(self, pending: list[Exit]) -> str | None:
        if len(pending) == 1:
            e = pending[0]
            if e.fork is None and e.fan_in is None and e.cond is None and e.src != START:
                return e.src
        return None

    def seq(self, steps: list, pending: list[Exit]) -> list[Exit]:
        for st in steps:
            pending = self.step(st, pending)
        return pending

    def step(self, st, pending: list[Exit]) -> list[Exit]:
        if isinstance(st, tuple) and st[0] == "step_marker":
            self.pending_step = st[1]
            return pending
        if isinstance(st, tuple) and st[0] == "meanwhile":
            st = st[1]
        if isinstance(st, Act):
            name = self.new_state(st.name, "action", st.text)
            if st.ai:
                self.ai_states.add(name)
            if st.who is not None:
                self.approvals[name] = st.who
                if st.answer_within_s:
                    self.answer_within[name] = st.answer_within_s
            self.connect(pending, name)
            if st.retries:
                self.retries[name] = st.retries
                if st.retry_wait_s:
                    self.retry_waits[name] = st.retry_wait_s
            if st.on_error:  # "… and if it still fails, <fallback>": the step's @error path
                fallback = self._error_path(st.on_error, name)
                if _terminal(st.on_error):
                    self.finish(fallback)
                    return [Exit(name)]
                return [Exit(name)] + fallback
            return [Exit(name)]
        if isinstance(st, Until):
            name = self.new_state(st.act.name, "action", st.act.text)
            self.connect(pending, name)
            neg = st.cond.negated()
            loop_cond = neg.text if neg is not None else f"not ({st.cond.text})"
            every = POLL_EVERY.search(st.act.text)  # "check the API every 30 minutes until …": wait between checks
            gap = every.group(1) if every else ""
            gap = gap if " " in gap.strip() else f"1 {gap}"  # "every minute"
            if every and duration_seconds(gap):
                pause = self.new_state("wait_" + "_".join(gap.split()), "action", f"wait {gap}")
                self.emit((name,), (pause,), loop_cond)
                self.emit((pause,), (name,))
                if st.give_up_s:  # "give up after 2 hours [and tell support]": the wait's limit and @error path
                    self.give_ups[pause] = st.give_up_s
                    if st.on_give_up:  # a poll that gave up ends there: what follows needs its result
                        self.finish(self._error_path(st.on_give_up, pause))
            else:
                self.emit((name,), (name,), loop_cond)
            return [Exit(name)]
        if isinstance(st, Stop):
            self.connect(pending, END)
            return []
        if isinstance(st, Goto):
            target = self._resolve_goto(st.target)
            if target is None:
                return pending
            self.connect(pending, target)
            return []
        if isinstance(st, Par):
            return self.parallel(st, pending)
        if isinstance(st, Decision):
            return self.decision(st, pending)
        return pending

    def _error_path(self, steps: list, state: str) -> list[Exit]:
        """The steps of ``state``'s @error path (read as a handler); their exits."""
        was = self.in_handler
        self.in_handler = True
        try:
            return self.seq(steps, [Exit(state, "@error")])
        finally:
            self.in_handler = was

    def _resolve_goto(self, target: str) -> str | None:
        if target.startswith("step:"):
            return self.step_first.get(int(target[5:]))
        if target == APPROVAL_AGAIN:  # "revise it and ask again": back to the last approval
            return next((n for n in reversed(self.order) if n in self.approvals), None)
        words = set(_content(W.tokens(target)))
        lemmas = {W.lemma(w) or w for w in words}
        best, score = None, 0
        for name in self.order:
            parts = set(name.split("_"))
            s = len(parts & (words | lemmas))
            if s > score:
                best, score = name, s
        return best

    def parallel(self, par: Par, pending: list[Exit]) -> list[Exit]:
        branches = [b for b in par.branches if b]
        if len(branches) < 2:
            for b in branches:
                pending = self.seq(b, pending)
            return pending
        fork = self._single_source(pending)
        if fork is None:
            fork = self.new_state("begin_parallel_work", "fork")
            self.connect(pending, fork)
        firsts: list[str] = []
        ends: list[str] = []
        self.branch_depth += 1
        try:
            for b in branches:
                collector: list[str] = []
                exits = self.seq(b, [Exit("", fork=collector)])
                if not collector:
                    continue
                firsts.append(collector[0])
                single = [e for e in exits if e.fork is None]
                if len(single) == 1 and single[0].fan_in is None and single[0].cond is None:
                    ends.append(single[0].src)
                elif not single:
                    # the branch ended early (stop/terminal): give it an explicit last step
                    done = self.new_state("finish_" + collector[0], "join")
                    ends.append(done)
                else:
                    done = self.new_state("finish_" + collector[0], "join")
                    self.connect(single, done)
                    ends.append(done)
        finally:
            self.branch_depth -= 1
        if len(firsts) < 2:
            if firsts:
                self.emit((fork,), (firsts[0],))
                return [Exit(ends[0])]
            return [Exit(fork)]
        self.emit((fork,), tuple(firsts), None, False, True)
        return [Exit("", fan_in=tuple(ends))]

    @staticmethod
    def _ordered(branches: list[list]) -> list[list]:
        """Thresholds on one variable tried from the most specific: >100 before >80, <10 before <50."""
        conds = [b[0] for b in branches if b[0] is not None]
        if len(conds) < 2 or any(c.kind != "num" or c.op is None for c in conds) or len({c.var for c in conds}) != 1:
            return branches
        ops = {c.op for c in conds}
        if ops <= {">", ">="}:
            key = lambda b: -(b[0].threshold if b[0] is not None else float("-inf"))
        elif ops <= {"<", "<="}:
            key = lambda b: b[0].threshold if b[0] is not None else float("inf")
        else:
            return branches
        conditional = sorted([b for b in branches if b[0] is not None], key=key)
        return conditional + [b for b in branches if b[0] is None]

    def join_decision(self, d: Decision, fan_in: tuple[str, ...]) -> list[Exit]:
        """Conditions on the fan-in itself (``[a,b]->publish:all_ok``): the join's exits by branch outcome."""
        conds = [b[0].text for b in d.branches if b[0] is not None]
        out: list[Exit] = []
        approvals = [s for s in fan_in if s in self.approvals]
        # parallel approvals: "both sign off" is every approver's yes (a "no" is an answer, not a failure)
        outcome = (
            {
                "all_ok": " and ".join(f"{s}_approved==True" for s in approvals),
                "any_failed": " or ".join(f"{s}_approved==False" for s in approvals),
            }
            if approvals and len(approvals) == len(fan_in)
            else {"all_ok": "all_ok", "any_failed": "any_failed"}
        )
        for cond, body, terminal in d.branches:
            if cond is not None:
                ctext = outcome.get(cond.text, cond.text)
            else:  # the default of a join is not taken when a branch failed: name the other outcome
                ctext = outcome["any_failed" if "all_ok" in conds else "all_ok"]
            exits = self.seq(body, [Exit("", ctext, fan_in=fan_in)])
            if terminal and not d.force_rejoin:
                self.connect(exits, END)
            else:
                out.extend(exits)
        covered = {b[0].text if b[0] is not None else None for b in d.branches}
        if len(covered - {None}) < 2 and None not in covered:
            other = outcome["any_failed" if "all_ok" in conds else "all_ok"]
            out.append(Exit("", other, fan_in=fan_in))
        return out

    def decision(self, d: Decision, pending: list[Exit]) -> list[Exit]:
        if (
            any(b[0] is not None and b[0].kind == "join" for b in d.branches)
            and len(pending) == 1
            and pending[0].fan_in is not None
            and pending[0].cond is None
        ):
            return self.join_decision(d, pending[0].fan_in)
        d.branches = [[c if c is None or c.kind != "join" else _join_as_bool(c), b, t] for c, b, t in d.branches]
        d.branches = self._ordered(d.branches)
        src = self._single_source(pending)
        attached = False
        if src is None and d.attach_hint and pending and not any(e.fork for e in pending):
            found = self._attach_target(d.attach_hint)
            if found is not None:
                src, attached = found, True
        elif src is not None and _on_failure(d):
            # "Validate the columns and load the file. If validation fails, alert the team": the
            # decision is on the step the noun names (validate_columns), not on the last one (load_file);
            # "get the manager's approval, then publish it. If she rejects it, …": on the approval
            found = self._step_of_nominal(d.attach_hint) if d.attach_hint else self._rejected_approval(d, src)
            if found is not None and found != src:
                src, attached = found, True
        if src is None:
            src = self.new_state(self._decision_name(d), "decision")
            self.connect(pending, src)
        out: list[Exit] = []
        has_default = False
        first = None if attached else _done_first(d)
        gated = self._approval_then_next(d, src, pending, attached)
        if gated is not None:
            return gated
        done_first: list[Exit] = []
        for branch in d.branches:
            cond, body, terminal = branch
            ctext = cond.text if cond is not None else None
            if cond is None:
                has_default = True
            exits = self.seq(body, [Exit(src, ctext)])
            if first is not None and branch is first[0]:
                done_first = exits  # connected once the other branch's first step exists
            elif attached or (terminal and not d.force_rejoin):
                self.connect(exits, END)
            else:
                out.extend(exits)
        target = self._state_of(first[1]) if first is not None else None
        if first is not None and target is not None:
            # "Small claims are paid at once; larger claims need a site visit first": then they are paid;
            # "orders above 1000 need the manager's approval; the rest are shipped right away": approved ones too
            steps = first[0][1]
            approval = bool(steps) and isinstance(steps[-1], Act) and steps[-1].who is not None
            self.connect(_approved(done_first) if approval else done_first, target)
            if approval:
                self.connect(done_first, END)  # rejected
        else:
            out.extend(done_first)
        if attached:
            return pending
        bools = {(b[0].var, b[0].value) for b in d.branches if b[0] is not None and b[0].kind == "bool"}
        complementary = any((v, not val) in bools for v, val in bools)
        if not has_default and not complementary:
            out.append(Exit(src))
        return out

    def _approval_then_next(self, d: Decision, src: str, pending: list[Exit], attached: bool) -> list[Exit] | None:
        """ "If the payment is over 10000 euros, it needs the CFO's approval before it is released": approved
        payments and every other payment are released, a rejected one is not. The exits after the step that
        follows the approval, or ``None`` when ``d`` is not such a decision."""
        if not _approval_before_next(d):
            return None
        if not attached:
            others = [Exit(src)]
        else:  # the condition is on an earlier step: that step's own way on goes to the released step too
            others = [e for e in pending if e.src == src and e.cond is None and not e.fan_in and not e.fork]
            if not others:
                return None
        cond, body, _ = d.branches[0]
        asked = self.seq(body[:1], [Exit(src, cond.text)])
        exits = self.seq(body[1:], _approved(asked) + others)
        self.connect(asked, END)  # rejected
        return exits if not attached else [e for e in pending if not any(e is o for o in others)] + exits

    def _attach_target(self, hint: tuple[str, ...]) -> str | None:
        words = {w for w in hint if w not in W.PRONOUNS}
        words |= {W.singular(w) for w in words}
        words |= {W.NOMINALS.get(w, w) for w in words}
        for name in reversed(self.order):
            if name in self.branch_states or self.kinds.get(name) != "action":
                continue
            parts = set(name.split("_"))
            if parts & words:
                return name
        return None

    def _step_of_nominal(self, hint: tuple[str, ...]) -> str | None:
        """The last action state whose verb the condition's noun names ("validation" -> validate_…, "the
        stock check" -> check_stock: the words before the noun are among the state's)."""
        words = [w for w in hint if w not in W.PRONOUNS and w not in ("the", "a", "an")]
        if not words or len(words) > 3 or W.NOMINALS.get(words[-1]) is None:
            return None
        verb, objects = W.NOMINALS[words[-1]], {W.singular(w) for w in words[:-1]}
        for name in reversed(self.order):
            if name in self.branch_states or self.kinds.get(name) != "action":
                continue
            parts = name.split("_")
            if parts[0] == verb and objects <= {W.singular(p) for p in parts[1:]}:
                return name  # "the stock check" -> check_stock
        return None

    def _rejected_approval(self, d: Decision, src: str) -> str | None:
        """The last approval before ``src`` when ``d`` reads its rejection (``approved==False``) and ``src``
        is a later step (the approval's own decision follows it directly)."""
        if src in self.approvals or not all(c is not None and c.var == "approved" for c, *_ in d.branches):
            return None
        return next((n for n in reversed(self.order) if n in self.approvals and n not in self.branch_states), None)

    def _state_of(self, act: Act) -> str | None:
        """The state made for ``act`` (its name, or that name with the smallest free suffix), if made."""
        return next(
            (n for n in reversed(self.order) if n == act.name or re.fullmatch(re.escape(act.name) + r"_\d+", n)), None
        )

    def _decision_name(self, d: Decision) -> str:
        cond = next((b[0] for b in d.branches if b[0] is not None), None)
        if cond is None:
            return "decide_next_step"
        if cond.var:
            words = cond.var.split("_")[:3]
        else:
            words = [w for w in cond.subject if w not in W.SUBJECTIVE][:3] or ["condition"]
        return "check_" + "_".join(words)

    def finish(self, pending: list[Exit]) -> None:
        fan_ins = [e for e in pending if e.fan_in is not None]
        if fan_ins:
            join = self.new_state("merge_results", "join")
            self.connect(fan_ins, join)
            pending = [e for e in pending if e.fan_in is None] + [Exit(join)]
        self.connect(pending, END)

    def add_handlers(self, handlers: list[list]) -> None:
        for body in handlers:
            targets = [
                s
                for s in self.order
                if self.kinds.get(s) == "action"
                and s not in self.branch_states
                and s not in self.handler_states
                and not any(st[0] == (s,) and st[2] == "@error" for st in self.statements)
            ]
            if not targets or not body:
                continue
            self.in_handler = True
            try:
                exits = self.seq(body, [Exit(s, "@error") for s in targets])
            finally:
                self.in_handler = False
            self.finish(exits)

    def dsl(self) -> str:
        first_seen: dict[str, int] = {START: -1}
        for i, (srcs, tgts, *_rest) in enumerate(self.statements):
            for s in srcs:
                first_seen.setdefault(s, i)

        def key(item):
            i, st = item
            srcs = st[0]
            return (min(first_seen.get(s, i) for s in srcs), 0 if st[3] else 0, i)

        ordered = [st for _, st in sorted(enumerate(self.statements), key=key)]
        lines = []
        for srcs, tgts, cond, sg, tg in ordered:
            src = "[" + ",".join(srcs) + "]" if sg else srcs[0]
            dst = "[" + ",".join(tgts) + "]" if tg else tgts[0]
            lines.append(f"{src}->{dst}" + (f":{cond}" if cond else "") + ";")
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# repair


def _linear(names: list[str]) -> str:
    names = [n for n in dict.fromkeys(names) if n not in (START, END)] or ["review_request"]
    chain = [START] + names + [END]
    return "\n".join(f"{a}->{b};" for a, b in zip(chain, chain[1:])) + "\n"


def _on_failure(d: Decision) -> bool:
    """Every branch of ``d`` is taken when something did not pass ("if validation fails"): the path
    leaves the flow there (what follows runs only when it passed)."""
    conds = [b[0] for b in d.branches]
    return bool(conds) and all(c is not None and c.kind == "bool" and c.value is False for c in conds)


_FIRST = re.compile(r"\b(?:first|beforehand|before\s+that)\s*$", re.I)


_GATE = re.compile(r"\b(?:needs?|requires?)\b", re.I)
_SAME_AS_APPROVAL = re.compile(r"\b(?:approv\w*|accept\w*|sign(?:ed|s)?[- ]?off|ok(?:ay)?ed)\b", re.I)
_NO_GATE = re.compile(
    r"\b(?:right\s+away|immediately|straight\s+away|directly|automatically|without\s+(?:any\s+)?"
    r"(?:approval|review|sign[- ]?off|waiting))\b",
    re.I,
)


def _needed_approval(step) -> bool:
    """``step`` is an approval something needs ("orders above 1000 need the manager's approval")."""
    return isinstance(step, Act) and step.who is not None and _GATE.search(step.text) is not None


def _gate(branch: list, other: list) -> bool:
    """``branch`` is only an approval the case needs ("orders above 1000 need the manager's approval")
    and ``other`` starts with what is done without it ("everything else is shipped right away")."""
    body, other_body = branch[1], other[1]
    if len(body) != 1 or not _needed_approval(body[0]):
        return False
    if not other_body or not isinstance(other_body[0], Act) or not _NO_GATE.search(other_body[0].text):
        return False
    # "smaller ones are approved automatically" is instead of the approval, not after it
    return not _SAME_AS_APPROVAL.search(_NO_GATE.sub(" ", other_body[0].text))


def _approved(exits: list[Exit]) -> list[Exit]:
    """An approval step's exits taken only when it was approved (``approved!=False``; the others end the run)."""
    return [Exit(e.src, "approved!=False") for e in exits]


def _approval_before_next(d: Decision) -> bool:
    """A lone condition whose case needs an approval, then a step ("if it is over 10000 euros, it needs the
    CFO's approval before it is released"): every other case goes to that step as well."""
    if len(d.branches) != 1:
        return False
    cond, body, terminal = d.branches[0]
    if cond is None or terminal or len(body) < 2 or not _needed_approval(body[0]):
        return False
    after = body[1]
    return isinstance(after, Act) and not after.terminal and after.who is None


def _done_first(d: Decision) -> tuple[list, Act] | None:
    """(the branch whose steps are done "first", the other branch's first step), for two branches where one
    ends with "… first" ("larger claims need a site visit first"), or is only the approval the case needs
    while the other is done "right away" ("orders above 1000 need approval; the rest are shipped right
    away"): those steps come before the other's."""
    if len(d.branches) != 2:
        return None
    firsts = [b for b in d.branches if b[1] and isinstance(b[1][-1], Act) and _FIRST.search(b[1][-1].text)]
    if not firsts:
        a, b = d.branches
        firsts = [x for x, y in ((a, b), (b, a)) if _gate(x, y)]
    if len(firsts) != 1 or firsts[0][2]:
        return None
    other = next(b for b in d.branches if b is not firsts[0])
    if not other[1] or not isinstance(other[1][0], Act) or other[2]:
        return None
    return firsts[0], other[1][0]
