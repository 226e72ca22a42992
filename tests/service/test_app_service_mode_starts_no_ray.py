"""In service mode (``WORKBENCH_SERVER`` answers) the app starts no Ray of its own at start-up: the
service drives every run on its Ray. Without a service the app still connects its own engine."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.service.conftest import free_port
from tests.service.test_app_mode import _main_page, served  # noqa: F401 - fixture used below

pytestmark = [pytest.mark.slow]


@pytest.fixture
def fresh_engine(store):
    """The app's process-wide engine on the test's store, inline, with its cluster NOT started yet."""
    from app.components import ui
    from engine import runner
    from engine.executors import InlineExecutor

    eng = runner.Engine(store=store, executor=InlineExecutor())
    runner._ENGINES[str(store.path)] = eng
    ui._engine.clear()
    ui._cluster_started.clear()
    yield eng
    runner._ENGINES.pop(str(store.path), None)
    ui._engine.clear()
    ui._cluster_started.clear()
    eng.shutdown()


def _settled_status(eng) -> dict:
    """The cluster status once every callback queued on the engine's driver loop so far has run."""
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0), eng._loop).result(30)
    return eng.cluster_status()


def test_the_app_starts_no_ray_of_its_own_when_the_service_answers(fresh_engine, served, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WORKBENCH_SERVER", served.url)
    at = _main_page()
    at.run()
    assert not at.exception
    assert not _settled_status(fresh_engine)["ready"]  # nothing asked this app's engine to connect

    monkeypatch.setenv("WORKBENCH_SERVER", f"http://127.0.0.1:{free_port()}")  # no service answers there
    at = _main_page()
    at.run()
    assert not at.exception
    deadline = time.monotonic() + 30
    while not _settled_status(fresh_engine)["ready"]:
        assert time.monotonic() < deadline, "the app never connected its own engine without a service"
        time.sleep(0.2)
