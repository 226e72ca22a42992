"""Which states act outside the run (messages, file writes, changing HTTP calls)."""

from __future__ import annotations

SIDE_EFFECT_ACTIONS = ("notify", "email")  # always act outside the run (plus files writes, non-GET http)


def side_effect_of(binding) -> str | None:
    """What a state does outside the run's context (sends a message, writes a file, changes a service),
    or None. Such a state must run every time it is reached: it is never suggested for caching or skipping,
    and a retry suggestion warns that it repeats the effect."""
    if binding.action in SIDE_EFFECT_ACTIONS:
        return f"it sends a message ({binding.action})"
    if binding.action == "files" and (binding.operation or "read") == "write":
        return "it writes a file"
    if binding.action == "http" and binding.method != "GET":
        return f"it changes a service (HTTP {binding.method})"
    return None
