"""Views over the segments: the views-only ``.duckdb`` file for notebooks, the in-memory views this
process queries, and recovery from read errors (a segment removed by compaction or damaged)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from engine.schema import LATEST_BY, TABLES
from engine.store.common import StoreError, _ident, _is_lock_error, _sql_str, log
from engine.store.segments import _Segments

VIEWS_FORMAT = 1  # bump when the view SQL changes; the .duckdb file is then rebuilt


_USER_SQL_ERRORS = (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException)


_DATA_HINTS = (
    "parquet",
    "magic",
    "variable-length",
    "corrupt",
    "thrift",
    "decompress",
    "snappy",
    "zstd",
    "no such file",
    "io error",
    "not found",
    "could not open",
)


class _Views(_Segments):
    """Views and DuckDB cursors of one store (a part of :class:`engine.store.Store`)."""

    path: Path
    _views_ok: bool
    _mem: Any
    _lock: threading.Lock
    _cursors: list
    _all_cursors: list

    def _view_sql(self) -> list[str]:
        stmts = []
        for table, cols in TABLES.items():
            glob = str(self.log_dir / table / "seg-*.parquet")
            select = ", ".join(
                f"TRY_CAST({_ident(c)} AS JSON) AS {_ident(c)}" if ty == "JSON" else _ident(c) for c, ty in cols.items()
            )
            src = f"read_parquet({_sql_str(glob)}, union_by_name = true)"
            if table in LATEST_BY:
                hist = f"{table}_history"
                keys = ", ".join(_ident(k) for k in LATEST_BY[table])
                stmts.append(f"CREATE OR REPLACE VIEW {_ident(hist)} AS SELECT {select} FROM {src}")
                stmts.append(
                    f"CREATE OR REPLACE VIEW {_ident(table)} AS SELECT * FROM {_ident(hist)} "
                    f"QUALIFY row_number() OVER (PARTITION BY {keys} "
                    f"ORDER BY updated_at DESC NULLS LAST, seq DESC NULLS LAST) = 1"
                )
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
            con.execute(
                "INSERT OR REPLACE INTO _workbench_meta VALUES ('views_version', ?), ('log_dir', ?)",
                [want, str(self.log_dir)],
            )
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
