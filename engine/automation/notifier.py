"""The service's notification loop: events found in the RECORDS, sent once, every attempt recorded.

Runs from the CLI, the app and the service all write the same records, so the loop reads them rather
than listening to one engine. Every :data:`SCAN_EVERY_S` seconds it looks for

* ``failed`` / ``completed`` top-level runs (``workflow_executions``),
* ``waiting``: open ``human_requests`` (approval, low-confidence decision, escalation),
* ``deadline``: runs or states past their ``deadline_s`` (:mod:`engine.automation.deadlines`, which
  also writes the ``deadline_missed`` audit row),

and for each (event, channel) of the run's ``[notifications]`` (else the settings file's default)
appends a *claim* row to ``notifications`` under the store's cross-process lock ``notify-claims``
**before** sending. A restart or a second service sees the claim and never sends it again. Delivery
runs on a small thread pool: each attempt is a row (``sent`` or ``error``); failures are retried with
exponential backoff up to ``[retry] max_attempts``, then ``gave_up``. Claims whose owner died before
finishing (its lease expired) are taken over and finished by the next service.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from engine import records
from engine.automation import notify
from engine.schema import TIMER_REQUEST

log = logging.getLogger("workbench.notify")

SCAN_EVERY_S = float(os.environ.get("WORKBENCH_NOTIFY_EVERY_S", "1.0"))
CLAIM_LOCK = "notify-claims"
TAKEOVER_EVERY_S = 5.0  # look for dead owners' unfinished claims this often
RESCAN_MARGIN_S = 60.0  # each pass looks this far behind the previous one (rows may land late)
TAKEOVER_WINDOW_S = 86_400.0  # unfinished claims older than this are left alone
FINAL_STATUSES = ("sent", "gave_up")


def _now() -> dt.datetime:
    return records.store_time(records.utc_now())


def enabled_from_env() -> bool:
    """``WORKBENCH_NOTIFY`` (default on): whether a service sends notifications and checks deadlines."""
    return os.environ.get("WORKBENCH_NOTIFY", "1").strip().lower() not in ("0", "false", "no", "off")


@dataclass
class Delivery:
    """One message for one channel of one event."""

    event_key: str
    event: dict
    channel: notify.ChannelSpec
    trusted: bool
    claim_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def dedupe_key(self) -> str:
        return f"{self.event_key}|{self.channel.label}"


def notification_config(raw_json, settings: notify.NotifySettingsFile) -> notify.NotificationSettings:
    """A run's ``[notifications]`` (JSON from its recorded spec), else the settings file's default."""
    value = records.loads(raw_json) if isinstance(raw_json, str) else raw_json
    if value:
        try:
            return notify.NotificationSettings.model_validate(value)
        except Exception as exc:  # a recorded spec was valid when it ran; be lenient anyway
            log.warning("ignoring an invalid [notifications] table: %s", exc)
    return settings.default


# ----------------------------------------------------------------------------- event detection
def _run_event(row: dict, kind: str, settings) -> dict:
    return {
        "kind": kind,
        "execution_id": row["execution_id"],
        "workflow_id": row.get("workflow_id"),
        "workflow_name": row.get("workflow_name"),
        "version": row.get("version"),
        "status": row.get("status"),
        "link": notify.run_link(row["execution_id"], settings),
        "notifications": row.get("notif"),
    }


def finished_run_events(store, since: dt.datetime, settings, skip: set | None = None) -> list[tuple[str, dict]]:
    """``failed`` and ``completed`` top-level runs that ended after ``since`` and were not claimed yet
    (``skip``: event keys known to need nothing)."""
    rows = store.query(
        "SELECT e.execution_id, e.workflow_id, e.workflow_name, e.version, e.status, e.error_message "
        "FROM workflow_executions e WHERE e.status IN ('failed', 'completed') "
        "AND e.parent_execution_id IS NULL AND coalesce(e.end_time, e.updated_at) >= ? "
        "AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.event_key = e.execution_id || ':' || e.status)",
        [since],
    )
    rows = [r for r in rows if not skip or f"{r['execution_id']}:{r['status']}" not in skip]
    if not rows:
        return []
    # the [notifications] of each run's recorded spec: read for these runs only (JSON parsing is the cost)
    marks = ", ".join("?" for _ in rows)
    notif = {
        r["execution_id"]: r["notif"]
        for r in store.query(
            "SELECT execution_id, json_extract(options, '$._spec.notifications') AS notif FROM workflow_executions "
            f"WHERE execution_id IN ({marks})",
            [r["execution_id"] for r in rows],
        )
    }
    for r in rows:
        r["notif"] = notif.get(r["execution_id"])
    failed = [r["execution_id"] for r in rows if r["status"] == "failed"]
    where: dict[str, str] = {}
    if failed:  # the state that failed last, for the message
        marks = ", ".join("?" for _ in failed)
        where = {
            r["execution_id"]: r["state"]
            for r in store.query(
                "SELECT execution_id, arg_max(from_state, timestamp) AS state FROM state_transitions "
                f"WHERE execution_id IN ({marks}) AND status = 'failed' GROUP BY execution_id",
                failed,
            )
        }
    out = []
    for r in rows:
        ev = _run_event(r, r["status"], settings)
        ev["error"] = notify.redact(r.get("error_message") or "") or None
        ev["state"] = where.get(r["execution_id"]) if r["status"] == "failed" else None
        out.append((f"{r['execution_id']}:{r['status']}", ev))
    return out


def waiting_events(store, since: dt.datetime, settings) -> list[tuple[str, dict]]:
    """Open requests for a person (approval, decision, escalation) created after ``since`` (a wait state's
    timer asks nobody: no message)."""
    rows = store.query(
        "SELECT h.request_id, h.state, h.kind, h.prompt, e.execution_id, e.workflow_id, e.workflow_name, "
        "e.version, e.status, json_extract(e.options, '$._spec.notifications') AS notif "
        "FROM human_requests h JOIN workflow_executions e ON e.execution_id = h.execution_id "
        f"WHERE h.status = 'open' AND h.kind <> '{TIMER_REQUEST}' AND h.created_at >= ? AND NOT EXISTS (SELECT 1 FROM notifications n "
        "WHERE n.event_key = h.execution_id || ':waiting:' || h.request_id)",
        [since],
    )
    out = []
    for r in rows:
        ev = _run_event(r, "waiting", settings)
        ev.update(state=r["state"], question=r.get("prompt"), request_id=r["request_id"], request_kind=r["kind"])
        out.append((f"{r['execution_id']}:waiting:{r['request_id']}", ev))
    return out


# ----------------------------------------------------------------------------- claims and delivery
def _row(d: Delivery, owner: str, attempt: int, status: str, error: str | None = None, detail: str | None = None):
    ev = d.event
    return {
        "id": uuid.uuid4().hex,
        "claim_id": d.claim_id,
        "dedupe_key": d.dedupe_key,
        "event_key": d.event_key,
        "execution_id": ev.get("execution_id"),
        "workflow_id": ev.get("workflow_id"),
        "workflow_name": ev.get("workflow_name"),
        "version": ev.get("version"),
        "event": ev.get("kind"),
        "state": ev.get("state"),
        "request_id": ev.get("request_id"),
        "channel": d.channel.label,
        "channel_type": d.channel.type,
        "target": notify.target_of(d.channel),
        "attempt": attempt,
        "status": status,
        "error": (error or "")[:1000] or None,
        "detail": detail,
        "event_data": {k: v for k, v in ev.items() if k != "notifications"},
        "channel_spec": None if d.trusted else d.channel.model_dump(mode="json"),
        "owner": owner,
        "created_at": _now(),
    }


def claim(
    store, owner: str, events: list[tuple[str, dict]], settings, *, extra=None, skip: set | None = None
) -> list[Delivery]:
    """Record a claim row per (event, channel) not yet claimed by anyone; returns what to send.

    ``extra(store, now)`` runs under the same lock before the claims (the deadline check uses it to
    write its audit rows once). ``skip``: event keys known to need nothing (no channels)."""
    out: list[Delivery] = []
    if not events and extra is None:
        return []  # nothing to claim: no lock taken
    with store.exclusive(CLAIM_LOCK):
        if extra is not None:
            events = [*events, *extra()]
        if not events:
            return []
        keys = [k for k, _ in events]
        marks = ", ".join("?" for _ in keys)
        done = {
            r["dedupe_key"]
            for r in store.query(f"SELECT DISTINCT dedupe_key FROM notifications WHERE event_key IN ({marks})", keys)
        }
        for key, ev in events:
            if skip is not None and key in skip:
                continue
            cfg = notification_config(ev.get("notifications"), settings)
            if not cfg.enabled or ev["kind"] not in cfg.on or not cfg.channels:
                if skip is not None:
                    skip.add(key)
                continue
            try:
                channels = notify.resolve_channels(cfg.channels, settings)
            except notify.NotifyError as exc:
                log.warning("run %s: %s", ev.get("execution_id"), exc)
                if skip is not None:
                    skip.add(key)
                continue
            for ch, trusted in channels:
                d = Delivery(key, ev, ch, trusted)
                if d.dedupe_key in done:
                    continue
                done.add(d.dedupe_key)
                out.append(d)
        store.append_many("notifications", [_row(d, owner, 0, "claimed") for d in out])
    return out


def deliver(store, owner: str, d: Delivery, settings, stop: threading.Event | None = None, first_attempt: int = 1):
    """Send with retries and backoff; every attempt is a row. Returns the final status."""
    message = notify.build_message(d.event)
    retry = settings.retry
    attempt = first_attempt
    while True:
        try:
            detail = notify.send(d.channel, message, trusted=d.trusted, settings=settings)
        except Exception as exc:  # NotifyError, a refused host, anything: recorded, retried
            last = attempt >= retry.max_attempts or isinstance(exc, PermissionError)
            text = notify.redact(str(exc) if isinstance(exc, notify.NotifyError) else f"{type(exc).__name__}: {exc}")
            store.append("notifications", _row(d, owner, attempt, "gave_up" if last else "error", text))
            log.warning("notification %s on %s: attempt %d failed: %s", d.event_key, d.channel.label, attempt, text)
            if last:
                return "gave_up"
            wait = retry.delay(attempt)
            if stop is not None and stop.wait(wait):
                return "error"  # stopping: the claim stays unfinished; the next service takes it over
            if stop is None:
                threading.Event().wait(wait)
            attempt += 1
            continue
        store.append("notifications", _row(d, owner, attempt, "sent", detail=detail))
        return "sent"


def unfinished_claims(store, me: str) -> list[dict]:
    """Claims with no final row whose owner is gone (its lease expired): to take over."""
    from engine import leases

    rows = store.query(
        "SELECT c.*, (SELECT max(a.attempt) FROM notifications a WHERE a.claim_id = c.claim_id) AS last_attempt "
        "FROM notifications c WHERE c.status = 'claimed' AND c.created_at >= ? AND c.owner IS DISTINCT FROM ? "
        "AND NOT EXISTS "
        "(SELECT 1 FROM notifications f WHERE f.dedupe_key = c.dedupe_key AND f.status IN ('sent', 'gave_up')) "
        "AND NOT EXISTS (SELECT 1 FROM notifications o WHERE o.dedupe_key = c.dedupe_key "
        "AND o.status = 'claimed' AND o.created_at > c.created_at)",
        [_now() - dt.timedelta(seconds=TAKEOVER_WINDOW_S), me],
    )
    alive: dict[str, bool] = {}
    out = []
    for r in rows:
        owner = r.get("owner") or ""
        if owner not in alive:
            alive[owner] = leases.owner_alive(store, owner, me)
        if not alive[owner]:
            out.append(r)
    return out


def take_over(store, me: str, settings) -> list[tuple[Delivery, int]]:
    """Claim again (as ``me``) the unfinished deliveries of dead owners; returns (delivery, next attempt)."""
    out = []
    with store.exclusive(CLAIM_LOCK):
        for r in unfinished_claims(store, me):
            try:
                if r.get("channel_spec"):
                    ch, trusted = notify.ChannelSpec.model_validate(records.loads(r["channel_spec"])), False
                else:
                    ch, trusted = notify.resolve_channels([r["channel"]], settings)[0]
            except Exception as exc:
                log.warning("cannot take over notification %s: %s", r["dedupe_key"], exc)
                continue
            d = Delivery(r["event_key"], records.loads(r["event_data"]) or {}, ch, trusted)
            store.append("notifications", _row(d, me, 0, "claimed", detail=f"taken over from {r['owner']}"))
            out.append((d, int(r.get("last_attempt") or 0) + 1))
    return out


class Notifier:
    """A daemon thread scanning the records every ``every_s`` seconds; deliveries on a thread pool."""

    def __init__(self, store, owner: str | None = None, every_s: float = SCAN_EVERY_S):
        self.store = store
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.every_s = every_s
        self.started = _now()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="workbench-notify")
        self._thread = threading.Thread(target=self._loop, name="workbench-notifier", daemon=True)
        self._skip: set[str] = set()
        self._last_takeover = 0.0
        self._last_renew = 0.0
        self._last_scan: dt.datetime | None = None
        self._inflight = 0
        self._lock = threading.Lock()

    def start(self) -> Notifier:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def scan_once(self, *, wait: bool = False) -> list[Delivery]:
        """One pass: detect, claim, hand the claims to the pool (``wait``: until they are finished)."""
        from engine.automation import deadlines

        settings = notify.load_settings()
        since = self.started - dt.timedelta(seconds=settings.lookback_s)
        if self._last_scan is not None:  # after the first pass: what ended since the last one (with a margin
            since = max(since, self._last_scan - dt.timedelta(seconds=RESCAN_MARGIN_S))  # for late-landing rows)
        scan_started = _now()
        events = finished_run_events(self.store, since, settings, self._skip)
        events += waiting_events(self.store, since, settings)
        events = [e for e in events if e[0] not in self._skip]
        todo = claim(
            self.store,
            self.owner,
            events,
            settings,
            extra=(lambda: deadlines.check_deadlines(self.store, since, settings))
            if deadlines.has_new_misses(self.store, since)
            else None,
            skip=self._skip,
        )
        jobs = [(d, 1) for d in todo]
        now = _now().timestamp()
        if now - self._last_takeover > TAKEOVER_EVERY_S:
            self._last_takeover = now
            jobs += take_over(self.store, self.owner, settings)
        if jobs:
            with self._lock:
                self._inflight += len(jobs)
            self._renew(force=True)  # our claims are ours while we live: nobody takes them over
        futures = [self._pool.submit(self._deliver, d, settings, first) for d, first in jobs]
        self._last_scan = scan_started
        if wait:
            for f in futures:
                f.result()
        return [d for d, _ in jobs]

    def _deliver(self, d: Delivery, settings, first: int) -> str:
        try:
            return deliver(self.store, self.owner, d, settings, self._stop, first)
        except Exception as exc:  # recorded rows stay; log the unexpected
            log.error("notification %s: %s", d.dedupe_key, notify.redact(f"{type(exc).__name__}: {exc}"))
            return "error"
        finally:
            with self._lock:
                self._inflight -= 1

    def _renew(self, force: bool = False) -> None:
        """Keep this notifier's lease while deliveries are in flight (retries may take minutes)."""
        from engine import leases

        now = time.monotonic()
        if force or (self._inflight > 0 and now - self._last_renew >= leases.RENEW_S):
            leases.renew(self.store, self.owner)
            self._last_renew = now

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._renew()
                self.scan_once()
            except Exception as exc:  # keep going next time
                log.warning("notifications: %s", notify.redact(f"{type(exc).__name__}: {exc}"))
            self._stop.wait(self.every_s)


def start_notifier(svc) -> Notifier | None:
    """Start the service's notifier (unless ``WORKBENCH_NOTIFY=0``); it claims as the engine's owner."""
    if not enabled_from_env():
        return None
    return Notifier(svc.store, f"{svc.engine.owner}:notify").start()


def attempts(store, execution_id: str | None = None, limit: int = 100) -> list[dict]:
    """Recorded notification rows (claims and attempts), newest first."""
    where, params = ("WHERE execution_id = ?", [execution_id]) if execution_id else ("", [])
    return store.query(
        "SELECT created_at, execution_id, workflow_name, event, state, channel, channel_type, target, attempt, "
        f"status, error, detail FROM notifications {where} ORDER BY created_at DESC, attempt DESC LIMIT ?",
        [*params, int(limit)],
    )


def dumps_event(ev: dict) -> str:
    """JSON text of an event (for the CLI)."""
    return json.dumps(ev, default=str)
