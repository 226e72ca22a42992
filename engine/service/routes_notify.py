"""Notification routes under ``/api/v1``: the recorded claims and attempts, and deadline misses.

Sending is the service's own loop (engine/automation/notifier.py); these routes only read.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Query, Request

from engine import access
from engine.auth import Permission
from engine.service.auth import ROUTE_PERMISSIONS, caller, readable_ids, require_caller

router = APIRouter(tags=["automation"])

ROUTE_PERMISSIONS.update({"list_notifications": Permission.READ, "list_deadline_misses": Permission.READ})


@router.get("/notifications")
def list_notifications(
    request: Request, execution_id: str | None = Query(None), limit: int = Query(100, ge=1, le=10_000)
):
    """Notification claims (attempt 0) and attempts (sent | error | gave_up), newest first; viewers and
    analysts see those of the runs they may read only."""
    from engine.automation.notifier import attempts

    store = request.app.state.service.store
    rows = attempts(store, execution_id, limit)
    return {"notifications": access.readable_execution_rows(store, caller(request), rows)}


@router.get("/deadline-misses")
def list_deadline_misses(
    request: Request, workflow: str | None = Query(None), limit: int = Query(200, ge=1, le=10_000)
):
    """Recorded deadline misses (audit ``deadline_missed``), newest first; ``workflow``: a name or id.
    Viewers and analysts see those of the workflows they may read only."""
    from dataclasses import replace

    from engine import analytics

    store = request.app.state.service.store
    scope = analytics.resolve_scope(store, workflow)
    allowed = readable_ids(request)
    if allowed is not None:
        ids = scope.workflow_ids if scope.workflow_ids is not None else sorted(allowed)
        scope = replace(scope, workflow_ids=tuple(i for i in ids if i in allowed))
    return {"deadline_misses": analytics._records(analytics.deadline_misses(store, scope, limit))}


def include(app: FastAPI, prefix: str) -> None:
    """Add the notification routes (token-checked) to ``app``."""
    app.include_router(router, prefix=prefix, dependencies=[Depends(require_caller)])
