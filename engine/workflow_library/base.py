"""What every part of the library shares: the statuses, the errors, the change counter, and the small
helpers over version rows (which version is current, a workflow's versions, the not-found message)."""

from __future__ import annotations

import difflib
import json
import threading
from datetime import datetime

from engine import records
from engine.errors import WorkbenchError
from engine.identity import login_user
from engine.store import Store
from engine.workflow_file import WorkflowSpec

STATUSES = ("draft", "active", "archived", "deprecated", "pinned")
# "pinned": a version saved only so that a run of a workflow file is pinned to its exact content; it is
# never the workflow's default (current) version, so running a file never replaces what the library uses
_changes = 0  # writes to the workflows table by this process (see changes())
_changes_lock = threading.Lock()


class LibraryError(WorkbenchError):
    """A library operation could not be done (bad status, unknown version...)."""


class WorkflowNotFoundError(LibraryError):
    """No workflow matches the given id or name."""


def _now() -> datetime:
    return records.store_time(records.utc_now())


def _owner() -> str:
    return login_user()


def slugify(name: str) -> str:
    """The id part made from a workflow name: :func:`engine.records.slugify` (one rule everywhere)."""
    return records.slugify(name)


def _loads(text, default=None):
    if text is None:
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def _spec_json(spec: WorkflowSpec) -> dict:
    return spec.model_dump(mode="json")


def _stored_spec_json(row: dict) -> dict | None:
    """A version row's spec as :func:`_spec_json` gives it (None when it cannot be loaded)."""
    try:
        return _spec_json(WorkflowSpec.model_validate(json.loads(row["spec"])))
    except (TypeError, ValueError):
        return None


def _changed() -> None:
    global _changes
    with _changes_lock:
        _changes += 1


def changes() -> int:
    """How many times this process has written library versions or statuses (a cheap change marker)."""
    return _changes


def _versions(store: Store, workflow_id: str, columns: str = "*") -> list[dict]:
    return store.query(f"SELECT {columns} FROM workflows WHERE workflow_id = ? ORDER BY version", [workflow_id])


def _current(rows: list[dict]) -> dict:
    """The version used by default: the newest one neither archived nor pinned (a file's run), else
    the newest not archived, else the newest."""
    default = [r for r in rows if r["status"] not in ("archived", "pinned")]
    live = [r for r in rows if r["status"] != "archived"]
    return max(default or live or rows, key=lambda r: r["version"])


def _not_found_message(store: Store, wanted: str) -> str:
    rows = store.query("SELECT DISTINCT workflow_id, name FROM workflows")
    names = {r["name"] for r in rows if r["name"]} | {r["workflow_id"] for r in rows}
    close = difflib.get_close_matches(wanted, sorted(names), n=5, cutoff=0.5)
    lowered = [n for n in sorted(names) if wanted.lower() in n.lower() and n not in close]
    close += lowered[: 5 - len(close)]
    if close:
        return f"no workflow {wanted!r} in the library; did you mean: {', '.join(repr(c) for c in close)}?"
    if not names:
        return f"no workflow {wanted!r}: the library is empty (save or import one first)"
    return (
        f"no workflow {wanted!r} in the library ({len(set(r['workflow_id'] for r in rows))} workflows; "
        f"list them with `workbench list` or library.list_workflows())"
    )
