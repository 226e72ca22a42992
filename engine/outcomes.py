"""How a state task ends, shared by the executors (:mod:`engine.executors`), the Ray workers
(:mod:`ray_tasks`) and the actions: the error classes, the check that a result can be stored, and
the guard that turns anything a state raises into a failed outcome.

A leaf of the import graph (only :mod:`engine.errors`), so the Ray side can use it without importing
the engine's executors (which import the Ray side).
"""

from __future__ import annotations

import os
import time
import traceback

from engine.errors import WorkbenchError


class TaskTimeout(WorkbenchError):
    """The state ran longer than its timeout and was cancelled."""


class WorkerLost(WorkbenchError):
    """The worker process died (crash, os._exit, OOM kill) while running the state."""


class TaskCancelled(WorkbenchError):
    """The task was cancelled."""


class DataError(WorkbenchError):
    """A state's result is not storable JSON data (a non-string key, a cycle, nesting too deep, or a
    value that cannot be sent back from the worker). Classified as a data error: retrying cannot help."""


class StateExited(WorkbenchError):
    """The state's code raised ``SystemExit``/``KeyboardInterrupt`` (it is a failure of the state,
    never an exit of the worker or of the driver)."""


MAX_RESULT_DEPTH = 200  # nesting levels a stored value may have (JSON encoders, pickle and deepcopy recurse)
MAX_RESULT_BYTES = 16_000_000  # JSON size of one stored value, as for a typed context (engine.context_input)


def max_result_bytes() -> int:
    """The size limit of a stored value: ``WORKBENCH_MAX_RESULT_BYTES`` if set, else :data:`MAX_RESULT_BYTES`."""
    raw = os.environ.get("WORKBENCH_MAX_RESULT_BYTES", "").strip()
    try:
        return int(raw) if raw and int(raw) > 0 else MAX_RESULT_BYTES
    except ValueError:
        return MAX_RESULT_BYTES


def _json_size(leaf) -> int:
    """The fewest bytes ``leaf`` (not a container) can take once encoded as JSON by the store."""
    if isinstance(leaf, str):
        return (len(leaf) if leaf.isascii() else len(leaf.encode("utf-8", "surrogatepass"))) + 2
    if leaf is None or isinstance(leaf, bool):
        return 5 if leaf is False else 4
    if isinstance(leaf, int):
        return max(leaf.bit_length() - 1, 0) * 30103 // 100000 + 1 + (leaf < 0)  # fewest digits, no str()
    if isinstance(leaf, float):
        return len(repr(leaf))
    try:
        return len(str(leaf)) + 2  # other leaves are stored as their text
    except Exception:
        return 2


def _path_text(node) -> str:
    keys = []
    while node is not None:
        node, key = node
        keys.append(key)
    shown = [f"[{k!r:.40}]" for k in reversed(keys)]
    if len(shown) > 12:
        shown = shown[:5] + ["…"] + shown[-5:]
    return "".join(shown) or "the top level"


def check_storable(
    value, what: str = "the result", max_depth: int = MAX_RESULT_DEPTH, max_bytes: int | None = None
) -> None:
    """Raise :class:`DataError` unless ``value`` can be stored as JSON and replayed unchanged.

    Rejects dict keys that are not strings, reference cycles, nesting deeper than ``max_depth``
    (the message names where) and values larger than ``max_bytes`` as JSON (default
    :func:`max_result_bytes`, 16 MB). Other leaf types are left to the store's encoder (text via
    ``str``). Iterative: a 100k-deep value is refused without a ``RecursionError``.
    """
    limit = max_result_bytes() if max_bytes is None else max_bytes
    size = 0

    def add_size(n: int) -> None:
        nonlocal size
        size += n
        if size > limit:
            raise DataError(
                f"{what} is at least {size:,} bytes as JSON; the limit is {limit:,} bytes "
                "(WORKBENCH_MAX_RESULT_BYTES): write large data to a file and store its path"
            )

    if not isinstance(value, (dict, list, tuple)):
        add_size(_json_size(value))
    on_path: set[int] = set()
    checked: set[int] = set()
    stack: list = [(value, None, 0, False)]  # (object, path node (parent node, key), depth, leaving)
    while stack:
        obj, path, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(obj))
            checked.add(id(obj))
            continue
        if not isinstance(obj, (dict, list, tuple)):
            continue
        oid = id(obj)
        if oid in on_path:
            raise DataError(
                f"{what} refers to itself at {_path_text(path)} (a reference cycle): it cannot be stored as JSON"
            )
        if oid in checked:
            continue
        if depth >= max_depth:
            raise DataError(
                f"{what} is nested more than {max_depth} levels deep (at "
                f"{_path_text(path)}): store it flatter, e.g. as a list or a file"
            )
        on_path.add(oid)
        stack.append((obj, path, depth, True))
        containers = (dict, list, tuple)  # scalars need no visit: only containers are pushed
        if len(obj) * 2 > limit - size:  # each entry takes at least 2 bytes (`0,`): refuse at once
            add_size(len(obj) * 2)
        if isinstance(obj, dict):
            for k, v in obj.items():
                if type(k) is not str and not isinstance(k, str):
                    raise DataError(
                        f"{what} has a dict key {k!r} of type {type(k).__name__} at "
                        f"{_path_text(path)}: keys must be strings to be stored as JSON"
                    )
                if isinstance(v, containers):
                    add_size(len(k) + 6)  # '"k": ' and the separator (or the braces)
                    stack.append((v, (path, k), depth + 1, False))
                else:
                    add_size(len(k) + 6 + _json_size(v))
            if not obj:
                add_size(2)
        else:
            if not obj:
                add_size(2)
            for i, v in enumerate(obj):
                if isinstance(v, containers):
                    add_size(2)
                    stack.append((v, (path, i), depth + 1, False))
                else:
                    add_size(2 + _json_size(v))


def guarded(run, payload: dict) -> dict:
    """``run(payload)`` with any escaping ``BaseException`` turned into a failed outcome.

    ``execute_state`` already returns failures as data; this is the last line, so that
    ``SystemExit``/``KeyboardInterrupt`` from a state's code can neither end a Ray worker (Ray takes
    ``sys.exit`` in a task as "exit this worker") nor the inline driver's loop thread."""
    t0 = time.time()
    try:
        return run(payload)
    except BaseException as exc:
        if isinstance(exc, Exception):
            name = type(exc).__name__
        else:
            name = StateExited.__name__
        return {
            "status": "failed",
            "updates": {},
            "error_type": name,
            "error_message": (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:2000],
            "traceback": traceback.format_exc(limit=8)[-4000:],
            "started_at": t0,
            "ended_at": time.time(),
            "worker_pid": os.getpid(),
        }
