"""The report's narrative: offline text from the suggestions, or written by the configured model."""

from __future__ import annotations

import logging
from typing import Any

from engine.optimizer.settings import MIN_RUNS
from engine.optimizer.suggestion import Suggestion
from engine.optimizer.target import Target

log = logging.getLogger("workbench.optimizer")


def offline_narrative(target: Target, run: dict, suggestions: list[Suggestion], notes: list[str]) -> str:
    """The narrative without a model: the run figures, the notes and one line per suggestion."""
    lines = []
    if run["finished"]:
        lines.append(
            f"'{target.name}' v{target.version}: {run['finished']} finished runs, "
            f"{100 * (run['success_rate'] or 0):.0f}% completed, median {(run['median_ms'] or 0) / 1000:.2f} s."
        )
    lines += notes
    if not suggestions and run["finished"] >= MIN_RUNS:
        lines.append(
            "The records show nothing to improve: no independent sequential states worth parallelizing, "
            "no error-prone or hung states, no repeated deterministic work, no avoidable LLM spending."
        )
    for s in suggestions:
        lines.append(f"- [{s.optimization_type}] {s.title}: {s.description}")
    return "\n".join(lines)


def _model_narrative(
    store, target: Target, run: dict, suggestions: list[Suggestion], llm: Any, fallback_text: str
) -> tuple[str, str]:
    """Ask the configured model to write the narrative from the statistics; offline text on any problem."""
    try:
        from pydantic import BaseModel

        if llm is None:
            from engine.ai import get_ai

            llm = get_ai(store=store).llm
        if not getattr(llm, "online", False):
            return fallback_text, "offline"

        class _Opt(BaseModel):
            type: str = "performance"
            title: str = ""
            description: str = ""
            estimated_improvement: float | None = None
            implementation_effort: str | None = None
            priority: int | None = None

        class _Answer(BaseModel):
            optimizations: list[_Opt] = []

        from engine.analytics import Scope as _Scope
        from engine.analytics import common_errors, state_performance

        scope = _Scope((target.workflow_id,), target.version)
        perf = state_performance(store, scope)
        errs = common_errors(store, scope)
        variables = {
            "workflow_dsl": target.spec.dsl,
            "total_executions": run["finished"],
            "avg_duration_ms": round(sum(run["durations"]) / len(run["durations"])) if run["durations"] else 0,
            "success_rate": round(100 * (run["success_rate"] or 0), 1),
            "error_rate": round(100 * (1 - (run["success_rate"] or 0)), 1),
            "state_performance": "\n".join(
                f"- {r['state']}: avg {r['avg_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, error rate {r['error_rate']:.1f}%"
                for r in perf.to_dict("records")
            )
            or "(none)",
            "error_analysis": (
                "\n".join(f"- {r['state']}: {r['error_type']} × {r['count']}" for r in errs.to_dict("records"))
                or "(no errors)"
            )
            + "\n\nEvidence-based suggestions already found (explain them; do not invent numbers):\n"
            + "\n".join(f"- {s.title}: {s.description}" for s in suggestions),
        }
        res = llm.complete_json(
            "optimize", "optimize_workflow", variables, _Answer, workflow_id=target.workflow_id, fallback=lambda: None
        )
        if res.value is None or not res.from_model or not res.value.optimizations:
            return fallback_text, "offline"
        text = "\n".join(f"- [{o.type}] {o.title}: {o.description}" for o in res.value.optimizations[:5])
        return text, res.model or getattr(llm.settings, "model", "model")
    except Exception as exc:  # the narrative is optional: the statistics stand alone
        log.warning("narrative by the model failed: %s", exc)
        return fallback_text, "offline"
