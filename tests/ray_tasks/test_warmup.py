"""The warm-up holds one task per worker at once, in rounds that hold twice as long each time, until that
many distinct workers ran them: on a loaded machine a worker can boot slower than one round's pause."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.ray


def test_rounds_hold_longer_until_the_deadline_when_not_all_workers_can_be_held(ray_cluster):
    from ray_tasks import warmup

    cpus = int(ray_cluster.resources.get("CPU", 1))
    t0 = time.monotonic()
    held = warmup._hold_workers(cpus + 1, t0 + 4.0, 0.25)  # one more than can run at once
    took = time.monotonic() - t0
    # the most distinct workers of one round, never a sum over rounds (an idle extra worker Ray kept
    # from earlier tests may take the one task left over, so cpus + 1 can be seen)
    assert cpus <= held <= cpus + 1
    if held == cpus:  # not all held: rounds of 0.25, 0.5, 1 … s went on until the deadline, then stopped
        assert 3.5 <= took < 10.0, took


def test_one_round_is_enough_when_every_worker_is_up(ray_cluster):
    from ray_tasks import warmup

    cpus = int(ray_cluster.resources.get("CPU", 1))
    warmup._hold_workers(cpus, time.monotonic() + 60, 0.5)  # workers booted (kept idle by Ray)
    t0 = time.monotonic()
    assert warmup._hold_workers(cpus, t0 + 60, 0.5) == cpus
    assert time.monotonic() - t0 < 30  # not the whole minute
