"""Reliability rules: retries with backoff, error paths for data errors, timeouts, always-failing states."""

from __future__ import annotations

import json
import math

from engine import records
from engine.optimizer.settings import ALWAYS_FAILS, RETRY_MIN_FAILURES, TIMEOUT_MIN_SAMPLES
from engine.optimizer.side_effects import side_effect_of
from engine.optimizer.statistics import _nice_ceil
from engine.optimizer.suggestion import Suggestion
from engine.optimizer.target import Target


def suggest_reliability(store, target: Target, run: dict) -> list[Suggestion]:
    """Retry/backoff for error-prone states; an error path for data errors; timeouts from observed p99."""
    from engine.recovery import classify

    wid, ver = target.workflow_id, target.version
    out: list[Suggestion] = []
    att = records.state_attempts(store, wid, ver)
    ultimately = records.visits_failed_after_recovery(store, wid, ver)
    errors = records.state_error_counts(store, wid, ver)
    by_state: dict[str, list[dict]] = {}
    for e in errors:
        by_state.setdefault(e["state"], []).append(e)
    finished = max(1, run["finished"])
    for r in att:
        s, attempts, failed = r["state"], int(r["attempts"]), int(r["failed"])
        if failed < RETRY_MIN_FAILURES or s not in target.spec.model.states:
            continue
        errs = by_state.get(s, [])
        classes: dict[str, int] = {}
        for e in errs:
            c = classify(e["error_type"], e["example"] or "")
            classes[c] = classes.get(c, 0) + int(e["n"])
        main_class = max(classes, key=classes.get) if classes else "unknown"
        p = failed / attempts
        visits = int(r["visits"])
        lost = ultimately.get(s, 0)
        f_now = lost / visits if visits else 0.0
        evidence = {
            "attempts": attempts,
            "failed_attempts": failed,
            "attempt_failure_rate": round(100 * p, 2),
            "visits": visits,
            "visits_failed_after_recovery": lost,
            "errors": [
                {"error_type": e["error_type"], "count": int(e["n"]), "example": (e["example"] or "")[:200]}
                for e in errs[:5]
            ],
            "error_classes": classes,
        }
        binding = target.spec.binding(s)
        current = binding.retry.max_attempts if binding.retry else 1
        if p >= ALWAYS_FAILS:
            continue  # suggest_failing_states: it needs fixing, not retries or an error path
        if main_class == "data":
            has_error_path = any(t.is_error for t in target.spec.model.outgoing(s))
            if has_error_path or lost == 0:
                continue
            out.append(
                Suggestion(
                    "fix_errors",
                    "reliability",
                    f"Handle the data errors of '{s}'",
                    f"'{s}' failed {failed} of {attempts} attempts with data errors "
                    f"({', '.join(e['error_type'] for e in errs[:3])}); retrying will not help. {lost} run(s) stopped "
                    f"there. Validate the input earlier or add an error path such as '{s}->handle_{s}_error:@error;'.",
                    evidence,
                    round(100.0 * lost / finished, 1),
                    "medium",
                    4 if lost / finished > 0.05 else 3,
                    {"state": s, "add_error_transition": f"{s}->handle_{s}_error:@error;"},
                    reasoning="data errors (ValueError, KeyError…) repeat on retry",
                    key=s,
                    success_gain=0.0,
                )
            )
            continue
        k = max(2, min(6, math.ceil(math.log(0.01) / math.log(p)))) if p > 0 else 2
        if current >= k:
            continue
        backoff = 1.0 if any(w in json.dumps(evidence["errors"]).lower() for w in ("timeout", "rate", "429")) else 0.5
        f_new = p**k
        gain_points = max(0.0, (f_now - f_new) * 100.0) * (visits / finished)
        out.append(
            Suggestion(
                "retry",
                "reliability",
                f"Retry '{s}' with exponential backoff",
                f"'{s}' failed {failed} of {attempts} attempts ({100 * p:.1f}%), mostly {main_class} errors "
                f"({', '.join(e['error_type'] for e in errs[:3])}); {lost} of {visits} visits still failed after "
                f"recovery. With up to {k} attempts and a {backoff:g} s backoff doubling each time, the chance that "
                f"all attempts fail is {100 * f_new:.2f}% if failures are independent (now {100 * f_now:.1f}%)."
                + (
                    f" Note: {effect}, and an attempt that failed after acting repeats it: make it idempotent "
                    "(an idempotency key, or check before acting) before adding retries."
                    if (effect := side_effect_of(binding))
                    else ""
                ),
                evidence,
                round(gain_points, 1),
                "low",
                5 if f_now >= 0.05 else 4 if f_now > 0 else 3,
                {
                    "state": s,
                    "retry": {"max_attempts": k, "backoff_s": backoff, "backoff_factor": 2.0},
                    "before": binding.retry.model_dump() if binding.retry else None,
                },
                reasoning=(
                    "max_attempts = smallest k with p^k ≤ 1% (2..6), p = observed attempt failure rate; "
                    "predicted success gain = (visit failure rate now − p^k) × visits per run"
                ),
                key=s,
                success_gain=gain_points,
            )
        )
    # timeouts from observed p99
    dur = records.state_duration_quantiles(store, wid, ver)
    for r in dur:
        s = r["state"]
        if s not in target.spec.model.states:
            continue
        b = target.spec.binding(s)
        if (
            b.timeout_s is not None
            or b.action in ("noop", "approval", "workflow", "wait")
            or int(r["n"]) < TIMEOUT_MIN_SAMPLES
        ):
            continue
        if not r["on_ray"] and b.execution != "inline":
            continue  # auto-inlined cheap states: a timeout would move them to Ray for nothing
        p99, mx = float(r["p99"]), float(r["mx"])
        timeout_s = _nice_ceil(max(2 * p99, p99 + 1000.0, 1.2 * mx) / 1000.0)
        out.append(
            Suggestion(
                "timeout",
                "reliability",
                f"Give '{s}' a timeout of {timeout_s:g} s",
                f"'{s}' has no timeout: a hung call would hold the run forever. Over {int(r['n'])} completions "
                f"its p99 was {p99 / 1000:.2f} s (max {mx / 1000:.2f} s); a {timeout_s:g} s timeout (≥ 2 × p99 and "
                f"above every observed duration) would have stopped none of them.",
                {
                    "completions": int(r["n"]),
                    "p50_ms": round(float(r["p50"]), 1),
                    "p95_ms": round(float(r["p95"]), 1),
                    "p99_ms": round(p99, 1),
                    "max_ms": round(mx, 1),
                },
                0.0,
                "low",
                2,
                {"state": s, "timeout_s": timeout_s},
                reasoning="timeout = max(2 × p99, p99 + 1 s, 1.2 × max), rounded up to a round number",
                key=s,
            )
        )
    return out


def suggest_failing_states(store, target: Target, run: dict) -> list[Suggestion]:
    """The worst problem first: a state whose attempts (almost) always fail, with its error.

    Reported from ``RETRY_MIN_FAILURES`` failed attempts on, even before the version has ``MIN_RUNS``
    finished runs: retries and parallelism are beside the point while a step stops every run.
    """
    wid, ver = target.workflow_id, target.version
    rows = records.state_attempts(store, wid, ver)
    finished = max(1, run["finished"])
    out: list[Suggestion] = []
    for r in rows:
        s, attempts, failed = r["state"], int(r["attempts"]), int(r["failed"])
        if failed < RETRY_MIN_FAILURES or failed / attempts < ALWAYS_FAILS or s not in target.spec.model.states:
            continue
        runs_n, stopped = int(r["runs"]), int(r["runs"]) - int(r["completed_runs"])
        every = "every time" if failed == attempts else f"in {100 * failed / attempts:.0f}% of its attempts"
        message = (r["example"] or "").strip().splitlines()[0][:300] if r["example"] else "(no message recorded)"
        out.append(
            Suggestion(
                "fix_failing_state",
                "reliability",
                f"'{s}' fails {every}: fix it first",
                f"'{s}' failed {failed} of {attempts} attempts in {runs_n} run(s) of v{ver}; it stopped "
                f"{stopped} of the {run['finished']} finished runs. The last error: {r['error_type']}: {message}. "
                "Retries will not help a step that fails every time: fix its code, its input or the service it "
                "calls (History shows the failed runs with their context), or add an error path "
                f"'{s}->handle_{s}_error:@error;' so runs end cleanly.",
                {
                    "attempts": attempts,
                    "failed_attempts": failed,
                    "runs_reaching_it": runs_n,
                    "runs_stopped_there": stopped,
                    "finished_runs": run["finished"],
                    "last_error": {"error_type": r["error_type"], "message": message},
                },
                round(100.0 * stopped / finished, 1),
                "medium",
                5,
                {"state": s, "note": f"fix '{s}': {r['error_type']}: {message}"},
                reasoning="failed attempts / attempts ≥ 90%: the step needs fixing before anything else; "
                "estimated improvement = share of finished runs that stopped there (success-rate points)",
                key=s,
                success_gain=100.0 * stopped / finished,
            )
        )
    return out
