"""Code that may run: python states call only functions from the allowed function folders.

The attack of issue 13: a state ``subprocess:run`` with ``shell = true`` and a context key that is a
shell command. It must be refused before anything runs, by the app's, the API's and the CLI's
common path (``WorkflowSpec.validate_all``), and again at import on the worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.actions import execute_state
from engine.errors import DSLError
from engine.workflow_file import WorkflowSpec

ROOT = Path(__file__).resolve().parents[2]
REFUSED = [
    "os:system",
    "subprocess:run",
    "builtins:eval",
    "posix:system",
    "importlib:import_module",
    "duckdb:connect",
    "engine.store:Store",
]


def _spec(function: str, params: dict | None = None) -> WorkflowSpec:
    return WorkflowSpec(
        name="attack",
        dsl="start->step; step->end;",
        states={"step": {"action": "python", "function": function, "params": params or {}}},
    )


@pytest.mark.parametrize("function", REFUSED)
def test_validation_refuses_functions_outside_the_function_folders(function):
    report = _spec(function).validate_all()
    [issue] = [i for i in report.errors if i.code == "function_not_allowed"]
    assert function in issue.message and "refused" in issue.message
    assert "allowed function folders" in issue.message


def test_allowed_functions_validate_cleanly_and_a_missing_module_is_only_a_warning():
    assert not _spec("orders:notify").validate_all().errors  # data/functions
    assert not _spec("tests.engine.functions:add").validate_all().errors  # WORKBENCH_FUNCTION_DIRS (conftest)
    report = _spec("not_written_yet:step").validate_all()
    assert not report.errors and [w.code for w in report.warnings] == ["function_not_found"]


def test_the_engine_refuses_the_shell_attack_and_nothing_runs(inline_engine, tmp_path):
    target = tmp_path / "owned"
    spec = _spec("subprocess:run", {"shell": True})
    with pytest.raises(DSLError, match="subprocess:run' is refused"):
        inline_engine.start(spec, {f"id > {target}": 1})
    assert not target.exists()


def test_the_worker_refuses_a_forbidden_function_even_without_validation(tmp_path):
    target = tmp_path / "owned"
    out = execute_state(
        {"action": "python", "binding": {"function": "os:system", "params": {}}, "context": {}, "state": "s"}
    )
    assert out["status"] == "failed" and out["error_type"] == "PermissionError"
    assert "'os:system' is refused" in out["error_message"]
    out = execute_state(
        {
            "action": "python",
            "binding": {"function": "subprocess:run", "params": {"args": f"id > {target}", "shell": True}},
            "context": {},
            "state": "s",
        }
    )
    assert out["status"] == "failed" and out["error_type"] == "PermissionError"
    assert not target.exists()


def test_a_module_next_to_the_workflow_is_not_allowed_unless_an_admin_lists_its_folder(tmp_path, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "sneaky_mod_13.py").write_text("import os\ndef run(context):\n    return {'pid': os.getpid()}\n")
    payload = {
        "action": "python",
        "binding": {"function": "sneaky_mod_13:run"},
        "context": {},
        "state": "s",
        "python_path": [str(folder)],
    }
    out = execute_state(payload)
    assert out["status"] == "failed" and out["error_type"] == "PermissionError", out
    monkeypatch.setenv("WORKBENCH_FUNCTION_DIRS", os.pathsep.join([os.environ["WORKBENCH_FUNCTION_DIRS"], str(folder)]))
    from engine.actions import python_action

    python_action._CACHE.pop("sneaky_mod_13:run", None)
    out = execute_state(payload)
    assert out["status"] == "completed" and out["updates"]["pid"] == os.getpid()


def test_the_settings_file_lists_function_folders(tmp_path, monkeypatch):
    folder = tmp_path / "admin_functions"
    folder.mkdir()
    (folder / "admin_mod_13.py").write_text("def run(context):\n    return {'ok': True}\n")
    assert _spec("admin_mod_13:run").validate_all().warnings  # not found: a warning only
    settings = tmp_path / "security.toml"
    settings.write_text(f'function_dirs = ["{folder}"]\n')
    monkeypatch.setenv("WORKBENCH_SECURITY_FILE", str(settings))
    monkeypatch.syspath_prepend(str(folder))
    report = _spec("admin_mod_13:run").validate_all()
    assert not report.errors and not report.warnings


def _cli(args, db: Path):
    env = dict(os.environ, WORKBENCH_DB=str(db), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_the_cli_refuses_to_validate_and_to_run_a_shell_function(tmp_path):
    target = tmp_path / "owned"
    wf = tmp_path / "attack.toml"
    wf.write_text(
        'name = "attack"\ndsl = "start->step; step->end;"\n[states.step]\naction = "python"\n'
        'function = "subprocess:run"\nparams = { shell = true }\n'
    )
    p = _cli(["validate", str(wf)], tmp_path / "w.duckdb")
    assert p.returncode != 0 and "subprocess:run' is refused" in p.stdout + p.stderr
    p = _cli(["run", str(wf), "--context", json.dumps({f"id > {target}": 1})], tmp_path / "w.duckdb")
    assert p.returncode != 0 and "subprocess:run' is refused" in p.stdout + p.stderr
    assert not target.exists()


def test_the_api_refuses_to_run_or_publish_a_shell_function(tmp_path):
    from engine.client import ServiceError, WorkbenchClient
    from tests.service.conftest import start_server, stop_server

    target = tmp_path / "owned"
    toml = (
        'name = "attack"\ndsl = "start->step; step->end;"\n[states.step]\naction = "python"\n'
        'function = "subprocess:run"\nparams = { shell = true }\n'
    )
    server = start_server(tmp_path)
    try:
        with WorkbenchClient(server.url, timeout=60) as client:
            with pytest.raises(ServiceError) as run_err:
                client.run_definition(toml=toml, initial_context={f"id > {target}": 1})
            assert "subprocess:run' is refused" in str(run_err.value)
            with pytest.raises(ServiceError) as save_err:
                client.create_workflow(toml=toml)
            assert "subprocess:run' is refused" in str(save_err.value)
    finally:
        stop_server(server)
    assert not target.exists()


def test_translated_workflows_never_bind_code():
    """The translator (offline or LLM) proposes approval/llm/sql/http bindings, never a python function."""
    from engine.ai.translator import propose_bindings
    from engine.dsl.validate import load_valid

    model = load_valid(
        "start->run_python_script; run_python_script->call_os_system_api; "
        "call_os_system_api->execute_shell_code; execute_shell_code->end;"
    )
    text = {s: "run python code with subprocess shell eval" for s in model.states}
    proposed = propose_bindings(model, text, ai_states=set(model.states))
    assert proposed and all(b["action"] != "python" and "function" not in b for b in proposed.values())
