"""Auto-recovery: classify a failure and choose a strategy.

Order of precedence:
1. the state's policy in the workflow file (``retry = {...}``, ``on_error = "..."``) wins;
2. otherwise the offline rules by error class, adjusted by the historical success rate of each
   strategy for this state and error class (from ``recovery_actions``);
3. with a model configured, the LLM's suggestion (``suggest_recovery``) is taken when it is feasible
   and confident, and recorded as ``ai_suggested``.

Strategies: retry (exponential backoff + jitter), skip, fallback (an ``@error`` transition),
compensate (saga: undo completed steps in reverse order), abort, escalate (wait for a human).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from engine.workflow_file import RetryPolicy, StateBinding

STRATEGIES = ("retry", "skip", "fallback", "compensate", "abort", "escalate")
ERROR_CLASSES = ("transient", "data", "resource", "unknown")

_TRANSIENT_TYPES = {
    "TimeoutError",
    "TaskTimeout",
    "ConnectionError",
    "ConnectionResetError",
    "ConnectionRefusedError",
    "ConnectionAbortedError",
    "BrokenPipeError",
    "timeout",
    "ReadTimeout",
    "ConnectTimeout",
    "APITimeoutError",
    "APIConnectionError",
    "RateLimitError",
    "InternalServerError",
    "ServiceUnavailable",
    "TransientError",
    "TemporaryFailure",
    "socket.timeout",
    "IncompleteRead",
    "RemoteDisconnected",
}
_RESOURCE_TYPES = {
    "WorkerLost",
    "MemoryError",
    "OutOfMemoryError",
    "WorkerCrashedError",
    "NodeDiedError",
    "ResourceError",
}
_DATA_TYPES = {
    "ValueError",
    "KeyError",
    "TypeError",
    "IndexError",
    "ValidationError",
    "JSONDecodeError",
    "ZeroDivisionError",
    "AssertionError",
    "UnicodeDecodeError",
    "ConditionError",
    "AttributeError",
    "DataError",
    "LookupError",
    "ArithmeticError",
    "FileNotFoundError",
    "PermissionError",
    "FunctionImportError",
    "ModuleNotFoundError",
    "ImportError",
    "NoTransition",
}
_TRANSIENT_WORDS = re.compile(
    r"time(d)? ?out|temporar|unavailable|rate.?limit|too many requests|try again|"
    r"connection (reset|refused|aborted)|\b(429|502|503|504)\b|http 5\d\d",
    re.I,
)
_RESOURCE_WORDS = re.compile(r"out of memory|\boom\b|worker (process )?died|\bkilled\b|no space left", re.I)


APPROVAL_TIMEOUT = "ApprovalTimeout"  # an approval nobody answered within its timeout_s (engine/run/people.py)
WAIT_GAVE_UP = "WaitGaveUp"  # a poll's wait past its give_up_after_s (engine/run/people.py)


def classify(error_type: str, message: str = "") -> str:
    """transient | data | resource | unknown."""
    et = (error_type or "").split(".")[-1]
    if et in _RESOURCE_TYPES or _RESOURCE_WORDS.search(message or ""):
        return "resource"
    if et in _TRANSIENT_TYPES:
        return "transient"
    if et in _DATA_TYPES:
        return "data"
    if _TRANSIENT_WORDS.search(message or ""):
        return "transient"
    return "unknown"


@dataclass
class Failure:
    """What failed, and what the workflow offers to recover with."""

    state: str
    error_type: str
    message: str
    attempt: int  # attempts made so far (1 = the first try failed)
    binding: StateBinding
    has_fallback: bool
    compensable: list[str] = field(default_factory=list)  # completed states with a compensation
    workflow_id: str | None = None
    context_keys: list[str] = field(default_factory=list)

    @property
    def error_class(self) -> str:
        return classify(self.error_type, self.message)


@dataclass
class RecoveryDecision:
    strategy: str
    reasoning: str
    chosen_by: str  # policy | rules | history | ai | human
    delay_s: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)
    ai_suggested: bool = False
    ai_reasoning: str = ""
    ai_confidence: int | None = None


# total attempts; a dead worker can take tasks queued on its lease with it, so resource errors get more
DEFAULT_RETRIES = {"transient": 5, "resource": 5, "unknown": 2, "data": 1}
AUTO_BACKOFF = RetryPolicy(max_attempts=4, backoff_s=0.2, backoff_factor=2.0, max_backoff_s=5.0, jitter=0.25)


def backoff_delay(policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with +/- jitter for the wait before attempt ``attempt + 1``."""
    base = policy.delay(attempt)
    j = policy.jitter * base
    return max(0.0, base + (rng or random).uniform(-j, j))


class RecoveryEngine:
    """Chooses a :class:`RecoveryDecision` for a :class:`Failure`.

    ``history(state, error_class) -> {strategy: (successes, attempts)}`` supplies past outcomes;
    ``advisor(failure, history) -> dict | None`` (optional) is the LLM's suggestion.
    """

    def __init__(self, history=None, advisor=None, escalate_unrecoverable: bool = True):
        self.history = history
        self.advisor = advisor
        self.escalate_unrecoverable = escalate_unrecoverable

    def _after_retries(self, f: Failure, why: str) -> RecoveryDecision:
        if f.has_fallback:
            return RecoveryDecision("fallback", f"{why}; taking the @error path", "rules")
        if f.compensable:
            return RecoveryDecision(
                "compensate",
                f"{why}; undoing completed steps ({', '.join(reversed(f.compensable))}) in reverse order",
                "rules",
            )
        if self.escalate_unrecoverable:
            return RecoveryDecision(
                "escalate",
                f"{why}; no fallback path or compensation is defined, so a person decides (retry, skip or abort)",
                "rules",
            )
        return RecoveryDecision("abort", f"{why}; nothing else can be done automatically", "rules")

    @staticmethod
    def _unanswered_approval(f: Failure) -> RecoveryDecision:
        """Nobody answered an approval in time: ask again while its retry policy allows, else take its
        ``@error`` path, else undo completed steps or stop. Never a person asked about it, never
        the model: no answer is not an error to diagnose."""
        policy = f.binding.retry
        if policy is not None and f.attempt < policy.max_attempts:
            return RecoveryDecision(
                "retry",
                f"nobody answered '{f.state}' in time: asking again (attempt {f.attempt + 1} of {policy.max_attempts})",
                "policy",
                0.0,
                {"max_attempts": policy.max_attempts},
            )
        if f.has_fallback:
            return RecoveryDecision(
                "fallback", f"nobody answered '{f.state}' in time: its @error path is taken", "policy"
            )
        if f.compensable and f.binding.on_error == "compensate":
            return RecoveryDecision(
                "compensate", f"nobody answered '{f.state}' in time; undoing completed steps", "policy"
            )
        return RecoveryDecision(
            "abort",
            f"nobody answered '{f.state}' in time and the workflow has no '{f.state}->…:@error' path for it",
            "policy",
        )

    @staticmethod
    def _gave_up(f: Failure) -> RecoveryDecision:
        """A poll reached its ``give_up_after_s``: its ``@error`` path (what to do then), else undo completed
        steps or stop. Never a retry (the limit is the point), never a person or the model."""
        if f.has_fallback:
            return RecoveryDecision("fallback", f"'{f.state}' gave up waiting: its @error path is taken", "policy")
        if f.compensable and f.binding.on_error == "compensate":
            return RecoveryDecision("compensate", f"'{f.state}' gave up waiting; undoing completed steps", "policy")
        return RecoveryDecision(
            "abort",
            f"'{f.state}' gave up waiting and the workflow has no '{f.state}->…:@error' path for it",
            "policy",
        )

    def decide(self, f: Failure, auto: bool = True) -> RecoveryDecision:
        b = f.binding
        cls = f.error_class
        if f.error_type == APPROVAL_TIMEOUT:
            return self._unanswered_approval(f)
        if f.error_type == WAIT_GAVE_UP:
            return self._gave_up(f)
        # 1. the policy written in the workflow file
        if b.on_error and b.on_error != "retry":
            if b.on_error == "fallback" and not f.has_fallback:
                return RecoveryDecision(
                    "escalate", f"on_error = fallback but the DSL has no '{f.state}->…:@error' transition", "policy"
                )
            if b.on_error == "compensate" and not f.compensable:
                return RecoveryDecision(
                    "abort", "on_error = compensate but no completed step has a compensation", "policy"
                )
            if b.retry is None or f.attempt >= b.retry.max_attempts:
                return RecoveryDecision(b.on_error, f"the workflow file says on_error = {b.on_error}", "policy")
        policy = b.retry
        if policy is None and b.on_error == "retry":
            policy = AUTO_BACKOFF
        if policy is not None:
            if f.attempt < policy.max_attempts:
                d = backoff_delay(policy, f.attempt)
                return RecoveryDecision(
                    "retry",
                    f"retry policy of '{f.state}': attempt {f.attempt + 1} of {policy.max_attempts} after {d:.2f} s",
                    "policy",
                    d,
                    {"max_attempts": policy.max_attempts},
                )
            why = f"'{f.state}' still failed after {policy.max_attempts} attempts ({cls} error)"
            if not auto:
                return RecoveryDecision("fallback" if f.has_fallback else "abort", why, "policy")
            return self._after_retries(f, why)
        if not auto:
            if f.has_fallback:
                return RecoveryDecision("fallback", "auto-recovery is off; the DSL defines an @error path", "policy")
            return RecoveryDecision("abort", "auto-recovery is off and no retry policy is set", "policy")
        # 2. offline rules, informed by history
        hist = self.history(f.state, cls) if self.history else {}
        max_attempts = DEFAULT_RETRIES[cls]
        retry_ok, retry_n = hist.get("retry", (0, 0))
        history_note = ""
        if retry_n >= 5 and retry_ok / retry_n < 0.1 and cls != "transient":
            max_attempts = 1
            history_note = f" (retries of this error on '{f.state}' succeeded {retry_ok}/{retry_n} times before)"
        elif retry_n >= 5:
            history_note = f" (retries succeeded {retry_ok}/{retry_n} times before)"
        decision: RecoveryDecision
        if f.attempt < max_attempts:
            d = backoff_delay(AUTO_BACKOFF, f.attempt)
            decision = RecoveryDecision(
                "retry",
                f"{cls} error ({f.error_type}): retry {f.attempt + 1} of {max_attempts} after {d:.2f} s{history_note}",
                "history" if history_note else "rules",
                d,
                {"max_attempts": max_attempts},
            )
        elif cls == "data" and not f.has_fallback and not f.compensable:
            skip_ok, skip_n = hist.get("skip", (0, 0))
            if skip_n >= 3 and skip_ok / skip_n >= 0.8:
                decision = RecoveryDecision(
                    "skip", f"data error; skipping '{f.state}' worked {skip_ok}/{skip_n} times before", "history"
                )
            else:
                decision = self._after_retries(
                    f, f"data error ({f.error_type}) in '{f.state}': retrying would give the same result" + history_note
                )
        else:
            why = (
                f"{cls} error ({f.error_type}) in '{f.state}'"
                + (f" after {f.attempt} attempts" if f.attempt > 1 else "")
                + history_note
            )
            decision = self._after_retries(f, why)
        # 3. the model's suggestion, when one is configured
        if self.advisor is not None:
            try:
                s = self.advisor(f, hist)
            except Exception:
                s = None
            if s and s.get("strategy") in STRATEGIES:
                conf = int(s.get("confidence") or 0)
                feasible = not (
                    (s["strategy"] == "fallback" and not f.has_fallback)
                    or (s["strategy"] == "compensate" and not f.compensable)
                    or (s["strategy"] == "retry" and f.attempt >= 5)
                )
                decision.ai_suggested = True
                decision.ai_reasoning = str(s.get("reasoning") or "")[:1000]
                decision.ai_confidence = conf
                if feasible and conf >= 70 and s["strategy"] != decision.strategy:
                    delay = float((s.get("parameters") or {}).get("backoff_seconds") or decision.delay_s or 0.5)
                    return RecoveryDecision(
                        s["strategy"],
                        f"AI suggestion ({conf}% confident): {decision.ai_reasoning}",
                        "ai",
                        min(delay, 30.0),
                        s.get("parameters") or {},
                        True,
                        decision.ai_reasoning,
                        conf,
                    )
        return decision


class RecoverySuggestion(BaseModel):
    """The model's answer to the ``suggest_recovery`` prompt (seed §8.2)."""

    strategy: Literal["retry", "skip", "fallback", "compensate", "abort", "escalate"]
    reasoning: str = ""
    confidence: int = Field(0, ge=0, le=100)
    retry_count: int | None = None
    backoff_seconds: float | None = None


def llm_advisor(ai_services):
    """An ``advisor`` for :class:`RecoveryEngine` backed by the AI layer; ``None`` answers when offline.

    It makes a blocking HTTP call: the engine calls ``decide`` off the driver loop when it is set.
    """
    llm = ai_services.llm

    def rate(hist: dict, strategy: str) -> str:
        ok, n = hist.get(strategy, (0, 0))
        return f"{100 * ok / n:.0f}" if n else "unknown"

    def advise(f: Failure, hist: dict) -> dict | None:
        if not getattr(llm, "online", False):
            return None
        res = llm.complete_json(
            "suggest_recovery",
            "suggest_recovery",
            {
                "error_type": f.error_type,
                "error_message": f.message[:500],
                "error_state": f.state,
                "context": ", ".join(f.context_keys[:40]),
                "retry_success_rate": rate(hist, "retry"),
                "skip_success_rate": rate(hist, "skip"),
                "fallback_success_rate": rate(hist, "fallback"),
            },
            RecoverySuggestion,
            workflow_id=f.workflow_id,
            state=f.state,
            fallback=lambda: None,
        )
        if res.value is None:
            return None
        v = res.value
        return {
            "strategy": v.strategy,
            "reasoning": v.reasoning,
            "confidence": v.confidence,
            "parameters": {
                k: x
                for k, x in (("retry_count", v.retry_count), ("backoff_seconds", v.backoff_seconds))
                if x is not None
            },
        }

    return advise
