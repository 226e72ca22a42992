"""Record storage: an append-only log of JSON lines turned into Parquet segments, read through views.

This package is the only code that writes records. See README ("Storage") and docs/design.md.
:class:`Store` is the facade; its parts are modules: ``rows`` (validation and normalisation of
values), ``wal`` (this process's write-ahead log and recovery of dead writers' logs), ``segments``
(Parquet files, coverage, compaction), ``views`` (the views file and the in-memory views) and
``common`` (errors, paths, schemas). ``tests/store/test_conformance.py`` is the behaviour any other
backend must have.

Layout for ``data/workbench.duckdb``::

    data/workbench.duckdb                 views only (notebooks open it with read_only=True)
    data/workbench_log/wal/<writer>.jsonl one write-ahead log per live writer (flock-held)
    data/workbench_log/<table>/seg-*.parquet

* ``append``/``append_many`` validate and normalise the rows, then write **one JSON line per call**
  to this process's WAL (``{"t": table, "n": rows, "c": {column: [values]}}``). When they return,
  the line is in the OS page cache: a ``kill -9`` of the process loses nothing (``WORKBENCH_FSYNC=1``
  adds an fsync per call, for power loss).
* A daemon thread turns pending lines into one Parquet segment per table every ``flush_interval_s``
  (sooner once 5,000 rows are pending). While rows keep arriving (one in the last 50 ms) it waits
  for a quiet moment, up to 1 s after the oldest pending row: a stream of small appends becomes one
  segment per table a second instead of four (each flush has a fixed cost per file); other
  processes then see rows up to 1 s late. Segments are written to ``*.tmp`` and renamed, so readers
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
import fcntl
import os
import re
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import duckdb

from engine.records import store_time, utc_now
from engine.schema import LATEST_BY, TABLES
from engine.store.common import (
    RawJSON,
    StoreError,
    _close_lock_fd,
    _ident,
    _open_lock_fd,
    _os_error,
    _resolve,
    _sql_str,
    default_db_path,
    log,
)
from engine.store.rows import _line_encode, _normalise_column, _normalise_row, encode_json
from engine.store.segments import _size
from engine.store.views import _Views
from engine.store.wal import _Wal

__all__ = ["RawJSON", "Store", "StoreError", "default_db_path", "encode_json", "get_store"]

FLUSH_ROWS = 5_000  # wake the flusher once this many rows are pending
FLUSH_STREAMING_S = 0.05  # rows appended this recently: more are coming, the flush may wait ...
FLUSH_MAX_DELAY_S = 1.0  # ... but never longer than this after the oldest pending row


RECOVER_EVERY_S = 2.0  # look for dead writers' WALs this often


AUTO_COMPACT_EVERY_S = 5.0


AUTO_COMPACT_SEGMENTS = 48  # a table with more segments than this gets its small ones merged


AUTO_COMPACT_SMALL_BYTES = 8 << 20


WAL_ROTATE_BYTES = 64 << 20  # start a new WAL once the current one is this big and fully converted


_live_stores: weakref.WeakSet[Store] = weakref.WeakSet()


_registry: dict[Path, Store] = {}


_registry_lock = threading.Lock()


def get_store(db_path=None) -> Store:
    """The process-wide Store for ``db_path`` (default :func:`default_db_path`); thread-safe."""
    path = _resolve(db_path)
    with _registry_lock:
        s = _registry.get(path)
        if s is None or s._closed or s._pid != os.getpid():
            s = Store(path)
            _registry[path] = s
        return s


def _register(store: Store) -> None:
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


class Store(_Wal, _Views):
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
        self._pending_since = 0.0  # monotonic time of the oldest pending row's append
        self._appended_at = 0.0  # ... and of the newest
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
        self._held = threading.local()  # names of the exclusive() locks this thread holds

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
            if self._wal_fd is not None:
                _close_lock_fd(self._wal_fd)
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
            raise StoreError(
                "this Store was opened in a parent process; call engine.store.get_store() in this process instead"
            )
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
            self._appended_at = now = time.monotonic()
            if not self._pending:
                self._pending_since = now
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
        fast = _normalise_row(spec, rows[0]) if one else None
        if fast is not None:
            return self._fill_latest(table, fast, 1), 1
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
        return {c: vals for c, vals in cols.items() if any(v is not None for v in vals)}, n  # all-NULL: dropped

    def _fill_latest(self, table: str, cols: dict[str, list], n: int) -> dict[str, list]:
        """Tables with "newest row wins" views need ``seq`` and ``updated_at`` on every row."""
        if table in LATEST_BY:
            seqs = cols.get("seq")
            if seqs is None or None in seqs:
                fresh = self._next_seqs(n)
                cols["seq"] = fresh if seqs is None else [s if s is not None else f for s, f in zip(seqs, fresh)]
            ups = cols.get("updated_at")
            if ups is None or None in ups:
                now = store_time(utc_now()).isoformat()
                cols["updated_at"] = [now] * n if ups is None else [u if u is not None else now for u in ups]
        return cols

    def _next_seqs(self, n: int) -> list[int]:
        """Process-monotonic sequence numbers (microseconds since the epoch, strictly increasing)."""
        with self._lock:
            start = max(self._seq + 1, time.time_ns() // 1000)
            self._seq = start + n - 1
        return list(range(start, start + n))

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
                error = (
                    exc
                    if isinstance(exc, StoreError)
                    else StoreError(
                        f"cannot write a segment of {table} under {self.log_dir}: {type(exc).__name__}: {exc}"
                    )
                )
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

    def _run(self) -> None:
        last_recover = last_compact = time.monotonic()
        last_error = 0.0
        while not self._stop.is_set():
            woken = self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            if not woken and self._still_streaming():
                continue
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
                if not threading.main_thread().is_alive():  # the interpreter is exiting: close() retries
                    log.debug("record flush failed during interpreter exit (close() retries): %s", exc)
                    continue
                now = time.monotonic()
                if now - last_error > 30:  # don't flood the log while the disk stays full
                    log.error("record flush failed (rows are safe in %s, retrying): %s", self._wal_path, exc)
                    last_error = now

    def _still_streaming(self) -> bool:
        """Rows are arriving right now and the oldest pending one is young: the flush can wait for
        more (fewer, larger segments; each flush has a fixed cost of a file per table)."""
        now = time.monotonic()
        with self._lock:
            if not self._pending:
                return False
            return now - self._appended_at < FLUSH_STREAMING_S and now - self._pending_since < FLUSH_MAX_DELAY_S

    def _auto_compact(self) -> None:
        for table in TABLES:
            if self._stop.is_set():
                return
            segs = self._segments(table)
            small = [p for p in segs if _size(p) < AUTO_COMPACT_SMALL_BYTES]
            if len(small) > AUTO_COMPACT_SEGMENTS:
                self._compact_table(table, small, blocking=False)

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
                    log.error("could not flush on close; rows stay in %s for the next process: %s", self._wal_path, exc)
        with self._lock:
            if flushed and self._wal_converted():
                try:
                    self._wal_path.unlink()
                except OSError:
                    pass
            elif flushed:
                log.error(
                    "%d of %d lines of %s are not in a segment; kept for the next process",
                    self._line - self._lines_done,
                    self._line,
                    self._wal_path,
                )
            if self._wal_fd is not None:
                _close_lock_fd(self._wal_fd)
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

    @contextlib.contextmanager
    def exclusive(self, name: str, timeout_s: float = 30.0) -> Iterator[None]:
        """Hold the lock ``name``, shared by every process and thread using this store (for
        read-then-write steps such as numbering versions).

        On entry, rows of writers that died are converted; on exit, this process's rows are flushed.
        So the holder sees every row appended under the lock before, and the next holder sees its
        rows. A dead holder's lock is free at once. Raises ``StoreError`` after ``timeout_s``.
        Re-entrant: a thread that holds the lock can enter it again (the outermost exit flushes)."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name):
            raise StoreError(f"lock name {name!r}: use letters, digits, '.', '_' or '-'")
        held: set[str] = self._held.__dict__.setdefault("names", set())
        if name in held:
            yield
            return
        path = self.log_dir / "locks" / f"{name}.lock"
        try:
            path.parent.mkdir(exist_ok=True)
            fd = _open_lock_fd(path, os.O_RDWR | os.O_CREAT)
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
                        raise StoreError(
                            f"another process has held {path} for more than {timeout_s:g} s; try again"
                        ) from None
                    time.sleep(0.005)
            try:
                self._recover_dead_wals()
            except StoreError as exc:
                log.warning("could not convert a dead writer's log: %s", exc)
            held.add(name)
            try:
                yield
            except BaseException:
                with contextlib.suppress(StoreError):
                    self.flush()
                raise
            self.flush()
        finally:
            held.discard(name)
            _close_lock_fd(fd)  # releases the lock

    def counts(self) -> dict[str, int]:
        """Row count of every public view."""
        q = " UNION ALL ".join(f"SELECT {_sql_str(t)} AS t, count(*) AS n FROM {_ident(t)}" for t in TABLES)
        return {r["t"]: r["n"] for r in self.query(q)}
