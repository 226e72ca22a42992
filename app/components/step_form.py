"""The Editor's step form: what a step does (its action and the action's fields), timeout, retries,
error handling and placement on the Ray cluster, applied to the draft in ``st.session_state["ed.spec"]``.

Form values live under ``ed.b.<state>.<field>``; "Apply to this step" validates them through
``drafts.binding_from_form`` and writes the step's binding into the draft (a save makes a version)."""

from __future__ import annotations

import json

import streamlit as st

from app.components import ui
from engine.workbench import drafts
from engine.workflow_file import ACTION_FIELDS, MAX_APPROVAL_WAIT_S, MAX_STATE_TIMEOUT_S, MAX_WAIT_S, StateBinding

ACTIONS = ["noop", "python", "sql", "llm", "http", "files", "notify", "email", "approval", "wait", "workflow"]
ACTION_HELP = {
    "noop": "does nothing (a placeholder or a pure decision point)",
    "python": "calls a Python function `module:function(context, **params)` that returns new context values",
    "sql": "runs a DuckDB query over CSV/Parquet files; the result lands in the context",
    "llm": "asks the language model; the answer lands in the context",
    "http": "calls a web API (allowed hosts only)",
    "files": "reads or writes a CSV/Parquet/JSON file inside the allowed data folders",
    "notify": "sends a message to Slack, a webhook, e-mail or a channel of data/notifications.toml",
    "email": "sends an e-mail through the SMTP settings",
    "approval": "waits for a person to approve or reject",
    "wait": "pauses the run for a time, or until a date and time, then goes on (the wait survives restarts)",
    "workflow": "runs another workflow as a sub-workflow",
}
ACTION_SHORT = {
    "noop": "noop — do nothing",
    "python": "python — run a Python function",
    "sql": "sql — query data files",
    "llm": "llm — ask the language model",
    "http": "http — call a web API",
    "files": "files — read or write a data file",
    "notify": "notify — send a notification",
    "email": "email — send an e-mail",
    "approval": "approval — ask a person",
    "wait": "wait — pause for a time",
    "workflow": "workflow — run another workflow",
}
PARAMS_ACTIONS = tuple(a for a, fields in ACTION_FIELDS.items() if "params" in fields)  # python, sql, workflow
RECOVERY = ["(automatic)", "retry", "skip", "fallback", "compensate", "abort", "escalate"]
FORMAT_FROM_SUFFIX = "(from the suffix)"  # files action: no explicit format


def binding_key(state: str, field: str) -> str:
    return f"ed.b.{state}.{field}"


def _init_binding_keys(state: str):
    if binding_key(state, "action") in st.session_state:
        return
    b = StateBinding.model_validate(st.session_state["ed.spec"]["states"].get(state) or {})
    vals = {
        "action": b.action,
        "description": b.description,
        "function": b.function or "",
        "query": b.query or "",
        "files": json.dumps(b.files) if b.files else "",
        "into": b.into or "",
        "output": b.output or "(default)",
        "prompt": b.prompt or "",
        "system": b.system or "",
        "url": b.url or "",
        "method": b.method,
        "body": json.dumps(b.body) if b.body else "",
        "headers": json.dumps(b.headers) if b.headers else "",
        "allowed_hosts": ", ".join(b.allowed_hosts),
        "message": b.message or "",
        # notify / email (NOTIFY) and files (INPUTS)
        "channel": b.channel or "",
        "to": ", ".join(b.to),
        "subject": b.subject or "",
        "operation": b.operation or "read",
        "path": b.path or "",
        "format": b.format or FORMAT_FROM_SUFFIX,
        "from_key": b.from_key or "",
        "max_rows": int(b.max_rows or 0),
        "deadline_s": float(b.deadline_s or 0),
        "workflow": b.workflow or "",
        "wait_min": float(b.wait_s or 0) / 60,
        "until": b.until or "",
        "give_up_h": float(b.give_up_after_s or 0) / 3600,
        "params": json.dumps(b.params) if b.params else "",
        # an approval's timeout_s is how long it waits for an answer (up to 30 days): its own field, in hours
        "timeout_s": 0.0 if b.action == "approval" else min(float(b.timeout_s or 0), float(MAX_STATE_TIMEOUT_S)),
        "answer_within_h": float(b.timeout_s or 0) / 3600 if b.action == "approval" else 0.0,
        "max_attempts": int(b.retry.max_attempts if b.retry else 1),
        "backoff_s": float(b.retry.backoff_s if b.retry else 0.5),
        "backoff_factor": float(b.retry.backoff_factor if b.retry else 2.0),
        "max_backoff_s": float(b.retry.max_backoff_s if b.retry else 30.0),  # no widget: kept as it was
        "on_error": b.on_error or "(automatic)",
        "compensate": b.compensate or "(none)",
        "execution": b.execution,
        # placement on the Ray cluster (engine/task_placement.py): empty = Ray's default
        "num_cpus": "" if b.num_cpus is None else f"{b.num_cpus:g}",
        "num_gpus": "" if b.num_gpus is None else f"{b.num_gpus:g}",
        "memory": "" if b.memory is None else str(b.memory),
        "resources": json.dumps(b.resources) if b.resources else "",
        "node": json.dumps(b.node) if b.node else "",
    }
    for k, v in vals.items():
        st.session_state[binding_key(state, k)] = v


def _split_list(text: str | None) -> list[str]:
    """Comma-separated form text as a list (empty parts dropped)."""
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _apply_binding(state: str):
    g = lambda f: st.session_state.get(binding_key(state, f))
    action = g("action")
    values = {
        "action": action,
        "description": g("description"),
        "params": (g("params") or "") if action in PARAMS_ACTIONS else "",
        "timeout_s": (float(g("answer_within_h") or 0) * 3600 or None)
        if action == "approval"
        else (g("timeout_s") or None),
        "deadline_s": g("deadline_s") or None,
        "execution": g("execution"),
        **{f: (g(f) or "").strip() for f in ("num_cpus", "num_gpus", "memory", "resources", "node")},
        "on_error": None if g("on_error") == "(automatic)" else g("on_error"),
        "compensate": None if g("compensate") == "(none)" else g("compensate"),
        "retry": {
            "max_attempts": int(g("max_attempts") or 1),
            "backoff_s": float(g("backoff_s") or 0),
            "backoff_factor": float(g("backoff_factor") or 1),
            # a wait longer than the old cap raises it ("retry … an hour apart" stays an hour)
            "max_backoff_s": max(float(g("max_backoff_s") or 30.0), float(g("backoff_s") or 0)),
        },
    }
    if action == "python":
        values["function"] = (g("function") or "").strip()
    elif action == "sql":
        values.update(query=g("query"), files=g("files") or "", into=g("into"))
    elif action == "llm":
        values.update(prompt=g("prompt"), system=g("system"), into=g("into"))
    elif action == "http":
        values.update(
            url=(g("url") or "").strip(),
            method=g("method"),
            body=g("body") or "",
            headers=g("headers") or "",
            into=g("into"),
            allowed_hosts=[h.strip() for h in (g("allowed_hosts") or "").split(",") if h.strip()],
        )
    elif action == "files":
        write = g("operation") == "write"
        values.update(
            operation=g("operation"),
            path=(g("path") or "").strip(),
            format=None if g("format") == FORMAT_FROM_SUFFIX else g("format"),
            from_key=(g("from_key") or "").strip() if write else None,
            max_rows=int(g("max_rows") or 0) or None,
            into=g("into"),
        )
    elif action == "notify":
        values.update(
            channel=(g("channel") or "").strip(),
            message=g("message"),
            to=_split_list(g("to")),
            subject=g("subject"),
            url=(g("url") or "").strip(),
            headers=g("headers") or "",
            allowed_hosts=_split_list(g("allowed_hosts")),
            into=g("into"),
        )
    elif action == "email":
        values.update(to=_split_list(g("to")), subject=g("subject"), message=g("message"))
    elif action == "approval":
        values["message"] = g("message")
    elif action == "workflow":
        values["workflow"] = (g("workflow") or "").strip()
    elif action == "wait":
        values.update(
            wait_s=float(g("wait_min") or 0) * 60 or None,
            until=(g("until") or "").strip(),
            give_up_after_s=float(g("give_up_h") or 0) * 3600 or None,
            timeout_s=None,
        )
    if action in ("sql", "llm") and g("output") not in (None, "(default)"):
        values["output"] = g("output")
    b = ui.run_guarded(f"apply the settings of '{state}'", drafts.binding_from_form, values)
    if b is None:
        return
    data = b.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    states_ = dict(st.session_state["ed.spec"].get("states") or {})
    if data:
        states_[state] = data
    else:
        states_.pop(state, None)
    st.session_state["ed.spec"] = {**st.session_state["ed.spec"], "states": states_}
    ui.flash(f"Updated '{state}' ({b.action}). Save to keep it as a new version.")


def render_step_form(sel: str, states: list[str]) -> None:
    """The form of step ``sel`` (``states``: every step of the draft, for the compensation choice)."""
    _init_binding_keys(sel)
    k = lambda f: binding_key(sel, f)
    action = st.selectbox("What this step does", ACTIONS, key=k("action"), format_func=ACTION_SHORT.get)
    st.caption(ACTION_HELP[action])
    if action == "python":
        st.text_input(
            "Function (module:function)",
            key=k("function"),
            placeholder="orders:validate_order",
            help="Looked up in data/functions and next to the workflow file. "
            "It gets the context and the parameters and returns new values.",
        )
    elif action == "sql":
        st.text_area(
            "Query (DuckDB SQL; $name takes a value from the parameters or the context)",
            key=k("query"),
            height=100,
        )
        st.text_input(
            "Files (JSON: table → path under data/)",
            key=k("files"),
            placeholder='{"sales": "samples/sales.csv"}',
        )
    elif action == "llm":
        st.text_area("Prompt ({name} takes a value from the context)", key=k("prompt"), height=100)
        st.text_input("System message (optional)", key=k("system"))
    elif action == "http":
        st.text_input("URL", key=k("url"), placeholder="https://api.example.com/orders/{order_id}")
        st.selectbox("Method", ["GET", "POST"], key=k("method"))
        st.text_input("Allowed hosts (comma-separated)", key=k("allowed_hosts"))
        st.text_input("Body (JSON, POST only)", key=k("body"))
        st.text_input("Headers (JSON)", key=k("headers"))
    elif action == "files":
        c1, c2 = st.columns(2)
        c1.selectbox("Operation", ["read", "write"], key=k("operation"))
        c2.selectbox("Format", [FORMAT_FROM_SUFFIX, "csv", "parquet", "json"], key=k("format"))
        st.text_input(
            "Path (under data/ or an allowed data folder; {name} takes a value from the context)",
            key=k("path"),
            placeholder="inbox/orders_{day}.csv",
        )
        c1, c2 = st.columns(2)
        c1.text_input("Rows to write (context key, write only)", key=k("from_key"), placeholder="report_rows")
        c2.number_input("Most rows (0 = the default limit)", min_value=0, step=1000, key=k("max_rows"))
        st.text_input("Store the result as", key=k("into"), placeholder="orders")
    elif action in ("notify", "email"):
        if action == "notify":
            st.text_input(
                "Channel",
                key=k("channel"),
                placeholder="slack",
                help="slack, webhook, email, or the name of a channel in data/notifications.toml",
            )
        st.text_area(
            "Message ({name} takes a value from the context)",
            key=k("message"),
            height=80,
            placeholder="Order {order_id} shipped",
        )
        c1, c2 = st.columns(2)
        c1.text_input(
            "To (e-mail addresses, comma-separated)" + (" — required" if action == "email" else ""),
            key=k("to"),
        )
        c2.text_input("Subject", key=k("subject"))
        if action == "notify":
            with st.expander("Webhook address and result", expanded=False):
                st.text_input("URL (slack/webhook without a named channel)", key=k("url"))
                st.text_input("Headers (JSON)", key=k("headers"))
                st.text_input("Allowed hosts (comma-separated)", key=k("allowed_hosts"))
                st.text_input("Store the delivery result as", key=k("into"))
    elif action == "approval":
        st.text_input(
            "Question for the approver ({name} takes a value from the context)",
            key=k("message"),
            placeholder="Ship order {order.order_id}?",
        )
        st.number_input(
            "Answer within (hours, 0 = no limit)",
            min_value=0.0,
            max_value=MAX_APPROVAL_WAIT_S / 3600,
            step=1.0,
            key=k("answer_within_h"),
            help="with no answer by then the step fails as timed out (ApprovalTimeout) and its @error path runs",
        )
    elif action == "workflow":
        st.text_input("Workflow (library name or .toml file)", key=k("workflow"))
    elif action == "wait":
        c1, c2 = st.columns(2)
        c1.number_input(
            "Wait (minutes)",
            min_value=0.0,
            max_value=MAX_WAIT_S / 60,
            step=5.0,
            key=k("wait_min"),
            help="how long the run pauses here (0 when it waits until a moment instead)",
        )
        c2.text_input(
            "… or until (date and time, UTC, or {name} from the context)",
            key=k("until"),
            placeholder="2027-01-31T09:00 or {due_at}",
        )
        st.number_input(
            "Give up after (hours since the run first reached this wait, 0 = never)",
            min_value=0.0,
            max_value=MAX_WAIT_S / 3600,
            step=1.0,
            key=k("give_up_h"),
            help="for a poll (check → wait → check …): past this, the wait fails as WaitGaveUp and its @error "
            "path runs (e.g. tell support)",
        )
        st.caption(
            "The run shows as waiting meanwhile; nobody is asked. A restart keeps the moment it goes on, and "
            "*Stop waiting, go on now* on the run's page ends the wait early."
        )
    if action in ("sql", "llm"):
        c1, c2 = st.columns(2)
        c1.text_input("Store the result as", key=k("into"), placeholder="result")
        c2.selectbox("Result shape", ["(default)", "scalar", "row", "rows", "table", "text", "json"], key=k("output"))
    elif action == "http":
        st.text_input("Store the result as", key=k("into"), placeholder="result")
    if action in PARAMS_ACTIONS:
        st.text_input("Parameters (JSON)", key=k("params"), placeholder='{"region": "North"}')
    with st.expander("Timeout, retries, errors", expanded=False):
        c1, c2 = st.columns(2)
        if action == "approval":
            c1.caption("An approval's time limit is *Answer within*, above.")
        elif action == "wait":
            c1.caption("A wait has no timeout: its length is set above.")
        else:
            c1.number_input(
                "Timeout (s, 0 = none)",
                min_value=0.0,
                max_value=float(MAX_STATE_TIMEOUT_S),
                step=5.0,
                key=k("timeout_s"),
            )
        c2.selectbox(
            "Runs on",
            ["auto", "ray", "inline"],
            key=k("execution"),
            help="auto: Ray, or in the driver when the step is known to take a few ms",
        )
        c1, c2, c3 = st.columns(3)
        c1.number_input("Attempts", min_value=1, max_value=100, step=1, key=k("max_attempts"))
        c2.number_input("First wait (s)", min_value=0.0, max_value=3600.0, step=0.5, key=k("backoff_s"))
        c3.number_input("Wait × per retry", min_value=1.0, max_value=10.0, step=0.5, key=k("backoff_factor"))
        c1, c2 = st.columns(2)
        c1.selectbox(
            "When it still fails",
            RECOVERY,
            key=k("on_error"),
            help="automatic: the recovery engine picks retry/skip/fallback/… from the error",
        )
        c2.selectbox("Undo with (compensation)", ["(none)"] + [s for s in states if s != sel], key=k("compensate"))
        st.number_input(
            "Deadline (s, 0 = none): a miss is notified, the step goes on",
            min_value=0.0,
            step=60.0,
            key=k("deadline_s"),
        )
        st.text_input("Description", key=k("description"))
    with st.expander("Placement on the Ray cluster", expanded=False):
        c1, c2, c3 = st.columns(3)
        c1.text_input("CPUs", key=k("num_cpus"), placeholder="1", help="Ray num_cpus; empty = default")
        c2.text_input("GPUs", key=k("num_gpus"), placeholder="0")
        c3.text_input("Memory", key=k("memory"), placeholder="512MB", help="bytes, or 512MB / 2GiB")
        c1, c2 = st.columns(2)
        c1.text_input("Custom resources (JSON)", key=k("resources"), placeholder='{"node_b": 1}')
        c2.text_input(
            "Node labels (JSON selector)",
            key=k("node"),
            placeholder='{"zone": "in(a,b)"}',
            help="a state with any placement always runs on Ray",
        )
    st.button(
        "Apply to this step",
        type="primary",
        on_click=_apply_binding,
        args=(sel,),
        key=f"btn.ed.apply.{sel}",
        width="stretch",
    )
