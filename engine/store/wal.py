"""The write-ahead log: one JSON-lines file per live writer (flock-held), and the conversion of the
logs of writers that died."""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import threading
import uuid
from pathlib import Path

from engine.schema import TABLES
from engine.store.common import StoreError, _close_lock_fd, _open_lock_fd, _os_error, log
from engine.store.segments import _Segments

RECOVER_CHUNK_ROWS = 50_000


_os_write = os.write  # indirection so tests can simulate a full disk


class _Wal(_Segments):
    """This process's WAL and the recovery of dead writers' WALs (a part of :class:`engine.store.Store`)."""

    _lock: threading.Lock
    _pending: list[tuple[int, str, dict, int]]
    _line: int
    _lines_done: int
    _wal_id: str
    _wal_path: Path
    _wal_fd: int | None
    _wal_size: int

    def _open_wal(self) -> None:
        host = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
        wal_id = f"{host}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        wal_dir = self.log_dir / "wal"
        tmp = wal_dir / f".{wal_id}.opening"
        final = wal_dir / f"{wal_id}.jsonl"
        try:
            fd = _open_lock_fd(tmp, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until close or death
            os.replace(tmp, final)  # only now visible as a WAL (already locked: never taken for dead)
        except OSError as exc:
            raise _os_error("create the write-ahead log", tmp, exc) from None
        self._wal_id, self._wal_path, self._wal_fd, self._wal_size = wal_id, final, fd, 0
        self._line = 0
        self._lines_done = 0  # lines of this WAL whose rows are in segments

    def _write_wal(self, data: bytes) -> None:
        fd = self._wal_fd
        if fd is None:
            raise StoreError(f"the write-ahead log {self._wal_path} is closed")
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

    def _wal_converted(self) -> bool:
        """Every line of this process's current WAL is in a segment (or cannot be converted at all).
        Call with ``_lock`` held."""
        return not self._pending and self._lines_done == self._line

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
        if old_fd is not None:
            _close_lock_fd(old_fd)

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
                fd = _open_lock_fd(p, os.O_RDONLY)
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
                _close_lock_fd(fd)
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
