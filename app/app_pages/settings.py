"""Settings: LLM provider (the key comes from the environment or secrets, never shown or stored),
Ray status/address/dashboard/resources, database, budgets, decision threshold."""

from __future__ import annotations

import streamlit as st

from app.components import notify_panel, secrets_panel, ui
from engine.workbench import ai as wb_ai
from engine.workbench import system

st.title("Settings")
ui.show_flash()
eng = ui.engine()


def _secrets() -> dict:
    try:
        return {k: st.secrets[k] for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL") if k in st.secrets}
    except Exception:
        return {}


# ----------------------------------------------------------------------------- LLM
st.subheader("Language model")
secrets = _secrets()
base = None
with ui.guard("read the AI settings"):
    base = wb_ai.ai_settings(None, None, secrets)
if base is not None:
    st.session_state.setdefault("wb.llm_base_url", base.base_url or "")
    st.session_state.setdefault("wb.llm_model", base.model)
    c1, c2 = st.columns(2)
    c1.text_input(
        "Server base URL (OpenAI-compatible; empty = OpenAI when a key is set)",
        key="wb.llm_base_url",
        placeholder="http://localhost:11434/v1",
    )
    c2.text_input("Model", key="wb.llm_model", placeholder="gpt-4o-mini")
    cur = wb_ai.ai_settings(st.session_state.get("wb.llm_base_url"), st.session_state.get("wb.llm_model"), secrets)
    src = wb_ai.key_source(secrets)
    st.markdown(
        f"API key: **{'set, from ' + src if cur.api_key else 'not set'}**. "
        "The key is read from the `OPENAI_API_KEY` environment variable or `.streamlit/secrets.toml`; "
        "it is never shown here or stored."
    )
    if cur.online:
        st.success(f"Provider: **{cur.provider}** · model `{cur.model}`", icon=":material/smart_toy:")
    else:
        st.info(
            "Provider: **offline** — translations, explanations and decisions use the built-in "
            "deterministic implementations. Set a base URL (e.g. a local Ollama) or an API key to use a model.",
            icon=":material/lightbulb:",
        )
    st.caption(
        "The server, model and budgets chosen here apply to this browser session's translations and "
        "explanations. Runs use the app server's environment (OPENAI_BASE_URL, WORKBENCH_LLM_MODEL, "
        "WORKBENCH_LLM_*_BUDGET_USD); the confidence below is the default on the Run page."
    )

    st.markdown("**Budgets and AI decisions**")
    b1, b2, b3 = st.columns(3)
    st.session_state.setdefault("wb.budget_daily", float(base.daily_budget_usd or 0))
    st.session_state.setdefault("wb.budget_workflow", float(base.workflow_budget_usd or 0))
    st.session_state.setdefault("wb.decision_threshold", int(base.decision_threshold))
    b1.number_input("Daily LLM budget (USD, all workflows)", min_value=0.0, step=1.0, key="wb.budget_daily")
    b2.number_input("Daily budget per workflow (USD)", min_value=0.0, step=0.5, key="wb.budget_workflow")
    b3.slider(
        "Default confidence an AI decision needs",
        0,
        100,
        key="wb.decision_threshold",
        help="Below it a run waits for a person. Used as the default on the Run page.",
    )
    spend = wb_ai.llm_spend(store=eng.store)
    if spend:
        st.caption(
            f"Today: ${float(spend.get('usd') or 0):.4f} spent in {spend.get('calls', 0)} model calls "
            f"({spend.get('hits', 0)} answered from the cache)."
        )

st.divider()
# ----------------------------------------------------------------------------- Ray
st.subheader("Ray cluster")


@st.fragment(run_every=None if eng.cluster_status().get("ready") else 2)
def ray_panel():
    with ui.guard("read the Ray status"):
        d = system.cluster_details(eng)
        if d.get("ready"):
            st.success(
                f"Connected ({d.get('mode') or d.get('kind')}) · {ui.count(d.get('nodes') or 1, 'node')}",
                icon=":material/check_circle:",
            )
        elif d.get("error"):
            st.error(f"Ray is not available: {d['error']}", icon=":material/error:")
        else:
            st.warning(
                "Ray is starting in the background (10–20 s). Steps that need it wait for it.",
                icon=":material/hourglass_top:",
            )
        c1, c2 = st.columns(2)
        c1.markdown(f"Configured address: `{d['configured_address']}`")
        if d.get("address"):
            c1.markdown(f"Connected to: `{d['address']}`")
        if d.get("dashboard_url"):
            c2.link_button("Open the Ray dashboard ↗", d["dashboard_url"])
        res = d.get("resources") or {}
        if res:
            m1, m2, m3 = st.columns(3)
            m1.metric("CPUs", f"{res.get('CPU', 0):g}")
            m2.metric("Memory", f"{res.get('memory', 0) / 2**30:.1f} GiB")
            m3.metric("Object store", f"{res.get('object_store_memory', 0) / 2**30:.2f} GiB")
        st.caption(
            "Set `RAY_ADDRESS` before starting the app to use another cluster; `make run` starts a "
            "local head outside the app."
        )


ray_panel()

st.divider()
# ----------------------------------------------------------------------------- database
st.subheader("Records")
with ui.guard("read the database details"):
    d = system.store_details(eng.store)
    st.markdown(f"Database: `{d['path']}` (views for notebooks; set `WORKBENCH_DB` to move it)")
    st.caption(f"Records are appended under `{d['log_dir']}` and are readable while runs go on.")
    counts = d.get("counts") or {}
    if "error" in counts:
        st.error(counts["error"])
    else:
        st.dataframe([{"table": k, "rows": v} for k, v in counts.items()], hide_index=True, width="content")

st.divider()
secrets_panel.render_secrets_panel()  # names and sources of {secret:NAME}, never values

st.divider()
notify_panel.render_notifications_panel()  # channels, default, SMTP; a test message
