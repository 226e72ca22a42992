"""Read models and small helpers for the Streamlit workbench (``app/``), one module per concern.

:mod:`~engine.workbench.drafts` (DSL checks, templates, editing), :mod:`~engine.workbench.runs` (run
views, starting and answering runs), :mod:`~engine.workbench.library` (the workflow library),
:mod:`~engine.workbench.ai` (translation, explanations, AI settings), :mod:`~engine.workbench.system`
(cluster and store facts), :mod:`~engine.workbench.common` (the error type, JSON input). Plain
Python, testable without Streamlit; the store is read through :mod:`engine.records`.
"""
