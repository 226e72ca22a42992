"""The Ray executor collects finished tasks in rounds (ray_tasks.executor._Collector) on real Ray:
every result reaches its waiter, errors reach the right waiter, a waiter that gave up is skipped,
and the engine-facing errors (timeout, cancel) still come out as the engine's own."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from engine.outcomes import TaskTimeout

pytestmark = pytest.mark.usefixtures("ray_cluster")


def _run(coro):
    """``asyncio.run`` on a thread of its own, like the engine's driver thread (browser tests earlier in
    the session leave Playwright's loop running on the main thread)."""
    out: dict = {}

    def go():
        try:
            out["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised on the test's thread
            out["error"] = exc

    t = threading.Thread(target=go)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def _collector():
    from ray_tasks.executor import RayExecutor

    return RayExecutor()


def test_every_result_reaches_its_own_waiter_in_rounds():
    import ray

    @ray.remote(max_retries=0)
    def echo(i):
        return {"i": i}

    ex = _collector()

    async def main():
        return await asyncio.gather(*(ex._waiter(echo.remote(i)) for i in range(300)))

    assert _run(main()) == [{"i": i} for i in range(300)]  # each value reached its own waiter
    assert ex._completions is not None and ex._completions._thread.name == "ray-results"


def test_a_task_error_reaches_only_its_waiter():
    import ray

    @ray.remote(max_retries=0)
    def sometimes(i):
        if i == 3:
            raise ValueError("bad three")
        return i

    ex = _collector()

    async def main():
        futs = [ex._waiter(sometimes.remote(i)) for i in range(8)]
        return await asyncio.gather(*futs, return_exceptions=True)

    out = _run(main())
    assert [v for i, v in enumerate(out) if i != 3] == [0, 1, 2, 4, 5, 6, 7]
    assert isinstance(out[3], ray.exceptions.RayTaskError) and "bad three" in str(out[3])


def test_a_waiter_that_gave_up_does_not_block_the_others():
    import ray

    @ray.remote(max_retries=0)
    def nap(s):
        time.sleep(s)
        return s

    ex = _collector()

    async def main():
        slow = nap.remote(30)
        with pytest.raises(TaskTimeout, match="timed out after 0.3 s"):
            await ex.result(slow, 0.3)  # gives up, and cancels the task
        t0 = time.monotonic()
        fast = await asyncio.gather(*(ex._waiter(nap.remote(0)) for _ in range(5)))
        return fast, time.monotonic() - t0, slow

    fast, took, slow = _run(main())
    assert fast == [0] * 5 and took < 10
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(slow, timeout=30)


def test_results_keep_arriving_for_a_second_loop():
    """A new event loop (the engine restarted in the same process) gets its own collector; the
    first one's thread ends with its loop."""
    import ray

    @ray.remote(max_retries=0)
    def echo(i):
        return i

    ex = _collector()

    async def one(i):
        return await ex._waiter(echo.remote(i))

    assert _run(one(1)) == 1
    first = ex._completions
    assert _run(one(2)) == 2
    assert ex._completions is not first
    first._thread.join(timeout=5)
    assert not first._thread.is_alive()


def test_rounds_are_short_until_the_pending_tasks_need_much_longer():
    from ray_tasks.executor import ROUND_MAX_S, ROUND_S, round_seconds

    assert round_seconds(3, 0.0) == ROUND_S  # pace unknown: short rounds
    assert round_seconds(8, 1000.0) == ROUND_S  # 8 ms of work left: a late hand-over could idle a CPU
    assert round_seconds(40, 1000.0) == 0.02  # half of the 40 ms left: the other half keeps the CPUs busy
    assert round_seconds(200, 1000.0) == ROUND_MAX_S  # a fan-out of 200 on 2 CPUs: the longest round
    assert ROUND_MAX_S == 0.04
    assert round_seconds(200, 2.0) == ROUND_MAX_S  # slow tasks: still at most 40 ms late
    assert round_seconds(10_000, 1000.0) > ROUND_MAX_S  # ray.wait over 10,000 refs: rounds stay cheap
