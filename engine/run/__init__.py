"""The run engine: one driver loop per process, every state a Ray task (or inline when cheap).

The driver is an asyncio loop on one long-lived thread ("workbench-driver"). Each execution is a
coroutine and each parallel branch a child coroutine (a *token*), so thousands of executions run
at once without a thread each. Ray is connected from that same thread, which never exits (Ray's
head processes die with the thread that started them).

Durability: every state completion is appended to the store (a write-ahead log, safe against
``kill -9``) together with the transition chosen next, *before* any successor starts. Resume and
re-run are deterministic replays: the driver walks the graph again and reuses each recorded
``(token, state, visit)`` result instead of running the state.

Fan-in merge rule: :mod:`engine.merge` (the first branch's value wins, every value is kept under
``_conflicts``; ``all_ok``/``any_failed``/``branch_status`` are added; when a branch failed only
conditional fan-in transitions are considered).

Where things live (:class:`~engine.run.driver.Engine` is composed of one mixin per concern):

- :mod:`engine.run.driver` — ``Engine``: the loop thread, ``start``/``run``/``wait``, the registry of
  runs (live ones, finished summaries), a run's drive from first to last record (``_drive``,
  ``_drive_run``, ``_signal_done``), ``get_engine``;
- :mod:`engine.run.control` — ``cancel``, ``resume``, ``rerun``, loading a run back from its
  records (replay), the poller for cancels and answers from other processes;
- :mod:`engine.run.walk` — the graph walk: choosing transitions, fan-out and join;
- :mod:`engine.run.attempts` — one state: placement (Ray or inline), one attempt (``_run_once``,
  the dispatch to the executor), retries, recovery, compensation;
- :mod:`engine.run.subworkflows` — ``workflow`` states: child runs, nesting limits;
- :mod:`engine.run.people` — approvals, escalations, decisions, ``answer``;
- :mod:`engine.run.recorder` — every row the engine writes (shapes and appends);
- :mod:`engine.run.outcome` — ``Outcome``, the immutable result of one attempt;
- :mod:`engine.run.state` — ``RunOptions``, ``ExecutionResult``, ``RunError``, the in-memory ``Exec``
  and ``Token``.
"""

from engine.run.driver import Engine, get_engine
from engine.run.outcome import Outcome
from engine.run.state import ExecutionResult, RunError, RunOptions

__all__ = ["Engine", "ExecutionResult", "Outcome", "RunError", "RunOptions", "get_engine"]
