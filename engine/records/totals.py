"""Store-wide totals over all runs: executions, AI decisions, model calls and today's spend.

For the service (``/metrics``, the health probe) and the app's AI page (spend today).
"""

from __future__ import annotations


def ai_decision_totals(store) -> dict[str, int]:
    """Recorded AI-layer decisions by who decided (rule, ai, heuristic, human, cache), all runs."""
    return {
        r["by"]: int(r["n"])
        for r in store.query(
            "SELECT coalesce(nullif(decided_by, ''), 'unknown') AS by, count(*) AS n FROM ai_decisions GROUP BY 1"
        )
    }


def llm_usage_totals(store) -> list[dict]:
    """Recorded model calls per model: calls, prompt and completion tokens, cost in USD, all runs."""
    return store.query(
        "SELECT coalesce(model, 'unknown') AS model, count(*) AS calls, "
        "coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens, "
        "coalesce(sum(cost_usd), 0.0) AS cost_usd FROM llm_calls GROUP BY 1 ORDER BY 1"
    )


def execution_count(store) -> int:
    """How many executions are recorded (also a cheap probe that the store answers queries)."""
    return int(store.query("SELECT count(*) AS n FROM workflow_executions")[0]["n"])


def llm_spend_today(store) -> dict:
    """Today's LLM spend over all workflows: {usd, calls, hits}."""
    rows = store.query(
        "SELECT coalesce(sum(cost_usd), 0) AS usd, count(*) AS calls, "
        "count(*) FILTER (WHERE cache_hit) AS hits FROM llm_calls "
        "WHERE timestamp >= current_date"
    )
    return rows[0] if rows else {}
