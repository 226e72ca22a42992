"""The optimization advisor: a score, evidence-based suggestions, accepting them, and measuring the result.

Everything here is derived from the records (``state_transitions``, ``workflow_executions``,
``recovery_actions``, ``ai_decisions``, ``llm_calls``) of one workflow version. With a model
configured the LLM only writes the narrative; every number and every suggestion stands alone offline.

**Score (0–100)** — four transparent parts::

    score = 40·S + 30·(1 − P) + 15·T + 15·(1 − C)

* S: success rate of the version's finished runs (0..1);
* P: share of the median completed-run duration that the performance suggestions would save
  (parallelization + caching, capped at 1);
* T: tail latency, 1 when p95 ≤ 1.5 × p50 of completed runs, 0 when p95 ≥ 4 × p50, linear between;
* C: share of the workflow's LLM spending that is avoidable (repeated identical AI decisions, a cheaper
  model of the same family), 0 when nothing was spent.

``potential_score`` is the same formula with P = 0, C = 0 and S raised by the reliability
suggestions' predicted gain. Fewer than :data:`MIN_RUNS` finished runs: no score ("not enough runs").

**Parallelization** is proven from the keys each state read and wrote (``keys_read`` /
``keys_written`` of every recorded completion). Consecutive states ``a -> b`` of a plain chain
(one unconditional transition each, one way in, not inside an existing parallel group) may share a
parallel group only if, over every recorded run, b read no key a wrote, they wrote no common key, and no
condition between them reads a key a wrote. Reading a key the *later* state writes is allowed: each
branch starts from a copy of the context at the fork, so the earlier state still sees the old value.
The gain is predicted per recorded run: the sum of the group's durations minus its makespan on the
available parallel slots (Ray CPUs; longest-first greedy). States that ran inline (driver threads, which
overlap only while waiting) are counted as serial: a conservative prediction.

**Significance** of a version comparison: durations of completed runs by the Mann–Whitney U test
(exact distribution when there are no ties and n1 + n2 ≤ 60, else the normal approximation with tie and
continuity corrections), success rates by Fisher's exact test; two-sided, 5% level; fewer than
:data:`MIN_COMPARE` runs per version: "not enough runs".
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from engine import records
from engine.analytics import workflow_ids
from engine.dsl.model import END, START, Transition
from engine.dsl.printer import transition_text
from engine.dsl.validate import check
from engine.errors import WorkbenchError
from engine.schema import FINISHED_STATUSES
from engine.workflow_file import RetryPolicy, WorkflowSpec

log = logging.getLogger("workbench.optimizer")

MIN_RUNS = 3  # finished runs of a version before the advisor scores it or proposes structural changes
MIN_COMPARE = 5  # completed runs per version before a comparison states significance
ALPHA = 0.05
MIN_GAIN_MS = 50.0  # a parallel group must save at least this much per run…
MIN_GAIN_SHARE = 0.03  # …and this share of the median run
CACHE_MIN_MS = 100.0  # a state must take this long (median) to be worth caching
CACHE_MIN_REPEATS = 2  # repeated identical inputs before caching is suggested
TIMEOUT_MIN_SAMPLES = 10
RETRY_MIN_FAILURES = 2
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


# ====================================================================== statistics


def _quantile(xs: list[float], q: float) -> float | None:
    """Linear interpolation between order statistics (numpy's default, DuckDB's quantile_cont)."""
    if not xs:
        return None
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def median(xs: list[float]) -> float | None:
    return _quantile(xs, 0.5)


def _ranks(values: list[float]) -> tuple[list[float], list[int]]:
    """Mid-ranks (1-based) and the sizes of tied groups."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        r = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = r
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def _u_distribution(m: int, n: int) -> list[int]:
    """Counts of arrangements giving U = 0..m·n (no ties): coefficients of the Gaussian binomial [m+n, m]_q."""
    poly = [1]
    for i in range(1, m + 1):
        # multiply by (1 - q^(n+i))
        grown = poly + [0] * (n + i)
        for k in range(len(poly)):
            grown[k + n + i] -= poly[k]
        # divide by (1 - q^i): out[k] = grown[k] + out[k-i]
        for k in range(i, len(grown)):
            grown[k] += grown[k - i]
        poly = grown[: m * n + 1] if len(grown) > m * n + 1 else grown
    return (poly + [0] * (m * n + 1))[: m * n + 1]


def mann_whitney_u(x: list[float], y: list[float]) -> dict:
    """Two-sided Mann–Whitney U test of x vs y.

    Returns u (U of x: pairs with x > y, ties counting ½), u_y, p_value, method ("exact" or "normal"),
    n_x, n_y, the rank-biserial correlation (``effect``, positive when x tends to be larger) and the
    Hodges–Lehmann shift (median of y − x over all pairs).
    """
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    ranks, ties = _ranks(list(x) + list(y))
    r1 = sum(ranks[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2
    u2 = n1 * n2 - u1
    umin = min(u1, u2)
    if not ties and n1 + n2 <= 60:
        counts = _u_distribution(n1, n2)
        total = math.comb(n1 + n2, n1)
        p = min(1.0, 2 * sum(counts[: int(math.floor(umin)) + 1]) / total)
        method = "exact"
    else:
        n = n1 + n2
        mu = n1 * n2 / 2
        tie_term = sum(t**3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0.0
        var = n1 * n2 / 12 * ((n + 1) - tie_term)
        if var <= 0:
            p = 1.0
        else:
            z = max(0.0, abs(u1 - mu) - 0.5) / math.sqrt(var)
            p = min(1.0, math.erfc(z / math.sqrt(2)))
        method = "normal"
    diffs = sorted(b - a for a in x for b in y)
    return {
        "u": u1,
        "u_y": u2,
        "p_value": p,
        "method": method,
        "n_x": n1,
        "n_y": n2,
        "effect": 1 - 2 * u2 / (n1 * n2),
        "hodges_lehmann": median(diffs),
    }


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided Fisher exact test of [[a, b], [c, d]]: the sum of tables no more likely than the observed."""
    r1, r2, c1, n = a + b, c + d, a + c, a + b + c + d
    if n == 0:
        return 1.0
    denom = math.comb(n, c1)

    def prob(k: int) -> float:
        return math.comb(r1, k) * math.comb(r2, c1 - k) / denom

    p_obs = prob(a)
    lo, hi = max(0, c1 - r2), min(r1, c1)
    return min(1.0, sum(prob(k) for k in range(lo, hi + 1) if prob(k) <= p_obs * (1 + 1e-9)))


def makespan(durations: list[float], slots: int) -> float:
    """Longest-processing-time-first greedy schedule of ``durations`` on ``slots`` parallel workers."""
    if not durations:
        return 0.0
    slots = max(1, int(slots))
    loads = [0.0] * min(slots, len(durations))
    for d in sorted(durations, reverse=True):
        i = loads.index(min(loads))
        loads[i] += d
    return max(loads)


def parallel_slots() -> int:
    """How many states can run at once: the connected Ray cluster's CPUs, else WORKBENCH_RAY_CPUS, else
    the default a local cluster would get (max(2, cpu_count))."""
    cluster = sys.modules.get("ray_tasks.cluster")
    info = getattr(cluster, "_INFO", None) if cluster is not None else None
    if info is not None:
        try:
            cpus = int(info.resources.get("CPU", 0))
            if cpus > 0:
                return cpus
        except (TypeError, ValueError, AttributeError):
            pass
    env = os.environ.get("WORKBENCH_RAY_CPUS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    return max(2, os.cpu_count() or 2)


# ====================================================================== loading the target


@dataclass
class Target:
    workflow_id: str
    name: str
    version: int
    spec: WorkflowSpec


def _latest_version_with_runs(store, wid: str) -> int | None:
    return records.latest_version_with_runs(store, wid)


def load_spec(store, workflow_id: str, version: int | None) -> WorkflowSpec | None:
    """The spec of a saved version (the library), else the spec recorded with its latest run."""
    try:
        from engine import library

        spec, _meta = library.get_workflow(store, workflow_id, version)
        return spec
    except ImportError:
        pass
    except WorkbenchError:
        pass
    except Exception as exc:  # a half-finished library must not break analytics
        log.warning("library lookup failed: %s", exc)
    raw = records.recorded_spec(store, workflow_id, version)
    return WorkflowSpec.model_validate(raw) if raw else None


def resolve_target(store, workflow: str | WorkflowSpec, version: int | None = None) -> Target:
    """A workflow name or id, a path to a workflow file, or a spec -> the version whose records are analysed.

    For a file or spec the version is the one whose saved definition has the same DSL (newest first);
    otherwise the given version or the newest version that has finished runs.
    """
    spec: WorkflowSpec | None = None
    if isinstance(workflow, WorkflowSpec):
        spec = workflow
    elif str(workflow).endswith((".toml", ".dsl")) or os.path.sep in str(workflow):
        from engine.workflow_file import load_workflow

        spec = load_workflow(workflow)
    name = spec.name if spec is not None else str(workflow)
    ids = workflow_ids(store, name)
    if not ids:
        raise OptimizerError(
            f"no recorded runs of '{name}' yet: run it a few times first "
            f"(workbench run …), then ask for an optimization report"
        )
    if len(ids) > 1:  # several ids share the name: take the one run most recently
        wid = records.most_recently_run(store, list(ids)) or ids[0]
    else:
        wid = ids[0]
    if spec is not None and version is None:
        for ver in records.run_versions(store, wid):
            s = load_spec(store, wid, ver)
            if s is not None and s.dsl.strip() == spec.dsl.strip():
                version = ver
                break
        if version is None:
            raise OptimizerError(
                f"no recorded runs of this definition of '{name}' (its DSL differs from every "
                "version that has runs): run it a few times first"
            )
    if version is None:
        version = _latest_version_with_runs(store, wid)
        if version is None:
            raise OptimizerError(f"'{name}' has no recorded runs yet: run it a few times first")
    loaded = load_spec(store, wid, version)
    if loaded is None:
        if spec is None:
            raise OptimizerError(f"cannot find the definition of '{name}' version {version}")
        loaded = spec
    return Target(wid, loaded.name, int(version), loaded)


# ====================================================================== suggestions


@dataclass
class Suggestion:
    kind: str  # parallelize | retry | fix_errors | timeout | cache_state | llm_cache | llm_model
    optimization_type: str  # performance | reliability | cost | ux
    title: str
    description: str
    evidence: dict
    estimated_improvement: float  # % of the median run time, or success-rate points for reliability
    implementation_effort: str  # low | medium | high
    priority: int  # 1..5 (5 = do first)
    proposed_changes: dict
    reasoning: str = ""
    workflow_id: str = ""
    version: int = 0
    key: str = ""
    id: str = ""
    status: str = "suggested"
    gain_ms: float = 0.0  # predicted saving per run (performance)
    success_gain: float = 0.0  # predicted success-rate gain, in points (reliability)
    cost_saving_usd: float = 0.0

    @property
    def automatic(self) -> bool:
        return self.kind in AUTOMATIC_KINDS

    def finalize(self, workflow_id: str, version: int) -> Suggestion:
        self.workflow_id, self.version = workflow_id, int(version)
        self.id = hashlib.sha1(f"{workflow_id}:{version}:{self.kind}:{self.key}".encode()).hexdigest()[:12]
        self.proposed_changes = {"kind": self.kind, "automatic": self.automatic, **self.proposed_changes}
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["automatic"] = self.automatic
        d["type"] = self.optimization_type
        return d


@dataclass
class StateIO:
    state: str
    runs: int = 0
    completions: int = 0
    reads: set = field(default_factory=set)
    writes: set = field(default_factory=set)
    unknown: int = 0  # completions without recorded keys


def state_io(store, workflow_id: str, version: int) -> dict[str, StateIO]:
    """Union of the keys each state read and wrote over every recorded completion of the version."""
    rows = store.query(
        "SELECT from_state, keys_read, keys_written, count(*) AS n, count(DISTINCT execution_id) AS runs "
        "FROM state_transitions WHERE workflow_id = ? AND version = ? AND status = 'completed' "
        "AND from_state <> 'start' AND from_state NOT LIKE '[%' GROUP BY ALL",
        [workflow_id, int(version)],
    )
    runs = {
        r["from_state"]: r["runs"]
        for r in store.query(
            "SELECT from_state, count(DISTINCT execution_id) AS runs FROM state_transitions WHERE workflow_id = ? "
            "AND version = ? AND status = 'completed' GROUP BY 1",
            [workflow_id, int(version)],
        )
    }
    out: dict[str, StateIO] = {}
    for r in rows:
        io = out.setdefault(r["from_state"], StateIO(r["from_state"], runs=int(runs.get(r["from_state"], 0))))
        io.completions += int(r["n"])
        if r["keys_read"] is None or r["keys_written"] is None:
            io.unknown += int(r["n"])
            continue
        io.reads.update(records.loads(r["keys_read"], []))
        io.writes.update(records.loads(r["keys_written"], []))
    return out


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def dependency(a: StateIO, b: StateIO, conditions: tuple = ()) -> str | None:
    """Why ``b`` (running after ``a``) depends on ``a``, or None when they are independent in the records.

    ``conditions``: the :class:`Condition` objects on transitions between a and b.
    """
    if a.unknown or b.unknown:
        return "the keys read or written were not recorded for every run"
    raw = sorted(a.writes & b.reads)
    if raw:
        return f"'{b.state}' reads {', '.join(raw)} written by '{a.state}'"
    waw = sorted(a.writes & b.writes)
    if waw:
        return f"both write {', '.join(waw)}"
    for cond in conditions:
        if cond is None:
            continue
        if cond.kind == "natural":
            return "a natural-language condition between them may read anything"
        used = sorted({_top(v) for v in cond.variables} & a.writes)
        if used:
            return f"the condition '{cond.text}' reads {', '.join(used)} written by '{a.state}'"
    return None


@dataclass
class Chain:
    states: list[str]
    entry: Transition  # pred -> states[0]
    exit: Transition  # states[-1] -> next


def find_chains(spec: WorkflowSpec) -> list[Chain]:
    """Maximal plain chains: each state has one unconditional single-target transition out, one way in,
    is not part of a parallel group, and is not an approval (a person reads the context)."""
    model = spec.model
    incoming: dict[str, list[Transition]] = {}
    grouped: set[str] = set()
    for t in model.transitions:
        for d in t.targets:
            incoming.setdefault(d, []).append(t)
        if t.is_fan_out:
            grouped.update(t.targets)
        if t.is_fan_in:
            grouped.update(t.sources)

    def simple_out(s: str) -> Transition | None:
        outs = model.outgoing(s)
        if len(outs) == 1 and not outs[0].is_fan_out and outs[0].condition is None:
            return outs[0]
        return None

    def eligible(s: str) -> bool:
        if s in (START, END) or s in grouped or spec.binding(s).action == "approval":
            return False
        ins = incoming.get(s, [])
        if len(ins) != 1 or ins[0].is_fan_out or ins[0].is_fan_in or ins[0].source == s:
            return False
        return simple_out(s) is not None

    chains: list[Chain] = []
    seen: set[str] = set()
    for s in model.states:
        if s in seen or not eligible(s):
            continue
        pred = incoming[s][0].source
        if eligible(pred) and simple_out(pred) is not None and simple_out(pred).target == s:
            continue  # not the head of its chain
        states = [s]
        seen.add(s)
        while True:
            nxt = simple_out(states[-1]).target
            if nxt in seen or not eligible(nxt):
                break
            states.append(nxt)
            seen.add(nxt)
        chains.append(Chain(states, incoming[s][0], simple_out(states[-1])))
    return chains


def segments(chain: Chain, io: dict[str, StateIO], min_runs: int = MIN_RUNS) -> tuple[list[list[str]], list[dict]]:
    """Split a chain greedily into runs of pairwise independent states.

    Also returns why states were kept apart: ``{first, second, reason}`` for each dependent pair found,
    and ``{first: None, second, reason}`` for a state without enough recorded runs.
    """
    segs: list[list[str]] = []
    notes: list[dict] = []
    current: list[str] = []
    for s in chain.states:
        b = io.get(s)
        if b is None or b.runs < min_runs:
            notes.append(
                {
                    "first": None,
                    "second": s,
                    "reason": f"'{s}' has {0 if b is None else b.runs} recorded "
                    f"run(s), fewer than {min_runs}: its reads and writes are not proven yet",
                }
            )
            if current:
                segs.append(current)
            current = []
            continue
        reason = None
        for a_name in current:
            reason = dependency(io[a_name], b)
            if reason:
                notes.append({"first": a_name, "second": s, "reason": reason})
                break
        if reason is None:
            current.append(s)
        else:
            segs.append(current)
            current = [s]
    if current:
        segs.append(current)
    return segs, notes


def parallel_dsl(spec: WorkflowSpec, states: list[str]) -> str:
    """The canonical DSL with ``states`` (a consecutive part of a plain chain) turned into a parallel group."""
    model = spec.model
    chain = next((c for c in find_chains(spec) if _is_sub(states, c.states)), None)
    if chain is None:
        raise OptimizerError(
            f"{', '.join(states)} are no longer consecutive plain states of '{spec.name}'; "
            "analyse the current version again"
        )
    i = chain.states.index(states[0])
    entry = chain.entry if i == 0 else model.outgoing(chain.states[i - 1])[0]
    last = states[-1]
    exit_t = model.outgoing(last)[0]
    internal = {id(model.outgoing(s)[0]) for s in states[:-1]}
    lines = []
    for t in model.transitions:
        if t is entry:
            t = Transition(t.sources, tuple(states), t.condition, t.source_is_group, True)
        elif id(t) in internal:
            continue
        elif t is exit_t:
            t = Transition(tuple(states), t.targets, t.condition, True, t.target_is_group)
        lines.append(transition_text(t) + ";")
    text = "\n".join(lines) + "\n"
    _m, rep = check(text)
    if rep.errors:
        raise OptimizerError("the parallel version would not validate: " + "; ".join(str(e) for e in rep.errors))
    return text


def _is_sub(part: list[str], whole: list[str]) -> bool:
    n = len(part)
    return any(whole[i : i + n] == part for i in range(len(whole) - n + 1))


def _completion_rows(store, workflow_id: str, version: int, states: list[str]) -> list[dict]:
    marks = ", ".join("?" for _ in states)
    return store.query(
        f"SELECT execution_id, token, visit, from_state, sum(duration_ms) AS ms, "
        f"arg_max(executed_on, ended_at) AS executed_on FROM state_transitions "
        f"WHERE workflow_id = ? AND version = ? AND status = 'completed' AND from_state IN ({marks}) "
        f"GROUP BY ALL",
        [workflow_id, int(version)] + list(states),
    )


def predict_parallel_gain(rows: list[dict], states: list[str], slots: int) -> dict:
    """Per recorded run: Σ durations − (makespan of the Ray states on ``slots`` + Σ inline states).

    States that ran inline execute in threads of the driver process: they overlap only while they wait
    (I/O, sleep), not while they compute (the GIL), and the records cannot tell which. They are counted
    as serial, so the predicted gain is a lower bound for them.
    """
    by_run: dict[tuple, dict[str, tuple[float, str]]] = {}
    for r in rows:
        by_run.setdefault((r["execution_id"], r["token"], r["visit"]), {})[r["from_state"]] = (
            float(r["ms"] or 0.0),
            r["executed_on"] or "ray",
        )
    seq, par, gains = [], [], []
    for d in by_run.values():
        if any(s not in d for s in states):
            continue
        ray_d = [d[s][0] for s in states if d[s][1] == "ray"]
        inline_d = [d[s][0] for s in states if d[s][1] != "ray"]
        total = sum(d[s][0] for s in states)
        p = makespan(ray_d, slots) + sum(inline_d)
        seq.append(total)
        par.append(p)
        gains.append(total - p)
    return {
        "runs": len(gains),
        "sequential_ms": median(seq),
        "parallel_ms": median(par),
        "gain_ms": median(gains),
        "slots": slots,
    }


def _run_stats(store, wid: str, version: int) -> dict:
    rows = records.run_outcomes(store, wid, version)
    finished = [r for r in rows if r["status"] in FINISHED_STATUSES]
    completed = [float(r["duration_ms"]) for r in rows if r["status"] == "completed" and r["duration_ms"] is not None]
    return {
        "runs": len(rows),
        "finished": len(finished),
        "completed": sum(1 for r in finished if r["status"] == "completed"),
        "failed": sum(1 for r in finished if r["status"] == "failed"),
        "success_rate": (sum(1 for r in finished if r["status"] == "completed") / len(finished)) if finished else None,
        "durations": completed,
        "median_ms": median(completed),
        "p50_ms": median(completed),
        "p95_ms": _quantile(completed, 0.95),
        "p99_ms": _quantile(completed, 0.99),
    }


def suggest_parallel(
    store, target: Target, io: dict[str, StateIO], run: dict, slots: int
) -> tuple[list[Suggestion], list[dict]]:
    out: list[Suggestion] = []
    rejected: list[dict] = []
    base = run["median_ms"] or 0.0
    for chain in find_chains(target.spec):
        if len(chain.states) < 2:
            continue
        segs, deps = segments(chain, io)
        rejected += deps
        for seg in segs:
            if len(seg) < 2:
                continue
            pred = predict_parallel_gain(_completion_rows(store, target.workflow_id, target.version, seg), seg, slots)
            gain = pred["gain_ms"] or 0.0
            if pred["runs"] < MIN_RUNS or gain < MIN_GAIN_MS or (base and gain < MIN_GAIN_SHARE * base):
                rejected.append(
                    {
                        "first": seg[0],
                        "second": seg[-1],
                        "reason": f"independent, but the predicted gain ({gain:.0f} ms per run) is too small",
                    }
                )
                continue
            try:
                new_dsl = parallel_dsl(target.spec, seg)
            except OptimizerError as exc:
                rejected.append({"first": seg[0], "second": seg[-1], "reason": str(exc)})
                continue
            pct = 100.0 * gain / base if base else 0.0
            i = chain.states.index(seg[0])
            fork = chain.entry.source if i == 0 else chain.states[i - 1]
            join = target.spec.model.outgoing(seg[-1])[0].target
            reads = {s: sorted(io[s].reads) for s in seg}
            writes = {s: sorted(io[s].writes) for s in seg}
            runs_n = min(io[s].runs for s in seg)
            desc = (
                f"{_names(seg)} run one after another but are independent: across {runs_n} recorded runs "
                f"none of them read or wrote a key another of them wrote. Running them in parallel "
                f"({slots} parallel slot{'s' if slots != 1 else ''}) is predicted to save "
                f"{gain / 1000:.2f} s per run ({pct:.0f}% of the median {base / 1000:.2f} s). "
                "Side effects outside the context (files, e-mails, APIs) are not visible in the records: "
                "check that their order does not matter."
            )
            out.append(
                Suggestion(
                    "parallelize",
                    "performance",
                    f"Run {_names(seg)} in parallel",
                    desc,
                    {
                        "runs": runs_n,
                        "keys_read": reads,
                        "keys_written": writes,
                        "prediction": pred,
                        "median_run_ms": base,
                        "per_state_median_ms": _state_medians(store, target, seg),
                    },
                    round(pct, 1),
                    "low" if len(seg) <= 3 else "medium",
                    5 if pct >= 20 else 4 if pct >= 10 else 3,
                    {
                        "add_parallel_group": {"states": seg, "fork_from": fork, "join_at": join},
                        "states": seg,
                        "dsl": new_dsl,
                        "dsl_before": target.spec.dsl,
                    },
                    reasoning=(
                        "independence proven from keys_read/keys_written of every recorded completion; "
                        "gain = median over runs of (sum of durations − makespan on the parallel slots)"
                    ),
                    key=",".join(seg),
                    gain_ms=gain,
                )
            )
    return out, rejected


def _names(states: list[str]) -> str:
    quoted = [f"'{s}'" for s in states]
    return ", ".join(quoted[:-1]) + " and " + quoted[-1] if len(quoted) > 1 else quoted[0]


def _state_medians(store, target: Target, states: list[str]) -> dict:
    marks = ", ".join("?" for _ in states)
    rows = store.query(
        f"SELECT from_state, median(duration_ms) AS m FROM state_transitions WHERE workflow_id = ? AND version = ? "
        f"AND status = 'completed' AND from_state IN ({marks}) GROUP BY 1",
        [target.workflow_id, target.version, *states],
    )
    return {r["from_state"]: round(float(r["m"]), 1) for r in rows}


def suggest_reliability(store, target: Target, run: dict) -> list[Suggestion]:
    """Retry/backoff for error-prone states; an error path for data errors; timeouts from observed p99."""
    from engine.recovery import classify

    wid, ver = target.workflow_id, target.version
    out: list[Suggestion] = []
    att = store.query(
        """SELECT from_state AS state, count(*) AS attempts, count(*) FILTER (WHERE status = 'failed') AS failed,
               count(DISTINCT (execution_id, token, visit)) AS visits
           FROM state_transitions WHERE workflow_id = ? AND version = ? AND status IN ('completed', 'failed')
             AND from_state <> 'start' AND from_state NOT LIKE '[%' GROUP BY 1""",
        [wid, ver],
    )
    ultimately = {
        r["state"]: int(r["n"])
        for r in store.query(
            """WITH v AS (SELECT from_state AS state, execution_id, token, visit,
                       bool_or(status IN ('completed', 'skipped', 'fallback')) AS ok,
                       bool_or(status = 'failed') AS any_failed
                     FROM state_transitions WHERE workflow_id = ? AND version = ? GROUP BY ALL)
           SELECT state, count(*) FILTER (WHERE any_failed AND NOT ok) AS n FROM v GROUP BY 1""",
            [wid, ver],
        )
    }
    errors = store.query(
        """SELECT from_state AS state, coalesce(error_type, 'Error') AS error_type, count(*) AS n,
               arg_max(error_message, started_at) AS example
           FROM state_transitions WHERE workflow_id = ? AND version = ? AND status = 'failed'
           GROUP BY 1, 2 ORDER BY n DESC""",
        [wid, ver],
    )
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
        if p >= 0.9:
            continue  # a state that almost always fails needs fixing, not retries
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
                f"all attempts fail is {100 * f_new:.2f}% if failures are independent (now {100 * f_now:.1f}%).",
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
    dur = store.query(
        """SELECT from_state AS state, count(*) AS n, quantile_cont(duration_ms, 0.5) AS p50,
               quantile_cont(duration_ms, 0.95) AS p95, quantile_cont(duration_ms, 0.99) AS p99,
               max(duration_ms) AS mx, count(*) FILTER (WHERE executed_on = 'ray') AS on_ray
           FROM state_transitions WHERE workflow_id = ? AND version = ? AND status = 'completed'
             AND from_state <> 'start' AND from_state NOT LIKE '[%' GROUP BY 1 ORDER BY p99 DESC""",
        [wid, ver],
    )
    for r in dur:
        s = r["state"]
        if s not in target.spec.model.states:
            continue
        b = target.spec.binding(s)
        if b.timeout_s is not None or b.action in ("noop", "approval", "workflow") or int(r["n"]) < TIMEOUT_MIN_SAMPLES:
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


def _nice_ceil(x: float) -> float:
    """Round up to 1, 2, 2.5 or 5 × a power of ten."""
    if x <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * e >= x - 1e-12:
            return float(round(m * e, 6))
    return float(10 * e)


# --- caching deterministic states --------------------------------------------------------------

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
        if b.action in ("noop", "approval", "workflow") or (b.action == "http" and b.method != "GET"):
            continue
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
    rows = store.query(
        "SELECT DISTINCT keys_read FROM state_transitions WHERE workflow_id = ? AND version = ? "
        "AND from_state = ? AND status = 'completed'",
        [target.workflow_id, target.version, state],
    )
    keys: set = set()
    for r in rows:
        if r["keys_read"]:
            keys.update(records.loads(r["keys_read"], []))
    return keys


# --- LLM calls ----------------------------------------------------------------------------------


def suggest_llm(store, target: Target) -> list[Suggestion]:
    wid = target.workflow_id
    out: list[Suggestion] = []
    dup = store.query(
        """SELECT state, condition, context_hash, count(*) AS n FROM ai_decisions
           WHERE workflow_id = ? AND decided_by = 'ai' AND context_hash IS NOT NULL
           GROUP BY 1, 2, 3 HAVING count(*) > 1""",
        [wid],
    )
    costs = store.query(
        """SELECT coalesce(sum(cost_usd), 0) AS cost, count(*) FILTER (WHERE NOT coalesce(cache_hit, FALSE)) AS calls,
               coalesce(sum(cost_usd) FILTER (WHERE operation ILIKE '%decision%' OR operation ILIKE '%condition%'), 0)
                   AS decision_cost,
               count(*) FILTER (WHERE (operation ILIKE '%decision%' OR operation ILIKE '%condition%')
                   AND NOT coalesce(cache_hit, FALSE)) AS decision_calls
           FROM llm_calls WHERE workflow_id = ?""",
        [wid],
    )[0]
    if dup:
        repeats = sum(int(d["n"]) - 1 for d in dup)
        per_call = (costs["decision_cost"] / costs["decision_calls"]) if costs["decision_calls"] else 0.0
        saving = repeats * per_call
        total = float(costs["cost"] or 0.0)
        out.append(
            Suggestion(
                "llm_cache",
                "cost",
                "Cache repeated AI decisions",
                f"{repeats} AI decisions repeated a question already answered for exactly the same context "
                f"({len(dup)} distinct condition/context pairs) and were sent to the model again. A longer decision-cache "
                f"TTL (or a rule for these conditions) would have saved about ${saving:.4f}"
                + (f" of ${total:.4f} spent" if total else "")
                + ".",
                {
                    "repeated_decisions": repeats,
                    "pairs": [
                        {"state": d["state"], "condition": d["condition"], "times": int(d["n"])} for d in dup[:10]
                    ],
                    "avg_cost_per_decision_usd": round(per_call, 6),
                    "llm_cost_usd": round(total, 6),
                },
                round(100.0 * saving / total, 1) if total else 0.0,
                "low",
                3,
                {
                    "decision_cache": {"conditions": sorted({d["condition"] for d in dup})[:10]},
                    "note": "raise the decision cache TTL in the AI settings, or turn the condition into an expression",
                },
                reasoning="ai_decisions with the same (state, condition, context_hash) decided by the model more than once",
                key="decisions",
                cost_saving_usd=saving,
            )
        )
    models = store.query(
        """SELECT model, provider, count(*) AS calls, coalesce(sum(prompt_tokens), 0) AS pt,
               coalesce(sum(completion_tokens), 0) AS ct, coalesce(sum(cost_usd), 0) AS cost
           FROM llm_calls WHERE workflow_id = ? AND NOT coalesce(cache_hit, FALSE) AND model IS NOT NULL
           GROUP BY 1, 2 ORDER BY cost DESC""",
        [wid],
    )
    try:
        from engine.ai.prices import cost_usd as price_cost
    except ImportError:  # pragma: no cover - the AI package is part of the engine
        price_cost = None
    for m in models:
        cheaper = _cheaper(m["model"])
        if cheaper is None or price_cost is None or float(m["cost"]) <= 0:
            continue
        new_cost = price_cost(cheaper, m["provider"] or "openai", int(m["pt"]), int(m["ct"]))
        saving = float(m["cost"]) - new_cost
        if saving <= 0 or saving < 0.2 * float(m["cost"]):
            continue
        out.append(
            Suggestion(
                "llm_model",
                "cost",
                f"Use {cheaper} instead of {m['model']}",
                f"{int(m['calls'])} calls to {m['model']} cost ${float(m['cost']):.4f} for {int(m['pt'])} prompt and "
                f"{int(m['ct'])} completion tokens; the same tokens on {cheaper} would cost ${new_cost:.4f} "
                f"(−{100 * saving / float(m['cost']):.0f}%). Check the answers' quality first (e.g. with the "
                "translator eval set) before switching.",
                {
                    "model": m["model"],
                    "calls": int(m["calls"]),
                    "prompt_tokens": int(m["pt"]),
                    "completion_tokens": int(m["ct"]),
                    "cost_usd": round(float(m["cost"]), 6),
                    "cost_with_cheaper_usd": round(new_cost, 6),
                },
                round(100 * saving / float(m["cost"]), 1),
                "low",
                2,
                {"model": {"from": m["model"], "to": cheaper}, "note": "change the model in the AI settings"},
                reasoning="the recorded token counts repriced with the price table (engine/ai/prices.py)",
                key=f"model:{m['model']}",
                cost_saving_usd=saving,
            )
        )
    return out


def _cheaper(model: str | None) -> str | None:
    name = (model or "").lower()
    best = None
    for prefix in CHEAPER_MODEL:
        if name.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return CHEAPER_MODEL.get(best) if best else None


# ====================================================================== the report


@dataclass
class OptimizationReport:
    workflow_id: str
    workflow_name: str
    version: int
    runs: dict
    score: int | None
    potential_score: int | None
    score_components: dict
    suggestions: list[Suggestion]
    not_suggested: list[dict]
    narrative: str
    narrative_source: str  # offline | <model name>
    notes: list[str]
    dsl: str
    slots: int

    def to_dict(self) -> dict:
        runs = {k: v for k, v in self.runs.items() if k != "durations"}
        return {
            "workflow_id": self.workflow_id,
            "workflow_name": self.workflow_name,
            "version": self.version,
            "runs": runs,
            "current_optimization_score": self.score,
            "potential_score": self.potential_score,
            "score_components": self.score_components,
            "score_formula": SCORE_FORMULA,
            "suggested_optimizations": [s.to_dict() for s in self.suggestions],
            "not_suggested": self.not_suggested,
            "narrative": self.narrative,
            "narrative_source": self.narrative_source,
            "notes": self.notes,
            "parallel_slots": self.slots,
        }


SCORE_FORMULA = "score = 40·S + 30·(1 − P) + 15·T + 15·(1 − C)"


def score_parts(run: dict, suggestions: list[Suggestion], llm_cost: float) -> dict:
    """The four score components (see the module docstring) and the resulting scores."""
    s = run["success_rate"] if run["success_rate"] is not None else 0.0
    base = run["median_ms"] or 0.0
    perf_gain = sum(x.gain_ms for x in suggestions if x.optimization_type == "performance")
    p = min(1.0, perf_gain / base) if base else 0.0
    p50, p95 = run["p50_ms"], run["p95_ms"]
    if p50 and p95 and p50 > 0:
        ratio = p95 / p50
        t = max(0.0, min(1.0, (4.0 - ratio) / 2.5))
    else:
        ratio, t = None, 1.0
    saving = sum(x.cost_saving_usd for x in suggestions if x.optimization_type == "cost")
    c = min(1.0, saving / llm_cost) if llm_cost > 0 else 0.0
    score = 40 * s + 30 * (1 - p) + 15 * t + 15 * (1 - c)
    s_gain = sum(x.success_gain for x in suggestions if x.optimization_type == "reliability") / 100.0
    s_pot = min(1.0, s + s_gain)
    potential = 40 * s_pot + 30 + 15 * t + 15
    return {
        "S_success_rate": round(s, 4),
        "P_performance_savings_share": round(p, 4),
        "T_tail_factor": round(t, 4),
        "p95_over_p50": round(ratio, 3) if ratio else None,
        "C_avoidable_llm_cost_share": round(c, 4),
        "llm_cost_usd": round(llm_cost, 6),
        "points": {
            "success": round(40 * s, 2),
            "performance": round(30 * (1 - p), 2),
            "tail_latency": round(15 * t, 2),
            "cost": round(15 * (1 - c), 2),
        },
        "score": _round(score),
        "potential_score": _round(max(score, potential)),
    }


def _round(x: float) -> int:
    """Half up (Python's round() rounds 88.5 to 88)."""
    return int(math.floor(x + 0.5))


def analyze(
    store,
    workflow: str | WorkflowSpec,
    *,
    version: int | None = None,
    slots: int | None = None,
    llm: Any = None,
    save: bool = True,
) -> OptimizationReport:
    """Analyse one workflow version's records and return the report (and store its suggestions).

    ``llm``: an LLMService to write the narrative; None = the default service when a model is configured;
    False = never call a model.
    """
    target = resolve_target(store, workflow, version)
    slots = int(slots or parallel_slots())
    run = _run_stats(store, target.workflow_id, target.version)
    notes: list[str] = []
    suggestions: list[Suggestion] = []
    rejected: list[dict] = []
    if run["finished"] < MIN_RUNS:
        notes.append(
            f"Not enough runs: version {target.version} has {run['finished']} finished run(s); the advisor "
            f"needs at least {MIN_RUNS} before it scores the workflow or proposes changes."
        )
    else:
        io = state_io(store, target.workflow_id, target.version)
        par, rejected = suggest_parallel(store, target, io, run, slots)
        suggestions += par
        suggestions += suggest_reliability(store, target, run)
        suggestions += suggest_caching(store, target, run)
    suggestions += suggest_llm(store, target)
    for s in suggestions:
        s.finalize(target.workflow_id, target.version)
    suggestions.sort(key=lambda s: (-s.priority, -s.estimated_improvement, s.title))
    llm_cost = float(
        store.query(
            "SELECT coalesce(sum(cost_usd), 0) AS c FROM llm_calls WHERE workflow_id = ?", [target.workflow_id]
        )[0]["c"]
    )
    if run["finished"] >= MIN_RUNS:
        parts = score_parts(run, suggestions, llm_cost)
        score, potential = parts["score"], parts["potential_score"]
    else:
        parts, score, potential = {}, None, None
    narrative, source = offline_narrative(target, run, suggestions, notes), "offline"
    if llm is not False and suggestions:
        narrative, source = _model_narrative(store, target, run, suggestions, llm, narrative)
    report = OptimizationReport(
        target.workflow_id,
        target.name,
        target.version,
        run,
        score,
        potential,
        parts,
        suggestions,
        rejected,
        narrative,
        source,
        notes,
        target.spec.dsl,
        slots,
    )
    if save:
        save_suggestions(store, report)
    return report


def offline_narrative(target: Target, run: dict, suggestions: list[Suggestion], notes: list[str]) -> str:
    lines = []
    if run["finished"]:
        lines.append(
            f"'{target.name}' v{target.version}: {run['finished']} finished runs, "
            f"{100 * (run['success_rate'] or 0):.0f}% completed, median {(run['median_ms'] or 0) / 1000:.2f} s."
        )
    lines += notes
    if not suggestions and run["finished"] >= MIN_RUNS:
        lines.append(
            "The records show nothing to improve: no independent sequential states worth parallelizing, "
            "no error-prone or hung states, no repeated deterministic work, no avoidable LLM spending."
        )
    for s in suggestions:
        lines.append(f"- [{s.optimization_type}] {s.title}: {s.description}")
    return "\n".join(lines)


def _model_narrative(
    store, target: Target, run: dict, suggestions: list[Suggestion], llm: Any, fallback_text: str
) -> tuple[str, str]:
    """Ask the configured model to write the narrative from the statistics; offline text on any problem."""
    try:
        from pydantic import BaseModel

        if llm is None:
            from engine.ai import get_ai

            llm = get_ai(store=store).llm
        if not getattr(llm, "online", False):
            return fallback_text, "offline"

        class _Opt(BaseModel):
            type: str = "performance"
            title: str = ""
            description: str = ""
            estimated_improvement: float | None = None
            implementation_effort: str | None = None
            priority: int | None = None

        class _Answer(BaseModel):
            optimizations: list[_Opt] = []

        from engine.analytics import Scope as _Scope
        from engine.analytics import common_errors, state_performance

        scope = _Scope((target.workflow_id,), target.version)
        perf = state_performance(store, scope)
        errs = common_errors(store, scope)
        variables = {
            "workflow_dsl": target.spec.dsl,
            "total_executions": run["finished"],
            "avg_duration_ms": round(sum(run["durations"]) / len(run["durations"])) if run["durations"] else 0,
            "success_rate": round(100 * (run["success_rate"] or 0), 1),
            "error_rate": round(100 * (1 - (run["success_rate"] or 0)), 1),
            "state_performance": "\n".join(
                f"- {r['state']}: avg {r['avg_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, error rate {r['error_rate']:.1f}%"
                for r in perf.to_dict("records")
            )
            or "(none)",
            "error_analysis": (
                "\n".join(f"- {r['state']}: {r['error_type']} × {r['count']}" for r in errs.to_dict("records"))
                or "(no errors)"
            )
            + "\n\nEvidence-based suggestions already found (explain them; do not invent numbers):\n"
            + "\n".join(f"- {s.title}: {s.description}" for s in suggestions),
        }
        res = llm.complete_json(
            "optimize", "optimize_workflow", variables, _Answer, workflow_id=target.workflow_id, fallback=lambda: None
        )
        if res.value is None or not res.from_model or not res.value.optimizations:
            return fallback_text, "offline"
        text = "\n".join(f"- [{o.type}] {o.title}: {o.description}" for o in res.value.optimizations[:5])
        return text, res.model or getattr(llm.settings, "model", "model")
    except Exception as exc:  # the narrative is optional: the statistics stand alone
        log.warning("narrative by the model failed: %s", exc)
        return fallback_text, "offline"


# ====================================================================== records


def _now() -> datetime:
    return records.utc_now()


def get_record(store, suggestion_id: str) -> dict:
    rows = records.optimization_record(store, suggestion_id)
    if len(rows) > 1:
        raise OptimizerError(f"'{suggestion_id}' matches several suggestions; give more of the id")
    if not rows:
        raise OptimizerError(f"no optimization suggestion with id '{suggestion_id}'")
    return rows[0]


def list_records(store, workflow_id: str | None = None, status: str | None = None) -> list[dict]:
    return records.optimization_records(store, workflow_id=workflow_id, status=status)


def _append(store, rec: dict, **changes) -> dict:
    row = {
        k: rec.get(k)
        for k in (
            "id",
            "workflow_id",
            "version",
            "optimization_type",
            "title",
            "description",
            "ai_reasoning",
            "evidence",
            "estimated_improvement",
            "implementation_effort",
            "priority",
            "proposed_changes",
            "status",
            "implemented_at",
            "implemented_version",
            "actual_improvement",
            "created_at",
        )
    }
    row.update(changes)
    row["updated_at"] = _now()
    row["seq"] = int(rec.get("seq") or 0) + 1
    store.append("optimization_records", row)
    return row


def save_suggestions(store, report: OptimizationReport) -> None:
    """Record new suggestions; refresh the evidence of ones still 'suggested'; never touch decided ones."""
    if not report.suggestions:
        return
    ids = [s.id for s in report.suggestions]
    existing = {r["id"]: r for r in records.optimization_records(store, ids=ids)}
    now = _now()
    for s in report.suggestions:
        old = existing.get(s.id)
        if old is not None and old["status"] != "suggested":
            s.status = old["status"]
            continue
        evidence = json.loads(json.dumps(s.evidence, default=str))
        if old is not None and old["evidence"] == evidence and old["title"] == s.title:
            continue
        store.append(
            "optimization_records",
            {
                "id": s.id,
                "workflow_id": s.workflow_id,
                "version": s.version,
                "optimization_type": s.optimization_type,
                "title": s.title,
                "description": s.description,
                "ai_reasoning": s.reasoning,
                "evidence": evidence,
                "estimated_improvement": s.estimated_improvement,
                "implementation_effort": s.implementation_effort,
                "priority": s.priority,
                "proposed_changes": s.proposed_changes,
                "status": "suggested",
                "implemented_at": None,
                "implemented_version": None,
                "actual_improvement": None,
                "created_at": old["created_at"] if old else now,
                "updated_at": now,
                "seq": int(old["seq"] or 0) + 1 if old else 1,
            },
        )


def apply_change(spec: WorkflowSpec, changes: dict) -> WorkflowSpec:
    """The spec with the proposed change applied (raises :class:`OptimizerError` when it no longer fits)."""
    kind = changes.get("kind")
    data = spec.model_dump(mode="json")
    if kind == "parallelize":
        data["dsl"] = parallel_dsl(spec, list(changes["states"]))
    elif kind in ("retry", "timeout"):
        state = changes["state"]
        if state not in spec.model.states:
            raise OptimizerError(f"'{state}' is not a state of '{spec.name}' any more")
        b = data["states"].setdefault(state, {"action": "noop"})
        if kind == "retry":
            b["retry"] = RetryPolicy(**changes["retry"]).model_dump(mode="json")
        else:
            b["timeout_s"] = float(changes["timeout_s"])
    else:
        raise OptimizerError(
            f"a '{kind}' suggestion needs a manual change: {changes.get('note', 'see its description')}"
        )
    new = WorkflowSpec.model_validate(data)
    rep = new.validate_all()
    if rep.errors:
        raise OptimizerError("the changed workflow does not validate: " + "; ".join(str(e) for e in rep.errors))
    return new


def accept(store, suggestion_id: str, *, note: str = "") -> dict:
    """Accept a suggestion. An automatic change is applied to the latest version and saved as a new version
    (status ``implemented``); a manual one is only marked ``accepted``."""
    rec = get_record(store, suggestion_id)
    if rec["status"] == "implemented":
        return {
            "id": rec["id"],
            "status": "implemented",
            "version": rec["implemented_version"],
            "message": f"already implemented as version {rec['implemented_version']}",
        }
    changes = rec["proposed_changes"] or {}
    if not changes.get("automatic"):
        _append(store, rec, status="accepted")
        return {
            "id": rec["id"],
            "status": "accepted",
            "version": None,
            "message": "accepted; this change is not automatic: " + changes.get("note", "see the description"),
        }
    from engine import library

    spec, meta = library.get_workflow(store, rec["workflow_id"])
    new_spec = apply_change(spec, changes)
    wid, ver = library.save_workflow(
        store,
        new_spec,
        workflow_id=rec["workflow_id"],
        change_note=(note or f"optimization {rec['id']}: {rec['title']}"),
    )
    _append(store, rec, status="implemented", implemented_at=_now(), implemented_version=int(ver))
    return {
        "id": rec["id"],
        "status": "implemented",
        "workflow_id": wid,
        "version": int(ver),
        "base_version": int(meta.get("version") or rec["version"]),
        "dsl": new_spec.dsl,
        "message": f"saved as version {ver} of '{new_spec.name}'; run it a few times, then compare versions "
        f"{rec['version']} and {ver}",
    }


def reject(store, suggestion_id: str) -> dict:
    rec = get_record(store, suggestion_id)
    _append(store, rec, status="rejected")
    return {"id": rec["id"], "status": "rejected"}


# ====================================================================== comparing versions


def version_sample(store, workflow_id: str, version: int, since: datetime | None = None) -> dict:
    rows = records.run_outcomes(store, workflow_id, version, finished_only=True, since=since)
    durations = [float(r["duration_ms"]) for r in rows if r["status"] == "completed" and r["duration_ms"] is not None]
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
