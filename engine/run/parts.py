"""What the parts of :class:`engine.run.driver.Engine` share: its attributes, and the methods one
part (mixin) calls on another, with the module that defines each.

For readers and the type checker only: the method declarations exist under ``TYPE_CHECKING``; at
run time :class:`EngineParts` is an empty base class (the annotations set no value), so the real
methods of the mixins are the only ones.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.placement import PlacementLearner
    from engine.recovery import Failure, RecoveryDecision, RecoveryEngine
    from engine.run.outcome import Outcome
    from engine.run.state import Exec, FinishedRun, Token
    from engine.workflow_file import StateBinding


class EngineParts:
    """The engine's shared attributes (set in ``Engine.__init__``) and cross-part methods."""

    store: Any  # engine.store.Store (the only DuckDB writer)
    owner: str  # host:pid:token of this process (execution rows, leases)
    execs: dict[str, Exec | FinishedRun]
    recovery: RecoveryEngine
    max_finished_summaries: int
    _loop: asyncio.AbstractEventLoop
    _listeners: dict[str, list]
    _history_cache: dict[tuple, tuple[float, dict]]
    _cheap_cache: dict[tuple, tuple[float, set]]
    _placement: PlacementLearner
    _executor_ready: bool
    _db_path: str
    _advisor: Any
    _decisions: Any

    if TYPE_CHECKING:
        # ------------------------------------------------------------- driver
        @property
        def executor(self) -> Any: ...

        def _ensure_executor(self) -> None: ...

        def execution_row(self, execution_id: str) -> dict | None: ...

        def _exec_snapshot(self) -> list: ...

        def _register(self, ex: Exec) -> None: ...

        def _launch(self, ex: Exec) -> None: ...

        def _cancel_local(self, ex: Exec, reason: str, timed_out: bool = False) -> None: ...

        async def _drive(self, ex: Exec) -> None: ...

        # ------------------------------------------------------------- control
        def _owner_alive(self, owner: str | None) -> bool: ...

        def _load_replay(self, ex: Exec, source_id: str, before: Any = None) -> None: ...

        # ------------------------------------------------------------- recorder
        def _record_exec(self, ex: Exec, **over) -> None: ...

        def _append_exec_row_raw(self, row: dict, **over) -> None: ...

        def _audit(
            self,
            execution_id: str,
            level: str,
            state: str | None,
            event: str,
            message: str,
            metadata: dict | None = None,
            stack: str | None = None,
        ) -> None: ...

        def _record_step(
            self, ex: Exec, token: Token, state: str, visit: int, logs: str | None = None, **fields
        ) -> None: ...

        def _open_recovery(self, ex: Exec, f: Failure, d: RecoveryDecision, token: Token) -> None: ...

        def _close_recovery(self, ex: Exec, success: bool | None, duration_ms: float | None = None) -> None: ...

        def _record_human_recovery(self, ex: Exec, state: str, answer: str, attempt: int) -> None: ...

        # ------------------------------------------------------------- attempts, sub-workflows
        async def _execute_with_recovery(
            self, ex: Exec, token: Token, state: str, visit: int, binding: StateBinding
        ) -> Outcome: ...

        def _cancel_handles(self, ex: Exec) -> None: ...

        async def _sub_workflow(
            self, ex: Exec, token: Token, state: str, visit: int, binding: StateBinding
        ) -> dict: ...

        # ------------------------------------------------------------- people
        def _deliver_answer(self, ex: Exec, request_id: str, answer: str) -> None: ...

        async def _approval(
            self, ex: Exec, token: Token, state: str, visit: int, binding: StateBinding, attempt: int = 1
        ) -> dict: ...

        async def _wait_timer(
            self, ex: Exec, token: Token, state: str, visit: int, binding: StateBinding, attempt: int = 1
        ) -> dict: ...

        async def _escalate(
            self, ex: Exec, token: Token, state: str, visit: int, f: Failure, d: RecoveryDecision
        ) -> str: ...

        async def _decide_natural(
            self, ex: Exec, token: Token, state: str, visit: int, sentence: str
        ) -> tuple[bool, dict]: ...
