"""Editor: the graph (click a step to edit what it does), transitions as forms, the DSL beside it
with live validation. Graph and DSL are drawn from the same text, so they never disagree; each save
is a new version."""

from __future__ import annotations

import json

import streamlit as st

from app.components import auth_gate, ui
from app.components.graph_view import legend_markdown, render_graph
from app.components.step_form import render_step_form
from engine.auth import Permission
from engine.workbench import drafts
from engine.workbench import library as wb_library
from engine.workflow_file import WorkflowSpec

DRAFT = "__draft__"
NEW_DSL = "start->first_step;\nfirst_step->end;\n"
NEW_STATE = "new state…"  # the From/To choice that asks for a name

st.title("Editor")
ui.show_flash()
store = ui.store()


# ----------------------------------------------------------------------------- loading
def _clear_form_keys():
    for k in [k for k in st.session_state if str(k).startswith(("ed.b.", "ed.t.", "ed.w."))]:
        del st.session_state[k]


def _load(spec: WorkflowSpec, wid: str | None, version: int | None):
    _clear_form_keys()
    data = spec.model_dump(mode="json")
    data.pop("dsl", None)
    st.session_state["ed.spec"] = data
    st.session_state["ed.source_path"] = spec.source_path
    st.session_state["ed.dsl"] = spec.dsl.strip() + "\n"
    st.session_state["ed.saved_dsl"] = st.session_state["ed.dsl"]
    st.session_state["ed.saved_spec"] = json.dumps(data, sort_keys=True)
    st.session_state["ed.loaded"] = (wid or DRAFT, version)
    st.session_state["ed.selected"] = None
    st.session_state.pop("ed.last_click", None)


workflows = []
with ui.guard("read the workflow library"):
    workflows = [w for w in wb_library.list_workflows(store) if w.get("status") != "archived"]
by_id = {w["workflow_id"]: w for w in workflows}
labels = wb_library.workflow_labels(workflows)
options = [DRAFT] + list(by_id)

wanted = st.session_state.get("wb.workflow_id")
if "ed.pick" not in st.session_state or (
    wanted in by_id
    and st.session_state.get("ed.loaded", (None,))[0] != wanted
    and st.session_state.get("ed.pick") != wanted
):
    st.session_state["ed.pick"] = wanted if wanted in by_id else (st.session_state.get("ed.pick") or DRAFT)
if st.session_state.get("ed.pick") not in options:
    st.session_state["ed.pick"] = DRAFT

top = st.columns([3, 1, 3])
pick = top[0].selectbox(
    "Workflow", options, key="ed.pick", format_func=lambda w: "+ New draft" if w == DRAFT else labels.get(w, w)
)
version = None
if pick != DRAFT:
    st.session_state["wb.workflow_id"] = pick
    vers = []
    with ui.guard("list the versions"):
        vers = sorted({int(v["version"]) for v in wb_library.list_versions(store, pick)}, reverse=True)
    vers = vers or [int(by_id[pick].get("version") or 1)]
    want_v = st.session_state.get("wb.version")
    if st.session_state.get("ed.version_for") != pick:
        st.session_state["ed.version_for"] = pick
        st.session_state["ed.version"] = want_v if want_v in vers else vers[0]
    if st.session_state.get("ed.version") not in vers:
        st.session_state["ed.version"] = vers[0]
    version = top[1].selectbox("Version", vers, key="ed.version")

loaded = st.session_state.get("ed.loaded")
if loaded != (pick, version if pick != DRAFT else None):
    if pick == DRAFT:
        if loaded is None or loaded[0] != DRAFT:
            _load(WorkflowSpec(name="New workflow", dsl=NEW_DSL), None, None)
    else:
        with ui.guard("load the workflow"):
            spec0, _meta = wb_library.get_workflow(store, pick, version)
            _load(spec0, pick, version)

if "ed.spec" not in st.session_state:
    st.stop()

spec_data = st.session_state["ed.spec"]
dsl_text = st.session_state.get("ed.dsl", "")
chk = drafts.check_dsl(dsl_text)
states = [s for s in (chk.model.states if chk.model else []) if s not in ("start", "end")]
dirty = dsl_text != st.session_state.get("ed.saved_dsl") or json.dumps(
    spec_data, sort_keys=True
) != st.session_state.get("ed.saved_spec")


def _current_spec() -> WorkflowSpec:
    spec = WorkflowSpec.model_validate({**st.session_state["ed.spec"], "dsl": st.session_state.get("ed.dsl", "")})
    spec.source_path = st.session_state.get("ed.source_path")
    return spec


# ----------------------------------------------------------------------------- save
def _save():
    note = st.session_state.get("ed.note", "").strip() or "edited in the Editor"
    loaded_ = st.session_state.get("ed.loaded") or (DRAFT, None)
    wid = None if loaded_[0] == DRAFT else loaded_[0]
    if not auth_gate.allow(
        Permission.UPDATE if wid else Permission.CREATE,
        workflow_id=wid,
        rate_kind=None if wid else "creations",
        action="workflow_saved",
    ):
        return
    owner = auth_gate.owner_for_save(wid)
    res = ui.run_guarded(
        "save the workflow", lambda: wb_library.save_workflow(store, _current_spec(), wid, note, owner=owner)
    )
    if res:
        new_id, ver = res
        st.session_state["wb.workflow_id"] = new_id
        st.session_state["wb.version"] = ver
        st.session_state["ed.pick"] = new_id
        st.session_state["ed.version_for"] = new_id
        st.session_state["ed.version"] = ver
        st.session_state["ed.loaded"] = (new_id, ver)
        st.session_state["ed.saved_dsl"] = st.session_state.get("ed.dsl", "")
        st.session_state["ed.saved_spec"] = json.dumps(st.session_state["ed.spec"], sort_keys=True)
        st.session_state["ed.note"] = ""
        ui.flash(f"Saved as version {ver}. Runs already started keep the version they started on.")


with top[2]:
    st.write("")
    if dirty:
        st.markdown(":orange-badge[● unsaved changes]")
    elif pick != DRAFT:
        st.markdown(f":green-badge[saved · v{version}]")


# ----------------------------------------------------------------------------- state panel callbacks
def _rename(state: str):
    new = (st.session_state.get(f"ed.rename.{state}") or "").strip()
    spec = ui.run_guarded("rename the step", drafts.rename_state, _current_spec(), state, new)
    if spec is not None:
        _clear_form_keys()
        data = spec.model_dump(mode="json")
        st.session_state["ed.dsl"] = data.pop("dsl")
        st.session_state["ed.spec"] = data
        st.session_state["ed.selected"] = new


def _set_dsl(fn, *args, doing: str):
    new = ui.run_guarded(doing, fn, st.session_state.get("ed.dsl", ""), *args)
    if new is not None:
        st.session_state["ed.dsl"] = new
        for k in [k for k in st.session_state if str(k).startswith("ed.t.")]:
            del st.session_state[k]


def _add_transition():
    g = st.session_state.get
    src, dst = g("ed.t.add.src"), g("ed.t.add.dst")
    src = (g("ed.t.add.src_new") or "").strip() if src == NEW_STATE else src
    dst = (g("ed.t.add.dst_new") or "").strip() if dst == NEW_STATE else dst
    if not src or not dst:
        ui.flash("Choose where the transition starts (From) and where it goes (To).", "error")
        return
    _set_dsl(drafts.add_transition, src, dst, g("ed.t.add.cond", ""), doing="add the transition")


def _update_transition(i: int):
    g = st.session_state.get
    _set_dsl(
        drafts.replace_transition,
        i,
        g(f"ed.t.{i}.src", ""),
        g(f"ed.t.{i}.dst", ""),
        g(f"ed.t.{i}.cond", ""),
        doing="change the transition",
    )


def _delete_transition(i: int):
    _set_dsl(drafts.remove_transition, i, doing="remove the transition")


def _apply_workflow_settings():
    g = st.session_state.get
    data = dict(st.session_state["ed.spec"])
    settings = dict(data.get("settings") or {})
    settings.update(
        max_steps=int(g("ed.w.max_steps") or 1000),
        timeout_s=(g("ed.w.timeout_s") or None),
        decision_threshold=int(g("ed.w.threshold")),
        ai_decisions=bool(g("ed.w.ai")),
        auto_recovery=bool(g("ed.w.recovery")),
    )
    data.update(
        name=(g("ed.w.name") or "").strip() or "Untitled workflow",
        description=g("ed.w.description") or "",
        tags=drafts.parse_tags(g("ed.w.tags") or ""),
        settings=settings,
    )
    try:
        WorkflowSpec.model_validate({**data, "dsl": g("ed.dsl", "")})
    except Exception as exc:  # pydantic message, shortened
        ui.flash(f"Could not apply the workflow settings: {str(exc).splitlines()[-1][:200]}", "error")
        return
    st.session_state["ed.spec"] = data
    ui.flash("Workflow settings updated. Save to keep them as a new version.")


# ----------------------------------------------------------------------------- layout
gcol, pcol = st.columns([7, 5], gap="large")
with gcol:
    st.markdown("**Graph** — click a step to edit it")
    last = st.session_state.get("ed.last_graph")
    if chk.graph and chk.ok:
        st.session_state["ed.last_graph"] = {"for": st.session_state.get("ed.loaded"), "graph": chk.graph}
    elif last and last.get("for") == st.session_state.get("ed.loaded"):
        # the DSL does not parse right now: keep the last drawing that did, greyed out and marked stale
        st.warning(
            "**Stale graph** — this is the last version of the DSL that parsed. "
            "Fix the error under the DSL box to update it.",
            icon=":material/history:",
        )
        render_graph(last["graph"], statuses={}, bindings=spec_data.get("states") or {})
    if chk.graph:
        clicked = render_graph(
            chk.graph, selected=st.session_state.get("ed.selected"), bindings=spec_data.get("states") or {}
        )
        if clicked and clicked != st.session_state.get("ed.last_click"):
            st.session_state["ed.last_click"] = clicked
            if clicked in states:
                st.session_state["ed.selected"] = clicked
                st.rerun()
        st.markdown(legend_markdown(False), unsafe_allow_html=True)
    elif not (last and last.get("for") == st.session_state.get("ed.loaded")):
        st.info("The graph appears when the DSL parses. Fix the error shown below.", icon=":material/edit:")

    st.markdown(
        "**DSL** — the same workflow as text; changes apply when you click outside the box (or press Ctrl+Enter)"
    )
    st.text_area("DSL", key="ed.dsl", height=260, label_visibility="collapsed")
    if chk.errors:
        for e in chk.errors:
            where = f"Line {e['line']}, column {e['column']}: " if e.get("line") else ""
            st.error(
                f"{where}{e['message']}" + (f"  \n*Hint:* {e['hint']}" if e.get("hint") else ""),
                icon=":material/error:",
            )
            if e.get("excerpt"):
                st.code(e["excerpt"], language=None)
    else:
        st.success(
            f"Valid · {ui.count(len(states), 'step')} · {ui.count(len(chk.model.transitions), 'transition')}",
            icon=":material/check_circle:",
        )
    for w in chk.warnings:
        where = f"line {w['line']}: " if w.get("line") else ""
        st.caption(f"⚠ {where}{w['message']}")
    bound_unknown = [s for s in (spec_data.get("states") or {}) if chk.model and s not in chk.model.states]
    if bound_unknown:
        st.caption("⚠ settings kept for steps no longer in the DSL: " + ", ".join(bound_unknown))

with pcol:
    with st.container(border=True):
        n1, n2 = st.columns([3, 2], vertical_alignment="bottom")
        n1.text_input("What changed?", key="ed.note", placeholder="e.g. retry the payment 3 times")
        n2.button(
            "Save version",
            type="primary",
            on_click=_save,
            key="btn.ed.save",
            width="stretch",
            disabled=not chk.ok,
            icon=":material/save:",
        )
        if not chk.ok:
            st.caption("Fix the DSL errors to save.")
    tab_step, tab_tr, tab_wf = st.tabs(["Step", "Transitions", "Workflow"])
    with tab_step:
        if chk.model is None:
            st.info("Fix the DSL error to edit the steps.")
        elif not states:
            st.info("No steps yet: add a transition such as start->first_step;")
        else:
            sel = st.session_state.get("ed.selected")
            if sel not in states:
                sel = None
            picked = st.selectbox(
                "Step",
                states,
                index=states.index(sel) if sel else None,
                placeholder="Click a step in the graph or choose it here",
                key=f"ed.stepbox.{sel}",
            )
            if picked != sel:
                st.session_state["ed.selected"] = picked
                st.rerun()
            if sel:
                render_step_form(sel, states)
                with st.popover("Rename this step"):
                    st.text_input("New name", key=f"ed.rename.{sel}", value=sel)
                    st.button("Rename", on_click=_rename, args=(sel,), key=f"btn.ed.rename.{sel}")
    with tab_tr:
        if chk.model is None:
            st.info("Fix the DSL first: transitions are edited on a DSL that parses.")
        else:
            st.caption(
                "Conditions are tried in the order written; a transition without one is the default. "
                "`a->[b,c]` runs b and c in parallel, `[b,c]->d` joins them."
            )
            for r in drafts.transition_rows(chk.model):
                i = r["index"]
                with st.expander(f"`{r['text']}`"):
                    st.text_input("From", value=r["source"], key=f"ed.t.{i}.src")
                    st.text_input("To", value=r["target"], key=f"ed.t.{i}.dst")
                    st.text_input(
                        "Condition (optional)",
                        value=r["condition"],
                        key=f"ed.t.{i}.cond",
                        placeholder='amount > 100   or   "the customer sounds angry"',
                    )
                    c1, c2 = st.columns(2)
                    c1.button(
                        "Update", key=f"btn.ed.t.{i}.upd", on_click=_update_transition, args=(i,), width="stretch"
                    )
                    c2.button(
                        "Remove", key=f"btn.ed.t.{i}.del", on_click=_delete_transition, args=(i,), width="stretch"
                    )
            st.markdown("**Add a transition**")
            c1, c2 = st.columns(2)
            src_pick = c1.selectbox(
                "From",
                ["start", *states, NEW_STATE],
                index=None,
                key="ed.t.add.src",
                placeholder="choose a step",
                help="The step the transition leaves; pick 'new state…' to name a new one",
            )
            dst_pick = c2.selectbox(
                "To",
                [*states, "end", NEW_STATE],
                index=None,
                key="ed.t.add.dst",
                placeholder="choose a step",
                help="The step it goes to; pick 'new state…' to create one",
            )
            if src_pick == NEW_STATE:
                c1.text_input("New state (From)", key="ed.t.add.src_new", placeholder="check_stock")
            if dst_pick == NEW_STATE:
                c2.text_input(
                    "New state (To)",
                    key="ed.t.add.dst_new",
                    placeholder="ship_order",
                    help="Several names in brackets run in parallel: [pack, invoice]",
                )
            st.text_input("Condition (optional)", key="ed.t.add.cond", placeholder="approved == True")
            st.button("Add transition", on_click=_add_transition, key="btn.ed.add_transition", type="primary")
    with tab_wf:
        settings = spec_data.get("settings") or {}
        st.session_state.setdefault("ed.w.name", spec_data.get("name", ""))
        st.session_state.setdefault("ed.w.description", spec_data.get("description", ""))
        st.session_state.setdefault("ed.w.tags", ", ".join(spec_data.get("tags") or []))
        st.session_state.setdefault("ed.w.max_steps", int(settings.get("max_steps") or 1000))
        st.session_state.setdefault("ed.w.timeout_s", float(settings.get("timeout_s") or 0))
        st.session_state.setdefault("ed.w.threshold", int(settings.get("decision_threshold", 70)))
        st.session_state.setdefault("ed.w.ai", bool(settings.get("ai_decisions", True)))
        st.session_state.setdefault("ed.w.recovery", bool(settings.get("auto_recovery", True)))
        st.text_input("Name", key="ed.w.name")
        st.text_area("Description", key="ed.w.description", height=80)
        st.text_input("Tags (comma-separated)", key="ed.w.tags")
        c1, c2 = st.columns(2)
        c1.number_input("Max steps (loop guard)", min_value=1, max_value=1_000_000, key="ed.w.max_steps")
        c2.number_input("Run timeout (s, 0 = none)", min_value=0.0, key="ed.w.timeout_s")
        st.slider("AI decision confidence needed (below it a person decides)", 0, 100, key="ed.w.threshold")
        c1, c2 = st.columns(2)
        c1.toggle("AI decisions", key="ed.w.ai")
        c2.toggle("Automatic recovery", key="ed.w.recovery")
        st.button("Apply workflow settings", on_click=_apply_workflow_settings, key="btn.ed.apply_settings")
