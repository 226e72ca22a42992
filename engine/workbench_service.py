"""Former single module of the app's read models, now split by concern in :mod:`engine.workbench`.

Kept only as a re-export of the same names for code outside the app that still imports it (the
tests of ``tests/app`` and ``tests/faults``). New code imports from :mod:`engine.workbench`'s modules.
"""
from __future__ import annotations

from engine.records import loads
from engine.schema import LIVE_STATUSES
from engine.workbench.ai import ai_settings, explain, key_source, llm_spend, spec_from_translation, translate
from engine.workbench.common import REPO_ROOT, TEMPLATES_DIR, ServiceError, parse_context_json
from engine.workbench.drafts import (
                                 DslCheck,
                                 add_transition,
                                 binding_from_form,
                                 check_dsl,
                                 check_spec,
                                 make_transition,
                                 model_with,
                                 parse_endpoint,
                                 parse_tags,
                                 remove_transition,
                                 rename_state,
                                 replace_transition,
                                 spec_fingerprint,
                                 suggested_context,
                                 templates,
                                 transition_rows,
)
from engine.workbench.library import (
                                 all_tags,
                                 archive_workflow,
                                 diff_versions,
                                 get_workflow,
                                 list_versions,
                                 list_workflows,
                                 save_workflow,
                                 workflow_labels,
)
from engine.workbench.runs import (
                                 ai_decisions,
                                 answer_request,
                                 audit_log,
                                 can_resume,
                                 context_steps,
                                 execution,
                                 executions,
                                 interrupted_runs,
                                 is_live,
                                 last_initial_context,
                                 node_statuses,
                                 open_requests,
                                 recent_runs,
                                 recovery_actions,
                                 run_options,
                                 runs_needing_attention,
                                 start_run,
                                 targets,
                                 timeline_rows,
                                 token_lane,
                                 token_sort_key,
                                 transitions,
                                 workflow_names,
)
from engine.workbench.system import cluster_details, store_details

_targets = targets

__all__ = [
    "loads", "LIVE_STATUSES", "ai_settings", "explain", "key_source", "llm_spend", "spec_from_translation",
    "translate", "REPO_ROOT", "TEMPLATES_DIR", "ServiceError", "parse_context_json", "DslCheck", "add_transition",
    "binding_from_form", "check_dsl", "check_spec", "make_transition", "model_with", "parse_endpoint", "parse_tags",
    "remove_transition", "rename_state", "replace_transition", "spec_fingerprint", "suggested_context", "templates",
    "transition_rows", "all_tags", "archive_workflow", "diff_versions", "get_workflow", "list_versions",
    "list_workflows", "save_workflow", "workflow_labels", "ai_decisions", "answer_request", "audit_log",
    "can_resume", "context_steps", "execution", "executions", "interrupted_runs", "is_live",
    "last_initial_context", "node_statuses", "open_requests", "recent_runs", "recovery_actions", "run_options",
    "runs_needing_attention", "start_run", "targets", "timeline_rows", "token_lane", "token_sort_key",
    "transitions", "workflow_names", "cluster_details", "store_details",
]
