"""``notify`` action: send a message from a step — Slack-compatible webhook, JSON webhook or e-mail.

```toml
[states.tell_team]
action = "notify"
channel = "slack"                 # slack | webhook | email | a channel named in data/notifications.toml
url = "{secret:SLACK_WEBHOOK}"    # slack / webhook; the host follows the http action's rules
message = "Daily report: {total} orders"   # {name} placeholders from the context (engine/actions/templating.py)
```
``channel = "email"`` takes ``to`` and ``subject`` (the ``email`` action is the same with ``channel``
implied). A named channel is the administrator's (any host); a URL written in the workflow goes
through the sandbox of engine/sandbox.py like ``http``. The result ``{into: {channel, sent, detail}}``
lands in the context (``into`` defaults to the state's name). Delivery problems raise
``ConnectionError`` (transient: the state's retry policy applies); a refused host ``PermissionError``.
"""

from __future__ import annotations

from engine.actions.templating import fill
from engine.automation import notify


def channel_for(binding: dict, ctx) -> tuple[notify.ChannelSpec, bool]:
    """The channel a notify/email binding names, filled from the context: (channel, trusted)."""
    kind = "email" if binding.get("action") == "email" else binding.get("channel")
    if kind in notify.CHANNEL_TYPES:
        spec = {
            "type": kind,
            "url": fill(binding["url"], ctx) if binding.get("url") else None,
            "headers": binding.get("headers") or {},
            "allowed_hosts": binding.get("allowed_hosts") or [],
            "to": [fill(str(a), ctx) for a in binding.get("to") or []],
            "subject": fill(binding["subject"], ctx) if binding.get("subject") else None,
        }
        if binding.get("timeout_s"):
            spec["timeout_s"] = min(300.0, float(binding["timeout_s"]))
        try:
            return notify.ChannelSpec.model_validate(spec), False
        except ValueError as exc:
            raise ValueError(f"the {binding.get('action')} state's channel is incomplete: {exc}") from None
    settings = notify.load_settings()
    channel, trusted = notify.resolve_channels([str(kind)], settings)[0]
    if binding.get("subject") or binding.get("to"):  # a named e-mail channel may take other recipients
        channel = channel.model_copy(
            update={
                "subject": fill(binding["subject"], ctx) if binding.get("subject") else channel.subject,
                "to": [fill(str(a), ctx) for a in binding.get("to") or []] or channel.to,
            }
        )
    return channel, trusted


def run_notify(binding: dict, ctx, meta: dict) -> dict:
    """Send the filled ``message`` on the binding's channel."""
    channel, trusted = channel_for(binding, ctx)
    text = fill(binding.get("message") or "", ctx)
    eid = meta.get("execution_id")
    event = {
        "kind": "step",
        "message": text,
        "execution_id": eid,
        "workflow_id": meta.get("workflow_id"),
        "state": meta.get("state"),
        "link": notify.run_link(eid) if eid else None,
    }
    message = notify.build_message(event)
    if channel.subject:
        message["subject"] = channel.subject
    try:
        detail = notify.send(channel, message, trusted=trusted)
    except notify.NotifyError as exc:
        raise ConnectionError(f"{channel.label}: {exc}") from None
    into = binding.get("into") or meta.get("state") or "notified"
    return {into: {"channel": channel.label, "sent": True, "target": notify.target_of(channel), "detail": detail}}
