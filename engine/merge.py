"""Fan-in: the one merge rule for parallel branches, branch token ids and their order.

The runner (when a join completes), the History replay (``engine.workbench.runs.context_steps``) and
the optimizer (``optimizer.state_inputs``) all merge through :func:`merge_branches`, and the two
replays rebuild contexts from recorded transitions through :class:`ContextReplay`, so the three
agree on every value.

**Token ids.** The main path is ``"0"``; branch ``i`` (1-based, in the order the fan-out lists its
targets) of the ``f``-th fan-out of token ``T`` is ``f"{T}.{f}-{i}"`` (``"0.1-2"``, nested
``"0.1-2.1-1"``); a compensation run for token ``T`` is ``T + "~comp"``. Tokens are ordered
numerically component by component (``0.1-2`` before ``0.1-10``), never as text.

**Merge rule** (README, "Fan-out / fan-in"): the keys each branch wrote are merged in branch order.
When branches wrote different values for the same key, the first branch's value is kept and every
branch's value is listed in ``_conflicts[key][branch]`` (the runner also writes an audit warning).
The join adds ``all_ok``, ``any_failed`` and ``branch_status``; when a branch failed only
conditional fan-in transitions are considered (the runner's choice of transition).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAIN_TOKEN = "0"
COMPENSATION_SUFFIX = "~comp"
JOIN_KEYS = ("all_ok", "any_failed", "branch_status")
CONFLICTS_KEY = "_conflicts"
RESERVED_KEYS = frozenset((*JOIN_KEYS, CONFLICTS_KEY))
CONTEXT_STATUSES = ("completed", "skipped", "fallback", "join")  # recorded rows that change a context
_BRANCH_PART = re.compile(r"(\d+)-(\d+)")


# --------------------------------------------------------------------------------- token ids
def branch_token(parent: str, fork: int, index: int) -> str:
    """Token id of branch ``index`` (1-based) of the ``fork``-th fan-out of ``parent``: ``0.1-2``."""
    return f"{parent}.{int(fork)}-{int(index)}"


def parent_token(token: str) -> str | None:
    """The token a branch (or compensation) token came from; ``None`` for the main token."""
    token = token or MAIN_TOKEN
    if token.endswith(COMPENSATION_SUFFIX):
        return token[: -len(COMPENSATION_SUFFIX)] or MAIN_TOKEN
    if "." not in token:
        return None
    return token.rsplit(".", 1)[0]


def branch_position(token: str) -> tuple[int, int] | None:
    """``(fork, index)`` of a branch token (``"0.3-12"`` → ``(3, 12)``); ``None`` for other tokens."""
    if not token or "." not in token or token.endswith(COMPENSATION_SUFFIX):
        return None
    m = _BRANCH_PART.fullmatch(token.rsplit(".", 1)[1])
    return (int(m.group(1)), int(m.group(2))) if m else None


def token_sort_key(token: str) -> tuple:
    """Numeric order of token ids, component by component: ``0 < 0.1-2 < 0.1-10 < 0.1-10~comp``."""
    token = token or MAIN_TOKEN
    comp = token.endswith(COMPENSATION_SUFFIX)
    if comp:
        token = token[: -len(COMPENSATION_SUFFIX)]
    parts = []
    for p in token.split("."):
        m = _BRANCH_PART.fullmatch(p)
        if m:
            parts.append((int(m.group(1)), int(m.group(2)), ""))
        elif p.isdigit():
            parts.append((int(p), 0, ""))
        else:  # not a token the runner makes: after the numeric ones, by text
            parts.append((1 << 62, 0, p))
    return (tuple(parts), comp)


def sort_tokens(tokens: Iterable[str]) -> list[str]:
    """Token ids in branch order (see :func:`token_sort_key`)."""
    return sorted(tokens, key=token_sort_key)


# --------------------------------------------------------------------------------- the merge
@dataclass(frozen=True)
class Branch:
    """One finished branch at a join: its name (start state), context, the keys it wrote, status."""

    name: str
    context: Mapping[str, Any]
    written: Iterable[str]
    status: str = "completed"


@dataclass
class MergeResult:
    context: dict  # the joined context (base + branch writes + join keys + _conflicts)
    conflicts: dict = field(default_factory=dict)  # this join's conflicts: {key: {branch: value}}


def _canonical(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(value)


def same_value(a: Any, b: Any) -> bool:
    """Equal as Python values or as stored JSON (a tuple and a list, two NaNs, 1 and "1"-keyed dicts)."""
    if a is b:
        return True
    try:
        if a == b:
            return True
    except Exception:  # exotic __eq__: fall back to the stored form
        pass
    return _canonical(a) == _canonical(b)


def merge_branches(base: Mapping[str, Any], branches: Sequence[Branch]) -> MergeResult:
    """Join ``branches`` (in branch order) onto ``base``, the context at the fork.

    Only the keys a branch wrote are taken from it; the first branch that wrote a key wins; when
    another branch wrote a different value, every writer's value goes into ``_conflicts[key]``
    (keyed by branch name, in branch order). ``_conflicts`` inherited from ``base`` or raised in a
    nested join inside a branch are kept; for a key that conflicts again the branch maps are combined
    (a branch name seen again takes the newer value). Adds ``branch_status``, ``any_failed``, ``all_ok``.
    """
    merged = dict(base)
    writers: dict[str, list[tuple[str, Any]]] = {}
    names: list[str] = []
    for i, b in enumerate(branches):
        name = str(b.name)
        if name in names:  # the same state listed twice: keep both apart
            name = f"{name}#{i + 1}"
        names.append(name)
        ctx = b.context
        for k in b.written:
            if k in RESERVED_KEYS or k not in ctx:
                continue
            writers.setdefault(k, []).append((name, ctx[k]))
    conflicts: dict[str, dict] = {}
    for k, vals in writers.items():
        first = vals[0][1]
        merged[k] = first
        if any(not same_value(first, v) for _, v in vals[1:]):
            conflicts[k] = {name: v for name, v in vals}
    status = {name: b.status for name, b in zip(names, branches)}
    merged["branch_status"] = status
    merged["any_failed"] = any(s == "failed" for s in status.values())
    merged["all_ok"] = not merged["any_failed"]
    inherited = base.get(CONFLICTS_KEY)
    inherited = dict(inherited) if isinstance(inherited, Mapping) else {}
    nested: dict[str, Any] = {}
    for b in branches:
        theirs = b.context.get(CONFLICTS_KEY)
        if not isinstance(theirs, Mapping):
            continue
        for k, v in theirs.items():
            if k not in nested and not (k in inherited and same_value(inherited[k], v)):
                nested[k] = v
    if inherited or nested or conflicts:
        combined: dict[str, Any] = {}
        for layer in (inherited, nested, conflicts):  # older first; a branch named again takes the newer value
            for k, v in layer.items():
                old = combined.get(k)
                combined[k] = {**old, **v} if isinstance(old, Mapping) and isinstance(v, Mapping) else v
        merged[CONFLICTS_KEY] = combined
    else:
        merged.pop(CONFLICTS_KEY, None)
    return MergeResult(merged, conflicts)


def conflict_message(conflicts: Mapping[str, Mapping]) -> str:
    """The audit warning for a join whose branches disagreed."""
    return (
        "branches wrote different values for "
        + ", ".join(sorted(conflicts))
        + "; the first branch's value is kept and all values are in _conflicts"
    )


# --------------------------------------------------------------------------------- replay
def _decode(value: Any) -> Any:
    if value is None or isinstance(value, (dict, list)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def fallback_error(row: Mapping[str, Any]) -> dict:
    """The ``error`` value the runner puts in the context when a state falls back (``@error``)."""
    from engine.recovery import classify

    err_type = row.get("error_type") or "Error"
    msg = row.get("error_message") or "failed"
    return {"state": row.get("from_state"), "type": err_type, "message": msg, "class": classify(err_type, msg)}


class ContextReplay:
    """Rebuild each token's context from recorded ``state_transitions`` rows, as the runner built it.

    Feed the rows of one execution in recorded order to :meth:`apply`; :meth:`context` gives a
    token's context at that point. A branch starts from a copy of its parent's context; a join row
    merges the parent's latest branches with :func:`merge_branches` (branch names are the first
    state recorded for each branch token), then applies the join's recorded updates.
    """

    def __init__(self, initial: Mapping[str, Any] | None = None):
        self._contexts: dict[str, dict] = {MAIN_TOKEN: dict(initial or {})}
        self._written: dict[str, dict[str, None]] = {MAIN_TOKEN: {}}
        self._names: dict[str, str] = {}
        self.last_conflicts: dict = {}

    def context(self, token: str | None) -> dict:
        """The current context of ``token`` (created from its parent's on first use). Do not mutate."""
        token = token or MAIN_TOKEN
        ctx = self._contexts.get(token)
        if ctx is None:
            parent = parent_token(token)
            ctx = dict(self.context(parent)) if parent is not None else {}
            self._contexts[token] = ctx
            self._written[token] = {}
        return ctx

    def tokens(self) -> list[str]:
        """Live tokens (not yet joined), in branch order."""
        return sort_tokens(self._contexts)

    def apply(self, row: Mapping[str, Any]) -> dict | None:
        """Apply one recorded row; returns the updates it applied, or None when it changes no context."""
        token = row.get("token") or MAIN_TOKEN
        ctx = self.context(token)
        if row.get("from_state"):
            self._names.setdefault(token, row["from_state"])
        status = row.get("status")
        if status not in CONTEXT_STATUSES:
            return None
        updates = _decode(row.get("context_snapshot"))
        updates = dict(updates) if isinstance(updates, dict) else {}
        self.last_conflicts = {}
        if status == "join":
            ctx = self._join(token, updates.get("branch_status"))
            ctx.update(updates)  # the join's own keys: in the context, not "written" by the token
            return updates
        if status == "fallback":
            updates["error"] = fallback_error(row)
        ctx.update(updates)
        self._written[token].update(dict.fromkeys(updates))
        return updates

    def _join(self, token: str, recorded_status: Any) -> dict:
        kids = [t for t in self._contexts if parent_token(t) == token and branch_position(t) is not None]
        if not kids:
            return self._contexts[token]
        fork = max(branch_position(t)[0] for t in kids)
        kids = sort_tokens(t for t in kids if branch_position(t)[0] == fork)
        status = recorded_status if isinstance(recorded_status, Mapping) else {}
        branches = []
        for t in kids:
            name = self._names.get(t, t)
            branches.append(Branch(name, self._contexts[t], self._written[t], status.get(name, "completed")))
        res = merge_branches(self._contexts[token], branches)
        self._contexts[token] = res.context
        for t in kids:
            self._written[token].update(self._written[t])
        for t in list(self._contexts):  # the joined branches and anything left under them
            if any(t == k or t.startswith(k + ".") or t.startswith(k + COMPENSATION_SUFFIX) for k in kids):
                self._contexts.pop(t, None)
                self._written.pop(t, None)
        self.last_conflicts = res.conflicts
        return res.context
