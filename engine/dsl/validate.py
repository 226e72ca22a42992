"""Structural validation of a :class:`WorkflowModel`, and the parallel-group analysis the runner uses.

Each finding says where (line:column), what is wrong and how to fix it. Every pass is linear in
the size of the workflow (adjacency maps built once), except the per-fan-out branch analysis,
which is linear per fan-out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from engine.dsl.model import END, START, Compare, Literal_, Name, ParallelGroup, Position, Transition, WorkflowModel
from engine.dsl.parser import IssueCollector, names_text, parse
from engine.errors import DSLError, ValidationReport

ANALYSIS_BUDGET_FLOOR = 2_000_000  # branch-analysis steps always allowed (about a second)
ANALYSIS_BUDGET_PER_ELEMENT = 16  # and this many per state/transition end beyond that


@dataclass
class Analysis:
    """Facts derived from a model: reachability and parallel groups (fan-out + matching fan-in).

    ``too_complex`` names the fan-out whose branch analysis went over the step budget (branches that
    all reach the same large part of the workflow): its groups are then not paired with fan-ins and
    validation reports an error instead of spending time quadratic in the size of the workflow.
    """

    reachable: set[str] = field(default_factory=set)
    groups: list[ParallelGroup] = field(default_factory=list)
    branch_reach: dict[int, list[set[str]]] = field(default_factory=dict)  # fan-out index -> per branch
    too_complex: str | None = None


class _OverBudget(Exception):
    pass


class _Budget:
    """Counts analysis steps; raises :class:`_OverBudget` when the limit is passed."""

    def __init__(self, limit: int):
        self.limit, self.spent = limit, 0

    def spend(self, steps: int) -> None:
        self.spent += steps
        if self.spent > self.limit:
            raise _OverBudget()


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
        return model.state_positions
    pos: dict[str, Position] = {}
    for t in model.transitions:
        for s in (*t.sources, *t.targets):
            if t.position is not None:
                pos.setdefault(s, t.position)
    return pos


def _branch_reach(
    model: WorkflowModel, first: str, adj: _Adjacency | None = None, budget: _Budget | None = None
) -> set[str]:
    """States reachable from a branch's first state; a join is crossed once all its sources are reached."""
    adj = adj or _Adjacency(model)
    if first not in adj.by_source and all(adj.fan_in_size[i] > 1 for i in adj.fan_ins_by_member.get(first, ())):
        if budget is not None:
            budget.spend(1)
        return {first}  # a one-state branch (typically ended by the fan-in): nothing more to explore
    reach = {first}
    queue = deque([first])
    arrived: dict[int, int] = {}
    while queue:
        s = queue.popleft()
        if budget is not None:
            budget.spend(1)
        for t in adj.by_source.get(s, ()):
            if budget is not None:
                budget.spend(len(t.targets))
            for d in t.targets:
                if d not in reach:
                    reach.add(d)
                    queue.append(d)
        joins = adj.fan_ins_by_member.get(s, ())
        if budget is not None and joins:
            budget.spend(len(joins))
        for i in joins:
            arrived[i] = arrived.get(i, 0) + 1
            if arrived[i] == adj.fan_in_size[i]:
                if budget is not None:
                    budget.spend(len(model.transitions[i].targets))
                for d in model.transitions[i].targets:
                    if d not in reach:
                        reach.add(d)
                        queue.append(d)
    return reach


def _match(
    ends: tuple[str, ...], branches_of: dict[str, list[int]], n_branches: int, budget: _Budget | None = None
) -> bool:
    """True when each end can be assigned to a distinct branch that reaches it (bipartite matching).

    ``branches_of[state]`` lists the branches whose reach holds ``state``. Augmenting paths are
    searched with an explicit stack (no recursion, however many branches).
    """
    if len(ends) != n_branches:
        return False
    owner: dict[int, int] = {}  # branch -> index of the end assigned to it
    assigned: dict[int, int] = {}  # end index -> branch
    for e0, end in enumerate(ends):
        options = branches_of.get(end)
        if not options:
            return False
        parent: dict[int, int] = {}  # branch -> end index it was reached from
        stack = [(e0, iter(options))]
        free = None
        while stack and free is None:
            e, it = stack[-1]
            b = next(it, None)
            if budget is not None:
                budget.spend(1)
            if b is None:
                stack.pop()
            elif b not in parent:
                parent[b] = e
                if b in owner:
                    nxt = owner[b]
                    stack.append((nxt, iter(branches_of[ends[nxt]])))
                else:
                    free = b
        if free is None:
            return False
        b = free
        while True:  # flip the augmenting path back to e0
            e = parent[b]
            previous = assigned.get(e)
            owner[b], assigned[e] = e, b
            if e == e0:
                break
            b = previous
    return True


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


def _budget_for(model: WorkflowModel) -> _Budget:
    size = len(model.states) + sum(len(t.sources) + len(t.targets) for t in model.transitions)
    return _Budget(max(ANALYSIS_BUDGET_FLOOR, ANALYSIS_BUDGET_PER_ELEMENT * size))


def analyze(model: WorkflowModel) -> Analysis:
    """Reachability from ``start`` and the fan-out/fan-in pairing (bounded: see ``Analysis.too_complex``).

    Computed once per model object (validation, the graph and the runner share it); treat it as read-only.
    """
    cached = model.__dict__.get("_analysis")
    if cached is not None:
        return cached
    out = _analyze(model)
    object.__setattr__(model, "_analysis", out)  # a cache on a frozen dataclass; not part of equality
    return out


def _analyze(model: WorkflowModel) -> Analysis:
    adj = _Adjacency(model)
    out = Analysis(reachable=_reachable(model, adj))
    budget = _budget_for(model)
    for i, t in enumerate(model.transitions):
        if not t.is_fan_out:
            continue
        if out.too_complex is None:
            try:
                out.groups.append(_pair_fan_out(model, i, t, adj, budget, out))
                continue
            except _OverBudget:
                out.too_complex = f"{t.source}->[{names_text(t.targets)}]"
        out.branch_reach[i] = [set() for _ in t.targets]
        out.groups.append(ParallelGroup(t.source, t.targets, (), None, i))
    return out


def _pair_fan_out(
    model: WorkflowModel, i: int, t: Transition, adj: _Adjacency, budget: _Budget, out: Analysis
) -> ParallelGroup:
    reaches = [_branch_reach(model, b, adj, budget) for b in t.targets]
    out.branch_reach[i] = reaches
    # candidates: fan-ins of the right size naming a state of the first branch (a match must)
    candidates = sorted(
        {
            j
            for s in reaches[0]
            for j in adj.fan_ins_by_member.get(s, ())
            if len(model.transitions[j].sources) == len(t.targets)
        }
    )
    match_idx = None
    if candidates:
        branches_of: dict[str, list[int]] = {}
        for b, reach in enumerate(reaches):
            for s in reach:
                branches_of.setdefault(s, []).append(b)
        match_idx = next(
            (j for j in candidates if _match(model.transitions[j].sources, branches_of, len(reaches), budget)), None
        )
    ends = model.transitions[match_idx].sources if match_idx is not None else ()
    return ParallelGroup(t.source, t.targets, ends, match_idx, i)


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


def true_false_variable(conditional: list[Transition]) -> str | None:
    """The variable when the transitions are exactly ``x==True`` and ``x==False`` (in either order)."""
    seen: dict[str, set] = {}
    for t in conditional:
        e = t.condition.expr if t.condition is not None and t.condition.kind == "expr" else None
        if not (
            isinstance(e, Compare)
            and e.ops == ("==",)
            and isinstance(e.left, Name)
            and isinstance(e.rights[0], Literal_)
            and isinstance(e.rights[0].value, bool)
        ):
            return None
        seen.setdefault(e.left.dotted, set()).add(e.rights[0].value)
    if len(conditional) == 2 and len(seen) == 1 and next(iter(seen.values())) == {True, False}:
        return next(iter(seen))
    return None


def _false_branch(conditional: list[Transition]) -> Transition:
    """The ``x==False`` transition of a pair :func:`true_false_variable` recognised."""
    for t in conditional:
        e = t.condition.expr if t.condition is not None else None
        if isinstance(e, Compare) and isinstance(e.rights[0], Literal_) and e.rights[0].value is False:
            return t
    return conditional[-1]


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _targets_text(t: Transition) -> str:
    return "[" + names_text(t.targets) + "]" if t.target_is_group else t.target


def _sources_text(t: Transition) -> str:
    return "[" + names_text(t.sources) + "]" if t.source_is_group else t.source


def validate(model: WorkflowModel, text: str = "") -> ValidationReport:
    """Check a parsed model. ``text`` (the source) is used for excerpts.

    Linear in the size of the workflow: at most ``MAX_ISSUES_PER_CODE`` findings of each kind are
    listed (with excerpts), the others are counted in one summary finding per kind.
    """
    pos = _first_positions(model)
    found = IssueCollector(text)

    def issue(sev, code, msg, where: Position | str | None, hint=""):
        p = pos.get(where) if isinstance(where, str) else where
        line, col = (p.line, p.column) if p else (None, None)
        found.add(sev, code, msg, line, col, hint)

    states = set(model.states)
    has_start = START in states and bool(model.outgoing(START))
    if not has_start:
        first = model.transitions[0].position if model.transitions else Position(1, 1)
        issue(
            "error",
            "no_start",
            "the workflow has no 'start' state: every run begins at 'start'",
            first,
            "begin with a transition from start, e.g. 'start->first_step;'",
        )
    an = analyze(model)
    if has_start:
        if END not in an.reachable:
            if END in states:
                issue(
                    "error",
                    "end_unreachable",
                    "'end' is not reachable from 'start'",
                    END,
                    "connect the last step of the main path to end, e.g. 'last_step->end;'",
                )
            else:
                last = model.transitions[-1].position if model.transitions else None
                issue(
                    "error",
                    "end_unreachable",
                    "the workflow never reaches 'end'",
                    last,
                    "add a transition to end, e.g. 'last_step->end;'",
                )
        for s in model.states:
            if s not in an.reachable and s != END:
                issue(
                    "error",
                    "unreachable",
                    f"state '{s}' cannot be reached from 'start'",
                    s,
                    f"add a transition into it (e.g. 'some_step->{s};') or remove it",
                )

    fan_in_sources = model.fan_in_sources()
    first_join_of: dict[str, Transition] = {}
    for t in model.transitions:
        if t.is_fan_in:
            for src in t.sources:
                first_join_of.setdefault(src, t)
    for s in model.states:
        if s == END:
            continue
        outs = model.outgoing(s)
        if s in fan_in_sources:
            continue
        if not outs:
            issue(
                "error",
                "dead_end",
                f"state '{s}' has no outgoing transition",
                s,
                f"add '{s}->end;' or a transition to the next step",
            )
        elif all(t.is_error for t in outs):
            issue(
                "error",
                "dead_end",
                f"state '{s}' has only an @error transition: where does it go when it succeeds?",
                s,
                f"add '{s}->next_step;' (the @error path is taken only when '{s}' fails)",
            )

    # per-state rules for single-source transitions
    for s in model.states:
        outs = model.outgoing(s)
        if not outs:
            continue
        defaults = [t for t in outs if t.condition is None]
        conditional = [t for t in outs if t.is_conditional]
        errors = [t for t in outs if t.is_error]
        if len(defaults) > 1:
            names = ", ".join(_targets_text(t) for t in defaults[:8]) + (
                f", … ({len(defaults) - 8:,} more)" if len(defaults) > 8 else ""
            )
            merged = list(dict.fromkeys(n for t in defaults for n in t.targets))
            issue(
                "error",
                "two_defaults",
                f"state '{s}' has {len(defaults):,} unconditional transitions ({names})",
                defaults[1].position,
                f"to run them in parallel write '{s}->[{names_text(merged)}];'; otherwise give them conditions "
                "(the unconditional one is the default)",
            )
        if len(errors) > 1:
            issue(
                "error",
                "two_error_paths",
                f"state '{s}' has more than one @error transition",
                errors[1].position,
                f"keep one fallback: '{s}->fallback_state:@error;'",
            )
        if s in fan_in_sources and defaults:
            join = first_join_of[s]
            issue(
                "error",
                "branch_end_default",
                f"state '{s}' ends a parallel branch (it is named in '{_sources_text(join)}->"
                f"{_targets_text(join)}') but also has an unconditional transition to {_targets_text(defaults[0])}",
                defaults[0].position,
                f"the fan-in is the default of a branch end; give '{s}->{_targets_text(defaults[0])}' a condition, "
                "or end the branch at the last state",
            )
        if conditional and not defaults and s not in fan_in_sources:
            both = true_false_variable(conditional)
            if both is not None:  # "x==True" and "x==False": only a missing or non-boolean x is left
                issue(
                    "warning",
                    "no_default",
                    f"state '{s}' decides on {both}==True / {both}==False only; a run where '{both}' is not "
                    "set (or not true/false) fails there",
                    conditional[0].position,
                    f"make sure a step before '{s}' (or the run's context) sets '{both}', or make one of "
                    f"the two the default: '{s}->{_targets_text(_false_branch(conditional))};'",
                )
            else:
                issue(
                    "warning",
                    "no_default",
                    f"state '{s}' has conditional transitions but no default; if no condition holds the run fails",
                    conditional[0].position,
                    f"add an unconditional transition as the default, e.g. '{s}->end;'",
                )
        repeats: dict[tuple, list[Transition]] = {}
        for t in outs:
            repeats.setdefault((t.targets, t.condition), []).append(t)
        for same in repeats.values():  # one finding per repeated transition, saying how often
            if len(same) > 1:
                times = "twice" if len(same) == 2 else f"{len(same):,} times"
                issue(
                    "warning",
                    "duplicate",
                    f"duplicate transition from '{s}' (written {times})",
                    same[1].position,
                    "remove the repeats",
                )
        for t in conditional:
            if t.condition.kind == "expr" and isinstance(t.condition.expr, Literal_):
                issue(
                    "warning",
                    "constant_condition",
                    f"condition '{_short(t.condition.text)}' is a constant",
                    t.position,
                    "compare a context value, e.g. approved==True",
                )

    # the same rules for the transitions leaving a join (fan-ins with the same source set)
    for fan_ins in model._fan_in_index.values():
        defaults = [t for t in fan_ins if t.condition is None]
        conditional = [t for t in fan_ins if t.is_conditional]
        label = _sources_text(fan_ins[0])
        if len(defaults) > 1:
            issue(
                "error",
                "two_defaults",
                f"join '{label}' has {len(defaults):,} unconditional transitions",
                defaults[1].position,
                "join into one state, then fan out again: "
                f"'{label}->merge; merge->[{names_text(dict.fromkeys(n for t in defaults for n in t.targets))}];'",
            )
        both = true_false_variable(conditional) if conditional and not defaults else None
        if both is not None:
            issue(
                "warning",
                "no_default",
                f"join '{label}' decides on {both}==True / {both}==False only; a run where '{both}' is not set "
                "(or not true/false) fails there",
                conditional[0].position,
                f"make sure a branch sets '{both}', or make one of the two the default: "
                f"'{label}->{_targets_text(_false_branch(conditional))};'",
            )
        elif conditional and not defaults:
            issue(
                "warning",
                "no_default",
                f"join '{label}' has conditional transitions but no default; if no condition holds the run fails",
                conditional[0].position,
                f"add an unconditional transition as the default, e.g. '{label}->end;'",
            )

    if an.too_complex is not None:
        issue(
            "error",
            "too_complex",
            f"the branches of fan-out '{an.too_complex}' reach so much of the same workflow that they cannot be "
            "paired with their fan-in in reasonable time",
            None,
            "give each branch its own states up to the fan-in; loops back before the fork belong after the join",
        )
    else:
        _check_fan_ins(model, an, issue)

    if has_start and END in an.reachable:
        alive = _can_reach_end(model)
        for s in model.states:
            if s in an.reachable and s not in alive and (model.outgoing(s) or s in fan_in_sources):
                issue(
                    "warning",
                    "cannot_reach_end",
                    f"state '{s}' can never reach 'end': a run that gets there cannot finish "
                    "(it loops until max_steps)",
                    s,
                    f"add a way out, e.g. '{s}->end:done==True;'",
                )

    return ValidationReport(errors=found.issues("error"), warnings=found.issues("warning"))


def _check_fan_ins(model: WorkflowModel, an: Analysis, issue) -> None:
    """Fan-ins must close a fan-out; fan-outs should have a fan-in."""
    groups_by_fan_in = {g.fan_in_index for g in an.groups if g.fan_in_index is not None}
    matched_keys = {frozenset(model.transitions[i].sources) for i in groups_by_fan_in}
    in_some_branch: dict[int, set[str]] | None = None  # branch count -> states in a branch of such a fan-out
    for t in model.transitions:
        if not t.is_fan_in or frozenset(t.sources) in matched_keys:
            continue
        if in_some_branch is None:
            in_some_branch = {}
            for reaches in an.branch_reach.values():
                into = in_some_branch.setdefault(len(reaches), set())
                for reach in reaches:
                    into |= reach
        members = in_some_branch.get(len(t.sources), set())
        culprit = next((s for s in t.sources if s not in members), None)
        if culprit is None:
            msg = (
                f"fan-in [{names_text(t.sources)}] does not match any fan-out: it must name the last state of "
                "each branch of one fan-out, one per branch"
            )
        else:
            msg = (
                f"fan-in names '{culprit}', which is not the end of a branch of a matching fan-out "
                f"with {len(t.sources):,} branches"
            )
        example = (
            (
                f"for '{an.groups[0].fork}->[{names_text(an.groups[0].branch_starts)}]' write "
                f"'[{names_text(an.groups[0].branch_starts)}]->next;' (or the last state of each branch)"
            )
            if an.groups
            else "start the branches with a fan-out first: 'fork->[a,b];'"
        )
        issue("error", "bad_fan_in", msg, t.position, example)

    for g in an.groups:
        if g.fan_in_index is None:
            issue(
                "warning",
                "no_fan_in",
                f"fan-out '{g.fork}->[{names_text(g.branch_starts)}]' has no fan-in: "
                "its branches finish separately and nothing waits for all of them",
                model.transitions[g.fan_out_index].position,
                f"join them with '[{names_text(g.branch_starts)}]->next_step;'",
            )
        else:
            for i, reach in enumerate(an.branch_reach[g.fan_out_index]):
                if END in reach:
                    issue(
                        "warning",
                        "branch_reaches_end",
                        f"branch '{g.branch_starts[i]}' of '{g.fork}' can reach 'end' without joining",
                        g.branch_starts[i],
                        "a branch that ends early counts as finished at the join",
                    )


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
