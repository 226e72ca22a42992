"""The state task is submitted straight through Ray's core worker (ray_tasks.submission): the task Ray
runs is the one ``RemoteFunction._remote`` would submit (same name, function, resources, retries,
job), and whatever the direct path was not written for goes through ``_remote`` as before."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ray_tasks import submission
from ray_tasks.submission import DirectSubmitter

pytestmark = pytest.mark.usefixtures("ray_cluster")

ROOT = Path(__file__).resolve().parents[2]
_SAME = ("name", "func_or_class_name", "type", "required_resources", "job_id", "language", "label_selector")


def _echo():
    import ray

    @ray.remote(max_retries=0, retry_exceptions=False)
    def echo(x):
        return {"got": x}

    return echo


def _task_record(ref, timeout: float = 30.0):
    """Ray's own record of the task (state API), once the task's events reached the dashboard."""
    from ray.util.state import get_task

    from ray_tasks import cluster

    url = cluster.info().dashboard_url
    url = url if url.startswith("http") else f"http://{url}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = get_task(ref.task_id().hex(), address=url, _explain=False)
        found = found[0] if isinstance(found, list) and found else found
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"Ray has no record of task {ref.task_id().hex()} after {timeout} s")


def test_the_first_task_on_a_connection_goes_through_remote_and_the_next_ones_go_direct():
    import ray

    echo = _echo()
    sub = DirectSubmitter(echo, {"max_retries": 0, "retry_exceptions": False})
    first = sub.submit(b"a", "first")
    assert sub.direct == 0  # _remote exported the function to this cluster and job
    rest = [sub.submit(bytes([i]), f"task {i}") for i in range(20)]
    assert sub.direct == 20
    assert ray.get(first) == {"got": b"a"}
    assert ray.get(rest) == [{"got": bytes([i])} for i in range(20)]


def test_a_direct_task_is_the_task_remote_would_submit():
    import ray

    echo = _echo()
    sub = DirectSubmitter(echo, {"max_retries": 0, "retry_exceptions": False})
    ray.get(sub.submit(b"warm", "same name"))  # through _remote
    via_remote = echo._remote(args=[b"x"], kwargs={}, max_retries=0, retry_exceptions=False, name="same name")
    direct = sub.submit(b"x", "same name")
    assert sub.direct == 1
    assert ray.get(direct) == ray.get(via_remote)
    a, b = _task_record(via_remote), _task_record(direct)
    assert {k: getattr(a, k) for k in _SAME} == {k: getattr(b, k) for k in _SAME}
    assert b.name == "same name" and b.required_resources == {"CPU": 1.0}


def test_a_task_whose_worker_dies_is_not_retried_by_ray(tmp_path):
    """max_retries=0 reaches Ray on the direct path: the engine, not Ray, decides about a lost worker."""
    import ray
    from ray.exceptions import WorkerCrashedError

    @ray.remote(max_retries=0, retry_exceptions=False)
    def die(marker: bytes):
        import os

        path = Path(marker.decode())
        with path.open("a") as fh:
            fh.write("ran\n")
        os._exit(1)

    sub = DirectSubmitter(die, {"max_retries": 0, "retry_exceptions": False})
    marker = tmp_path / "calls"
    with pytest.raises(WorkerCrashedError):
        ray.get(sub.submit(str(tmp_path / "warm").encode(), "warm"))  # through _remote
    with pytest.raises(WorkerCrashedError):
        ray.get(sub.submit(str(marker).encode(), "dies once"))
    assert sub.direct == 1
    assert marker.read_text() == "ran\n"  # one run: not retried


def test_another_ray_version_goes_through_remote(monkeypatch):
    import ray

    echo = _echo()
    sub = DirectSubmitter(echo, {"max_retries": 0, "retry_exceptions": False})
    ray.get(sub.submit(b"warm", "warm"))
    monkeypatch.setattr(submission, "SUBMIT_TASK_RAY_VERSION", "0.0.0")
    assert ray.get(sub.submit(b"x", "x")) == {"got": b"x"}
    assert sub.direct == 0


@pytest.mark.parametrize(
    "options",
    [
        {"max_retries": 0, "retry_exceptions": [ValueError]},  # an allowlist: Ray pickles it for the task
        {"max_retries": 0, "num_returns": 2},
        {"max_retries": 0, "scheduling_strategy": "SPREAD"},
    ],
)
def test_options_the_direct_path_was_not_written_for_go_through_remote(options):
    import ray

    @ray.remote
    def pair(x):
        return x, x

    sub = DirectSubmitter(pair, options)
    for _ in range(2):
        out = sub.submit(b"x", "with options")
        assert ray.get(out) == ((b"x", b"x") if options.get("num_returns") != 2 else [b"x", b"x"])
    assert sub.direct == 0


def test_the_engines_state_tasks_go_direct():
    import ray

    from ray_tasks import executor
    from ray_tasks.executor import RayExecutor

    payload = {
        "action": "python",
        "binding": {"action": "python", "function": "tests.ai.translator_functions:passes"},
        "context": {},
        "state": "s1",
        "python_path": [str(ROOT)],
    }
    ex = RayExecutor()
    ray.get(ex.submit(payload, "warm"))
    before = executor._DEFAULT_PLACEMENT.direct
    out = ray.get(ex.submit(payload, "checked"))
    assert out["status"] == "completed" and out["updates"] == {"checked": True}
    assert executor._DEFAULT_PLACEMENT.direct == before + 1
    # a placement of its own: through _remote with its options
    out = ray.get(ex.submit({**payload, "binding": {**payload["binding"], "num_cpus": 0.5}}, "placed"))
    assert out["status"] == "completed"
    assert executor._DEFAULT_PLACEMENT.direct == before + 1
