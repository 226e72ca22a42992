"""Caching rule: replay recorded runs to find deterministic states that repeated the same inputs."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from engine import records
from engine.dsl.model import START
from engine.optimizer.settings import CACHE_MIN_MS, CACHE_MIN_REPEATS, MAX_CONTEXT_RUNS
from engine.optimizer.side_effects import side_effect_of
from engine.optimizer.statistics import median
from engine.optimizer.suggestion import Suggestion
from engine.optimizer.target import Target

_MISSING = "\u2205missing"


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def state_inputs(store, workflow_id: str, version: int, limit_runs: int = MAX_CONTEXT_RUNS) -> list[dict]:
    """Replay recorded runs to recover, for each completion, the values of the keys it read.

    Returns rows {state, execution_id, token, input_hash, output_hash, duration_ms}. Contexts are rebuilt
    with :class:`engine.merge.ContextReplay`: a branch token starts from its parent's context and a join
    merges the branches with the runner's own merge rule (first branch in branch order wins).
    """
    from engine.merge import ContextReplay

    init = records.initial_contexts(store, workflow_id, version, ("completed", "failed"), limit_runs)
    if not init:
        return []
    # every status: a branch is named by its first recorded state, even when that state failed
    rows = records.transitions_of_runs(store, list(init))
    out: list[dict] = []
    replay = ContextReplay()
    current = None
    for r in rows:
        if r["execution_id"] != current:
            current = r["execution_id"]
            replay = ContextReplay(init.get(current) or {})
        tok = r["token"] or "0"
        if r["status"] == "completed" and r["from_state"] != START:
            reads = records.loads(r["keys_read"]) if r["keys_read"] else None
            if reads is not None:
                ctx = replay.context(tok)
                snap = records.loads(r["context_snapshot"], {}) if r["context_snapshot"] else {}
                inputs = {k: ctx.get(k, _MISSING) for k in sorted(reads)}
                out.append(
                    {
                        "state": r["from_state"],
                        "execution_id": current,
                        "token": tok,
                        "input_hash": _hash(inputs),
                        "output_hash": _hash(snap if isinstance(snap, dict) else {}),
                        "duration_ms": float(r["duration_ms"] or 0.0),
                    }
                )
        replay.apply(r)
    return out


def suggest_caching(store, target: Target, run: dict) -> list[Suggestion]:
    """Suggest caching a slow state that returned the same output every time it saw the same inputs."""
    rows = state_inputs(store, target.workflow_id, target.version)
    by_state: dict[str, list[dict]] = {}
    for r in rows:
        by_state.setdefault(r["state"], []).append(r)
    out = []
    base = run["median_ms"] or 0.0
    n_runs = max(1, len({r["execution_id"] for r in rows}))
    for s, items in by_state.items():
        if s not in target.spec.model.states:
            continue
        b = target.spec.binding(s)
        if b.action in ("noop", "approval", "workflow", "wait") or side_effect_of(b):
            continue  # nothing to save, a person or a sub-workflow, or an effect that must happen every time
        med = median([i["duration_ms"] for i in items]) or 0.0
        if med < CACHE_MIN_MS:
            continue
        groups: dict[str, list[dict]] = {}
        for i in items:
            groups.setdefault(i["input_hash"], []).append(i)
        repeated = {h: g for h, g in groups.items() if len(g) > 1}
        repeats = sum(len(g) - 1 for g in repeated.values())
        if repeats < CACHE_MIN_REPEATS:
            continue
        if any(len({i["output_hash"] for i in g}) > 1 for g in repeated.values()):
            continue  # same inputs gave different outputs: not deterministic
        saved = sum(sum(i["duration_ms"] for i in g[1:]) for g in repeated.values())
        per_run = saved / n_runs
        keys = ", ".join(sorted(_reads_of(store, target, s))) or "its inputs"
        on_branch = any(i["token"] != "0" for i in items)
        if on_branch:
            # in a parallel branch the run is only faster when the slowest branch is: count work saved instead
            state_ms = _total_state_ms(rows)
            pct = 100.0 * saved / state_ms if state_ms else 0.0
            kind_type, gain, effect = (
                "cost",
                0.0,
                (
                    f"It runs in a parallel branch, so the run gets faster only if the slowest branch does; it "
                    f"would have saved {pct:.0f}% of the recorded state time (work, not wall-clock time)."
                ),
            )
        else:
            pct = 100.0 * per_run / base if base else 0.0
            kind_type, gain, effect = (
                ("performance" if b.action != "llm" else "cost"),
                per_run,
                (f"{per_run / 1000:.2f} s per run on average ({pct:.0f}% of the median run)."),
            )
        n_sets = len(repeated)
        out.append(
            Suggestion(
                "cache_state",
                kind_type,
                f"Cache the results of '{s}'",
                f"'{s}' is deterministic in the records: {repeats} completions repeated inputs seen before "
                f"({n_sets} distinct input set{'s' if n_sets != 1 else ''}) and every repeat returned the same output. "
                f"It takes {med / 1000:.2f} s (median); a cache keyed on the values of {keys} would have saved "
                f"{saved / 1000:.2f} s in total: {effect} Only cache it if it has no side effects and reads nothing "
                "outside the context that changes (files, tables, services).",
                {
                    "completions": len(items),
                    "distinct_inputs": len(groups),
                    "repeated_inputs": n_sets,
                    "repeat_calls": repeats,
                    "identical_outputs": True,
                    "median_ms": round(med, 1),
                    "saved_ms_total": round(saved, 1),
                    "runs_replayed": n_runs,
                    "parallel_branch": on_branch,
                },
                round(pct, 1),
                "medium",
                3,
                {
                    "state": s,
                    "cache_key": sorted(_reads_of(store, target, s)),
                    "note": "the engine has no state cache yet: memoize inside the function or its service",
                },
                reasoning="hash of the values of keys_read (reconstructed by replaying the run) vs hash of the "
                "updates returned; deterministic when every repeated input gave one output",
                key=s,
                gain_ms=gain,
            )
        )
    return out


def _total_state_ms(rows: list[dict]) -> float:
    return sum(r["duration_ms"] for r in rows)


def _reads_of(store, target: Target, state: str) -> set:
    keys: set = set()
    for value in records.state_read_key_sets(store, target.workflow_id, target.version, state):
        if value:
            keys.update(records.loads(value, []))
    return keys
