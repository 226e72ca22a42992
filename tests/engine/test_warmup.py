"""Ray workers are started before the first run needs them (issue 15): one per CPU, at once, as soon as
the engine's Ray is connected (what the app and the service do when they start)."""

from __future__ import annotations

import time


def test_the_engine_warms_one_worker_per_cpu_once_ray_is_connected(engine):
    from engine.workbench import system
    from ray_tasks import warmup

    engine.start_cluster()
    system.warm_up_in_background(engine)
    deadline = time.monotonic() + 120
    while system.warm_up_status()["state"] not in ("warm", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
    out = system.warm_up_status()
    assert out["state"] == "warm", out
    cpus = int(engine.executor.cluster_info().resources.get("CPU", 1))
    assert out["wanted"] == cpus and out["workers"] == cpus  # distinct worker processes, held at once
    assert warmup.warm_workers()["state"] == "warm"  # once per process
