"""Property: whatever is appended reads back the same, through a flush or through crash recovery."""

from __future__ import annotations

import json
import math
import os
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.store import Store

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(text, kids, max_size=4),
    max_leaves=12,
)
rows = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "level": text,
            "message": text,
            "metadata": json_values,
            "timestamp": st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
        },
    ),
    min_size=1,
    max_size=8,
)
llm_rows = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "prompt_tokens": st.integers(-(2**31), 2**31 - 1),
            "cost_usd": st.floats(allow_nan=False, allow_infinity=False),
            "cache_hit": st.booleans(),
        },
    ),
    min_size=1,
    max_size=5,
)


def _norm(v):
    if isinstance(v, float) and v == 0:
        return 0.0  # -0.0 and 0.0 are the same number in JSON round trips
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_norm(x) for x in v]
    return v


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=rows, calls=llm_rows)
def test_flush_and_recovery_store_the_same_values(tmp_path_factory, batch, calls):
    base = tmp_path_factory.mktemp("prop")
    batch = [dict(r, id=str(i)) for i, r in enumerate(batch)]
    calls = [dict(r, id=str(i)) for i, r in enumerate(calls)]
    results = []
    for crash in (False, True):
        db = base / f"crash{crash}.duckdb"
        s = Store(db, flush_interval_s=3600)
        s.append_many("audit_logs", batch)
        s.append_many("llm_calls", calls)
        if crash:  # as if SIGKILLed: nothing flushed, WAL left behind
            s._stop.set()
            s._wake.set()
            s._thread.join()
            s._closed = True
            os.close(s._wal_fd)
            s._wal_fd = None
            s = Store(db)
        got = s.query("SELECT * FROM audit_logs ORDER BY id::INT")
        got_calls = s.query("SELECT id, prompt_tokens, cost_usd, cache_hit FROM llm_calls ORDER BY id::INT")
        s.close()
        results.append((got, got_calls))
        for want, row in zip(batch, got):
            assert row["message"] == want.get("message") and row["level"] == want.get("level")
            assert row["timestamp"] == want.get("timestamp")
            if want.get("metadata") is None:
                assert row["metadata"] is None
            else:
                assert _norm(json.loads(row["metadata"])) == _norm(want["metadata"])
        for want, row in zip(calls, got_calls):
            assert row["prompt_tokens"] == want.get("prompt_tokens") and row["cache_hit"] == want.get("cache_hit")
            if want.get("cost_usd") is not None:
                assert (
                    math.isclose(row["cost_usd"], want["cost_usd"], rel_tol=0, abs_tol=0)
                    or row["cost_usd"] == want["cost_usd"]
                )
    assert results[0] == results[1]


any_value = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1))
    | json_values
)
transition_rows = st.fixed_dictionaries(
    {},
    optional={
        c: any_value
        for c in (
            "id",
            "from_state",
            "visit",
            "worker_pid",
            "condition_result",
            "duration_ms",
            "context_snapshot",
            "keys_read",
            "started_at",
            "error_message",
        )
    },
)


@settings(max_examples=300, deadline=None)
@given(row=transition_rows)
def test_one_row_fast_path_normalises_like_the_general_path(row):
    """append() of one row takes a fast path; it must store exactly what the general path stores
    (or hand the row to the general path, which raises the same error)."""
    from engine import store as store_mod
    from engine.schema import TABLES

    fast = store_mod._normalise_row(TABLES["state_transitions"], row)
    general = None
    try:
        cols = {
            c: store_mod._normalise_column("state_transitions", c, TABLES["state_transitions"][c], [v])
            for c, v in row.items()
        }
        general = {c: v for c, v in cols.items() if v != [None]}
    except store_mod.StoreError:
        assert fast is None
        return
    if fast is not None:
        assert store_mod._line_encode(fast) == json.dumps(general, separators=(",", ":"))


@given(value=json_values | st.floats() | st.lists(st.floats() | text))
def test_wal_line_encoder_writes_what_json_dumps_writes(value):
    from engine.store import _line_encode

    obj = {
        "t": "audit_logs",
        "n": 1,
        "c": {"message": [value] if not isinstance(value, (dict, list)) else ["x"], "v": value},
    }
    assert _line_encode(obj) == json.dumps(obj, separators=(",", ":"))
