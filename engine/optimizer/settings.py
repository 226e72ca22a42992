"""The advisor's thresholds, the cheaper-model table and its error type."""

from __future__ import annotations

from engine.errors import WorkbenchError

MIN_RUNS = 3  # finished runs of a version before the advisor scores it or proposes structural changes
MIN_COMPARE = 5  # completed runs per version before a comparison states significance
ALPHA = 0.05
MIN_GAIN_MS = 50.0  # a parallel group must save at least this much per run…
MIN_GAIN_SHARE = 0.03  # …and this share of the median run
CACHE_MIN_MS = 100.0  # a state must take this long (median) to be worth caching
CACHE_MIN_REPEATS = 2  # repeated identical inputs before caching is suggested
TIMEOUT_MIN_SAMPLES = 10
RETRY_MIN_FAILURES = 2
ALWAYS_FAILS = 0.9  # a state failing at least this share of its attempts needs fixing, not retries
MAX_CONTEXT_RUNS = 300  # runs replayed to reconstruct state inputs (cache analysis)
STATUSES = ("suggested", "accepted", "rejected", "implemented")
AUTOMATIC_KINDS = ("parallelize", "retry", "timeout")
CHEAPER_MODEL = {  # same family, cheaper: (from prefix, to model)
    "gpt-4o-mini": None,
    "gpt-4.1-nano": None,
    "gpt-5-nano": None,
    "gpt-3.5-turbo": None,
    "gpt-4o": "gpt-4o-mini",
    "gpt-4.1-mini": "gpt-4.1-nano",
    "gpt-4.1": "gpt-4.1-mini",
    "gpt-4-turbo": "gpt-4o-mini",
    "gpt-4": "gpt-4o-mini",
    "gpt-5-mini": "gpt-5-nano",
    "gpt-5": "gpt-5-mini",
    "o1-mini": "o4-mini",
    "o1": "o3",
    "o3-mini": "o4-mini",
    "o3": "o4-mini",
}


class OptimizerError(WorkbenchError):
    """The advisor cannot do what was asked (unknown workflow or suggestion, stale change…)."""
