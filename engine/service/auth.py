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
from collections import deque

from fastapi import Request

from engine import auth
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
    "execution_events": Permission.READ,
    "cancel_execution": Permission.CANCEL,
    "approve": Permission.APPROVE,
    "answer": Permission.APPROVE,
    "resume": Permission.EXECUTE,
    "rerun": Permission.EXECUTE,
    "metrics": Permission.READ,
}
UNMAPPED_PERMISSION = Permission.SETTINGS  # a route missing from the table is for admins only (fail closed)

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
# kind -> (calls, window seconds); WORKBENCH_RATE_<KIND>="N/60s" overrides, "off" disables
DEFAULT_LIMITS: dict[str, tuple[int, float]] = {"executions": (120, 60.0), "creations": (30, 60.0), "ai": (20, 60.0)}


def parse_limit(text: str) -> tuple[int, float] | None:
    """``"120/60s"``, ``"30/1m"``, ``"1000/1h"`` → (calls, seconds); ``"off"``/``"0"`` → None (no limit)."""
    text = (text or "").strip().lower()
    if text in ("off", "none", "0", ""):
        return None
    calls, _, window = text.partition("/")
    try:
        n = int(calls)
        span = auth.parse_expiry(window or "60s")
    except ValueError:
        raise ValueError(f"bad rate limit {text!r}: use CALLS/WINDOW, e.g. 120/60s or 30/1m") from None
    if n <= 0 or span is None:
        raise ValueError(f"bad rate limit {text!r}: use CALLS/WINDOW, e.g. 120/60s or 30/1m")
    return n, span.total_seconds()


def limits_from_env() -> dict[str, tuple[int, float] | None]:
    """The rate limits: defaults, overridden by ``WORKBENCH_RATE_EXECUTIONS|CREATIONS|AI``."""
    out: dict[str, tuple[int, float] | None] = dict(DEFAULT_LIMITS)
    for kind in DEFAULT_LIMITS:
        raw = os.environ.get(f"WORKBENCH_RATE_{kind.upper()}")
        if raw is not None:
            out[kind] = parse_limit(raw)
    return out


class RateLimiter:
    """Sliding-window counters per (user, kind); thread-safe."""

    def __init__(self, limits: dict[str, tuple[int, float] | None]):
        self.limits = limits
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, user: str, kind: str) -> float | None:
        """Count one call; None when allowed, else the seconds until the next call is allowed."""
        limit = self.limits.get(kind)
        if limit is None:
            return None
        calls, window = limit
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault((user, kind), deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= calls:
                return max(0.001, hits[0] + window - now)
            hits.append(now)
            return None


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
        principal = Principal(user=row["user_name"], role=Role.parse(row["role"]), token_id=used_id)
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


def authorize(request: Request, permission: Permission, owner: str | None = None) -> Principal:
    """Check ``permission`` on an object owned by ``owner`` for this request's caller (403 otherwise)."""
    principal = caller(request)
    if not principal.can(permission, owner=owner):
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
    kind = RATE_KINDS.get(endpoint)
    if kind is not None:
        count_call(request, kind)
    return principal


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
