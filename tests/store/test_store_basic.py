"""Store round trips, views and validation (single process)."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import duckdb
import pandas as pd
import pytest

from engine.schema import LATEST_BY, TABLES
from engine.store import RawJSON, Store, StoreError, default_db_path, get_store

SAMPLE = {
    "VARCHAR": lambda c: f"{c}-value ü",
    "JSON": lambda c: {"column": c, "items": [1, 2.5, None, True], "nested": {"k": "v"}},
    "INTEGER": lambda c: -7,
    "BIGINT": lambda c: 2**40 + 3,
    "DOUBLE": lambda c: 1.25,
    "BOOLEAN": lambda c: True,
    "TIMESTAMP": lambda c: datetime(2026, 1, 2, 3, 4, 5, 678901),
}


def full_row(table: str) -> dict:
    return {c: SAMPLE[t](c) for c, t in TABLES[table].items()}


@pytest.mark.parametrize("table", list(TABLES))
def test_round_trip_every_table_and_column(store, table):
    row = full_row(table)
    store.append(table, row)
    got = store.query(f"SELECT * FROM {table}")
    assert len(got) == 1
    for col, kind in TABLES[table].items():
        value = got[0][col]
        if kind == "JSON":
            assert isinstance(value, str), col
            assert json.loads(value) == row[col]
        else:
            assert value == row[col], col


def test_every_table_has_a_view_with_schema_columns_even_when_empty(store):
    for table, cols in TABLES.items():
        desc = store.query(f"DESCRIBE {table}")
        assert [d["column_name"] for d in desc] == list(cols)
        types = {d["column_name"]: d["column_type"] for d in desc}
        for c, t in cols.items():
            assert types[c] == t, (table, c)
        assert store.query(f"SELECT count(*) AS n FROM {table}") == [{"n": 0}]
    for table in LATEST_BY:
        assert store.query(f"SELECT count(*) AS n FROM {table}_history") == [{"n": 0}]


def test_read_your_writes_without_explicit_flush(tmp_path):
    s = Store(tmp_path / "w.duckdb", flush_interval_s=3600)  # the flusher never runs on its own
    try:
        for i in range(5):
            s.append("audit_logs", {"id": str(i), "message": f"m{i}"})
            assert s.query("SELECT count(*) AS n FROM audit_logs")[0]["n"] == i + 1
    finally:
        s.close()


def test_missing_columns_are_null(store):
    store.append("audit_logs", {"id": "a1"})
    row = store.query("SELECT * FROM audit_logs")[0]
    assert row["id"] == "a1"
    assert all(v is None for k, v in row.items() if k != "id")


def test_unknown_column_names_it(store):
    with pytest.raises(StoreError, match=r"audit_logs: unknown column\(s\) colour"):
        store.append("audit_logs", {"id": "x", "colour": "red"})
    with pytest.raises(StoreError, match="unknown table 'nope'"):
        store.append("nope", {"id": "x"})
    assert store.query("SELECT count(*) AS n FROM audit_logs")[0]["n"] == 0


@pytest.mark.parametrize(
    "col,value,msg",
    [
        ("visit", "three", "state_transitions.visit"),
        ("visit", 2.5, "fractional"),
        ("visit", 2**40, "out of range"),
        ("duration_ms", "fast", "expected a number"),
        ("condition_result", "yes", "True or False"),
        ("started_at", "yesterday", "ISO timestamp"),
        ("started_at", 12345, "datetime or an ISO string"),
        ("from_state", {"a": 1}, "expected text"),
    ],
)
def test_bad_values_raise_and_write_nothing(store, col, value, msg):
    with pytest.raises(StoreError, match=msg):
        store.append_many("state_transitions", [{"id": "ok"}, {"id": "bad", col: value}])
    assert store.query("SELECT count(*) AS n FROM state_transitions")[0]["n"] == 0


def test_lenient_coercions(store):
    import numpy as np

    store.append(
        "state_transitions",
        {
            "id": 17,
            "visit": np.int64(3),
            "attempt": 2.0,
            "duration_ms": np.float32(1.5),
            "condition_result": np.bool_(True),
            "ai_decision_used": 0,
            "worker_pid": True,
        },
    )
    r = store.query("SELECT * FROM state_transitions")[0]
    assert (r["id"], r["visit"], r["attempt"], r["duration_ms"]) == ("17", 3, 2, 1.5)
    assert (r["condition_result"], r["ai_decision_used"], r["worker_pid"]) == (True, False, 1)


def test_json_columns(store):
    class Thing:
        def __str__(self):
            return "thing!"

    store.append_many(
        "audit_logs",
        [
            {"id": "obj", "metadata": {"when": datetime(2026, 1, 1), "what": Thing(), "n": float("nan")}},
            {"id": "str", "metadata": "plain text"},
            {"id": "raw", "metadata": RawJSON('{"already": "json"}')},
            {"id": "list", "metadata": [1, "two"]},
            {"id": "none", "metadata": None},
        ],
    )
    got = {r["id"]: r["metadata"] for r in store.query("SELECT id, metadata FROM audit_logs")}
    assert json.loads(got["obj"]) == {"when": "2026-01-01 00:00:00", "what": "thing!", "n": None}
    assert json.loads(got["str"]) == "plain text"
    assert json.loads(got["raw"]) == {"already": "json"}
    assert json.loads(got["list"]) == [1, "two"]
    assert got["none"] is None
    # DuckDB's JSON functions work on the view
    assert store.query("SELECT metadata->>'$.already' AS a FROM audit_logs WHERE id = 'raw'") == [{"a": "json"}]
    with pytest.raises(StoreError, match="RawJSON is not valid JSON"):
        store.append("audit_logs", {"id": "bad", "metadata": RawJSON("{nope")})


def test_timestamps(store):
    aware = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    store.append_many(
        "audit_logs",
        [
            {"id": "naive", "timestamp": datetime(2026, 3, 1, 10, 0, 0, 5)},
            {"id": "aware", "timestamp": aware},
            {"id": "iso", "timestamp": "2026-03-01T10:00:00"},
            {"id": "iso_z", "timestamp": "2026-03-01T10:00:00Z"},
            {"id": "iso_off", "timestamp": "2026-03-01 12:00:00+02:00"},
            {"id": "pandas", "timestamp": pd.Timestamp("2026-03-01 10:00:00")},
            {"id": "date", "timestamp": datetime(2026, 3, 1).date()},
        ],
    )
    got = {r["id"]: r["timestamp"] for r in store.query("SELECT id, timestamp FROM audit_logs")}
    ten = datetime(2026, 3, 1, 10, 0)
    assert got["naive"] == datetime(2026, 3, 1, 10, 0, 0, 5)
    assert got["aware"] == got["iso"] == got["iso_z"] == got["iso_off"] == got["pandas"] == ten
    assert got["date"] == datetime(2026, 3, 1)


def test_latest_by_views_and_history(store):
    t0 = datetime(2026, 1, 1)
    store.append("workflow_executions", {"execution_id": "e1", "status": "pending"})
    store.append("workflow_executions", {"execution_id": "e1", "status": "running"})
    store.append("workflow_executions", {"execution_id": "e2", "status": "running"})
    store.append("workflow_executions", {"execution_id": "e1", "status": "completed"})
    # explicit updated_at wins over seq; same updated_at -> higher seq wins
    store.append("workflow_executions", {"execution_id": "e3", "status": "new", "updated_at": t0, "seq": 5})
    store.append(
        "workflow_executions", {"execution_id": "e3", "status": "old", "updated_at": t0 - timedelta(1), "seq": 9}
    )
    store.append("workflow_executions", {"execution_id": "e3", "status": "tie-low", "updated_at": t0, "seq": 4})
    latest = {r["execution_id"]: r["status"] for r in store.query("SELECT * FROM workflow_executions")}
    assert latest == {"e1": "completed", "e2": "running", "e3": "new"}
    assert store.query("SELECT count(*) AS n FROM workflow_executions_history")[0]["n"] == 7
    hist = store.query(
        "SELECT status, seq, updated_at FROM workflow_executions_history WHERE execution_id = 'e1' ORDER BY seq"
    )
    assert [h["status"] for h in hist] == ["pending", "running", "completed"]
    assert all(h["updated_at"] is not None for h in hist)
    seqs = [h["seq"] for h in hist]
    assert seqs == sorted(set(seqs))
    # composite key (workflow_id, version)
    store.append("workflows", {"workflow_id": "w", "version": 1, "status": "active"})
    store.append("workflows", {"workflow_id": "w", "version": 2, "status": "active"})
    store.append("workflows", {"workflow_id": "w", "version": 1, "status": "archived"})
    got = store.query("SELECT version, status FROM workflows ORDER BY version")
    assert got == [{"version": 1, "status": "archived"}, {"version": 2, "status": "active"}]


def test_query_params_and_df(store):
    store.append_many("llm_calls", [{"id": str(i), "latency_ms": float(i), "success": i % 2 == 0} for i in range(10)])
    assert store.query("SELECT count(*) AS n FROM llm_calls WHERE latency_ms >= ?", [5])[0]["n"] == 5
    assert store.query("SELECT count(*) AS n FROM llm_calls WHERE success = $ok", {"ok": True})[0]["n"] == 5
    df = store.query_df("SELECT id, latency_ms FROM llm_calls ORDER BY latency_ms")
    assert isinstance(df, pd.DataFrame) and len(df) == 10 and list(df.columns) == ["id", "latency_ms"]
    with pytest.raises(StoreError, match="query failed"):
        store.query("SELEKT 1")
    with pytest.raises(StoreError, match="query failed"):
        store.query("SELECT nope FROM llm_calls")


def test_views_file_is_views_only_and_readable(store):
    store.append("audit_logs", {"id": "x", "message": "hello"})
    store.flush()
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        assert con.execute("SELECT message FROM audit_logs").fetchall() == [("hello",)]
        kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall())
        assert kinds.pop("_workbench_meta") == "BASE TABLE"
        assert set(kinds.values()) == {"VIEW"}
        assert set(TABLES) <= set(kinds)
    finally:
        con.close()


def test_many_threads_append_and_query(store):
    errors = []

    def work(k):
        try:
            for i in range(20):
                store.append_many("audit_logs", [{"id": f"{k}-{i}-{j}", "level": "info"} for j in range(10)])
                store.query("SELECT count(*) FROM audit_logs")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM audit_logs") == [{"n": 1200, "d": 1200}]


def test_get_store_is_one_per_path_and_thread_safe(tmp_path):
    path = tmp_path / "g.duckdb"
    got = []
    threads = [threading.Thread(target=lambda: got.append(get_store(path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len({id(s) for s in got}) == 1
        assert get_store(str(path)) is got[0]
        got[0].close()
        fresh = get_store(path)
        assert fresh is not got[0]
        fresh.close()
    finally:
        got[0].close()


def test_store_fixture_is_what_get_store_returns(store):
    assert get_store() is store
    assert default_db_path() == store.path


def test_default_db_path(monkeypatch, tmp_path):
    monkeypatch.delenv("WORKBENCH_DB", raising=False)
    assert default_db_path().parts[-2:] == ("data", "workbench.duckdb")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORKBENCH_DB", "x/y.duckdb")
    assert default_db_path() == tmp_path / "x" / "y.duckdb"


def test_layout_and_close_removes_wal(tmp_path):
    s = Store(tmp_path / "records.duckdb")
    assert s.log_dir == tmp_path / "records_log"
    wals = list((s.log_dir / "wal").glob("*.jsonl"))
    assert len(wals) == 1
    s.append("audit_logs", {"id": "x"})
    s.close()
    assert not wals[0].exists()
    assert list((s.log_dir / "audit_logs").glob("seg-*.parquet"))
    with pytest.raises(StoreError, match="closed"):
        s.append("audit_logs", {"id": "y"})
    s.close()  # twice is fine
    s2 = Store(tmp_path / "records.duckdb")
    try:
        assert s2.query("SELECT id FROM audit_logs") == [{"id": "x"}]
    finally:
        s2.close()


def test_empty_and_malformed_batches(store):
    store.append_many("audit_logs", [])
    with pytest.raises(StoreError, match="dict"):
        store.append_many("audit_logs", [{"id": "a"}, ["not", "a", "dict"]])
    with pytest.raises(StoreError, match="list of dicts"):
        store.append_many("audit_logs", {"id": "a"})
    assert store.query("SELECT count(*) AS n FROM audit_logs")[0]["n"] == 0


def test_query_flushes_only_the_tables_it_reads(tmp_path):
    s = Store(tmp_path / "w.duckdb", flush_interval_s=3600)
    try:
        s.append("audit_logs", {"id": "a"})
        s.append("control_requests", {"id": "c"})
        assert s.query("SELECT count(*) AS n FROM CONTROL_REQUESTS")[0]["n"] == 1
        assert s._segments("audit_logs") == []  # not needed by that query: still pending
        assert s.query("SELECT count(*) AS n FROM audit_logs")[0]["n"] == 1
        s.append("workflow_executions", {"execution_id": "e"})
        assert s.query("SELECT count(*) AS n FROM workflow_executions_history")[0]["n"] == 1
        s.append("llm_calls", {"id": "l"})
        assert s.query("SELECT 1 AS one") == [{"one": 1}]  # names no table: flushes everything
        assert len(s._segments("llm_calls")) == 1
    finally:
        s.close()


def test_lone_surrogates_in_text_are_replaced_not_fatal(store):
    name = b"caf\xe9.csv".decode("utf-8", "surrogateescape")  # an undecodable file name
    store.append_many(
        "audit_logs",
        [{"id": "s", "message": f"cannot read {name}", "metadata": {"f": name}}, {"id": "t", "message": "fine"}],
    )
    got = {r["id"]: r for r in store.query("SELECT * FROM audit_logs")}
    assert got["s"]["message"] == "cannot read caf?.csv" and got["t"]["message"] == "fine"
    assert json.loads(got["s"]["metadata"]) == {"f": "caf?.csv"}


def test_read_your_writes_while_a_flush_is_writing_its_segment(tmp_path):
    """A query must not slip between "rows taken out of pending" and "segment renamed into place"."""
    import threading
    import time

    from engine.store import Store

    s = Store(tmp_path / "w.duckdb", flush_interval_s=3600)  # no background flush: we drive it
    try:
        s.append("control_requests", {"id": "r1", "execution_id": "e", "command": "cancel"})
        original = s._write_segment

        def slow_write(*args, **kwargs):  # widen the window in which the segment is not there yet
            time.sleep(0.5)
            return original(*args, **kwargs)

        s._write_segment = slow_write
        flusher = threading.Thread(target=s.flush)
        flusher.start()
        time.sleep(0.1)  # the flusher now holds the rows, their segment not yet written
        assert s.query("SELECT count(*) AS n FROM control_requests")[0]["n"] == 1
        flusher.join()
    finally:
        s.close()
