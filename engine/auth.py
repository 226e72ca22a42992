"""Users, roles, permissions and API tokens (issue 13, seed design §9.1).

Public API (the app and the service import these):

- :class:`Role` — ``viewer`` (read), ``analyst`` (create; update/execute/approve/cancel its own
  workflows and runs), ``operator`` (analyst + execute/approve/cancel anyone's), ``admin`` (everything:
  settings, tokens, users).
- :class:`Permission` — the names a 403 reports (``workflow:execute``, ``run:approve``…).
- :func:`can(role, permission, owner=None, user=None) <can>` — whether ``role`` may do ``permission``;
  with ``owner`` given (the owner of the workflow/run acted on) the "own only" rule of analysts applies.
- :func:`require` raises :class:`PermissionDenied` (``.permission`` names what is missing).
- :class:`Principal` — who is calling (user name, role, token id); :data:`LOCAL_ADMIN` is the caller in
  single-user local mode.
- Tokens: :func:`new_token` (the secret, shown once), :func:`hash_token` (what the store keeps),
  :func:`looks_like_token`, :func:`parse_expiry`, :func:`token_from_environment`.

Only a token's SHA-256 is ever stored; the secret itself is never logged or recorded.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
import stat
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from engine.errors import WorkbenchError

TOKEN_PREFIX = "wbt_"
TOKEN_ENV = "WORKBENCH_TOKEN"
TOKEN_FILE_ENV = "WORKBENCH_TOKEN_FILE"
LOCAL_USER = "local"
NO_OWNER = ""  # owner of an existing workflow/run that records none: only operators and admins act on it


class Role(StrEnum):
    """A user's role; each includes the rights of the roles before it."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    OPERATOR = "operator"
    ADMIN = "admin"

    @classmethod
    def parse(cls, value: str | Role) -> Role:
        """The role named ``value`` (case-insensitive); ValueError listing the roles otherwise."""
        if isinstance(value, Role):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise ValueError(f"unknown role {value!r}; one of: {', '.join(r.value for r in cls)}") from None


class Permission(StrEnum):
    """What a route or command needs; the value is the name a 403 reports."""

    READ = "workflow:read"  # workflows, runs, analytics, events
    CREATE = "workflow:create"  # new workflows (and one-off runs of a definition)
    UPDATE = "workflow:update"  # edit / archive a workflow
    DELETE = "workflow:delete"  # archive a workflow
    EXECUTE = "workflow:execute"  # start, resume, rerun a run
    APPROVE = "run:approve"  # approve / answer a run's human request
    CANCEL = "run:cancel"  # cancel a run
    AI = "ai:use"  # translate / optimize through an AI model
    SETTINGS = "settings:admin"  # service settings
    TOKENS = "tokens:admin"  # create / list / revoke tokens, users


# Permissions an analyst holds only on what they own (operators and admins hold them on anything).
OWN_ONLY = frozenset({Permission.UPDATE, Permission.DELETE, Permission.EXECUTE, Permission.APPROVE, Permission.CANCEL})

_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.ANALYST: frozenset(
        {
            Permission.READ,
            Permission.CREATE,
            Permission.UPDATE,
            Permission.DELETE,
            Permission.EXECUTE,
            Permission.APPROVE,
            Permission.CANCEL,
            Permission.AI,
        }
    ),
    Role.OPERATOR: frozenset(
        {
            Permission.READ,
            Permission.CREATE,
            Permission.UPDATE,
            Permission.DELETE,
            Permission.EXECUTE,
            Permission.APPROVE,
            Permission.CANCEL,
            Permission.AI,
        }
    ),
    Role.ADMIN: frozenset(Permission),
}
# Roles for which an OWN_ONLY permission is limited to their own workflows/runs.
_OWN_SCOPED = frozenset({Role.ANALYST})


def permissions_of(role: Role | str) -> frozenset[Permission]:
    """Every permission ``role`` holds (some only on its own things: see :data:`OWN_ONLY`)."""
    return _GRANTS[Role.parse(role)]


# Roles that read only the workflows (and their runs) they own or that are shared with them, when a
# check names the object (``owner`` given); lists filter the same way (engine/sharing.py).
READ_SCOPED_ROLES = _READ_SCOPED = frozenset({Role.VIEWER, Role.ANALYST})


def can(
    role: Role | str,
    permission: Permission | str,
    owner: str | None = None,
    user: str | None = None,
    shared: frozenset[Permission] = frozenset(),
) -> bool:
    """Whether ``role`` (acting as ``user``) may do ``permission``.

    ``owner``: the owner of the workflow or run acted on (``None``: no specific object, e.g. listing or
    creating). An analyst holds the :data:`OWN_ONLY` permissions only when ``owner == user`` or a share
    grants them (``shared``: the permissions the workflow's shares give the user, see engine/sharing.py);
    viewers and analysts read a named object only when they own it or it is shared with them. A share
    never lifts the role: what the role lacks stays refused."""
    role = Role.parse(role)
    permission = Permission(permission)
    if permission not in _GRANTS[role]:
        return False
    scoped = (role in _OWN_SCOPED and permission in OWN_ONLY) or (
        role in _READ_SCOPED and permission == Permission.READ
    )
    if owner is not None and scoped:
        return (user is not None and owner == user) or permission in shared
    return True


class PermissionDenied(PermissionError):
    """Raised when the caller lacks ``permission``; the message names it."""

    def __init__(
        self,
        permission: Permission | str,
        user: str | None = None,
        role: Role | str | None = None,
        owner: str | None = None,
    ):
        self.permission = Permission(permission)
        self.user = user
        self.role = Role.parse(role) if role is not None else None
        self.owner = owner
        who = f"{user} ({self.role.value})" if user and self.role else (user or "caller")
        if owner == NO_OWNER:
            extra = " on a workflow or run with no recorded owner"
        else:
            extra = f" on a workflow owned by {owner}" if owner is not None else ""
        super().__init__(f"permission denied: {who} lacks {self.permission.value}{extra}")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user with a role, through a token (``token_id``) or local mode (``None``)."""

    user: str
    role: Role
    token_id: str | None = None
    groups: tuple[str, ...] = ()  # from the OIDC groups claim / [workbench.groups] / the token's --group

    def can(
        self, permission: Permission | str, owner: str | None = None, shared: frozenset[Permission] = frozenset()
    ) -> bool:
        """:func:`can` for this caller (``shared``: what the workflow's shares give it)."""
        return can(self.role, permission, owner=owner, user=self.user, shared=shared)

    def require(self, permission: Permission | str, owner: str | None = None) -> None:
        """Raise :class:`PermissionDenied` unless this caller may do ``permission``."""
        require(self.role, permission, owner=owner, user=self.user)


LOCAL_ADMIN = Principal(user=LOCAL_USER, role=Role.ADMIN, token_id=None)


def require(role: Role | str, permission: Permission | str, owner: str | None = None, user: str | None = None) -> None:
    """Raise :class:`PermissionDenied` unless :func:`can` allows it."""
    if not can(role, permission, owner=owner, user=user):
        raise PermissionDenied(permission, user=user, role=role, owner=owner)


# ----------------------------------------------------------------------------------- tokens
_TOKEN_RE = re.compile(r"^" + re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{40,}$")


def new_token() -> str:
    """A fresh secret token: ``wbt_`` + ``secrets.token_urlsafe(32)`` (shown once, never stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest the store keeps for ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: str) -> bool:
    """Whether ``value`` has the shape of a workbench token (prefix and length)."""
    return bool(_TOKEN_RE.match(value or ""))


def token_id_of(token_hash: str) -> str:
    """The public id of a token: the first 12 hex digits of its hash (safe to show and log)."""
    return token_hash[:12]


_EXPIRY_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(text: str | None) -> timedelta | None:
    """``30d``, ``12h``, ``45m``, ``2w``, ``90s`` → a timedelta; ``None``/``never`` → no expiry."""
    if text is None or str(text).strip().lower() in ("", "never", "none"):
        return None
    m = _EXPIRY_RE.match(str(text).lower())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"bad expiry {text!r}: use a number and a unit s/m/h/d/w, e.g. 30d")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


class TokenFileError(WorkbenchError):
    """The token file exists but may not be used (readable by group/others, or unreadable)."""


def default_token_file() -> Path:
    """``$WORKBENCH_TOKEN_FILE``, else ``$XDG_CONFIG_HOME/workbench/token`` (``~/.config/workbench/token``)."""
    if os.environ.get(TOKEN_FILE_ENV):
        return Path(os.environ[TOKEN_FILE_ENV]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "workbench" / "token"


def read_token_file(path: Path) -> str | None:
    """The token in ``path`` (``None`` if there is no such file); refused if group/world-readable."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TokenFileError(
            f"{path} is readable by group or others (mode {stat.S_IMODE(st.st_mode):o}); run: chmod 600 {path}"
        )
    text = path.read_text(encoding="utf-8").strip()
    return text or None


def write_token_file(path: Path, token: str) -> Path:
    """Write ``token`` to ``path`` readable by its user only (0600; the folder 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (token + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    return path


def token_from_environment() -> str | None:
    """The caller's token: ``$WORKBENCH_TOKEN``, else the user-only token file (see :func:`default_token_file`)."""
    value = os.environ.get(TOKEN_ENV, "").strip()
    if value:
        return value
    return read_token_file(default_token_file())


# ------------------------------------------------------------------------- records (through the store)
class TokenError(WorkbenchError):
    """A token could not be created, found or revoked (the message never contains a secret)."""


def _now():
    from engine import records

    return records.store_time(records.utc_now())


def audit(
    store,
    event_type: str,
    message: str,
    *,
    actor: str | None = None,
    level: str = "info",
    execution_id: str | None = None,
    state: str | None = None,
    metadata: dict | None = None,
) -> None:
    """Append one ``audit_logs`` row naming ``actor`` (security events have no execution id)."""
    import uuid

    store.append(
        "audit_logs",
        {
            "id": uuid.uuid4().hex,
            "execution_id": execution_id,
            "timestamp": _now(),
            "level": level,
            "state": state,
            "event_type": event_type,
            "message": message[:2000],
            "metadata": metadata,
            "stack_trace": None,
            "actor": actor,
        },
    )


def create_token(
    store,
    role: Role | str,
    *,
    user: str,
    name: str | None = None,
    expires: str | None = None,
    created_by: str | None = None,
    groups: list[str] | tuple[str, ...] | None = None,
) -> tuple[str, dict]:
    """A new token for ``user`` with ``role`` (member of ``groups``, for workflow shares): returns
    ``(secret, record)``. Only the hash is stored; the secret is returned once and cannot be shown again."""
    role = Role.parse(role)
    user = (user or "").strip()
    if not user:
        raise TokenError("a token needs a user name")
    life = parse_expiry(expires)
    secret = new_token()
    digest = hash_token(secret)
    now = _now()
    row = {
        "token_id": token_id_of(digest),
        "token_hash": digest,
        "name": (name or user).strip(),
        "user_name": user,
        "role": role.value,
        "groups": sorted({g.strip() for g in groups or () if g and g.strip()}),
        "status": "active",
        "created_by": created_by or LOCAL_USER,
        "expires_at": (now + life) if life else None,
        "revoked_at": None,
        "revoked_by": None,
        "created_at": now,
        "updated_at": now,
    }
    store.append("api_tokens", row)
    store.flush()
    audit(
        store,
        "security.token_created",
        f"token {row['token_id']} ({row['name']}) created for {user} as {role.value}",
        actor=row["created_by"],
        metadata={
            "token_id": row["token_id"],
            "user": user,
            "role": role.value,
            "groups": row["groups"],
            "expires_at": str(row["expires_at"]) if row["expires_at"] else None,
        },
    )
    store.flush()
    return secret, _public(row)


def token_groups(row: dict) -> tuple[str, ...]:
    """The groups recorded on a token row (a JSON list; none for tokens made before groups existed)."""
    from engine import records

    value = row.get("groups")
    value = records.loads(value, []) if isinstance(value, str) else value
    return tuple(str(g) for g in value or ())


def _public(row: dict) -> dict:
    """A token record without its hash (what list/create show)."""
    return {k: v for k, v in row.items() if k not in ("token_hash", "seq")}


def list_tokens(store, *, include_revoked: bool = False) -> list[dict]:
    """Every token record (no hashes), newest first, with ``expired`` set."""
    rows = store.query("SELECT * FROM api_tokens ORDER BY created_at DESC")
    now = _now()
    out = []
    for r in rows:
        if r["status"] != "active" and not include_revoked:
            continue
        item = _public(r)
        item["expired"] = r["expires_at"] is not None and r["expires_at"] <= now
        out.append(item)
    return out


def revoke_token(store, token_id: str, *, by: str | None = None) -> dict:
    """Revoke the token whose id (or unique id prefix, or name) is ``token_id``; returns its record."""
    key = (token_id or "").strip()
    if looks_like_token(key):  # a secret pasted instead of the id
        key = token_id_of(hash_token(key))
    rows = (
        [
            r
            for r in store.query("SELECT * FROM api_tokens WHERE status = 'active'")
            if r["token_id"].startswith(key) or r["name"] == key
        ]
        if key
        else []
    )
    if not rows:
        raise TokenError(f"no active token with id or name {key!r}")
    if len(rows) > 1:
        raise TokenError(
            f"{key!r} matches {len(rows)} tokens: give more of the id ({', '.join(r['token_id'] for r in rows)})"
        )
    row = dict(rows[0])
    now = _now()
    row.update(status="revoked", revoked_at=now, revoked_by=by or LOCAL_USER, updated_at=now, seq=None)
    store.append("api_tokens", row)
    store.flush()
    audit(
        store,
        "security.token_revoked",
        f"token {row['token_id']} ({row['name']}) of {row['user_name']} revoked",
        actor=by or LOCAL_USER,
        metadata={"token_id": row["token_id"], "user": row["user_name"]},
    )
    store.flush()
    return _public(row)


def active_token_count(store) -> int:
    """How many tokens are active and unexpired (0: a loopback service may run in local mode)."""
    rows = store.query(
        "SELECT count(*) AS n FROM api_tokens WHERE status = 'active' AND (expires_at IS NULL OR expires_at > ?)",
        [_now()],
    )
    return int(rows[0]["n"]) if rows else 0


def find_token(store, secret: str) -> tuple[dict | None, str]:
    """The token record of ``secret`` and ``"ok"``, or ``(record or None, reason)`` with reason one of
    ``malformed``, ``unknown``, ``revoked``, ``expired``. Looked up by hash only."""
    if not looks_like_token(secret):
        return None, "malformed"
    rows = store.query("SELECT * FROM api_tokens WHERE token_hash = ?", [hash_token(secret)])
    if not rows:
        return None, "unknown"
    row = rows[0]
    if row["status"] != "active":
        return row, "revoked"
    if row["expires_at"] is not None and row["expires_at"] <= _now():
        return row, "expired"
    return row, "ok"


def record_run_start(
    store, execution_id: str, user: str, *, workflow_id: str | None = None, how: str = "execute"
) -> None:
    """Remember who started ``execution_id`` (its owner for the role checks)."""
    store.append(
        "execution_starters",
        {
            "execution_id": execution_id,
            "workflow_id": workflow_id,
            "started_by": user,
            "how": how,
            "created_at": _now(),
        },
    )


def run_owner(store, execution_id: str, workflow_owner: str | None = None) -> str | None:
    """The user who started ``execution_id`` through the service, else ``workflow_owner``."""
    rows = store.query(
        "SELECT started_by FROM execution_starters WHERE execution_id = ? ORDER BY created_at LIMIT 1", [execution_id]
    )
    return rows[0]["started_by"] if rows else workflow_owner


# ----------------------------------------------------------------------------------- rate limits
# Shared by the service (engine/service/auth.py) and the app (app/components/auth_gate.py).
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
        span = parse_expiry(window or "60s")
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


def rate_limit_message(kind: str, user: str, calls: int, window: float, wait: float) -> str:
    """The refusal of a rate-limited call: which limit, and when to try again."""
    return f"too many {kind} for {user}: limit {calls} per {window:g} s; try again in {max(1, math.ceil(wait))} s"


# ----------------------------------------------------------------------------------- owners, actions
def workflow_owner(store, workflow_id: str) -> str:
    """The owner recorded for ``workflow_id`` (its current version), :data:`NO_OWNER` when none is."""
    from engine import library

    try:
        return library.get_workflow(store, workflow_id)[1].get("owner") or NO_OWNER
    except (library.WorkflowNotFoundError, KeyError, TypeError):
        return NO_OWNER


def execution_owner(store, execution_id: str) -> str:
    """Who owns a run: who started it (service or app), else its workflow's owner, else :data:`NO_OWNER`."""
    started_by = run_owner(store, execution_id)
    if started_by:
        return started_by
    rows = store.query("SELECT workflow_id FROM workflow_executions WHERE execution_id = ?", [execution_id])
    if rows and rows[0]["workflow_id"]:
        return workflow_owner(store, rows[0]["workflow_id"])
    return NO_OWNER


def execution_workflow_id(store, execution_id: str) -> str | None:
    """The workflow ``execution_id`` is a run of (None when unknown)."""
    rows = store.query("SELECT workflow_id FROM workflow_executions WHERE execution_id = ?", [execution_id])
    return rows[0]["workflow_id"] if rows and rows[0]["workflow_id"] else None
