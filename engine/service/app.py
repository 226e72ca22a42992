"""The workbench service: a FastAPI app that drives runs with the engine of its own process.

``create_app()`` builds the app; ``workbench serve`` serves it with uvicorn. Every run started here
is driven by this process's :class:`engine.runner.Engine` (Ray is connected at start-up on the
engine's driver thread: ``RAY_ADDRESS``, else a local head, else a new local Ray).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from engine import records
from engine.service import (
    errors,
    routes,
    routes_analytics,
    routes_automation,
    routes_executions,
    routes_notify,
    routes_sharing,
)
from engine.service.metrics import ServiceMetrics
from engine.service.middleware import AccessLog, BodyLimit, max_body_bytes

log = logging.getLogger("workbench.service")

API_PREFIX = "/api/v1"


class Service:
    """What the routes share: the engine (and its store) and the metrics."""

    def __init__(self, engine, max_runs: int | None = None, auth_mode: str = "auto"):
        from engine.service.auth import Authenticator
        from engine.service.runqueue import RunQueue

        self.engine = engine
        self.store = engine.store
        self.queue = RunQueue(engine, max_runs)
        self.metrics = ServiceMetrics(engine, engine.store, queue_stats=self.queue.stats)
        self.started_at = time.time()
        self.scores: dict[tuple[str, int], int | None] = {}  # (workflow_id, finished runs) -> advisor score
        self.lock = threading.Lock()
        self.auth = Authenticator(engine.store, auth_mode)  # tokens, roles, rate limits (engine/service/auth.py)


def create_app(
    engine=None,
    *,
    connect_ray: bool = True,
    max_runs: int | None = None,
    adopt_orphans: bool = True,
    auth_mode: str | None = None,
) -> FastAPI:
    """The FastAPI app. ``engine``: default the process-wide engine of ``$WORKBENCH_DB``.

    ``max_runs``: runs driven at once (more are queued; default ``WORKBENCH_MAX_RUNS``, else no limit).
    ``adopt_orphans``: take over the runs whose driver's lease expired (at start-up, then periodically).
    ``auth_mode``: auto | required | local (default ``WORKBENCH_AUTH``, else auto; see engine/service/auth.py)."""
    from engine.service.auth import mode_from_env, require_caller
    from engine.service.runqueue import max_runs_from_env

    auth_mode = auth_mode or mode_from_env()

    holder: dict = {}
    limit_runs = max_runs if max_runs is not None else max_runs_from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from engine.automation.notifier import start_notifier
        from engine.runner import get_engine
        from engine.service.adopt import Adopter

        eng = engine or get_engine()
        service = Service(eng, limit_runs, auth_mode)
        app.state.service = service
        holder["service"] = service
        if connect_ray:
            eng.start_cluster()  # in the background, on the engine's long-lived driver thread
            from engine.workbench.system import warm_up_in_background

            warm_up_in_background(eng)  # one Ray worker per CPU before the first run needs them
        adopter = Adopter(service) if adopt_orphans else None
        if adopter is not None:
            adopter.start()
        automation = start_automation(service)  # schedules and file triggers (engine/automation/loop.py)
        notifier = start_notifier(service)  # notifications and deadlines (engine/automation/notifier.py)
        log.info(
            "workbench service ready on store %s (max runs in flight: %s)", eng.store.path, limit_runs or "no limit"
        )
        yield
        if adopter is not None:
            adopter.stop()
        if automation is not None:
            automation.stop()
        if notifier is not None:
            notifier.stop()
        service.queue.stop()
        live = eng.live_executions()
        if live:
            log.warning("stopping with %d runs in flight; they stay resumable", len(live))

    limit = max_body_bytes()
    app = FastAPI(
        title="Workbench service",
        version="1",
        description="Workflows, runs, live events, analytics and optimization of the AI workflow workbench. "
        'Errors are JSON: {"error": {"code", "message", "details"}}.',
        lifespan=lifespan,
        responses={400: {"model": routes.models.ErrorResponse}},
    )
    errors.install(app)
    for resource in (routes, routes_executions, routes_analytics):  # workflows, runs, AI and analytics
        app.include_router(resource.router, prefix=API_PREFIX, dependencies=[Depends(require_caller)])
    routes_automation.include(app, API_PREFIX)  # schedules, triggers, POST /hooks/{workflow}/{hook_id}
    routes_notify.include(app, API_PREFIX)  # GET /notifications, /deadline-misses
    routes_sharing.include(app, API_PREFIX)  # GET/POST/DELETE /workflows/{id}/shares

    @app.get("/health", tags=["observability"], response_model=routes.models.Health)
    def health(request: Request):
        """Liveness: the process answers (with the identity of its store, see ``store_id``)."""
        from engine.store.common import store_id

        return {"status": "ok", "store_id": store_id(request.app.state.service.store.path)}

    @app.get(
        "/ready",
        tags=["observability"],
        response_model=routes.models.Readiness,
        responses={503: {"model": routes.models.Readiness}},
    )
    def ready(request: Request):
        """Readiness: Ray reachable and the store writable (503 with the details otherwise)."""
        svc: Service = request.app.state.service
        checks = {"ray": _ray_check(svc), "store": _store_check(svc)}
        ok = all(c["ok"] for c in checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["observability"], response_class=Response, dependencies=[Depends(require_caller)])
    def metrics(request: Request):
        """Prometheus text format (the service's own registry). Operators and admins (and local mode) get every
        series; a viewer's or analyst's token gets the series of the workflows it may read, plus the service's
        own (HTTP requests, queue, runs in flight), without the store-wide AI/LLM totals."""
        from engine import access
        from engine.service.auth import caller

        svc = request.app.state.service
        body, ctype = svc.metrics.exposition(access.readable_workflow_ids(svc.store, caller(request)))
        return Response(body, media_type=ctype)

    app.add_middleware(BodyLimit, limit=limit)
    app.add_middleware(
        AccessLog, metrics_getter=lambda: getattr(holder.get("service"), "metrics", None), prefix=API_PREFIX
    )
    return app


def start_automation(svc: Service):
    """The thread that fires schedules and file triggers (None when ``WORKBENCH_AUTOMATION=0``)."""
    from engine.automation.loop import AutomationLoop, enabled_from_env

    if not enabled_from_env():
        return None
    loop = AutomationLoop(svc)
    loop.start()
    return loop


def _ray_check(svc: Service) -> dict:
    from engine.workbench import system

    try:
        st = system.cluster_details(svc.engine)
    except Exception as exc:  # never fail the probe itself
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    ok = bool(st.get("ready")) and not st.get("error")
    out = {
        "ok": ok,
        "kind": st.get("kind"),
        "address": st.get("address"),
        "mode": st.get("mode"),
        "nodes": st.get("nodes"),
        "resources": st.get("resources"),
        "dashboard_url": st.get("dashboard_url"),
        "configured_address": st.get("configured_address"),
    }
    if not ok:
        out["error"] = st.get("error") or "Ray is still connecting"
    return out


def _store_check(svc: Service) -> dict:
    """The record directory accepts a file (written, synced, removed) and the views answer."""
    store = svc.store
    probe = store.log_dir / f".ready-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"ok")
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
        records.execution_count(store)
    except Exception as exc:
        return {"ok": False, "path": str(store.path), "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "path": str(store.path), "log_dir": str(store.log_dir)}
