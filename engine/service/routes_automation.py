"""Automation routes under ``/api/v1``: schedules, triggers, and the webhook endpoint.

``router`` holds the routes that take the usual API tokens (role checks of engine/service/auth.py);
``hooks_router`` holds ``POST /hooks/{workflow}/{hook_id}``, authenticated by the hook's own secret
(engine/automation/triggers.py), not by an API token. :func:`include` adds both to an app.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from engine import library
from engine.auth import Permission
from engine.automation import schedules, triggers
from engine.automation.loop import start_run
from engine.service.auth import (
    ROUTE_PERMISSIONS,
    SELF_AUTHENTICATED_ROUTES,
    authorize,
    readable,
    require_caller,
    workflow_or_404,
)
from engine.service.errors import ApiError

log = logging.getLogger("workbench.service")

router = APIRouter(tags=["automation"])
hooks_router = APIRouter(tags=["automation"])

ROUTE_PERMISSIONS.update(
    {
        "list_schedules": Permission.READ,
        "add_schedule": Permission.UPDATE,
        "pause_schedule": Permission.UPDATE,
        "resume_schedule": Permission.UPDATE,
        "remove_schedule": Permission.UPDATE,
        "schedule_fires": Permission.READ,
        "list_triggers": Permission.READ,
        "add_trigger": Permission.UPDATE,
        "pause_trigger": Permission.UPDATE,
        "resume_trigger": Permission.UPDATE,
        "remove_trigger": Permission.UPDATE,
    }
)
# POST /hooks/{workflow}/{hook_id} takes no API token: senders (GitHub, Stripe, …) cannot hold one
SELF_AUTHENTICATED_ROUTES["webhook"] = (
    "the hook's own secret: an HMAC-SHA256 signature of the body or the hook's token (engine/automation/triggers.py)"
)


class ScheduleCreate(BaseModel):
    """A new schedule: the fields of a ``[[schedules]]`` entry plus an optional pinned version."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    cron: str | None = None
    every: str | None = None
    timezone: str = "UTC"
    context: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    catchup: Literal["skip", "run_once"] = "skip"
    overlap: Literal["allow", "skip"] = "allow"
    priority: int = 0
    description: str = ""
    version: int | None = None


class TriggerCreate(BaseModel):
    """A new webhook (``auth=token`` without ``secret``: a token is made and shown once) or file trigger."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["webhook", "file"]
    id: str
    auth: Literal["token", "hmac"] = "token"
    secret: str | None = None
    folder: str | None = None
    glob: str = "*"
    into: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    rate_per_min: int | None = None
    max_body_bytes: int | None = None


def _svc(request: Request):
    return request.app.state.service


def _workflow_owner(request: Request, workflow_id: str) -> tuple[str, str | None]:
    """``(workflow_id, owner)``; 404 when unknown or not readable by the caller (engine/service/auth.py)."""
    meta = workflow_or_404(request, workflow_id)[1]
    return meta["workflow_id"], meta.get("owner")


def _may_change(request: Request, row: dict):
    """The caller, when it may change this schedule or trigger (``workflow:update`` on its workflow: owner,
    an edit share, operator, admin); a 403 naming the permission otherwise."""
    wid = row["workflow_id"]
    return authorize(request, Permission.UPDATE, owner=_workflow_owner(request, wid)[1], workflow_id=wid)


def _schedule_or_404(svc, schedule_id: str) -> dict:
    try:
        return schedules.get_schedule(svc.store, schedule_id)
    except schedules.ScheduleError as exc:
        raise ApiError(404, "not_found", str(exc), {"schedule_id": schedule_id}) from None


def _trigger_or_404(svc, trigger_id: str) -> dict:
    try:
        return _public_trigger(triggers.get_trigger(svc.store, trigger_id))
    except triggers.TriggerError as exc:
        raise ApiError(404, "not_found", str(exc), {"trigger_id": trigger_id}) from None


def _public_trigger(row: dict) -> dict:
    out = {k: v for k, v in row.items() if k not in ("token_hash", "seq")}
    out["has_token"] = bool(row.get("token_hash"))
    if row.get("kind") == "webhook":
        out["url_path"] = f"/api/v1/hooks/{row['workflow_id']}/{row['definition'].get('id')}"
    return out


# --------------------------------------------------------------------------------------- schedules
@router.get("/schedules")
def list_schedules(request: Request, workflow: str | None = Query(None)):
    """Active schedules (of one workflow), with their next fire times (UTC) and last fire; viewers and
    analysts see those of the workflows they may read only."""
    svc = _svc(request)
    wid = _workflow_owner(request, workflow)[0] if workflow else None
    return {"schedules": readable(request, schedules.list_schedules(svc.store, wid))}


@router.post("/workflows/{workflow_id}/schedules", status_code=201)
def add_schedule(request: Request, workflow_id: str, body: ScheduleCreate):
    """Add a schedule to a saved workflow (analysts: their own workflows)."""
    svc = _svc(request)
    wid, owner = _workflow_owner(request, workflow_id)
    who = authorize(request, Permission.UPDATE, owner=owner)
    data = body.model_dump(exclude={"version"})
    try:
        return schedules.add_schedule(svc.store, wid, data, version=body.version, by=who.user, source="api")
    except schedules.ScheduleError as exc:
        raise ApiError(400, "invalid_request", str(exc), {"workflow_id": wid}) from None


def _change_schedule(request: Request, schedule_id: str, enabled: bool) -> dict:
    svc = _svc(request)
    who = _may_change(request, _schedule_or_404(svc, schedule_id))
    return schedules.set_enabled(svc.store, schedule_id, enabled, by=who.user)


@router.post("/schedules/{schedule_id}/pause")
def pause_schedule(request: Request, schedule_id: str):
    """Pause a schedule (its slots while paused are never caught up)."""
    return _change_schedule(request, schedule_id, False)


@router.post("/schedules/{schedule_id}/resume")
def resume_schedule(request: Request, schedule_id: str):
    """Resume a paused schedule from its next slot."""
    return _change_schedule(request, schedule_id, True)


@router.delete("/schedules/{schedule_id}")
def remove_schedule(request: Request, schedule_id: str):
    """Remove an API/CLI/app schedule (409 for a workflow file's schedule: pause it instead)."""
    svc = _svc(request)
    who = _may_change(request, _schedule_or_404(svc, schedule_id))
    try:
        schedules.remove_schedule(svc.store, schedule_id, by=who.user)
    except schedules.ScheduleError as exc:
        raise ApiError(409, "conflict", str(exc), {"schedule_id": schedule_id}) from None
    return {"schedule_id": schedule_id, "status": "removed"}


@router.get("/schedules/{schedule_id}/fires")
def schedule_fires(request: Request, schedule_id: str, limit: int = Query(50, ge=1, le=1000)):
    """The newest recorded slots of a schedule (claimed, started, skipped, failed) and their runs."""
    return {"fires": schedules.fires(_svc(request).store, schedule_id, limit)}


# ---------------------------------------------------------------------------------------- triggers
@router.get("/triggers")
def list_triggers(request: Request, workflow: str | None = Query(None)):
    """Active webhook and file triggers (never a secret: a reference, or whether a token exists); viewers
    and analysts see those of the workflows they may read only."""
    svc = _svc(request)
    wid = _workflow_owner(request, workflow)[0] if workflow else None
    return {"triggers": [_public_trigger(r) for r in readable(request, triggers.trigger_rows(svc.store, wid))]}


@router.post("/workflows/{workflow_id}/triggers", status_code=201)
def add_trigger(request: Request, workflow_id: str, body: TriggerCreate):
    """Add a webhook or file trigger. A token webhook's token is in the answer, once."""
    svc = _svc(request)
    wid, owner = _workflow_owner(request, workflow_id)
    authorize(request, Permission.UPDATE, owner=owner)
    opts = {k: v for k, v in body.model_dump().items() if k in ("rate_per_min", "max_body_bytes") and v is not None}
    try:
        if body.type == "webhook":
            row, token = triggers.add_webhook(
                svc.store,
                wid,
                body.id,
                auth=body.auth,
                secret=body.secret,
                into=body.into or "",
                context=body.context,
                **opts,
            )
            out = _public_trigger(row)
            if token:
                out["token"] = token  # shown once; only its SHA-256 is stored
            return out
        if not body.folder:
            raise triggers.TriggerError("a file trigger needs a folder")
        return _public_trigger(
            triggers.add_file_trigger(
                svc.store, wid, body.id, body.folder, body.glob, into=body.into or "file", context=body.context
            )
        )
    except triggers.TriggerError as exc:
        raise ApiError(400, "invalid_request", str(exc), {"workflow_id": wid}) from None


def _change_trigger(request: Request, trigger_id: str, enabled: bool) -> dict:
    svc = _svc(request)
    _may_change(request, _trigger_or_404(svc, trigger_id))
    return _public_trigger(triggers.set_trigger_enabled(svc.store, trigger_id, enabled))


@router.post("/triggers/{trigger_id}/pause")
def pause_trigger(request: Request, trigger_id: str):
    """Pause a trigger (a paused webhook answers 404; files changed meanwhile start runs on resume)."""
    return _change_trigger(request, trigger_id, False)


@router.post("/triggers/{trigger_id}/resume")
def resume_trigger(request: Request, trigger_id: str):
    """Resume a paused trigger."""
    return _change_trigger(request, trigger_id, True)


@router.delete("/triggers/{trigger_id}")
def remove_trigger(request: Request, trigger_id: str):
    """Remove an API/CLI trigger (409 for one defined in the workflow file)."""
    svc = _svc(request)
    _may_change(request, _trigger_or_404(svc, trigger_id))
    try:
        triggers.remove_trigger(svc.store, trigger_id)
    except triggers.TriggerError as exc:
        raise ApiError(409, "conflict", str(exc), {"trigger_id": trigger_id}) from None
    return {"trigger_id": trigger_id, "status": "removed"}


# ---------------------------------------------------------------------------------------- webhooks
def _limiter(svc) -> triggers.HookRateLimiter:
    lim = getattr(svc, "hook_limiter", None)
    if lim is None:
        lim = svc.hook_limiter = triggers.HookRateLimiter()
    return lim


def _refused(svc, trig: dict | None, exc: triggers.HookRefused) -> ApiError:
    codes = {
        401: "unauthorized",
        404: "not_found",
        413: "payload_too_large",
        422: "invalid_request",
        429: "rate_limited",
    }
    if trig is not None and exc.status in (401, 413, 429):
        triggers.record_event(
            svc.store, trig, f"refused:{exc.status}", "refused", None, {"status": exc.status, "reason": str(exc)}
        )
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return ApiError(
        exc.status, codes.get(exc.status, "invalid_request"), str(exc), {"status": exc.status}, headers=headers
    )


def _find_hook(svc, workflow: str, hook_id: str, synced: bool = False) -> dict:
    """The enabled webhook ``hook_id`` of ``workflow`` (its id, or its name when exactly one workflow of
    that name has such a hook: names are not unique across owners, so an ambiguous name is refused with
    409 rather than checked against the secret of whichever workflow changed last)."""
    found: list[dict] = []
    try:
        found = [triggers.get_trigger(svc.store, f"{workflow}:{hook_id}")]
    except triggers.TriggerError:
        for wid in library.workflow_ids_named(svc.store, workflow):  # a workflow name works too
            try:
                found.append(triggers.get_trigger(svc.store, f"{wid}:{hook_id}"))
            except triggers.TriggerError:
                continue
    found = [t for t in found if t["kind"] == "webhook" and t["enabled"]]
    if not found and not synced:  # a version saved a moment ago: register the library's triggers now
        triggers.sync_from_library(svc.store, schedules.active_file_specs(svc.store))
        return _find_hook(svc, workflow, hook_id, synced=True)
    if not found:
        raise ApiError(
            404, "not_found", f"no enabled webhook {hook_id!r} on workflow {workflow!r}", {"hook_id": hook_id}
        )
    if len(found) > 1:
        raise ApiError(
            409,
            "conflict",
            f"{len(found)} workflows called {workflow!r} have a webhook {hook_id!r}: call the hook's own URL, "
            "which names the workflow by its id (`workbench trigger list`, or the Workflows page)",
            {"hook_id": hook_id},
        )
    return found[0]


def _start_from_hook(svc, trig: dict, headers, body: bytes) -> tuple[dict, int]:
    d = trig["definition"]
    answer = {"workflow_id": trig["workflow_id"], "trigger_id": trig["trigger_id"]}
    eid = uuid.uuid4().hex[:16]
    delivery = triggers.delivery_id(headers)
    try:
        triggers.verify_webhook(trig, headers, body)
        context = triggers.webhook_context(trig, body)
        if delivery is not None:  # a retried delivery answers with its first run and starts nothing
            earlier = triggers.claim_delivery(svc.store, trig, delivery, eid)
            if earlier is not None:
                return {**answer, "execution_id": earlier, "status": "duplicate", "delivery": delivery}, 200
        _limiter(svc).check(trig["trigger_id"], int(d.get("rate_per_min") or 60))
    except triggers.HookRefused as exc:
        if delivery is not None and exc.status == 429:  # not started: a retry may start it
            triggers.record_event(svc.store, trig, f"delivery:{delivery}", "failed", eid, {"status": 429})
        raise _refused(svc, trig, exc) from None
    key = f"delivery:{delivery}" if delivery is not None else f"call:{eid}"
    try:
        status = start_run(
            svc,
            trig["workflow_id"],
            trig.get("version"),
            context,
            execution_id=eid,
            started_by=f"webhook:{trig['trigger_id']}",
            how="webhook",
        )
    except Exception as exc:
        triggers.record_event(svc.store, trig, key, "failed", eid, {"error": str(exc)})
        raise ApiError(
            422, "invalid_request", f"the run could not start: {exc}", {"trigger_id": trig["trigger_id"]}
        ) from None
    triggers.record_event(svc.store, trig, key, "started", eid, {"bytes": len(body)})
    return {**answer, "execution_id": eid, "status": status}, 202


@hooks_router.post("/hooks/{workflow}/{hook_id}", status_code=202)
async def webhook(request: Request, workflow: str, hook_id: str):
    """Start a run from a webhook call: the hook's secret (token header or HMAC-SHA256 signature of the
    body) authenticates it; the JSON body becomes the initial context. 401 bad secret/signature,
    413 body over the hook's ``max_body_bytes``, 429 over its ``rate_per_min`` (Retry-After)."""
    svc = _svc(request)
    trig = await run_in_threadpool(_find_hook, svc, workflow, hook_id)
    limit = int(trig["definition"].get("max_body_bytes") or 262144)
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    too_big = triggers.HookRefused(413, f"the body is over this hook's limit of {limit} bytes")
    if declared > limit:
        raise await run_in_threadpool(_refused, svc, trig, too_big)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise await run_in_threadpool(_refused, svc, trig, too_big)
    out, code = await run_in_threadpool(_start_from_hook, svc, trig, request.headers, body)
    return JSONResponse(out, status_code=code)


def include(app: FastAPI, prefix: str) -> None:
    """Add the automation routes (token-checked) and the webhook route (hook secret) to ``app``."""
    app.include_router(router, prefix=prefix, dependencies=[Depends(require_caller)])
    app.include_router(hooks_router, prefix=prefix)
