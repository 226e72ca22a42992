"""What each attempt sends to its worker: the binding without its empty fields (issue 18: a smaller
payload pickled into every Ray task), read by the actions exactly as the full dump was."""

from __future__ import annotations

from engine.actions import execute_state
from engine.run.attempts import compact_binding
from engine.task_placement import ray_options, requires_ray
from engine.workflow_file import StateBinding


def test_empty_fields_are_left_out_and_zero_false_and_params_are_kept():
    binding = StateBinding(action="python", function="tests.run.step_functions:chatty", num_cpus=0, params={"word": ""})
    sent = compact_binding(binding)
    full = binding.model_dump(mode="json")
    assert set(sent) < set(full)  # something was left out …
    assert all(v not in (None, "", [], {}) for v in sent.values())  # … only empty values
    assert all(full[k] in (None, "", [], {}) for k in set(full) - set(sent))
    assert sent["params"] == {"word": ""}  # a param's empty value is the function's input: kept
    assert sent["num_cpus"] == 0  # zero CPUs is a placement request, not an empty field
    assert requires_ray(sent) and ray_options(sent) == {"num_cpus": 0}
    assert len(repr(sent)) < len(repr(full)) / 2


def test_a_state_runs_from_the_compact_binding_as_from_the_full_one():
    binding = StateBinding(action="python", function="tests.run.step_functions:chatty", params={"word": "hi"})
    results = [
        execute_state({"action": "python", "binding": dumped, "context": {}, "state": "s"})
        for dumped in (binding.model_dump(mode="json"), compact_binding(binding))
    ]
    for out in results:
        assert out["status"] == "completed", out.get("error_message")
    assert results[0]["updates"] == results[1]["updates"] == {"said_hi": True}
