"""Store benchmark: append 200k state_transitions rows in batches of 500, flush, then query them.

Run: ``.venv/bin/python -m benchmarks.bench_store`` (writes benchmarks/results/store.json).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.store import Store

ROWS = 200_000
BATCH = 500
RESULTS = Path(__file__).resolve().parent / "results" / "store.json"


def make_rows(n: int, start: int = 0) -> list[dict]:
    """Rows shaped like the runner's: ids, states, a small context snapshot, keys, timestamps."""
    t0 = datetime(2026, 1, 1)
    rows = []
    for i in range(start, start + n):
        ex = i // 20
        ts = t0 + timedelta(milliseconds=i)
        rows.append(
            {
                "id": f"t-{i}",
                "execution_id": f"ex-{ex}",
                "workflow_id": f"wf-{ex % 7}",
                "version": 1,
                "from_state": f"s{i % 20}",
                "to_state": f"s{(i % 20) + 1}",
                "transition_type": "normal",
                "token": "0",
                "visit": 0,
                "attempt": 1,
                "status": "completed" if i % 50 else "failed",
                "context_snapshot": {"value": i, "ok": True, "label": f"item-{i % 13}"},
                "keys_read": ["order", "value"],
                "keys_written": ["value"],
                "action": "python",
                "executed_on": "ray",
                "node_id": "node-1",
                "worker_pid": 4242,
                "started_at": ts,
                "ended_at": ts + timedelta(milliseconds=3),
                "timestamp": ts,
                "duration_ms": 3.0 + (i % 7),
            }
        )
    return rows


def run(rows: int = ROWS, batch: int = BATCH, workdir: str | None = None) -> dict:
    tmp = Path(workdir or tempfile.mkdtemp(prefix="bench_store_"))
    try:
        store = Store(tmp / "workbench.duckdb", flush_interval_s=0.25)
        data = [make_rows(batch, i) for i in range(0, rows, batch)]  # built outside the timing
        c0_cpu = time.process_time()
        t0 = time.perf_counter()
        for chunk in data:
            store.append_many("state_transitions", chunk)
        t_append = time.perf_counter() - t0
        store.flush()
        t_total = time.perf_counter() - t0
        cpu_total = time.process_time() - c0_cpu  # robust to other jobs on the machine
        q0 = time.perf_counter()
        count = store.query("SELECT count(*) AS n FROM state_transitions")[0]["n"]
        q1 = time.perf_counter()
        groups = store.query(
            "SELECT workflow_id, status, count(*) AS n, avg(duration_ms) AS avg_ms FROM state_transitions GROUP BY ALL"
        )
        q2 = time.perf_counter()
        segments = len(list((store.log_dir / "state_transitions").glob("seg-*.parquet")))
        c0 = time.perf_counter()
        store.compact("state_transitions")
        c1 = time.perf_counter()
        g2 = store.query("SELECT workflow_id, status, count(*) AS n FROM state_transitions GROUP BY ALL")
        q3 = time.perf_counter()
        single0 = time.perf_counter()
        for i in range(2000):
            store.append("workflow_executions", {"execution_id": f"e{i}", "status": "running"})
        single1 = time.perf_counter()
        store.close()
        assert count == rows, (count, rows)
        assert len(groups) == len(g2)
        return {
            "rows": rows,
            "batch": batch,
            "append_s": round(t_append, 3),
            "append_flush_s": round(t_total, 3),
            "rows_per_s": round(rows / t_total),
            "cpu_s": round(cpu_total, 3),
            "rows_per_cpu_s": round(rows / cpu_total),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "count_query_ms": round((q1 - q0) * 1000, 1),
            "groupby_query_ms": round((q2 - q1) * 1000, 1),
            "segments_before_compact": segments,
            "compact_s": round(c1 - c0, 3),
            "groupby_after_compact_ms": round((q3 - c1) * 1000, 1),
            "single_append_us": round((single1 - single0) / 2000 * 1e6, 1),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "measured_at": datetime.now().isoformat(timespec="seconds"),
        }
    finally:
        if workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> dict:
    res = run()
    print(
        f"store: {res['rows_per_s']:,} state_transitions rows/s (append_many x{res['batch']} + flush, "
        f"{res['rows']:,} rows in {res['append_flush_s']} s, {res['rows_per_cpu_s']:,} rows per CPU-second, "
        f"load {res['load_avg_1m']}); count {res['count_query_ms']} ms, "
        f"group-by {res['groupby_query_ms']} ms over {res['segments_before_compact']} segments, "
        f"{res['groupby_after_compact_ms']} ms after compact ({res['compact_s']} s); "
        f"single append {res['single_append_us']} us"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_name(RESULTS.name + f".{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_text(json.dumps(res, indent=2) + "\n")
    os.replace(tmp, RESULTS)
    return res


if __name__ == "__main__":
    main()
