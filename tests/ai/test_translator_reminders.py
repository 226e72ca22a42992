"""A reminder, then still no answer: "If they don't respond within 3 business days, send a reminder; if
there is still no answer after 5 days, escalate to the general counsel."

The second clause was a decision on ``has_answer`` (a value no step sets) next to the approval. After
the reminder the run now waits for the answer again, until 5 days from the request (2 more days), and
escalates only if that wait runs out; an answer then goes on like one given in time.
"""

from __future__ import annotations

from engine.ai.translator import offline_translation


def test_after_the_reminder_the_run_waits_again_and_escalates_when_that_runs_out():
    tr = offline_translation(
        "Ask the legal team to review the contract. If they don't respond within 3 business days, send a "
        "reminder; if there is still no answer after 5 days, escalate to the general counsel."
    )
    dsl = tr.dsl
    assert "approve_contract->send_reminder:@error;" in dsl
    assert "send_reminder->wait_contract_answer;" in dsl
    assert "wait_contract_answer->escalate_general_counsel:@error;" in dsl
    assert "has_answer" not in dsl
    assert tr.bindings["approve_contract"]["timeout_s"] == 3 * 86_400
    assert tr.bindings["wait_contract_answer"]["action"] == "approval"
    assert tr.bindings["wait_contract_answer"]["timeout_s"] == 2 * 86_400  # until 5 days from the request


def test_an_answer_after_the_reminder_is_read_like_one_in_time():
    dsl = offline_translation(
        "Ask the manager to approve the refund. If there is no answer within 2 days, send a reminder. If there "
        "is still no answer after 4 days, cancel the refund. If approved, pay it."
    ).dsl
    assert "wait_refund_answer->cancel_refund:@error;" in dsl
    assert "wait_refund_answer->check_approved;" in dsl and "approve_refund->check_approved;" in dsl
    assert "check_approved->pay_refund:approved==True;" in dsl
