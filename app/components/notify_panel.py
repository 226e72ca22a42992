"""The Settings page's "Notifications" panel: the administrator's notification settings (channels,
default, SMTP server — never a password or a secret URL) and a test message per channel."""

from __future__ import annotations

import streamlit as st

from app.components import ui
from engine.automation import notify


def _send_test(name: str) -> None:
    detail = ui.run_guarded(f"send a test message on '{name}'", notify.send_test, name)
    if detail:
        ui.flash(f"Test message sent on '{name}': {detail}.", "success")


def render_notifications_panel() -> None:
    """Channels, default, SMTP and retries of data/notifications.toml, with a test button per channel."""
    st.subheader("Notifications")
    with ui.guard("read the notification settings"):
        s = notify.settings_summary()
        st.caption(
            f"Settings file `{s['path']}`{'' if s['exists'] else ' (not created yet)'}; run links open "
            f"`{s['app_url']}/history?run=<id>`. A workflow's own `[notifications]` table replaces the default; "
            "see docs/automation.md."
        )
        d = s["default"]
        if d["channels"] and d["enabled"]:
            st.markdown(f"Default: **{', '.join(d['on'])}** → {', '.join(d['channels'])}")
        else:
            st.markdown("Default: no notifications for workflows without a `[notifications]` table.")
        if s["channels"]:
            st.dataframe(s["channels"], hide_index=True, width="content", key="set.notify.channels")
            c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
            name = c1.selectbox("Channel", [c["name"] for c in s["channels"]], key="set.notify.channel")
            c2.button("Send a test message", key="btn.set.notify.test", on_click=_send_test, args=(name,))
        else:
            st.info("No named channels yet.", icon=":material/notifications_off:")
        m = s["smtp"]
        st.caption(
            f"E-mail: {m['host']}:{m['port']} ({m['security']}), from {m['sender']}"
            + (
                f", login {m['username']} (password {'set' if m['password_set'] else 'missing'})"
                if m["username"]
                else ""
            )
            + f". Retries: {ui.count(s['retry']['max_attempts'], 'attempt')}, backoff from {s['retry']['backoff_s']:g} s."
        )
