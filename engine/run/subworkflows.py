"""Sub-workflows: a ``workflow`` state runs another workflow as a child run and waits for it.

The child has a deterministic id (:func:`child_execution_id`, so a resume finds it again), is driven
as a task of its own on the same loop, and stops with its parent (cancel, timeout). Nesting is
bounded (``settings.max_subworkflow_depth``); a chain that goes too deep ends the whole run with a
message naming the chain and any cycle (:func:`depth_error`).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

from engine.errors import WorkbenchError
from engine.run.outcome import Outcome
from engine.run.parts import EngineParts
from engine.run.state import DRIVER_ACTIONS, REPO_ROOT, Detach, Exec, Failed, RunOptions, Token
from engine.workflow_file import StateBinding, WorkflowSpec, load_workflow

CHILD_ID_MAX = 60


def child_execution_id(parent_id: str, token_id: str, state: str, visit: int) -> str:
    """Deterministic id of the sub-workflow run a state starts (a resume finds the same child again).

    Readable ``<parent>-<state>-<visit>`` while it fits; deeper down a hash of the full name keeps it
    short *and* distinct (cutting it to length once made a child's id equal to its parent's)."""
    readable = f"{parent_id}-{state}-{visit}" + ("" if token_id == "0" else f"-t{token_id}")
    if len(readable) <= CHILD_ID_MAX:
        return readable
    digest = hashlib.sha1(readable.encode()).hexdigest()[:12]
    return f"{parent_id[:16]}-{state[:20]}-{visit}-{digest}"


def workflow_key(spec: WorkflowSpec) -> str:
    """What makes two sub-workflow levels 'the same workflow' (its file, else its name)."""
    if spec.source_path:
        try:
            return str(Path(spec.source_path).resolve())
        except OSError:
            return spec.source_path
    return f"name:{spec.name}"


def depth_error(chain: list[tuple[str, str]], limit: int) -> str:
    """The message of a sub-workflow chain that went deeper than ``limit`` (names the chain and any cycle)."""
    names = [name for _, name in chain]
    shown = names if len(names) <= 16 else names[:6] + ["…"] + names[-6:]
    msg = f"sub-workflow depth limit of {limit} reached: " + " → ".join(shown)
    keys = [key for key, _ in chain]
    for i, key in enumerate(keys):
        if key in keys[i + 1 :]:
            j = keys.index(key, i + 1)
            via = names[i + 1 : j]
            msg += f" ('{names[i]}' calls itself" + (f" through {' → '.join(via)})" if via else ")")
            break
    return (
        msg + ". Raise settings.max_subworkflow_depth (or RunOptions.max_subworkflow_depth) if the nesting "
        "is intended, or add a condition that ends the recursion"
    )


def stopped_by_parent(parent: Exec) -> str:
    """Why a sub-workflow run stops with its parent: the parent, and the cause at the top of the chain."""
    cause = parent.error or "cancelled"
    cause = cause.split(" — ", 1)[1] if " — " in cause else cause
    if parent.timed_out:
        return f"timed out: its parent run {parent.id} timed out — {cause}"
    return f"cancelled: its parent run {parent.id} was cancelled — {cause}"


class SubWorkflowMixin(EngineParts):
    """Loading, starting and awaiting sub-workflow runs (the ``workflow`` action)."""

    def _load_sub_workflow(self, workflow_dir: str | None, ref: str) -> WorkflowSpec:
        """The spec a ``workflow`` state names: a file (relative to the calling workflow's directory,
        as given, or under data/templates), else a library workflow; raises WorkbenchError."""
        from engine.sandbox import resolve_allowed_file  # only inside allowed folders (docs/security.md)
        from engine.workflow_file import WorkflowFileError

        try:
            path = resolve_allowed_file(
                ref, workflow_dir, what="sub-workflow", extra_bases=[REPO_ROOT / "data" / "templates", REPO_ROOT]
            )
        except FileNotFoundError:
            path = None
        except PermissionError as exc:
            raise WorkflowFileError(str(exc)) from None
        if path is not None:
            return load_workflow(path)
        from engine.library import get_workflow

        return get_workflow(self.store, ref)[0]

    def _needs_ray(self, spec: WorkflowSpec, seen: set | None = None) -> bool:
        """Whether a run of ``spec`` may submit Ray tasks, its sub-workflows included (each file once)."""
        seen = set() if seen is None else seen
        key = workflow_key(spec)
        if key in seen:
            return False
        seen.add(key)
        workflow_dir = str(Path(spec.source_path).parent) if spec.source_path else None
        for state in spec.model.states:
            b = spec.binding(state)
            if b.action == "workflow":
                try:
                    if self._needs_ray(self._load_sub_workflow(workflow_dir, b.workflow or ""), seen):
                        return True
                except WorkbenchError:
                    continue  # missing or invalid: the state will fail with its own clear error
            elif b.action not in ("noop", *DRIVER_ACTIONS) and b.execution != "inline":
                return True
        return False

    async def _sub_workflow(self, ex: Exec, token: Token, state: str, visit: int, binding: StateBinding) -> dict:
        """Run the state's sub-workflow as a child run; the task-style result record of the state."""
        t0 = time.time()
        ref = binding.workflow or ""
        try:
            child_spec = self._load_sub_workflow(ex.workflow_dir, ref)
        except WorkbenchError as exc:
            return dict(
                Outcome.failure("FileNotFoundError", f"sub-workflow '{ref}' not found: {exc}", "inline", t0).record
            )
        above = ex.chain or ((workflow_key(ex.spec), ex.spec.name),)
        chain = [*above, (workflow_key(child_spec), child_spec.name)]
        if ex.depth + 1 > ex.max_depth:  # e.g. a workflow that calls itself: refuse, never retry
            raise self._sub_workflow_fatal(ex, token, state, visit, depth_error(chain, ex.max_depth), t0)
        child_id = child_execution_id(ex.id, token.id, state, visit)
        rows = await asyncio.get_running_loop().run_in_executor(None, self.execution_row, child_id)
        params = binding.params or {}
        child_ctx = {**token.context, **params}
        if not rows:  # a new child: its own [inputs] (defaults applied) and secrets, as every start checks
            from engine.inputs import check_start

            try:
                child_ctx = check_start(child_spec, child_ctx)
            except WorkbenchError as exc:  # InputValidationError names the field, SecretError the secret
                message = f"sub-workflow '{child_spec.name}' refused its inputs: {exc}"
                return dict(Outcome.failure(type(exc).__name__, message, "inline", t0).record)
        child = Exec(
            self,
            child_id,
            child_spec,
            child_ctx,
            RunOptions(
                execution=ex.options.execution,
                ai_decisions=ex.ai_decisions,
                auto_recovery=ex.auto_recovery,
                max_subworkflow_depth=ex.max_depth,
                detach_when_waiting=ex.options.detach_when_waiting,
            ),
            None,
            None,
        )
        child.parent_id = ex.id
        child.depth, child.chain = ex.depth + 1, tuple(chain)
        if rows and rows["status"] == "completed":
            final = rows["final_context"] or {}
            return {"status": "completed", "updates": final, "started_at": t0, "ended_at": time.time()}
        if rows:
            self._load_replay(child, child_id)
        self._register(child)
        # the child is a task of its own (so it can be cancelled by id); the parent awaits it shielded,
        # so that a cancel or timeout of the parent stops the child with a reason and waits for its record
        child.task = asyncio.get_running_loop().create_task(self._drive(child))
        try:
            await asyncio.shield(child.task)
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if ex.cancel_requested or not child.task.done() or (me is not None and me.cancelling()):
                self._cancel_local(child, stopped_by_parent(ex), timed_out=ex.timed_out)
                await asyncio.wait({child.task}, timeout=30)
                raise
            # else only the child's task ended cancelled: handled below as a cancelled child
        res = child.result()
        if res.status == "completed":
            return {
                "status": "completed",
                "updates": res.final_context,
                "started_at": t0,
                "ended_at": time.time(),
                "keys_read": sorted(child_ctx),
                "keys_written": sorted(res.final_context),
            }
        if res.status == "waiting":  # the child stopped driving until a person answers: so does this run
            for request_id, waiting in child.waiting.items():  # listed here too (answer through either run)
                ex.waiting[request_id] = waiting
            raise Detach()
        if child.depth_exceeded and res.status == "failed":  # the same clear message, one level up
            raise self._sub_workflow_fatal(ex, token, state, visit, child.depth_exceeded, t0)
        if res.status == "cancelled" and not child.timed_out:
            # the child alone was cancelled (by its id): a cancellation is never retried, so the
            # whole run stops as cancelled too
            self._cancel_local(
                ex, f"cancelled: its sub-workflow run {child_id} ('{child_spec.name}') was cancelled ({res.error})"
            )
            raise asyncio.CancelledError()
        return dict(
            Outcome.failure(
                "SubWorkflowFailed",
                f"sub-workflow '{child_spec.name}' ({child_id}) {res.status}: {res.error}",
                "inline",
                t0,
            ).record
        )

    def _sub_workflow_fatal(self, ex: Exec, token: Token, state: str, visit: int, message: str, t0: float) -> Failed:
        """Record the sub-workflow state as failed and return the error that ends the whole run."""
        ex.error_count += 1
        ex.depth_exceeded = message
        self._record_step(
            ex,
            token,
            state,
            visit,
            status="failed",
            to_state=None,
            ttype="error",
            action="workflow",
            out={
                "error_type": "SubWorkflowDepthExceeded",
                "error_message": message,
                "started_at": t0,
                "ended_at": time.time(),
            },
        )
        self._audit(ex.id, "error", state, "state_failed", message, {"token": token.id})
        return Failed(message, "SubWorkflowDepthExceeded", state)
