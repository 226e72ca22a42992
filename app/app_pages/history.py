"""History: executions with filters; drill into one (transitions, context at each step, logs);
resume an interrupted run; re-run from a chosen state."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app.components import ui
from app.components.run_view import render_run
from engine import records
from engine.schema import EXECUTION_STATUSES
from engine.workbench import runs

st.title("History")
ui.show_flash()
eng = ui.engine()
store = eng.store


def _resume(eid: str):
    res = ui.run_guarded("resume the run", eng.resume, eid)
    if res:
        st.session_state["wb.run_id"] = eid
        st.session_state["hist.selected"] = eid
        ui.flash(f"Resumed {eid}: completed steps are reused, the rest runs now.")


def _rerun(eid: str):
    state = st.session_state.get(f"hist.rerun_from.{eid}")
    new = ui.run_guarded("re-run the workflow", eng.rerun, eid, state)
    if new:
        st.session_state["wb.run_id"] = new
        st.session_state["hist.selected"] = new
        st.session_state.setdefault("run.mine", []).insert(0, new)
        ui.flash(f"Started {new}: a re-run of {eid} from '{state}' (earlier steps reuse their recorded results).")


# ----------------------------------------------------------------------------- interrupted runs
interrupted = []
with ui.guard("look for interrupted runs"):
    interrupted = runs.interrupted_runs(eng)
if interrupted:
    with st.container(border=True):
        st.markdown(
            f"**⚠ {len(interrupted)} interrupted run(s)** — the process driving them stopped "
            "(e.g. the app restarted). Resume continues from the records without repeating finished steps."
        )
        for r in interrupted[:10]:
            c1, c2 = st.columns([5, 1])
            c1.markdown(
                f"`{r['execution_id']}` · {r['workflow_name']} v{r['version']} · was **{r['status']}** "
                f"at `{r.get('current_state') or '—'}` · started {ui.short_time(r['start_time'])}"
            )
            c2.button(
                "Resume",
                key=f"btn.hist.resume_top.{r['execution_id']}",
                on_click=_resume,
                args=(r["execution_id"],),
                width="stretch",
            )

# ----------------------------------------------------------------------------- filters
f1, f2, f3, f4 = st.columns([2, 1, 1, 2])
names = []
with ui.guard("list the workflows"):
    names = runs.workflow_names(store)
wf = f1.selectbox("Workflow", ["(all)"] + names, key="hist.wf")
status = f2.selectbox("Status", ["(all)"] + list(EXECUTION_STATUSES), key="hist.status")
period = f3.selectbox("Started", ["any time", "last hour", "today", "last 7 days", "last 30 days"], key="hist.period")
text = f4.text_input("Search (execution id, error text)", key="hist.text")
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

table = [
    {
        "started": ui.short_time(r["start_time"]),
        "workflow": f"{r['workflow_name']} v{r['version']}",
        "status": f"{ui.STATUS_ICONS.get(r['status'], '')} {r['status']}",
        "duration": ui.duration_text(r["duration_ms"]),
        "errors": r["error_count"],
        "retries": r["retry_count"],
        "execution": r["execution_id"],
        "note": (r["error_message"] or (f"re-run from {r['rerun_from']}" if r.get("rerun_of") else ""))[:100],
    }
    for r in rows
]
st.caption(f"{len(rows)} run(s), newest first — select one to drill in")
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
if picked:
    st.session_state["hist.selected"] = rows[picked[0]]["execution_id"]
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
trans = runs.transitions(store, eid)
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
    with ui.guard("show the run"):
        ui.show_flash()
        render_run(eid, key="hist", controls=True)


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
        f"{s['step']}. {s['state']} ({s['status']})"
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
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(f"**Updates written by `{s['state']}`**")
        st.json(s["updates"] or {}, expanded=True)
    with c2:
        st.markdown("**Context after this step**")
        st.json(s["context"], expanded=1)
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
                "ran on": t["executed_on"],
                "error": t["error_message"],
            }
            for t in trans
        ],
        hide_index=True,
        width="stretch",
    )
