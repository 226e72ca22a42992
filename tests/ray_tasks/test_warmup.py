"""The warm-up holds one task per worker at once, in rounds that hold twice as long each time, until that
many distinct workers ran them: on a loaded machine a worker can boot slower than one round's pause
(``tests/engine/test_warmup.py`` checks the engine's warm-up ends with one worker per CPU)."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.ray


def test_rounds_stop_at_the_deadline_when_not_all_workers_can_be_held(ray_cluster):
    from ray_tasks import warmup

    cpus = int(ray_cluster.resources.get("CPU", 1))
    t0 = time.monotonic()
    held = warmup._hold_workers(cpus + 1, t0 + 6.0, 0.25)  # one more than can run at once
    took = time.monotonic() - t0
    # how many a round held depends on how fast workers boot on a loaded machine (none yet, even); that
    # it stopped at the deadline (not after rounds of up to 8 s each) and counted one round, never a sum
    # over rounds, does not
    assert 0 <= held <= cpus + 1
    assert took < 6.0 + 5.0, took


def test_one_round_is_enough_when_every_worker_is_up(ray_cluster):
    from ray_tasks import warmup

    cpus = int(ray_cluster.resources.get("CPU", 1))
    warmup._hold_workers(cpus, time.monotonic() + 60, 0.5)  # workers booted (kept idle by Ray)
    t0 = time.monotonic()
    assert warmup._hold_workers(cpus, t0 + 60, 0.5) == cpus
    assert time.monotonic() - t0 < 30  # not the whole minute
