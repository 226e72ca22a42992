"""Comparing versions: a spec's canonical line-oriented text and the unified diff of two versions."""

from __future__ import annotations

import difflib
import json
from typing import Any

from engine.dsl.printer import to_dsl
from engine.errors import DSLError
from engine.store import Store
from engine.workflow_file import WorkflowSpec
from engine.workflow_library.reading import get_workflow


def _value(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def canonical_text(spec: WorkflowSpec) -> list[str]:
    """A stable, line-oriented rendering used for diffs: metadata, canonical DSL, bindings, settings."""
    lines = [f"name: {spec.name}", f"description: {spec.description}", f"tags: {', '.join(spec.tags)}"]
    if spec.nl_description:
        lines.append(f"nl_description: {spec.nl_description}")
    lines += ["", "# DSL"]
    try:
        lines += to_dsl(spec.model).splitlines()
    except DSLError:
        lines += spec.dsl.strip().splitlines()
    lines += ["", "# state bindings"]
    for state in sorted(spec.states):
        lines.append(f"[states.{state}]")
        data = spec.states[state].model_dump(mode="json", exclude_defaults=True, exclude_none=True)
        lines += [f"  {k} = {_value(v)}" for k, v in sorted(data.items())] or ["  (noop)"]
    settings = spec.settings.model_dump(mode="json", exclude_defaults=True)
    if settings:
        lines += ["", "# settings"] + [f"{k} = {_value(v)}" for k, v in sorted(settings.items())]
    if spec.inputs:  # typed inputs are part of the version (engine/inputs.py)
        lines += ["", "# inputs"]
        for name, spec_in in spec.inputs.items():
            lines.append(f"[inputs.{name}] {_value(spec_in.model_dump(mode='json', exclude_defaults=True))}")
    for kind in ("schedules", "triggers"):  # automation entries are part of the version (engine/automation)
        entries = [e.model_dump(mode="json", exclude_defaults=True) for e in getattr(spec, kind)]
        if entries:
            lines += ["", f"# {kind}"] + [f"[[{kind}]] {_value(e)}" for e in entries]
    return lines


def diff_versions(store: Store, workflow_id: str, v1: int, v2: int) -> str:
    """Unified diff between two versions (canonical DSL, state bindings, settings, name/description/tags),
    its header naming each version by the workflow's name. Empty string when they are the same."""
    a, _ = get_workflow(store, workflow_id, v1)
    b, _ = get_workflow(store, workflow_id, v2)
    diff = difflib.unified_diff(
        canonical_text(a),
        canonical_text(b),
        fromfile=f"{a.name or workflow_id} v{v1}",
        tofile=f"{b.name or workflow_id} v{v2}",
        lineterm="",
        n=3,
    )
    return "\n".join(diff)
