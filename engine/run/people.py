"""People in a run: approvals, escalations of failures, decisions the AI is unsure of, and answers.

A state that needs a person opens a request (``human_requests``, id
``<execution>:<token>:<state>:<visit>:<kind>[#attempt]`` so a replay finds the same request and its
answer) and the token waits; the run is ``waiting`` meanwhile. :meth:`PeopleMixin.answer` records
an answer from any process; the run driving the request gets it at once (same process) or through
the poller (:mod:`engine.run.control`). With ``detach_when_waiting`` the drive stops instead and a
later ``resume`` continues with the answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

from engine import records
from engine.dsl.model import Condition
from engine.dsl.printer import condition_text
from engine.durations import duration_text
from engine.recovery import APPROVAL_TIMEOUT, WAIT_GAVE_UP, Failure, RecoveryDecision
from engine.run.parts import EngineParts
from engine.run.recorder import answered_request_row, request_row
from engine.run.state import Detach, Exec, RunError, Token, now
from engine.schema import TIMER_REQUEST
from engine.workflow_file import StateBinding

log = logging.getLogger("workbench.runner")

EXPIRED = "expired"  # the answer the engine records when a request's time ran out (never an option)
# the request of a ``wait`` state: it "expires" when the wait is over; answering "continue" ends it early
TIMER = TIMER_REQUEST
CONTINUE = "continue"  # the one answer a timer takes
# a drive that detaches when only waiting is left (`workbench run`) waits out shorter timers itself
DETACH_TIMER_AFTER_S = 60.0
DETACH_CHECK_S = 0.25  # how often a drive that may detach looks whether only waiting is left


def wait_until(until: str, context: dict) -> dt.datetime:
    """The moment a ``wait`` state's ``until`` names (naive UTC, as the store keeps times): an ISO date or
    time (``2027-01-31``, ``2027-01-31T09:00``, with or without a zone; without one it is UTC), or a
    ``{key}`` of the context holding one. Raises ``ValueError`` with what was wrong."""
    from engine.actions.templating import fill

    try:
        text = fill(until, context).strip() if "{" in until else until.strip()
    except KeyError as exc:
        raise ValueError(f"'until' names {exc} but the context has no such key") from None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(
            f"'until' is {text[:60]!r}, not a date or time: use ISO form such as '2027-01-31' or '2027-01-31T09:00'"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def request_id_of(ex: Exec, token: Token, state: str, visit: int, kind: str, suffix: str = "") -> str:
    """A request's id: the same on a replay, so a resumed run finds its request and answer again."""
    return f"{ex.id}:{token.id}:{state}:{visit}:{kind}{suffix}"


def expiry_of(request: dict) -> dt.datetime | None:
    """When an open request expires (naive UTC, as the store keeps times), from its ``details``."""
    details = request.get("details")
    if isinstance(details, str):
        details = records.loads(details, None)
    text = details.get("expires_at") if isinstance(details, dict) else None
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None


def unanswered_text(request: dict) -> str:
    """ "nobody answered within 2 d" (or "… in time" when the request does not say its limit)."""
    details = request.get("details")
    if isinstance(details, str):
        details = records.loads(details, None)
    limit = details.get("expires_after_s") if isinstance(details, dict) else None
    return f"nobody answered within {duration_text(float(limit))}" if limit else "nobody answered in time"


def is_expired(request: dict, at: dt.datetime | None = None) -> bool:
    """Whether an open request's time ran out (it can no longer be answered: the run, when driven,
    records it expired and goes on without an answer)."""
    expires = expiry_of(request)
    return expires is not None and expires <= (at or now())


MAX_NESTED_LEVELS = 1000  # levels searched below a run for a sub-workflow's open request (depth bounds it anyway)


class PeopleMixin(EngineParts):
    """Requests for a person, waiting for them, and answers (approval, escalation, decision)."""

    @property
    def decisions(self):
        """The AI decision service (``None`` when the AI layer is unavailable)."""
        if self._decisions is None:
            try:
                from engine.ai import get_ai

                self._decisions = get_ai(store=self.store).decisions
            except Exception as exc:  # the AI layer must never stop a run from starting
                log.warning("decision service unavailable: %s", exc)
                self._decisions = False
        return self._decisions or None

    # ----------------------------------------------------------------------------- answering
    def answer(self, execution_id: str, state: str, answer: str, by: str = "user") -> dict:
        """Answer an open request (approval yes/no, decision true/false, escalation retry/skip/abort)."""
        reqs = records.open_requests(self.store, [execution_id], state)
        if not reqs:  # a person is asked inside a sub-workflow: answering through the parent run works too
            reqs = self._open_requests_below(execution_id, state)
        if not reqs:
            expired = [
                r
                for r in records.human_requests(self.store, execution_id)
                if r["state"] == state and r.get("answer") == EXPIRED
            ]
            if expired and expired[-1]["kind"] == TIMER:
                raise RunError(f"the wait at '{state}' in execution {execution_id} is already over")
            if expired:
                raise RunError(
                    f"the {expired[-1]['kind']} of '{state}' in execution {execution_id} expired at "
                    f"{expired[-1]['updated_at']:%Y-%m-%d %H:%M} UTC ({unanswered_text(expired[-1])}): it can "
                    "no longer be answered; the run went on without it"
                )
            open_reqs = records.human_requests(self.store, execution_id, open_only=True)
            hint = ", ".join(f"{r['state']} ({r['kind']})" for r in open_reqs) or "none"
            raise RunError(f"execution {execution_id} has no open request for state '{state}'; open: {hint}")
        req = reqs[0]
        if is_expired(req) and req.get("kind") == TIMER:
            raise RunError(
                f"the wait at '{state}' in execution {execution_id} ended at {expiry_of(req):%Y-%m-%d %H:%M} UTC: "
                f"the run goes on when it is driven (workbench resume {execution_id}; a running service does that "
                "by itself)"
            )
        if is_expired(req):
            raise RunError(
                f"the {req['kind']} of '{state}' in execution {execution_id} expired at "
                f"{expiry_of(req):%Y-%m-%d %H:%M} UTC ({unanswered_text(req)}): it can no longer be answered; "
                f"the run goes on without it when it is resumed (workbench resume {execution_id}; a running "
                "service does that by itself)"
            )
        options = records.loads(req.get("options"), None) or []
        if options and answer not in options:
            raise RunError(f"'{answer}' is not a valid answer for {req['kind']} of '{state}'; choose one of {options}")
        self.store.append("human_requests", answered_request_row(req, answer, by, now()))
        self._audit(
            req["execution_id"],
            "info",
            state,
            "human_answer",
            f"{req['kind']} of '{state}' answered '{answer}' by {by}",
        )
        ex = self.execs.get(req["execution_id"])  # the run that asked (a sub-workflow run, or this one)
        if ex is not None and ex.task is not None and not ex.task.done():
            self._loop.call_soon_threadsafe(self._deliver_answer, ex, req["request_id"], answer)
            return {"request": req["request_id"], "delivered": "live"}
        exec_row = self.execution_row(execution_id)
        if (
            exec_row
            and exec_row["status"] == "waiting"
            and (exec_row.get("owner") == self.owner or not self._owner_alive(exec_row.get("owner")))
        ):
            return {"request": req["request_id"], "delivered": "resume"}
        return {"request": req["request_id"], "delivered": "store"}

    def _open_requests_below(self, execution_id: str, state: str) -> list[dict]:
        """Open requests for ``state`` in the sub-workflow runs under an execution (nearest level first)."""
        frontier = [execution_id]
        for _ in range(MAX_NESTED_LEVELS):  # bounded: the depth limit keeps real chains far shorter
            frontier = [k["execution_id"] for k in records.child_executions(self.store, frontier)]
            if not frontier:
                return []
            reqs = records.open_requests(self.store, frontier, state)
            if reqs:
                return reqs
        return []

    def _deliver_answer(self, ex: Exec, request_id: str, answer: str) -> None:
        """Hand an answer to the token waiting for it (on the loop)."""
        ex.answers[request_id] = answer
        fut = ex.waiters.get(request_id)
        if fut is not None and not fut.done():
            fut.set_result(answer)

    # ----------------------------------------------------------------------------- waiting
    async def _wait_human(
        self,
        ex: Exec,
        token: Token,
        kind: str,
        state: str,
        visit: int,
        prompt: str,
        options: list[str],
        details: dict | None = None,
        key_suffix: str = "",
        expires_after_s: float | None = None,
    ) -> str:
        """Open (or find) the request and wait for its answer; raises Detach when asked to stop driving.

        With ``expires_after_s`` the request expires that long after it was opened (recorded in its
        ``details.expires_at``, so a restart or a later ``resume`` keeps the same moment): it is then
        answered :data:`EXPIRED` by the engine, and that is returned."""
        request_id = request_id_of(ex, token, state, visit, kind, key_suffix)
        if request_id in ex.answers:
            return ex.answers[request_id]
        loop = asyncio.get_running_loop()
        existing = await loop.run_in_executor(None, records.request_status, self.store, request_id)
        if existing and existing["status"] == "answered":
            return existing["answer"]
        expires_at = None
        if existing and existing["status"] == "open":
            expires_at = expiry_of(existing)
        elif expires_after_s:
            expires_at = now() + dt.timedelta(seconds=expires_after_s)
            details = {**(details or {}), "expires_at": expires_at.isoformat(), "expires_after_s": expires_after_s}
        if not existing or existing["status"] != "open":
            self.store.append(
                "human_requests", request_row(request_id, ex.id, state, kind, prompt, options, details, now())
            )
        ex.waiting[request_id] = {
            "request_id": request_id,
            "state": state,
            "kind": kind,
            "prompt": prompt,
            "options": options,
        }
        fut = loop.create_future()
        ex.waiters[request_id] = fut
        ex.status = "waiting"
        self._record_exec(ex, current_state=state)
        what = prompt if kind == TIMER else f"waiting for a person: {prompt}"
        self._audit(ex.id, "info", state, "waiting", what, {"kind": kind})
        ex.busy -= 1
        try:
            while True:
                left = (expires_at - now()).total_seconds() if expires_at is not None else None
                if left is not None and left <= 0:
                    answer = await self._expire_request(ex, request_id, state, fut)
                    break
                if ex.options.detach_when_waiting and ex.busy <= 0:
                    if kind != TIMER or left is None or left > DETACH_TIMER_AFTER_S:
                        raise Detach()
                # a drive that may detach looks again every 0.25 s (the other tokens may have finished); any
                # other drive sleeps until the answer (or a cancel) wakes it, or the request expires
                tick = DETACH_CHECK_S if ex.options.detach_when_waiting else None
                try:
                    answer = await asyncio.wait_for(
                        asyncio.shield(fut), left if tick is None else tick if left is None else min(tick, left)
                    )
                    break
                except TimeoutError:
                    continue
        finally:
            ex.busy += 1
            ex.waiters.pop(request_id, None)
        ex.waiting.pop(request_id, None)
        ex.status = "running" if not ex.waiting else "waiting"
        self._record_exec(ex, current_state=state)
        return answer

    async def _approval(
        self, ex: Exec, token: Token, state: str, visit: int, binding: StateBinding, attempt: int = 1
    ) -> dict:
        """An ``approval`` state: ask yes/no; the task-style result record sets ``approved``.

        With ``timeout_s`` an approval nobody answers in time fails with ``ApprovalTimeout`` (its
        ``@error`` transition, or a retry policy that asks again, decides what follows); each attempt
        is a request of its own."""
        from engine.actions.templating import fill

        t0 = time.time()
        try:
            prompt = fill(binding.message, token.context) if binding.message else f"Approve '{state}'?"
        except KeyError:
            prompt = binding.message or f"Approve '{state}'?"
        limit = binding.timeout_s
        if limit:
            prompt = f"{prompt} (no answer within {duration_text(limit)} counts as a timeout)"
        answer = await self._wait_human(
            ex,
            token,
            "approval",
            state,
            visit,
            prompt,
            ["yes", "no"],
            key_suffix="" if attempt <= 1 else f"#{attempt}",
            expires_after_s=limit,
        )
        if answer == EXPIRED:
            return {
                "status": "failed",
                "updates": {},
                "error_type": APPROVAL_TIMEOUT,
                "error_message": f"nobody answered the approval of '{state}' within {duration_text(limit or 0)}",
                "started_at": t0,
                "ended_at": time.time(),
                "keys_read": [],
                "keys_written": [],
            }
        approved = answer == "yes"
        return {
            "status": "completed",
            "updates": {"approved": approved, f"{state}_approved": approved},
            "started_at": t0,
            "ended_at": time.time(),
            "keys_read": [],
            "keys_written": ["approved"],
        }

    async def _wait_timer(
        self, ex: Exec, token: Token, state: str, visit: int, binding: StateBinding, attempt: int = 1
    ) -> dict:
        """A ``wait`` state: a durable timer of ``wait_s`` seconds, or until the moment ``until`` names.

        The wait is a request of kind :data:`TIMER` whose expiry is the end of the wait, recorded when
        it starts: a restart or a later ``resume`` waits only what is left, and a running service takes
        over a detached run whose wait is over. Nobody is asked; answering ``continue`` ends the wait
        early. A moment already past ends the wait at once; an unreadable ``until`` fails the state
        (a data error: its ``@error`` path or recovery decides)."""
        t0 = time.time()

        def done(**extra) -> dict:
            return {"started_at": t0, "ended_at": time.time(), "keys_read": [], "keys_written": [], **extra}

        seconds = binding.wait_s
        suffix = "" if attempt <= 1 else f"#{attempt}"
        if binding.until:
            try:
                due = wait_until(binding.until, token.context)
            except ValueError as exc:
                return done(status="failed", updates={}, error_type="ValueError", error_message=str(exc))
            seconds = (due - now()).total_seconds()
            if seconds <= 0:
                # already past: go on at once, unless this wait was started before (a resumed run): then
                # its recorded request is ended as any other (else it would stay open forever)
                loop = asyncio.get_running_loop()
                started = await loop.run_in_executor(
                    None, records.request_status, self.store, request_id_of(ex, token, state, visit, TIMER, suffix)
                )
                if not started:
                    return done(status="completed", updates={})
        seconds = float(seconds or 0)
        if binding.give_up_after_s:  # a poll's limit, from when this branch first reached the wait
            first = None
            if visit > 0:
                loop = asyncio.get_running_loop()
                first = await loop.run_in_executor(None, records.first_start, self.store, ex.id, token.id, state)
            left = binding.give_up_after_s - ((now() - first).total_seconds() if first is not None else 0.0)
            if left <= 0:
                limit = duration_text(binding.give_up_after_s)
                return done(
                    status="failed",
                    updates={},
                    error_type=WAIT_GAVE_UP,
                    error_message=f"gave up: '{state}' was first reached more than {limit} ago "
                    f"(give_up_after_s), {visit} wait{'s' if visit != 1 else ''} so far",
                )
            seconds = min(seconds, left)  # the last look comes at the limit, not a whole wait after it
        ends = now() + dt.timedelta(seconds=seconds)
        # said as people say it ("15 min", not "15.0 min" for 899.4 s); the exact moment follows
        said = round(seconds / 60) * 60 if seconds >= 600 else round(seconds) if seconds >= 60 else round(seconds, 1)
        prompt = f"waiting {duration_text(said)}, until {ends:%Y-%m-%d %H:%M:%S} UTC"
        await self._wait_human(
            ex,
            token,
            TIMER,
            state,
            visit,
            prompt,
            [CONTINUE],
            key_suffix=suffix,
            expires_after_s=max(seconds, 0.001),
        )
        return done(status="completed", updates={})

    async def _expire_request(self, ex: Exec, request_id: str, state: str, fut: asyncio.Future) -> str:
        """The request's time is up: record it answered :data:`EXPIRED` by the engine, unless a person's
        answer got there first (then that answer counts)."""
        if fut.done():
            return fut.result()
        loop = asyncio.get_running_loop()
        rows = await loop.run_in_executor(None, records.open_requests_by_id, self.store, request_id)
        if not rows:  # answered meanwhile (from another process): its answer counts
            latest = await loop.run_in_executor(None, records.request_status, self.store, request_id)
            if latest and latest["status"] == "answered" and latest.get("answer"):
                return latest["answer"]
            return EXPIRED
        req = rows[0]
        self.store.append("human_requests", answered_request_row(req, EXPIRED, "engine", now()))
        ex.answers[request_id] = EXPIRED
        if req.get("kind") == TIMER:
            self._audit(ex.id, "info", state, "wait_over", f"the wait at '{state}' is over", {"request": request_id})
            return EXPIRED
        expires = expiry_of(req)
        who, _, within = unanswered_text(req).partition(" answered ")
        self._audit(
            ex.id,
            "warning",
            state,
            "request_expired",
            f"{who} answered the {req['kind']} of '{state}' {within}: it expired",
            {"request": request_id, "expires_at": expires.isoformat() if expires else None},
        )
        return EXPIRED

    async def _escalate(self, ex: Exec, token: Token, state: str, visit: int, f: Failure, d: RecoveryDecision) -> str:
        """Ask a person what to do with a failed state: retry, skip or abort."""
        # one request per failed attempt, so a replay after a crash finds the same answers again
        suffix = "" if f.attempt <= 1 else f"#{f.attempt}"
        return await self._wait_human(
            ex,
            token,
            "escalation",
            state,
            visit,
            f"'{state}' failed: {f.error_type}: {f.message[:300]}. {d.reasoning}. "
            "Retry, skip the state, or abort the run?",
            ["retry", "skip", "abort"],
            {"error_type": f.error_type, "error_class": f.error_class},
            suffix,
        )

    async def _decide_natural(self, ex: Exec, token: Token, state: str, visit: int, sentence: str) -> tuple[bool, dict]:
        """Natural-language condition: the decision service decides, or a person when unsure."""
        service = self.decisions if ex.ai_decisions else None
        info: dict = {}
        if service is not None:
            loop = asyncio.get_running_loop()
            try:
                d = await loop.run_in_executor(
                    None,
                    lambda: service.evaluate_condition(
                        sentence,
                        token.context,
                        workflow_id=ex.workflow_id,
                        execution_id=ex.id,
                        state=state,
                        workflow_budget_usd=ex.spec.settings.budget_usd,
                    ),
                )
                info = {
                    "result": bool(d.result),
                    "reasoning": d.reasoning,
                    "confidence": int(d.confidence),
                    "provider": getattr(d, "provider", None),
                    "decided_by": getattr(d, "decided_by", "ai"),
                }
            except Exception as exc:
                info = {"result": None, "reasoning": f"decision service failed: {exc}", "confidence": 0}
        else:
            info = {
                "result": None,
                "confidence": 0,
                "reasoning": "AI decisions are off for this run"
                if not ex.ai_decisions
                else "no decision service is available",
            }
        entry = {"state": state, "condition": sentence, **info}
        if info.get("result") is not None and info["confidence"] >= ex.threshold:
            ex.ai_log.append({**entry, "decided_by": info.get("decided_by", "ai")})
            self._audit(
                ex.id,
                "info",
                state,
                "ai_decision",
                f'"{sentence}" → {info["result"]} ({info["confidence"]}%): {info["reasoning"]}',
                info,
            )
            return bool(info["result"]), info
        # below the threshold: a person decides, and sees the reasoning
        answer = await self._wait_human(
            ex,
            token,
            "decision",
            state,
            visit,
            f'Is this true: "{sentence}"? '
            + (
                f"AI: {info.get('result')} at {info.get('confidence')}% "
                f"(threshold {ex.threshold}%): {info.get('reasoning')}"
                if info.get("result") is not None
                else info.get("reasoning", "")
            ),
            ["true", "false"],
            info,
        )
        result = answer == "true"
        if service is not None and hasattr(service, "record_human"):
            ctx = dict(token.context)
            try:  # later decisions on this condition see the person's answer as history and cache
                await asyncio.get_running_loop().run_in_executor(
                    None,
                    lambda: service.record_human(
                        condition_text(Condition("natural", sentence)),
                        ctx,
                        result,
                        by="person",
                        workflow_id=ex.workflow_id,
                        execution_id=ex.id,
                        state=state,
                    ),
                )
            except Exception as exc:
                log.warning("could not record the human decision: %s", exc)
        human = {
            "result": result,
            "confidence": 100,
            "reasoning": f"decided by a person (AI said: {info.get('reasoning', 'n/a')})",
            "decided_by": "human",
        }
        ex.ai_log.append({**entry, **human, "ai_confidence": info.get("confidence")})
        return result, human
