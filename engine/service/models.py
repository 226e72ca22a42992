"""Request and response models of the REST API (``/api/v1``); they make up the OpenAPI page at ``/docs``.

Requests refuse unknown fields (``extra="forbid"``), so a typo is a 400 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ------------------------------------------------------------------------------- errors
class ErrorBody(Response):
    code: str = Field(
        description="machine-readable: invalid_request, invalid_json, invalid_workflow, not_found, "
        "conflict, payload_too_large, internal_error"
    )
    message: str
    details: Any = None


class ErrorResponse(Response):
    error: ErrorBody


# ------------------------------------------------------------------------------- workflows
WorkflowStatus = Literal["draft", "active", "deprecated"]


class _WorkflowFields(Request):
    """What a new version may be made of (creation and update)."""

    name: str | None = Field(None, min_length=1, max_length=200)
    nl_description: str | None = None
    dsl: str | None = None
    toml: str | None = None
    tags: list[str] | None = None
    states: dict[str, dict[str, Any]] | None = Field(None, description="state bindings, as in a workflow file")
    settings: dict[str, Any] | None = None
    change_note: str = ""


class WorkflowCreate(_WorkflowFields):
    """Exactly one source: ``nl_description`` (translated), ``dsl`` (bare DSL, states are noop unless
    ``states`` binds them) or ``toml`` (a whole workflow file)."""

    description: str = ""
    status: WorkflowStatus = "active"

    @model_validator(mode="after")
    def _one_source(self):
        given = [k for k in ("nl_description", "dsl", "toml") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of nl_description, dsl, toml" + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class WorkflowUpdate(_WorkflowFields):
    """Every field optional; whatever is given replaces the current version's value in a new version."""

    description: str | None = None
    status: WorkflowStatus | None = None


class _WorkflowVersion(Response):
    """What every answer about one workflow version holds."""

    workflow_id: str
    version: int
    versions: int | None = None
    description: str | None = None
    status: str | None = None
    tags: list[str] = []
    owner: str | None = Field(None, description="the user it belongs to (the token's user who created it)")
    created_at: datetime | None = None
    updated_at: datetime | None = None


class WorkflowSummary(_WorkflowVersion):
    name: str | None = None
    latest_version: int | None = None
    change_note: str | None = None


class WorkflowList(Response):
    total: int
    page: int
    page_size: int
    workflows: list[WorkflowSummary]


class StateInfo(Response):
    name: str
    type: str | None = None
    callback_type: str | None = None
    timeout_seconds: float | None = None
    retry_policy: dict | None = None
    description: str | None = None


class WorkflowStatistics(Response):
    total_executions: int = 0
    successful_executions: int | None = None
    failed_executions: int | None = None
    success_rate: float | None = None
    error_rate: float | None = None
    avg_duration_ms: float | None = None


class WorkflowDetail(_WorkflowVersion):
    name: str
    dsl: str
    nl_description: str | None = None
    parsed_definition: dict | None = None
    spec: dict = Field(description="the whole workflow (DSL, bindings, settings)")
    states: list[StateInfo] = []
    statistics: WorkflowStatistics
    optimization_score: int | None = None
    ai_suggestions: Any = None
    warnings: list[dict] = []


class ArchiveResponse(Response):
    message: str
    workflow_id: str
    versions_archived: int


# ------------------------------------------------------------------------------- executions
class ExecutionOptions(Request):
    enable_ai_decisions: bool | None = None
    enable_auto_recovery: bool | None = None
    timeout_seconds: float | None = Field(None, gt=0)
    max_steps: int | None = Field(None, ge=1)
    decision_threshold: int | None = Field(None, ge=0, le=100)
    execution: Literal["auto", "ray", "inline"] = "auto"
    priority: int = Field(
        0, ge=-1000, le=1000, description="queued runs start highest priority first, then in submission order"
    )


def _checked_context(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse contexts a run could not store or compare (too deep, NaN/Infinity, huge integers…)."""
    from engine.context_input import check_context_value

    check_context_value(value, what="initial_context")
    return value


class _StartRequest(Request):
    """What every request starting a run may carry."""

    initial_context: dict[str, Any] = Field(default_factory=dict, description="a JSON object")
    execution_options: ExecutionOptions | None = None

    _context = field_validator("initial_context")(_checked_context)


class ExecuteRequest(_StartRequest):
    version: int | None = Field(None, ge=1, description="default: the current version")


class RunDefinitionRequest(_StartRequest):
    """Run a workflow definition directly (what ``workbench run FILE`` sends): it is saved in the
    library as a new version of the workflow with the same name when it changed."""

    toml: str | None = Field(None, description="a whole workflow file")
    dsl: str | None = Field(None, description="bare DSL (every state noop)")
    name: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_source(self):
        if (self.toml is None) == (self.dsl is None):
            raise ValueError("give exactly one of toml, dsl")
        return self


class ExecutionStarted(Response):
    execution_id: str
    workflow_id: str | None = None
    version: int | None = None
    status: str
    start_time: datetime | None = None
    events_url: str


class ExecutionSummary(Response):
    execution_id: str
    workflow_id: str | None = None
    workflow_name: str | None = None
    version: int | None = None
    status: str
    current_state: str | None = None
    error_count: int | None = None
    retry_count: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration_ms: int | None = None
    error_message: str | None = None
    rerun_of: str | None = None
    rerun_from: str | None = None


class ExecutionDetail(ExecutionSummary):
    """A summary's fields and the run's contexts, path, open requests and decisions."""

    states_visited: list[str] | None = None
    initial_context: Any = None
    final_context: Any = None
    waiting_for: list[dict] | None = None
    open_requests: list[dict] = []
    ai_decisions: list[dict] = []
    recovery_actions: Any = None
    parent_execution_id: str | None = None


class ExecutionList(Response):
    total: int
    executions: list[ExecutionSummary]


class ExecutionHistory(Response):
    execution_id: str
    transitions: list[dict]
    audit_logs: list[dict]
    recovery_actions: list[dict]
    ai_decisions: list[dict]


class CancelResponse(Response):
    message: str
    execution_id: str
    status: str
    final_state: str | None = None


class _AnswerTo(Request):
    """The state a run waits at, and who answers (a token's user replaces ``by``)."""

    state: str = Field(min_length=1)
    by: str = "api"


class ApproveRequest(_AnswerTo):
    approved: bool


class AnswerRequest(_AnswerTo):
    value: Literal["yes", "no", "true", "false", "retry", "skip", "abort", "continue"]


class AnswerResponse(Response):
    execution_id: str
    state: str
    answer: str
    delivered: str = Field(description="live (to the run driven here), resumed (the run continues here) or stored")


class ResumeRequest(Request):
    execution_options: ExecutionOptions | None = None


class RerunRequest(ResumeRequest):
    from_state: str = Field(min_length=1)


# ------------------------------------------------------------------------------- AI features
class TranslateRequest(Request):
    nl_description: str = Field(min_length=1)
    context: dict[str, Any] | None = Field(None, description="hints such as domain and style (informational)")


class TranslateResponse(Response):
    dsl: str
    nl_explanation: str | None = None
    suggested_improvements: list[str] = []
    bindings: dict[str, dict] = {}
    valid: bool
    errors: list[dict] = []
    warnings: list[str | dict] = []
    provider: str | None = None
    proposals: dict[str, list[dict]] = {}  # [[schedules]] / [[triggers]] / [notifications] entries (issue 16)


class OptimizeResponse(Response):
    workflow_id: str
    workflow_name: str | None = None
    version: int
    current_optimization_score: int | None = None
    potential_score: int | None = None
    suggested_optimizations: list[dict] = []
    runs: dict = {}
    score_components: dict = {}
    score_formula: str | None = None
    not_suggested: list[dict] = []
    narrative: str | None = None
    narrative_source: str | None = None
    notes: list[str] = []
    parallel_slots: int | None = None


class AnalyticsResponse(Response):
    workflow_id: str | None = Field(None, description="set for one workflow's report")
    workflow: str | None = None
    workflow_ids: list[str] | None = None
    version: int | None = None
    time_range: dict
    granularity: str
    statistics: dict
    error_analysis: dict
    state_performance: list[dict]
    timeline: list[dict] = []
    ai_decisions: dict = {}
    llm: dict = {}
    ai_insights: list[str] = []
    workflows: list[dict] | None = None


# ------------------------------------------------------------------------------- health
class QueueStatus(Response):
    queued: int = Field(description="runs waiting for a slot in this service")
    running: int = Field(description="runs holding a slot (runs waiting for a person hold none)")
    max_runs: int | None = Field(None, description="the service's limit (--max-runs / WORKBENCH_MAX_RUNS)")
    max_observed: int = Field(description="most runs that held a slot at once since the service started")


class Health(Response):
    status: Literal["ok"]
    store_id: str | None = Field(None, description="identity of the store this service records into (a hash)")


class Readiness(Response):
    ready: bool
    checks: dict[str, dict]
