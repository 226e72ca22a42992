"""End to end through the engine: a low-confidence natural-language decision makes the run wait."""

from engine.runner import RunOptions
from engine.workflow_file import WorkflowSpec

DSL = (
    'start->read_email;\nread_email->escalate:"the customer sounds angry";\nread_email->file_email;\n'
    "escalate->end;\nfile_email->end;\n"
)


def test_offline_heuristic_is_below_threshold_so_the_run_waits(inline_engine, store):
    spec = WorkflowSpec(dsl=DSL, name="triage")
    res = inline_engine.run(
        spec, {"email": "I am furious, this is unacceptable"}, RunOptions(ai_decisions=True, detach_when_waiting=True)
    )
    assert res.status == "waiting"
    (req,) = res.waiting_for
    assert req["kind"] == "decision" and req["state"] == "read_email"
    row = store.query("SELECT * FROM ai_decisions WHERE execution_id = ?", [res.execution_id])[0]
    assert row["decided_by"] == "heuristic" and row["confidence"] <= 50 and "furious" in row["reasoning"]
    inline_engine.answer(res.execution_id, "read_email", "true", by="test")


def test_confident_model_decides_and_the_run_goes_on(inline_engine, store, llm_server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-e2e")
    monkeypatch.setenv("WORKBENCH_LLM_MAX_RETRIES", "0")
    llm_server.reply_json({"result": True, "reasoning": "The email says 'furious'.", "confidence": 93})
    spec = WorkflowSpec(dsl=DSL, name="triage")
    res = inline_engine.run(spec, {"email": "I am furious"}, RunOptions(ai_decisions=True, detach_when_waiting=True))
    assert res.status == "completed", res
    assert "escalate" in res.states_visited and "file_email" not in res.states_visited
    row = store.query("SELECT * FROM ai_decisions WHERE execution_id = ?", [res.execution_id])[0]
    assert (row["decided_by"], row["confidence"], row["result"]) == ("ai", 93, True)
    assert store.query("SELECT count(*) AS n FROM llm_calls WHERE execution_id = ?", [res.execution_id])[0]["n"] == 1
