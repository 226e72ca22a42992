"""benchmarks/eval_translator: the scores of both halves, offline and through the OpenAI-compatible path
(the loopback scripted server answers an invalid draft first, so every case goes through the repair loop)."""

from __future__ import annotations

import json

from benchmarks import eval_translator as ev
from tests.fixtures.llm_server import Reply

INVALID = "start->receive_request;\nreceive_request->review_request;\n"  # review_request is a dead end
VALID = INVALID + "review_request->end;\n"


def test_every_case_has_the_fields_the_scorer_reads_and_the_halves_are_equal():
    cases = ev.load_cases()
    assert len(cases) >= 100
    halves = {h: [c for c in cases if c["split"] in splits] for h, splits in ev.HALVES.items()}
    # the held-out half is frozen (51); the tuning half grows with the classes found since (never the reverse)
    assert len(halves["heldout_half"]) == 51 and len(halves["tuning_half"]) >= len(halves["heldout_half"])
    assert len(halves["tuning_half"]) + len(halves["heldout_half"]) == len(cases)
    assert len({c["id"] for c in cases}) == len(cases)
    for c in cases:
        assert c["key_states"] and isinstance(c["has_decision"], bool) and isinstance(c["has_parallel"], bool)


def test_naming_rule():
    assert ev.good_state_name("add_to_daily_digest") and ev.good_state_name("load_customer_list")
    for bad in ("list", "use_judge_urgency", "step_7am", "the_report", "send_to", "decide"):
        assert not ev.good_state_name(bad), bad


def test_score_case_checks_parallel_groups_join_conditions_and_actions():
    case = {
        "id": "x",
        "split": "tuning",
        "key_states": [["plagiarism"], ["tone"]],
        "has_decision": True,
        "has_parallel": True,
        "min_states": 3,
        "parallel_groups": [[["plagiarism"], ["tone"]]],
        "join": ["all_ok", "any_failed"],
        "approvals": [["approv"]],
        "llm": [],
        "proposals": {"schedule": True},
    }
    good = (
        "start->[check_plagiarism,check_tone];\n[check_plagiarism,check_tone]->publish_article:all_ok;\n"
        "[check_plagiarism,check_tone]->get_editor_approval:any_failed;\npublish_article->end;\n"
        "get_editor_approval->end;\n"
    )
    row = ev.score_case(
        case,
        {"dsl": good, "bindings": {"get_editor_approval": {"action": "approval"}}, "proposals": {"schedules": [{}]}},
    )
    assert row["valid"] and row["decision_ok"] and row["parallel_ok"] and row["naming_ok"]
    assert row["actions"] == 1.0 and row["proposals"] == 1.0
    chain = "start->check_plagiarism;\ncheck_plagiarism->check_tone;\ncheck_tone->end;\n"
    row = ev.score_case(case, {"dsl": chain})
    assert not row["parallel_ok"] and not row["decision_ok"] and row["actions"] == 0.0 and row["proposals"] == 0.0


def test_offline_eval_reports_both_halves(tmp_path):
    out = tmp_path / "eval.json"
    assert ev.main(["--offline", "--no-doc", "--out", str(out), "--cases", "none"]) == 0
    summary = json.loads(out.read_text())["runs"]["offline"]["summary"]
    for half in ("tuning_half", "heldout_half"):
        assert summary[half]["cases"] >= 50 and summary[half]["valid"] == 1.0
    doc = ev.render_doc({"cases": 102, "runs": {"offline": {"summary": summary}}}, None)
    assert "| offline | tuning |" in doc and "| offline | heldout |" in doc and "OPENAI_BASE_URL" in doc


def test_eval_runs_the_model_path_through_the_repair_loop(llm_server, store, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-eval")
    monkeypatch.setenv("WORKBENCH_LLM_MODEL", "test-model")
    monkeypatch.setenv("WORKBENCH_LLM_MAX_RETRIES", "0")

    def model(request: dict) -> Reply:
        user = request["body"]["messages"][-1]["content"]
        dsl = VALID if "no outgoing transition" in user else INVALID  # a repair request quotes the errors
        return Reply(json.dumps({"dsl": dsl, "explanation": "scripted", "suggestions": []}))

    llm_server.responder = model
    out = tmp_path / "eval.json"
    assert ev.main(["--no-doc", "--limit", "2", "--out", str(out), "--cases", "none"]) == 0
    llm = json.loads(out.read_text())["runs"]["llm"]
    assert llm["fell_back_offline"] == 0 and llm["model"] == "test-model"
    assert len(llm["cases"]) == 4 and all(r["valid"] and r["dsl"] == VALID for r in llm["cases"])
    assert len(llm_server.chat_requests) == 8  # a first draft and one repair round per case
    assert set(llm["summary"]) >= {"tuning_half", "heldout_half", "all"}


def test_score_case_checks_error_paths_and_absent_states():
    case = {
        "id": "y",
        "split": "tuning",
        "key_states": [["charge", "card"], ["cancel", "order"]],
        "has_decision": False,
        "has_parallel": False,
        "min_states": 2,
        "error_paths": [[["charge", "card"], ["cancel", "order"]]],
        "absent_states": [["tagged"]],
    }
    good = "start->charge_card;\ncharge_card->cancel_order:@error;\ncharge_card->end;\ncancel_order->end;\n"
    row = ev.score_case(case, {"dsl": good})
    assert row["decision_ok"] and row["naming_ok"], row
    looped = (
        "start->charge_card;\ncharge_card->retry_charge_card:charge_success==False;\ncharge_card->end;\n"
        "retry_charge_card->cancel_order;\ncancel_order->end;\n"
    )
    row = ev.score_case(case, {"dsl": looped})
    assert not row["decision_ok"] and "@error:charge card->cancel order" in row["missing"]
    tagged = "start->charge_card;\ncharge_card->open_tagged_urgent;\nopen_tagged_urgent->end;\n"
    row = ev.score_case(case, {"dsl": tagged})
    assert not row["naming_ok"] and row["bad_names"] == ["open_tagged_urgent"]
