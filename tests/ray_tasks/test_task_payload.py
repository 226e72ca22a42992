"""A task's payload travels pickled (ray_tasks.tasks.pack): cheaper for Ray to send than a dict. What the
standard pickle cannot take still goes, as a dict, and a payload that cannot be read is a failed attempt
(data), never a crashed worker."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from ray_tasks.tasks import pack, unpack

ROOT = Path(__file__).resolve().parents[2]


def _payload(**context) -> dict:
    return {
        "action": "python",
        "binding": {"action": "python", "function": "tests.ai.translator_functions:passes"},
        "context": context,
        "state": "s1",
        "python_path": [str(ROOT)],
    }


def test_a_plain_payload_is_packed_to_bytes_and_read_back_equal():
    payload = _payload(n=3, name="ä", rows=[{"a": 1.5}], flag=None)
    packed = pack(payload)
    assert type(packed) is bytes
    assert unpack(packed) == payload


def test_a_payload_the_standard_pickle_cannot_take_goes_as_it_is():
    payload = _payload(fn=lambda x: x)
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(payload)
    assert pack(payload) is payload  # Ray's own serialisation takes it, as before packing
    assert unpack(payload) is payload


@pytest.mark.usefixtures("ray_cluster")
def test_packed_and_unpacked_payloads_both_run_on_ray():
    import ray

    from ray_tasks.executor import RayExecutor

    ex = RayExecutor()
    packed = ray.get(ex.submit(_payload(n=1), "packed"))
    as_dict = ray.get(ex.submit(_payload(fn=lambda x: x), "a lambda in the context"))
    for out in (packed, as_dict):
        assert out["status"] == "completed", (out.get("error_type"), out.get("error_message"))
        assert out["updates"] == {"checked": True}
        assert out["node_id"]  # the worker set its node on the unpacked payload


@pytest.mark.usefixtures("ray_cluster")
def test_a_payload_that_cannot_be_read_is_a_failed_attempt_not_a_crashed_worker():
    import ray

    from ray_tasks.tasks import run_state_task

    out = ray.get(run_state_task.remote(b"not a pickle"))
    assert out["status"] == "failed"
    assert out["error_type"] == "UnpicklingError"
    assert "invalid load key" in out["error_message"]
