"""Workflow graphs with streamlit-agraph: hierarchical top-down, distinct looks per node kind,
conditions as edge labels, parallel branches outlined, and colors by run status.

``graph_elements`` is plain Python (tested without a browser); ``render_graph`` draws it.
"""
from __future__ import annotations

import html

STATUS_COLORS = {
    "pending": ("#f8fafc", "#94a3b8", "#334155"),
    "running": ("#bfdbfe", "#2563eb", "#1e3a8a"),
    "retrying": ("#fed7aa", "#ea580c", "#7c2d12"),
    "waiting": ("#fde68a", "#d97706", "#78350f"),
    "completed": ("#bbf7d0", "#16a34a", "#14532d"),
    "failed": ("#fecaca", "#dc2626", "#7f1d1d"),
    "skipped": ("#e5e7eb", "#6b7280", "#374151"),
    "cancelled": ("#e5e7eb", "#6b7280", "#374151"),
}
STATUS_LABELS = {
    "pending": "not reached", "running": "running", "retrying": "retrying", "waiting": "waiting for you",
    "completed": "done", "failed": "failed", "skipped": "skipped", "cancelled": "cancelled",
}
KIND_STYLE = {  # background, border, font, shape
    "start": ("#0f172a", "#0f172a", "#ffffff", "ellipse"),
    "end": ("#0f172a", "#0f172a", "#ffffff", "ellipse"),
    "decision": ("#fef3c7", "#d97706", "#78350f", "box"),
    "fork": ("#ede9fe", "#7c3aed", "#3b0764", "box"),
    "join": ("#ede9fe", "#7c3aed", "#3b0764", "box"),
    "state": ("#eff6ff", "#3b82f6", "#0f172a", "box"),
}
EDGE_COLORS = {"normal": "#64748b", "conditional": "#b45309", "error": "#dc2626", "fan_out": "#7c3aed",
               "fan_in": "#7c3aed"}
KIND_HELP = {"start": "start", "end": "end", "decision": "decision (conditions on its arrows)",
             "fork": "starts parallel branches", "join": "joins parallel branches", "state": "step"}


def graph_elements(graph: dict, statuses: dict[str, str] | None = None, selected: str | None = None,
                   bindings: dict | None = None) -> tuple[list[dict], list[dict]]:
    """vis-network nodes and edges (dicts) for a ``to_graph`` graph.

    With ``statuses`` (state -> status) nodes are filled by status; without, by kind.
    """
    nodes, edges = [], []
    for n in graph["nodes"]:
        kind = n["kind"]
        bg, border, font, shape = KIND_STYLE.get(kind, KIND_STYLE["state"])
        status = None
        if statuses is not None and kind not in ("start", "end"):
            status = statuses.get(n["id"], "pending")
            bg, border, font = STATUS_COLORS.get(status, STATUS_COLORS["pending"])
        elif statuses is not None and statuses.get(n["id"]) == "completed":
            bg, border, font = "#14532d", "#14532d", "#ffffff"
        label = n["label"] if kind not in ("start", "end") else n["id"]
        action = ((bindings or {}).get(n["id"]) or {}).get("action") if bindings is not None else None
        if action and action != "noop" and kind not in ("start", "end"):
            label = f"{label}\n‹{action}›"
        tip = [n["id"], KIND_HELP.get(kind, kind)]
        if status:
            tip.append(STATUS_LABELS.get(status, status))
        if action:
            tip.append(f"action: {action}")
        node = {
            "id": n["id"], "label": label, "title": html.escape(" · ".join(tip)), "shape": shape,
            "color": {"background": bg, "border": border,
                      "highlight": {"background": bg, "border": "#1d4ed8"}},
            "font": {"color": font, "size": 15, "face": "Inter, sans-serif", "multi": False},
            "borderWidth": 2, "size": 25, "margin": 10,
            "widthConstraint": {"maximum": 150},
        }
        if kind in ("start", "end"):
            node["font"]["size"] = 13
            node["margin"] = 6
        if kind == "decision":  # a box like the others (labels inside), marked ◆ with a thicker amber frame
            node["label"] = "◆ " + node["label"]
            node["borderWidth"] = 3
            if status is None:
                node["shapeProperties"] = {"borderRadius": 12}
        if kind in ("fork", "join"):
            node["borderWidth"] = 3
        if n.get("group") is not None and kind not in ("fork", "join"):
            node["shapeProperties"] = {"borderDashes": [6, 4]}
        if status in ("running", "retrying", "waiting"):
            node["borderWidth"] = 4
            node["shadow"] = {"enabled": True, "color": border, "size": 12, "x": 0, "y": 0}
        if selected and n["id"] == selected:
            node["borderWidth"] = 5
            node["color"]["border"] = "#1d4ed8"
        nodes.append(node)
    for i, e in enumerate(graph["edges"]):
        color = EDGE_COLORS.get(e["kind"], "#64748b")
        edge = {"id": f"e{i}", "from": e["from"], "to": e["to"], "label": e.get("label") or "",
                "color": {"color": color, "highlight": color}, "arrows": "to",
                "font": {"size": 12, "color": "#334155", "strokeWidth": 4, "strokeColor": "#ffffff",
                         "align": "middle"},
                "width": 2.5 if e["kind"] in ("fan_out", "fan_in") else 1.5,
                "smooth": {"enabled": True, "type": "cubicBezier", "forceDirection": "vertical", "roundness": 0.4}}
        if e["kind"] == "error":
            edge["dashes"] = True
        if statuses is not None:
            a, b = statuses.get(e["from"]), statuses.get(e["to"])
            if a in ("completed", "skipped") and b and b != "pending":
                edge["width"] = 3.5
            else:
                edge["color"] = {"color": "#cbd5e1", "highlight": color}
        edges.append(edge)
    return nodes, edges


def graph_config(height: int = 560, levels: int | None = None) -> dict:
    """vis-network options: top-down hierarchy, no physics, nothing draggable that could confuse."""
    return {
        "height": f"{height}px", "width": "100%", "directed": True,
        "physics": {"enabled": False},
        "layout": {"hierarchical": {"enabled": True, "direction": "UD", "sortMethod": "directed",
                                    "levelSeparation": 80, "nodeSpacing": 150, "treeSpacing": 180,
                                    "blockShifting": True, "edgeMinimization": True,
                                    "parentCentralization": True, "shakeTowards": "roots"}},
        "interaction": {"hover": True, "tooltipDelay": 150, "dragNodes": False, "zoomView": True,
                        "navigationButtons": False, "selectConnectedEdges": False},
        "edges": {"arrows": {"to": {"enabled": True, "scaleFactor": 0.7}}},
        "nodes": {"font": {"size": 15}},
    }


def graph_height(graph: dict, width_hint: int = 560, minimum: int = 240, maximum: int = 780) -> int:
    """A canvas height that fits the drawing once vis-network scales it to the column's width."""
    from collections import deque

    adj: dict[str, list[str]] = {}
    for e in graph["edges"]:
        adj.setdefault(e["from"], []).append(e["to"])
    depth = {"start": 0}
    q = deque(["start"])
    while q:
        s = q.popleft()
        for t in adj.get(s, []):
            if t not in depth:
                depth[t] = depth[s] + 1
                q.append(t)
    for n in graph["nodes"]:
        depth.setdefault(n["id"], max(depth.values()) + 1)
    levels = max(depth.values()) + 1
    widest = max(sum(1 for d in depth.values() if d == lvl) for lvl in range(levels))
    scale = min(1.0, width_hint / (widest * 150 + 60))
    return int(max(minimum, min(maximum, (levels - 1) * 80 * scale + 110)))


def render_graph(graph: dict, statuses: dict[str, str] | None = None, selected: str | None = None,
                 bindings: dict | None = None, height: int | None = None, width_hint: int = 560):
    """Draw the graph; returns the clicked node id (or None)."""
    from app.components.agraph_safe import agraph

    nodes, edges = graph_elements(graph, statuses, selected, bindings)
    return agraph(nodes, edges, graph_config(height or graph_height(graph, width_hint)))


def legend_markdown(with_status: bool) -> str:
    """A one-line legend matching the colors (for st.caption)."""
    if with_status:
        parts = [f"<span style='background:{bg};border:2px solid {bd};border-radius:4px;padding:0 6px;"
                 f"color:{fg}'>{STATUS_LABELS[s]}</span>" for s, (bg, bd, fg) in STATUS_COLORS.items()
                 if s not in ("cancelled", "skipped")]
    else:
        parts = ["<span style='background:#eff6ff;border:2px solid #3b82f6;border-radius:4px;padding:0 6px'>step</span>",
                 "<span style='background:#fef3c7;border:2px solid #d97706;padding:0 6px'>◆ decision</span>",
                 "<span style='background:#ede9fe;border:3px solid #7c3aed;padding:0 6px'>fork / join</span>",
                 "<span style='border:2px dashed #3b82f6;padding:0 6px'>parallel branch</span>",
                 "<span style='color:#dc2626'>- - → on error</span>"]
    return " ".join(parts)
