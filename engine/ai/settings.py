"""AI settings: which model server to talk to, timeouts, budgets, the decision threshold.

Read from the environment (or given explicitly)::

    OPENAI_API_KEY            key for OpenAI or any server that wants one (optional for local servers)
    OPENAI_BASE_URL           e.g. http://localhost:11434/v1 (Ollama), http://localhost:8000/v1 (vLLM)
    WORKBENCH_LLM_MODEL       model name (default gpt-4o-mini)
    WORKBENCH_LLM_TIMEOUT     seconds per request (default 20)
    WORKBENCH_LLM_MAX_RETRIES retries on 408/409/429/5xx/connection errors (default 1)
    WORKBENCH_LLM_DAILY_BUDGET_USD     spend limit per UTC day, all workflows (default 5)
    WORKBENCH_LLM_WORKFLOW_BUDGET_USD  spend limit per UTC day and workflow (default 1)
    WORKBENCH_DECISION_THRESHOLD       confidence below which a run waits for a person (default 70)
    WORKBENCH_LLM_CACHE_TTL   seconds a cached response stays valid (default 3600)
    WORKBENCH_AI_OFFLINE=1    force the offline default even when a server is configured

With neither a key nor a base URL the provider is ``offline``: everything still works through the
deterministic offline implementations. The key is held in a :class:`Secret` and never printed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlparse

DEFAULT_MODEL = "gpt-4o-mini"


class Secret:
    """A string that does not show itself: ``repr``/``str`` print ``**********``."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None):
        self._value = value or ""

    def get_secret_value(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self):  # never pickle the value by accident
        return (Secret, ("",))


def _float(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        return default


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = _float(env, name, None)
    return default if value is None else int(value)


@dataclass(frozen=True)
class AISettings:
    api_key: Secret = field(default_factory=lambda: Secret(None))
    base_url: str | None = None
    model: str = DEFAULT_MODEL
    timeout_s: float = 20.0
    max_retries: int = 1
    daily_budget_usd: float | None = 5.0
    workflow_budget_usd: float | None = 1.0
    decision_threshold: int = 70
    cache_ttl_s: float = 3600.0
    force_offline: bool = False
    temperature: float = 0.1
    max_tokens: int = 1500

    def __post_init__(self):
        if not isinstance(self.api_key, Secret):
            object.__setattr__(self, "api_key", Secret(self.api_key))
        if self.base_url is not None and not str(self.base_url).strip():
            object.__setattr__(self, "base_url", None)
        object.__setattr__(self, "decision_threshold", max(0, min(100, int(self.decision_threshold))))
        object.__setattr__(self, "max_retries", max(0, int(self.max_retries)))

    @property
    def provider(self) -> str:
        """``offline`` | ``openai`` | ``local`` (loopback server) | ``compatible`` (any other base URL)."""
        if self.force_offline or (not self.api_key and not self.base_url):
            return "offline"
        if not self.base_url:
            return "openai"
        host = (urlparse(self.base_url).hostname or "").lower()
        if host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.endswith(".local"):
            return "local"
        if host.endswith("openai.com"):
            return "openai"
        return "compatible"

    @property
    def online(self) -> bool:
        return self.provider != "offline"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> AISettings:
        env = os.environ if env is None else env
        values = dict(
            api_key=Secret(env.get("OPENAI_API_KEY")),
            base_url=(env.get("OPENAI_BASE_URL") or None),
            model=env.get("WORKBENCH_LLM_MODEL") or DEFAULT_MODEL,
            timeout_s=_float(env, "WORKBENCH_LLM_TIMEOUT", 20.0),
            max_retries=_int(env, "WORKBENCH_LLM_MAX_RETRIES", 1),
            daily_budget_usd=_float(env, "WORKBENCH_LLM_DAILY_BUDGET_USD", 5.0),
            workflow_budget_usd=_float(env, "WORKBENCH_LLM_WORKFLOW_BUDGET_USD", 1.0),
            decision_threshold=_int(env, "WORKBENCH_DECISION_THRESHOLD", 70),
            cache_ttl_s=_float(env, "WORKBENCH_LLM_CACHE_TTL", 3600.0),
            force_offline=(env.get("WORKBENCH_AI_OFFLINE", "").strip().lower() in ("1", "true", "yes")),
        )
        values.update(overrides)
        if "api_key" in overrides and not isinstance(overrides["api_key"], Secret):
            values["api_key"] = Secret(overrides["api_key"])
        return cls(**values)

    def with_(self, **changes) -> AISettings:
        return replace(self, **changes)

    def describe(self) -> dict:
        """What is configured, safe to show (the key only as set / not set)."""
        return {
            "provider": self.provider,
            "model": self.model if self.online else None,
            "base_url": self.base_url,
            "api_key": "set" if self.api_key else "not set",
            "timeout_s": self.timeout_s,
            "max_retries": self.max_retries,
            "daily_budget_usd": self.daily_budget_usd,
            "workflow_budget_usd": self.workflow_budget_usd,
            "decision_threshold": self.decision_threshold,
            "cache_ttl_s": self.cache_ttl_s,
        }
