"""What every workbench module shares: the error a person can act on, paths, JSON typed by a user."""

from __future__ import annotations

from pathlib import Path

from engine.errors import WorkbenchError
from engine.records import loads

__all__ = ["ServiceError", "REPO_ROOT", "TEMPLATES_DIR", "parse_context_json", "loads"]

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES_DIR = REPO_ROOT / "data" / "templates"


class ServiceError(WorkbenchError):
    """A workbench action could not be done; the message says what to do."""


def parse_context_json(text: str) -> dict:
    """The initial context typed by a user; raises ServiceError with line/column on bad JSON."""
    from engine.context_input import ContextInputError, parse_context_text

    try:
        return parse_context_text(text or "", what="the initial context")
    except ContextInputError as exc:  # also huge integers, deep nesting, NaN, lone surrogates
        raise ServiceError(str(exc)) from None
