"""Webhook and file triggers against a real ``workbench serve --no-ray`` process (runs ``execution = inline``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.automation.conftest import api, save, wait_for
from tests.service.conftest import start_server, stop_server

pytestmark = [pytest.mark.slow]

HOOK_KEY = "k3y-for-hmac-" + "x" * 20
HOOK_TOKEN = "t0ken-for-hook-" + "y" * 20


def _triggers(inbox: Path) -> str:
    return f"""
[[triggers]]
type = "webhook"
id = "signed"
auth = "hmac"
secret = "{{secret:HOOK_KEY}}"
max_body_bytes = 1000
context = {{ source = "hook" }}
[[triggers]]
type = "webhook"
id = "limited"
auth = "hmac"
secret = "{{secret:HOOK_KEY}}"
rate_per_min = 2
[[triggers]]
type = "webhook"
id = "tok"
auth = "token"
secret = "{{secret:HOOK_TOKEN}}"
into = "payload"
[[triggers]]
type = "file"
id = "inbox"
folder = "{inbox}"
glob = "*.csv"
[inputs.ticket]
type = "integer"
description = "ticket number"
"""


_TWIN_HOOK = """
[[triggers]]
type = "webhook"
id = "signed"
auth = "hmac"
secret = "{secret:HOOK_KEY}"
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = Path(tempfile.mkdtemp(prefix="wb-trig-test-"))
    inbox = tmp_path_factory.mktemp("inbox")  # under the test session's allowed data folder
    db = tmp / "workbench.duckdb"
    wid = save(db, "triggered", _triggers(inbox))
    for _ in range(2):  # two workflows of one name (two owners may pick the same), each with a webhook "signed"
        save(db, "twin", _TWIN_HOOK)
    env = {"WORKBENCH_SECRET_HOOK_KEY": HOOK_KEY, "WORKBENCH_SECRET_HOOK_TOKEN": HOOK_TOKEN}
    srv = start_server(tmp, env, args=["--no-ray"], ready_path="/health", ready_timeout=120)
    from engine.store import Store

    st = Store(db)
    try:
        yield srv, wid, inbox, st
    finally:
        stop_server(srv)
        st.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _sig(body: bytes, key: str = HOOK_KEY) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def _post(srv, path: str, body: bytes, **headers) -> object:
    return api(srv, "POST", path, content=body, headers={"Content-Type": "application/json", **headers})


def _runs(st, started_by: str) -> list[dict]:
    return st.query(
        "SELECT e.execution_id, e.status, e.initial_context FROM workflow_executions e "
        "JOIN execution_starters s USING (execution_id) WHERE s.started_by = ? ORDER BY e.start_time",
        [started_by],
    )


def test_signed_webhook_starts_a_run_with_the_body_as_context(served):
    srv, wid, _, st = served
    body = json.dumps({"ticket": 42, "title": "printer on fire"}).encode()
    r = _post(srv, f"/hooks/{wid}/signed", body, **{"X-Workbench-Signature": _sig(body)})
    assert r.status_code == 202, r.text
    eid = r.json()["execution_id"]
    run = wait_for(lambda: api(srv, "GET", f"/executions/{eid}").json(), 30, what="the run")
    assert run["workflow_id"] == wid
    runs = wait_for(lambda: _runs(st, f"webhook:{wid}:signed"), 30, what="the recorded run")
    ctx = json.loads(runs[0]["initial_context"])
    assert ctx == {"source": "hook", "ticket": 42, "title": "printer on fire"}
    by_name = _post(srv, "/hooks/triggered/signed", body, **{"X-Workbench-Signature": _sig(body)})
    assert by_name.status_code == 202  # the workflow's name works in the URL too
    wait_for(lambda: len(_runs(st, f"webhook:{wid}:signed")) == 2, 30, what="the second run")


def test_a_name_two_workflows_share_is_refused_409_and_their_ids_work(served):
    """Names are not unique across owners: a hook called by a shared name must not be checked against
    whichever workflow changed last; the hook's own URL (by id) reaches each one."""
    srv, _, _, st = served
    from engine import library

    ids = library.workflow_ids_named(st, "twin")
    assert len(ids) == 2
    body = b'{"n": 1}'
    r = _post(srv, "/hooks/twin/signed", body, **{"X-Workbench-Signature": _sig(body)})
    assert r.status_code == 409, r.text
    assert "2 workflows called 'twin'" in r.json()["error"]["message"] and ids[0] not in r.text
    for wid in ids:
        ok = _post(srv, f"/hooks/{wid}/signed", body, **{"X-Workbench-Signature": _sig(body)})
        assert ok.status_code == 202, ok.text
        assert ok.json()["workflow_id"] == wid


def test_bad_or_missing_signature_is_refused_401_and_starts_nothing(served):
    srv, wid, _, st = served
    body = b'{"ticket": 1}'
    before = len(_runs(st, f"webhook:{wid}:signed"))
    for headers in (
        {"X-Workbench-Signature": _sig(body, "wrong-key")},
        {"X-Workbench-Signature": _sig(b'{"ticket": 2}')},  # signature of another body
        {},
    ):
        r = _post(srv, f"/hooks/{wid}/signed", body, **headers)
        assert r.status_code == 401, r.text
        assert HOOK_KEY not in r.text
    assert _post(srv, f"/hooks/{wid}/tok", body, **{"X-Workbench-Token": "nope"}).status_code == 401
    assert len(_runs(st, f"webhook:{wid}:signed")) == before
    assert _post(srv, f"/hooks/{wid}/nosuch", body).status_code == 404


def test_oversized_body_is_refused_413(served):
    srv, wid, _, _ = served
    body = json.dumps({"blob": "z" * 2000}).encode()
    r = _post(srv, f"/hooks/{wid}/signed", body, **{"X-Workbench-Signature": _sig(body)})
    assert r.status_code == 413, r.text


def test_calls_over_the_hooks_rate_get_429_with_retry_after(served):
    srv, wid, _, _ = served
    body = b"{}"
    codes = [_post(srv, f"/hooks/{wid}/limited", body, **{"X-Workbench-Signature": _sig(body)}) for _ in range(3)]
    assert [r.status_code for r in codes] == [202, 202, 429]
    assert 1 <= int(codes[2].headers["Retry-After"]) <= 60


def test_token_hooks_from_the_file_and_from_the_api(served):
    srv, wid, _, st = served
    r = _post(srv, f"/hooks/{wid}/tok", b"[1, 2]", **{"X-Workbench-Token": HOOK_TOKEN})
    assert r.status_code == 202, r.text
    wait_for(lambda: _runs(st, f"webhook:{wid}:tok"), 30, what="the token hook's run")
    assert json.loads(_runs(st, f"webhook:{wid}:tok")[0]["initial_context"]) == {"payload": [1, 2]}

    made = api(srv, "POST", f"/workflows/{wid}/triggers", json={"type": "webhook", "id": "api-tok", "auth": "token"})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    listed = api(srv, "GET", "/triggers", params={"workflow": wid}).json()["triggers"]
    assert token not in json.dumps(listed) and any(t["has_token"] for t in listed)
    ok = _post(srv, f"/hooks/{wid}/api-tok", b"{}", Authorization=f"Bearer {token}")
    assert ok.status_code == 202, ok.text
    assert _post(srv, f"/hooks/{wid}/api-tok", b"{}", Authorization="Bearer wbh_wrong").status_code == 401
    stored = json.dumps(st.query("SELECT * FROM triggers_history"), default=str)
    assert token not in stored and HOOK_TOKEN not in stored and HOOK_KEY not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_a_file_dropped_twice_with_the_same_content_starts_one_run_and_a_change_another(served):
    srv, wid, inbox, st = served
    who = f"trigger:{wid}:inbox"
    a = inbox / "orders.csv"
    a.write_text("id,amount\n1,10\n")
    wait_for(lambda: len(_runs(st, who)) == 1, 30, what="the first file's run")
    ctx = json.loads(_runs(st, who)[0]["initial_context"])["file"]
    assert ctx["path"] == str(a.resolve()) and ctx["sha256"] == hashlib.sha256(a.read_bytes()).hexdigest()

    a.unlink()
    a.write_text("id,amount\n1,10\n")  # dropped again: same bytes, a new mtime
    os.utime(a, (a.stat().st_atime, a.stat().st_mtime + 5))
    (inbox / "later.csv").write_text("id\n2\n")  # its run proves a scan saw the re-dropped file
    (inbox / "notes.txt").write_text("not matched by the glob")
    wait_for(lambda: len(_runs(st, who)) == 2, 30, what="later.csv's run")
    names = [json.loads(r["initial_context"])["file"]["name"] for r in _runs(st, who)]
    assert names == ["orders.csv", "later.csv"]

    a.write_text("id,amount\n1,10\n2,20\n")  # changed content: a new version
    wait_for(lambda: len(_runs(st, who)) == 3, 30, what="the changed file's run")
    assert json.loads(_runs(st, who)[2]["initial_context"])["file"]["size"] == a.stat().st_size


def test_schedules_through_the_api_add_list_pause_resume_remove(served):
    srv, wid, _, st = served
    r = api(
        srv,
        "POST",
        f"/workflows/{wid}/schedules",
        json={"id": "nightly", "cron": "0 2 * * *", "timezone": "Asia/Tokyo"},
    )
    assert r.status_code == 201, r.text
    sid = r.json()["schedule_id"]
    assert sid == f"{wid}:nightly" and r.json()["next_fires"][0].endswith("T17:00:00.000000Z")
    bad = api(srv, "POST", f"/workflows/{wid}/schedules", json={"cron": "every day"})
    assert bad.status_code == 400 and "cron" in bad.json()["error"]["message"]
    assert api(srv, "POST", "/workflows/nope/schedules", json={"every": "1h"}).status_code == 404
    assert api(srv, "POST", f"/schedules/{sid}/pause").json()["enabled"] is False
    assert api(srv, "POST", f"/schedules/{sid}/resume").json()["enabled"] is True
    listed = api(srv, "GET", "/schedules", params={"workflow": wid}).json()["schedules"]
    assert [s["schedule_id"] for s in listed] == [sid]
    assert api(srv, "DELETE", f"/schedules/{sid}").status_code == 200
    assert api(srv, "GET", "/schedules", params={"workflow": wid}).json()["schedules"] == []
    assert api(srv, "POST", f"/schedules/{sid}/pause").status_code == 404


def test_a_body_refused_by_the_typed_inputs_is_a_422_naming_the_field(served):
    srv, wid, _, st = served
    body = b'{"ticket": "not a number"}'
    r = _post(srv, f"/hooks/{wid}/signed", body, **{"X-Workbench-Signature": _sig(body)})
    assert r.status_code == 422 and "ticket" in r.json()["error"]["message"], r.text
    bad = api(srv, "POST", f"/workflows/{wid}/schedules", json={"every": "1h", "context": {"ticket": "x"}})
    assert bad.status_code == 400 and "ticket" in bad.json()["error"]["message"]


def test_a_retried_delivery_starts_one_run_and_answers_with_it(served):
    srv, wid, _, st = served
    body = b'{"ticket": 7}'
    headers = {"X-Workbench-Signature": _sig(body), "Idempotency-Key": "delivery-0001"}
    first = _post(srv, f"/hooks/{wid}/signed", body, **headers)
    again = _post(srv, f"/hooks/{wid}/signed", body, **headers)
    assert first.status_code == 202 and again.status_code == 200, again.text
    assert again.json()["execution_id"] == first.json()["execution_id"] and again.json()["status"] == "duplicate"
    other = _post(srv, f"/hooks/{wid}/signed", body, **{**headers, "Idempotency-Key": "delivery-0002"})
    assert other.status_code == 202 and other.json()["execution_id"] != first.json()["execution_id"]
    forged = _post(
        srv, f"/hooks/{wid}/signed", body, **{"X-Workbench-Signature": _sig(b"x"), "Idempotency-Key": "delivery-0001"}
    )
    assert forged.status_code == 401  # the signature is checked before the delivery id


def test_workbench_schedule_goes_through_the_service_when_one_is_set(served, monkeypatch, capsys):
    from engine.cli import main

    srv, wid, _, _ = served
    monkeypatch.setenv("WORKBENCH_SERVER", srv.url)
    capsys.readouterr()
    assert main(["schedule", "add", wid, "--every", "6h", "--id", "remote", "--json"]) == 0
    added = json.loads(capsys.readouterr().out)[0]
    assert added["schedule_id"] == f"{wid}:remote" and added["source"] == "api"
    assert main(["schedule", "pause", f"{wid}:remote", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["enabled"] is False
    assert main(["schedule", "remove", f"{wid}:remote"]) == 0
    assert main(["schedule", "remove", f"{wid}:remote"]) == 1  # the service's 404, as an error message
    assert "no schedule" in capsys.readouterr().err
