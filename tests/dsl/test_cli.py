"""``workbench validate`` / ``workbench graph`` through the installed console script (subprocesses)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]


def _command() -> list[str]:
    script = Path(sys.executable).with_name("workbench")
    if script.exists():
        return [str(script)]
    found = shutil.which("workbench")
    if found:
        return [found]
    return [sys.executable, "-m", "engine.cli"]  # package not installed (yet): same entry point


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [*_command(), *args], input=stdin, capture_output=True, text=True, cwd=REPO, env=env, timeout=60
    )


def rel(name: str) -> str:
    return str((DATA / name).relative_to(REPO))


def test_valid_file_exits_0_with_counts():
    r = run("validate", rel("clean.dsl"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "OK: 10 states, 11 transitions"
    assert r.stderr == ""


def test_warnings_keep_exit_0_and_are_located():
    r = run("validate", rel("order_processing.dsl"))
    assert r.returncode == 0
    assert r.stdout.strip() == "OK: 17 states, 20 transitions (3 warnings)"
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"{rel('order_processing.dsl')}:3:1: warning: state 'validate_order'")
    assert "  hint: add an unconditional transition" in r.stderr


def test_invalid_file_exits_1_with_every_error_located():
    r = run("validate", rel("broken.dsl"))
    assert r.returncode == 1
    assert r.stdout == ""
    lines = [ln for ln in r.stderr.splitlines() if ": error: " in ln]
    name = rel("broken.dsl")
    assert lines == [
        f"{name}:3:1: error: state 'a' has 2 unconditional transitions (b, c)",
        f"{name}:3:4: error: state 'c' has no outgoing transition",
        f"{name}:5:1: error: state 'orphan' cannot be reached from 'start'",
    ]
    assert "  a->c;\n  ^\n  hint: to run them in parallel write 'a->[b,c];'" in r.stderr
    assert r.stderr.rstrip().endswith("3 errors, 0 warnings")


def test_syntax_error_exits_1_with_caret():
    r = run("validate", rel("syntax_error.dsl"))
    assert r.returncode == 1
    assert r.stderr.startswith(f"{rel('syntax_error.dsl')}:2:10: error: name '__class__' is not allowed")
    assert "  a->end:x.__class__ == 1;\n           ^\n" in r.stderr


def test_stdin():
    r = run("validate", "-", stdin="start->a;\na->end;\n")
    assert r.returncode == 0 and r.stdout.strip() == "OK: 3 states, 2 transitions"
    r = run("validate", "-", stdin="start->a;\na->b;\n")
    assert r.returncode == 1
    assert r.stderr.startswith("<stdin>:2:1: error: the workflow never reaches 'end'")
    assert "\n<stdin>:2:4: error: state 'b' has no outgoing transition\n" in r.stderr


def test_stdin_toml_is_detected():
    r = run("validate", "-", stdin='name = "x"\ndsl = "start->a; a->end;"\n')
    assert r.returncode == 0 and r.stdout.strip() == "OK: 3 states, 2 transitions"


def test_toml_positions_are_mapped_to_the_file():
    r = run("validate", rel("workflow.toml"))
    assert r.returncode == 1
    assert r.stderr.startswith(f"{rel('workflow.toml')}:6:1: error: state 'a' has 2 unconditional transitions")
    assert "\n  a->c;\n  ^\n" in r.stderr


def test_toml_with_escapes_reports_dsl_relative_positions():
    r = run("validate", rel("escaped.toml"))
    assert r.returncode == 1
    assert r.stderr.startswith(f"{rel('escaped.toml')} (dsl):4:1: error: state 'a' has 2 unconditional")


def test_toml_binding_error_exits_1_with_the_message():
    r = run("validate", rel("bad_binding.toml"))
    assert r.returncode == 1
    assert "states.a" in r.stderr and "action 'python' needs 'function'" in r.stderr


def test_missing_file_exits_1():
    r = run("validate", "tests/dsl/data/does_not_exist.dsl")
    assert r.returncode == 1 and "no such file" in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["validate", "a.dsl", "b.dsl"],
        ["graph", rel("clean.dsl"), "--format", "svg"],
        ["validate", "--bogus", rel("clean.dsl")],
        [],
    ],
)
def test_usage_errors_exit_2(args):
    r = run(*args)
    assert r.returncode == 2
    assert "usage:" in r.stderr


def test_json_output_valid_and_invalid():
    ok = run("validate", "--json", rel("order_processing.dsl"))
    data = json.loads(ok.stdout)
    assert ok.returncode == 0 and data["ok"] is True
    assert (data["states"], data["transitions"], data["parallel_groups"]) == (17, 20, 0)
    assert data["errors"] == [] and len(data["warnings"]) == 3
    assert data["warnings"][0]["line"] == 3 and data["warnings"][0]["code"] == "no_default"

    bad = run("validate", "--json", rel("workflow.toml"))
    data = json.loads(bad.stdout)
    assert bad.returncode == 1 and data["ok"] is False
    (err,) = data["errors"]
    assert (err["line"], err["column"], err["dsl_line"], err["dsl_column"]) == (6, 1, 3, 1)
    assert err["relative_to"] == "file" and err["hint"] and err["excerpt"].endswith("^")

    syntax = run("validate", "--json", rel("syntax_error.dsl"))
    data = json.loads(syntax.stdout)
    assert syntax.returncode == 1 and data["states"] is None and data["errors"][0]["column"] == 10

    missing = run("validate", "--json", "nope.dsl")
    assert missing.returncode == 1 and json.loads(missing.stdout)["errors"][0]["code"] == "workflow_file"


@pytest.mark.parametrize("fmt,needle", [("json", '"nodes"'), ("mermaid", "flowchart TD"), ("dot", "digraph workflow")])
def test_graph_formats(fmt, needle):
    r = run("graph", rel("clean.dsl"), "--format", fmt)
    assert r.returncode == 0 and needle in r.stdout and r.stderr == ""


def test_graph_of_an_invalid_workflow_is_drawn_with_a_warning():
    r = run("graph", rel("broken.dsl"), "--format", "mermaid")
    assert r.returncode == 0 and "flowchart TD" in r.stdout and "3 validation errors" in r.stderr


def test_graph_of_unparsable_dsl_exits_1():
    r = run("graph", rel("syntax_error.dsl"))
    assert r.returncode == 1 and r.stdout == "" and ":2:10: error:" in r.stderr
