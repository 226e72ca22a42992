"""Lists and aggregates hold only what the caller may read (issue 13 follow-up), against a real
``workbench serve --auth required`` process with two analysts, a viewer and an operator.

Analytics (``/analytics``), ``/metrics``, schedules, triggers, runs and notifications of a workflow an
analyst or viewer cannot read never reach them; every route naming such a workflow, run, schedule or
trigger answers 404 exactly like an unknown one (no "did you mean" listing other workflows); operators
see everything. The CLI (``workbench analytics`` / ``schedule list`` through ``WORKBENCH_SERVER``) shows
what the token may read only.
"""

from __future__ import annotations

import json
import time

import pytest

from engine.client import ServiceError, WorkbenchClient
from tests.service.conftest import start_auth_server, stop_auth_server, workbench_cli

pytestmark = [pytest.mark.slow]

API = "/api/v1"
SIMPLE_TOML = '''
name = "{name}"
dsl = """start->prepare; prepare->end;"""
'''
USERS = {"ann": "analyst", "bob": "analyst", "vic": "viewer", "opal": "operator"}


@pytest.fixture(scope="module")
def scoped():
    """The server, each user's token, and the workflows: ann's (shared with vic), bob's, one run each."""
    env = {"WORKBENCH_RATE_EXECUTIONS": "off", "WORKBENCH_RATE_AI": "off"}
    srv, tokens = start_auth_server("wb-scope-test-", USERS, env)
    try:
        with _as(srv, tokens, "ann") as ann, _as(srv, tokens, "bob") as bob:
            a = ann.create_workflow(toml=SIMPLE_TOML.format(name="Ann scoped ledger"))["workflow_id"]
            b = bob.create_workflow(toml=SIMPLE_TOML.format(name="Bob scoped payroll"))["workflow_id"]
            runs = {
                "ann": ann.execute(a, {}, execution="inline")["execution_id"],
                "bob": bob.execute(b, {}, execution="inline")["execution_id"],
            }
            assert ann.wait(runs["ann"], timeout=60)["status"] == "completed"
            assert bob.wait(runs["bob"], timeout=60)["status"] == "completed"
            scheds = {
                "ann": ann._request(
                    "POST", f"{API}/workflows/{a}/schedules", json_body={"id": "n", "cron": "0 2 * * *"}
                ),
                "bob": bob._request(
                    "POST", f"{API}/workflows/{b}/schedules", json_body={"id": "n", "cron": "0 3 * * *"}
                ),
            }
            hook = ann._request("POST", f"{API}/workflows/{a}/triggers", json_body={"type": "webhook", "id": "in"})
            ann._request("POST", f"{API}/workflows/{a}/shares", json_body={"user": "vic", "level": "view"})
        yield {
            "srv": srv,
            "tokens": tokens,
            "wf": {"ann": a, "bob": b},
            "runs": runs,
            "schedules": {k: v["schedule_id"] for k, v in scheds.items()},
            "trigger": hook["trigger_id"],
        }
    finally:
        stop_auth_server(srv)


def _as(srv, tokens, who: str) -> WorkbenchClient:
    return WorkbenchClient(srv.url, timeout=60, token=tokens[who])


def _hidden(call, ref: str) -> None:
    with pytest.raises(ServiceError) as err:
        call()
    assert err.value.status == 404 and err.value.code == "not_found", err.value
    assert ref in str(err.value) and "did you mean" not in str(err.value) and "workflows;" not in str(err.value)


def test_analytics_count_only_the_workflows_the_caller_reads(scoped):
    s = scoped
    expected = {
        "ann": {s["wf"]["ann"]},
        "bob": {s["wf"]["bob"]},
        "vic": {s["wf"]["ann"]},
        "opal": set(s["wf"].values()),
    }
    for user, wids in expected.items():
        with _as(s["srv"], s["tokens"], user) as c:
            rep = c.analytics(start_date="all")
        assert {w["workflow_id"] for w in rep["workflows"]} == wids, user
        assert rep["statistics"]["total_executions"] == len(wids), user
        assert {r["state"] for r in rep["state_performance"]} <= {"start", "prepare", "end"}
    with _as(s["srv"], s["tokens"], "bob") as bob:  # one workflow's analytics: 404 like an unknown one
        _hidden(lambda: bob.analytics(s["wf"]["ann"]), s["wf"]["ann"])
        _hidden(lambda: bob.analytics("Ann scoped ledger"), "Ann scoped ledger")
        _hidden(lambda: bob.analytics("no-such-workflow"), "no-such-workflow")
        assert bob.analytics(s["wf"]["bob"])["statistics"]["total_executions"] == 1
        assert (
            bob._request("GET", f"{API}/deadline-misses", params={"workflow": s["wf"]["ann"]})["deadline_misses"] == []
        )


def test_schedules_triggers_runs_and_notifications_are_filtered(scoped):
    s = scoped
    with _as(s["srv"], s["tokens"], "bob") as bob, _as(s["srv"], s["tokens"], "vic") as vic:
        assert [r["schedule_id"] for r in bob._request("GET", f"{API}/schedules")["schedules"]] == [
            s["schedules"]["bob"]
        ]
        assert [r["schedule_id"] for r in vic._request("GET", f"{API}/schedules")["schedules"]] == [
            s["schedules"]["ann"]
        ]
        assert bob._request("GET", f"{API}/triggers")["triggers"] == []
        assert [r["trigger_id"] for r in vic._request("GET", f"{API}/triggers")["triggers"]] == [s["trigger"]]
        assert {r["execution_id"] for r in bob.executions(limit=100)} == {s["runs"]["bob"]}
        assert {r["execution_id"] for r in vic.executions(limit=100)} == {s["runs"]["ann"]}
        assert bob._request("GET", f"{API}/notifications")["notifications"] == []
        # naming ann's workflow, run, schedule or trigger: 404, as for one that does not exist
        a, run, sid = s["wf"]["ann"], s["runs"]["ann"], s["schedules"]["ann"]
        _hidden(lambda: bob._request("GET", f"{API}/schedules", params={"workflow": a}), a)
        _hidden(lambda: bob._request("GET", f"{API}/triggers", params={"workflow": a}), a)
        _hidden(lambda: bob._request("GET", f"{API}/schedules/{sid}/fires"), sid)
        _hidden(lambda: bob._request("POST", f"{API}/schedules/{sid}/pause"), sid)
        _hidden(lambda: bob._request("DELETE", f"{API}/triggers/{s['trigger']}"), s["trigger"])
        _hidden(lambda: bob._request("GET", f"{API}/workflows/{a}/shares"), a)
        _hidden(lambda: bob.optimize(a), a)
        _hidden(lambda: bob.cancel(run), run)
        _hidden(lambda: bob.approve(run, "prepare", True), run)
        for path in ("", "/history", "/logs", "/events"):
            _hidden(lambda p=path: bob._request("GET", f"{API}/executions/{run}{p}"), run)
        _hidden(lambda: bob._request("GET", f"{API}/executions/0000000000000000"), "0000000000000000")
        _hidden(lambda: bob._request("POST", f"{API}/schedules/no-such/pause"), "no-such")
        # vic reads ann's workflow: a write is a 403 naming the permission (its existence is no secret to vic)
        with pytest.raises(ServiceError) as err:
            vic._request("POST", f"{API}/schedules/{sid}/pause")
        assert err.value.status == 403 and err.value.details["permission"] == "workflow:update"
    with _as(s["srv"], s["tokens"], "opal") as opal:
        assert {r["schedule_id"] for r in opal._request("GET", f"{API}/schedules")["schedules"]} == set(
            s["schedules"].values()
        )
        assert {r["execution_id"] for r in opal.executions(limit=100)} >= set(s["runs"].values())


def test_metrics_hold_the_series_of_readable_workflows_only(scoped):
    s = scoped

    def scrape(user: str) -> str:
        deadline = time.monotonic() + 30  # the finished-run counters are bumped by the driver thread
        while True:
            with _as(s["srv"], s["tokens"], user) as c:
                text = c.metrics()
            if "workbench_runs_finished" in text or time.monotonic() > deadline:
                return text
            time.sleep(0.3)

    everything = scrape("opal")
    assert 'workflow="Ann scoped ledger"' in everything and 'workflow="Bob scoped payroll"' in everything
    assert "workbench_llm_calls" in everything and "workbench_ai_decisions" in everything
    bob = scrape("bob")
    assert 'workflow="Bob scoped payroll"' in bob and "Ann scoped ledger" not in bob
    assert "workbench_llm_" not in bob and "workbench_ai_decisions" not in bob  # store-wide totals
    assert "workbench_http_requests" in bob and "workbench_runs_queued" in bob  # the service's own
    vic = scrape("vic")
    assert 'workflow="Ann scoped ledger"' in vic and "Bob scoped payroll" not in vic


def test_cli_analytics_and_schedule_list_through_the_service_show_the_tokens_view(scoped):
    s = scoped
    srv = s["srv"]
    env = {"WORKBENCH_SERVER": srv.url, "WORKBENCH_TOKEN": s["tokens"]["bob"]}
    out = workbench_cli(srv.db, "analytics", "--since", "all", "--json", **env)
    assert out.returncode == 0, out.stderr
    assert {w["workflow_id"] for w in json.loads(out.stdout)["workflows"]} == {s["wf"]["bob"]}
    text = workbench_cli(srv.db, "analytics", "--since", "all", **env)
    assert text.returncode == 0 and "Bob scoped payroll" in text.stdout and "Ann scoped" not in text.stdout
    listed = workbench_cli(srv.db, "schedule", "list", "--json", **env)
    assert listed.returncode == 0, listed.stderr
    assert [r["schedule_id"] for r in json.loads(listed.stdout)] == [s["schedules"]["bob"]]
    refused = workbench_cli(srv.db, "analytics", "--workflow", s["wf"]["ann"], **env)
    assert refused.returncode != 0 and f"no workflow '{s['wf']['ann']}'" in refused.stderr
