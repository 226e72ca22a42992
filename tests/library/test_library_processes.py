"""Saving versions of one workflow from several real processes at once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from engine.library import list_versions, save_workflow
from engine.store import Store
from engine.workflow_file import parse_workflow_text
from tests.library.proc import SPEC

ROOT = Path(__file__).resolve().parents[2]


def test_versions_saved_by_several_processes_at_once_are_distinct_and_all_kept(tmp_path):
    db = tmp_path / "workbench.duckdb"
    s = Store(db)
    wid, first = save_workflow(s, parse_workflow_text(SPEC.format(n="x")))
    s.close()
    go = tmp_path / "go"
    writers, per_writer = 4, 3
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.library.proc",
                "save_versions",
                str(db),
                wid,
                str(per_writer),
                f"w{i}",
                str(go),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(writers)
    ]
    time.sleep(1.0)
    go.touch()  # the writers are started; they save at the same moment
    returned = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err[-3000:]
        returned += json.loads(out)
    total = 1 + writers * per_writer
    assert sorted(returned + [first]) == list(range(1, total + 1)), "every save got its own version number"
    s = Store(db)
    try:
        versions = list_versions(s, wid)
        history = s.query("SELECT version, change_note FROM workflows_history WHERE workflow_id = ?", [wid])
        states = s.query("SELECT version, count(*) AS n FROM workflow_states WHERE workflow_id = ? GROUP BY 1", [wid])
    finally:
        s.close()
    assert [v["version"] for v in versions] == list(range(1, total + 1))
    notes = sorted(r["change_note"] for r in history if r["change_note"])
    assert notes == sorted(f"w{i}-{j}" for i in range(writers) for j in range(per_writer)), "no save hidden"
    assert len(history) == total
    assert {r["version"]: r["n"] for r in states} == {v: 3 for v in range(1, total + 1)}


def test_processes_importing_the_same_new_file_at_once_get_one_workflow_and_version(tmp_path):
    db = tmp_path / "workbench.duckdb"
    Store(db).close()
    wf = tmp_path / "orders.toml"
    wf.write_text(SPEC.format(n="a"))
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.library.proc", "import_file", str(db), str(wf), str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    time.sleep(1.0)
    go.touch()
    answers = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err[-3000:]
        answers.append(tuple(json.loads(out)))
    assert len(set(answers)) == 1 and answers[0][1] == 1, answers
    s = Store(db)
    try:
        rows = s.query("SELECT workflow_id, version FROM workflows_history")
    finally:
        s.close()
    assert [(r["workflow_id"], r["version"]) for r in rows] == [answers[0]], "one workflow, one version"
