"""Open a DSL text in the Editor as a new, unsaved draft (from the DSL playground and other pages).

The Editor keeps its working copy in ``st.session_state`` under ``ed.*`` keys; this fills them the way
the Editor's own loader does for a new draft, so the Editor shows the text with "unsaved changes" and
"Save version" creates a new workflow.
"""

from __future__ import annotations

import json

import streamlit as st

EDITOR_PAGE = "app_pages/editor.py"
DRAFT = "__draft__"  # the Editor's id for "+ New draft"


def open_in_editor(dsl: str, name: str) -> None:
    """Put ``dsl`` in the Editor as a new draft called ``name`` and switch to the Editor page."""
    for k in [k for k in st.session_state if str(k).startswith(("ed.", "wb.workflow_id", "wb.version"))]:
        del st.session_state[k]
    spec = {"name": name, "description": "", "tags": [], "states": {}, "settings": {}}
    try:  # the full default spec (settings and all) when the model is importable
        from engine.workflow_file import WorkflowSpec

        spec = WorkflowSpec(name=name, dsl=dsl).model_dump(mode="json")
        spec.pop("dsl", None)
    except Exception:  # pragma: no cover - the minimal dict above is enough for the Editor
        pass
    st.session_state["ed.spec"] = spec
    st.session_state["ed.source_path"] = None
    st.session_state["ed.dsl"] = dsl.strip() + "\n"
    st.session_state["ed.saved_dsl"] = ""  # nothing saved yet: the Editor shows "unsaved changes"
    st.session_state["ed.saved_spec"] = json.dumps({})
    st.session_state["ed.loaded"] = (DRAFT, None)
    st.session_state["ed.pick"] = DRAFT
    st.session_state["ed.selected"] = None
    st.switch_page(EDITOR_PAGE)
