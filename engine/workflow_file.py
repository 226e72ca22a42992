"""Workflow files: a TOML document holding the DSL plus per-state bindings and settings.

```toml
name = "Order processing"
dsl = "start->validate_order; ..."
[states.validate_order]
action = "python"
function = "mypkg.orders:validate_order"
```
A bare ``.dsl`` file is a workflow whose states are all ``noop``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine import task_placement
from engine.automation.notify import NotificationSettings
from engine.automation.specs import ScheduleSpec, TriggerSpec, check_unique_ids
from engine.dsl.model import WorkflowModel
from engine.dsl.validate import check
from engine.errors import Issue, ValidationReport, WorkbenchError
from engine.inputs import InputSpec, check_input_names

ActionName = Literal["python", "sql", "llm", "http", "files", "notify", "email", "approval", "workflow", "wait", "noop"]
RecoveryName = Literal["retry", "skip", "fallback", "compensate", "abort", "escalate"]


class WorkflowFileError(WorkbenchError):
    """The workflow file is unreadable or its bindings are invalid."""


class RetryPolicy(BaseModel):
    """Retry with exponential backoff: wait backoff_s * backoff_factor**(n-1) (+ jitter) before try n+1."""

    model_config = ConfigDict(extra="forbid")
    max_attempts: int = Field(1, ge=1, le=100)
    backoff_s: float = Field(0.5, ge=0, le=3600)
    backoff_factor: float = Field(2.0, ge=1, le=10)
    max_backoff_s: float = Field(30.0, ge=0)
    jitter: float = Field(0.1, ge=0, le=1)

    def delay(self, attempt: int) -> float:
        """Base delay before attempt ``attempt + 1`` (attempt is 1-based), without jitter."""
        return min(self.max_backoff_s, self.backoff_s * self.backoff_factor ** max(0, attempt - 1))


MAX_STATE_TIMEOUT_S = 86_400  # a running state's timeout_s
MAX_APPROVAL_WAIT_S = 30 * 86_400  # an approval's timeout_s: how long it waits for an answer
MAX_WAIT_S = 365 * 86_400  # a wait state's wait_s


# The fields each action reads (engine/actions/*, engine/run/*). Any action also takes the fields of
# _EVERY_ACTION. A field set that its action does not read would be ignored without a word (``prompt`` on
# an approval, whose question is ``message``; ``query`` on a python step): what a person writes (a file,
# the API, the editor) is refused with :func:`refuse_unused_fields`. Records already stored (library
# versions, a run's spec) still load: a resume must never fail on a field that never did anything.
_NOTIFY_FIELDS = frozenset({"channel", "to", "subject", "message", "url", "headers", "allowed_hosts", "into"})
ACTION_FIELDS: dict[str, frozenset[str]] = {
    "python": frozenset({"function", "params"}),
    "sql": frozenset({"query", "files", "into", "output", "params"}),
    "llm": frozenset({"prompt", "system", "into", "output"}),
    "http": frozenset({"url", "method", "body", "headers", "allowed_hosts", "into"}),
    "files": frozenset({"operation", "path", "format", "from_key", "max_rows", "into"}),
    "notify": _NOTIFY_FIELDS,
    "email": _NOTIFY_FIELDS,
    "approval": frozenset({"message"}),
    "workflow": frozenset({"workflow", "params"}),
    "wait": frozenset({"wait_s", "until", "give_up_after_s"}),
    "noop": frozenset(),
}
_EVERY_ACTION = frozenset(
    {"action", "description", "timeout_s", "deadline_s", "retry", "on_error", "compensate", "execution"}
    | {"num_cpus", "num_gpus", "memory", "resources", "node"}
)
_FIELD_HINTS = {  # (action, field) -> what was probably meant
    ("approval", "prompt"): "an approval's question is 'message'",
    ("llm", "message"): "an llm step's instruction is 'prompt'",
    ("notify", "prompt"): "the text sent is 'message'",
    ("email", "prompt"): "the text sent is 'message'",
    ("http", "query"): "an http step's query string goes in 'url'",
    ("python", "into"): "a python function's returned dict is merged into the context",
}


def unused_fields(binding: BaseModel) -> list[str]:
    """The fields set on ``binding`` (to something other than their default) that its action does not read."""
    action = getattr(binding, "action", "noop")
    allowed = ACTION_FIELDS.get(action, frozenset()) | _EVERY_ACTION
    fields = type(binding).model_fields
    return [
        name
        for name in fields
        if name not in allowed and getattr(binding, name) not in (None, fields[name].default, {}, [])
    ]


def unused_field_problems(states: Mapping[str, BaseModel]) -> list[str]:
    """One sentence per state whose binding sets fields its action does not read (say what was meant)."""
    out = []
    for state, b in states.items():
        unused = unused_fields(b)
        if not unused:
            continue
        action = getattr(b, "action", "noop")
        hints = [_FIELD_HINTS[(action, f)] for f in unused if (action, f) in _FIELD_HINTS]
        takes = sorted(ACTION_FIELDS.get(action, ()))
        out.append(
            f"states.{state}: action '{action}' does not use {', '.join(repr(f) for f in unused)}"
            + (f" ({'; '.join(hints)})" if hints else "")
            + (f"; its own fields are {', '.join(takes)}" if takes else "; it has no fields of its own")
        )
    return out


def refuse_unused_fields(states: Mapping[str, BaseModel], source: str = "<workflow>") -> None:
    """Raise :class:`WorkflowFileError` when a binding sets a field its action ignores (see ACTION_FIELDS)."""
    problems = unused_field_problems(states)
    if problems:
        raise WorkflowFileError("\n".join(f"{source}: {p}" for p in problems))


class StateBinding(BaseModel):
    """What a state does when it runs. Unknown keys are refused so typos are caught."""

    model_config = ConfigDict(extra="forbid")
    action: ActionName = "noop"
    description: str = ""
    # python
    function: str | None = None
    # sql
    query: str | None = None
    files: dict[str, str] = Field(default_factory=dict)  # table alias -> CSV/Parquet path
    # sql / llm / http: where the result lands in the context, and its shape
    into: str | None = None
    output: Literal["scalar", "row", "rows", "table", "text", "json"] | None = None
    # llm
    prompt: str | None = None
    system: str | None = None
    # http
    url: str | None = None
    method: Literal["GET", "POST"] = "GET"
    body: dict[str, Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    allowed_hosts: list[str] = Field(default_factory=list)
    # files (read/write CSV/Parquet/JSON inside the allowed data folders; engine/actions/files_action.py)
    operation: Literal["read", "write"] | None = None
    path: str | None = None
    format: Literal["csv", "parquet", "json"] | None = None
    from_key: str | None = None  # write: the context key holding the rows (list of objects)
    max_rows: int | None = Field(None, ge=1, le=10_000_000)
    # notify / email (engine/actions/notify_action.py, email_action.py): the text is `message`
    channel: str | None = None  # notify: slack | webhook | email | a channel of data/notifications.toml
    to: list[str] = Field(default_factory=list)  # email (and notify by e-mail): recipients
    subject: str | None = None
    # approval (and notify / email)
    message: str | None = None
    # workflow
    workflow: str | None = None
    # wait (a durable timer, engine/run/people.py): how long, or until when (an ISO time, or a {key} of the context)
    wait_s: float | None = Field(None, gt=0, le=MAX_WAIT_S)
    until: str | None = None
    # a poll's limit: this long after the run first reached the wait, the wait fails (WaitGaveUp) instead
    give_up_after_s: float | None = Field(None, gt=0, le=MAX_WAIT_S)
    # common
    params: dict[str, Any] = Field(default_factory=dict)
    # a state's time limit (at most 1 day); an approval's: how long it waits for an answer (at most 30 days)
    timeout_s: float | None = Field(None, gt=0, le=MAX_APPROVAL_WAIT_S)
    deadline_s: float | None = Field(None, gt=0)  # SLA of the state: engine/automation/deadlines.py
    retry: RetryPolicy | None = None
    on_error: RecoveryName | None = None
    compensate: str | None = None
    execution: Literal["auto", "ray", "inline"] = "auto"
    # placement on a Ray cluster (engine/task_placement.py): Ray task options; the state then runs on Ray
    num_cpus: float | None = Field(None, ge=0, le=1024)
    num_gpus: float | None = Field(None, ge=0, le=256)
    memory: int | None = None  # bytes; "512MB" / "2GiB" accepted
    resources: dict[str, float] = Field(default_factory=dict)
    node: dict[str, str] = Field(default_factory=dict)  # label selector: {"zone": "in(a,b)"}

    @field_validator("memory", mode="before")
    @classmethod
    def _memory_size(cls, v):
        return task_placement.parse_memory(v)

    @field_validator("resources", mode="before")
    @classmethod
    def _custom_resources(cls, v):
        return task_placement.check_resources(v or {})

    @field_validator("node", mode="before")
    @classmethod
    def _node_selector(cls, v):
        return task_placement.check_label_selector(v or {})

    @model_validator(mode="after")
    def _placement_runs_on_ray(self):
        if self.execution == "inline" and task_placement.requires_ray(self):
            raise ValueError("a state with num_cpus/num_gpus/memory/resources/node runs on Ray: not execution 'inline'")
        return self

    @field_validator("function")
    @classmethod
    def _function_ref(cls, v):
        if v is not None and not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", v):
            raise ValueError("function must look like 'package.module:function_name'")
        return v

    @model_validator(mode="after")
    def _timeout_bounds(self):
        if self.timeout_s and self.timeout_s > MAX_STATE_TIMEOUT_S and self.action != "approval":
            raise ValueError(
                f"timeout_s is at most {MAX_STATE_TIMEOUT_S:,} s (1 day) for a state that runs; "
                "only an approval may wait longer for its answer (up to 30 days)"
            )
        return self

    @model_validator(mode="after")
    def _required_fields(self):
        need = {
            "python": "function",
            "sql": "query",
            "llm": "prompt",
            "http": "url",
            "workflow": "workflow",
            "files": "path",
            "notify": "channel",
            "email": "to",
        }
        field = need.get(self.action)
        if field and not getattr(self, field):
            raise ValueError(f"action '{self.action}' needs '{field}'")
        if self.action in ("notify", "email") and not self.message:
            raise ValueError(f"action '{self.action}' needs 'message'")
        if self.action == "wait":
            if bool(self.wait_s) == bool(self.until):
                raise ValueError(
                    "action 'wait' needs either 'wait_s' (how long: wait_s = 1800 waits 30 minutes) or 'until' "
                    "(when: an ISO time such as '2027-01-31T09:00', or a context key such as '{due_at}'), not both"
                )
            if self.timeout_s:
                raise ValueError("a wait has no timeout_s: its length is wait_s (or until)")
        elif self.wait_s or self.until or self.give_up_after_s:
            raise ValueError("'wait_s', 'until' and 'give_up_after_s' belong to action 'wait'")
        if self.action == "files" and (self.operation or "read") == "write" and not self.from_key:
            raise ValueError("a files write needs 'from_key' (the context key holding the rows to write)")
        return self


DEFAULT_MAX_SUBWORKFLOW_DEPTH = 10


class WorkflowSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_steps: int = Field(1000, ge=1, le=1_000_000)
    timeout_s: float | None = Field(None, gt=0)
    decision_threshold: int = Field(70, ge=0, le=100)
    budget_usd: float | None = Field(None, ge=0)
    ai_decisions: bool = True
    auto_recovery: bool = True
    # how deep sub-workflows may nest below the top-level run (the top-level run's value applies)
    max_subworkflow_depth: int = Field(DEFAULT_MAX_SUBWORKFLOW_DEPTH, ge=1, le=1000)
    # runs of this workflow the service drives at once; more are queued (None: no limit of its own)
    max_concurrent_runs: int | None = Field(None, ge=1, le=100_000)
    # SLA: a run still going past it gets a notification and an audit row (engine/automation/deadlines.py)
    deadline_s: float | None = Field(None, gt=0)


@lru_cache(maxsize=512)
def _checked(dsl: str) -> tuple[WorkflowModel, ValidationReport]:
    return check(dsl)


@lru_cache(maxsize=512)
def _analysis(dsl: str):
    from engine.dsl.validate import analyze

    return analyze(_checked(dsl)[0])


class WorkflowSpec(BaseModel):
    """A workflow definition: metadata, DSL text, state bindings and settings."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field("Untitled workflow", min_length=1, max_length=200)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    dsl: str
    states: dict[str, StateBinding] = Field(default_factory=dict)
    settings: WorkflowSettings = Field(default_factory=WorkflowSettings)
    nl_description: str = ""
    schedules: list[ScheduleSpec] = Field(default_factory=list)  # [[schedules]]: engine/automation
    triggers: list[TriggerSpec] = Field(default_factory=list)  # [[triggers]]: webhook / file
    # [inputs]: typed inputs of a run's initial context (engine/inputs.py), checked by Engine.start
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    notifications: NotificationSettings | None = None  # [notifications]: engine/automation/notify.py
    source_path: str | None = Field(None, exclude=True)

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, v):
        check_input_names(v)
        return v

    @model_validator(mode="after")
    def _automation_ids(self):
        check_unique_ids(self.schedules, self.triggers)
        return self

    @property
    def checked(self) -> tuple[WorkflowModel, ValidationReport]:
        """The parsed model and its validation report (cached per DSL text, so copies never go stale)."""
        return _checked(self.dsl)

    @property
    def analysis(self):
        """Reachability and parallel groups of the DSL (cached per DSL text)."""
        return _analysis(self.dsl)

    @property
    def model(self) -> WorkflowModel:
        """The parsed DSL (raises :class:`DSLError` on syntax errors)."""
        return self.checked[0]

    def binding(self, state: str) -> StateBinding:
        return self.states.get(state) or StateBinding()

    def validate_all(self) -> ValidationReport:
        """DSL validation plus checks of the bindings against the DSL."""
        model, rep = self.checked
        rep = ValidationReport(list(rep.errors), list(rep.warnings))
        names = set(model.states)
        problems: dict[str, tuple[str, str] | None] = {}  # per function: a fan-out of 200 checks it once
        for state, b in self.states.items():
            if state not in names:
                rep.warnings.append(
                    Issue(
                        "warning",
                        "unused_binding",
                        f"[states.{state}] is bound but the DSL has no state '{state}'",
                        hint="rename the table or remove it",
                    )
                )
            if b.action == "python" and b.function:  # code a run may call: only the allowed function folders
                from engine.sandbox import function_problem

                if b.function not in problems:
                    problems[b.function] = function_problem(b.function)
                problem = problems[b.function]
                if problem:
                    (rep.errors if problem[0] == "error" else rep.warnings).append(
                        Issue(
                            problem[0],
                            "function_not_allowed" if problem[0] == "error" else "function_not_found",
                            f"state '{state}': {problem[1]}",
                            hint="see docs/security.md, 'Code that may run'",
                        )
                    )
            if b.action == "workflow" and self.calls_itself(b.workflow):
                rep.warnings.append(
                    Issue(
                        "warning",
                        "recursive_sub_workflow",
                        f"state '{state}' runs this workflow itself (direct recursion): each "
                        "call nests one level deeper and the run fails at settings."
                        f"max_subworkflow_depth ({self.settings.max_subworkflow_depth})",
                        hint="make sure a condition ends the recursion before that depth",
                    )
                )
            if b.compensate and b.compensate not in self.states and b.compensate not in names:
                rep.warnings.append(
                    Issue(
                        "warning",
                        "compensate_unbound",
                        f"state '{state}' compensates with '{b.compensate}', which has no binding",
                        hint=f"add [states.{b.compensate}]",
                    )
                )
        return rep

    def calls_itself(self, workflow_ref: str | None) -> bool:
        """True when a sub-workflow reference (a path relative to this file) names this very file."""
        if not workflow_ref or not self.source_path:
            return False
        here = Path(self.source_path)
        try:
            return (here.parent / workflow_ref).resolve() == here.resolve()
        except OSError:
            return False

    def to_toml(self) -> str:
        """Serialise back to the TOML workflow-file format."""
        data = self.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
        data.pop("source_path", None)
        states = {}
        for k, b in self.states.items():
            states[k] = b.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
        data["states"] = states
        data["settings"] = self.settings.model_dump(mode="json", exclude_defaults=True)
        if not data["settings"]:
            data.pop("settings")
        data["inputs"] = {
            k: {"type": v.type, **v.model_dump(mode="json", exclude_defaults=True)} for k, v in self.inputs.items()
        }
        if not data["inputs"]:
            data.pop("inputs")
        for key in ("schedules", "triggers"):
            if not data.get(key):
                data.pop(key, None)
        if not data.get("nl_description"):
            data.pop("nl_description", None)
        return tomli_w.dumps(data, multiline_strings=True)


def spec_from_dsl(dsl: str, name: str = "Untitled workflow", **kwargs) -> WorkflowSpec:
    return WorkflowSpec(dsl=dsl, name=name, **kwargs)


def _pydantic_message(exc: ValidationError, source: str) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{source}: {where}: {err['msg']}")
    return "\n".join(parts)


def parse_workflow_text(text: str, source: str = "<workflow>", fmt: str | None = None) -> WorkflowSpec:
    """Parse TOML workflow text (or bare DSL when ``fmt == 'dsl'`` or it does not look like TOML)."""
    if fmt is None:
        fmt = "toml" if re.search(r"^\s*dsl\s*=", text, re.M) else "dsl"
    if fmt == "dsl":
        return WorkflowSpec(
            dsl=text, name=Path(source).stem if source not in ("<workflow>", "-") else "Untitled workflow"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorkflowFileError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses per nested array/table
        raise WorkflowFileError(f"{source}: not usable TOML: values are nested too deeply") from None
    except ValueError as exc:  # int(): more than 4,300 digits
        raise WorkflowFileError(f"{source}: not usable TOML: {str(exc).split(';')[0]}") from None
    try:
        spec = WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        raise WorkflowFileError(_pydantic_message(exc, source)) from None
    refuse_unused_fields(spec.states, source)
    spec.source_path = source
    return spec


def load_workflow(path: str | Path) -> WorkflowSpec:
    """Load a ``.toml`` workflow file or a bare ``.dsl`` file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowFileError(f"{path}: no such file") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise WorkflowFileError(f"{path}: cannot read: {exc}") from None
    fmt = "toml" if p.suffix == ".toml" else "dsl" if p.suffix == ".dsl" else None
    spec = parse_workflow_text(text, str(p), fmt)
    spec.source_path = str(p.resolve())
    return spec
