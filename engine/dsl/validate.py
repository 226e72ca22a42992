"""Structural validation of a :class:`WorkflowModel`, and the parallel-group analysis the runner uses.

Each finding says where (line:column), what is wrong and how to fix it.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from engine.dsl.model import END, START, Literal_, ParallelGroup, Position, Transition, WorkflowModel
from engine.dsl.parser import excerpt, parse
from engine.errors import DSLError, Issue, ValidationReport


@dataclass
class Analysis:
    """Facts derived from a model: reachability and parallel groups (fan-out + matching fan-in)."""

    reachable: set[str] = field(default_factory=set)
    groups: list[ParallelGroup] = field(default_factory=list)
    branch_reach: dict[int, list[set[str]]] = field(default_factory=dict)  # fan-out index -> per branch


def _first_positions(model: WorkflowModel) -> dict[str, Position]:
    pos: dict[str, Position] = {}
    for t in model.transitions:
        for s in (*t.sources, *t.targets):
            if t.position is not None:
                pos.setdefault(s, t.position)
    return pos


def _branch_reach(model: WorkflowModel, first: str) -> set[str]:
    """States reachable from a branch's first state; nested joins are crossed once all their sources are."""
    reach = {first}
    changed = True
    while changed:
        changed = False
        for t in model.transitions:
            if t.is_fan_in:
                if all(s in reach for s in t.sources):
                    new = set(t.targets) - reach
                else:
                    continue
            elif t.source in reach:
                new = set(t.targets) - reach
            else:
                continue
            if new:
                reach |= new
                changed = True
    return reach


def _match(ends: tuple[str, ...], reaches: list[set[str]]) -> bool:
    """True when each end can be assigned to a distinct branch that reaches it (bipartite matching)."""
    if len(ends) != len(reaches):
        return False
    assign: dict[int, int] = {}

    def augment(e: int, seen: set[int]) -> bool:
        for b, reach in enumerate(reaches):
            if ends[e] in reach and b not in seen:
                seen.add(b)
                if b not in assign or augment(assign[b], seen):
                    assign[b] = e
                    return True
        return False

    return all(augment(e, set()) for e in range(len(ends)))


def analyze(model: WorkflowModel) -> Analysis:
    """Reachability from ``start`` and the fan-out/fan-in pairing."""
    out = Analysis()
    # reachability: fan-ins are crossed when any of their sources is reachable
    reach = {START}
    queue = deque([START])
    by_source: dict[str, list[Transition]] = {}
    fan_ins_by_member: dict[str, list[Transition]] = {}
    for t in model.transitions:
        if t.is_fan_in:
            for s in t.sources:
                fan_ins_by_member.setdefault(s, []).append(t)
        else:
            by_source.setdefault(t.source, []).append(t)
    while queue:
        s = queue.popleft()
        for t in (*by_source.get(s, ()), *fan_ins_by_member.get(s, ())):
            for d in t.targets:
                if d not in reach:
                    reach.add(d)
                    queue.append(d)
    out.reachable = reach
    fan_in_idx = [i for i, t in enumerate(model.transitions) if t.is_fan_in]
    for i, t in enumerate(model.transitions):
        if not t.is_fan_out:
            continue
        reaches = [_branch_reach(model, b) for b in t.targets]
        out.branch_reach[i] = reaches
        match_idx = next((j for j in fan_in_idx if _match(model.transitions[j].sources, reaches)), None)
        ends = model.transitions[match_idx].sources if match_idx is not None else ()
        out.groups.append(ParallelGroup(t.source, t.targets, ends, match_idx, i))
    return out


def validate(model: WorkflowModel, text: str = "") -> ValidationReport:
    """Check a parsed model. ``text`` (the source) is used for excerpts."""
    rep = ValidationReport()
    pos = _first_positions(model)

    def issue(sev, code, msg, where: Position | str | None, hint=""):
        p = pos.get(where) if isinstance(where, str) else where
        line, col = (p.line, p.column) if p else (None, None)
        ex = excerpt(text, line, col) if text and line else ""
        (rep.errors if sev == "error" else rep.warnings).append(Issue(sev, code, msg, line, col, hint, ex))

    states = set(model.states)
    if START not in states or not any(not t.is_fan_in and t.source == START for t in model.transitions):
        issue("error", "no_start", "the workflow has no 'start' state", None,
              "begin with a transition from start, e.g. 'start->first_step;'")
        return rep
    an = analyze(model)
    if END not in an.reachable:
        issue("error", "end_unreachable",
              "'end' is not reachable from 'start'" if END in states else "the workflow never reaches 'end'",
              END if END in states else None, "add a transition to end, e.g. 'last_step->end;'")
    for s in model.states:
        if s not in an.reachable and s != END:
            issue("error", "unreachable", f"state '{s}' cannot be reached from 'start'", s,
                  f"add a transition into it (e.g. 'some_step->{s};') or remove it")
    fan_in_sources = model.fan_in_sources()
    for s in model.states:
        if s == END:
            continue
        if not model.outgoing(s) and s not in fan_in_sources:
            issue("error", "dead_end", f"state '{s}' has no outgoing transition", s,
                  f"add '{s}->end;' or a transition to the next step")
    for s in model.states:
        outs = model.outgoing(s)
        defaults = [t for t in outs if t.condition is None]
        conditional = [t for t in outs if t.is_conditional]
        errors = [t for t in outs if t.is_error]
        if len(defaults) > 1:
            names = ", ".join("[" + ",".join(t.targets) + "]" if t.target_is_group else t.target for t in defaults)
            issue("error", "two_defaults", f"state '{s}' has {len(defaults)} unconditional transitions ({names})",
                  defaults[1].position, f"to run them in parallel write '{s}->[{','.join(defaults[0].targets + defaults[1].targets)}];'"
                  "; otherwise give them conditions")
        if len(errors) > 1:
            issue("error", "two_error_paths", f"state '{s}' has more than one @error transition", errors[1].position,
                  "keep one fallback: 'state->fallback_state:@error;'")
        if conditional and not defaults:
            issue("warning", "no_default",
                  f"state '{s}' has conditional transitions but no default; if no condition holds the run fails",
                  conditional[0].position, f"add an unconditional transition as the default, e.g. '{s}->end;'")
        seen = set()
        for t in outs:
            key = (t.targets, t.condition)
            if key in seen:
                issue("warning", "duplicate", f"duplicate transition from '{s}'", t.position, "remove one of them")
            seen.add(key)
        for t in conditional:
            if t.condition.kind == "expr" and isinstance(t.condition.expr, Literal_):
                issue("warning", "constant_condition", f"condition '{t.condition.text}' is a constant", t.position,
                      "compare a context value, e.g. approved==True")
    for idx, t in enumerate(model.transitions):
        if not t.is_fan_in:
            continue
        if any(g.fan_in_index is not None and _same_join(model, g.fan_in_index, idx) for g in an.groups):
            continue
        # find the first member that no fan-out branch of that size ends in
        culprit = None
        for s in t.sources:
            if not any(len(r) == len(t.sources) and any(s in b for b in r) for r in an.branch_reach.values()):
                culprit = s
                break
        if culprit is None:
            msg = (f"fan-in [{','.join(t.sources)}] does not match any fan-out: it must name the last state of "
                   "each branch of one fan-out, one per branch")
        else:
            msg = (f"fan-in names '{culprit}', which is not the end of a branch of a matching fan-out "
                   f"with {len(t.sources)} branches")
        forks = [g for g in an.groups]
        example = (f"for '{forks[0].fork}->[{','.join(forks[0].branch_starts)}]' write "
                   f"'[{','.join(forks[0].branch_starts)}]->next;' (or the last state of each branch)") if forks else \
            "start the branches with a fan-out first: 'fork->[a,b];'"
        issue("error", "bad_fan_in", msg, t.position, example)
    for g in an.groups:
        if g.fan_in_index is None:
            issue("warning", "no_fan_in", f"fan-out '{g.fork}->[{','.join(g.branch_starts)}]' has no fan-in: "
                  "its branches finish separately and nothing waits for all of them",
                  model.transitions[g.fan_out_index].position,
                  f"join them with '[{','.join(g.branch_starts)}]->next_step;'")
        else:
            for i, reach in enumerate(an.branch_reach[g.fan_out_index]):
                if END in reach and g.branch_ends[i] not in (END,):
                    issue("warning", "branch_reaches_end",
                          f"branch '{g.branch_starts[i]}' of '{g.fork}' can reach 'end' without joining",
                          g.branch_starts[i], "a branch that ends early counts as finished at the join")
    return rep


def _same_join(model: WorkflowModel, a: int, b: int) -> bool:
    return frozenset(model.transitions[a].sources) == frozenset(model.transitions[b].sources)


def check(text: str) -> tuple[WorkflowModel, ValidationReport]:
    """Parse and validate DSL text; raises :class:`DSLError` on syntax errors only."""
    model = parse(text)
    return model, validate(model, text)


def load_valid(text: str) -> WorkflowModel:
    """Parse and validate; raises :class:`DSLError` with every validation error."""
    model, rep = check(text)
    if rep.errors:
        raise DSLError(rep.errors)
    return model
