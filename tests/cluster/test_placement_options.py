"""Placement options of a state (num_cpus, num_gpus, memory, resources, node) and the shipped code bundle."""

from __future__ import annotations

import pytest

from engine import task_placement
from engine.code_bundle import SHIPPED_PACKAGE, BundleTooLarge, stage_function_dirs
from engine.placement import may_inline
from engine.workbench.drafts import binding_from_form
from engine.workflow_file import StateBinding
from ray_tasks.runtime_env import ship_code_wanted


def _b(**kw) -> StateBinding:
    return StateBinding(action="python", function="team:step", **kw)


def test_a_binding_carries_ray_task_options():
    b = _b(num_cpus=2, num_gpus=0.5, memory="512MiB", resources={"node_b": 1}, node={"zone": "in(a,b)"})
    assert b.memory == 512 * 2**20
    assert task_placement.ray_options(b.model_dump(mode="json")) == {
        "num_cpus": 2.0,
        "num_gpus": 0.5,
        "memory": 512 * 2**20,
        "resources": {"node_b": 1.0},
        "label_selector": {"zone": "in(a,b)"},
    }
    assert task_placement.ray_options(_b().model_dump(mode="json")) is None


@pytest.mark.parametrize(
    "bad, says",
    [
        ({"resources": {"CPU": 1}}, "num_cpus"),
        ({"resources": {"node_b": 0}}, "amount > 0"),
        ({"resources": {"node_b": 1.5}}, "whole numbers"),
        ({"node": {"bad key": "x"}}, "label key"),
        ({"node": {"zone": "in(a"}}, "selector value"),
        ({"memory": "lots"}, "not a size"),
        ({"num_cpus": -1}, "greater than or equal"),
        ({"num_cpus": 1, "execution": "inline"}, "runs on Ray"),
    ],
)
def test_bad_placement_is_refused_when_the_workflow_is_loaded(bad, says):
    with pytest.raises(ValueError, match=says):
        _b(**bad)


def test_memory_sizes():
    assert task_placement.parse_memory("2GB") == 2 * 10**9
    assert task_placement.parse_memory("1.5 GiB") == int(1.5 * 2**30)
    assert task_placement.parse_memory(1000) == 1000
    assert task_placement.parse_memory(None) is None


def test_a_placed_state_never_runs_inline():
    assert may_inline(_b())
    assert not may_inline(_b(resources={"node_b": 1}))
    assert not may_inline(_b(num_cpus=0))
    assert not may_inline(_b(node={"zone": "a"}))


def test_the_editor_form_keeps_the_placement():
    b = binding_from_form(
        {
            "action": "python",
            "function": "team:step",
            "num_cpus": "1",
            "memory": "512MB",
            "resources": '{"node_b": 1}',
            "node": '{"zone": "a"}',
            "num_gpus": "",
        }
    )
    assert (b.num_cpus, b.num_gpus, b.memory, b.resources, b.node) == (
        1.0,
        None,
        512 * 10**6,
        {"node_b": 1.0},
        {"zone": "a"},
    )
    assert task_placement.describe(b) == "1 CPU, 488 MiB memory, 1 node_b, node zone=a"


def test_the_bundle_holds_the_python_sources_of_every_function_folder(tmp_path):
    first, second, pkg = tmp_path / "first", tmp_path / "second", tmp_path / "teamlib"
    for d in (first, second, pkg / "sub"):
        d.mkdir(parents=True)
    (first / "steps.py").write_text("WHO = 'first'\n")
    (second / "steps.py").write_text("WHO = 'second'\n")
    (second / "other.py").write_text("X = 1\n")
    (second / "big.csv").write_text("a,b\n")
    (second / "__pycache__").mkdir()
    (second / "__pycache__" / "junk.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "mod.py").write_text("Y = 2\n")
    out = stage_function_dirs([first, second, pkg, tmp_path / "missing"], tmp_path / "stage")
    assert out is not None and out.name == SHIPPED_PACKAGE
    assert (out / "steps.py").read_text() == "WHO = 'first'\n"  # the first folder wins, as on sys.path
    assert (out / "other.py").exists() and not (out / "big.csv").exists()
    assert not (out / "__pycache__").exists()
    assert (out / "teamlib" / "sub" / "mod.py").exists() and (out / "sub" / "mod.py").exists()
    assert (out / "__init__.py").exists()
    assert stage_function_dirs([tmp_path / "missing"], tmp_path / "stage2") is None


def test_a_bundle_above_the_limit_is_refused(tmp_path, monkeypatch):
    import engine.code_bundle as cb

    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "huge.py").write_text("x = 1\n" * 100)
    monkeypatch.setattr(cb, "MAX_BUNDLE_BYTES", 100)
    with pytest.raises(BundleTooLarge, match="install it on the cluster"):
        stage_function_dirs([tmp_path / "f"], tmp_path / "stage")


def test_code_is_shipped_to_existing_clusters_unless_turned_off():
    assert ship_code_wanted(True, {}) and not ship_code_wanted(False, {})
    assert not ship_code_wanted(True, {"WORKBENCH_SHIP_CODE": "0"})
    assert ship_code_wanted(False, {"WORKBENCH_SHIP_CODE": "1"})


def test_a_version_mismatch_names_both_sides_and_what_to_do():
    from ray_tasks.runtime_env import version_mismatch_message

    ray_text = (  # the message Ray raises (ray/_private/utils.py check_version_info)
        "Version mismatch: The cluster was started with:\n    Ray: 2.60.0\n    Python: 3.12.4\n"
        "This process on node 10.0.0.5 was started with:\n    Ray: 2.60.0\n    Python: 3.11.7\n"
    )
    msg = version_mismatch_message(RuntimeError(ray_text), "10.0.0.1:6379")
    assert "Ray 2.60.0 on Python 3.12.4" in msg and "Ray 2.60.0 on Python 3.11.7" in msg
    assert "10.0.0.1:6379" in msg and "docs/deploy.md" in msg
    assert version_mismatch_message(RuntimeError("connection refused"), None) is None
