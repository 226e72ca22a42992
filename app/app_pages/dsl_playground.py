"""DSL playground: type or paste a workflow, see errors (line:column, caret, hint), a summary and the graph."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # when the page runs on its own (AppTest) and the package is not installed
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from app.components.editor_handoff import open_in_editor  # noqa: E402
from app.components.graph_view import legend_markdown, render_graph  # noqa: E402
from app.components.issues_view import render_issues  # noqa: E402
from app.components.ui import count  # noqa: E402
from engine.dsl import DSLError, analyze, check, to_dsl, to_graph  # noqa: E402
from engine.dsl.examples import EXTENDED_EXAMPLES, SEED_EXAMPLES  # noqa: E402
from engine.dsl.graph import to_mermaid  # noqa: E402

log = logging.getLogger("workbench.app")

# Named by what each workflow does (the engine keeps the seed document's section names as keys)
EXAMPLE_TITLES = {
    "§2.1 current workflow": "Validate input, then process or report an error",
    "§5.1.1 translator output": "Handle a request: validate, process and notify, or reject",
    "§7.1 translate response (file upload)": "File upload: check the format, scan for viruses, store or quarantine",
    "§8.2 prompt example": "Validate, then process or fail (smallest decision)",
    "Appendix C.1 e-commerce order processing": "Order processing: stock check, payment, shipping or refund",
    "Appendix C.2 CI/CD pipeline (parallel)": "CI/CD pipeline: tests in parallel, staging, approval, production",
    "Appendix C.3 support tickets": "Support tickets: classify, answer from the knowledge base or escalate",
    "Extended: loan check (parallel, NL condition, @error)": (
        "Loan check: two scores in parallel, a plain-language condition, an error path"
    ),
}
_ALL = {**SEED_EXAMPLES, **EXTENDED_EXAMPLES}
EXAMPLES = {EXAMPLE_TITLES.get(k, k): v for k, v in _ALL.items()}
DEFAULT_EXAMPLE = EXAMPLE_TITLES["Appendix C.2 CI/CD pipeline (parallel)"]
GRAPH_WIDTH = 660  # px of the graph column (8/12 of the wide layout) at the usual window size


def _load_example() -> None:
    st.session_state["dsl_text"] = EXAMPLES[st.session_state["dsl_example"]].strip() + "\n"


def _init_state() -> None:
    if st.session_state.get("dsl_example") not in EXAMPLES:
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
            f"{count(len(report.errors), 'error')}, {count(len(report.warnings), 'warning')}: the workflow cannot run yet.",
            icon=":material/block:",
        )
    elif report.warnings:
        st.success(
            f"Valid — {count(len(model.states), 'state')}, {count(len(model.transitions), 'transition')} "
            f"({count(len(report.warnings), 'warning')} below).",
            icon=":material/check_circle:",
        )
    else:
        st.success(
            f"Valid — {count(len(model.states), 'state')}, {count(len(model.transitions), 'transition')}.",
            icon=":material/check_circle:",
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
    left, right = st.columns([4, 8], gap="large")
    with left:
        st.selectbox("Start from an example", list(EXAMPLES), key="dsl_example", on_change=_load_example)
        text = st.text_area(
            "Workflow DSL",
            key="dsl_text",
            height=420,
            help="Statements end with ';'. '#' starts a comment. start and end are reserved.",
        )
        if st.button(
            "Open in the editor",
            icon=":material/design_services:",
            help="Continue with this workflow in the Editor (steps, settings, save as a new workflow)",
        ):
            name = (
                st.session_state["dsl_example"]
                if text.strip() == EXAMPLES[st.session_state["dsl_example"]].strip()
                else "Playground draft"
            )
            open_in_editor(text, name)
    try:
        model, report = check(text)
    except DSLError as exc:
        with left:
            st.error(f"The DSL does not parse ({count(len(exc.issues), 'problem')}).", icon=":material/block:")
            render_issues(exc.issues)
        with right:
            st.info("The graph appears once the DSL parses.", icon=":material/info:")
        return
    with left:
        render_issues(report.errors)
        if len(report.warnings) > 2:
            with st.expander(f"{count(len(report.warnings), 'warning')}", expanded=False, icon=":material/warning:"):
                render_issues((), report.warnings)
        else:
            render_issues((), report.warnings)
    with right:
        _summary(model, report)
        graph = to_graph(model)
        selected = render_graph(graph, width_hint=GRAPH_WIDTH)  # the clicked state (None until a click)
        st.markdown(legend_markdown(False), unsafe_allow_html=True)
        st.caption("Scroll the page as usual over the graph; zoom with the buttons at its top right.")
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
