"""The 0–100 optimization score and the potential score (formula in the package docstring)."""

from __future__ import annotations

from engine.optimizer.statistics import _round
from engine.optimizer.suggestion import Suggestion

SCORE_FORMULA = "score = 40·S + 30·(1 − P) + 15·T + 15·(1 − C)"


def score_parts(run: dict, suggestions: list[Suggestion], llm_cost: float) -> dict:
    """The four score components (see the module docstring) and the resulting scores."""
    s = run["success_rate"] if run["success_rate"] is not None else 0.0
    base = run["median_ms"] or 0.0
    perf_gain = sum(x.gain_ms for x in suggestions if x.optimization_type == "performance")
    p = min(1.0, perf_gain / base) if base else 0.0
    p50, p95 = run["p50_ms"], run["p95_ms"]
    if p50 and p95 and p50 > 0:
        ratio = p95 / p50
        t = max(0.0, min(1.0, (4.0 - ratio) / 2.5))
    else:
        ratio, t = None, 1.0
    saving = sum(x.cost_saving_usd for x in suggestions if x.optimization_type == "cost")
    c = min(1.0, saving / llm_cost) if llm_cost > 0 else 0.0
    score = 40 * s + 30 * (1 - p) + 15 * t + 15 * (1 - c)
    s_gain = sum(x.success_gain for x in suggestions if x.optimization_type == "reliability") / 100.0
    s_pot = min(1.0, s + s_gain)
    potential = 40 * s_pot + 30 + 15 * t + 15
    return {
        "S_success_rate": round(s, 4),
        "P_performance_savings_share": round(p, 4),
        "T_tail_factor": round(t, 4),
        "p95_over_p50": round(ratio, 3) if ratio else None,
        "C_avoidable_llm_cost_share": round(c, 4),
        "llm_cost_usd": round(llm_cost, 6),
        "points": {
            "success": round(40 * s, 2),
            "performance": round(30 * (1 - p), 2),
            "tail_latency": round(15 * t, 2),
            "cost": round(15 * (1 - c), 2),
        },
        "score": _round(score),
        "potential_score": _round(max(score, potential)),
    }
