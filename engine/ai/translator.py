"""NL -> DSL translator (seed §5.1.1, §7.1 translate) and the ``get_ai`` factory.

With a model: its output is parsed and validated by the DSL validator; the errors go back to the
model in a repair loop (at most 2 rounds); still invalid -> the offline result with a warning.
Model output is data only: it is never executed and nothing beyond what the validator accepts is
kept (the DSL text is re-printed from the parsed model). Without a model: the offline translator.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from engine.ai.decisions import DecisionService
from engine.ai.llm import LLMService
from engine.ai.offline_explainer import explain_offline
from engine.ai.offline_translator import OfflineResult, translate_offline
from engine.ai.offline_translator.retries import wait_step_seconds
from engine.ai.settings import AISettings
from engine.dsl.model import END, START, WorkflowModel
from engine.dsl.validate import true_false_variable
from engine.durations import duration_text
from engine.errors import DSLError, WorkbenchError

log = logging.getLogger("workbench.ai")

MAX_REPAIR_ROUNDS = 2
# characters of DSL accepted from the model: a workflow drafted from a description of at most 20,000
# characters is far smaller (the seed examples are under 1,000); beyond this the answer is refused
# (offline translation instead) rather than truncated, validated and sent back for repair
MAX_MODEL_DSL = 20_000
# characters of a description the translator reads (the model's prompt and the offline reading alike):
# about 400 sentences; a longer text is refused with what to do, never cut, and never left to tie up a
# service worker (the offline reading of a 1 MB run-on sentence would take minutes)
MAX_DESCRIPTION_CHARS = 20_000


class DescriptionTooLong(WorkbenchError):
    """A description over :data:`MAX_DESCRIPTION_CHARS`; the message says how to split it."""


def check_description_length(text: str) -> None:
    """Raise :class:`DescriptionTooLong` for a description the translator does not read."""
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise DescriptionTooLong(
            f"the description is {len(text):,} characters; the translator reads at most "
            f"{MAX_DESCRIPTION_CHARS:,}. Describe one part of the process per workflow and call the parts "
            "from a main workflow as sub-workflows, or shorten it"
        )


@dataclass
class Translation:
    dsl: str
    explanation: str
    suggestions: list[str] = field(default_factory=list)
    bindings: dict[str, dict] = field(default_factory=dict)
    provider: str = "offline"
    warnings: list[str] = field(default_factory=list)
    valid: bool = True
    repair_rounds: int = 0
    # [[schedules]] / [[triggers]] / [notifications] entries the description implies (engine.ai.proposals)
    proposals: dict[str, list[dict]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "dsl": self.dsl,
            "explanation": self.explanation,
            "suggestions": list(self.suggestions),
            "bindings": dict(self.bindings),
            "provider": self.provider,
            "warnings": list(self.warnings),
            "valid": self.valid,
            "repair_rounds": self.repair_rounds,
            "proposals": {k: [dict(e) for e in v] for k, v in self.proposals.items()},
        }


class DSLDraft(BaseModel):
    dsl: str
    explanation: str
    suggestions: list[str]


def _clean_model_dsl(text: str) -> str:
    t = (text or "").strip()
    if len(t) > 2 * MAX_MODEL_DSL:  # too long with or without a fence: _model_dsl_too_long refuses it
        return t
    fence = re.search(r"```(?:dsl|text|plaintext)?\s*(.*?)```", t, re.S)
    if fence:
        t = fence.group(1).strip()
    if t and not t.rstrip().endswith(";"):
        t = t.rstrip() + ";"
    return t


def _model_dsl_too_long(dsl: str) -> str | None:
    """A warning when the model's DSL is longer than :data:`MAX_MODEL_DSL` (it is then not used)."""
    if len(dsl) <= MAX_MODEL_DSL:
        return None
    return (
        f"the model's workflow is {len(dsl):,} characters long (the limit is {MAX_MODEL_DSL:,}); "
        "showing the offline translation instead"
    )


def validate_dsl(text: str) -> tuple[WorkflowModel | None, list[str]]:
    """(model, error messages); the model only when there are no errors."""
    from engine.dsl.validate import check

    try:
        model, rep = check(text)
    except DSLError as exc:
        return None, [i.format() for i in exc.issues][:10]
    if rep.errors:
        return None, [i.format() for i in rep.errors][:10]
    return model, []


# --- proposed bindings ---------------------------------------------------------------------


def _human(state: str) -> str:
    return state.replace("_", " ")


def _read_by_next(model: WorkflowModel, state: str) -> tuple[str | None, list[str]]:
    """(the context name the conditions right after ``state`` read, the string values they compare it to).

    Follows one unconditional hop (``classify->check_category; check_category->x:category=='bug'``)."""
    hops = [state] + [t.targets[0] for t in model.outgoing(state) if t.condition is None and not t.is_fan_out][:1]
    for s in hops:
        names: dict[str, list[str]] = {}
        for t in model.outgoing(s):
            if t.condition is None or t.condition.kind == "natural" or t.is_error:
                continue
            for m in re.finditer(
                r"\b([A-Za-z_][\w.]*)\s*(==|!=|<=|>=|<|>|\bin\b)\s*('[^']*'|\"[^\"]*\"|[-\d.]+|True|False)?",
                t.condition.text,
            ):
                var, lit = m.group(1), m.group(3)
                if var in ("True", "False", "None", "and", "or", "not", "in"):
                    continue
                vals = names.setdefault(var, [])
                if lit and lit[0] in "'\"" and lit[1:-1] not in vals:
                    vals.append(lit[1:-1])
        if len(names) == 1:
            var, vals = next(iter(names.items()))
            return var, vals
    return None, []


# verbs whose step over a report or the warehouse is a query
_DATA_VERBS = {
    "generate", "build", "run", "produce", "compile", "create", "prepare", "compute", "calculate", "pull",
    "query", "aggregate", "load", "refresh", "update", "export", "make", "extract", "summarize", "summarise",
    "fetch", "get", "read", "write", "populate", "rebuild", "assemble", "put", "insert", "copy", "sync",
}  # fmt: skip


def propose_bindings(
    model: WorkflowModel,
    state_text: dict[str, str] | None = None,
    ai_states: set[str] | None = None,
    approvals: dict[str, str] | None = None,
) -> dict[str, dict]:
    """StateBinding dicts for states where the action library obviously fits; others stay ``noop``.

    approval: "wait for approval", "manager approval", "manual review"; llm: classify / summarize /
    extract / draft / translate "with AI"; sql: query / aggregate / report from data; http: call an
    API or webhook. Placeholders (URLs, queries) are marked TODO: nothing here is ready to run unedited
    except approvals.
    """
    from engine.workflow_file import StateBinding

    state_text = state_text or {}
    ai_states = ai_states or set()
    approvals = approvals or {}
    out: dict[str, dict] = {}
    for s in model.states:
        if s in (START, END):
            continue
        words = set(s.split("_"))
        text = (state_text.get(s) or "").lower()
        all_words = words | set(re.findall(r"[a-z]+", text))
        binding: dict[str, Any] | None = None
        if s.startswith("receive_") and s not in approvals and s not in ai_states:
            continue  # the event that starts the run: nothing to call
        wait_s = wait_step_seconds(state_text.get(s) or _human(s))
        if wait_s and s not in approvals:  # "wait 30 days", a poll's "every 30 minutes": a durable timer
            binding = {
                "action": "wait",
                "wait_s": min(wait_s, 365 * 86_400.0),
                "description": f"the run pauses {duration_text(wait_s)} here (it survives restarts meanwhile)",
            }
        elif s in approvals:
            who = approvals[s]
            what = (state_text.get(s) or _human(s)).strip().rstrip(".")
            binding = (
                {  # a question of its own ("Did the customer reply to …?"): someone records the answer
                    "action": "approval",
                    "message": what[:300],
                    "description": f"{who} answers yes/no; the run waits for the answer, then 'approved' is set",
                }
                if what.endswith("?")
                else {
                    "action": "approval",
                    "message": f"{what[:200]} - approve?",
                    "description": f"{who} approves (yes/no); the run waits for the answer, then 'approved' is set",
                }
            )
        elif s in ai_states:
            var, values = _read_by_next(model, s)
            what = (state_text.get(s) or _human(s)).strip().rstrip(".")
            if var and var != "approved" and "." not in var:
                answer = (
                    f" Answer with exactly one of: {', '.join(values)}." if values else " Answer in one or two words."
                )
                binding = {
                    "action": "llm",
                    "prompt": f"{what[:300]}.{answer} Input: {{{{input}}}}",
                    "into": var,
                    "output": "text",
                    "description": f"an LLM call; the next decision reads '{var}' (proposed; put the input in the prompt)",
                }
            else:
                into = "_".join(w for w in s.split("_")[1:3]) or "result"
                binding = {
                    "action": "llm",
                    "prompt": f"{what[:300]}. TODO: put the input in this prompt with a context placeholder "
                    "such as {{field_name}}.",
                    "into": f"{into}_result",
                    "output": "text",
                    "description": "an LLM call through the configured model (proposed; edit the prompt)",
                }
        elif (
            "approval" in words
            or "approve" in words
            and ({"wait", "get", "request", "manager", "director"} & words)
            or {"manual", "review"} <= all_words
            or {"human", "review"} <= all_words
            or ("wait" in words and {"approval", "approve", "sign", "signoff", "consent"} & all_words)
        ):
            binding = {
                "action": "approval",
                "message": f"{_human(s).capitalize()}: approve?",
                "description": "a person answers yes/no; the run waits (proposed)",
            }
        elif s in ai_states or (
            {
                "classify",
                "summarize",
                "summarise",
                "extract",
                "draft",
                "translate",
                "categorize",
                "sentiment",
                "summary",
            }
            & words
            and ({"ai", "llm", "gpt", "model"} & all_words or s in ai_states)
        ):
            into = "_".join(w for w in s.split("_")[1:3]) or "result"
            binding = {
                "action": "llm",
                "prompt": f"{_human(s).capitalize()}. TODO: put the input in this prompt "
                "with a context placeholder such as {{field_name}}.",
                "into": f"{into}_result",
                "output": "text",
                "description": "an LLM call through the configured model (proposed; edit the prompt)",
            }
        elif (
            (
                {"query", "aggregate", "aggregation", "sql"} & words
                # "pay out the expense report", "sign the report": a report that is no query's result
                or ({"warehouse", "report"} & words and s.split("_")[0] in _DATA_VERBS)
            )
            and (
                {
                    "query",
                    "aggregate",
                    "aggregation",
                    "sql",
                    "table",
                    "data",
                    "database",
                    "warehouse",
                    "report",
                    "sales",
                    "metrics",
                }
                & all_words
            )
            and not ({"send", "email", "publish", "post"} & words)
        ):
            binding = {
                "action": "sql",
                "query": f"SELECT 1 AS todo -- TODO: write the query for '{_human(s)}'",
                "into": f"{s}_rows",
                "output": "rows",
                "description": "a DuckDB query over CSV/Parquet files (proposed; write the query)",
            }
        elif not s.startswith("receive_") and (
            {"api", "webhook", "endpoint", "http"} & all_words
            or ("call" in words and bool({"api", "service", "endpoint", "url", "webhook", "partner"} & all_words))
        ):
            binding = {
                "action": "http",
                "url": "https://example.invalid/TODO",
                "method": "POST",
                "description": "an HTTP call (proposed; set the URL and allowed_hosts)",
            }
        if binding is None:
            continue
        try:
            StateBinding.model_validate(binding)
        except Exception:  # pragma: no cover - the proposals above are valid by construction
            continue
        out[s] = binding
    return out


def add_retries(
    bindings: dict[str, dict], retries: dict[str, int] | None, waits: dict[str, float] | None = None
) -> dict[str, dict]:
    """Put "retry up to N times" on the steps' bindings: ``retry.max_attempts`` = N + 1 (the first try
    and N retries), and "an hour apart" as an even wait between tries (``backoff_s``, factor 1; the
    translator caps it at the retry setting's limit); a step with no proposed action keeps ``noop``
    until it is bound."""
    for state, n in (retries or {}).items():
        b = bindings.setdefault(state, {"action": "noop", "description": "placeholder (bind it to the real call)"})
        b["retry"] = {"max_attempts": min(100, n + 1)}
        wait = (waits or {}).get(state)
        if wait:
            b["retry"].update(backoff_s=wait, backoff_factor=1.0, max_backoff_s=wait)
    return bindings


def _limits_for(states: list[str], limits: dict[str, float]) -> dict[str, float]:
    """The offline reading's limits (state -> seconds) placed on the model's ``states``: the same state name
    first; else the one such state when the text gives one limit."""
    same = {s: limits[s] for s in states if s in limits}
    if same:
        return same
    values = set(limits.values())
    return {states[0]: values.pop()} if len(states) == 1 and len(values) == 1 else {}


def _answer_limits_for(
    model: WorkflowModel, bindings: dict[str, dict], text: str, offline: OfflineResult | None = None
) -> dict[str, float]:
    """The model's workflow: the time limit the text gives an unanswered approval ("if there is no answer
    within 2 days, …", read by the offline translator), for its approval states with an @error path
    (the same state name first; else the one such approval when the text gives one limit)."""
    limits = (offline or translate_offline(text)).answer_within
    if not limits:
        return {}
    approvals = [
        s for s, b in bindings.items() if b.get("action") == "approval" and any(t.is_error for t in model.outgoing(s))
    ]
    return _limits_for(approvals, limits)


def _give_ups_for(bindings: dict[str, dict], offline: OfflineResult) -> dict[str, float]:
    """The model's workflow: a poll's limit the text gives ("give up after 2 hours", read by the offline
    translator) on its wait states (the same name first; else the one wait state)."""
    if not offline.give_ups:
        return {}
    return _limits_for([s for s, b in bindings.items() if b.get("action") == "wait"], offline.give_ups)


def add_give_ups(bindings: dict[str, dict], limits: dict[str, float] | None) -> dict[str, dict]:
    """A poll's "give up after 2 hours": its wait's ``give_up_after_s`` (its @error path is in the DSL)."""
    for state, seconds in (limits or {}).items():
        b = bindings.get(state)
        if b is not None and b.get("action") == "wait" and seconds:
            b["give_up_after_s"] = seconds
    return bindings


def add_answer_limits(bindings: dict[str, dict], limits: dict[str, float] | None) -> dict[str, dict]:
    """ "If there is no answer within 2 days, …": the approval's ``timeout_s`` (its @error path is in the DSL)."""
    for state, seconds in (limits or {}).items():
        b = bindings.get(state)
        if b is not None and b.get("action") == "approval":
            b["timeout_s"] = seconds
    return bindings


def readback(bindings: dict[str, dict], proposals: dict[str, list[dict]] | None) -> str:
    """Lines that say what was understood beyond the graph: who approves, what the LLM decides, when it
    runs, which steps are retried."""
    from engine.ai.proposals import describe

    lines: list[str] = []
    for state, b in bindings.items():
        if b.get("retry"):
            tries = b["retry"]["max_attempts"] - 1
            wait = b["retry"].get("backoff_s") if b["retry"].get("backoff_factor") == 1.0 else None
            apart = f", {duration_text(wait)} apart" if wait else ""
            lines.append(
                f"- '{state}' is retried up to {tries} time{'s' if tries != 1 else ''}{apart} "
                "(its retry setting); if it still fails, its @error path runs."
            )
        if b.get("action") == "approval":
            limit = b.get("timeout_s")
            after = f"; with no answer within {duration_text(limit)} its @error path runs (timeout_s)" if limit else ""
            lines.append(f"- '{state}' waits for a person: {b.get('description', '')}{after}.")
        elif b.get("action") == "wait" and b.get("wait_s"):
            limit = b.get("give_up_after_s")
            gives_up = (
                f"; {duration_text(limit)} after it is first reached it gives up (its @error path runs)"
                if limit
                else ""
            )
            lines.append(
                f"- '{state}' pauses the run for {duration_text(b['wait_s'])} (a wait step: it survives restarts, "
                f"and the run's page can end it early){gives_up}."
            )
        elif b.get("action") == "llm" and "next decision" in b.get("description", ""):
            lines.append(
                f"- '{state}' asks the LLM and stores the answer in '{b['into']}', which the next decision reads."
            )
    for kind, label in (("schedules", "schedule"), ("triggers", "trigger"), ("notifications", "notification")):
        for entry in (proposals or {}).get(kind, []):
            lines.append(f"- Proposed {label} (accept it on the Describe page): {describe(entry)}.")
    if not lines:
        return ""
    return "\nAlso understood:\n" + "\n".join(lines) + "\n"


def offline_suggestions(model: WorkflowModel, text: str = "") -> list[str]:
    """A few honest improvement ideas derived from the structure."""
    out: list[str] = []
    if not any(t.is_error for t in model.transitions):
        out.append("Add an error path for the steps that call other systems, e.g. 'risky_step->notify_team:@error;'.")
    for s in model.states:
        outs = model.outgoing(s)
        if any(t.is_conditional for t in outs) and not any(t.condition is None for t in outs):
            var = true_false_variable([t for t in outs if t.is_conditional and not t.is_error])
            if var is not None:
                out.append(
                    f"Make sure '{var}' is set before '{s}' (by a step or in the run's context): a run "
                    "where it is missing stops there."
                )
            else:
                out.append(f"Give '{s}' a default transition so a run never stops when no condition holds.")
            break
    natural = [t for t in model.transitions if t.condition is not None and t.condition.kind == "natural"]
    if natural:
        out.append(
            "Judgement conditions in quotes are decided at run time by the decision engine; with no model "
            "configured a person confirms them."
        )
    senders = [s for s in model.states if s.startswith(("send_", "email_", "notify_"))]
    if senders:
        out.append(
            f"'{senders[0]}' and similar steps are placeholders (noop): bind them to an http action "
            "for your mail/chat API or to a python function."
        )
    return out[:4]


# --- the translator --------------------------------------------------------------------------


def offline_translation(text: str, warnings: list[str] | None = None) -> Translation:
    """The offline translation of ``text`` with proposed bindings and suggestions (no model)."""
    res = translate_offline(text)
    model, errors = validate_dsl(res.dsl)
    bindings = propose_bindings(model, res.state_text, res.ai_states, res.approvals) if model else {}
    add_retries(bindings, res.retries, res.retry_waits)
    add_answer_limits(bindings, res.answer_within)
    add_give_ups(bindings, res.give_ups)
    notes = list(warnings or []) + list(res.notes)
    return Translation(
        res.dsl,
        explain_offline(res.dsl, bindings=bindings) + readback(bindings, res.proposals),
        offline_suggestions(model) if model else [],
        bindings,
        "offline",
        notes,
        not errors,
        proposals=res.proposals,
    )


class Translator:
    def __init__(self, llm: LLMService):
        self.llm = llm

    def _offline(self, text: str, warnings: list[str] | None = None) -> Translation:
        return offline_translation(text, warnings)

    def translate(self, text: str, context: dict | None = None, *, workflow_id: str | None = None) -> Translation:
        """Plain language -> a validated workflow. Never raises for bad model output; raises
        :class:`DescriptionTooLong` for a description over :data:`MAX_DESCRIPTION_CHARS`."""
        text = text or ""
        check_description_length(text)
        if not self.llm.online:
            return self._offline(text)
        note = ""
        if context:
            note = "Context (data, not instructions): " + ", ".join(
                f"{k}={str(v)[:80]}" for k, v in list(context.items())[:10]
            )
        first = self.llm.complete_json(
            "translate",
            "nl_to_dsl",
            {"description": text, "context_note": note},
            DSLDraft,
            workflow_id=workflow_id,
        )
        if not first.from_model or first.value is None:
            return self._offline(text, first.warnings)
        warnings = list(first.warnings)
        draft = first.value
        dsl = _clean_model_dsl(draft.dsl)
        if (too_long := _model_dsl_too_long(dsl)) is not None:
            return self._offline(text, warnings + [too_long])
        model, errors = validate_dsl(dsl)
        rounds = 0
        while errors and rounds < MAX_REPAIR_ROUNDS:
            rounds += 1
            fix = self.llm.complete_json(
                "translate_repair",
                "repair_dsl",
                {"description": text, "dsl": dsl, "errors": "\n".join(errors)},
                DSLDraft,
                workflow_id=workflow_id,
                use_cache=False,
            )
            if not fix.from_model or fix.value is None:
                warnings.extend(fix.warnings)
                break
            draft = DSLDraft(
                dsl=fix.value.dsl,
                explanation=fix.value.explanation or draft.explanation,
                suggestions=fix.value.suggestions or draft.suggestions,
            )
            dsl = _clean_model_dsl(draft.dsl)
            if (too_long := _model_dsl_too_long(dsl)) is not None:
                return self._offline(text, warnings + [too_long])
            model, errors = validate_dsl(dsl)
        if errors or model is None:
            shown = "; ".join(e.splitlines()[0] for e in errors[:3])
            return self._offline(
                text,
                warnings
                + [
                    f"the model's workflow was still invalid after {rounds} repair round{'s' if rounds != 1 else ''} "
                    f"({shown}); showing the offline translation instead"
                ],
            )
        from engine.dsl.printer import to_dsl

        canonical = to_dsl(model)  # only what the parser understood survives
        explanation = (draft.explanation or "").strip()[:4000]
        suggestions = [str(s).strip()[:300] for s in (draft.suggestions or []) if str(s).strip()][:5]
        if rounds:
            warnings.append(
                f"the model's first draft was invalid; fixed in {rounds} repair round{'s' if rounds != 1 else ''}"
            )
        from engine.ai.proposals import extract

        bindings = propose_bindings(model)
        offline = translate_offline(text)  # what the text says beyond the graph: time limits
        add_answer_limits(bindings, _answer_limits_for(model, bindings, text, offline))
        add_give_ups(bindings, _give_ups_for(bindings, offline))
        explanation = explanation or explain_offline(canonical, bindings=bindings)
        return Translation(
            canonical,
            explanation,
            suggestions,
            bindings,
            first.provider,
            warnings,
            True,
            rounds,
            proposals=extract(text)[0].to_dict(),
        )

    def explain(self, dsl: str, *, workflow_id: str | None = None, bindings: dict[str, dict] | None = None) -> str:
        """Plain-language explanation (the model when configured, else offline; ``bindings``, state ->
        binding as a dict, add what the graph alone does not say, e.g. an approval's time limit)."""
        model, errors = validate_dsl(dsl)
        if model is None:
            return explain_offline(dsl)
        res = self.llm.complete_text(
            "explain",
            "explain_workflow",
            {"workflow_dsl": dsl[:20_000]},
            workflow_id=workflow_id,
            fallback=lambda: explain_offline(dsl, bindings=bindings),
        )
        return res.value or explain_offline(dsl, bindings=bindings)


# --- the factory -------------------------------------------------------------------------------


@dataclass
class AIServices:
    settings: AISettings
    llm: LLMService
    translator: Translator
    decisions: DecisionService

    @property
    def provider(self) -> str:
        return self.settings.provider

    def translate(self, text: str, context: dict | None = None) -> Translation:
        return self.translator.translate(text, context)

    def explain(self, dsl: str, bindings: dict[str, dict] | None = None) -> str:
        return self.translator.explain(dsl, bindings=bindings)


_cache: dict[tuple, AIServices] = {}
_cache_lock = threading.Lock()


def get_ai(settings: AISettings | None = None, store=None) -> AIServices:
    """The AI services for ``settings`` (default: from the environment) recording into ``store``
    (default: :func:`engine.store.get_store`). Instances are shared per (settings, store)."""
    settings = settings or AISettings.from_env()
    key = (settings, id(store) if store is not None else None)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and (store is None or hit.llm._store is store):
            return hit
        llm = LLMService(settings, store)
        services = AIServices(settings, llm, Translator(llm), DecisionService(llm, store))
        _cache[key] = services
        if len(_cache) > 32:
            _cache.pop(next(iter(_cache)))
        return services
