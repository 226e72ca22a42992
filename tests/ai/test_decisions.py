"""The decision service: exact rules, the offline heuristic, the model, caching, history, records."""

import pytest

from engine.ai.decisions import HEURISTIC_MAX_CONFIDENCE, heuristic_decision
from engine.dsl.parser import parse


def cond(text):
    return parse(f"a->b:{text};").transitions[0].condition


def decisions(store):
    return store.query("SELECT * FROM ai_decisions ORDER BY timestamp")


def test_expression_is_evaluated_exactly(offline_ai, store):
    d = offline_ai.decisions.evaluate_condition(
        cond("credit_score>700"), {"credit_score": 720}, workflow_id="wf", execution_id="ex", state="score"
    )
    assert (d.result, d.confidence, d.decided_by, d.provider) == (True, 100, "rule", "rule")
    assert "credit_score = 720" in d.reasoning and not d.needs_human(70)
    d = offline_ai.decisions.evaluate_condition("600<=credit_score<=700", {"credit_score": 720})
    assert d.result is False and d.confidence == 100
    (row, _) = decisions(store)
    assert (row["decided_by"], row["confidence"], row["result"], row["state"]) == ("rule", 100, True, "score")


def test_expression_that_cannot_be_evaluated_needs_a_person(offline_ai):
    d = offline_ai.decisions.evaluate_condition("credit_score>700", {})
    assert d.result is False and d.confidence == 0 and d.needs_human(70)
    assert "not in the context" in d.reasoning


def test_natural_condition_offline_is_a_low_confidence_heuristic(offline_ai, store):
    d = offline_ai.decisions.evaluate_condition(
        '"the customer sounds angry"',
        {"message": "This is unacceptable, I am furious!!!", "order_id": 7},
        workflow_id="wf",
        execution_id="ex",
        state="read_email",
    )
    assert d.result is True and d.decided_by == "heuristic" and d.provider == "offline"
    assert d.confidence <= HEURISTIC_MAX_CONFIDENCE and d.needs_human(70)
    assert "'message'" in d.reasoning and "furious" in d.reasoning and "unacceptable" in d.reasoning
    row = decisions(store)[0]
    assert row["decided_by"] == "heuristic" and row["condition"] == "the customer sounds angry"


def test_heuristic_says_what_it_looked_at():
    result, conf, why = heuristic_decision("the customer sounds angry", {"message": "Thanks, all good"})
    assert result is False and conf <= 50 and "found none" in why and "'message'" in why
    result, conf, why = heuristic_decision("the order is urgent", {"order_urgent": True})
    assert result is True and "order_urgent" in why
    result, conf, why = heuristic_decision("the shipment is not delayed", {"shipment_delayed": True})
    assert result is False and "negated" in why
    result, conf, why = heuristic_decision("the invoice mentions a discount", {"text": "10% discount applied"})
    assert conf <= 50 and "discount" in why


def test_natural_condition_with_a_model(ai, llm_server, store):
    llm_server.reply_json({"result": True, "reasoning": "The message says 'furious'.", "confidence": 92})
    d = ai.decisions.evaluate_condition(
        "the customer sounds angry",
        {"message": "I am furious"},
        workflow_id="wf",
        execution_id="ex",
        state="read_email",
    )
    assert (d.result, d.confidence, d.decided_by, d.provider) == (True, 92, "ai", "local")
    assert not d.needs_human(70) and d.needs_human(95)
    body = llm_server.chat_requests[0]["body"]
    assert body["response_format"]["json_schema"]["name"] == "DecisionOut"
    assert "the customer sounds angry" in body["messages"][1]["content"]
    assert "I am furious" in body["messages"][1]["content"]
    row = decisions(store)[0]
    assert (row["decided_by"], row["confidence"], row["provider"]) == ("ai", 92, "local")
    assert row["reasoning"] == "The message says 'furious'."
    call = store.query("SELECT * FROM llm_calls")[0]
    assert (call["operation"], call["execution_id"], call["state"]) == ("evaluate_condition", "ex", "read_email")


def test_same_condition_and_context_is_cached(ai, llm_server, store):
    llm_server.reply_json({"result": False, "reasoning": "calm", "confidence": 81})
    first = ai.decisions.evaluate_condition("the customer sounds angry", {"message": "ok"})
    second = ai.decisions.evaluate_condition("the customer sounds angry", {"message": "ok"})
    assert len(llm_server.chat_requests) == 1
    assert second.decided_by == "cache" and second.result == first.result and second.confidence == 81
    assert [r["decided_by"] for r in decisions(store)] == ["ai", "cache"]


def test_cache_survives_a_new_process(llm_settings, llm_server, store):
    from engine.ai.translator import _cache, get_ai

    llm_server.reply_json({"result": True, "reasoning": "r", "confidence": 90})
    get_ai(llm_settings, store).decisions.evaluate_condition("x is fine", {"x": 1})
    _cache.clear()
    d = get_ai(llm_settings, store).decisions.evaluate_condition("x is fine", {"x": 1})
    assert d.decided_by == "cache" and len(llm_server.chat_requests) == 1


def test_history_of_the_condition_reaches_the_prompt(ai, llm_server, store):
    ai.decisions.record_human("the customer sounds angry", {"message": "earlier"}, True, by="alice")
    llm_server.reply_json({"result": True, "reasoning": "like before", "confidence": 75})
    ai.decisions.evaluate_condition("the customer sounds angry", {"message": "new one"})
    prompt = llm_server.chat_requests[0]["body"]["messages"][1]["content"]
    assert "decided by alice" in prompt and "by human" in prompt


def test_model_failure_falls_back_to_the_heuristic(ai, llm_server, store):
    llm_server.reply(status=500)
    d = ai.decisions.evaluate_condition("the customer sounds angry", {"message": "furious"})
    assert d.decided_by == "heuristic" and d.confidence <= 50 and d.needs_human(70)
    assert "HTTP 500" in d.warnings[0]
    assert store.query("SELECT success FROM llm_calls")[0]["success"] is False


def test_suggest_next_state(ai, offline_ai, llm_server):
    s = offline_ai.decisions.suggest_next_state(
        "triage", {"priority": "high", "escalate": True}, ["escalate_to_manager", "close_ticket"]
    )
    assert s.next_state == "escalate_to_manager" and s.confidence <= 50 and s.decided_by == "heuristic"
    llm_server.reply_json({"next_state": "close_ticket", "reasoning": "resolved", "confidence": 80})
    s = ai.decisions.suggest_next_state("triage", {"resolved": True}, ["escalate_to_manager", "close_ticket"])
    assert (s.next_state, s.confidence, s.decided_by) == ("close_ticket", 80, "ai")
    llm_server.reply_json({"next_state": "drop_database", "reasoning": "x", "confidence": 99})
    s = ai.decisions.suggest_next_state("triage", {"other": 1}, ["escalate_to_manager", "close_ticket"])
    assert s.next_state in ("escalate_to_manager", "close_ticket") and s.decided_by == "heuristic"
    assert "not an available transition" in s.warnings[0]


@pytest.mark.parametrize("confidence,waits", [(45, True), (69, True), (70, False), (95, False)])
def test_threshold(confidence, waits):
    from engine.ai.decisions import Decision

    assert Decision(True, "r", confidence, "local", "ai").needs_human(70) is waits
