"""Sharing workflows with users and groups (issue 13, "Roles and ownership") against a real
``workbench serve --auth required`` process with tokens of two analysts, a group member and a viewer.

Before a share an analyst cannot run (or even see) another's workflow, and the 403 names the permission;
a ``run`` share lets them run and approve but not save; un-sharing takes it back; a group share reaches a
token made with ``--group``; ``engine.access.check_action`` (the app's check) agrees with the service; every
share, un-share and refusal is an ``audit_logs`` row. The CLI (``workbench share|unshare``) is a real process.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from engine import access
from engine.auth import Permission, Principal, Role
from engine.client import ServiceError, WorkbenchClient
from engine.store import Store
from tests.service.conftest import ServerExited, start_server, stop_server, workbench_cli

pytestmark = [pytest.mark.slow]

APPROVAL_TOML = '''
name = "{name}"
dsl = """start->prepare; prepare->ask; ask->ship:approved==True; ask->hold; ship->end; hold->end;"""
[states.ask]
action = "approval"
message = "Ship it?"
'''
API = "/api/v1"


def _token(db: Path, role: str, name: str, *extra: str) -> str:
    out = workbench_cli(db, "token", "create", "--role", role, "--name", name, "--json", *extra)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["token"]


@pytest.fixture(scope="module")
def share_server():
    tmp = Path(tempfile.mkdtemp(prefix="wb-share-test-"))
    db = tmp / "workbench.duckdb"
    tokens = {
        "ann": _token(db, "analyst", "ann"),
        "bob": _token(db, "analyst", "bob"),
        "gus": _token(db, "analyst", "gus", "--group", "ops", "--group", "finance"),
        "vic": _token(db, "viewer", "vic"),
    }
    args = ["--no-ray", "--auth", "required"]
    env = {"WORKBENCH_RATE_EXECUTIONS": "off"}
    try:
        srv = start_server(tmp, env, args=args, ready_path="/health", ready_timeout=120)
    except ServerExited:  # another process took the free port first
        srv = start_server(tmp, env, args=args, ready_path="/health", ready_timeout=120)
    yield srv, tokens
    stop_server(srv)
    shutil.rmtree(tmp, ignore_errors=True)


def _as(srv, tokens, who: str) -> WorkbenchClient:
    return WorkbenchClient(srv.url, timeout=60, token=tokens[who])


def _refused(call, permission: str, status: int = 403) -> ServiceError:
    with pytest.raises(ServiceError) as err:
        call()
    assert err.value.status == status, err.value
    assert err.value.details["permission"] == permission and permission in str(err.value)
    return err.value


def _hidden(call, ref: str) -> ServiceError:
    """A workflow or run the caller may not read answers 404, like an unknown one (nothing tells it exists)."""
    with pytest.raises(ServiceError) as err:
        call()
    assert err.value.status == 404 and err.value.code == "not_found", err.value
    assert "did you mean" not in str(err.value) and ref in str(err.value)
    return err.value


def _listed(c: WorkbenchClient, wid: str) -> bool:
    return any(w["workflow_id"] == wid for w in c.list_workflows(page_size=200)["workflows"])


def _wait_waiting(c: WorkbenchClient, eid: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = c.execution(eid)["status"]
        if status == "waiting":
            return
        time.sleep(0.2)
    raise AssertionError(f"{eid} never waited: {status}")


def _share(c: WorkbenchClient, wid: str, **body) -> dict:
    return c._request("POST", f"{API}/workflows/{wid}/shares", json_body=body)


def _unshare(c: WorkbenchClient, wid: str, **params) -> dict:
    return c._request("DELETE", f"{API}/workflows/{wid}/shares", params=params)


def test_a_run_share_lets_another_analyst_run_and_approve_but_not_save_until_unshared(share_server):
    srv, tokens = share_server
    with _as(srv, tokens, "ann") as ann, _as(srv, tokens, "bob") as bob:
        wid = ann.create_workflow(toml=APPROVAL_TOML.format(name="Ann's release"))["workflow_id"]
        # before sharing: bob neither sees, reads, runs nor shares it: 404, as if it did not exist
        assert _listed(ann, wid) and not _listed(bob, wid)
        _hidden(lambda: bob.get_workflow(wid), wid)
        _hidden(lambda: bob.execute(wid, {}, execution="inline"), wid)
        _hidden(lambda: _share(bob, wid, user="bob", level="edit"), wid)
        with Store(srv.db) as store:  # the app's check agrees with the service
            bob_p = Principal("bob", Role.ANALYST)
            assert "lacks workflow:execute" in access.check_action(store, bob_p, Permission.EXECUTE, workflow_id=wid)

        share = _share(ann, wid, user="bob", level="run")
        assert (share["subject_kind"], share["subject"], share["level"], share["shared_by"]) == (
            "user",
            "bob",
            "run",
            "ann",
        )
        listed = ann._request("GET", f"{API}/workflows/{wid}/shares")
        assert listed["owner"] == "ann" and [s["subject"] for s in listed["shares"]] == ["bob"]
        # a run share: bob sees it, runs it, approves ann's run of it; saving still needs "edit"
        assert _listed(bob, wid) and bob.get_workflow(wid)["workflow_id"] == wid
        mine = bob.execute(wid, {}, execution="inline")["execution_id"]
        anns = ann.execute(wid, {}, execution="inline")["execution_id"]
        _wait_waiting(bob, anns)
        assert bob.approve(anns, "ask", True)["answer"] == "yes"
        assert bob.wait(anns, timeout=60)["status"] == "completed"
        _refused(lambda: bob.update_workflow(wid, description="bob's now"), "workflow:update")
        _refused(lambda: _share(bob, wid, user="bob", level="edit"), "workflow:share")  # reads it: 403
        with Store(srv.db) as store:
            assert access.check_action(store, bob_p, Permission.EXECUTE, workflow_id=wid) is None
            assert access.check_action(store, bob_p, Permission.APPROVE, execution_id=anns) is None
            assert "lacks workflow:update" in access.check_action(store, bob_p, Permission.UPDATE, workflow_id=wid)

        _unshare(ann, wid, user="bob")
        _hidden(lambda: bob.execute(wid, {}, execution="inline"), wid)
        assert not _listed(bob, wid)
        assert bob.execution(mine)["execution_id"] == mine  # his own run stays his
        _hidden(lambda: bob.execution(anns), anns)  # ann's run of it: no longer
        _hidden(lambda: bob.history(anns), anns)
        with pytest.raises(ServiceError) as err:  # nothing left to remove
            _unshare(ann, wid, user="bob")
        assert err.value.status == 404
        with Store(srv.db) as store:
            assert "lacks workflow:execute" in access.check_action(store, bob_p, Permission.EXECUTE, workflow_id=wid)
            history = ann._request("GET", f"{API}/workflows/{wid}/shares", params={"include_removed": True})
            assert [(s["subject"], s["status"]) for s in history["shares"]] == [("bob", "removed")]
            rows = store.query(
                "SELECT event_type, actor, message, metadata FROM audit_logs "
                "WHERE event_type IN ('security.shared', 'security.unshared', 'security.denied') ORDER BY timestamp"
            )
    ours = [r for r in rows if wid in r["message"] or wid in json.dumps(r["metadata"], default=str)]
    kinds = [(r["event_type"], r["actor"]) for r in ours]
    assert ("security.shared", "ann") in kinds and ("security.unshared", "ann") in kinds
    denied = [json.loads(r["metadata"]) if isinstance(r["metadata"], str) else r["metadata"] for r in ours]
    denied_perms = {
        m.get("permission") for m, r in zip(denied, ours, strict=True) if r["event_type"] == "security.denied"
    }
    assert {"workflow:read", "workflow:execute", "workflow:share", "workflow:update"} <= denied_perms


def test_a_group_share_reaches_a_token_of_the_group_and_never_lifts_a_role(share_server):
    srv, tokens = share_server
    with _as(srv, tokens, "ann") as ann, _as(srv, tokens, "gus") as gus, _as(srv, tokens, "vic") as vic:
        wid = ann.create_workflow(toml=APPROVAL_TOML.format(name="Ann's ledger"))["workflow_id"]
        _hidden(lambda: gus.update_workflow(wid, description="ops edit"), wid)
        assert not _listed(vic, wid)
        _hidden(lambda: vic.get_workflow(wid), wid)

        _share(ann, wid, group="ops", level="edit")
        saved = gus.update_workflow(wid, description="ops edit", change_note="by the ops group")
        assert saved["version"] == 2 and saved["owner"] == "ann"  # an edit does not take it over
        _refused(lambda: _share(gus, wid, user="gus", level="edit"), "workflow:share")  # editing is not owning
        # an edit share manages the workflow's schedules (API); without a share: refused, naming the permission
        sched = gus._request(
            "POST", f"{API}/workflows/{wid}/schedules", json_body={"id": "nightly", "cron": "0 2 * * *"}
        )
        with _as(srv, tokens, "bob") as bob:
            _hidden(lambda: bob._request("POST", f"{API}/schedules/{sched['schedule_id']}/pause"), sched["schedule_id"])
        assert gus._request("POST", f"{API}/schedules/{sched['schedule_id']}/pause")["enabled"] is False

        _share(ann, wid, group="*", level="run")  # everyone: a viewer reads it, but still cannot run it
        assert _listed(vic, wid) and vic.get_workflow(wid)["workflow_id"] == wid
        _refused(lambda: vic.execute(wid, {}, execution="inline"), "workflow:execute")
        with Store(srv.db) as store:
            gus_p = Principal("gus", Role.ANALYST, groups=("ops",))
            assert access.check_action(store, gus_p, Permission.UPDATE, workflow_id=wid) is None
            outsider = Principal("gus", Role.ANALYST, groups=("finance",))  # same user, not in "ops"
            assert access.check_action(store, outsider, Permission.EXECUTE, workflow_id=wid) is None  # via "*"
            assert "lacks workflow:update" in access.check_action(store, outsider, Permission.UPDATE, workflow_id=wid)
        _unshare(ann, wid, group="ops")
        _refused(lambda: gus.update_workflow(wid, description="again"), "workflow:update")


def test_cli_share_list_and_unshare(tmp_path):
    from engine.workbench import library as wb_library
    from engine.workflow_file import WorkflowSpec

    db = tmp_path / "workbench.duckdb"
    with Store(db) as store:
        wid = wb_library.save_workflow(store, WorkflowSpec(name="cli shared", dsl="start->end;"), owner="ann")[0]
    out = workbench_cli(db, "share", wid, "--user", "Bob@Example.com", "--level", "run")
    assert out.returncode == 0, out.stderr
    assert f"shared {wid} with user bob@example.com (run)" in out.stdout
    assert workbench_cli(db, "share", wid, "--group", "ops", "--level", "edit").returncode == 0
    bad = workbench_cli(db, "share", wid, "--user", "x", "--level", "own")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    listed = workbench_cli(db, "share", "list", wid, "--json")
    assert listed.returncode == 0, listed.stderr
    shares = json.loads(listed.stdout)
    assert shares["owner"] == "ann"
    assert sorted((s["subject"], s["level"], s["shared_by"]) for s in shares["shares"]) == [
        ("bob@example.com", "run", "admin-cli"),
        ("ops", "edit", "admin-cli"),
    ]
    out = workbench_cli(db, "unshare", wid, "--user", "bob@example.com")
    assert out.returncode == 0 and "no longer shared" in out.stdout, out.stderr
    again = workbench_cli(db, "unshare", wid, "--user", "bob@example.com")
    assert again.returncode == 1 and "is not shared with user bob@example.com" in again.stderr
    text = workbench_cli(db, "share", "list", wid, "--all")
    assert "removed" in text.stdout and "ops" in text.stdout
    with Store(db) as store:
        bob = Principal("bob@example.com", Role.ANALYST)
        assert "lacks workflow:execute" in access.check_action(store, bob, Permission.EXECUTE, workflow_id=wid)
        events = [r["event_type"] for r in store.query("SELECT event_type FROM audit_logs ORDER BY timestamp")]
    assert events.count("security.shared") == 2 and events.count("security.unshared") == 1
