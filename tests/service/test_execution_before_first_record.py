"""``GET /executions/{id}`` right after the ``POST`` that returned the id: the run's first record is
written by its drive on the engine's loop, which may not have begun yet (the loop busy with other runs,
or Ray starting for the process's first run). The service answers from what the engine knows, never
"no execution" (a CI run once read that 404 between the two calls)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from engine.service.errors import ApiError
from engine.service.routes_executions import _execution_or_404
from engine.workflow_file import parse_workflow_text

SPEC = parse_workflow_text('name = "quick"\ndsl = "start->a; a->end;"\n[states.a]\naction = "noop"\n')


def test_a_run_whose_drive_has_not_begun_is_answered_from_the_engine(inline_engine):
    svc = SimpleNamespace(store=inline_engine.store, engine=inline_engine)
    held, release = threading.Event(), threading.Event()

    def busy() -> None:  # the loop is busy: the run's drive cannot begin
        held.set()
        release.wait(10)

    inline_engine._loop.call_soon_threadsafe(busy)
    assert held.wait(10)
    try:
        eid = inline_engine.start(SPEC, {"n": 1})
        ex = _execution_or_404(svc, eid)
        assert (ex["execution_id"], ex["status"], ex["workflow_name"]) == (eid, "pending", "quick")
        assert ex["initial_context"] == {"n": 1} and ex["states_visited"] == []
    finally:
        release.set()
    assert inline_engine.wait(eid, timeout=30).status == "completed"
    deadline = time.monotonic() + 10
    while _execution_or_404(svc, eid)["status"] != "completed":  # then the records answer
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_an_unknown_id_is_still_not_found(inline_engine):
    svc = SimpleNamespace(store=inline_engine.store, engine=inline_engine)
    with pytest.raises(ApiError) as err:
        _execution_or_404(svc, "nope")
    assert err.value.status == 404 and "no execution nope" in str(err.value)
