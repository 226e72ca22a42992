"""Bare-Ray baselines for benchmarks/bench_engine.py: plain remote functions, no engine code at all.

``bare_small_dict`` does what the benchmark's engine state does (returns a small dict); the loops
below submit it the way a user of plain Ray would. ``ray`` is imported only under ``ray_tasks/``.
"""

from __future__ import annotations

import asyncio

import ray


@ray.remote
def bare_small_dict(context: dict) -> dict:
    """The bare-Ray twin of ``benchmarks.functions:small_dict``."""
    return {"done": True}


def fan_out_in(n: int) -> None:
    """W1: n tasks at once, one ``ray.get`` over all of them."""
    ray.get([bare_small_dict.remote({}) for _ in range(n)])


def fan_out_each(n: int) -> None:
    """W1 the way a driver that reacts to each result must wait: n tasks at once, each result awaited
    on its own as it arrives (asyncio, one completion per ref) instead of one ``ray.get`` over all."""

    async def every() -> None:
        await asyncio.gather(*(bare_small_dict.remote({}) for _ in range(n)))

    asyncio.run(every())


def chain(n: int) -> None:
    """W2: n tasks one after the other, each result passed on."""
    ctx: dict = {}
    for _ in range(n):
        result = ray.get(bare_small_dict.remote(ctx))
        ctx = {**ctx, **dict(result)}


def concurrent_chains(runs: int, n: int) -> None:
    """W3: ``runs`` chains of n tasks in flight together (asyncio, awaiting Ray refs)."""

    async def one() -> None:
        ctx: dict = {}
        for _ in range(n):
            ctx = {**ctx, **(await bare_small_dict.remote(ctx))}

    async def every() -> None:
        await asyncio.gather(*(one() for _ in range(runs)))

    asyncio.run(every())


def task_wrapper_loop(kind: str, payload: dict, n: int, runs: int = 1) -> None:
    """The same three shapes with the engine's own task wrapper (``run_state_task``): the old baseline."""
    from ray_tasks.tasks import pack, run_state_task

    if kind == "W1":
        ray.get([run_state_task.remote(pack(payload)) for _ in range(n)])
    elif kind == "W2":
        for _ in range(n):
            ray.get(run_state_task.remote(pack(payload)))
    else:

        async def one() -> None:
            for _ in range(n):
                await run_state_task.remote(pack(payload))

        async def every() -> None:
            await asyncio.gather(*(one() for _ in range(runs)))

        asyncio.run(every())
