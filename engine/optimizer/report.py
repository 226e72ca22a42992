"""The optimization report: run every rule on one version, score it, write the narrative, save the suggestions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import records
from engine.optimizer.caching import suggest_caching
from engine.optimizer.decisions import save_suggestions
from engine.optimizer.llm_costs import suggest_llm
from engine.optimizer.narrative import _model_narrative, offline_narrative
from engine.optimizer.parallel import state_io, suggest_parallel
from engine.optimizer.reliability import suggest_failing_states, suggest_reliability
from engine.optimizer.scoring import SCORE_FORMULA, score_parts
from engine.optimizer.settings import MIN_RUNS
from engine.optimizer.suggestion import Suggestion
from engine.optimizer.target import _run_stats, parallel_slots, resolve_target
from engine.workflow_file import WorkflowSpec


@dataclass
class OptimizationReport:
    """The advisor's answer for one version: run figures, score, suggestions, narrative."""

    workflow_id: str
    workflow_name: str
    version: int
    runs: dict
    score: int | None
    potential_score: int | None
    score_components: dict
    suggestions: list[Suggestion]
    not_suggested: list[dict]
    narrative: str
    narrative_source: str  # offline | <model name>
    notes: list[str]
    dsl: str
    slots: int

    def to_dict(self) -> dict:
        runs = {k: v for k, v in self.runs.items() if k != "durations"}
        return {
            "workflow_id": self.workflow_id,
            "workflow_name": self.workflow_name,
            "version": self.version,
            "runs": runs,
            "current_optimization_score": self.score,
            "potential_score": self.potential_score,
            "score_components": self.score_components,
            "score_formula": SCORE_FORMULA,
            "suggested_optimizations": [s.to_dict() for s in self.suggestions],
            "not_suggested": self.not_suggested,
            "narrative": self.narrative,
            "narrative_source": self.narrative_source,
            "notes": self.notes,
            "parallel_slots": self.slots,
        }


def analyze(
    store,
    workflow: str | WorkflowSpec,
    *,
    version: int | None = None,
    slots: int | None = None,
    llm: Any = None,
    save: bool = True,
) -> OptimizationReport:
    """Analyse one workflow version's records and return the report (and store its suggestions).

    ``llm``: an LLMService to write the narrative; None = the default service when a model is configured;
    False = never call a model.
    """
    target = resolve_target(store, workflow, version)
    slots = int(slots or parallel_slots())
    run = _run_stats(store, target.workflow_id, target.version)
    notes: list[str] = []
    suggestions: list[Suggestion] = []
    rejected: list[dict] = []
    if run["finished"] < MIN_RUNS:
        notes.append(
            f"Not enough runs: version {target.version} has {run['finished']} finished run(s); the advisor "
            f"needs at least {MIN_RUNS} before it scores the workflow or proposes changes."
        )
    else:
        io = state_io(store, target.workflow_id, target.version)
        par, rejected = suggest_parallel(store, target, io, run, slots)
        suggestions += par
        suggestions += suggest_reliability(store, target, run)
        suggestions += suggest_caching(store, target, run)
    if run["finished"]:
        suggestions += suggest_failing_states(store, target, run)
    suggestions += suggest_llm(store, target)
    for s in suggestions:
        s.finalize(target.workflow_id, target.version)
    suggestions.sort(key=lambda s: (-s.priority, -s.estimated_improvement, s.title))
    llm_cost = float(records.llm_cost_summary(store, target.workflow_id)["cost"] or 0.0)
    if run["finished"] >= MIN_RUNS:
        parts = score_parts(run, suggestions, llm_cost)
        score, potential = parts["score"], parts["potential_score"]
    else:
        parts, score, potential = {}, None, None
    narrative, source = offline_narrative(target, run, suggestions, notes), "offline"
    if llm is not False and suggestions:
        narrative, source = _model_narrative(store, target, run, suggestions, llm, narrative)
    report = OptimizationReport(
        target.workflow_id,
        target.name,
        target.version,
        run,
        score,
        potential,
        parts,
        suggestions,
        rejected,
        narrative,
        source,
        notes,
        target.spec.dsl,
        slots,
    )
    if save:
        save_suggestions(store, report)
    return report
