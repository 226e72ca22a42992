"""`workbench run` and the library's default version (issue 15): running a changed workflow file pins
the run to the file's content without replacing the version the library uses by default;
`--save-version` makes it the default; a library name (and `--version N`) runs a saved version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine import library
from engine.store import Store
from engine.workflow_file import parse_workflow_text

ROOT = Path(__file__).resolve().parents[2]


def _cli(args, db: Path):
    env = dict(os.environ, WORKBENCH_DB=str(db), PYTHONPATH=str(ROOT), WORKBENCH_SERVER="local")
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args, *(["--execution", "inline"] if args[0] != "cancel" else [])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _file(path: Path, dsl: str) -> Path:
    path.write_text(f'name = "File run"\ndsl = "{dsl}"\n\n[settings]\nmax_steps = 50\n', encoding="utf-8")
    return path


def _library(db: Path):
    store = Store(db)
    try:
        rows = library.list_workflows(store)
        assert len(rows) == 1, rows
        wid = rows[0]["workflow_id"]
        return wid, library.default_version(store, wid), library.get_workflow(store, wid)[0].dsl
    finally:
        store.close()


def test_a_changed_file_runs_pinned_without_replacing_the_default_version(tmp_path):
    db = tmp_path / "w.duckdb"
    wf = _file(tmp_path / "flow.toml", "start->a; a->end;")
    p = _cli(["run", str(wf), "--json"], db)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["version"] == 1
    wid, default, _ = _library(db)
    assert default == 1

    # an analyst edits the workflow in the app: v2 becomes the default
    store = Store(db)
    try:
        edited = parse_workflow_text('name = "File run"\ndsl = "start->a; a->b; b->end;"\n')
        assert library.save_workflow(store, edited, workflow_id=wid, change_note="edited in the app") == (wid, 2)
    finally:
        store.close()

    # the old file runs again, changed: it runs as its own pinned version, the default stays v2
    _file(wf, "start->a; a->c; c->end;")
    p = _cli(["run", str(wf), "--json"], db)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["version"] == 3 and out["states_visited"] == ["start", "a", "c", "end"]
    assert "v3" in p.stderr and "default version stays v2" in p.stderr
    _, default, dsl = _library(db)
    assert default == 2 and "a->b" in dsl.replace(" ", "")

    # the same file again reuses its pinned version (no new version per run)
    p = _cli(["run", str(wf), "--json"], db)
    assert json.loads(p.stdout)["version"] == 3

    # by name: the default version; --version N: that one
    p = _cli(["run", "File run", "--json"], db)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["version"] == 2 and "from the library" in p.stderr
    p = _cli(["run", "File run", "--version", "1", "--json"], db)
    assert json.loads(p.stdout)["states_visited"] == ["start", "a", "end"]
    p = _cli(["run", "No such workflow", "--json"], db)
    assert p.returncode == 1 and "no workflow 'No such workflow'" in p.stderr
    p = _cli(["run", str(wf), "--version", "1"], db)
    assert p.returncode == 1 and "give its name, not a file" in p.stderr

    # --save-version: the file's content becomes the default
    p = _cli(["run", str(wf), "--save-version", "--json"], db)
    assert p.returncode == 0, p.stderr
    ver = json.loads(p.stdout)["version"]
    _, default, dsl = _library(db)
    assert default == ver == 4 and "a->c" in dsl.replace(" ", "")


def test_approving_a_cancelled_run_says_why_it_cannot(tmp_path):
    db = tmp_path / "w.duckdb"
    tpl = ROOT / "data" / "templates" / "order_processing.toml"
    p = _cli(["run", str(tpl), "--context", '{"order_id": 3}', "--json"], db)
    out = json.loads(p.stdout)
    assert out["status"] == "waiting", p.stderr
    eid = out["execution_id"]
    p = _cli(["cancel", eid], db)
    assert p.returncode == 0 and "cancelled" in p.stdout, p.stderr
    p = _cli(["approve", eid, "wait_customer_decision", "--yes"], db)
    assert p.returncode == 1 and "cancelled: it takes no answers" in p.stderr, (p.stdout, p.stderr)
    p = _cli(["cancel", eid], db)
    assert p.returncode == 1 and "is already cancelled" in p.stderr
