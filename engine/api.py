"""The documented Python API: everything the app and the CLI do, headless.

```python
from engine import api
res = api.run("data/templates/order_processing.toml", {"order_id": 3})
print(res.status, res.states_visited)
api.history(workflow="Order processing")
```
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

from engine import records
from engine.runner import Engine, ExecutionResult, RunError, RunOptions, get_engine
from engine.workflow_file import WorkflowSpec, load_workflow, parse_workflow_text

__all__ = [
    "load",
    "run",
    "start",
    "wait",
    "resume",
    "rerun",
    "cancel",
    "approve",
    "answer",
    "history",
    "show",
    "engine",
    "ensure_version",
    "RunOptions",
    "ExecutionResult",
]


def engine(store=None) -> Engine:
    """The process-wide engine (Ray is connected lazily on the driver thread)."""
    return get_engine(store)


def load(workflow: str | Path | WorkflowSpec) -> WorkflowSpec:
    """A WorkflowSpec from a spec, a ``.toml``/``.dsl`` path, or DSL/TOML text."""
    if isinstance(workflow, WorkflowSpec):
        return workflow
    text = str(workflow)
    if "\n" not in text and ("->" not in text or Path(text).suffix in (".toml", ".dsl")) and len(text) < 4096:
        p = Path(text)
        if p.exists() or p.suffix in (".toml", ".dsl"):
            return load_workflow(p)
    return parse_workflow_text(text)


# (store path, owner, spec hash) -> (stamp, id/version)
_VERSIONS: dict[tuple[str, str, str], tuple[tuple, tuple[str, int]]] = {}
_VERSIONS_LOCK = threading.Lock()
_VERSIONS_MAX = 1024  # entries kept (oldest dropped first)


def _spec_hash(dumped: dict) -> str:
    text = json.dumps(dumped, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


_STAMP_TTL_S = 0.05  # the segment listing is reused this long (another process's flush takes 0.25 s anyway)
_STAMPS: dict[str, tuple[float, int, tuple | None]] = {}  # store path -> (checked at, changes(), stamp)


def _library_stamp(st, library, fresh: bool = False) -> tuple:
    """Changes whenever library versions or statuses may have changed: a write by this process
    (``library.changes()``, seen at once) or a new ``workflows`` segment file (another process's
    write becomes visible to queries only when its segment appears; listed at most every 50 ms)."""
    changes = library.changes()
    key = str(getattr(st, "path", id(st)))
    now = time.monotonic()
    seen = _STAMPS.get(key)
    if not fresh and seen is not None and seen[1] == changes and now - seen[0] < _STAMP_TTL_S:
        return seen[2]
    try:
        files = tuple(sorted(os.listdir(Path(st.log_dir) / "workflows")))
    except (OSError, AttributeError, TypeError):
        files = None  # unknown layout: never trust the cache
    stamp = (changes, files)
    _STAMPS[key] = (now, changes, stamp)
    return stamp


def _library_version(st, spec: WorkflowSpec, library, owner: str | None = None, may_write=None) -> tuple[str, int]:
    """Uncached: the current library version of ``spec.name`` if it holds this spec, else a new one
    (``library.ensure_saved``: one step for every process, under the store's versions lock)."""
    return library.ensure_saved(
        st, spec, new_note="first run", changed_note="changed before a run", owner=owner, may_write=may_write
    )


def ensure_version(spec: WorkflowSpec, store=None, *, owner: str | None = None, may_write=None) -> tuple[str, int]:
    """The library id and version for this exact spec, saving a new version when it changed.

    The version returned holds exactly this spec: the workflow's current (default) version when it
    does, else an earlier version holding it, else a new version saved with status ``pinned`` that
    never becomes the default (``library.ensure_saved``). ``owner`` (default ``WORKBENCH_USER`` or the OS
    user) is who runs it: the name means its own workflow first, and a new workflow is its; ``may_write``
    (``library.ensure_saved``) limits which other workflows of that name it may write into
    (``engine.access.ensure_version_for`` passes the caller's rights). The answer is cached per process by
    store path, owner and spec hash (not with ``may_write``: shares can change without a library write);
    the cache is trusted only while the library is unchanged
    (no write by this process; no new ``workflows`` segment from another, looked for at most every
    50 ms), so a repeated start of the same spec makes no library query.
    """
    from engine import library
    from engine.identity import login_user

    owner = owner or login_user()
    st = store if store is not None else get_engine(store).store
    if may_write is not None:
        before = library.changes()
        found = _library_version(st, spec, library, owner, may_write)
        if before != library.changes() and hasattr(st, "flush"):
            st.flush()  # a saved version is visible to every process at once
        return found
    key = (str(getattr(st, "path", id(st))), owner, _spec_hash(spec.model_dump(mode="json")))
    stamp = _library_stamp(st, library)
    hit = _VERSIONS.get(key)
    if hit is not None and stamp[1] is not None and hit[0] == stamp:
        return hit[1]
    with _VERSIONS_LOCK:  # one lookup (and at most one save) at a time for the same question
        stamp = _library_stamp(st, library, fresh=True)
        hit = _VERSIONS.get(key)
        if hit is not None and stamp[1] is not None and hit[0] == stamp:
            return hit[1]
        found = _library_version(st, spec, library, owner, None)
        if stamp[0] != library.changes() and hasattr(st, "flush"):
            st.flush()  # our new version's segment lands now, so it does not look like a later change
        # the stamp after our own save: a later change by anyone makes the next call look again
        _VERSIONS.pop(key, None)
        while len(_VERSIONS) >= _VERSIONS_MAX:
            _VERSIONS.pop(next(iter(_VERSIONS)))
        _VERSIONS[key] = (_library_stamp(st, library, fresh=True), found)
        return found


def start(
    workflow,
    context: dict | None = None,
    options: RunOptions | None = None,
    *,
    store=None,
    version: tuple[str, int] | None = None,
    on_step=None,
) -> str:
    """Start a run; returns the execution id at once."""
    spec = load(workflow)
    eng = get_engine(store)
    wid, ver = version or ensure_version(spec, store)
    return eng.start(spec, context or {}, options, workflow_id=wid, version=ver, on_step=on_step)


def run(
    workflow, context: dict | None = None, options: RunOptions | None = None, *, store=None, on_step=None
) -> ExecutionResult:
    """Run to the end (or until only a person can continue, with ``options.detach_when_waiting``)."""
    eng = get_engine(store)
    return eng.wait(start(workflow, context, options, store=store, on_step=on_step))


def wait(execution_id: str, timeout: float | None = None, *, store=None) -> ExecutionResult:
    return get_engine(store).wait(execution_id, timeout)


def resume(execution_id: str, *, store=None, wait_result: bool = True, options: RunOptions | None = None):
    """Continue an interrupted or waiting run without re-running completed states."""
    eng = get_engine(store)
    eid = eng.resume(execution_id, options)
    return eng.wait(eid) if wait_result else eid


def rerun(
    execution_id: str, from_state: str, *, store=None, wait_result: bool = True, options: RunOptions | None = None
):
    """Start a new run reusing the recorded results of the states before ``from_state``."""
    eng = get_engine(store)
    eid = eng.rerun(execution_id, from_state, options)
    return eng.wait(eid) if wait_result else eid


def cancel(execution_id: str, *, store=None) -> str:
    return get_engine(store).cancel(execution_id)


def answer(
    execution_id: str,
    state: str,
    value: str,
    *,
    by: str = "api",
    store=None,
    continue_run: bool = True,
    options: RunOptions | None = None,
) -> dict:
    """Answer an approval (yes/no), a decision (true/false) or an escalation (retry/skip/abort).

    When no live process drives the run, it is resumed here (and waited for when ``continue_run``).
    """
    eng = get_engine(store)
    info = eng.answer(execution_id, state, value, by=by)
    if info["delivered"] == "resume" and continue_run:
        res = resume(execution_id, store=store, options=options)
        info["result"] = res
    return info


def approve(execution_id: str, state: str, yes: bool, **kwargs) -> dict:
    return answer(execution_id, state, "yes" if yes else "no", **kwargs)


def history(workflow: str | None = None, status: str | None = None, limit: int = 50, *, store=None) -> list[dict]:
    """Recent top-level executions, newest first."""
    return records.executions(get_engine(store).store, workflow=workflow, status=status, limit=limit)


def show(execution_id: str, *, store=None) -> dict:
    """One execution with its transitions, audit log, recovery actions and open requests."""
    st = get_engine(store).store
    ex = records.execution(st, execution_id)
    if ex is None:
        raise RunError(f"no execution {execution_id}")
    if isinstance(ex.get("options"), dict):
        ex["options"] = {k: v for k, v in ex["options"].items() if not k.startswith("_")}
    ex["transitions"] = records.transitions(st, execution_id)
    ex["audit_log"] = records.audit_log(st, execution_id)
    ex["recovery"] = records.recovery_actions(st, execution_id, all_columns=True)
    ex["requests"] = records.human_requests(st, execution_id)
    return ex
