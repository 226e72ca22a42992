"""Webhook and file triggers: the registry, the webhook checks (secret, size, rate) and file-version claims.

Webhooks (``POST /api/v1/hooks/<workflow_id>/<hook_id>``) authenticate with the hook's own secret:
``auth = "token"`` — header ``X-Workbench-Token: <secret>`` (or ``Authorization: Bearer <secret>``);
``auth = "hmac"`` — header ``X-Workbench-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>``
(GitHub's ``X-Hub-Signature-256`` is accepted too). The secret is a ``{secret:NAME}`` reference
resolved at request time (engine/secrets.py: environment, .streamlit/secrets.toml, user secrets
file); a token hook created through the API/CLI keeps only the token's SHA-256 in the store.

File triggers: every file matching ``folder``/``glob`` is one *version* per (path, size, mtime,
sha256); :func:`claim_file_versions` records each new version (``trigger_events``) under the
cross-process lock ``automation-files`` before its run starts, so a version starts one run only,
across restarts and service processes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets as pysecrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from engine.automation.registry import REGISTRY_LOCK, current_rows, parse_row
from engine.automation.specs import SECRET_REF, FileTriggerSpec, TriggerSpec, WebhookTriggerSpec
from engine.errors import WorkbenchError
from engine.records import store_time, utc_now

log = logging.getLogger("workbench.automation")

FILES_LOCK = "automation-files"
SIGNATURE_HEADER = "X-Workbench-Signature"
TOKEN_HEADER = "X-Workbench-Token"
MAX_FILE_HASH_BYTES = 2 << 30  # files bigger than this are keyed by path, size and mtime only
_ADAPTER: TypeAdapter = TypeAdapter(TriggerSpec)


class TriggerError(WorkbenchError):
    """A trigger cannot be added, found or used."""


class HookRefused(TriggerError):
    """A webhook call refused: ``status`` is the HTTP status (401, 404, 413, 429, 422)."""

    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _now() -> datetime:
    return utc_now()


def trigger_rows(store, workflow_id: str | None = None, kind: str | None = None, include_removed=False) -> list[dict]:
    """Current triggers (parsed definitions), optionally of one workflow or kind."""
    return current_rows(store, "triggers", workflow_id=workflow_id or None, kind=kind, include_removed=include_removed)


def sync_from_library(store, specs: list[dict]) -> int:
    """Register the ``[[triggers]]`` of the newest active version of every workflow (see
    :func:`engine.automation.schedules.active_file_specs`); retire the ones no such version holds."""
    wanted: dict[str, tuple[str, int, dict]] = {}
    for item in specs:
        for raw in item["spec"].get("triggers") or []:
            try:
                t = _ADAPTER.validate_python(raw)
            except ValueError:
                continue
            wanted[f"{item['workflow_id']}:{t.id}"] = (item["workflow_id"], item["version"], t.model_dump(mode="json"))

    def plan() -> list[dict]:
        existing = {r["trigger_id"]: r for r in trigger_rows(store, include_removed=True)}
        now = store_time(_now())
        rows = []
        for tid, (wid, version, d) in wanted.items():
            old = existing.get(tid)
            if old and old["status"] == "active" and old["source"] != "file":
                continue
            if old is None or old["status"] != "active" or old["definition"] != d or old["version"] != version:
                same = old is not None and old["status"] == "active" and old["definition"] == d
                rows.append(
                    {
                        "trigger_id": tid,
                        "workflow_id": wid,
                        "version": version,
                        "kind": d["type"],
                        "source": "file",
                        "definition": d,
                        "enabled": bool(old["enabled"]) if same and old else bool(d.get("enabled", True)),
                        "status": "active",
                        "active_since": old["active_since"] if same and old else now,
                        "created_at": (old or {}).get("created_at") or now,
                    }
                )
        for tid, old in existing.items():
            if old["source"] == "file" and old["status"] == "active" and tid not in wanted:
                keep = ("trigger_id", "workflow_id", "version", "kind", "source", "definition", "enabled", "created_at")
                rows.append({**{k: old[k] for k in keep}, "status": "removed", "active_since": old["active_since"]})
        return rows

    if not plan():  # nothing to change: no lock taken
        return 0
    with store.exclusive(REGISTRY_LOCK):
        rows = plan()
        if rows:
            store.append_many("triggers", rows)
    return len(rows)


def add_webhook(store, workflow: str, hook_id: str, *, auth: str = "token", secret: str | None = None, **options):
    """Add a webhook to a saved workflow through the API/CLI. ``auth="token"`` without ``secret``: a new
    token is made and returned once (only its SHA-256 is stored). Returns ``(trigger, token or None)``."""
    from engine import library

    try:
        _, meta = library.get_workflow(store, workflow)
    except library.WorkflowNotFoundError as exc:
        raise TriggerError(str(exc)) from None
    token = None
    if secret is None:
        if auth != "token":
            raise TriggerError("an hmac webhook needs secret = '{secret:NAME}' (the key both sides share)")
        token = "wbh_" + pysecrets.token_urlsafe(32)
        secret = "{secret:UNUSED}"
    try:
        spec = WebhookTriggerSpec(type="webhook", id=hook_id, auth=auth, secret=secret, **options)
    except ValueError as exc:
        raise TriggerError(f"invalid webhook: {exc}") from None
    d = spec.model_dump(mode="json")
    if token is not None:
        d.pop("secret")
    token_hash = hashlib.sha256(token.encode()).hexdigest() if token else None
    return _register_api_trigger(store, meta["workflow_id"], hook_id, d, token_hash), token


def add_file_trigger(store, workflow: str, trigger_id: str, folder: str, glob: str = "*", **options) -> dict:
    """Add a file trigger to a saved workflow through the API/CLI (the folder must be allowed)."""
    from engine import library

    try:
        _, meta = library.get_workflow(store, workflow)
        spec = FileTriggerSpec(type="file", id=trigger_id, folder=folder, glob=glob, **options)
    except library.WorkflowNotFoundError as exc:
        raise TriggerError(str(exc)) from None
    except ValueError as exc:
        raise TriggerError(f"invalid file trigger: {exc}") from None
    watched_folder(spec.folder)
    return _register_api_trigger(store, meta["workflow_id"], trigger_id, spec.model_dump(mode="json"))


def _register_api_trigger(store, wid: str, trigger_id: str, definition: dict, token_hash: str | None = None) -> dict:
    """Record a trigger added through the API/CLI (refused when the workflow has one with that id)."""
    tid = f"{wid}:{trigger_id}"
    with store.exclusive(REGISTRY_LOCK):
        if any(r["trigger_id"] == tid for r in trigger_rows(store, wid)):
            raise TriggerError(f"workflow {wid} already has a trigger {trigger_id!r}")
        now = store_time(_now())
        row = {
            "trigger_id": tid,
            "workflow_id": wid,
            "version": None,
            "kind": definition["type"],
            "source": "api",
            "definition": definition,
            "token_hash": token_hash,
            "enabled": True,
            "status": "active",
            "active_since": now,
            "created_at": now,
        }
        store.append("triggers", row)
    return get_trigger(store, tid)


def get_trigger(store, trigger_id: str) -> dict:
    """One active trigger (TriggerError when unknown). Never holds a secret: only its reference or hash."""
    rows = [parse_row(r) for r in store.query("SELECT * FROM triggers WHERE trigger_id = ?", [trigger_id])]
    if not rows or rows[0]["status"] != "active":
        raise TriggerError(f"no trigger {trigger_id!r}")
    return rows[0]


def set_trigger_enabled(store, trigger_id: str, enabled: bool) -> dict:
    """Pause or resume a trigger."""
    with store.exclusive(REGISTRY_LOCK):
        cur = get_trigger(store, trigger_id)
        row = {k: v for k, v in cur.items() if k not in ("seq", "updated_at")}
        row.update(enabled=enabled, active_since=store_time(_now()) if enabled else cur["active_since"])
        store.append("triggers", row)
    return get_trigger(store, trigger_id)


def remove_trigger(store, trigger_id: str) -> None:
    """Remove an API/CLI trigger (a workflow file's trigger goes with a version without it)."""
    with store.exclusive(REGISTRY_LOCK):
        cur = get_trigger(store, trigger_id)
        if cur["source"] == "file":
            raise TriggerError(
                f"trigger {trigger_id!r} is defined in the workflow file: pause it, or save a version without it"
            )
        row = {k: v for k, v in cur.items() if k not in ("seq", "updated_at")}
        row["status"] = "removed"
        store.append("triggers", row)


# ------------------------------------------------------------------------------------- webhooks
def resolve_secret(ref: str) -> str:
    """The value of a ``{secret:NAME}`` reference (engine/secrets.py: environment, secrets files)."""
    from engine import secrets as wb_secrets

    m = SECRET_REF.match(ref or "")
    if not m:
        raise TriggerError("the hook's secret must be a {secret:NAME} reference")
    try:
        return wb_secrets.get_secret(m.group(1))
    except Exception:
        raise TriggerError(f"the hook's secret {m.group(1)!r} is not set") from None


def sign(secret: str, body: bytes) -> str:
    """The ``X-Workbench-Signature`` value of ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_webhook(trigger: dict, headers, body: bytes) -> None:
    """Raise :class:`HookRefused` (401) unless the request carries the hook's secret or signature."""
    d = trigger["definition"]
    if d.get("auth") == "hmac":
        given = headers.get(SIGNATURE_HEADER) or headers.get("X-Hub-Signature-256") or ""
        if not given:
            raise HookRefused(401, f"missing {SIGNATURE_HEADER}: sha256=<HMAC-SHA256 of the body>")
        try:
            secret = resolve_secret(d.get("secret", ""))
        except TriggerError as exc:
            raise HookRefused(401, f"the hook cannot check signatures: {exc}") from None
        if not hmac.compare_digest(given.strip().lower(), sign(secret, body)):
            raise HookRefused(401, "bad signature")
        return
    given = headers.get(TOKEN_HEADER) or ""
    authz = headers.get("Authorization") or ""
    if not given and authz.lower().startswith("bearer "):
        given = authz[7:].strip()
    if not given:
        raise HookRefused(401, f"missing {TOKEN_HEADER} (the hook's token)")
    if trigger.get("token_hash"):
        ok = hmac.compare_digest(hashlib.sha256(given.encode()).hexdigest(), trigger["token_hash"])
    else:
        try:
            ok = hmac.compare_digest(given.encode(), resolve_secret(d.get("secret", "")).encode())
        except TriggerError as exc:
            raise HookRefused(401, f"the hook cannot check tokens: {exc}") from None
    if not ok:
        raise HookRefused(401, "bad token")


class HookRateLimiter:
    """Calls per hook in a sliding minute (per service process); thread-safe."""

    def __init__(self):
        self._calls: dict[str, deque] = {}
        self._lock = threading.Lock()

    def check(self, trigger_id: str, per_min: int, now: float | None = None) -> None:
        """Count one call; :class:`HookRefused` (429, ``retry_after``) above ``per_min``."""
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._calls.setdefault(trigger_id, deque())
            while q and q[0] <= now - 60:
                q.popleft()
            if len(q) >= per_min:
                wait = max(1, int(q[0] + 60 - now + 0.999))
                raise HookRefused(429, f"more than {per_min} calls a minute to this hook; retry in {wait} s", wait)
            q.append(now)


def webhook_context(trigger: dict, body: bytes) -> dict:
    """The run's initial context: the hook's fixed context, then the JSON body (top level or ``into``)."""
    d = trigger["definition"]
    if body.strip():
        try:
            payload: Any = json.loads(body)
        except ValueError:
            raise HookRefused(422, "the body is not JSON") from None
    else:
        payload = {}
    ctx = dict(d.get("context") or {})
    into = d.get("into") or ""
    if into:
        ctx[into] = payload
    elif isinstance(payload, dict):
        ctx.update(payload)
    else:
        raise HookRefused(422, "the body must be a JSON object (or set into = 'payload' on the hook)")
    return ctx


def record_event(store, trigger: dict, event_key: str, status: str, execution_id: str | None, details: dict) -> None:
    """One ``trigger_events`` row."""
    store.append(
        "trigger_events",
        {
            "id": uuid.uuid4().hex,
            "trigger_id": trigger["trigger_id"],
            "workflow_id": trigger["workflow_id"],
            "kind": trigger["kind"],
            "event_key": event_key,
            "execution_id": execution_id,
            "status": status,
            "details": details,
            "created_at": store_time(_now()),
        },
    )


DELIVERY_HEADERS = ("Idempotency-Key", "X-Workbench-Delivery", "X-GitHub-Delivery")
HOOKS_LOCK = "automation-hooks"


def delivery_id(headers) -> str | None:
    """The caller's id of this delivery (``Idempotency-Key``, ``X-Workbench-Delivery`` or
    ``X-GitHub-Delivery``), or None."""
    for name in DELIVERY_HEADERS:
        value = (headers.get(name) or "").strip()
        if value:
            return value[:200]
    return None


def claim_delivery(store, trigger: dict, delivery: str, execution_id: str) -> str | None:
    """Record that ``delivery`` starts ``execution_id`` (under a cross-process lock). Returns None when
    claimed now, else the execution id an earlier call with the same delivery id started (a retry)."""
    key = f"delivery:{delivery}"
    with store.exclusive(HOOKS_LOCK):
        rows = store.query(
            "SELECT execution_id FROM trigger_events WHERE trigger_id = ? AND event_key = ? "
            "GROUP BY execution_id HAVING bool_and(status <> 'failed') ORDER BY min(created_at) LIMIT 1",
            [trigger["trigger_id"], key],
        )
        if rows:
            return rows[0]["execution_id"]
        record_event(store, trigger, key, "claimed", execution_id, {})
    return None


# ---------------------------------------------------------------------------------------- files
def watched_folder(folder: str) -> Path:
    """The folder a file trigger watches, resolved (relative to the project root) and checked to be
    inside the allowed data folders (engine/sandbox.py); TriggerError otherwise."""
    from engine import sandbox

    p = Path(folder).expanduser()
    if not p.is_absolute():
        p = sandbox.REPO_ROOT / p
    roots = sandbox.data_dirs()
    if not sandbox.inside(p, roots):
        raise TriggerError(
            f"folder '{folder}' is outside the allowed data folders ({', '.join(str(r) for r in roots)}); "
            "an administrator can add folders with WORKBENCH_DATA_DIRS"
        )
    return p.resolve()


def _sha256(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


@dataclass
class FileVersion:
    """One version of a watched file; ``key`` is what is recorded once."""

    path: str
    name: str
    size: int
    mtime: float
    sha256: str | None

    @property
    def key(self) -> str:
        return f"{self.path}|{self.size}|{self.mtime:.6f}|{self.sha256 or '-'}"

    def as_context(self) -> dict:
        return {"path": self.path, "name": self.name, "size": self.size, "mtime": self.mtime, "sha256": self.sha256}


_warned: set[str] = set()
_digests: dict[str, tuple[tuple[int, int, int], str | None]] = {}  # path -> ((size, mtime_ns, inode), sha256)


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


def scan(trigger: dict, settle_s: float = 0.5) -> list[FileVersion]:
    """The matching files of a file trigger now (skipping the ones changed within ``settle_s``: still
    being written)."""
    d = trigger["definition"]
    try:
        folder = watched_folder(d["folder"])
    except TriggerError as exc:
        _warn_once(trigger["trigger_id"], f"file trigger {trigger['trigger_id']} watches nothing: {exc}")
        return []
    if not folder.is_dir():
        _warn_once(trigger["trigger_id"], f"file trigger {trigger['trigger_id']}: no folder {folder} (yet)")
        return []
    from engine import sandbox

    out = []
    now = time.time()
    for p in sorted(folder.glob(d.get("glob") or "*")):
        try:
            st = p.stat()
        except OSError:
            continue
        if not p.is_file() or now - st.st_mtime < settle_s or not sandbox.inside(p, [folder]):
            continue
        path = str(p.resolve())
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        cached = _digests.get(path)
        if cached is not None and cached[0] == stamp:
            digest = cached[1]  # unchanged since the last poll: not read again
        else:
            digest = _sha256(p) if st.st_size <= MAX_FILE_HASH_BYTES else None
            _digests[path] = (stamp, digest)
        out.append(FileVersion(path, p.name, st.st_size, st.st_mtime, digest))
    seen = {v.path for v in out}
    prefix = str(folder) + os.sep
    for gone in [k for k in _digests if k.startswith(prefix) and k not in seen]:
        del _digests[gone]  # removed files (or still being written) leave the cache
    return out


def claim_file_versions(store, trigger: dict, versions: list[FileVersion]) -> list[tuple[FileVersion, str]]:
    """Record the versions no run has been started for yet (under the cross-process lock) and return
    them with the execution id of their run. A version is (path, size, mtime, sha256): the same
    bytes copied again with a new mtime are a new version only when ``sha256`` differs too."""
    if not versions:
        return []
    with store.exclusive(FILES_LOCK):
        seen = store.query(
            "SELECT event_key, details->>'$.sha256' AS sha, details->>'$.path' AS path FROM trigger_events "
            "WHERE trigger_id = ? AND kind = 'file' AND status = 'claimed' ORDER BY created_at",
            [trigger["trigger_id"]],
        )
        keys = {r["event_key"] for r in seen}
        latest = {r["path"]: r["sha"] for r in seen}  # the newest recorded content of each path
        fresh = []
        for v in versions:
            if v.key in keys or (v.sha256 and latest.get(v.path) == v.sha256):
                continue  # this version, or the same bytes again at that path, started its run already
            eid = uuid.uuid4().hex[:16]
            record_event(store, trigger, v.key, "claimed", eid, v.as_context())
            fresh.append((v, eid))
            keys.add(v.key)
            latest[v.path] = v.sha256
    return fresh
