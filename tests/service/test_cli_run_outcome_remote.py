"""``workbench run`` through the service ends with the same business outcome the app shows."""

from __future__ import annotations

import json

import pytest

from tests.engine.test_cli_run_outcome import BRANCHES
from tests.service.test_cli_remote import cli

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_the_last_line_names_the_outcome_of_a_run_on_the_service(server, tmp_path):
    f = tmp_path / "branches_remote.dsl"
    f.write_text(BRANCHES)
    p = cli(server, tmp_path, "run", str(f), "--context", '{"ok": false}')
    assert p.returncode == 0, p.stderr
    last = p.stdout.strip().splitlines()[-1]
    assert last.startswith("completed (outcome: reject): execution "), p.stdout
    p = cli(server, tmp_path, "run", str(f), "--context", '{"ok": true}', "--json")
    assert json.loads(p.stdout)["outcome"] == "accept"
