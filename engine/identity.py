"""Who works in this process (no dependencies: the library records it as an owner, auth and the CLI as
who made a token, schedule or share)."""

from __future__ import annotations

import getpass
import os


def login_user() -> str:
    """Who works in this process: ``WORKBENCH_USER``, else the OS login (``unknown`` without one). The CLI
    records it as who made a token, schedule or share, and the library as the owner of a saved version."""
    try:
        return os.environ.get("WORKBENCH_USER") or getpass.getuser()
    except Exception:  # pragma: no cover - no user database entry
        return "unknown"
