"""Run: choose a workflow and version, the initial context and options; launch; watch it live."""

from __future__ import annotations

import json
import os

import streamlit as st

from app.components import auth_gate, inputs_form, ui
from app.components.run_view import render_run
from engine.auth import Permission
from engine.client import reachable_server, start_saved_run
from engine.inputs import InputValidationError
from engine.workbench import common, drafts, runs
from engine.workbench import library as wb_library

st.title("Run a workflow")
ui.show_flash()
eng = ui.engine()
store = eng.store

workflows = []
with ui.guard("read the workflow library"):
    workflows = [w for w in wb_library.list_workflows(store) if w.get("status") != "archived"]
by_id = {w["workflow_id"]: w for w in workflows}
labels = wb_library.workflow_labels(workflows)
START_OPEN = "run.start_open"  # session key: is the "Start a run" expander open


def _launch():
    if not auth_gate.allow(
        Permission.EXECUTE, workflow_id=st.session_state.get("run.wid"), rate_kind="executions", action="launch"
    ):
        return
    g = st.session_state.get
    wid, ver = g("run.wid"), g("run.version")
    try:  # a workflow with [inputs] has a form (app/components/inputs_form.py), others the JSON box
        form = g("run.form")
        ctx = inputs_form.collected_context(form) if form else common.parse_context_json(g("run.context", ""))
    except (common.ServiceError, InputValidationError) as exc:
        ui.flash(str(exc), "error")
        return
    opts = runs.run_options(
        timeout_s=g("run.timeout") or None,
        ai_decisions=g("run.ai"),
        auto_recovery=g("run.recovery"),
        decision_threshold=g("run.threshold"),
    )

    server = reachable_server(fresh=True)  # a "no" remembered from a busy moment must not keep the run here

    def go():
        if server:  # the workbench service drives the run (it goes on when this app stops)
            return start_saved_run(server, wid, ver, ctx, opts)
        spec, _ = wb_library.get_workflow(store, wid, ver)
        return runs.start_run(eng, spec, ctx, opts, wid, ver)

    eid = ui.run_guarded("start the run", go)
    auth_gate.record_started(eid, wid)
    if eid:
        st.session_state["wb.run_id"] = eid
        st.session_state.setdefault("run.mine", [])
        st.session_state["run.mine"] = [eid] + [i for i in st.session_state["run.mine"] if i != eid][:19]
        st.session_state["run.watch"] = eid
        st.session_state[START_OPEN] = False  # make room for the run being watched
        asked = os.environ.get("WORKBENCH_SERVER", "").strip()
        if server or not asked:
            ui.flash(f"Started run {eid}. It keeps going if you close this tab; find it later in History.")
        else:
            ui.flash(
                f"Started run {eid} in this app process: no workbench service answers at {asked}. It keeps "
                "going if you close this tab, but stops if this app stops (resume it from History).",
                "warning",
            )


# The expander's open/closed state lives in the session (a key and on_change), not only in the browser:
# a browser-only expander whose `expanded` argument changes between reruns (e.g. once a run is being
# watched, or when the watched run finishes and the page redraws) snaps shut under the analyst's cursor.
want = st.session_state.get("wb.workflow_id")
if START_OPEN not in st.session_state:
    st.session_state[START_OPEN] = not st.session_state.get("wb.run_id")
elif want in by_id and st.session_state.get("run.last_want") != want:
    st.session_state[START_OPEN] = True  # another page chose a workflow to run (Describe, Workflows, Editor)

with st.expander("Start a run", key=START_OPEN, on_change="rerun"):
    if not by_id:
        st.info(
            "No workflows yet. Create one on the **Describe** page (or pick a template there).", icon=":material/inbox:"
        )
    else:
        ids = list(by_id)
        if st.session_state.get("run.wid") not in ids:
            st.session_state["run.wid"] = want if want in ids else ids[0]
        elif want in ids and st.session_state.get("run.last_want") != want:
            st.session_state["run.wid"] = want  # another page chose a workflow (Describe, Workflows, Editor)
        c1, c2 = st.columns([3, 1])
        wid = c1.selectbox("Workflow", ids, key="run.wid", format_func=lambda w: labels.get(w, w))
        st.session_state["wb.workflow_id"] = st.session_state["run.last_want"] = wid
        vers, default_v, pinned = [], None, set()
        with ui.guard("list the versions"):
            vrows = wb_library.list_versions(store, wid)
            vers = sorted({int(v["version"]) for v in vrows}, reverse=True)
            default_v = next((int(v["version"]) for v in vrows if v.get("default")), None)
            pinned = {int(v["version"]) for v in vrows if v.get("status") == "pinned"}
        vers = vers or [int(by_id[wid].get("version") or 1)]
        default_v = default_v if default_v in vers else vers[0]
        if st.session_state.get("run.version_for") != wid or st.session_state.get("run.version") not in vers:
            st.session_state["run.version_for"] = wid
            wv = st.session_state.get("wb.version")
            st.session_state["run.version"] = wv if wv in vers else default_v
        ver = c2.selectbox(
            "Version",
            vers,
            key="run.version",
            format_func=lambda v: (
                f"v{v}"
                + (" (default)" if v == default_v else "")
                + (" (pinned: ran from a file)" if v in pinned else "")
            ),
            help="The default version is the one the library uses; a pinned version was saved only for a "
            "run of a workflow file (`workbench run FILE`) and never replaces the default.",
        )
        spec = None
        with ui.guard("load the workflow"):
            spec, _ = wb_library.get_workflow(store, wid, ver)
        if spec is not None:
            if spec.description:
                st.caption(spec.description)
            ctx_key = (wid, ver)
            if st.session_state.get("run.ctx_for") != ctx_key:
                st.session_state["run.ctx_for"] = ctx_key
                sugg = drafts.suggested_context(spec, runs.last_initial_context(store, wid))
                st.session_state["run.context"] = json.dumps(sugg, indent=2, default=str)
                s = spec.settings
                st.session_state["run.ai"] = s.ai_decisions
                st.session_state["run.recovery"] = s.auto_recovery
                st.session_state["run.timeout"] = float(s.timeout_s or 0)
                st.session_state["run.threshold"] = int(
                    st.session_state.get("wb.decision_threshold") or s.decision_threshold
                )
            left, right = st.columns([3, 2], gap="large")
            st.session_state["run.form"] = f"run.in.{wid}.v{ver}" if spec.inputs else None
            with left:
                if spec.inputs:  # typed inputs: one widget per input (app/components/inputs_form.py)
                    inputs_form.render_inputs_form(
                        spec.inputs, st.session_state["run.form"], runs.last_initial_context(store, wid) or {}
                    )
                else:
                    st.text_area(
                        "Initial context (JSON)",
                        key="run.context",
                        height=180,
                        help="Prefilled with the inputs the workflow's steps read and the variables its "
                        "conditions use. Fill in values shown as null.",
                    )
                    try:
                        ctx_ok = common.parse_context_json(st.session_state.get("run.context", ""))
                        missing = [k for k, v in ctx_ok.items() if v is None]
                        if missing:
                            st.caption("Fill in: " + ", ".join(f"`{m}`" for m in missing))
                    except common.ServiceError as exc:
                        st.error(str(exc))
            with right:
                st.toggle("AI decisions", key="run.ai", help="Let the AI decide plain-language conditions")
                st.toggle(
                    "Automatic recovery",
                    key="run.recovery",
                    help="Retry, skip or fall back automatically when a step fails",
                )
                st.number_input("Timeout for the whole run (s, 0 = none)", min_value=0.0, step=30.0, key="run.timeout")
                st.slider(
                    "Confidence an AI decision needs",
                    0,
                    100,
                    key="run.threshold",
                    help="Below it the run waits for a person to decide",
                )
            if auth_gate.can(Permission.EXECUTE):
                st.button("Launch", type="primary", on_click=_launch, key="btn.run.launch")
            else:
                st.caption(f"Your role ({auth_gate.principal().role.value}) can watch runs but not start them.")


# ----------------------------------------------------------------------------- what to watch
def watch_choices() -> dict[str, str]:
    """execution_id -> label "name vN · status · id" of the runs to watch, read from the records now."""
    mine = st.session_state.get("run.mine", [])
    watch_default = st.session_state.get("wb.run_id")
    shown = ([watch_default] if watch_default else []) + mine + eng.live_executions()  # the watched run stays
    out: dict[str, str] = {}
    with ui.guard("list the runs"):
        for r in runs.recent_runs(store, list(dict.fromkeys(shown))[:30]):
            out[r["execution_id"]] = f"{r['workflow_name']} v{r['version']} · {r['status']} · {r['execution_id']}"
        for r in runs.runs_needing_attention(store):
            out.setdefault(
                r["execution_id"], f"{r['workflow_name']} v{r['version']} · waiting for you · {r['execution_id']}"
            )
    if watch_default and watch_default not in out:
        out[watch_default] = watch_default
    return out


choices = watch_choices()
if not choices:
    st.caption("Runs you start appear here, live.")
    st.stop()

st.divider()
ids = list(choices)
if st.session_state.get("run.open") in ids:  # a link chose a run (a re-run's source, or its re-run)
    st.session_state["run.watch"] = st.session_state.pop("run.open")
if st.session_state.get("run.watch") not in ids:
    watch_default = st.session_state.get("wb.run_id")
    st.session_state["run.watch"] = watch_default if watch_default in ids else ids[0]
# one status source: the watched run's label comes from the same read as the card's starting point (the
# list above was read a moment earlier: a run that finished in between must not stay "running" there)
row = runs.execution(store, st.session_state["run.watch"])
if row is not None:
    choices[row["execution_id"]] = f"{row['workflow_name']} v{row['version']} · {row['status']} · {row['execution_id']}"
eid = st.selectbox("Watching", ids, key="run.watch", format_func=lambda i: choices[i])
st.session_state["wb.run_id"] = eid
live = runs.is_live(row) or row is None


@st.fragment(run_every=1.5 if live else None)
def monitor():
    ex = None
    with ui.guard("show the run"):
        ui.show_flash()
        ex = render_run(eid, key="run")
    if ex is not None and ex.get("status") != (row or {}).get("status"):
        st.rerun()  # e.g. running -> waiting or -> completed: the selector's label follows the card


monitor()
