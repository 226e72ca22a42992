"""Who drives a run: a lease each driving process renews in the records, not a PID check.

A process driving runs (an :class:`engine.runner.Engine` with live runs: the service, a CLI run,
the app) appends a row to ``engine_leases`` every :data:`RENEW_S` seconds saying its lease runs
until now + :data:`TTL_S`. A run's ``owner`` column names the process driving it; the run is
orphaned once that owner's lease expired, so this works across machines sharing the records.
On the owner's own machine a dead process is also noticed at once (its PID is gone). Records
written before leases existed (no lease row for the owner) fall back to that PID check.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time

from engine import records

TTL_S = float(os.environ.get("WORKBENCH_LEASE_TTL_S", "15"))
RENEW_S = max(0.2, min(3.0, TTL_S / 4))


def _now() -> dt.datetime:
    return records.store_time(records.utc_now())


def renew(store, owner: str, ttl_s: float = TTL_S) -> None:
    """Extend ``owner``'s lease to now + ``ttl_s`` (one row; the newest row per owner wins)."""
    host, _, rest = owner.partition(":")
    pid = rest.split(":")[0]
    now = _now()
    store.append(
        "engine_leases",
        {
            "owner": owner,
            "host": host,
            "pid": int(pid) if pid.isdigit() else None,
            "expires_at": now + dt.timedelta(seconds=ttl_s),
            "updated_at": now,
            "seq": time.monotonic_ns(),
        },
    )


def release(store, owner: str) -> None:
    """End ``owner``'s lease now (a clean shutdown: its unfinished runs may be taken over at once)."""
    now = _now()
    store.append("engine_leases", {"owner": owner, "expires_at": now, "updated_at": now, "seq": time.monotonic_ns()})


class LeaseKeeper:
    """Renews an engine's lease while it drives runs (called from the engine's poller every tick)."""

    def __init__(self, store, owner: str):
        self.store, self.owner = store, owner
        self._last = 0.0

    def tick(self, driving: bool) -> None:
        """Renew when due (every RENEW_S) while ``driving``; nothing to do otherwise."""
        now = time.monotonic()
        if driving and now - self._last >= RENEW_S:
            renew(self.store, self.owner)
            self._last = now


def _pid_alive(owner: str) -> bool | None:
    """True/False when ``owner`` runs on this machine (its PID exists or not); None elsewhere."""
    host, _, rest = owner.partition(":")
    pid = rest.split(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lease_expires_at(store, owner: str) -> dt.datetime | None:
    rows = store.query("SELECT expires_at FROM engine_leases WHERE owner = ?", [owner])
    return rows[0]["expires_at"] if rows else None


def owner_alive(store, owner: str | None, me: str | None = None) -> bool:
    """Whether the process named ``owner`` still drives its runs: its lease has not expired (and,
    on this machine, its PID exists). Without a lease row: the PID check (another machine: alive)."""
    if not owner:
        return False
    if owner == me:
        return True
    local = _pid_alive(owner)
    if local is False:
        return False
    expires = lease_expires_at(store, owner)
    if expires is None:
        return local is not False
    return expires > _now()
