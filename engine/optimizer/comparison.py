"""Comparing two versions (Mann–Whitney U, Fisher) and measuring an implemented suggestion's effect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import records
from engine.optimizer.decisions import _append, _now, get_record
from engine.optimizer.settings import ALPHA, MIN_COMPARE, OptimizerError
from engine.optimizer.statistics import _quantile, fisher_exact, mann_whitney_u, median
from engine.optimizer.target import completed_durations


def version_sample(store, workflow_id: str, version: int, since: datetime | None = None) -> dict:
    """Finished runs of one version: counts, success rate and the durations of its completed runs."""
    rows = records.run_outcomes(store, workflow_id, version, finished_only=True, since=since)
    durations = completed_durations(rows)
    completed = sum(1 for r in rows if r["status"] == "completed")
    return {
        "version": int(version),
        "finished": len(rows),
        "completed": completed,
        "failed": len(rows) - completed,
        "success_rate": round(100.0 * completed / len(rows), 2) if rows else None,
        "durations_ms": durations,
        "median_ms": median(durations),
        "mean_ms": (sum(durations) / len(durations)) if durations else None,
        "p95_ms": _quantile(durations, 0.95),
    }


def compare_versions(
    store, workflow_id: str, version_a: int, version_b: int, *, alpha: float = ALPHA, min_runs: int = MIN_COMPARE
) -> dict:
    """Durations (completed runs) and success rates (finished runs) of two versions, with significance."""
    a, b = version_sample(store, workflow_id, version_a), version_sample(store, workflow_id, version_b)
    out: dict[str, Any] = {"workflow_id": workflow_id, "a": a, "b": b, "alpha": alpha, "min_runs": min_runs}
    lines = []
    na, nb = len(a["durations_ms"]), len(b["durations_ms"])
    if a["median_ms"] and b["median_ms"]:
        out["duration_change_pct"] = round(100.0 * (b["median_ms"] - a["median_ms"]) / a["median_ms"], 2)
        out["speedup"] = round(a["median_ms"] / b["median_ms"], 3)
    if min(na, nb) < min_runs:
        out["duration_test"] = None
        out["enough_runs"] = False
        lines.append(
            f"Not enough runs to judge durations: version {version_a} has {na} and version {version_b} has "
            f"{nb} completed run(s); run each at least {min_runs} times."
        )
        if na and nb:
            lines.append(
                f"So far the medians are {a['median_ms'] / 1000:.2f} s vs {b['median_ms'] / 1000:.2f} s "
                "(not a conclusion)."
            )
    else:
        out["enough_runs"] = True
        t = mann_whitney_u(a["durations_ms"], b["durations_ms"])
        out["duration_test"] = t
        sig = t["p_value"] < alpha
        change = out["duration_change_pct"]
        direction = "faster" if change < 0 else "slower"
        lines.append(
            f"Median duration {b['median_ms'] / 1000:.2f} s (v{version_b}) vs {a['median_ms'] / 1000:.2f} s "
            f"(v{version_a}): {abs(change):.1f}% {direction}, ×{out['speedup']:.2f}. Mann–Whitney U = {t['u']:g}, "
            f"{t['method']} two-sided p = {t['p_value']:.4f} (n = {na} vs {nb}): "
            + (
                f"significant at the {alpha:.0%} level."
                if sig
                else f"not significant at the {alpha:.0%} level; the difference may be noise."
            )
        )
        out["duration_significant"] = sig
    fa, fb = a["finished"], b["finished"]
    if fa and fb:
        p = fisher_exact(a["completed"], a["failed"], b["completed"], b["failed"])
        out["success_test"] = {"test": "fisher_exact", "p_value": p, "n_a": fa, "n_b": fb}
        verdict = (
            "not enough runs to judge"
            if min(fa, fb) < min_runs
            else ("significant" if p < alpha else "not significant") + f" at the {alpha:.0%} level"
        )
        lines.append(
            f"Success rate {b['success_rate']:.0f}% ({b['completed']}/{fb}) vs {a['success_rate']:.0f}% "
            f"({a['completed']}/{fa}); Fisher's exact p = {p:.3f}: {verdict}."
        )
    out["statement"] = " ".join(lines)
    return out


def record_actual_improvement(store, suggestion_id: str) -> dict:
    """Compare the suggestion's version with the version that implemented it and store the measurement.

    actual_improvement: % of median duration saved (performance), success-rate points gained (reliability),
    None when either version has no completed runs.
    """
    rec = get_record(store, suggestion_id)
    if not rec.get("implemented_version"):
        raise OptimizerError(f"suggestion {rec['id']} is not implemented yet: accept it first")
    cmp = compare_versions(store, rec["workflow_id"], int(rec["version"]), int(rec["implemented_version"]))
    if rec["optimization_type"] == "reliability":
        sa, sb = cmp["a"]["success_rate"], cmp["b"]["success_rate"]
        actual = round(sb - sa, 2) if sa is not None and sb is not None else None
    else:
        actual = -cmp["duration_change_pct"] if "duration_change_pct" in cmp else None
    evidence = dict(rec["evidence"] or {})
    evidence["measured"] = {
        "statement": cmp["statement"],
        "n_a": len(cmp["a"]["durations_ms"]),
        "n_b": len(cmp["b"]["durations_ms"]),
        "median_a_ms": cmp["a"]["median_ms"],
        "median_b_ms": cmp["b"]["median_ms"],
        "speedup": cmp.get("speedup"),
        "p_value": (cmp.get("duration_test") or {}).get("p_value"),
        "enough_runs": cmp.get("enough_runs"),
        "measured_at": _now().isoformat(),
    }
    _append(store, rec, actual_improvement=actual, evidence=evidence)
    cmp["actual_improvement"] = actual
    cmp["estimated_improvement"] = rec["estimated_improvement"]
    return cmp
