"""The run timeline (Plotly Gantt): one row per step, in the order the steps started; steps of
parallel branches are labelled with their branch and their bars overlap in time, side by side."""

from __future__ import annotations

from engine.workbench.runs import timeline_rows, token_sort_key

BAR_COLORS = {"completed": "#16a34a", "failed": "#dc2626", "skipped": "#9ca3af", "fallback": "#f59e0b"}


def row_label(r: dict) -> str:
    return r["state"] if r["lane"] == "main" else f"{r['state']} ({r['lane'].strip().split(' (')[0]})"


def timeline_figure(trans: list[dict], height: int | None = None):
    """A Gantt chart of the recorded state runs (None when nothing ran yet)."""
    import plotly.graph_objects as go

    rows = timeline_rows(trans)
    if not rows:
        return None
    t0 = min(r["start"] for r in rows)
    span = max(max((r["end"] - t0).total_seconds() for r in rows), 0.01)
    min_bar = span * 0.012  # instant steps stay visible
    order: list[str] = []
    for r in sorted(rows, key=lambda r: (r["start"], token_sort_key(r["token"]))):
        r["label"] = row_label(r)
        if r["label"] not in order:
            order.append(r["label"])
    fig = go.Figure()
    for status in dict.fromkeys(r["status"] for r in rows):
        sel = [r for r in rows if r["status"] == status]
        fig.add_trace(
            go.Bar(
                base=[(r["start"] - t0).total_seconds() for r in sel],
                x=[max((r["end"] - r["start"]).total_seconds(), min_bar) for r in sel],
                y=[r["label"] for r in sel],
                orientation="h",
                name=status,
                marker=dict(color=BAR_COLORS.get(status, "#2563eb")),
                customdata=[
                    [
                        r["state"],
                        r["duration_ms"],
                        r["executed_on"] or "driver",
                        r["attempt"],
                        (r["error"] or "")[:160],
                        r["lane"].strip(),
                    ]
                    for r in sel
                ],
                hovertemplate="<b>%{customdata[0]}</b> · %{customdata[5]}<br>%{customdata[1]} ms on %{customdata[2]}"
                "<br>attempt %{customdata[3]}<br>%{customdata[4]}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="overlay",
        height=height or max(200, 80 + 26 * len(order)),
        margin=dict(l=10, r=20, t=36, b=40),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
        xaxis=dict(title="seconds since the first step started", range=[-span * 0.01, span * 1.03]),
        yaxis=dict(categoryorder="array", categoryarray=list(reversed(order)), title=None, automargin=True),
        bargap=0.35,
        plot_bgcolor="#ffffff",
    )
    fig.update_xaxes(showgrid=True, gridcolor="#e2e8f0")
    return fig
