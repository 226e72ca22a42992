"""Conformance suite for record-store backends (as LangGraph has for checkpointers).

Every backend must pass these tests. A backend is named in :data:`BACKENDS` by a factory
``"module:callable"`` that takes the database path and returns an open store with the interface of
:class:`engine.store.Store` (``append``, ``append_many``, ``query``, ``query_df``, ``flush``,
``compact``, ``counts``, ``exclusive``, ``close``). The factory is a string so that separate
processes (crash and visibility tests) can open the same backend.
"""

from __future__ import annotations

import importlib
import math
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.schema import LATEST_BY, TABLES
from engine.store import RawJSON, StoreError

ROOT = Path(__file__).resolve().parents[2]

BACKENDS = {
    "parquet-wal": "engine.store:Store",  # WAL of JSON lines -> Parquet segments -> DuckDB views
}


def _factory(spec: str):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


@pytest.fixture(params=sorted(BACKENDS))
def backend(request):
    return BACKENDS[request.param]


@pytest.fixture
def open_store(backend, tmp_path):
    """``open_store()`` opens (another) store on the same database; all are closed at the end."""
    factory = _factory(backend)
    opened = []

    def make():
        s = factory(tmp_path / "workbench.duckdb")
        opened.append(s)
        return s

    yield make
    for s in opened:
        try:
            s.close()
        except Exception:
            pass


def spawn_writer(backend: str, db: Path, prefix: str, n: int, *flags: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.proc", "backend_write", backend, str(db), prefix, str(n), *flags],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# --- writing and reading -----------------------------------------------------------------


def test_every_table_of_the_schema_can_be_written_and_read(open_store):
    s = open_store()
    for table, cols in TABLES.items():
        key = next(c for c, t in cols.items() if t == "VARCHAR")
        s.append(table, {key: f"{table}-row"})
    for table, cols in TABLES.items():
        key = next(c for c, t in cols.items() if t == "VARCHAR")
        rows = s.query(f'SELECT "{key}" AS k FROM {table}')
        assert rows == [{"k": f"{table}-row"}], table
    assert set(s.counts()) >= set(TABLES) and all(s.counts()[t] == 1 for t in TABLES)


def test_values_of_every_column_type_round_trip(open_store):
    s = open_store()
    ts = datetime(2026, 1, 31, 12, 0, 0, 123456)
    s.append(
        "state_transitions",
        {
            "id": "t1",
            "visit": 2**31 - 1,
            "duration_ms": 1.25,
            "condition_result": True,
            "context_snapshot": {"a": [1, "x", None], "b": {"c": 1.5}},
            "timestamp": ts,
            "to_state": "héllo ✓",
        },
    )
    s.append("workflow_executions", {"execution_id": "e1", "duration_ms": 2**63 - 1, "seq": 1, "updated_at": ts})
    r = s.query("SELECT * FROM state_transitions")[0]
    assert (r["id"], r["visit"], r["duration_ms"], r["condition_result"], r["timestamp"], r["to_state"]) == (
        "t1",
        2**31 - 1,
        1.25,
        True,
        ts,
        "héllo ✓",
    )
    assert r["workflow_id"] is None  # a missing column is NULL
    import json

    assert json.loads(r["context_snapshot"]) == {"a": [1, "x", None], "b": {"c": 1.5}}
    assert s.query("SELECT duration_ms FROM workflow_executions") == [{"duration_ms": 2**63 - 1}]


def test_json_columns_store_objects_strings_raw_json_and_no_nan(open_store):
    s = open_store()
    s.append_many(
        "audit_logs",
        [
            {"id": "obj", "metadata": {"k": [1, 2]}},
            {"id": "str", "metadata": "plain text"},
            {"id": "raw", "metadata": RawJSON('{"already": "json"}')},
            {"id": "nan", "metadata": {"x": math.nan, "y": math.inf}},
        ],
    )
    got = {r["id"]: r["m"] for r in s.query("SELECT id, metadata::VARCHAR AS m FROM audit_logs")}
    import json

    assert json.loads(got["obj"]) == {"k": [1, 2]}
    assert json.loads(got["str"]) == "plain text"
    assert json.loads(got["raw"]) == {"already": "json"}
    assert json.loads(got["nan"]) == {"x": None, "y": None}


def test_timestamps_aware_ones_become_utc_and_iso_text_is_accepted(open_store):
    s = open_store()
    aware = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    s.append_many(
        "audit_logs", [{"id": "aware", "timestamp": aware}, {"id": "iso", "timestamp": "2026-03-01T09:30:00"}]
    )
    got = {r["id"]: r["timestamp"] for r in s.query("SELECT id, timestamp FROM audit_logs")}
    assert got == {"aware": datetime(2026, 3, 1, 10, 0), "iso": datetime(2026, 3, 1, 9, 30)}


@pytest.mark.parametrize(
    "rows, match",
    [
        ([{"id": "a"}, {"id": "b", "no_such_column": 1}], "no_such_column"),
        ([{"id": "a"}, {"id": "b", "timestamp": "not a time"}], "timestamp"),
        ([{"id": "a"}, {"id": "b", "message": {"structured": 1}}], "message"),
        ([{"id": "a"}, "not a dict"], "dict"),
    ],
)
def test_a_bad_row_raises_store_error_and_nothing_of_that_call_is_written(open_store, rows, match):
    s = open_store()
    with pytest.raises(StoreError, match=match):
        s.append_many("audit_logs", rows)
    with pytest.raises(StoreError, match="no_such_table"):
        s.append("no_such_table", {"id": "x"})
    assert s.query("SELECT count(*) AS n FROM audit_logs") == [{"n": 0}]


def test_integers_out_of_range_and_fractions_are_refused(open_store):
    s = open_store()
    for bad in (2**31, 1.5, "7"):
        with pytest.raises(StoreError, match="visit"):
            s.append("state_transitions", {"id": "x", "visit": bad})
    assert s.query("SELECT count(*) AS n FROM state_transitions") == [{"n": 0}]


def test_latest_row_wins_tables_show_the_newest_row_and_keep_history(open_store):
    s = open_store()
    table = "workflow_executions"
    assert LATEST_BY[table] == ("execution_id",)
    for status in ("running", "waiting", "completed"):
        s.append(table, {"execution_id": "e1", "status": status})
    s.append(table, {"execution_id": "e2", "status": "running"})
    assert s.query(f"SELECT execution_id, status FROM {table} ORDER BY 1") == [
        {"execution_id": "e1", "status": "completed"},
        {"execution_id": "e2", "status": "running"},
    ]
    assert s.query(f"SELECT count(*) AS n FROM {table}_history") == [{"n": 4}]
    # an explicit updated_at decides over the order of appends
    s.append(table, {"execution_id": "e1", "status": "old", "updated_at": datetime(2000, 1, 1)})
    assert s.query(f"SELECT status FROM {table} WHERE execution_id = 'e1'") == [{"status": "completed"}]


def test_query_df_returns_a_dataframe(open_store):
    s = open_store()
    s.append_many("audit_logs", [{"id": str(i)} for i in range(3)])
    df = s.query_df("SELECT id FROM audit_logs ORDER BY id")
    assert list(df["id"]) == ["0", "1", "2"]


def test_sql_errors_raise_store_error(open_store):
    s = open_store()
    with pytest.raises(StoreError):
        s.query("SELECT nope FROM audit_logs")


# --- durability and visibility --------------------------------------------------------------


def test_rows_survive_close_and_reopen_and_compaction(open_store):
    s = open_store()
    for i in range(20):
        s.append_many("audit_logs", [{"id": f"{i}-{j}"} for j in range(5)])
    s.close()
    s2 = open_store()
    assert s2.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM audit_logs") == [{"n": 100, "d": 100}]
    s2.compact()
    assert s2.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM audit_logs") == [{"n": 100, "d": 100}]


def test_a_closed_store_refuses_appends(open_store):
    s = open_store()
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.append("audit_logs", {"id": "late"})
    s.close()  # closing twice is harmless


def test_acknowledged_rows_survive_kill_9_exactly_once(backend, open_store, tmp_path):
    db = tmp_path / "workbench.duckdb"
    p = spawn_writer(backend, db, "k", 40, "--no-close")
    acked = 0
    try:
        while acked < 40:
            line = p.stdout.readline()
            assert line, p.stderr.read()[-2000:]
            acked = int(line.split()[1])
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.wait(timeout=30)
    s = open_store()
    assert s.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM audit_logs") == [{"n": 40, "d": 40}]


def test_processes_opening_a_fresh_store_at_once_and_exiting_without_close_lose_nothing(backend, open_store, tmp_path):
    db = tmp_path / "workbench.duckdb"
    procs = [spawn_writer(backend, db, f"p{i}", 10, "--exit-without-close") for i in range(8)]
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err[-2000:]
        assert out.split()[-1] == "10"
    s = open_store()
    assert s.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM audit_logs") == [{"n": 80, "d": 80}]


def test_rows_of_another_process_become_visible(backend, open_store, tmp_path):
    s = open_store()
    s.append("audit_logs", {"id": "mine"})
    p = spawn_writer(backend, tmp_path / "workbench.duckdb", "other", 5)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err[-2000:]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        n = s.query("SELECT count(*) AS n FROM audit_logs")[0]["n"]
        if n == 6:
            break
        time.sleep(0.1)
    assert n == 6


def test_threads_appending_at_once_lose_nothing(open_store):
    s = open_store()
    errors = []

    def work(t):
        try:
            for i in range(200):
                s.append("audit_logs", {"id": f"{t}-{i}"})
                if i % 50 == 0:
                    s.query("SELECT count(*) FROM audit_logs")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert s.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM audit_logs") == [{"n": 800, "d": 800}]


def test_exclusive_serialises_read_then_write_between_store_objects(open_store):
    """Two store objects (as in two processes) number rows under one lock: no number twice."""
    stores = [open_store(), open_store()]
    errors = []

    def number(s, tag):
        try:
            for _ in range(15):
                with s.exclusive("numbering"):
                    n = s.query("SELECT count(*) AS n FROM audit_logs")[0]["n"]
                    s.append("audit_logs", {"id": str(n + 1), "event_type": tag})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=number, args=(s, f"s{i}")) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = sorted(int(r["id"]) for r in stores[0].query("SELECT id FROM audit_logs"))
    assert ids == list(range(1, 31))
