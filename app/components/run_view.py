"""One execution on screen: status, people's answers, the colored graph, the timeline, AI decisions,
recovery actions and the audit log. Used live on the Run page and after the fact in History."""

from __future__ import annotations

import datetime as dt
import json

import streamlit as st

from app.components import auth_gate, graph_view, ui
from app.components.graph_view import legend_markdown, render_graph
from app.components.timeline import timeline_figure
from engine.auth import Permission
from engine.schema import TIMER_REQUEST
from engine.workbench import drafts, run_actions, run_state, runs
from engine.workbench import library as wb_library
from engine.workbench.system import warm_up_status

# a re-run's steps taken from its source run: drawn apart from "done" and from grey "not reached"
graph_view.STATUS_COLORS.setdefault("reused", ("#ecfccb", "#65a30d", "#365314"))
graph_view.STATUS_LABELS.setdefault("reused", "reused from the source run")
DURATION_HELP = (
    "From the moment the run was asked for to its end: time in the queue, Ray and its workers "
    "starting, the steps, and any wait for a person. The timeline shows only the steps."
)

ANSWERS = {
    "approval": [("yes", "Approve", "primary"), ("no", "Reject", "secondary")],
    "decision": [("true", "Yes, it is true", "primary"), ("false", "No, it is false", "secondary")],
    "escalation": [
        ("retry", "Retry", "primary"),
        ("skip", "Skip the step", "secondary"),
        ("abort", "Abort the run", "secondary"),
    ],
    "timer": [("continue", "Stop waiting, go on now", "secondary")],
}


def warn_if_refused(what: str, fn, *args, **kwargs):
    """Call a run action; a refusal (the run's state now, or the service's 409) becomes a warning."""
    try:
        return fn(*args, **kwargs)
    except run_actions.ActionRefused as exc:
        ui.flash(f"{what}: {exc.reason}.", "warning")
        return None


def _answer(eid: str, state: str, value: str):
    if not auth_gate.allow(Permission.APPROVE, execution_id=eid, action="answer"):
        return
    # checked against the run's state NOW (not when drawn); in service mode the service answers (409)
    res = ui.run_guarded(
        "send your answer",
        warn_if_refused,
        f"Answer '{value}' not sent",
        run_actions.answer,
        ui.engine(),
        eid,
        state,
        value,
        by=auth_gate.principal().user,
    )  # the approval records who gave it
    if res:
        ui.flash(f"Answer '{value}' for '{state}' sent" + (" and the run resumed." if res == "resumed" else "."))


def _cancel(eid: str):
    if not auth_gate.allow(Permission.CANCEL, execution_id=eid, action="cancel"):
        return
    res = ui.run_guarded("cancel the run", warn_if_refused, "Nothing to cancel", run_actions.cancel, ui.engine(), eid)
    if res:
        ui.flash(f"Run {eid}: {res}.", "info")


def open_run(eid: str) -> None:
    """Show run ``eid`` on the Run and History pages (a link between a re-run and its source)."""
    st.session_state["wb.run_id"] = eid
    st.session_state["hist.selected"] = eid
    st.session_state["hist.open"] = eid  # History: wins over the table's selection once
    st.session_state["run.open"] = eid  # the Run page selects it before drawing its selector


def _spec_graph(ex: dict):
    opts = ex.get("options") or {}
    spec = None
    if opts.get("_spec"):
        from engine.workflow_file import WorkflowSpec

        try:
            spec = WorkflowSpec.model_validate(opts["_spec"])
        except Exception:
            spec = None
    if spec is None:
        try:
            spec, _ = wb_library.get_workflow(ui.store(), ex["workflow_id"], ex.get("version"))
        except Exception:
            return None, {}
    chk = drafts.check_dsl(spec.dsl)
    return chk.graph, {k: b.model_dump() for k, b in spec.states.items()}


def render_run(eid: str, *, key: str, controls: bool = True) -> dict | None:
    """Draw one execution; returns its row (None when unknown)."""
    store = ui.store()
    ex = runs.execution(store, eid)
    if ex is None:
        st.info("Starting… the first records appear in a moment.")
        return None
    trans = runs.run_transitions(store, ex)  # a re-run: with the source run's steps it reused
    reqs = run_state.live_requests(store, ex)
    statuses = runs.node_statuses(trans, ex, reqs)
    own = [t for t in trans if not t.get("reused")]

    # --- header
    h1, h2, h3, h4 = st.columns([3, 2, 2, 2])
    h1.markdown(f"**{ex.get('workflow_name')}** v{ex.get('version')} · `{eid}`")
    result = run_state.outcome(trans, ex)
    h1.markdown(
        ui.status_badge(ex.get("status"))
        + (f" · outcome **{result}**" if result else "")
        + (f" · waiting for {run_state.waiting_text(reqs)}" if ex.get("status") == "waiting" and reqs else "")
    )
    if result:
        h1.caption(
            "The status says whether the engine ran every step; the outcome is the final state the run "
            "reached (e.g. a declined card ends at its failure notice)."
        )
    if ex.get("duration_ms") is not None:
        h2.metric("Duration", ui.duration_text(ex["duration_ms"]), help=DURATION_HELP)
    elif ex.get("status") == "queued":
        h2.metric("Queued for", ui.elapsed_text(ex.get("start_time")))
        h1.caption(
            "Waiting for a free slot (the workflow's max_concurrent_runs or the service's limit); it starts by itself."
        )
    else:
        h2.metric("Running for", ui.elapsed_text(ex.get("start_time")), help=DURATION_HELP)
    done = sum(1 for s, v in statuses.items() if v in ("completed", "skipped", "reused") and s not in ("start", "end"))
    h3.metric("Steps done", done)
    h4.metric("Errors / retries", f"{ex.get('error_count') or 0} / {ex.get('retry_count') or 0}")
    if ex.get("error_message"):
        if ex.get("status") == "cancelled":  # a person's decision, not an error
            st.info(f"Cancelled: {ex['error_message']}", icon=":material/stop_circle:")
        else:
            st.error(
                ex["error_message"],
                icon=":material/cancel:" if ex.get("status") == "failed" else ":material/stop_circle:",
            )
    _links(store, ex, trans, key)

    # --- controls
    if controls:
        cl = ui.engine().cluster_status()
        with st.container(horizontal=True):
            if runs.is_live(ex) and auth_gate.can(Permission.CANCEL):
                st.button(
                    "Cancel run",
                    key=f"btn.{key}.cancel.{eid}",
                    on_click=_cancel,
                    args=(eid,),
                    icon=":material/stop_circle:",
                )
            # this app's Ray only matters to a live run this app drives: not to a finished run, nor in
            # service mode (the service's Ray runs the steps there)
            here = runs.is_live(ex) and not run_actions.service_url()
            if cl.get("dashboard_url"):
                st.link_button("Ray dashboard", cl["dashboard_url"], icon=":material/open_in_new:")
            elif here and cl.get("error"):
                st.caption("Ray is unavailable in this app (the sidebar says why): steps that need it wait for it.")
            elif here and not cl.get("ready"):
                st.caption("Ray is still starting; steps that need it wait for it.")
            if here and cl.get("ready") and cl.get("kind") == "ray" and warm_up_status().get("state") == "warming":
                st.caption(
                    "Ray workers are still starting: until they are up, parallel branches may run one after another."
                )
    for r in reqs:
        kind = "escalation" if r["kind"].startswith("escalation") else r["kind"]
        with st.container(border=True):
            title = {
                "approval": "Approval needed",
                "decision": "A decision needs you",
                "escalation": "A step failed — what now?",
                "timer": "Waiting",
            }.get(kind, "Your answer is needed")
            st.markdown(f"**{title}** — step `{r['state']}`")
            st.write(r.get("prompt") or "")
            det = r.get("details") or {}
            if kind == "decision" and det.get("reasoning"):
                st.caption(f"AI reasoning ({det.get('confidence', '?')}% confident): {det['reasoning']}")
            expiry = expiry_text(r)
            if expiry:
                st.caption(expiry)
            if expiry and expiry.startswith(("Expired", "The wait ended")):
                continue  # it takes no answer any more
            if controls and not auth_gate.can(Permission.APPROVE):
                st.caption("Your role cannot answer this request.")
            elif controls:
                buttons = ANSWERS.get(kind) or [(o, o, "secondary") for o in r.get("options") or []]
                cols = st.columns(len(buttons) + 2)
                for col, (value, label, kind_) in zip(cols, buttons):
                    col.button(
                        label,
                        key=f"btn.{key}.ans.{r['request_id']}.{value}",
                        type=kind_,
                        on_click=_answer,
                        args=(eid, r["state"], value),
                        width="stretch",
                    )

    # --- graph and timeline
    g1, g2 = st.columns([1, 1], gap="medium")
    with g1:
        st.markdown("**Where it is**")
        graph, bindings = _spec_graph(ex)
        if graph:
            # the column is ~454 px in a 1400 px window (half the page beside the timeline)
            render_graph(graph, statuses=statuses, bindings=bindings, width_hint=450)
            st.markdown(legend_markdown(True), unsafe_allow_html=True)
    with g2:
        st.markdown("**Timeline** — parallel branches run side by side")
        fig = timeline_figure(own)
        if fig is None:
            st.caption("No step has finished yet.")
        else:
            st.plotly_chart(fig, width="stretch", key=f"chart.{key}.timeline.{eid}", config={"displaylogo": False})
            span = _steps_span_ms(own)
            if span is not None and ex.get("duration_ms") is not None:
                st.caption(
                    f"Steps: {ui.duration_text(span)} from the first step's start to the last one's end. "
                    f"Duration: {ui.duration_text(ex['duration_ms'])} — also the queue, Ray and worker "
                    "start-up, and waits for people."
                )
        _details(store, ex, trans, key)
    return ex


def _steps_span_ms(trans: list[dict]) -> float | None:
    """Milliseconds from the first recorded step's start to the last one's end (what the timeline shows)."""
    rows = runs.timeline_rows(trans)
    if not rows:
        return None
    return (max(r["end"] for r in rows) - min(r["start"] for r in rows)).total_seconds() * 1000


def _links(store, ex: dict, trans: list[dict], key: str) -> None:
    """A re-run names its source run and what it reused; a source run names its re-runs; both open."""
    eid = ex["execution_id"]
    if ex.get("rerun_of"):
        reused = sorted(
            {
                t["from_state"]
                for t in trans
                if t.get("reused") and not t["from_state"].startswith("[") and t["from_state"] != "start"
            }
        )
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption(
                f"Re-run of `{ex['rerun_of']}` from '{ex.get('rerun_from')}'"
                + (f"; reused from it: {', '.join(reused)}" if reused else "")
            )
            if st.button("Open the source run", key=f"btn.{key}.src.{eid}", icon=":material/undo:"):
                open_run(ex["rerun_of"])
                st.rerun(scope="app")  # also from inside a fragment: the whole page shows the other run
    for r in run_state.reruns_of(store, eid)[:5]:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption(f"Re-run as `{r['execution_id']}` from '{r['rerun_from']}' ({r['status']})")
            if st.button("Open the re-run", key=f"btn.{key}.rerun_link.{r['execution_id']}", icon=":material/redo:"):
                open_run(r["execution_id"])
                st.rerun(scope="app")


def _details(store, ex: dict, trans: list[dict], key: str):
    eid = ex["execution_id"]
    decisions = runs.ai_decisions(store, eid, ex)
    recov = runs.recovery_actions(store, eid)
    audit = runs.audit_log(store, eid)
    t1, t2, t3, t4 = st.tabs(
        [f"AI decisions ({len(decisions)})", f"Recovery ({len(recov)})", f"Audit log ({len(audit)})", "Context"]
    )
    with t1:
        if not decisions:
            st.caption("No AI decisions in this run (only plain-language conditions need one).")
        for d in decisions:
            conf = d.get("confidence")
            st.markdown(
                f"**{d.get('state')}** · “{d.get('condition')}” → **{d.get('result')}** "
                f"· {conf if conf is not None else '?'}% confident · by {d.get('decided_by') or 'ai'}"
            )
            if isinstance(conf, (int, float)):
                st.progress(min(max(int(conf), 0), 100) / 100)
            st.caption(d.get("reasoning") or "")
    with t2:
        if not recov:
            st.caption("No recovery was needed.")
        else:
            st.dataframe(
                [
                    {
                        "when": ui.short_time(r["timestamp"]),
                        "step": r["error_state"],
                        "error": f"{r['error_type']}: {(r['error_message'] or '')[:100]}",
                        "strategy": r["recovery_strategy"],
                        "chosen by": r["chosen_by"],
                        "why": r["reasoning"],
                        "worked": r["success"],
                    }
                    for r in recov
                ],
                hide_index=True,
                width="stretch",
            )
    with t3:
        if audit:
            st.dataframe(
                [
                    {
                        "time": ui.short_time(a["timestamp"]),
                        "level": a["level"],
                        "step": a["state"] or "",
                        "event": a["event_type"],
                        "message": a["message"],
                    }
                    for a in audit
                ],
                hide_index=True,
                width="stretch",
                height=min(400, 40 + 35 * len(audit)),
            )
    with t4:
        ctx = ex.get("final_context") if ex.get("final_context") else None
        if ctx:
            st.caption("Context at the end of the run")
            st.json(ctx, expanded=1)
        else:
            steps = runs.context_steps(ex.get("initial_context") or {}, trans)
            st.caption("Context so far (rebuilt from the recorded updates)")
            st.json(steps[-1]["context"] if steps else (ex.get("initial_context") or {}), expanded=1)


def context_json(ctx: dict) -> str:
    return json.dumps(ctx, indent=2, default=str)


def expiry_text(request: dict, at: dt.datetime | None = None) -> str | None:
    """When a request with a time limit expires and what happens then (None without a limit)."""
    from engine import records
    from engine.durations import duration_text
    from engine.run.people import expiry_of

    expires = expiry_of(request)
    if expires is None:
        return None
    at = at or records.store_time(records.utc_now())
    left = (expires - at).total_seconds()
    when = f"{expires:%Y-%m-%d %H:%M} UTC"
    if left <= 0 and request.get("kind") == TIMER_REQUEST:
        return f"The wait ended at {when}: the run goes on as soon as it is driven (a running service resumes it; else Resume)."
    if left <= 0:
        return (
            f"Expired at {when}: it takes no answer any more. The step fails as timed out (ApprovalTimeout) "
            "as soon as the run goes on (a running service resumes it; else Resume)."
        )
    shown = duration_text(round(left / 60) * 60) if left >= 60 else "less than a minute"
    if request.get("kind") == TIMER_REQUEST:
        return f"The run goes on at {when} (in {shown}) by itself."
    return f"Expires {when} (in {shown}); unanswered by then, the step fails as timed out (its @error path decides what follows)."
