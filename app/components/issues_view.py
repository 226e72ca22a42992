"""Show DSL errors and warnings: line:column, the excerpt with a caret, and the hint — never a traceback."""

from __future__ import annotations

from collections.abc import Iterable

from engine.errors import Issue


def issue_markdown(issue: Issue) -> str:
    """Markdown for one finding: bold location + message, excerpt in a code block, hint below."""
    where = f"line {issue.line}, column {issue.column}" if issue.line is not None else "workflow"
    parts = [f"**{where}:** {_escape(issue.message)}"]
    if issue.excerpt:
        parts.append(f"```text\n{issue.excerpt}\n```")
    if issue.hint:
        parts.append(f"Hint: {_escape(issue.hint)}")
    return "\n\n".join(parts)


def _escape(text: str) -> str:
    # keep user text literal in Markdown (state names with '_' , conditions with '*' or '[...]')
    for ch in "\\`*_{}[]<>()#+-.!|$~":
        text = text.replace(ch, "\\" + ch)
    return text


def render_issues(errors: Iterable[Issue], warnings: Iterable[Issue] = ()) -> None:
    """One ``st.error`` per error and one ``st.warning`` per warning."""
    import streamlit as st

    for issue in errors:
        st.error(issue_markdown(issue), icon=":material/error:")
    for issue in warnings:
        st.warning(issue_markdown(issue), icon=":material/warning:")
