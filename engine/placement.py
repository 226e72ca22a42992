"""Where an ``auto`` state runs: the placement learner.

Ray costs ~2 ms per task round trip on this kind of machine; a python state that finishes in a few
milliseconds is cheaper to run inline (on the driver's small thread pool). The learner decides from
measurements, as they arrive, in this process (and from the records of earlier processes, read once
per workflow at its first run here):

* what it learns is kept per state (``workflow_id``, ``state``) AND per function (``module:func`` with
  its params), so 200 branches calling the same function share one measurement history: after a few
  fast calls of the function anywhere, every state calling it runs inline;
* a state is cheap when its (or, before it has ``min_samples`` attempts of its own, its function's)
  recent median is below ``cheap_ms`` over at least ``min_samples`` attempts, with no failure in the
  window (the median, not a p95: each Ray worker's first call pays its imports);
* anything that blocked once — an inline attempt that took ``blocked_ms`` or more, any attempt that
  timed out or lost its worker — is pinned to Ray for the life of the process (state and function);
* only python actions with ``execution = "auto"`` and no ``timeout_s`` are ever inlined (a worker can
  be killed at its timeout, a driver thread cannot); llm/http and the rest always stay on Ray.

Thread-safe: the driver loop observes and decides, record readers seed from a worker thread.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from engine.task_placement import requires_ray  # Ray task options (num_cpus, node …): never inline

CHEAP_MS = 5.0  # median of a state's own run time below this: run inline (Ray's overhead is ~2 ms)
BLOCKED_MS = 1000.0  # one inline attempt this long pins the state (and its function) to Ray; GIL waits of 200
# concurrent runs made trivial functions reach ~300 ms inline at load 17, so less would pin them by mistake
MIN_SAMPLES = 3  # successful attempts seen before a state or function counts as cheap
WINDOW = 32  # recent durations kept per key


def function_key(binding: Any) -> str | None:
    """The identity of what a python state calls: its function and params (None for other actions)."""
    if getattr(binding, "action", None) != "python" or not getattr(binding, "function", None):
        return None
    params = getattr(binding, "params", None) or {}
    if not params:
        return binding.function
    return f"{binding.function} {json.dumps(params, sort_keys=True, default=str)}"


def may_inline(binding: Any) -> bool:
    """Whether a state is eligible at all: python, ``execution = "auto"``, no timeout, no Ray task options."""
    if binding.action != "python" or binding.execution != "auto" or binding.timeout_s is not None:
        return False
    return bool(binding.function) and not requires_ray(binding)  # Ray task options: engine/task_placement.py


class _History:
    """Recent durations (ms) and failures of one key."""

    __slots__ = ("durations", "failed", "n")

    def __init__(self) -> None:
        self.durations: deque[float] = deque(maxlen=WINDOW)
        self.failed: deque[bool] = deque(maxlen=WINDOW)
        self.n = 0

    def add(self, duration_ms: float, ok: bool, weight: int = 1) -> None:
        self.durations.append(duration_ms)
        self.failed.append(not ok)
        self.n += weight

    def verdict(self, cheap_ms: float, min_samples: int) -> bool | None:
        """True cheap, False not cheap, None not enough evidence yet."""
        if not self.durations:
            return None
        if any(self.failed) or _median(self.durations) >= cheap_ms:
            return False
        return True if self.n >= min_samples else None


def _median(values: Iterable[float]) -> float:
    """The typical attempt: a worker's first call (its imports) must not keep a fan-out of 8 on Ray;
    the tail is guarded by pinning anything that blocked once inline."""
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


class PlacementLearner:
    """Learns, per state and per function, which ``auto`` states are cheap enough to run inline."""

    def __init__(self, cheap_ms: float = CHEAP_MS, blocked_ms: float = BLOCKED_MS, min_samples: int = MIN_SAMPLES):
        self.cheap_ms, self.blocked_ms, self.min_samples = cheap_ms, blocked_ms, min_samples
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], _History] = {}
        self._functions: dict[str, _History] = {}
        self._pinned: set[tuple[str, str] | str] = set()
        self._seeded: set[str] = set()

    # ------------------------------------------------------------------ learning
    def observe(
        self,
        workflow_id: str,
        state: str,
        binding: Any,
        duration_ms: float | None,
        ok: bool,
        blocked: bool = False,
        inline: bool = False,
    ) -> None:
        """One attempt's measurement (the state's own run time, wherever it ran).

        ``blocked``: it timed out or lost its worker; ``inline``: it ran on a driver thread, where
        ``blocked_ms`` or more counts as blocking too. Either pins the state and its function to Ray
        (a slow attempt on Ray only counts as slow: a worker's first call also pays its imports)."""
        fkey = function_key(binding)
        skey = (workflow_id, state)
        with self._lock:
            if blocked or (inline and duration_ms is not None and duration_ms >= self.blocked_ms):
                self._pinned.add(skey)
                if fkey is not None:
                    self._pinned.add(fkey)
            if duration_ms is None:
                if not ok:  # a failure without a duration still counts against the window
                    duration_ms = 0.0
                else:
                    return
            self._states.setdefault(skey, _History()).add(duration_ms, ok)
            if fkey is not None:
                self._functions.setdefault(fkey, _History()).add(duration_ms, ok)

    def needs_seed(self, workflow_id: str) -> bool:
        """Whether the records of this workflow were not read yet in this process."""
        with self._lock:
            return workflow_id not in self._seeded

    def seed(self, workflow_id: str, rows: Iterable[Mapping[str, Any]], bindings: Mapping[str, Any]) -> None:
        """Learn from recorded Ray attempts: rows of {from_state, n, p95 (ms), ok} (records.ray_state_timings)."""
        with self._lock:
            if workflow_id in self._seeded:
                return
            self._seeded.add(workflow_id)
            for r in rows:
                state, n, p95 = str(r.get("from_state") or ""), int(r.get("n") or 0), r.get("p95")
                if state not in bindings or p95 is None or n <= 0:
                    continue
                ok = bool(r.get("ok"))
                skey = (workflow_id, state)
                self._states.setdefault(skey, _History()).add(float(p95), ok, weight=n)
                fkey = function_key(bindings[state])
                if fkey is not None:
                    self._functions.setdefault(fkey, _History()).add(float(p95), ok, weight=n)

    # ------------------------------------------------------------------ deciding
    def is_cheap(self, workflow_id: str, state: str, binding: Any) -> bool:
        """Whether an ``auto`` state runs inline now (False for anything not eligible, pinned or unknown).

        The state's own history decides once it has ``min_samples`` attempts (or any failure);
        before that its function's shared history does."""
        if not may_inline(binding):
            return False
        fkey = function_key(binding)
        skey = (workflow_id, state)
        with self._lock:
            if skey in self._pinned or fkey in self._pinned:
                return False
            own = self._states.get(skey)
            if own is not None and (own.n >= self.min_samples or any(own.failed)):
                return bool(own.verdict(self.cheap_ms, self.min_samples))
            shared = self._functions.get(fkey) if fkey else None
            return bool(shared and shared.verdict(self.cheap_ms, self.min_samples))

    def cheap_states(self, workflow_id: str, bindings: Mapping[str, Any]) -> set[str]:
        """The states of a workflow that run inline now."""
        return {s for s, b in bindings.items() if self.is_cheap(workflow_id, s, b)}

    def forget(self) -> None:
        """Drop everything learned (benchmarks measuring the first run)."""
        with self._lock:
            self._states.clear()
            self._functions.clear()
            self._pinned.clear()
            self._seeded.clear()
