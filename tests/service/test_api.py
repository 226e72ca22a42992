"""The workbench service end to end: a real ``workbench serve`` process (real Ray, real store) driven
over HTTP with httpx and :class:`engine.client.WorkbenchClient`."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from engine.client import ServiceError

pytestmark = [pytest.mark.ray, pytest.mark.slow]

CHAIN = "start->a; a->b; b->c; c->end;"

APPROVAL_TOML = '''
name = "Ship after approval"
dsl = """start->prepare; prepare->ask; ask->ship:approved==True; ask->hold; ship->end; hold->end;"""
[states.ask]
action = "approval"
message = "Ship it?"
'''


def flaky_toml(marker_dir) -> str:
    return f'''
name = "Flaky fetch"
dsl = "start->fetch; fetch->done; done->end;"
[states.fetch]
action = "python"
function = "tests.engine.functions:flaky"
params = {{ marker_dir = "{marker_dir}", fail_times = 1 }}
retry = {{ max_attempts = 3, backoff_s = 0.05 }}
execution = "ray"
'''


def _events(client, eid, timeout=120):
    return list(client.events(eid, timeout=timeout))


def _wait_status(client, eid, wanted, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ex = client.execution(eid)
        if ex["status"] in wanted:
            return ex
        time.sleep(0.1)
    raise AssertionError(f"{eid} stayed {ex['status']}, wanted {wanted}")


def _metric(text: str, name: str, **labels) -> float:
    """The value of one sample of the exposition text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        m = re.match(r"^(\S+?)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        if all(got.get(k) == str(v) for k, v in labels.items()):
            return float(m.group(4))
    return 0.0


# ------------------------------------------------------------------------------- the happy path
def test_create_from_dsl_execute_and_follow_events_to_completion(client, server):
    wf = client.create_workflow(name="Three steps", dsl=CHAIN, tags=["svc"])
    assert wf["version"] == 1 and [s["name"] for s in wf["states"]] == ["a", "b", "c", "end", "start"]
    run = client.execute(wf["workflow_id"], {"order_id": 7})
    assert run["status"] in ("pending", "running", "completed")
    assert run["events_url"].endswith(f"/api/v1/executions/{run['execution_id']}/events")
    events = _events(client, run["execution_id"])
    types = [e["type"] for e in events]
    assert types[-1] == "execution_finished" and events[-1]["status"] == "completed"
    started = [e["state"] for e in events if e["type"] == "state_started"]
    finished = [e["state"] for e in events if e["type"] == "state_finished"]
    assert started == ["a", "b", "c"] and finished == ["start", "a", "b", "c"]
    for s in ("a", "b", "c"):  # a state starts before it finishes
        assert types.index("state_started") <= next(
            i for i, e in enumerate(events) if e["type"] == "state_finished" and e["state"] == s
        )
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    ex = client.execution(run["execution_id"])
    assert ex["status"] == "completed" and ex["final_context"]["order_id"] == 7
    assert ex["states_visited"] == ["start", "a", "b", "c", "end"]
    hist = client.history(run["execution_id"])
    assert [t["from_state"] for t in hist["transitions"]] == ["start", "a", "b", "c"]
    assert any(a["event_type"] == "run_completed" for a in hist["audit_logs"])


def test_late_subscriber_gets_what_happened_and_the_stream_ends(client):
    wf = client.create_workflow(name="Late", dsl=CHAIN)
    eid = client.execute(wf["workflow_id"])["execution_id"]
    _wait_status(client, eid, {"completed"})
    events = _events(client, eid, timeout=30)  # connects after the end: replay, then the end
    assert [e["state"] for e in events if e["type"] == "state_finished"] == ["start", "a", "b", "c"]
    assert events[-1]["type"] == "execution_finished"


def test_workflow_statistics_list_update_and_archive(client):
    wf = client.create_workflow(name="Lifecycle", dsl=CHAIN, tags=["life", "svc"])
    wid = wf["workflow_id"]
    for _ in range(2):
        client.wait(client.execute(wid)["execution_id"], timeout=60)
    got = client.get_workflow(wid)
    assert got["statistics"]["total_executions"] == 2 and got["statistics"]["success_rate"] == 100.0
    listed = client.list_workflows(tags="life,svc", page_size=1)
    assert listed["total"] == 1 and listed["workflows"][0]["workflow_id"] == wid
    assert client.list_workflows(tags="life,nope")["total"] == 0
    v2 = client.update_workflow(wid, dsl="start->a; a->b; b->end;", change_note="shorter")
    assert v2["version"] == 2 and v2["dsl"] == "start->a; a->b; b->end;"
    assert client.get_workflow(wid, version=1)["dsl"] == CHAIN
    old = client.execute(wid, version=1)
    assert client.wait(old["execution_id"], timeout=60)["version"] == 1
    out = client.archive_workflow(wid)
    assert out["versions_archived"] == 2
    assert client.list_workflows(search="Lifecycle")["total"] == 0
    assert client.list_workflows(status="archived", search="Lifecycle")["total"] == 1
    with pytest.raises(ServiceError) as e:
        client.execute(wid)
    assert e.value.status == 404


def test_create_from_toml_and_from_natural_language(client):
    wf = client.create_workflow(toml=APPROVAL_TOML)
    assert wf["name"] == "Ship after approval"
    assert {s["name"]: s["callback_type"] for s in wf["states"]}["ask"] == "approval"
    nl = client.create_workflow(
        nl_description="Validate the order, then charge the card and ship it.", name="From words"
    )
    assert nl["name"] == "From words" and "start->" in nl["dsl"]
    tr = client.translate("Validate the order, then charge the card and ship it.")
    assert tr["valid"] is True and tr["dsl"] == nl["dsl"]


# ------------------------------------------------------------------------------- people and control
def test_approve_a_waiting_run_over_the_api(client):
    wf = client.create_workflow(toml=APPROVAL_TOML.replace("Ship after approval", "Approve me"))
    eid = client.execute(wf["workflow_id"], {"order": 1})["execution_id"]
    ex = _wait_status(client, eid, {"waiting"})
    assert [r["state"] for r in ex["open_requests"]] == ["ask"]
    out = client.approve(eid, "ask", True)
    assert out["delivered"] == "live"
    events = _events(client, eid)
    types = [e["type"] for e in events]
    assert "waiting" in types and "answered" in types and types[-1] == "execution_finished"
    assert types.index("waiting") < types.index("answered")
    final = client.execution(eid)
    assert final["status"] == "completed" and "ship" in final["states_visited"]
    assert final["final_context"]["approved"] is True


def test_answering_a_cancelled_run_is_a_conflict(client):
    wf = client.create_workflow(toml=APPROVAL_TOML.replace("Ship after approval", "Cancel me"))
    eid = client.execute(wf["workflow_id"])["execution_id"]
    _wait_status(client, eid, {"waiting"})
    out = client.cancel(eid)
    assert out["status"] == "cancelled"
    with pytest.raises(ServiceError) as e:
        client.approve(eid, "ask", True)
    assert e.value.status == 409 and e.value.code == "conflict" and e.value.details["status"] == "cancelled"
    with pytest.raises(ServiceError) as e:
        client.cancel(eid)
    assert e.value.status == 409
    assert client.execution(eid)["status"] == "cancelled"


def test_approving_a_state_the_run_does_not_wait_at_is_a_conflict(client):
    wf = client.create_workflow(toml=APPROVAL_TOML.replace("Ship after approval", "Wrong state"))
    eid = client.execute(wf["workflow_id"])["execution_id"]
    _wait_status(client, eid, {"waiting"})
    with pytest.raises(ServiceError) as e:
        client.approve(eid, "prepare", True)
    assert e.value.status == 409 and e.value.details["waiting_at"] == ["ask"]
    client.approve(eid, "ask", False)
    final = client.wait(eid, timeout=60)
    assert final["status"] == "completed" and "hold" in final["states_visited"]


def test_rerun_from_a_state(client):
    wf = client.create_workflow(name="Rerun me", dsl=CHAIN)
    first = client.wait(client.execute(wf["workflow_id"], {"x": 1})["execution_id"], timeout=60)
    again = client.rerun(first["execution_id"], "b")
    ex = client.wait(again["execution_id"], timeout=60)
    assert ex["status"] == "completed" and ex["rerun_of"] == first["execution_id"] and ex["rerun_from"] == "b"
    with pytest.raises(ServiceError) as e:
        client.rerun(first["execution_id"], "nope")
    assert e.value.status == 400 and e.value.details["field"] == "from_state"


# ------------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def chain_id(server):
    from engine.client import WorkbenchClient

    with WorkbenchClient(server.url) as c:
        return c.create_workflow(name="Bad input target", dsl=CHAIN)["workflow_id"]


def _post(server, path, content, headers=None):
    return httpx.post(
        server.url + path, content=content, timeout=30, headers={"content-type": "application/json", **(headers or {})}
    )


def _count_runs(server, wid):
    return len(httpx.get(server.url + "/api/v1/executions", params={"workflow": wid}, timeout=30).json()["executions"])


@pytest.mark.parametrize(
    "body, code, field",
    [
        (b'{"initial_context": {"a": 1}', "invalid_json", "body"),
        (b'{"initial_context": [1, 2]}', "invalid_request", "initial_context"),
        (b'{"initial_context": "{}"}', "invalid_request", "initial_context"),
        (b'{"initial_context": {}, "priority": "high"}', "invalid_request", "priority"),
        (b'{"execution_options": {"timeout_seconds": -1}}', "invalid_request", "execution_options.timeout_seconds"),
        (b'{"execution_options": {"retries": 3}}', "invalid_request", "execution_options.retries"),
        (b'{"version": 0}', "invalid_request", "version"),
    ],
)
def test_bad_execute_bodies_are_400_naming_the_field_and_start_nothing(server, chain_id, body, code, field):
    before = _count_runs(server, chain_id)
    r = _post(server, f"/api/v1/workflows/{chain_id}/execute", body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    assert field in [d["field"] for d in err["details"]]
    assert _count_runs(server, chain_id) == before


def test_unknown_workflow_or_version_is_404(server, chain_id):
    r = _post(server, "/api/v1/workflows/no-such-workflow/execute", b"{}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = _post(server, f"/api/v1/workflows/{chain_id}/execute", b'{"version": 42}')
    assert r.status_code == 404 and "no version 42" in r.json()["error"]["message"]
    for path in (
        "/api/v1/executions/nope",
        "/api/v1/executions/nope/history",
        "/api/v1/executions/nope/events",
        "/api/v1/workflows/nope",
    ):
        r = httpx.get(server.url + path, timeout=30)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path
    r = _post(server, "/api/v1/executions/nope/approve", b'{"state": "a", "approved": true}')
    assert r.status_code == 404


def test_a_dsl_with_errors_is_400_with_line_and_column_and_nothing_saved(server):
    before = httpx.get(server.url + "/api/v1/workflows", params={"status": "all", "page_size": 200}).json()["total"]
    r = _post(
        server, "/api/v1/workflows", json.dumps({"name": "Broken", "dsl": "start->a;\na->b;\na->c;\nb->end; c->end;"})
    )
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "invalid_workflow"
    issue = err["details"]["errors"][0]
    assert (issue["line"], issue["column"]) == (3, 1) and "unconditional" in issue["message"]
    r = _post(server, "/api/v1/workflows", json.dumps({"name": "Syntax", "dsl": "start->a;\na->;"}))
    assert r.status_code == 400
    issue = r.json()["error"]["details"]["errors"][0]
    assert (issue["line"], issue["column"]) == (2, 4) and issue["excerpt"]
    r = _post(
        server,
        "/api/v1/workflows",
        json.dumps({"toml": "name = 'x'\ndsl = 'start->a; a->end;'\n[states.a]\naction = 'python'\n"}),
    )
    assert r.status_code == 400 and "function" in r.json()["error"]["message"]
    r = _post(server, "/api/v1/workflows", json.dumps({"name": "Two sources", "dsl": CHAIN, "toml": "x"}))
    assert r.status_code == 400 and "exactly one" in r.json()["error"]["message"]
    r = _post(server, "/api/v1/workflows", json.dumps({"dsl": CHAIN, "states": {"a": {"action": "python"}}}))
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"].startswith("states.a")
    after = httpx.get(server.url + "/api/v1/workflows", params={"status": "all", "page_size": 200}).json()["total"]
    assert after == before


def test_an_update_with_errors_keeps_the_current_version(client):
    wf = client.create_workflow(name="Keep me", dsl=CHAIN)
    with pytest.raises(ServiceError) as e:
        client.update_workflow(wf["workflow_id"], dsl="start->a;")
    assert e.value.status == 400 and e.value.details["errors"][0]["line"] == 1
    assert client.get_workflow(wf["workflow_id"])["version"] == 1


def test_oversized_bodies_are_413_json_whether_announced_or_streamed(server, chain_id):
    big = b'{"initial_context": {"blob": "' + b"x" * (1 << 20) + b'"}}'
    before = _count_runs(server, chain_id)
    r = _post(server, f"/api/v1/workflows/{chain_id}/execute", big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

    def chunks():  # no Content-Length: Transfer-Encoding chunked
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    r = httpx.post(
        server.url + f"/api/v1/workflows/{chain_id}/execute",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 413 and r.json()["error"]["details"]["max_bytes"] == 1 << 20
    assert _count_runs(server, chain_id) == before
    ok = b'{"initial_context": {"blob": "' + b"x" * 500_000 + b'"}}'  # under the limit: accepted
    assert _post(server, f"/api/v1/workflows/{chain_id}/execute", ok).status_code == 202


def test_unknown_routes_and_methods_are_json_errors(server):
    r = httpx.get(server.url + "/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = httpx.patch(server.url + "/api/v1/workflows")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


# ------------------------------------------------------------------------------- observability
def test_health_ready_and_openapi(server):
    from engine.store.common import store_id

    health = httpx.get(server.url + "/health").json()
    assert health == {"status": "ok", "store_id": store_id(server.db)}  # a hash: the path is not revealed
    assert str(server.db) not in str(health)
    ready = httpx.get(server.url + "/ready").json()
    assert ready["ready"] is True
    assert ready["checks"]["ray"]["ok"] and ready["checks"]["ray"]["resources"]["CPU"] >= 1
    assert ready["checks"]["store"]["ok"] and ready["checks"]["store"]["path"] == str(server.db)
    spec = httpx.get(server.url + "/openapi.json").json()
    for model in ("WorkflowCreate", "ExecuteRequest", "ExecutionDetail", "ErrorResponse", "AnalyticsResponse"):
        assert model in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["ExecuteRequest"]["additionalProperties"] is False
    assert "swagger" in httpx.get(server.url + "/docs").text.lower()


def test_metrics_count_runs_states_and_recovery(client, server, tmp_path):
    wf = client.create_workflow(toml=flaky_toml(tmp_path / "marks"))
    ex = client.wait(client.execute(wf["workflow_id"])["execution_id"], timeout=120)
    assert ex["status"] == "completed" and ex["retry_count"] == 1
    text = client.metrics()
    deadline = time.monotonic() + 10  # recovery actions are counted off the driver thread
    while _metric(text, "workbench_recovery_actions_total", workflow="Flaky fetch", strategy="retry") < 1:
        assert time.monotonic() < deadline, text
        time.sleep(0.2)
        text = client.metrics()
    assert _metric(text, "workbench_runs_started_total", workflow="Flaky fetch", kind="execute") == 1
    assert _metric(text, "workbench_runs_finished_total", workflow="Flaky fetch", status="completed") == 1
    assert _metric(text, "workbench_state_retries_total", workflow="Flaky fetch", state="fetch") == 1
    assert (
        _metric(text, "workbench_state_duration_seconds_count", workflow="Flaky fetch", state="fetch", status="failed")
        == 1
    )
    assert (
        _metric(
            text, "workbench_state_duration_seconds_count", workflow="Flaky fetch", state="fetch", status="completed"
        )
        == 1
    )
    assert "workbench_runs_in_flight" in text and "workbench_runs_waiting" in text
    assert (
        _metric(
            text,
            "workbench_http_requests_total",
            method="POST",
            route="/api/v1/workflows/{workflow_id}/execute",
            status_code="202",
        )
        >= 1
    )
    events = _events(client, ex["execution_id"])
    kinds = [e["type"] for e in events]
    assert "state_failed" in kinds and "recovery_action" in kinds and "retrying" in kinds


def test_logs_are_json_lines_with_execution_workflow_and_state(client, server):
    wf = client.create_workflow(name="Logged", dsl=CHAIN)
    eid = client.wait(client.execute(wf["workflow_id"])["execution_id"], timeout=60)["execution_id"]
    time.sleep(0.3)
    records = []
    for line in server.log_lines():
        if line.startswith("{"):
            records.append(json.loads(line))  # every structured line parses
    mine = [r for r in records if r.get("execution_id") == eid]
    assert {r.get("state") for r in mine} >= {"a", "b", "c"}
    assert all(r["workflow"] == "Logged" and r["level"] == "info" and r["ts"] for r in mine)
    assert any(r.get("path", "").endswith("/execute") and r.get("status_code") == 202 for r in records)


def test_contexts_a_run_could_not_store_are_400(server, chain_id):
    before = _count_runs(server, chain_id)
    for body in (
        b'{"initial_context": {"x": NaN}}',
        b'{"initial_context": {"x": Infinity}}',
        b'{"initial_context": ' + b'{"a": ' * 150 + b"1" + b"}" * 150 + b"}",
    ):
        r = _post(server, f"/api/v1/workflows/{chain_id}/execute", body)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["details"][0]["field"] == "initial_context"
    deep = b"[" * 100_000 + b"]" * 100_000  # beyond Python's JSON recursion limit
    r = _post(server, f"/api/v1/workflows/{chain_id}/execute", deep)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    assert _count_runs(server, chain_id) == before


def test_run_a_definition_directly_reuses_the_library_version(client):
    toml = 'name = "Direct"\ndsl = "start->a; a->end;"\n'
    first = client.run_definition(toml=toml, initial_context={"k": 1})
    second = client.run_definition(toml=toml)
    assert (first["workflow_id"], first["version"]) == (second["workflow_id"], second["version"])
    changed = client.run_definition(toml=toml.replace("a->end", "a->b; b->end"))
    assert changed["workflow_id"] == first["workflow_id"] and changed["version"] == first["version"] + 1
    assert client.wait(changed["execution_id"], timeout=60)["status"] == "completed"
    with pytest.raises(ServiceError) as e:
        client.run_definition(dsl="start->a;")
    assert e.value.status == 400 and e.value.code == "invalid_workflow"


def test_analytics_optimize_and_score_after_runs(client):
    wf = client.create_workflow(name="Measured", dsl=CHAIN)
    wid = wf["workflow_id"]
    with pytest.raises(ServiceError) as e:  # the advisor needs recorded runs
        client.optimize(wid)
    assert e.value.status == 409 and "no recorded runs" in str(e.value)
    ids = [client.execute(wid)["execution_id"] for _ in range(3)]
    for eid in ids:
        client.wait(eid, timeout=60)
    rep = client.analytics(wid, start_date="1d", granularity="hour")
    assert rep["workflow_id"] == wid and rep["statistics"]["total_executions"] == 3
    assert rep["statistics"]["success_rate"] == 100.0
    assert {p["state"] for p in rep["state_performance"]} >= {"a", "b", "c"}
    opt = client.optimize(wid)
    assert opt["workflow_id"] == wid and opt["runs"]["finished"] == 3
    assert isinstance(opt["current_optimization_score"], int)
    assert client.get_workflow(wid)["optimization_score"] == opt["current_optimization_score"]
    assert client.analytics()["statistics"]["total_executions"] >= 3
    with pytest.raises(ServiceError) as e:
        client.analytics(wid, granularity="fortnight")
    assert e.value.status == 400 and e.value.details[0]["field"] == "granularity"


def test_resume_or_answer_of_a_finished_run_is_a_conflict(client):
    wf = client.create_workflow(name="Done", dsl=CHAIN)
    eid = client.wait(client.execute(wf["workflow_id"])["execution_id"], timeout=60)["execution_id"]
    for call in (lambda: client.resume(eid), lambda: client.answer(eid, "a", "yes")):
        with pytest.raises(ServiceError) as e:
            call()
        assert e.value.status == 409 and e.value.details["status"] == "completed"
    with pytest.raises(ServiceError) as e:
        client.answer(eid, "a", "maybe")
    assert e.value.status == 400 and e.value.details[0]["field"] == "value"


def test_a_low_confidence_decision_is_streamed_and_answered_over_the_api(client):
    wf = client.create_workflow(name="Decide", dsl='start->a; a->b:"the customer sounds angry"; a->c; b->end; c->end;')
    eid = client.execute(wf["workflow_id"], {"notes": "I am furious, this is the third time!"})["execution_id"]
    seen = []
    for ev in client.events(eid, timeout=60):
        seen.append(ev)
        if ev["type"] == "execution_status" and ev["status"] == "waiting":
            break
    decision = next(e for e in seen if e["type"] == "decision")
    assert decision["state"] == "a" and decision["condition"]
    waiting = next(e for e in seen if e["type"] == "waiting")
    assert waiting["kind"] == "decision" and set(waiting["options"]) >= {"true", "false"}
    assert client.answer(eid, "a", "false")["delivered"] == "live"
    final = client.wait(eid, timeout=60)
    assert final["status"] == "completed" and final["states_visited"][-2:] == ["c", "end"]


def test_metrics_show_queue_depth_ai_decisions_and_llm_usage_from_the_records(client, server):
    """/metrics also exposes the queue depth, the recorded AI decisions and the LLM tokens and cost
    (store totals: a model call recorded by another process, e.g. a CLI translate, counts too)."""
    from engine.store import Store

    wf = client.create_workflow(
        name="Decide metrics", dsl='start->a; a->b:"the customer sounds angry"; a->c; b->end; c->end;'
    )
    eid = client.execute(wf["workflow_id"], {"notes": "I am furious!"})["execution_id"]
    for ev in client.events(eid, timeout=60):
        if ev["type"] == "execution_status" and ev["status"] == "waiting":
            break
    client.answer(eid, "a", "true")
    assert client.wait(eid, timeout=60)["status"] == "completed"
    other = Store(server.db)  # another process's record of a model call
    try:
        other.append(
            "llm_calls",
            {
                "id": "metrics-test-call",
                "operation": "translate",
                "model": "metrics-model",
                "prompt_tokens": 120,
                "completion_tokens": 30,
                "total_tokens": 150,
                "cost_usd": 0.25,
                "success": True,
            },
        )
        other.flush()
    finally:
        other.close()
    deadline = time.monotonic() + 15  # totals are cached for a few seconds
    while True:
        text = client.metrics()
        if _metric(text, "workbench_llm_tokens_total", model="metrics-model", kind="prompt") == 120:
            break
        assert time.monotonic() < deadline, text
        time.sleep(0.5)
    assert _metric(text, "workbench_llm_tokens_total", model="metrics-model", kind="completion") == 30
    assert _metric(text, "workbench_llm_cost_usd_total", model="metrics-model") == 0.25
    assert _metric(text, "workbench_llm_calls_total", model="metrics-model") == 1
    decisions = sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("workbench_ai_decisions_total{")
    )
    assert decisions >= 1, text
    assert "workbench_runs_queued 0.0" in text
