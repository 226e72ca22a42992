"""The workflow graph's layout, in plain Python (no Streamlit, tested without a browser).

``layout_levels``: each state's level, the longest path from start once loop edges are set aside.
``display_graph``: one join marker per set of joined branches (a fan-in's condition written once), each
condition in a small box on its arrow next to the state it leaves, waypoints on long arrows so nothing is
drawn behind a node. ``order_levels``: the order within each level with few crossings.
``fitted_sizes``: node and font sizes so every label stays readable at the fitted zoom.
``app/components/graph_view.py`` turns the result into vis-network elements and draws it.
"""

from __future__ import annotations

AUX_PREFIX = "#"  # ids of drawing helpers (join markers, waypoints); '#' starts a comment in the DSL
NODE_FONT = 15
SMALL_FONT = 14  # condition boxes, join markers, start/end, labels on arrows
MAX_FONT = 2 * NODE_FONT
MIN_LABEL_PX = 14.5  # every label at least this many screen pixels at the default (fitted) zoom
CHAR_W = 8.2  # average px per character at NODE_FONT (for sizing only)
SMALL_CHAR_W = 6.8  # average px per character at 12 px (for sizing only)
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
    final: list[str] = []
    for line in out:  # still too long (payment_success==False): break after '_' or '.' as well
        while len(line) > width:
            cut = max(line.rfind("_", 0, width), line.rfind(".", 0, width))
            if cut <= 0:
                break
            final.append(line[: cut + 1])
            line = line[cut + 1 :]
        final.append(line)
    return "\n".join(final)


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
    for groups in fan_in.values():
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

            def key(n, cur=cur, nbrs=nbrs):
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


def _sizes(dg: dict, width_hint: int, fonts: tuple[int, int] = (NODE_FONT, SMALL_FONT)) -> dict:
    """Node width, spacing and level separation so the widest level fits ``width_hint`` if it can."""
    font, small = fonts
    char_w = CHAR_W * font / NODE_FONT
    small_w = SMALL_CHAR_W * small / 12
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
            ww = (len(w) + 1) * char_w
            if cur and cur + ww > node_w:
                k, cur = k + 1, 0
            cur += ww
        lines = max(lines, k + (1 if n.get("action") else 0))
    node_h = 22 + int(19 * font / NODE_FONT) * lines
    label_chars = max(8, int(node_w / (small_w * 0.97)))
    boxes = [wrap_label(n["label"], label_chars).split("\n") for n in dg["nodes"] if n["kind"] == "condition"]
    box_h = max((len(b) for b in boxes), default=0) * int(small * 1.25) + 8
    box_w = max((len(line) * small_w + 16 for b in boxes for line in b), default=0)
    plain = any(e["label"] for e in dg["edges"])  # loop labels drawn on the arrow itself
    return {
        "widest": widest,
        "node_w": node_w,
        "node_spacing": int(max(node_w, box_w) + 26),
        "label_chars": label_chars,
        "level_sep": int(max(80, node_h + 34, box_h + 50, 110 if plain else 0)),
        "node_h": node_h,
        "font": font,
        "small_font": small,
    }


def _fit_scale(dg: dict, s: dict, width_hint: int) -> float:
    """The zoom vis-network picks when it fits the drawing to a ``width_hint`` wide box (at most 1).

    vis-network spreads the widest level a little beyond the minimum spacing (measured: 0.75-1.2x,
    mostly ~1.1x); when it fits the view it leaves 5% free on each side (zoom = canvas / 1.1 range).
    """
    draw_w = ((s["widest"] - 1) * s["node_spacing"] + s["node_w"]) * 1.1
    return min(1.0, width_hint / (1.1 * draw_w))


def fitted_sizes(dg: dict, width_hint: int) -> dict:
    """``_sizes`` with fonts large enough that every label is >= ``MIN_LABEL_PX`` on screen once the
    drawing is fitted to its box (a wide workflow is drawn smaller, so its fonts are set larger)."""
    import math

    fonts = (NODE_FONT, SMALL_FONT)
    best = s = _sizes(dg, width_hint, fonts)
    best_px = _fit_scale(dg, s, width_hint) * SMALL_FONT
    for _ in range(4):
        # 8% headroom: vis-network's spread of a level varies a little around our estimate
        need = min(MAX_FONT, math.ceil(MIN_LABEL_PX * 1.08 / _fit_scale(dg, s, width_hint)))
        new = (max(NODE_FONT, need), max(SMALL_FONT, need))
        if new == fonts:
            break
        fonts = new
        s = _sizes(dg, width_hint, fonts)
        px = _fit_scale(dg, s, width_hint) * min(fonts)
        if px > best_px + 0.2:  # a wider drawing can cancel a larger font out: keep what helps
            best, best_px = s, px
    best["scale"] = _fit_scale(dg, best, width_hint)
    best["canvas_w"] = None
    if best_px < MIN_LABEL_PX:  # too wide for the column even so: a wider canvas that scrolls sideways
        best = _sizes(dg, width_hint, (NODE_FONT + 1, SMALL_FONT + 2))
        best["canvas_w"] = int(1.1 * 1.1 * ((best["widest"] - 1) * best["node_spacing"] + best["node_w"])) + 8
        best["scale"] = _fit_scale(dg, best, best["canvas_w"])
    return best
