"""Describe page: the schedules, triggers and notifications a description implies, each with an Accept
checkbox; accepted ones are added to the saved workflow. UI only: the shapes and the merge are
engine.ai.proposals'."""

from __future__ import annotations

import streamlit as st

from engine.ai.proposals import KINDS, apply_to_spec, describe

LABELS = {"schedules": "Schedule", "triggers": "Trigger", "notifications": "Notification"}


def _zone() -> str:
    try:
        from app.components.schedules_view import viewer_zone

        return viewer_zone()
    except Exception:  # the automation UI not available: keep the proposal's zone
        return "UTC"


def _localised(proposals: dict[str, list[dict]], tz: str) -> dict[str, list[dict]]:
    """Cron schedules proposed in UTC run in the viewer's time zone ("7am" means the viewer's 7am)."""
    out = {k: [dict(e) for e in (proposals.get(k) or [])] for k in KINDS}
    for e in out["schedules"]:
        if e.get("cron") and e.get("timezone", "UTC") == "UTC":
            e["timezone"] = tz
    return out


def render_proposals(res: dict, prefix: str = "desc") -> None:
    """One line per proposal with an Accept checkbox (key ``{prefix}.accept.<kind>.<i>``)."""
    proposals = _localised(res.get("proposals") or {}, _zone())
    if not any(proposals.values()):
        return
    st.markdown("**Also proposed** — tick what the saved workflow should include")
    for kind in KINDS:
        for i, entry in enumerate(proposals[kind]):
            note = entry.get("description") or ""
            st.checkbox(
                f"{LABELS[kind]}: {describe(entry)}",
                key=f"{prefix}.accept.{kind}.{i}",
                help=note or None,
            )


def accepted(res: dict, prefix: str = "desc") -> dict[str, list[int]]:
    """Indexes of the proposals whose Accept box is ticked, per kind."""
    out: dict[str, list[int]] = {}
    for kind in KINDS:
        for i, _ in enumerate((res.get("proposals") or {}).get(kind) or []):
            if st.session_state.get(f"{prefix}.accept.{kind}.{i}"):
                out.setdefault(kind, []).append(i)
    return out


def apply_accepted(spec, res: dict, prefix: str = "desc"):
    """``spec`` with the ticked proposals added (schedules in the viewer's time zone)."""
    chosen = accepted(res, prefix)
    if not chosen:
        return spec
    return apply_to_spec(spec, _localised(res.get("proposals") or {}, _zone()), chosen)


def clear(prefix: str = "desc") -> None:
    """Forget the ticks (a new translation has new proposals)."""
    for key in [k for k in st.session_state if str(k).startswith(f"{prefix}.accept.")]:
        del st.session_state[key]
