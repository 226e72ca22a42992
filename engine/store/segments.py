"""Parquet segments: building, writing (temporary name, then rename), listing, WAL coverage,
quarantine of unreadable files and compaction."""

from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from engine.schema import TABLES
from engine.store.common import (
    _SCHEMAS,
    _close_lock_fd,
    _fsync_path,
    _open_lock_fd,
    _os_error,
    _schema_hash,
    _tmp_path,
    log,
)

COVERS_KEY = b"workbench.covers"


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


class _Segments:
    """The segment files of one store (a part of :class:`engine.store.Store`)."""

    log_dir: Path
    _fsync: bool
    _covers_cache: dict[str, dict]
    _validated: set[tuple[str, int, int]]

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
                    log.error(
                        "%s: WAL line %d: skipping %d rows that cannot be converted: %s", table, item[0], item[2], exc
                    )
            if not good:
                return None
            return self._build_table(table, [(c, n) for _, c, n in good])

    def _write_segment(
        self, table: str, data: pa.Table, name: str, *, metadata: dict | None = None, compression: str = "snappy"
    ) -> Path:
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

    def _segments(self, table: str) -> list[Path]:
        """Data segments of a table (not the schema segment), oldest name first."""
        d = self.log_dir / table
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return []
        return [
            d / n
            for n in sorted(names)
            if n.startswith("seg-") and n.endswith(".parquet") and not n.startswith("seg-s~")
        ]

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

    def _compact_table(self, table: str, segs: list[Path] | None, *, blocking: bool) -> dict:
        lock_path = self.log_dir / table / ".compact.lock"
        try:
            lfd = _open_lock_fd(lock_path, os.O_RDWR | os.O_CREAT)
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
            _close_lock_fd(lfd)
