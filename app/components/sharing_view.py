"""Workflows page: the "Sharing" panel of one workflow — its owner, who it is shared with (users and
groups, at view / run / edit), share and un-share. UI only: every action calls engine/sharing.py."""

from __future__ import annotations

import streamlit as st

from app.components import auth_gate, ui
from engine import sharing

LEVEL_HELP = "view: read it and its runs · run: also start, approve and cancel runs · edit: also save versions"


def render_sharing(store, workflow_id: str) -> None:
    """The "Sharing" panel: the shares of ``workflow_id``; its owner, operators and admins change them."""
    who = auth_gate.principal()
    rows = None
    owner = ""
    with ui.guard("read the shares"):
        _, owner = sharing.resolve_workflow(store, workflow_id)
        rows = sharing.list_shares(store, workflow_id)
    if rows is None:
        return
    st.markdown("#### Sharing")
    st.caption(f"Owner: **{owner or 'nobody recorded'}**. {LEVEL_HELP}. A share never goes beyond a user's role.")
    manage = sharing.may_manage(who, owner)
    if not rows:
        st.caption("Not shared with anyone: only its owner, operators and admins see it.")
    for r in rows:
        c1, c2 = st.columns([7, 1])
        c1.markdown(
            f"{r['subject_kind']} **{r['subject']}** · {r['level']} · shared by {r['shared_by']} "
            f"{ui.short_time(r['updated_at'])}"
        )
        if manage and c2.button("Remove", key=f"btn.share.rm.{r['share_id']}", width="stretch"):
            with ui.guard("remove the share"):
                kind = {r["subject_kind"]: r["subject"]}
                sharing.unshare(store, who, workflow_id, user=kind.get("user"), group=kind.get("group"))
                ui.flash(f"No longer shared with {r['subject_kind']} {r['subject']}.")
                st.rerun()
    if not manage:
        st.caption("Only its owner, an operator or an admin changes who it is shared with (workflow:share).")
        return
    with st.expander("Share this workflow"):
        c1, c2, c3 = st.columns([1, 3, 1])
        kind = c1.radio("With", ["user", "group"], key=f"share.kind.{workflow_id}")
        subject = c2.text_input(
            "E-mail / user" if kind == "user" else "Group (* = every signed-in user)",
            key=f"share.subject.{workflow_id}",
        )
        level = c3.selectbox("Level", ["view", "run", "edit"], key=f"share.level.{workflow_id}", help=LEVEL_HELP)
        if st.button("Share", type="primary", key=f"btn.share.add.{workflow_id}"):
            with ui.guard("share the workflow"):
                args = {"user": subject} if kind == "user" else {"group": subject}
                row = sharing.share(store, who, workflow_id, level=level, **args)
                ui.flash(f"Shared with {row['subject_kind']} {row['subject']} ({row['level']}).")
                st.rerun()
