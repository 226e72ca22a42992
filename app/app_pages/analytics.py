"""Analytics: run statistics over the DuckDB records (all aggregation in engine.analytics), as Plotly charts."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from app.components import ui
from app.components.timeline import timeline_figure
from engine import analytics as A
from engine import records
from engine.store import get_store

COLORS = {
    "completed": "#16a34a",
    "failed": "#dc2626",
    "cancelled": "#9ca3af",
    "skipped": "#9ca3af",
    "fallback": "#f59e0b",
    "p50": "#2563eb",
    "p95": "#f59e0b",
    "p99": "#dc2626",
}
RANGES = {"Last 24 hours": "24h", "Last 7 days": "7d", "Last 30 days": "30d", "Last 90 days": "90d", "All time": None}


def _layout(fig: go.Figure, height: int = 320, **kw) -> go.Figure:
    title = kw.pop("title", None)
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=64, b=10),
        plot_bgcolor="#ffffff",
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1, xanchor="right"),
        title=dict(text=title, y=0.98, yanchor="top", x=0.01, font=dict(size=15)) if title else None,
        **kw,
    )
    fig.update_xaxes(showgrid=True, gridcolor="#eef2f7")
    fig.update_yaxes(showgrid=True, gridcolor="#eef2f7")
    return fig


TICK_FORMATS = {"minute": "%H:%M", "hour": "%b %d %H:%M", "day": "%b %d", "week": "%b %d", "month": "%b %Y"}
BUCKET_MS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000, "week": 7 * 86_400_000}
AUTO_RECOVERY_DEFINITION = (
    "share of the failing steps auto-recovery took on (retry, fallback, skip… chosen by its rules, history "
    "or AI, not a workflow's own retry policy) that it fixed without a person; "
    "a run can still fail later, so this is not the share of runs that succeeded"
)


def _time_axis(fig: go.Figure, gran: str, buckets) -> go.Figure:
    """Dates as dates: one tick per bucket when there are few, formatted for the granularity."""
    n = len(set(buckets))
    kw = {"tickformat": TICK_FORMATS[gran], "type": "date"}
    # one tick per bucket only when that is few ticks over the whole span (12 runs 5 min apart are 60 minutes)
    span_ms = (max(buckets) - min(buckets)).total_seconds() * 1000 if n > 1 else 0
    if gran in BUCKET_MS and n <= 12 and span_ms / BUCKET_MS[gran] <= 12:
        kw.update(dtick=BUCKET_MS[gran], tick0=min(buckets))
    elif gran in BUCKET_MS:
        kw.update(nticks=8)
    elif gran == "month" and n <= 12:
        kw.update(dtick="M1")
    fig.update_xaxes(**kw)
    return fig


def runs_figure(df: pd.DataFrame) -> go.Figure:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for status in ("completed", "failed", "cancelled"):
        fig.add_trace(go.Bar(x=df["bucket"], y=df[status], name=status, marker_color=COLORS[status]))
    fig.add_trace(
        go.Scatter(
            x=df["bucket"],
            y=df["success_rate"],
            name="success rate %",
            mode="lines+markers",
            line=dict(color="#111827", width=2),
        ),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="runs", secondary_y=False)
    fig.update_yaxes(
        title_text="success %", range=[0, 105], tickmode="linear", tick0=0, dtick=25, secondary_y=True, showgrid=False
    )
    return _layout(fig, title="Executions and success rate", barmode="stack")


def durations_figure(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for q in ("p50", "p95", "p99"):
        fig.add_trace(
            go.Scatter(x=df["bucket"], y=df[f"{q}_ms"] / 1000, name=q, mode="lines+markers", line=dict(color=COLORS[q]))
        )
    fig.add_trace(
        go.Scatter(
            x=df["bucket"], y=df["avg_ms"] / 1000, name="average", mode="lines", line=dict(color="#6b7280", dash="dot")
        )
    )
    return _layout(fig, title="Run duration (finished runs)", yaxis_title="seconds")


def run_time_figure(df: pd.DataFrame, waiting_for: str = "people") -> go.Figure:
    """Per bucket: the average run's working time and its time waiting (for ``waiting_for``), stacked (seconds)."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=df["bucket"], y=df["working_avg_ms"] / 1000, name="working", marker_color="#2563eb"))
    fig.add_trace(
        go.Bar(x=df["bucket"], y=df["waiting_avg_ms"] / 1000, name=f"waiting for {waiting_for}", marker_color="#d97706")
    )
    return _layout(
        fig,
        title=f"Run time: working vs waiting for {waiting_for} (average run)",
        yaxis_title="seconds",
        barmode="stack",
    )


def people_wait_figure(people: pd.DataFrame) -> go.Figure:
    """How long people took to answer, per state that waits for them (approvals), and how long wait steps
    waited: median and p95."""
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=people["state"],
            x=people["p50_ms"] / 1000,
            orientation="h",
            name="median",
            marker_color="#d97706",
            text=[f"{v / 1000:.1f} s" for v in people["p50_ms"]],
            textposition="auto",
        )
    )
    fig.add_trace(
        go.Scatter(
            y=people["state"],
            x=people["p95_ms"] / 1000,
            mode="markers",
            name="p95",
            marker=dict(symbol="diamond", color="#78350f", size=9),
        )
    )
    return _layout(
        fig,
        height=max(200, 80 + 34 * len(people)),
        title=(
            "Waiting for people or timers (s until an answer or the timer's end)"
            if people["waits_for_timer"].astype(bool).any()
            else "Waiting for people (s until an answer)"
        ),
        yaxis=dict(autorange="reversed"),
        xaxis=dict(title="seconds", rangemode="tozero"),
    )


def state_box_figure(perf: pd.DataFrame) -> go.Figure:
    """Box plots drawn from the SQL quantiles (min, q1, median, q3, max): no raw rows needed."""
    fig = go.Figure()
    top = perf.head(25)
    fig.add_trace(
        go.Box(
            y=top["state"],
            q1=top["q1_ms"],
            median=top["p50_ms"],
            q3=top["q3_ms"],
            lowerfence=top["min_ms"],
            upperfence=top["max_ms"],
            mean=top["avg_ms"],
            orientation="h",
            name="duration",
            marker_color="#2563eb",
            hoverinfo="y+x",
        )
    )
    fig.add_trace(
        go.Scatter(
            y=top["state"],
            x=top["p95_ms"],
            mode="markers",
            name="p95",
            marker=dict(symbol="diamond", color=COLORS["p95"], size=9),
        )
    )
    return _layout(
        fig,
        height=max(260, 60 + 34 * len(top)),
        title="Working time per state (ms)",
        yaxis=dict(autorange="reversed"),
        xaxis_title="ms",
    )


def state_error_figure(perf: pd.DataFrame) -> go.Figure:
    top = perf.head(25)
    fig = go.Figure(
        go.Bar(
            y=top["state"],
            x=top["error_rate"],
            orientation="h",
            marker_color=COLORS["failed"],
            text=[f"{f}/{a}" for f, a in zip(top["failed"], top["attempts"])],
            textposition="auto",
            name="error rate",
        )
    )
    return _layout(
        fig,
        height=max(260, 60 + 34 * len(top)),
        title="Error rate per state (% of attempts)",
        yaxis=dict(autorange="reversed"),
        xaxis=dict(title="%", rangemode="tozero"),
    )


def errors_figure(errs: pd.DataFrame) -> go.Figure:
    labels = [f"{s} · {e}" for s, e in zip(errs["state"], errs["error_type"])]
    fig = go.Figure(go.Bar(y=labels, x=errs["count"], orientation="h", marker_color=COLORS["failed"]))
    return _layout(
        fig,
        height=max(220, 60 + 30 * len(errs)),
        title="Most common errors (state · type)",
        yaxis=dict(autorange="reversed"),
        xaxis_title="failed attempts",
    )


def recovery_figure(by: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Bar(x=by["strategy"], y=by["succeeded"], name="succeeded", marker_color=COLORS["completed"]))
    fig.add_trace(
        go.Bar(x=by["strategy"], y=by["actions"] - by["succeeded"], name="did not help", marker_color=COLORS["failed"])
    )
    return _layout(fig, height=280, title="Recovery actions by strategy", barmode="stack", yaxis_title="actions")


def decisions_figure(over: pd.DataFrame, hist: pd.DataFrame) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("AI decisions over time", "Confidence"))
    for who in over["decided_by"].unique():
        d = over[over["decided_by"] == who]
        fig.add_trace(go.Bar(x=d["bucket"], y=d["decisions"], name=str(who)), row=1, col=1)
    fig.add_trace(
        go.Bar(
            x=[f"{c}–{c + 10}" for c in hist["confidence_from"]],
            y=hist["decisions"],
            name="confidence",
            marker_color="#7c3aed",
            showlegend=False,
        ),
        row=1,
        col=2,
    )
    return _layout(fig, height=300, barmode="stack")


def llm_figure(df: pd.DataFrame) -> go.Figure:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=df["bucket"], y=df["cost_usd"], name="cost (USD)", marker_color="#0ea5e9"))
    fig.add_trace(
        go.Scatter(
            x=df["bucket"],
            y=df["cache_hit_rate"],
            name="cache hit rate %",
            mode="lines+markers",
            line=dict(color="#16a34a"),
        ),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="USD", secondary_y=False)
    fig.update_yaxes(
        title_text="cache hits %",
        range=[0, 105],
        tickmode="linear",
        tick0=0,
        dtick=25,
        secondary_y=True,
        showgrid=False,
    )
    return _layout(fig, height=300, title="LLM cost and cache hit rate")


def _ms(v) -> str:
    return ui.duration_text(v) if v is not None else "—"


def node_table(nodes: list[dict]) -> pd.DataFrame:
    """records.time_per_node rows for reading: times as durations ("146 ms", "2.3 s"), not raw floats."""
    return pd.DataFrame(
        [
            {
                "node": n["node"],
                "steps": int(n["steps"]),
                "total time": _ms(n["total_ms"]),
                "average per step": _ms(n["avg_ms"]),
                "failed": int(n["failed"]),
            }
            for n in nodes
        ]
    )


# =============================================================================== the page
st.title("Analytics")
st.caption(
    "Statistics from the recorded runs (DuckDB over the run records). Percentiles interpolate linearly; "
    "rates are over finished runs."
)
ui.show_flash()

store = None
with ui.guard("open the run records"):
    store = get_store()
if store is None:
    st.stop()

wfs = A.list_workflows(store)
if wfs.empty:
    st.info(
        "**No runs recorded yet.** Analytics appear here once a workflow has run: pick a template on the "
        "**Run** page (or `workbench run data/templates/order_processing.toml`) and run it a few times. "
        "Every run is recorded with its states, errors, recoveries and AI decisions.",
        icon=":material/insights:",
    )
    st.stop()

labels = {r["workflow_id"]: (r["name"] or r["workflow_id"]) for r in wfs.to_dict("records")}
dupes = {n for n in labels.values() if list(labels.values()).count(n) > 1}
options = ["All workflows"] + list(labels)
c1, c2, c3, c4 = st.columns([3, 2, 2, 1])
wf = c1.selectbox(
    "Workflow",
    options,
    key="an.workflow",
    format_func=lambda k: k if k == "All workflows" else (f"{labels[k]} ({k})" if labels[k] in dupes else labels[k]),
)
rng = c2.selectbox("Time range", list(RANGES), index=2, key="an.range")
gran_choice = c3.selectbox(
    "Granularity",
    ["auto", *A.GRANULARITIES],
    key="an.gran",
    help="auto: from the span of the runs shown (an hour of runs → by minute)",
)
version = None
if wf != "All workflows":
    versions = wfs.loc[wfs["workflow_id"] == wf, "versions"].iloc[0]
    vs = ["all"] + [int(v) for v in versions if v is not None]
    v = c4.selectbox("Version", vs, key="an.version")
    version = None if v == "all" else int(v)

scope = None
with ui.guard("read the statistics"):
    scope = A.resolve_scope(store, None if wf == "All workflows" else wf, since=RANGES[rng], version=version)
if scope is None:
    st.stop()
gran = A.data_granularity(store, scope) if gran_choice == "auto" else gran_choice
stats = A.execution_stats(store, scope)
if not stats["total_executions"]:
    total = int(wfs["runs"].sum()) if wf == "All workflows" else int(wfs.loc[wfs["workflow_id"] == wf, "runs"].iloc[0])
    st.info(
        f"No runs in this range ({rng.lower()}). {ui.count(total, 'run')} recorded in total: choose a longer "
        "range such as **All time**.",
        icon=":material/history:",
    )
    st.stop()

rec = A.recovery_stats(store, scope)
k = st.columns(7)
k[0].metric(
    "Executions",
    f"{stats['total_executions']:,}",
    help=f"{stats['finished_executions']} finished, {stats['running_executions']} not finished",
)
k[1].metric(
    "Success rate",
    f"{stats['success_rate']:.1f}%" if stats["success_rate"] is not None else "—",
    help="completed / finished runs",
)
k[2].metric(
    "Failed",
    f"{stats['failed_executions']:,}",
    help=f"{stats['failure_rate']:.1f}% of finished runs" if stats["failure_rate"] is not None else None,
)
k[3].metric("p50 duration", _ms(stats["p50_duration_ms"]), help=f"average {_ms(stats['avg_duration_ms'])}")
k[4].metric("p95 duration", _ms(stats["p95_duration_ms"]))
k[5].metric("p99 duration", _ms(stats["p99_duration_ms"]))
k[6].metric(
    "Auto-recovery",
    f"{rec['auto_recovery_rate']:.0f}%" if rec["auto_recovery_rate"] is not None else "—",
    help=f"{rec['auto_recovered']} of {rec['automatic_incidents']} failing states recovered without a person",
)
if rec["auto_recovery_rate"] is not None:
    k[6].caption(
        f"{rec['auto_recovered']} of {rec['automatic_incidents']} failing steps fixed without a person "
        f"(not runs: {ui.count(stats['failed_executions'], 'run')} failed)"
    )
st.caption(f"**Auto-recovery** = {AUTO_RECOVERY_DEFINITION}.")

over = A.executions_over_time(store, scope, gran)
g1, g2 = st.columns(2)
g1.plotly_chart(_time_axis(runs_figure(over), gran, over["bucket"]), key="an.fig.runs")
g2.plotly_chart(_time_axis(durations_figure(over), gran, over["bucket"]), key="an.fig.durations")

run_time = A.run_time_stats(store, scope)
if run_time["runs_waiting_for_people"]:
    who = A.waiting_for(run_time)
    st.markdown(f"**Run time: working vs waiting for {who}**")
    m = st.columns(4)
    m[0].metric(
        "Working time p50",
        _ms(run_time["working_p50_ms"]),
        help=f"run duration minus the time waiting for {who}; average {_ms(run_time['working_avg_ms'])}",
    )
    m[1].metric("Working time p95", _ms(run_time["working_p95_ms"]))
    m[2].metric(
        f"Waiting for {who} p50",
        _ms(run_time["waiting_p50_ms"]),
        help=f"over the {run_time['runs_waiting_for_people']} of {run_time['runs']} finished runs that waited; "
        f"p95 {_ms(run_time['waiting_p95_ms'])}",
    )
    m[3].metric(
        f"Time waiting for {who}",
        f"{run_time['waiting_share']:.0f}%",
        help="share of all finished-run time spent waiting for a person's answer"
        + (" or a wait step's timer" if run_time["runs_on_timer"] else ""),
    )
    rt_over = A.run_time_over_time(store, scope, gran)
    st.plotly_chart(_time_axis(run_time_figure(rt_over, who), gran, rt_over["bucket"]), key="an.fig.runtime")
    st.caption(
        "**Run duration** above includes the time people took to answer approvals"
        + (" and the time wait steps waited" if run_time["runs_on_timer"] else "")
        + "; **working time** leaves it out (time in which at least one approval"
        + (" or wait step" if run_time["runs_on_timer"] else "")
        + " was open counts once as waiting)."
    )

if scope.workflow_ids is None:
    st.subheader("Workflows")
    summary = A.workflow_summary(store, scope)
    st.dataframe(
        summary.drop(columns=["workflow_id"]),
        hide_index=True,
        key="an.tbl.workflows",
        column_config={
            "success_rate": st.column_config.NumberColumn("success %", format="%.1f"),
            "p50_ms": st.column_config.NumberColumn("p50 ms", format="%.0f"),
            "p95_ms": st.column_config.NumberColumn("p95 ms", format="%.0f"),
        },
    )

st.subheader("States")
perf = A.state_performance(store, scope)
if perf.empty:
    st.caption("No state attempts recorded in this range.")
else:
    waits = perf["waits_for_people"].astype(bool)
    work, people = perf[~waits], perf[waits]
    s1, s2 = st.columns([3, 2])
    if work.empty:
        s1.caption("Only steps that wait (for people or a timer) ran in this range.")
    else:
        s1.plotly_chart(state_box_figure(work), key="an.fig.states")
    if int(perf["failed"].sum()) == 0:  # an all-zero bar chart says nothing: say it in words
        s2.success(
            f"No step failed in this range ({ui.count(int(perf['attempts'].sum()), 'attempt')}).",
            icon=":material/check_circle:",
        )
    else:
        s2.plotly_chart(state_error_figure(perf), key="an.fig.state_errors")
    if not people.empty:
        w1, w2 = st.columns([3, 2])
        w1.plotly_chart(people_wait_figure(people), key="an.fig.people")
        timers = people["waits_for_timer"].astype(bool).any()
        w2.caption(
            "Steps that wait for a person (approvals)"
            + (" or a timer (wait steps)" if timers else "")
            + " are shown here, apart from the working time above: their duration is how long someone took "
            "to answer"
            + (" or how long the step waited" if timers else "")
            + ". "
            + ", ".join(f"'{r['state']}' median {_ms(r['p50_ms'])}" for r in people.to_dict("records"))
            + "."
        )
    with st.expander("State table"):
        st.dataframe(perf, hide_index=True, key="an.tbl.states")

st.subheader("Time per node")  # which Ray node ran the states (records.time_per_node; all recorded runs)
nodes = records.time_per_node(store, None if wf == "All workflows" else wf)
if not nodes:
    st.caption("No state ran on Ray yet (inline steps have no node).")
else:
    st.caption("Steps run on Ray, per node that ran them, over every recorded run (not only the time range).")
    st.dataframe(node_table(nodes), hide_index=True, key="an.tbl.nodes")

st.subheader("Errors and recovery")
errs = A.common_errors(store, scope)
e1, e2 = st.columns([3, 2])
if errs.empty:
    e1.success("No failed attempts in this range.", icon=":material/check_circle:")
else:
    e1.plotly_chart(errors_figure(errs), key="an.fig.errors")
    e1.dataframe(
        errs[["state", "error_type", "count", "executions", "last_seen", "example"]],
        hide_index=True,
        key="an.tbl.errors",
    )
if rec["by_strategy"].empty:
    e2.caption("No recovery actions in this range.")
else:
    e2.plotly_chart(recovery_figure(rec["by_strategy"]), key="an.fig.recovery")
    e2.caption(
        f"{ui.count(rec['incidents'], 'failing state')}: {rec['automatic_incidents']} handled by auto-recovery "
        f"({rec['auto_recovered']} of them recovered), {rec['policy_incidents']} by the workflow's own "
        "retry/on_error policy."
    )

st.subheader("Deadline misses")  # deadline_s of workflows and states (engine/automation/deadlines.py)
misses = A.deadline_misses(store, scope)
if misses.empty:
    st.caption("No deadline missed in this range (set deadline_s in a workflow's [settings] or a state).")
else:
    st.dataframe(misses, hide_index=True, key="an.tbl.deadlines")

st.subheader("AI decisions and LLM usage")
ai = A.ai_decision_stats(store, scope, gran)
llm = A.llm_usage(store, scope, gran)
a1, a2 = st.columns(2)
if ai["decisions"]:
    fig = decisions_figure(ai["over_time"], ai["confidence_histogram"])
    fig.update_xaxes(tickformat=TICK_FORMATS[gran], row=1, col=1)
    fig.update_layout(legend=dict(y=-0.12, yanchor="top", x=0, xanchor="left"), margin=dict(t=40, b=40))
    a1.plotly_chart(fig, key="an.fig.decisions")
    a1.caption(f"{ui.count(ai['decisions'], 'decision')}, average confidence {ai['avg_confidence']:.0f}.")
else:
    a1.caption(
        'No AI decisions in this range: natural-language conditions ("…") are decided here when a run reaches them.'
    )
if llm.empty:
    a2.caption(
        "No LLM calls in this range. With a model configured in **Settings**, translation, explanations "
        "and decisions are recorded with their cost."
    )
else:
    a2.plotly_chart(_time_axis(llm_figure(llm), gran, llm["bucket"]), key="an.fig.llm")
    a2.caption(
        f"{ui.count(int(llm['calls'].sum()), 'call')}, ${llm['cost_usd'].sum():.4f}, "
        f"{100 * llm['cache_hits'].sum() / llm['calls'].sum():.0f}% from the cache."
    )

st.subheader("Timeline of one run")
recent = A.recent_executions(store, scope, 50)
if recent.empty:
    st.caption("No runs to show.")
else:
    ids = list(recent["execution_id"])
    info = {r["execution_id"]: r for r in recent.to_dict("records")}
    first_finished = next((i for i, e in enumerate(ids) if info[e]["status"] in ("completed", "failed")), 0)
    eid = st.selectbox(
        "Run",
        ids,
        index=first_finished,
        key="an.run",
        format_func=lambda e: (
            f"{ui.short_time(info[e]['start_time'])} · {info[e]['workflow_name']} v{info[e]['version']} · "
            f"{info[e]['status']} · {_ms(info[e]['duration_ms'])} · {e}"
        ),
    )
    fig = timeline_figure(records.transitions(store, eid))
    if fig is None:
        st.caption("This run has no recorded state yet.")
    else:
        fig.update_layout(title=dict(text="Timeline of the run", x=0.01, font=dict(size=15)), margin=dict(t=64))
        fig.update_layout(legend=dict(y=1.0, yanchor="bottom", x=1, xanchor="right"))
        st.plotly_chart(fig, key="an.fig.gantt")
        st.caption(
            "One row per step (branches of a parallel fork and compensations are named after the step); "
            "hover a bar for its duration, worker and error."
        )

with st.expander("Insights"):
    for line in A.insights(stats, perf, rec):
        st.markdown(f"- {line}")
st.caption(
    "Also from the command line: `workbench analytics --workflow NAME --since 30d`; "
    "for notebooks: `notebooks/run_history.ipynb` or `workbench export --parquet DIR`."
)
