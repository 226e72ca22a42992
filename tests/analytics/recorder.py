"""Hand-written records shaped exactly like the runner's, for tests with hand-computed expectations."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from engine.workflow_file import WorkflowSpec


class Recorder:
    """Collects rows, then writes them with one ``append_many`` per table."""

    def __init__(self, store):
        self.store = store
        self.rows: dict[str, list[dict]] = {}

    def add(self, table: str, row: dict) -> dict:
        self.rows.setdefault(table, []).append(row)
        return row

    def execution(
        self,
        eid: str,
        *,
        wid: str,
        name: str,
        version: int = 1,
        status: str = "completed",
        start: datetime,
        duration_ms: int | None = None,
        spec: WorkflowSpec | None = None,
        initial_context: dict | None = None,
        error_count: int = 0,
        retry_count: int = 0,
    ) -> dict:
        end = start + timedelta(milliseconds=duration_ms) if duration_ms is not None else None
        return self.add(
            "workflow_executions",
            {
                "execution_id": eid,
                "workflow_id": wid,
                "workflow_name": name,
                "version": version,
                "status": status,
                "initial_context": initial_context or {},
                "final_context": {},
                "states_visited": [],
                "error_count": error_count,
                "retry_count": retry_count,
                "options": {"execution": "auto", "_spec": spec.model_dump(mode="json") if spec else None},
                "start_time": start,
                "end_time": end,
                "duration_ms": duration_ms,
                "updated_at": end or start,
                "seq": 2,
            },
        )

    def step(
        self,
        eid: str,
        state: str,
        *,
        wid: str,
        version: int = 1,
        start: datetime,
        ms: float,
        status: str = "completed",
        to: str | None = None,
        token: str = "0",
        visit: int = 0,
        attempt: int = 1,
        reads: list | None = None,
        updates: dict | None = None,
        executed_on: str = "ray",
        error_type: str | None = None,
        error_message: str | None = None,
        ai: dict | None = None,
    ) -> dict:
        updates = updates if updates is not None else {}
        return self.add(
            "state_transitions",
            {
                "id": uuid.uuid4().hex,
                "execution_id": eid,
                "workflow_id": wid,
                "version": version,
                "from_state": state,
                "to_state": to,
                "transition_type": "error" if status == "failed" else "normal",
                "token": token,
                "visit": visit,
                "attempt": attempt,
                "status": status,
                "context_snapshot": updates,
                "keys_read": reads if reads is not None else [],
                "keys_written": sorted(updates),
                "action": "python",
                "executed_on": executed_on,
                "ai_decision_used": bool(ai),
                "ai_confidence_score": (ai or {}).get("confidence"),
                "error_type": error_type,
                "error_message": error_message,
                "started_at": start,
                "ended_at": start + timedelta(milliseconds=ms),
                "timestamp": start + timedelta(milliseconds=ms),
                "duration_ms": float(ms),
            },
        )

    def recovery(
        self,
        eid: str,
        state: str,
        *,
        wid: str,
        at: datetime,
        strategy: str,
        success: bool,
        chosen_by: str = "rules",
        token: str = "0",
        error_type: str = "ConnectionError",
    ) -> dict:
        return self.add(
            "recovery_actions",
            {
                "id": uuid.uuid4().hex,
                "execution_id": eid,
                "workflow_id": wid,
                "timestamp": at,
                "error_type": error_type,
                "error_class": "transient",
                "error_message": "boom",
                "error_state": state,
                "error_context": {"keys": [], "token": token},
                "recovery_strategy": strategy,
                "chosen_by": chosen_by,
                "ai_suggested": False,
                "reasoning": "test",
                "parameters": {},
                "attempt": 1,
                "success": success,
                "recovery_duration_ms": 10.0,
            },
        )

    def decision(
        self,
        eid: str,
        *,
        wid: str,
        at: datetime,
        decided_by: str,
        confidence: int | None,
        result: bool = True,
        state: str = "check",
        condition: str = '"looks fine"',
        context_hash: str | None = None,
    ) -> dict:
        return self.add(
            "ai_decisions",
            {
                "id": uuid.uuid4().hex,
                "execution_id": eid,
                "workflow_id": wid,
                "state": state,
                "condition": condition,
                "context_hash": context_hash or uuid.uuid4().hex,
                "result": result,
                "chosen": "next",
                "reasoning": "test",
                "confidence": confidence,
                "provider": "test",
                "decided_by": decided_by,
                "timestamp": at,
            },
        )

    def llm_call(
        self,
        *,
        at: datetime,
        cost: float,
        cache_hit: bool = False,
        wid: str | None = None,
        operation: str = "decision",
        model: str = "gpt-4o",
        prompt_tokens: int = 100,
        completion_tokens: int = 20,
        eid: str | None = None,
    ) -> dict:
        return self.add(
            "llm_calls",
            {
                "id": uuid.uuid4().hex,
                "timestamp": at,
                "operation": operation,
                "provider": "openai",
                "model": model,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "cost_usd": cost,
                "latency_ms": 0.0 if cache_hit else 300.0,
                "cache_hit": cache_hit,
                "success": True,
                "workflow_id": wid,
                "execution_id": eid,
            },
        )

    def write(self) -> None:
        for table, rows in self.rows.items():
            self.store.append_many(table, rows)
        self.rows = {}
        self.store.flush()
