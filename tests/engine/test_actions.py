"""Actions: sql binds parameters, http honours the allowlist, llm answers offline and through a server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.actions import execute_state
from engine.actions.templating import fill
from engine.runner import RunOptions
from engine.workflow_file import parse_workflow_text


def test_template_fill_reads_dotted_names_and_refuses_attribute_tricks():
    assert fill("Hi {user.name}, {{literal}}", {"user": {"name": "Ada"}}) == "Hi Ada, {literal}"
    with pytest.raises(KeyError):
        fill("{user.__class__}", {"user": {"name": "Ada"}})
    assert fill("{items}", {"items": [1, 2]}) == "[1, 2]"


def _sql(binding, context):
    return execute_state(
        {"action": "sql", "binding": {"action": "sql", **binding}, "context": context, "state": "q", "data_dir": "data"}
    )


def test_sql_binds_context_values_as_parameters_not_text():
    hostile = "North' OR '1'='1"
    out = _sql(
        {
            "query": "SELECT count(*) FROM sales WHERE region = $region",
            "files": {"sales": "samples/sales.csv"},
            "output": "scalar",
            "into": "n",
        },
        {"region": hostile},
    )
    assert out["status"] == "completed" and out["updates"] == {"n": 0}
    out = _sql(
        {
            "query": "SELECT count(*) FROM sales WHERE region = $region",
            "files": {"sales": "samples/sales.csv"},
            "output": "scalar",
            "into": "n",
        },
        {"region": "North"},
    )
    assert out["updates"]["n"] > 0 and out["keys_read"] == ["region"]


def test_sql_output_shapes_and_missing_parameter(tmp_path):
    base = {"files": {"sales": "samples/sales.csv"}}
    row = _sql(
        {
            **base,
            "query": "SELECT region, count(*) AS n FROM sales GROUP BY 1 ORDER BY 1 LIMIT 1",
            "output": "row",
            "into": "r",
        },
        {},
    )
    assert set(row["updates"]["r"]) == {"region", "n"}
    rows = _sql({**base, "query": "SELECT DISTINCT region FROM sales ORDER BY 1", "output": "rows"}, {})
    assert [r["region"] for r in rows["updates"]["q"]] == ["East", "North", "South", "West"]
    table = execute_state(
        {
            "action": "sql",
            "binding": {"action": "sql", **base, "query": "SELECT * FROM sales", "output": "table", "into": "t"},
            "context": {},
            "state": "t",
            "data_dir": "data",
            "artifacts_dir": str(tmp_path),
            "execution_id": "x1",
        }
    )
    assert table["updates"]["t"]["rows"] == 2000 and table["updates"]["t"]["path"].endswith("x1/t.parquet")
    bad = _sql({**base, "query": "SELECT * FROM sales WHERE region = $nope", "output": "rows"}, {})
    assert bad["status"] == "failed" and "$nope" in bad["error_message"]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        code = 503 if "fail" in self.path else 200
        body = json.dumps({"path": self.path}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def http_server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def _http(url, **extra):
    return execute_state(
        {
            "action": "http",
            "binding": {"action": "http", "url": url, "into": "resp", **extra},
            "context": {"id": 7},
            "state": "h",
        }
    )


def test_http_get_with_templated_url_and_allowlist(http_server, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HTTP_ALLOWED_HOSTS", "127.0.0.1")  # loopback needs the admin's list
    ok = _http(http_server + "/items/{id}")
    assert ok["status"] == "completed" and ok["updates"]["resp"] == {"path": "/items/7"}
    assert ok["updates"]["resp_status"] == 200
    err = _http(http_server + "/fail")
    assert err["status"] == "failed" and err["error_type"] == "ConnectionError"  # 5xx = transient
    denied = _http("http://example.com/x")
    assert denied["status"] == "failed" and denied["error_type"] == "PermissionError"
    assert "allowlist" in denied["error_message"]


def test_llm_state_answers_offline_and_says_so(inline_engine, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    spec = parse_workflow_text("""
name = "llm offline"
dsl = "start->summarise; summarise->end;"
[states.summarise]
action = "llm"
prompt = "Summarise this complaint: {ticket}"
into = "summary"
""")
    res = inline_engine.run(spec, {"ticket": "The parcel arrived broken"}, RunOptions(execution="inline"))
    assert res.status == "completed", res.error
    assert res.final_context["summary_provider"] == "offline"
    assert "no LLM is configured" in res.final_context["summary"]
    again = inline_engine.run(spec, {"ticket": "The parcel arrived broken"}, RunOptions(execution="inline"))
    assert again.final_context["summary"] == res.final_context["summary"]  # deterministic


def test_llm_state_through_a_real_openai_compatible_server(inline_engine, llm_server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-llm-action-key")
    monkeypatch.setenv("WORKBENCH_LLM_MODEL", "test-model")
    llm_server.reply('{"sentiment": "negative", "refund": true}')
    spec = parse_workflow_text("""
name = "llm online"
dsl = "start->classify; classify->refund:verdict.refund==True; classify->end; refund->end;"
[states.classify]
action = "llm"
prompt = "Classify: {ticket}"
output = "json"
into = "verdict"
""")
    res = inline_engine.run(spec, {"ticket": "broken parcel, I want my money back"}, RunOptions(execution="inline"))
    assert res.status == "completed", res.error
    assert res.final_context["verdict"] == {"sentiment": "negative", "refund": True}
    assert res.states_visited == ["start", "classify", "refund", "end"]
    assert "broken parcel" in llm_server.last_user_message()
    calls = inline_engine.store.query("SELECT operation, success, execution_id FROM llm_calls")
    assert calls == [{"operation": "llm_state", "success": True, "execution_id": res.execution_id}]
