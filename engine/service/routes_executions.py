"""Execution routes under ``/api/v1``: list, detail, history, logs, live events (SSE), cancel, answers,
resume and rerun.

A run the caller may not read (not started by it, and of a workflow it neither owns nor has shared with
it) answers 404 like an unknown one (engine/service/auth.py ``check_visible``); lists hold only the runs
the caller may read.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import StreamingResponse

from engine import access, auth, library
from engine.auth import Permission
from engine.schema import FINISHED_STATUSES
from engine.service import models
from engine.service.auth import authorize, caller
from engine.service.errors import ApiError
from engine.service.routes import ERRORS, STARTS, _acted, _listener, _run_options, _started, _svc
from engine.workbench import runs

router = APIRouter()


def _execution_or_404(svc, execution_id: str) -> dict:
    ex = runs.execution(svc.store, execution_id)
    if ex is None:
        ex = _starting(svc, execution_id)
    if ex is None:
        raise ApiError(404, "not_found", f"no execution {execution_id}", {"execution_id": execution_id})
    return ex


def _starting(svc, execution_id: str) -> dict | None:
    """A run this service started whose first record is not written yet (its drive has not begun: the
    loop is busy, or Ray is still starting for the process's first run): what the engine knows of it,
    so a ``GET`` right after the ``POST`` that returned its id never answers "no execution"."""
    from engine.run.state import Exec

    ex = svc.engine.execs.get(execution_id)
    if not isinstance(ex, Exec):
        return None
    return {
        "execution_id": ex.id,
        "workflow_id": ex.workflow_id,
        "workflow_name": ex.spec.name,
        "version": ex.version,
        "status": ex.status,
        "start_time": ex.start_time,
        "initial_context": ex.initial_context,
        "states_visited": [],
    }


def _run_owner(svc, execution_id: str, ex: dict | None = None) -> str | None:
    """Who owns a run for the role checks: who started it through the service, else its workflow's owner."""
    started_by = auth.run_owner(svc.store, execution_id)
    if started_by is not None:
        return started_by
    ex = ex if ex is not None else _execution_or_404(svc, execution_id)
    try:
        return library.get_workflow(svc.store, ex["workflow_id"], ex.get("version"))[1].get("owner")
    except (library.WorkflowNotFoundError, KeyError, TypeError):
        return None


# ------------------------------------------------------------------------------- executions
@router.get("/executions", tags=["executions"], response_model=models.ExecutionList, responses=ERRORS)
def list_executions(
    request: Request,
    workflow: str | None = None,
    status: str | None = Query(
        None, pattern="^(queued|pending|running|waiting|completed|failed|cancelled|recovering)$"
    ),
    search: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
):
    """Recent top-level executions, newest first."""
    rows = runs.executions(_svc(request).store, workflow=workflow, status=status, text=search, limit=limit)
    rows = access.readable_execution_rows(_svc(request).store, caller(request), rows)  # runs it may read
    return {"total": len(rows), "executions": rows}


@router.get("/queue", tags=["executions"], response_model=models.QueueStatus)
def queue_status(request: Request):
    """Admission: runs queued and holding a slot now, the limit, the most in flight so far."""
    return _svc(request).queue.stats()


@router.get("/executions/{execution_id}", tags=["executions"], response_model=models.ExecutionDetail, responses=ERRORS)
def get_execution(request: Request, execution_id: str):
    """Status and details of one execution (open requests for a person included)."""
    svc = _svc(request)
    ex = _execution_or_404(svc, execution_id)
    authorize(request, Permission.READ, owner=_run_owner(svc, execution_id, ex) or "")
    ex["open_requests"] = runs.open_requests(svc.store, execution_id)
    ex["ai_decisions"] = runs.ai_decisions(svc.store, execution_id, ex)
    return ex


@router.get(
    "/executions/{execution_id}/history", tags=["executions"], response_model=models.ExecutionHistory, responses=ERRORS
)
def execution_history(request: Request, execution_id: str):
    """Every recorded transition, audit entry, recovery action and AI decision of the execution."""
    svc = _svc(request)
    ex = _execution_or_404(svc, execution_id)
    return {
        "execution_id": execution_id,
        "transitions": runs.transitions(svc.store, execution_id),
        "audit_logs": runs.audit_log(svc.store, execution_id, include_debug=True),
        "recovery_actions": runs.recovery_actions(svc.store, execution_id),
        "ai_decisions": runs.ai_decisions(svc.store, execution_id, ex),
    }


@router.get("/executions/{execution_id}/logs", tags=["executions"], responses=ERRORS)
def execution_logs(request: Request, execution_id: str, state: str | None = None):
    """What each attempt of the execution's states printed (stdout/stderr; bounded, secrets redacted), oldest first."""
    from engine import records

    svc = _svc(request)
    _execution_or_404(svc, execution_id)
    return {"execution_id": execution_id, "logs": records.step_logs(svc.store, execution_id, state=state)}


@router.get(
    "/executions/{execution_id}/events",
    tags=["executions"],
    name="execution_events",
    response_class=StreamingResponse,
    responses={404: {"model": models.ErrorResponse}, 200: {"content": {"text/event-stream": {}}}},
)
def execution_events(request: Request, execution_id: str, poll_ms: int = Query(200, ge=20, le=5000)):
    """Server-Sent Events: what happened so far, then live events until ``execution_finished``."""
    from engine.service.events import EventReader, sse

    svc = _svc(request)
    if execution_id not in svc.engine.execs:  # a run this process knows needs no lookup
        _execution_or_404(svc, execution_id)
    reader = EventReader(svc.store, execution_id)
    poll_s, heartbeat_s, full_every_s = poll_ms / 1000.0, 15.0, 1.0

    def marker():
        """What changes whenever a run driven here records something (None: not driven here)."""
        ex = svc.engine.execs.get(execution_id)
        if ex is None or not hasattr(ex, "seq"):  # not driven here, or its drive ended
            return None
        return ex.seq, ex.status, len(ex.waiting)

    async def stream():
        last_event = last_read = time.monotonic()
        seen = object()
        while True:
            now = time.monotonic()
            mark = marker()
            # read the records when the run driven here changed, and at least every second anyway
            # (answers, audit entries and runs driven by other processes do not move the marker)
            if mark is None or mark != seen or now - last_read >= full_every_s:
                seen = mark
                batch = await asyncio.to_thread(reader.poll)
                last_read = time.monotonic()
                for ev in batch:
                    yield sse(ev)
                if batch:
                    last_event = last_read
                if reader.finished:
                    return
            if now - last_event > heartbeat_s:
                yield b": keep-alive\n\n"
                last_event = now
            if await request.is_disconnected():
                return
            await asyncio.sleep(poll_s)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


@router.post(
    "/executions/{execution_id}/cancel", tags=["executions"], response_model=models.CancelResponse, responses=ERRORS
)
def cancel_execution(request: Request, execution_id: str):
    """Cancel a run (409 when it already ended)."""
    svc = _svc(request)
    who = authorize(request, Permission.CANCEL, owner=_run_owner(svc, execution_id))
    _acted(svc, who, "api.cancel", f"cancel asked by {who.user}", execution_id=execution_id)
    if svc.queue.cancel(execution_id, "cancelled through the API"):  # queued here: it never starts
        return {
            "message": "Execution cancelled",
            "execution_id": execution_id,
            "status": "cancelled",
            "final_state": None,
        }
    ex = _execution_or_404(svc, execution_id)
    if ex["status"] in FINISHED_STATUSES:
        raise ApiError(409, "conflict", f"execution {execution_id} is already {ex['status']}", {"status": ex["status"]})
    msg = svc.engine.cancel(execution_id, "cancelled through the API")
    done = svc.engine.execs.get(execution_id)
    if done is not None and msg == "cancelling":
        try:
            done.done.result(10)
        except Exception:  # still cancelling: report what we know
            pass
    ex = runs.execution(svc.store, execution_id) or ex
    return {
        "message": f"Execution {msg}",
        "execution_id": execution_id,
        "status": ex["status"],
        "final_state": ex.get("current_state") or ((ex.get("states_visited") or [None])[-1]),
    }


def _answer(request: Request, execution_id: str, state: str, value: str, by: str) -> dict:
    from engine.runner import RunError

    svc = _svc(request)
    ex = _execution_or_404(svc, execution_id)
    who = authorize(request, Permission.APPROVE, owner=_run_owner(svc, execution_id, ex))
    if who.token_id is not None:  # a token's user is who answered, whatever the body says
        by = who.user
    if ex["status"] in FINISHED_STATUSES:
        raise ApiError(
            409,
            "conflict",
            f"execution {execution_id} is {ex['status']}: it takes no answers",
            {"status": ex["status"]},
        )
    open_states = {r["state"] for r in runs.open_requests(svc.store, execution_id)}
    if state not in open_states:
        raise ApiError(
            409,
            "conflict",
            f"execution {execution_id} is not waiting at '{state}'",
            {"status": ex["status"], "waiting_at": sorted(open_states)},
        )
    if execution_id not in svc.engine.execs:  # driven by no one here: it continues here after the answer
        svc.engine.subscribe(execution_id, _listener(svc, ex.get("workflow_id"), ex.get("workflow_name") or ""))
    try:
        delivered = runs.answer_request(svc.engine, execution_id, state, value, by=by)
    except RunError as exc:
        if "not a valid answer" in str(exc):
            raise ApiError(400, "invalid_request", str(exc), {"field": "value"}) from None
        raise ApiError(409, "conflict", str(exc)) from None
    _acted(
        svc,
        who,
        "api.answer",
        f"'{state}' answered '{value}' by {by}",
        execution_id=execution_id,
        state=state,
        extra={"answer": value, "by": by},
    )
    if delivered == "resumed":  # no process drove it: it continues here now
        svc.metrics.started(ex.get("workflow_id"), ex.get("workflow_name") or "", "resume")
    return {"execution_id": execution_id, "state": state, "answer": value, "delivered": delivered}


@router.post(
    "/executions/{execution_id}/approve", tags=["executions"], response_model=models.AnswerResponse, responses=ERRORS
)
def approve(request: Request, execution_id: str, body: models.ApproveRequest):
    """Approve (or reject) an approval state the run waits at."""
    return _answer(request, execution_id, body.state, "yes" if body.approved else "no", body.by)


@router.post(
    "/executions/{execution_id}/answer", tags=["executions"], response_model=models.AnswerResponse, responses=ERRORS
)
def answer(request: Request, execution_id: str, body: models.AnswerRequest):
    """Answer a decision (true/false), an escalation (retry/skip/abort) or an approval (yes/no), or end a
    wait state's timer now (continue)."""
    return _answer(request, execution_id, body.state, body.value, body.by)


@router.post("/executions/{execution_id}/resume", **STARTS)
def resume(
    request: Request, execution_id: str, body: models.ResumeRequest = Body(default_factory=models.ResumeRequest)
):
    """Continue an interrupted or waiting run here, without re-running completed states."""
    from engine.runner import RunError

    svc = _svc(request)
    ex = _execution_or_404(svc, execution_id)
    who = authorize(request, Permission.EXECUTE, owner=_run_owner(svc, execution_id, ex))
    _acted(svc, who, "api.resume", f"resume asked by {who.user}", execution_id=execution_id)
    if ex["status"] in FINISHED_STATUSES:
        raise ApiError(
            409,
            "conflict",
            f"execution {execution_id} is already {ex['status']}; rerun it instead",
            {"status": ex["status"]},
        )
    svc.engine.subscribe(execution_id, _listener(svc, ex.get("workflow_id"), ex.get("workflow_name") or ""))
    opts = _run_options(body.execution_options) if body.execution_options else None
    try:
        svc.engine.resume(execution_id, opts)
    except RunError as exc:
        svc.engine._listeners.pop(execution_id, None)
        raise ApiError(409, "conflict", str(exc)) from None
    svc.metrics.started(ex.get("workflow_id"), ex.get("workflow_name") or "", "resume")
    return _started(svc, request, execution_id)


@router.post("/executions/{execution_id}/rerun", **STARTS)
def rerun(request: Request, execution_id: str, body: models.RerunRequest):
    """A new run reusing the recorded results of the states before ``from_state``."""
    from engine.runner import RunError

    svc = _svc(request)
    ex = _execution_or_404(svc, execution_id)
    who = authorize(request, Permission.EXECUTE, owner=_run_owner(svc, execution_id, ex))
    try:
        eid = svc.engine.rerun(execution_id, body.from_state, _run_options(body.execution_options))
    except RunError as exc:
        raise ApiError(400, "invalid_request", str(exc), {"field": "from_state"}) from None
    auth.record_run_start(svc.store, eid, who.user, workflow_id=ex.get("workflow_id"), how="rerun")
    svc.engine.subscribe(eid, _listener(svc, ex.get("workflow_id"), ex.get("workflow_name") or ""))
    svc.metrics.started(ex.get("workflow_id"), ex.get("workflow_name") or "", "rerun")
    return _started(svc, request, eid)
