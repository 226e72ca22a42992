"""The graph walk: advance a token state by state, choose each transition, fan out and join.

A *token* (:class:`engine.run.state.Token`) walks from a state to the next until ``end`` or the end
of its branch. After each state the transition is chosen — the error transition for a fallback, a
recorded choice on replay, the first conditional transition that holds (expressions here, natural
language through :meth:`PeopleMixin._decide_natural`), else the default — and recorded with the
state's completion *before* the next state starts (the durability rule of :mod:`engine.run`).

Fan-out runs one child token per target concurrently; at the join their contexts merge by the one
rule in :mod:`engine.merge` (token ids, conflicts, ``all_ok``/``any_failed``/``branch_status``) and
the fan-in transition is chosen (only conditional ones when a branch failed).
"""

from __future__ import annotations

import asyncio
import copy

from engine.dsl.conditions import evaluate_condition
from engine.dsl.model import END, Transition
from engine.dsl.printer import condition_text
from engine.errors import ConditionError
from engine.merge import JOIN_KEYS, Branch, branch_token, merge_branches
from engine.run.outcome import Outcome
from engine.run.parts import EngineParts
from engine.run.state import Detach, Exec, Failed, Token, jsonable
from engine.workflow_file import StateBinding

_SCALARS = (str, int, float, bool, type(None))  # immutable: shared safely between branches' contexts


def target_text(t: Transition) -> str:
    """How a transition's target is recorded: ``state`` or ``[a,b]`` for a group."""
    return "[" + ",".join(t.targets) + "]" if t.target_is_group else t.target


class WalkMixin(EngineParts):
    """Walking tokens through the graph (:meth:`_walk`), choosing transitions, fan-out and fan-in."""

    async def _walk(self, ex: Exec, token: Token) -> None:
        """Advance one token until it reaches end or its branch end; raises Failed on failure."""
        ex.busy += 1
        try:
            while True:
                state = token.state
                if state == END:
                    token.status = "completed"
                    return
                if ex.cancel_requested:
                    raise asyncio.CancelledError()
                ex.steps += 1
                if ex.steps > ex.max_steps:
                    raise Failed(
                        f"stopped after {ex.max_steps} steps: the workflow may loop forever "
                        f"(last state '{state}'); raise settings.max_steps if the loop is intended",
                        "MaxStepsExceeded",
                        state,
                    )
                visit = token.visits.get(state, 0)
                token.visits[state] = visit + 1
                rec = ex.replay.get((token.id, state, visit))
                binding = ex.spec.binding(state)
                replayed = bool(rec is not None and rec.get("status"))
                if rec is not None and replayed:
                    outcome = Outcome.replayed(rec, state)
                else:
                    outcome = await self._execute_with_recovery(ex, token, state, visit, binding)
                if outcome.updates:
                    token.context.update(outcome.updates)
                    token.written.update(outcome.updates)
                if outcome.status == "fallback":
                    token.context["error"] = outcome.error_dict()
                    token.written.add("error")
                if binding.compensate and outcome.status == "completed":
                    ex.compensable.append((token.id, state, binding.compensate, dict(token.context)))
                ex.visited.append(state)
                if state in token.stop_at:
                    if not replayed:
                        self._record_step(
                            ex,
                            token,
                            state,
                            visit,
                            status=outcome.status,
                            to_state=None,
                            ttype="parallel",
                            updates=outcome.updates,
                            action=binding.action,
                            out=outcome.record,
                            attempt=outcome.attempt,
                            executed_on=outcome.executed_on,
                            logs=outcome.logs,
                        )
                    token.status = "completed"
                    return
                chosen = await self._choose(ex, token, state, visit, outcome, rec, replayed, binding)
                if chosen.is_fan_out:
                    token.forks += 1
                    await self._fan_out(ex, token, chosen)
                    continue
                token.state = chosen.target
        finally:
            ex.busy -= 1

    async def _choose(
        self,
        ex: Exec,
        token: Token,
        state: str,
        visit: int,
        outcome: Outcome,
        rec: dict | None,
        replayed: bool,
        binding: StateBinding,
    ) -> Transition:
        """Pick the next transition, record the completion with it, and return it."""
        outs = list(ex.model.outgoing(state))
        if outcome.status == "fallback":
            chosen = next(t for t in outs if t.is_error)
            if not replayed:
                error = outcome.error or {}
                self._record_step(
                    ex,
                    token,
                    state,
                    visit,
                    status="fallback",
                    to_state=target_text(chosen),
                    ttype="error",
                    updates={},
                    action=binding.action,
                    out={"error_type": error.get("type"), "error_message": error.get("message")},
                )
            return chosen
        normal = [t for t in outs if not t.is_error]
        if rec is not None and rec.get("to_state"):
            for t in normal:
                if target_text(t) == rec["to_state"]:
                    if not replayed:  # decision recorded, state result not (cannot happen) - keep consistent
                        self._record_step(
                            ex,
                            token,
                            state,
                            visit,
                            status=outcome.status,
                            to_state=rec["to_state"],
                            ttype="conditional" if t.condition else "normal",
                            updates=outcome.updates,
                        )
                    return t
        tried: list[str] = []
        ai_info: dict | None = None
        found: Transition | None = None
        pending_record = not replayed
        for t in normal:
            if not t.is_conditional:
                continue
            cond = t.condition
            if cond is None:
                continue
            if cond.kind == "expr":
                try:
                    ok = evaluate_condition(cond.expr if cond.expr is not None else cond.text, token.context)
                except ConditionError as exc:
                    if pending_record:
                        self._record_step(
                            ex,
                            token,
                            state,
                            visit,
                            status=outcome.status,
                            to_state=None,
                            ttype="conditional",
                            updates=outcome.updates,
                            cond=cond.text,
                            action=binding.action,
                            logs=outcome.logs,
                        )
                    ex.error_count += 1
                    raise Failed(
                        f"condition '{cond.text}' on '{state}' could not be evaluated: {exc}", "ConditionError", state
                    ) from None
            else:
                if pending_record:  # the state is done; record it before a possibly long decision
                    self._record_step(
                        ex,
                        token,
                        state,
                        visit,
                        status=outcome.status,
                        to_state=None,
                        ttype="conditional",
                        updates=outcome.updates,
                        action=binding.action,
                        logs=outcome.logs,
                    )
                    pending_record = False
                ok, ai_info = await self._decide_natural(ex, token, state, visit, cond.text)
            tried.append(f"{condition_text(cond)} → {ok}")
            if ok:
                found = t
                break
        if found is None:
            defaults = [t for t in normal if t.condition is None]
            if defaults:
                found = defaults[0]
        if found is None:
            if pending_record:
                self._record_step(
                    ex,
                    token,
                    state,
                    visit,
                    status=outcome.status,
                    to_state=None,
                    ttype="conditional",
                    updates=outcome.updates,
                    cond="; ".join(tried),
                    cond_result=False,
                    action=binding.action,
                    logs=outcome.logs,
                )
            ex.error_count += 1
            raise Failed(
                f"no transition from '{state}' matched and there is no default: tried "
                + "; ".join(tried)
                + f". Add a default such as '{state}->end;' or fix the context",
                "NoTransition",
                state,
            )
        ttype = "parallel" if found.is_fan_out else "conditional" if found.condition else "normal"
        cond_text = "; ".join(tried) if tried else None
        if pending_record:
            self._record_step(
                ex,
                token,
                state,
                visit,
                status=outcome.status,
                to_state=target_text(found),
                ttype=ttype,
                updates=outcome.updates,
                cond=cond_text,
                cond_result=True if found.condition else None,
                ai=ai_info,
                action=binding.action,
                executed_on=outcome.executed_on,
                out=outcome.record,
                attempt=outcome.attempt,
            )
        else:
            # the completion was recorded before the decision (or replayed without one): record the decision
            self._record_step(
                ex,
                token,
                state,
                visit,
                status="decision",
                to_state=target_text(found),
                ttype=ttype,
                updates={},
                cond=cond_text,
                cond_result=True if found.condition else None,
                ai=ai_info,
                action=binding.action,
            )
        return found

    async def _fan_out(self, ex: Exec, token: Token, t: Transition) -> None:
        """Run one child token per target; join them (merge, record, choose the fan-in transition)."""
        idx = ex.model.transitions.index(t)
        group = ex.groups.get(idx)
        ends = frozenset(group.branch_ends) if group and group.branch_ends else frozenset()
        base = dict(token.context)
        # each branch gets its own copy; a context of scalars only (often) needs no deep copy
        flat = all(type(v) in _SCALARS for v in base.values())
        children = [
            Token(branch_token(token.id, token.forks, i + 1), b, dict(base) if flat else copy.deepcopy(base), ends)
            for i, b in enumerate(t.targets)
        ]
        ex.busy -= 1
        try:
            results = await asyncio.gather(*(self._walk(ex, c) for c in children), return_exceptions=True)
        finally:
            ex.busy += 1
        detached = False
        for c, r in zip(children, results, strict=True):
            if isinstance(r, Detach):
                detached = True
            elif isinstance(r, asyncio.CancelledError):
                raise r
            elif isinstance(r, Failed):
                if r.status == "compensated" or r.error_type in ("Aborted", "SubWorkflowDepthExceeded"):
                    raise r
                c.status, c.error = "failed", r.message
            elif isinstance(r, BaseException):
                raise r
        if detached:
            raise Detach()
        res = merge_branches(base, [Branch(s, c.context, c.written, c.status) for s, c in zip(t.targets, children)])
        merged, conflicts = res.context, res.conflicts
        token.context = merged
        token.written.update(k for c in children for k in c.written)
        if conflicts:
            self._audit(
                ex.id,
                "warning",
                None,
                "merge_conflict",
                "branches wrote different values for "
                + ", ".join(sorted(conflicts))
                + "; the first branch's value is kept and all values are in _conflicts",
                {"conflicts": jsonable(conflicts)},
            )
        if group is None or not group.branch_ends:  # fan-out without fan-in: branches ran to end
            if any(c.status == "failed" for c in children):
                failed = [c for c in children if c.status == "failed"]
                raise Failed("; ".join(f"branch '{c.id}' failed: {c.error}" for c in failed), "BranchFailed")
            token.state = END
            return
        join_key = "[" + ",".join(group.branch_ends) + "]"
        await self._join(ex, token, join_key, group.branch_ends, merged, children)

    async def _join(
        self, ex: Exec, token: Token, join_key: str, branch_ends, merged: dict, children: list[Token]
    ) -> None:
        """Choose and record the fan-in transition of a join (a recorded choice on replay)."""
        visit = token.forks
        rec = ex.replay.get((token.id, join_key, visit))
        fan_ins = ex.model.fan_ins_from(branch_ends)
        any_failed = merged["any_failed"]
        chosen = None
        tried = []
        if rec is not None and rec.get("to_state"):
            chosen = next((f for f in fan_ins if f.target == rec["to_state"]), None)
        if chosen is None:
            for f in fan_ins:
                if f.condition is None or f.is_error:
                    continue
                if f.condition.kind == "expr":
                    try:
                        expr = f.condition.expr
                        ok = evaluate_condition(expr if expr is not None else f.condition.text, merged)
                    except ConditionError as exc:
                        raise Failed(
                            f"fan-in condition '{f.condition.text}' could not be evaluated: {exc}",
                            "ConditionError",
                            join_key,
                        ) from None
                else:
                    ok, _ = await self._decide_natural(ex, token, join_key, visit, f.condition.text)
                tried.append(f"{condition_text(f.condition)} → {ok}")
                if ok:
                    chosen = f
                    break
            if chosen is None and not any_failed:
                chosen = next((f for f in fan_ins if f.condition is None), None)
            if chosen is None:
                errs = [f"{c.id} ({c.error})" for c in children if c.status == "failed"]
                why = ("branches failed: " + "; ".join(errs)) if errs else "no fan-in condition matched"
                raise Failed(
                    f"join {join_key}: {why}"
                    + (f"; tried {'; '.join(tried)}" if tried else "")
                    + (
                        ". Add a conditional fan-in such as '" + join_key + "->handle_failure:any_failed==True;'"
                        if errs
                        else ""
                    ),
                    "BranchFailed" if errs else "NoTransition",
                    join_key,
                )
            self._record_step(
                ex,
                token,
                join_key,
                visit,
                status="join",
                to_state=chosen.target,
                ttype="parallel",
                updates={k: merged[k] for k in JOIN_KEYS},
                cond="; ".join(tried) or None,
                cond_result=True if chosen.condition else None,
            )
        token.state = chosen.target
