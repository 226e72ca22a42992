"""The driver-saturation benchmark's ramp logic: when to stop raising the load and where the knee is."""

from __future__ import annotations

import os
import time

import pytest

from benchmarks.bench_driver_saturation import Window, _own_cpu_s, knee, pick_cores, still_rising


def test_the_ramp_goes_on_while_throughput_rises_and_stops_after_two_flat_levels():
    assert still_rising([100, 200, 400])
    assert still_rising([100, 200, 400, 410])  # one flat level: keep going, the next may still rise
    assert not still_rising([100, 200, 400, 410, 415])
    assert not still_rising([100, 200, 400, 300, 350])  # falling counts as not rising
    assert still_rising([100, 200, 400, 410, 500])  # rose again by more than 5 %


def test_the_knee_is_the_lowest_load_within_five_percent_of_the_best():
    points = [
        {"level": 1, "states_per_s": 90},
        {"level": 5, "states_per_s": 400},
        {"level": 20, "states_per_s": 780},
        {"level": 50, "states_per_s": 800},
        {"level": 100, "states_per_s": 760},
    ]
    assert knee(points, "states_per_s")["level"] == 20
    assert knee(points[:2], "states_per_s")["level"] == 5
    with pytest.raises(ValueError):
        knee([], "states_per_s")


def test_driver_and_ray_get_different_cores_or_none_on_one_core():
    assert pick_cores({3, 1, 7}) == (1, 3)
    assert pick_cores({0}) is None


def test_a_window_measures_the_cpu_the_driver_used_and_how_busy_each_core_was():
    cores = tuple(sorted(os.sched_getaffinity(0)))
    deadline = time.monotonic() + 60
    with Window(cores) as busy:
        start = _own_cpu_s()
        while _own_cpu_s() - start < 0.2 and time.monotonic() < deadline:  # spin until 0.2 s of CPU used
            pass
    used = busy.driver_cpu_share * busy.wall
    assert used >= 0.2  # however loaded the machine, the spinning shows as this process's CPU time
    assert busy.driver_cpu_share <= 1.1  # one spinning thread cannot use more than its core
    assert set(busy.core_busy) == set(cores) and all(0 <= v <= 1 for v in busy.core_busy.values())
    assert max(busy.core_busy.values()) > 0
