"""Sharing routes under ``/api/v1``: ``GET/POST/DELETE /workflows/{workflow_id}/shares`` (engine/sharing.py).

Listing needs read access to the workflow (a 404 otherwise, as for an unknown one); sharing and un-sharing need its owner, an operator or an
admin (a 403 names ``workflow:share`` otherwise, recorded as ``security.denied``).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict

from engine import sharing
from engine.auth import Permission
from engine.service.auth import ROUTE_PERMISSIONS, caller, require_caller, workflow_or_404
from engine.service.errors import ApiError

router = APIRouter(tags=["sharing"])

# role level; the routes check the workflow (read access, or owner/operator/admin to change shares)
ROUTE_PERMISSIONS.update(
    {"list_shares": Permission.READ, "add_share": Permission.READ, "remove_share": Permission.READ}
)
# a workflow the caller may not read is a 404 (engine/service/auth.py check_visible); one it reads but does
# not own: 403 naming workflow:share


class ShareCreate(BaseModel):
    """Share with one user (e-mail / subject) or one group at a level."""

    model_config = ConfigDict(extra="forbid")
    user: str | None = None
    group: str | None = None
    level: Literal["view", "run", "edit"] = "view"


def _workflow(request: Request, workflow_id: str) -> tuple[str, str]:
    meta = workflow_or_404(request, workflow_id, include_archived=True)[1]
    return meta["workflow_id"], meta.get("owner") or ""


def _change(request: Request, workflow_id: str, fn, **kwargs) -> dict:
    store = request.app.state.service.store
    wid, owner = _workflow(request, workflow_id)
    who = caller(request)
    try:
        return fn(store, who, wid, **kwargs)
    except sharing.ShareDenied as exc:  # recorded as security.denied by engine/sharing.py
        raise ApiError(
            403,
            "forbidden",
            str(exc),
            {"permission": "workflow:share", "role": who.role.value, "user": who.user, "owner": owner},
        ) from None
    except sharing.ShareError as exc:
        status, code = (404, "not_found") if "is not shared with" in str(exc) else (400, "invalid_request")
        raise ApiError(status, code, str(exc), {"workflow_id": wid}) from None
    except ValueError as exc:
        raise ApiError(400, "invalid_request", str(exc), {"workflow_id": wid}) from None


@router.get("/workflows/{workflow_id}/shares")
def list_shares(request: Request, workflow_id: str, include_removed: bool = Query(False)):
    """The workflow's owner and shares (``include_removed``: un-shared ones too, with who and when)."""
    store = request.app.state.service.store
    wid, owner = _workflow(request, workflow_id)
    return {
        "workflow_id": wid,
        "owner": owner,
        "shares": sharing.list_shares(store, wid, include_removed=include_removed),
    }


@router.post("/workflows/{workflow_id}/shares", status_code=201)
def add_share(request: Request, workflow_id: str, body: ShareCreate):
    """Share the workflow with a user or a group at ``view``, ``run`` or ``edit`` (replaces an older level)."""
    return _change(request, workflow_id, sharing.share, user=body.user, group=body.group, level=body.level)


@router.delete("/workflows/{workflow_id}/shares")
def remove_share(request: Request, workflow_id: str, user: str | None = Query(None), group: str | None = Query(None)):
    """Stop sharing the workflow with ``?user=`` or ``?group=``."""
    return _change(request, workflow_id, sharing.unshare, user=user, group=group)


def include(app: FastAPI, prefix: str) -> None:
    """Add the sharing routes (token-checked) to ``app``."""
    app.include_router(router, prefix=prefix, dependencies=[Depends(require_caller)])
