"""The AI layer as the app uses it: settings with the key from secrets, translation of plain language
into DSL with checked bindings, explanations, today's spend."""

from __future__ import annotations

import os
from typing import Any

from engine import records
from engine.errors import WorkbenchError
from engine.workbench.common import ServiceError
from engine.workbench.drafts import check_dsl
from engine.workflow_file import StateBinding, WorkflowSpec


def _ai(settings=None, store=None):
    from engine.ai import get_ai  # the AI layer's factory

    return get_ai(settings=settings, store=store)


def ai_settings(base_url: str | None = None, model: str | None = None, secrets: dict | None = None, **overrides):
    """AISettings from the environment, with the key from ``secrets`` when the environment has none.

    The key is held in a Secret and never returned by this module.
    """
    from engine.ai.settings import AISettings

    env = dict(os.environ)
    if not env.get("OPENAI_API_KEY") and secrets and secrets.get("OPENAI_API_KEY"):
        env["OPENAI_API_KEY"] = str(secrets["OPENAI_API_KEY"])
    if not env.get("OPENAI_BASE_URL") and secrets and secrets.get("OPENAI_BASE_URL"):
        env["OPENAI_BASE_URL"] = str(secrets["OPENAI_BASE_URL"])
    if base_url is not None:
        env["OPENAI_BASE_URL"] = base_url.strip()
    if model:
        env["WORKBENCH_LLM_MODEL"] = model.strip()
    return AISettings.from_env(env, **overrides)


def key_source(secrets: dict | None = None) -> str:
    """Where the API key comes from (never the key itself)."""
    if os.environ.get("OPENAI_API_KEY"):
        return "environment (OPENAI_API_KEY)"
    if secrets and secrets.get("OPENAI_API_KEY"):
        return ".streamlit/secrets.toml"
    return "not set"


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def translate(text: str, settings=None, store=None) -> dict:
    """Plain language -> {dsl, explanation, suggestions, bindings, provider, warnings, valid, check}."""
    if not (text or "").strip():
        raise ServiceError(
            "describe the workflow first, e.g. 'validate the order, then check stock; "
            "if everything is available reserve it, otherwise notify the customer'"
        )
    res = _ai(settings, store).translator.translate(text)
    out = {k: _get(res, k) for k in ("dsl", "explanation", "suggestions", "bindings", "provider", "warnings", "valid")}
    out["proposals"] = _get(res, "proposals") or {}  # [[schedules]] / [[triggers]] / [notifications] (issue 16)
    out["suggestions"] = [
        s if isinstance(s, str) else str(_get(s, "text") or _get(s, "title") or s)
        for s in (out.get("suggestions") or [])
    ]
    out["warnings"] = [str(w) for w in (out.get("warnings") or [])]
    out["bindings"] = _bindings_dict(out.get("bindings"))
    chk = check_dsl(out.get("dsl") or "")
    out["valid"] = chk.ok
    out["check"] = chk
    if not out.get("explanation") and chk.ok:
        out["explanation"] = explain(out["dsl"], settings=settings, store=store)
    return out


def _bindings_dict(raw: Any) -> dict[str, dict]:
    if not raw:
        return {}
    out = {}
    items = raw.items() if isinstance(raw, dict) else ((_get(b, "state"), b) for b in raw)
    for state, b in items:
        if not state:
            continue
        if isinstance(b, StateBinding):
            out[state] = b.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
        elif hasattr(b, "model_dump"):
            out[state] = b.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
        elif isinstance(b, dict):
            out[state] = {k: v for k, v in b.items() if k != "state"}
    return out


def explain(dsl: str, settings=None, store=None, bindings: dict[str, dict] | None = None) -> str:
    """A plain-language explanation of a valid workflow ('' when the AI layer cannot explain it);
    ``bindings`` (state -> binding as a dict) add what the graph alone does not say."""
    try:
        ai = _ai(settings, store)
    except ImportError:
        return ""
    fn = getattr(ai, "explain", None) or getattr(getattr(ai, "explainer", None), "explain", None)
    if fn is None:
        return ""
    try:
        res = fn(dsl, bindings=bindings) if bindings else fn(dsl)
    except WorkbenchError:
        return ""
    if isinstance(res, str):
        return res
    return str(_get(res, "text") or _get(res, "explanation") or "")


def spec_from_translation(
    tr: dict,
    name: str,
    description: str = "",
    tags: list[str] | None = None,
    nl_description: str = "",
    base: WorkflowSpec | None = None,
) -> WorkflowSpec:
    """A WorkflowSpec from a translation; proposed bindings that do not validate are dropped.

    ``base``: the spec the draft came from (a template): everything the draft does not show — its
    ``[settings]``, its other fields — is kept from it."""
    states: dict[str, StateBinding] = {}
    for state, b in (tr.get("bindings") or {}).items():
        try:
            states[state] = StateBinding.model_validate(b)
        except Exception:
            continue
    fields = {
        "name": name.strip() or "Untitled workflow",
        "description": description,
        "tags": tags or [],
        "dsl": tr["dsl"],
        "states": states,
        "nl_description": nl_description or (base.nl_description if base is not None else ""),
    }
    if base is not None:
        spec = base.model_copy(update=fields)
        return WorkflowSpec.model_validate(spec.model_dump(mode="json"))  # validated like a new spec
    return WorkflowSpec(**fields)


def llm_spend(settings=None, store=None) -> dict:
    """Spend today (all workflows) from llm_calls; {} when unknown."""
    try:
        return records.llm_spend_today(store)
    except Exception:
        return {}


def template_base(source: dict | None) -> WorkflowSpec | None:
    """The template spec a Describe draft started from (``desc.source``), None for a translation."""
    if not source or source.get("kind") != "template":
        return None
    if source.get("spec"):
        return WorkflowSpec.model_validate(source["spec"])
    from engine.workflow_file import load_workflow

    return load_workflow(source["path"]) if source.get("path") else None
