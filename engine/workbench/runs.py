"""Run views: the lists and records of runs (through :mod:`engine.records`), graph statuses, timeline
rows, the context after each step, and starting, resuming and answering runs."""

from __future__ import annotations

import copy
import datetime as dt

from engine import records
from engine.dsl.model import END, START
from engine.errors import WorkbenchError
from engine.schema import FINISHED_STATUSES, LIVE_STATUSES, TIMER_REQUEST
from engine.workflow_file import WorkflowSpec


def run_options(
    timeout_s: float | None = None,
    ai_decisions: bool | None = None,
    auto_recovery: bool | None = None,
    decision_threshold: int | None = None,
    max_steps: int | None = None,
):
    """RunOptions from the Run page's fields (empty values mean the workflow's settings)."""
    from engine.runner import RunOptions

    return RunOptions(
        timeout_s=timeout_s or None,
        max_steps=max_steps or None,
        ai_decisions=ai_decisions,
        auto_recovery=auto_recovery,
        decision_threshold=decision_threshold,
    )


def start_run(
    engine, spec: WorkflowSpec, context: dict, options, workflow_id: str | None = None, version: int | None = None
) -> str:
    """Start a run pinned to a library version (saving one when the spec has none)."""
    if workflow_id is None or version is None:
        from engine.api import ensure_version

        workflow_id, version = ensure_version(spec, engine.store)
    return engine.start(spec, context, options, workflow_id=workflow_id, version=int(version))


def executions(
    store,
    workflow: str | None = None,
    status: str | None = None,
    text: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 200,
) -> list[dict]:
    """Top-level executions, newest first: :func:`engine.records.executions`; ``text`` also finds runs
    by their inputs (initial context) and the re-runs of a run by its id. Each row has ``inputs``."""
    rows = records.executions(store, workflow=workflow, status=status, text=text, since=since, limit=limit)
    if text:
        from engine.workbench import run_state

        have = {r["execution_id"] for r in rows}
        extra = [i for i in run_state.text_matches(store, text, limit) if i not in have]
        if extra:
            more = records.executions(store, workflow=workflow, status=status, since=since, limit=100_000)
            wanted = set(extra)
            rows += [r for r in more if r["execution_id"] in wanted]
            rows.sort(key=lambda r: r["start_time"] or dt.datetime.min, reverse=True)
            rows = rows[:limit]
    from engine.workbench.run_state import inputs_of

    inputs = inputs_of(store, [r["execution_id"] for r in rows])
    for r in rows:
        r["inputs"] = inputs.get(r["execution_id"], "")
    return rows


def workflow_names(store) -> list[str]:
    """Names of the workflows that have runs."""
    return records.workflow_names(store)


def execution(store, execution_id: str) -> dict | None:
    """One execution with its JSON columns decoded (``None`` when unknown)."""
    return records.execution(store, execution_id)


def transitions(store, execution_id: str) -> list[dict]:
    """A run's transitions in record order."""
    return records.transitions(store, execution_id)


def audit_log(store, execution_id: str, include_debug: bool = False) -> list[dict]:
    """A run's audit log, without debug lines unless ``include_debug``."""
    return records.audit_log(store, execution_id, include_debug=include_debug)


def recovery_actions(store, execution_id: str) -> list[dict]:
    """A run's recovery actions (summary columns)."""
    return records.recovery_actions(store, execution_id)


def open_requests(store, execution_id: str) -> list[dict]:
    """A run's open requests for a person, options and details decoded; none once the run has ended
    (a cancelled run shows no Approve/Reject even if its request row was left open)."""
    from engine.workbench.run_state import live_requests

    return live_requests(store, records.execution(store, execution_id))


def ai_decisions(store, execution_id: str, exec_row: dict | None = None) -> list[dict]:
    """AI decisions of a run: the decision service's records, else the run's own summary."""
    rows = []
    try:
        rows = records.ai_decisions(store, execution_id)
    except WorkbenchError:
        rows = []
    if rows:
        return rows
    ex = exec_row if exec_row is not None else execution(store, execution_id)
    return [dict(d) for d in ((ex or {}).get("ai_decisions") or [])]


def _owner_alive(engine, owner: str | None) -> bool:
    check = getattr(engine, "_owner_alive", None)
    return True if check is None else bool(check(owner))


def interrupted_runs(engine, limit: int = 50) -> list[dict]:
    """Runs no live process drives any more (the app or a CLI stopped): they can be resumed.

    A run waiting for a person is not interrupted (the answer continues it): see :func:`waiting_runs`. A
    run whose driver stopped during a wait step gets ``timer_until``, when its wait ends (a running
    service takes it over then; resuming it earlier waits what is left)."""
    from engine.run.people import expiry_of, is_expired
    from engine.workbench.run_state import is_waiting_for_person, live_requests

    rows = records.unfinished_runs(engine.store, int(limit) * 4)
    live = set(engine.live_executions())
    out = []
    for r in rows:
        if r["execution_id"] in live or _owner_alive(engine, r.get("owner")):
            continue
        if r.get("status") == "waiting":
            reqs = live_requests(engine.store, r)  # read once for both questions
            if is_waiting_for_person(engine.store, r, reqs):
                continue
            timers = [q for q in reqs if q.get("kind") == TIMER_REQUEST and not is_expired(q)]
            ends = [e for e in (expiry_of(q) for q in timers) if e is not None]
            r["timer_until"] = min(ends) if ends else None
        r["resumable"] = True
        out.append(r)
    return out[:limit]


def waiting_runs(store, limit: int = 20) -> list[dict]:
    """Runs waiting for a person, newest first, each with ``waiting_for`` (what they wait for)."""
    from engine.workbench.run_state import live_requests, waiting_text

    out = []
    for r in records.runs_needing_attention(store, limit):
        r["waiting_for"] = waiting_text(live_requests(store, r))
        out.append(r)
    return out


def can_resume(engine, exec_row: dict) -> bool:
    """True when the run is unfinished, no live process drives it, and it does not simply wait for a
    person (answering continues such a run)."""
    from engine.workbench.run_state import is_waiting_for_person

    return (
        exec_row.get("status") in LIVE_STATUSES
        and exec_row["execution_id"] not in engine.live_executions()
        and not _owner_alive(engine, exec_row.get("owner"))
        and not is_waiting_for_person(engine.store, exec_row)
    )


def is_live(exec_row: dict | None) -> bool:
    """True while the run may still change (not finished)."""
    return exec_row is not None and bool(exec_row) and exec_row.get("status") not in FINISHED_STATUSES


def targets(text: str | None) -> list[str]:
    """The state names of a transition's ``to_state`` text (``a`` or ``[a,b]``)."""
    if not text:
        return []
    if text.startswith("["):
        return [s.strip() for s in text.strip("[]").split(",") if s.strip()]
    return [text]


def node_statuses(
    trans: list[dict], exec_row: dict | None = None, requests: list[dict] | None = None
) -> dict[str, str]:
    """State -> completed | failed | running | waiting | skipped | retrying | reused (pending when absent).

    ``reused``: a re-run took the step's recorded result from its source run (rows with ``reused``,
    see :func:`run_transitions`).

    ``running``: the state a token moved to and has not recorded yet (the frontier of each branch).
    """
    status: dict[str, str] = {}
    frontier: dict[str, set[str]] = {}
    for t in trans:
        s, tok = t["from_state"], t.get("token") or "0"
        st = t["status"]
        if s and s.startswith("["):  # a join record
            for e in targets(s):
                status.setdefault(e, "completed")
        elif st in ("completed", "fallback"):
            status[s] = "completed"
        elif st == "skipped":
            status[s] = "skipped"
        elif st == "failed":
            status[s] = "failed"
        elif st == "decision":
            status.setdefault(s, "completed")
        if t.get("reused") and s and not s.startswith("[") and s != START:
            status[s] = "reused"  # a re-run took this step's recorded result from its source run
        if st != "failed":
            # recorded: no longer pending in this token or any token it branched from
            anc = tok
            while True:
                frontier.get(anc, set()).discard(s)
                if "." not in anc:
                    break
                anc = anc.rsplit(".", 1)[0]
            for nxt in targets(t.get("to_state")):
                frontier.setdefault(tok, set()).add(nxt)
    finished = exec_row is not None and exec_row.get("status") in FINISHED_STATUSES
    if not finished:
        for states in frontier.values():
            for s in states:
                if s != END:
                    status[s] = "retrying" if status.get(s) == "failed" else "running"
        if exec_row and exec_row.get("status") == "recovering" and exec_row.get("current_state"):
            status[exec_row["current_state"]] = "retrying"
    for r in requests or []:  # a wait step's timer asks nobody: the step is running, not waiting for you
        status[r["state"]] = "running" if r.get("kind") == TIMER_REQUEST else "waiting"
    if trans:
        status[START] = "completed"
    if exec_row and exec_row.get("status") == "completed":
        status[END] = "completed"
    elif exec_row and exec_row.get("status") in ("failed", "cancelled"):
        for s, v in list(status.items()):
            if v in ("running", "retrying"):
                status[s] = "cancelled" if exec_row["status"] == "cancelled" else "failed"
    return status


def token_lane(token: str, fork_targets: dict[str, list[str]] | None = None) -> str:
    """A readable lane name for a token: 'main', 'branch 2 (south_sales)'…"""
    if not token or token == "0":
        return "main"
    if token.endswith("~comp"):
        return "compensation"
    last = token.rsplit(".", 1)[-1]
    fork_no, _, branch = last.partition("-")
    name = ""
    if fork_targets:
        starts = fork_targets.get(token)
        if starts:
            name = f" ({starts[0]})"
    depth = token.count(".")
    prefix = "  " * (depth - 1)
    return f"{prefix}branch {branch}{name}" if branch else f"{prefix}{token}"


def run_transitions(store, exec_row: dict | None) -> list[dict]:
    """A run's transitions; for a re-run, preceded by the source run's records it reused (marked
    ``reused=True``), so its graph, context and steps show the whole path."""
    if not exec_row:
        return []
    from engine.workbench.run_state import reused_transitions

    return reused_transitions(store, exec_row) + records.transitions(store, exec_row["execution_id"])


def timeline_rows(trans: list[dict], now: dt.datetime | None = None, exec_row: dict | None = None) -> list[dict]:
    """One bar per recorded state run (attempts included): lane (token), state, start, end, status."""
    rows = []
    first_state: dict[str, str] = {}
    for t in trans:
        tok = t.get("token") or "0"
        s = t["from_state"]
        if t["status"] in ("decision",) or (s or "").startswith("[") or s == START:
            continue
        first_state.setdefault(tok, s)
        start = t.get("started_at") or t.get("timestamp")
        end = t.get("ended_at") or start
        if start is None:
            continue
        if end is not None and start is not None and end <= start:
            end = start + dt.timedelta(milliseconds=max(float(t.get("duration_ms") or 0), 2))
        rows.append(
            {
                "token": tok,
                "state": s,
                "start": start,
                "end": end,
                "status": t["status"],
                "attempt": t.get("attempt") or 1,
                "duration_ms": round(float(t.get("duration_ms") or 0), 1),
                "executed_on": t.get("executed_on") or "",
                "error": t.get("error_message") or "",
            }
        )
    lanes = {tok: token_lane(tok, {tok: [first_state[tok]]}) for tok in first_state}
    for r in rows:
        r["lane"] = lanes.get(r["token"], r["token"])
    return rows


def token_sort_key(tok: str):
    """Numeric order of token ids (``0.1-2`` before ``0.1-10``): :func:`engine.merge.token_sort_key`."""
    from engine.merge import token_sort_key as key

    return key(tok)


def context_steps(initial: dict | None, trans: list[dict]) -> list[dict]:
    """The context after each recorded step, rebuilt by replaying the recorded updates per branch.

    Uses :class:`engine.merge.ContextReplay`, the runner's own merge rule: each branch starts from a
    copy of its parent's context at the fork; a join merges the keys the branches wrote in branch
    order (the first branch's value is kept, conflicts listed in ``_conflicts``) plus the join's updates.
    """
    from engine.merge import ContextReplay

    replay = ContextReplay(copy.deepcopy(initial or {}))
    steps: list[dict] = []
    for t in trans:
        if replay.apply(t) is None:
            continue
        tok = t.get("token") or "0"
        updates = records.loads(t.get("context_snapshot"), {}) or {}
        steps.append(
            {
                "step": len(steps) + 1,
                "state": t["from_state"],
                "token": tok,
                "status": t["status"],
                "to_state": t.get("to_state"),
                "updates": updates,
                "reused": bool(t.get("reused")),
                "id": t.get("id"),
                "context": copy.deepcopy(replay.context(tok)),
            }
        )
    return steps


def step_logs(store, exec_row: dict | None) -> dict[str, dict]:
    """What each step printed, by transition id (:func:`engine.records.step_logs`); a re-run also gets
    its source run's logs (the steps it reused)."""
    if not exec_row:
        return {}
    ids = [exec_row["execution_id"]] + ([exec_row["rerun_of"]] if exec_row.get("rerun_of") else [])
    out: dict[str, dict] = {}
    for eid in reversed(ids):
        for log in records.step_logs(store, eid):
            out[log["id"]] = log
    return out


def last_initial_context(store, workflow_id: str | None) -> dict | None:
    """The initial context of the newest run of a workflow (to prefill the next run)."""
    return records.last_initial_context(store, workflow_id)


def runs_needing_attention(store, limit: int = 20) -> list[dict]:
    """Runs waiting for a person (approvals, low-confidence decisions, escalations)."""
    return records.runs_needing_attention(store, limit)


def answer_request(engine, execution_id: str, state: str, value: str, by: str = "app") -> str:
    """Deliver a person's answer; resumes the run here when no live process drives it.

    Raises ServiceError saying why when the run's current state takes no such answer (it ended, was
    cancelled, or does not wait at ``state``)."""
    from engine.workbench.common import ServiceError
    from engine.workbench.run_state import refusal

    why = refusal(engine, execution_id, "answer", state)
    if why:
        raise ServiceError(why)
    info = engine.answer(execution_id, state, value, by=by)
    if info.get("delivered") == "resume":
        engine.resume(execution_id)
        return "resumed"
    return info.get("delivered", "stored")


def recent_runs(store, ids: list[str]) -> list[dict]:
    """Summary rows of the runs started in this session, newest first."""
    return records.runs_by_id(store, ids)
