"""The record schema: table names and columns follow the seed design §6 wherever it names them.

Every table is append-only. Tables listed in :data:`LATEST_BY` are "latest row wins": a change
(status update, archive…) appends a full new row, and the public view shows the newest row per key
(ordered by ``updated_at`` then ``seq``). The raw rows stay available as ``<table>_history``.

JSON columns are stored as JSON text (type ``JSON`` in the views).
"""

from __future__ import annotations

TABLES: dict[str, dict[str, str]] = {
    "workflows": {
        "workflow_id": "VARCHAR",
        "version": "INTEGER",
        "name": "VARCHAR",
        "description": "VARCHAR",
        "dsl": "VARCHAR",
        "nl_description": "VARCHAR",
        "parsed_definition": "JSON",
        "spec": "JSON",
        "status": "VARCHAR",  # draft | active | archived | deprecated
        "tags": "JSON",
        "owner": "VARCHAR",
        "optimization_score": "INTEGER",
        "last_optimization_check": "TIMESTAMP",
        "ai_suggestions": "JSON",
        "change_note": "VARCHAR",
        "created_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
        "seq": "BIGINT",
    },
    "workflow_states": {
        "workflow_id": "VARCHAR",
        "version": "INTEGER",
        "state_name": "VARCHAR",
        "state_type": "VARCHAR",
        "description": "VARCHAR",
        "callback_type": "VARCHAR",
        "callback_config": "JSON",
        "timeout_seconds": "DOUBLE",
        "retry_policy": "JSON",
        "compensate": "VARCHAR",
        "created_at": "TIMESTAMP",
    },
    "workflow_executions": {
        "execution_id": "VARCHAR",
        "workflow_id": "VARCHAR",
        "workflow_name": "VARCHAR",
        "version": "INTEGER",
        "status": "VARCHAR",  # queued | pending | running | waiting | completed | failed | cancelled | recovering
        "current_state": "VARCHAR",
        "initial_context": "JSON",
        "final_context": "JSON",
        "states_visited": "JSON",
        "error_count": "INTEGER",
        "retry_count": "INTEGER",
        "recovery_actions": "JSON",
        "ai_decisions": "JSON",
        "anomaly_detected": "BOOLEAN",
        "error_message": "VARCHAR",
        "waiting_for": "JSON",
        "options": "JSON",
        "parent_execution_id": "VARCHAR",
        "rerun_of": "VARCHAR",
        "rerun_from": "VARCHAR",
        "owner": "VARCHAR",  # host:pid:token of the process driving it (for resume after a crash)
        "start_time": "TIMESTAMP",
        "end_time": "TIMESTAMP",
        "duration_ms": "BIGINT",
        "updated_at": "TIMESTAMP",
        "seq": "BIGINT",
    },
    "state_transitions": {
        "id": "VARCHAR",
        "execution_id": "VARCHAR",
        "workflow_id": "VARCHAR",
        "version": "INTEGER",
        "from_state": "VARCHAR",
        "to_state": "VARCHAR",
        "transition_type": "VARCHAR",  # normal | conditional | error | recovery | parallel
        "token": "VARCHAR",  # branch path: "0", "0.1", "0.1.2" …
        "visit": "INTEGER",  # how many times this token had entered from_state before (loops)
        "attempt": "INTEGER",
        "status": "VARCHAR",  # completed | failed | skipped | cancelled | replayed
        "context_snapshot": "JSON",  # the updates the state returned
        "condition_evaluated": "VARCHAR",
        "condition_result": "BOOLEAN",
        "ai_decision_used": "BOOLEAN",
        "ai_decision_reasoning": "VARCHAR",
        "ai_confidence_score": "INTEGER",
        "keys_read": "JSON",
        "keys_written": "JSON",
        "action": "VARCHAR",
        "executed_on": "VARCHAR",
        "node_id": "VARCHAR",
        "worker_pid": "INTEGER",
        "error_type": "VARCHAR",
        "error_message": "VARCHAR",
        "started_at": "TIMESTAMP",
        "ended_at": "TIMESTAMP",
        "timestamp": "TIMESTAMP",
        "duration_ms": "DOUBLE",
    },
    # what a state's code printed (stdout/stderr) in one attempt: engine/step_logs.py; id = the step's transition id
    "step_logs": {
        "id": "VARCHAR",
        "execution_id": "VARCHAR",
        "workflow_id": "VARCHAR",
        "state": "VARCHAR",
        "token": "VARCHAR",
        "visit": "INTEGER",
        "attempt": "INTEGER",
        "status": "VARCHAR",  # the step's status: completed | failed | skipped …
        "executed_on": "VARCHAR",
        "text": "VARCHAR",  # the last 64 K characters, secrets redacted
        "timestamp": "TIMESTAMP",
    },
    "audit_logs": {
        "id": "VARCHAR",
        "execution_id": "VARCHAR",
        "timestamp": "TIMESTAMP",
        "level": "VARCHAR",
        "state": "VARCHAR",
        "event_type": "VARCHAR",
        "message": "VARCHAR",
        "metadata": "JSON",
        "stack_trace": "VARCHAR",
        "actor": "VARCHAR",  # the user who asked (approve/answer/cancel/edit through the API; security events)
    },
    "recovery_actions": {
        "id": "VARCHAR",
        "execution_id": "VARCHAR",
        "workflow_id": "VARCHAR",
        "timestamp": "TIMESTAMP",
        "error_type": "VARCHAR",
        "error_class": "VARCHAR",
        "error_message": "VARCHAR",
        "error_state": "VARCHAR",
        "error_context": "JSON",
        "recovery_strategy": "VARCHAR",
        "chosen_by": "VARCHAR",
        "ai_suggested": "BOOLEAN",
        "ai_reasoning": "VARCHAR",
        "reasoning": "VARCHAR",
        "parameters": "JSON",
        "attempt": "INTEGER",
        "success": "BOOLEAN",
        "recovery_duration_ms": "DOUBLE",
    },
    "optimization_records": {
        "id": "VARCHAR",
        "workflow_id": "VARCHAR",
        "version": "INTEGER",
        "optimization_type": "VARCHAR",
        "title": "VARCHAR",
        "description": "VARCHAR",
        "ai_reasoning": "VARCHAR",
        "evidence": "JSON",
        "estimated_improvement": "DOUBLE",
        "implementation_effort": "VARCHAR",
        "priority": "INTEGER",
        "proposed_changes": "JSON",
        "status": "VARCHAR",  # suggested | accepted | rejected | implemented
        "implemented_at": "TIMESTAMP",
        "implemented_version": "INTEGER",
        "actual_improvement": "DOUBLE",
        "created_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
        "seq": "BIGINT",
    },
    "llm_calls": {
        "id": "VARCHAR",
        "timestamp": "TIMESTAMP",
        "operation": "VARCHAR",
        "provider": "VARCHAR",
        "model": "VARCHAR",
        "prompt_tokens": "INTEGER",
        "completion_tokens": "INTEGER",
        "total_tokens": "INTEGER",
        "cost_usd": "DOUBLE",
        "latency_ms": "DOUBLE",
        "cache_hit": "BOOLEAN",
        "success": "BOOLEAN",
        "error": "VARCHAR",
        "workflow_id": "VARCHAR",
        "execution_id": "VARCHAR",
        "state": "VARCHAR",
    },
    "llm_cache": {
        "cache_key": "VARCHAR",
        "operation": "VARCHAR",
        "model": "VARCHAR",
        "response": "JSON",
        "created_at": "TIMESTAMP",
        "expires_at": "TIMESTAMP",
    },
    "ai_decisions": {
        "id": "VARCHAR",
        "execution_id": "VARCHAR",
        "workflow_id": "VARCHAR",
        "state": "VARCHAR",
        "condition": "VARCHAR",
        "context_hash": "VARCHAR",
        "result": "BOOLEAN",
        "chosen": "VARCHAR",
        "reasoning": "VARCHAR",
        "confidence": "INTEGER",
        "provider": "VARCHAR",
        "decided_by": "VARCHAR",  # rule | ai | heuristic | human | cache
        "timestamp": "TIMESTAMP",
    },
    # a person's answer is needed: approvals, low-confidence decisions, escalations
    "human_requests": {
        "request_id": "VARCHAR",
        "execution_id": "VARCHAR",
        "state": "VARCHAR",
        "kind": "VARCHAR",  # approval | decision | escalation | timer (a wait step: TIMER_REQUEST)
        "prompt": "VARCHAR",
        "options": "JSON",
        "details": "JSON",
        "status": "VARCHAR",  # open | answered
        "answer": "VARCHAR",
        "answered_by": "VARCHAR",
        "created_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
        "seq": "BIGINT",
    },
    # commands to a run driven by another process (cancel)
    "control_requests": {
        "id": "VARCHAR",
        "execution_id": "VARCHAR",
        "command": "VARCHAR",
        "created_at": "TIMESTAMP",
    },
    # a process driving runs renews its lease every few seconds; its runs (owner column) are orphaned
    # once the lease expired, whatever machine it ran on (engine/leases.py)
    "engine_leases": {
        "owner": "VARCHAR",
        "host": "VARCHAR",
        "pid": "INTEGER",
        "expires_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
        "seq": "BIGINT",
    },
    # API tokens (engine/auth.py): only the SHA-256 of the secret is kept; revoking appends a new row
    "api_tokens": {
        "token_id": "VARCHAR",
        "token_hash": "VARCHAR",
        "name": "VARCHAR",
        "user_name": "VARCHAR",
        "role": "VARCHAR",  # viewer | analyst | operator | admin
        "groups": "JSON",  # group names the token's user belongs to (workflow shares, engine/sharing.py)
        "status": "VARCHAR",  # active | revoked
        "created_by": "VARCHAR",
        "expires_at": "TIMESTAMP",
        "revoked_at": "TIMESTAMP",
        "revoked_by": "VARCHAR",
        "created_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
        "seq": "BIGINT",
    },
    # shares of workflows with users and groups (engine/sharing.py); newest row per share_id wins
    "workflow_shares": {
        "share_id": "VARCHAR",  # workflow_id|user|subject or workflow_id|group|name
        "workflow_id": "VARCHAR",
        "subject_kind": "VARCHAR",  # user | group
        "subject": "VARCHAR",
        "level": "VARCHAR",  # view | run | edit
        "status": "VARCHAR",  # active | removed
        "shared_by": "VARCHAR",  # who shared (or un-shared) it last
        "created_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
        "seq": "BIGINT",
    },
    # who started a run through the service (the run's owner for the role checks of engine/auth.py)
    "execution_starters": {
        "execution_id": "VARCHAR",
        "workflow_id": "VARCHAR",
        "started_by": "VARCHAR",
        "how": "VARCHAR",
        "created_at": "TIMESTAMP",
    },
    # schedules of workflow versions (engine/automation/schedules.py); the newest row per schedule_id wins
    "schedules": {
        "schedule_id": "VARCHAR",
        "workflow_id": "VARCHAR",
        "version": "INTEGER",
        "source": "VARCHAR",  # file (the workflow version's [[schedules]]) | api | cli | app
        "definition": "JSON",  # the ScheduleSpec (cron/every, timezone, context, catchup, priority)
        "enabled": "BOOLEAN",
        "status": "VARCHAR",  # active | removed
        "active_since": "TIMESTAMP",  # slots before this are never fired (registration, resume)
        "changed_by": "VARCHAR",
        "created_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
        "seq": "BIGINT",
    },
    # one row per slot of a schedule, recorded (claimed) BEFORE its run starts; fire_key = schedule_id@time
    "schedule_fires": {
        "fire_key": "VARCHAR",
        "schedule_id": "VARCHAR",
        "workflow_id": "VARCHAR",
        "fire_time": "TIMESTAMP",
        "execution_id": "VARCHAR",
        "status": "VARCHAR",  # claimed | started | skipped | failed
        "message": "VARCHAR",
        "fired_by": "VARCHAR",  # host:pid of the service process
        "created_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
        "seq": "BIGINT",
    },
    # webhook and file triggers (engine/automation/triggers.py); secrets only as references or SHA-256
    "triggers": {
        "trigger_id": "VARCHAR",
        "workflow_id": "VARCHAR",
        "version": "INTEGER",
        "kind": "VARCHAR",  # webhook | file
        "source": "VARCHAR",
        "definition": "JSON",
        "token_hash": "VARCHAR",  # token webhooks created through the API/CLI: SHA-256 of the token
        "enabled": "BOOLEAN",
        "status": "VARCHAR",  # active | removed
        "active_since": "TIMESTAMP",
        "created_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
        "seq": "BIGINT",
    },
    # what a trigger did: a file version seen (event_key = path|size|mtime|sha256) or a webhook call
    "trigger_events": {
        "id": "VARCHAR",
        "trigger_id": "VARCHAR",
        "workflow_id": "VARCHAR",
        "kind": "VARCHAR",
        "event_key": "VARCHAR",
        "execution_id": "VARCHAR",
        "status": "VARCHAR",  # started | refused | failed
        "details": "JSON",
        "created_at": "TIMESTAMP",
    },
    # notifications (engine/automation/notifier.py): a claim (attempt 0) before sending, then one row per attempt
    "notifications": {
        "id": "VARCHAR",
        "claim_id": "VARCHAR",
        "dedupe_key": "VARCHAR",  # event_key|channel
        "event_key": "VARCHAR",  # execution:failed, execution:waiting:request, execution:deadline:state:visit
        "execution_id": "VARCHAR",
        "workflow_id": "VARCHAR",
        "workflow_name": "VARCHAR",
        "version": "INTEGER",
        "event": "VARCHAR",  # failed | waiting | deadline | completed
        "state": "VARCHAR",
        "request_id": "VARCHAR",
        "channel": "VARCHAR",
        "channel_type": "VARCHAR",  # slack | webhook | email
        "target": "VARCHAR",  # scheme://host of a URL or the recipients; never a URL path (may be a secret)
        "attempt": "INTEGER",
        "status": "VARCHAR",  # claimed | sent | error | gave_up
        "error": "VARCHAR",
        "detail": "VARCHAR",
        "event_data": "JSON",
        "channel_spec": "JSON",  # a workflow's inline channel (to finish a dead owner's claim)
        "owner": "VARCHAR",
        "created_at": "TIMESTAMP",
    },
}

# tables whose view keeps only the newest row per key
LATEST_BY: dict[str, tuple[str, ...]] = {
    "workflows": ("workflow_id", "version"),
    "workflow_executions": ("execution_id",),
    "optimization_records": ("id",),
    "human_requests": ("request_id",),
    "engine_leases": ("owner",),
    "api_tokens": ("token_id",),
    "workflow_shares": ("share_id",),
    "schedules": ("schedule_id",),
    "schedule_fires": ("fire_key",),
    "triggers": ("trigger_id",),
}

# queued: admitted by the service, waiting for a slot (its limits: max_concurrent_runs, --max-runs)
EXECUTION_STATUSES = ("queued", "pending", "running", "waiting", "completed", "failed", "cancelled", "recovering")
TIMER_REQUEST = "timer"  # the human_requests kind of a wait step: nobody is asked, it ends when the wait is over
FINISHED_STATUSES = frozenset({"completed", "failed", "cancelled"})  # a run in these never changes again
LIVE_STATUSES = ("queued", "pending", "running", "recovering", "waiting")  # every other status: the run may go on
JSON_COLUMNS = {t: {c for c, ty in cols.items() if ty == "JSON"} for t, cols in TABLES.items()}
