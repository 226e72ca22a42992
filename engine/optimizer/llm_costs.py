"""LLM cost rules: repeated AI decisions worth caching, a cheaper model of the same family."""

from __future__ import annotations

from engine import records
from engine.optimizer.settings import CHEAPER_MODEL
from engine.optimizer.suggestion import Suggestion
from engine.optimizer.target import Target


def suggest_llm(store, target: Target) -> list[Suggestion]:
    """Suggest caching repeated AI decisions and switching to a cheaper model of the same family."""
    wid = target.workflow_id
    out: list[Suggestion] = []
    dup = records.repeated_ai_decisions(store, wid)
    costs = records.llm_cost_summary(store, wid)
    if dup:
        repeats = sum(int(d["n"]) - 1 for d in dup)
        per_call = (costs["decision_cost"] / costs["decision_calls"]) if costs["decision_calls"] else 0.0
        saving = repeats * per_call
        total = float(costs["cost"] or 0.0)
        out.append(
            Suggestion(
                "llm_cache",
                "cost",
                "Cache repeated AI decisions",
                f"{repeats} AI decisions repeated a question already answered for exactly the same context "
                f"({len(dup)} distinct condition/context pairs) and were sent to the model again. A longer decision-cache "
                f"TTL (or a rule for these conditions) would have saved about ${saving:.4f}"
                + (f" of ${total:.4f} spent" if total else "")
                + ".",
                {
                    "repeated_decisions": repeats,
                    "pairs": [
                        {"state": d["state"], "condition": d["condition"], "times": int(d["n"])} for d in dup[:10]
                    ],
                    "avg_cost_per_decision_usd": round(per_call, 6),
                    "llm_cost_usd": round(total, 6),
                },
                round(100.0 * saving / total, 1) if total else 0.0,
                "low",
                3,
                {
                    "decision_cache": {"conditions": sorted({d["condition"] for d in dup})[:10]},
                    "note": "raise the decision cache TTL in the AI settings, or turn the condition into an expression",
                },
                reasoning="ai_decisions with the same (state, condition, context_hash) decided by the model more than once",
                key="decisions",
                cost_saving_usd=saving,
            )
        )
    models = records.llm_cost_by_model(store, wid)
    from engine.ai.prices import cost_usd as price_cost

    for m in models:
        cheaper = _cheaper(m["model"])
        if cheaper is None or float(m["cost"]) <= 0:
            continue
        new_cost = price_cost(cheaper, m["provider"] or "openai", int(m["pt"]), int(m["ct"]))
        saving = float(m["cost"]) - new_cost
        if saving <= 0 or saving < 0.2 * float(m["cost"]):
            continue
        out.append(
            Suggestion(
                "llm_model",
                "cost",
                f"Use {cheaper} instead of {m['model']}",
                f"{int(m['calls'])} calls to {m['model']} cost ${float(m['cost']):.4f} for {int(m['pt'])} prompt and "
                f"{int(m['ct'])} completion tokens; the same tokens on {cheaper} would cost ${new_cost:.4f} "
                f"(−{100 * saving / float(m['cost']):.0f}%). Check the answers' quality first (e.g. with the "
                "translator eval set) before switching.",
                {
                    "model": m["model"],
                    "calls": int(m["calls"]),
                    "prompt_tokens": int(m["pt"]),
                    "completion_tokens": int(m["ct"]),
                    "cost_usd": round(float(m["cost"]), 6),
                    "cost_with_cheaper_usd": round(new_cost, 6),
                },
                round(100 * saving / float(m["cost"]), 1),
                "low",
                2,
                {"model": {"from": m["model"], "to": cheaper}, "note": "change the model in the AI settings"},
                reasoning="the recorded token counts repriced with the price table (engine/ai/prices.py)",
                key=f"model:{m['model']}",
                cost_saving_usd=saving,
            )
        )
    return out


def _cheaper(model: str | None) -> str | None:
    name = (model or "").lower()
    best = None
    for prefix in CHEAPER_MODEL:
        if name.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return CHEAPER_MODEL.get(best) if best else None
