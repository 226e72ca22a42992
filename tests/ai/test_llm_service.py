"""LLMService against a real OpenAI-compatible HTTP server on 127.0.0.1 (the real openai client)."""

import json
import time

import pytest
from pydantic import BaseModel

from engine.ai.llm import LLMService, extract_json
from tests.ai.conftest import KEY


class Verdict(BaseModel):
    result: bool
    reasoning: str
    confidence: int


def fallback():
    return Verdict(result=False, reasoning="offline", confidence=10)


VARS = {"condition": "the customer is angry", "context": {"message": "this is unacceptable"}}


def call(svc, **kw):
    return svc.complete_json(
        "evaluate_condition", "evaluate_condition", kw.pop("variables", VARS), Verdict, fallback=fallback, **kw
    )


def calls(store):
    return store.query("SELECT * FROM llm_calls ORDER BY timestamp")


def test_structured_output_happy_path(llm_server, llm_settings, store):
    llm_server.reply_json(
        {"result": True, "reasoning": "angry words", "confidence": 88}, prompt_tokens=200, completion_tokens=30
    )
    svc = LLMService(llm_settings, store)
    res = call(svc, workflow_id="wf1", execution_id="ex1", state="triage")
    assert res.from_model and res.provider == "local" and not res.cached
    assert res.value == Verdict(result=True, reasoning="angry words", confidence=88)
    req = llm_server.chat_requests[0]
    assert req["body"]["response_format"]["type"] == "json_schema"
    assert req["body"]["response_format"]["json_schema"]["name"] == "Verdict"
    assert req["body"]["model"] == "test-model"
    assert req["headers"]["authorization"] == f"Bearer {KEY}"
    (row,) = calls(store)
    assert row["operation"] == "evaluate_condition" and row["success"] and not row["cache_hit"]
    assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"]) == (200, 30, 230)
    assert (row["workflow_id"], row["execution_id"], row["state"]) == ("wf1", "ex1", "triage")
    assert row["latency_ms"] > 0 and row["cost_usd"] == 0  # unknown model on a local server costs nothing


def test_second_call_is_a_cache_hit(llm_server, llm_settings, store):
    llm_server.reply_json({"result": True, "reasoning": "r", "confidence": 90})
    svc = LLMService(llm_settings, store)
    first, second = call(svc), call(svc)
    assert not first.cached and second.cached and second.value == first.value
    assert len(llm_server.chat_requests) == 1
    rows = calls(store)
    assert [r["cache_hit"] for r in rows] == [False, True] and all(r["success"] for r in rows)
    # a new process (empty in-memory cache) finds it in llm_cache
    again = call(LLMService(llm_settings, store))
    assert again.cached and len(llm_server.chat_requests) == 1


def test_cache_expires(llm_server, llm_settings, store):
    llm_server.reply_json({"result": True, "reasoning": "r", "confidence": 90})
    llm_server.reply_json({"result": False, "reasoning": "r2", "confidence": 91})
    svc = LLMService(llm_settings.with_(cache_ttl_s=0.2), store)
    assert call(svc).value.result is True
    time.sleep(0.3)
    res = call(svc)
    assert not res.cached and res.value.result is False and len(llm_server.chat_requests) == 2


def test_http_500_falls_back_and_is_recorded(llm_server, llm_settings, store, all_logs):
    llm_server.reply(status=500)
    res = call(LLMService(llm_settings, store), workflow_id="wf1")
    assert res.provider == "offline" and not res.from_model and res.value.reasoning == "offline"
    assert "HTTP 500" in res.warnings[0] and "offline default" in res.warnings[0]
    (row,) = calls(store)
    assert row["success"] is False and "HTTP 500" in row["error"]
    assert "HTTP 500" in all_logs.text


def test_timeout_falls_back(llm_server, llm_settings, store):
    llm_server.reply_json({"result": True, "reasoning": "late", "confidence": 90}, delay=1.5)
    t0 = time.time()
    res = call(LLMService(llm_settings.with_(timeout_s=0.3), store))
    assert time.time() - t0 < 1.4
    assert res.provider == "offline" and "timed out" in res.warnings[0]
    (row,) = calls(store)
    assert row["success"] is False and "timed out" in row["error"]


def test_connection_refused_falls_back(llm_settings, store):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = call(LLMService(llm_settings.with_(base_url=f"http://127.0.0.1:{port}/v1"), store))
    assert res.provider == "offline" and "could not connect" in res.warnings[0]
    assert calls(store)[0]["success"] is False


def test_retries_are_bounded_and_explicit(llm_server, llm_settings, store):
    llm_server.reply(status=503, headers={"x-should-retry": "true", "retry-after-ms": "1"})
    llm_server.reply_json({"result": True, "reasoning": "second try", "confidence": 80})
    res = call(LLMService(llm_settings.with_(max_retries=1), store))
    assert res.from_model and res.value.reasoning == "second try"
    assert len(llm_server.chat_requests) == 2


def test_malformed_json_falls_back(llm_server, llm_settings, store):
    llm_server.reply("Sure! Here is my answer: result is true, I think")
    res = call(LLMService(llm_settings, store))
    assert res.provider == "offline" and "malformed JSON" in res.warnings[0]
    assert calls(store)[0]["success"] is False


def test_wrong_fields_fall_back(llm_server, llm_settings, store):
    llm_server.reply_json({"answer": "yes"})
    res = call(LLMService(llm_settings, store))
    assert res.provider == "offline" and "did not match the expected fields" in res.warnings[0]


def test_fenced_json_is_recovered(llm_server, llm_settings, store):
    llm_server.reply('```json\n{"result": false, "reasoning": "calm", "confidence": 75}\n```')
    res = call(LLMService(llm_settings, store))
    assert res.from_model and res.value.result is False and res.value.confidence == 75


def test_parsed_none_refusal_is_handled(llm_server, llm_settings, store):
    llm_server.reply(None, refusal="I can't help with that.")
    res = call(LLMService(llm_settings, store))
    assert res.provider == "offline" and "refused" in res.warnings[0]


def test_parsed_none_empty_content_is_handled(llm_server, llm_settings, store):
    llm_server.reply("")
    res = call(LLMService(llm_settings, store))
    assert res.provider == "offline" and "empty answer" in res.warnings[0]


def test_cut_off_answer_is_handled(llm_server, llm_settings, store):
    llm_server.reply('{"result": tr', finish_reason="length")
    res = call(LLMService(llm_settings, store))
    assert res.provider == "offline" and "cut off" in res.warnings[0]


def test_server_without_structured_outputs_gets_json_mode(llm_server, llm_settings, store):
    def responder(req):
        from tests.fixtures.llm_server import Reply

        rf = req["body"].get("response_format") or {}
        if rf.get("type") == "json_schema":
            return Reply("response_format json_schema is not supported", status=400)
        return Reply(json.dumps({"result": True, "reasoning": "json mode", "confidence": 77}))

    llm_server.responder = responder
    svc = LLMService(llm_settings, store)
    res = call(svc)
    assert res.from_model and res.value.reasoning == "json mode"
    assert [r["body"].get("response_format", {}).get("type") for r in llm_server.chat_requests] == [
        "json_schema",
        "json_object",
    ]
    call(svc, variables={"condition": "other", "context": {}})  # remembered: straight to JSON mode
    assert llm_server.chat_requests[-1]["body"]["response_format"]["type"] == "json_object"


def test_plain_text_mode_as_last_resort(llm_server, llm_settings, store):
    def responder(req):
        from tests.fixtures.llm_server import Reply

        if req["body"].get("response_format"):
            return Reply("unknown field response_format", status=400)
        return Reply('I think: {"result": true, "reasoning": "text mode", "confidence": 71} hope that helps')

    llm_server.responder = responder
    res = call(LLMService(llm_settings, store))
    assert res.from_model and res.value.reasoning == "text mode"
    assert "response_format" not in llm_server.chat_requests[-1]["body"]


def test_daily_budget_exhausted_sends_nothing(llm_server, llm_settings, store):
    settings = llm_settings.with_(model="gpt-4o-mini", daily_budget_usd=0.01)
    store.append(
        "llm_calls",
        {
            "id": "old",
            "timestamp": __import__("datetime").datetime.utcnow(),
            "operation": "translate",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "cost_usd": 0.0099,
            "success": True,
            "cache_hit": False,
        },
    )
    res = call(LLMService(settings, store), workflow_id="wf1")
    assert llm_server.chat_requests == []
    assert res.provider == "offline" and "daily AI budget reached" in res.warnings[0]
    rows = store.query("SELECT * FROM llm_calls WHERE id <> 'old'")
    assert rows[0]["success"] is False and "budget" in rows[0]["error"] and rows[0]["cost_usd"] == 0


def test_workflow_budget_is_per_workflow(llm_server, llm_settings, store):
    settings = llm_settings.with_(model="gpt-4o-mini", workflow_budget_usd=0.002, daily_budget_usd=10)
    llm_server.responder = lambda req: __import__("tests.fixtures.llm_server", fromlist=["Reply"]).Reply(
        json.dumps({"result": True, "reasoning": "x", "confidence": 90}), prompt_tokens=5000, completion_tokens=1000
    )
    svc = LLMService(settings, store)
    assert call(svc, workflow_id="wf-a", use_cache=False).from_model  # spends 0.00135
    over = call(svc, workflow_id="wf-a", use_cache=False)
    assert over.provider == "offline" and "budget of workflow 'wf-a'" in over.warnings[0]
    assert call(svc, workflow_id="wf-b", use_cache=False).from_model  # another workflow has its own budget
    assert len(llm_server.chat_requests) == 2
    spent = store.query("SELECT sum(cost_usd) AS s FROM llm_calls")[0]["s"]
    assert spent == pytest.approx(2 * (5000 * 0.15 + 1000 * 0.60) / 1e6)


def test_key_never_reaches_records_errors_or_logs(llm_server, llm_settings, store, all_logs):
    llm_server.reply(f"invalid api key {KEY}", status=401)
    llm_server.reply(f"echo {KEY} back", status=500)
    llm_server.reply(f"not json, key is {KEY}")
    svc = LLMService(llm_settings, store)
    warnings = []
    for i in range(3):
        warnings += call(svc, variables={"condition": f"c{i}", "context": {}}).warnings
    svc.complete_text("explain", "explain_workflow", {"workflow_dsl": "start->a;a->end;"})
    assert len(llm_server.chat_requests) == 4  # the key was sent to the server…
    assert llm_server.chat_requests[0]["headers"]["authorization"].endswith(KEY)
    rows = store.query("SELECT * FROM llm_calls")
    assert len(rows) == 4
    dumped = json.dumps(rows, default=str) + json.dumps(store.query("SELECT * FROM llm_cache"), default=str)
    assert KEY not in dumped and KEY[:12] not in dumped  # …and nowhere else
    assert KEY not in " ".join(warnings) and KEY[:12] not in " ".join(warnings)
    assert KEY not in all_logs.text and KEY[:12] not in all_logs.text
    assert "401" in warnings[0]


def test_offline_settings_never_call(store):
    from engine.ai.settings import AISettings

    res = call(LLMService(AISettings(), store))
    assert res.provider == "offline" and res.warnings == [] and res.value.reasoning == "offline"
    assert calls(store) == []


def test_text_completion(llm_server, llm_settings, store):
    llm_server.reply("This workflow validates orders.")
    res = LLMService(llm_settings, store).complete_text(
        "explain", "explain_workflow", {"workflow_dsl": "start->a;a->end;"}, fallback=lambda: "x"
    )
    assert res.value == "This workflow validates orders." and res.from_model
    assert "response_format" not in llm_server.chat_requests[0]["body"]


def test_extract_json():
    assert extract_json('noise {"a": [1, {"b": 2}]} tail') == {"a": [1, {"b": 2}]}
    assert extract_json("```json\n[1,2]\n```") == [1, 2]
    with pytest.raises(ValueError):
        extract_json("no json here")


def test_custom_messages_for_actions(llm_server, llm_settings, store):
    llm_server.reply("positive")
    msgs = [{"role": "system", "content": "Classify sentiment."}, {"role": "user", "content": "I love it"}]
    res = LLMService(llm_settings, store).complete_text(
        "action:llm", None, messages=msgs, state="classify", fallback=lambda: "unknown"
    )
    assert res.value == "positive" and llm_server.chat_requests[0]["body"]["messages"] == msgs
    assert store.query("SELECT operation, state FROM llm_calls") == [{"operation": "action:llm", "state": "classify"}]
