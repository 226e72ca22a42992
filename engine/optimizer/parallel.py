"""Parallelization: the keys each state read/wrote, plain chains, independence, predicted gain, the new DSL."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine import records
from engine.dsl.model import END, START, Transition
from engine.dsl.printer import transition_text
from engine.dsl.validate import check
from engine.optimizer.settings import MIN_GAIN_MS, MIN_GAIN_SHARE, MIN_RUNS, OptimizerError
from engine.optimizer.statistics import makespan, median
from engine.optimizer.suggestion import Suggestion
from engine.optimizer.target import Target
from engine.workflow_file import WorkflowSpec


@dataclass
class StateIO:
    """The keys one state read and wrote over the recorded completions of a version."""

    state: str
    runs: int = 0
    completions: int = 0
    reads: set = field(default_factory=set)
    writes: set = field(default_factory=set)
    unknown: int = 0  # completions without recorded keys
    reached: int = 0  # runs of the version that ran this state at all (completed or not)


def state_io(store, workflow_id: str, version: int) -> dict[str, StateIO]:
    """Union of the keys each state read and wrote over every recorded completion of the version."""
    rows = records.completed_state_keys(store, workflow_id, version)
    counts = records.state_run_counts(store, workflow_id, version)
    out: dict[str, StateIO] = {s: StateIO(s, reached=c["reached"]) for s, c in counts.items()}
    for r in rows:
        io = out.setdefault(r["from_state"], StateIO(r["from_state"]))
        io.runs = counts.get(r["from_state"], {}).get("completed", 0)
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
    """A maximal plain chain of states with the transitions into and out of it."""

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
        if s in (START, END) or s in grouped or spec.binding(s).action in ("approval", "wait"):
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


def segments(
    chain: Chain,
    io: dict[str, StateIO],
    min_runs: int = MIN_RUNS,
    *,
    version: int | None = None,
    finished: int | None = None,
) -> tuple[list[list[str]], list[dict]]:
    """Split a chain greedily into runs of pairwise independent states.

    Also returns why states were kept apart: ``{first, second, reason}`` for each dependent pair found,
    and ``{first: None, second, reason}`` for a state without enough completed runs (said in terms of the
    runs of ``version``: never reached, or completed in k of the n runs that reached it).
    """
    of_version = f" of v{version}" if version is not None else ""
    segs: list[list[str]] = []
    notes: list[dict] = []
    current: list[str] = []
    for s in chain.states:
        b = io.get(s)
        if b is None or b.runs < min_runs:
            if b is None or not b.reached:
                runs_text = f"the {finished} finished runs" if finished is not None else "the recorded runs"
                reason = f"'{s}' was never reached in {runs_text}{of_version}: nothing to learn from yet"
            else:
                reason = (
                    f"'{s}' completed in {b.runs} of the {b.reached} runs{of_version} that reached it, fewer "
                    f"than {min_runs}: its reads and writes are not proven yet"
                )
            notes.append({"first": None, "second": s, "reason": reason})
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


def suggest_parallel(
    store, target: Target, io: dict[str, StateIO], run: dict, slots: int
) -> tuple[list[Suggestion], list[dict]]:
    """Suggest parallel groups for independent consecutive states; also return why pairs were kept apart."""
    out: list[Suggestion] = []
    rejected: list[dict] = []
    base = run["median_ms"] or 0.0
    for chain in find_chains(target.spec):
        if len(chain.states) < 2:
            continue
        segs, deps = segments(chain, io, version=target.version, finished=run["finished"])
        rejected += deps
        for seg in segs:
            if len(seg) < 2:
                continue
            pred = predict_parallel_gain(
                records.completion_durations(store, target.workflow_id, target.version, seg), seg, slots
            )
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
    medians = records.state_completion_medians(store, target.workflow_id, target.version, states)
    return {s: round(m, 1) for s, m in medians.items()}
