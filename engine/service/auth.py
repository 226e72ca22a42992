"""Who may call the service: API tokens, role checks per route, per-user rate limits (issue 13).

Modes (``workbench serve --auth``, default ``auto``):

- ``local``: single-user local mode; a caller without a token is the local admin. Only on a loopback
  address (``workbench serve`` refuses anything else).
- ``required``: every route but ``/health``, ``/ready``, ``/docs`` and ``/openapi.json`` needs
  ``Authorization: Bearer <token>``.
- ``auto``: ``local`` while the store holds no active token and the service is bound to loopback,
  ``required`` as soon as one exists (checked every few seconds, so the first ``workbench token create``
  closes the service without a restart).

A presented token is always checked, in every mode (a bad one is a 401, never the local admin).
Rate limits count per user and kind (``executions``, ``creations``, ``ai``) in a sliding window; the local
admin of local mode is not limited.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time

from fastapi import Request

from engine import access, auth
from engine.auth import Permission, Principal, Role
from engine.service.errors import ApiError

log = logging.getLogger("workbench.service.auth")

MODES = ("auto", "required", "local")
CACHE_TTL_S = 2.0  # how long a token lookup / the token count is reused (revocations apply within it)

# endpoint function name -> the permission the route needs (role level; routes check ownership too)
ROUTE_PERMISSIONS: dict[str, Permission] = {
    "create_workflow": Permission.CREATE,
    "list_workflows": Permission.READ,
    "get_workflow": Permission.READ,
    "update_workflow": Permission.UPDATE,
    "archive_workflow": Permission.DELETE,
    "execute_workflow": Permission.EXECUTE,
    "run_definition": Permission.EXECUTE,
    "translate": Permission.AI,
    "optimize": Permission.AI,
    "workflow_analytics": Permission.READ,
    "analytics_all": Permission.READ,
    "list_executions": Permission.READ,
    "queue_status": Permission.READ,
    "get_execution": Permission.READ,
    "execution_history": Permission.READ,
    "execution_logs": Permission.READ,
    "execution_events": Permission.READ,
    "cancel_execution": Permission.CANCEL,
    "approve": Permission.APPROVE,
    "answer": Permission.APPROVE,
    "resume": Permission.EXECUTE,
    "rerun": Permission.EXECUTE,
    "metrics": Permission.READ,
}
UNMAPPED_PERMISSION = Permission.SETTINGS  # a route missing from the table is for admins only (fail closed)
# endpoint -> how it authenticates instead of an API token (no require_caller; the only exceptions to it)
SELF_AUTHENTICATED_ROUTES: dict[str, str] = {}

# endpoint -> rate-limit kind
RATE_KINDS: dict[str, str] = {
    "execute_workflow": "executions",
    "run_definition": "executions",
    "resume": "executions",
    "rerun": "executions",
    "create_workflow": "creations",
    "translate": "ai",
    "optimize": "ai",
}
# kind -> (calls, window seconds): shared with the app, see engine.auth
DEFAULT_LIMITS = auth.DEFAULT_LIMITS
RateLimiter = auth.RateLimiter
parse_limit = auth.parse_limit
limits_from_env = auth.limits_from_env


class Authenticator:
    """The service's token checks (lookups cached for :data:`CACHE_TTL_S`), mode and rate limiter."""

    def __init__(self, store, mode: str = "auto", limits: dict | None = None):
        if mode not in MODES:
            raise ValueError(f"auth mode must be one of {', '.join(MODES)} (got {mode!r})")
        self.store, self.mode = store, mode
        self.limiter = RateLimiter(limits if limits is not None else limits_from_env())
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[float, dict | None, str]] = {}  # hash -> (checked at, row, reason)
        self._count: tuple[float, int] | None = None
        self._seen: set[str] = set()  # token ids used since this process started

    def local_mode(self) -> bool:
        """Whether a caller without a token is the local admin now."""
        if self.mode != "auto":
            return self.mode == "local"
        now = time.monotonic()
        with self._lock:
            cached = self._count
        if cached is None or now - cached[0] > CACHE_TTL_S:
            cached = (now, auth.active_token_count(self.store))
            with self._lock:
                self._count = cached
        return cached[1] == 0

    def forget(self) -> None:
        """Drop cached lookups (after a token was created or revoked in this process)."""
        with self._lock:
            self._tokens.clear()
            self._count = None

    def _lookup(self, secret: str) -> tuple[dict | None, str]:
        key = auth.hash_token(secret) if auth.looks_like_token(secret) else ""
        now = time.monotonic()
        with self._lock:
            hit = self._tokens.get(key)
        if key and hit is not None and now - hit[0] <= CACHE_TTL_S:
            row, reason = hit[1], hit[2]
            if (
                reason == "ok"
                and row is not None
                and row.get("expires_at") is not None
                and row["expires_at"] <= auth._now()
            ):
                reason = "expired"
            return row, reason
        row, reason = auth.find_token(self.store, secret)
        if key:
            with self._lock:
                self._tokens[key] = (now, row, reason)
                if len(self._tokens) > 4096:
                    self._tokens.pop(next(iter(self._tokens)))
        return row, reason

    def principal(self, request: Request) -> Principal:
        """The caller of ``request``: its token's user and role, the local admin, or a 401."""
        header = request.headers.get("authorization") or ""
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if not header:
            if self.local_mode():
                return auth.LOCAL_ADMIN
            log.warning("request without a token refused", extra={"path": request.url.path})
            raise _unauthorized(
                "this service requires an API token: send 'Authorization: Bearer <token>' "
                "(the CLI and client read WORKBENCH_TOKEN or ~/.config/workbench/token)",
                "missing",
            )
        if scheme.lower() != "bearer" or not secret:
            raise _unauthorized("the Authorization header must be 'Bearer <token>'", "malformed")
        row, reason = self._lookup(secret)
        if reason != "ok":
            token_id = row["token_id"] if row else None
            log.warning("token refused (%s)", reason, extra={"path": request.url.path, "token_id": token_id})
            if row is not None:  # a real token, revoked or expired: worth an audit entry
                auth.audit(
                    self.store,
                    "security.auth_failed",
                    f"{reason} token {token_id} of {row['user_name']} refused on {request.method} {request.url.path}",
                    actor=row["user_name"],
                    level="warning",
                    metadata={"token_id": token_id, "reason": reason, "path": request.url.path},
                )
            raise _unauthorized(
                {
                    "malformed": "the token is not a workbench token",
                    "unknown": "the token is not valid",
                    "revoked": "the token was revoked",
                    "expired": "the token has expired",
                }[reason],
                reason,
            )
        assert row is not None  # reason "ok" comes with the record
        used_id: str = row["token_id"]
        principal = Principal(
            user=row["user_name"], role=Role.parse(row["role"]), token_id=used_id, groups=auth.token_groups(row)
        )
        with self._lock:
            first = used_id not in self._seen
            self._seen.add(used_id)
        if first:
            auth.audit(
                self.store,
                "security.token_used",
                f"token {principal.token_id} of {principal.user} "
                f"({principal.role.value}) first used by this service process",
                actor=principal.user,
                metadata={"token_id": principal.token_id, "path": request.url.path},
            )
        log.debug(
            "token %s used by %s (%s)",
            principal.token_id,
            principal.user,
            principal.role.value,
            extra={"path": request.url.path, "token_id": principal.token_id, "user": principal.user},
        )
        return principal


def _unauthorized(message: str, reason: str) -> ApiError:
    return ApiError(
        401, "unauthorized", message, {"reason": reason}, headers={"WWW-Authenticate": 'Bearer realm="workbench"'}
    )


def forbidden(request: Request, principal: Principal, permission: Permission, owner: str | None = None) -> ApiError:
    """A 403 naming the missing permission; recorded as a security audit event."""
    denied = auth.PermissionDenied(permission, user=principal.user, role=principal.role, owner=owner)
    svc = request.app.state.service
    auth.audit(
        svc.store,
        "security.denied",
        f"{denied} ({request.method} {request.url.path})",
        actor=principal.user,
        level="warning",
        metadata={
            "permission": permission.value,
            "role": principal.role.value,
            "owner": owner,
            "method": request.method,
            "path": request.url.path,
            "token_id": principal.token_id,
        },
    )
    log.warning(
        "permission denied", extra={"path": request.url.path, "user": principal.user, "permission": permission.value}
    )
    return ApiError(
        403,
        "forbidden",
        str(denied),
        {"permission": permission.value, "role": principal.role.value, "user": principal.user, "owner": owner},
    )


def caller(request: Request) -> Principal:
    """The principal the auth dependency found for this request (the local admin when none ran)."""
    return getattr(request.state, "principal", None) or auth.LOCAL_ADMIN


def authorize(
    request: Request,
    permission: Permission,
    owner: str | None = None,
    *,
    workflow_id: str | None = None,
    execution_id: str | None = None,
) -> Principal:
    """Check ``permission`` on an object owned by ``owner`` for this request's caller (403 otherwise).

    The shares of the workflow acted on count too (engine/sharing.py): ``workflow_id``/``execution_id``,
    else the route's ``{workflow_id}`` / ``{execution_id}`` path parameter."""
    principal = caller(request)
    if principal.can(permission, owner=owner):
        return principal
    if workflow_id is None and execution_id is None:
        workflow_id = request.path_params.get("workflow_id")
        execution_id = request.path_params.get("execution_id")
    store = request.app.state.service.store
    shared = access.shares_for(store, principal, workflow_id=workflow_id, execution_id=execution_id)
    if not principal.can(permission, owner=owner, shared=shared):
        raise forbidden(request, principal, permission, owner)
    return principal


def require_caller(request: Request) -> Principal:
    """FastAPI dependency of every protected route: authenticate, check the route's permission at role
    level, count the call against the caller's rate limit."""
    authn: Authenticator = request.app.state.service.auth
    principal = authn.principal(request)
    request.state.principal = principal
    endpoint = getattr(request.scope.get("endpoint"), "__name__", "")
    permission = ROUTE_PERMISSIONS.get(endpoint, UNMAPPED_PERMISSION)
    if not principal.can(permission):
        raise forbidden(request, principal, permission)
    check_visible(request, principal)
    kind = RATE_KINDS.get(endpoint)
    if kind is not None:
        count_call(request, kind)
    return principal


def hidden(request: Request, kind: str, ref: str, key: str) -> ApiError:
    """The 404 of an object this caller may not read: the same answer as for an unknown one (so a caller
    never learns that a workflow or run it cannot read exists); recorded as ``security.denied`` with the
    permission the route needs (``permission``) and the one missing (``missing``: ``workflow:read``)."""
    principal = caller(request)
    endpoint = getattr(request.scope.get("endpoint"), "__name__", "")
    wanted = ROUTE_PERMISSIONS.get(endpoint, Permission.READ)
    auth.audit(
        request.app.state.service.store,
        "security.denied",
        f"permission denied: {principal.user} ({principal.role.value}) lacks {Permission.READ.value} "
        f"on {kind} {ref} for {wanted.value} ({request.method} {request.url.path}); answered 404",
        actor=principal.user,
        level="warning",
        metadata={
            "permission": wanted.value,
            "missing": Permission.READ.value,
            "role": principal.role.value,
            key: ref,
            "method": request.method,
            "path": request.url.path,
            "token_id": principal.token_id,
        },
    )
    log.warning("hidden %s answered 404", kind, extra={"path": request.url.path, "user": principal.user})
    return not_found(kind, ref, key)


def not_found(kind: str, ref: str, key: str) -> ApiError:
    """404 ``no <kind> '<ref>'`` (no hint at other objects: the caller may not read them all)."""
    return ApiError(404, "not_found", f"no {kind} {ref!r}", {key: ref})


def workflow_or_404(request: Request, ref: str, version: int | None = None, *, include_archived: bool = False):
    """``(spec, meta)`` of the workflow ``ref`` (id or name) if this caller may read it, else a 404 that does
    not tell an unreadable workflow from an unknown one. Operators and admins get the library's message
    (with its "did you mean")."""
    from engine import library

    principal = caller(request)
    store = request.app.state.service.store
    scoped = principal.role in auth.READ_SCOPED_ROLES
    try:  # a name means the caller's own workflow first, among those it may read (engine/access.py)
        spec, meta = access.workflow_for(store, principal, ref, version, include_archived=include_archived)
    except library.WorkflowNotFoundError as exc:
        if not scoped:
            raise ApiError(404, "not_found", str(exc), {"workflow_id": ref, "version": version}) from None
        try:  # only workflows it may not read have that name: the same 404, recorded as denied
            library.get_workflow(store, ref, version, include_archived=include_archived)
        except library.WorkflowNotFoundError:
            raise not_found("workflow", ref, "workflow_id") from None
        raise hidden(request, "workflow", ref, "workflow_id") from None
    if scoped and not access.may_read_workflow(store, principal, meta["workflow_id"], meta.get("owner") or ""):
        raise hidden(request, "workflow", ref, "workflow_id")
    return spec, meta


def check_visible(request: Request, principal: Principal) -> None:
    """Every route naming one workflow, run, schedule or trigger in its path: a viewer or analyst who may not
    read it (nor its workflow) gets the 404 of an unknown one. Operators and admins read everything."""
    if principal.role not in auth.READ_SCOPED_ROLES:
        return
    store = request.app.state.service.store
    params = request.path_params
    if params.get("execution_id"):
        eid = params["execution_id"]
        if auth.run_owner(store, eid) is None and auth.execution_workflow_id(store, eid) is None:
            raise not_found("execution", eid, "execution_id")
        if not access.may_read_execution(store, principal, eid):
            raise hidden(request, "execution", eid, "execution_id")
    elif params.get("workflow_id"):
        workflow_or_404(request, params["workflow_id"], include_archived=True)
    elif params.get("schedule_id") or params.get("trigger_id"):
        key = "schedule_id" if params.get("schedule_id") else "trigger_id"
        kind, ref = key.removesuffix("_id"), params[key]
        wid = _automation_workflow_id(store, kind, ref)
        if wid is None:
            raise not_found(kind, ref, key)
        if not access.may_read_workflow(store, principal, wid):
            raise hidden(request, kind, ref, key)


def _automation_workflow_id(store, kind: str, ref: str) -> str | None:
    """The workflow of the schedule or trigger ``ref`` (None when there is no such active one)."""
    from engine.automation import schedules, triggers

    try:
        row = schedules.get_schedule(store, ref) if kind == "schedule" else triggers.get_trigger(store, ref)
    except (schedules.ScheduleError, triggers.TriggerError):
        return None
    return row["workflow_id"]


def readable_ids(request: Request) -> set[str] | None:
    """Ids of the workflows this caller may read; None: all of them (operators, admins)."""
    return access.readable_workflow_ids(request.app.state.service.store, caller(request))


def readable(request: Request, rows: list[dict], key: str = "workflow_id") -> list[dict]:
    """The ``rows`` (naming a workflow under ``key``) of workflows this caller may read."""
    return access.readable_rows(request.app.state.service.store, caller(request), rows, key)


def count_call(request: Request, kind: str) -> None:
    """Count one ``kind`` call of this request's caller; 429 with ``Retry-After`` over the limit.
    Token callers only (the local admin of local mode is not limited)."""
    principal = caller(request)
    if principal.token_id is None:
        return
    limiter = request.app.state.service.auth.limiter
    wait = limiter.check(principal.user, kind)
    if wait is None:
        return
    calls, window = limiter.limits[kind]
    retry = max(1, math.ceil(wait))
    log.warning("rate limited", extra={"path": request.url.path, "user": principal.user, "kind": kind})
    raise ApiError(
        429,
        "rate_limited",
        f"too many {kind} for {principal.user}: at most {calls} per {window:g} s; retry in {retry} s",
        {"kind": kind, "limit": calls, "window_seconds": window, "retry_after": retry},
        headers={"Retry-After": str(retry)},
    )


def mode_from_env() -> str:
    """``WORKBENCH_AUTH`` (auto | required | local), default auto."""
    mode = (os.environ.get("WORKBENCH_AUTH") or "auto").strip().lower()
    if mode not in MODES:
        raise ValueError(f"WORKBENCH_AUTH must be one of {', '.join(MODES)} (got {mode!r})")
    return mode
