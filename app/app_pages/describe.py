"""Describe: plain language -> DSL, explanation, suggestions, graph preview; templates; save."""

from __future__ import annotations

import streamlit as st

from app.components import auth_gate, ui
from app.components.gallery_view import render_gallery
from app.components.graph_view import legend_markdown, render_graph
from app.components.proposals_view import apply_accepted, clear, render_proposals
from engine.auth import Permission
from engine.workbench import ai as wb_ai
from engine.workbench import drafts
from engine.workbench import library as wb_library

EXAMPLES = {
    "Order handling": (
        "When an order arrives, validate it. If it is valid, check the inventory; otherwise "
        "send a rejection email. If everything is in stock, reserve the items, charge the card "
        "and send a confirmation. If not, notify the customer."
    ),
    "Weekly sales report": (
        "Load the weekly sales. Then, in parallel, compute the totals for the north, south, "
        "east and west regions. After that, combine them into a report and email it to the "
        "sales team."
    ),
    "Loan review": (
        "Receive the loan application and check the credit score. Approve when the score is above "
        "700, send to manual review between 600 and 700, and decline otherwise. Finally notify "
        "the applicant."
    ),
}

st.title("Describe a workflow")
st.caption(
    "Say what should happen in plain words. The workbench turns it into a workflow you can check, "
    "edit and run — or start from a template below."
)
ui.show_flash()


def _settings():
    over = {}
    if st.session_state.get("wb.budget_daily") is not None:
        over["daily_budget_usd"] = float(st.session_state["wb.budget_daily"])
    if st.session_state.get("wb.budget_workflow") is not None:
        over["workflow_budget_usd"] = float(st.session_state["wb.budget_workflow"])
    return wb_ai.ai_settings(
        st.session_state.get("wb.llm_base_url"), st.session_state.get("wb.llm_model"), _secrets(), **over
    )


def _secrets() -> dict:
    try:
        return {k: st.secrets[k] for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL") if k in st.secrets}
    except Exception:  # no secrets.toml
        return {}


def _use_example(text: str):
    st.session_state["desc.text"] = text


def _translate():
    text = st.session_state.get("desc.text", "")
    st.session_state.pop("desc.result", None)
    if not auth_gate.allow(Permission.AI, rate_kind="ai", action="translate"):
        return
    res = ui.run_guarded("translate the description", wb_ai.translate, text, _settings(), ui.store())
    if res is not None:
        st.session_state["desc.result"] = {k: v for k, v in res.items() if k != "check"}
        st.session_state["desc.source"] = {"kind": "description", "text": text}
        # a new draft: what was typed for the previous workflow must not carry over into this one
        st.session_state["desc.description"] = ""
        st.session_state["desc.tags"] = ""
        st.session_state.pop("desc.saved", None)
        st.session_state["desc.dsl"] = res["dsl"]
        clear()  # the previous translation's proposal ticks
        first = next((ln for ln in text.strip().splitlines() if ln.strip()), "").strip()
        st.session_state["desc.name"] = first[:50].rstrip(". ") or "New workflow"


def _use_template(t: dict):
    spec = t["spec"]
    st.session_state["desc.result"] = {
        "dsl": spec.dsl.strip() + "\n",
        "explanation": "",
        "suggestions": [],
        "bindings": {
            k: b.model_dump(mode="json", exclude_defaults=True, exclude_none=True) for k, b in spec.states.items()
        },
        "provider": "template",
        "template": t["name"],
        "warnings": [],
        "valid": True,
    }
    st.session_state["desc.source"] = {
        "kind": "template",
        "path": t["path"],
        "name": t["name"],
        "spec": spec.model_dump(mode="json"),  # its [settings] and other fields are kept on save
    }
    st.session_state["desc.dsl"] = spec.dsl.strip() + "\n"
    st.session_state["desc.name"] = t["name"]
    st.session_state["desc.description"] = t["description"]
    st.session_state["desc.tags"] = ", ".join(tg for tg in t["tags"] if tg != "template")
    st.session_state.pop("desc.saved", None)


left, right = st.columns([3, 2], gap="large")
with left:
    st.text_area(
        "What should the workflow do?",
        key="desc.text",
        height=170,
        placeholder="e.g. Validate the order. If it is valid check the stock, otherwise reject it. "
        "If everything is in stock reserve it and charge the card…",
    )
    b1, b2 = st.columns([1, 3])
    b1.button(
        "Translate",
        type="primary",
        on_click=_translate,
        width="stretch",
        disabled=not st.session_state.get("desc.text", "").strip(),
        key="btn.desc.translate",
    )
    with b2:
        st.caption("Try an example:")
        cols = st.columns(len(EXAMPLES))
        for col, (label, text) in zip(cols, EXAMPLES.items()):
            col.button(label, on_click=_use_example, args=(text,), key=f"btn.desc.ex.{label}", width="stretch")
with right:
    with ui.guard("read the AI settings"):
        s = _settings()
        if s.online:
            st.info(
                f"Translations use **{s.provider}** model `{s.model}`. Change it in Settings.",
                icon=":material/smart_toy:",
            )
        else:
            st.info(
                "No language model is configured, so the built-in **offline translator** is used: "
                "deterministic, free, and good with numbered steps, *if/otherwise* and *in parallel*. "
                "Add a model in Settings for freer descriptions.",
                icon=":material/lightbulb:",
            )

res = st.session_state.get("desc.result")
if res:
    st.divider()
    provider = res.get("provider") or "offline"
    head = (
        f"From the template **{res.get('template', '')}**"
        if provider == "template"
        else f"Translated by **{provider}**" + (" (no model configured)" if provider == "offline" else "")
    )
    st.subheader("Your workflow")
    st.markdown(head)
    for w in res.get("warnings") or []:
        st.warning(w)
    dcol, gcol = st.columns([2, 3], gap="large")
    with dcol:
        st.markdown("**Workflow definition (DSL)** — you can adjust it here")
        st.text_area("DSL", key="desc.dsl", height=260, label_visibility="collapsed")
        chk = drafts.check_dsl(st.session_state.get("desc.dsl", ""))
        if chk.errors:
            for e in chk.errors:
                msg = f"Line {e['line']}, column {e['column']}: {e['message']}" if e["line"] else e["message"]
                st.error(msg + (f"  \n*Hint:* {e['hint']}" if e.get("hint") else ""))
        else:
            st.success(
                f"Valid: {ui.count(len(chk.model.states) - 2, 'step')}, {ui.count(len(chk.model.transitions), 'transition')}",
                icon=":material/check_circle:",
            )
        for w in chk.warnings:
            st.caption(f"⚠ {w['message']}" + (f" — {w['hint']}" if w.get("hint") else ""))
    with gcol:
        if chk.graph:
            render_graph(chk.graph, bindings=res.get("bindings") or {})
            st.markdown(legend_markdown(False), unsafe_allow_html=True)
        else:
            st.info("Fix the error on the left to see the graph.")
    ecol, scol = st.columns(2, gap="large")
    with ecol:
        st.markdown("**What it does**")
        expl = res.get("explanation")
        if chk.ok and (not expl or st.session_state.get("desc.dsl") != res.get("dsl")):
            with ui.guard("explain the workflow"):
                expl = wb_ai.explain(st.session_state["desc.dsl"], _settings(), ui.store(), res.get("bindings")) or expl
        st.markdown(expl or "_No explanation available._")
    with scol:
        st.markdown("**Suggestions**")
        if res.get("suggestions"):
            for sug in res["suggestions"]:
                st.markdown(f"- {sug}")
        else:
            st.caption("No suggestions.")
        if res.get("bindings"):
            st.markdown("**Proposed actions** (edit them in the Editor)")
            st.dataframe(
                [
                    {
                        "step": k,
                        "action": v.get("action"),
                        "does": v.get("function") or v.get("query") or v.get("url") or v.get("message") or "",
                    }
                    for k, v in res["bindings"].items()
                ],
                hide_index=True,
                width="stretch",
            )

    render_proposals(res)
    st.divider()
    st.subheader("Save to the library")
    saved = st.session_state.get("desc.saved")
    with st.form("form_desc_save", border=True):
        c1, c2 = st.columns([1, 1])
        name = c1.text_input("Name", key="desc.name")
        tags = c2.text_input("Tags (comma-separated)", key="desc.tags", placeholder="sales, reporting")
        description = st.text_area(
            "Description",
            key="desc.description",
            height=80,
            placeholder="What this workflow is for, in one or two sentences",
        )
        submitted = st.form_submit_button("Save workflow", type="primary", disabled=not chk.ok)
    if submitted:
        with ui.guard("save the workflow"):
            result = dict(res, dsl=st.session_state["desc.dsl"])
            src = st.session_state.get("desc.source") or {}
            spec = wb_ai.spec_from_translation(
                result,
                name or "New workflow",
                description,
                drafts.parse_tags(tags),
                nl_description=src.get("text", ""),
                base=wb_ai.template_base(src),
            )
            spec = apply_accepted(spec, res)
            if src.get("kind") == "template":
                spec.source_path = src.get("path")
            fp = drafts.spec_fingerprint(spec)
            if saved and saved.get("fingerprint") == fp:
                st.info("Already saved — nothing changed since.", icon=":material/info:")
            elif auth_gate.allow(Permission.CREATE, rate_kind="creations", action="workflow_saved", now=True):
                wid, ver = wb_library.save_workflow(
                    ui.store(), spec, change_note="created on the Describe page", owner=auth_gate.owner_for_save()
                )
                st.session_state["desc.saved"] = {
                    "workflow_id": wid,
                    "version": ver,
                    "name": spec.name,
                    "fingerprint": fp,
                }
                saved = st.session_state["desc.saved"]
    if saved:
        st.success(f"Saved **{saved['name']}** as version {saved['version']}.", icon=":material/save:")
        o1, o2, _ = st.columns([1, 1, 3])
        if o1.button("Open in the editor", key="btn.desc.open_editor", width="stretch"):
            st.session_state["wb.workflow_id"] = saved["workflow_id"]
            st.session_state.pop("ed.loaded", None)
            st.switch_page("app_pages/editor.py")
        if o2.button("Run it", key="btn.desc.open_run", width="stretch"):
            st.session_state["wb.workflow_id"] = saved["workflow_id"]
            st.switch_page("app_pages/run.py")

st.divider()
st.subheader("Or start from a template")
with ui.guard("list the templates"):
    render_gallery(drafts.templates(), on_use=_use_template)
