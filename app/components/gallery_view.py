"""The template gallery of the Describe page: one card per template with a preview graph, what it
needs (typed inputs), how it starts (schedules, webhooks, file drops) and what it shows off (parallel
branches, approvals, LLM steps), and a "Use this template" button.

``preview_svg`` draws a small top-down picture of a workflow graph (``engine.dsl.to_graph``) as SVG
text: pure, no Streamlit, so it is tested on its own.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import streamlit as st

from app.components.graph_layout import layout_levels
from app.components.ui import count

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 118, 26, 12, 22, 8
MAX_LABEL = 17
COLORS = {
    "state": ("#eef2ff", "#6366f1"),
    "approval": ("#fef3c7", "#d97706"),
    "llm": ("#f3e8ff", "#9333ea"),
    "wait": ("#e0f2fe", "#0284c7"),
    "start": ("#dcfce7", "#16a34a"),
    "end": ("#fee2e2", "#dc2626"),
}


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def preview_svg(graph: dict, actions: dict[str, str] | None = None, max_width: int = 360) -> str:
    """A compact SVG of the workflow graph: levels top-down, approvals amber, LLM steps purple, waits blue,
    conditional arrows dashed, error paths red. ``actions`` maps a state to its bound action."""
    actions = actions or {}
    nodes = [n for n in graph.get("nodes", []) if not str(n["id"]).startswith("#")]
    ids = [n["id"] for n in nodes]
    links = [(e["from"], e["to"]) for e in graph.get("edges", []) if e["from"] in ids and e["to"] in ids]
    level, back = layout_levels(ids, links)
    rows: dict[int, list[str]] = {}
    for n in ids:
        rows.setdefault(level.get(n, 0), []).append(n)
    widest = max((len(r) for r in rows.values()), default=1)
    width = PAD * 2 + widest * NODE_W + (widest - 1) * GAP_X
    height = PAD * 2 + len(rows) * NODE_H + (len(rows) - 1) * GAP_Y
    pos: dict[str, tuple[float, float]] = {}
    for lv, members in rows.items():
        row_w = len(members) * NODE_W + (len(members) - 1) * GAP_X
        x0 = (width - row_w) / 2
        for k, n in enumerate(members):
            pos[n] = (x0 + k * (NODE_W + GAP_X), PAD + lv * (NODE_H + GAP_Y))
    parts = []
    back_links = {links[j] for j in back}
    for e in (e for e in graph.get("edges", []) if e["from"] in pos and e["to"] in pos):
        (ax, ay), (bx, by) = pos[e["from"]], pos[e["to"]]
        x1, y1, x2, y2 = ax + NODE_W / 2, ay + NODE_H, bx + NODE_W / 2, by
        if (e["from"], e["to"]) in back_links or by <= ay:  # a loop back up: go round the side
            x1, y1, x2, y2 = ax + NODE_W, ay + NODE_H / 2, bx + NODE_W, by + NODE_H / 2
        color = "#dc2626" if e.get("kind") == "error" else "#94a3b8"
        dash = ' stroke-dasharray="4 3"' if e.get("condition") or e.get("kind") == "error" else ""
        parts.append(
            f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="{color}" '
            f'stroke-width="1.4"{dash} marker-end="url(#arr)"/>'
        )
    for n in nodes:
        x, y = pos[n["id"]]
        kind = n["kind"] if n["kind"] in ("start", "end") else actions.get(n["id"], "state")
        fill, stroke = COLORS.get(kind, COLORS["state"])
        radius = NODE_H / 2 if n["kind"] in ("start", "end") else 5
        label = html.escape(_short(str(n.get("label") or n["id"])))
        parts.append(
            f'<g class="tpl-node" data-state="{html.escape(str(n["id"]))}">'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="{radius:.0f}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>'
            f'<text x="{x + NODE_W / 2:.0f}" y="{y + NODE_H / 2 + 4:.0f}" text-anchor="middle" '
            f'font-family="sans-serif" font-size="11" fill="#1e293b">{label}</text></g>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{min(max_width, int(width * 1.2))}px;height:auto;display:block;margin:auto" role="img" '
        'aria-label="workflow preview">'
        '<defs><marker id="arr" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#94a3b8"/></marker></defs>'
        + "".join(parts)
        + "</svg>"
    )


def template_badges(spec, graph: dict | None = None) -> list[str]:
    """Short facts about a template: how it starts and which engine features it uses."""
    actions = {b.action for b in spec.states.values()}
    out = []
    for s in spec.schedules:
        out.append(f":material/schedule: {s.cron or 'every ' + str(s.every)}" + (f" {s.timezone}" if s.cron else ""))
    for t in spec.triggers:
        out.append(":material/webhook: webhook" if t.type == "webhook" else ":material/folder_open: file drop")
    if any(e.get("kind") == "fan_out" for e in (graph or {}).get("edges", [])):
        out.append(":material/call_split: parallel")
    if "approval" in actions:
        out.append(":material/approval: approval")
    if "wait" in actions:
        out.append(":material/hourglass_top: wait")
    if "llm" in actions:
        out.append(":material/auto_awesome: LLM")
    if any(b.retry or b.on_error for b in spec.states.values()):
        out.append(":material/replay: recovery")
    return out


def _matches(t: dict, query: str) -> bool:
    q = query.strip().lower()
    if not q:
        return True
    hay = " ".join([t["name"], t["description"] or "", *t["tags"]]).lower()
    return all(w in hay for w in q.split())


def render_gallery(templates: list[dict], on_use: Callable[[dict], None], columns: int = 3) -> None:
    """Cards for ``templates`` (``engine.workbench.drafts.templates()``): name, preview graph, description,
    inputs and badges; "Use this template" calls ``on_use(template)`` (button key ``btn.desc.tpl.<key>``, the template's
    file stem: a position would point at another template once a file is added or fails to load)."""
    from engine.workbench import drafts

    query = st.text_input("Search the templates", key="desc.gallery.q", placeholder="approval, parallel, invoice …")
    shown = [t for t in templates if _matches(t, query or "")]
    st.caption(f"{len(shown)} of {count(len(templates), 'template')}")
    cols = st.columns(columns)
    for k, t in enumerate(shown):
        spec = t["spec"]
        with cols[k % columns].container(border=True, key=f"tpl-card-{t['key']}"):
            st.markdown(f"**{t['name']}**")
            chk = drafts.check_dsl(spec.dsl)
            if chk.graph:
                actions = {name: b.action for name, b in spec.states.items()}
                st.markdown(preview_svg(chk.graph, actions), unsafe_allow_html=True)
            st.caption(t["description"] or count(t["states"], "step"))
            if spec.inputs:
                st.caption(
                    "Inputs: "
                    + ", ".join(
                        f"`{name}` ({inp.type}{', required' if inp.required else ''})"
                        for name, inp in spec.inputs.items()
                    )
                )
            badges = template_badges(spec, chk.graph)
            st.caption(
                " ".join(f"`{tg}`" for tg in t["tags"] if tg != "template")
                + f" · {count(t['states'], 'step')}"
                + ("" if t["bound"] else " · no actions bound")
                + (" · " + " · ".join(badges) if badges else "")
            )
            st.button("Use this template", key=f"btn.desc.tpl.{t['key']}", on_click=on_use, args=(t,), width="stretch")
