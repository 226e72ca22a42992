"""Shared parts of the record store: errors, paths, the Arrow schemas and small file helpers."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import threading
import uuid
from pathlib import Path

import pyarrow as pa

from engine.errors import WorkbenchError
from engine.schema import TABLES

log = logging.getLogger("workbench.store")


class StoreError(WorkbenchError):
    """Records could not be written or read. The message says which file and what to do."""


class RawJSON(str):
    """JSON text that is stored as-is in a JSON column (a plain ``str`` is stored as a JSON string)."""


class _EncodedJSON(RawJSON):
    """JSON text made by :func:`encode_json` (this module's own encoder): stored without re-parsing."""


def default_db_path() -> Path:
    """``$WORKBENCH_DB`` (relative to the current directory) or ``<repo>/data/workbench.duckdb``."""
    env = os.environ.get("WORKBENCH_DB")
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parents[2] / "data" / "workbench.duckdb"


def store_id(db_path=None) -> str:
    """A short, publishable identity of a store file (a hash of its resolved path): lets a client tell
    whether a service records into the same store as it would, without revealing the path."""
    return hashlib.sha256(str(_resolve(db_path)).encode()).hexdigest()[:16]


def _resolve(db_path) -> Path:
    return Path(db_path).expanduser().resolve() if db_path is not None else default_db_path()


_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "JSON": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
}


def _schema(table: str) -> pa.Schema:
    return pa.schema([(c, _ARROW_TYPES[t]) for c, t in TABLES[table].items()])


_SCHEMAS = {t: _schema(t) for t in TABLES}


def _schema_hash(table: str) -> str:
    return hashlib.sha256(json.dumps(TABLES[table], sort_keys=True).encode()).hexdigest()[:12]


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _os_error(action: str, path, exc: OSError) -> StoreError:
    hint = ""
    if exc.errno == errno.ENOSPC:
        hint = " (the disk is full: free space or point WORKBENCH_DB at another disk)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = " (no permission: fix the directory's permissions or set WORKBENCH_DB to a writable path)"
    return StoreError(f"cannot {action} {path}: {exc.strerror or exc}{hint}")


def _tmp_path(final: Path) -> Path:
    """A temporary name next to ``final``, unique per process and thread (hidden, ends in ``.tmp``)."""
    return final.with_name(f".{final.name}.{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:8]}.tmp")


def _fsync_path(path) -> None:
    """Flush a written file to disk (``WORKBENCH_FSYNC=1``)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Descriptors that hold a flock (WALs, lock files). A forked child inherits them, and a flock lives
# until every copy is closed: the child closes its copies at once (see _close_lock_fds_in_child), so it
# never keeps a parent's WAL from being converted, or a lock held, after the parent is gone.
_LOCK_FDS: set[int] = set()


def _open_lock_fd(path, flags: int) -> int:
    """``os.open`` for a descriptor that will hold a flock (closed in forked children)."""
    fd = os.open(path, flags | os.O_CLOEXEC, 0o644)
    _LOCK_FDS.add(fd)
    return fd


def _close_lock_fd(fd: int) -> None:
    os.close(fd)
    _LOCK_FDS.discard(fd)


def _close_lock_fds_in_child() -> None:
    for fd in list(_LOCK_FDS):
        try:
            os.close(fd)
        except OSError:
            pass
    _LOCK_FDS.clear()


os.register_at_fork(after_in_child=_close_lock_fds_in_child)


def _is_lock_error(exc: Exception) -> bool:
    m = str(exc).lower()
    return "lock" in m or "resource temporarily unavailable" in m
