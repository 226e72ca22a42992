"""Workflow graphs with streamlit-agraph: hierarchical top-down, distinct looks per node kind,
conditions as edge labels, parallel branches outlined, and colors by run status.

The layout is ours, vis-network only places nodes along their level: ``layout_levels`` (longest
path from start once loop edges are set aside), ``display_graph`` (one join marker per set of
joined branches so a fan-in's condition is written once; each condition in a small box on its
arrow, next to the state it leaves; waypoints on long arrows so nothing is drawn behind a node) and
``order_levels`` (few crossings). ``graph_elements`` turns that into vis-network dicts (plain
Python, tested without a browser); ``render_graph`` draws it in a canvas sized by ``graph_height``.
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


AUX_PREFIX = "#"  # ids of drawing helpers (join markers, waypoints); '#' starts a comment in the DSL
NODE_FONT = 15
CHAR_W = 8.2  # average px per character at NODE_FONT (for sizing only)
EDGE_LABEL_WIDTH = 22  # characters per line of an edge label


def is_aux(node_id: str | None) -> bool:
    """True for the drawing helpers that are not workflow states (join markers, waypoints)."""
    return bool(node_id) and str(node_id).startswith(AUX_PREFIX)


def layout_levels(
    node_ids: list[str], edges: list[tuple[str, str]], root: str = "start"
) -> tuple[dict[str, int], set[int]]:
    """Levels for a top-down drawing and the indices of the back edges.

    Back edges (loops such as ``a->a``, retries back to an earlier state) are the edges closing a
    cycle in a depth-first walk from ``root`` (then from anything it does not reach); without them
    the graph is a DAG and each node's level is its longest path from the root.
    """
    adj: dict[str, list[tuple[int, str]]] = {n: [] for n in node_ids}
    for i, (a, b) in enumerate(edges):
        adj.setdefault(a, []).append((i, b))
        adj.setdefault(b, [])
    seen: dict[str, int] = {}  # 0 on the current path, 1 finished
    post: list[str] = []
    back: set[int] = set()
    roots = ([root] if root in adj else []) + [n for n in adj if n != root]
    for r in roots:
        if r in seen:
            continue
        seen[r] = 0
        stack = [(r, iter(adj[r]))]
        while stack:
            n, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                seen[n] = 1
                post.append(n)
                stack.pop()
                continue
            i, b = nxt
            if b not in seen:
                seen[b] = 0
                stack.append((b, iter(adj[b])))
            elif seen[b] == 0:
                back.add(i)
    level = {n: 0 for n in adj}
    for n in reversed(post):  # a topological order of the DAG without back edges
        for i, b in adj[n]:
            if i not in back:
                level[b] = max(level[b], level[n] + 1)
    if "end" in level and len(level) > 1:  # the end sits below everything
        level["end"] = max(level["end"], max(v for k, v in level.items() if k != "end") + 1)
    return level, back


def wrap_label(text: str, width: int = EDGE_LABEL_WIDTH) -> str:
    """Break a long condition over lines (at spaces, else before a comparison operator)."""
    import re
    import textwrap

    if len(text) <= width:
        return text
    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    out = []
    for line in lines:
        m = re.search(r"(==|!=|<=|>=|<|>)", line) if len(line) > width else None
        out.extend([line[: m.start()], line[m.start() :]] if m and m.start() > 0 else [line])
    return "\n".join(out)


def display_graph(graph: dict) -> dict:
    """What is drawn for a ``to_graph`` graph: plain nodes/edges plus drawing helpers.

    * A fan-in with a condition, or several fan-ins from the same branches, goes through one small
      join marker ("all 3 done"), so each condition is written once, on the marker's arrow.
    * Edges spanning several levels pass through waypoints (one per level), so the layout keeps a
      free lane for them and their label sits next to the source instead of behind another node.
    * Each node has a ``level`` (``layout_levels``); each edge knows the real states it connects
      (``srcs``/``dsts``, for run colours) and whether it closes a loop (``back``).
    """
    nodes = [dict(n) for n in graph["nodes"]]
    real = {n["id"] for n in nodes}
    segs: list[dict] = []
    # fan-ins grouped by their branch set
    fan_in: dict[frozenset, list[list[dict]]] = {}
    by_t: dict[tuple, list[dict]] = {}
    for e in graph["edges"]:
        if e["kind"] == "fan_in":
            by_t.setdefault((e.get("transition"), e["to"]), []).append(e)
    for es in by_t.values():
        srcs = frozenset(e["from"] for e in es)
        if len(srcs) > 1:
            fan_in.setdefault(srcs, []).append(es)
    marked: dict[tuple, str] = {}
    for srcs, groups in fan_in.items():
        if len(groups) == 1 and not groups[0][0].get("label"):
            continue  # a plain join: the arrows meet at the join step itself
        order = [e["from"] for e in groups[0]]
        mid = f"{AUX_PREFIX}join{groups[0][0].get('transition')}"
        targets = [es[0]["to"] for es in groups]
        nodes.append(
            {
                "id": mid,
                "label": f"all {len(order)} done",
                "kind": "join_marker",
                "group": None,
                "waits_for": order,
                "targets": targets,
            }
        )
        for s in order:
            segs.append(
                {"from": s, "to": mid, "kind": "fan_in", "label": "", "srcs": [s], "dsts": targets, "arrow": False}
            )
        for es in groups:
            e = es[0]
            segs.append(
                {
                    "from": mid,
                    "to": e["to"],
                    "kind": "fan_in",
                    "label": e.get("label") or "",
                    "srcs": order,
                    "dsts": [e["to"]],
                    "arrow": True,
                    "transition": e.get("transition"),
                }
            )
            for x in es:
                marked[(x.get("transition"), x["from"], x["to"])] = mid
    for e in graph["edges"]:
        if (e.get("transition"), e["from"], e["to"]) in marked:
            continue
        segs.append(
            {
                "from": e["from"],
                "to": e["to"],
                "kind": e["kind"],
                "label": e.get("label") or "",
                "srcs": [e["from"]],
                "dsts": [e["to"]],
                "arrow": True,
                "transition": e.get("transition"),
            }
        )
    ids = [n["id"] for n in nodes]
    _, back = layout_levels(ids, [(x["from"], x["to"]) for x in segs])
    # stations of each edge: from, [its condition box], to. A node whose arrows carry conditions gets
    # a box on each outgoing arrow ("otherwise" on the default one) so its targets line up; an
    # @error arrow gets an "on error" box of its own.
    for x in segs:
        if x["kind"] == "error":
            x["label"] = "on error"
    labelled = {
        x["from"]
        for i, x in enumerate(segs)
        if x["label"] and x["kind"] != "error" and i not in back and x["from"] != x["to"]
    }
    for i, x in enumerate(segs):
        x["back"] = i in back
        x["stations"] = [x["from"], x["to"]]
        if not x["back"] and x["from"] != x["to"] and (x["from"] in labelled or x["kind"] == "error"):
            if not x["label"]:
                x["label"] = "otherwise"
            c = f"{AUX_PREFIX}cond{i}"
            nodes.append({"id": c, "label": x["label"], "kind": "condition", "group": None, "edge_kind": x["kind"]})
            x["stations"] = [x["from"], c, x["to"]]
    fwd = [(st[k], st[k + 1]) for x in segs if not x["back"] for st in [x["stations"]] for k in range(len(st) - 1)]
    level, _ = layout_levels([n["id"] for n in nodes], fwd)
    for i, x in enumerate(segs):  # a condition on a loop back up sits just above where the loop leaves
        a, b = x["from"], x["to"]
        if x["back"] and x["label"] and a != b and level[a] - level[b] >= 2:
            c = f"{AUX_PREFIX}cond{i}"
            nodes.append({"id": c, "label": x["label"], "kind": "condition", "group": None, "edge_kind": x["kind"]})
            level[c] = level[a] - 1
            x["stations"] = [a, c, b]
    edges: list[dict] = []
    for i, x in enumerate(segs):
        chain = [x["stations"][0]]
        for nxt in x["stations"][1:]:
            cur = chain[-1]
            span = level[nxt] - level[cur]
            steps = (
                range(level[cur] + 1, level[nxt])
                if span > 1
                else range(level[cur] - 1, level[nxt], -1)
                if span < -1
                else ()
            )
            for lv in steps:  # waypoints keep a lane free for long arrows
                w = f"{AUX_PREFIX}via{i}.{len(chain)}"
                nodes.append({"id": w, "label": "", "kind": "waypoint", "group": None})
                level[w] = lv
                chain.append(w)
            chain.append(nxt)
        plain_label = x["label"] if len(x["stations"]) == 2 else ""  # else it is in its box
        for k in range(len(chain) - 1):
            part = dict(x, **{"from": chain[k], "to": chain[k + 1]})
            part["label"] = plain_label if k == 0 else ""
            part["arrow"] = x["arrow"] and k == len(chain) - 2
            part["direct_loop"] = x["back"] and len(chain) == 2  # bowed; through waypoints it is drawn like the rest
            part.pop("stations", None)
            edges.append(part)
    for n in nodes:
        n["level"] = level[n["id"]]
        n["real"] = n["id"] in real
    return {"nodes": nodes, "edges": edges, "levels": max(level.values()) + 1 if level else 1}


def _crossings(layers: list[list[str]], pos: dict[str, int], links: list[tuple[str, str]]) -> int:
    by_level: dict[int, list[tuple[int, int]]] = {}
    lvl = {n: i for i, layer in enumerate(layers) for n in layer}
    for a, b in links:
        if lvl[a] + 1 == lvl[b]:
            by_level.setdefault(lvl[a], []).append((pos[a], pos[b]))
    total = 0
    for pairs in by_level.values():
        for i in range(len(pairs)):
            for j in range(i + 1, len(pairs)):
                (a1, b1), (a2, b2) = pairs[i], pairs[j]
                total += (a1 - a2) * (b1 - b2) < 0
    return total


def order_levels(dg: dict, sweeps: int = 12) -> dict[str, int]:
    """Left-to-right position of each node within its level, with few crossing arrows.

    The classic barycenter heuristic (Sugiyama): sweep down and up, sorting each level by the mean
    position of its neighbours on the level before; keep the order with the fewest crossings.
    vis-network keeps this order (it sorts each level by the x we pass).
    """
    nlev = dg["levels"]
    layers: list[list[str]] = [[] for _ in range(nlev)]
    for n in dg["nodes"]:  # input order: states in DSL order, helpers after
        layers[n["level"]].append(n["id"])
    lvl = {n["id"]: n["level"] for n in dg["nodes"]}
    links = []
    for e in dg["edges"]:
        a, b = e["from"], e["to"]
        if abs(lvl[a] - lvl[b]) == 1:
            links.append((a, b) if lvl[a] < lvl[b] else (b, a))
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    for a, b in links:
        down.setdefault(a, []).append(b)
        up.setdefault(b, []).append(a)

    def positions():
        return {n: i for layer in layers for i, n in enumerate(layer)}

    pos = positions()
    best, best_layers = _crossings(layers, pos, links), [list(x) for x in layers]
    for sweep in range(sweeps):
        rng = range(1, nlev) if sweep % 2 == 0 else range(nlev - 2, -1, -1)
        nbrs = up if sweep % 2 == 0 else down
        for li in rng:
            cur = {n: i for i, n in enumerate(layers[li])}

            def key(n, cur=cur):
                ns = nbrs.get(n, [])
                return (sum(pos[m] for m in ns) / len(ns)) if ns else cur[n]

            layers[li].sort(key=lambda n: (key(n), cur[n]))
            pos.update({n: i for i, n in enumerate(layers[li])})
        c = _crossings(layers, pos, links)
        if c < best:
            best, best_layers = c, [list(x) for x in layers]
        if best == 0:
            break
    layers = best_layers
    return {n: i for layer in layers for i, n in enumerate(layer)}


def _sizes(dg: dict, width_hint: int) -> dict:
    """Node width, spacing and level separation so the widest level fits ``width_hint`` if it can."""
    per_level: dict[int, int] = {}
    for n in dg["nodes"]:
        per_level[n["level"]] = per_level.get(n["level"], 0) + 1
    widest = max(per_level.values() or [1])
    node_w = int(max(76, min(140, (width_hint - 40) / widest - 26)))
    lines = 1
    for n in dg["nodes"]:
        if n["kind"] in ("start", "end", "waypoint", "join_marker"):
            continue
        words, cur, k = n["label"].split(), 0, 1
        for w in words:
            ww = (len(w) + 1) * CHAR_W
            if cur and cur + ww > node_w:
                k, cur = k + 1, 0
            cur += ww
        lines = max(lines, k + (1 if n.get("action") else 0))
    node_h = 22 + 19 * lines
    label_chars = max(12, int(node_w / 6.6))
    boxes = [wrap_label(n["label"], label_chars).split("\n") for n in dg["nodes"] if n["kind"] == "condition"]
    box_h = max((len(b) for b in boxes), default=0) * 15 + 8
    box_w = max((len(line) * 6.8 + 16 for b in boxes for line in b), default=0)
    plain = any(e["label"] for e in dg["edges"])  # loop labels drawn on the arrow itself
    return {
        "widest": widest,
        "node_w": node_w,
        "node_spacing": int(max(node_w, box_w) + 26),
        "label_chars": label_chars,
        "level_sep": int(max(80, node_h + 34, box_h + 50, 110 if plain else 0)),
        "node_h": node_h,
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
    sizes = _sizes(dg, width_hint)
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
                    "font": {"color": "#1e293b", "size": 12, "face": "Inter, sans-serif"},
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
                    "font": {"color": fg, "size": 11, "face": "Inter, sans-serif"},
                    "borderWidth": 2,
                    "margin": {"top": 3, "bottom": 3, "left": 8, "right": 8},
                    "shapeProperties": {"borderRadius": 10},
                    "chosen": False,
                }
            )
            continue
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
            "id": n["id"],
            "level": n["level"],
            "x": x,
            "label": label,
            "title": html.escape(" · ".join(tip)),
            "shape": shape,
            "color": {"background": bg, "border": border, "highlight": {"background": bg, "border": "#1d4ed8"}},
            "font": {"color": font, "size": NODE_FONT, "face": "Inter, sans-serif", "multi": False},
            "borderWidth": 2,
            "size": 25,
            "margin": 10,
            "widthConstraint": {"maximum": sizes["node_w"]},
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
                "size": 12,
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
    """vis-network options: top-down hierarchy on the levels we computed, no physics, nothing draggable."""
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
            "zoomView": True,
            "navigationButtons": False,
            "selectConnectedEdges": False,
        },
        "edges": {"arrows": {"to": {"enabled": True, "scaleFactor": 0.7}}},
        "nodes": {"font": {"size": NODE_FONT}},
    }


def graph_height(graph: dict, width_hint: int = 560, minimum: int = 200) -> int:
    """A canvas height for the drawing at the scale vis-network fits it to the column's width.

    No upper cap: a deep workflow gets a tall canvas (the page scrolls) rather than a tiny drawing.
    """
    dg = display_graph(graph)
    s = _sizes(dg, width_hint)
    # vis-network spreads the widest level a little beyond the minimum spacing (measured: 0.75-1.2x,
    # mostly ~1.1x); when it fits the view it leaves 5% free on each side (zoom = canvas / 1.1 range)
    draw_w = ((s["widest"] - 1) * s["node_spacing"] + s["node_w"]) * 1.1
    draw_h = (dg["levels"] - 1) * s["level_sep"] + s["node_h"]
    scale = min(1.0, width_hint / (1.1 * draw_w))
    return int(max(minimum, 1.1 * draw_h * scale + 24))


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
    sizes = _sizes(display_graph(graph), width_hint)
    clicked = agraph(nodes, edges, graph_config(height or graph_height(graph, width_hint), sizes=sizes))
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
