"""How one attempt at a state ended, as one immutable value.

An :class:`Outcome` is made once — from a task's result record (:meth:`Outcome.from_task`), a
replayed record (:meth:`Outcome.replayed`), or a recovery choice (:meth:`Outcome.skipped`,
:meth:`Outcome.fallback`) — and is never changed afterwards: the dataclass is frozen and its
mappings are read-only views (``MappingProxyType``). A changed view of it is a new value
(:meth:`Outcome.but`). The recorder copies the mappings into plain dicts when it writes a row.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

OUTCOME_STATUSES = ("completed", "failed", "skipped", "fallback")
EMPTY: Mapping[str, Any] = MappingProxyType({})


def _frozen(value: Mapping | None) -> Mapping[str, Any]:
    if value is None or value is EMPTY:
        return EMPTY
    if isinstance(value, MappingProxyType):
        return value
    return MappingProxyType(dict(value))


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's end: ``status`` (completed | failed | skipped | fallback), the context ``updates``
    it made, the ``attempt`` number, where it ran (``executed_on``: ray | inline), the task's result
    ``record`` (timings, keys read/written, node, error) and, for a fallback, the ``error`` put in the
    context for the error transition."""

    status: str
    updates: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    attempt: int = 1
    executed_on: str = "inline"
    record: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    error: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.status not in OUTCOME_STATUSES:
            raise ValueError(f"unknown outcome status {self.status!r}; one of {OUTCOME_STATUSES}")
        object.__setattr__(self, "updates", _frozen(self.updates))
        object.__setattr__(self, "record", _frozen(self.record))
        if self.error is not None:
            object.__setattr__(self, "error", _frozen(self.error))

    # ----------------------------------------------------------------------------- making one
    @classmethod
    def from_task(cls, record: Mapping[str, Any], executed_on: str, attempt: int = 1) -> Outcome:
        """The outcome of a task's result record (an executor's dict); anything but 'completed' is a failure."""
        status = "completed" if record.get("status") == "completed" else "failed"
        return cls(status, record.get("updates") or EMPTY, attempt, executed_on, record)

    @classmethod
    def failure(
        cls, error_type: str, message: str, executed_on: str, started_at: float, *, duration: bool = False
    ) -> Outcome:
        """A failed attempt the driver saw itself (a timeout, a lost worker, a missing sub-workflow)."""
        ended = time.time()
        record: dict[str, Any] = {
            "status": "failed",
            "updates": {},
            "error_type": error_type,
            "error_message": message,
            "started_at": started_at,
            "ended_at": ended,
        }
        if duration:
            record["duration_ms"] = (ended - started_at) * 1000
        return cls("failed", EMPTY, 1, executed_on, record)

    @classmethod
    def replayed(cls, rec: Mapping[str, Any], state: str) -> Outcome:
        """A state result read back from the records on resume or re-run (the state is not run again)."""
        error = {"state": state, "message": rec.get("error")} if rec["status"] == "fallback" else None
        return cls(rec["status"], rec.get("updates") or EMPTY, error=error)

    @classmethod
    def skipped(cls, attempt: int) -> Outcome:
        """Recovery (or a person) chose to skip the failed state."""
        return cls("skipped", EMPTY, attempt)

    @classmethod
    def fallback(cls, attempt: int, state: str, error_type: str, message: str, error_class: str) -> Outcome:
        """Recovery chose the state's error transition; ``error`` goes into the context as ``error``."""
        return cls(
            "fallback",
            EMPTY,
            attempt,
            error={"state": state, "type": error_type, "message": message, "class": error_class},
        )

    def but(self, **changes: Any) -> Outcome:
        """A copy with some fields changed (the original is unchanged)."""
        return dataclasses.replace(self, **changes)

    # ----------------------------------------------------------------------------- reading it
    @property
    def ok(self) -> bool:
        return self.status == "completed"

    @property
    def error_type(self) -> str:
        return self.record.get("error_type") or "Error"

    @property
    def error_message(self) -> str:
        return self.record.get("error_message") or "failed"

    @property
    def logs(self) -> str | None:
        """What the attempt printed (bounded, secrets redacted: engine.step_logs), if anything."""
        text = self.record.get("logs")
        return text if isinstance(text, str) and text else None

    def error_dict(self) -> dict | None:
        """The fallback error as a plain dict (what the context's ``error`` key holds)."""
        return dict(self.error) if self.error is not None else None
