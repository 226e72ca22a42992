"""Logging for the workbench, configured once per process.

Every module logs under one namespace, ``workbench`` (``workbench.store``, ``workbench.runner``,
``workbench.ai``, ``workbench.app`` …): ``logging.getLogger("workbench.store")`` or
``get_logger("store")``. The entry points (the ``workbench`` CLI, the Streamlit app) call
``configure_logging()`` once. It sets the level of the ``workbench`` logger and adds one stderr
handler to the root logger that prints ``workbench.*`` records, and other libraries' warnings as
Python would without any configuration (Ray and Streamlit keep their own handlers). Calling it again changes the level and adds nothing; records still propagate, so
pytest's ``caplog`` sees them, and an entry point that installs its own root handlers (the HTTP
service's JSON logs) replaces this one instead of printing every record twice.

``WORKBENCH_LOG_LEVEL`` (DEBUG, INFO, WARNING, ERROR) overrides the entry point's default level.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

NAMESPACE = "workbench"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _WorkbenchHandler(logging.StreamHandler):
    """The one handler ``configure_logging`` installs (recognised by its class). Without an explicit
    stream it writes to the current ``sys.stderr`` (which tests and Streamlit may swap)."""

    def __init__(self, stream: TextIO | None = None):
        super().__init__(stream or sys.stderr)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr
        super().emit(record)


def get_logger(name: str = "") -> logging.Logger:
    """The logger ``workbench.<name>`` (``workbench`` itself for an empty name)."""
    name = name.removeprefix(NAMESPACE).lstrip(".")
    return logging.getLogger(f"{NAMESPACE}.{name}" if name else NAMESPACE)


def level_from_env(default: int | str = logging.INFO) -> int:
    """``WORKBENCH_LOG_LEVEL`` as a level number, else ``default`` (INFO when unknown)."""
    wanted = os.environ.get("WORKBENCH_LOG_LEVEL", "").strip().upper() or default
    level = wanted if isinstance(wanted, int) else logging.getLevelName(wanted)
    return level if isinstance(level, int) else logging.INFO


class _NoSigtermNotice(logging.Filter):
    """Drops Ray's "SIGTERM handler is not set because current thread is not the main thread": the
    engine connects Ray from its own thread on purpose and stops Ray itself, so the warning only
    worried CLI users (``workbench run`` printed it before the first step)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("SIGTERM handler is not set")


_NO_SIGTERM_NOTICE = _NoSigtermNotice()


def hide_ray_thread_notice() -> None:
    """Keep Ray's notice about connecting from a thread other than the main one off stderr (idempotent;
    ``ray_tasks.cluster`` calls it before connecting)."""
    logging.getLogger("ray._private.worker").addFilter(_NO_SIGTERM_NOTICE)


def _ours_or_a_warning(record: logging.LogRecord) -> bool:
    ours = record.name == NAMESPACE or record.name.startswith(NAMESPACE + ".")
    return ours or record.levelno >= logging.WARNING


def configure_logging(level: int | str = logging.INFO, stream: TextIO | None = None) -> logging.Logger:
    """Print ``workbench.*`` records at ``level`` or above (and other loggers' warnings) on ``stream``
    (stderr); idempotent.
    Returns the ``workbench`` logger."""
    ours = logging.getLogger(NAMESPACE)
    ours.setLevel(level_from_env(level))
    root = logging.getLogger()
    if not any(isinstance(h, _WorkbenchHandler) for h in root.handlers):
        handler = _WorkbenchHandler(stream)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(_ours_or_a_warning)
        root.addHandler(handler)
    return ours
