"""``/metrics`` labels per-workflow series by the workflow's id and filters them by id (issue 13 follow-up).

Two analysts own a workflow each with the SAME name; each runs his own. Selecting series by name leaked
the other owner's series to each of them; now each token sees only the series of the workflow ids it may
read (``workflow_id`` label), with the name kept as the ``workflow`` label for dashboards. An operator
sees both. Against a real ``workbench serve --auth required`` process.
"""

from __future__ import annotations

import re
import time

import pytest

from engine.client import WorkbenchClient
from tests.service.conftest import start_auth_server, stop_auth_server

pytestmark = [pytest.mark.slow]

NAME = "Same name reconcile"
TOML = f'''
name = "{NAME}"
dsl = """start->{{step}}; {{step}}->end;"""
'''
USERS = {"ann": "analyst", "bob": "analyst", "vic": "viewer", "opal": "operator"}
PER_WORKFLOW = (
    "workbench_runs_started_total",
    "workbench_runs_finished_total",
    "workbench_state_duration_seconds_count",
)


@pytest.fixture(scope="module")
def twins():
    srv, tokens = start_auth_server("wb-metrics-scope-", USERS, {"WORKBENCH_RATE_EXECUTIONS": "off"})
    try:
        wids = {}
        for user, step in (("ann", "ledger"), ("bob", "payroll")):
            with WorkbenchClient(srv.url, timeout=60, token=tokens[user]) as c:
                wids[user] = c.create_workflow(toml=TOML.format(step=step))["workflow_id"]
                eid = c.execute(wids[user], {}, execution="inline")["execution_id"]
                assert c.wait(eid, timeout=60)["status"] == "completed"
        with WorkbenchClient(srv.url, timeout=60, token=tokens["ann"]) as c:
            c.share(wids["ann"], user="vic", level="view")
        yield {"srv": srv, "tokens": tokens, "wf": wids}
    finally:
        stop_auth_server(srv)


def _series(text: str) -> list[tuple[str, dict, float]]:
    """(metric, labels, value) of each sample line of the exposition."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(\w+)\{(.*)\} (\S+)$", line)
        if m:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


def _total(series, metric: str) -> float:
    return sum(value for name, _, value in series if name == metric)


def _scrape(s, user: str, wanted: set[str]) -> list[tuple[str, dict]]:
    """The samples ``user`` sees, once the finished-run counters of ``wanted`` ids are in (driver thread)."""
    deadline = time.monotonic() + 30
    while True:
        with WorkbenchClient(s["srv"].url, timeout=60, token=s["tokens"][user]) as c:
            series = _series(c.metrics())
        finished = {lab.get("workflow_id") for name, lab, _ in series if name == "workbench_runs_finished_total"}
        if wanted <= finished or time.monotonic() > deadline:
            return series
        time.sleep(0.3)


def _ids(series, metric: str) -> set[str]:
    return {lab.get("workflow_id") for name, lab, _ in series if name == metric}


def test_each_owner_sees_only_his_workflows_series_though_the_names_are_equal(twins):
    s = twins
    a, b = s["wf"]["ann"], s["wf"]["bob"]
    everything = _scrape(s, "opal", {a, b})
    bob = _scrape(s, "bob", {b})
    assert _total(everything, "workbench_runs_started_total") == 2
    # one run of his own (selected by name, ann's run of the same-named workflow was counted here too)
    assert _total(bob, "workbench_runs_started_total") == 1
    assert "ledger" not in {lab.get("state") for _, lab, _ in bob}  # a state of ann's workflow only

    for metric in PER_WORKFLOW:
        assert _ids(everything, metric) == {a, b}, metric
        assert _ids(bob, metric) == {b}, metric
    # the name stays a label for dashboards; both series carry it
    assert {lab["workflow"] for name, lab, _ in everything if name == "workbench_runs_started_total"} == {NAME}
    assert "payroll" in {lab.get("state") for name, lab, _ in bob if name == "workbench_state_duration_seconds_count"}
    assert any(name == "workbench_http_requests_total" for name, _, _ in bob)  # the service's own series stay

    for user, wid in (("ann", a), ("vic", a)):  # vic reads ann's through a view share, not bob's
        seen = _scrape(s, user, {wid})
        for metric in PER_WORKFLOW:
            assert _ids(seen, metric) == {wid}, (user, metric)
        assert not any("payroll" == lab.get("state") for _, lab, _ in seen), user
