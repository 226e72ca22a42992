"""Record storage: an append-only log of JSON lines turned into Parquet segments, read through views.

This is the only module that writes records. See README ("Storage") and docs/design.md.

Layout for ``data/workbench.duckdb``::

    data/workbench.duckdb                 views only (notebooks open it with read_only=True)
    data/workbench_log/wal/<writer>.jsonl one write-ahead log per live writer (flock-held)
    data/workbench_log/<table>/seg-*.parquet

* ``append``/``append_many`` validate and normalise the rows, then write **one JSON line per call**
  to this process's WAL (``{"t": table, "n": rows, "c": {column: [values]}}``). When they return,
  the line is in the OS page cache: a ``kill -9`` of the process loses nothing (``WORKBENCH_FSYNC=1``
  adds an fsync per call, for power loss).
* A daemon thread turns pending lines into one Parquet segment per table every ``flush_interval_s``
  (sooner once 5,000 rows are pending). Segments are written to ``*.tmp`` and renamed, so readers
  never see a partial file. A segment's name ``seg-<wal id>-L<line>.parquet`` records that every
  line of that table up to ``<line>`` of that WAL is converted.
* Opening a Store (and every few seconds after) converts WALs of dead writers (their flock can be
  taken): only the lines no segment covers; a torn last line is ignored. Then the WAL is removed.
* Views: ``read_parquet('<table>/seg-*.parquet', union_by_name=true)``; every table has a 0-row
  schema segment so the glob always matches. Tables in :data:`engine.schema.LATEST_BY` show the
  newest row per key; their raw rows are ``<table>_history``.
* ``compact()`` merges a table's segments into one (also done automatically in the background when a
  table has many small segments). The merged file carries the WAL coverage in its Parquet metadata.
"""
from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import math
import operator
import os
import re
import socket
import threading
import time
import uuid
import weakref
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from engine.errors import WorkbenchError
from engine.schema import LATEST_BY, TABLES

log = logging.getLogger("workbench.store")

VIEWS_FORMAT = 1  # bump when the view SQL changes; the .duckdb file is then rebuilt
FLUSH_ROWS = 5_000  # wake the flusher once this many rows are pending
RECOVER_EVERY_S = 2.0  # look for dead writers' WALs this often
AUTO_COMPACT_EVERY_S = 5.0
AUTO_COMPACT_SEGMENTS = 48  # a table with more segments than this gets its small ones merged
AUTO_COMPACT_SMALL_BYTES = 8 << 20
WAL_ROTATE_BYTES = 64 << 20  # start a new WAL once the current one is this big and fully converted
RECOVER_CHUNK_ROWS = 50_000
COVERS_KEY = b"workbench.covers"
_os_write = os.write  # indirection so tests can simulate a full disk

_ARROW_TYPES = {
    "VARCHAR": pa.string(), "JSON": pa.string(), "INTEGER": pa.int32(), "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(), "TIMESTAMP": pa.timestamp("us"),
}
_INT_RANGE = {"INTEGER": (-(2**31), 2**31 - 1), "BIGINT": (-(2**63), 2**63 - 1)}
_USER_SQL_ERRORS = (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException)
_DATA_HINTS = ("parquet", "magic", "variable-length", "corrupt", "thrift", "decompress", "snappy",
               "zstd", "no such file", "io error", "not found", "could not open")


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
    return Path(__file__).resolve().parents[1] / "data" / "workbench.duckdb"


def _resolve(db_path) -> Path:
    return Path(db_path).expanduser().resolve() if db_path is not None else default_db_path()


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


# --- value normalisation ------------------------------------------------------------------

class _Bad(Exception):
    pass


def _finite(obj):
    """Copy of a JSON-able object without what JSON text cannot hold: non-finite floats become
    null, lone surrogates in strings become "?"."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, str):
        return obj if _utf8_ok(obj) else obj.encode("utf-8", "replace").decode("utf-8")
    if isinstance(obj, dict):
        return {_finite(k) if isinstance(k, str) else k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


_LONE_SURROGATE = re.compile(r"\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}")


def _make_json_encoder():
    """``json.dumps(v, default=str, separators=(",", ":"))`` without its per-call set-up (~2x faster)."""
    slow = json.JSONEncoder(default=str, separators=(",", ":")).encode
    try:
        from json.encoder import c_make_encoder, encode_basestring_ascii
    except ImportError:  # pragma: no cover
        return slow
    if c_make_encoder is None or encode_basestring_ascii is None:  # pragma: no cover
        return slow
    # markers=None skips the circular-reference check: a cycle ends in RecursionError instead
    fast = c_make_encoder(None, str, encode_basestring_ascii, None, ":", ",", False, False, True)

    def encode(v) -> str:
        return "".join(fast(v, 0))
    return encode


_json_encode = _make_json_encoder()


def _make_line_encoder():
    """``json.dumps(v, separators=(",", ":"))`` for WAL lines, built once (no per-call encoder set-up).

    A line holds only normalised scalars (JSON columns are already text), so it cannot contain a
    cycle: the circular-reference check is skipped. The output is byte-for-byte what ``json.dumps``
    writes (ASCII escapes, ``NaN``/``Infinity`` allowed)."""
    slow = json.JSONEncoder(separators=(",", ":")).encode
    try:
        from json.encoder import c_make_encoder, encode_basestring_ascii
    except ImportError:  # pragma: no cover
        return slow
    if c_make_encoder is None or encode_basestring_ascii is None:  # pragma: no cover
        return slow

    def refuse(o):
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")
    fast = c_make_encoder(None, refuse, encode_basestring_ascii, None, ":", ",", False, False, True)

    def encode(v) -> str:
        return "".join(fast(v, 0))
    return encode


_line_encode = _make_line_encoder()


def _json_text(v) -> str:
    t = type(v)
    if t is _EncodedJSON:
        return str(v)
    if t is RawJSON:
        try:
            json.loads(v)
        except ValueError as exc:
            raise _Bad(f"RawJSON is not valid JSON: {exc}") from None
        return str(v)
    try:
        s = _json_encode(v)
    except (TypeError, ValueError, RecursionError) as exc:
        raise _Bad(f"cannot encode as JSON: {exc}") from None
    if "NaN" in s or "Infinity" in s or ("\\ud" in s and _LONE_SURROGATE.search(s)):
        s = _json_encode(_finite(v))  # not valid JSON as it stands
    return s


def encode_json(value) -> RawJSON:
    """``value`` as the JSON text a JSON column would store, for a value appended many times
    (e.g. a run's options in every row of its execution): encoded once, not at every append."""
    try:
        return _EncodedJSON(_json_text(value))
    except _Bad as exc:
        raise StoreError(f"cannot store {_short(value)} as JSON: {exc}") from None


def _ts_text(v) -> str:
    """A timestamp as naive-UTC ISO text (aware values are converted to UTC)."""
    if type(v) is str:
        try:
            v = datetime.fromisoformat(v.strip())
        except ValueError:
            raise _Bad("not an ISO timestamp (e.g. 2026-01-31T12:00:00)") from None
    elif not isinstance(v, datetime):
        if isinstance(v, date):
            v = datetime(v.year, v.month, v.day)
        else:
            raise _Bad("expected a datetime or an ISO string")
    elif type(v) is not datetime:  # e.g. pandas.Timestamp
        v = datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, v.tzinfo)
    if v.tzinfo is not None:
        v = v.astimezone(timezone.utc).replace(tzinfo=None)
    return v.isoformat()


def _utf8_ok(v: str) -> bool:
    try:
        v.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _coerce(kind: str, v):
    """Slow path for a value whose type is not the column's plain Python type."""
    if kind == "VARCHAR":
        if isinstance(v, (dict, list, tuple, set, bytes, bytearray)):
            raise _Bad("expected text (put structured values in a JSON column)")
        if isinstance(v, datetime):
            return v.isoformat()
        v = str(v)
        # lone surrogates (e.g. undecodable file names) cannot be stored as UTF-8: replace them
        return v if _utf8_ok(v) else v.encode("utf-8", "replace").decode("utf-8")
    if kind in _INT_RANGE:
        if isinstance(v, float):
            if not v.is_integer():
                raise _Bad("expected an integer, got a fractional number")
            v = int(v)
        else:
            try:
                v = int(operator.index(v))
            except TypeError:
                raise _Bad("expected an integer") from None
        lo, hi = _INT_RANGE[kind]
        if not lo <= v <= hi:
            raise _Bad(f"out of range for {kind}")
        return v
    if kind == "DOUBLE":
        if isinstance(v, (str, bytes, bool)):
            raise _Bad("expected a number")
        try:
            return float(v)
        except (TypeError, ValueError):
            raise _Bad("expected a number") from None
    if kind == "BOOLEAN":
        if getattr(getattr(v, "dtype", None), "kind", None) == "b" or (isinstance(v, int) and v in (0, 1)):
            return bool(v)
        raise _Bad("expected True or False")
    raise _Bad(f"unsupported column type {kind}")


_PLAIN = {"VARCHAR": (str,), "BIGINT": (int,), "INTEGER": (int,), "DOUBLE": (float, int), "BOOLEAN": (bool,)}


def _one(kind: str, v):
    if kind == "JSON":
        return _json_text(v)
    if kind == "TIMESTAMP":
        return v.isoformat() if type(v) is datetime and v.tzinfo is None else _ts_text(v)
    return _coerce(kind, v)


def _normalise_column(table: str, col: str, kind: str, vals: list) -> list:
    v = None
    try:
        if kind == "JSON":
            return [None if v is None else _json_text(v) for v in vals]
        if kind == "TIMESTAMP":
            return [None if v is None else (v.isoformat() if type(v) is datetime and v.tzinfo is None
                                            else _ts_text(v)) for v in vals]
        plain = _PLAIN[kind]
        rng = _INT_RANGE.get(kind)
        out = None
        for i, v in enumerate(vals):
            if v is None:
                continue
            if type(v) in plain and (rng is None or rng[0] <= v <= rng[1]):
                if kind != "VARCHAR" or v.isascii() or _utf8_ok(v):
                    continue
            if out is None:
                out = list(vals)
            out[i] = _coerce(kind, v)
        return vals if out is None else out
    except _Bad as exc:
        bad = v
        if kind in ("JSON", "TIMESTAMP"):  # comprehension variables are not visible here: find it
            for x in vals:
                if x is None:
                    continue
                try:
                    _one(kind, x)
                except _Bad:
                    bad = x
                    break
        raise StoreError(f"{table}.{col} ({kind}): cannot store {_short(bad)}: {exc}") from None


def _normalise_row(spec: dict[str, str], row: dict) -> dict[str, list] | None:
    """Fast path for one row: the columns as ``_normalise_column`` would return them (NULLs left
    out), or None when any value needs the general path (coercion, an error message, an unknown
    column). It never changes a value the general path would keep or convert differently."""
    cols: dict[str, list] = {}
    for c, v in row.items():
        kind = spec.get(c)
        if kind is None:
            return None
        if v is None:
            continue
        t = type(v)
        if kind == "VARCHAR":
            if t is not str or not (v.isascii() or _utf8_ok(v)):
                return None
        elif kind == "JSON":
            try:
                v = _json_text(v)
            except _Bad:
                return None
        elif kind == "TIMESTAMP":
            if t is not datetime or v.tzinfo is not None:
                return None
            v = v.isoformat()
        elif kind == "DOUBLE":
            if t is not float and t is not int:
                return None
        elif kind == "BOOLEAN":
            if t is not bool:
                return None
        else:  # INTEGER, BIGINT
            rng = _INT_RANGE.get(kind)
            if t is not int or rng is None or not rng[0] <= v <= rng[1]:
                return None
        cols[c] = (v,)  # a tuple of scalars is untracked by the GC (pending rows are not scanned)
    return cols


def _short(v) -> str:
    try:
        text = repr(v)
    except (ValueError, RecursionError):  # an int of more than 4,300 digits, a too deeply nested value
        return f"<{type(v).__name__} that cannot be shown>"
    return text if len(text) <= 80 else text[:77] + "..."


# --- the store ----------------------------------------------------------------------------

_live_stores: "weakref.WeakSet[Store]" = weakref.WeakSet()
_registry: dict[Path, "Store"] = {}
_registry_lock = threading.Lock()


def get_store(db_path=None) -> "Store":
    """The process-wide Store for ``db_path`` (default :func:`default_db_path`); thread-safe."""
    path = _resolve(db_path)
    with _registry_lock:
        s = _registry.get(path)
        if s is None or s._closed or s._pid != os.getpid():
            s = Store(path)
            _registry[path] = s
        return s


def _register(store: "Store") -> None:
    """Make ``get_store(store.path)`` return ``store`` (used by the test fixture)."""
    with _registry_lock:
        _registry[store.path] = store


@atexit.register
def _close_all() -> None:
    for s in list(_live_stores):
        if s._pid == os.getpid():
            try:
                s.close()
            except Exception:  # pragma: no cover - best effort at exit
                pass


class Store:
    """Append-only record store. Thread-safe; one per process and path via :func:`get_store`."""

    def __init__(self, db_path: str | os.PathLike | None = None, *, flush_interval_s: float = 0.25):
        self.path: Path = _resolve(db_path)
        self.log_dir: Path = self.path.parent / f"{self.path.stem}_log"
        self.flush_interval_s = float(flush_interval_s)
        self._fsync = os.environ.get("WORKBENCH_FSYNC", "") not in ("", "0")
        self._pid = os.getpid()
        self._lock = threading.Lock()  # WAL writes + pending list
        self._flush_lock = threading.Lock()  # one segment writer at a time (keeps coverage in order)
        self._close_lock = threading.Lock()
        self._pending: list[tuple[int, str, dict, int]] = []  # (wal line, table, columns, rows)
        self._pending_rows = 0
        self._line = 0
        self._lines_done = 0
        self._seq = 0
        self._closed = False
        self._wal_fd: int | None = None
        self._views_ok = False
        self._covers_cache: dict[str, dict] = {}
        self._validated: set[tuple[str, int, int]] = set()
        self._cursors: list = []
        self._all_cursors: list = []
        self._stop = threading.Event()
        self._wake = threading.Event()

        try:
            for d in [self.path.parent, self.log_dir / "wal", *(self.log_dir / t for t in TABLES)]:
                d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_error("create the record directory", getattr(exc, "filename", self.log_dir), exc) from None
        for t in TABLES:
            self._ensure_schema_segment(t)
        self._open_wal()
        try:
            try:
                self._recover_dead_wals()
            except StoreError as exc:
                log.warning("could not convert a dead writer's log: %s", exc)
            self._clean_tmp_files()
            self._check_segments()  # footers only: views bind every file, so a broken one would stop them
            self._ensure_views_file()
            self._mem = duckdb.connect(":memory:")
            self._create_memory_views()
        except BaseException:
            os.close(self._wal_fd)
            self._wal_fd = None
            self._wal_path.unlink(missing_ok=True)
            raise
        _live_stores.add(self)
        self._thread = threading.Thread(target=self._run, name=f"store-flusher:{self.path.name}", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- writing ------------------------------------------------------------------------

    encode_json = staticmethod(encode_json)

    def append(self, table: str, row: dict) -> None:
        """Record one row. Durable against ``kill -9`` once this returns."""
        self.append_many(table, [row])

    def append_many(self, table: str, rows: list[dict]) -> None:
        """Record many rows with one WAL write. Durable against ``kill -9`` once this returns."""
        if not rows:
            return
        if self._closed:
            raise StoreError(f"the store {self.path} is closed; use engine.store.get_store() for a new one")
        if self._pid != os.getpid():
            raise StoreError("this Store was opened in a parent process; call engine.store.get_store() "
                             "in this process instead")
        cols, n = self._normalise(table, rows)
        try:
            line = _line_encode({"t": table, "n": n, "c": cols}).encode() + b"\n"
        except (TypeError, ValueError) as exc:  # pragma: no cover - normalisation makes this unreachable
            raise StoreError(f"{table}: cannot encode rows: {exc}") from None
        with self._lock:
            if self._closed:
                raise StoreError(f"the store {self.path} is closed")
            self._write_wal(line)
            self._line += 1
            self._pending.append((self._line, table, cols, n))
            self._pending_rows += n
            wake = self._pending_rows >= FLUSH_ROWS
        if wake:
            self._wake.set()

    def _normalise(self, table: str, rows: list[dict]) -> tuple[dict[str, list], int]:
        spec = TABLES.get(table)
        if spec is None:
            raise StoreError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
        if isinstance(rows, dict):
            raise StoreError(f"{table}: append_many takes a list of dicts (use append for one row)")
        one = type(rows) is list and len(rows) == 1 and type(rows[0]) is dict
        cols = _normalise_row(spec, rows[0]) if one else None
        if cols is not None:
            return self._fill_latest(table, cols, 1), 1
        try:
            keys = set().union(*rows)
        except TypeError:
            raise StoreError(f"{table}: every row must be a dict of column -> value") from None
        bad = [r for r in rows if not isinstance(r, dict)]
        if bad:
            raise StoreError(f"{table}: every row must be a dict, got {type(bad[0]).__name__}")
        unknown = keys - spec.keys()
        if unknown:
            names = ", ".join(sorted(map(str, unknown)))
            raise StoreError(f"{table}: unknown column(s) {names}; columns are: {', '.join(spec)}")
        n = len(rows)
        cols: dict[str, list] = {}
        for c in keys:
            vals = [r.get(c) for r in rows]
            cols[c] = _normalise_column(table, c, spec[c], vals)
        cols = self._fill_latest(table, cols, n)
        for c, vals in cols.items():
            if all(v is None for v in vals):
                cols[c] = None  # marker: all NULL (dropped below)
        return {c: v for c, v in cols.items() if v is not None}, n

    def _fill_latest(self, table: str, cols: dict[str, list], n: int) -> dict[str, list]:
        """Tables with "newest row wins" views need ``seq`` and ``updated_at`` on every row."""
        if table in LATEST_BY:
            seqs = cols.get("seq")
            if seqs is None or None in seqs:
                fresh = self._next_seqs(n)
                cols["seq"] = fresh if seqs is None else [s if s is not None else f for s, f in zip(seqs, fresh)]
            ups = cols.get("updated_at")
            if ups is None or None in ups:
                now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat()
                cols["updated_at"] = [now] * n if ups is None else [u if u is not None else now for u in ups]
        return cols

    def _next_seqs(self, n: int) -> list[int]:
        """Process-monotonic sequence numbers (microseconds since the epoch, strictly increasing)."""
        with self._lock:
            start = max(self._seq + 1, time.time_ns() // 1000)
            self._seq = start + n - 1
        return list(range(start, start + n))

    def _open_wal(self) -> None:
        host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
        wal_id = f"{host}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        wal_dir = self.log_dir / "wal"
        tmp = wal_dir / f".{wal_id}.opening"
        final = wal_dir / f"{wal_id}.jsonl"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until close or death
            os.replace(tmp, final)  # only now visible as a WAL (already locked: never taken for dead)
        except OSError as exc:
            raise _os_error("create the write-ahead log", tmp, exc) from None
        self._wal_id, self._wal_path, self._wal_fd, self._wal_size = wal_id, final, fd, 0
        self._line = 0
        self._lines_done = 0  # lines of this WAL whose rows are in segments

    def _write_wal(self, data: bytes) -> None:
        fd = self._wal_fd
        view = memoryview(data)
        written = 0
        try:
            while written < len(view):
                written += _os_write(fd, view[written:])
            if self._fsync:
                os.fsync(fd)
        except OSError as exc:
            if written:
                try:  # never leave half a line for the next append to continue
                    os.ftruncate(fd, self._wal_size)
                except OSError:
                    log.error("could not truncate %s after a failed write", self._wal_path)
            raise _os_error("append to", self._wal_path, exc) from None
        self._wal_size += len(data)

    # --- flushing -----------------------------------------------------------------------

    def flush(self) -> None:
        """Turn every row appended so far into Parquet segments (visible to every reader)."""
        self._flush(None)

    def _flush(self, tables: set[str] | None) -> None:
        """Flush pending rows of ``tables`` (all when None). Per-table coverage keeps this safe.

        Always taken under the flush lock: when the background flusher has already moved rows out of
        ``_pending`` but not yet renamed their segment into place, a reader must wait for it, or it would
        see neither (read-your-writes would break for a few milliseconds).
        """
        with self._flush_lock:
            with self._lock:
                if tables is None:
                    batch, self._pending, self._pending_rows = self._pending, [], 0
                else:
                    batch = [i for i in self._pending if i[1] in tables]
                    if batch:
                        self._pending = [i for i in self._pending if i[1] not in tables]
                        self._pending_rows -= sum(i[3] for i in batch)
            if batch:
                self._flush_batch(batch)
            if self._wal_size > WAL_ROTATE_BYTES and not self._closed:
                self._rotate_wal()

    def _flush_batch(self, batch: list[tuple[int, str, dict, int]]) -> None:
        by_table: dict[str, list] = {}
        for item in batch:
            by_table.setdefault(item[1], []).append(item)
        failed: list = []
        error: StoreError | None = None
        for table, items in by_table.items():
            if error is not None:
                failed.extend(items)
                continue
            try:
                data = self._build_checked(table, [(line, c, n) for line, _, c, n in items])
                if data is not None:
                    self._write_segment(table, data, self._seg_name(self._wal_id, items[-1][0]))
            except Exception as exc:  # any failure (e.g. an import refused at interpreter exit) keeps the rows
                error = exc if isinstance(exc, StoreError) else StoreError(
                    f"cannot write a segment of {table} under {self.log_dir}: {type(exc).__name__}: {exc}")
                failed.extend(items)
                continue
            with self._lock:
                self._lines_done += len(items)
        if failed:
            failed.sort(key=lambda i: i[0])
            with self._lock:
                self._pending[:0] = failed
                self._pending_rows += sum(i[3] for i in failed)
        if error is not None:
            raise error

    def _wal_converted(self) -> bool:
        """Every line of this process's current WAL is in a segment (or cannot be converted at all).
        Call with ``_lock`` held."""
        return not self._pending and self._lines_done == self._line

    @staticmethod
    def _seg_name(wal_id: str, line: int) -> str:
        return f"seg-{wal_id}-L{line:010d}.parquet"

    def _build_table(self, table: str, parts: list[tuple[dict, int]]) -> pa.Table:
        schema = _SCHEMAS[table]
        arrays = []
        total = sum(n for _, n in parts)
        for field in schema:
            name = field.name
            if len(parts) == 1:
                merged = parts[0][0].get(name)
            else:
                merged = None
                if any(name in c for c, _ in parts):
                    merged = []
                    for c, n in parts:
                        v = c.get(name)
                        if v is None:
                            merged.extend([None] * n)
                        else:
                            merged.extend(v)
            if merged is None:
                arrays.append(pa.nulls(total, field.type))
            elif pa.types.is_timestamp(field.type):
                arrays.append(pa.array(merged, pa.string()).cast(field.type))
            else:
                arrays.append(pa.array(merged, field.type))
        return pa.Table.from_arrays(arrays, schema=schema)

    def _write_segment(self, table: str, data: pa.Table, name: str, *, metadata: dict | None = None,
                       compression: str = "snappy") -> Path:
        final = self.log_dir / table / name
        tmp = _tmp_path(final)
        if metadata:
            data = data.replace_schema_metadata({**(data.schema.metadata or {}), **metadata})
        try:
            pq.write_table(data, tmp, compression=compression)
            if self._fsync:
                _fsync_path(tmp)
            os.replace(tmp, final)
        except OSError as exc:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise _os_error("write the segment", final, exc) from None
        return final

    def _rotate_wal(self) -> None:
        with self._lock:
            if not self._wal_converted():
                return
            old_fd, old_path = self._wal_fd, self._wal_path
            self._open_wal()
        try:
            old_path.unlink()
        except OSError:
            pass
        os.close(old_fd)

    # --- background work ----------------------------------------------------------------

    def _run(self) -> None:
        last_recover = last_compact = time.monotonic()
        last_error = 0.0
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.flush()
                now = time.monotonic()
                if now - last_recover >= RECOVER_EVERY_S:
                    last_recover = now
                    self._recover_dead_wals()
                    if not self._views_ok:
                        self._ensure_views_file()
                if now - last_compact >= AUTO_COMPACT_EVERY_S:
                    last_compact = now
                    self._auto_compact()
            except Exception as exc:
                now = time.monotonic()
                if now - last_error > 30:  # don't flood the log while the disk stays full
                    log.error("record flush failed (rows are safe in %s, retrying): %s", self._wal_path, exc)
                    last_error = now

    def _auto_compact(self) -> None:
        for table in TABLES:
            if self._stop.is_set():
                return
            segs = self._segments(table)
            small = [p for p in segs if _size(p) < AUTO_COMPACT_SMALL_BYTES]
            if len(small) > AUTO_COMPACT_SEGMENTS:
                self._compact_table(table, small, blocking=False)

    # --- recovery of dead writers -------------------------------------------------------

    def _recover_dead_wals(self) -> int:
        """Convert the WALs of writers that are gone (their flock is free). Returns rows recovered."""
        total = 0
        wal_dir = self.log_dir / "wal"
        try:
            names = sorted(os.listdir(wal_dir))
        except OSError as exc:
            raise _os_error("list", wal_dir, exc) from None
        for name in names:
            if not name.endswith(".jsonl") or name == self._wal_path.name:
                continue
            p = wal_dir / name
            try:
                fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("cannot open %s: %s", p, exc)
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # its writer is alive
                try:
                    if os.stat(p).st_ino != os.fstat(fd).st_ino:
                        continue  # converted and removed by someone else meanwhile
                except FileNotFoundError:
                    continue
                total += self._recover_wal(p, fd)
                p.unlink()
            finally:
                os.close(fd)
        return total

    def _recover_wal(self, path: Path, fd: int) -> int:
        wal_id = path.name[: -len(".jsonl")]
        covered = {t: self._covered_line(t, wal_id) for t in TABLES}
        pending: dict[str, list] = {}
        rows = 0
        recovered = 0
        with os.fdopen(os.dup(fd), "rb") as f:
            for line_no, raw in enumerate(f, 1):
                if not raw.endswith(b"\n"):
                    log.warning("%s: ignoring a torn last line (%d bytes)", path, len(raw))
                    break
                try:
                    obj = json.loads(raw)
                    table, n, cols = obj["t"], int(obj["n"]), obj["c"]
                except (ValueError, KeyError, TypeError):
                    log.warning("%s:%d: skipping an unreadable line", path, line_no)
                    continue
                if table not in TABLES:
                    log.warning("%s:%d: skipping rows of unknown table %r", path, line_no, table)
                    continue
                if line_no <= covered.get(table, 0):
                    continue
                extra = set(cols) - TABLES[table].keys()
                if extra:
                    log.warning("%s:%d: ignoring unknown columns %s", path, line_no, sorted(extra))
                    cols = {c: v for c, v in cols.items() if c not in extra}
                pending.setdefault(table, []).append((line_no, cols, n))
                rows += n
                if rows >= RECOVER_CHUNK_ROWS:
                    recovered += self._write_recovered(wal_id, pending)
                    pending, rows = {}, 0
        recovered += self._write_recovered(wal_id, pending)
        if recovered:
            log.info("recovered %d rows from %s", recovered, path.name)
        return recovered

    def _write_recovered(self, wal_id: str, pending: dict[str, list]) -> int:
        n_rows = 0
        for table, items in pending.items():
            data = self._build_checked(table, items)
            if data is None:
                continue
            self._write_segment(table, data, self._seg_name(wal_id, items[-1][0]))
            n_rows += data.num_rows
        return n_rows

    def _build_checked(self, table: str, items: list[tuple[int, dict, int]]) -> pa.Table | None:
        """Arrow table of ``(wal line, columns, rows)`` items; lines that cannot be converted are
        logged and left out (they stay in the WAL file while it exists). None if nothing is left."""
        try:
            return self._build_table(table, [(c, n) for _, c, n in items])
        except (pa.ArrowException, ValueError, TypeError):
            good = []
            for item in items:
                try:
                    self._build_table(table, [(item[1], item[2])])
                    good.append(item)
                except (pa.ArrowException, ValueError, TypeError) as exc:
                    log.error("%s: WAL line %d: skipping %d rows that cannot be converted: %s",
                              table, item[0], item[2], exc)
            if not good:
                return None
            return self._build_table(table, [(c, n) for _, c, n in good])

    def _covered_line(self, table: str, wal_id: str) -> int:
        best = 0
        for p in self._segments(table):
            name = p.name
            if name.startswith("seg-c~"):
                best = max(best, int(self._covers(p).get(wal_id, 0)))
            else:
                w, _, line = name[4:-8].rpartition("-L")
                if w == wal_id and line.isdigit():
                    best = max(best, int(line))
        return best

    def _covers(self, p: Path) -> dict:
        c = self._covers_cache.get(p.name)
        if c is None:
            try:
                md = pq.read_metadata(p).metadata or {}
                c = json.loads(md.get(COVERS_KEY, b"{}"))
            except FileNotFoundError:
                return {}
            except Exception as exc:
                log.warning("cannot read the metadata of %s: %s", p, exc)
                return {}
            self._covers_cache[p.name] = c
        return c

    # --- segments -----------------------------------------------------------------------

    def _segments(self, table: str) -> list[Path]:
        """Data segments of a table (not the schema segment), oldest name first."""
        d = self.log_dir / table
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return []
        return [d / n for n in sorted(names)
                if n.startswith("seg-") and n.endswith(".parquet") and not n.startswith("seg-s~")]

    def _ensure_schema_segment(self, table: str) -> None:
        name = f"seg-s~{_schema_hash(table)}.parquet"
        if not (self.log_dir / table / name).exists():
            self._write_segment(table, _SCHEMAS[table].empty_table(), name)

    def _clean_tmp_files(self) -> None:
        cutoff = time.time() - 3600
        for d in [self.log_dir / "wal", *(self.log_dir / t for t in TABLES)]:
            try:
                for e in os.scandir(d):
                    if e.name.endswith((".tmp", ".opening")) and e.stat().st_mtime < cutoff:
                        os.unlink(e.path)
            except OSError:
                pass

    def _quarantine(self, p: Path, reason: str) -> None:
        dest = self.log_dir / "quarantine" / p.parent.name / p.name
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(p, dest)
            log.warning("skipping corrupt segment %s (%s); moved to %s", p, reason, dest)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("corrupt segment %s could not be moved away: %s", p, exc)

    def _check_segments(self, *, full: bool = False) -> int:
        """Quarantine segments that cannot be read. ``full`` reads every row, else only the footer."""
        bad = 0
        for table in TABLES:
            for p in self._segments(table) + [self.log_dir / table / f"seg-s~{_schema_hash(table)}.parquet"]:
                try:
                    st = p.stat()
                except FileNotFoundError:
                    continue
                key = (str(p), st.st_size, st.st_mtime_ns)
                if key in self._validated:
                    continue
                try:
                    if full:
                        pq.read_table(p)
                    else:
                        pq.read_metadata(p)
                except FileNotFoundError:
                    continue
                except Exception as exc:
                    self._quarantine(p, str(exc)[:200])
                    bad += 1
                    continue
                if full:
                    self._validated.add(key)
            self._ensure_schema_segment(table)
        return bad

    # --- compaction ---------------------------------------------------------------------

    def compact(self, table: str | None = None) -> dict:
        """Merge each table's segments into one. Returns ``{table: {segments_before, segments_after, rows}}``.

        The new file is renamed into place before the old ones are removed: for that instant
        (microseconds to a few ms) a reader that lists the files can count those rows twice.
        """
        if table is not None and table not in TABLES:
            raise StoreError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
        self.flush()
        out = {}
        for t in [table] if table else list(TABLES):
            out[t] = self._compact_table(t, None, blocking=True)
        return out

    def _compact_table(self, table: str, segs: list[Path] | None, *, blocking: bool) -> dict:
        lock_path = self.log_dir / table / ".compact.lock"
        try:
            lfd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise _os_error("open", lock_path, exc) from None
        try:
            try:
                fcntl.flock(lfd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                return {}
            current = set(self._segments(table))
            segs = [p for p in (segs if segs is not None else sorted(current)) if p in current]
            before = len(current)
            if len(segs) < 2:
                rows = sum(_rows(p) for p in current)
                return {"segments_before": before, "segments_after": before, "rows": rows}
            covers: dict[str, int] = {}
            for p in segs:
                if p.name.startswith("seg-c~"):
                    for w, line in self._covers(p).items():
                        covers[w] = max(covers.get(w, 0), int(line))
                else:
                    w, _, line = p.name[4:-8].rpartition("-L")
                    if line.isdigit():
                        covers[w] = max(covers.get(w, 0), int(line))
            wal_dir = self.log_dir / "wal"
            covers = {w: l for w, l in covers.items() if (wal_dir / f"{w}.jsonl").exists()}
            schema = _SCHEMAS[table].with_metadata({COVERS_KEY: json.dumps(covers).encode()})
            name = f"seg-c~{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
            final = self.log_dir / table / name
            tmp = _tmp_path(final)
            used, rows = [], 0
            try:
                with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                    buf, buf_rows = [], 0
                    for p in segs:
                        try:
                            t = pq.read_table(p)
                        except FileNotFoundError:
                            continue
                        except Exception as exc:
                            self._quarantine(p, str(exc)[:200])
                            continue
                        buf.append(_conform(t, schema))
                        used.append(p)
                        buf_rows += t.num_rows
                        if buf_rows >= 100_000:
                            writer.write_table(pa.concat_tables(buf))
                            rows += buf_rows
                            buf, buf_rows = [], 0
                    if buf:
                        writer.write_table(pa.concat_tables(buf))
                        rows += buf_rows
                if self._fsync:
                    _fsync_path(tmp)
                os.replace(tmp, final)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                raise _os_error("write the compacted segment", final, exc) from None
            self._covers_cache[name] = covers
            for p in used:  # the window: until these are gone a glob sees old and new rows
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
                self._covers_cache.pop(p.name, None)
            after = len(self._segments(table))
            return {"segments_before": before, "segments_after": after, "rows": rows}
        finally:
            os.close(lfd)

    # --- views --------------------------------------------------------------------------

    def _view_sql(self) -> list[str]:
        stmts = []
        for table, cols in TABLES.items():
            glob = str(self.log_dir / table / "seg-*.parquet")
            select = ", ".join(f"TRY_CAST({_ident(c)} AS JSON) AS {_ident(c)}" if ty == "JSON" else _ident(c)
                               for c, ty in cols.items())
            src = f"read_parquet({_sql_str(glob)}, union_by_name = true)"
            if table in LATEST_BY:
                hist = f"{table}_history"
                keys = ", ".join(_ident(k) for k in LATEST_BY[table])
                stmts.append(f"CREATE OR REPLACE VIEW {_ident(hist)} AS SELECT {select} FROM {src}")
                stmts.append(
                    f"CREATE OR REPLACE VIEW {_ident(table)} AS SELECT * FROM {_ident(hist)} "
                    f"QUALIFY row_number() OVER (PARTITION BY {keys} "
                    f"ORDER BY updated_at DESC NULLS LAST, seq DESC NULLS LAST) = 1")
            else:
                stmts.append(f"CREATE OR REPLACE VIEW {_ident(table)} AS SELECT {select} FROM {src}")
        return stmts

    def _views_version(self) -> str:
        blob = json.dumps([VIEWS_FORMAT, TABLES, LATEST_BY, str(self.log_dir)], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def _ensure_views_file(self) -> None:
        """Create or refresh the views-only .duckdb file; skip it while another process holds it."""
        want = self._views_version()
        if self.path.exists():
            try:
                con = duckdb.connect(str(self.path), read_only=True)
                try:
                    row = con.execute("SELECT value FROM _workbench_meta WHERE key = 'views_version'").fetchone()
                finally:
                    con.close()
                if row and row[0] == want:
                    self._views_ok = True
                    return
            except duckdb.IOException as exc:
                if _is_lock_error(exc):
                    log.info("%s is open in another process; views not refreshed now", self.path)
                    return
                self._set_aside(exc)
            except duckdb.Error:
                pass  # no meta table yet, or an older layout: rebuild below
        try:
            con = duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            if _is_lock_error(exc):
                log.info("%s is open in another process; views not refreshed now", self.path)
                return
            self._set_aside(exc)
            try:
                con = duckdb.connect(str(self.path))
            except duckdb.Error as exc2:
                log.warning("cannot create %s: %s", self.path, exc2)
                return
        except duckdb.Error as exc:
            log.warning("cannot open %s to create the views: %s", self.path, exc)
            return
        try:
            con.execute("BEGIN")
            con.execute("CREATE TABLE IF NOT EXISTS _workbench_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
            for stmt in self._view_sql():
                con.execute(stmt)
            con.execute("INSERT OR REPLACE INTO _workbench_meta VALUES ('views_version', ?), ('log_dir', ?)",
                        [want, str(self.log_dir)])
            con.execute("COMMIT")
            self._views_ok = True
        except duckdb.Error as exc:
            log.warning("cannot create the views in %s: %s", self.path, exc)
        finally:
            con.close()

    def _set_aside(self, exc: Exception) -> None:
        """The .duckdb file holds only views: an unreadable one is moved aside and rebuilt."""
        aside = self.path.with_name(f"{self.path.name}.unreadable-{int(time.time())}")
        try:
            os.replace(self.path, aside)
            log.warning("%s could not be opened (%s); moved it to %s and recreated the views", self.path, exc, aside)
        except OSError:
            pass

    # --- reading ------------------------------------------------------------------------

    def _create_memory_views(self) -> None:
        for attempt in range(3):
            try:
                for stmt in self._view_sql():
                    self._mem.execute(stmt)
                return
            except duckdb.Error as exc:
                if attempt == 2 or not self._recover_read_error(exc):
                    self._mem.close()
                    raise StoreError(f"cannot read the records under {self.log_dir}: {exc}") from exc

    def _cursor(self):
        with self._lock:
            if self._cursors:
                return self._cursors.pop()
            if self._mem is None:
                raise StoreError(f"the store {self.path} is closed")
            cur = self._mem.cursor()
            self._all_cursors.append(cur)
            return cur

    def _release(self, cur) -> None:
        with self._lock:
            if self._mem is not None:
                self._cursors.append(cur)

    def _execute(self, sql: str, params, fetch):
        try:  # read-your-writes: flush the tables the query names (all of them if it names none); this
            # also waits for a flush in progress, whose rows are in neither _pending nor a segment yet
            low = sql.lower()
            named = {t for t in TABLES if t in low and re.search(rf"\b{t}(_history)?\b", low)}
            self._flush(named or None)
        except StoreError as exc:  # still answer from what is on disk
            log.warning("query without this process's latest rows: %s", exc)
        attempts = 5
        for attempt in range(attempts):
            cur = self._cursor()
            try:
                res = cur.execute(sql, params) if params is not None else cur.execute(sql)
                return fetch(res)
            except duckdb.Error as exc:
                if attempt < attempts - 1 and self._recover_read_error(exc):
                    continue
                raise StoreError(f"query failed: {exc}") from exc
            finally:
                self._release(cur)

    def query(self, sql: str, params: list | dict | None = None) -> list[dict]:
        """Run SQL over the views; sees every row this process appended (JSON columns come back as text)."""
        def fetch(res):
            if res.description is None:
                return []
            cols = [d[0] for d in res.description]
            return [dict(zip(cols, r)) for r in res.fetchall()]
        return self._execute(sql, params, fetch)

    def query_df(self, sql: str, params=None):
        """Like :meth:`query`, as a pandas DataFrame."""
        return self._execute(sql, params, lambda res: res.df())

    def _recover_read_error(self, exc: duckdb.Error) -> bool:
        """A read failed: if a segment vanished (compaction) or is corrupt, fix that and say retry."""
        if isinstance(exc, _USER_SQL_ERRORS):
            return False
        msg = str(exc)
        low = msg.lower()
        root = str(self.log_dir)
        paths = [m for m in re.findall(r"""['"]([^'"]+\.parquet)['"]""", msg) if m.startswith(root)]
        if paths:
            for s in paths:
                p = Path(s)
                if p.exists():
                    try:
                        pq.read_table(p)
                    except Exception as e2:
                        self._quarantine(p, str(e2)[:200])
            time.sleep(0.01)
            return True
        if not any(h in low for h in _DATA_HINTS) and type(exc) is not duckdb.Error:
            return False
        if self._check_segments(full=True):
            return True
        if "no such file" in low or "could not open" in low or "not found" in low:
            time.sleep(0.01)
            return True
        return False

    # --- closing ------------------------------------------------------------------------

    def close(self) -> None:
        """Flush, stop the flusher and remove this process's WAL (kept if the flush fails)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self._pid != os.getpid():
            return  # a forked child must not touch the parent's WAL
        self._stop.set()
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        flushed = False
        for attempt in (1, 2):  # a second try: some failures happen once only (an import refused at exit)
            try:
                self.flush()
                flushed = True
                break
            except StoreError as exc:
                if attempt == 2:
                    log.error("could not flush on close; rows stay in %s for the next process: %s",
                              self._wal_path, exc)
        with self._lock:
            if flushed and self._wal_converted():
                try:
                    self._wal_path.unlink()
                except OSError:
                    pass
            elif flushed:
                log.error("%d of %d lines of %s are not in a segment; kept for the next process",
                          self._line - self._lines_done, self._line, self._wal_path)
            if self._wal_fd is not None:
                os.close(self._wal_fd)
                self._wal_fd = None
            mem, self._mem = self._mem, None
            cursors, self._all_cursors, self._cursors = self._all_cursors, [], []
        for c in cursors:
            try:
                c.close()
            except duckdb.Error:
                pass
        if mem is not None:
            mem.close()
        with _registry_lock:
            if _registry.get(self.path) is self:
                del _registry[self.path]
        _live_stores.discard(self)

    # --- small helpers for other modules -----------------------------------------------

    @contextlib.contextmanager
    def exclusive(self, name: str, timeout_s: float = 30.0) -> Iterator[None]:
        """Hold the lock ``name``, shared by every process and thread using this store (for
        read-then-write steps such as numbering versions).

        On entry, rows of writers that died are converted; on exit, this process's rows are flushed.
        So the holder sees every row appended under the lock before, and the next holder sees its
        rows. A dead holder's lock is free at once. Raises ``StoreError`` after ``timeout_s``."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name):
            raise StoreError(f"lock name {name!r}: use letters, digits, '.', '_' or '-'")
        path = self.log_dir / "locks" / f"{name}.lock"
        try:
            path.parent.mkdir(exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise _os_error("open the lock file", path, exc) from None
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreError(f"another process has held {path} for more than {timeout_s:g} s; "
                                         "try again") from None
                    time.sleep(0.005)
            try:
                self._recover_dead_wals()
            except StoreError as exc:
                log.warning("could not convert a dead writer's log: %s", exc)
            try:
                yield
            except BaseException:
                with contextlib.suppress(StoreError):
                    self.flush()
                raise
            self.flush()
        finally:
            os.close(fd)  # releases the lock


    def counts(self) -> dict[str, int]:
        """Row count of every public view."""
        q = " UNION ALL ".join(f"SELECT {_sql_str(t)} AS t, count(*) AS n FROM {_ident(t)}" for t in TABLES)
        return {r["t"]: r["n"] for r in self.query(q)}


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


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _rows(p: Path) -> int:
    try:
        return pq.read_metadata(p).num_rows
    except Exception:
        return 0


def _conform(t: pa.Table, schema: pa.Schema) -> pa.Table:
    """Give an older segment the current columns (new columns as NULL)."""
    if t.schema.remove_metadata().equals(schema.remove_metadata()):
        return t.replace_schema_metadata(None)
    cols = []
    for f in schema:
        if f.name in t.column_names:
            cols.append(t.column(f.name).cast(f.type))
        else:
            cols.append(pa.nulls(t.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema.remove_metadata())


def _is_lock_error(exc: Exception) -> bool:
    m = str(exc).lower()
    return "lock" in m or "resource temporarily unavailable" in m

