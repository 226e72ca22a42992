"""What a run is doing now, in one place for the app and the CLI: whether an action (approve, answer,
cancel, resume, re-run) can apply to the run's CURRENT state and why not, what a waiting run waits
for, the business outcome (the final state reached) beside the engine status, and the steps a re-run
reused from its source run. Read-only over the records (through the store's queries)."""

from __future__ import annotations

import json

from engine import records
from engine.dsl.model import END, START
from engine.schema import FINISHED_STATUSES, TIMER_REQUEST

ACTIONS = ("approve", "answer", "cancel", "resume", "rerun")
KIND_WORDS = {
    "approval": "an approval",
    "decision": "a decision",
    "escalation": "a decision on a failed step",
    TIMER_REQUEST: "its timer",
}


def _owner_alive(engine, owner: str | None) -> bool:
    check = getattr(engine, "_owner_alive", None)
    return True if check is None else bool(check(owner))


MAX_NESTED_LEVELS = 20  # sub-workflow levels searched for a person's request (real chains are far shorter)


def live_requests(store, exec_row: dict | None) -> list[dict]:
    """The run's open requests for a person — none once the run has ended (a cancelled or finished
    run takes no answers, even if a request row was left open). A run whose sub-workflow waits for a
    person gets that sub-workflow's requests (answering through the parent works, as in the engine)."""
    if not exec_row or exec_row.get("status") in FINISHED_STATUSES:
        return []
    reqs = records.human_requests(store, exec_row["execution_id"], open_only=True)
    frontier = [exec_row["execution_id"]]
    for _ in range(MAX_NESTED_LEVELS):
        if reqs:
            return reqs
        kids = records.child_executions(store, frontier)
        frontier = [k["execution_id"] for k in kids if k.get("status") not in FINISHED_STATUSES]
        if not frontier:
            return []
        for kid in frontier:
            reqs += records.human_requests(store, kid, open_only=True)
    return reqs


def waiting_text(requests: list[dict]) -> str:
    """What a waiting run waits for: "an approval at 'wait_customer_decision'" (joined with "and")."""
    parts = []
    for r in requests:
        kind = str(r.get("kind") or "")
        kind = "escalation" if kind.startswith("escalation") else kind
        until = ""
        if kind == TIMER_REQUEST:  # "its timer at 'pause' (until 16:43 UTC)"
            from engine.run.people import expiry_of

            ends = expiry_of(r)
            until = f" (until {ends:%Y-%m-%d %H:%M} UTC)" if ends else ""
        parts.append(f"{KIND_WORDS.get(kind, 'an answer')} at '{r['state']}'{until}")
    return " and ".join(parts)


def is_waiting_for_person(store, exec_row: dict | None, requests: list[dict] | None = None) -> bool:
    """True when the run waits for a person's answer (it is not interrupted: the answer continues it).
    ``requests``: the run's :func:`live_requests` when the caller has read them already."""
    if not exec_row or exec_row.get("status") != "waiting":
        return False
    from engine.run.people import is_expired

    # requests whose time ran out take no answer: such a run goes on when it is resumed; a wait
    # state's timer asks nobody (a run whose driver is gone resumes and waits what is left)
    return any(
        not is_expired(r) and r.get("kind") != TIMER_REQUEST
        for r in (requests if requests is not None else live_requests(store, exec_row))
    )


def refusal(engine, execution_id: str, action: str, state: str | None = None) -> str | None:
    """Why ``action`` cannot apply to the run as it is NOW (read from the records), or None when it can.

    The same rules as the service's 409 answers: a finished run takes no answers, no cancel and no
    resume; an answer needs an open request at that state; resume needs a run no live process drives
    and that is not simply waiting for a person; re-run needs a state the run reached.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of {ACTIONS}")
    row = records.execution(engine.store, execution_id)
    if row is None:
        return f"there is no run {execution_id}"
    status = row.get("status")
    if action in ("approve", "answer"):
        if status in FINISHED_STATUSES:
            return f"run {execution_id} is {status}: it takes no answers any more"
        from engine.run.people import expiry_of, is_expired

        live = live_requests(engine.store, row)
        expired = [r for r in live if r["state"] == state and is_expired(r)]
        if expired and expired[0].get("kind") == TIMER_REQUEST:
            return (
                f"the wait at '{state}' ended at {expiry_of(expired[0]):%Y-%m-%d %H:%M} UTC: resume the run and it "
                "goes on"
            )
        if expired:
            return (
                f"the {expired[0]['kind']} at '{state}' expired at {expiry_of(expired[0]):%Y-%m-%d %H:%M} UTC: it "
                "takes no answer any more; resume the run and it goes on without it"
            )
        open_states = [r["state"] for r in live]
        if state not in open_states:
            where = ", ".join(f"'{s}'" for s in open_states) or "no step"
            return f"run {execution_id} is not waiting at '{state}' (it waits at {where}; status {status})"
        return None
    if action == "cancel":
        return f"run {execution_id} is already {status}" if status in FINISHED_STATUSES else None
    if action == "resume":
        if status in FINISHED_STATUSES:
            return f"run {execution_id} is already {status}; re-run it instead"
        reqs = live_requests(engine.store, row)
        if status == "waiting" and is_waiting_for_person(engine.store, row):
            return f"run {execution_id} is waiting for {waiting_text(reqs)}: answer it and the run continues"
        if execution_id in engine.live_executions() or _owner_alive(engine, row.get("owner")):
            return f"run {execution_id} is {status} and still driven by a live process: there is nothing to resume"
        return None
    # rerun
    if not state:
        return "choose the step to re-run from"
    reached = {t["from_state"] for t in records.transitions(engine.store, execution_id)}
    reached |= {t["from_state"] for t in reused_transitions(engine.store, row)}
    if state not in reached:
        return f"'{state}' never ran in run {execution_id}: choose a step it reached"
    return None


def outcome(trans: list[dict], exec_row: dict | None = None) -> str:
    """The business outcome: the last state(s) a finished run reached before its end ('' while running).

    A green *completed* only says every step ran; ``notify_payment_failure`` says the card was declined."""
    if not exec_row or exec_row.get("status") not in FINISHED_STATUSES:
        return ""
    finals = [
        t["from_state"]
        for t in trans
        if t.get("to_state") == END and t.get("from_state") and not str(t["from_state"]).startswith("[")
    ]
    if finals:
        return ", ".join(dict.fromkeys(finals))
    visited = exec_row.get("states_visited")
    if isinstance(visited, str):
        try:
            visited = json.loads(visited)
        except ValueError:
            visited = None
    last = [s for s in (visited or []) if s not in (START, END)]
    if exec_row.get("status") != "completed" and exec_row.get("current_state"):
        return f"stopped at {exec_row['current_state']}"
    return last[-1] if last else ""


def outcomes_of(store, rows: list[dict]) -> dict[str, str]:
    """execution_id -> outcome (the final state(s) reached) for the finished runs among ``rows``, in one query."""
    done = [r["execution_id"] for r in rows if r.get("status") in FINISHED_STATUSES]
    if not done:
        return {}
    found = records.states_before_end(store, done)
    out: dict[str, list[str]] = {}
    for f in found:
        if f["from_state"] and not str(f["from_state"]).startswith("["):
            out.setdefault(f["execution_id"], [])
            if f["from_state"] not in out[f["execution_id"]]:
                out[f["execution_id"]].append(f["from_state"])
    by_id = {r["execution_id"]: r for r in rows}
    result = {k: ", ".join(v) for k, v in out.items()}
    for eid in done:
        r = by_id[eid]
        if eid not in result and r.get("status") != "completed" and r.get("current_state"):
            result[eid] = f"stopped at {r['current_state']}"
    return result


def reused_transitions(store, exec_row: dict | None) -> list[dict]:
    """The source run's records a re-run reused (the steps that finished before the re-run's state
    started there), each marked ``reused=True``; [] for a run that is not a re-run.

    The same cut as the engine's re-run: a source record is reused when it ended before the first
    record of the chosen state started."""
    if not exec_row or not exec_row.get("rerun_of") or not exec_row.get("rerun_from"):
        return []
    source = records.transitions(store, exec_row["rerun_of"])
    firsts = [t for t in source if t["from_state"] == exec_row["rerun_from"]]
    if not firsts:
        return []
    cut = min(t.get("started_at") or t["timestamp"] for t in firsts)
    out = []
    for t in source:
        if (t.get("ended_at") or t["timestamp"]) > cut:
            continue
        if t["status"] not in ("completed", "skipped", "fallback", "decision", "join"):
            continue
        out.append(dict(t, reused=True))
    return out


def reruns_of(store, execution_id: str) -> list[dict]:
    """The re-runs started from a run (newest first): execution_id, rerun_from, status, start_time."""
    return records.reruns_of(store, execution_id)


def text_matches(store, text: str, limit: int = 200) -> list[str]:
    """Ids of top-level runs whose inputs (initial context) or source run id contain ``text`` (what the
    History search adds to the id, name and error text)."""
    return records.runs_matching_inputs_or_source(store, text, limit)


def inputs_text(initial_context, limit: int = 80) -> str:
    """A run's inputs in one short line: ``order_id=5, express=true``."""
    ctx = initial_context
    if isinstance(ctx, str):
        try:
            ctx = json.loads(ctx)
        except ValueError:
            return ctx[:limit]
    if not isinstance(ctx, dict) or not ctx:
        return ""
    parts = [f"{k}={json.dumps(v, default=str, ensure_ascii=False)}" for k, v in ctx.items()]
    text = ", ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def inputs_of(store, ids: list[str]) -> dict[str, str]:
    """execution_id -> its inputs in one short line (see :func:`inputs_text`)."""
    return {eid: inputs_text(ctx) for eid, ctx in records.initial_contexts_of(store, ids).items()}
