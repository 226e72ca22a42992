"""The Settings page's "Secrets" panel: the names workflows can use as ``{secret:NAME}`` and where
each comes from — never a value (engine.secrets)."""

from __future__ import annotations

import streamlit as st

from engine import secrets


def render_secrets_panel() -> None:
    """A table of secret names and sources, how to define more, and any source that is refused."""
    st.subheader("Secrets")
    st.caption(
        "Write `{secret:NAME}` in a state's URL, headers, body or params; the value is filled in when the "
        "state runs and never stored or shown. Define one with the environment variable "
        f"`WORKBENCH_SECRET_<NAME>`, under `[workbench.secrets]` in `.streamlit/secrets.toml`, or in "
        f"`{secrets.user_secrets_file()}` (readable by you only)."
    )
    try:
        rows = secrets.list_secrets()
    except secrets.SecretError as exc:  # e.g. a secrets file others can read: say so, show nothing from it
        st.error(str(exc))
        return
    if rows:
        st.dataframe(rows, hide_index=True, width="content", column_config={"name": "Name", "source": "Source"})
    else:
        st.info("No secrets defined yet.", icon=":material/key:")
