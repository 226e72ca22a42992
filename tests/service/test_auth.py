"""Tokens, roles and rate limits against a real ``workbench serve --auth required`` process.

Tokens are created with the real CLI (``workbench token create``) on the server's store before it
starts; the server runs ``--no-ray`` and the runs ``execution = inline`` (no Ray needed for approvals).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from engine.client import ServiceError, WorkbenchClient
from tests.service.conftest import REPO, ServerExited, start_server, stop_server

pytestmark = [pytest.mark.slow]

APPROVAL_TOML = '''
name = "{name}"
dsl = """start->prepare; prepare->ask; ask->ship:approved==True; ask->hold; ship->end; hold->end;"""
[states.ask]
action = "approval"
message = "Ship it?"
'''
EXEC_LIMIT = 3  # WORKBENCH_RATE_EXECUTIONS of the server: 3 per minute per user


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, WORKBENCH_DB=str(db), PYTHONPATH=str(REPO))
    env.pop("WORKBENCH_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def _create(db: Path, role: str, name: str, *extra: str) -> str:
    out = _cli(db, "token", "create", "--role", role, "--name", name, "--json", *extra)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["token"]


@pytest.fixture(scope="module")
def auth_server():
    from engine import auth
    from engine.identity import login_user
    from engine.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="wb-auth-test-"))
    db = tmp / "workbench.duckdb"
    # the tokens through the function `workbench token create` calls (one process instead of nine CLI
    # starts, ~3 s each on a loaded machine); the CLI itself makes the expiring one and revokes ted
    with Store(db) as store:
        tokens = {
            name: auth.create_token(store, role, user=name, name=name, created_by=login_user())[0]
            for name, role in [
                ("adam", "admin"),
                ("olga", "operator"),
                ("ann", "analyst"),
                ("bob", "analyst"),
                ("rita", "analyst"),
                ("vic", "viewer"),
                ("rob", "analyst"),
                ("ted", "analyst"),
                ("amy", "analyst"),
            ]
        }
    tokens["old"] = _create(db, "analyst", "old", "--expires", "1s")
    revoked = _cli(db, "token", "revoke", "ted")
    assert revoked.returncode == 0, revoked.stderr
    args = ["--no-ray", "--auth", "required"]
    env = {
        "WORKBENCH_RATE_EXECUTIONS": f"{EXEC_LIMIT}/60s",
        "WORKBENCH_RATE_AI": "2/60s",
        "WORKBENCH_LOG_LEVEL": "DEBUG",
    }
    try:
        srv = start_server(tmp, env, args=args, ready_path="/health", ready_timeout=120)
    except ServerExited:
        srv = start_server(tmp, env, args=args, ready_path="/health", ready_timeout=120)
    yield srv, tokens
    stop_server(srv)
    shutil.rmtree(tmp, ignore_errors=True)


def _as(server, tokens, who: str) -> WorkbenchClient:
    return WorkbenchClient(server.url, timeout=60, token=tokens[who])


def _wait_waiting(c: WorkbenchClient, eid: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ex = c.execution(eid)
        if ex["status"] == "waiting":
            return ex
        time.sleep(0.2)
    raise AssertionError(f"{eid} never waited: {ex['status']}")


def test_no_token_is_401_but_health_and_docs_stay_open(auth_server):
    srv, _ = auth_server
    for path in ("/api/v1/workflows", "/api/v1/executions", "/metrics", "/api/v1/queue"):
        r = httpx.get(srv.url + path, timeout=30)
        assert r.status_code == 401, (path, r.text)
        assert r.json()["error"]["code"] == "unauthorized"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert httpx.post(srv.url + "/api/v1/workflows", json={"dsl": "start->end;"}, timeout=30).status_code == 401
    assert httpx.get(srv.url + "/health", timeout=30).status_code == 200
    assert httpx.get(srv.url + "/openapi.json", timeout=30).status_code == 200
    assert httpx.get(srv.url + "/ready", timeout=30).status_code in (200, 503)  # never 401


def test_bad_revoked_and_expired_tokens_are_401(auth_server):
    srv, tokens = auth_server
    url = srv.url + "/api/v1/workflows"
    cases = {
        "unknown": "Bearer wbt_" + "x" * 43,
        "malformed": "Bearer not-a-token",
        "revoked": None,
        "expired": "Bearer " + tokens["old"],
    }
    for reason, header in cases.items():
        if header is None:
            continue
        r = httpx.get(url, headers={"Authorization": header}, timeout=30)
        assert r.status_code == 401 and r.json()["error"]["details"]["reason"] == reason, (reason, r.text)
    assert httpx.get(url, headers={"Authorization": "Basic abc"}, timeout=30).status_code == 401
    # a token that works, revoked while the server runs: refused within the cache time (2 s)
    good = {"Authorization": "Bearer " + tokens["rob"]}
    assert httpx.get(url, headers=good, timeout=30).status_code == 200
    out = _cli(srv.db, "token", "revoke", "rob")
    assert out.returncode == 0, out.stderr
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = httpx.get(url, headers=good, timeout=30)
        if r.status_code == 401:
            break
        time.sleep(0.3)
    assert r.status_code == 401 and r.json()["error"]["details"]["reason"] == "revoked"


def test_viewer_reads_but_cannot_execute_or_create(auth_server):
    srv, tokens = auth_server
    with _as(srv, tokens, "adam") as admin:
        wf = admin.create_workflow(toml=APPROVAL_TOML.format(name="Viewer target"))
        admin.share(wf["workflow_id"], user="vic", level="view")  # viewers read what is shared with them
    with _as(srv, tokens, "vic") as viewer:
        assert any(w["workflow_id"] == wf["workflow_id"] for w in viewer.list_workflows(page_size=200)["workflows"])
        with pytest.raises(ServiceError) as err:
            viewer.execute(wf["workflow_id"], {}, execution="inline")
        assert err.value.status == 403 and err.value.code == "forbidden"
        assert err.value.details["permission"] == "workflow:execute"
        assert "workflow:execute" in str(err.value)
        with pytest.raises(ServiceError) as err:
            viewer.create_workflow(dsl="start->a; a->end;", name="nope")
        assert err.value.status == 403 and err.value.details["permission"] == "workflow:create"
        with pytest.raises(ServiceError) as err:
            viewer.translate("fetch the orders then email a summary")
        assert err.value.status == 403 and err.value.details["permission"] == "ai:use"


def test_analyst_runs_own_workflow_but_cannot_touch_others_and_operator_approval_is_recorded(auth_server):
    srv, tokens = auth_server
    with _as(srv, tokens, "ann") as ann, _as(srv, tokens, "bob") as bob, _as(srv, tokens, "olga") as olga:
        wf = ann.create_workflow(toml=APPROVAL_TOML.format(name="Ann ships"))
        assert wf["owner"] == "ann"
        eid = ann.execute(wf["workflow_id"], {}, execution="inline")["execution_id"]
        _wait_waiting(ann, eid)
        # another analyst: not their run, nor a workflow they may read: 404 as if it did not exist (issue 13)
        for call in (
            lambda: bob.approve(eid, "ask", True),
            lambda: bob.execute(wf["workflow_id"], {}, execution="inline"),
            lambda: bob.cancel(eid),
            lambda: bob.update_workflow(wf["workflow_id"], description="mine now"),
        ):
            with pytest.raises(ServiceError) as err:
                call()
            assert err.value.status == 404 and err.value.code == "not_found"
        # an operator approves anyone's run; the body's "by" cannot pretend to be someone else
        out = olga.approve(eid, "ask", True, by="somebody-else")
        assert out["answer"] == "yes"
        final = olga.wait(eid, timeout=60)
        assert final["status"] == "completed"
        hist = olga.history(eid)
    answers = [a for a in hist["audit_logs"] if a["event_type"] == "api.answer"]
    assert answers and "olga" in answers[-1]["message"]
    from engine.store import Store

    with Store(srv.db) as store:
        rows = store.query(
            "SELECT actor, metadata FROM audit_logs WHERE execution_id = ? AND event_type = 'api.answer'", [eid]
        )
        assert [r["actor"] for r in rows] == ["olga"]
        asked = store.query("SELECT answered_by FROM human_requests WHERE execution_id = ?", [eid])
        assert [r["answered_by"] for r in asked] == ["olga"]
        denied = store.query(
            "SELECT actor, metadata FROM audit_logs WHERE event_type = 'security.denied' AND actor = 'bob'"
        )
        assert {
            json.loads(r["metadata"])["permission"] if isinstance(r["metadata"], str) else r["metadata"]["permission"]
            for r in denied
        } >= {"run:approve", "workflow:execute"}


def test_rate_limit_answers_429_with_retry_after(auth_server):
    srv, tokens = auth_server
    with _as(srv, tokens, "rita") as rita, _as(srv, tokens, "adam") as admin:
        wid = rita.create_workflow(dsl="start->a; a->end;", name="Rita's quick one")["workflow_id"]
        for _ in range(EXEC_LIMIT):
            rita.execute(wid, {}, execution="inline")
        r = httpx.post(
            f"{srv.url}/api/v1/workflows/{wid}/execute",
            json={"initial_context": {}},
            headers={"Authorization": "Bearer " + tokens["rita"]},
            timeout=30,
        )
        assert r.status_code == 429, r.text
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        body = r.json()["error"]
        assert body["code"] == "rate_limited" and body["details"]["kind"] == "executions"
        assert body["details"]["limit"] == EXEC_LIMIT
        admin.execute(wid, {}, execution="inline")  # the limit is per user: others still run


def test_ai_calls_are_limited_including_creations_from_a_description(auth_server):
    srv, tokens = auth_server
    with _as(srv, tokens, "amy") as amy:
        for _ in range(2):
            amy.translate("fetch the orders then email a summary")
        with pytest.raises(ServiceError) as err:
            amy.create_workflow(nl_description="fetch the orders then email a summary")
        assert err.value.status == 429 and err.value.details["kind"] == "ai"
        with pytest.raises(ServiceError) as err:
            amy.translate("fetch the orders")
        assert err.value.status == 429
        amy.create_workflow(dsl="start->a; a->end;", name="Amy's DSL one")  # creations have their own limit


def test_planted_token_is_nowhere_in_records_logs_or_errors(auth_server):
    srv, tokens = auth_server
    planted = tokens["ann"]
    from engine.auth import hash_token

    # used for reads and writes, and sent where it fails (wrong scheme, wrong route): no echo
    with _as(srv, tokens, "ann") as ann:
        ann.list_workflows()
    for header in ("Token " + planted, "Bearer " + planted + "x"):
        r = httpx.get(srv.url + "/api/v1/workflows", headers={"Authorization": header}, timeout=30)
        assert r.status_code == 401 and planted not in r.text
    r = httpx.get(srv.url + "/api/v1/nope", headers={"Authorization": "Bearer " + planted}, timeout=30)
    assert planted not in r.text
    time.sleep(1.0)  # the store flushes every 250 ms; the log is line-buffered
    digest = hash_token(planted).encode()
    seen_hash = False
    for path in srv.db.parent.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert planted.encode() not in data, f"the token is in {path}"
            seen_hash = seen_hash or digest in data
    assert seen_hash, "the token's hash should be in the store"
    assert srv.log.stat().st_size > 0
    assert "token" in srv.log.read_text()  # debug lines about token use were written…
    assert planted not in srv.log.read_text()  # …without the secret


def _remote_cli(srv, token: str | None, *args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        WORKBENCH_SERVER=srv.url,
        PYTHONPATH=str(REPO),
        WORKBENCH_TOKEN_FILE=str(srv.db.parent / "no-such-token-file"),
    )
    env.pop("WORKBENCH_TOKEN", None)
    env.pop("WORKBENCH_DB", None)
    if token is not None:
        env["WORKBENCH_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_through_the_service_sends_the_token_and_reports_the_missing_permission(auth_server):
    srv, tokens = auth_server
    with _as(srv, tokens, "adam") as admin:
        wid = admin.create_workflow(toml=APPROVAL_TOML.format(name="CLI target"))["workflow_id"]
        admin.share(wid, user="vic", level="view")  # viewers read what is shared with them
        eid = admin.execute(wid, {}, execution="inline")["execution_id"]
        _wait_waiting(admin, eid)
    out = _remote_cli(srv, None, "history", "--json")
    assert out.returncode == 1 and "requires an API token" in out.stderr
    out = _remote_cli(srv, tokens["vic"], "history", "--json")
    assert out.returncode == 0, out.stderr
    assert eid in out.stdout
    out = _remote_cli(srv, tokens["vic"], "cancel", eid)
    assert out.returncode == 1 and "run:cancel" in out.stderr and tokens["vic"] not in out.stderr
    out = _remote_cli(srv, tokens["olga"], "cancel", eid)
    assert out.returncode == 0, out.stderr
    with _as(srv, tokens, "adam") as admin:
        assert admin.execution(eid)["status"] == "cancelled"
        cancels = [a for a in admin.history(eid)["audit_logs"] if a["event_type"] == "api.cancel"]
    assert cancels and "olga" in cancels[-1]["message"]
