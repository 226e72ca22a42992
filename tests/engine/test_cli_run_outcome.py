"""``workbench run`` ends with the business outcome the app shows (the final state reached), not only
the engine status: a run that took the rejection branch is "completed" AND ends at ``reject``."""

from __future__ import annotations

import json

from tests.engine.test_cli_run import _cli

BRANCHES = "start->check; check->accept:ok==True; check->reject:ok==False; accept->end; reject->end;"


def test_the_last_line_names_the_outcome_of_a_local_run(tmp_path):
    f = tmp_path / "branches.dsl"
    f.write_text(BRANCHES)
    db = tmp_path / "w.duckdb"
    p = _cli(["run", str(f), "--context", '{"ok": false}', "--execution", "inline"], db)
    assert p.returncode == 0, p.stderr
    last = p.stdout.strip().splitlines()[-1]
    assert last.startswith("completed (outcome: reject): execution "), p.stdout
    p = _cli(["run", str(f), "--context", '{"ok": true}', "--execution", "inline", "--json"], db)
    assert json.loads(p.stdout)["outcome"] == "accept"
