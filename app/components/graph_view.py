"""Workflow graphs with streamlit-agraph: hierarchical top-down, distinct looks per node kind,
conditions as edge labels, parallel branches outlined, and colors by run status.

The layout is ours (``app/components/graph_layout.py``: levels, join markers, condition boxes,
waypoints, few crossings, readable sizes); vis-network only places nodes along their level.
``graph_elements`` turns the layout into vis-network dicts (plain Python, tested without a browser);
``render_graph`` draws it in a canvas sized by ``graph_height``.
"""

from __future__ import annotations

import html

from app.components.graph_layout import (
    NODE_FONT,
    display_graph,
    fitted_sizes,
    is_aux,
    order_levels,
    wrap_label,
)

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
    "pending": "not reached",
    "running": "running",
    "retrying": "retrying",
    "waiting": "waiting for you",
    "completed": "done",
    "failed": "failed",
    "skipped": "skipped",
    "cancelled": "cancelled",
}
KIND_STYLE = {  # background, border, font, shape
    "start": ("#0f172a", "#0f172a", "#ffffff", "ellipse"),
    "end": ("#0f172a", "#0f172a", "#ffffff", "ellipse"),
    "decision": ("#fef3c7", "#d97706", "#78350f", "box"),
    "fork": ("#ede9fe", "#7c3aed", "#3b0764", "box"),
    "join": ("#ede9fe", "#7c3aed", "#3b0764", "box"),
    "state": ("#eff6ff", "#3b82f6", "#0f172a", "box"),
}
EDGE_COLORS = {
    "normal": "#64748b",
    "conditional": "#b45309",
    "error": "#dc2626",
    "fan_out": "#7c3aed",
    "fan_in": "#7c3aed",
}
KIND_HELP = {
    "start": "start",
    "end": "end",
    "decision": "decision (conditions on its arrows)",
    "fork": "starts parallel branches",
    "join": "joins parallel branches",
    "state": "step",
}


def graph_elements(
    graph: dict,
    statuses: dict[str, str] | None = None,
    selected: str | None = None,
    bindings: dict | None = None,
    width_hint: int = 560,
) -> tuple[list[dict], list[dict]]:
    """vis-network nodes and edges (dicts) for a ``to_graph`` graph, each node with its ``level``.

    With ``statuses`` (state -> status) nodes are filled by status; without, by kind.
    """
    dg = display_graph(graph)
    sizes = fitted_sizes(dg, width_hint)
    font, small = sizes["font"], sizes["small_font"]
    order = order_levels(dg)
    nodes, edges = [], []
    for n in dg["nodes"]:
        kind = n["kind"]
        x = order[n["id"]] * sizes["node_spacing"]  # vis-network keeps this left-to-right order per level
        if kind == "waypoint":
            nodes.append(
                {
                    "id": n["id"],
                    "level": n["level"],
                    "x": x,
                    "shape": "dot",
                    "size": 1,
                    "label": " ",
                    "color": {"background": "rgba(0,0,0,0)", "border": "rgba(0,0,0,0)"},
                    "borderWidth": 0,
                    "chosen": False,
                    "font": {"size": 1},
                }
            )
            continue
        if kind == "condition":
            color = EDGE_COLORS.get(n.get("edge_kind"), "#64748b")
            nodes.append(
                {
                    "id": n["id"],
                    "level": n["level"],
                    "x": x,
                    "label": wrap_label(n["label"], sizes["label_chars"]),
                    "shape": "box",
                    "title": html.escape(f"condition: {n['label']}"),
                    "color": {
                        "background": "#ffffff",
                        "border": color,
                        "highlight": {"background": "#ffffff", "border": color},
                    },
                    "font": {"color": "#1e293b", "size": small, "face": "Inter, sans-serif"},
                    "borderWidth": 1,
                    "margin": {"top": 3, "bottom": 3, "left": 6, "right": 6},
                    "shapeProperties": {"borderRadius": 4},
                    "chosen": False,
                }
            )
            continue
        if kind == "join_marker":
            done = statuses is not None and any(statuses.get(t) not in (None, "pending") for t in n["targets"])
            bg = "#7c3aed" if statuses is None or done else "#f8fafc"
            fg = "#ffffff" if statuses is None or done else "#5b21b6"
            waits = ", ".join(w.replace("_", " ") for w in n["waits_for"])
            nodes.append(
                {
                    "id": n["id"],
                    "level": n["level"],
                    "x": x,
                    "label": n["label"],
                    "shape": "box",
                    "title": html.escape(f"waits until all parallel branches are done: {waits}"),
                    "color": {
                        "background": bg,
                        "border": "#7c3aed",
                        "highlight": {"background": bg, "border": "#7c3aed"},
                    },
                    "font": {"color": fg, "size": small, "face": "Inter, sans-serif"},
                    "borderWidth": 2,
                    "margin": {"top": 3, "bottom": 3, "left": 8, "right": 8},
                    "shapeProperties": {"borderRadius": 10},
                    "chosen": False,
                }
            )
            continue
        bg, border, font_color, shape = KIND_STYLE.get(kind, KIND_STYLE["state"])
        status = None
        if statuses is not None and kind not in ("start", "end"):
            status = statuses.get(n["id"], "pending")
            bg, border, font_color = STATUS_COLORS.get(status, STATUS_COLORS["pending"])
        elif statuses is not None and statuses.get(n["id"]) == "completed":
            bg, border, font_color = "#14532d", "#14532d", "#ffffff"
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
            "id": n["id"],
            "level": n["level"],
            "x": x,
            "label": label,
            "title": html.escape(" · ".join(tip)),
            "shape": shape,
            "color": {"background": bg, "border": border, "highlight": {"background": bg, "border": "#1d4ed8"}},
            "font": {"color": font_color, "size": font, "face": "Inter, sans-serif", "multi": False},
            "borderWidth": 2,
            "size": 25,
            "margin": 10,
            "widthConstraint": {"maximum": sizes["node_w"]},
        }
        if kind in ("start", "end"):
            node["font"]["size"] = small
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
    for i, e in enumerate(dg["edges"]):
        color = EDGE_COLORS.get(e["kind"], "#64748b")
        edge = {
            "id": f"e{i}",
            "from": e["from"],
            "to": e["to"],
            "label": wrap_label(e["label"], sizes["label_chars"]) if e["label"] else "",
            "color": {"color": color, "highlight": color},
            "arrows": {"to": {"enabled": bool(e["arrow"]), "scaleFactor": 0.7}},
            "font": {
                "size": small,
                "color": "#1e293b",
                "strokeWidth": 0,
                "background": "#ffffff",
                "align": "horizontal",
                "face": "Inter, sans-serif",
            },
            "width": 2.5 if e["kind"] in ("fan_out", "fan_in") else 1.5,
            "smooth": {"enabled": True, "type": "cubicBezier", "forceDirection": "vertical", "roundness": 0.4},
        }
        if e["direct_loop"]:  # a short loop back up: bowed to the side so it does not lie on the way down
            edge["smooth"] = {"enabled": True, "type": "curvedCW", "roundness": 0.35}
        if e["from"] == e["to"]:
            edge["selfReference"] = {"size": 18, "angle": 0.8, "renderBehindTheNode": True}
        if e["kind"] == "error":
            edge["dashes"] = True
        if statuses is not None:
            done = all(statuses.get(s) in ("completed", "skipped") for s in e["srcs"])
            reached = any(statuses.get(d) not in (None, "pending") for d in e["dsts"])
            if done and reached:
                edge["width"] = 3.5
            else:
                edge["color"] = {"color": "#cbd5e1", "highlight": color}
        edges.append(edge)
    return nodes, edges


def graph_config(height: int = 560, levels: int | None = None, sizes: dict | None = None) -> dict:
    """vis-network options: top-down hierarchy on the levels we computed, no physics, nothing draggable.

    The mouse wheel is left to the page (``zoomView`` off: vis-network then does not swallow wheel
    events, so the page scrolls over the graph); zooming is done with the Fit / Zoom in / Zoom out
    buttons that ``agraph_safe`` draws over the canvas, and dragging the background pans the view.
    """
    sizes = sizes or {"node_spacing": 160, "level_sep": 100}
    return {
        "height": f"{height}px",
        "width": "100%",
        "directed": True,
        "physics": {"enabled": False},
        "layout": {
            "hierarchical": {
                "enabled": True,
                "direction": "UD",
                "sortMethod": "directed",
                "levelSeparation": sizes["level_sep"],
                "nodeSpacing": sizes["node_spacing"],
                "treeSpacing": sizes["node_spacing"] + 20,
                "blockShifting": True,
                "edgeMinimization": True,
                "parentCentralization": True,
                "shakeTowards": "roots",
            }
        },
        "interaction": {
            "hover": True,
            "tooltipDelay": 150,
            "dragNodes": False,
            "zoomView": False,
            "dragView": True,
            "keyboard": {"enabled": False},
            "navigationButtons": False,
            "selectConnectedEdges": False,
        },
        "edges": {"arrows": {"to": {"enabled": True, "scaleFactor": 0.7}}},
        "nodes": {"font": {"size": (sizes or {}).get("font", NODE_FONT)}},
    }


def graph_height(graph: dict, width_hint: int = 560, minimum: int = 200) -> int:
    """A canvas height for the drawing at the scale vis-network fits it to the column's width.

    No upper cap: a deep workflow gets a tall canvas (the page scrolls) rather than a tiny drawing.
    """
    dg = display_graph(graph)
    s = fitted_sizes(dg, width_hint)
    draw_h = (dg["levels"] - 1) * s["level_sep"] + s["node_h"]
    return int(max(minimum, 1.1 * draw_h * s["scale"] + 24))


def render_graph(
    graph: dict,
    statuses: dict[str, str] | None = None,
    selected: str | None = None,
    bindings: dict | None = None,
    height: int | None = None,
    width_hint: int = 560,
):
    """Draw the graph; returns the clicked state id (or None; clicks on drawing helpers are ignored)."""
    from app.components.agraph_safe import agraph

    nodes, edges = graph_elements(graph, statuses, selected, bindings, width_hint=width_hint)
    sizes = fitted_sizes(display_graph(graph), width_hint)
    config = graph_config(height or graph_height(graph, width_hint), sizes=sizes)
    if sizes.get("canvas_w"):
        config["width"] = f"{sizes['canvas_w']}px"
    clicked = agraph(nodes, edges, config)
    if sizes.get("canvas_w") and sizes["canvas_w"] > width_hint:
        import streamlit as st

        st.caption(
            f":material/swap_horiz: This graph is wider than its column ({sizes['canvas_w']} px, labels kept "
            "readable): scroll sideways to see the whole graph (or drag its background), or press ⤢ Fit "
            "to see every branch at once, smaller."
        )
    return None if is_aux(clicked) else clicked


def legend_markdown(with_status: bool) -> str:
    """A one-line legend matching the colors (for st.caption)."""
    if with_status:
        parts = [
            f"<span style='background:{bg};border:2px solid {bd};border-radius:4px;padding:0 6px;"
            f"color:{fg}'>{STATUS_LABELS[s]}</span>"
            for s, (bg, bd, fg) in STATUS_COLORS.items()
            if s not in ("cancelled", "skipped")
        ]
    else:
        parts = [
            "<span style='background:#eff6ff;border:2px solid #3b82f6;border-radius:4px;padding:0 6px'>step</span>",
            "<span style='background:#fef3c7;border:2px solid #d97706;padding:0 6px'>◆ decision</span>",
            "<span style='background:#ede9fe;border:3px solid #7c3aed;padding:0 6px'>fork / join</span>",
            "<span style='border:2px dashed #3b82f6;padding:0 6px'>parallel branch</span>",
            "<span style='background:#7c3aed;color:#fff;border-radius:8px;padding:0 6px'>all 3 done</span>"
            " waits for every branch",
            "<span style='border:1px solid #b45309;border-radius:4px;padding:0 4px'>x==1</span> condition",
            "<span style='color:#dc2626'>- - → on error</span>",
        ]
    return " ".join(parts)
