"""The workbench: `streamlit run app/main.py` (or `make run`).

An ``st.navigation`` router; pages live in ``app/app_pages/`` and hold UI only (they call the engine
through ``engine.workbench``, ``engine.api`` and the engine object). The engine is created
once per process (``st.cache_resource``) and connects Ray in the background on its own long-lived
driver thread, so the first page is interactive at once and runs go on when a tab closes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app.components import auth_gate, ui  # noqa: E402
from engine.auth import Permission  # noqa: E402
from engine.client import reachable_server  # noqa: E402
from engine.logging_setup import configure_logging  # noqa: E402
from engine.workbench import system  # noqa: E402

configure_logging()  # workbench.* records on the app's stderr, once per process (idempotent on reruns)

st.set_page_config(
    page_title="AI workflow workbench",
    page_icon=":material/account_tree:",
    layout="wide",
    initial_sidebar_state="expanded",
)
# sign-in (or local mode) before any page: a session that may not use the app stops here
principal = auth_gate.gate()

pages = {
    "Build": [
        st.Page("app_pages/describe.py", title="Describe", icon=":material/edit_note:", default=True),
        st.Page("app_pages/workflows.py", title="Workflows", icon=":material/library_books:"),
        st.Page("app_pages/editor.py", title="Editor", icon=":material/design_services:"),
        st.Page("app_pages/dsl_playground.py", title="DSL playground", icon=":material/code:"),
    ],
    "Operate": [
        st.Page("app_pages/run.py", title="Run", icon=":material/play_circle:"),
        st.Page("app_pages/history.py", title="History", icon=":material/history:"),
    ],
    "Insights": [
        st.Page("app_pages/analytics.py", title="Analytics", icon=":material/monitoring:"),
        st.Page("app_pages/optimize.py", title="Optimize", icon=":material/speed:"),
    ],
    "Admin": [st.Page("app_pages/settings.py", title="Settings", icon=":material/settings:")],
}
if not principal.can(Permission.SETTINGS):  # signed-in users other than admins
    pages.pop("Admin")
nav = st.navigation(pages)

# Streamlit forgets a widget's value when its page is not shown; keep the pages' inputs (drafts in the
# editor, the description, run options, settings) across page switches. Buttons, tables and charts
# use other key prefixes (btn., tbl., chart.) and inputs re-created with defaults are left out.
_PERSIST = ("wb.", "ed.", "desc.", "run.", "hist.", "wf.")
_EPHEMERAL = ("ed.t.", "ed.rename.", "ed.stepbox.", "hist.step.", "wf.d1.", "wf.d2.")
for _k in list(st.session_state.keys()):
    if isinstance(_k, str) and _k.startswith(_PERSIST) and not _k.startswith(_EPHEMERAL):
        st.session_state[_k] = st.session_state[_k]


def _cluster_line(status: dict) -> str:
    if status.get("ready"):
        return "● Ray ready"
    if status.get("error"):
        return "● Ray unavailable"
    return "◌ Ray starting… (runs wait for it)"


with st.sidebar:
    eng = None
    with ui.guard("open the workbench records"):
        eng = ui.engine()
    if eng is not None:

        def _which_ray() -> tuple[dict, str | None]:
            """In service mode the service's Ray runs the steps: its status, else this app's."""
            served = reachable_server()
            return (system.service_cluster_status(served) if served else eng.cluster_status()), served

        if _which_ray()[0].get("ready"):
            st.session_state["_ray_was_ready"] = True

        @st.fragment(run_every=None if st.session_state.get("_ray_was_ready") else 2)
        def _ray_status():
            status, served = _which_ray()
            st.caption(
                _cluster_line(status) + (" (the service's)" if served else ""),
                help=status.get("error")
                or (
                    f"The workbench service at {served} runs the steps on its Ray."
                    if served
                    else "Ray runs the workflow states in parallel. It connects in the background when the app starts."
                ),
            )
            if status.get("error") and served:
                st.caption(f"⚠ {status['error'][:800]}. The service retries by itself; its log says more.")
            elif status.get("error"):  # what is wrong and what to do (ray_tasks.cluster), then a retry
                st.caption(f"⚠ {status['error'][:800]}")
                st.button(
                    "Retry connecting to Ray",
                    key="btn.ray.retry",
                    on_click=eng.start_cluster,
                    icon=":material/refresh:",
                )
            if status.get("dashboard_url"):
                st.caption(f"[Ray dashboard ↗]({status['dashboard_url']})")
            if status.get("ready") and not st.session_state.get("_ray_was_ready"):
                st.session_state["_ray_was_ready"] = True
                st.rerun()  # redeclare this fragment without the timer

        _ray_status()
        st.caption(f"Records: `{Path(str(eng.store.path)).name}`", help=str(eng.store.path))
    _server = reachable_server()
    if _server:
        st.caption(
            f"Connected to the workbench service at {_server}",
            help="Runs started here are driven by the service: they go on when this app stops.",
        )
    else:
        _asked = os.environ.get("WORKBENCH_SERVER", "").strip()
        st.caption(
            "Runs in this app process",
            help=(f"No workbench service answers at {_asked}. " if _asked else "")
            + "Runs stop when this app stops (they can be resumed). `make run` starts the service.",
        )

try:
    nav.run()
finally:  # also when a page calls st.stop()
    if eng is not None:
        ui.start_cluster_once()
