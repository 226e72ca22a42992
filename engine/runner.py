"""Compatibility module: the run engine now lives in the package :mod:`engine.run` (see its
docstring for the module map). Everything that was imported from here still is."""

from __future__ import annotations

from engine.run.attempts import CHEAP_STATE_MS
from engine.run.control import HUMAN_POLL_S
from engine.run.driver import (
    _ENGINES,
    _ENGINES_LOCK,
    MAX_FINISHED_SUMMARIES,
    MAX_RETAINED_RUNS,
    RECENT_RESULTS,
    RECENT_RESULTS_BYTES,
    Engine,
    get_engine,
)
from engine.run.outcome import Outcome
from engine.run.state import (
    DRIVER_ACTIONS,
    REPO_ROOT,
    ExecutionResult,
    RunError,
    RunOptions,
)
from engine.run.state import Exec as _Exec
from engine.run.state import FinishedRun as _FinishedRun
from engine.run.state import Token as _Token
from engine.run.state import now as _now

__all__ = [
    "CHEAP_STATE_MS",
    "DRIVER_ACTIONS",
    "HUMAN_POLL_S",
    "MAX_FINISHED_SUMMARIES",
    "MAX_RETAINED_RUNS",
    "RECENT_RESULTS",
    "RECENT_RESULTS_BYTES",
    "REPO_ROOT",
    "Engine",
    "ExecutionResult",
    "Outcome",
    "RunError",
    "RunOptions",
    "_ENGINES",
    "_ENGINES_LOCK",
    "_Exec",
    "_FinishedRun",
    "_Token",
    "_now",
    "get_engine",
]
