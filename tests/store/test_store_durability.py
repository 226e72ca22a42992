"""Crash recovery, torn and corrupt files, full disks, compaction, WAL rotation (in-process)."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

import engine.store as store_mod
import engine.store.segments as segments_mod
import engine.store.wal as wal_mod
from engine.store import Store, StoreError

ROOT = Path(__file__).resolve().parents[2]


def crash(s: Store) -> Path:
    """Make ``s`` behave like a process killed with SIGKILL: no flush, flock released, WAL left."""
    s._stop.set()
    s._wake.set()
    s._thread.join()
    s._closed = True
    os.close(s._wal_fd)
    s._wal_fd = None
    return s._wal_path


def rows(prefix, n, start=0):
    return [{"id": f"{prefix}{i}", "message": f"m{i}", "metadata": {"i": i}} for i in range(start, start + n)]


def ids(s: Store, table: str = "audit_logs") -> list[str]:
    return sorted(r["id"] for r in s.query(f"SELECT id FROM {table}"))


def test_dead_wal_is_converted_and_torn_last_line_ignored(tmp_path, caplog):
    db = tmp_path / "w.duckdb"
    s = Store(db, flush_interval_s=3600)
    s.append_many("audit_logs", rows("a", 3))
    s.append("audit_logs", rows("b", 1)[0])
    wal = crash(s)
    with open(wal, "ab") as f:  # half a line, as if the machine died mid-write
        f.write(b'{"t":"audit_logs","n":1,"c":{"id":["torn"]')
    with caplog.at_level(logging.WARNING, logger="workbench.store"):
        s2 = Store(db)
    try:
        assert ids(s2) == ["a0", "a1", "a2", "b0"]
        assert not wal.exists()
        assert "torn last line" in caplog.text
    finally:
        s2.close()


def test_corrupt_middle_line_is_skipped_later_lines_kept(tmp_path, caplog):
    db = tmp_path / "w.duckdb"
    s = Store(db, flush_interval_s=3600)
    s.append("audit_logs", {"id": "first"})
    wal = crash(s)
    with open(wal, "ab") as f:
        f.write(b"this is not json\n")
        f.write(json.dumps({"t": "audit_logs", "n": 1, "c": {"id": ["third"]}}).encode() + b"\n")
        f.write(json.dumps({"t": "no_such_table", "n": 1, "c": {"id": ["x"]}}).encode() + b"\n")
    with caplog.at_level(logging.WARNING, logger="workbench.store"):
        s2 = Store(db)
    try:
        assert ids(s2) == ["first", "third"]
        assert "unreadable line" in caplog.text and "unknown table" in caplog.text
    finally:
        s2.close()


def test_recovery_converts_only_lines_no_segment_covers(tmp_path):
    db = tmp_path / "w.duckdb"
    s = Store(db, flush_interval_s=3600)
    s.append_many("audit_logs", rows("a", 5))
    s.append_many("llm_calls", [{"id": "c1"}])
    s.flush()  # lines 1-2 now in segments
    s.append_many("audit_logs", rows("b", 5))  # line 3: WAL only
    s.append_many("llm_calls", [{"id": "c2"}])
    crash(s)
    s2 = Store(db)
    try:
        assert ids(s2) == sorted([f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)])
        assert ids(s2, "llm_calls") == ["c1", "c2"]
    finally:
        s2.close()


def test_recovery_after_compaction_of_a_live_wal_has_no_duplicates(tmp_path):
    db = tmp_path / "w.duckdb"
    s = Store(db, flush_interval_s=3600)
    for k in range(4):
        s.append_many("audit_logs", rows(f"r{k}-", 10))
        s.flush()
    res = s.compact("audit_logs")["audit_logs"]
    assert res == {"segments_before": 4, "segments_after": 1, "rows": 40}
    merged = next((s.log_dir / "audit_logs").glob("seg-c~*.parquet"))
    covers = json.loads(pq.read_metadata(merged).metadata[b"workbench.covers"])
    assert covers == {s._wal_id: 4}
    s.append_many("audit_logs", rows("late", 3))  # line 5, never flushed
    crash(s)
    s2 = Store(db)
    try:
        got = ids(s2)
        assert len(got) == len(set(got)) == 43
    finally:
        s2.close()


def test_compact_keeps_counts_and_latest_views(store):
    for k in range(6):
        store.append_many("workflow_executions", [{"execution_id": f"e{i}", "status": f"s{k}"} for i in range(20)])
        store.append_many("audit_logs", rows(f"x{k}-", 7))
        store.flush()
    before = store.counts()
    latest = store.query("SELECT execution_id, status FROM workflow_executions ORDER BY 1")
    res = store.compact()
    assert res["audit_logs"] == {"segments_before": 6, "segments_after": 1, "rows": 42}
    assert res["workflow_executions"]["rows"] == 120
    assert res["llm_calls"] == {"segments_before": 0, "segments_after": 0, "rows": 0}
    assert store.counts() == before
    assert store.query("SELECT execution_id, status FROM workflow_executions ORDER BY 1") == latest
    assert {r["status"] for r in latest} == {"s5"}
    store.append("audit_logs", {"id": "after"})
    assert store.compact("audit_logs")["audit_logs"] == {"segments_before": 2, "segments_after": 1, "rows": 43}
    with pytest.raises(StoreError, match="unknown table"):
        store.compact("nope")


def test_auto_compaction_in_background(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "AUTO_COMPACT_SEGMENTS", 5)
    monkeypatch.setattr(store_mod, "AUTO_COMPACT_EVERY_S", 0.05)
    s = Store(tmp_path / "w.duckdb", flush_interval_s=0.02)
    try:
        for k in range(12):
            s.append_many("audit_logs", rows(f"k{k}-", 3))
            s.flush()
        deadline = time.monotonic() + 10
        while len(s._segments("audit_logs")) > 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(s._segments("audit_logs")) <= 5
        assert s.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM audit_logs") == [{"n": 36, "d": 36}]
    finally:
        s.close()


def test_disk_full_on_append_raises_and_leaves_a_clean_wal(store, monkeypatch):
    store.append("audit_logs", {"id": "before"})
    real = wal_mod._os_write

    def half_then_enospc(fd, data):
        if len(data) > 20:
            return real(fd, bytes(data[: len(data) // 2]))  # a partial write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(wal_mod, "_os_write", half_then_enospc)
    with pytest.raises(StoreError, match=r"cannot append to .*\.jsonl: No space left on device \(the disk is full"):
        store.append("audit_logs", {"id": "lost", "message": "x" * 100})
    monkeypatch.setattr(wal_mod, "_os_write", real)
    store.append("audit_logs", {"id": "after"})
    wal_lines = store._wal_path.read_bytes().splitlines()
    assert len(wal_lines) == 2 and all(json.loads(line) for line in wal_lines)
    assert ids(store) == ["after", "before"]


def test_disk_full_on_flush_keeps_rows_and_retries(store, monkeypatch, caplog):
    real = segments_mod.pq.write_table

    def enospc(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    store.append_many("audit_logs", rows("a", 3))
    store.append_many("llm_calls", [{"id": "c"}])
    monkeypatch.setattr(segments_mod.pq, "write_table", enospc)
    with pytest.raises(StoreError, match=r"cannot write the segment .*audit_logs.*disk is full"):
        store.flush()
    with caplog.at_level(logging.WARNING, logger="workbench.store"):
        assert store.query("SELECT count(*) AS n FROM audit_logs")[0]["n"] == 0  # reads still work
    assert "without this process's latest rows" in caplog.text
    monkeypatch.setattr(segments_mod.pq, "write_table", real)
    store.flush()
    assert ids(store) == ["a0", "a1", "a2"] and ids(store, "llm_calls") == ["c"]
    assert not list((store.log_dir / "audit_logs").glob("*.tmp"))


def test_unwritable_location_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(StoreError, match=r"cannot create the record directory .*afile"):
        Store(tmp_path / "afile" / "w.duckdb")


def test_corrupt_segments_are_skipped_with_a_warning(store, caplog):
    store.append_many("audit_logs", rows("ok", 4))
    store.flush()
    seg = store._segments("audit_logs")[0]
    table_dir = store.log_dir / "audit_logs"
    (table_dir / "seg-garbage-L0000000001.parquet").write_bytes(b"not parquet at all" * 10)
    data = seg.read_bytes()
    (table_dir / "seg-truncated-L0000000001.parquet").write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="workbench.store"):
        assert ids(store) == [f"ok{i}" for i in range(4)]
    assert "skipping corrupt segment" in caplog.text
    assert sorted(p.name for p in (store.log_dir / "quarantine" / "audit_logs").iterdir()) == [
        "seg-garbage-L0000000001.parquet",
        "seg-truncated-L0000000001.parquet",
    ]
    # a notebook works again too
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM audit_logs").fetchone()[0] == 4
    finally:
        con.close()


def test_corrupt_segment_found_by_compaction_and_on_open(tmp_path, caplog):
    db = tmp_path / "w.duckdb"
    s = Store(db)
    s.append_many("audit_logs", rows("a", 2))
    s.flush()
    s.append_many("audit_logs", rows("b", 2))
    s.flush()
    (s.log_dir / "audit_logs" / "seg-bad-L0000000001.parquet").write_bytes(b"junk")
    with caplog.at_level(logging.WARNING, logger="workbench.store"):
        res = s.compact("audit_logs")["audit_logs"]
    assert res["rows"] == 4 and res["segments_after"] == 1
    s.close()
    (s.log_dir / "audit_logs" / "seg-bad2-L0000000001.parquet").write_bytes(b"junk")
    s2 = Store(db)
    try:
        assert ids(s2) == ["a0", "a1", "b0", "b1"]
    finally:
        s2.close()


def test_views_file_locked_by_a_reader_is_skipped_then_refreshed(tmp_path, monkeypatch):
    db = tmp_path / "workbench.duckdb"
    Store(db).close()
    con = duckdb.connect(str(db))
    con.execute("UPDATE _workbench_meta SET value = 'outdated' WHERE key = 'views_version'")
    con.close()
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-m", "tests.store.proc", "read_until", str(db), str(stop)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "open"
        monkeypatch.setattr(store_mod, "RECOVER_EVERY_S", 0.05)
        s = Store(db, flush_interval_s=0.05)  # cannot rebuild the views now: must not fail
        assert s._views_ok is False
        s.append("state_transitions", {"id": "x"})
        assert s.query("SELECT count(*) AS n FROM state_transitions")[0]["n"] == 1
        stop.touch()
        out, err = reader.communicate(timeout=30)
        assert reader.returncode == 0, err
        assert json.loads(out)["counts"][-1] == 1  # the reader saw the row through the old views
        deadline = time.monotonic() + 10
        while not s._views_ok and time.monotonic() < deadline:
            time.sleep(0.05)
        assert s._views_ok, "rebuilt once the reader let go"
        s.close()
    finally:
        reader.kill()
        reader.wait()
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT value FROM _workbench_meta WHERE key = 'views_version'").fetchone()[0] != "outdated"
    con.close()


def test_unreadable_views_file_is_rebuilt(tmp_path):
    db = tmp_path / "workbench.duckdb"
    db.write_bytes(b"this is not a duckdb file" * 100)
    s = Store(db)
    try:
        s.append("audit_logs", {"id": "x"})
        s.flush()
    finally:
        s.close()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT id FROM audit_logs").fetchall() == [("x",)]
    finally:
        con.close()
    assert list(tmp_path.glob("workbench.duckdb.unreadable-*"))


def test_wal_rotation(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "WAL_ROTATE_BYTES", 500)
    db = tmp_path / "w.duckdb"
    s = Store(db, flush_interval_s=3600)
    first = s._wal_path
    s.append_many("audit_logs", rows("a", 40))
    s.flush()
    assert not first.exists() and s._wal_path != first and s._wal_path.exists()
    s.append_many("audit_logs", rows("b", 2))
    crash(s)
    s2 = Store(db)
    try:
        assert len(ids(s2)) == 42
    finally:
        s2.close()


def test_fsync_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_FSYNC", "1")
    s = Store(tmp_path / "w.duckdb")
    try:
        assert s._fsync
        s.append_many("audit_logs", rows("a", 3))
        assert len(ids(s)) == 3
    finally:
        s.close()
