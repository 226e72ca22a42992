"""``email`` action: send an e-mail from a step through the administrator's SMTP server.

```toml
[states.mail_report]
action = "email"
to = ["ops@example.com", "{owner_email}"]
subject = "Daily report {day}"
message = "Total: {total}"
```
The SMTP server, security (none | starttls | ssl) and login come from ``[smtp]`` of
data/notifications.toml or ``WORKBENCH_SMTP_*`` (password as ``{secret:NAME}``), never from the
workflow. Same result and errors as the ``notify`` action (engine/actions/notify_action.py).
"""

from __future__ import annotations

from engine.actions.notify_action import run_notify


def run_email(binding: dict, ctx, meta: dict) -> dict:
    """Send the e-mail (``notify`` with the e-mail channel)."""
    return run_notify({**binding, "action": "email"}, ctx, meta)
