"""Plain frozen dataclasses describing a parsed workflow (the IR).

Data flows one way: DSL text -> :func:`engine.dsl.parser.parse` -> :class:`WorkflowModel`
-> validation -> execution plan. Positions are kept for error messages but never take part
in equality, so ``parse(to_dsl(m)) == m`` holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, Union

START = "start"
END = "end"
RESERVED_STATES = frozenset({START, END})


@dataclass(frozen=True)
class Position:
    """1-based line and column of a construct in the DSL source."""

    line: int
    column: int


# --- condition expressions (parsed form) -----------------------------------------------


@dataclass(frozen=True)
class Literal_:
    """A constant: bool, None, int, float or str."""

    value: Any


@dataclass(frozen=True)
class Name:
    """A context variable, possibly dotted (``order.total`` -> ("order", "total"))."""

    parts: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class ListLit:
    """A list literal of constants, used with ``in`` / ``not in``."""

    items: tuple[Literal_, ...]


@dataclass(frozen=True)
class Compare:
    """A (possibly chained) comparison: ``left op1 r1 op2 r2`` as in Python."""

    left: Expr
    ops: tuple[str, ...]
    rights: tuple[Expr, ...]


@dataclass(frozen=True)
class BoolOp:
    """``and`` / ``or`` over two or more operands."""

    op: Literal["and", "or"]
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    operand: Expr


Expr = Union[Literal_, Name, ListLit, Compare, BoolOp, Not]


def variables_of(node: Expr) -> tuple[str, ...]:
    """Dotted names read by an expression, first use first, without duplicates."""
    seen: dict[str, None] = {}
    stack: list[Expr] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Name):
            seen.setdefault(n.dotted, None)
        elif isinstance(n, Compare):
            stack.extend(reversed((n.left, *n.rights)))
        elif isinstance(n, BoolOp):
            stack.extend(reversed(n.operands))
        elif isinstance(n, Not):
            stack.append(n.operand)
    return tuple(seen)


@dataclass(frozen=True)
class Condition:
    """A transition guard.

    kind:
      - ``expr``: a safe expression, ``expr`` holds its parsed form;
      - ``natural``: a double-quoted sentence decided by the decision service;
      - ``error``: the ``@error`` marker, taken when the source state fails after recovery.
    ``text`` is the canonical source text (as printed by :func:`engine.dsl.printer.condition_text`).
    """

    kind: Literal["expr", "natural", "error"]
    text: str
    expr: Expr | None = None

    @property
    def variables(self) -> tuple[str, ...]:
        """Dotted context names the condition reads, in first-use order."""
        if self.expr is None:
            return ()
        return variables_of(self.expr)


# --- transitions and the workflow ------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """One DSL statement. ``sources``/``targets`` have one name unless written as a [group]."""

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    condition: Condition | None = None
    source_is_group: bool = False
    target_is_group: bool = False
    position: Position | None = field(default=None, compare=False, repr=False)

    @property
    def is_fan_out(self) -> bool:
        return self.target_is_group

    @property
    def is_fan_in(self) -> bool:
        return self.source_is_group

    @property
    def is_error(self) -> bool:
        return self.condition is not None and self.condition.kind == "error"

    @property
    def is_conditional(self) -> bool:
        return self.condition is not None and self.condition.kind != "error"

    @property
    def source(self) -> str:
        """The single source state (only for non-fan-in transitions)."""
        return self.sources[0]

    @property
    def target(self) -> str:
        """The single target state (only for non-fan-out transitions)."""
        return self.targets[0]


@dataclass(frozen=True)
class ParallelGroup:
    """A fan-out ``fork->[b1,b2,...]`` and, when present, its matching fan-in ``[e1,e2,...]->join``.

    ``branch_starts[i]`` is the first state of branch i, ``branch_ends[i]`` the state the fan-in
    names for it (the same state when the branch is one state long).
    """

    fork: str
    branch_starts: tuple[str, ...]
    branch_ends: tuple[str, ...] = ()
    fan_in_index: int | None = None  # index in WorkflowModel.transitions of the first matching fan-in
    fan_out_index: int = -1

    @property
    def join_key(self) -> tuple[str, ...]:
        return self.branch_ends


@dataclass(frozen=True)
class WorkflowModel:
    """A parsed workflow: its transitions in source order and the states in first-seen order."""

    transitions: tuple[Transition, ...]
    states: tuple[str, ...]
    # where each state is first named in the source (for messages); not part of equality
    state_positions: dict[str, Position] | None = field(default=None, compare=False, repr=False, hash=False)

    # Indexes are computed once per model (cached_property writes to the instance __dict__, which a
    # frozen dataclass allows; they take no part in equality or hashing).
    @cached_property
    def _outgoing_index(self) -> dict[str, tuple[Transition, ...]]:
        index: dict[str, list[Transition]] = {}
        for t in self.transitions:
            if not t.is_fan_in:
                index.setdefault(t.source, []).append(t)
        return {k: tuple(v) for k, v in index.items()}

    @cached_property
    def _fan_in_index(self) -> dict[frozenset[str], tuple[Transition, ...]]:
        index: dict[frozenset[str], list[Transition]] = {}
        for t in self.transitions:
            if t.is_fan_in:
                index.setdefault(frozenset(t.sources), []).append(t)
        return {k: tuple(v) for k, v in index.items()}

    def outgoing(self, state: str) -> tuple[Transition, ...]:
        """Transitions leaving ``state`` as a single source, in the order written."""
        return self._outgoing_index.get(state, ())

    def fan_ins_from(self, ends: tuple[str, ...]) -> tuple[Transition, ...]:
        """Fan-in transitions whose source list equals ``ends`` (order-insensitive)."""
        return self._fan_in_index.get(frozenset(ends), ())

    def fan_in_sources(self) -> frozenset[str]:
        """Every state named on the left of a fan-in."""
        return frozenset(s for key in self._fan_in_index for s in key)

    @property
    def transition_count(self) -> int:
        return len(self.transitions)
