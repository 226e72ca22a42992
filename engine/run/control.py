"""Controlling runs from outside their drive: cancel, resume, re-run, and the poller.

- :meth:`ControlMixin.cancel` stops a run driven here, marks a run nobody drives as cancelled in
  the store (its sub-workflow runs too), or asks the driving process through ``control_requests``.
- :meth:`resume` continues an interrupted or waiting run from its records; :meth:`rerun` starts a
  new run that reuses the results recorded before a chosen state. Both replay: the walk reuses each
  recorded ``(token, state, visit)`` result instead of running the state (:meth:`_load_replay`).
- The poller (:meth:`_poller`, on the loop) keeps this process's lease and picks up cancels and
  answers other processes wrote for runs driven here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from typing import Any

from engine import records
from engine.errors import WorkbenchError
from engine.run.parts import EngineParts
from engine.run.recorder import cancel_request_row
from engine.run.state import Exec, RunError, RunOptions, now
from engine.schema import FINISHED_STATUSES
from engine.workflow_file import WorkflowSpec

log = logging.getLogger("workbench.runner")

HUMAN_POLL_S = 0.4
REPLAYED_STATUSES = ("completed", "skipped", "fallback", "decision", "join")  # recorded rows a replay reuses


class ControlMixin(EngineParts):
    """Cancel, resume and re-run; loading a run back from its records; the cross-process poller."""

    # ----------------------------------------------------------------------------- cancel
    def cancel(self, execution_id: str, reason: str = "cancelled by user") -> str:
        """Cancel a run driven here, or ask the process driving it (via the store)."""
        ex = self.execs.get(execution_id)
        if isinstance(ex, Exec) and not ex.done.done():
            self._loop.call_soon_threadsafe(self._cancel_local, ex, reason)
            return "cancelling"
        row = self.execution_row(execution_id)
        if row is None:
            raise RunError(f"no execution {execution_id}")
        if row["status"] in FINISHED_STATUSES:
            return f"already {row['status']}"
        if row["status"] == "waiting" or not self._owner_alive(row.get("owner")):
            self._append_exec_row_raw(row, status="cancelled", error_message=reason, end_time=now())
            self._audit(execution_id, "warning", None, "run_cancelled", reason)
            self._cancel_recorded_children(execution_id, reason)
            return "cancelled"
        self.store.append("control_requests", cancel_request_row(execution_id, now()))
        return "cancel requested"

    def _cancel_recorded_children(self, parent_id: str, reason: str) -> None:
        """A run cancelled in the store only (nobody drives it): its unfinished sub-workflow runs too."""
        frontier = [parent_id]
        while frontier:
            kids = records.child_executions(self.store, frontier)
            for kid in kids:
                if kid["status"] not in FINISHED_STATUSES:
                    why = f"cancelled: its parent run {kid['parent_execution_id']} was cancelled — {reason}"
                    self._append_exec_row_raw(kid, status="cancelled", error_message=why, end_time=now())
                    self._audit(kid["execution_id"], "warning", None, "run_cancelled", why)
            frontier = [k["execution_id"] for k in kids]

    def _owner_alive(self, owner: str | None) -> bool:
        """Whether the process that drove a run still does: its lease in the records (engine/leases.py)."""
        from engine import leases

        return leases.owner_alive(self.store, owner, self.owner)

    # ----------------------------------------------------------------------------- resume and re-run
    def resume(self, execution_id: str, options: RunOptions | None = None) -> str:
        """Continue an interrupted or waiting execution from its records (completed states are not re-run)."""
        local = self.execs.get(execution_id)
        if local is not None and local.task is not None and not local.task.done():
            return execution_id  # already driven here
        row = records.execution(self.store, execution_id)
        if row is None:
            raise RunError(f"no execution {execution_id}")
        if row["status"] in FINISHED_STATUSES:
            raise RunError(f"execution {execution_id} is already {row['status']}; use rerun to run it again")
        top = self._unfinished_top(row)
        if top["execution_id"] != execution_id:  # a sub-workflow run continues through the run that awaits it
            return self.resume(top["execution_id"], options)
        if row.get("owner") != self.owner and self._owner_alive(row.get("owner")):
            raise RunError(
                f"execution {execution_id} is still being driven by process {row['owner']}; "
                "it continues there (answers and cancels reach it through the store)"
            )
        spec, _ = self._spec_for(row)
        opts = options or RunOptions(
            **{k: v for k, v in (row.get("options") or {}).items() if k in RunOptions.__dataclass_fields__}
        )
        if options is None:
            opts.detach_when_waiting = False
        ex = Exec(self, execution_id, spec, row["initial_context"] or {}, opts, row["workflow_id"], row["version"])
        ex.start_time = row["start_time"] or ex.start_time
        ex.resumed = True
        # the run's duration spans every drive and the time between (waiting for a person while detached,
        # a process gone): its clock starts at the recorded start, not at this resume
        if isinstance(ex.start_time, dt.datetime):
            ex.t0 -= max(0.0, (now() - ex.start_time).total_seconds())
        ex.parent_id, ex.rerun_of, ex.rerun_from = (
            row.get("parent_execution_id"),
            row.get("rerun_of"),
            row.get("rerun_from"),
        )
        self._load_replay(ex, execution_id)
        self._audit(
            execution_id,
            "info",
            None,
            "run_resumed",
            f"resumed by {self.owner}; {len(ex.replay)} recorded state results will be reused",
        )
        self._launch(ex)
        return execution_id

    def rerun(self, execution_id: str, from_state: str, options: RunOptions | None = None) -> str:
        """New execution reusing the recorded results of states that finished before ``from_state`` started."""
        row = records.execution(self.store, execution_id)
        if row is None:
            raise RunError(f"no execution {execution_id}")
        spec, _ = self._spec_for(row)
        if from_state not in spec.model.states:
            raise RunError(f"workflow has no state '{from_state}'; states: {', '.join(spec.model.states)}")
        rows = records.transitions(self.store, execution_id)
        firsts = [r for r in rows if r["from_state"] == from_state]
        if not firsts:
            raise RunError(
                f"'{from_state}' never ran in execution {execution_id}; choose a state it reached: "
                + ", ".join(dict.fromkeys(r["from_state"] for r in rows))
            )
        cut = min(r["started_at"] or r["timestamp"] for r in firsts)
        ex = Exec(
            self,
            uuid.uuid4().hex[:16],
            spec,
            row["initial_context"] or {},
            options or RunOptions(),
            row["workflow_id"],
            row["version"],
        )
        ex.rerun_of, ex.rerun_from = execution_id, from_state
        self._load_replay(ex, execution_id, before=cut)
        self._launch(ex)
        return ex.id

    def _unfinished_top(self, row: dict) -> dict:
        """The outermost unfinished run above a sub-workflow run's record (the record itself if none)."""
        seen = {row["execution_id"]}
        while row.get("parent_execution_id") and row["parent_execution_id"] not in seen:
            parent = records.execution(self.store, row["parent_execution_id"])
            if parent is None or parent["status"] in FINISHED_STATUSES:
                break
            row = parent
            seen.add(row["execution_id"])
        return row

    def _spec_for(self, row: dict) -> tuple[WorkflowSpec, dict]:
        """The workflow a recorded run ran (the library version, else the spec kept in its options)."""
        opts = records.loads(row.get("options"), None) or {}
        try:
            from engine.library import get_workflow

            spec, meta = get_workflow(self.store, row["workflow_id"], row["version"])
            if spec.source_path is None and opts.get("_source_path"):
                # the run's file still anchors its relative paths (sub-workflow files, data, functions)
                spec = spec.model_copy()
                spec.source_path = opts["_source_path"]
            return spec, meta
        except (WorkbenchError, ImportError):
            if opts.get("_spec"):
                spec = WorkflowSpec.model_validate(opts["_spec"])
                spec.source_path = opts.get("_source_path")
                return spec, {}
            raise RunError(
                f"the workflow of execution {row['execution_id']} ({row['workflow_id']} "
                f"v{row['version']}) is no longer available"
            ) from None

    def _load_replay(self, ex: Exec, source_id: str, before: Any = None) -> None:
        """Fill ``ex.replay`` (and answers) from a run's records (those that ended before ``before``)."""
        rows = records.transitions(self.store, source_id)
        for r in rows:
            if before is not None and (r["ended_at"] or r["timestamp"]) > before:
                continue
            if r["status"] not in REPLAYED_STATUSES:
                continue
            key = (r["token"], r["from_state"], int(r["visit"] or 0))
            rec = ex.replay.setdefault(key, {})
            if r["status"] == "decision":
                rec["to_state"] = r["to_state"]
                continue
            rec.update(
                status=r["status"],
                updates=records.loads(r["context_snapshot"], None) or {},
                to_state=r["to_state"] or rec.get("to_state"),
                transition_type=r["transition_type"],
                error=r["error_message"],
            )
        if before is None:
            for h in records.answered_requests(self.store, [source_id]):
                ex.answers[h["request_id"]] = h["answer"]
        if source_id == ex.id:  # driving the same execution again: its record numbers continue
            ex.seq = max(ex.seq, self._max_recorded_seq(ex.id, rows))

    def _max_recorded_seq(self, execution_id: str, transitions: list[dict]) -> int:
        """The highest record number an execution used so far (its transition ids end in it, its
        execution rows carry it as ``seq``), so that a resumed drive never repeats an id."""
        prefix = f"{execution_id}-"
        top = 0
        for r in transitions:
            tail = (r.get("id") or "")[len(prefix) :]
            if (r.get("id") or "").startswith(prefix) and tail.isdigit():
                top = max(top, int(tail))
        return max(top, records.max_execution_seq(self.store, execution_id))

    # ----------------------------------------------------------------------------- the poller
    async def _poller(self) -> None:
        """Picks up cancel requests and answers written by other processes.

        It must outlive anything: an exception in one tick is logged and the next tick runs."""
        from engine.leases import LeaseKeeper

        lease = LeaseKeeper(self.store, self.owner)
        while True:
            try:
                await asyncio.sleep(HUMAN_POLL_S)
                lease.tick(driving=any(not e.done.done() for e in self._exec_snapshot()))
                await self._poll_once()
            except asyncio.CancelledError:
                raise  # shutdown()
            except RuntimeError as exc:
                if "shutdown" in str(exc):  # interpreter shutting down
                    return
                log.warning("poller: %s", exc, exc_info=True)
            except Exception as exc:
                log.warning("poller: %s", exc, exc_info=True)

    async def _poll_once(self) -> None:
        """One look at the store for cancels and answers addressed to runs driven here."""
        loop = asyncio.get_running_loop()
        live = [e for e in self._exec_snapshot() if not e.done.done()]
        if not live:
            return
        ids = [e.id for e in live]
        for eid in await loop.run_in_executor(None, records.cancel_requested, self.store, ids):
            ex = self.execs.get(eid)
            if isinstance(ex, Exec) and not ex.done.done() and not ex.cancel_requested:
                self._cancel_local(ex, "cancelled by request")
        waiting_ids = [e.id for e in live if e.waiters]
        if waiting_ids:
            for r in await loop.run_in_executor(None, records.answered_requests, self.store, waiting_ids):
                ex = self.execs.get(r["execution_id"])
                if isinstance(ex, Exec) and r["request_id"] in ex.waiters:
                    self._deliver_answer(ex, r["request_id"], r["answer"])
