"""Structural validation of a :class:`WorkflowModel`, and the parallel-group analysis the runner uses.

Each finding says where (line:column), what is wrong and how to fix it. Every pass is linear in
the size of the workflow (adjacency maps built once), except the per-fan-out branch analysis,
which is linear per fan-out.
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


class _Adjacency:
    """Successor maps built once per analysis."""

    def __init__(self, model: WorkflowModel):
        self.by_source: dict[str, list[Transition]] = {}
        self.fan_ins_by_member: dict[str, list[int]] = {}
        self.fan_in_size: dict[int, int] = {}
        for i, t in enumerate(model.transitions):
            if t.is_fan_in:
                members = set(t.sources)
                self.fan_in_size[i] = len(members)
                for s in members:
                    self.fan_ins_by_member.setdefault(s, []).append(i)
            else:
                self.by_source.setdefault(t.source, []).append(t)


def _first_positions(model: WorkflowModel) -> dict[str, Position]:
    if model.state_positions:
        return dict(model.state_positions)
    pos: dict[str, Position] = {}
    for t in model.transitions:
        for s in (*t.sources, *t.targets):
            if t.position is not None:
                pos.setdefault(s, t.position)
    return pos


def _branch_reach(model: WorkflowModel, first: str, adj: _Adjacency | None = None) -> set[str]:
    """States reachable from a branch's first state; a join is crossed once all its sources are reached."""
    adj = adj or _Adjacency(model)
    reach = {first}
    queue = deque([first])
    arrived: dict[int, int] = {}
    while queue:
        s = queue.popleft()
        for t in adj.by_source.get(s, ()):
            for d in t.targets:
                if d not in reach:
                    reach.add(d)
                    queue.append(d)
        for i in adj.fan_ins_by_member.get(s, ()):
            arrived[i] = arrived.get(i, 0) + 1
            if arrived[i] == adj.fan_in_size[i]:
                for d in model.transitions[i].targets:
                    if d not in reach:
                        reach.add(d)
                        queue.append(d)
    return reach


def _match(ends: tuple[str, ...], reaches: list[set[str]]) -> bool:
    """True when each end can be assigned to a distinct branch that reaches it (bipartite matching)."""
    if len(ends) != len(reaches):
        return False
    assign: dict[int, int] = {}

    def augment(e: int, seen: set[int]) -> bool:  # depth bounded by the number of branches
        for b, reach in enumerate(reaches):
            if ends[e] in reach and b not in seen:
                seen.add(b)
                if b not in assign or augment(assign[b], seen):
                    assign[b] = e
                    return True
        return False

    return all(augment(e, set()) for e in range(len(ends)))


def _reachable(model: WorkflowModel, adj: _Adjacency) -> set[str]:
    """States reachable from ``start``; a fan-in is crossed when any of its sources is reachable."""
    reach = {START}
    queue = deque([START])
    while queue:
        s = queue.popleft()
        targets = [d for t in adj.by_source.get(s, ()) for d in t.targets]
        targets += [d for i in adj.fan_ins_by_member.get(s, ()) for d in model.transitions[i].targets]
        for d in targets:
            if d not in reach:
                reach.add(d)
                queue.append(d)
    return reach


def analyze(model: WorkflowModel) -> Analysis:
    """Reachability from ``start`` and the fan-out/fan-in pairing."""
    adj = _Adjacency(model)
    out = Analysis(reachable=_reachable(model, adj))
    for i, t in enumerate(model.transitions):
        if not t.is_fan_out:
            continue
        reaches = [_branch_reach(model, b, adj) for b in t.targets]
        out.branch_reach[i] = reaches
        # candidates: fan-ins of the right size naming a state of the first branch (a match must)
        candidates = sorted({j for s in reaches[0] for j in adj.fan_ins_by_member.get(s, ())
                             if len(model.transitions[j].sources) == len(t.targets)})
        match_idx = next((j for j in candidates if _match(model.transitions[j].sources, reaches)), None)
        ends = model.transitions[match_idx].sources if match_idx is not None else ()
        out.groups.append(ParallelGroup(t.source, t.targets, ends, match_idx, i))
    return out


def _can_reach_end(model: WorkflowModel) -> set[str]:
    """States from which 'end' can be reached (following transitions backwards from 'end')."""
    preds: dict[str, set[str]] = {}
    for t in model.transitions:
        for d in t.targets:
            preds.setdefault(d, set()).update(t.sources)
    seen = {END}
    queue = deque([END])
    while queue:
        s = queue.popleft()
        for p in preds.get(s, ()):
            if p not in seen:
                seen.add(p)
                queue.append(p)
    return seen


def _targets_text(t: Transition) -> str:
    return "[" + ",".join(t.targets) + "]" if t.target_is_group else t.target


def _sources_text(t: Transition) -> str:
    return "[" + ",".join(t.sources) + "]" if t.source_is_group else t.source


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
    has_start = START in states and bool(model.outgoing(START))
    if not has_start:
        first = model.transitions[0].position if model.transitions else Position(1, 1)
        issue("error", "no_start", "the workflow has no 'start' state: every run begins at 'start'", first,
              "begin with a transition from start, e.g. 'start->first_step;'")
    an = analyze(model)
    if has_start:
        if END not in an.reachable:
            if END in states:
                issue("error", "end_unreachable", "'end' is not reachable from 'start'", END,
                      "connect the last step of the main path to end, e.g. 'last_step->end;'")
            else:
                last = model.transitions[-1].position if model.transitions else None
                issue("error", "end_unreachable", "the workflow never reaches 'end'", last,
                      "add a transition to end, e.g. 'last_step->end;'")
        for s in model.states:
            if s not in an.reachable and s != END:
                issue("error", "unreachable", f"state '{s}' cannot be reached from 'start'", s,
                      f"add a transition into it (e.g. 'some_step->{s};') or remove it")

    fan_in_sources = model.fan_in_sources()
    for s in model.states:
        if s == END:
            continue
        outs = model.outgoing(s)
        if s in fan_in_sources:
            continue
        if not outs:
            issue("error", "dead_end", f"state '{s}' has no outgoing transition", s,
                  f"add '{s}->end;' or a transition to the next step")
        elif all(t.is_error for t in outs):
            issue("error", "dead_end", f"state '{s}' has only an @error transition: where does it go when it succeeds?",
                  s, f"add '{s}->next_step;' (the @error path is taken only when '{s}' fails)")

    # per-state rules for single-source transitions
    for s in model.states:
        outs = model.outgoing(s)
        if not outs:
            continue
        defaults = [t for t in outs if t.condition is None]
        conditional = [t for t in outs if t.is_conditional]
        errors = [t for t in outs if t.is_error]
        if len(defaults) > 1:
            names = ", ".join(_targets_text(t) for t in defaults)
            merged = list(dict.fromkeys(n for t in defaults for n in t.targets))
            issue("error", "two_defaults", f"state '{s}' has {len(defaults)} unconditional transitions ({names})",
                  defaults[1].position,
                  f"to run them in parallel write '{s}->[{','.join(merged)}];'; otherwise give them conditions "
                  "(the unconditional one is the default)")
        if len(errors) > 1:
            issue("error", "two_error_paths", f"state '{s}' has more than one @error transition", errors[1].position,
                  f"keep one fallback: '{s}->fallback_state:@error;'")
        if s in fan_in_sources and defaults:
            join = next(t for t in model.transitions if t.is_fan_in and s in t.sources)
            issue("error", "branch_end_default",
                  f"state '{s}' ends a parallel branch (it is named in '{_sources_text(join)}->"
                  f"{_targets_text(join)}') but also has an unconditional transition to {_targets_text(defaults[0])}",
                  defaults[0].position,
                  f"the fan-in is the default of a branch end; give '{s}->{_targets_text(defaults[0])}' a condition, "
                  "or end the branch at the last state")
        if conditional and not defaults and s not in fan_in_sources:
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

    # the same rules for the transitions leaving a join (fan-ins with the same source set)
    for key, fan_ins in model._fan_in_index.items():
        defaults = [t for t in fan_ins if t.condition is None]
        conditional = [t for t in fan_ins if t.is_conditional]
        label = _sources_text(fan_ins[0])
        if len(defaults) > 1:
            issue("error", "two_defaults", f"join '{label}' has {len(defaults)} unconditional transitions",
                  defaults[1].position, "join into one state, then fan out again: "
                  f"'{label}->merge; merge->[{','.join(dict.fromkeys(n for t in defaults for n in t.targets))}];'")
        if conditional and not defaults:
            issue("warning", "no_default",
                  f"join '{label}' has conditional transitions but no default; if no condition holds the run fails",
                  conditional[0].position, f"add an unconditional transition as the default, e.g. '{label}->end;'")

    # fan-ins must close a fan-out
    groups_by_fan_in = {g.fan_in_index for g in an.groups if g.fan_in_index is not None}
    matched_keys = {frozenset(model.transitions[i].sources) for i in groups_by_fan_in}
    for t in model.transitions:
        if not t.is_fan_in or frozenset(t.sources) in matched_keys:
            continue
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
        example = (f"for '{an.groups[0].fork}->[{','.join(an.groups[0].branch_starts)}]' write "
                   f"'[{','.join(an.groups[0].branch_starts)}]->next;' (or the last state of each branch)") \
            if an.groups else "start the branches with a fan-out first: 'fork->[a,b];'"
        issue("error", "bad_fan_in", msg, t.position, example)

    for g in an.groups:
        if g.fan_in_index is None:
            issue("warning", "no_fan_in", f"fan-out '{g.fork}->[{','.join(g.branch_starts)}]' has no fan-in: "
                  "its branches finish separately and nothing waits for all of them",
                  model.transitions[g.fan_out_index].position,
                  f"join them with '[{','.join(g.branch_starts)}]->next_step;'")
        else:
            for i, reach in enumerate(an.branch_reach[g.fan_out_index]):
                if END in reach:
                    issue("warning", "branch_reaches_end",
                          f"branch '{g.branch_starts[i]}' of '{g.fork}' can reach 'end' without joining",
                          g.branch_starts[i], "a branch that ends early counts as finished at the join")

    if has_start and END in an.reachable:
        alive = _can_reach_end(model)
        for s in model.states:
            if s in an.reachable and s not in alive and (model.outgoing(s) or s in fan_in_sources):
                issue("warning", "cannot_reach_end",
                      f"state '{s}' can never reach 'end': a run that gets there cannot finish "
                      "(it loops until max_steps)",
                      s, f"add a way out, e.g. '{s}->end:done==True;'")

    def order(i: Issue):
        return (i.line or 0, i.column or 0)

    rep.errors.sort(key=order)
    rep.warnings.sort(key=order)
    return rep


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
