"""How ``workbench history`` and ``workbench show`` print runs: one form whether the records come from this
process's store (engine/cli/run_cmds.py) or from the service (engine/cli/serve_cmds.py)."""

from __future__ import annotations


def print_history(rows: list[dict], empty: str) -> None:
    """One line per run (``empty``: what to say when there is none)."""
    if not rows:
        print(empty)
        return
    print(f"{'execution':<17} {'workflow':<28} {'v':>3} {'status':<10} {'ms':>8}  started")
    for r in rows:
        print(
            f"{r['execution_id']:<17} {str(r['workflow_name'])[:28]:<28} {r['version'] or '':>3} "
            f"{r['status']:<10} {r['duration_ms'] or '':>8}  {r['start_time']}"
        )


def print_execution(ex: dict, transitions: list[dict], recovery: list[dict], audit_log: list[dict]) -> None:
    """A run: its summary, transitions, recovery actions and audit log (debug entries left out)."""
    print(f"execution {ex['execution_id']}  {ex['workflow_name']} v{ex['version']}  status {ex['status']}")
    if ex.get("error_message"):
        print(f"error: {ex['error_message']}")
    print(
        f"started {ex['start_time']}  duration {ex['duration_ms']} ms  errors {ex['error_count']}  "
        f"retries {ex['retry_count']}"
    )
    print("\ntransitions:")
    for t in transitions:
        arrow = f" -> {t['to_state']}" if t.get("to_state") else ""
        cond = f"  [{t['condition_evaluated']}]" if t.get("condition_evaluated") else ""
        print(
            f"  {t['status']:<9} {t['from_state']}{arrow}  {t.get('duration_ms') or 0:.0f} ms  "
            f"token {t.get('token')}{cond}"
        )
    if recovery:
        print("\nrecovery:")
        for r in recovery:
            print(
                f"  {r['error_state']}: {r['recovery_strategy']} ({r.get('chosen_by')}) success={r.get('success')}: "
                f"{r.get('reasoning')}"
            )
    print("\naudit log:")
    for a in audit_log:
        if a.get("level") == "debug":
            continue
        print(f"  {a['timestamp']} {a['level']:<7} {a['event_type']:<16} {a['message']}")
