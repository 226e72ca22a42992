"""AI and analytics routes under ``/api/v1``: translate, the optimization advisor, run analytics.

Lists and aggregates hold only the workflows the caller may read (engine/access.py): a viewer's or
analyst's ``/analytics`` counts the workflows it owns or that are shared with it; operators and admins
see every workflow.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from engine.service import models
from engine.service.auth import readable_ids, workflow_or_404
from engine.service.errors import ApiError
from engine.service.routes import ERRORS, _svc
from engine.workbench import ai as wb_ai

router = APIRouter()


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
        "proposals": tr.get("proposals") or {},
    }


@router.post("/workflows/{workflow_id}/optimize", tags=["ai"], response_model=models.OptimizeResponse, responses=ERRORS)
def optimize(request: Request, workflow_id: str, version: int | None = Query(None, ge=1)):
    """The optimization advisor's report for a version (default: the newest with finished runs)."""
    from engine import optimizer

    svc = _svc(request)
    _, meta = workflow_or_404(request, workflow_id, version)
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
    granularity: str | None = Query(None, pattern="^(minute|hour|day|week|month)$"),
):
    """Run statistics, errors, recovery, state performance and insights of one workflow."""
    from engine import analytics

    svc = _svc(request)
    _, meta = workflow_or_404(request, workflow_id)
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
    granularity: str | None = Query(None, pattern="^(minute|hour|day|week|month)$"),
):
    """The same report over every workflow the caller may read (viewers, analysts: owned or shared)."""
    from engine import analytics

    return analytics.report(
        _svc(request).store,
        None,
        since=start_date or "30d",
        until=end_date,
        granularity=granularity,
        within=readable_ids(request),
    )
