"""Workflows: the library — filter, open, archive, versions with a readable diff."""

from __future__ import annotations

import streamlit as st

from app.components import auth_gate, ui
from app.components.graph_view import render_graph
from app.components.schedules_view import render_automation
from app.components.sharing_view import render_sharing
from engine.auth import Permission
from engine.workbench import drafts
from engine.workbench import library as wb_library

st.title("Workflows")
st.caption("Every saved workflow and its versions. Runs stay pinned to the version they started on.")
ui.show_flash()

f1, f2, f3 = st.columns([1, 2, 2])
status = f1.selectbox("Status", ["active", "draft", "archived", "all"], key="wf.status")
text = f3.text_input("Search name or description", key="wf.text", placeholder="e.g. order")

rows = None
with ui.guard("read the workflow library"):
    rows = wb_library.list_workflows(ui.store(), status=status, text=text or None, who=auth_gate.principal())
if rows is None:
    st.stop()
tags = f2.multiselect("Tags", wb_library.all_tags(rows), key="wf.tags")
if tags:
    rows = [r for r in rows if set(tags) <= set(r.get("tags") or [])]

if not rows:
    st.info("No workflows match. Create one on the **Describe** page, or change the filters.", icon=":material/inbox:")
    st.stop()

table = [
    {
        "name": r.get("name"),
        "version": r.get("version"),
        "status": r.get("status"),
        "tags": ", ".join(r.get("tags") or []),
        "updated": ui.short_time(r.get("updated_at") or r.get("created_at")),
        "description": (r.get("description") or "")[:120],
    }
    for r in rows
]
st.caption(f"{ui.count(len(rows), 'workflow')} — select one to see its versions")
event = st.dataframe(
    table, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row", key="tbl.wf"
)
sel = event.selection.rows if event and event.selection else []
if not sel:
    preselect = st.session_state.get("wb.workflow_id")
    sel = [i for i, r in enumerate(rows) if r.get("workflow_id") == preselect][:1]
if not sel:
    st.stop()
row = rows[sel[0]]
wid = row["workflow_id"]
st.session_state["wb.workflow_id"] = wid

st.divider()
st.subheader(row.get("name") or wid)
versions = []
with ui.guard("list the versions"):
    versions = wb_library.list_versions(ui.store(), wid)
vnums = sorted({int(v["version"]) for v in versions}, reverse=True) or [int(row.get("version") or 1)]
c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
version = c1.selectbox("Version", vnums, key=f"wf.version.{wid}")
if c2.button("Open in the editor", key="btn.wf.open", width="stretch"):
    st.session_state["wb.workflow_id"] = wid
    st.session_state["wb.version"] = version
    st.session_state.pop("ed.loaded", None)
    st.switch_page("app_pages/editor.py")
if c3.button("Run", key="btn.wf.run", width="stretch"):
    st.session_state["wb.workflow_id"] = wid
    st.session_state["wb.version"] = version
    st.switch_page("app_pages/run.py")
if row.get("status") != "archived":
    with c4.popover("Archive…", width="stretch"):
        st.write(
            "Archiving hides the workflow from the library and the Run page. Its versions and run "
            "history are kept; you can still find it under status *archived*."
        )
        if st.button("Archive it", type="primary", key="btn.wf.archive") and auth_gate.allow(
            Permission.DELETE, workflow_id=wid, action="workflow_archived", now=True
        ):
            with ui.guard("archive the workflow"):
                wb_library.archive_workflow(ui.store(), wid)
                ui.flash(f"Archived {row.get('name')}.")
                st.rerun()
else:
    c4.caption("archived")

spec = meta = None
with ui.guard("load this version"):
    spec, meta = wb_library.get_workflow(ui.store(), wid, version)
if spec is not None:
    t1, t2, t3 = st.tabs(["Graph", "Definition", "Versions & changes"])
    with t1:
        if spec.description:
            st.caption(spec.description)
        chk = drafts.check_spec(spec)
        if chk.graph:
            render_graph(chk.graph, bindings={k: b.model_dump() for k, b in spec.states.items()}, width_hint=1000)
    with t2:
        st.code(spec.to_toml(), language="toml")
    with t3:
        st.dataframe(
            [
                {
                    "version": v.get("version"),
                    "default": "✓ default" if v.get("default") else "",
                    "status": "pinned (ran from a file)" if v.get("status") == "pinned" else v.get("status"),
                    "saved": ui.short_time(v.get("created_at")),
                    "note": v.get("change_note") or "",
                }
                for v in sorted(versions, key=lambda v: -int(v["version"]))
            ],
            hide_index=True,
            width="stretch",
        )
        if len(vnums) > 1:
            d1, d2 = st.columns(2)
            older = d1.selectbox("Compare version", vnums, index=min(1, len(vnums) - 1), key=f"wf.d1.{wid}")
            newer = d2.selectbox("with version", vnums, index=0, key=f"wf.d2.{wid}")
            with ui.guard("compare the versions"):
                diff = wb_library.diff_versions(ui.store(), wid, int(older), int(newer))
                if diff.strip():
                    st.code(diff, language="diff")
                else:
                    st.info("These versions are identical.")
        else:
            st.caption("Only one version so far. Each save in the Editor adds a version.")

st.divider()
render_automation(ui.store(), wid)  # schedules and triggers (app/components/schedules_view.py)
render_sharing(ui.store(), wid)  # owner and shares (app/components/sharing_view.py)
