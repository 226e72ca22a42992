"""DSL playground: type or paste a workflow, see errors (line:column, caret, hint), a summary and the graph."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # when the page runs on its own (AppTest) and the package is not installed
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from app.components.graph_view import render_graph  # noqa: E402
from app.components.issues_view import render_issues  # noqa: E402
from engine.dsl import DSLError, analyze, check, to_dsl, to_graph  # noqa: E402
from engine.dsl.examples import EXTENDED_EXAMPLES, SEED_EXAMPLES  # noqa: E402
from engine.dsl.graph import to_mermaid  # noqa: E402

log = logging.getLogger("workbench.app")

EXAMPLES = {**SEED_EXAMPLES, **EXTENDED_EXAMPLES}
DEFAULT_EXAMPLE = "Appendix C.2 CI/CD pipeline (parallel)"


def _load_example() -> None:
    st.session_state["dsl_text"] = EXAMPLES[st.session_state["dsl_example"]].strip() + "\n"


def _init_state() -> None:
    if "dsl_example" not in st.session_state:
        st.session_state["dsl_example"] = DEFAULT_EXAMPLE
    if "dsl_text" not in st.session_state:
        _load_example()


def _summary(model, report) -> None:
    an = analyze(model)
    decisions = sum(1 for s in model.states if any(t.is_conditional for t in model.outgoing(s)))
    cols = st.columns(4)
    cols[0].metric("States", len(model.states))
    cols[1].metric("Transitions", len(model.transitions))
    cols[2].metric("Parallel groups", len(an.groups))
    cols[3].metric("Decisions", decisions)
    if report.errors:
        st.error(
            f"{len(report.errors)} error(s), {len(report.warnings)} warning(s): the workflow cannot run yet.",
            icon=":material/block:",
        )
    elif report.warnings:
        st.success(
            f"Valid — {len(model.states)} states, {len(model.transitions)} transitions "
            f"({len(report.warnings)} warning(s) below).",
            icon=":material/check_circle:",
        )
    else:
        st.success(
            f"Valid — {len(model.states)} states, {len(model.transitions)} transitions.", icon=":material/check_circle:"
        )


def _state_details(model, state: str) -> None:
    from engine.dsl.printer import transition_text

    outs = [t for t in model.transitions if state in t.sources]
    ins = [t for t in model.transitions if state in t.targets]
    lines = [f"- out: `{transition_text(t)};`" for t in outs] + [f"- in: `{transition_text(t)};`" for t in ins]
    st.markdown(f"**Selected state `{state}`**\n\n" + ("\n".join(lines) or "_no transitions_"))


def main() -> None:
    st.title("DSL playground")
    st.caption(
        "Write a workflow as `a->b;` transitions. Conditions follow `:` — `a->b:total>100;`, "
        '`a->b:"a sentence for the decision engine";`, `a->fallback:@error;`. '
        "`a->[x,y];` runs branches in parallel and `[x,y]->next;` joins them."
    )
    _init_state()
    st.html("<style>.stTextArea textarea {font-family: 'Source Code Pro', monospace; font-size: 0.85rem;}</style>")
    left, right = st.columns([5, 7], gap="large")
    with left:
        st.selectbox("Start from an example", list(EXAMPLES), key="dsl_example", on_change=_load_example)
        text = st.text_area(
            "Workflow DSL",
            key="dsl_text",
            height=420,
            help="Statements end with ';'. '#' starts a comment. start and end are reserved.",
        )
    try:
        model, report = check(text)
    except DSLError as exc:
        with left:
            st.error(f"The DSL does not parse ({len(exc.issues)} problem(s)).", icon=":material/block:")
            render_issues(exc.issues)
        with right:
            st.info("The graph appears once the DSL parses.", icon=":material/info:")
        return
    with left:
        render_issues(report.errors)
        if len(report.warnings) > 2:
            with st.expander(f"{len(report.warnings)} warnings", expanded=False, icon=":material/warning:"):
                render_issues((), report.warnings)
        else:
            render_issues((), report.warnings)
    with right:
        _summary(model, report)
        graph = to_graph(model)
        selected = render_graph(graph)  # returns the clicked state (None until a click)
        if selected and selected in model.states:
            _state_details(model, selected)
        with st.expander("Canonical DSL, Mermaid and JSON"):
            tabs = st.tabs(["Canonical DSL", "Mermaid", "JSON"])
            tabs[0].code(to_dsl(model), language="text")
            tabs[1].code(to_mermaid(model), language="text")
            tabs[2].json(graph, expanded=False)


try:
    main()
except Exception as exc:  # never a traceback in the UI; the log keeps the details
    log.exception("DSL playground failed")
    st.error(
        f"Something went wrong while checking this workflow ({type(exc).__name__}: {exc}). "
        "The details are in the server log."
    )
