"""Render a workflow as JSON nodes/edges (for the UI), Mermaid or Graphviz DOT."""

from __future__ import annotations

import json

from engine.dsl.model import END, START, WorkflowModel
from engine.dsl.printer import condition_text
from engine.dsl.validate import analyze


def _node_kind(model: WorkflowModel, state: str, forks: set[str], joins: set[str]) -> str:
    if state == START:
        return "start"
    if state == END:
        return "end"
    if state in forks:
        return "fork"
    if state in joins:
        return "join"
    if any(t.is_conditional for t in model.outgoing(state)):
        return "decision"
    return "state"


def to_graph(model: WorkflowModel) -> dict:
    """``{"nodes": [...], "edges": [...], "groups": [...]}``; each edge has from/to/kind/label."""
    an = analyze(model)
    forks = {g.fork for g in an.groups}
    joins = {model.transitions[g.fan_in_index].targets[0] for g in an.groups if g.fan_in_index is not None}
    group_of: dict[str, int] = {}
    for gi, g in enumerate(an.groups):
        for reach in an.branch_reach[g.fan_out_index]:
            for s in reach:
                if s not in joins and s != END:
                    group_of.setdefault(s, gi)
    nodes = [
        {"id": s, "label": s.replace("_", " "), "kind": _node_kind(model, s, forks, joins), "group": group_of.get(s)}
        for s in model.states
    ]
    edges = []
    for idx, t in enumerate(model.transitions):
        kind = (
            "error"
            if t.is_error
            else (
                "fan_out"
                if t.is_fan_out
                else "fan_in"
                if t.is_fan_in
                else "conditional"
                if t.is_conditional
                else "normal"
            )
        )
        label = condition_text(t.condition) if t.condition is not None else ""
        for s in t.sources:
            for d in t.targets:
                edges.append(
                    {
                        "from": s,
                        "to": d,
                        "kind": kind,
                        "label": label,
                        "transition": idx,
                        "condition": t.condition.text if t.condition else None,
                    }
                )
    groups = [
        {
            "fork": g.fork,
            "branches": list(g.branch_starts),
            "ends": list(g.branch_ends),
            "join": model.transitions[g.fan_in_index].targets[0] if g.fan_in_index is not None else None,
        }
        for g in an.groups
    ]
    return {"nodes": nodes, "edges": edges, "groups": groups}


def to_json(model: WorkflowModel) -> str:
    return json.dumps(to_graph(model), indent=2)


def _mm_label(text: str) -> str:
    return text.replace('"', "#quot;").replace("|", "#124;")


def _mm_id(state: str) -> str:
    # prefixed: 'end', 'graph', 'style', 'class'... are Mermaid keywords and break a flowchart as node ids
    return "s_" + state


def to_mermaid(model: WorkflowModel) -> str:
    """Mermaid flowchart, top-down. Node ids are ``s_<state>``; labels show the state names."""
    g = to_graph(model)
    shapes = {
        "start": ('(["', '"])'),
        "end": ('(["', '"])'),
        "decision": ('{"', '"}'),
        "fork": ('[["', '"]]'),
        "join": ('[["', '"]]'),
        "state": ('["', '"]'),
    }
    lines = ["flowchart TD"]
    for n in g["nodes"]:
        a, b = shapes[n["kind"]]
        lines.append(f"    {_mm_id(n['id'])}{a}{_mm_label(n['label'])}{b}")
    for e in g["edges"]:
        arrow = "-.->" if e["kind"] == "error" else "==>" if e["kind"] in ("fan_out", "fan_in") else "-->"
        label = f'|"{_mm_label(e["label"])}"|' if e["label"] else ""
        lines.append(f"    {_mm_id(e['from'])} {arrow}{label} {_mm_id(e['to'])}")
    return "\n".join(lines) + "\n"


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(model: WorkflowModel) -> str:
    """Graphviz DOT, top-down."""
    g = to_graph(model)
    shapes = {
        "start": "circle",
        "end": "doublecircle",
        "decision": "diamond",
        "fork": "box3d",
        "join": "box3d",
        "state": "box",
    }
    lines = ["digraph workflow {", "  rankdir=TB;", '  node [fontname="Helvetica"];']
    for n in g["nodes"]:
        lines.append(f"  {_dot_str(n['id'])} [label={_dot_str(n['label'])}, shape={shapes[n['kind']]}];")
    for e in g["edges"]:
        attrs = []
        if e["label"]:
            attrs.append(f"label={_dot_str(e['label'])}")
        if e["kind"] == "error":
            attrs.append("style=dashed, color=red")
        elif e["kind"] in ("fan_out", "fan_in"):
            attrs.append("style=bold")
        lines.append(
            f"  {_dot_str(e['from'])} -> {_dot_str(e['to'])}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
