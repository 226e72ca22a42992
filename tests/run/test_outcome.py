"""engine.run.outcome: the immutable result of one attempt."""

from __future__ import annotations

import dataclasses

import pytest

from engine.run.outcome import Outcome


def test_an_outcome_cannot_be_changed_after_it_is_made():
    task = {"status": "completed", "updates": {"total": 2}, "keys_read": ["total"], "started_at": 1.0}
    o = Outcome.from_task(task, "ray", attempt=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.status = "failed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        o.updates["total"] = 99  # type: ignore[index]
    with pytest.raises(TypeError):
        o.record["status"] = "failed"  # type: ignore[index]
    task["updates"]["total"] = 3  # the task's dict changing later does not reach the outcome
    task["status"] = "failed"
    assert o.updates == {"total": 2} and o.record["status"] == "completed"
    assert (o.ok, o.attempt, o.executed_on) == (True, 2, "ray")


def test_but_makes_a_new_outcome_and_leaves_the_original():
    o = Outcome.from_task({"status": "completed", "updates": {"a": 1}}, "inline")
    changed = o.but(record={**o.record, "keys_read": []})
    assert changed is not o and changed.record["keys_read"] == [] and "keys_read" not in o.record
    with pytest.raises(TypeError):
        changed.record["keys_read"] = ["x"]  # type: ignore[index]


def test_a_task_record_that_did_not_complete_is_a_failure_with_its_error():
    o = Outcome.from_task({"status": "failed", "error_type": "KeyError", "error_message": "'x'"}, "ray")
    assert not o.ok and o.status == "failed" and (o.error_type, o.error_message) == ("KeyError", "'x'")
    unknown = Outcome.from_task({"status": "weird"}, "inline")
    assert unknown.status == "failed" and (unknown.error_type, unknown.error_message) == ("Error", "failed")


def test_failure_seen_by_the_driver_carries_timings():
    o = Outcome.failure("TaskTimeout", "took too long", "ray", started_at=100.0, duration=True)
    assert o.status == "failed" and o.record["started_at"] == 100.0 and o.record["ended_at"] >= 100.0
    assert o.record["duration_ms"] > 0 and o.updates == {}
    assert "duration_ms" not in Outcome.failure("TaskTimeout", "x", "inline", started_at=1.0).record


def test_skip_fallback_and_replay():
    assert Outcome.skipped(3).status == "skipped" and Outcome.skipped(3).attempt == 3
    fb = Outcome.fallback(2, "a", "ValueError", "bad", "data")
    assert fb.status == "fallback" and fb.error_dict() == {
        "state": "a",
        "type": "ValueError",
        "message": "bad",
        "class": "data",
    }
    err = fb.error_dict()
    err["state"] = "changed"  # a plain copy for the context: the outcome keeps its own
    assert fb.error["state"] == "a"
    replayed = Outcome.replayed({"status": "fallback", "updates": None, "error": "boom"}, "b")
    assert replayed.updates == {} and replayed.error_dict() == {"state": "b", "message": "boom"}
    assert Outcome.replayed({"status": "completed", "updates": {"k": 1}}, "b").error is None


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="unknown outcome status"):
        Outcome("done")


def test_outcomes_compare_by_value():
    a = Outcome.from_task({"status": "completed", "updates": {"a": 1}}, "inline")
    b = Outcome.from_task({"status": "completed", "updates": {"a": 1}}, "inline")
    assert a == b and a != a.but(attempt=2)
