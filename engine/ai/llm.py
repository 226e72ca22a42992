"""LLMService: the one interface AI features use to talk to a model.

- Any OpenAI-compatible server through the ``openai`` client (OpenAI, Ollama, vLLM, llama.cpp…),
  with an explicit timeout and bounded retries.
- Structured output: ``chat.completions.parse(response_format=Model)`` first; when the server does
  not support JSON schemas it falls back to JSON mode, then to plain text with JSON extraction.
  Whatever comes back is validated with the pydantic model.
- A response cache (in-process dict + the ``llm_cache`` table) keyed by
  sha256(model + prompt + parameters), with a TTL.
- Every call, including cache hits, refusals and failures, is recorded in ``llm_calls``.
- Budgets per UTC day (all workflows) and per workflow and day are checked *before* a call; over
  budget the call is not made.
- Nothing raises to the caller: on any failure the result carries a warning saying what happened
  and the caller's offline ``fallback`` value (provider ``offline``).
- The API key never reaches the store, logs, warnings or exceptions (:func:`LLMService.scrub`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from engine import records
from engine.ai import prompts
from engine.ai.prices import cost_usd, price_for
from engine.ai.settings import AISettings

log = logging.getLogger("workbench.ai")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

_MODES = ("schema", "json_object", "text")


@dataclass
class LLMResult(Generic[T]):
    """What a completion produced. ``provider == "offline"`` means the fallback was used."""

    value: T | None
    provider: str
    cached: bool = False
    warnings: list[str] = field(default_factory=list)
    model: str | None = None
    from_model: bool = False  # the value came from the model (fresh or cached), not from the fallback
    usage: dict = field(default_factory=dict)


class _CallFailed(Exception):
    """Internal: a model call did not give a usable answer. ``message`` is already scrubbed."""

    def __init__(self, message: str, usage: dict | None = None, retry_other_mode: bool = False):
        super().__init__(message)
        self.message = message
        self.usage = usage or {}
        self.retry_other_mode = retry_other_mode


def _utcnow() -> datetime:
    return records.store_time(records.utc_now())


def extract_json(text: str) -> Any:
    """The first JSON object/array in ``text`` (handles ```json fences and prose around it)."""
    if text is None:
        raise ValueError("empty response")
    s = text.strip()
    fence = re.search(r"```(?:json|JSON)?\s*(.*?)```", s, re.S)
    if fence:
        s = fence.group(1).strip()
    try:
        return json.loads(s)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for i, ch in enumerate(s):
        if ch in "{[":
            try:
                obj, _ = decoder.raw_decode(s[i:])
                return obj
            except ValueError:
                continue
    raise ValueError("no JSON object found in the response")


class LLMService:
    """Completions with caching, cost tracking, budgets and an offline fallback."""

    def __init__(self, settings: AISettings | None = None, store=None, *, client=None):
        self.settings = settings or AISettings.from_env()
        self._store = store
        self._client = client
        self._mode_index = 0  # which structured-output mode this server accepts (learned)
        self._cache: dict[str, tuple[datetime, Any]] = {}
        self._lock = threading.Lock()
        self._local_spend: list[tuple[datetime, str | None, float]] = []

    # --- plumbing ----------------------------------------------------------------------------
    @property
    def provider(self) -> str:
        return self.settings.provider

    @property
    def online(self) -> bool:
        return self.settings.online

    @property
    def store(self):
        if self._store is None:
            try:
                from engine.store import get_store

                self._store = get_store()
            except Exception as exc:  # no store: work, but say so once
                log.warning("AI calls will not be recorded: the store is unavailable (%s)", self.scrub(str(exc)))
                self._store = False
        return self._store or None

    def client(self):
        if self._client is None:
            from openai import OpenAI

            key = self.settings.api_key.get_secret_value() or "not-needed"
            self._client = OpenAI(
                api_key=key,
                base_url=self.settings.base_url or None,
                timeout=self.settings.timeout_s,
                max_retries=self.settings.max_retries,
            )
        return self._client

    def scrub(self, text: Any) -> str:
        """``text`` with the API key (and any bearer token) removed."""
        s = str(text)
        key = self.settings.api_key.get_secret_value()
        if key:
            s = s.replace(key, "***")
            if len(key) > 12:  # fragments a server might echo back
                s = s.replace(key[:12], "***").replace(key[-12:], "***")
        return re.sub(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}", r"\1***", s)

    # --- cache -------------------------------------------------------------------------------
    def cache_key(self, messages: list[dict], params: dict) -> str:
        blob = json.dumps(
            {"model": self.settings.model, "messages": messages, "params": params}, sort_keys=True, default=str
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def _cache_get(self, key: str) -> Any:
        now = _utcnow()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            if hit[0] > now:
                return hit[1]
            with self._lock:
                self._cache.pop(key, None)
        store = self.store
        if store is None:
            return None
        try:
            rows = store.query(
                "SELECT response, expires_at FROM llm_cache WHERE cache_key = ? ORDER BY created_at DESC LIMIT 1", [key]
            )
        except Exception as exc:
            log.debug("llm_cache lookup failed: %s", self.scrub(exc))
            return None
        if not rows:
            return None
        expires = rows[0]["expires_at"]
        if isinstance(expires, str):
            try:
                expires = datetime.fromisoformat(expires)
            except ValueError:
                return None
        if expires is None or expires.replace(tzinfo=None) <= now:
            return None
        value = rows[0]["response"]
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return None
        with self._lock:
            self._cache[key] = (expires.replace(tzinfo=None), value)
        return value

    def _cache_put(self, key: str, operation: str, value: Any) -> None:
        ttl = self.settings.cache_ttl_s
        if not ttl or ttl <= 0:
            return
        now = _utcnow()
        expires = now + timedelta(seconds=ttl)
        with self._lock:
            self._cache[key] = (expires, value)
        self._append(
            "llm_cache",
            {
                "cache_key": key,
                "operation": operation,
                "model": self.settings.model,
                "response": value,
                "created_at": now,
                "expires_at": expires,
            },
        )

    def clear_memory_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    # --- records -----------------------------------------------------------------------------
    def _append(self, table: str, row: dict) -> None:
        store = self.store
        if store is None:
            return
        try:
            store.append(table, row)
        except Exception as exc:
            log.warning("could not record %s: %s", table, self.scrub(exc))

    def _record_call(
        self,
        operation: str,
        *,
        started: float,
        usage: dict,
        cache_hit: bool,
        success: bool,
        error: str | None,
        ids: dict,
    ) -> float:
        prompt_t = int(usage.get("prompt_tokens") or 0)
        completion_t = int(usage.get("completion_tokens") or 0)
        cost = 0.0 if cache_hit else cost_usd(self.settings.model, self.provider, prompt_t, completion_t)
        row = {
            "id": uuid.uuid4().hex,
            "timestamp": _utcnow(),
            "operation": operation,
            "provider": self.provider,
            "model": self.settings.model,
            "prompt_tokens": prompt_t,
            "completion_tokens": completion_t,
            "total_tokens": prompt_t + completion_t,
            "cost_usd": cost,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            "cache_hit": cache_hit,
            "success": success,
            "error": self.scrub(error)[:2000] if error else None,
            "workflow_id": ids.get("workflow_id"),
            "execution_id": ids.get("execution_id"),
            "state": ids.get("state"),
        }
        if cost:
            with self._lock:
                self._local_spend.append((row["timestamp"], ids.get("workflow_id"), cost))
        self._append("llm_calls", row)
        return cost

    # --- budgets -----------------------------------------------------------------------------
    def spent_today(self, workflow_id: str | None = None) -> float:
        """USD recorded in ``llm_calls`` since 00:00 UTC (for one workflow when given)."""
        day = _utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        with self._lock:
            local = sum(
                c for ts, wf, c in self._local_spend if ts >= day and (workflow_id is None or wf == workflow_id)
            )
        store = self.store
        stored = 0.0
        if store is not None:
            sql = "SELECT coalesce(sum(cost_usd), 0) AS spent FROM llm_calls WHERE timestamp >= ?"
            params: list[Any] = [day]
            if workflow_id is not None:
                sql += " AND workflow_id = ?"
                params.append(workflow_id)
            try:
                rows = store.query(sql, params)
                stored = float(rows[0]["spent"] or 0) if rows else 0.0
            except Exception as exc:
                log.debug("budget query failed: %s", self.scrub(exc))
        return max(local, stored)

    def estimate_cost(self, messages: list[dict], max_tokens: int | None = None) -> float:
        chars = sum(len(str(m.get("content") or "")) for m in messages)
        p_in, p_out = price_for(self.settings.model, self.provider)
        return ((chars / 4) * p_in + (max_tokens or self.settings.max_tokens) * p_out) / 1_000_000

    def budget_problem(
        self, estimate: float, workflow_id: str | None = None, workflow_budget_usd: float | None = None
    ) -> str | None:
        """A message when a call costing ``estimate`` would pass a budget, else None."""
        if estimate <= 0:
            return None
        daily = self.settings.daily_budget_usd
        if daily is not None:
            spent = self.spent_today()
            if spent + estimate > daily:
                return (
                    f"daily AI budget reached: ${spent:.4f} spent today of ${daily:.2f} "
                    f"(this call would cost about ${estimate:.4f})"
                )
        wf_budget = workflow_budget_usd if workflow_budget_usd is not None else self.settings.workflow_budget_usd
        if workflow_id is not None and wf_budget is not None:
            spent = self.spent_today(workflow_id)
            if spent + estimate > wf_budget:
                return (
                    f"AI budget of workflow '{workflow_id}' reached: ${spent:.4f} spent today of "
                    f"${wf_budget:.2f} (this call would cost about ${estimate:.4f})"
                )
        return None

    # --- the calls ---------------------------------------------------------------------------
    def complete_json(
        self,
        operation: str,
        prompt_name: str,
        variables: dict,
        schema: type[M],
        *,
        workflow_id: str | None = None,
        execution_id: str | None = None,
        state: str | None = None,
        fallback: Callable[[], M] | None = None,
        use_cache: bool = True,
        workflow_budget_usd: float | None = None,
        messages: list[dict] | None = None,
    ) -> LLMResult[M]:
        """Ask the model for an object of type ``schema``; on any failure return ``fallback()``."""
        msgs = messages if messages is not None else prompts.render(prompt_name, variables)
        params = {
            "kind": "json",
            "schema": schema.__name__,
            "fields": sorted(schema.model_fields),
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
            "prompt": prompt_name,
            "version": prompts.get(prompt_name).version if prompt_name in prompts.TEMPLATES else 0,
        }

        def parse_value(raw: Any) -> M:
            return schema.model_validate(raw)

        return self._run(
            operation,
            msgs,
            params,
            parse_value,
            self._call_json(schema),
            ids={"workflow_id": workflow_id, "execution_id": execution_id, "state": state},
            fallback=fallback,
            use_cache=use_cache,
            workflow_budget_usd=workflow_budget_usd,
            dump=lambda v: v.model_dump(mode="json"),
        )

    def complete_text(
        self,
        operation: str,
        prompt_name: str | None,
        variables: dict | None = None,
        *,
        workflow_id: str | None = None,
        execution_id: str | None = None,
        state: str | None = None,
        fallback: Callable[[], str] | None = None,
        use_cache: bool = True,
        workflow_budget_usd: float | None = None,
        messages: list[dict] | None = None,
    ) -> LLMResult[str]:
        """Plain-text completion (explanations, the ``llm`` action with its own ``messages``); on any
        failure return ``fallback()``."""
        msgs = messages if messages is not None else prompts.render(prompt_name, variables or {})
        params = {
            "kind": "text",
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
            "prompt": prompt_name or "custom",
            "version": prompts.get(prompt_name).version if prompt_name in prompts.TEMPLATES else 0,
        }

        def parse_value(raw: Any) -> str:
            if not isinstance(raw, str) or not raw.strip():
                raise ValueError("the model returned an empty answer")
            return raw.strip()

        return self._run(
            operation,
            msgs,
            params,
            parse_value,
            self._call_text,
            ids={"workflow_id": workflow_id, "execution_id": execution_id, "state": state},
            fallback=fallback,
            use_cache=use_cache,
            workflow_budget_usd=workflow_budget_usd,
            dump=lambda v: v,
        )

    def _offline(self, fallback, warnings: list[str]) -> LLMResult:
        value = None
        if fallback is not None:
            try:
                value = fallback()
            except Exception as exc:  # the offline path must not take the caller down either
                log.exception("offline fallback failed")
                warnings.append(f"the offline fallback failed too: {self.scrub(exc)}")
        return LLMResult(value, "offline", False, warnings, None, False)

    def _run(
        self, operation, msgs, params, parse_value, call, *, ids, fallback, use_cache, workflow_budget_usd, dump
    ) -> LLMResult:
        if not self.online:
            return self._offline(fallback, [])
        started = time.perf_counter()
        key = self.cache_key(msgs, params)
        if use_cache:
            raw = self._cache_get(key)
            if raw is not None:
                try:
                    value = parse_value(raw)
                except (ValidationError, ValueError):
                    value = None
                if value is not None:
                    self._record_call(
                        operation, started=started, usage={}, cache_hit=True, success=True, error=None, ids=ids
                    )
                    return LLMResult(value, self.provider, True, [], self.settings.model, True)
        problem = self.budget_problem(self.estimate_cost(msgs), ids.get("workflow_id"), workflow_budget_usd)
        if problem:
            warning = f"{problem}; used the offline default instead (raise the budget in the AI settings)"
            log.warning("%s (%s)", warning, operation)
            self._record_call(
                operation,
                started=started,
                usage={},
                cache_hit=False,
                success=False,
                error=f"not sent: {problem}",
                ids=ids,
            )
            return self._offline(fallback, [warning])
        try:
            raw, usage = call(msgs)
            value = parse_value(raw)
        except _CallFailed as exc:
            return self._failed(operation, exc.message, exc.usage, started, ids, fallback)
        except ValidationError as exc:
            detail = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()[:3])
            return self._failed(
                operation,
                f"the model's answer did not match the expected fields ({detail})",
                {},
                started,
                ids,
                fallback,
            )
        except ValueError as exc:
            return self._failed(operation, f"the model's answer was unusable: {exc}", {}, started, ids, fallback)
        except Exception as exc:  # pragma: no cover - defensive: never raise to the user
            log.exception("unexpected error in an AI call")
            return self._failed(operation, f"unexpected error: {type(exc).__name__}: {exc}", {}, started, ids, fallback)
        self._record_call(operation, started=started, usage=usage, cache_hit=False, success=True, error=None, ids=ids)
        if use_cache:
            self._cache_put(key, operation, dump(value))
        return LLMResult(value, self.provider, False, [], self.settings.model, True, usage)

    def _failed(self, operation, message, usage, started, ids, fallback) -> LLMResult:
        message = self.scrub(message)
        self._record_call(
            operation, started=started, usage=usage, cache_hit=False, success=False, error=message, ids=ids
        )
        where = self.settings.base_url or "api.openai.com"
        warning = self.scrub(
            f"AI model unavailable for {operation} ({message}; server {where}); used the offline default instead"
        )
        log.warning("%s", warning)
        return self._offline(fallback, [warning])

    # --- transport -----------------------------------------------------------------------------
    def _describe_error(self, exc: Exception) -> str:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return f"timed out after {self.settings.timeout_s:g} s"
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            return f"could not connect ({type(cause).__name__ if cause else 'connection error'})"
        if isinstance(exc, openai.AuthenticationError):
            return "the server refused the API key (HTTP 401)"
        if isinstance(exc, openai.APIStatusError):
            msg = ""
            body = exc.body
            if isinstance(body, dict):
                err = body.get("error", body)
                msg = err.get("message", "") if isinstance(err, dict) else str(err)
            return f"HTTP {exc.status_code}" + (f": {str(msg)[:300]}" if msg else "")
        return f"{type(exc).__name__}: {str(exc)[:300]}"

    @staticmethod
    def _usage_of(obj) -> dict:
        usage = getattr(obj, "usage", None)
        if usage is None and isinstance(obj, dict):
            usage = obj.get("usage")
        if usage is None:
            return {}
        get = (lambda k: usage.get(k)) if isinstance(usage, dict) else (lambda k: getattr(usage, k, None))
        return {
            "prompt_tokens": int(get("prompt_tokens") or 0),
            "completion_tokens": int(get("completion_tokens") or 0),
        }

    def _create_kwargs(self, msgs) -> dict:
        return {
            "model": self.settings.model,
            "messages": msgs,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
        }

    def _call_json(self, schema: type[BaseModel]):
        def call(msgs):
            start_mode = self._mode_index
            last: _CallFailed | None = None
            for idx in range(start_mode, len(_MODES)):
                try:
                    raw, usage = self._call_mode(_MODES[idx], msgs, schema)
                    if idx != self._mode_index:
                        log.info("this server answers structured output with %s mode", _MODES[idx])
                        self._mode_index = idx
                    return raw, usage
                except _CallFailed as exc:
                    last = exc
                    if not exc.retry_other_mode:
                        raise
            raise last  # type: ignore[misc]

        return call

    def _call_mode(self, mode: str, msgs: list[dict], schema: type[BaseModel]) -> tuple[Any, dict]:
        import openai

        client = self.client()
        kwargs = self._create_kwargs(msgs)
        try:
            if mode == "schema":
                raw_resp = client.chat.completions.with_raw_response.parse(response_format=schema, **kwargs)
            else:
                if mode == "json_object":
                    kwargs["response_format"] = {"type": "json_object"}
                else:
                    kwargs["messages"] = msgs[:-1] + [
                        {
                            "role": msgs[-1]["role"],
                            "content": msgs[-1]["content"] + "\n\nReply with the JSON object only.",
                        }
                    ]
                raw_resp = client.chat.completions.with_raw_response.create(**kwargs)
        except (openai.BadRequestError, openai.UnprocessableEntityError, openai.NotFoundError) as exc:
            # the server may not know response_format / json_schema: try the next, simpler mode
            raise _CallFailed(self.scrub(self._describe_error(exc)), retry_other_mode=mode != "text") from None
        except openai.OpenAIError as exc:
            raise _CallFailed(self.scrub(self._describe_error(exc))) from None
        except Exception as exc:
            raise _CallFailed(self.scrub(f"{type(exc).__name__}: {exc}")) from None
        try:
            body = json.loads(raw_resp.text)
        except ValueError:
            raise _CallFailed("the server's reply was not JSON") from None
        usage = self._usage_of(body)
        choices = body.get("choices") or []
        if not choices:
            raise _CallFailed("the server's reply had no choices", usage)
        message = choices[0].get("message") or {}
        finish = choices[0].get("finish_reason")
        if message.get("refusal"):
            raise _CallFailed(f"the model refused: {str(message['refusal'])[:300]}", usage)
        if finish == "length":
            raise _CallFailed("the answer was cut off (max_tokens reached)", usage)
        if finish == "content_filter":
            raise _CallFailed("the answer was blocked by the server's content filter", usage)
        content = message.get("content")
        if mode == "schema":
            try:
                parsed = raw_resp.parse().choices[0].message.parsed
            except Exception:
                parsed = None  # malformed or fenced JSON: try to recover it below
            if parsed is not None:
                return parsed.model_dump(mode="json"), usage
        if content is None or not str(content).strip():
            raise _CallFailed("the model returned an empty answer", usage)
        try:
            return extract_json(content), usage
        except ValueError as exc:
            snippet = str(content).strip().replace("\n", " ")[:120]
            raise _CallFailed(f"malformed JSON in the answer ({exc}): {snippet!r}", usage) from None

    def _call_text(self, msgs: list[dict]) -> tuple[str, dict]:
        import openai

        try:
            raw_resp = self.client().chat.completions.with_raw_response.create(**self._create_kwargs(msgs))
            body = json.loads(raw_resp.text)
        except openai.OpenAIError as exc:
            raise _CallFailed(self.scrub(self._describe_error(exc))) from None
        except ValueError:
            raise _CallFailed("the server's reply was not JSON") from None
        usage = self._usage_of(body)
        choices = body.get("choices") or []
        message = (choices[0].get("message") or {}) if choices else {}
        if message.get("refusal"):
            raise _CallFailed(f"the model refused: {str(message['refusal'])[:300]}", usage)
        content = message.get("content")
        if not content or not str(content).strip():
            raise _CallFailed("the model returned an empty answer", usage)
        return str(content), usage
