"""History: executions with filters; drill into one (transitions, context at each step, logs);
resume an interrupted run; re-run from a chosen state."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app.components import auth_gate, ui
from app.components.run_view import open_run, render_run, warn_if_refused
from engine import records
from engine.auth import Permission
from engine.automation import notifier
from engine.schema import EXECUTION_STATUSES
from engine.workbench import run_actions, run_state, runs

st.title("History")
ui.show_flash()
eng = ui.engine()
store = eng.store
_linked = st.query_params.get("run")  # deep link /history?run=<execution id> (notifications link here)
if _linked and _linked != st.session_state.get("hist.linked"):
    st.session_state["hist.linked"] = _linked
    open_run(_linked)


def _resume(eid: str):
    if not auth_gate.allow(Permission.EXECUTE, execution_id=eid, rate_kind="executions", action="resume"):
        return
    # the run's state now, not when the button was drawn; in service mode the service resumes it (or says 409)
    res = ui.run_guarded("resume the run", warn_if_refused, "Not resumed", run_actions.resume, eng, eid)
    if res:
        st.session_state["wb.run_id"] = eid
        st.session_state["hist.selected"] = eid
        ui.flash(f"Resumed {eid}: completed steps are reused, the rest runs now.")


def _rerun(eid: str):
    state = st.session_state.get(f"hist.rerun_from.{eid}")
    if not auth_gate.allow(Permission.EXECUTE, execution_id=eid, rate_kind="executions", action="rerun"):
        return
    new = ui.run_guarded("re-run the workflow", warn_if_refused, "Not re-run", run_actions.rerun, eng, eid, state)
    auth_gate.record_started(new)
    if new:
        st.session_state["wb.run_id"] = new
        st.session_state["hist.selected"] = new
        st.session_state.setdefault("run.mine", []).insert(0, new)
        ui.flash(f"Started {new}: a re-run of {eid} from '{state}' (earlier steps reuse their recorded results).")


# ----------------------------------------------------------------------------- runs needing a hand
@st.fragment(run_every=3)
def attention():
    """Interrupted runs (Resume) and runs waiting for a person (what they wait for), kept current
    without a reload: a run answered or resumed elsewhere leaves the list by itself."""
    interrupted, waiting = [], []
    with ui.guard("look for interrupted runs"):
        interrupted = runs.interrupted_runs(eng)
        waiting = runs.waiting_runs(store)
    if interrupted:
        with st.container(border=True):
            st.markdown(
                f":material/warning: **{ui.count(len(interrupted), 'interrupted run')}** — the process driving "
                f"{'it' if len(interrupted) == 1 else 'them'} stopped "
                "(e.g. the app restarted). Resume continues from the records without repeating finished steps."
            )
            for r in interrupted[:10]:
                c1, c2 = st.columns([5, 1])
                timer = ""
                if r.get("timer_until"):  # stopped during a wait step: it goes on when the wait ends
                    timer = f" · its wait ends {r['timer_until']:%Y-%m-%d %H:%M} UTC: " + (
                        "the service goes on then by itself"
                        if run_actions.service_url()
                        else "Resume to go on waiting in this app"
                    )
                c1.markdown(
                    f"`{r['execution_id']}` · {r['workflow_name']} v{r['version']} · was **{r['status']}** "
                    f"at `{r.get('current_state') or '—'}` · started {ui.short_time(r['start_time'])}{timer}"
                )
                c2.button(
                    "Resume",
                    key=f"btn.hist.resume_top.{r['execution_id']}",
                    on_click=_resume,
                    args=(r["execution_id"],),
                    width="stretch",
                )
    if waiting:
        with st.container(border=True):
            st.markdown(
                f":material/front_hand: **{ui.count(len(waiting), 'run')} waiting for a person** — answering continues them."
            )
            for r in waiting[:10]:
                c1, c2 = st.columns([5, 1])
                c1.markdown(
                    f"`{r['execution_id']}` · {r['workflow_name']} v{r['version']} · waiting for "
                    f"{r['waiting_for'] or 'an answer'} · started {ui.short_time(r['start_time'])}"
                )
                if c2.button("Open", key=f"btn.hist.open_waiting.{r['execution_id']}", width="stretch"):
                    open_run(r["execution_id"])
                    st.rerun(scope="app")
    shown = tuple(r["execution_id"] for r in interrupted + waiting)
    if st.session_state.get("hist.attention") not in (None, shown):
        st.session_state["hist.attention"] = shown
        st.rerun(scope="app")  # a run changed state: redraw the table and the run below with it
    st.session_state["hist.attention"] = shown


attention()

# ----------------------------------------------------------------------------- filters
f1, f2, f3, f4 = st.columns([2, 1, 1, 2])
names = []
with ui.guard("list the workflows"):
    names = runs.workflow_names(store)
wf = f1.selectbox("Workflow", ["(all)"] + names, key="hist.wf")
status = f2.selectbox("Status", ["(all)"] + list(EXECUTION_STATUSES), key="hist.status")
period = f3.selectbox("Started", ["any time", "last hour", "today", "last 7 days", "last 30 days"], key="hist.period")
text = f4.text_input(
    "Search (run id, inputs, error text)",
    key="hist.text",
    help="Also finds runs by their inputs (e.g. order_id) and the re-runs of a run by its id",
)
since = None
now = records.utc_now()  # timezone-aware: the records layer compares it on the store's clock
if period == "last hour":
    since = now - dt.timedelta(hours=1)
elif period == "today":
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
elif period == "last 7 days":
    since = now - dt.timedelta(days=7)
elif period == "last 30 days":
    since = now - dt.timedelta(days=30)

rows = []
with ui.guard("read the run history"):
    rows = runs.executions(
        store, None if wf == "(all)" else wf, None if status == "(all)" else status, text or None, since
    )
if not rows:
    st.info("No runs match. Start one on the **Run** page.", icon=":material/inbox:")
    st.stop()

outcomes = run_state.outcomes_of(store, rows)
table = [
    {
        "started": ui.short_time(r["start_time"]),
        "workflow": f"{r['workflow_name']} v{r['version']}",
        "status": f"{ui.STATUS_ICONS.get(r['status'], '')} {r['status']}",
        "outcome": outcomes.get(r["execution_id"], ""),
        "inputs": r.get("inputs") or "",
        "duration": ui.duration_text(r["duration_ms"]),
        "errors": r["error_count"],
        "retries": r["retry_count"],
        "execution": r["execution_id"],
        "note": (r["error_message"] or (f"re-run from {r['rerun_from']}" if r.get("rerun_of") else ""))[:100],
    }
    for r in rows
]
st.caption(f"{ui.count(len(rows), 'run')}, newest first — select one to drill in")
event = st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="tbl.hist",
    height=min(380, 40 + 35 * len(rows)),
)
picked = event.selection.rows if event and event.selection else []
pick = rows[picked[0]]["execution_id"] if picked else None
if st.session_state.pop("hist.open", None):  # a link (source run, re-run, waiting run) chose the run
    st.session_state["hist.last_pick"] = pick
elif pick and pick != st.session_state.get("hist.last_pick"):  # a new click in the table
    st.session_state["hist.selected"] = pick
    st.session_state["hist.last_pick"] = pick
eid = st.session_state.get("hist.selected") or st.session_state.get("wb.run_id")
if eid not in {r["execution_id"] for r in rows} and not picked:
    eid = st.session_state.get("hist.selected")
if not eid:
    st.stop()

st.divider()
ex = runs.execution(store, eid)
if ex is None:
    st.stop()
live = runs.is_live(ex)

# ----------------------------------------------------------------------------- actions
trans = runs.run_transitions(store, ex)  # a re-run: with the steps it reused from its source run
ran = list(
    dict.fromkeys(
        t["from_state"]
        for t in trans
        if not (t["from_state"] or "").startswith("[") and t["from_state"] not in ("start",)
    )
)
resumable = runs.can_resume(eng, ex)
if resumable or ran:
    cols = st.columns([1, 2, 1, 2] if resumable else [2, 1, 3], vertical_alignment="bottom")
    if resumable:
        cols[0].button(
            "Resume",
            key=f"btn.hist.resume.{eid}",
            type="primary",
            on_click=_resume,
            args=(eid,),
            icon=":material/play_arrow:",
            help="Continue from the records; finished steps are not repeated",
        )
        cols = cols[1:]
    if ran:
        cols[0].selectbox(
            "Re-run from step",
            ran,
            key=f"hist.rerun_from.{eid}",
            help="A new run that reuses the recorded results of the steps before this one",
        )
        cols[1].button(
            "Re-run from here", key=f"btn.hist.rerun.{eid}", on_click=_rerun, args=(eid,), icon=":material/replay:"
        )


@st.fragment(run_every=2 if live else None)
def drill():
    now = None
    with ui.guard("show the run"):
        ui.show_flash()
        now = render_run(eid, key="hist", controls=True)
    if now is not None and now.get("status") != ex.get("status"):
        st.rerun(scope="app")  # the table, the actions and the steps follow the run's new status


drill()

st.subheader("Step by step")
st.caption(
    "Each recorded step with the context right after it (rebuilt by replaying the recorded updates; "
    "parallel branches each have their own context until they join)."
)
steps = runs.context_steps(ex.get("initial_context") or {}, trans)
with st.expander("Initial context", expanded=False):
    st.json(ex.get("initial_context") or {}, expanded=1)
if steps:
    labels = [
        f"{s['step']}. {s['state']} ({'reused' if s.get('reused') else s['status']})"
        + (f" → {s['to_state']}" if s.get("to_state") else "")
        + ("" if s["token"] == "0" else f" · {runs.token_lane(s['token'])}")
        for s in steps
    ]
    idx = st.select_slider(
        "Step",
        options=list(range(len(steps))),
        value=len(steps) - 1,
        format_func=lambda i: labels[i],
        key=f"hist.step.{eid}",
    )
    s = steps[idx]
    logs = {}
    with ui.guard("read what the steps printed"):
        logs = runs.step_logs(store, ex)
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(f"**Updates written by `{s['state']}`**")
        st.json(s["updates"] or {}, expanded=True)
    with c2:
        st.markdown("**Context after this step**")
        st.json(s["context"], expanded=1)
    st.markdown(f"**What `{s['state']}` printed**")
    log = logs.get(s.get("id") or "")
    if log:
        st.code(log["text"], language=None)
        st.caption(f"stdout and stderr of the step's code (attempt {log['attempt']}, ran on {log['executed_on']})")
    else:
        st.caption("Nothing: this step printed no output.")
    if logs:
        with st.expander(f"Everything the steps printed ({len(logs)})"):
            for lg in logs.values():
                st.markdown(f"`{lg['state']}` · attempt {lg['attempt']} · {lg['status']}")
                st.code(lg["text"], language=None)
with st.expander(f"All transitions ({len(trans)})"):
    st.dataframe(
        [
            {
                "time": ui.short_time(t["timestamp"]),
                "from": t["from_state"],
                "to": t["to_state"],
                "type": t["transition_type"],
                "status": t["status"],
                "branch": t["token"],
                "attempt": t["attempt"],
                "condition": t["condition_evaluated"],
                "ms": t["duration_ms"],
                "ran on": f"ray · {t['node_id']}"
                if t["executed_on"] == "ray" and t.get("node_id")
                else t["executed_on"],
                "error": t["error_message"],
            }
            for t in trans
        ],
        hide_index=True,
        width="stretch",
    )

sent = notifier.attempts(store, eid)  # notifications about this run (engine/automation/notifier.py)
if sent:
    with st.expander(f"Notifications about this run ({ui.count(len(sent), 'delivery record')})"):
        st.dataframe(sent, hide_index=True, width="stretch", key=f"hist.notify.{eid}")
