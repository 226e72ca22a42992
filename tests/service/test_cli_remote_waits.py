"""``workbench run`` through the service follows a run past a short wait step, as a local run does:
the service waits out a timer of a minute or less itself, so the CLI goes on printing until the run
ends or waits for a person (or a longer timer). It used to stop at the first wait of any length."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.service.test_cli_remote import cli

pytestmark = [pytest.mark.ray, pytest.mark.slow]

SHORT_WAIT = """
name = "CLI short wait {tag}"
dsl = "start->send; send->wait_1_second; wait_1_second->{after}; {after}->end;"
[states.wait_1_second]
action = "wait"
wait_s = 1
"""
APPROVE = """
[states.approve]
action = "approval"
message = "Pay it?"
"""
LONG_WAIT = """
name = "CLI long wait"
dsl = "start->send; send->wait_2_hours; wait_2_hours->done; done->end;"
[states.wait_2_hours]
action = "wait"
wait_s = 7200
"""


def test_the_cli_follows_a_run_through_a_short_wait_to_its_end(server, tmp_path):
    f = tmp_path / "short.toml"
    f.write_text(SHORT_WAIT.format(tag="end", after="done"))
    p = cli(server, tmp_path, "run", str(f), timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("completed (outcome: done): execution"), p.stdout
    assert "wait_1_second -> done" in p.stderr and "the service goes on" not in p.stderr


def test_the_cli_follows_a_run_through_a_short_wait_to_a_person(server, tmp_path):
    f = tmp_path / "approve.toml"
    f.write_text(SHORT_WAIT.format(tag="approval", after="approve") + APPROVE)
    p = cli(server, tmp_path, "run", str(f), "--json", timeout=120)
    assert p.returncode == 1, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "waiting" and "wait_1_second" in out["states_visited"]
    assert [w["state"] for w in out["waiting_for"]] == ["approve"]
    ex = httpx.get(f"{server.url}/api/v1/executions/{out['execution_id']}").json()
    assert [r["kind"] for r in ex["open_requests"]] == ["approval"]


def test_the_cli_leaves_a_long_wait_to_the_service(server, tmp_path):
    f = tmp_path / "long.toml"
    f.write_text(LONG_WAIT)
    p = cli(server, tmp_path, "run", str(f), timeout=120)
    assert p.returncode == 1, p.stderr
    assert p.stdout.startswith("waiting: execution") and " in – ms" not in p.stdout and " in None ms" not in p.stdout
    assert "waiting at 'wait_2_hours'" in p.stderr and "the service goes on when the wait is over" in p.stderr
    eid = p.stdout.split("execution ")[1].split()[0]
    assert cli(server, tmp_path, "cancel", eid).returncode == 0
