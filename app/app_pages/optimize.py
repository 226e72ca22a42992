"""Optimize: the advisor's score and evidence-based suggestions (engine.optimizer), accepting them as a new
version, and comparing versions side by side with an honest statement of significance."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from app.components import auth_gate, ui
from engine import analytics as A
from engine import optimizer as O
from engine import records
from engine.auth import Permission
from engine.store import get_store

TYPE_ICONS = {"performance": "⚡", "reliability": "🛡️", "cost": "💰", "ux": "✨"}
STATUS_COLORS = {"suggested": "blue", "accepted": "violet", "implemented": "green", "rejected": "gray"}


def score_figure(score: int, potential: int) -> go.Figure:
    fig = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=score,
            number={"suffix": "/100"},
            title={"text": f"Optimization score (potential {potential})"},
            gauge={
                "axis": {"range": [0, 100]},
                "bar": {"color": "#2563eb"},
                "steps": [
                    {"range": [0, 60], "color": "#fee2e2"},
                    {"range": [60, 85], "color": "#fef9c3"},
                    {"range": [85, 100], "color": "#dcfce7"},
                ],
                "threshold": {"line": {"color": "#16a34a", "width": 4}, "value": potential},
            },
        )
    )
    fig.update_layout(height=250, margin=dict(l=20, r=20, t=50, b=10))
    return fig


def compare_figure(cmp: dict) -> go.Figure:
    a, b = cmp["a"], cmp["b"]
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.7, 0.3],
        subplot_titles=("Duration of completed runs (s)", "Success rate of finished runs (%)"),
    )
    for side, color in ((a, "#94a3b8"), (b, "#2563eb")):
        name = f"v{side['version']} (n={len(side['durations_ms'])})"
        fig.add_trace(
            go.Box(
                y=[d / 1000 for d in side["durations_ms"]],
                name=name,
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker_color=color,
                boxmean=True,
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Bar(
                x=[f"v{side['version']}"],
                y=[side["success_rate"] or 0],
                marker_color=color,
                text=[f"{side['completed']}/{side['finished']}"],
                textposition="auto",
                showlegend=False,
            ),
            row=1,
            col=2,
        )
    fig.update_yaxes(range=[0, 105], row=1, col=2)
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10), showlegend=False, plot_bgcolor="#ffffff")
    return fig


def _accept(store, sid: str, base_version: int):
    wid = st.session_state.get("opt.workflow")
    if not auth_gate.allow(Permission.UPDATE, workflow_id=wid, action="suggestion_accepted"):
        return
    res = ui.run_guarded("accept the suggestion", O.accept, store, sid)
    if res:
        ui.flash(res["message"], "success" if res["status"] == "implemented" else "info")
        if res.get("version"):  # offer exactly this pair, baseline (the version on screen) first
            st.session_state["opt.cmp_wid"] = res.get("workflow_id") or st.session_state.get("opt.workflow")
            st.session_state["opt.cmp_a"] = int(res.get("base_version") or base_version)
            st.session_state["opt.cmp_b"] = int(res["version"])


def _reject(store, sid: str):
    wid = st.session_state.get("opt.workflow")
    if not auth_gate.allow(Permission.UPDATE, workflow_id=wid, action="suggestion_rejected"):
        return
    if ui.run_guarded("reject the suggestion", O.reject, store, sid):
        ui.flash("Rejected: it stays rejected when the advisor runs again.", "info")


def _measure(store, sid: str):
    res = ui.run_guarded("measure the improvement", O.record_actual_improvement, store, sid)
    if res:
        ui.flash(
            f"Recorded the actual improvement: {res['actual_improvement']}"
            if res["actual_improvement"] is not None
            else "Recorded: no completed runs to measure yet.",
            "success",
        )


def _narrate(store, wid: str, version: int):
    from engine.ai import get_ai
    from engine.workbench import ai as wb_ai

    if not auth_gate.allow(Permission.AI, workflow_id=wid, rate_kind="ai", action="narrate"):
        return
    settings = wb_ai.ai_settings(st.session_state.get("wb.llm_base_url"), st.session_state.get("wb.llm_model"))
    rep = ui.run_guarded(
        "ask the model for a narrative",
        O.analyze,
        store,
        wid,
        version=version,
        llm=get_ai(settings, store).llm,
        save=False,
    )
    if rep is not None:
        st.session_state[f"opt.narrative.{wid}.{version}"] = (rep.narrative, rep.narrative_source)


def _model_configured() -> bool:
    try:
        from engine.workbench import ai as wb_ai

        return bool(
            wb_ai.ai_settings(st.session_state.get("wb.llm_base_url"), st.session_state.get("wb.llm_model")).online
        )
    except Exception:
        return False


# =============================================================================== the page
st.title("Optimize")
st.caption(
    "Suggestions proven from the recorded runs: which states read and wrote which keys, how long they "
    "took, how they failed. Accepting one saves a new version; compare versions below once it has run."
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
        f"**Nothing to optimize yet.** The advisor works from recorded runs: run a workflow at least "
        f"{O.MIN_RUNS} times (Run page, or `workbench run FILE` three times), then come back. It looks for "
        "independent states that could run in parallel, error-prone states that need retries, states "
        "without timeouts, repeated deterministic work and avoidable LLM cost.",
        icon=":material/rocket_launch:",
    )
    st.stop()

labels = {r["workflow_id"]: (r["name"] or r["workflow_id"]) for r in wfs.to_dict("records")}
# the workflow and version on screen elsewhere (Workflows, Editor, Run) are the ones analysed here
shown_wid = st.session_state.get("wb.workflow_id")
if "opt.workflow" not in st.session_state and shown_wid in labels:
    st.session_state["opt.workflow"] = shown_wid
c1, c2, c3 = st.columns([3, 1, 1])
wid = c1.selectbox(
    "Workflow",
    list(labels),
    key="opt.workflow",
    format_func=lambda k: f"{labels[k]} ({k})" if list(labels.values()).count(labels[k]) > 1 else labels[k],
)
run_counts = records.finished_runs_per_version(store, wid)
lib_versions = []
try:
    from engine import library

    lib_versions = [int(v["version"]) for v in library.list_versions(store, wid)]
except Exception:  # a workflow run from a file without the library still has its records
    lib_versions = []
all_versions = sorted(set(run_counts) | set(lib_versions), reverse=True)
default_v = O._latest_version_with_runs(store, wid) or all_versions[0]
shown_v = st.session_state.get("wb.version")
if wid == shown_wid and shown_v in all_versions and f"opt.version.{wid}" not in st.session_state:
    default_v = shown_v
version = c2.selectbox(
    "Version",
    all_versions,
    index=all_versions.index(default_v),
    key=f"opt.version.{wid}",
    format_func=lambda v: f"v{v} ({ui.count(run_counts.get(v, 0), 'run')})",
)
slots = c3.number_input(
    "Parallel slots",
    min_value=1,
    max_value=256,
    value=O.parallel_slots(),
    key="opt.slots",
    help="How many states can run at once (Ray CPUs); used to predict parallel gains",
)

report = None
with ui.guard("analyse the workflow"):
    report = O.analyze(store, wid, version=int(version), slots=int(slots), llm=False)
if report is None:
    st.stop()

for note in report.notes:
    st.warning(note, icon=":material/hourglass_empty:")

if report.score is not None:
    g1, g2 = st.columns([2, 3])
    g1.plotly_chart(score_figure(report.score, report.potential_score), key="opt.fig.score")
    parts = report.score_components
    with g2:
        st.markdown(f"**{O.SCORE_FORMULA}**")
        st.dataframe(
            [
                {
                    "part": "S · success rate",
                    "value": parts["S_success_rate"],
                    "weight": 40,
                    "points": parts["points"]["success"],
                },
                {
                    "part": "P · share of run time the performance suggestions save",
                    "value": parts["P_performance_savings_share"],
                    "weight": 30,
                    "points": parts["points"]["performance"],
                },
                {
                    "part": f"T · tail latency (p95/p50 = {parts['p95_over_p50'] or '—'})",
                    "value": parts["T_tail_factor"],
                    "weight": 15,
                    "points": parts["points"]["tail_latency"],
                },
                {
                    "part": "C · avoidable share of LLM cost",
                    "value": parts["C_avoidable_llm_cost_share"],
                    "weight": 15,
                    "points": parts["points"]["cost"],
                },
            ],
            hide_index=True,
            key="opt.tbl.score",
        )
        r = report.runs
        if not r["completed"]:
            st.warning(
                f"No run of v{report.version} completed: the score's time and cost parts have nothing to measure, "
                "so read it as 'fix the failures first'.",
                icon=":material/warning:",
            )
        st.caption(
            f"From {r['finished']} finished runs of v{report.version} ({r['completed']} completed, median "
            f"{ui.duration_text(r['median_ms'])}); parallel predictions assume {ui.count(report.slots, 'slot')}. "
            "T is 1 when p95 ≤ 1.5 × p50 and 0 when p95 ≥ 4 × p50."
        )

r = report.runs
if report.score is None:
    st.caption(
        f"v{report.version} has {ui.count(r['finished'], 'finished run')} ({r['completed']} completed, {r['failed']} failed)."
    )
st.subheader(f"Suggestions ({len(report.suggestions)})")
if not report.suggestions:
    if r["failed"]:
        st.warning(
            f"No change to propose from these records, but {r['failed']} of {r['finished']} finished runs of "
            f"v{report.version} failed: the **Analytics** page shows where and why.",
            icon=":material/error:",
        )
    else:
        st.success(
            "Nothing to suggest from these records."
            if report.score is not None
            else "Run the workflow a few more times to get suggestions.",
            icon=":material/task_alt:",
        )
for s in report.suggestions:
    with st.container(border=True):
        h1, h2 = st.columns([5, 2])
        h1.markdown(
            f"**{TYPE_ICONS.get(s.optimization_type, '')} {s.title}**  \n"
            f":{STATUS_COLORS.get(s.status, 'gray')}-badge[{s.status}] "
            f":gray-badge[{s.optimization_type}] :gray-badge[priority {s.priority}] "
            f":gray-badge[{s.implementation_effort} effort] "
            f":gray-badge[{'automatic' if s.automatic else 'manual change'}] · `{s.id}`"
        )
        if s.optimization_type == "reliability":
            h2.metric(
                "Success rate, estimated gain",
                f"+{s.estimated_improvement:g} pts",
                help="points of success rate (share of finished runs that complete)",
            )
        else:
            h2.metric("Estimated improvement", f"{s.estimated_improvement:g}%", help="share of the median run time")
        st.markdown(s.description)
        if s.kind == "parallelize":
            d1, d2 = st.columns(2)
            d1.caption(f"v{report.version} (analysed)")
            d1.code(s.proposed_changes["dsl_before"], language=None)
            d2.caption("proposed")
            d2.code(s.proposed_changes["dsl"], language=None)
        with st.expander("Evidence from the records"):
            st.caption(s.reasoning)
            st.json(s.evidence, expanded=1)
        b1, b2, _ = st.columns([1, 1, 4])
        decided = s.status != "suggested"
        b1.button(
            "Accept" + (" → new version" if s.automatic else ""),
            key=f"btn.opt.accept.{s.id}",
            type="primary",
            disabled=decided,
            on_click=_accept,
            args=(store, s.id, report.version),
        )
        b2.button("Reject", key=f"btn.opt.reject.{s.id}", disabled=decided, on_click=_reject, args=(store, s.id))

if report.not_suggested:
    with st.expander(f"Kept sequential or not proposed ({len(report.not_suggested)})"):
        for n in report.not_suggested:
            pair = f"`{n['first']}` → `{n['second']}`" if n["first"] else f"`{n['second']}`"
            st.markdown(f"- {pair}: {n['reason']}")

narr_key = f"opt.narrative.{wid}.{int(version)}"
if report.suggestions and _model_configured():
    st.button(
        "Explain with the model",
        key="btn.opt.narrative",
        on_click=_narrate,
        args=(store, wid, int(version)),
        help="The model writes a narrative from these statistics; the numbers above do not depend on it",
    )
if narr_key in st.session_state:
    text, source = st.session_state[narr_key]
    st.markdown(f"**Narrative** ({'by ' + source if source != 'offline' else 'offline: no model answered'})")
    st.markdown(text)

# ------------------------------------------------------------------------------------- compare
st.subheader("Compare versions")
with_runs = sorted(run_counts, reverse=True)
if len(all_versions) < 2:
    st.info(
        "Only one version so far. Accept a suggestion (or save an edited version), run it a few times, and "
        "compare the two here.",
        icon=":material/compare_arrows:",
    )
    st.stop()
records = O.list_records(store, wid)
implemented = [r for r in records if r["status"] == "implemented" and r.get("implemented_version")]
if "opt.cmp_a" not in st.session_state or st.session_state.get("opt.cmp_wid") != wid:
    st.session_state["opt.cmp_wid"] = wid
    if implemented:
        st.session_state["opt.cmp_a"] = int(implemented[0]["version"])
        st.session_state["opt.cmp_b"] = int(implemented[0]["implemented_version"])
    else:
        st.session_state["opt.cmp_a"], st.session_state["opt.cmp_b"] = all_versions[1], all_versions[0]
for key in ("opt.cmp_a", "opt.cmp_b"):
    if st.session_state[key] not in all_versions:
        st.session_state[key] = all_versions[0]
v1, v2 = st.columns(2)
va = v1.selectbox(
    "Baseline version",
    all_versions,
    key="opt.cmp_a",
    format_func=lambda v: f"v{v} ({ui.count(run_counts.get(v, 0), 'run')})",
)
vb = v2.selectbox(
    "Compared with",
    all_versions,
    key="opt.cmp_b",
    format_func=lambda v: f"v{v} ({ui.count(run_counts.get(v, 0), 'run')})",
)
cmp = O.compare_versions(store, wid, int(va), int(vb))
if cmp["a"]["finished"] or cmp["b"]["finished"]:
    st.plotly_chart(compare_figure(cmp), key="opt.fig.compare")
m1, m2, m3 = st.columns(3)
m1.metric(f"Median v{va}", ui.duration_text(cmp["a"]["median_ms"]))
m2.metric(
    f"Median v{vb}",
    ui.duration_text(cmp["b"]["median_ms"]),
    delta=f"{cmp['duration_change_pct']:+.1f}%" if "duration_change_pct" in cmp else None,
    delta_color="inverse",
)
m3.metric("Speed-up", f"×{cmp['speedup']:.2f}" if cmp.get("speedup") else "—")
(st.success if cmp.get("duration_significant") else st.info)(cmp["statement"] or "No finished runs to compare yet.")

pair = [r for r in implemented if int(r["version"]) == int(va) and int(r["implemented_version"]) == int(vb)]
for r in pair:
    with st.container(border=True):
        measured = r.get("actual_improvement")
        unit = " points of success rate" if r["optimization_type"] == "reliability" else "% of the median duration"
        st.markdown(
            f"**{r['title']}** (`{r['id']}`) · estimated {r['estimated_improvement']:g}{unit}"
            + (f" · measured **{measured:g}{unit}**" if measured is not None else " · not measured yet")
        )
        st.button(
            "Record the actual improvement",
            key=f"btn.opt.measure.{r['id']}",
            on_click=_measure,
            args=(store, r["id"]),
            disabled=not (cmp["a"]["durations_ms"] and cmp["b"]["durations_ms"]),
            help="Stores the measured change (median duration or success rate) with the comparison above "
            "in the suggestion's record; needs completed runs of both versions",
        )
