"""One execution on screen: status, people's answers, the colored graph, the timeline, AI decisions,
recovery actions and the audit log. Used live on the Run page and after the fact in History."""

from __future__ import annotations

import json

import streamlit as st

from app.components import auth_gate, ui
from app.components.graph_view import legend_markdown, render_graph
from app.components.timeline import timeline_figure
from engine.auth import Permission
from engine.workbench import drafts, runs
from engine.workbench import library as wb_library

ANSWERS = {
    "approval": [("yes", "Approve", "primary"), ("no", "Reject", "secondary")],
    "decision": [("true", "Yes, it is true", "primary"), ("false", "No, it is false", "secondary")],
    "escalation": [
        ("retry", "Retry", "primary"),
        ("skip", "Skip the step", "secondary"),
        ("abort", "Abort the run", "secondary"),
    ],
}


def _answer(eid: str, state: str, value: str):
    if not auth_gate.can(Permission.APPROVE):
        ui.flash("Your role cannot answer a run's requests.", "error")
        return
    res = ui.run_guarded(
        "send your answer", runs.answer_request, ui.engine(), eid, state, value, by=auth_gate.principal().user
    )  # the approval records who gave it
    if res:
        ui.flash(f"Answer '{value}' for '{state}' sent" + (" and the run resumed." if res == "resumed" else "."))


def _cancel(eid: str):
    res = ui.run_guarded("cancel the run", ui.engine().cancel, eid)
    if res:
        ui.flash(f"Run {eid}: {res}.", "info")


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
    trans = runs.transitions(store, eid)
    reqs = runs.open_requests(store, eid)
    statuses = runs.node_statuses(trans, ex, reqs)

    # --- header
    h1, h2, h3, h4 = st.columns([3, 2, 2, 2])
    h1.markdown(f"**{ex.get('workflow_name')}** v{ex.get('version')} · `{eid}`")
    h1.markdown(ui.status_badge(ex.get("status")))
    if ex.get("duration_ms") is not None:
        h2.metric("Duration", ui.duration_text(ex["duration_ms"]))
    elif ex.get("status") == "queued":
        h2.metric("Queued for", ui.elapsed_text(ex.get("start_time")))
        h1.caption(
            "Waiting for a free slot (the workflow's max_concurrent_runs or the service's limit); it starts by itself."
        )
    else:
        h2.metric("Running for", ui.elapsed_text(ex.get("start_time")))
    done = sum(1 for s, v in statuses.items() if v in ("completed", "skipped") and s not in ("start", "end"))
    h3.metric("Steps done", done)
    h4.metric("Errors / retries", f"{ex.get('error_count') or 0} / {ex.get('retry_count') or 0}")
    if ex.get("error_message"):
        st.error(
            ex["error_message"], icon=":material/cancel:" if ex.get("status") == "failed" else ":material/stop_circle:"
        )
    if ex.get("rerun_of"):
        st.caption(f"Re-run of `{ex['rerun_of']}` from '{ex.get('rerun_from')}'")

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
            if cl.get("dashboard_url"):
                st.link_button("Ray dashboard", cl["dashboard_url"], icon=":material/open_in_new:")
            elif not cl.get("ready"):
                st.caption("Ray is still starting; steps that need it wait for it.")
    for r in reqs:
        kind = "escalation" if r["kind"].startswith("escalation") else r["kind"]
        with st.container(border=True):
            title = {
                "approval": "Approval needed",
                "decision": "A decision needs you",
                "escalation": "A step failed — what now?",
            }.get(kind, "Your answer is needed")
            st.markdown(f"**{title}** — step `{r['state']}`")
            st.write(r.get("prompt") or "")
            det = r.get("details") or {}
            if kind == "decision" and det.get("reasoning"):
                st.caption(f"AI reasoning ({det.get('confidence', '?')}% confident): {det['reasoning']}")
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
            render_graph(graph, statuses=statuses, bindings=bindings, width_hint=500)
            st.markdown(legend_markdown(True), unsafe_allow_html=True)
    with g2:
        st.markdown("**Timeline** — parallel branches run side by side")
        fig = timeline_figure(trans)
        if fig is None:
            st.caption("No step has finished yet.")
        else:
            st.plotly_chart(fig, width="stretch", key=f"chart.{key}.timeline.{eid}", config={"displaylogo": False})
        _details(store, ex, trans, key)
    return ex


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
