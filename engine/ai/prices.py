"""Prices per 1M tokens (USD, input / output) for common hosted models; local servers cost 0.

Unknown models are priced at 0 when the server is local (Ollama, vLLM, llama.cpp on loopback) and at
:data:`UNKNOWN_HOSTED` otherwise, so a budget still protects against an unknown paid model.
Override with ``WORKBENCH_LLM_PRICE_IN`` / ``WORKBENCH_LLM_PRICE_OUT`` (USD per 1M tokens).
"""

from __future__ import annotations

import os

# model prefix -> (input, output) USD per 1M tokens; longest matching prefix wins
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-4": (30.00, 60.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "o1-mini": (1.10, 4.40),
    "o1": (15.00, 60.00),
    "o3-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
}
UNKNOWN_HOSTED = (2.50, 10.00)


def price_for(model: str, provider: str) -> tuple[float, float]:
    """(input, output) USD per 1M tokens for ``model`` served by ``provider``."""
    env_in, env_out = os.environ.get("WORKBENCH_LLM_PRICE_IN"), os.environ.get("WORKBENCH_LLM_PRICE_OUT")
    if env_in or env_out:
        try:
            return float(env_in or 0), float(env_out or 0)
        except ValueError:
            pass
    name = (model or "").lower()
    best = None
    for prefix in PRICES:
        if name.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    if best is not None:
        return PRICES[best]
    if provider in ("local", "offline"):
        return (0.0, 0.0)
    return UNKNOWN_HOSTED


def cost_usd(model: str, provider: str, prompt_tokens: int, completion_tokens: int) -> float:
    p_in, p_out = price_for(model, provider)
    return (max(0, prompt_tokens) * p_in + max(0, completion_tokens) * p_out) / 1_000_000
