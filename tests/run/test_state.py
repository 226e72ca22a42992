"""engine.run.state: the naming rules stored ids depend on, and the cached python path."""

from __future__ import annotations

import re

import pytest

from engine.run.state import python_path, workflow_slug
from engine.workflow_file import parse_workflow_text


def _old_runner_slug(name: str) -> str:
    """The rule the runner used before the split (ids already stored were made by it)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "workflow"


@pytest.mark.parametrize(
    "name",
    [
        "Order processing!",
        "   ",
        "",
        "x" * 100,
        "a" * 59 + " b and more",  # a '-' at position 60: kept, as before (slugify(name, 60) would drop it)
        "Ünïcödé — names / with ∑ symbols 2026",
        "--already-slugged--",
        "İstanbul " * 10,
    ],
)
def test_workflow_slug_is_byte_identical_to_the_stored_ids(name):
    assert workflow_slug(name) == _old_runner_slug(name)


def _spec(tmp_path):
    path = tmp_path / "wf.toml"
    path.write_text('name = "p"\ndsl = "start->end;"\n')
    spec = parse_workflow_text(path.read_text())
    spec.source_path = str(path)
    return spec


def test_python_path_is_cached_and_follows_the_environment(tmp_path, monkeypatch):
    spec = _spec(tmp_path)
    first = python_path(spec)
    assert str(tmp_path) in first and str(tmp_path / "functions") in first
    again = python_path(spec)
    assert again == first and again is not first  # a copy: a caller cannot change the cached list
    extra = tmp_path / "more"
    extra.mkdir()
    monkeypatch.setenv("WORKBENCH_PYTHONPATH", str(extra))
    assert str(extra) in python_path(spec)  # a new variable value is a new key, not a stale hit
    monkeypatch.delenv("WORKBENCH_PYTHONPATH")
    assert python_path(spec) == first


def test_python_path_resolves_the_admin_folders_once_per_key(tmp_path, monkeypatch):
    """Resolving the function folders cost ~0.4 ms on every run start; now once per workflow file."""
    from engine import sandbox

    calls = []
    real = sandbox.function_dirs

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(sandbox, "function_dirs", counting)
    spec = _spec(tmp_path)
    for _ in range(5):
        python_path(spec)
    assert len(calls) == 1
