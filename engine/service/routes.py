"""The REST API under ``/api/v1`` (seed design §7.1): workflows, executions, live events, AI features.

Every route calls the engine's own functions (``engine.api``, ``engine.library``,
``engine.workbench``, ``engine.records``, ``engine.analytics``, ``engine.optimizer``); no SQL lives here.
"""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from engine import auth, library
from engine.auth import Permission
from engine.errors import DSLError
from engine.schema import FINISHED_STATUSES
from engine.service import models
from engine.service.auth import authorize, caller, count_call
from engine.service.errors import ApiError, dsl_error, validation_details
from engine.workbench import ai as wb_ai
from engine.workbench import library as wb_library
from engine.workbench import runs
from engine.workflow_file import WorkflowFileError, WorkflowSpec, parse_workflow_text

log = logging.getLogger("workbench.service")

router = APIRouter()
ERRORS = {
    400: {"model": models.ErrorResponse},
    404: {"model": models.ErrorResponse},
    409: {"model": models.ErrorResponse},
    413: {"model": models.ErrorResponse},
}


def _svc(request: Request):
    return request.app.state.service


# ------------------------------------------------------------------------------- helpers
def _spec_from(fields: dict, base: WorkflowSpec | None = None) -> WorkflowSpec:
    """A WorkflowSpec from request fields (nl_description was translated before), on top of ``base``."""
    if fields.get("toml") is not None:
        try:
            spec = parse_workflow_text(fields["toml"], source="toml", fmt="toml")
        except WorkflowFileError as exc:
            raise ApiError(400, "invalid_workflow", str(exc), {"field": "toml"}) from None
        data = spec.model_dump(mode="json")
    elif base is not None:
        data = base.model_dump(mode="json")
    else:
        data = {}
    for key in ("name", "description", "tags", "dsl", "nl_description", "states", "settings"):
        if fields.get(key) is not None:
            data[key] = fields[key]
    if not data.get("name"):
        data["name"] = "Untitled workflow"
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc.errors())
        raise ApiError(
            400,
            "invalid_workflow",
            "invalid workflow: " + "; ".join(f"{d['field']}: {d['message']}" for d in details[:5]),
            details,
        ) from None


def _save(
    store, spec: WorkflowSpec, *, workflow_id: str | None, status: str, change_note: str, owner: str | None = None
) -> tuple[str, int]:
    """Validate fully, then save (nothing is recorded when the workflow is invalid)."""
    try:
        rep = spec.validate_all()  # raises DSLError on syntax errors
    except DSLError as exc:
        raise dsl_error(exc) from None
    if rep.errors and status != "draft":
        raise dsl_error(DSLError(rep.errors))
    return library.save_workflow(
        store, spec, workflow_id=workflow_id, change_note=change_note, status=status, owner=owner
    )


def _get_workflow(store, workflow_id: str, version: int | None = None) -> tuple[WorkflowSpec, dict]:
    try:
        return library.get_workflow(store, workflow_id, version)
    except library.WorkflowNotFoundError as exc:
        raise ApiError(404, "not_found", str(exc), {"workflow_id": workflow_id, "version": version}) from None


def _run_options(opts: models.ExecutionOptions | None):
    from engine.runner import RunOptions

    o = opts or models.ExecutionOptions()
    return RunOptions(
        timeout_s=o.timeout_seconds,
        max_steps=o.max_steps,
        ai_decisions=o.enable_ai_decisions,
        auto_recovery=o.enable_auto_recovery,
        decision_threshold=o.decision_threshold,
        execution=o.execution,
        detach_when_waiting=False,
    )


def _listener(svc, workflow: str):
    """The on_step callback of a run driven here: metrics and one structured log line per step."""
    count = svc.metrics.listener(workflow)
    step_log = logging.getLogger("workbench.run")

    def on_step(event: dict) -> None:
        count(event)
        if step_log.isEnabledFor(logging.INFO):
            state = event.get("state")
            status = event.get("status")
            msg = f"{status} {state}" if state else str(status).replace("_", " ")
            step_log.info(
                msg,
                extra={
                    "execution_id": event.get("execution_id"),
                    "workflow": workflow,
                    "state": state,
                    "status": status,
                },
            )

    return on_step


def _execution_or_404(store, execution_id: str) -> dict:
    ex = runs.execution(store, execution_id)
    if ex is None:
        raise ApiError(404, "not_found", f"no execution {execution_id}", {"execution_id": execution_id})
    return ex


def _run_owner(svc, execution_id: str, ex: dict | None = None) -> str | None:
    """Who owns a run for the role checks: who started it through the service, else its workflow's owner."""
    started_by = auth.run_owner(svc.store, execution_id)
    if started_by is not None:
        return started_by
    ex = ex if ex is not None else _execution_or_404(svc.store, execution_id)
    try:
        return library.get_workflow(svc.store, ex["workflow_id"], ex.get("version"))[1].get("owner")
    except (library.WorkflowNotFoundError, KeyError, TypeError):
        return None


def _acted(
    svc,
    who,
    event: str,
    message: str,
    *,
    execution_id: str | None = None,
    state: str | None = None,
    workflow_id: str | None = None,
    extra: dict | None = None,
) -> None:
    """One audit_logs row naming who did it (the token's user, or ``local`` in local mode)."""
    auth.audit(
        svc.store,
        event,
        message,
        actor=who.user,
        execution_id=execution_id,
        state=state,
        metadata={"role": who.role.value, "token_id": who.token_id, "workflow_id": workflow_id, **(extra or {})},
    )


def _submit(
    svc, spec, context: dict, options: models.ExecutionOptions | None, workflow_id: str, version: int | None
) -> tuple[str, str]:
    """Start a run through the service's queue (it waits as ``queued`` when over a limit)."""
    from engine.runner import RunError

    try:
        return svc.queue.submit(
            spec,
            context,
            _run_options(options),
            workflow_id=workflow_id,
            version=version,
            priority=(options.priority if options else 0),
            on_step=_listener(svc, spec.name),
        )
    except RunError as exc:
        raise ApiError(400, "invalid_request", str(exc), {"field": "initial_context"}) from None


def _started(
    svc,
    request: Request,
    eid: str,
    workflow_id: str | None = None,
    version: int | None = None,
    status: str | None = None,
) -> models.ExecutionStarted:
    """The answer to a start: from the engine's own state of the run (no store query on this path)."""
    ex = svc.engine.execs.get(eid)
    if status == "queued":
        return models.ExecutionStarted(
            execution_id=eid,
            workflow_id=workflow_id,
            version=version,
            status=status,
            start_time=None,
            events_url=str(request.url_for("execution_events", execution_id=eid)),
        )
    if ex is not None and getattr(ex, "start_time", None) is not None:  # still driven (not a finished summary)
        status, start_time = ex.status, ex.start_time
        workflow_id, version = workflow_id or ex.workflow_id, version or ex.version
    else:
        row = runs.execution(svc.store, eid) or {}
        status, start_time = row.get("status") or "running", row.get("start_time")
        workflow_id, version = workflow_id or row.get("workflow_id"), version or row.get("version")
    return models.ExecutionStarted(
        execution_id=eid,
        workflow_id=workflow_id,
        version=version,
        status=status,
        start_time=start_time,
        events_url=str(request.url_for("execution_events", execution_id=eid)),
    )


# ------------------------------------------------------------------------------- workflows
@router.post("/workflows", tags=["workflows"], status_code=201, response_model=models.WorkflowDetail, responses=ERRORS)
def create_workflow(request: Request, body: models.WorkflowCreate):
    """Create a workflow from natural language (translated), DSL, or a TOML workflow file."""
    svc = _svc(request)
    fields = body.model_dump()
    if body.nl_description is not None:
        count_call(request, "ai")  # a translation: an AI call as well as a creation
        tr = wb_ai.translate(body.nl_description, store=svc.store)
        if not tr["valid"]:
            raise ApiError(
                400,
                "invalid_workflow",
                "the translation did not give a valid workflow; rephrase the description or send the DSL",
                {"dsl": tr.get("dsl"), "errors": tr["check"].errors},
            )
        spec = wb_ai.spec_from_translation(
            tr,
            body.name or body.nl_description.strip().split("\n")[0][:80],
            body.description,
            body.tags,
            body.nl_description,
        )
        if body.states or body.settings:
            spec = _spec_from({"states": body.states, "settings": body.settings}, spec)
    else:
        spec = _spec_from(fields)
    who = caller(request)
    wid, version = _save(
        svc.store,
        spec,
        workflow_id=None,
        status=body.status,
        change_note=body.change_note or "created through the API",
        owner=who.user if who.token_id else None,
    )
    _acted(svc, who, "api.workflow_created", f"workflow {wid} v{version} created by {who.user}", workflow_id=wid)
    return _detail(svc, wid, version)


@router.get("/workflows", tags=["workflows"], response_model=models.WorkflowList, responses=ERRORS)
def list_workflows(
    request: Request,
    status: str | None = Query(None, pattern="^(draft|active|deprecated|archived|all)$"),
    tags: str | None = Query(None, description="comma-separated: every tag must be present"),
    search: str | None = Query(None, description="text in the id, name, description or tags"),
    page: int = Query(1, ge=1),
    page_size: int = Query(20, ge=1, le=200),
):
    """Workflows (their current version), newest change first, with filters and paging."""
    wanted = [t for t in (tags or "").split(",") if t.strip()]
    rows = wb_library.list_workflows(
        _svc(request).store, status=status, tag=wanted[0].strip() if wanted else None, text=search
    )
    for t in wanted[1:]:
        rows = [r for r in rows if t.strip().lower() in {str(x).lower() for x in r.get("tags") or []}]
    start = (page - 1) * page_size
    return {"total": len(rows), "page": page, "page_size": page_size, "workflows": rows[start : start + page_size]}


def _detail(svc, workflow_id: str, version: int | None = None) -> dict:
    from engine import analytics, optimizer

    spec, meta = _get_workflow(svc.store, workflow_id, version)
    wid, ver = meta["workflow_id"], int(meta["version"])
    states = [
        {
            "name": s["state_name"],
            "type": s.get("state_type"),
            "callback_type": s.get("callback_type"),
            "timeout_seconds": s.get("timeout_seconds"),
            "retry_policy": s.get("retry_policy"),
            "description": s.get("description"),
        }
        for s in library.get_states(svc.store, wid, ver)
    ]
    stats = analytics.execution_stats(svc.store, analytics.Scope(workflow_ids=(wid,), label=wid))
    stats["error_rate"] = stats.get("failure_rate")
    score = meta.get("optimization_score")
    if score is None and stats["finished_executions"] >= optimizer.MIN_RUNS:
        # the advisor reads every run (hundreds of ms): computed again only when more runs finished
        key = (wid, stats["finished_executions"])
        score = svc.scores.get(key, -1)
        if score == -1:
            try:
                score = optimizer.analyze(svc.store, wid, llm=False, save=False).score
            except optimizer.OptimizerError:
                score = None
            with svc.lock:
                svc.scores[key] = score
                while len(svc.scores) > 256:
                    svc.scores.pop(next(iter(svc.scores)))
    return {
        **meta,
        "workflow_id": wid,
        "version": ver,
        "name": spec.name,
        "description": spec.description,
        "dsl": spec.dsl,
        "nl_description": spec.nl_description or None,
        "tags": list(spec.tags),
        "spec": spec.model_dump(mode="json"),
        "states": states,
        "statistics": stats,
        "optimization_score": score,
        "warnings": [i.to_dict() for i in spec.validate_all().warnings],
    }


@router.get("/workflows/{workflow_id}", tags=["workflows"], response_model=models.WorkflowDetail, responses=ERRORS)
def get_workflow(request: Request, workflow_id: str, version: int | None = Query(None, ge=1)):
    """One workflow version (default: the current one) with its states, run statistics and score."""
    return _detail(_svc(request), workflow_id, version)


@router.put("/workflows/{workflow_id}", tags=["workflows"], response_model=models.WorkflowDetail, responses=ERRORS)
def update_workflow(request: Request, workflow_id: str, body: models.WorkflowUpdate):
    """Save a new version: the given fields replace those of the current version."""
    svc = _svc(request)
    base, meta = _get_workflow(svc.store, workflow_id)
    who = authorize(request, Permission.UPDATE, owner=meta.get("owner"))
    spec = _spec_from(body.model_dump(), base)
    wid, version = _save(
        svc.store,
        spec,
        workflow_id=meta["workflow_id"],
        status=body.status or "active",
        change_note=body.change_note or "updated through the API",
        owner=meta.get("owner"),
    )
    _acted(svc, who, "api.workflow_updated", f"workflow {wid} v{version} saved by {who.user}", workflow_id=wid)
    return _detail(svc, wid, version)


@router.delete("/workflows/{workflow_id}", tags=["workflows"], response_model=models.ArchiveResponse, responses=ERRORS)
def archive_workflow(request: Request, workflow_id: str):
    """Archive every version (a soft delete: runs keep referring to them)."""
    svc = _svc(request)
    _, meta = _get_workflow(svc.store, workflow_id)
    who = authorize(request, Permission.DELETE, owner=meta.get("owner"))
    n = library.archive_workflow(svc.store, meta["workflow_id"])
    _acted(
        svc,
        who,
        "api.workflow_archived",
        f"workflow {meta['workflow_id']} archived by {who.user}",
        workflow_id=meta["workflow_id"],
    )
    return {"message": "Workflow archived successfully", "workflow_id": meta["workflow_id"], "versions_archived": n}


@router.post(
    "/workflows/{workflow_id}/execute",
    tags=["executions"],
    status_code=202,
    response_model=models.ExecutionStarted,
    responses=ERRORS,
)
def execute_workflow(
    request: Request, workflow_id: str, body: models.ExecuteRequest = Body(default_factory=models.ExecuteRequest)
):
    """Start a run of a saved workflow version; follow it at ``events_url``."""
    svc = _svc(request)
    spec, meta = _get_workflow(svc.store, workflow_id, body.version)
    who = authorize(request, Permission.EXECUTE, owner=meta.get("owner"))
    if meta.get("status") == "archived" and body.version is None:
        raise ApiError(409, "conflict", f"workflow {meta['workflow_id']} is archived")
    eid, status = _submit(
        svc, spec, body.initial_context, body.execution_options, meta["workflow_id"], int(meta["version"])
    )
    auth.record_run_start(svc.store, eid, who.user, workflow_id=meta["workflow_id"], how="execute")
    svc.metrics.started(spec.name, "execute")
    log.info(f"run {status}", extra={"execution_id": eid, "workflow": spec.name})
    return _started(svc, request, eid, meta["workflow_id"], int(meta["version"]), status=status)


@router.post(
    "/executions", tags=["executions"], status_code=202, response_model=models.ExecutionStarted, responses=ERRORS
)
def run_definition(request: Request, body: models.RunDefinitionRequest):
    """Start a run of a workflow definition sent with the request (saved as a library version first,
    like ``engine.api.run`` does); what ``workbench run FILE`` uses when ``WORKBENCH_SERVER`` is set."""
    from engine import api

    svc = _svc(request)
    spec = _spec_from({"toml": body.toml, "dsl": body.dsl, "name": body.name})
    try:
        rep = spec.validate_all()
    except DSLError as exc:
        raise dsl_error(exc) from None
    if rep.errors:
        raise dsl_error(DSLError(rep.errors))
    wid, version = api.ensure_version(spec, svc.store)
    eid, status = _submit(svc, spec, body.initial_context, body.execution_options, wid, version)
    auth.record_run_start(svc.store, eid, caller(request).user, workflow_id=wid, how="definition")
    svc.metrics.started(spec.name, "definition")
    log.info(f"run {status}", extra={"execution_id": eid, "workflow": spec.name})
    return _started(svc, request, eid, wid, version, status=status)


@router.post("/workflows/translate", tags=["ai"], response_model=models.TranslateResponse, responses=ERRORS)
def translate(request: Request, body: models.TranslateRequest):
    """Plain language to DSL, with an explanation and suggestions (offline without a model)."""
    tr = wb_ai.translate(body.nl_description, store=_svc(request).store)
    chk = tr["check"]
    return {
        "dsl": tr.get("dsl") or "",
        "nl_explanation": tr.get("explanation"),
        "suggested_improvements": tr.get("suggestions") or [],
        "bindings": tr.get("bindings") or {},
        "valid": bool(tr["valid"]),
        "errors": chk.errors,
        "warnings": tr.get("warnings") or [],
        "provider": str(tr.get("provider")) if tr.get("provider") is not None else None,
    }


@router.post("/workflows/{workflow_id}/optimize", tags=["ai"], response_model=models.OptimizeResponse, responses=ERRORS)
def optimize(request: Request, workflow_id: str, version: int | None = Query(None, ge=1)):
    """The optimization advisor's report for a version (default: the newest with finished runs)."""
    from engine import optimizer

    svc = _svc(request)
    _, meta = _get_workflow(svc.store, workflow_id, version)
    try:
        rep = optimizer.analyze(svc.store, meta["workflow_id"], version=version)
    except optimizer.OptimizerError as exc:
        raise ApiError(409, "conflict", str(exc), {"workflow_id": meta["workflow_id"]}) from None
    return rep.to_dict()


@router.get(
    "/workflows/{workflow_id}/analytics", tags=["analytics"], response_model=models.AnalyticsResponse, responses=ERRORS
)
def workflow_analytics(
    request: Request,
    workflow_id: str,
    start_date: str | None = Query(None, description="ISO datetime or 30d/12h (default 30d)"),
    end_date: str | None = None,
    version: int | None = Query(None, ge=1),
    granularity: str | None = Query(None, pattern="^(hour|day|week|month)$"),
):
    """Run statistics, errors, recovery, state performance and insights of one workflow."""
    from engine import analytics

    svc = _svc(request)
    _, meta = _get_workflow(svc.store, workflow_id)
    rep = analytics.report(
        svc.store,
        meta["workflow_id"],
        since=start_date or "30d",
        until=end_date,
        version=version,
        granularity=granularity,
    )
    rep["workflow_id"] = meta["workflow_id"]
    return rep


@router.get("/analytics", tags=["analytics"], response_model=models.AnalyticsResponse, responses=ERRORS)
def analytics_all(
    request: Request,
    start_date: str | None = None,
    end_date: str | None = None,
    granularity: str | None = Query(None, pattern="^(hour|day|week|month)$"),
):
    """The same report over every workflow."""
    from engine import analytics

    return analytics.report(
        _svc(request).store, None, since=start_date or "30d", until=end_date, granularity=granularity
    )


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
    return {"total": len(rows), "executions": rows}


@router.get("/queue", tags=["executions"], response_model=models.QueueStatus)
def queue_status(request: Request):
    """Admission: runs queued and holding a slot now, the limit, the most in flight so far."""
    return _svc(request).queue.stats()


@router.get("/executions/{execution_id}", tags=["executions"], response_model=models.ExecutionDetail, responses=ERRORS)
def get_execution(request: Request, execution_id: str):
    """Status and details of one execution (open requests for a person included)."""
    svc = _svc(request)
    ex = _execution_or_404(svc.store, execution_id)
    ex["open_requests"] = runs.open_requests(svc.store, execution_id)
    ex["ai_decisions"] = runs.ai_decisions(svc.store, execution_id, ex)
    return ex


@router.get(
    "/executions/{execution_id}/history", tags=["executions"], response_model=models.ExecutionHistory, responses=ERRORS
)
def execution_history(request: Request, execution_id: str):
    """Every recorded transition, audit entry, recovery action and AI decision of the execution."""
    svc = _svc(request)
    ex = _execution_or_404(svc.store, execution_id)
    return {
        "execution_id": execution_id,
        "transitions": runs.transitions(svc.store, execution_id),
        "audit_logs": runs.audit_log(svc.store, execution_id, include_debug=True),
        "recovery_actions": runs.recovery_actions(svc.store, execution_id),
        "ai_decisions": runs.ai_decisions(svc.store, execution_id, ex),
    }


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
        _execution_or_404(svc.store, execution_id)
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
    ex = _execution_or_404(svc.store, execution_id)
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
    ex = _execution_or_404(svc.store, execution_id)
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
        svc.engine.subscribe(execution_id, _listener(svc, ex.get("workflow_name") or ""))
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
        svc.metrics.started(ex.get("workflow_name") or "", "resume")
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
    """Answer a decision (true/false), an escalation (retry/skip/abort) or an approval (yes/no)."""
    return _answer(request, execution_id, body.state, body.value, body.by)


@router.post(
    "/executions/{execution_id}/resume",
    tags=["executions"],
    status_code=202,
    response_model=models.ExecutionStarted,
    responses=ERRORS,
)
def resume(
    request: Request, execution_id: str, body: models.ResumeRequest = Body(default_factory=models.ResumeRequest)
):
    """Continue an interrupted or waiting run here, without re-running completed states."""
    from engine.runner import RunError

    svc = _svc(request)
    ex = _execution_or_404(svc.store, execution_id)
    who = authorize(request, Permission.EXECUTE, owner=_run_owner(svc, execution_id, ex))
    _acted(svc, who, "api.resume", f"resume asked by {who.user}", execution_id=execution_id)
    if ex["status"] in FINISHED_STATUSES:
        raise ApiError(
            409,
            "conflict",
            f"execution {execution_id} is already {ex['status']}; rerun it instead",
            {"status": ex["status"]},
        )
    svc.engine.subscribe(execution_id, _listener(svc, ex.get("workflow_name") or ""))
    opts = _run_options(body.execution_options) if body.execution_options else None
    try:
        svc.engine.resume(execution_id, opts)
    except RunError as exc:
        svc.engine._listeners.pop(execution_id, None)
        raise ApiError(409, "conflict", str(exc)) from None
    svc.metrics.started(ex.get("workflow_name") or "", "resume")
    return _started(svc, request, execution_id)


@router.post(
    "/executions/{execution_id}/rerun",
    tags=["executions"],
    status_code=202,
    response_model=models.ExecutionStarted,
    responses=ERRORS,
)
def rerun(request: Request, execution_id: str, body: models.RerunRequest):
    """A new run reusing the recorded results of the states before ``from_state``."""
    from engine.runner import RunError

    svc = _svc(request)
    ex = _execution_or_404(svc.store, execution_id)
    who = authorize(request, Permission.EXECUTE, owner=_run_owner(svc, execution_id, ex))
    try:
        eid = svc.engine.rerun(execution_id, body.from_state, _run_options(body.execution_options))
    except RunError as exc:
        raise ApiError(400, "invalid_request", str(exc), {"field": "from_state"}) from None
    auth.record_run_start(svc.store, eid, who.user, workflow_id=ex.get("workflow_id"), how="rerun")
    svc.engine.subscribe(eid, _listener(svc, ex.get("workflow_name") or ""))
    svc.metrics.started(ex.get("workflow_name") or "", "rerun")
    return _started(svc, request, eid)
