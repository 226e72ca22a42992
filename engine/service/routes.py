"""The REST API under ``/api/v1`` (seed design §7.1): workflows here, with the helpers the other route
modules share; executions and live events in routes_executions.py, AI and analytics in
routes_analytics.py, schedules/triggers in routes_automation.py, shares in routes_sharing.py.

Every route calls the engine's own functions (``engine.api``, ``engine.library``,
``engine.workbench``, ``engine.records``, ``engine.analytics``, ``engine.optimizer``); no SQL lives here.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import ValidationError

from engine import auth, library
from engine.auth import Permission
from engine.errors import DSLError
from engine.service import models
from engine.service.auth import authorize, caller, count_call, readable, workflow_or_404
from engine.service.errors import ApiError, dsl_error, validation_details
from engine.workbench import ai as wb_ai
from engine.workbench import library as wb_library
from engine.workbench import runs
from engine.workflow_file import WorkflowFileError, WorkflowSpec, parse_workflow_text, unused_field_problems

log = logging.getLogger("workbench.service")

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.ErrorResponse},
    404: {"model": models.ErrorResponse},
    409: {"model": models.ErrorResponse},
    413: {"model": models.ErrorResponse},
}
# every route that starts a run answers 202 with where to follow it
STARTS: dict[str, Any] = {
    "tags": ["executions"],
    "status_code": 202,
    "response_model": models.ExecutionStarted,
    "responses": ERRORS,
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
        if fields.get(key) not in (None, ""):  # an empty field (the model's default) keeps the file's value
            data[key] = fields[key]
    if not data.get("name"):
        data["name"] = "Untitled workflow"
    try:
        spec = WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc.errors())
        raise ApiError(
            400,
            "invalid_workflow",
            "invalid workflow: " + "; ".join(f"{d['field']}: {d['message']}" for d in details[:5]),
            details,
        ) from None
    given = fields.get("states") or {}  # the request's own bindings; what the stored base has is not judged again
    kept = base.states if base is not None and fields.get("toml") is None else {}
    problems = unused_field_problems({k: b for k, b in spec.states.items() if k in given and kept.get(k) != b})
    if problems:
        raise ApiError(
            400,
            "invalid_workflow",
            "invalid workflow: " + "; ".join(problems),
            [{"field": p.split(":")[0], "message": p.split(": ", 1)[1]} for p in problems],
        )
    return spec


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


def _listener(svc, workflow_id: str | None, workflow: str):
    """The on_step callback of a run of ``workflow_id`` (named ``workflow``) driven here: metrics (labelled
    by the id) and one structured log line per step."""
    count = svc.metrics.listener(workflow_id, workflow)
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
            on_step=_listener(svc, workflow_id, spec.name),
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
    start_time = None
    if status == "queued":  # not started yet: nothing more to read
        pass
    elif ex is not None and getattr(ex, "start_time", None) is not None:  # still driven (not a finished summary)
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
    rows = readable(request, rows)  # owned or shared only (operators, admins: all)
    start = (page - 1) * page_size
    return {"total": len(rows), "page": page, "page_size": page_size, "workflows": rows[start : start + page_size]}


def _detail(svc, workflow_id: str, version: int | None = None) -> dict:
    from engine import analytics, optimizer

    spec, meta = library.get_workflow(svc.store, workflow_id, version)
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
    meta = workflow_or_404(request, workflow_id, version)[1]
    authorize(request, Permission.READ, owner=meta.get("owner") or "", workflow_id=meta["workflow_id"])
    return _detail(_svc(request), meta["workflow_id"], version)  # the workflow checked, not the name again


@router.put("/workflows/{workflow_id}", tags=["workflows"], response_model=models.WorkflowDetail, responses=ERRORS)
def update_workflow(request: Request, workflow_id: str, body: models.WorkflowUpdate):
    """Save a new version: the given fields replace those of the current version."""
    svc = _svc(request)
    base, meta = workflow_or_404(request, workflow_id)
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
    _, meta = workflow_or_404(request, workflow_id)
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


@router.post("/workflows/{workflow_id}/execute", **STARTS)
def execute_workflow(
    request: Request, workflow_id: str, body: models.ExecuteRequest = Body(default_factory=models.ExecuteRequest)
):
    """Start a run of a saved workflow version; follow it at ``events_url``."""
    svc = _svc(request)
    spec, meta = workflow_or_404(request, workflow_id, body.version)
    who = authorize(request, Permission.EXECUTE, owner=meta.get("owner"))
    if meta.get("status") == "archived" and body.version is None:
        raise ApiError(409, "conflict", f"workflow {meta['workflow_id']} is archived")
    eid, status = _submit(
        svc, spec, body.initial_context, body.execution_options, meta["workflow_id"], int(meta["version"])
    )
    auth.record_run_start(svc.store, eid, who.user, workflow_id=meta["workflow_id"], how="execute")
    svc.metrics.started(meta["workflow_id"], spec.name, "execute")
    log.info(f"run {status}", extra={"execution_id": eid, "workflow": spec.name})
    return _started(svc, request, eid, meta["workflow_id"], int(meta["version"]), status=status)


@router.post("/executions", **STARTS)
def run_definition(request: Request, body: models.RunDefinitionRequest):
    """Start a run of a workflow definition sent with the request (saved as a library version first,
    like ``engine.api.run`` does); what ``workbench run FILE`` uses when ``WORKBENCH_SERVER`` is set.

    The definition's name means a workflow the caller may save versions into: its own of that name, else
    one shared with it to ``edit`` (operators, admins: any). Someone else's workflow of that name is never
    written into: the caller gets a workflow of its own with that name (``engine.access.ensure_version_for``)."""
    from engine import access

    svc = _svc(request)
    who = caller(request)
    spec = _spec_from({"toml": body.toml, "dsl": body.dsl, "name": body.name})
    try:
        rep = spec.validate_all()
    except DSLError as exc:
        raise dsl_error(exc) from None
    if rep.errors:
        raise dsl_error(DSLError(rep.errors))
    wid, version = access.ensure_version_for(svc.store, who, spec)
    eid, status = _submit(svc, spec, body.initial_context, body.execution_options, wid, version)
    auth.record_run_start(svc.store, eid, who.user, workflow_id=wid, how="definition")
    svc.metrics.started(wid, spec.name, "definition")
    log.info(f"run {status}", extra={"execution_id": eid, "workflow": spec.name})
    return _started(svc, request, eid, wid, version, status=status)
