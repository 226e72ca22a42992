"""Reading the record store: every read query and JSON decoding, one module per question asked.

Callers (``engine.api``, the CLI, the app's read models in ``engine.workbench``, the service, the run
engine, :mod:`engine.analytics` and the optimizer) ask here instead of writing SQL, always through
this package: ``from engine import records; records.execution(store, run_id)``. The modules:

* ``common`` — the shared small rules: :func:`utc_now`, :func:`store_time`, :func:`slugify`, and JSON
  decoding (:func:`loads`, :func:`decode`) driven by :data:`engine.schema.JSON_COLUMNS`; the status
  sets come from :mod:`engine.schema`;
* ``runs`` — which runs there are: one execution, the filtered lists, re-runs, initial contexts;
* ``run_detail`` — what happened inside one run: transitions, audit log, recoveries, AI decisions,
  step logs, time per node;
* ``people`` — requests for a person and the runs waiting on them;
* ``run_engine`` — the run engine's own reads (resume, cancel, recovery history, Ray timings);
* ``versions`` — a workflow's versions and the outcomes of their runs;
* ``totals`` — store-wide totals (service metrics, spend today);
* ``analytics`` — aggregates over an analytics scope (:mod:`engine.analytics` turns them into figures);
* ``optimizer`` — aggregates over one version's records and the stored suggestions (``engine/optimizer/``).

The package imports only :mod:`engine.schema` (a leaf of the import graph): anything may use it.
Every public name of the modules is re-exported here.
"""

from __future__ import annotations

from engine.records.analytics import (
    ANALYTICS_GRANULARITIES,
    ai_confidence_histogram,
    ai_decision_count,
    ai_decisions_by_decider,
    ai_decisions_per_bucket,
    deadline_miss_rows,
    error_type_counts,
    llm_call_totals,
    llm_calls_by_operation,
    llm_calls_per_bucket,
    recent_runs,
    recovery_by_strategy,
    recovery_incident_totals,
    run_time_per_bucket,
    run_time_rows,
    run_time_span,
    run_time_totals,
    run_totals,
    runs_per_bucket,
    runs_per_workflow,
    runs_with_duration,
    scope_where,
    state_attempt_bars,
    state_attempt_figures,
    state_error_pairs,
    state_outcome_counts,
    workflow_ids_named,
    workflows_with_runs,
)
from engine.records.common import (
    SLUG_MAX,
    decode,
    decode_all,
    loads,
    slugify,
    store_time,
    utc_now,
)
from engine.records.optimizer import (
    completed_state_keys,
    completion_durations,
    initial_contexts,
    llm_cost_by_model,
    llm_cost_summary,
    optimization_record,
    optimization_records,
    repeated_ai_decisions,
    state_attempts,
    state_completion_medians,
    state_duration_quantiles,
    state_error_counts,
    state_read_key_sets,
    state_run_counts,
    transitions_of_runs,
    visits_failed_after_recovery,
)
from engine.records.people import (
    answered_requests,
    human_requests,
    open_requests,
    open_requests_by_id,
    request_status,
    runs_needing_attention,
    waiting_runs_with_expired_requests,
)
from engine.records.run_detail import (
    ai_decisions,
    audit_log,
    first_start,
    recovery_actions,
    recovery_strategy_counts,
    states_before_end,
    step_logs,
    time_per_node,
    transitions,
)
from engine.records.run_engine import (
    cancel_requested,
    child_executions,
    execution_as_stored,
    max_execution_seq,
    ray_state_timings,
    recovery_history,
)
from engine.records.runs import (
    execution,
    executions,
    initial_contexts_of,
    last_initial_context,
    reruns_of,
    runs_by_id,
    runs_matching_inputs_or_source,
    unfinished_runs,
    workflow_names,
)
from engine.records.totals import (
    ai_decision_totals,
    execution_count,
    llm_spend_today,
    llm_usage_totals,
)
from engine.records.versions import (
    finished_runs_per_version,
    latest_version_with_runs,
    most_recently_run,
    recorded_spec,
    run_outcomes,
    run_versions,
)
from engine.schema import FINISHED_STATUSES, LIVE_STATUSES

__all__ = [
    "FINISHED_STATUSES",
    "LIVE_STATUSES",
    "utc_now",
    "store_time",
    "SLUG_MAX",
    "slugify",
    "loads",
    "decode",
    "decode_all",
    "execution",
    "executions",
    "workflow_names",
    "unfinished_runs",
    "runs_by_id",
    "last_initial_context",
    "reruns_of",
    "runs_matching_inputs_or_source",
    "initial_contexts_of",
    "transitions",
    "audit_log",
    "first_start",
    "recovery_actions",
    "ai_decisions",
    "recovery_strategy_counts",
    "step_logs",
    "states_before_end",
    "time_per_node",
    "runs_needing_attention",
    "human_requests",
    "open_requests",
    "open_requests_by_id",
    "answered_requests",
    "request_status",
    "waiting_runs_with_expired_requests",
    "execution_as_stored",
    "child_executions",
    "max_execution_seq",
    "cancel_requested",
    "recovery_history",
    "ray_state_timings",
    "finished_runs_per_version",
    "recorded_spec",
    "run_versions",
    "latest_version_with_runs",
    "most_recently_run",
    "run_outcomes",
    "ai_decision_totals",
    "llm_usage_totals",
    "execution_count",
    "llm_spend_today",
    "ANALYTICS_GRANULARITIES",
    "scope_where",
    "run_time_span",
    "workflow_ids_named",
    "workflows_with_runs",
    "run_totals",
    "runs_per_bucket",
    "runs_per_workflow",
    "runs_with_duration",
    "state_attempt_figures",
    "run_time_rows",
    "run_time_totals",
    "run_time_per_bucket",
    "state_outcome_counts",
    "state_error_pairs",
    "error_type_counts",
    "recovery_incident_totals",
    "recovery_by_strategy",
    "ai_decisions_by_decider",
    "ai_confidence_histogram",
    "ai_decisions_per_bucket",
    "ai_decision_count",
    "llm_calls_per_bucket",
    "llm_call_totals",
    "llm_calls_by_operation",
    "recent_runs",
    "state_attempt_bars",
    "deadline_miss_rows",
    "initial_contexts",
    "transitions_of_runs",
    "optimization_record",
    "optimization_records",
    "completed_state_keys",
    "state_run_counts",
    "completion_durations",
    "state_completion_medians",
    "state_attempts",
    "visits_failed_after_recovery",
    "state_error_counts",
    "state_duration_quantiles",
    "state_read_key_sets",
    "repeated_ai_decisions",
    "llm_cost_summary",
    "llm_cost_by_model",
]
