"""What a state prints: stdout and stderr of its code, captured per attempt (bounded, secrets redacted).

:func:`run_captured` wraps one attempt (``ray_tasks.tasks.run_state_task`` on a Ray worker,
``InlineExecutor.run_now`` in the driver process): whatever the state's code writes to
``sys.stdout``/``sys.stderr`` *on the thread running the state* is kept, in order, and returned in
the task's result as ``logs`` (text) — the last :data:`LOG_MAX_CHARS` characters, with a first line
saying how much was dropped. Every known secret value is replaced by ``[redacted:NAME]``
(:func:`engine.secrets.redact`) before the text leaves the worker; when that check fails the text
is withheld. The output still reaches the process's own streams (Ray's worker logs, a terminal).

Not captured: output of threads the state starts itself, and writes below Python (``os.write(1,
…)``, C extensions, subprocesses inheriting the file descriptors).

A leaf module (only :mod:`engine.secrets`, lazily): the Ray side imports it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

LOG_MAX_CHARS = 64 * 1024  # kept per attempt: the end of the output (where the error usually is)
_SLACK = 8 * 1024  # kept beyond the limit until redaction, so a secret cut at the front is cut away after
_local = threading.local()
_install_lock = threading.Lock()


class _Buffer:
    """The tail of what one attempt wrote (bounded while it runs)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size > 2 * (self.limit + _SLACK):
            joined = "".join(self.parts)
            keep = joined[-(self.limit + _SLACK) :]
            self.dropped += len(joined) - len(keep)
            self.parts, self.size = [keep], len(keep)

    def text(self) -> tuple[str, int]:
        """(the kept text, characters dropped before it) — not yet cut to the limit."""
        return "".join(self.parts), self.dropped


class _Router:
    """Stands in for ``sys.stdout``/``sys.stderr``: passes every write on to the real stream and adds
    it to the capture of the writing thread, if that thread is running a state."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text) -> int:
        buf = getattr(_local, "buffer", None)
        if buf is not None and isinstance(text, str):
            buf.add(text)
        return self._stream.write(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str):  # encoding, fileno, isatty, buffer …
        return getattr(self._stream, name)


def _install() -> None:
    """Put a router in front of sys.stdout and sys.stderr (again if something replaced them since)."""
    if isinstance(sys.stdout, _Router) and isinstance(sys.stderr, _Router):
        return
    with _install_lock:
        if not isinstance(sys.stdout, _Router) and sys.stdout is not None:
            sys.stdout = _Router(sys.stdout)
        if not isinstance(sys.stderr, _Router) and sys.stderr is not None:
            sys.stderr = _Router(sys.stderr)


def _finish(buf: _Buffer, limit: int) -> str:
    """The captured text, secrets redacted, cut to ``limit`` characters (a first line says what was dropped)."""
    text, dropped = buf.text()
    if not text:
        return ""
    try:
        from engine.secrets import redact

        text = redact(text)
    except Exception as exc:  # never return text that could not be checked
        return f"[logs withheld: they could not be checked for secrets ({type(exc).__name__})]\n"
    if len(text) > limit:
        dropped += len(text) - limit
        text = text[-limit:]
    if dropped:
        text = f"[… {dropped:,} earlier characters not kept]\n" + text
    return text


def run_captured(run: Callable[[dict], dict], payload: dict, limit: int = LOG_MAX_CHARS) -> dict:
    """``run(payload)`` (a task's result dict) with what the state printed added as ``logs``.

    Nested calls on one thread capture into the outer attempt. ``logs`` is absent when nothing was printed."""
    if getattr(_local, "buffer", None) is not None:
        return run(payload)
    _install()
    buf = _Buffer(limit)
    _local.buffer = buf
    try:
        out = run(payload)
    finally:
        _local.buffer = None
    logs = _finish(buf, limit)
    if logs and isinstance(out, dict):
        out["logs"] = logs
    return out


def step_logs_of(out: Any) -> str | None:
    """The captured logs in a task's result record (``None`` when it has none)."""
    logs = out.get("logs") if hasattr(out, "get") else None
    return logs if isinstance(logs, str) and logs else None
