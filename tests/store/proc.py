"""Helper run in separate processes by the store tests: ``python -m tests.store.proc CMD ...``."""

from __future__ import annotations

import json
import sys
import time


def rows(prefix: str, start: int, n: int) -> list[dict]:
    return [
        {
            "id": f"{prefix}-{i}",
            "execution_id": prefix,
            "from_state": "a",
            "to_state": "b",
            "visit": i,
            "context_snapshot": {"i": i},
            "duration_ms": 1.5,
        }
        for i in range(start, start + n)
    ]


def write(db: str, prefix: str, total: int, batch: int, flush_s: float) -> None:
    """Append ``total`` rows; print ``ack <rows so far>`` after every append returns."""
    from engine.store import Store

    s = Store(db, flush_interval_s=flush_s)
    done = 0
    while done < total:
        n = min(batch, total - done)
        if n == 1:
            s.append("state_transitions", rows(prefix, done, 1)[0])
        else:
            s.append_many("state_transitions", rows(prefix, done, n))
        done += n
        print(f"ack {done}", flush=True)
    print("done", flush=True)
    if "--no-close" in sys.argv:
        time.sleep(3600)
    s.close()


def write_for(db: str, prefix: str, seconds: float) -> None:
    """Append batches of 50 rows for ``seconds``; print the total."""
    from engine.store import Store

    s = Store(db, flush_interval_s=0.1)
    done = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.append_many("state_transitions", rows(prefix, done, 50))
        done += 50
        time.sleep(0.005)
    s.close()
    print(json.dumps({"written": done}), flush=True)


def read_until(db: str, stop_file: str) -> None:
    """Hold one read-only DuckDB connection on the file; count rows every 0.1 s until stop_file exists."""
    import os

    import duckdb

    con = duckdb.connect(db, read_only=True)
    print("open", flush=True)
    counts = []
    end = time.monotonic() + 60
    while time.monotonic() < end:
        stop = os.path.exists(stop_file)
        counts.append(con.execute("SELECT count(*) FROM state_transitions").fetchone()[0])
        con.execute("SELECT count(*) FROM workflow_executions").fetchone()
        if stop:
            break
        time.sleep(0.1)
    con.close()
    print(json.dumps({"counts": counts}), flush=True)


def append_exit(db: str, prefix: str, n: int, delay: float, how: str, go: str | None = None) -> None:
    """Open the store (once ``go`` exists, when given), append ``n`` audit rows in one call, print
    ``ack``, wait ``delay`` s and exit: without closing the store normally (``return``), via
    ``sys.exit`` or an unhandled exception; or after ``close()`` (``close``)."""
    import os

    from engine.store import Store

    if go:  # say the store module is imported, then wait for the signal to open it with the others
        open(f"{go}.ready-{prefix}", "w").close()
    while go and not os.path.exists(go):
        time.sleep(0.005)
    s = Store(db)
    rows = [{"id": f"{prefix}-{i}", "event_type": "exit-test"} for i in range(n)]
    if "--in-atexit" in sys.argv:
        # the append happens while the interpreter shuts down (an exit hook recording a last row);
        # then wait until the background flusher has taken the rows, so it writes them during shutdown
        import atexit

        def last_rows() -> None:
            s.append_many("audit_logs", rows)
            print("ack", flush=True)
            end = time.monotonic() + 20
            while s._pending and time.monotonic() < end:
                time.sleep(0.001)
            time.sleep(delay)

        atexit.register(last_rows)
    else:
        s.append_many("audit_logs", rows)
        print("ack", flush=True)
        time.sleep(delay)
    if how == "sys_exit":
        sys.exit(0)
    if how == "exception":
        raise RuntimeError("unhandled error after the append")
    if how == "close":
        s.close()


def hold_lock(db: str, name: str) -> None:
    """Take ``Store.exclusive(name)``, append one row under it, print ``held`` and sleep (until killed)."""
    from engine.store import Store

    s = Store(db)
    with s.exclusive(name):
        s.append("audit_logs", {"id": "under-lock", "event_type": "lock-test"})
        print("held", flush=True)
        time.sleep(3600)


def open_backend(factory: str, db: str):
    """A store made by ``factory`` ("module:callable", called with the database path)."""
    import importlib

    module, _, name = factory.partition(":")
    return getattr(importlib.import_module(module), name)(db)


def backend_write(factory: str, db: str, prefix: str, n: int) -> None:
    """Append ``n`` audit rows one at a time through a backend; print ``ack <i>`` after each; then
    wait to be killed (``--no-close``), exit without closing (``--exit-without-close``) or close."""
    s = open_backend(factory, db)
    for i in range(n):
        s.append("audit_logs", {"id": f"{prefix}-{i}", "event_type": "conformance"})
        print(f"ack {i + 1}", flush=True)
    if "--no-close" in sys.argv:
        time.sleep(3600)
    if "--exit-without-close" in sys.argv:
        return  # a normal interpreter exit with the store still open
    s.close()


def fork_then_die(db: str) -> None:
    """Append rows, fork a child that lives on (as a helper process would), then die by SIGKILL."""
    import os
    import signal

    from engine.store import Store

    s = Store(db, flush_interval_s=3600)  # the rows stay in the WAL only
    s.append_many("audit_logs", [{"id": f"f{i}", "event_type": "fork-test"} for i in range(5)])
    child = os.fork()
    if child == 0:
        time.sleep(120)
        os._exit(0)
    print(f"child {child}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    cmd, args = sys.argv[1], [a for a in sys.argv[2:] if not a.startswith("--")]
    if cmd == "write":
        write(args[0], args[1], int(args[2]), int(args[3]), float(args[4]))
    elif cmd == "write_for":
        write_for(args[0], args[1], float(args[2]))
    elif cmd == "append_exit":
        append_exit(args[0], args[1], int(args[2]), float(args[3]), args[4], *args[5:6])
    elif cmd == "backend_write":
        backend_write(args[0], args[1], args[2], int(args[3]))
    elif cmd == "fork_then_die":
        fork_then_die(args[0])
    elif cmd == "hold_lock":
        hold_lock(args[0], args[1])
    elif cmd == "read_until":
        read_until(args[0], args[1])
    else:
        raise SystemExit(f"unknown command {cmd}")
