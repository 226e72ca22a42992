"""The optimization advisor: a score, evidence-based suggestions, accepting them, and measuring the result.

Everything here is derived from the records (``state_transitions``, ``workflow_executions``,
``recovery_actions``, ``ai_decisions``, ``llm_calls``) of one workflow version. With a model
configured the LLM only writes the narrative; every number and every suggestion stands alone offline.

**Score (0–100)** — four transparent parts::

    score = 40·S + 30·(1 − P) + 15·T + 15·(1 − C)

* S: success rate of the version's finished runs (0..1);
* P: share of the median completed-run duration that the performance suggestions would save
  (parallelization + caching, capped at 1);
* T: tail latency, 1 when p95 ≤ 1.5 × p50 of completed runs, 0 when p95 ≥ 4 × p50, linear between;
* C: share of the workflow's LLM spending that is avoidable (repeated identical AI decisions, a cheaper
  model of the same family), 0 when nothing was spent.

``potential_score`` is the same formula with P = 0, C = 0 and S raised by the reliability
suggestions' predicted gain. Fewer than :data:`MIN_RUNS` finished runs: no score ("not enough runs").

**Parallelization** is proven from the keys each state read and wrote (``keys_read`` /
``keys_written`` of every recorded completion). Consecutive states ``a -> b`` of a plain chain
(one unconditional transition each, one way in, not inside an existing parallel group) may share a
parallel group only if, over every recorded run, b read no key a wrote, they wrote no common key, and no
condition between them reads a key a wrote. Reading a key the *later* state writes is allowed: each
branch starts from a copy of the context at the fork, so the earlier state still sees the old value.
The gain is predicted per recorded run: the sum of the group's durations minus its makespan on the
available parallel slots (Ray CPUs; longest-first greedy). States that ran inline (driver threads, which
overlap only while waiting) are counted as serial: a conservative prediction.

**Significance** of a version comparison: durations of completed runs by the Mann–Whitney U test
(exact distribution when there are no ties and n1 + n2 ≤ 60, else the normal approximation with tie and
continuity corrections), success rates by Fisher's exact test; two-sided, 5% level; fewer than
:data:`MIN_COMPARE` runs per version: "not enough runs".


Module map (``engine/optimizer/``):

* ``settings`` — thresholds, the cheaper-model table, :class:`OptimizerError`;
* ``statistics`` — quantiles, Mann–Whitney U, Fisher's exact test, makespan, rounding;
* ``target`` — which version is analysed, its run figures, the parallel slots;
* ``suggestion`` — the :class:`Suggestion` every rule returns;
* ``parallel``, ``reliability``, ``caching``, ``llm_costs`` — the suggestion rules (``side_effects``:
  which states act outside the run);
* ``scoring``, ``narrative``, ``report`` — the score, the narrative and :func:`analyze`;
* ``decisions`` — suggestion records: save, accept (apply the change as a new version), reject;
* ``comparison`` — comparing two versions and measuring an implemented suggestion.

Every read goes through :mod:`engine.records`; the public names stay importable from ``engine.optimizer``.
"""

from __future__ import annotations

from engine.optimizer.caching import (
    _MISSING,
    _hash,
    _reads_of,
    _total_state_ms,
    state_inputs,
    suggest_caching,
)
from engine.optimizer.comparison import (
    compare_versions,
    record_actual_improvement,
    version_sample,
)
from engine.optimizer.decisions import (
    _append,
    _now,
    accept,
    apply_change,
    get_record,
    list_records,
    reject,
    save_suggestions,
)
from engine.optimizer.llm_costs import (
    _cheaper,
    suggest_llm,
)
from engine.optimizer.narrative import (
    _model_narrative,
    offline_narrative,
)
from engine.optimizer.parallel import (
    Chain,
    StateIO,
    _is_sub,
    _names,
    _state_medians,
    _top,
    dependency,
    find_chains,
    parallel_dsl,
    predict_parallel_gain,
    segments,
    state_io,
    suggest_parallel,
)
from engine.optimizer.reliability import (
    suggest_failing_states,
    suggest_reliability,
)
from engine.optimizer.report import (
    OptimizationReport,
    analyze,
)
from engine.optimizer.scoring import (
    SCORE_FORMULA,
    score_parts,
)
from engine.optimizer.settings import (
    ALPHA,
    ALWAYS_FAILS,
    AUTOMATIC_KINDS,
    CACHE_MIN_MS,
    CACHE_MIN_REPEATS,
    CHEAPER_MODEL,
    MAX_CONTEXT_RUNS,
    MIN_COMPARE,
    MIN_GAIN_MS,
    MIN_GAIN_SHARE,
    MIN_RUNS,
    RETRY_MIN_FAILURES,
    STATUSES,
    TIMEOUT_MIN_SAMPLES,
    OptimizerError,
)
from engine.optimizer.side_effects import (
    SIDE_EFFECT_ACTIONS,
    side_effect_of,
)
from engine.optimizer.statistics import (
    _nice_ceil,
    _quantile,
    _ranks,
    _round,
    _u_distribution,
    fisher_exact,
    makespan,
    mann_whitney_u,
    median,
)
from engine.optimizer.suggestion import (
    Suggestion,
)
from engine.optimizer.target import (
    Target,
    _latest_version_with_runs,
    _run_stats,
    completed_durations,
    load_spec,
    parallel_slots,
    resolve_target,
)

__all__ = [
    "MIN_RUNS",
    "MIN_COMPARE",
    "ALPHA",
    "MIN_GAIN_MS",
    "MIN_GAIN_SHARE",
    "CACHE_MIN_MS",
    "CACHE_MIN_REPEATS",
    "TIMEOUT_MIN_SAMPLES",
    "RETRY_MIN_FAILURES",
    "ALWAYS_FAILS",
    "MAX_CONTEXT_RUNS",
    "STATUSES",
    "AUTOMATIC_KINDS",
    "CHEAPER_MODEL",
    "OptimizerError",
    "_quantile",
    "median",
    "_ranks",
    "_u_distribution",
    "mann_whitney_u",
    "fisher_exact",
    "makespan",
    "parallel_slots",
    "Target",
    "_latest_version_with_runs",
    "load_spec",
    "resolve_target",
    "Suggestion",
    "StateIO",
    "state_io",
    "_top",
    "dependency",
    "Chain",
    "find_chains",
    "segments",
    "parallel_dsl",
    "_is_sub",
    "predict_parallel_gain",
    "_run_stats",
    "completed_durations",
    "suggest_parallel",
    "_names",
    "_state_medians",
    "suggest_reliability",
    "suggest_failing_states",
    "_nice_ceil",
    "SIDE_EFFECT_ACTIONS",
    "side_effect_of",
    "_MISSING",
    "_hash",
    "state_inputs",
    "suggest_caching",
    "_total_state_ms",
    "_reads_of",
    "suggest_llm",
    "_cheaper",
    "OptimizationReport",
    "SCORE_FORMULA",
    "score_parts",
    "_round",
    "analyze",
    "offline_narrative",
    "_model_narrative",
    "_now",
    "get_record",
    "list_records",
    "_append",
    "save_suggestions",
    "apply_change",
    "accept",
    "reject",
    "version_sample",
    "compare_versions",
    "record_actual_improvement",
]
