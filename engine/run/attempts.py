"""Running one state: where it runs, one attempt, retries and recovery, compensation.

:meth:`AttemptsMixin._execute_with_recovery` runs attempts of a state until one completes or
recovery (:mod:`engine.recovery`: retry, skip, fallback, compensate, escalate to a person) ends it;
it returns an immutable :class:`engine.run.outcome.Outcome`. :meth:`_run_once` is the dispatch of
one attempt: approvals and sub-workflows are carried out by the driver itself, other actions go to
the executor — a Ray task, or inline (a worker thread, never the loop) for cheap states.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time

from engine.dsl.model import START
from engine.executors import DataError, InlineExecutor, TaskCancelled, TaskTimeout, WorkerLost
from engine.placement import CHEAP_MS, may_inline
from engine.recovery import Failure, RecoveryDecision, classify
from engine.run.outcome import Outcome
from engine.run.parts import EngineParts
from engine.run.state import ARTIFACTS_DIR, DATA_DIR, DRIVER_ACTIONS, Exec, Failed, Token
from engine.workflow_file import StateBinding

log = logging.getLogger("workbench.runner")

CHEAP_STATE_MS = CHEAP_MS  # a python state whose measured p95 is below this runs inline ("auto")
_EMPTY: tuple = (None, "", [], {})  # binding fields left out of the task payload (read as absent)
HOST = socket.gethostname()  # the node recorded for inline steps (looked up once: the call releases the GIL)


def compact_binding(binding: StateBinding) -> dict:
    """The binding as the worker gets it: its JSON dump without empty fields (``None``, ``""``, ``[]``,
    ``{}``), which every action reads as absent (``binding.get(key) or default``). Pickled into every
    Ray task, so smaller is faster: ~110 bytes instead of ~470 for a python state."""
    return {k: v for k, v in binding.model_dump(mode="json").items() if v not in _EMPTY}


class AttemptsMixin(EngineParts):
    """Attempts at a state: placement, dispatch to the executor, retries, recovery and compensation."""

    # ----------------------------------------------------------------------------- placement
    def _payload(self, ex: Exec, token: Token, state: str, binding: StateBinding, attempt: int) -> dict:
        """What the executor gets for one attempt (the binding is dumped once per run)."""
        hit = ex.binding_dumps.get(id(binding))  # states sharing one binding share its dump
        if hit is None:  # (the cache holds the binding, so its id cannot be reused meanwhile)
            hit = ex.binding_dumps[id(binding)] = (binding, compact_binding(binding))
        payload = {
            "action": binding.action,
            "binding": hit[1],
            "context": token.context,
            "state": state,
            "execution_id": ex.id,
            "workflow_id": ex.workflow_id,
            "attempt": attempt,
            "python_path": ex.python_path,
            "workflow_dir": ex.workflow_dir,
            "data_dir": DATA_DIR,
            "artifacts_dir": ARTIFACTS_DIR,
            "timeout_s": binding.timeout_s,
        }
        return {k: v for k, v in payload.items() if v is not None}  # the worker reads it with .get()

    def _where(self, ex: Exec, state: str, binding: StateBinding) -> str:
        """Where an attempt runs: ``ray`` or ``inline``."""
        if state == START or binding.action == "noop" or binding.action in DRIVER_ACTIONS:
            return "inline"
        if binding.action in ("llm", "http") and ex.options.execution != "inline" and binding.execution != "inline":
            return "ray"  # network calls never block the driver loop
        if ex.options.execution in ("ray", "inline"):
            return ex.options.execution
        if binding.execution != "auto":
            return binding.execution
        # decided per attempt by what this process measured so far (engine/placement.py)
        return "inline" if self._placement.is_cheap(ex.workflow_id, state, binding) else "ray"

    async def _cheap_states(self, ex: Exec) -> set[str]:
        """The ``auto`` states cheap enough to run inline now; the records seed the learner once per workflow."""
        from engine import records

        bindings = {s: ex.spec.binding(s) for s in ex.model.states}
        if ex.options.execution != "auto" or not any(may_inline(b) for b in bindings.values()):
            return set()
        if self._placement.needs_seed(ex.workflow_id):
            try:
                rows = await asyncio.get_running_loop().run_in_executor(
                    None, records.ray_state_timings, self.store, ex.workflow_id
                )
            except Exception:
                rows = []
            self._placement.seed(ex.workflow_id, rows, bindings)
        return self._placement.cheap_states(ex.workflow_id, bindings)

    def _learn(self, ex: Exec, state: str, binding: StateBinding, out: dict, blocked: bool = False, inline=False):
        """Feed one python attempt's own run time to the placement learner."""
        if binding.action == "python":
            ok = out.get("status") == "completed"
            self._placement.observe(ex.workflow_id, state, binding, out.get("duration_ms"), ok, blocked, inline)

    def _cancel_handles(self, ex: Exec) -> None:
        """Cancel the run's tasks still in flight (never raises)."""
        for h in list(ex.handles):
            try:
                self.executor.cancel(h)
            except Exception:
                pass

    # ----------------------------------------------------------------------------- one attempt
    async def _run_once(
        self, ex: Exec, token: Token, state: str, visit: int, binding: StateBinding, attempt: int
    ) -> Outcome:
        """One attempt, dispatched by action and placement. Never raises for task failures."""
        if binding.action == "approval":
            return Outcome.from_task(await self._approval(ex, token, state, visit, binding, attempt), "inline", attempt)
        if binding.action == "workflow":
            return Outcome.from_task(await self._sub_workflow(ex, token, state, visit, binding), "inline", attempt)
        if binding.action == "wait":
            return Outcome.from_task(
                await self._wait_timer(ex, token, state, visit, binding, attempt), "inline", attempt
            )
        where = self._where(ex, state, binding)
        payload = self._payload(ex, token, state, binding, attempt)
        if binding.action == "llm":
            payload["db_path"] = self._db_path
        if where == "inline":
            payload["node_hint"] = HOST
            if binding.action == "noop":
                return Outcome.from_task(InlineExecutor.run_now(payload), "inline", attempt)
            # user code never runs on the loop itself: a slow outlier must not stall every other run
            inline = InlineExecutor()
            t0 = time.time()
            try:
                out = await inline.result(inline.submit(payload, state), binding.timeout_s)
            except TaskTimeout as exc:
                self._learn(ex, state, binding, {"duration_ms": None, "status": "failed"}, blocked=True)
                return Outcome.failure("TaskTimeout", str(exc), "inline", t0).but(attempt=attempt)
            self._learn(ex, state, binding, out, inline=True)
            return Outcome.from_task(out, "inline", attempt)
        if not self._executor_ready:
            self._ensure_executor()
        name = f"{ex.spec.name[:40]} · {state} · {ex.id[:8]}"
        t0 = time.time()
        # the worker enforces timeout_s on its own clock (queue time is not execution time); the
        # driver's backstop force-cancels a task that ignores it (e.g. stuck in C code)
        payload["enforce_timeout_here"] = True
        backstop = binding.timeout_s + max(30.0, binding.timeout_s) if binding.timeout_s else None
        handle = self.executor.submit(payload, name)
        ex.handles.add(handle)
        try:
            out = await self.executor.result(handle, backstop)
        except (TaskTimeout, WorkerLost, TaskCancelled, DataError) as exc:
            blocked = isinstance(exc, (TaskTimeout, WorkerLost))
            self._learn(ex, state, binding, {"duration_ms": None, "status": "failed"}, blocked=blocked)
            return Outcome.failure(type(exc).__name__, str(exc), "ray", t0, duration=True).but(attempt=attempt)
        finally:
            ex.handles.discard(handle)
        self._learn(ex, state, binding, out)
        return Outcome.from_task(out, "ray", attempt)

    # ----------------------------------------------------------------------------- retries and recovery
    async def _replay_escalations(
        self, ex: Exec, token: Token, state: str, visit: int, binding: StateBinding
    ) -> tuple[int, Outcome | None]:
        """On replay, escalations a person already answered are applied, not asked again.

        Returns the attempt to go on with, or the outcome when the answer was 'skip'."""
        attempt = 1
        while ex.answers:
            key = f"{ex.id}:{token.id}:{state}:{visit}:escalation" + ("" if attempt <= 1 else f"#{attempt}")
            answer = ex.answers.get(key)
            if answer is None:
                break
            self._record_human_recovery(ex, state, answer, attempt)
            if answer == "retry":
                ex.retry_count += 1
                attempt += 1
                continue
            if answer == "skip":
                self._record_skip(ex, token, state, visit, binding, attempt)
                return attempt, Outcome.skipped(attempt)
            raise Failed(f"'{state}' failed and a person chose to abort the run", "Aborted", state)
        return attempt, None

    def _record_skip(self, ex: Exec, token: Token, state: str, visit: int, binding: StateBinding, attempt: int):
        self._record_step(
            ex,
            token,
            state,
            visit,
            status="skipped",
            to_state=None,
            ttype="recovery",
            updates={},
            attempt=attempt,
            action=binding.action,
        )

    async def _execute_with_recovery(
        self, ex: Exec, token: Token, state: str, visit: int, binding: StateBinding
    ) -> Outcome:
        """Attempts until one completes or recovery ends the state (skipped, fallback) or the run (Failed)."""
        attempt, replayed = await self._replay_escalations(ex, token, state, visit, binding)
        if replayed is not None:
            return replayed
        while True:
            outcome = await self._run_once(ex, token, state, visit, binding, attempt)
            if outcome.ok:
                if attempt > 1:
                    self._close_recovery(ex, success=True)
                if state in (START,) or binding.action == "noop":
                    return outcome.but(
                        record={**outcome.record, "keys_read": [], "keys_written": list(outcome.updates)}
                    )
                return outcome
            if ex.cancel_requested:  # the attempt died of the run's cancel/timeout: never recovered
                raise asyncio.CancelledError()
            # a failed attempt: record it, then ask recovery what to do
            ex.error_count += 1
            if attempt > 1:
                self._close_recovery(ex, success=False)
            self._record_step(
                ex,
                token,
                state,
                visit,
                status="failed",
                to_state=None,
                ttype="error",
                out=outcome.record,
                attempt=attempt,
                action=binding.action,
                executed_on=outcome.executed_on,
            )
            err_type, msg = outcome.error_type, outcome.error_message
            self._audit(
                ex.id,
                "error",
                state,
                "state_failed",
                f"'{state}' failed (attempt {attempt}): {err_type}: {msg}",
                {"token": token.id, "attempt": attempt, "error_class": classify(err_type, msg)},
                outcome.record.get("traceback"),
            )
            has_fallback = any(t.is_error for t in ex.model.outgoing(state))
            failure = Failure(
                state,
                err_type,
                msg,
                attempt,
                binding,
                has_fallback,
                [c[1] for c in ex.compensable],
                ex.workflow_id,
                sorted(token.context),
            )
            if self.recovery.advisor is not None and ex.auto_recovery:  # may call a model: off the loop
                decision = await asyncio.get_running_loop().run_in_executor(
                    None, self.recovery.decide, failure, ex.auto_recovery
                )
            else:
                decision = self.recovery.decide(failure, auto=ex.auto_recovery)
            t_start = time.perf_counter()
            self._open_recovery(ex, failure, decision, token)
            if decision.strategy == "retry":
                ex.retry_count += 1
                ex.status = "recovering"
                await asyncio.sleep(decision.delay_s)
                ex.status = "running"
                attempt += 1
                continue
            if decision.strategy == "escalate":
                self._close_recovery(ex, success=None)  # recorded now: a person is asked (success unknown yet)
                choice = await self._escalate(ex, token, state, visit, failure, decision)
                if choice == "retry":
                    ex.retry_count += 1
                    attempt += 1
                    continue
                decision = RecoveryDecision(choice, f"a person chose {choice}", "human")
                self._open_recovery(ex, failure, decision, token)
            if decision.strategy == "skip":
                self._close_recovery(ex, success=True)
                self._record_skip(ex, token, state, visit, binding, attempt)
                return Outcome.skipped(attempt)
            if decision.strategy == "fallback":
                self._close_recovery(ex, success=True)
                return Outcome.fallback(attempt, state, err_type, msg, failure.error_class)
            if decision.strategy == "compensate":
                done = await self._compensate(ex, token)
                self._close_recovery(ex, success=True, duration_ms=(time.perf_counter() - t_start) * 1000)
                raise Failed(
                    f"'{state}' failed ({err_type}: {msg}); compensated by running "
                    f"{', '.join(done) or 'nothing'} in reverse order",
                    err_type,
                    state,
                    status="failed",
                )
            self._close_recovery(ex, success=False)
            raise Failed(f"'{state}' failed after {attempt} attempt(s): {err_type}: {msg}", err_type, state)

    def _recovery_history(self, state: str, error_class: str) -> dict:
        """{strategy: (successes, tries)} of past recoveries of this state and error class (cached 30 s)."""
        from engine import records

        key = (state, error_class)
        hit = self._history_cache.get(key)
        if hit and time.monotonic() - hit[0] < 30:
            return hit[1]
        try:
            hist = records.recovery_history(self.store, state, error_class)
        except Exception:
            hist = {}
        self._history_cache[key] = (time.monotonic(), hist)
        return hist

    def _recovery_advice(self, failure, history: dict):
        """The LLM's recovery suggestion when a model is configured (None offline)."""
        if self._advisor is None:
            try:
                from engine.ai import get_ai
                from engine.recovery import llm_advisor

                self._advisor = llm_advisor(get_ai(store=self.store))
            except Exception as exc:  # the AI layer must never break recovery
                log.warning("recovery advisor unavailable: %s", exc)
                self._advisor = lambda f, h: None
        return self._advisor(failure, history)

    # ----------------------------------------------------------------------------- compensation
    async def _compensate(self, ex: Exec, token: Token) -> list[str]:
        """Saga: run the compensation state of each completed step, most recent first."""
        done = []
        for tok_id, state, comp, _ctx in reversed(list(ex.compensable)):
            binding = ex.spec.binding(comp)
            ctoken = Token(f"{tok_id}~comp", comp, dict(token.context, **{"compensating": state}), frozenset())
            visit = ctoken.visits.get(comp, 0)
            rec = ex.replay.get((ctoken.id, comp, visit))
            if rec is None:
                outcome = await self._run_once(ex, ctoken, comp, visit, binding, 1)
                self._record_step(
                    ex,
                    ctoken,
                    comp,
                    visit,
                    status=outcome.record.get("status", "failed"),
                    to_state=None,
                    ttype="recovery",
                    out=outcome.record,
                    action=binding.action,
                    executed_on=outcome.executed_on,
                )
                if not outcome.ok:
                    self._audit(
                        ex.id,
                        "error",
                        comp,
                        "compensation_failed",
                        f"compensation '{comp}' for '{state}' failed: {outcome.record.get('error_message')}",
                    )
                    continue
            done.append(comp)
            self._audit(ex.id, "info", comp, "compensated", f"ran '{comp}' to undo '{state}'")
        ex.compensable.clear()
        ex.final_context = {**token.context, "compensated": done}
        token.context["compensated"] = done
        return done
