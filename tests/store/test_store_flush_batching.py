"""The background flusher waits for a quiet moment while rows stream in (fewer, larger segments: each
flush costs a file per table), yet never holds a row longer than FLUSH_MAX_DELAY_S, and flushes a
lone append at its next tick."""

from __future__ import annotations

import time

import engine.store as store_mod
from engine.store import Store


def _row_segments(s: Store) -> int:
    return len(s._segments("audit_logs"))


def test_a_stream_of_appends_is_flushed_in_few_segments_and_within_the_longest_delay(tmp_path, monkeypatch):
    monkeypatch.setattr(store_mod, "FLUSH_STREAMING_S", 1.0)  # a busy CI machine may pause the appender
    monkeypatch.setattr(store_mod, "FLUSH_MAX_DELAY_S", 0.5)
    s = Store(tmp_path / "w.duckdb", flush_interval_s=0.05)  # without batching: a segment every 50 ms
    try:
        before = _row_segments(s)
        t0 = time.monotonic()
        first_seen = None
        k = 0
        while time.monotonic() - t0 < 2.0:
            s.append("audit_logs", {"id": f"r{k}"})
            k += 1
            if first_seen is None and _row_segments(s) > before:
                first_seen = time.monotonic() - t0
            time.sleep(0.01)
        written = _row_segments(s) - before
        assert first_seen is not None and first_seen < 0.5 + 1.5  # flushed during the stream, not held
        assert 1 <= written <= 10, written  # ~4 (one per 0.5 s), not ~40
        assert s.query("SELECT count(*) AS n FROM audit_logs") == [{"n": k}]
    finally:
        s.close()


def test_a_lone_append_is_flushed_at_the_next_tick(tmp_path):
    s = Store(tmp_path / "w.duckdb", flush_interval_s=0.05)
    try:
        before = _row_segments(s)
        s.append("audit_logs", {"id": "alone"})
        deadline = time.monotonic() + 5
        while _row_segments(s) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _row_segments(s) == before + 1
    finally:
        s.close()
