"""Real separate processes: a reader holding the DuckDB file, concurrent writers, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb

from engine.store import Store

ROOT = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.proc", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(p: subprocess.Popen, timeout: float = 60) -> str:
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err[-3000:]
    return out


def count(db: Path, where: str = "") -> tuple[int, int]:
    s = Store(db)
    try:
        r = s.query(f"SELECT count(*) AS n, count(DISTINCT id) AS d FROM state_transitions {where}")[0]
        return r["n"], r["d"]
    finally:
        s.close()


def test_reader_process_while_writer_process_appends(tmp_path):
    db = tmp_path / "workbench.duckdb"
    Store(db).close()  # creates the views file
    stop = tmp_path / "stop"
    reader = spawn("read_until", str(db), str(stop))
    assert reader.stdout.readline().strip() == "open"  # the reader holds the file from now on
    writer = spawn("write_for", str(db), "w", "2.5")
    written = json.loads(finish(writer))["written"]
    stop.touch()
    counts = json.loads(finish(reader))["counts"]
    assert written > 0
    assert counts == sorted(counts), "a reader never sees rows disappear"
    assert counts[0] < counts[-1] == written, (counts[0], counts[-1], written)
    assert len(set(counts)) >= 3, "the reader saw the count grow while the writer ran"
    # and this process can also write while a notebook-style reader holds the file open
    con = duckdb.connect(str(db), read_only=True)
    try:
        s = Store(db)
        s.append("audit_logs", {"id": "while-reader"})
        s.flush()
        assert con.execute("SELECT count(*) FROM audit_logs").fetchone()[0] == 1
        s.close()
    finally:
        con.close()


def test_two_writer_processes_lose_nothing(tmp_path):
    db = tmp_path / "workbench.duckdb"
    Store(db).close()
    a = spawn("write", str(db), "a", "20000", "500", "0.05")
    b = spawn("write", str(db), "b", "3000", "1", "0.05")  # one row per append
    finish(a)
    finish(b)
    assert count(db) == (23000, 23000)
    assert count(db, "WHERE execution_id = 'b'") == (3000, 3000)
    assert not list((tmp_path / "workbench_log" / "wal").glob("*.jsonl")), "closed writers remove their WAL"


def _kill_after(db: Path, prefix: str, total: int, batch: int, flush_s: float, kill_at: int) -> int:
    """Start a writer, SIGKILL it as soon as it acknowledged ``kill_at`` rows; return the rows acked."""
    p = spawn("write", str(db), prefix, str(total), str(batch), str(flush_s), "--no-close")
    acked = 0
    for line in p.stdout:
        if line.startswith("ack "):
            acked = int(line.split()[1])
            if acked >= kill_at:
                os.kill(p.pid, signal.SIGKILL)
                break
    p.wait(timeout=30)
    assert p.returncode == -signal.SIGKILL
    return acked


def test_kill_9_right_after_append_loses_nothing(tmp_path):
    db = tmp_path / "workbench.duckdb"
    Store(db).close()
    # never flushed: every row is only in the dead writer's WAL
    acked = _kill_after(db, "k", 5000, 100, 3600, 1200)
    # flushing continuously: some rows are in segments, the rest only in the WAL
    acked2 = _kill_after(db, "m", 400000, 200, 0.01, 30000)
    wal_dir = tmp_path / "workbench_log" / "wal"
    # the second writer already converted the first one's WAL when it opened the store
    assert len(list(wal_dir.glob("*.jsonl"))) == 1
    s = Store(db)  # converts the dead writers' WALs
    try:
        k = s.query(
            "SELECT count(*) AS n, count(DISTINCT id) AS d, max(visit) AS mx FROM state_transitions "
            "WHERE execution_id = 'k'"
        )[0]
        m = s.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM state_transitions WHERE execution_id = 'm'")[0]
        assert k["n"] == k["d"] >= acked and k["mx"] >= acked - 1
        assert m["n"] == m["d"] >= acked2, "no acknowledged row lost, none duplicated"
        assert [p.name for p in wal_dir.glob("*.jsonl")] == [s._wal_path.name]
    finally:
        s.close()


def test_live_writer_wal_is_left_alone(tmp_path):
    db = tmp_path / "workbench.duckdb"
    Store(db).close()
    p = spawn("write", str(db), "live", "300", "100", "3600", "--no-close")
    try:
        while p.stdout.readline().strip() != "done":
            pass
        s = Store(db)
        try:
            assert s._recover_dead_wals() == 0
            assert len(list((tmp_path / "workbench_log" / "wal").glob("*.jsonl"))) == 2
            assert s.query("SELECT count(*) AS n FROM state_transitions")[0]["n"] == 0  # not flushed yet
        finally:
            s.close()
    finally:
        p.kill()
        p.wait()
    assert count(db) == (300, 300)
