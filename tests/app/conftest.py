"""AppTest fixtures: a real store and an engine running every state in-process (no Ray)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"


@pytest.fixture
def app_engine(store):
    """The process-wide engine the pages get through ``ui.engine()``, on the test's store, inline."""
    from app.components import ui
    from engine import runner
    from engine.executors import InlineExecutor

    eng = runner.Engine(store=store, executor=InlineExecutor())
    eng.start_cluster()
    runner._ENGINES[str(store.path)] = eng
    ui._engine.clear()
    ui._cluster_started.clear()
    yield eng
    runner._ENGINES.pop(str(store.path), None)
    ui._engine.clear()
    eng.shutdown()


@pytest.fixture
def page_test(app_engine):
    """``page_test("run")`` -> an AppTest of app/app_pages/run.py (not yet run)."""
    from streamlit.testing.v1 import AppTest

    def make(name: str) -> AppTest:
        return AppTest.from_file(str(APP / "app_pages" / f"{name}.py"), default_timeout=60)

    return make


def texts(at) -> str:
    """Everything the page wrote, as one string (markdown, captions, alerts, metrics, code)."""
    parts = []
    for kind in ("markdown", "caption", "info", "success", "warning", "error", "title", "subheader", "code"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)


def wait_for(at, predicate, timeout: float = 20.0):
    """Rerun the page until ``predicate(at)`` holds (AppTest never fires run_every timers)."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        if predicate(at):
            return at
        if time.monotonic() > deadline:
            raise AssertionError("timed out; page says:\n" + texts(at)[-2000:])
        time.sleep(0.3)
