"""Store.exclusive: a lock shared by processes, freed when its holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from engine.store import Store, StoreError

ROOT = Path(__file__).resolve().parents[2]


def test_exclusive_waits_for_another_process_and_is_freed_when_it_dies(tmp_path):
    db = tmp_path / "workbench.duckdb"
    s = Store(db)
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.store.proc", "hold_lock", str(db), "numbering"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(StoreError, match="numbering.lock"):
            with s.exclusive("numbering", timeout_s=0.3):
                pass
        assert 0.3 <= time.monotonic() - started < 5
        with s.exclusive("other-name", timeout_s=0.3):  # another name is another lock
            pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        with s.exclusive("numbering", timeout_s=5):
            # the dead holder's row (appended under the lock, never flushed) is converted on entry
            assert s.query("SELECT count(*) AS n FROM audit_logs WHERE event_type = 'lock-test'") == [{"n": 1}]
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        s.close()


def test_exclusive_flushes_on_exit_and_refuses_bad_names(store):
    with store.exclusive("a.b_c-1"):
        store.append("audit_logs", {"id": "x"})
    # in a segment at once: another process sees it without waiting for the background flusher
    glob = str(store.log_dir / "audit_logs" / "seg-*.parquet")
    assert duckdb.execute(f"SELECT count(*) FROM read_parquet('{glob}')").fetchone()[0] == 1
    with pytest.raises(StoreError, match="lock name"):
        with store.exclusive("../escape"):
            pass


def test_exclusive_is_reentrant_in_one_thread_but_excludes_other_threads(store):
    import threading

    got = []
    with store.exclusive("nested", timeout_s=2):
        with store.exclusive("nested", timeout_s=2):  # before: waited for itself until the timeout
            other = threading.Thread(target=lambda: got.append(_try(store, "nested")))
            other.start()
            other.join()
    assert got == ["timed out"]
    assert _try(store, "nested") == "entered"  # released by the outermost exit


def _try(store, name):
    try:
        with store.exclusive(name, timeout_s=0.2):
            return "entered"
    except StoreError:
        return "timed out"
