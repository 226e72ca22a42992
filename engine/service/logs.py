"""Structured logs of the service: one JSON object per line on stderr (``--log-format text`` for people).

Records may carry ``execution_id``, ``workflow`` and ``state`` (pass them in ``extra=``); they become
fields of the JSON object. The level comes from ``WORKBENCH_LOG_LEVEL`` (default ``INFO``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys

CONTEXT_FIELDS = ("execution_id", "workflow", "state", "status", "method", "path", "status_code", "duration_ms")


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", execution_id?, workflow?, state?, …}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger: message [execution_id=… workflow=… state=…]``."""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extra = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if getattr(record, k, None) is not None)
        text = f"{when} {record.levelname.lower():<7} {record.name}: {record.getMessage()}"
        if extra:
            text += f"  [{extra}]"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def log_level() -> int:
    """The level named by ``WORKBENCH_LOG_LEVEL`` (INFO when unset or unknown)."""
    name = (os.environ.get("WORKBENCH_LOG_LEVEL") or "INFO").upper()
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.INFO


def configure(fmt: str = "json", level: int | None = None) -> None:
    """Send every log record (ours, uvicorn's) to stderr in ``fmt`` (``json`` or ``text``)."""
    if fmt not in ("json", "text"):
        raise ValueError(f"log format must be 'json' or 'text', got {fmt!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    level = level if level is not None else log_level()
    root.setLevel(level)
    logging.getLogger("workbench").setLevel(level)  # the CLI set it to WARNING for commands
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
