"""The run timeline (Plotly): one lane per branch so parallel branches show side by side."""
from __future__ import annotations

from engine.workbench_service import timeline_rows, token_sort_key

BAR_COLORS = {"completed": "#16a34a", "failed": "#dc2626", "skipped": "#9ca3af", "fallback": "#f59e0b"}


def timeline_figure(trans: list[dict], height: int | None = None):
    """A Gantt chart of the recorded state runs (None when nothing ran yet)."""
    import plotly.graph_objects as go

    rows = timeline_rows(trans)
    if not rows:
        return None
    lane_order = sorted(dict.fromkeys(r["token"] for r in rows), key=token_sort_key)
    lane_name = {r["token"]: r["lane"] for r in rows}
    t0 = min(r["start"] for r in rows)
    span = max(max((r["end"] - t0).total_seconds() for r in rows), 0.01)
    min_bar = span * 0.012  # instant steps stay visible
    fig = go.Figure()
    for status in dict.fromkeys(r["status"] for r in rows):
        sel = [r for r in rows if r["status"] == status]
        fig.add_trace(go.Bar(
            base=[(r["start"] - t0).total_seconds() for r in sel],
            x=[max((r["end"] - r["start"]).total_seconds(), min_bar) for r in sel],
            y=[lane_name[r["token"]] for r in sel], orientation="h", name=status,
            marker=dict(color=BAR_COLORS.get(status, "#2563eb"), line=dict(color="#ffffff", width=1)),
            text=[r["state"] + (f" (try {r['attempt']})" if r["attempt"] > 1 else "") for r in sel],
            textposition="auto", insidetextanchor="middle", cliponaxis=False,
            customdata=[[r["state"], r["duration_ms"], r["executed_on"] or "driver", r["attempt"],
                         (r["error"] or "")[:160]] for r in sel],
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]} ms on %{customdata[2]}"
                          "<br>attempt %{customdata[3]}<br>%{customdata[4]}<extra></extra>"))
    fig.update_layout(
        barmode="overlay", height=height or max(200, 90 + 44 * len(lane_order)),
        margin=dict(l=10, r=20, t=36, b=36), legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
        xaxis=dict(title="seconds since the first state started", rangemode="tozero", zeroline=True),
        yaxis=dict(categoryorder="array", categoryarray=[lane_name[t] for t in reversed(lane_order)], title=None),
        bargap=0.3, plot_bgcolor="#ffffff", uniformtext=dict(minsize=9, mode="hide"))
    fig.update_xaxes(showgrid=True, gridcolor="#e2e8f0")
    return fig
