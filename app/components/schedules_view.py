"""Workflows page: a workflow's schedules (next fire times in the viewer's time zone, pause/resume, add)
and its webhook / file triggers. UI only: every action calls engine/automation."""

from __future__ import annotations

import json

import streamlit as st

from app.components import auth_gate, ui
from engine.auth import Permission
from engine.automation import schedules, triggers


def viewer_zone() -> str:
    """The browser's IANA time zone (``st.context.timezone``), else UTC."""
    try:
        tz = st.context.timezone
    except Exception:  # no browser context (bare mode)
        tz = None
    if not tz:
        return "UTC"
    try:
        from engine.automation.specs import zone

        zone(tz)
        return tz
    except ValueError:
        return "UTC"


def _when(d: dict) -> str:
    if d.get("cron"):
        return f"cron `{d['cron']}` ({d.get('timezone') or 'UTC'})"
    return f"every {d.get('every')}"


def render_automation(store, workflow_id: str) -> None:
    """The "Schedules & triggers" section of one workflow."""
    tz = viewer_zone()
    rows = trig = None
    with ui.guard("read the schedules"):
        rows = schedules.list_schedules(store, workflow_id)
        trig = triggers.trigger_rows(store, workflow_id)
    if rows is None:
        return
    st.markdown("#### Schedules & triggers")
    if not rows:
        st.caption("No schedule. Add one below, or with `[[schedules]]` in the workflow file.")
    for r in rows:
        d = r["definition"]
        sid = r["schedule_id"]
        c1, c2, c3 = st.columns([3, 4, 1])
        state = "on" if r["enabled"] else "paused"
        c1.markdown(f"**{d.get('id')}** · {_when(d)} · {state}")
        c1.caption(f"from the {r['source']} · after downtime: {d.get('catchup')}")
        if r["enabled"]:
            times = schedules.next_fire_times_local(d, tz, 3)
            c2.markdown("Next: " + ", ".join(f"{t:%a %d %b %H:%M:%S}" for t in times) + f" ({tz})")
        else:
            c2.markdown("Paused: no runs until resumed (missed slots are not caught up).")
        last = r.get("last_fire")
        if last:
            c2.caption(f"Last: {last['fire_time']} UTC — {last['status']}")
        label = "Pause" if r["enabled"] else "Resume"
        if c3.button(label, key=f"btn.sched.{sid}", width="stretch") and auth_gate.allow(
            Permission.UPDATE, workflow_id=workflow_id, action=f"schedule_{label.lower()}d", now=True
        ):  # owner, an operator/admin, or an "edit" share (engine/sharing.py)
            with ui.guard(f"{label.lower()} the schedule"):
                schedules.set_enabled(store, sid, not r["enabled"], by=auth_gate.principal().user)
                ui.flash(f"Schedule {d.get('id')} {'paused' if r['enabled'] else 'resumed'}.")
                st.rerun()
    with st.expander("Add a schedule"):
        kind = st.radio("Kind", ["cron", "interval"], horizontal=True, key=f"sched.kind.{workflow_id}")
        if kind == "cron":
            cron = st.text_input("Cron (min hour day month weekday)", "0 7 * * 1-5", key=f"sched.cron.{workflow_id}")
            zone_name = st.text_input("Time zone", tz, key=f"sched.tz.{workflow_id}")
            definition = {"cron": cron, "timezone": zone_name}
        else:
            every = st.text_input("Every", "15m", key=f"sched.every.{workflow_id}", help="30s, 15m, 1h30m, 1d")
            definition = {"every": every}
        ctx_text = st.text_area("Initial context (JSON)", "{}", key=f"sched.ctx.{workflow_id}", height=80)
        catchup = st.selectbox("After downtime", ["skip", "run_once"], key=f"sched.catchup.{workflow_id}")
        one_at_a_time = st.checkbox(
            "One run at a time (skip a slot while the previous run is still going)", key=f"sched.overlap.{workflow_id}"
        )
        if st.button("Add schedule", key=f"btn.sched.add.{workflow_id}", type="primary") and auth_gate.allow(
            Permission.UPDATE, workflow_id=workflow_id, action="schedule_added", now=True
        ):
            with ui.guard("add the schedule"):
                try:
                    ctx = json.loads(ctx_text or "{}")
                except ValueError as exc:
                    raise schedules.ScheduleError(f"the initial context is not JSON: {exc}") from None
                added = schedules.add_schedule(
                    store,
                    workflow_id,
                    {**definition, "context": ctx, "catchup": catchup, "overlap": "skip" if one_at_a_time else "allow"},
                    by=auth_gate.principal().user,
                    source="app",
                )
                ui.flash(f"Schedule added; next run {added['next_fires'][0]} UTC.")
                st.rerun()
    if trig:
        st.caption("Triggers")
        for t in trig:
            d = t["definition"]
            what = (
                f"webhook `POST /api/v1/hooks/{t['workflow_id']}/{d.get('id')}` ({d.get('auth')})"
                if t["kind"] == "webhook"
                else f"file `{d.get('folder')}/{d.get('glob')}`"
            )
            c1, c2 = st.columns([7, 1])
            c1.markdown(f"**{d.get('id')}** · {what} · {'on' if t['enabled'] else 'paused'}")
            label = "Pause" if t["enabled"] else "Resume"
            if c2.button(label, key=f"btn.trig.{t['trigger_id']}", width="stretch") and auth_gate.allow(
                Permission.UPDATE, workflow_id=workflow_id, action=f"trigger_{label.lower()}d", now=True
            ):
                with ui.guard(f"{label.lower()} the trigger"):
                    triggers.set_trigger_enabled(store, t["trigger_id"], not t["enabled"])
                    st.rerun()
